using System.Collections.Generic;

namespace MemSafety.Samples.HeapEscapes.After.EscapeReport;

public sealed class Recorder
{
    private readonly List<(int Value, int Double)> _history = new List<(int Value, int Double)>();

    // Acting on the report: the entry escapes by design, so it became a value tuple and nothing is allocated per call.
    [MemSafety.HotPath]
    public void Record(int value) => _history.Add((value, value * 2));

    public int Count => _history.Count;
}
