using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;

namespace MemSafety.Analyzers.Corpus;

/// <summary>Which findings of one TSV (the tool's <c>FILE.tsv</c>, or a judged list) are not in another, by
/// (rule, library, file, span, message), counting duplicates: <c>--diff</c>, and the comparison of
/// <c>--compare</c>. Columns are found by the header's names, so a TSV of an older tool (no span) or a judged
/// list (no message) is compared on the columns both files have.</summary>
internal sealed class TsvDiff
{
    /// <summary>The columns that identify a finding, in the order they are printed.</summary>
    public static readonly IReadOnlyList<string> KeyColumns = new[] { "rule", "library", "file", "line", "column", "end_line", "end_column", "message" };

    private static readonly string[] RequiredColumns = { "rule", "library", "file", "line" };

    private TsvDiff(
        IReadOnlyList<string> columns,
        IReadOnlyList<string> ignored,
        int beforeCount,
        int afterCount,
        IReadOnlyList<string[]> removed,
        IReadOnlyList<string[]> added,
        IReadOnlyList<RuleCounts> perRule)
    {
        Columns = columns;
        Ignored = ignored;
        BeforeCount = beforeCount;
        AfterCount = afterCount;
        Removed = removed;
        Added = added;
        PerRule = perRule;
    }

    /// <summary>The key columns compared: those both files have.</summary>
    public IReadOnlyList<string> Columns { get; }

    /// <summary>Key columns only one of the files has (not compared).</summary>
    public IReadOnlyList<string> Ignored { get; }

    public int BeforeCount { get; }

    public int AfterCount { get; }

    /// <summary>Findings of the first file that the second lacks, values in <see cref="Columns"/> order, sorted by place.</summary>
    public IReadOnlyList<string[]> Removed { get; }

    /// <summary>Findings of the second file that the first lacks.</summary>
    public IReadOnlyList<string[]> Added { get; }

    /// <summary>Every rule either file reports, in id order.</summary>
    public IReadOnlyList<RuleCounts> PerRule { get; }

    public bool Identical => Removed.Count == 0 && Added.Count == 0;

    /// <summary><paramref name="Reworded"/>: removed findings that have an added one at the same place (rule,
    /// library, file, span) with another message: the finding stayed, its message changed.</summary>
    internal sealed record RuleCounts(string Rule, int Before, int After, int Removed, int Added, int Reworded);

    /// <summary>How many removed findings reappear at the same place with another message (0 without a message column).</summary>
    public int Reworded => PerRule.Sum(r => r.Reworded);

    public static TsvDiff Compare(string beforeText, string afterText, string beforeName = "before", string afterName = "after")
    {
        var before = Table.Parse(beforeText, beforeName);
        var after = Table.Parse(afterText, afterName);
        var columns = KeyColumns.Where(c => before.Has(c) && after.Has(c)).ToList();
        var ignored = KeyColumns.Where(c => before.Has(c) != after.Has(c)).ToList();
        foreach (var required in RequiredColumns)
        {
            if (!columns.Contains(required))
                throw new InvalidDataException($"column '{required}' missing from {(before.Has(required) ? afterName : beforeName)}");
        }

        var beforeRows = before.Project(columns);
        var afterRows = after.Project(columns);

        // A multiset difference: a finding reported twice before and once after is one removed.
        var remaining = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var row in afterRows)
            remaining[Key(row)] = remaining.GetValueOrDefault(Key(row)) + 1;
        var removed = new List<string[]>();
        foreach (var row in beforeRows)
        {
            var key = Key(row);
            if (remaining.TryGetValue(key, out var count) && count > 0)
                remaining[key] = count - 1;
            else
                removed.Add(row);
        }

        var added = new List<string[]>();
        foreach (var row in afterRows)
        {
            var key = Key(row);
            if (remaining.TryGetValue(key, out var count) && count > 0)
            {
                remaining[key] = count - 1;
                added.Add(row);
            }
        }

        var order = new PlaceComparer(columns);
        removed.Sort(order);
        added.Sort(order);

