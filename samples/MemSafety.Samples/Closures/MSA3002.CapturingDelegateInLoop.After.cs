using System;
using System.Collections.Generic;

namespace MemSafety.Samples.Closures.After.CapturingDelegateInLoop;

public static class Expiry
{
    // The fix: one delegate, created before the loop; 'deadline' does not change in it.
    public static int RemoveExpired(List<List<DateTime>> batches, DateTime deadline)
    {
        var removed = 0;
        var i = 0;
        Predicate<DateTime> match = stamp => stamp < deadline;
        while (i < batches.Count)
        {
            removed += batches[i].RemoveAll(match);
            i++;
        }
        return removed;
    }

    // By hand: the inner search as a loop, with no closure at all.
    public static int Matched(List<int> orders, List<int> shipped)
    {
        var matched = 0;
        foreach (var order in orders)
        {
            foreach (var id in shipped)
            {
                if (id == order)
                {
                    matched++;
                    break;
                }
            }
        }
        return matched;
    }
}
