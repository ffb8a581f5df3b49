using System;
using System.Collections.Generic;

namespace MemSafety.Samples.Closures.Before;

[MemSafety.HotPath]
public static class Readings
{
    // MSA3005: passing Count to ForEach turns the struct that holds 'threshold' and 'count' into a heap display
    // class, allocated on every call, and allocates an Action.
    public static int CountAbove(List<int> values, int threshold)
    {
        var count = 0;
        values.ForEach(Count);
        return count;

        void Count(int value)
        {
            if (value > threshold)
                count++;
        }
    }

    // MSA3005: one conversion in a rarely taken branch moves 'scale' to the heap for the direct calls too.
    public static double Sum(double[] values, double scale, Action<Func<double, double>>? inspect)
    {
        var total = 0.0;
        foreach (var value in values)
            total += Scale(value);
        if (inspect is not null)
            inspect(Scale);
        return total;

        double Scale(double value) => value * scale;
    }
}
