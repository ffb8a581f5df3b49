using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace MemSafety.Analyzers.Core;

/// <summary>
/// Where a word is spelled in a file's text, found once per file and word: the cheapest prefilter a rule can run before
/// it registers per-node actions for a type or binds anything. A statement that starts with a keyword (<c>foreach</c>)
/// cannot be in a span whose text does not spell it; comments, strings and inactive code only add spans (a superset).
/// A keyword cannot be written with a <c>\u</c> escape (that spells an identifier), but a file with one counts as
/// spelling every word anyway, so the answer never depends on that rule of the language.
/// </summary>
internal static class WordPositions
{
    private const int ChunkLength = 4096;

    /// <summary>The sentinel for "anywhere": the file holds a <c>\u</c> escape.</summary>
    private static readonly int[] Anywhere = { -1 };

    private static readonly ConditionalWeakTable<SyntaxTree, ConcurrentDictionary<string, int[]>> Trees = new();
    private static readonly ConditionalWeakTable<SyntaxTree, ConcurrentDictionary<string, int[]>>.CreateValueCallback NewTable
        = static _ => new ConcurrentDictionary<string, int[]>(StringComparer.Ordinal);

    /// <summary>Whether <paramref name="word"/> (two characters or more) is spelled somewhere inside
    /// <paramref name="span"/> of the tree's text.</summary>
    public static bool Mentions(SyntaxTree tree, TextSpan span, string word, CancellationToken cancellationToken)
    {
        var table = Trees.GetValue(tree, NewTable);
        if (!table.TryGetValue(word, out var positions))
        {
            positions = Find(tree.GetText(cancellationToken), word, cancellationToken);
            table.TryAdd(word, positions);
        }

        if (ReferenceEquals(positions, Anywhere))
            return true;
        // The first occurrence at or after the span's start, by binary search: it must start inside the span and end in it.
        int low = 0, high = positions.Length;
        while (low < high)
        {
            var middle = (low + high) >>> 1;
            if (positions[middle] < span.Start)
                low = middle + 1;
            else
                high = middle;
        }

        return low < positions.Length && positions[low] + word.Length <= span.End;
    }

    /// <summary>Every start of the word in the text, ascending; <see cref="Anywhere"/> when the text holds <c>\u</c>.
    /// Read in chunks that overlap by one word less a character, so no occurrence is cut or found twice.</summary>
    internal static int[] Find(SourceText text, string word, CancellationToken cancellationToken)
    {
        if (word.Length < 2)
            throw new ArgumentException("a word of two characters or more", nameof(word));
        var found = new List<int>();
        var buffer = new char[Math.Min(ChunkLength, Math.Max(text.Length, 1))];
        var overlap = word.Length - 1;
        var first = word[0];
        for (var start = 0; start < text.Length;)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var count = Math.Min(buffer.Length, text.Length - start);
            text.CopyTo(start, buffer, 0, count);
            for (var i = 0; i < count; i++)
            {
                var c = buffer[i];
                // An escape is a backslash and 'u' or 'U'; the pair may straddle two chunks, so look one past the end.
                if (c == '\\' && start + i + 1 < text.Length && (i + 1 < count ? buffer[i + 1] : text[start + i + 1]) is 'u' or 'U')
                    return Anywhere;
                if (c == first && i + word.Length <= count && Matches(buffer, i, word))
                    found.Add(start + i);
            }

            if (start + count == text.Length)
                break;
            // Occurrences that start in the last `overlap` characters did not fit: the next chunk starts with them.
            // Those characters are read again for escapes too, which can only find the same escape again.
            start += count - overlap;
        }

        return found.ToArray();
    }

    private static bool Matches(char[] buffer, int at, string word)
    {
        for (var k = 1; k < word.Length; k++)
        {
            if (buffer[at + k] != word[k])
                return false;
        }

        return true;
    }
}
