using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace MemSafety.Samples.HeapEscapes.Before.MaterializedOnce;

public sealed record Order(int Id, decimal Amount, bool IsPaid);

public static class OrderReport
{
    // MSA1007: ToList() builds a List<Order> that the foreach reads once and drops.
    public static decimal PaidTotal(IEnumerable<Order> orders)
    {
        var total = 0m;
        foreach (var order in orders.Where(o => o.IsPaid).ToList())
        {
            total += order.Amount;
        }

        return total;
    }

    // MSA1007: a whole array, only to read its Length.
    public static int CountLarge(IReadOnlyList<Order> orders) => orders.Where(o => o.Amount > 100m).ToArray().Length;

    // MSA1007: a copy, only to ask whether there is anything in it.
    public static bool AnyRefunds(List<Order> orders) => orders.Where(o => o.Amount < 0m).ToList().Any();

    // MSA1007: a copy of a list, only to read its Count.
    public static int Size(List<Order> orders) => orders.ToList().Count;

    // MSA1007: the local copy is enumerated once, by the very next statement.
    public static string Describe(IEnumerable<Order> orders)
    {
        var text = new StringBuilder();
        var ids = orders.Select(o => o.Id).ToList();
        foreach (var id in ids)
        {
            text.Append(id).Append(' ');
        }

        return text.ToString();
    }

    // Not reported: the snapshot is what makes removing inside the loop legal.
    public static void RemoveUnpaid(List<Order> orders)
    {
        foreach (var order in orders.ToList())
        {
            if (!order.IsPaid)
                orders.Remove(order);
        }
    }
}
