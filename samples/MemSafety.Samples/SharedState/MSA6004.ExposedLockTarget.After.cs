using System.Collections.Generic;

namespace MemSafety.Samples.SharedState;

public sealed class ExposedLockTargetAfter
{
    // Only this type can reach the gate, and it never changes.
    private readonly object _gate = new object();

    private List<int> _items = new List<int>();

    public void Add(int x) { lock (_gate) { _items.Add(x); } }

    public int Count() { lock (_gate) { return _items.Count; } }

    public void Clear() { lock (_gate) { _items = new List<int>(); } }
}
