using System;
using System.Runtime.InteropServices;

namespace MemSafety.Samples.UnsafePointers;

public static class SafeHandleEscapeHatchAfter
{
    // The finally gives the count back on every path, an exception's included.
    public static int Query(SafeHandle handle)
    {
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return Native(handle.DangerousGetHandle());
        }
        finally
        {
            if (added)
                handle.DangerousRelease();
        }
    }

    private static int Native(IntPtr raw) => raw == IntPtr.Zero ? throw new InvalidOperationException() : 1;
}
