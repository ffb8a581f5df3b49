using System.Collections.Generic;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Bodies;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.HeapEscapes;

/// <summary>How one use of an array local must change when the local becomes a <c>Span&lt;T&gt;</c>.</summary>
public enum SpanRewrite
{
    /// <summary>The use compiles unchanged and means the same (indexer, Length, foreach, span parameter,
    /// an overload taking a span in the same position).</summary>
    None,
    /// <summary><c>M(a, offset, count)</c> → <c>M(a.Slice(offset, count))</c> (or <c>M(a)</c> for the whole array).</summary>
    SliceOffsetCount,
    /// <summary><c>M(a, startIndex)</c> → <c>M(a.Slice(startIndex))</c> (or <c>M(a)</c> from index 0).</summary>
    SliceStart,
    /// <summary><c>a.AsSpan(…)</c> → <c>a</c> / <c>a.Slice(…)</c>.</summary>
    AsSpan,
    /// <summary><c>Array.Fill(a, v)</c> → <c>a.Fill(v)</c>.</summary>
    Fill,
    /// <summary><c>Array.Clear(a)</c> / <c>Array.Clear(a, 0, a.Length)</c> → <c>a.Clear()</c>.</summary>
    Clear,
    /// <summary><c>Array.Reverse(a)</c> → <c>a.Reverse()</c>.</summary>
    Reverse,
}

/// <summary>A use of the local and the rewrite it needs; <see cref="Operation"/> is the operation to rewrite
/// (the invocation for call rewrites, the reference otherwise).</summary>
public readonly struct SpanUse
{
    public SpanUse(IOperation operation, SpanRewrite rewrite)
    {
        Operation = operation;
        Rewrite = rewrite;
    }

    public IOperation Operation { get; }
    public SpanRewrite Rewrite { get; }
}

/// <summary>
/// Decides whether every use of an array local would compile and mean the same with the local turned
/// into a <c>Span&lt;T&gt;</c>, and which uses need rewriting. Shared by MSA1001's analyzer (which only
/// reports when every use is understood) and its fix (which rewrites exactly those uses).
/// </summary>
public static class SpanUses
{
    /// <summary>The uses of <paramref name="local"/> in <paramref name="root"/>, or null when one of them has no
    /// span equivalent (so the array must stay an array).</summary>
    public static List<SpanUse>? Classify(ILocalSymbol local, IOperation root, ISymbol declaringFunction)
    {
        var uses = new List<SpanUse>();
        // Last to first: the order the uses have always been listed in (and fixes apply them in).
        var references = BodyFacts.Of(root).ReferencesTo(local);
        for (var i = references.Count - 1; i >= 0; i--)
        {
            var reference = (ILocalReferenceOperation)references[i];

            // A span cannot be captured by a lambda or a local function (it is a ref struct).
            if (!IsInFunction(reference, declaringFunction))
                return null;
            if (!TryClassify(reference, out var use))
                return null;
            uses.Add(use);
        }

        return uses;
    }

    private static bool IsInFunction(IOperation operation, ISymbol function)
        => operation.EnclosingFunction() is { } enclosing
            ? SymbolEqualityComparer.Default.Equals(enclosing, function)
            : function is not IMethodSymbol { MethodKind: MethodKind.AnonymousFunction or MethodKind.LocalFunction };

    private static bool TryClassify(ILocalReferenceOperation reference, out SpanUse use)
    {
        use = default;
        var parent = reference.Parent;

        // foreach wraps the collection in an identity conversion.
        if (parent is IConversionOperation { Parent: IForEachLoopOperation loop } && loop.Collection == parent && !loop.IsAsynchronous)
            return Ok(reference, SpanRewrite.None, out use);

        switch (parent)
        {
            case ISimpleAssignmentOperation assignment when assignment.Target == reference:
            case IDeconstructionAssignmentOperation:
                return false; // reassigned: the local would have to hold other arrays
            case IArrayElementReferenceOperation element when element.ArrayReference == reference && element.Indices.Length == 1:
                return Ok(reference, SpanRewrite.None, out use);
            case IPropertyReferenceOperation { Property.Name: "Length" } property when property.Instance == reference:
                return Ok(reference, SpanRewrite.None, out use);
            case IConversionOperation { Parent: IArgumentOperation argument } conversion when IsSpanOf(conversion.Type, ElementType(reference)):
                // Already passed where a span is expected.
                return argument.Parameter is not null && argument.Parameter.RefKind == RefKind.None && Ok(reference, SpanRewrite.None, out use);
            case IArgumentOperation argument:
                return TryArgument(reference, argument, out use);
            case IConversionOperation { IsImplicit: true, Parent: IArgumentOperation argument, Type.SpecialType: SpecialType.System_Array }:
                // Array.Clear(Array, int, int) takes System.Array.
                return TryArgument(reference, argument, out use);
            default:
                return false;
        }
    }

