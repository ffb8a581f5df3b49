using System;

namespace MemSafety.Samples.Boxing.Before.ObjectEqualsOfValues;

public enum Status { Open, Shipped }

public readonly record struct Order(Status Status, DateTime Day);

public static class Shipping
{
    // MSA2005 (in a loop): each object.Equals boxes both operands.
    public static int ShippedOn(Order[] orders, DateTime day)
    {
        var shipped = 0;
        foreach (var order in orders)
        {
            if (object.Equals(order.Status, Status.Shipped) && object.Equals(order.Day, day))
                shipped++;
        }
        return shipped;
    }
}
