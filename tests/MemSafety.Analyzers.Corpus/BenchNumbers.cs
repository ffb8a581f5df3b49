using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace MemSafety.Analyzers.Corpus;

/// <summary>Execution time of one analyzer (the driver's telemetry, summed over the corpus) and the ids it reports.</summary>
internal sealed record AnalyzerTiming(string Analyzer, IReadOnlyList<string> Ids, double Seconds);

/// <summary>One compilation of the benchmark corpus.</summary>
internal sealed record BenchUnit(
    string Name,
    int Files,
    int Lines,
    double CompileSeconds,
    int CompileErrors,
    double OursStrictSeconds,
    double OursRecommendedSeconds);

/// <summary>One peer package's run: every rule of the package on.</summary>
internal sealed class PeerNumbers
{
    public required string Name { get; init; }
    public required string PackageId { get; init; }
    public required string Version { get; init; }

    /// <summary>Why the package did not run, or null.</summary>
    public string? Error { get; init; }
    public string? Folder { get; init; }
    public int Rules { get; init; }
    public List<AnalyzerTiming> Analyzers { get; } = new();
    public double WallSeconds { get; set; }
    public int Crashes { get; set; }
    public double TotalSeconds => Analyzers.Sum(a => a.Seconds);

    /// <summary>Time of the analyzers that report an id of <paramref name="ids"/> (empty: all).</summary>
    public double SecondsOf(IReadOnlyList<string> ids)
        => ids.Count == 0 ? TotalSeconds : Analyzers.Where(a => a.Ids.Any(i => ids.Contains(i, StringComparer.Ordinal))).Sum(a => a.Seconds);
}

/// <summary>One document of the latency sample: ours alone, the no-op operation analyzer, the time inside our
/// callbacks during the call (every analyzer's telemetry summed) and the analyzers of ours that took the most of it,
/// slowest first.</summary>
internal sealed record DocumentLatency(string Document, double Ms, double BaselineMs, double CallbackMs, IReadOnlyList<AnalyzerTiming> Slowest)
{
    /// <summary>What ours add over the no-op analyzer.</summary>
    public double AddedMs => Math.Max(0, Ms - BaselineMs);
}

/// <summary>A generated stress case at one scale.</summary>
internal sealed record StressResult(string Case, double Scale, int Lines, double CompileSeconds, double OursSeconds, int Crashes);

/// <summary>Everything a benchmark run measured: what the page and the budget are computed from (and nothing
/// else, so a page is a pure function of these numbers).</summary>
internal sealed class BenchNumbers
{
    public string Date { get; set; } = "";
    public string Machine { get; set; } = "";
    public string Command { get; set; } = "";
    public string Corpus { get; set; } = "";
    public string Runtime { get; set; } = "";
    public string Roslyn { get; set; } = "";
    public string? Note { get; set; }
    public int Repeat { get; set; } = 1;
    public double TotalWallSeconds { get; set; }
    public List<BenchUnit> Units { get; } = new();
    public List<AnalyzerTiming> Strict { get; } = new();
    public List<AnalyzerTiming> Recommended { get; } = new();

    /// <summary>Our analyzers' registrations (Strict) replayed with empty callbacks (<see cref="DispatchFloor"/>): the
    /// driver's dispatch floor of each, before any work of its own; empty when not measured.</summary>
    public List<AnalyzerTiming> Floor { get; } = new();
    public double GeneratedCodeCheckSeconds { get; set; }
    public double StrictWallSeconds { get; set; }
    public double RecommendedWallSeconds { get; set; }

    /// <summary>The driver with only the generated-code probe: what any analyzer build costs before its own work.</summary>
    public double BaselineWallSeconds { get; set; }

    /// <summary>The driver's wall time with our registrations replayed with empty callbacks (<see cref="Floor"/>): beside
    /// <see cref="BaselineWallSeconds"/>, the driver's own work for our registrations, which the telemetry (time inside
    /// callbacks) does not see.</summary>
    public double FloorWallSeconds { get; set; }
    public List<PeerNumbers> Peers { get; } = new();

