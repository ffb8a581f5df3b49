using System;

namespace MemSafety.Samples.HeapEscapes.After.ConstantArray;

public static class CsvLine
{
    private static readonly char[] CountFieldsSeparator = new[] { ',', ';' };
    private static readonly int[] Days = new int[] { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

    // The fix hoisted the separators into a field created once.
    public static int CountFields(string[] lines)
    {
        var count = 0;
        foreach (var line in lines)
            count += line.Split(CountFieldsSeparator).Length;
        return count;
    }

    // The fix hoisted the table; the local now reads the field.
    public static int DaysBefore(int month)
    {
        var total = 0;
        for (var m = 1; m < month; m++)
        {
            var days = Days;
            total += days[m - 1];
        }

        return total;
    }

    // Not reported: the array is sorted in place, so every call needs its own copy.
    public static int Median()
    {
        var values = new[] { 5, 1, 3 };
        Array.Sort(values);
        return values[1];
    }
}
