using System.Threading;

namespace MemSafety.Samples.SharedState;

public sealed class MixedAtomicAccessAfter
{
    private long _total;
    private int _value;
    private bool _done;

    public void Add(long n) => Interlocked.Add(ref _total, n);

    public long Total => Interlocked.Read(ref _total);

    public void Reset() { Interlocked.Exchange(ref _total, 0); }

    public void Complete(int value) { _value = value; Volatile.Write(ref _done, true); }

    public bool TryGet(out int value)
    {
        var done = Volatile.Read(ref _done);
        value = _value;
        return done;
    }
}
