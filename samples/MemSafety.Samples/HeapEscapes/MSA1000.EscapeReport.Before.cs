using System.Collections.Generic;

namespace MemSafety.Samples.HeapEscapes.Before.EscapeReport;

public sealed class Recorder
{
    private readonly List<int[]> _history = new List<int[]>();

    // MSA1000 (when enabled): 'new int[] { value, value * 2 }' escapes: passed to 'List<int[]>.Add', which may keep it.
    [MemSafety.HotPath]
    public void Record(int value)
    {
        var entry = new int[] { value, value * 2 };
        _history.Add(entry);
    }

    public int Count => _history.Count;
}
