using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;

namespace MemSafety.CodeFixes.Core;

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

    /// <summary>
    /// The trivia a rewrite of <paramref name="original"/> would drop: everything between its tokens except
    /// what lies inside <paramref name="kept"/> (the parts the rewrite carries over with their inner trivia)
    /// and the original's own leading and trailing trivia (which the rewrite keeps with
    /// <c>WithTriviaFrom</c>). Returned ready to put before the next token, as <see cref="Comments"/> makes it;
    /// empty when there is no comment in it.
    /// </summary>
    public static SyntaxTriviaList DroppedComments(SyntaxNode original, params SyntaxNode?[] kept)
    {
        var first = original.GetFirstToken();
        var last = original.GetLastToken();
        var dropped = new List<SyntaxTrivia>();
        foreach (var token in original.DescendantTokens())
        {
            if (token != first)
                AddOutside(token.LeadingTrivia, kept, dropped);
            if (token != last)
                AddOutside(token.TrailingTrivia, kept, dropped);
        }

        return Comments(dropped);
    }

    private static void AddOutside(SyntaxTriviaList trivia, SyntaxNode?[] kept, List<SyntaxTrivia> into)
    {
        foreach (var t in trivia)
        {
            var inside = false;
            foreach (var node in kept)
            {
                if (node is not null && node.Span.Contains(t.Span))
                    inside = true;
            }

            if (!inside)
                into.Add(t);
        }
    }

    /// <summary>
    /// Comments of <paramref name="trivia"/> with the line structure around them, to be placed before a
    /// token: leading whitespace dropped, runs of whitespace collapsed, a line comment always followed by a
    /// line break, a block comment by a space. Empty when there is no comment.
    /// </summary>
    public static SyntaxTriviaList Comments(IEnumerable<SyntaxTrivia> trivia)
    {
        var list = trivia.ToList();
        if (!list.Any(IsComment))
            return default;
        var result = new List<SyntaxTrivia>();
        foreach (var t in list)
        {
            if (t.IsKind(SyntaxKind.WhitespaceTrivia) && (result.Count == 0 || result[result.Count - 1].IsKind(SyntaxKind.WhitespaceTrivia)))
                continue;
            if (t.IsKind(SyntaxKind.EndOfLineTrivia) && result.Count > 0 && result[result.Count - 1].IsKind(SyntaxKind.WhitespaceTrivia))
                result.RemoveAt(result.Count - 1);
            if (t.IsKind(SyntaxKind.EndOfLineTrivia) && result.Count == 0)
                continue;
            result.Add(t);
        }

        // A line comment at the end needs its line break; a block comment a space before the next token.
        var lastComment = result.FindLastIndex(IsComment);
        var rest = result.Skip(lastComment + 1).ToList();
        if (result[lastComment].IsKind(SyntaxKind.SingleLineCommentTrivia) && !rest.Any(t => t.IsKind(SyntaxKind.EndOfLineTrivia)))
            result.Insert(lastComment + 1, list.FirstOrDefault(t => t.IsKind(SyntaxKind.EndOfLineTrivia)) is { RawKind: not 0 } lineBreak ? lineBreak : SyntaxFactory.EndOfLine("\n"));
        else if (rest.Count == 0)
            result.Add(SyntaxFactory.Space);
        return SyntaxFactory.TriviaList(result);
    }

    /// <summary><paramref name="node"/> followed by <paramref name="comments"/> (as <see cref="Comments"/> made
    /// them) and then <paramref name="trailing"/>, without doubled spaces.</summary>
    public static TNode WithCommentsAfter<TNode>(TNode node, SyntaxTriviaList comments, SyntaxTriviaList trailing)
        where TNode : SyntaxNode
    {
        if (comments.Count == 0)
            return node.WithTrailingTrivia(trailing);
        var list = new List<SyntaxTrivia> { SyntaxFactory.Space };
        list.AddRange(comments);
        foreach (var t in trailing)
        {
            if (t.IsKind(SyntaxKind.WhitespaceTrivia) && list[list.Count - 1].IsKind(SyntaxKind.WhitespaceTrivia))
                continue;
            list.Add(t);
        }

        // Nothing follows on a line that ends with a block comment: no space after it.
        if (list[list.Count - 1].IsKind(SyntaxKind.WhitespaceTrivia) && trailing.Count == 0 && !comments.Any(SyntaxKind.EndOfLineTrivia))
            list.RemoveAt(list.Count - 1);
        return node.WithTrailingTrivia(list);
    }

    public static bool IsComment(SyntaxTrivia trivia)
        => trivia.IsKind(SyntaxKind.SingleLineCommentTrivia) || trivia.IsKind(SyntaxKind.MultiLineCommentTrivia);

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
