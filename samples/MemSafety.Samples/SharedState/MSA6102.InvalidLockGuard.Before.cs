namespace MemSafety.Samples.SharedState;

public sealed class InvalidLockGuardBefore
{
    private object _gate = new();

    // MSA6102: _gate is not readonly; a lock object that is replaced no longer excludes code holding the old one.
    [MemSafety.GuardedBy(nameof(_gate))] private int _count;

    public void Add()
    {
        lock (_gate)
        {
            _count++;
        }
    }
}
