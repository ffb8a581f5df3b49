using System;
using System.Collections.Concurrent;

namespace MemSafety.Samples.Closures.Before;

[MemSafety.HotPath]
public sealed class PriceCache
{
    private readonly ConcurrentDictionary<string, decimal> _prices = new();

    // MSA3003: 'markup' is captured only in the rare branch, but its display class is allocated at method
    // entry, on every call.
    public decimal Quote(string sku, decimal markup, bool refresh)
    {
        if (refresh)
            return _prices[sku] = Retry(() => Load(sku) * markup);
        return _prices.TryGetValue(sku, out var price) ? price : 0m;
    }

    private static decimal Load(string sku) => sku.Length;

    private static decimal Retry(Func<decimal> load)
    {
        try { return load(); }
        catch (TimeoutException) { return load(); }
    }
}
