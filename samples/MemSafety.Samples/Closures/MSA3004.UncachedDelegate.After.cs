using System;
using System.Collections.Generic;

namespace MemSafety.Samples.Closures.After.UncachedDelegate;

public sealed class Ranking
{
    private readonly bool _descending;
    private Comparison<int>? _compareDelegate;

    public Ranking(bool descending) => _descending = descending;

    // The fix: the delegate is created on first use and kept in a field of the object.
    public void SortAll(List<List<int>> groups)
    {
        foreach (var group in groups)
            group.Sort(_compareDelegate ??= Compare);
    }

    private int Compare(int a, int b) => _descending ? b.CompareTo(a) : a.CompareTo(b);
}
