using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace MemSafety.Samples.HeapEscapes.After.MaterializedOnce;

public sealed record Order(int Id, decimal Amount, bool IsPaid);

public static class OrderReport
{
    // The fix enumerates the query directly: no list, no copying.
    public static decimal PaidTotal(IEnumerable<Order> orders)
    {
        var total = 0m;
        foreach (var order in orders.Where(o => o.IsPaid))
        {
            total += order.Amount;
        }

        return total;
    }

    // Counts without storing anything.
    public static int CountLarge(IReadOnlyList<Order> orders) => orders.Where(o => o.Amount > 100m).Count();

    // Stops at the first match.
    public static bool AnyRefunds(List<Order> orders) => orders.Where(o => o.Amount < 0m).Any();

    // A List<T> knows its Count.
    public static int Size(List<Order> orders) => orders.Count;

    // The declaration is gone; the foreach enumerates the query.
    public static string Describe(IEnumerable<Order> orders)
    {
        var text = new StringBuilder();
        foreach (var id in orders.Select(o => o.Id))
        {
            text.Append(id).Append(' ');
        }

        return text.ToString();
    }

    // Unchanged: the snapshot is needed.
    public static void RemoveUnpaid(List<Order> orders)
    {
        foreach (var order in orders.ToList())
        {
            if (!order.IsPaid)
                orders.Remove(order);
        }
    }
}
