using System.Collections.Generic;
using System.Collections.Immutable;
using System.Text;
using MemSafety.Analyzers.Compat;
using MemSafety.Analyzers.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.Boxing;

/// <summary>Which composite-formatting API a call is, and therefore which rewrite keeps its meaning.</summary>
internal enum FormattingApi
{
    /// <summary><c>string.Format(format, …)</c> → <c>$"…"</c>; with a provider → <c>string.Create(provider, $"…")</c>.</summary>
    StringFormat,

    /// <summary><c>string.Concat(object, …)</c> → <c>$"{a}{b}"</c>.</summary>
    StringConcat,

    /// <summary><c>sb.AppendFormat(format, …)</c> → <c>sb.Append($"…")</c>; with a provider → <c>sb.Append(provider, $"…")</c>.</summary>
    AppendFormat,

    /// <summary><c>Console.Write[Line](format, …)</c> → <c>Console.Write[Line](string.Create(Console.Out.FormatProvider, $"…"))</c>.</summary>
    Console,

    /// <summary><c>w.Write[Line](format, …)</c> on a TextWriter → <c>w.Write[Line](string.Create(w.FormatProvider, $"…"))</c>.</summary>
    TextWriter,
}

/// <summary>One piece of a parsed composite format: literal text, or a hole naming an argument.</summary>
internal readonly struct FormatSegment
{
    public FormatSegment(string literal)
    {
        Literal = literal;
        Index = -1;
        Alignment = null;
        Format = null;
    }

    public FormatSegment(int index, int? alignment, string? format)
    {
        Literal = null;
        Index = index;
        Alignment = alignment;
        Format = format;
    }

    public string? Literal { get; }

    public int Index { get; }

    public int? Alignment { get; }

    public string? Format { get; }
}

internal enum FormatParse
{
    Ok,

    /// <summary>The runtime would throw a FormatException (or the index is out of range): leave the call alone.</summary>
    Malformed,

    /// <summary>Valid, but not expressible as an interpolated string by this fix (e.g. braces in a format specifier).</summary>
    Unsupported,
}

/// <summary>A value-type argument of a formatting call that is boxed.</summary>
internal readonly struct BoxedArgument
{
    public BoxedArgument(IConversionOperation conversion, int index)
    {
        Conversion = conversion;
        Index = index;
    }

    public IConversionOperation Conversion { get; }

    /// <summary>The argument's position among the formatted values (the <c>{n}</c> it fills).</summary>
    public int Index { get; }
}

/// <summary>Everything MSA2002 knows about one call: the API, the values in order, the boxed ones and,
/// when a safe rewrite exists, the parsed format.</summary>
internal sealed class CompositeFormattingCall
{
    public CompositeFormattingCall(IInvocationOperation invocation, FormattingApi api, IOperation? provider, IOperation? format,
        ImmutableArray<IOperation> values, ImmutableArray<BoxedArgument> boxed, ImmutableArray<FormatSegment> segments, string? whyNoFix)
    {
        Invocation = invocation;
        Api = api;
        Provider = provider;
        Format = format;
        Values = values;
        Boxed = boxed;
        Segments = segments;
        WhyNoFix = whyNoFix;
    }

    public IInvocationOperation Invocation { get; }

    public FormattingApi Api { get; }

    public IOperation? Provider { get; }

    public IOperation? Format { get; }

    /// <summary>The formatted values in argument order (the value of each argument, conversions included).</summary>
    public ImmutableArray<IOperation> Values { get; }

    public ImmutableArray<BoxedArgument> Boxed { get; }

    /// <summary>The parsed format; default when there is no fix.</summary>
    public ImmutableArray<FormatSegment> Segments { get; }

    /// <summary>Null when the fix applies.</summary>
    public string? WhyNoFix { get; }

    public bool CanFix => WhyNoFix is null;

    public string ApiName
    {
        get
        {
            var method = Invocation.TargetMethod;
            var type = method.ContainingType.SpecialType == SpecialType.System_String ? "string" : method.ContainingType.Name;
            return type + "." + method.Name;
        }
    }
}

