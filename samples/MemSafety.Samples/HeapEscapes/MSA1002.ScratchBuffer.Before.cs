namespace MemSafety.Samples.HeapEscapes.Before.ScratchBuffer;

public static class Hex
{
    // MSA1002 (a hot path): the buffer's size depends on the input, and it never escapes.
    [MemSafety.HotPath]
    public static string Encode(byte[] data)
    {
        var chars = new char[data.Length * 2];
        for (var i = 0; i < data.Length; i++)
        {
            chars[2 * i] = "0123456789abcdef"[data[i] >> 4];
            chars[2 * i + 1] = "0123456789abcdef"[data[i] & 15];
        }
        return new string(chars);
    }
}
