using System.Collections.Generic;

namespace MemSafety.Samples.HeapEscapes.Before.StringConcatInLoop;

public static class CsvWriter
{
    // MSA1006: each `+=` copies the whole line built so far into a new string.
    public static string ToCsvLine(IReadOnlyList<string> fields)
    {
        var line = "";
        for (var i = 0; i < fields.Count; i++)
        {
            if (i > 0)
                line += ",";
            line += Quote(fields[i]);
        }

        return line;
    }

    // MSA1006: the same with `text = text + …`; the table is copied once per row.
    public static string ToCsv(IEnumerable<IReadOnlyList<string>> rows)
    {
        string text = string.Empty;
        foreach (var row in rows)
            text = text + ToCsvLine(row) + "\n";
        return text;
    }

    private static readonly char[] s_special = { ',', '"', '\n' };

    private static string Quote(string field)
        => field.IndexOfAny(s_special) < 0 ? field : "\"" + field.Replace("\"", "\"\"") + "\"";
}