    /// <summary>Per-document semantic analysis, ours alone (Strict), in milliseconds; null when skipped.</summary>
    public double[]? DocumentMilliseconds { get; set; }
    public string? SlowestDocument { get; set; }

    /// <summary>The same documents with only a no-op operation analyzer: the driver's and the binder's share, which any
    /// operation analyzer pays (same order as <see cref="DocumentMilliseconds"/>).</summary>
    public double[]? BaselineDocumentMilliseconds { get; set; }

    /// <summary>The documents where ours add the most over the no-op analyzer, most first (a handful).</summary>
    public List<DocumentLatency> CostliestDocuments { get; } = new();

    /// <summary>Bytes allocated by the process during analysis (GC.GetTotalAllocatedBytes(true) around the run).</summary>
    public long? AllocatedWithOurs { get; set; }
    public long? AllocatedWithout { get; set; }
    public List<StressResult> Stress { get; } = new();
    public List<string> Crashes { get; } = new();

    public double CompileSeconds => Units.Sum(u => u.CompileSeconds);
    public int Lines => Units.Sum(u => u.Lines);
    public double StrictSeconds => Strict.Sum(a => a.Seconds);
    public double RecommendedSeconds => Recommended.Sum(a => a.Seconds);
    public double FloorSeconds => Floor.Sum(a => a.Seconds);

    /// <summary>"MSA1".."MSA6" of an analyzer of ours: the prefix of the first id it reports.</summary>
    public static string Family(AnalyzerTiming timing)
        => timing.Ids.Count > 0 && timing.Ids[0].Length >= 4 ? timing.Ids[0].Substring(0, 4) : "?";

    /// <summary>Seconds of our analyzers that report an id starting with one of <paramref name="prefixes"/> (a family
    /// such as "MSA6", or one rule such as "MSA6004"); an analyzer counts whole, once.</summary>
    public static double SecondsOf(IEnumerable<AnalyzerTiming> timings, IReadOnlyList<string> prefixes)
        => timings.Where(t => t.Ids.Any(id => prefixes.Any(p => id.StartsWith(p, StringComparison.Ordinal)))).Sum(t => t.Seconds);

    /// <summary>Family prefix → seconds, in id order.</summary>
    public static SortedDictionary<string, double> Families(IEnumerable<AnalyzerTiming> timings)
    {
        var families = new SortedDictionary<string, double>(StringComparer.Ordinal);
        foreach (var t in timings)
            families[Family(t)] = families.GetValueOrDefault(Family(t)) + t.Seconds;
        return families;
    }

    /// <summary>Nearest-rank percentile (0 &lt; p ≤ 100) of the document latencies; null without them.</summary>
    public double? Percentile(double p) => Percentile(DocumentMilliseconds, p);

    /// <summary>Per document, ours minus the no-op analyzer's time (what ours add), or null.</summary>
    public double[]? AddedDocumentMilliseconds
        => DocumentMilliseconds is { } ours && BaselineDocumentMilliseconds is { } baseline && baseline.Length == ours.Length
            ? ours.Select((ms, i) => Math.Max(0, ms - baseline[i])).ToArray()
            : null;

    public static double? Percentile(double[]? values, double p)
    {
        if (values is not { Length: > 0 })
            return null;
        var sorted = values.Order().ToArray();
        var rank = (int)Math.Ceiling(p / 100.0 * sorted.Length);
        return sorted[Math.Clamp(rank, 1, sorted.Length) - 1];
    }

    public static readonly IReadOnlyDictionary<string, string> FamilyNames = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["MSA1"] = "MSA1 heap escapes",
        ["MSA2"] = "MSA2 boxing",
        ["MSA3"] = "MSA3 closures",
        ["MSA4"] = "MSA4 finalizers and disposal",
        ["MSA5"] = "MSA5 unsafe pointers",
        ["MSA6"] = "MSA6 shared state",
    };

    public static string FamilyName(string prefix) => FamilyNames.TryGetValue(prefix, out var name) ? name : prefix;

    public static string Percent(double part, double whole)
        => whole > 0 ? (part / whole * 100).ToString("F2", CultureInfo.InvariantCulture) + " %" : "n/a";
}

