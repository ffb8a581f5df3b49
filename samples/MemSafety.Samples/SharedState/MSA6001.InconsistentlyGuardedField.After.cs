using System.Collections.Generic;

namespace MemSafety.Samples.SharedState;

public sealed class InconsistentlyGuardedFieldAfter
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

    // Every change of the two fields holds the same lock.
    public void Reset()
    {
        lock (_gate)
        {
            _names.Clear();
            _version++;
        }
    }
}