    private static bool Ok(IOperation operation, SpanRewrite rewrite, out SpanUse use)
    {
        use = new SpanUse(operation, rewrite);
        return true;
    }

    private static ITypeSymbol? ElementType(IOperation reference) => (reference.Type as IArrayTypeSymbol)?.ElementType;

    private static bool TryArgument(ILocalReferenceOperation reference, IArgumentOperation argument, out SpanUse use)
    {
        use = default;
        if (argument.Parent is not IInvocationOperation and not IObjectCreationOperation || argument.Parameter is not { RefKind: RefKind.None } parameter)
            return false;
        var call = argument.Parent;
        var method = call is IInvocationOperation invocation ? invocation.TargetMethod : ((IObjectCreationOperation)call).Constructor;
        if (method is null)
            return false;
        var element = ElementType(reference)!;
        var definition = method.ReducedFrom ?? method;

        // Rewrites below rebuild argument lists by position: named arguments are left alone.
        if (call!.Syntax is InvocationExpressionSyntax { ArgumentList: var list } && HasNamedArgument(list)
            || call.Syntax is ObjectCreationExpressionSyntax { ArgumentList: { } creationList } && HasNamedArgument(creationList))
        {
            return false;
        }

        // Well-known array helpers that have span instance equivalents.
        if (IsType(definition.ContainingType, "System", "Array") && parameter.Ordinal == 0)
        {
            switch (definition.Name)
            {
                case "Fill" when definition.Parameters.Length == 2:
                    return Ok(call!, SpanRewrite.Fill, out use);
                case "Reverse" when definition.Parameters.Length == 1:
                    return Ok(call!, SpanRewrite.Reverse, out use);
                case "Clear" when definition.Parameters.Length == 1:
                    return Ok(call!, SpanRewrite.Clear, out use);
                case "Clear" when definition.Parameters.Length == 3 && IsZero(((IInvocationOperation)call!).Arguments, 1) && IsLengthOf(((IInvocationOperation)call!).Arguments, 2, reference.Local):
                    return Ok(call!, SpanRewrite.Clear, out use);
            }

            return false;
        }

        if (IsType(definition.ContainingType, "System", "MemoryExtensions") && definition.Name == "AsSpan" && parameter.Ordinal == 0
            && call!.Type is INamedTypeSymbol { Name: "Span" } && definition.Parameters.Length <= 3
            && AllInt(definition.Parameters, 1))
        {
            return Ok(call, SpanRewrite.AsSpan, out use);
        }

        // An overload of the same member that takes a span where this one takes the array.
        var rewrite = FindSpanOverload(method, parameter.Ordinal, element, call is IObjectCreationOperation);
        if (rewrite is null)
            return false;
        return Ok(rewrite == SpanRewrite.None ? reference : call!, rewrite.Value, out use);
    }

    private static bool HasNamedArgument(ArgumentListSyntax list)
    {
        foreach (var argument in list.Arguments)
        {
            if (argument.NameColon is not null)
                return true;
        }

        return false;
    }

    private static SpanRewrite? FindSpanOverload(IMethodSymbol method, int ordinal, ITypeSymbol element, bool constructor)
    {
        if (method.IsExtensionMethod || method.ReducedFrom is not null)
            return null;
        var parameters = method.Parameters;
        var candidates = constructor ? method.ContainingType.InstanceConstructors.CastArray<ISymbol>() : method.ContainingType.GetMembers(method.Name);
        foreach (var member in candidates)
        {
            if (member is not IMethodSymbol other || other.IsStatic != method.IsStatic || other.DeclaredAccessibility != Accessibility.Public
                || SymbolEqualityComparer.Default.Equals(other, method) || other.IsGenericMethod || other.IsObsolete()
                || !SymbolEqualityComparer.Default.Equals(other.ReturnType, method.ReturnType))
            {
                continue;
            }

            var others = other.Parameters;
            // Same shape, the array parameter replaced by a span.
            if (others.Length == parameters.Length && SameExcept(parameters, others, ordinal, 1) && IsSpanOf(others[ordinal].Type, element))
                return SpanRewrite.None;
            // (T[] array, int offset, int count) replaced by one span.
            if (others.Length == parameters.Length - 2 && ordinal + 2 < parameters.Length
                && IsInt(parameters[ordinal + 1]) && IsInt(parameters[ordinal + 2])
                && IsSpanOf(others[ordinal].Type, element) && SameShifted(parameters, others, ordinal, 2))
            {
                return SpanRewrite.SliceOffsetCount;
            }

            // (T[] value, int startIndex) replaced by one span: BitConverter.ToInt32(byte[], int).
            if (others.Length == parameters.Length - 1 && ordinal + 1 < parameters.Length && IsInt(parameters[ordinal + 1])
                && parameters[ordinal + 1].Name is "startIndex" or "index" or "offset"
                && IsSpanOf(others[ordinal].Type, element) && SameShifted(parameters, others, ordinal, 1))
            {
                return SpanRewrite.SliceStart;
            }
        }

        return null;
    }

