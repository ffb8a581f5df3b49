using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;

namespace MemSafety.Analyzers.Corpus;

/// <summary><c>--bench</c>: our analyzers under both presets, the peer packages, per-document latency, allocations,
/// scaling and the stress set, on the same compilations in one process; the budgets of issue 13 and docs/performance.md.</summary>
internal static class Benchmark
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static async Task<int> RunAsync(CorpusOptions options, TextWriter log)
    {
        var total = Stopwatch.StartNew();
        var frameworkFolder = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        if (RepositoryLayout.IsInside(options.CacheDirectory))
            throw new UsageException("--cache must be outside the repository");
        var root = RepositoryLayout.Root ?? throw new UsageException("--bench: cannot find the repository (MemSafety.Analyzers.sln) above " + AppContext.BaseDirectory);
        var analysis = new CorpusAnalysis(options, frameworkFolder);
        var ours = analysis.Analyzers;
        var configurations = new Configurations(root, options);

        // Units: third-party libraries first (they need the reference pack), then runtime assemblies.
        var sources = new List<Func<CorpusUnit?>>();
        var corpusParts = new List<string>();
        if (options.Corpus is CorpusKind.ThirdParty or CorpusKind.Both)
        {
            var listFile = options.ProjectsFile ?? RepositoryLayout.DefaultProjectsFile ?? throw new UsageException("cannot find the list file: give --projects");
            var framework = analysis.ReferencePackReferences(log);
            var thirdParty = new ThirdPartyCorpus(options, LibraryList.Load(listFile), framework, analysis.FrameworkGeneratorsFolder, log);
            var libraries = thirdParty.Selected();
            var missing = thirdParty.MissingPackages(libraries);
            if (missing.Count > 0 && options.Restore)
                thirdParty.RestorePackages(missing, log);
            foreach (var library in libraries)
            {
                sources.Add(() =>
                {
                    log.WriteLine($"== {library.Name}");
                    var unit = thirdParty.Prepare(library, log, out var reason);
                    if (unit is null)
                        log.WriteLine($"   SKIPPED {library.Name}: {reason}");
                    return unit;
                });
            }

            corpusParts.Add($"third-party libraries of {Path.GetFileName(listFile)} ({string.Join(", ", libraries.Select(l => l.Name))}) at their pinned commits");
        }

        if (options.Corpus is CorpusKind.Runtime or CorpusKind.Both)
        {
            var missing = options.Assemblies.Where(a => !analysis.HasFrameworkAssembly(a)).ToList();
            if (missing.Count > 0)
                throw new UsageException("not an assembly of " + frameworkFolder + ": " + string.Join(", ", missing));
            foreach (var name in options.Assemblies)
            {
                sources.Add(() =>
                {
                    log.WriteLine($"== {name}");
                    return analysis.RuntimeUnit(name, log);
                });
            }

            corpusParts.Add($"decompiled .NET {Environment.Version} runtime assemblies ({string.Join(", ", options.Assemblies)})");
        }

        var numbers = new BenchNumbers
        {
            Date = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm", Inv) + " UTC",
            Machine = $"{Environment.ProcessorCount} logical cores, {RuntimeInformation.OSDescription.Trim()}, {RuntimeInformation.OSArchitecture}, " +
                      $"{GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024 * 1024 * 1024.0):F0} GB",
            Command = "dotnet run --project tests/MemSafety.Analyzers.Corpus -c Release -- " + options.CommandLine,
            Corpus = string.Join("; ", corpusParts),
            Runtime = ".NET " + Environment.Version,
            Roslyn = PeerAnalyzers.ToolRoslyn.ToString(3),
            Note = options.Note,
            Repeat = options.Repeat,
        };

        // Peers.
        var peers = new List<LoadedPeer>();
        if (!options.Skip.Contains("peers"))
        {
            foreach (var package in PeerAnalyzers.All)
            {
                try
                {
                    var peer = PeerAnalyzers.Load(options.PackagesDirectory, package);
                    peers.Add(peer);
                    numbers.Peers.Add(new PeerNumbers { Name = package.Name, PackageId = package.PackageId, Version = package.Version, Folder = peer.Folder, Rules = peer.Descriptors.Count });
                    log.WriteLine($"peer {package.PackageId} {package.Version}: {peer.Analyzers.Length} analyzers, {peer.Descriptors.Count} ids, from {peer.Folder}");
                }
                catch (UsageException e)
                {
                    numbers.Peers.Add(new PeerNumbers { Name = package.Name, PackageId = package.PackageId, Version = package.Version, Error = e.Message });
                    log.WriteLine("peer NOT LOADED: " + e.Message);
                }
            }
        }

        var strictTimes = new Dictionary<string, double>(StringComparer.Ordinal);
        var recommendedTimes = new Dictionary<string, double>(StringComparer.Ordinal);
        var floorTimes = new Dictionary<string, double>(StringComparer.Ordinal);
        var peerTimes = peers.Select(_ => new Dictionary<string, double>(StringComparer.Ordinal)).ToList();
        var latencies = new List<double>();
        var baselineLatencies = new List<double>();
        var slowest = (Ms: -1.0, Name: "");
        var costliest = new List<DocumentLatency>();
        long allocatedWith = 0, allocatedWithout = 0;
        var warmedUp = false;
        foreach (var source in options.Skip.Contains("corpus") ? new List<Func<CorpusUnit?>>() : sources)
        {
            var unit = source();
            if (unit is null)
                continue;
            var measured = await MeasureUnitAsync(unit, ours, peers, configurations, options, warmUp: !warmedUp, log);
            warmedUp = true;
            numbers.Units.Add(measured.Unit);
            Add(strictTimes, measured.Strict);
            Add(recommendedTimes, measured.Recommended);
            if (measured.Floor is not null)
                Add(floorTimes, measured.Floor);
            for (var i = 0; i < peers.Count; i++)
            {
                Add(peerTimes[i], measured.Peers[i].Times);
                numbers.Peers.First(p => p.Name == peers[i].Package.Name).WallSeconds += measured.Peers[i].Wall;
                numbers.Peers.First(p => p.Name == peers[i].Package.Name).Crashes += measured.Peers[i].Crashes;
            }

            numbers.StrictWallSeconds += measured.StrictWall;
            numbers.RecommendedWallSeconds += measured.RecommendedWall;
            numbers.BaselineWallSeconds += measured.BaselineWall;
            numbers.FloorWallSeconds += measured.FloorWall;
            numbers.GeneratedCodeCheckSeconds += measured.GeneratedCodeCheck;
            allocatedWith += measured.AllocatedWith;
            allocatedWithout += measured.AllocatedWithout;
            latencies.AddRange(measured.Latencies.Select(l => l.Ms));
            baselineLatencies.AddRange(measured.Latencies.Select(l => l.BaselineMs));
            foreach (var l in measured.Latencies)
            {
                var document = unit.Name + ": " + Path.GetRelativePath(unit.SourceRoot, l.Path).Replace('\\', '/');
                if (l.Ms > slowest.Ms)
                    slowest = (l.Ms, document);
                costliest.Add(new DocumentLatency(document, l.Ms, l.BaselineMs, l.CallbackMs, l.Slowest));
            }

            numbers.Crashes.AddRange(measured.Crashes);
        }

        if (numbers.Units.Count == 0 && !options.Skip.Contains("corpus"))
            throw new UsageException("nothing to measure: every unit of the corpus was skipped");

        numbers.Strict.AddRange(Timings(ours, strictTimes));
        numbers.Recommended.AddRange(Timings(ours, recommendedTimes));
        numbers.Floor.AddRange(Timings(ours, floorTimes));
        for (var i = 0; i < peers.Count; i++)
            numbers.Peers.First(p => p.Name == peers[i].Package.Name).Analyzers.AddRange(Timings(peers[i].Analyzers, peerTimes[i]));
        if (!options.Skip.Contains("latency"))
        {
            numbers.DocumentMilliseconds = latencies.ToArray();
            numbers.BaselineDocumentMilliseconds = baselineLatencies.ToArray();
            numbers.SlowestDocument = slowest.Name;
            numbers.CostliestDocuments.AddRange(costliest.OrderByDescending(d => d.AddedMs).Take(CostliestShown));
        }

        if (!options.Skip.Contains("memory"))
        {
            numbers.AllocatedWithOurs = allocatedWith;
            numbers.AllocatedWithout = allocatedWithout;
        }

        if (!options.Skip.Contains("stress"))
        {
            log.WriteLine("== stress set");
            var scales = options.Smoke ? new[] { 0.025, 0.05, 0.1 } : new[] { 0.25, 0.5, 1.0 };
            numbers.Stress.AddRange(await StressSet.RunAsync(ours, configurations.For(Preset.Strict, netAnalyzers: false), analysis.FrameworkReferences, scales, log.WriteLine));
        }

        total.Stop();
        numbers.TotalWallSeconds = total.Elapsed.TotalSeconds;

        log.WriteLine();
        log.WriteLine(Summary(numbers));
        if (options.PagePath is not null)
        {
            var svgPath = Path.ChangeExtension(options.PagePath, ".svg");
            Directory.CreateDirectory(Path.GetDirectoryName(options.PagePath)!);
            File.WriteAllText(options.PagePath, BenchPage.Markdown(numbers, Path.GetFileName(svgPath)));
            File.WriteAllText(svgPath, BenchPage.Svg(numbers));
            log.WriteLine($"Page: {options.PagePath}; chart: {svgPath}");
        }

        return numbers.Crashes.Count > 0 ? 2 : 0;
    }

    /// <summary>The console summary: the budget table and the headline numbers.</summary>
    public static string Summary(BenchNumbers n)
    {
        var sb = new StringBuilder();
        var compile = n.CompileSeconds;
        sb.AppendLine(Inv, $"Corpus: {n.Units.Count} compilations, {n.Lines} lines; compile {compile:F2} s");
        sb.AppendLine(Inv, $"{"",-44} {"seconds",10} {"% compile",10}");
        foreach (var (family, seconds) in BenchNumbers.Families(n.Strict))
            sb.AppendLine(Inv, $"{"ours Strict " + BenchNumbers.FamilyName(family),-44} {seconds,10:F2} {BenchNumbers.Percent(seconds, compile),10}");
        sb.AppendLine(Inv, $"{"ours Strict (all)",-44} {n.StrictSeconds,10:F2} {BenchNumbers.Percent(n.StrictSeconds, compile),10}");
        sb.AppendLine(Inv, $"{"ours Recommended (all)",-44} {n.RecommendedSeconds,10:F2} {BenchNumbers.Percent(n.RecommendedSeconds, compile),10}");
        foreach (var p in n.Peers)
        {
            sb.AppendLine(p.Error is null
                ? string.Create(Inv, $"{"peer " + p.PackageId + " (all rules)",-44} {p.TotalSeconds,10:F2} {BenchNumbers.Percent(p.TotalSeconds, compile),10}")
                : $"peer {p.PackageId}: not run: {p.Error}");
        }

        if (n.DocumentMilliseconds is { Length: > 0 })
            sb.AppendLine(Inv, $"Per-document latency (ours, Strict): p50 {n.Percentile(50):F1} ms, p95 {n.Percentile(95):F1} ms, p99 {n.Percentile(99):F1} ms over {n.DocumentMilliseconds.Length} documents");
        if (n.AllocatedWithOurs is { } with && n.AllocatedWithout is { } without)
            sb.AppendLine(Inv, $"Allocated during analysis: {with / 1048576.0:F0} MB with ours, {without / 1048576.0:F0} MB without");
        sb.AppendLine();
        sb.AppendLine("Budget:");
        foreach (var check in Budget.Evaluate(n))
            sb.AppendLine($"  {check.Verdict}  {check.Name}: {check.Actual} (limit {check.Limit})");
        return sb.ToString();
    }

    private static void Add(Dictionary<string, double> into, Dictionary<string, double> from)
    {
        foreach (var (key, value) in from)
            into[key] = into.GetValueOrDefault(key) + value;
    }

    private static IEnumerable<AnalyzerTiming> Timings(ImmutableArray<DiagnosticAnalyzer> analyzers, Dictionary<string, double> times)
    {
        foreach (var analyzer in analyzers)
        {
            var key = Key(analyzer);
            if (times.TryGetValue(key, out var seconds))
                yield return new AnalyzerTiming(analyzer.GetType().Name, analyzer.SupportedDiagnostics.Select(d => d.Id).Distinct(StringComparer.Ordinal).ToList(), seconds);
        }
    }

    /// <summary>Analyzer types of different packages may share a simple name.</summary>
    private static string Key(DiagnosticAnalyzer analyzer) => DispatchFloor.FullNameOf(analyzer);

    private sealed record PeerRun(Dictionary<string, double> Times, double Wall, int Crashes);

    private sealed record UnitMeasurement(
        BenchUnit Unit,
        Dictionary<string, double> Strict,
        Dictionary<string, double> Recommended,
        Dictionary<string, double>? Floor,
        double StrictWall,
        double RecommendedWall,
        double BaselineWall,
        double FloorWall,
        double GeneratedCodeCheck,
        long AllocatedWith,
        long AllocatedWithout,
        List<PeerRun> Peers,
        List<(string Path, double Ms, double BaselineMs, double CallbackMs, IReadOnlyList<AnalyzerTiming> Slowest)> Latencies,
        List<string> Crashes);

    private static async Task<UnitMeasurement> MeasureUnitAsync(
        CorpusUnit unit, ImmutableArray<DiagnosticAnalyzer> ours, List<LoadedPeer> peers, Configurations configurations, CorpusOptions options, bool warmUp, TextWriter log)
    {
        var netAnalyzers = unit.Library is not null;
        var strict = configurations.For(Preset.Strict, netAnalyzers);
        var recommended = configurations.For(Preset.Recommended, netAnalyzers);

        var parsed = new SyntaxTree[unit.Files.Count];
        Parallel.For(0, unit.Files.Count, i =>
            parsed[i] = CSharpSyntaxTree.ParseText(SourceText.From(File.ReadAllText(unit.Files[i]), Encoding.UTF8), unit.ParseOptions, path: unit.Files[i]));
        var initial = parsed.Concat(unit.GeneratedSources.Select(g => CSharpSyntaxTree.ParseText(SourceText.From(g.Text, Encoding.UTF8), unit.ParseOptions, g.Path))).ToList();
        var lines = parsed.Sum(t => t.GetText().Lines.Count);

        // Generators once; each configuration is the same trees with other options.
        var generated = SourceGenerators.Run(
            CSharpCompilation.Create(unit.AssemblyName, initial, unit.References, unit.CompilationOptions),
            unit.Generators, unit.ParseOptions, strict.ProviderFor(initial), log, "generators");
        var trees = generated.SyntaxTrees.ToList();
        var strictCompilation = generated.WithOptions(strict.Apply(unit.CompilationOptions, trees));
        var recommendedCompilation = generated.WithOptions(recommended.Apply(unit.CompilationOptions, trees));
        var probeOnly = ImmutableArray.Create<DiagnosticAnalyzer>(new CorpusAnalysis.GeneratedCodeProbe());
        var peerConfigurations = peers.Select(configurations.EveryRuleOn).ToList();
        var peerCompilations = peers.Select((p, i) => generated.WithOptions(peerConfigurations[i].Apply(unit.CompilationOptions, trees))).ToList();
        var peerOptions = peerConfigurations.Select(c => Options(c, trees)).ToList();

        if (warmUp)
        {
            var stopwatch = Stopwatch.StartNew();
            var slice = SliceOf(trees, options.Smoke ? 3000 : 20000);
            await AnalyzeAsync(strictCompilation.RemoveAllSyntaxTrees().AddSyntaxTrees(slice), ours, Options(strict, slice), new List<string>());
            for (var i = 0; i < peers.Count; i++)
                await AnalyzeAsync(peerCompilations[i].RemoveAllSyntaxTrees().AddSyntaxTrees(slice), peers[i].Analyzers, peerOptions[i], null);
            log.WriteLine($"   warmed up on {slice.Count} files in {stopwatch.Elapsed.TotalSeconds:F1} s");
        }

        // Compile: a fresh clone each repetition (bound bodies are cached per compilation); the fastest.
        var compile = double.MaxValue;
        var errors = 0;
        for (var run = 0; run < options.Repeat; run++)
        {
            var target = strictCompilation.Clone();
            Collect();
            var stopwatch = Stopwatch.StartNew();
            var diagnostics = target.GetDiagnostics();
            compile = Math.Min(compile, stopwatch.Elapsed.TotalSeconds);
            errors = diagnostics.Count(d => d.Severity == DiagnosticSeverity.Error);
        }

        log.WriteLine($"   {unit.Files.Count} files, {lines} lines, {errors} compile errors; compile {compile:F2} s");

        // Analysis runs; each CompilationWithAnalyzers binds its own clone. Fastest per analyzer over the repetitions.
        var crashes = new List<string>();
        Dictionary<string, double>? strictTimes = null, recommendedTimes = null, floorTimes = null;
        var floor = options.Skip.Contains("floor") ? ImmutableArray<DiagnosticAnalyzer>.Empty : DispatchFloor.Wrap(ours);
        double strictWall = double.MaxValue, recommendedWall = double.MaxValue, baselineWall = double.MaxValue, floorWall = double.MaxValue, probe = double.MaxValue;
        long allocatedWith = long.MaxValue, allocatedWithout = long.MaxValue;
        var peerRuns = peers.Select(_ => (Times: (Dictionary<string, double>?)null, Wall: double.MaxValue, Crashes: 0)).ToList();
        for (var run = 0; run < options.Repeat; run++)
        {
            var baseline = await AnalyzeAsync(strictCompilation, probeOnly, Options(strict, trees), null);
            baselineWall = Math.Min(baselineWall, baseline.Wall);
            allocatedWithout = Math.Min(allocatedWithout, baseline.Allocated);

            var s = await AnalyzeAsync(strictCompilation, ours, Options(strict, trees), run == 0 ? crashes : null);
            strictTimes = Min(strictTimes, s.Times);
            strictWall = Math.Min(strictWall, s.Wall);
            probe = Math.Min(probe, s.Probe);
            allocatedWith = Math.Min(allocatedWith, s.Allocated);

            var r = await AnalyzeAsync(recommendedCompilation, ours, Options(recommended, trees), null);
            recommendedTimes = Min(recommendedTimes, r.Times);
            recommendedWall = Math.Min(recommendedWall, r.Wall);

            // The dispatch floor: the same registrations (Strict) with empty callbacks, what the driver charges
            // before any rule of ours does its own work.
            if (!floor.IsEmpty)
            {
                var f = await AnalyzeAsync(strictCompilation, floor, Options(strict, trees), null);
                floorTimes = Min(floorTimes, f.Times);
                floorWall = Math.Min(floorWall, f.Wall);
            }

            // Peers once: they take ten to fifty times our time, so a repetition would double the run for little precision.
            for (var i = 0; i < peers.Count && run == 0; i++)
            {
                var peerCrashes = new List<string>();
                var p = await AnalyzeAsync(peerCompilations[i], peers[i].Analyzers, peerOptions[i], peerCrashes);
                peerRuns[i] = (Min(peerRuns[i].Times, p.Times), Math.Min(peerRuns[i].Wall, p.Wall), run == 0 ? peerCrashes.Count : peerRuns[i].Crashes);
                if (run == 0 && peerCrashes.Count > 0)
                {
                    // A peer's exceptions are its own bugs, not ours: counted on the page, the first kinds shown here.
                    foreach (var kind in peerCrashes.Distinct(StringComparer.Ordinal).Take(3))
                        log.WriteLine($"   {peers[i].Package.Name} threw ({peerCrashes.Count} in all): {kind}");
                }
            }
        }

        // Recommended turns some rules off: the driver does not run an analyzer whose every id is suppressed.
        var recommendedRan = ours.Where(a => a.SupportedDiagnostics.Any(d => IsOn(recommendedCompilation, d))).Select(Key).ToHashSet(StringComparer.Ordinal);
        recommendedTimes = recommendedTimes!.Where(p => recommendedRan.Contains(p.Key)).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);

        var oursStrict = strictTimes!.Values.Sum();
        log.WriteLine($"   ours Strict {oursStrict:F2} s = {CorpusAnalysis.Ratio(oursStrict, compile)} of compile, Recommended {recommendedTimes.Values.Sum():F2} s; " +
                      string.Join(", ", peers.Select((p, i) => $"{p.Package.Name} {peerRuns[i].Times!.Values.Sum():F2} s")));

        var latencies = new List<(string, double, double, double, IReadOnlyList<AnalyzerTiming>)>();
        if (!options.Skip.Contains("latency"))
        {
            // Ours, and the same call with only a no-op operation analyzer (on a compilation of its own): what any
            // operation analyzer pays for the document (binding its bodies, building IOperation trees, the driver).
            var withOurs = strictCompilation.WithAnalyzers(ours, Options(strict, trees, crashes: null));
            var withNoOp = strictCompilation.WithAnalyzers(ImmutableArray.Create<DiagnosticAnalyzer>(new CorpusAnalysis.NoOpOperationAnalyzer()), Options(strict, trees, crashes: null));
            // Each call is expensive, even with a no-op analyzer (seconds per document of a small assembly on a loaded
            // machine), so every document of a large compilation would take hours: a fixed, evenly spread sample.
            foreach (var tree in LatencySample(trees, options.LatencyDocuments))
            {
                var baseline = await DocumentMillisecondsAsync(withNoOp, tree);
                // Each analyzer's telemetry before and after the call: which of ours the document's time went to.
                var before = await TelemetrySecondsAsync(withOurs, ours);
                var oursMs = await DocumentMillisecondsAsync(withOurs, tree);
                var after = await TelemetrySecondsAsync(withOurs, ours);
                var spent = ours.Select((a, i) => new AnalyzerTiming(a.GetType().Name, a.SupportedDiagnostics.Select(d => d.Id).Distinct(StringComparer.Ordinal).ToList(), after[i] - before[i]))
                    .OrderByDescending(t => t.Seconds).ToList();
                latencies.Add((tree.FilePath, oursMs, baseline, spent.Sum(t => t.Seconds) * 1000, spent.Take(3).ToList()));
            }

            var sorted = latencies.Select(l => l.Item2).Order().ToList();
            log.WriteLine($"   per document: p50 {sorted[sorted.Count / 2]:F1} ms, max {sorted[^1]:F1} ms (driver with a no-op analyzer: max {latencies.Max(l => l.Item3):F1} ms)");
        }

        foreach (var crash in crashes)
            log.WriteLine("   !!! " + crash);
        return new UnitMeasurement(
            new BenchUnit(unit.Name, unit.Files.Count, lines, compile, errors, oursStrict, recommendedTimes.Values.Sum()),
            strictTimes, recommendedTimes, floorTimes, strictWall, recommendedWall, baselineWall, floorTimes is null ? 0 : floorWall, probe, allocatedWith, allocatedWithout,
            peerRuns.Select(p => new PeerRun(p.Times!, p.Wall, p.Crashes)).ToList(),
            latencies,
            crashes.Select(c => unit.Name + ": " + c).ToList());
    }

    /// <summary>At most <paramref name="count"/> documents, evenly spread over the compilation's (first, then every
    /// k-th), the same ones every run.</summary>
    internal static List<SyntaxTree> LatencySample(IReadOnlyList<SyntaxTree> trees, int count)
    {
        if (count <= 0 || trees.Count <= count)
            return trees.ToList();
        var sample = new List<SyntaxTree>(count);
        for (var i = 0; i < count; i++)
            sample.Add(trees[(int)((long)i * trees.Count / count)]);
        return sample;
    }

    /// <summary>One document's semantic analysis, as the IDE asks for it, the document's compiler diagnostics computed
    /// first (untimed).</summary>
    private static async Task<double> DocumentMillisecondsAsync(CompilationWithAnalyzers withAnalyzers, SyntaxTree tree)
    {
        var model = withAnalyzers.Compilation.GetSemanticModel(tree);
        model.GetDiagnostics();
        var stopwatch = Stopwatch.StartNew();
        await withAnalyzers.GetAnalyzerSemanticDiagnosticsAsync(model, null, CancellationToken.None);
        return stopwatch.Elapsed.TotalMilliseconds;
    }

    /// <summary>How many of the documents where ours add the most the page shows.</summary>
    private const int CostliestShown = 5;

    /// <summary>Each analyzer's execution time so far on <paramref name="withAnalyzers"/>, in the order given.</summary>
    private static async Task<double[]> TelemetrySecondsAsync(CompilationWithAnalyzers withAnalyzers, ImmutableArray<DiagnosticAnalyzer> analyzers)
    {
        var seconds = new double[analyzers.Length];
        for (var i = 0; i < analyzers.Length; i++)
            seconds[i] = (await withAnalyzers.GetAnalyzerTelemetryInfoAsync(analyzers[i], CancellationToken.None)).ExecutionTime.TotalSeconds;
        return seconds;
    }

    private static bool IsOn(Compilation compilation, DiagnosticDescriptor descriptor)
    {
        if (compilation.Options.SyntaxTreeOptionsProvider is { } provider)
        {
            if (provider.TryGetGlobalDiagnosticValue(descriptor.Id, CancellationToken.None, out var global) && global != ReportDiagnostic.Default)
                return global != ReportDiagnostic.Suppress;
            foreach (var tree in compilation.SyntaxTrees.Take(1))
            {
                if (provider.TryGetDiagnosticValue(tree, descriptor.Id, CancellationToken.None, out var severity) && severity != ReportDiagnostic.Default)
                    return severity != ReportDiagnostic.Suppress;
            }
        }

        if (compilation.Options.SpecificDiagnosticOptions.TryGetValue(descriptor.Id, out var specific) && specific != ReportDiagnostic.Default)
            return specific != ReportDiagnostic.Suppress;
        return descriptor.IsEnabledByDefault;
    }

    private static List<SyntaxTree> SliceOf(List<SyntaxTree> trees, int maxLines)
    {
        var slice = new List<SyntaxTree>();
        var lines = 0;
        foreach (var tree in trees)
        {
            if (lines > maxLines)
                break;
            slice.Add(tree);
            lines += tree.GetText().Lines.Count;
        }

        return slice;
    }

    private static Dictionary<string, double> Min(Dictionary<string, double>? so, Dictionary<string, double> now)
    {
        if (so is null)
            return now;
        foreach (var (key, value) in now)
            so[key] = so.TryGetValue(key, out var old) ? Math.Min(old, value) : value;
        return so;
    }

    private static AnalyzerOptions Options(AnalyzerConfiguration configuration, IReadOnlyList<SyntaxTree> trees)
        => new(ImmutableArray<AdditionalText>.Empty, configuration.ProviderFor(trees));

    private static CompilationWithAnalyzersOptions Options(AnalyzerConfiguration configuration, IReadOnlyList<SyntaxTree> trees, List<string>? crashes)
        => WithAnalyzersOptions(Options(configuration, trees), crashes);

    private static CompilationWithAnalyzersOptions WithAnalyzersOptions(AnalyzerOptions options, List<string>? crashes)
        => new(
            options,
            onAnalyzerException: (exception, analyzer, diagnostic) =>
            {
                if (crashes is null)
                    return;
                lock (crashes)
                    crashes.Add($"AD0001 {analyzer.GetType().FullName}: {exception.GetType().Name}: {exception.Message.Split('\n')[0]}" +
                                (Environment.GetEnvironmentVariable("MEMSAFETY_BENCH_STACKS") == "1" ? Environment.NewLine + exception : ""));
            },
            concurrentAnalysis: true,
            logAnalyzerExecutionTime: true,
            reportSuppressedDiagnostics: false);

    private sealed record RunResult(Dictionary<string, double> Times, double Wall, double Probe, long Allocated);

    /// <summary>One timed run (with the generated-code probe first in line, so no analyzer pays the driver's check).</summary>
    private static async Task<RunResult> AnalyzeAsync(Compilation compilation, ImmutableArray<DiagnosticAnalyzer> analyzers, AnalyzerOptions options, List<string>? crashes)
    {
        var probe = new CorpusAnalysis.GeneratedCodeProbe();
        var withAnalyzers = compilation.WithAnalyzers(analyzers.Insert(0, probe), WithAnalyzersOptions(options, crashes));
        Collect();
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var stopwatch = Stopwatch.StartNew();
        await withAnalyzers.GetAnalyzerDiagnosticsAsync(CancellationToken.None);
        var wall = stopwatch.Elapsed.TotalSeconds;
        allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        var times = new Dictionary<string, double>(StringComparer.Ordinal);
        var seconds = await TelemetrySecondsAsync(withAnalyzers, analyzers);
        for (var i = 0; i < analyzers.Length; i++)
        {
            if (analyzers[i] is not CorpusAnalysis.GeneratedCodeProbe)
                times[Key(analyzers[i])] = seconds[i];
        }

        var probeSeconds = (await withAnalyzers.GetAnalyzerTelemetryInfoAsync(probe, CancellationToken.None)).ExecutionTime.TotalSeconds;
        return new RunResult(times, wall, probeSeconds, allocated);
    }

    private static void Collect()
    {
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
    }

    internal enum Preset
    {
        Strict,
        Recommended,
    }

    /// <summary>The two presets as a consumer build applies them, with and without the SDK analyzers present
    /// (third-party libraries target .NET 5+, where the package's targets tell our rules so; see CorpusAnalysis).</summary>
    private sealed class Configurations
    {
        private readonly string _root;
        private readonly CorpusOptions _options;
        private readonly Dictionary<(Preset, bool), AnalyzerConfiguration> _cache = new();

        public Configurations(string root, CorpusOptions options)
        {
            _root = root;
            _options = options;
        }

        public AnalyzerConfiguration For(Preset preset, bool netAnalyzers)
        {
            if (_cache.TryGetValue((preset, netAnalyzers), out var configuration))
                return configuration;
            var analyzerOptions = new SortedDictionary<string, string>(_options.AnalyzerOptions, StringComparer.OrdinalIgnoreCase);
            if (netAnalyzers && !analyzerOptions.ContainsKey(MemSafety.Analyzers.Core.SdkRules.NetAnalyzersProperty))
                analyzerOptions[MemSafety.Analyzers.Core.SdkRules.NetAnalyzersProperty] = "true";
            configuration = new AnalyzerConfiguration(
                Path.Combine(_root, "build", "MemSafety." + preset + ".globalconfig"), analyzerOptions, ImmutableDictionary<string, ReportDiagnostic>.Empty);
            _cache[(preset, netAnalyzers)] = configuration;
            return configuration;
        }

        /// <summary>Every rule of a peer package on, through a global config as a consumer would write it (what
        /// <c>AnalysisMode=All</c> does for the SDK's rules): each id at its default severity, or as a warning where that
        /// is hidden or the rule is off by default. A real build always has a syntax-tree options provider, and some
        /// peers (SonarAnalyzer) ask it for each rule's severity, so the severities go there, not into the
        /// compilation's specific options.</summary>
        public AnalyzerConfiguration EveryRuleOn(LoadedPeer peer)
        {
            var text = new StringBuilder("is_global = true\n");
            foreach (var d in peer.Descriptors)
                text.Append("dotnet_diagnostic.").Append(d.Id).Append(".severity = ").Append(d.DefaultSeverity == DiagnosticSeverity.Error ? "error" : "warning").Append('\n');
            var folder = Path.Combine(_options.CacheDirectory, "bench");
            Directory.CreateDirectory(folder);
            var path = Path.Combine(folder, peer.Package.Name + ".globalconfig");
            File.WriteAllText(path, text.ToString());
            return new AnalyzerConfiguration(path, new SortedDictionary<string, string>(), ImmutableDictionary<string, ReportDiagnostic>.Empty);
        }
    }
}
