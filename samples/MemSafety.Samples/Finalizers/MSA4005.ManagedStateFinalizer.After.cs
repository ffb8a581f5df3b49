using System;
using System.IO;

namespace MemSafety.Samples.Finalizers.After;

// The fix removed the finalizer and, the type being sealed, the GC.SuppressFinalize call that only served it.
public sealed class ReportWriter : IDisposable
{
    private StreamWriter? _writer = new StreamWriter(new MemoryStream());
    private bool _disposed;

    public void Write(string line) => _writer?.WriteLine(line);

    public void Dispose()
    {
        Dispose(true);
    }

    private void Dispose(bool disposing)
    {
        if (_disposed)
            return;
        if (disposing)
        {
            _writer?.Dispose();
            _writer = null;
        }

        _disposed = true;
    }
}
