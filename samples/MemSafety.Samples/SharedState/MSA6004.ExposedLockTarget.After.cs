using System.Collections.Generic;

namespace MemSafety.Samples.SharedState;

public sealed class ExposedLockTargetAfter
{
    // Only this type can reach the gates, and they never change.
    private readonly object _gate = new object();
    private readonly object _itemsGate = new object();

    private List<int> _items = new List<int>();
    private int _touches;

    public void Touch() { lock (_gate) { _touches++; } }

    public int Touches() { lock (_gate) { return _touches; } }

    public void Add(int x) { lock (_itemsGate) { _items.Add(x); } }

    public void Clear() { lock (_itemsGate) { _items = new List<int>(); } }
}
