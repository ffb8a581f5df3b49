using System;
using System.Diagnostics;

namespace MemSafety.Samples.Finalizers.Before;

// MSA4001: a finalizer that does nothing still puts every instance on the finalization queue.
public sealed class PooledConnection : IDisposable
{
    private bool _open = true;

    public bool IsOpen => _open;

    public void Dispose()
    {
        _open = false;
        GC.SuppressFinalize(this);
    }

    ~PooledConnection()
    {
        // Nothing to release: the connection only holds managed state.
    }
}

// MSA4001: a debug-only leak detector compiles to an empty finalizer in Release builds.
public class TrackedBuffer
{
    ~TrackedBuffer() => Debug.Fail("TrackedBuffer was not returned to its pool");
}
