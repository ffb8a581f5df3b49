using System;
using System.Runtime.InteropServices;

namespace MemSafety.Samples.UnsafePointers;

public static class GCHandleLifetimeAfter
{
    public static int Checksum(IntPtr data, int length)
    {
        if (length < 0)
            throw new ArgumentOutOfRangeException(nameof(length));
        return length;
    }

    // The finally frees the handle on every path, the exceptional one included.
    public static int Send(byte[] buffer)
    {
        var handle = GCHandle.Alloc(buffer, GCHandleType.Pinned);
        try
        {
            return Checksum(handle.AddrOfPinnedObject(), buffer.Length);
        }
        finally
        {
            handle.Free();
        }
    }
}
