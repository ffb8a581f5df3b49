using System.Collections.Generic;
using System.Text;

namespace MemSafety.Samples.HeapEscapes.After.StringConcatInLoop;

public static class CsvWriter
{
    // The fix appends into a builder and assigns the string once, after the loop.
    public static string ToCsvLine(IReadOnlyList<string> fields)
    {
        var line = "";
        var lineBuilder = new StringBuilder();
        for (var i = 0; i < fields.Count; i++)
        {
            if (i > 0)
                lineBuilder.Append(",");
            lineBuilder.Append(Quote(fields[i]));
        }
        line = lineBuilder.ToString();

        return line;
    }

    // Each concatenated piece became its own Append call.
    public static string ToCsv(IEnumerable<IReadOnlyList<string>> rows)
    {
        string text = string.Empty;
        var textBuilder = new StringBuilder(text);
        foreach (var row in rows)
            textBuilder.Append(ToCsvLine(row)).Append("\n");
        text = textBuilder.ToString();
        return text;
    }

    private static readonly char[] s_special = { ',', '"', '\n' };

    private static string Quote(string field)
        => field.IndexOfAny(s_special) < 0 ? field : "\"" + field.Replace("\"", "\"\"") + "\"";
}
