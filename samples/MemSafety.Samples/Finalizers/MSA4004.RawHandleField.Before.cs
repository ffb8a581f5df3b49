using System;
using System.IO;
using System.Runtime.InteropServices;

namespace MemSafety.Samples.Finalizers.Before;

// MSA4004: a POSIX descriptor kept in an int and closed by the object's own finalizer. The finalizer may close it
// while a native call that was given the number still runs (the number may then name another file), it is not
// critical, and it makes every Descriptor finalizable.
public sealed class Descriptor : IDisposable
{
    [DllImport("libc", SetLastError = true)]
    private static extern int open(string path, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int close(int fd);

    private int _fd;

    public Descriptor(string path)
    {
        _fd = open(path, 0);
        if (_fd < 0)
            throw new IOException("open failed: " + Marshal.GetLastWin32Error());
    }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    private void Dispose(bool disposing)
    {
        if (_fd >= 0)
        {
            close(_fd);
            _fd = -1;
        }
    }

    ~Descriptor()
    {
        Dispose(false);
    }
}
