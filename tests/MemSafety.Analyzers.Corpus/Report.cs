using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace MemSafety.Analyzers.Corpus;

/// <summary>What the whole run did, beyond the per-unit results.</summary>
internal sealed record RunSummary(double WallSeconds, IReadOnlyList<(string Name, string Reason)> Skipped, string? ReferenceAssembliesFolder);

/// <summary>What one analyzer build did over the whole run: a result per unit and every finding.</summary>
internal sealed record BuildRun(AnalyzerBuild Build, List<AssemblyResult> Results, List<Finding> Findings);

/// <summary>A seeded sample of findings for hand-checking, grouped by id prefix (a rule family) or by id.</summary>
internal sealed record SampleGroup(string Name, int Population, IReadOnlyList<Finding> Items);

/// <summary>Writes the Markdown report (and the shorter stdout summary).</summary>
internal static class Report
{
    private const int ContextLines = 4;

    public static List<SampleGroup> Sample(CorpusOptions options, List<Finding> findings)
    {
        // A stable order first: concurrent analysis reports in any order, and the sample must depend on the seed only.
        var ordered = findings
            .OrderBy(f => f.Assembly, StringComparer.Ordinal)
            .ThenBy(f => f.DisplayPath, StringComparer.Ordinal)
            .ThenBy(f => f.Line)
            .ThenBy(f => f.Column)
            .ThenBy(f => f.Id, StringComparer.Ordinal)
            .ThenBy(f => f.Message, StringComparer.Ordinal)
            .ToList();

        var groups = new List<(string Name, List<Finding> Members)>();
        if (options.PerId || options.IdPrefixes.Count == 0)
        {
            foreach (var id in ordered.Select(f => f.Id).Distinct().Order(StringComparer.Ordinal))
            {
                if (options.IdPrefixes.Count == 0 || options.IdPrefixes.Any(p => id.StartsWith(p, StringComparison.OrdinalIgnoreCase)))
                    groups.Add((id, ordered.Where(f => f.Id == id).ToList()));
            }
        }
        else
        {
            foreach (var prefix in options.IdPrefixes)
                groups.Add((prefix, ordered.Where(f => f.Id.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)).ToList()));
        }

        var result = new List<SampleGroup>();
        foreach (var (name, members) in groups)
        {
            // Partial Fisher-Yates with a generator seeded per group: each group's sample depends only on the
            // seed and that group's findings. Then back to reading order.
            var random = new Random(options.Seed);
            var indices = Enumerable.Range(0, members.Count).ToArray();
            var take = Math.Min(options.Sample, members.Count);
            for (var i = 0; i < take; i++)
            {
                var j = random.Next(i, indices.Length);
                (indices[i], indices[j]) = (indices[j], indices[i]);
            }

            var chosen = indices.Take(take).Order().Select(i => members[i]).ToList();
            result.Add(new SampleGroup(name, members.Count, chosen));
        }

