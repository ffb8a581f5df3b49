using System.IO;

namespace MemSafety.Samples.Finalizers.After;

public static class Settings
{
    // Disposed when the method returns, on every path.
    public static string? FirstLine(string path)
    {
        using var reader = File.OpenText(path);
        return reader.ReadLine();
    }

    [MemSafety.ReturnsOwned]
    public static Stream Open(string path) => File.OpenRead(path);

    public static int FirstByte(string path)
    {
        using var stream = Open(path);
        return stream.ReadByte();
    }
}
