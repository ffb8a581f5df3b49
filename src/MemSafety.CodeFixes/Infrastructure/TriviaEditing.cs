using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;

namespace MemSafety.CodeFixes.Infrastructure;

/// <summary>Edits shared by fixes that delete or wrap whole declarations and statements.</summary>
internal static class TriviaEditing
{
    /// <summary>
    /// Removes a member or statement with the comments attached to it. When the removed node was
    /// not itself preceded by a blank line, a blank line that followed it goes too, so deleting the
    /// first member of a type does not leave a gap under the opening brace.
    /// </summary>
    public static SyntaxNode RemoveWithAttachedTrivia(SyntaxNode root, SyntaxNode node)
    {
        var next = node.GetLastToken().GetNextToken();
        var removedStartsWithBlankLine = StartsWithBlankLine(node.GetLeadingTrivia());
        var annotation = new SyntaxAnnotation();
        if (next != default)
            root = root.ReplaceToken(next, next.WithAdditionalAnnotations(annotation));

        var current = root.DescendantNodes(node.FullSpan).FirstOrDefault(n => n.RawKind == node.RawKind && n.Span == node.Span);
        if (current is null)
            return root;
        root = root.RemoveNode(current, SyntaxRemoveOptions.KeepUnbalancedDirectives)!;

        foreach (var token in root.GetAnnotatedTokens(annotation))
        {
            var leading = token.LeadingTrivia;
            if (!removedStartsWithBlankLine && StartsWithBlankLine(leading))
                return root.ReplaceToken(token, token.WithLeadingTrivia(leading.RemoveAt(0)));
        }

        return root;
    }

    private static bool StartsWithBlankLine(SyntaxTriviaList leading)
        => leading.Count > 0 && leading[0].IsKind(SyntaxKind.EndOfLineTrivia);

    /// <summary>The line break the document uses (the first one found), or <c>\n</c>.</summary>
    public static string LineBreak(SourceText text)
    {
        foreach (var line in text.Lines)
        {
            var length = line.EndIncludingLineBreak - line.End;
            if (length > 0)
                return text.ToString(new TextSpan(line.End, length));
        }

        return "\n";
    }
}