        // Reworded: a removed finding paired with an added one that differs in the message only.
        var message = columns.IndexOf("message");
        var reworded = new HashSet<string[]>();
        if (message >= 0)
        {
            string Place(string[] row) => string.Join('\t', row.Where((_, i) => i != message));
            var addedPlaces = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var row in added)
                addedPlaces[Place(row)] = addedPlaces.GetValueOrDefault(Place(row)) + 1;
            foreach (var row in removed)
            {
                if (addedPlaces.TryGetValue(Place(row), out var count) && count > 0)
                {
                    addedPlaces[Place(row)] = count - 1;
                    reworded.Add(row);
                }
            }
        }

        var rule = columns.IndexOf("rule");
        var rules = beforeRows.Concat(afterRows).Select(r => r[rule]).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        var perRule = rules.Select(id => new RuleCounts(
            id,
            beforeRows.Count(r => r[rule] == id),
            afterRows.Count(r => r[rule] == id),
            removed.Count(r => r[rule] == id),
            added.Count(r => r[rule] == id),
            reworded.Count(r => r[rule] == id))).ToList();
        return new TsvDiff(columns, ignored, beforeRows.Count, afterRows.Count, removed, added, perRule);
    }

    /// <summary>A summary (what was compared, counts per rule) and then every removed ("- ") and added ("+ ")
    /// finding, in file order, tab-separated as in the TSV.</summary>
    public string Format(string beforeName, string afterName)
    {
        var text = new StringBuilder();
        text.Append("before: ").Append(beforeName).Append(" (").Append(BeforeCount).Append(" findings)\n");
        text.Append("after:  ").Append(afterName).Append(" (").Append(AfterCount).Append(" findings)\n");
        text.Append("compared on: ").Append(string.Join(", ", Columns)).Append('\n');
        if (Ignored.Count > 0)
            text.Append("not compared (only one file has them): ").Append(string.Join(", ", Ignored)).Append('\n');
        text.Append(Identical
            ? "IDENTICAL\n"
            : $"DIFFERENT: {Removed.Count} removed, {Added.Count} added; {Reworded} of them the same finding (rule, place) with another message\n");
        text.Append('\n');
        text.Append("| rule | before | after | removed | added | reworded |\n|---|---:|---:|---:|---:|---:|\n");
        foreach (var r in PerRule)
            text.Append($"| {r.Rule} | {r.Before} | {r.After} | {r.Removed} | {r.Added} | {r.Reworded} |\n");
        text.Append($"| total | {BeforeCount} | {AfterCount} | {Removed.Count} | {Added.Count} | {Reworded} |\n");
        if (Identical)
            return text.ToString();

        text.Append('\n');
        // At one place and rule, what went before what came (a changed message reads as - old, + new).
        var lines = Removed.Select(r => (Sign: "- ", Row: r)).Concat(Added.Select(r => (Sign: "+ ", Row: r)))
            .OrderBy(l => l.Row, new PlaceComparer(Columns, placeOnly: true))
            .ThenBy(l => l.Sign == "- " ? 0 : 1)
            .ThenBy(l => l.Row, new PlaceComparer(Columns));
        foreach (var (sign, row) in lines)
            text.Append(sign).Append(string.Join('\t', row)).Append('\n');
        return text.ToString();
    }

    private static string Key(string[] row) => string.Join('\t', row);

    /// <summary>Library, file, line, column, end, rule, then (unless <c>placeOnly</c>) the rest: the TSV's own
    /// order, numbers as numbers.</summary>
    private sealed class PlaceComparer : IComparer<string[]>
    {
        private readonly int[] _order;
        private readonly bool[] _numeric;

        public PlaceComparer(IReadOnlyList<string> columns, bool placeOnly = false)
        {
            var first = new[] { "library", "file", "line", "column", "end_line", "end_column", "rule" };
            var rest = placeOnly ? Enumerable.Empty<string>() : columns.Where(c => !first.Contains(c));
            _order = first.Where(columns.Contains).Concat(rest).Select(c => IndexOf(columns, c)).ToArray();
            _numeric = columns.Select(c => c is "line" or "column" or "end_line" or "end_column").ToArray();
        }

        public int Compare(string[]? x, string[]? y)
        {
            foreach (var i in _order)
            {
                var result = _numeric[i]
                    && int.TryParse(x![i], NumberStyles.Integer, CultureInfo.InvariantCulture, out var a)
                    && int.TryParse(y![i], NumberStyles.Integer, CultureInfo.InvariantCulture, out var b)
                    ? a.CompareTo(b)
                    : string.CompareOrdinal(x![i], y![i]);
                if (result != 0)
                    return result;
            }

            return 0;
        }

        private static int IndexOf(IReadOnlyList<string> columns, string name)
        {
            for (var i = 0; i < columns.Count; i++)
            {
                if (columns[i] == name)
                    return i;
            }

            return -1;
        }
    }

    private sealed class Table
    {
        private readonly string[] _header;
        private readonly List<string[]> _rows;

        private Table(string[] header, List<string[]> rows)
        {
            _header = header;
            _rows = rows;
        }

        public bool Has(string column) => Array.IndexOf(_header, column) >= 0;

        public List<string[]> Project(IReadOnlyList<string> columns)
        {
            var indices = columns.Select(c => Array.IndexOf(_header, c)).ToArray();
            return _rows.Select(row => indices.Select(i => row[i]).ToArray()).ToList();
        }

        public static Table Parse(string text, string name)
        {
            var lines = text.Split('\n');
            string[]? header = null;
            var rows = new List<string[]>();
            for (var n = 0; n < lines.Length; n++)
            {
                var line = lines[n].TrimEnd('\r');
                if (line.Length == 0)
                    continue;
                var fields = line.Split('\t');
                if (header is null)
                {
                    header = fields.Select(f => f.Trim().ToLowerInvariant()).ToArray();
                    continue;
                }

                if (fields.Length != header.Length)
                    throw new InvalidDataException($"{name}:{n + 1}: {fields.Length} fields, the header has {header.Length}");
                rows.Add(fields);
            }

            return new Table(header ?? throw new InvalidDataException(name + " is empty"), rows);
        }
    }
}
