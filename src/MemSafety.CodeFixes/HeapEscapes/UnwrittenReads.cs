using System.Collections.Generic;
using MemSafety.Analyzers.Engines.Bodies;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.CodeFixes.HeapEscapes;

/// <summary>
/// Whether code can read an element of an array that it has not written first. <c>new T[n]</c> is zeroed;
/// an array rented from <c>ArrayPool</c> holds whatever its last user left, so the pooled-buffer fix must
/// clear it exactly when such a read exists. Proven "no" only for simple shapes, all uses of the array being:
/// <list type="bullet">
/// <item><c>a.Length</c>, and element writes <c>a[i] = …</c> (no element is ever read);</item>
/// <item>the destination of a reader that reports how much it wrote, from index 0:
/// <c>n = stream.Read(a, 0, k)</c> (also <c>TextReader.Read/ReadBlock</c>, the span overloads,
/// <c>Encoding.GetBytes/GetChars</c> into index 0), its count kept in a local or dropped;</item>
/// <item>a read of the first <c>n</c> elements only, where every value of the local <c>n</c> is such a count:
/// <c>target.Write(a, 0, n)</c>, <c>new string(a, 0, n)</c>, <c>a.AsSpan(0, n)</c> (parameters named
/// offset/index/start and count/length).</item>
/// </list>
/// Anything else (an element read, the array passed whole to a method, a count from elsewhere) counts as
/// a possible read of an unwritten element.
/// </summary>
internal static class UnwrittenReads
{
    public static bool MayReadUnwritten(ILocalSymbol array, IOperation root)
    {
        var facts = BodyFacts.Of(root);
        var counts = new Counts();
        foreach (var reference in facts.ReferencesTo(array))
        {
            if (reference is not ILocalReferenceOperation local || !IsSafeUse(local, counts))
                return true;
        }

        // Every count that bounds a read must come from a reader that wrote that many elements from index 0.
        foreach (var count in counts.Required)
        {
            if (!OnlyHoldsWriterCounts(count, facts, counts))
                return true;
        }

        return false;
    }

    /// <summary>What the uses of the array found out about the locals that hold counts.</summary>
    private sealed class Counts
    {
        /// <summary>Calls of counted writers whose result is stored in a local.</summary>
        public HashSet<IOperation> Writers { get; } = new();

        /// <summary>Locals declared with a counted writer's result as their initializer.</summary>
        public HashSet<ILocalSymbol> InitializedByWriter { get; } = new(SymbolEqualityComparer.Default);

        /// <summary>Locals that bound a read of the array's first elements.</summary>
        public HashSet<ILocalSymbol> Required { get; } = new(SymbolEqualityComparer.Default);
    }

    private static bool IsSafeUse(ILocalReferenceOperation reference, Counts counts)
    {
        switch (reference.Parent)
        {
            case IPropertyReferenceOperation { Property.Name: "Length" } length when length.Instance == reference:
                return true;
            case IArrayElementReferenceOperation element when element.ArrayReference == reference:
                // a[i] = v writes; a[i] += v, a[i]++, ref a[i] and plain reads read.
                return element.Parent is ISimpleAssignmentOperation { IsRef: false } assignment && assignment.Target == element;
        }

        // The array, possibly converted to a span, as an argument.
        IOperation value = reference;
        if (value.Parent is IConversionOperation { IsImplicit: true } conversion && IsSpan(conversion.Type))
            value = conversion;
        if (value.Parent is not IArgumentOperation { Parameter: { RefKind: RefKind.None } parameter } argument)
            return false;
        var call = argument.Parent;
        var (method, arguments) = call switch
        {
            IInvocationOperation invocation => (invocation.TargetMethod, invocation.Arguments),
            IObjectCreationOperation creation => (creation.Constructor, creation.Arguments),
            _ => (null, default),
        };
        if (method is null || call is null)
            return false;

        if (IsCountedWriterDestination(method, parameter, arguments, value != reference))
        {
            // The count is dropped, or kept where a later read can be bounded by it.
            if (call.Parent is IExpressionStatementOperation)
                return true;
            if (call.Parent is ISimpleAssignmentOperation { Target: ILocalReferenceOperation } assignment && assignment.Value == call)
            {
                counts.Writers.Add(call);
                return true;
            }

            if (call.Parent is IVariableInitializerOperation { Parent: IVariableDeclaratorOperation declarator })
            {
                counts.Writers.Add(call);
                counts.InitializedByWriter.Add(declarator.Symbol);
                return true;
            }

            return false;
        }

        // (array, 0, n): only the first n elements are read.
        if (value == reference && BoundedRead(method, parameter, arguments) is { } count)
        {
            counts.Required.Add(count);
            return true;
        }

        return false;
    }

