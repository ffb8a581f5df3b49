using System.Collections.Generic;
using System.Collections.Immutable;
using System.Threading;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Bodies;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.HeapEscapes;

/// <summary>The string member that copies characters (MSA1004).</summary>
internal enum CopyKind
{
    /// <summary><c>s.Substring(i)</c> / <c>s.Substring(i, n)</c> → <c>s.AsSpan(i)</c> / <c>s.AsSpan(i, n)</c>.</summary>
    Substring,
    /// <summary><c>s.Remove(n)</c> → <c>s.AsSpan(0, n)</c>.</summary>
    Remove,
    /// <summary><c>s.Trim()</c> / <c>s.Trim(c)</c> → <c>s.AsSpan().Trim()</c> / <c>s.AsSpan().Trim(c)</c> (also TrimStart, TrimEnd).</summary>
    Trim,
    /// <summary><c>s.ToCharArray()</c> / <c>s.ToCharArray(i, n)</c> → <c>s.AsSpan()</c> / <c>s.AsSpan(i, n)</c>.</summary>
    ToCharArray,
    /// <summary><c>s[a..b]</c> → <c>s.AsSpan(a..b)</c> (or <c>s.AsSpan()[a..b]</c>).</summary>
    Range,
}

/// <summary>What a use of the copy does, and how it changes when the copy becomes a span.</summary>
internal enum CopyUseKind
{
    /// <summary>Already converted to <c>ReadOnlySpan&lt;char&gt;</c> (a span parameter): unchanged.</summary>
    ConvertedToSpan,
    /// <summary>Argument of a parse method with a span overload of the same meaning: unchanged (overload resolution picks it).</summary>
    Parse,
    /// <summary><c>StringBuilder.Append</c>/<c>Insert</c>, <c>StreamWriter</c>/<c>StringWriter</c> <c>Write</c>/<c>WriteLine</c>: unchanged.</summary>
    SpanOverload,
    /// <summary><c>v.AsSpan()</c> → <c>v</c>.</summary>
    AsSpanCall,
    /// <summary><c>v == o</c> → <c>v.SequenceEqual(o)</c>; <c>v != o</c> → <c>!v.SequenceEqual(o)</c>.</summary>
    Equality,
    /// <summary><c>string.Equals(v, o)</c> / <c>v.Equals(o)</c> → <c>v.SequenceEqual(o)</c>; with a StringComparison → <c>v.Equals(o, c)</c>.</summary>
    EqualsCall,
    /// <summary><c>v.StartsWith(o, c)</c>, <c>v.EndsWith(o, c)</c>, <c>v.Contains(o, c)</c>, <c>v.Contains('x')</c>: unchanged.</summary>
    SameCall,
    /// <summary><c>v.Contains(o)</c> (ordinal) → <c>v.Contains(o, StringComparison.Ordinal)</c>.</summary>
    ContainsOrdinal,
    /// <summary><c>v.Length</c> and <c>v[i]</c> of a local: unchanged.</summary>
    LengthOrIndexer,
}

/// <summary>One place that reads the copy: the producer itself or a reference to the local holding it.</summary>
internal sealed class CopyUse
{
    public CopyUse(IOperation value, CopyUseKind kind, IOperation consumer, IOperation? other, bool valueIsSecond, bool negated, bool withComparison, string description, string verb)
    {
        Value = value;
        Kind = kind;
        Consumer = consumer;
        Other = other;
        ValueIsSecond = valueIsSecond;
        Negated = negated;
        WithComparison = withComparison;
        Description = description;
        Verb = verb;
    }

    /// <summary>The producer (direct use) or the local reference.</summary>
    public IOperation Value { get; }
    public CopyUseKind Kind { get; }
    /// <summary>The operation that consumes the value (binary operator, invocation, conversion, property reference).</summary>
    public IOperation Consumer { get; }
    /// <summary>The other side of a comparison.</summary>
    public IOperation? Other { get; }
    /// <summary>The value is the right operand (or second argument); the rewrite puts it first.</summary>
    public bool ValueIsSecond { get; }
    public bool Negated { get; }
    /// <summary>An Equals call with a StringComparison argument.</summary>
    public bool WithComparison { get; }
    public string Description { get; }
    public string Verb { get; }
}

/// <summary>A copy that can become a span: the producer, how it copies, and every use.</summary>
internal sealed class SubstringCopyPlan
{
    public SubstringCopyPlan(IOperation producer, CopyKind kind, IOperation receiver, ILocalSymbol? local, IVariableDeclaratorOperation? declarator, List<CopyUse> uses)
    {
        Producer = producer;
        Kind = kind;
        Receiver = receiver;
        Local = local;
        Declarator = declarator;
        Uses = uses;
    }

    /// <summary>The invocation (<c>Substring</c>, <c>Trim</c>, …) or range indexer that copies.</summary>
    public IOperation Producer { get; }
    public CopyKind Kind { get; }
    /// <summary>The string that is copied from.</summary>
    public IOperation Receiver { get; }
    /// <summary>The local that holds the copy, when it is not consumed directly.</summary>
    public ILocalSymbol? Local { get; }
    public IVariableDeclaratorOperation? Declarator { get; }
    public List<CopyUse> Uses { get; }
}