    private static bool SameExcept(System.Collections.Immutable.ImmutableArray<IParameterSymbol> a, System.Collections.Immutable.ImmutableArray<IParameterSymbol> b, int skip, int count)
    {
        for (var i = 0; i < a.Length; i++)
        {
            if (i >= skip && i < skip + count)
                continue;
            if (a[i].RefKind != b[i].RefKind || !SymbolEqualityComparer.Default.Equals(a[i].Type, b[i].Type))
                return false;
        }

        return true;
    }

    /// <summary>Parameters equal before <paramref name="at"/> and after the removed ones.</summary>
    private static bool SameShifted(System.Collections.Immutable.ImmutableArray<IParameterSymbol> a, System.Collections.Immutable.ImmutableArray<IParameterSymbol> b, int at, int removed)
    {
        for (var i = 0; i < b.Length; i++)
        {
            if (i == at)
                continue;
            var j = i < at ? i : i + removed;
            if (a[j].RefKind != b[i].RefKind || !SymbolEqualityComparer.Default.Equals(a[j].Type, b[i].Type))
                return false;
        }

        return true;
    }

    private static bool IsInt(IParameterSymbol parameter) => parameter.RefKind == RefKind.None && parameter.Type.SpecialType == SpecialType.System_Int32;

    private static bool AllInt(System.Collections.Immutable.ImmutableArray<IParameterSymbol> parameters, int from)
    {
        for (var i = from; i < parameters.Length; i++)
        {
            if (!IsInt(parameters[i]))
                return false;
        }

        return true;
    }

    public static bool IsZero(System.Collections.Immutable.ImmutableArray<IArgumentOperation> arguments, int ordinal)
        => TryArgument(arguments, ordinal, out var value) && value.ConstantValue is { HasValue: true, Value: 0 };

    public static bool IsLengthOf(System.Collections.Immutable.ImmutableArray<IArgumentOperation> arguments, int ordinal, ILocalSymbol local)
        => TryArgument(arguments, ordinal, out var value)
           && value is IPropertyReferenceOperation { Property.Name: "Length", Instance: ILocalReferenceOperation owner }
           && SymbolEqualityComparer.Default.Equals(owner.Local, local);

    /// <summary>The argument bound to parameter <paramref name="ordinal"/> (arguments may be named and reordered).</summary>
    public static bool TryArgument(System.Collections.Immutable.ImmutableArray<IArgumentOperation> arguments, int ordinal, out IOperation value)
    {
        foreach (var argument in arguments)
        {
            if (argument.Parameter?.Ordinal == ordinal)
            {
                value = argument.Value;
                return true;
            }
        }

        value = null!;
        return false;
    }

    public static bool IsSpanOf(ITypeSymbol? type, ITypeSymbol? element)
        => type is INamedTypeSymbol { Name: "Span" or "ReadOnlySpan", TypeArguments.Length: 1 } span
           && IsType(span, "System", span.Name)
           && SymbolEqualityComparer.Default.Equals(span.TypeArguments[0], element);

    private static bool IsType(INamedTypeSymbol? type, string ns, string name)
        => type is not null && type.Name == name && type.ContainingNamespace is { Name: var n, ContainingNamespace.IsGlobalNamespace: true } && n == ns;
}

internal static class ObsoleteExtensions
{
    public static bool IsObsolete(this ISymbol symbol)
    {
        foreach (var attribute in symbol.GetAttributes())
        {
            if (attribute.AttributeClass is { Name: "ObsoleteAttribute" })
                return true;
        }

        return false;
    }
}
