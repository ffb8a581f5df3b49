using System;
using System.Globalization;
using System.Text;

namespace MemSafety.Samples.HeapEscapes.Before.SubstringAsSpan;

// MSA1004: each method copies part of a string into a new one only to compare, parse or append it.
[MemSafety.HotPath]
public static class ConfigLine
{
    public static bool IsHex(string literal) => literal.Length > 2 && literal.Substring(0, 2) == "0x";

    public static int Value(string line)
    {
        var value = line.Substring(line.IndexOf('=') + 1).Trim();
        if (value.Length == 0 || value.Equals("none", StringComparison.OrdinalIgnoreCase))
            return 0;
        return int.Parse(value, NumberStyles.Integer, CultureInfo.InvariantCulture);
    }

    public static StringBuilder AppendSimpleName(StringBuilder sb, string qualified)
        => sb.Append(qualified[(qualified.LastIndexOf('.') + 1)..]);

    // Not reported: the key is returned, so it has to be a string.
    public static string Key(string line) => line.Substring(0, line.IndexOf('='));

    // Not reported: culture-sensitive StartsWith(string) has no span form with the same meaning.
    public static bool IsComment(string line) => line.Trim().StartsWith("#");
}