        return result;
    }

    /// <summary>The columns of <see cref="Tsv"/>. The span columns come after the message so that the first five
    /// keep their place from before they were added (judged lists and older TSVs use the first four).</summary>
    public const string TsvHeader = "rule\tlibrary\tfile\tline\tmessage\tcolumn\tend_line\tend_column";

    /// <summary>Every finding, one a line: rule, library, file (relative to the library's root), line, message,
    /// then the rest of the span: start column, end line and end column (1-based; the end column is the one just
    /// after the span's last character, as in SARIF). Sorted, so two runs diff line by line, and (rule, library,
    /// file, span, message) identifies a finding for <see cref="TsvDiff"/>.</summary>
    public static string Tsv(IEnumerable<Finding> findings)
    {
        var tsv = new StringBuilder(TsvHeader).Append('\n');
        foreach (var f in findings
                     .OrderBy(f => f.Assembly, StringComparer.Ordinal)
                     .ThenBy(f => f.DisplayPath, StringComparer.Ordinal)
                     .ThenBy(f => f.Line)
                     .ThenBy(f => f.Column)
                     .ThenBy(f => f.EndLine)
                     .ThenBy(f => f.EndColumn)
                     .ThenBy(f => f.Id, StringComparer.Ordinal)
                     .ThenBy(f => f.Message, StringComparer.Ordinal))
        {
            tsv.Append(f.Id).Append('\t').Append(f.Assembly).Append('\t').Append(f.DisplayPath).Append('\t')
               .Append(f.Line.ToString(CultureInfo.InvariantCulture)).Append('\t')
               .Append(f.Message.Replace('\t', ' ').Replace('\r', ' ').Replace('\n', ' ')).Append('\t')
               .Append(f.Column.ToString(CultureInfo.InvariantCulture)).Append('\t')
               .Append(f.EndLine.ToString(CultureInfo.InvariantCulture)).Append('\t')
               .Append(f.EndColumn.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        return tsv.ToString();
    }

    public static string Markdown(
        CorpusOptions options,
        CorpusAnalysis analysis,
        RunSummary run,
        IReadOnlyList<BuildRun> builds,
        IReadOnlyList<SampleGroup> samples,
        bool includeSampleContext,
        TsvDiff? diff = null)
    {
        // The build reported on: its findings are the sample and the counts; a compared build gets its own section.
        var results = builds[0].Results;
        var md = new StringBuilder();
        md.AppendLine("# MemSafety.Analyzers corpus report").AppendLine();
        md.AppendLine($"- Command line: `{(options.CommandLine.Length == 0 ? "(defaults)" : options.CommandLine)}`");
        md.AppendLine($"- Date (UTC): {DateTime.UtcNow:yyyy-MM-dd HH:mm}");
        md.AppendLine(options.Corpus == CorpusKind.Runtime
            ? $"- Corpus: decompiled .NET runtime assemblies; runtime .NET {Environment.Version}, assemblies from `{analysis.FrameworkFolder}`"
            : $"- Corpus: third-party libraries of `{options.ProjectsFileUsed}`, sources from the git mirrors under `{options.MirrorsDirectory}`, " +
              $"compiled against `{run.ReferenceAssembliesFolder}` and packages from `{options.PackagesDirectory}`; runtime .NET {Environment.Version}");
        md.AppendLine(options.Preset is null
            ? "- Preset: none given: every rule at its default severity, default options"
            : $"- Preset: **{options.Preset}** (`{analysis.Configuration.PresetPath}`, applied as a global analyzer config); " +
              $"analyzer options: {(analysis.Configuration.GlobalOptions.Count == 0 ? "(none)" : string.Join(", ", analysis.Configuration.GlobalOptions.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"`{p.Key} = {p.Value}`")))}");
        md.AppendLine($"- Wall time of the run: {run.WallSeconds:F0} s");
        md.AppendLine($"- Roslyn: {FileVersion(typeof(Compilation))}; decompiler: ICSharpCode.Decompiler {Decompilation.DecompilerVersion}; " +
                      $"{Environment.ProcessorCount} cores");
        md.AppendLine($"- Analyzers ({analysis.Analyzers.Length}): {string.Join(", ", analysis.Analyzers.Select(DispatchFloor.NameOf))}");
        if (options.Floor)
            md.AppendLine("- **--floor**: every time below is an analyzer's dispatch floor (its registrations replayed with empty callbacks, " +
                          "start actions for real), not its own work; no finding is reported");
        foreach (var build in builds)
            md.AppendLine($"- Analyzer build{(builds.Count > 1 ? " **" + build.Build.Label + "**" : "")}: `{build.Build.Location}` ({build.Build.Identity})");
        md.AppendLine($"- --option: {(options.AnalyzerOptions.Count == 0 ? "(none)" : string.Join(", ", options.AnalyzerOptions.Select(p => $"`{p.Key} = {p.Value}`")))}; " +
                      $"--enable: {(options.Enable.Count == 0 ? "(none)" : string.Join(", ", options.Enable))}; " +
                      (options.Corpus == CorpusKind.Runtime
                          ? $"nullable {(options.Nullable ?? true ? "enabled" : "disabled")}; C# {LanguageVersionFacts.MapSpecifiedToEffectiveVersion(LanguageVersion.Latest).ToDisplayString()}"
                          : $"nullable and C# version: each library's own (see below){(options.Nullable is { } forced ? $", nullable forced {(forced ? "on" : "off")}" : "")}"));
        md.AppendLine($"- Sources (decompiled or extracted): `{options.CacheDirectory}`").AppendLine();

        if (run.Skipped.Count > 0)
        {
            md.AppendLine("## Skipped libraries").AppendLine();
            foreach (var (name, reason) in run.Skipped)
                md.AppendLine($"- **{name}**: {reason}");
            md.AppendLine();
        }

        md.AppendLine("## Analyzer exceptions (AD0001)").AppendLine();
        if (analysis.Crashes.Count == 0)
        {
            md.AppendLine("None.").AppendLine();
        }
        else
        {
            md.AppendLine($"**{analysis.Crashes.Count} analyzer exception(s): severity-1 bugs.**").AppendLine();
            var n = 0;
            foreach (var crash in analysis.Crashes)
            {
                md.AppendLine($"### {++n}. {crash.Analyzer} in {crash.Assembly} at {crash.Location ?? "(unknown)"}").AppendLine();
                md.AppendLine("```").AppendLine(crash.Detail.TrimEnd()).AppendLine("```").AppendLine();
            }
        }

        if (options.Corpus == CorpusKind.ThirdParty)
            AppendLibraries(md, results);
        AppendAssemblies(md, results, options.Repeat);
        AppendAnalyzerTimes(md, results);
        if (builds.Count > 1)
            AppendComparison(md, builds, diff);
        AppendCounts(md, options, analysis, results);

        var all = options.Sample == int.MaxValue;
        md.AppendLine(all ? "## Findings" : "## Sample").AppendLine();
        md.AppendLine((all ? "Every finding" : $"Seed {options.Seed}, up to {options.Sample}") +
                      $" per {(options.PerId || options.IdPrefixes.Count == 0 ? "id" : "id prefix")}. " +
                      "Paths are relative to the library's repository root (the decompiled folder for the runtime). " +
                      "Verdicts as in JUDGING.md: worth changing / correct, not worth changing / wrong.").AppendLine();
        foreach (var group in samples)
        {
            md.AppendLine($"### {group.Name}: {group.Items.Count} of {group.Population}").AppendLine();
            if (group.Items.Count == 0)
            {
                md.AppendLine(group.Population == 0 ? "No diagnostics." : "None listed (--sample 0).").AppendLine();
                continue;
            }

            if (!includeSampleContext)
            {
                foreach (var f in group.Items)
                    md.AppendLine($"- {f.Id} {f.Assembly} `{f.DisplayPath}:{f.Line}` ({f.Member}): {f.Message}");
                md.AppendLine();
                continue;
            }

            var number = 0;
            foreach (var f in group.Items)
            {
                md.AppendLine($"#### {group.Name}-{++number}. {f.Id} in {f.Assembly}, `{f.DisplayPath}:{f.Line}`").AppendLine();
                md.AppendLine($"- Member: `{f.Member}`");
                md.AppendLine($"- Message ({f.Severity}): {f.Message}");
                foreach (var extra in f.AdditionalLocations)
                    md.AppendLine($"- Additional location: `{extra.DisplayPath}:{extra.Line}`: `{LineText(extra.FullPath, extra.Line).Trim()}`");
                md.AppendLine();
                md.AppendLine("```csharp");
                AppendContext(md, f.FullPath, f.Line, f.EndLine);
                md.AppendLine("```");
                md.AppendLine();
                md.AppendLine("Verdict: [ ] worth changing  [ ] correct, not worth changing  [ ] wrong — message clear: [ ] yes [ ] no — reason:");
                md.AppendLine();
            }
        }

        return md.ToString();
    }

    private static void AppendAssemblies(StringBuilder md, IReadOnlyList<AssemblyResult> results, int repeat)
    {
        md.AppendLine("## Compilations and timings").AppendLine();
        md.AppendLine("- Prepare: decompiling (runtime) or extracting from the git mirror (third-party); 0 when the cache was reused.");
        md.AppendLine("- References: binding the framework references, once per compilation (not part of Compile).");
        md.AppendLine("- Compile: `Compilation.GetDiagnostics()` (declarations, method bodies, flow analysis; no emit), wall and CPU time.");
        md.AppendLine("- Analyzers: the sum of the per-analyzer execution times from `GetAnalyzerTelemetryInfoAsync`; **A/C** = Analyzers / Compile (wall). " +
                      "It leaves out the driver's generated-code check of each file (a walk over its tokens for `[GeneratedCode]`, paid inside " +
                      "the callback of the first analyzer that reports in the file, by any build with a reporting analyzer): a probe analyzer " +
                      "reports first in every file and pays it, in every run and in the baseline; its time is the separate row " +
                      "\"(driver) generated-code check\" of the analyzer tables.");
        md.AppendLine("- Driver: `GetAnalyzerDiagnosticsAsync`, which binds the whole compilation again to produce compilation events and " +
                      "runs the analyzers concurrently; **ΔCPU/C** = (Driver CPU − Compile CPU) / Compile CPU, the cost of analysis " +
                      "(analyzers and driver) in CPU time, which other processes on the machine do not inflate.");
        md.AppendLine("- Baseline CPU: the same driver with one analyzer that registers operation actions and does nothing (the cost any " +
                      "build with operation analyzers pays: events, IOperation trees); **Ours/C** = (Driver CPU − Baseline CPU) / Compile CPU, " +
                      "what our analyzers add on top of that.");
        md.AppendLine($"- Seconds; {(repeat > 1 ? $"the fastest of {repeat} runs" : "one run")}. Wall times on a shared machine are noisy: trust CPU times and totals over single small assemblies.");
        md.AppendLine();
        md.AppendLine("| Assembly | Files | Lines | Errors | Warnings | Prepare | Parse | References | Compile | Compile CPU | Analyzers | A/C | Driver | Driver CPU | ΔCPU/C | Baseline CPU | Ours/C | Peak WS |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            md.AppendLine($"| {r.Name} | {r.Files} | {r.Lines} | {r.CompileErrors} | {r.CompileWarnings} | {Seconds(r.PrepareSeconds)} | {Seconds(r.ParseSeconds)} | " +
                          $"{Seconds(r.ReferenceSeconds)} | {Seconds(r.CompileSeconds)} | {Seconds(r.CompileCpuSeconds)} | {Seconds(r.AnalyzerSecondsTotal)} | " +
                          $"{CorpusAnalysis.Ratio(r.AnalyzerSecondsTotal, r.CompileSeconds)} | {Seconds(r.AnalyzerWallSeconds)} | {Seconds(r.AnalyzerCpuSeconds)} | " +
                          $"{CorpusAnalysis.Ratio(r.AnalyzerCpuSeconds - r.CompileCpuSeconds, r.CompileCpuSeconds)} | {Seconds(r.BaselineCpuSeconds)} | " +
                          $"{CorpusAnalysis.Ratio(r.AnalyzerCpuSeconds - r.BaselineCpuSeconds, r.CompileCpuSeconds)} | {r.PeakWorkingSetBytes / (1024 * 1024)} MiB |");
        }

        var compile = results.Sum(r => r.CompileSeconds);
        var compileCpu = results.Sum(r => r.CompileCpuSeconds);
        var analyzers = results.Sum(r => r.AnalyzerSecondsTotal);
        var driverCpu = results.Sum(r => r.AnalyzerCpuSeconds);
        var baselineCpu = results.Sum(r => r.BaselineCpuSeconds);
        md.AppendLine($"| **Total** | {results.Sum(r => r.Files)} | {results.Sum(r => r.Lines)} | {results.Sum(r => r.CompileErrors)} | {results.Sum(r => r.CompileWarnings)} | " +
                      $"{Seconds(results.Sum(r => r.PrepareSeconds))} | {Seconds(results.Sum(r => r.ParseSeconds))} | {Seconds(results.Sum(r => r.ReferenceSeconds))} | " +
                      $"{Seconds(compile)} | {Seconds(compileCpu)} | {Seconds(analyzers)} | **{CorpusAnalysis.Ratio(analyzers, compile)}** | " +
                      $"{Seconds(results.Sum(r => r.AnalyzerWallSeconds))} | {Seconds(driverCpu)} | **{CorpusAnalysis.Ratio(driverCpu - compileCpu, compileCpu)}** | " +
                      $"{Seconds(baselineCpu)} | **{CorpusAnalysis.Ratio(driverCpu - baselineCpu, compileCpu)}** | |");
        md.AppendLine();

        md.AppendLine("Most frequent compile errors (the analyzers must cope with them):").AppendLine();
        foreach (var r in results)
        {
            if (r.TopErrors.Count == 0)
                continue;
            md.AppendLine($"- {r.Name}: " + string.Join("; ", r.TopErrors.Select(e => $"{e.Id} × {e.Count}")));
            foreach (var e in r.TopErrors.Take(3))
                md.AppendLine($"  - e.g. {e.Id}: `{e.Example.Replace("`", "'", StringComparison.Ordinal)}`");
        }

        md.AppendLine();
    }

    private static void AppendAnalyzerTimes(StringBuilder md, IReadOnlyList<AssemblyResult> results)
    {
        md.AppendLine("## Analyzer execution time (ms)").AppendLine();
        md.Append("| Analyzer | Total | Share of compile |");
        foreach (var r in results)
            md.Append(' ').Append(r.Name).Append(" |");
        md.AppendLine();
        md.Append("|---|---:|---:|").AppendLine(string.Concat(results.Select(_ => "---:|")));
        var compile = results.Sum(r => r.CompileSeconds);
        var names = results.SelectMany(r => r.AnalyzerSeconds.Keys).Distinct()
            .OrderByDescending(n => results.Sum(r => r.AnalyzerSeconds.GetValueOrDefault(n)));
        foreach (var name in names)
        {
            var total = results.Sum(r => r.AnalyzerSeconds.GetValueOrDefault(name));
            md.Append($"| {name} | {Milliseconds(total)} | {CorpusAnalysis.Ratio(total, compile)} |");
            foreach (var r in results)
                md.Append(' ').Append(Milliseconds(r.AnalyzerSeconds.GetValueOrDefault(name))).Append(" |");
            md.AppendLine();
        }

        var check = results.Sum(r => r.GeneratedCodeCheckSeconds);
        md.Append($"| (driver) generated-code check | {Milliseconds(check)} | {CorpusAnalysis.Ratio(check, compile)} |");
        foreach (var r in results)
            md.Append(' ').Append(Milliseconds(r.GeneratedCodeCheckSeconds)).Append(" |");
        md.AppendLine();

        md.AppendLine();
    }

    private static void AppendComparison(StringBuilder md, IReadOnlyList<BuildRun> builds, TsvDiff? diff)
    {
        md.AppendLine("## Builds compared").AppendLine();
        md.AppendLine("Both builds analysed the same compilations in the same process, one after the other per assembly " +
                      "(order swapped on every repetition), so compile times, the no-op baseline and the machine's load are shared. " +
                      "Columns as in \"Compilations and timings\".").AppendLine();
        md.AppendLine("| Build | Findings | Compile | Compile CPU | Analyzers | A/C | Driver | Driver CPU | ΔCPU/C | Baseline CPU | Ours/C |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var b in builds)
        {
            var r = b.Results;
            var compile = r.Sum(x => x.CompileSeconds);
            var compileCpu = r.Sum(x => x.CompileCpuSeconds);
            var analyzers = r.Sum(x => x.AnalyzerSecondsTotal);
            var driverCpu = r.Sum(x => x.AnalyzerCpuSeconds);
            var baselineCpu = r.Sum(x => x.BaselineCpuSeconds);
            md.AppendLine($"| {b.Build.Label} | {b.Findings.Count} | {Seconds(compile)} | {Seconds(compileCpu)} | {Seconds(analyzers)} | **{CorpusAnalysis.Ratio(analyzers, compile)}** | " +
                          $"{Seconds(r.Sum(x => x.AnalyzerWallSeconds))} | {Seconds(driverCpu)} | **{CorpusAnalysis.Ratio(driverCpu - compileCpu, compileCpu)}** | " +
                          $"{Seconds(baselineCpu)} | **{CorpusAnalysis.Ratio(driverCpu - baselineCpu, compileCpu)}** |");
        }

        md.AppendLine();
        var after = builds[0];
        md.AppendLine("### Analyzer execution time per build (ms, all assemblies)").AppendLine();
        md.Append("| Analyzer |");
        foreach (var b in builds)
            md.Append(' ').Append(b.Build.Label).Append(" |");
        foreach (var b in builds.Skip(1))
            md.Append($" {after.Build.Label} − {b.Build.Label} | {after.Build.Label} / {b.Build.Label} |");
        md.AppendLine();
        md.Append("|---|").Append(string.Concat(builds.Select(_ => "---:|"))).AppendLine(string.Concat(builds.Skip(1).Select(_ => "---:|---:|")));
        var names = builds.SelectMany(b => b.Results.SelectMany(r => r.AnalyzerSeconds.Keys)).Distinct(StringComparer.Ordinal)
            .OrderByDescending(n => after.Results.Sum(r => r.AnalyzerSeconds.GetValueOrDefault(n)))
            .ThenBy(n => n, StringComparer.Ordinal)
            .ToList();
        // Rows: every analyzer, the total, the total of the analyzers both builds have (like for like when one build
        // adds rules), and the driver's generated-code check (not in the totals).
        const string Shared = "\u0001shared", Check = "\u0001check";
        var shared = names.Where(n => builds.All(b => b.Results.Any(r => r.AnalyzerSeconds.ContainsKey(n)))).ToHashSet(StringComparer.Ordinal);
        var rows = names.Cast<string?>().Append(null);
        if (builds.Count > 1 && shared.Count < names.Count)
            rows = rows.Append(Shared);
        rows = rows.Append(Check);
        foreach (var name in rows)
        {
            double Total(BuildRun b) => b.Results.Sum(r => name switch
            {
                null => r.AnalyzerSecondsTotal,
                Shared => r.AnalyzerSeconds.Where(p => shared.Contains(p.Key)).Sum(p => p.Value),
                Check => r.GeneratedCodeCheckSeconds,
                _ => r.AnalyzerSeconds.GetValueOrDefault(name),
            });
            md.Append(name switch
            {
                null => "| **Total** |",
                Shared => $"| **Total of the {shared.Count} analyzers every build has** |",
                Check => "| (driver) generated-code check |",
                _ => $"| {name} |",
            });
            foreach (var b in builds)
                md.Append(' ').Append(Milliseconds(Total(b))).Append(" |");
            foreach (var b in builds.Skip(1))
                md.Append(' ').Append(Milliseconds(Total(after) - Total(b))).Append(" | ").Append(Total(b) > 0 ? (Total(after) / Total(b)).ToString("F2", CultureInfo.InvariantCulture) : "n/a").Append(" |");
            md.AppendLine();
        }

        md.AppendLine();
        md.AppendLine("### Per assembly").AppendLine();
        md.Append("| Assembly | Compile |");
        foreach (var b in builds)
            md.Append($" Analyzers {b.Build.Label} | A/C {b.Build.Label} | Ours/C {b.Build.Label} | Findings {b.Build.Label} |");
        md.AppendLine();
        md.Append("|---|---:|").AppendLine(string.Concat(builds.Select(_ => "---:|---:|---:|---:|")));
        for (var i = 0; i < after.Results.Count; i++)
        {
            var first = after.Results[i];
            md.Append($"| {first.Name} | {Seconds(first.CompileSeconds)} |");
            foreach (var b in builds)
            {
                var r = b.Results[i];
                md.Append($" {Seconds(r.AnalyzerSecondsTotal)} | {CorpusAnalysis.Ratio(r.AnalyzerSecondsTotal, r.CompileSeconds)} | " +
                          $"{CorpusAnalysis.Ratio(r.AnalyzerCpuSeconds - r.BaselineCpuSeconds, r.CompileCpuSeconds)} | {r.IdCounts.Values.Sum()} |");
            }

            md.AppendLine();
        }

        md.AppendLine();
        if (diff is null)
            return;

        md.AppendLine("### Findings: before → after").AppendLine();
        md.AppendLine(diff.Identical
            ? $"**Identical** ({diff.AfterCount} findings, compared on {string.Join(", ", diff.Columns)})."
            : $"**Different**: {diff.Removed.Count} removed, {diff.Added.Count} added, {diff.Reworded} of them the same finding with another message " +
              $"(compared on {string.Join(", ", diff.Columns)}). Every line: `--diff FILE.before.tsv FILE.tsv`.");
        md.AppendLine();
        md.AppendLine("| Rule | before | after | removed | added | reworded |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var r in diff.PerRule)
            md.AppendLine($"| {r.Rule} | {r.Before} | {r.After} | {r.Removed} | {r.Added} | {r.Reworded} |");
        md.AppendLine();
    }

    private static string Severity(CorpusOptions options, CorpusAnalysis analysis, DiagnosticDescriptor? descriptor)
    {
        if (descriptor is null)
            return "";
        if (options.Enable.Contains(descriptor.Id))
            return "enabled";
        if (analysis.Configuration.GlobalSeverities.TryGetValue(descriptor.Id, out var severity))
        {
            return severity switch
            {
                ReportDiagnostic.Suppress => "none",
                ReportDiagnostic.Hidden => "silent",
                ReportDiagnostic.Info => "suggestion",
                ReportDiagnostic.Warn => "warning",
                ReportDiagnostic.Error => "error",
                _ => "default",
            };
        }

        return descriptor.IsEnabledByDefault ? "default (" + descriptor.DefaultSeverity.ToString().ToLowerInvariant() + ")" : "default (off)";
    }

    private static string EffectiveLanguage(string specified)
        => LanguageVersionFacts.TryParse(specified, out var version)
            ? specified + (LanguageVersionFacts.MapSpecifiedToEffectiveVersion(version) is var effective && effective.ToDisplayString() != specified ? " (" + effective.ToDisplayString() + ")" : "")
            : specified;

    private static void AppendLibraries(StringBuilder md, IReadOnlyList<AssemblyResult> results)
    {
        md.AppendLine("## Libraries").AppendLine();
        md.AppendLine("Files with errors: compile errors make the analysers see error types; aim for under 1 % of files. " +
                      "Dependency errors: errors in project references compiled for this library.").AppendLine();
        md.AppendLine("| Library | Repository | Commit | Project | TFM | C# | Files | Lines | Errors | Files with errors | Dependency errors |");
        md.AppendLine("|---|---|---|---|---|---|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            var l = r.Library;
            if (l is null)
                continue;
            var share = r.Files == 0 ? "n/a" : (r.FilesWithErrors / (double)r.Files).ToString("P1", CultureInfo.InvariantCulture);
            md.AppendLine($"| {r.Name} | {l.Repository} | `{l.Commit.Substring(0, 12)}` | `{l.Project}` | {l.TargetFramework} | {EffectiveLanguage(l.LangVersion)} | " +
                          $"{r.Files} | {r.Lines} | {r.CompileErrors} | {r.FilesWithErrors} ({share}) | {l.DependencyErrors} |");
        }

        md.AppendLine();
    }

    private static void AppendCounts(StringBuilder md, CorpusOptions options, CorpusAnalysis analysis, IReadOnlyList<AssemblyResult> results)
    {
        md.AppendLine("## Diagnostics per id").AppendLine();
        md.AppendLine("Severity: what the run applied (the preset's line, `--enable`, else the rule's default).").AppendLine();
        md.Append("| Id | Title | Severity | Total |");
        foreach (var r in results)
            md.Append(' ').Append(r.Name).Append(" |");
        md.AppendLine();
        md.Append("|---|---|---|---:|").AppendLine(string.Concat(results.Select(_ => "---:|")));
        var ids = analysis.Descriptors.Keys.Concat(results.SelectMany(r => r.IdCounts.Keys)).Distinct().Order(StringComparer.Ordinal);
        foreach (var id in ids)
        {
            var title = analysis.Descriptors.TryGetValue(id, out var descriptor) ? descriptor.Title.ToString(CultureInfo.InvariantCulture) : "";
            var enabled = descriptor is null || descriptor.IsEnabledByDefault ? "" : " (off by default)";
            md.Append($"| {id} | {title}{enabled} | {Severity(options, analysis, descriptor)} | {results.Sum(r => r.IdCounts.GetValueOrDefault(id))} |");
            foreach (var r in results)
                md.Append(' ').Append(r.IdCounts.GetValueOrDefault(id)).Append(" |");
            md.AppendLine();
        }

        md.AppendLine();
    }

    private static void AppendContext(StringBuilder md, string path, int line, int endLine)
    {
        var lines = ReadLines(path);
        if (lines.Length == 0)
        {
            md.AppendLine("// (source not available)");
            return;
        }

        var from = Math.Max(1, line - ContextLines);
        var to = Math.Min(lines.Length, endLine + ContextLines);
        if (to - from > 2 * ContextLines + 12)
            to = Math.Min(lines.Length, line + ContextLines + 8); // a long construct: show its start only
        var width = to.ToString(CultureInfo.InvariantCulture).Length;
        for (var i = from; i <= to; i++)
        {
            var marker = i >= line && i <= endLine ? ">" : " ";
            md.Append(marker).Append(i.ToString(CultureInfo.InvariantCulture).PadLeft(width)).Append("  ").AppendLine(lines[i - 1].TrimEnd());
        }
    }

    private static string LineText(string path, int line)
    {
        var lines = ReadLines(path);
        return line >= 1 && line <= lines.Length ? lines[line - 1] : string.Empty;
    }

    private static readonly Dictionary<string, string[]> s_files = new(StringComparer.Ordinal);

    private static string[] ReadLines(string path)
    {
        if (!s_files.TryGetValue(path, out var lines))
        {
            lines = File.Exists(path) ? File.ReadAllLines(path) : Array.Empty<string>();
            s_files[path] = lines;
        }

        return lines;
    }

    private static string Seconds(double seconds) => seconds.ToString("F1", CultureInfo.InvariantCulture);

    private static string Milliseconds(double seconds) => (seconds * 1000).ToString("F0", CultureInfo.InvariantCulture);

    private static string FileVersion(Type type)
        => System.Diagnostics.FileVersionInfo.GetVersionInfo(type.Assembly.Location).FileVersion ?? "unknown";
}
