using System;
using System.IO;
using System.Runtime.InteropServices;

namespace MemSafety.Samples.Finalizers.After;

// The fix: a sealed SafeHandle holds the descriptor and closes it (critically finalized, reference-counted while
// marshalled), the invalid-value check became IsInvalid, and Descriptor lost its finalizer.
public sealed class Descriptor : IDisposable
{
    [DllImport("libc", SetLastError = true)]
    private static extern int open(string path, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int close(int fd);

    private SafeDescriptorHandle _fd;

    public Descriptor(string path)
    {
        _fd = new SafeDescriptorHandle((IntPtr)open(path, 0));
        if (_fd.IsInvalid)
            throw new IOException("open failed: " + Marshal.GetLastWin32Error());
    }

    public void Dispose()
    {
        Dispose(true);
    }

    private void Dispose(bool disposing)
    {
        _fd.Dispose();
    }

    private sealed class SafeDescriptorHandle : SafeHandle
    {
        public SafeDescriptorHandle() : base(new IntPtr(-1), true)
        {
        }

        public SafeDescriptorHandle(IntPtr handle) : base(new IntPtr(-1), true)
        {
            SetHandle(handle);
        }

        public override bool IsInvalid => handle.ToInt64() < 0;

        protected override bool ReleaseHandle() => close((int)handle) == 0;
    }
}
