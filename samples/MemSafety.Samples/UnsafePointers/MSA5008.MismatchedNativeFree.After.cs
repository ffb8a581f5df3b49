using System;
using System.Runtime.InteropServices;

namespace MemSafety.Samples.UnsafePointers;

public static class MismatchedNativeFreeAfter
{
    // The free of the allocator's own family.
    public static int FirstByte(string text)
    {
        IntPtr utf8 = Marshal.StringToCoTaskMemUTF8(text);
        try
        {
            return Marshal.ReadByte(utf8);
        }
        finally
        {
            Marshal.FreeCoTaskMem(utf8);
        }
    }

    // The free in a finally: it runs whether int.Parse returns or throws.
    public static int ParseInto(string text)
    {
        IntPtr cell = Marshal.AllocHGlobal(sizeof(int));
        int value;
        try
        {
            Marshal.WriteInt32(cell, int.Parse(text));
            value = Marshal.ReadInt32(cell);
        }
        finally
        {
            Marshal.FreeHGlobal(cell);
        }

        return value;
    }
}
