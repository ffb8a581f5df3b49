using System.IO;

namespace MemSafety.Samples.Finalizers.Before;

public static class Settings
{
    // MSA4006: the early return leaves the file open until a garbage collection finds the stream and its
    // finalizer runs; until then the file stays locked against writers on Windows.
    public static string? FirstLine(string path)
    {
        var reader = File.OpenText(path);
        var line = reader.ReadLine();
        if (line is null)
            return null;
        reader.Dispose();
        return line;
    }

    // MSA4006: the factory says the caller owns what it returns.
    [MemSafety.ReturnsOwned]
    public static Stream Open(string path) => File.OpenRead(path);

    public static int FirstByte(string path)
    {
        var stream = Open(path);
        return stream.ReadByte();
    }
}
