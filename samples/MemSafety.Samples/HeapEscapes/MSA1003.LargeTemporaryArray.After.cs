using System;
using System.Buffers;
using System.IO;

namespace MemSafety.Samples.HeapEscapes.After.LargeTemporaryArray;

public static class Copier
{
    // The fix: one pooled array, returned when done.
    public static long Copy(Stream source, Stream target)
    {
        byte[] bufferArray = ArrayPool<byte>.Shared.Rent(128 * 1024);
        try
        {
            Span<byte> buffer = bufferArray.AsSpan(0, 128 * 1024);
            long total = 0;
            int read;
            while ((read = source.Read(buffer)) > 0)
            {
                target.Write(buffer.Slice(0, read));
                total += read;
            }
            return total;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bufferArray);
        }
    }
}
