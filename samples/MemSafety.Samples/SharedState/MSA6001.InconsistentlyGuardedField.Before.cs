using System.Collections.Generic;

namespace MemSafety.Samples.SharedState;

public sealed class InconsistentlyGuardedFieldBefore
{
    private readonly object _gate = new();
    private readonly List<string> _names = new();
    private int _version;

    public void Register(string name)
    {
        lock (_gate)
        {
            _names.Add(name);
            _version++;
        }
    }

    // MSA6001 (twice): Register changes both fields under _gate; these run at the same time as it, so the list can be
    // corrupted while it is cleared and one of two concurrent increments can be lost.
    public void Reset()
    {
        _names.Clear();
        _version++;
    }
}