/// <summary>The symbols MSA2002 needs; null when the compilation lacks DefaultInterpolatedStringHandler
/// (netstandard2.0, .NET Framework): there an interpolated string lowers to string.Format and boxes too.</summary>
internal sealed class CompositeFormattingSymbols
{
    private CompositeFormattingSymbols(INamedTypeSymbol formatProvider, INamedTypeSymbol? textWriter, INamedTypeSymbol? stringBuilder,
        INamedTypeSymbol? console, INamedTypeSymbol iFormattable, bool hasStringCreate, bool hasAppendHandler, bool hasAppendProviderHandler)
    {
        FormatProvider = formatProvider;
        TextWriter = textWriter;
        StringBuilder = stringBuilder;
        Console = console;
        IFormattable = iFormattable;
        HasStringCreate = hasStringCreate;
        HasAppendHandler = hasAppendHandler;
        HasAppendProviderHandler = hasAppendProviderHandler;
    }

    public INamedTypeSymbol FormatProvider { get; }

    public INamedTypeSymbol? TextWriter { get; }

    public INamedTypeSymbol? StringBuilder { get; }

    public INamedTypeSymbol? Console { get; }

    public INamedTypeSymbol IFormattable { get; }

    /// <summary><c>string.Create(IFormatProvider, ref DefaultInterpolatedStringHandler)</c> exists.</summary>
    public bool HasStringCreate { get; }

    public bool HasAppendHandler { get; }

    public bool HasAppendProviderHandler { get; }

    public static CompositeFormattingSymbols? Create(Compilation compilation)
    {
        var handler = compilation.GetTypeByMetadataName("System.Runtime.CompilerServices.DefaultInterpolatedStringHandler");
        var provider = compilation.GetTypeByMetadataName("System.IFormatProvider");
        var formattable = compilation.GetTypeByMetadataName("System.IFormattable");
        if (handler is null || provider is null || formattable is null)
            return null;
        var stringBuilder = WellKnownTypes.Of(compilation).StringBuilder;
        var appendHandler = compilation.GetTypeByMetadataName("System.Text.StringBuilder+AppendInterpolatedStringHandler");
        var hasCreate = false;
        foreach (var member in compilation.GetSpecialType(SpecialType.System_String).GetMembers("Create"))
        {
            if (member is IMethodSymbol { IsStatic: true, Parameters.Length: 2 } create
                && SymbolEqualityComparer.Default.Equals(create.Parameters[0].Type, provider)
                && SymbolEqualityComparer.Default.Equals(create.Parameters[1].Type, handler))
                hasCreate = true;
        }

        bool hasAppend = false, hasAppendProvider = false;
        if (stringBuilder is not null && appendHandler is not null)
        {
            foreach (var member in stringBuilder.GetMembers("Append"))
            {
                if (member is not IMethodSymbol append)
                    continue;
                if (append.Parameters.Length == 1 && SymbolEqualityComparer.Default.Equals(append.Parameters[0].Type, appendHandler))
                    hasAppend = true;
                if (append.Parameters.Length == 2 && SymbolEqualityComparer.Default.Equals(append.Parameters[0].Type, provider)
                    && SymbolEqualityComparer.Default.Equals(append.Parameters[1].Type, appendHandler))
                    hasAppendProvider = true;
            }
        }

        return new CompositeFormattingSymbols(provider, WellKnownTypes.Of(compilation).TextWriter, stringBuilder,
            compilation.GetTypeByMetadataName("System.Console"), formattable, hasCreate, hasAppend, hasAppendProvider);
    }
}

/// <summary>
/// MSA2002's analysis: recognises composite-formatting calls whose value-type arguments are boxed, decides
/// whether an interpolated string avoids the box, and whether the rewrite keeps behaviour exactly.
/// Shared by the analyzer and the code fix (the fix re-runs it on the current document).
/// </summary>
internal static class CompositeFormatting
{
    /// <summary>Cheap name/type test before anything else.</summary>
    /// <summary>Whether the call is one of the BCL formatting APIs MSA2002 owns (string.Format/Concat,
    /// StringBuilder.AppendFormat, Console.Write[Line], TextWriter.Write[Line] and its subclasses), judged by name and
    /// declaring type without the compilation's symbols. A user's own <c>Write(object)</c> is not one.</summary>
    public static bool IsBclFormattingApi(IMethodSymbol method)
    {
        if (!IsCandidateName(method) || method.ContainingType is not { } type)
            return false;
        if (type.SpecialType == SpecialType.System_String)
            return true;
        if (method.Name == "AppendFormat")
            return IsSystemType(type, "Text", "StringBuilder");
        if (IsSystemType(type, null, "Console"))
            return true;
        for (var t = type; t is not null; t = t.BaseType)
        {
            if (IsSystemType(t, "IO", "TextWriter"))
                return true;
        }

        return false;

        static bool IsSystemType(INamedTypeSymbol t, string? subNamespace, string name)
        {
            if (t.Name != name)
                return false;
            var ns = t.ContainingNamespace;
            if (subNamespace is not null)
            {
                if (ns is null || ns.Name != subNamespace)
                    return false;
                ns = ns.ContainingNamespace;
            }

            return ns is { Name: "System", ContainingNamespace.IsGlobalNamespace: true };
        }
    }

