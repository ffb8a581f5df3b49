using System;
using System.Runtime.InteropServices;

namespace MemSafety.Samples.Finalizers.After;

// The fix: Dispose takes the object off the finalization list once the handle is freed; the finalizer
// stays as the backstop for buffers nobody disposed.
public sealed class PinnedBuffer : IDisposable
{
    private readonly byte[] _buffer = new byte[4096];
    private GCHandle _pin;

    public PinnedBuffer() => _pin = GCHandle.Alloc(_buffer, GCHandleType.Pinned);

    public IntPtr Address => _pin.AddrOfPinnedObject();

    public void Dispose()
    {
        Release();
        GC.SuppressFinalize(this);
    }

    private void Release()
    {
        if (_pin.IsAllocated)
            _pin.Free();
    }

    ~PinnedBuffer()
    {
        Release();
    }
}
