using System;
using System.Diagnostics;

namespace MemSafety.Samples.Finalizers.After;

// The fix removed the finalizer, and with it the GC.SuppressFinalize call that only served it
// (safe because the type is sealed and no base type has a finalizer).
public sealed class PooledConnection : IDisposable
{
    private bool _open = true;

    public bool IsOpen => _open;

    public void Dispose()
    {
        _open = false;
    }
}

// The fix kept the leak detector for Debug builds only.
public class TrackedBuffer
{
#if DEBUG
    ~TrackedBuffer() => Debug.Fail("TrackedBuffer was not returned to its pool");
#endif
}
