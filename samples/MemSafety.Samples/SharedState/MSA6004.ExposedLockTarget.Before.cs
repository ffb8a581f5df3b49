using System.Collections.Generic;

namespace MemSafety.Samples.SharedState;

public sealed class ExposedLockTargetBefore
{
    private List<int> _items = new List<int>();

    // MSA6004: any code holding this object can lock it too, and block or deadlock Add.
    public void Add(int x) { lock (this) { _items.Add(x); } }

    // MSA6004 (both locks): Clear assigns the lock's object, so a later Add can run while an earlier one is inside.
    public int Count() { lock (_items) { return _items.Count; } }

    public void Clear() { lock (_items) { _items = new List<int>(); } }
}
