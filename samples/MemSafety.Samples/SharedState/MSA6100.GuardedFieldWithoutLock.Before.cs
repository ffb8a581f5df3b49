namespace MemSafety.Samples.SharedState;

public sealed class GuardedFieldWithoutLockBefore
{
    private readonly object _gate = new();
    [MemSafety.GuardedBy(nameof(_gate))] private int _pending;

    public void Enqueue()
    {
        lock (_gate)
        {
            _pending++;
        }
    }

    // MSA6100: _pending is declared guarded by _gate; this write runs without it, so an Enqueue at the same time can be lost.
    public void Reset() => _pending = 0;
}
