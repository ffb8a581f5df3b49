using System;
using System.Collections.Generic;

namespace MemSafety.Samples.Closures.After;

[MemSafety.HotPath]
public static class Readings
{
    // Called directly in a loop: 'threshold' and 'count' stay in a struct on the stack; nothing is allocated.
    public static int CountAbove(List<int> values, int threshold)
    {
        var count = 0;
        foreach (var value in values)
            Count(value);
        return count;

        void Count(int value)
        {
            if (value > threshold)
                count++;
        }
    }

    // The rare conversion moved to a method of its own: Sum's local function keeps its struct environment, and
    // only a call that inspects pays for the delegate.
    public static double Sum(double[] values, double scale, Action<Func<double, double>>? inspect)
    {
        var total = 0.0;
        foreach (var value in values)
            total += Scale(value);
        if (inspect is not null)
            Inspect(inspect, scale);
        return total;

        double Scale(double value) => value * scale;
    }

    private static void Inspect(Action<Func<double, double>> inspect, double scale) => inspect(value => value * scale);
}