    public static bool IsCandidateName(IMethodSymbol method)
    {
        switch (method.Name)
        {
            case "Format":
            case "Concat":
                return method.IsStatic && method.ContainingType.SpecialType == SpecialType.System_String;
            case "AppendFormat":
            case "Write":
            case "WriteLine":
                return true;
            default:
                return false;
        }
    }

    public static CompositeFormattingCall? Analyze(IInvocationOperation invocation, CompositeFormattingSymbols symbols, LanguageVersion languageVersion)
    {
        var method = invocation.TargetMethod;
        if (!IsCandidateName(method))
            return null;
        if (ApiOf(method, symbols) is not { } api)
            return null;

        IOperation? provider = null, format = null;
        var values = ImmutableArray.CreateBuilder<IOperation>();
        var namedArguments = false;
        foreach (var argument in invocation.Arguments)
        {
            if (argument.Parameter is not { } parameter)
                return null;
            if (argument.Syntax is Microsoft.CodeAnalysis.CSharp.Syntax.ArgumentSyntax { NameColon: not null })
                namedArguments = true;
            if (argument.ArgumentKind == ArgumentKind.ParamArray)
            {
                // Only the expanded form: string.Format("{0}", x, y). An explicit object[] is the caller's own array.
                if (!AddParamsElements(argument.Value, values))
                    return null;
                continue;
            }

            if (argument.ArgumentKind != ArgumentKind.Explicit)
                return null;
            if (SymbolEqualityComparer.Default.Equals(parameter.Type, symbols.FormatProvider))
                provider = argument.Value;
            else if (parameter.Type.SpecialType == SpecialType.System_String && parameter.Name == "format")
                format = argument.Value;
            else if (parameter.Type.SpecialType == SpecialType.System_Object)
                values.Add(argument.Value);
            else
                return null;
        }

        if (api != FormattingApi.StringConcat && format is null)
            return null;
        if (values.Count == 0)
            return null;

        // The values in parameter order (named arguments may be written in another order).
        var ordered = values.ToImmutable();
        var boxed = ImmutableArray.CreateBuilder<BoxedArgument>();
        for (var i = 0; i < ordered.Length; i++)
        {
            if (ordered[i] is IConversionOperation { Type.SpecialType: SpecialType.System_Object, Operand.Type: { IsValueType: true } type } conversion && FormatsWithoutBoxing(type, symbols))
                boxed.Add(new BoxedArgument(conversion, i));
        }

        if (boxed.Count == 0)
            return null;

        // Parse the format: a malformed one (or one that names a missing argument) throws at run time: not ours.
        ImmutableArray<FormatSegment> segments;
        string? whyNoFix = null;
        if (api == FormattingApi.StringConcat)
        {
            var builder = ImmutableArray.CreateBuilder<FormatSegment>(ordered.Length);
            for (var i = 0; i < ordered.Length; i++)
                builder.Add(new FormatSegment(i, null, null));
            segments = builder.MoveToImmutable();
            for (var i = 0; i < ordered.Length && whyNoFix is null; i++)
            {
                // Concat calls ToString(); the handler calls IFormattable.ToString(null, null) on IFormattable values.
                // The two agree for the BCL's primitive types and strings; not necessarily for a user's types.
                var type = ordered[i].WithoutImplicitConversions().Type;
                if (type is null || !(type.SpecialType != SpecialType.None && type.SpecialType != SpecialType.System_Object))
                    whyNoFix = "a value other than a string or primitive may format differently through IFormattable";
            }
        }
        else if (format!.ConstantValue is { HasValue: true, Value: string text })
        {
            var parse = Parse(text, ordered.Length, out segments);
            if (parse == FormatParse.Malformed)
                return null;
            if (parse == FormatParse.Unsupported)
                whyNoFix = "the format string uses a feature an interpolated string cannot express";
        }
        else
        {
            segments = default;
            whyNoFix = "the format string is not a constant";
        }

        whyNoFix ??= namedArguments ? "named arguments" : null;
        whyNoFix ??= CheckEvaluation(api, ordered, segments);
        whyNoFix ??= CheckTarget(api, invocation, provider, symbols, languageVersion);
        whyNoFix ??= CheckHoleSyntax(ordered);

        return new CompositeFormattingCall(invocation, api, provider, format, ordered, boxed.ToImmutable(), whyNoFix is null ? segments : default, whyNoFix);
    }

