using System;

namespace MemSafety.Samples.UnsafePointers;

public static class StackViewEscapeAfter
{
    // The caller provides the memory; the compiler checks the lifetime of what it passes.
    public static void Single(long seed, Span<long> destination) => destination[0] = seed * 2;
}
