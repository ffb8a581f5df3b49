using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Compat;

/// <summary>Enum members that newer Roslyn versions added (operation kinds of C# 10-12 constructs, params
/// collections, <c>ref readonly</c> parameters, language versions), as constants every Roslyn lane compiles. The
/// values are Roslyn's and never change (a public enum's values are part of its binary contract); a test compares
/// each one with the 4.14 enum member of the same name. In a lane whose compiler cannot produce a construct, the
/// constant simply never matches.</summary>
internal static class RoslynEnums
{
    public const OperationKind InterpolatedStringHandlerCreation = (OperationKind)114;
    public const OperationKind InterpolatedStringAddition = (OperationKind)115;
    public const OperationKind InterpolatedStringAppendLiteral = (OperationKind)116;
    public const OperationKind InterpolatedStringAppendFormatted = (OperationKind)117;
    public const OperationKind InterpolatedStringHandlerArgumentPlaceholder = (OperationKind)119;
    public const OperationKind FunctionPointerInvocation = (OperationKind)120;
    public const OperationKind ListPattern = (OperationKind)121;
    public const OperationKind SlicePattern = (OperationKind)122;
    public const OperationKind ImplicitIndexerReference = (OperationKind)123;
    public const OperationKind Utf8String = (OperationKind)124;
    public const OperationKind Attribute = (OperationKind)125;
    public const OperationKind CollectionExpression = (OperationKind)127;
    public const OperationKind Spread = (OperationKind)128;

    /// <summary><see cref="ArgumentKind"/> of a C# 13 <c>params</c> collection argument.</summary>
    public const ArgumentKind ParamCollection = (ArgumentKind)4;

    /// <summary><see cref="RefKind"/> of a C# 12 <c>ref readonly</c> parameter.</summary>
    public const RefKind RefReadOnlyParameter = (RefKind)4;

    public const LanguageVersion CSharp10 = (LanguageVersion)1000;
    public const LanguageVersion CSharp11 = (LanguageVersion)1100;
    public const LanguageVersion CSharp12 = (LanguageVersion)1200;
    public const LanguageVersion CSharp13 = (LanguageVersion)1300;

    /// <summary>The token of a C# 11 multi-line raw string literal.</summary>
    public const SyntaxKind MultiLineRawStringLiteralToken = (SyntaxKind)8519;

    /// <summary>C# 9 <c>record</c> and C# 10 <c>record struct</c> declarations.</summary>
    public const SyntaxKind RecordDeclaration = (SyntaxKind)9063;
    public const SyntaxKind RecordStructDeclaration = (SyntaxKind)9068;
}