    private static FormattingApi? ApiOf(IMethodSymbol method, CompositeFormattingSymbols symbols)
    {
        var type = method.ContainingType;
        if (type.SpecialType == SpecialType.System_String)
            return method.Name == "Format" ? FormattingApi.StringFormat : FormattingApi.StringConcat;
        if (method.Name == "AppendFormat")
            return SymbolEqualityComparer.Default.Equals(type, symbols.StringBuilder) && !method.IsStatic ? FormattingApi.AppendFormat : null;
        if (SymbolEqualityComparer.Default.Equals(type, symbols.Console) && method.IsStatic)
            return FormattingApi.Console;
        if (!method.IsStatic && symbols.TextWriter is not null)
        {
            for (var t = type; t is not null; t = t.BaseType)
            {
                if (SymbolEqualityComparer.Default.Equals(t, symbols.TextWriter))
                    return FormattingApi.TextWriter;
            }
        }

        return null;
    }

    private static bool AddParamsElements(IOperation value, ImmutableArray<IOperation>.Builder values)
    {
        if (value is IArrayCreationOperation { IsImplicit: true, Initializer: { } initializer } array
            && array.Type is IArrayTypeSymbol { ElementType.SpecialType: SpecialType.System_Object })
        {
            foreach (var element in initializer.ElementValues)
                values.Add(element);
            return true;
        }

        if (value is ICollectionExpressionOperation { IsImplicit: true } collection)
        {
            foreach (var element in collection.Elements)
                values.Add(element);
            return true;
        }

        return false;
    }

