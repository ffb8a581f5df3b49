using System.Collections.Generic;
using System.Threading;

namespace MemSafety.Samples.SharedState;

public sealed class LockWithoutFinallyAfter
{
    private readonly object _gate = new object();
    private readonly ReaderWriterLockSlim _rw = new ReaderWriterLockSlim();
    private readonly Dictionary<string, int> _map = new Dictionary<string, int>();

    public void Put(string key, int value)
    {
        lock (_gate)
        {
            _map.Add(key, value);
        }
    }

    public int Get(string key)
    {
        _rw.EnterReadLock();
        try
        {
            return _map[key];
        }
        finally
        {
            _rw.ExitReadLock();
        }
    }
}
