using System.Collections.Generic;
using System.Threading;

namespace MemSafety.Samples.SharedState;

public sealed class LockWithoutFinallyBefore
{
    private readonly object _gate = new object();
    private readonly ReaderWriterLockSlim _rw = new ReaderWriterLockSlim();
    private readonly Dictionary<string, int> _map = new Dictionary<string, int>();   // guarded by _gate
    private readonly Dictionary<string, int> _cache = new Dictionary<string, int>(); // guarded by _rw

    // MSA6005: Add throws on a duplicate key, and _gate then stays locked for good.
    public void Put(string key, int value)
    {
        Monitor.Enter(_gate);
        _map.Add(key, value);
        Monitor.Exit(_gate);
    }

    public void Set(string key, int value)
    {
        _rw.EnterWriteLock();
        try
        {
            _cache[key] = value;
        }
        finally
        {
            _rw.ExitWriteLock();
        }
    }

    // MSA6005: a missing key throws with the read lock held; every writer then waits forever.
    public int Get(string key)
    {
        _rw.EnterReadLock();
        var value = _cache[key];
        _rw.ExitReadLock();
        return value;
    }
}
