using System;
using System.Runtime.InteropServices;

namespace MemSafety.Samples.UnsafePointers;

public static class StackViewEscapeBefore
{
    // MSA5005: 'value' lives in this call's frame; CreateSpan's scoped parameter hides that from the compiler, and the
    // caller reads the span after the next call has reused the memory.
    public static Span<long> Single(long seed)
    {
        long value = seed * 2;
        return MemoryMarshal.CreateSpan(ref value, 1);
    }
}