    /// <summary>Readers that write a number of elements from an index of their destination and return that
    /// number; the destination must be passed from index 0.</summary>
    private static bool IsCountedWriterDestination(IMethodSymbol method, IParameterSymbol parameter, System.Collections.Immutable.ImmutableArray<IArgumentOperation> arguments, bool asSpan)
    {
        var original = method;
        while (original.OverriddenMethod is { } overridden)
            original = overridden;
        var type = original.ContainingType;
        if (original.ReturnType.SpecialType != SpecialType.System_Int32 || method.IsStatic)
            return false;

        if (IsType(type, "System.IO", "Stream") && original.Name == "Read"
            || IsType(type, "System.IO", "TextReader") && original.Name is "Read" or "ReadBlock")
        {
            // Read(T[] buffer, int offset, int count) from offset 0, or Read(Span<T> buffer).
            return asSpan
                ? original.Parameters.Length == 1 && parameter.Ordinal == 0
                : original.Parameters.Length == 3 && parameter.Ordinal == 0 && IsZero(arguments, 1);
        }

        if (IsType(type, "System.Text", "Encoding") && !asSpan && original.Parameters.Length == 5 && parameter.Ordinal == 3
            && (original.Name == "GetBytes" && parameter.Name == "bytes" || original.Name == "GetChars" && parameter.Name == "chars"))
        {
            // GetBytes(…, byte[] bytes, int byteIndex) / GetChars(…, char[] chars, int charIndex) into index 0.
            return IsZero(arguments, 4);
        }

        return false;
    }

    /// <summary>The local <c>n</c> of a call that reads elements [0, n) of the array: <c>(array, 0, n)</c>
    /// with the usual parameter names.</summary>
    private static ILocalSymbol? BoundedRead(IMethodSymbol method, IParameterSymbol parameter, System.Collections.Immutable.ImmutableArray<IArgumentOperation> arguments)
    {
        var parameters = method.Parameters;
        var at = parameter.Ordinal;
        if (at + 2 >= parameters.Length
            || parameters[at + 1].Type.SpecialType != SpecialType.System_Int32 || parameters[at + 2].Type.SpecialType != SpecialType.System_Int32
            || parameters[at + 1].Name is not ("offset" or "index" or "startIndex" or "start" or "charIndex" or "byteIndex")
            || parameters[at + 2].Name is not ("count" or "length" or "charCount" or "byteCount")
            || !IsZero(arguments, at + 1))
        {
            return null;
        }

        return Argument(arguments, at + 2) is ILocalReferenceOperation { Local: { RefKind: RefKind.None } count } ? count : null;
    }

    /// <summary>Every write of <paramref name="count"/> stores the result of one of the readers.</summary>
    private static bool OnlyHoldsWriterCounts(ILocalSymbol count, BodyFacts facts, Counts counts)
    {
        // A plain declaration, initialized (if at all) by a reader: `out var n`, a pattern or a foreach
        // variable gets its value where it is declared.
        foreach (var declaration in count.DeclaringSyntaxReferences)
        {
            if (declaration.GetSyntax() is not VariableDeclaratorSyntax declarator
                || declarator.Initializer is not null && !counts.InitializedByWriter.Contains(count))
            {
                return false;
            }
        }

        foreach (var reference in facts.ReferencesTo(count))
        {
            switch (reference.Parent)
            {
                case ISimpleAssignmentOperation assignment when assignment.Target == reference:
                    if (!counts.Writers.Contains(assignment.Value))
                        return false;
                    break;
                case IAssignmentOperation assignment when assignment.Target == reference:
                case IIncrementOrDecrementOperation:
                case IArgumentOperation { Parameter.RefKind: not RefKind.None }:
                case IAddressOfOperation:
                case IDeconstructionAssignmentOperation:
                case ITupleOperation:
                    return false;
            }

            // Captured: a lambda or local function could change it at any time.
            for (var p = reference.Parent; p is not null; p = p.Parent)
            {
                if (p is IAnonymousFunctionOperation or ILocalFunctionOperation)
                    return false;
            }
        }

        return true;
    }

    private static bool IsZero(System.Collections.Immutable.ImmutableArray<IArgumentOperation> arguments, int ordinal)
        => Argument(arguments, ordinal) is { ConstantValue: { HasValue: true, Value: 0 } };

    private static IOperation? Argument(System.Collections.Immutable.ImmutableArray<IArgumentOperation> arguments, int ordinal)
    {
        foreach (var argument in arguments)
        {
            if (argument.Parameter?.Ordinal == ordinal)
                return argument.Value;
        }

        return null;
    }

    private static bool IsSpan(ITypeSymbol? type)
        => type is INamedTypeSymbol { Name: "Span", Arity: 1, ContainingNamespace: { Name: "System", ContainingNamespace.IsGlobalNamespace: true } };

    private static bool IsType(INamedTypeSymbol? type, string ns, string name)
        => type is not null && type.Name == name && type.ContainingNamespace?.ToDisplayString() == ns;
}
