using System.IO;

namespace MemSafety.Samples.Finalizers.After;

public static class Archive
{
    // Each iteration closes its file before the next one opens another.
    public static long TotalSize(string[] paths)
    {
        long total = 0;
        foreach (var path in paths)
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read);
            total += stream.Length;
        }

        return total;
    }
}
