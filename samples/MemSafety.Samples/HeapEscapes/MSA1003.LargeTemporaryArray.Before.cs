using System.IO;

namespace MemSafety.Samples.HeapEscapes.Before.LargeTemporaryArray;

public static class Copier
{
    // MSA1003: 128 KiB lands on the Large Object Heap on every call.
    public static long Copy(Stream source, Stream target)
    {
        var buffer = new byte[128 * 1024];
        long total = 0;
        int read;
        while ((read = source.Read(buffer, 0, buffer.Length)) > 0)
        {
            target.Write(buffer, 0, read);
            total += read;
        }
        return total;
    }
}
