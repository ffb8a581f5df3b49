using System.Globalization;
using System.Text;

namespace MemSafety.Samples.Boxing.Before.CompositeFormatting;

// MSA2002: every int, double and decimal passed to these formatting calls is boxed to object.
[MemSafety.HotPath]
public static class Report
{
    public static string Line(int count, double total)
        => string.Format("{0,-6} items, {1:N2} total", count, total);

    public static string Price(decimal price)
        => string.Format(CultureInfo.InvariantCulture, "{{price: {0:0.00}}}", price);

    public static StringBuilder Row(StringBuilder sb, int id, string name)
        => sb.AppendFormat("{0:D4} {1}", id, name);

    // Not reported: only reference-type arguments, nothing is boxed.
    public static string Greeting(string name) => string.Format("Hello {0}", name);
}
