using System;
using System.Runtime.InteropServices;

namespace MemSafety.Samples.UnsafePointers;

public static class GCHandleLifetimeBefore
{
    public static int Sent;

    public static void Transmit(IntPtr data, int length)
    {
        if (length < 0)
            throw new ArgumentOutOfRangeException(nameof(length));
        Sent += length;
    }

    // MSA5007: if Transmit throws, the handle is never freed and the buffer stays pinned until the process exits.
    public static void Send(byte[] buffer)
    {
        var handle = GCHandle.Alloc(buffer, GCHandleType.Pinned);
        Transmit(handle.AddrOfPinnedObject(), buffer.Length);
        handle.Free();
    }
}
