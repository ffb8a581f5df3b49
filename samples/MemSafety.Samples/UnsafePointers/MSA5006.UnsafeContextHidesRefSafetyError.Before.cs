using System;

namespace MemSafety.Samples.UnsafePointers;

public static class UnsafeContextHidesRefSafetyErrorBefore
{
    // MSA5006: the method is unsafe for one pointer read, and that turns error CS8352 (a span over this call's
    // stackalloc memory returned) into warning CS9080; the caller reads a dead stack frame.
    public static unsafe Span<int> Scratch(int* seed)
    {
        Span<int> buffer = stackalloc int[4];
        buffer[0] = *seed;
        return buffer;
    }
}
