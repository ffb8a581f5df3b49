using System;
using System.IO;

namespace MemSafety.Samples.HeapEscapes.After.Stackalloc;

public static class PacketReader
{
    // The fix: the buffer lives on the stack, and the calls use their span overloads.
    [MemSafety.HotPath]
    public static int ReadLength(Stream source)
    {
        Span<byte> header = stackalloc byte[8];
        var read = source.Read(header);
        if (read < 4)
            return -1;
        return BitConverter.ToInt32(header);
    }
}
