using System;
using System.Buffers;

namespace MemSafety.Samples.HeapEscapes.After.ScratchBuffer;

public static class Hex
{
    // The fix: stack memory for small inputs, a pooled array for large ones.
    [MemSafety.HotPath]
    public static string Encode(byte[] data)
    {
        char[]? charsArray = null;
        try
        {
            Span<char> chars = data.Length * 2 <= 512 ? stackalloc char[512] : (charsArray = ArrayPool<char>.Shared.Rent(data.Length * 2));
            chars = chars.Slice(0, data.Length * 2);
            chars.Clear();
            for (var i = 0; i < data.Length; i++)
            {
                chars[2 * i] = "0123456789abcdef"[data[i] >> 4];
                chars[2 * i + 1] = "0123456789abcdef"[data[i] & 15];
            }
            return new string(chars);
        }
        finally
        {
            if (charsArray != null)
                ArrayPool<char>.Shared.Return(charsArray);
        }
    }
}