/// <summary>One budget of issue 13 with the numbers it was judged on.</summary>
internal sealed record BudgetCheck(string Name, string Limit, string Actual, bool Pass)
{
    public string Verdict => Pass ? "PASS" : "MISS";
}

/// <summary>The budgets of issue 13, judged on a run's numbers.</summary>
internal static class Budget
{
    public const double StrictShare = 0.10;
    public const double RecommendedShare = 0.05;
    public const double RuleShare = 0.02;
    public const double P99Milliseconds = 50;

    public static List<BudgetCheck> Evaluate(BenchNumbers n)
    {
        var checks = new List<BudgetCheck>();
        var compile = n.CompileSeconds;
        checks.Add(new BudgetCheck("Strict: every rule, share of compile time", "≤ 10 %", BenchNumbers.Percent(n.StrictSeconds, compile),
            compile > 0 && n.StrictSeconds <= StrictShare * compile));
        checks.Add(new BudgetCheck("Recommended preset, share of compile time", "≤ 5 %", BenchNumbers.Percent(n.RecommendedSeconds, compile),
            compile > 0 && n.RecommendedSeconds <= RecommendedShare * compile));
        var worst = n.Strict.OrderByDescending(a => a.Seconds).ThenBy(a => a.Analyzer, StringComparer.Ordinal).FirstOrDefault();
        checks.Add(new BudgetCheck("No single rule (analyzer, Strict)", "< 2 %",
            worst is null ? "n/a" : BenchNumbers.Percent(worst.Seconds, compile) + " (" + string.Join("/", worst.Ids) + ")",
            compile > 0 && (worst is null || worst.Seconds < RuleShare * compile)));
        if (n.Percentile(99) is { } p99)
        {
            checks.Add(new BudgetCheck("Per-document p99, ours alone (Strict), binding included", "≤ 50 ms", p99.ToString("F1", CultureInfo.InvariantCulture) + " ms",
                p99 <= P99Milliseconds));
        }

        if (BenchNumbers.Percentile(n.AddedDocumentMilliseconds, 99) is { } added)
        {
            checks.Add(new BudgetCheck("Per-document p99 of what ours add (minus a no-op operation analyzer's time)", "≤ 50 ms", added.ToString("F1", CultureInfo.InvariantCulture) + " ms",
                added <= P99Milliseconds));
        }

        foreach (var group in PeerAnalyzers.Groups)
        {
            var ours = BenchNumbers.SecondsOf(n.Strict, group.OurPrefixes);
            foreach (var set in group.Peers)
            {
                var peer = n.Peers.FirstOrDefault(p => p.Name == set.Package && p.Error is null);
                if (peer is null)
                    continue;
                var theirs = peer.SecondsOf(set.Ids);
                checks.Add(new BudgetCheck(
                    $"{group.Name} faster than {set.Package} {set.Label}",
                    "ours < theirs",
                    $"{Seconds(ours)} s vs {Seconds(theirs)} s",
                    ours < theirs));
            }
        }

        if (n.Stress.Count > 0)
        {
            foreach (var stressCase in n.Stress.Select(s => s.Case).Distinct(StringComparer.Ordinal))
            {
                var rows = n.Stress.Where(s => s.Case == stressCase).OrderBy(s => s.Scale).ToList();
                var full = rows[^1];
                var first = rows[0];
                // Linear: time at the full size at most twice what scaling the smallest size linearly predicts (plus
                // 50 ms of fixed cost), and the full size finishes in seconds.
                var linear = first.Scale <= 0 || full.OursSeconds <= 2 * first.OursSeconds * (full.Scale / first.Scale) + 0.05;
                checks.Add(new BudgetCheck($"Stress: {stressCase}", "finishes < 10 s, ~linear, no AD0001",
                    $"{Seconds(full.OursSeconds)} s at full size, {Seconds(first.OursSeconds)} s at ×{first.Scale.ToString("0.##", CultureInfo.InvariantCulture)}",
                    full.OursSeconds < 10 && linear && rows.All(r => r.Crashes == 0)));
            }
        }

        return checks;
    }

    private static string Seconds(double s) => s.ToString("F2", CultureInfo.InvariantCulture);
}
