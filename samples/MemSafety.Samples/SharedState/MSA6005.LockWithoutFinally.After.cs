using System.Collections.Generic;
using System.Threading;

namespace MemSafety.Samples.SharedState;

public sealed class LockWithoutFinallyAfter
{
    private readonly object _gate = new object();
    private readonly ReaderWriterLockSlim _rw = new ReaderWriterLockSlim();
    private readonly Dictionary<string, int> _map = new Dictionary<string, int>();   // guarded by _gate
    private readonly Dictionary<string, int> _cache = new Dictionary<string, int>(); // guarded by _rw

    public void Put(string key, int value)
    {
        lock (_gate)
        {
            _map.Add(key, value);
        }
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

    public int Get(string key)
    {
        _rw.EnterReadLock();
        try
        {
            return _cache[key];
        }
        finally
        {
            _rw.ExitReadLock();
        }
    }
}
