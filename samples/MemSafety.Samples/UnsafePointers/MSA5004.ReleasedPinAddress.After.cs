using System.Runtime.InteropServices;

namespace MemSafety.Samples.UnsafePointers;

public static unsafe class ReleasedPinAddressAfter
{
    // The handle is freed after the last use of the address, on every path.
    public static int First(int[] values)
    {
        var handle = GCHandle.Alloc(values, GCHandleType.Pinned);
        try
        {
            return *(int*)handle.AddrOfPinnedObject();
        }
        finally
        {
            handle.Free();
        }
    }
}
