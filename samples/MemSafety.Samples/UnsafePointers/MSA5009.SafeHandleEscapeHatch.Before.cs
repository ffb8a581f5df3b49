using System;
using System.Runtime.InteropServices;

namespace MemSafety.Samples.UnsafePointers;

public static class SafeHandleEscapeHatchBefore
{
    // MSA5009: if Native throws, DangerousRelease never runs; the handle's count stays raised and Dispose can no
    // longer release the native handle.
    public static int Query(SafeHandle handle)
    {
        bool added = false;
        handle.DangerousAddRef(ref added);
        int result = Native(handle.DangerousGetHandle());
        handle.DangerousRelease();
        return result;
    }

    private static int Native(IntPtr raw) => raw == IntPtr.Zero ? throw new InvalidOperationException() : 1;
}
