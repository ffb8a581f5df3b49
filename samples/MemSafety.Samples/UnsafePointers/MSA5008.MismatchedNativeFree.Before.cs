using System;
using System.Runtime.InteropServices;

namespace MemSafety.Samples.UnsafePointers;

public static class MismatchedNativeFreeBefore
{
    // MSA5008: CoTaskMem memory freed as HGlobal memory: two different heaps on Windows.
    public static int FirstByte(string text)
    {
        IntPtr utf8 = Marshal.StringToCoTaskMemUTF8(text);
        try
        {
            return Marshal.ReadByte(utf8);
        }
        finally
        {
            Marshal.FreeHGlobal(utf8);
        }
    }

    // MSA5008: if int.Parse throws, the block is never freed (native memory is not garbage collected).
    public static int ParseInto(string text)
    {
        IntPtr cell = Marshal.AllocHGlobal(sizeof(int));
        Marshal.WriteInt32(cell, int.Parse(text));
        int value = Marshal.ReadInt32(cell);
        Marshal.FreeHGlobal(cell);
        return value;
    }
}
