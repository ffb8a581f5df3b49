using System;

namespace MemSafety.Samples.HeapEscapes.After.ZeroLengthArray;

// The fix returns the one shared empty array instead.
public static class ArgumentList
{
    public static string[] Split(string? text)
    {
        if (string.IsNullOrEmpty(text))
            return Array.Empty<string>();
        return text.Split(' ');
    }

    public static int Count(int[] values) => values.Length;

    public static int CountNone() => Count(Array.Empty<int>());
}

// Not reported: the empty array is a lock object, so its identity matters.
public sealed class Counter
{
    private readonly object _gate = new byte[0];
    private int _value;

    public int Next()
    {
        lock (_gate)
            return ++_value;
    }
}
