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
}