/// <summary>
/// The symbols MSA1004 needs from one compilation: the span APIs that exist there decide which rewrites
/// are possible (.NET Standard 2.0 has none, .NET Standard 2.0 with System.Memory has some, .NET Core 2.1+
/// has most). Create once per compilation.
/// </summary>
internal sealed class SubstringCopySymbols
{
    private static readonly string[] ParseTypeNames =
    {
        "System.Byte", "System.SByte", "System.Int16", "System.UInt16", "System.Int32", "System.UInt32", "System.Int64",
        "System.UInt64", "System.Int128", "System.UInt128", "System.IntPtr", "System.UIntPtr", "System.Half", "System.Single",
        "System.Double", "System.Decimal", "System.Boolean", "System.Guid", "System.DateTime", "System.DateTimeOffset",
        "System.TimeSpan", "System.DateOnly", "System.TimeOnly", "System.Version", "System.Numerics.BigInteger",
    };

    private SubstringCopySymbols(Compilation compilation, INamedTypeSymbol readOnlySpanOfChar, INamedTypeSymbol memoryExtensions)
    {
        Compilation = compilation;
        ReadOnlySpanOfChar = readOnlySpanOfChar;
        MemoryExtensions = memoryExtensions;
        // .NET Core's string converts to ReadOnlySpan<char> (an operator on String); netstandard2.0 with
        // System.Memory has the spans but not the operator, so a string passed where a span is taken needs AsSpan().
        StringConvertsToSpan = compilation.ClassifyCommonConversion(compilation.GetSpecialType(SpecialType.System_String), readOnlySpanOfChar).IsImplicit;
        StringBuilder = WellKnownTypes.Of(compilation).StringBuilder;
        StreamWriter = compilation.GetTypeByMetadataName("System.IO.StreamWriter");
        StringWriter = compilation.GetTypeByMetadataName("System.IO.StringWriter");
        RangeType = compilation.GetTypeByMetadataName("System.Range");

        var parseTypes = ImmutableHashSet.CreateBuilder<INamedTypeSymbol>(SymbolEqualityComparer.Default);
        foreach (var name in ParseTypeNames)
        {
            if (compilation.GetTypeByMetadataName(name) is { } type)
                parseTypes.Add(type);
        }

        ParseTypes = parseTypes.ToImmutable();

        foreach (var member in memoryExtensions.GetMembers())
        {
            if (member is not IMethodSymbol { IsStatic: true, DeclaredAccessibility: Accessibility.Public } method)
                continue;
            var p = method.Parameters;
            switch (method.Name)
            {
                case "AsSpan" when p.Length == 2 && p[0].Type.SpecialType == SpecialType.System_String && RangeType is not null
                                   && SymbolEqualityComparer.Default.Equals(p[1].Type, RangeType):
                    HasAsSpanRange = true;
                    break;
                case "Trim" or "TrimStart" or "TrimEnd" when !method.IsGenericMethod && p.Length >= 1 && IsSpanOfChar(p[0].Type):
                    if (p.Length == 1)
                        SpanTrim.Add(method.Name);
                    else if (p.Length == 2 && p[1].Type.SpecialType == SpecialType.System_Char)
                        SpanTrimChar.Add(method.Name);
                    break;
                case "SequenceEqual" when method.IsGenericMethod && p.Length == 2 && IsReadOnlySpanOfTypeParameter(p[0].Type) && IsReadOnlySpanOfTypeParameter(p[1].Type):
                    HasSequenceEqual = true;
                    break;
                case "Equals" or "StartsWith" or "EndsWith" or "Contains" when !method.IsGenericMethod && p.Length == 3
                        && IsSpanOfChar(p[0].Type) && IsSpanOfChar(p[1].Type) && p[2].Type.Name == "StringComparison":
                    SpanWithComparison.Add(method.Name);
                    break;
                case "StartsWith" or "EndsWith" or "Contains" when method.IsGenericMethod && p.Length == 2
                        && IsReadOnlySpanOfTypeParameter(p[0].Type) && p[1].Type.TypeKind == TypeKind.TypeParameter:
                    SpanWithElement.Add(method.Name);
                    break;
            }
        }

        if (StringBuilder is not null)
        {
            foreach (var member in StringBuilder.GetMembers())
            {
                if (member is IMethodSymbol { IsStatic: false, DeclaredAccessibility: Accessibility.Public } method)
                {
                    if (method.Name == "Append" && method.Parameters.Length == 1 && IsSpanOfChar(method.Parameters[0].Type))
                        HasAppendSpan = true;
                    else if (method.Name == "Insert" && method.Parameters.Length == 2 && IsSpanOfChar(method.Parameters[1].Type))
                        HasInsertSpan = true;
                }
            }
        }

        if (WellKnownTypes.Of(compilation).TextWriter is { } textWriter)
        {
            foreach (var member in textWriter.GetMembers())
            {
                if (member is IMethodSymbol { IsStatic: false, DeclaredAccessibility: Accessibility.Public, Name: "Write" or "WriteLine", Parameters.Length: 1 } method
                    && IsSpanOfChar(method.Parameters[0].Type))
                {
                    WriterSpan.Add(method.Name);
                }
            }
        }
    }

    /// <summary>The symbols, or null when the compilation has no <c>MemoryExtensions.AsSpan(string, …)</c>.</summary>
    public static SubstringCopySymbols? Create(Compilation compilation)
    {
        var readOnlySpan = WellKnownTypes.Of(compilation).ReadOnlySpan;
        var memoryExtensions = WellKnownTypes.Of(compilation).MemoryExtensions;
        if (readOnlySpan is null || memoryExtensions is null)
            return null;
        var asSpanShapes = 0;
        foreach (var member in memoryExtensions.GetMembers("AsSpan"))
        {
            if (member is IMethodSymbol { IsStatic: true, Parameters: var p } && p.Length >= 1 && p[0].Type.SpecialType == SpecialType.System_String)
            {
                if (p.Length == 1 || (p.Length == 2 && p[1].Type.SpecialType == SpecialType.System_Int32)
                    || (p.Length == 3 && p[1].Type.SpecialType == SpecialType.System_Int32 && p[2].Type.SpecialType == SpecialType.System_Int32))
                {
                    asSpanShapes++;
                }
            }
        }

        if (asSpanShapes < 3)
            return null;
        var ofChar = readOnlySpan.Construct(compilation.GetSpecialType(SpecialType.System_Char));
        return new SubstringCopySymbols(compilation, ofChar, memoryExtensions);
    }

