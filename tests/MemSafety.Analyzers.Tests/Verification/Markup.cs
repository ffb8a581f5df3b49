using System;
using System.Collections.Generic;
using System.Text;
using Microsoft.CodeAnalysis.Text;

namespace MemSafety.Analyzers.Tests.Verification;

/// <summary>A span marked in test source: <c>{|MSA4001:text|}</c> expects that id there,
/// <c>[|text|]</c> expects the rule under test, <c>{|#0:text|}</c> only names a location that an
/// <see cref="ExpectedDiagnostic"/> refers to.</summary>
public sealed record MarkedSpan(string? Id, int? LocationIndex, TextSpan Span);

public sealed record ParsedMarkup(string Source, IReadOnlyList<MarkedSpan> Spans);

public static class Markup
{
    public static ParsedMarkup Parse(string markup)
    {
        var output = new StringBuilder(markup.Length);
        var spans = new List<MarkedSpan>();
        var open = new Stack<(string? Id, int? Index, int Start)>();
        for (var i = 0; i < markup.Length; i++)
        {
            if (At(markup, i, "[|"))
            {
                open.Push((null, null, output.Length));
                i++;
            }
            else if (At(markup, i, "{|"))
            {
                var colon = markup.IndexOf(':', i + 2);
                if (colon < 0)
                    throw new FormatException($"Markup '{{|' at offset {i} has no ':'");
                var label = markup.Substring(i + 2, colon - i - 2);
                if (label.StartsWith("#", StringComparison.Ordinal))
                    open.Push((null, int.Parse(label.Substring(1)), output.Length));
                else
                    open.Push((label, null, output.Length));
                i = colon;
            }
            else if (At(markup, i, "|]") || At(markup, i, "|}"))
            {
                if (open.Count == 0)
                    throw new FormatException($"Markup closes at offset {i} with nothing open");
                var (id, index, start) = open.Pop();
                spans.Add(new MarkedSpan(id, index, TextSpan.FromBounds(start, output.Length)));
                i++;
            }
            else
            {
                output.Append(markup[i]);
            }
        }

        if (open.Count > 0)
            throw new FormatException("Markup has an unclosed span");
        return new ParsedMarkup(output.ToString(), spans);
    }

    private static bool At(string text, int index, string token)
        => string.CompareOrdinal(text, index, token, 0, token.Length) == 0;
}
