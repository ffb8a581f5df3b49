using System;
using System.IO;

namespace MemSafety.Samples.Finalizers.After;

// The fix: Dispose disposes what the type created, so the file is closed when the log is disposed.
public sealed class AppendLog : IDisposable
{
    private readonly FileStream _file;
    private bool _disposed;

    public AppendLog(string path) => _file = new FileStream(path, FileMode.Append, FileAccess.Write);

    public void Append(byte value)
    {
        if (_disposed)
            throw new ObjectDisposedException(nameof(AppendLog));
        _file.WriteByte(value);
    }

    public void Dispose()
    {
        _disposed = true;
        _file?.Dispose();
    }
}
