using System.Collections.Generic;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Engines.Effects;

/// <summary>
/// What a piece of code (a loop body, a predicate, a statement) may do to state outside itself, judged by an
/// allow-list: which variables, fields and properties it writes, whether it writes memory other code may
/// read (fields, array elements, ref parameters), and whether everything it calls is known
/// (<see cref="KnownMembers"/>). Writes through a local this frame <see cref="FrameOwnership">owns</see>
/// (<c>result.Add(x)</c>, <c>sb.Append(x)</c>) count as writes of that local only.
/// <para>Built by <see cref="Of(IOperation, FrameOwnership, HashSet{ISymbol}?)"/> or
/// <see cref="OfIteration"/>; one walk of the region, stopped early when it mentions a watched symbol.</para>
/// </summary>
public sealed class RegionEffects
{
    private readonly FrameOwnership _ownership;
    private readonly HashSet<ISymbol>? _watched;

    private RegionEffects(FrameOwnership ownership, HashSet<ISymbol>? watched)
    {
        _ownership = ownership;
        _watched = watched;
    }

    /// <summary>Everything the region calls, creates or converts through is a known member that cannot
    /// reach arbitrary state (pure members, output-only statics, methods of owned collections,
    /// library operators and constructors). False for any unknown call, user operator, setter, nested
    /// enumeration of a non-BCL collection, <c>yield</c>, or operation kind outside the allow-list.</summary>
    public bool CallsOnlyKnownCode { get; private set; } = true;

    /// <summary>The region mentions (reads or writes) one of the watched symbols; the walk stopped there, so
    /// the other answers are incomplete.</summary>
    public bool MentionsWatched { get; private set; }

    /// <summary>Writes a field, an array element or a ref parameter/local: state other code may read.</summary>
    public bool WritesSharedMemory { get; private set; }

    /// <summary>Writes an element of an array this frame does not own (or a struct inside one): that array
    /// may be any array of the program under another name.</summary>
    public bool WritesUnownedArrayElement { get; private set; }

    /// <summary>Locals, parameters, fields and properties the region writes, or mutates through a method call
    /// (the receiver's symbols).</summary>
    public HashSet<ISymbol> Written { get; } = new(SymbolEqualityComparer.Default);

    /// <summary>The effects of the region (any statement or expression).</summary>
    /// <param name="watched">Symbols whose mere mention stops the walk (<see cref="MentionsWatched"/>).</param>
    public static RegionEffects Of(IOperation region, FrameOwnership ownership, HashSet<ISymbol>? watched = null)
    {
        var effects = new RegionEffects(ownership, watched);
        effects.Scan(region);
        return effects;
    }

    /// <summary>The effects of one iteration of a foreach, besides its enumeration: the assignment of the
    /// loop variable (when it is an existing variable or a deconstruction) and the body.</summary>
    public static RegionEffects OfIteration(IForEachLoopOperation loop, FrameOwnership ownership, HashSet<ISymbol>? watched = null)
    {
        var effects = new RegionEffects(ownership, watched);
        if (loop.LoopControlVariable is not IVariableDeclaratorOperation)
        {
            effects.Scan(loop.LoopControlVariable);
            effects.RecordWrite(loop.LoopControlVariable);
        }

        if (!effects.MentionsWatched)
            effects.Scan(loop.Body);
        return effects;
    }

    // ------------------------------------------------------------------ the walk

    private void Scan(IOperation region)
    {
        foreach (var operation in region.DescendantsAndSelf())
        {
            Visit(operation);
            if (MentionsWatched)
                return;
        }
    }

