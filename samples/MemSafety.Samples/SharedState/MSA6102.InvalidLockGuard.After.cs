namespace MemSafety.Samples.SharedState;

public sealed class InvalidLockGuardAfter
{
    private readonly object _gate = new();

    [MemSafety.GuardedBy(nameof(_gate))] private int _count;

    public void Add()
    {
        lock (_gate)
        {
            _count++;
        }
    }
}
