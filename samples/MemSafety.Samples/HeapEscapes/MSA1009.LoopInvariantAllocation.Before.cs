using System.Collections.Generic;

namespace MemSafety.Samples.HeapEscapes.Before.LoopInvariant;

public static class WordStats
{
    // MSA1009: a new list for every line, though it never outlives the iteration.
    public static int MostWords(string[] lines)
    {
        var best = 0;
        foreach (var line in lines)
        {
            var words = new List<string>();
            foreach (var word in line.Split(' '))
            {
                if (word.Length > 0)
                    words.Add(word);
            }
            if (words.Count > best)
                best = words.Count;
        }
        return best;
    }
}
