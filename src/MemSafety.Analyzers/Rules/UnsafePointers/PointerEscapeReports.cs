using System.Threading;
using MemSafety.Analyzers.Engines.Provenance;
using Microsoft.CodeAnalysis;

namespace MemSafety.Analyzers.Rules.UnsafePointers;

/// <summary>What MSA5001 and MSA5002 share: message text and the check that the compiler has not already
/// reported the code (an error there, or one of its pointer and ref-safety warnings).</summary>
internal static class PointerEscapeReports
{
    /// <summary>True when the compiler reports an error, or a warning about the same kind of mistake, on the
    /// pointer's origin or on the escaping code: CS8500 (address of a managed type), CS9123 (<c>&amp;</c> in an
    /// async method), CS9080–CS9099 (ref-safety errors that an unsafe context downgrades to warnings).</summary>
    public static bool CompilerAlreadyReports(SemanticModel model, PointerEscape escape, CancellationToken cancellationToken)
        => Reports(model, escape.Origin.Site, cancellationToken) || Reports(model, escape.Site, cancellationToken);

    private static bool Reports(SemanticModel model, SyntaxNode node, CancellationToken cancellationToken)
    {
        if (node.ContainsDiagnostics)
            return true;
        foreach (var diagnostic in model.GetDiagnostics(node.Span, cancellationToken))
        {
            if (diagnostic.Severity == DiagnosticSeverity.Error || diagnostic.Id is "CS8500" or "CS9123"
                || (diagnostic.Id.Length == 6 && diagnostic.Id.StartsWith("CS90", System.StringComparison.Ordinal) && diagnostic.Id[4] is '8' or '9'))
            {
                return true;
            }
        }

        return false;
    }

    public static string Line(SyntaxNode node) => (node.GetLocation().GetLineSpan().StartLinePosition.Line + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>How the pointer escapes, for the end of the message's first clause.</summary>
    public static string Describe(PointerEscape escape, string scopeEnd) => escape.Kind switch
    {
        PointerEscapeKind.Returned => "is returned",
        PointerEscapeKind.StoredBeyondScope => "is stored into " + escape.Target + " and still held there when " + scopeEnd,
        PointerEscapeKind.CapturedByEscapingDelegate => "is captured by a delegate that is " + escape.Target,
        _ => "is used after the block ends ('" + Shorten(escape.Site.ToString()) + "' at line " + Line(escape.Site) + ")",
    };

    private static string Shorten(string text)
    {
        text = text.Replace("\r", string.Empty).Replace("\n", " ");
        return text.Length <= 50 ? text : text.Substring(0, 47) + "...";
    }
}