    public Compilation Compilation { get; }
    public INamedTypeSymbol ReadOnlySpanOfChar { get; }
    public INamedTypeSymbol MemoryExtensions { get; }
    public INamedTypeSymbol? StringBuilder { get; }
    public INamedTypeSymbol? StreamWriter { get; }
    public INamedTypeSymbol? StringWriter { get; }
    public INamedTypeSymbol? RangeType { get; }
    public ImmutableHashSet<INamedTypeSymbol> ParseTypes { get; }
    public bool HasAsSpanRange { get; }
    /// <summary>Whether a string converts implicitly to <c>ReadOnlySpan&lt;char&gt;</c> in this compilation.</summary>
    public bool StringConvertsToSpan { get; }
    public bool HasSequenceEqual { get; }
    public bool HasAppendSpan { get; }
    public bool HasInsertSpan { get; }
    /// <summary>Trim, TrimStart, TrimEnd of <c>ReadOnlySpan&lt;char&gt;</c> (whitespace).</summary>
    public HashSet<string> SpanTrim { get; } = new();
    /// <summary>Trim, TrimStart, TrimEnd of <c>ReadOnlySpan&lt;char&gt;</c> with one char.</summary>
    public HashSet<string> SpanTrimChar { get; } = new();
    /// <summary>Equals, StartsWith, EndsWith, Contains of two char spans with a StringComparison.</summary>
    public HashSet<string> SpanWithComparison { get; } = new();
    /// <summary>StartsWith, EndsWith, Contains of a span and one element (ordinal).</summary>
    public HashSet<string> SpanWithElement { get; } = new();
    /// <summary>TextWriter.Write / WriteLine taking a <c>ReadOnlySpan&lt;char&gt;</c>.</summary>
    public HashSet<string> WriterSpan { get; } = new();

    public bool IsReadOnlySpanOfChar(ITypeSymbol? type) => SymbolEqualityComparer.Default.Equals(type, ReadOnlySpanOfChar);

    private static bool IsSpanOfChar(ITypeSymbol type)
        => type is INamedTypeSymbol { Name: "ReadOnlySpan", TypeArguments.Length: 1 } named && named.TypeArguments[0].SpecialType == SpecialType.System_Char;

    private static bool IsReadOnlySpanOfTypeParameter(ITypeSymbol type)
        => type is INamedTypeSymbol { Name: "ReadOnlySpan", TypeArguments.Length: 1 } named && named.TypeArguments[0].TypeKind == TypeKind.TypeParameter;
}

/// <summary>
/// MSA1004's analysis, shared by the analyzer and the fix: whether a string copy (<c>Substring</c>,
/// <c>Remove</c>, <c>Trim*</c>, <c>ToCharArray</c>, a range indexer) is only read by APIs that have a span
/// form with the same meaning, directly or through a local that is never written again.
/// </summary>
internal static class SubstringCopies
{
    /// <summary>The plan to turn the copy into a span, or null when it must stay a copy. With
    /// <paramref name="deferToCa1846"/> (the analyzer passes whether CA1846 reports in the file), a Substring
    /// passed straight to a method with a span overload is left to CA1846.</summary>
    public static SubstringCopyPlan? Analyze(IOperation producer, SubstringCopySymbols symbols, ISymbol containingSymbol, CancellationToken cancellationToken, bool deferToCa1846 = true)
    {
        if (!TryGetCopy(producer, symbols, out var kind, out var receiver))
            return null;
        if (producer.Syntax.ContainsDiagnostics || ArrayFacts.IsInExpressionTree(producer))
            return null;

        if (producer.Parent is IVariableInitializerOperation { Parent: IVariableDeclaratorOperation declarator })
            return AnalyzeLocal(producer, kind, receiver, declarator, symbols, containingSymbol, cancellationToken);

        if (!TryClassifyUse(producer, null, kind, symbols, out var use))
            return null;

        // Defer to CA1846: a Substring passed straight to a method that has a span overload is its finding.
        if (deferToCa1846 && kind == CopyKind.Substring && ArgumentOf(producer) is { } call && Ca1846Reports(call, symbols, containingSymbol))
            return null;

        // A span temporary cannot be kept across an await: in an async function, the whole expression
        // around the copy must be free of awaits.
        var function = producer.FunctionOf(containingSymbol);
        if (function is IMethodSymbol { IsAsync: true } && ContainsAwait(FullExpression(producer)))
            return null;

        return new SubstringCopyPlan(producer, kind, receiver, null, null, new List<CopyUse> { use });
    }

    // ------------------------------------------------------------------ producers

