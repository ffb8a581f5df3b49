using System;
using System.Collections.Generic;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace MemSafety.Analyzers.Core;

/// <summary>
/// The whole words of a node's source text, found by scanning its characters: a prefilter far cheaper than a token
/// walk, which materializes every node of the subtree. A word is a maximal run of identifier characters by the
/// lexer's own definition (<see cref="SyntaxFacts.IsIdentifierPartCharacter"/>), so every keyword and identifier
/// token of the node is one word at its start. Words in comments, strings and disabled code are found too: a caller
/// either confirms each hit against the token there or accepts a few needless candidates.
/// </summary>
internal static class SourceWords
{
    [ThreadStatic]
    private static char[]? t_buffer;

    /// <summary>Adds to <paramref name="positions"/>, in ascending order, the start of every word inside
    /// <paramref name="node"/>'s span for which <paramref name="isWanted"/> (buffer, start in buffer, length) holds.
    /// False, with nothing added, when the tree's text is not at hand (a tree built from nodes).</summary>
    public static bool Collect(SyntaxNode node, Func<char[], int, int, bool> isWanted, List<int> positions)
    {
        if (Copy(node) is not { } buffer)
            return false;
        var span = node.Span;
        var length = span.Length;
        var i = 0;
        while (i < length)
        {
            if (!IsWordCharacter(buffer[i]))
            {
                i++;
                continue;
            }

            var start = i;
            while (i < length && IsWordCharacter(buffer[i]))
                i++;
            if (isWanted(buffer, start, i - start))
                positions.Add(span.Start + start);
        }

        return true;
    }

    /// <summary>Whether the node's text may hold an identifier spelled as one of <paramref name="names"/>: one of them as
    /// a whole word, or a Unicode escape anywhere (<c>\u0041llocateArray</c> is the identifier <c>AllocateArray</c>),
    /// or no text at hand. False means no token of the node has one of these names as its value.</summary>
    public static bool MayHoldIdentifier(SyntaxNode node, params string[] names)
    {
        if (Copy(node) is not { } buffer)
            return true;
        var length = node.Span.Length;
        var i = 0;
        while (i < length)
        {
            var c = buffer[i];
            if (c == '\\' && i + 1 < length && buffer[i + 1] is 'u' or 'U')
                return true;
            if (!IsWordCharacter(c))
            {
                i++;
                continue;
            }

            var start = i;
            while (i < length && IsWordCharacter(buffer[i]))
                i++;
            foreach (var name in names)
            {
                if (Is(buffer, start, i - start, name))
                    return true;
            }
        }

        return false;
    }

    /// <summary><see cref="SyntaxFacts.IsIdentifierPartCharacter"/> with the ASCII answer inline (letters, digits and
    /// <c>_</c>): the scan asks it for every character.</summary>
    private static bool IsWordCharacter(char c)
        => c < 128 ? (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' : SyntaxFacts.IsIdentifierPartCharacter(c);

    /// <summary>The node's text (its span) at the start of this thread's buffer; null when the text is not at hand.</summary>
    private static char[]? Copy(SyntaxNode node)
    {
        var span = node.Span;
        if (!node.SyntaxTree.TryGetText(out var text) || span.End > text.Length)
            return null;
        var buffer = t_buffer;
        if (buffer is null || buffer.Length < span.Length)
            t_buffer = buffer = new char[Math.Max(span.Length, 4096)];
        text.CopyTo(span.Start, buffer, 0, span.Length);
        return buffer;
    }

    /// <summary>Whether the word at <paramref name="start"/> of <paramref name="length"/> characters is <paramref name="word"/>.</summary>
    public static bool Is(char[] buffer, int start, int length, string word)
    {
        if (length != word.Length)
            return false;
        for (var k = 0; k < length; k++)
        {
            if (buffer[start + k] != word[k])
                return false;
        }

        return true;
    }

    /// <summary>Whether a sorted list of positions has one inside <paramref name="span"/> (binary search).</summary>
    public static bool AnyWithin(List<int> sortedPositions, Microsoft.CodeAnalysis.Text.TextSpan span)
    {
        int low = 0, high = sortedPositions.Count - 1;
        while (low <= high)
        {
            var middle = low + ((high - low) >> 1);
            if (sortedPositions[middle] < span.Start)
                low = middle + 1;
            else
                high = middle - 1;
        }

        return low < sortedPositions.Count && sortedPositions[low] < span.End;
    }
}
