using System;
using System.Collections.Concurrent;

namespace MemSafety.Samples.Closures.After;

[MemSafety.HotPath]
public sealed class PriceCache
{
    private readonly ConcurrentDictionary<string, decimal> _prices = new();

    // The copies belong to the branch: the display class is allocated only when it runs.
    public decimal Quote(string sku, decimal markup, bool refresh)
    {
        if (refresh)
        {
            var skuCopy = sku;
            var markupCopy = markup;
            return _prices[sku] = Retry(() => Load(skuCopy) * markupCopy);
        }
        return _prices.TryGetValue(sku, out var price) ? price : 0m;
    }

    private static decimal Load(string sku) => sku.Length;

    private static decimal Retry(Func<decimal> load)
    {
        try { return load(); }
        catch (TimeoutException) { return load(); }
    }
}
