using System.Collections.Generic;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Core;

/// <summary>Pieces of diagnostic messages that several rules write the same way.</summary>
public static class MessageText
{
    private const int MaxQuoted = 40;

    /// <summary>
    /// The expression as the user wrote it, for quoting in a message: its tokens with each run of whitespace,
    /// line breaks or comments between them shown as one space, cut to 40 characters ("…" at the end). An
    /// implicit <c>this</c> receiver is quoted as <c>this</c>.
    /// </summary>
    public static string Quote(IOperation operation)
        => operation is IInstanceReferenceOperation { IsImplicit: true } ? "this" : Quote(operation.Syntax);

    public static string Quote(SyntaxNode syntax)
    {
        var text = new StringBuilder();
        var first = true;
        foreach (var token in syntax.DescendantTokens())
        {
            if (!first && (token.HasLeadingTrivia || token.GetPreviousToken().HasTrailingTrivia))
                text.Append(' ');
            first = false;
            text.Append(token.Text);
            if (text.Length > MaxQuoted)
                break;
        }

        return text.Length > MaxQuoted ? text.ToString(0, MaxQuoted - 1) + "…" : text.ToString();
    }

    /// <summary>How often the operation runs, for a message that claims a repeated cost: "on every iteration" only on a
    /// cycle of its function's control flow, "on every call of this hot path" in a hot member, else "each time this
    /// runs" (a scope the user widened). Ask only when reporting: the loop question may build a control-flow graph.</summary>
    public static string Frequency(IOperation operation, ISymbol containingSymbol, HotPathOracle oracle)
        => operation.IsExecutedPerLoopIteration() ? "on every iteration"
            : oracle.IsHot(containingSymbol) ? "on every call of this hot path"
            : "each time this runs";

    /// <summary>The indefinite article for a word in a message, by its first letter: "an Inventory", "a Cache".</summary>
    public static string Article(string word) => word.Length > 0 && "aeiouAEIOU".IndexOf(word[0]) >= 0 ? "an" : "a";

    /// <summary>"a", "a and b", "a, b and c".</summary>
    public static string List(IReadOnlyList<string> items)
    {
        if (items.Count == 0)
            return "";
        var text = new StringBuilder(items[0]);
        for (var i = 1; i < items.Count; i++)
            text.Append(i == items.Count - 1 ? " and " : ", ").Append(items[i]);
        return text.ToString();
    }
}