    private void Visit(IOperation operation)
    {
        switch (operation)
        {
            case ILocalReferenceOperation local:
                Mention(local.Local);
                break;
            case IParameterReferenceOperation parameter:
                Mention(parameter.Parameter);
                break;
            case IFieldReferenceOperation field:
                Mention(field.Field);
                break;
            case IPropertyReferenceOperation property:
                Mention(property.Property);
                break;
            case IInvocationOperation invocation:
                VisitInvocation(invocation);
                break;
            case IArgumentOperation { Parameter.RefKind: RefKind.Ref or RefKind.Out } argument:
                RecordWrite(argument.Value);
                break;
            case IObjectCreationOperation creation:
                CallsOnlyKnownCode &= KnownMembers.IsSideEffectFreeCreation(creation.Type);
                break;
            case IMethodReferenceOperation reference:
                CallsOnlyKnownCode &= _ownership.Members.IsPure(reference.Method);
                break;
            case ISimpleAssignmentOperation assignment:
                if (!FunctionEffects.IsInitializerTarget(assignment.Target))
                    RecordWrite(assignment.Target);
                break;
            case ICompoundAssignmentOperation compound:
                RecordWrite(compound.Target);
                CallsOnlyKnownCode &= KnownMembers.IsPureOperator(compound.OperatorMethod);
                break;
            case IIncrementOrDecrementOperation increment:
                RecordWrite(increment.Target);
                CallsOnlyKnownCode &= KnownMembers.IsPureOperator(increment.OperatorMethod);
                break;
            case ICoalesceAssignmentOperation coalesce:
                RecordWrite(coalesce.Target);
                break;
            case IDeconstructionAssignmentOperation deconstruction:
                RecordWrite(deconstruction.Target);
                CallsOnlyKnownCode &= deconstruction.Value.Type is { IsTupleType: true }; // else a user Deconstruct runs.
                break;
            case IBinaryOperation binary:
                CallsOnlyKnownCode &= KnownMembers.IsPureOperator(binary.OperatorMethod);
                break;
            case IUnaryOperation unary:
                CallsOnlyKnownCode &= KnownMembers.IsPureOperator(unary.OperatorMethod);
                break;
            case IConversionOperation conversion:
                CallsOnlyKnownCode &= KnownMembers.IsPureOperator(conversion.OperatorMethod);
                break;
            case IForEachLoopOperation loop:
                // A nested loop runs the enumerator of its collection: known for BCL collections only.
                CallsOnlyKnownCode &= !loop.IsAsynchronous && IsBclCollection(KnownMembers.Unwrap(loop.Collection).Type);
                if (loop.LoopControlVariable is not IVariableDeclaratorOperation)
                    RecordWrite(loop.LoopControlVariable);
                break;
            case IReturnOperation { Kind: OperationKind.YieldReturn or OperationKind.YieldBreak }:
                CallsOnlyKnownCode = false; // the consumer runs arbitrary code between elements.
                break;
            default:
                CallsOnlyKnownCode &= FunctionEffects.IsSideEffectFreeKind(operation.Kind) || IsStatementKind(operation.Kind);
                break;
        }
    }

    private void Mention(ISymbol symbol)
    {
        if (_watched is not null && _watched.Contains(symbol))
            MentionsWatched = true;
    }

    /// <summary>Arrays, strings, System.Collections.Generic and Immutable collections: enumerators without user code.</summary>
    private static bool IsBclCollection(ITypeSymbol? type)
    {
        switch (type)
        {
            case IArrayTypeSymbol { Rank: 1 }:
                return true;
            case { SpecialType: SpecialType.System_String }:
                return true;
            case INamedTypeSymbol { TypeKind: TypeKind.Class or TypeKind.Struct } named:
                var ns = named.ContainingNamespace;
                return Escape.NonRetainingMembers.IsNamespace(ns, "System.Collections.Immutable")
                       || Escape.NonRetainingMembers.IsNamespace(ns, "System.Collections.Generic");
            default:
                return false;
        }
    }

    private static bool IsStatementKind(OperationKind kind)
    {
        switch (kind)
        {
            case OperationKind.Loop:
            case OperationKind.Branch:
            case OperationKind.Labeled:
            case OperationKind.Try:
            case OperationKind.CatchClause:
            case OperationKind.CaughtException:
            case OperationKind.Lock:
            case OperationKind.LocalFunction:
            case OperationKind.Increment:
            case OperationKind.Decrement:
            case OperationKind.CompoundAssignment:
            case OperationKind.SimpleAssignment:
            case OperationKind.DeconstructionAssignment:
            case OperationKind.CoalesceAssignment:
                return true;
            default:
                return false;
        }
    }

