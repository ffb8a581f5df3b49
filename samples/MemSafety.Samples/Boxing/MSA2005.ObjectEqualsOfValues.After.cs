using System;

namespace MemSafety.Samples.Boxing.After.ObjectEqualsOfValues;

public enum Status { Open, Shipped }

public readonly record struct Order(Status Status, DateTime Day);

public static class Shipping
{
    // The fix: '==' for the enum, Equals(DateTime) for the BCL struct; nothing is boxed.
    public static int ShippedOn(Order[] orders, DateTime day)
    {
        var shipped = 0;
        foreach (var order in orders)
        {
            if (order.Status == Status.Shipped && order.Day.Equals(day))
                shipped++;
        }
        return shipped;
    }
}
