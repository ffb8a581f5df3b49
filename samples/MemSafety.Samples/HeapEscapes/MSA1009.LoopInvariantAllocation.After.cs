using System.Collections.Generic;

namespace MemSafety.Samples.HeapEscapes.After.LoopInvariant;

public static class WordStats
{
    // The fix: one list, emptied at the top of each iteration.
    public static int MostWords(string[] lines)
    {
        var best = 0;
        var words = new List<string>();
        foreach (var line in lines)
        {
            words.Clear();
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
