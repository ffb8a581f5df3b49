using System;
using System.Collections.Generic;

namespace MemSafety.Samples.Closures.Before.CapturingDelegateInLoop;

public static class Expiry
{
    // MSA3002: the loop body declares nothing, so no scope lies between the lambda and 'deadline': the compiler
    // creates a new delegate on every iteration (it would cache it in the display class if one did).
    public static int RemoveExpired(List<List<DateTime>> batches, DateTime deadline)
    {
        var removed = 0;
        var i = 0;
        while (i < batches.Count)
        {
            removed += batches[i].RemoveAll(stamp => stamp < deadline);
            i++;
        }
        return removed;
    }

    // MSA3002 without a fix: 'order' is declared in the loop, so each iteration allocates a display class for it and a
    // delegate, although the delegate does not outlive the call to Exists. A plain inner loop allocates neither.
    public static int Matched(List<int> orders, List<int> shipped)
    {
        var matched = 0;
        foreach (var order in orders)
        {
            if (shipped.Exists(id => id == order))
                matched++;
        }
        return matched;
    }
}
