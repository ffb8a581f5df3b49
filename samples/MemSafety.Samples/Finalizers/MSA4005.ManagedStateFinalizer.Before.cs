using System;
using System.IO;

namespace MemSafety.Samples.Finalizers.Before;

// MSA4005: the dispose pattern copied whole into a class with nothing unmanaged. Dispose(false) does nothing,
// yet every instance, disposed or not, is registered for finalization and survives one more collection.
public sealed class ReportWriter : IDisposable
{
    private StreamWriter? _writer = new StreamWriter(new MemoryStream());
    private bool _disposed;

    public void Write(string line) => _writer?.WriteLine(line);

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
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

    ~ReportWriter()
    {
        Dispose(false);
    }
}
