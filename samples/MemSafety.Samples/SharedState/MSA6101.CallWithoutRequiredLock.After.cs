using System.Collections.Generic;

namespace MemSafety.Samples.SharedState;

public sealed class CallWithoutRequiredLockAfter
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

    public void Flush()
    {
        lock (_gate)
        {
            TrimLocked();
        }
    }

    [MemSafety.RequiresLock(nameof(_gate))]
    private void TrimLocked()
    {
        if (_items.Count > 100)
            _items.RemoveRange(0, 50);
    }
}
