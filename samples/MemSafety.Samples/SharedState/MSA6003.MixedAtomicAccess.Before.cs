using System.Threading;

namespace MemSafety.Samples.SharedState;

public sealed class MixedAtomicAccessBefore
{
    private long _total;
    private int _value;
    private bool _done;

    public void Add(long n) => Interlocked.Add(ref _total, n);

    public long Total => Interlocked.Read(ref _total);

    // MSA6003: in a 32-bit process this store is two 4-byte writes, and Interlocked.Read can see one of them (reported
    // by default for x86/ARM builds; this folder's .editorconfig sets memsafety.MSA6003.tearing for the sample).
    public void Reset() { _total = 0; }

    // MSA6003: a plain store is not a release; on Arm64 a reader can see _done before _value.
    public void Complete(int value) { _value = value; _done = true; }

    public bool TryGet(out int value)
    {
        var done = Volatile.Read(ref _done);
        value = _value;
        return done;
    }
}
