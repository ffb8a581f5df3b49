using System;
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

    private static readonly ConditionalWeakTable<SyntaxTree, Words> Trees = new();
    private static readonly ConditionalWeakTable<SyntaxTree, Words>.CreateValueCallback NewWords = static _ => new Words();

    /// <summary>Whether <paramref name="word"/> (two characters or more) is spelled somewhere inside
    /// <paramref name="span"/> of the tree's text.</summary>
    public static bool Mentions(SyntaxTree tree, TextSpan span, string word, CancellationToken cancellationToken)
    {
        var words = Trees.GetValue(tree, NewWords);
        if (words.Find(word) is not { } positions)
            positions = words.Add(word, Find(tree.GetText(cancellationToken), word, cancellationToken));

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
    /// Read in chunks that overlap by one word less a character, so no occurrence is cut or found twice; each chunk is
    /// searched with <see cref="string.IndexOf(string, StringComparison)"/>, which the runtime vectorizes (a loop over
    /// the characters was most of the prefilter's time in a profile).</summary>
    internal static int[] Find(SourceText text, string word, CancellationToken cancellationToken)
    {
        if (word.Length < 2)
            throw new ArgumentException("a word of two characters or more", nameof(word));
        var found = new List<int>();
        var overlap = word.Length - 1;
        for (var start = 0; start < text.Length;)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var count = Math.Min(ChunkLength, text.Length - start);
            var chunk = text.ToString(new TextSpan(start, count));
            // An escape is a backslash and 'u' or 'U'; the pair may straddle two chunks, so look one past the end.
            for (var at = chunk.IndexOf('\\'); at >= 0; at = chunk.IndexOf('\\', at + 1))
            {
                if (start + at + 1 < text.Length && (at + 1 < count ? chunk[at + 1] : text[start + at + 1]) is 'u' or 'U')
                    return Anywhere;
            }

            for (var at = chunk.IndexOf(word, StringComparison.Ordinal); at >= 0; at = chunk.IndexOf(word, at + 1, StringComparison.Ordinal))
                found.Add(start + at);

            if (start + count == text.Length)
                break;
            // Occurrences that start in the last `overlap` characters did not fit: the next chunk starts with them.
            start += count - overlap;
        }

        return found.ToArray();
    }

    /// <summary>The words found so far in one file: a handful per file (one per rule that asks), read without a lock
    /// (every type and body of the file asks), replaced whole when a word is added.</summary>
    private sealed class Words
    {
        private (string Word, int[] Positions)[] _entries = System.Array.Empty<(string, int[])>();

        public int[]? Find(string word)
        {
            foreach (var entry in Volatile.Read(ref _entries))
            {
                if (string.Equals(entry.Word, word, StringComparison.Ordinal))
                    return entry.Positions;
            }

            return null;
        }

        public int[] Add(string word, int[] positions)
        {
            while (true)
            {
                var entries = Volatile.Read(ref _entries);
                foreach (var entry in entries)
                {
                    if (string.Equals(entry.Word, word, StringComparison.Ordinal))
                        return entry.Positions;
                }

                var longer = new (string Word, int[] Positions)[entries.Length + 1];
                Array.Copy(entries, longer, entries.Length);
                longer[entries.Length] = (word, positions);
                if (Interlocked.CompareExchange(ref _entries, longer, entries) == entries)
                    return positions;
            }
        }
    }
}
