using System;

namespace MemSafety.Samples.UnsafePointers;

public static class StackAddressEscapeAfter
{
    // The caller provides the memory (a stackalloc span of its own, an array): the compiler checks its lifetime.
    public static void Squares(Span<int> destination)
    {
        for (int i = 0; i < destination.Length; i++)
            destination[i] = i * i;
    }
}