    /// <summary>Whether the operation is a copy this rule knows, written as <c>receiver.Member(…)</c> or <c>receiver[range]</c>.</summary>
    public static bool TryGetCopy(IOperation operation, SubstringCopySymbols symbols, out CopyKind kind, out IOperation receiver)
    {
        kind = default;
        receiver = null!;
        switch (operation)
        {
            case IInvocationOperation { TargetMethod: { IsStatic: false } method, Instance: { } instance } invocation
                when method.ContainingType?.SpecialType == SpecialType.System_String:
            {
                if (instance is IConditionalAccessInstanceOperation
                    || invocation.Syntax is not InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax } syntax
                    || HasNamedArgument(syntax.ArgumentList))
                {
                    return false;
                }

                var p = method.Parameters;
                switch (method.Name)
                {
                    case "Substring" when p.Length is 1 or 2:
                        kind = CopyKind.Substring;
                        break;
                    case "Remove" when p.Length == 1:
                        kind = CopyKind.Remove;
                        break;
                    case "Trim" or "TrimStart" or "TrimEnd" when p.Length == 0 && symbols.SpanTrim.Contains(method.Name):
                    case "Trim" or "TrimStart" or "TrimEnd" when p.Length == 1 && p[0].Type.SpecialType == SpecialType.System_Char && symbols.SpanTrimChar.Contains(method.Name):
                        kind = CopyKind.Trim;
                        break;
                    case "ToCharArray" when p.Length is 0 or 2:
                        kind = CopyKind.ToCharArray;
                        break;
                    default:
                        return false;
                }

                foreach (var parameter in p)
                {
                    if (parameter.Type.SpecialType is not (SpecialType.System_Int32 or SpecialType.System_Char) || parameter.IsParams)
                        return false;
                }

                receiver = instance;
                break;
            }

            case IImplicitIndexerReferenceOperation { Instance: { } instance, Argument: { } argument, IndexerSymbol: IMethodSymbol { Name: "Substring" } } indexer
                when instance.Type?.SpecialType == SpecialType.System_String && symbols.RangeType is not null
                     && SymbolEqualityComparer.Default.Equals(argument.Type, symbols.RangeType)
                     && indexer.Syntax is ElementAccessExpressionSyntax { ArgumentList.Arguments.Count: 1 }:
                kind = CopyKind.Range;
                receiver = instance;
                break;

            default:
                return false;
        }

