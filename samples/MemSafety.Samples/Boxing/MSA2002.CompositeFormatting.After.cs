using System.Globalization;
using System.Text;

namespace MemSafety.Samples.Boxing.After.CompositeFormatting;

// After the MSA2002 fix: interpolated strings format the values through DefaultInterpolatedStringHandler, no boxes.
[MemSafety.HotPath]
public static class Report
{
    public static string Line(int count, double total)
        => $"{count,-6} items, {total:N2} total";

    public static string Price(decimal price)
        => string.Create(CultureInfo.InvariantCulture, $"{{price: {price:0.00}}}");

    public static StringBuilder Row(StringBuilder sb, int id, string name)
        => sb.Append($"{id:D4} {name}");

    public static string Greeting(string name) => string.Format("Hello {0}", name);
}
