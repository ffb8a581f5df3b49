using System;

namespace MemSafety.Samples.UnsafePointers;

public static class UnsafeContextHidesRefSafetyErrorAfter
{
    // The caller provides the memory, and only the pointer read is unsafe: the compiler checks everything else.
    public static void Scratch(IntPtr seed, Span<int> destination)
    {
        unsafe
        {
            destination[0] = *(int*)seed;
        }
    }
}
