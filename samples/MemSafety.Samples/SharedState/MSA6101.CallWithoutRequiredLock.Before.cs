using System.Collections.Generic;

namespace MemSafety.Samples.SharedState;

public sealed class CallWithoutRequiredLockBefore
{
    private readonly object _gate = new();
    private readonly List<int> _items = new();

    public void Add(int item)
    {
        lock (_gate)
        {
            _items.Add(item);
            TrimLocked();
        }
    }

    // MSA6101: TrimLocked requires _gate, and Flush calls it without the lock.
    public void Flush() => TrimLocked();

    [MemSafety.RequiresLock(nameof(_gate))]
    private void TrimLocked()
    {
        if (_items.Count > 100)
            _items.RemoveRange(0, 50);
    }
}
