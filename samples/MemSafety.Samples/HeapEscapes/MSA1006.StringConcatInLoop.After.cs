using System.Collections.Generic;
using System.Text;

namespace MemSafety.Samples.HeapEscapes.After.StringConcatInLoop;

public static class CsvWriter
{
    // The fix turns the string's declaration into a builder's and reads the text once, after the loop.
    public static string ToCsvLine(IReadOnlyList<string> fields)
    {
        var lineBuilder = new StringBuilder();
        for (var i = 0; i < fields.Count; i++)
        {
            if (i > 0)
                lineBuilder.Append(",");
            lineBuilder.Append(Quote(fields[i]));
        }

        return lineBuilder.ToString();
    }

    // Each concatenated piece became its own Append call.
    public static string ToCsv(IEnumerable<IReadOnlyList<string>> rows)
    {
        var textBuilder = new StringBuilder();
        foreach (var row in rows)
            textBuilder.Append(ToCsvLine(row)).Append("\n");
        return textBuilder.ToString();
    }

    private static readonly char[] s_special = { ',', '"', '\n' };

    private static string Quote(string field)
        => field.IndexOfAny(s_special) < 0 ? field : "\"" + field.Replace("\"", "\"\"") + "\"";
}
