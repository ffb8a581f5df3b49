using System;
using System.IO;

namespace MemSafety.Samples.HeapEscapes.Before.Stackalloc;

public static class PacketReader
{
    // MSA1001 (a hot path): the header buffer never leaves ReadLength, and every use has a span form.
    [MemSafety.HotPath]
    public static int ReadLength(Stream source)
    {
        var header = new byte[8];
        var read = source.Read(header, 0, header.Length);
        if (read < 4)
            return -1;
        return BitConverter.ToInt32(header, 0);
    }
}
