using System.Collections.Generic;

namespace MemSafety.Samples.Closures.Before.UncachedDelegate;

public sealed class Ranking
{
    private readonly bool _descending;

    public Ranking(bool descending) => _descending = descending;

    // MSA3004: 'Compare' is an instance method, so every Sort call gets a new delegate bound to this object.
    public void SortAll(List<List<int>> groups)
    {
        foreach (var group in groups)
            group.Sort(Compare);
    }

    private int Compare(int a, int b) => _descending ? b.CompareTo(a) : a.CompareTo(b);
}
