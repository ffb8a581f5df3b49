using System;
using System.IO;
using System.Runtime.InteropServices;

namespace MemSafety.Samples.Finalizers.Before;

// MSA4003: Dispose(false) runs from the finalizer, and flushes a stream that may already have been finalized.
public sealed class PinnedLog : IDisposable
{
    private readonly Stream _stream;
    private readonly byte[] _buffer = new byte[4096];
    private GCHandle _pin;

    public PinnedLog(Stream stream)
    {
        _stream = stream;
        _pin = GCHandle.Alloc(_buffer, GCHandleType.Pinned);
    }

    public IntPtr Buffer => _pin.AddrOfPinnedObject();

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    private void Dispose(bool disposing)
    {
        _stream.Flush();
        if (_pin.IsAllocated)
            _pin.Free();
    }

    ~PinnedLog()
    {
        Dispose(false);
    }
}
