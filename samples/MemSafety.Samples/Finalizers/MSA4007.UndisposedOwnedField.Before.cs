using System;
using System.IO;

namespace MemSafety.Samples.Finalizers.Before;

// MSA4007: the log creates its FileStream and nothing else can reach it, but Dispose forgets it: every disposed
// log keeps its file open until the garbage collector finalizes the stream.
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
    }
}
