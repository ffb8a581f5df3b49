using System;
using System.Runtime.InteropServices;

namespace MemSafety.Samples.UnsafePointers;

public static unsafe class ReleasedPinAddressBefore
{
    // MSA5004: once the handle is freed the array may move; the kept address then points at whatever is there next.
    public static int First(int[] values)
    {
        var handle = GCHandle.Alloc(values, GCHandleType.Pinned);
        IntPtr address = handle.AddrOfPinnedObject();
        handle.Free();
        return *(int*)address;
    }
}
