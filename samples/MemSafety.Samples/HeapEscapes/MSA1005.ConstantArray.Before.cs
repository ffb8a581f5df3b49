using System;

namespace MemSafety.Samples.HeapEscapes.Before.ConstantArray;

public static class CsvLine
{
    // MSA1005: the separator array is allocated and filled on every iteration, though Split only reads it.
    public static int CountFields(string[] lines)
    {
        var count = 0;
        foreach (var line in lines)
            count += line.Split(new[] { ',', ';' }).Length;
        return count;
    }

    // MSA1005: a read-only lookup table rebuilt on every iteration.
    public static int DaysBefore(int month)
    {
        var total = 0;
        for (var m = 1; m < month; m++)
        {
            var days = new int[] { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
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
