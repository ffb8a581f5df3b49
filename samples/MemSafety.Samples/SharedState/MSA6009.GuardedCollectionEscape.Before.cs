using System.Collections.Generic;

namespace MemSafety.Samples.SharedState;

public sealed class GuardedCollectionEscapeBefore
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

    // MSA6009: the lock ends with the getter; a caller enumerating Names while Register adds throws
    // InvalidOperationException ("Collection was modified").
    public IReadOnlyList<string> Names
    {
        get
        {
            lock (_gate)
            {
                return _names;
            }
        }
    }
}
