using System;
using System.Runtime.InteropServices;

namespace MemSafety.Samples.Finalizers.Before;

// MSA4002: Dispose releases the pinned handle but leaves the object registered for finalization, so every
// disposed buffer still survives a garbage collection and runs its finalizer.
public sealed class PinnedBuffer : IDisposable
{
    private readonly byte[] _buffer = new byte[4096];
    private GCHandle _pin;

    public PinnedBuffer() => _pin = GCHandle.Alloc(_buffer, GCHandleType.Pinned);

    public IntPtr Address => _pin.AddrOfPinnedObject();

    public void Dispose()
    {
        Release();
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