    private void VisitInvocation(IInvocationOperation invocation)
    {
        var method = invocation.TargetMethod;
        if (FunctionEffects.IsInitializerReceiver(invocation.Instance) || _ownership.Members.IsPure(method))
            return;

        if (method.IsStatic)
        {
            // Output only: it cannot reach the program's objects.
            CallsOnlyKnownCode &= KnownMembers.IsOutputOnly(method);
            return;
        }

        var type = method.ContainingType;
        var instance = invocation.Instance is null ? null : KnownMembers.Unwrap(invocation.Instance);
        if (KnownMembers.IsStringBuilder(type) && instance is not null)
        {
            RecordMutation(instance);
            return;
        }

        // result.Add(x) on a collection only this frame holds.
        if (instance is ILocalReferenceOperation local && KnownMembers.IsSelfContained(type) && _ownership.Owns(local.Local))
        {
            Written.Add(local.Local);
            return;
        }

        CallsOnlyKnownCode = false;
    }

    private void RecordMutation(IOperation instance)
    {
        // builder.Append(a).Append(b): the second call mutates what the first returned, the builder.
        while (instance is IInvocationOperation { Instance: { } receiver } fluent
               && SymbolEqualityComparer.Default.Equals(fluent.Type, receiver.Type))
        {
            instance = KnownMembers.Unwrap(receiver);
        }

        if (instance is ILocalReferenceOperation local && _ownership.Owns(local.Local))
        {
            Written.Add(local.Local);
            return;
        }

        WritesSharedMemory = true;
        FunctionEffects.CollectSymbols(instance, Written);
    }

    private void RecordWrite(IOperation target)
    {
        switch (target)
        {
            case ILocalReferenceOperation local:
                Written.Add(local.Local);
                WritesSharedMemory |= local.Local.RefKind != RefKind.None;
                break;
            case IParameterReferenceOperation parameter:
                Written.Add(parameter.Parameter);
                WritesSharedMemory |= parameter.Parameter.RefKind != RefKind.None;
                break;
            case IFieldReferenceOperation field:
                Written.Add(field.Field);
                if (field.Instance is not null && KnownMembers.Unwrap(field.Instance) is ILocalReferenceOperation { Local: { RefKind: RefKind.None, Type.IsValueType: true } structLocal })
                {
                    Written.Add(structLocal); // a field of a struct local: this frame's memory.
                }
                else
                {
                    WritesSharedMemory = true;

                    // points[i].X = 1 changes the array (or the object) that holds the struct.
                    WritesUnownedArrayElement |= field.Instance is { Type.IsValueType: true };
                    if (field.Instance is not null)
                        FunctionEffects.CollectSymbols(field.Instance, Written);
                }

                break;
            case IArrayElementReferenceOperation element:
                var array = KnownMembers.Unwrap(element.ArrayReference);
                WritesUnownedArrayElement |= !(array is ILocalReferenceOperation arrayLocal && _ownership.Owns(arrayLocal.Local));
                RecordMutation(array);
                break;
            case IPropertyReferenceOperation property:
                // A setter is user code, unless it is the indexer of a collection only this frame holds.
                if (property.Instance is not null
                    && KnownMembers.Unwrap(property.Instance) is ILocalReferenceOperation owner
                    && KnownMembers.IsSelfContained(property.Property.ContainingType)
                    && _ownership.Owns(owner.Local))
                {
                    Written.Add(owner.Local);
                }
                else
                {
                    CallsOnlyKnownCode = false;
                }

                break;
            case ITupleOperation tuple:
                foreach (var element in tuple.Elements)
                    RecordWrite(element);
                break;
            case IDeclarationExpressionOperation declaration:
                RecordWrite(declaration.Expression);
                break;
            case IDiscardOperation:
                break;
            default:
                CallsOnlyKnownCode = false;
                break;
        }
    }
}
