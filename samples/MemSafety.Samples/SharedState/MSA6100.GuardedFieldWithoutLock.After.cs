namespace MemSafety.Samples.SharedState;

public sealed class GuardedFieldWithoutLockAfter
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

    public void Reset()
    {
        lock (_gate)
        {
            _pending = 0;
        }
    }
}