        // A receiver that may be null (per nullable analysis) throws NullReferenceException today;
        // the span form would not, or would throw another exception.
        return receiver.Type is { SpecialType: SpecialType.System_String, NullableAnnotation: not NullableAnnotation.Annotated };
    }

    private static bool HasNamedArgument(ArgumentListSyntax? list)
    {
        if (list is null)
            return false;
        foreach (var argument in list.Arguments)
        {
            if (argument.NameColon is not null || !argument.RefKindKeyword.IsKind(Microsoft.CodeAnalysis.CSharp.SyntaxKind.None) && !argument.RefKindKeyword.IsKind(Microsoft.CodeAnalysis.CSharp.SyntaxKind.OutKeyword))
                return true;
        }

        return false;
    }

    // ------------------------------------------------------------------ locals

    private static SubstringCopyPlan? AnalyzeLocal(IOperation producer, CopyKind kind, IOperation receiver, IVariableDeclaratorOperation declarator,
        SubstringCopySymbols symbols, ISymbol containingSymbol, CancellationToken cancellationToken)
    {
        var local = declarator.Symbol;
        if (local.IsConst || local.RefKind != RefKind.None || !SymbolEqualityComparer.Default.Equals(local.Type, producer.Type)
            || declarator.Parent is not IVariableDeclarationOperation { Declarators.Length: 1, Parent: IVariableDeclarationGroupOperation group }
            || group.Syntax is not LocalDeclarationStatementSyntax { UsingKeyword.RawKind: 0, AwaitKeyword.RawKind: 0, Modifiers.Count: 0 } statement
            || statement.ContainsDiagnostics)
        {
            return null;
        }

        // Spans cannot be locals of async methods or iterators.
        var function = declarator.FunctionOf(containingSymbol);
        if (function is IMethodSymbol { IsAsync: true })
            return null;

        var facts = BodyFacts.Of(declarator);
        if (facts.IsIterator(declarator.EnclosingFunctionOperation()))
            return null;

        var uses = new List<CopyUse>();
        // Last to first, as the stack walk that preceded BodyFacts listed them (the uses are sorted below).
        var references = facts.ReferencesTo(local);
        for (var i = references.Count - 1; i >= 0; i--)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var reference = (ILocalReferenceOperation)references[i];

            // A span cannot be captured by a lambda or a local function.
            if (!SymbolEqualityComparer.Default.Equals(reference.FunctionOf(containingSymbol), function))
                return null;
            if (!TryClassifyUse(reference, local, kind, symbols, out var use))
                return null;
            uses.Add(use);
        }

        if (uses.Count == 0)
            return null;
        uses.Sort(static (a, b) => a.Value.Syntax.SpanStart.CompareTo(b.Value.Syntax.SpanStart));
        return new SubstringCopyPlan(producer, kind, receiver, local, declarator, uses);
    }

    /// <summary>The outermost operation of the statement-level expression that contains the operation.</summary>
    private static IOperation FullExpression(IOperation operation)
    {
        var top = operation;
        while (top.Parent is { } parent && parent.Syntax is not StatementSyntax
               && parent is not (IBlockOperation or IAnonymousFunctionOperation or ILocalFunctionOperation))
        {
            top = parent;
        }

        return top;
    }

    /// <summary>Whether an <c>await</c> of the expression's own function lies inside it (one in a lambda
    /// within the expression runs later, in that lambda).</summary>
    private static bool ContainsAwait(IOperation expression)
    {
        foreach (var suspension in BodyFacts.Of(expression).Suspensions)
        {
            if (suspension is not IAwaitOperation)
                continue;
            for (IOperation? current = suspension; current is not null; current = current.Parent)
            {
                if (current == expression)
                    return true;
                if (current is IAnonymousFunctionOperation or ILocalFunctionOperation)
                    break;
            }
        }

        return false;
    }

    // ------------------------------------------------------------------ uses

    /// <summary>Whether one read of the copy (the producer itself, or a reference to the local holding it)
    /// has a span form with the same meaning.</summary>
    private static bool TryClassifyUse(IOperation value, ILocalSymbol? local, CopyKind kind, SubstringCopySymbols symbols, out CopyUse use)
    {
        use = null!;
        var isString = value.Type?.SpecialType == SpecialType.System_String;
        switch (value.Parent)
        {
            // Already passed as a ReadOnlySpan<char>: the copy is converted back to what it came from.
            // (A range indexer converted to a span is CA1831's finding.)
            case IConversionOperation { IsImplicit: true } conversion when symbols.IsReadOnlySpanOfChar(conversion.Type):
                if (local is null && kind == CopyKind.Range)
                    return false;
                use = new CopyUse(value, CopyUseKind.ConvertedToSpan, conversion, null, false, false, false, "passed as a ReadOnlySpan<char>", "pass");
                return true;

            case IBinaryOperation { OperatorKind: BinaryOperatorKind.Equals or BinaryOperatorKind.NotEquals } binary
                when isString && symbols.HasSequenceEqual
                     && binary.LeftOperand.Type?.SpecialType == SpecialType.System_String && binary.RightOperand.Type?.SpecialType == SpecialType.System_String
                     && (binary.OperatorMethod is null || binary.OperatorMethod.ContainingType?.SpecialType == SpecialType.System_String):
            {
                var second = binary.RightOperand == value;
                var other = second ? binary.LeftOperand : binary.RightOperand;
                if (!IsComparand(other, value, local, second))
                    return false;
                var negated = binary.OperatorKind == BinaryOperatorKind.NotEquals;
                use = new CopyUse(value, CopyUseKind.Equality, binary, other, second, negated, false, negated ? "compared with '!='" : "compared with '=='", "compare");
                return true;
            }

            case IArgumentOperation { Parameter: { RefKind: RefKind.None } parameter, Parent: IInvocationOperation invocation } argument:
                return TryClassifyArgument(value, argument, parameter, invocation, local, kind, symbols, out use);

            case IInvocationOperation { TargetMethod: { IsStatic: false, ContainingType.SpecialType: SpecialType.System_String } method } invocation
                when invocation.Instance == value && isString:
                return TryClassifyStringCall(value, invocation, method, local, symbols, out use);

            case IPropertyReferenceOperation { Property: var property } propertyReference when local is not null && propertyReference.Instance == value && IsRead(propertyReference):
                if (isString ? property.Name == "Length" && !property.IsIndexer || property.IsIndexer && property.Parameters.Length == 1 && property.Parameters[0].Type.SpecialType == SpecialType.System_Int32
                             : property.Name == "Length" && property.ContainingType.SpecialType == SpecialType.System_Array)
                {
                    use = new CopyUse(value, CopyUseKind.LengthOrIndexer, propertyReference, null, false, false, false, property.IsIndexer ? "indexed" : "measured with 'Length'", "use");
                    return true;
                }

                return false;

            case IArrayElementReferenceOperation { Indices.Length: 1 } element when local is not null && element.ArrayReference == value && IsRead(element):
                use = new CopyUse(value, CopyUseKind.LengthOrIndexer, element, null, false, false, false, "indexed", "use");
                return true;

            default:
                return false;
        }
    }

    private static bool TryClassifyArgument(IOperation value, IArgumentOperation argument, IParameterSymbol parameter, IInvocationOperation invocation,
        ILocalSymbol? local, CopyKind kind, SubstringCopySymbols symbols, out CopyUse use)
    {
        use = null!;
        var method = invocation.TargetMethod;
        if (invocation.Syntax is not InvocationExpressionSyntax syntax || HasNamedArgument(syntax.ArgumentList) || !AllExplicit(invocation.Arguments))
            return false;
        var parameterType = parameter.Type;
        var valueType = value.Type;
        if (!SymbolEqualityComparer.Default.Equals(parameterType, valueType))
            return false;

        // string.Equals(a, b) and string.Equals(a, b, comparison).
        if (method is { IsStatic: true, Name: "Equals", ContainingType.SpecialType: SpecialType.System_String } && parameter.Ordinal <= 1
            && method.Parameters.Length is 2 or 3 && method.Parameters[0].Type.SpecialType == SpecialType.System_String && method.Parameters[1].Type.SpecialType == SpecialType.System_String)
        {
            var withComparison = method.Parameters.Length == 3;
            if (withComparison ? !symbols.SpanWithComparison.Contains("Equals") : !symbols.HasSequenceEqual)
                return false;
            var second = parameter.Ordinal == 1;
            var other = ArgumentAt(invocation.Arguments, second ? 0 : 1);
            if (other is null || !IsComparand(other, value, local, second))
                return false;
            use = new CopyUse(value, CopyUseKind.EqualsCall, invocation, other, second, false, withComparison, "compared with 'string.Equals'", "compare");
            return true;
        }

        // int.Parse(s), double.TryParse(s, out x), Guid.Parse(s), DateTime.ParseExact(s, format, provider), …
        if (method.IsStatic && parameter.Ordinal == 0 && valueType?.SpecialType == SpecialType.System_String
            && method.Name is "Parse" or "TryParse" or "ParseExact" or "TryParseExact"
            && method.ContainingType is { } parseType && symbols.ParseTypes.Contains(parseType))
        {
            if (!HasSpanOverload(invocation, symbols))
                return false;
            use = new CopyUse(value, CopyUseKind.Parse, invocation, null, false, false, false,
                "parsed by '" + parseType.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat) + "." + method.Name + "'", "parse");
            return true;
        }

        // StringBuilder.Append(string / char[]) and Insert(int, string / char[]).
        if (!method.IsStatic && symbols.StringBuilder is not null && SymbolEqualityComparer.Default.Equals(method.ContainingType, symbols.StringBuilder))
        {
            if (method.Name == "Append" && method.Parameters.Length == 1 && symbols.HasAppendSpan
                || method.Name == "Insert" && method.Parameters.Length == 2 && parameter.Ordinal == 1 && method.Parameters[0].Type.SpecialType == SpecialType.System_Int32 && symbols.HasInsertSpan)
            {
                if (!IsStringOrCharArray(parameterType))
                    return false;
                var appended = method.Name == "Append";
                use = new CopyUse(value, CopyUseKind.SpanOverload, invocation, null, false, false, false,
                    appended ? "appended by 'StringBuilder.Append'" : "inserted by 'StringBuilder.Insert'", appended ? "append" : "insert");
                return true;
            }

            return false;
        }

        // StreamWriter / StringWriter Write and WriteLine: only when the static type is one of these BCL
        // writers, whose span overloads write the same characters. A TextWriter of unknown type may be a
        // subclass that overrides Write(string) alone, and the span overload would bypass that override.
        if (!method.IsStatic && method.Name is "Write" or "WriteLine" && method.Parameters.Length == 1 && IsStringOrCharArray(parameterType)
            && invocation.Instance?.Type is { } writerType && symbols.WriterSpan.Contains(method.Name)
            && (SymbolEqualityComparer.Default.Equals(writerType, symbols.StreamWriter) || SymbolEqualityComparer.Default.Equals(writerType, symbols.StringWriter)))
        {
            use = new CopyUse(value, CopyUseKind.SpanOverload, invocation, null, false, false, false,
                "written by '" + writerType.Name + "." + method.Name + "'", "write");
            return true;
        }

        // s.Substring(1).AsSpan() → s.AsSpan(1).
        if (method is { IsStatic: true, Name: "AsSpan", Parameters.Length: 1 } && parameter.Ordinal == 0 && valueType?.SpecialType == SpecialType.System_String
            && SymbolEqualityComparer.Default.Equals(method.ContainingType, symbols.MemoryExtensions))
        {
            use = new CopyUse(value, CopyUseKind.AsSpanCall, invocation, null, false, false, false, "turned into a span by 'AsSpan'", "take");
            return true;
        }

        return false;
    }

    private static bool TryClassifyStringCall(IOperation value, IInvocationOperation invocation, IMethodSymbol method, ILocalSymbol? local, SubstringCopySymbols symbols, out CopyUse use)
    {
        use = null!;
        if (invocation.Syntax is not InvocationExpressionSyntax syntax || HasNamedArgument(syntax.ArgumentList) || !AllExplicit(invocation.Arguments))
            return false;
        var p = method.Parameters;
        if (p.Length == 0)
            return false;
        var first = ArgumentAt(invocation.Arguments, 0);
        if (first is null || local is not null && IsReferenceTo(first, local))
            return false;
        var withComparison = p.Length == 2 && p[1].Type.Name == "StringComparison";
        var stringArgument = p[0].Type.SpecialType == SpecialType.System_String;

        switch (method.Name)
        {
            case "Equals" when stringArgument && (p.Length == 1 ? symbols.HasSequenceEqual : withComparison && symbols.SpanWithComparison.Contains("Equals")):
                if (!IsKnownNotNull(first))
                    return false;
                use = new CopyUse(value, CopyUseKind.EqualsCall, invocation, first, false, false, withComparison, "compared with 'Equals'", "compare");
                return true;

            // StartsWith(string) and EndsWith(string) without a StringComparison are culture-sensitive; the
            // span method of the same name is ordinal. They are not reported (CA1310 asks for a StringComparison first).
            case "StartsWith" or "EndsWith" or "Contains" when stringArgument && withComparison && symbols.SpanWithComparison.Contains(method.Name):
                if (!IsKnownNotNull(first))
                    return false;
                use = new CopyUse(value, CopyUseKind.SameCall, invocation, first, false, false, true, "tested with '" + method.Name + "'", "test");
                return true;

            // string.Contains(string) is ordinal.
            case "Contains" when stringArgument && p.Length == 1 && symbols.SpanWithComparison.Contains("Contains"):
                if (!IsKnownNotNull(first))
                    return false;
                use = new CopyUse(value, CopyUseKind.ContainsOrdinal, invocation, first, false, false, false, "tested with 'Contains'", "test");
                return true;

            // StartsWith(char), EndsWith(char), Contains(char): ordinal, on spans too.
            case "StartsWith" or "EndsWith" or "Contains" when p.Length == 1 && p[0].Type.SpecialType == SpecialType.System_Char && symbols.SpanWithElement.Contains(method.Name):
                use = new CopyUse(value, CopyUseKind.SameCall, invocation, first, false, false, false, "tested with '" + method.Name + "'", "test");
                return true;

            default:
                return false;
        }
    }

    /// <summary>The other side of an equality: it must never be null (a null string and an empty span
    /// compare differently), and when the rewrite moves it after the copy (<c>"a" == s.Substring(1)</c>
    /// → <c>s.AsSpan(1).SequenceEqual("a")</c>) it must read the same value there.</summary>
    private static bool IsComparand(IOperation other, IOperation value, ILocalSymbol? local, bool valueIsSecond)
    {
        if (!IsKnownNotNull(other))
            return false;
        if (local is not null)
            return !IsReferenceTo(other, local);
        return !valueIsSecond || IsStableAcross(other, value);
    }

    private static bool IsReferenceTo(IOperation operation, ILocalSymbol local)
        => operation is ILocalReferenceOperation reference && SymbolEqualityComparer.Default.Equals(reference.Local, local);

    /// <summary>Whether a string expression can never be null: a non-null constant, a non-null flow state
    /// (nullable analysis on), or an expression that always produces a string.</summary>
    public static bool IsKnownNotNull(IOperation operation)
    {
        if (operation.ConstantValue.HasValue)
            return operation.ConstantValue.Value is string;
        if (operation.Type is not { SpecialType: SpecialType.System_String } type)
            return false;
        // 'x!' only silences the compiler: if x is null after all, the string API throws and the span API would not.
        if (operation.Syntax is PostfixUnaryExpressionSyntax { RawKind: (int)Microsoft.CodeAnalysis.CSharp.SyntaxKind.SuppressNullableWarningExpression }
            || operation.Syntax.Parent is PostfixUnaryExpressionSyntax { RawKind: (int)Microsoft.CodeAnalysis.CSharp.SyntaxKind.SuppressNullableWarningExpression })
        {
            return false;
        }

        if (type.NullableAnnotation == NullableAnnotation.NotAnnotated)
            return true;
        return operation switch
        {
            IInterpolatedStringOperation => true,
            IBinaryOperation { OperatorKind: BinaryOperatorKind.Add } => true,
            IFieldReferenceOperation { Field: { Name: "Empty", IsStatic: true, ContainingType.SpecialType: SpecialType.System_String } } => true,
            // Instance methods of string that return a string never return null; so do Concat, Join and Format.
            IInvocationOperation { TargetMethod: { ContainingType.SpecialType: SpecialType.System_String } method }
                => !method.IsStatic || method.Name is "Concat" or "Join" or "Format",
            IImplicitIndexerReferenceOperation => true,
            _ => false,
        };
    }

    /// <summary>A constant, or a by-value local or parameter that the copy's own evaluation does not assign.</summary>
    private static bool IsStableAcross(IOperation other, IOperation producer)
    {
        if (other.ConstantValue.HasValue)
            return true;
        ISymbol symbol;
        switch (other)
        {
            case ILocalReferenceOperation { Local: { RefKind: RefKind.None } l }:
                symbol = l;
                break;
            case IParameterReferenceOperation { Parameter: { RefKind: RefKind.None } p }:
                symbol = p;
                break;
            default:
                return false;
        }

        // A lambda in the copy's evaluation could write it when called.
        var facts = BodyFacts.Of(producer);
        foreach (var function in facts.Functions)
        {
            if (function is IAnonymousFunctionOperation && function.IsWithin(producer))
                return false;
        }

        foreach (var reference in facts.ReferencesTo(symbol))
        {
            var written = reference.Parent switch
            {
                IAssignmentOperation assignment => assignment.Target == reference,
                IIncrementOrDecrementOperation increment => increment.Target == reference,
                IArgumentOperation { Parameter.RefKind: RefKind.Ref or RefKind.Out } argument => argument.Value == reference,
                _ => false,
            };
            if (written && reference.IsWithin(producer))
                return false;
        }

        return true;
    }

    private static bool IsRead(IOperation reference)
    {
        switch (reference.Parent)
        {
            case IAssignmentOperation assignment when assignment.Target == reference:
            case IIncrementOrDecrementOperation:
            case IArgumentOperation { Parameter.RefKind: not RefKind.None and not RefKind.In }:
            case IAddressOfOperation:
                return false;
            case IVariableInitializerOperation initializer when initializer.Parent is IVariableDeclaratorOperation { Symbol.RefKind: not RefKind.None }:
                return false;
            default:
                return true;
        }
    }

    private static bool IsStringOrCharArray(ITypeSymbol type)
        => type.SpecialType == SpecialType.System_String || type is IArrayTypeSymbol { Rank: 1, ElementType.SpecialType: SpecialType.System_Char };

    private static bool AllExplicit(ImmutableArray<IArgumentOperation> arguments)
    {
        foreach (var argument in arguments)
        {
            if (argument.ArgumentKind != ArgumentKind.Explicit)
                return false;
        }

        return true;
    }

    private static IOperation? ArgumentAt(ImmutableArray<IArgumentOperation> arguments, int ordinal)
    {
        foreach (var argument in arguments)
        {
            if (argument.Parameter?.Ordinal == ordinal)
                return argument.Value;
        }

        return null;
    }

    // ------------------------------------------------------------------ span overloads of parse methods

    /// <summary>
    /// Whether the parse method has exactly one overload that the call binds to once its first argument is a
    /// <c>ReadOnlySpan&lt;char&gt;</c>: the same name, static, the same return type, <c>ReadOnlySpan&lt;char&gt;</c>
    /// first, the same types and ref kinds for the other arguments (a <c>string</c> format may become a span),
    /// and only optional parameters after them. For the BCL types in the list, the string overloads forward to
    /// the span implementation with exactly those defaults (NumberStyles.Integer / Float|AllowThousands / Number,
    /// a null provider meaning the current culture, DateTimeStyles.None). String arguments that would become
    /// spans must be known non-null: a null format throws ArgumentNullException today and would be an empty span.
    /// </summary>
    private static bool HasSpanOverload(IInvocationOperation invocation, SubstringCopySymbols symbols)
    {
        var method = invocation.TargetMethod;
        var count = method.Parameters.Length;
        if (invocation.Arguments.Length != count)
            return false;
        IMethodSymbol? exact = null;
        IMethodSymbol? withDefaults = null;
        int exactCount = 0, withDefaultsCount = 0;
        foreach (var member in method.ContainingType.GetMembers(method.Name))
        {
            if (member is not IMethodSymbol { IsStatic: true, IsGenericMethod: false, DeclaredAccessibility: Accessibility.Public } candidate
                || candidate.Parameters.Length < count
                || !SymbolEqualityComparer.Default.Equals(candidate.ReturnType, method.ReturnType)
                || !symbols.IsReadOnlySpanOfChar(candidate.Parameters[0].Type))
            {
                continue;
            }

            var matches = true;
            for (var i = 1; i < candidate.Parameters.Length && matches; i++)
            {
                var parameter = candidate.Parameters[i];
                if (i >= count)
                {
                    matches = parameter.IsOptional;
                    continue;
                }

                var original = method.Parameters[i];
                matches = parameter.RefKind == original.RefKind
                          && (SymbolEqualityComparer.Default.Equals(parameter.Type, original.Type)
                              || original.Type.SpecialType == SpecialType.System_String && symbols.IsReadOnlySpanOfChar(parameter.Type));
            }

            if (!matches)
                continue;
            if (candidate.Parameters.Length == count)
            {
                exact = candidate;
                exactCount++;
            }
            else
            {
                withDefaults = candidate;
                withDefaultsCount++;
            }
        }

        var chosen = exactCount == 1 ? exact : exactCount == 0 && withDefaultsCount == 1 ? withDefaults : null;
        if (chosen is null)
            return false;
        for (var i = 1; i < count; i++)
        {
            if (method.Parameters[i].Type.SpecialType == SpecialType.System_String && symbols.IsReadOnlySpanOfChar(chosen.Parameters[i].Type)
                && (!symbols.StringConvertsToSpan || ArgumentAt(invocation.Arguments, i) is not { } argument || !IsKnownNotNull(argument)))
            {
                return false;
            }
        }

        return true;
    }

    // ------------------------------------------------------------------ CA1846

    private static IInvocationOperation? ArgumentOf(IOperation value)
    {
        var current = value;
        while (current.Parent is IConversionOperation { IsImplicit: true } conversion)
            current = conversion;
        return current.Parent is IArgumentOperation { Parent: IInvocationOperation invocation } ? invocation : null;
    }

    /// <summary>
    /// Whether CA1846 ("Prefer AsSpan over Substring") reports this call: some argument is a
    /// <c>string.Substring</c> call (through implicit conversions), and an accessible method of the same name,
    /// static-ness, return type and parameter count takes <c>ReadOnlySpan&lt;char&gt;</c> at such a position and
    /// the same types everywhere else (the method itself counts when it already takes a span there). MSA1004
    /// defers to CA1846 on those calls, so one copy is never reported twice.
    /// </summary>
    internal static bool Ca1846Reports(IInvocationOperation invocation, SubstringCopySymbols symbols, ISymbol containingSymbol)
    {
        var method = invocation.TargetMethod;
        var count = method.Parameters.Length;
        if (count == 0 || count > 64)
            return false;
        ulong substringAt = 0;
        foreach (var argument in invocation.Arguments)
        {
            var value = argument.Value.WithoutImplicitConversions();
            if (argument.Parameter is { } parameter && value is IInvocationOperation { TargetMethod: { Name: "Substring", IsStatic: false, Parameters.Length: 1 or 2 } substring }
                && substring.ContainingType.SpecialType == SpecialType.System_String)
            {
                substringAt |= 1UL << parameter.Ordinal;
            }
        }

        if (substringAt == 0)
            return false;

        var within = containingSymbol as INamedTypeSymbol ?? containingSymbol.ContainingType;
        ITypeSymbol? start = method.IsStatic ? method.ContainingType : invocation.Instance?.Type;
        for (var type = start; type is not null; type = type.BaseType)
        {
            if (CandidateIn(type))
                return true;
        }

        if (!method.IsStatic && start is { TypeKind: TypeKind.Interface or TypeKind.TypeParameter })
        {
            foreach (var type in start.AllInterfaces)
            {
                if (CandidateIn(type))
                    return true;
            }
        }

        // The called method itself is always among CA1846's candidates (e.g. on a constrained type parameter).
        return CandidateIn(method.ContainingType);

        bool CandidateIn(ITypeSymbol type)
        {
            foreach (var member in type.GetMembers(method.Name))
            {
                if (member is not IMethodSymbol candidate
                    || candidate.IsStatic != method.IsStatic
                    || candidate.Parameters.Length != count
                    || !SymbolEqualityComparer.Default.Equals(candidate.ReturnType, method.ReturnType)
                    || within is not null && !symbols.Compilation.IsSymbolAccessibleWithin(candidate, within))
                {
                    continue;
                }

                var replaced = 0;
                var valid = true;
                foreach (var parameter in candidate.Parameters)
                {
                    if ((substringAt & (1UL << parameter.Ordinal)) != 0 && symbols.IsReadOnlySpanOfChar(parameter.Type))
                    {
                        replaced++;
                    }
                    else if (!SymbolEqualityComparer.Default.Equals(parameter.Type, method.Parameters[parameter.Ordinal].Type))
                    {
                        valid = false;
                        break;
                    }
                }

                if (valid && replaced > 0)
                    return true;
            }

            return false;
        }
    }
}
