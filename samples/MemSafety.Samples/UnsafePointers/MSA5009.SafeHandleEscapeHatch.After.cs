using System;
using System.Runtime.InteropServices;

namespace MemSafety.Samples.UnsafePointers;

public static class SafeHandleEscapeHatchAfter
{
    // The fix's rewrite: the finally gives the count back on every path, an exception's included. The try starts after
    // DangerousAddRef returned, so the count is raised whenever the finally runs.
    public static int Query(SafeHandle handle)
    {
        bool added = false;
        handle.DangerousAddRef(ref added);
        int result;
        try
        {
            result = Native(handle.DangerousGetHandle());
        }
        finally
        {
            handle.DangerousRelease();
        }

        return result;
    }

    private static int Native(IntPtr raw) => raw == IntPtr.Zero ? throw new InvalidOperationException() : 1;
}
