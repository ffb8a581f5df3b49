using System;

namespace MemSafety.Samples.HeapEscapes.Before.ZeroLengthArray;

// MSA1008: every call allocates a new, useless empty array.
public static class ArgumentList
{
    public static string[] Split(string? text)
    {
        if (string.IsNullOrEmpty(text))
            return new string[0];
        return text.Split(' ');
    }

    public static int Count(int[] values) => values.Length;

    public static int CountNone() => Count(new int[] { });
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
