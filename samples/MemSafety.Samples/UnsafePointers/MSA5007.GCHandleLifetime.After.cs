using System;
using System.Runtime.InteropServices;

namespace MemSafety.Samples.UnsafePointers;

public static class GCHandleLifetimeAfter
{
    public static int Sent;

    public static void Transmit(IntPtr data, int length)
    {
        if (length < 0)
            throw new ArgumentOutOfRangeException(nameof(length));
        Sent += length;
    }

    // The finally frees the handle on every path, the exceptional one included.
    public static void Send(byte[] buffer)
    {
        var handle = GCHandle.Alloc(buffer, GCHandleType.Pinned);
        try
        {
            Transmit(handle.AddrOfPinnedObject(), buffer.Length);
        }
        finally
        {
            handle.Free();
        }
    }
}
