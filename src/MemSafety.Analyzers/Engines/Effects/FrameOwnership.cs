using System.Collections.Generic;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Bodies;
using MemSafety.Analyzers.Engines.Escape;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Engines.Effects;

/// <summary>
/// Which locals of a body hold a collection only this frame can reach while the method runs: every value
/// assigned to the local is fresh (<see cref="KnownMembers.IsFreshValue"/>), its type is
/// <see cref="KnownMembers.IsSelfContained">self-contained</see>, and it is only used as the receiver of its own
/// methods, indexed, read for Count/Length, enumerated, passed to a BCL member that keeps nothing
/// (<see cref="NonRetainingMembers"/>), or returned — never captured, stored, or passed elsewhere. A write
/// through such a local changes this frame's memory only.
/// <para>This is not the escape engine's question. <c>return list</c> makes the list escape (it outlives the
/// frame), but it is not shared while the method runs: nothing of this method runs after the return. The
/// effects engine asks "can anyone else see this write now", so a returned local stays owned.</para>
/// <para>One instance per question (the caller may exclude some references, such as the ones it is
/// itself rewriting); answers are cached per local. The local's references come from <see cref="BodyFacts"/>.</para>
/// </summary>
public sealed class FrameOwnership
{
    private readonly KnownMembers _members;
    private readonly BodyFacts _facts;
    private readonly HashSet<IOperation>? _excluded;
    private readonly Dictionary<ILocalSymbol, bool> _owned = new(SymbolEqualityComparer.Default);

    /// <param name="anyOperationOfTheBody">Any operation of the body the locals belong to.</param>
    /// <param name="members">The compilation's known members.</param>
    /// <param name="excludedReferences">References not to judge (the caller accounts for them).</param>
    public FrameOwnership(IOperation anyOperationOfTheBody, KnownMembers members, HashSet<IOperation>? excludedReferences = null)
    {
        _members = members;
        _facts = BodyFacts.Of(anyOperationOfTheBody);
        _excluded = excludedReferences;
    }

    /// <summary>The compilation's known members.</summary>
    public KnownMembers Members => _members;

    /// <summary>Whether only this frame can reach the collection the local holds (see the class summary).</summary>
    public bool Owns(ILocalSymbol local)
    {
        if (_owned.TryGetValue(local, out var known))
            return known;
        var result = Compute(local);
        _owned[local] = result;
        return result;
    }

    private bool Compute(ILocalSymbol local)
    {
        if (local.RefKind != RefKind.None || local.IsConst || !KnownMembers.IsSelfContained(local.Type))
            return false;

        if (_facts.DeclaratorOf(local) is not { } declarator)
            return false;
        var initializer = declarator.Initializer?.Value ?? (declarator.Parent as IVariableDeclarationOperation)?.Initializer?.Value;
        if (initializer is null || !_members.IsFreshValue(initializer))
            return false;

        foreach (var reference in _facts.ReferencesTo(local))
        {
            // A lambda may run on another thread while the method goes on: captured means shared.
            if (IsCaptured(reference, local))
                return false;
            if (_excluded is not null && _excluded.Contains(reference))
                continue;
            if (reference.Parent is ISimpleAssignmentOperation assignment && assignment.Target == reference)
            {
                if (!_members.IsFreshValue(assignment.Value))
                    return false;
                continue;
            }

            if (!IsOwnedUse(reference))
                return false;
        }

        return true;
    }

    private static bool IsCaptured(IOperation reference, ILocalSymbol local)
        => reference.EnclosingFunction() is { } function && !SymbolEqualityComparer.Default.Equals(local.ContainingSymbol, function);

    private static bool IsOwnedUse(IOperation reference)
    {
        var current = reference;
        for (var depth = 0; depth < 16; depth++)
        {
            var parent = current.Parent;
            switch (parent)
            {
                case IConversionOperation { IsImplicit: true, OperatorMethod: null }:
                    current = parent;
                    continue;
                case IInvocationOperation invocation when invocation.Instance == current:
                    if (!KnownMembers.IsSelfContained(invocation.TargetMethod.ContainingType))
                        return false;
                    if (invocation.Type is { } resultType && current.Type is { } receiverType && SymbolEqualityComparer.Default.Equals(resultType, receiverType))
                    {
                        current = invocation; // sb.Append(x) returns sb: follow it.
                        continue;
                    }

                    return IsDetachedResult(invocation.Type, current.Type);
                case IExpressionStatementOperation:
                    return true;
                case IPropertyReferenceOperation property when property.Instance == current:
                    return IsDetachedResult(property.Type, current.Type) || (property.Parent is ISimpleAssignmentOperation set && set.Target == property);
                case IArrayElementReferenceOperation element when element.ArrayReference == current:
                    return true;
                case IForEachLoopOperation loop when loop.Collection == current:
                    return true;
                case IReturnOperation { Kind: OperationKind.Return }:
                    return true;
                case IArgumentOperation { Parameter.RefKind: RefKind.None } argument when argument.Parent is IInvocationOperation call:
                    return NonRetainingMembers.IsNonRetaining(call.TargetMethod, out var aliases) && !aliases;
                case IBinaryOperation:
                case IIsTypeOperation:
                    return true;
                default:
                    return false;
            }
        }

        return false;
    }

    /// <summary>A member result that cannot be a view of the collection: nothing, a primitive, a string,
    /// one of its elements, or a copy (an array).</summary>
    private static bool IsDetachedResult(ITypeSymbol? result, ITypeSymbol? container)
    {
        if (result is null || result.SpecialType == SpecialType.System_Void || result.SpecialType == SpecialType.System_String)
            return true;
        if (result.SpecialType != SpecialType.None && result.IsValueType)
            return true;
        if (result is IArrayTypeSymbol)
            return true;
        if (container is INamedTypeSymbol named)
        {
            foreach (var argument in named.TypeArguments)
            {
                if (SymbolEqualityComparer.Default.Equals(argument, result))
                    return true;
            }
        }
        else if (container is IArrayTypeSymbol array && SymbolEqualityComparer.Default.Equals(array.ElementType, result))
        {
            return true;
        }

        return false;
    }
}