    /// <summary>
    /// True when <c>DefaultInterpolatedStringHandler.AppendFormatted&lt;T&gt;</c> formats a <paramref name="type"/>
    /// without boxing it: it implements IFormattable (primitives, DateTime, decimal, Guid…) or has its own
    /// ToString (bool, char, user structs with an override). Not: Nullable&lt;T&gt; (the handler's generic
    /// type tests on a nullable are not proven box-free), enums (formatted through Enum, whose boxing depends
    /// on the runtime), type parameters, and structs that inherit ValueType.ToString (boxed inside the handler).
    /// </summary>
    private static bool FormatsWithoutBoxing(ITypeSymbol type, CompositeFormattingSymbols symbols)
    {
        if (!type.IsValueType || type.TypeKind is TypeKind.Enum or TypeKind.TypeParameter or TypeKind.Error)
            return false;
        if (type.OriginalDefinition.SpecialType == SpecialType.System_Nullable_T || type.IsRefLikeType)
            return false;
        foreach (var @interface in type.AllInterfaces)
        {
            if (SymbolEqualityComparer.Default.Equals(@interface, symbols.IFormattable))
                return true;
        }

        for (var t = type; t is not null && t.SpecialType is not (SpecialType.System_ValueType or SpecialType.System_Object); t = t.BaseType)
        {
            foreach (var member in t.GetMembers("ToString"))
            {
                if (member is IMethodSymbol { IsOverride: true, Parameters.Length: 0 })
                    return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Parses a composite format the way <c>string.Format</c> does for the shapes an interpolated string can
    /// express: <c>{{</c>, <c>}}</c>, <c>{n}</c>, <c>{n,align}</c>, <c>{n:fmt}</c>, <c>{n,align:fmt}</c>.
    /// </summary>
    /// <summary>Characters a format specifier of an interpolated string cannot hold as written.</summary>
    private static readonly char[] UnwritableInSpecifier = { '"', '\\', '\r', '\n', '{', '}' };

    internal static FormatParse Parse(string format, int argumentCount, out ImmutableArray<FormatSegment> segments)
    {
        segments = default;
        var result = ImmutableArray.CreateBuilder<FormatSegment>();
        var literal = new StringBuilder();
        var unsupported = false;
        var i = 0;
        while (i < format.Length)
        {
            var c = format[i];
            if (c == '}')
            {
                if (i + 1 < format.Length && format[i + 1] == '}')
                {
                    literal.Append('}');
                    i += 2;
                    continue;
                }

                return FormatParse.Malformed;
            }

            if (c != '{')
            {
                literal.Append(c);
                i++;
                continue;
            }

            if (i + 1 < format.Length && format[i + 1] == '{')
            {
                literal.Append('{');
                i += 2;
                continue;
            }

            // A hole: find its closing brace.
            var close = format.IndexOf('}', i + 1);
            if (close < 0)
                return FormatParse.Malformed;
            var body = format.Substring(i + 1, close - i - 1);
            var colon = body.IndexOf(':');
            var head = colon < 0 ? body : body.Substring(0, colon);
            var specifier = colon < 0 ? null : body.Substring(colon + 1);
            if (body.IndexOf('{') >= 0)
                return FormatParse.Malformed;
            var comma = head.IndexOf(',');
            var indexText = (comma < 0 ? head : head.Substring(0, comma)).TrimEnd(' ');
            var alignText = comma < 0 ? null : head.Substring(comma + 1).Trim(' ');
            if (!ParseDigits(indexText, out var index) || index >= argumentCount)
                return FormatParse.Malformed;
            int? alignment = null;
            if (alignText is not null)
            {
                var negative = alignText.StartsWith("-", System.StringComparison.Ordinal);
                if (!ParseDigits(negative ? alignText.Substring(1) : alignText, out var width))
                    return FormatParse.Malformed;
                alignment = negative ? -width : width;
            }

            // Spaces inside the hole are accepted by the runtime but our normalised hole would drop them: fine for
            // the index and alignment; a specifier (which keeps its spaces) must not contain what C# cannot write there.
            if (specifier is not null)
            {
                if (specifier.Length == 0)
                    specifier = null;
                else if (specifier.IndexOfAny(UnwritableInSpecifier) >= 0)
                    unsupported = true;
            }

            // A '}' right after this hole's '}' would be read by the runtime as an escaped brace inside the specifier.
            if (close + 1 < format.Length && format[close + 1] == '}' && specifier is not null)
                unsupported = true;

            if (literal.Length > 0)
            {
                result.Add(new FormatSegment(literal.ToString()));
                literal.Clear();
            }

            result.Add(new FormatSegment(index, alignment, specifier));
            i = close + 1;
        }

        if (literal.Length > 0)
            result.Add(new FormatSegment(literal.ToString()));
        if (unsupported)
            return FormatParse.Unsupported;
        segments = result.ToImmutable();
        return FormatParse.Ok;
    }

    private static bool ParseDigits(string text, out int value)
    {
        value = 0;
        if (text.Length == 0 || text.Length > 6)
            return false;
        foreach (var c in text)
        {
            if (c < '0' || c > '9')
                return false;
            value = value * 10 + (c - '0');
        }

        return true;
    }

    /// <summary>
    /// The original evaluates every argument once, left to right, and formats afterwards; the interpolated
    /// string evaluates and formats hole by hole. Both agree when every value is a read that cannot throw or
    /// have effects (local, parameter, constant, field of this or static field), or when each argument
    /// is used exactly once in order and whatever precedes a call-like argument is a copied value or a string.
    /// </summary>
    private static string? CheckEvaluation(FormattingApi api, ImmutableArray<IOperation> values, ImmutableArray<FormatSegment> segments)
    {
        var used = new int[values.Length];
        var inOrder = true;
        var next = 0;
        foreach (var segment in segments)
        {
            if (segment.Literal is not null)
                continue;
            used[segment.Index]++;
            if (segment.Index != next)
                inOrder = false;
            next = segment.Index + 1;
        }

        var allPure = true;
        for (var i = 0; i < values.Length; i++)
        {
            if (used[i] == 0)
                return "argument " + i + " is not used by the format";
            if (!IsPure(values[i]))
                allPure = false;
        }

        if (allPure)
            return null;

        // StringBuilder.Append($"…") appends hole by hole: an argument that throws would leave part of the text behind.
        if (api == FormattingApi.AppendFormat)
            return "an argument may throw after part of the text was appended";
        if (!inOrder || next != values.Length)
            return "arguments with side effects would be evaluated in another order or more than once";
        for (var i = 0; i < values.Length; i++)
        {
            if (IsPure(values[i]))
                continue;
            for (var j = 0; j < i; j++)
            {
                var type = values[j].WithoutImplicitConversions().Type;
                if (type is null || !(type.IsValueType || type.SpecialType == SpecialType.System_String))
                    return "a later argument could change how an earlier object formats";
            }
        }

        return null;
    }

    internal static bool IsPure(IOperation value)
    {
        value = value.WithoutImplicitConversions();
        if (value.ConstantValue.HasValue)
            return true;
        return value switch
        {
            ILocalReferenceOperation or IParameterReferenceOperation or IInstanceReferenceOperation or ILiteralOperation => true,
            IFieldReferenceOperation { Instance: null } => true,
            IFieldReferenceOperation { Instance: IInstanceReferenceOperation } => true,
            _ => false,
        };
    }

    private static string? CheckTarget(FormattingApi api, IInvocationOperation invocation, IOperation? provider, CompositeFormattingSymbols symbols, LanguageVersion languageVersion)
    {
        // Interpolated strings converted to a handler parameter (string.Create, StringBuilder.Append) need C# 10.
        var needsHandlerConversion = api switch
        {
            FormattingApi.StringFormat => provider is not null,
            FormattingApi.StringConcat => false,
            _ => true,
        };
        if (needsHandlerConversion && languageVersion < RoslynEnums.CSharp10)
            return "the rewrite needs C# 10";
        switch (api)
        {
            case FormattingApi.StringFormat when provider is not null:
            case FormattingApi.Console:
                return symbols.HasStringCreate ? null : "string.Create(IFormatProvider, …) is missing";
            case FormattingApi.TextWriter:
                if (!symbols.HasStringCreate)
                    return "string.Create(IFormatProvider, …) is missing";
                return invocation.Instance is { } writer && IsPure(writer) && writer.Syntax.ToString().IndexOf('\n') < 0
                    ? null
                    : "the writer expression would be evaluated twice";
            case FormattingApi.AppendFormat:
                if (invocation.Instance is null)
                    return "no receiver";
                return (provider is null ? symbols.HasAppendHandler : symbols.HasAppendProviderHandler)
                    ? null
                    : "StringBuilder.Append with an interpolated string handler is missing";
            default:
                return null;
        }
    }

    private static string? CheckHoleSyntax(ImmutableArray<IOperation> values)
    {
        foreach (var value in values)
        {
            var text = value.WithoutImplicitConversions().Syntax.ToString();
            if (text.IndexOf('\n') >= 0 || text.IndexOf('\r') >= 0 || text.IndexOf("//", System.StringComparison.Ordinal) >= 0 || text.IndexOf("/*", System.StringComparison.Ordinal) >= 0)
                return "an argument spans lines or holds a comment";
            if (text.IndexOf('@') >= 0 || text.IndexOf('$') >= 0 || text.IndexOf('\'') >= 0 || text.IndexOf('"') >= 0)
                return "an argument holds a literal that cannot be moved into an interpolation hole safely";
        }

        return null;
    }

    /// <summary>Escapes literal text for a regular interpolated string.</summary>
    public static void AppendLiteral(StringBuilder builder, string text)
    {
        foreach (var c in text)
        {
            switch (c)
            {
                case '{': builder.Append("{{"); break;
                case '}': builder.Append("}}"); break;
                case '\\': builder.Append("\\\\"); break;
                case '"': builder.Append("\\\""); break;
                case '\0': builder.Append("\\0"); break;
                case '\a': builder.Append("\\a"); break;
                case '\b': builder.Append("\\b"); break;
                case '\f': builder.Append("\\f"); break;
                case '\n': builder.Append("\\n"); break;
                case '\r': builder.Append("\\r"); break;
                case '\t': builder.Append("\\t"); break;
                case '\v': builder.Append("\\v"); break;
                default:
                    if (c < ' ' || char.IsSurrogate(c) || c == '\u0085' || c == '\u2028' || c == '\u2029' || c >= '\uFFF0')
                        builder.Append("\\u").Append(((int)c).ToString("X4", System.Globalization.CultureInfo.InvariantCulture));
                    else
                        builder.Append(c);
                    break;
            }
        }
    }
}
