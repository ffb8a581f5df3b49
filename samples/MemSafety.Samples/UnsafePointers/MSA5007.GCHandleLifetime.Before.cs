using System;
using System.Runtime.InteropServices;

namespace MemSafety.Samples.UnsafePointers;

public static class GCHandleLifetimeBefore
{
    public static int Checksum(IntPtr data, int length)
    {
        if (length < 0)
            throw new ArgumentOutOfRangeException(nameof(length));
        return length;
    }

    // MSA5007: if Checksum throws, the handle is never freed and the buffer stays pinned until the process exits.
    public static int Send(byte[] buffer)
    {
        var handle = GCHandle.Alloc(buffer, GCHandleType.Pinned);
        int sum = Checksum(handle.AddrOfPinnedObject(), buffer.Length);
        handle.Free();
        return sum;
    }
}
