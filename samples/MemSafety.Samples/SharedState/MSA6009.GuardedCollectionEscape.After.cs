using System.Collections.Generic;

namespace MemSafety.Samples.SharedState;

public sealed class GuardedCollectionEscapeAfter
{
    private readonly object _gate = new();
    private readonly List<string> _names = new();

    public void Register(string name)
    {
        lock (_gate)
        {
            _names.Add(name);
        }
    }

    // A snapshot made under the lock: callers enumerate their own array, which nothing changes.
    public IReadOnlyList<string> Names
    {
        get
        {
            lock (_gate)
            {
                return _names.ToArray();
            }
        }
    }
}
