using System.Collections.Generic;

namespace MemSafety.Samples.SharedState;

public sealed class ExposedLockTargetBefore
{
    private List<int> _items = new List<int>();
    private int _touches;

    // MSA6004 (under Strict, as this project builds, or with memsafety.MSA6004.lock_this = true): any code holding
    // this object can lock it too, and block or deadlock Touch.
    public void Touch() { lock (this) { _touches++; } }

    public int Touches() { lock (this) { return _touches; } }

    // MSA6004 (both locks): Clear assigns the lock's object, so a later Add can run while an earlier one is inside.
    public void Add(int x) { lock (_items) { _items.Add(x); } }

    public void Clear() { lock (_items) { _items = new List<int>(); } }
}
