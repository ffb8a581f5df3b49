using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Runtime;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;

namespace MemSafety.Analyzers.Corpus;

/// <summary>A diagnostic of our analyzers, reduced to what the report needs (the compilation is dropped
/// after each assembly to keep memory flat).</summary>
internal sealed record Finding(
    string Assembly,
    string Id,
    string Severity,
    string FullPath,
    string DisplayPath,
    int Line,
    int Column,
    int EndLine,
    int EndColumn,
    string Message,
    string Member,
    ImmutableArray<FindingLocation> AdditionalLocations);

internal sealed record FindingLocation(string FullPath, string DisplayPath, int Line, int EndLine);

/// <summary>An analyzer exception: the severity-1 bug the tool exists to catch first. <paramref name="Analyzer"/>
/// carries the build's label when a run compares two builds.</summary>
internal sealed record AnalyzerCrash(string Assembly, string Analyzer, string Detail, string? Location);

/// <summary>One compilation to analyse: a decompiled runtime assembly or a third-party library.</summary>
internal sealed class CorpusUnit
{
    public required string Name { get; init; }
    public required string AssemblyName { get; init; }

    /// <summary>Paths in the report are relative to it (the decompiled folder, or the library's repository root).</summary>
    public required string SourceRoot { get; init; }
    public required IReadOnlyList<string> Files { get; init; }
    public required CSharpParseOptions ParseOptions { get; init; }

    /// <summary>Sources the build would generate (global usings), compiled but not on disk.</summary>
    public IReadOnlyList<(string Path, string Text)> GeneratedSources { get; init; } = Array.Empty<(string, string)>();
    public required IReadOnlyList<MetadataReference> References { get; init; }
    public required CSharpCompilationOptions CompilationOptions { get; init; }

    /// <summary>Source generators the real build runs (third-party only; decompiled code holds their output).</summary>
    public IReadOnlyList<ISourceGenerator> Generators { get; init; } = Array.Empty<ISourceGenerator>();

    /// <summary>Decompile or extract time; 0 on a cache hit.</summary>
    public double PrepareSeconds { get; init; }
    public LibraryInfo? Library { get; init; }
}

internal sealed class AssemblyResult
{
    public required string Name { get; init; }

    /// <summary>Label of the analyzer build these analyzer times and counts are of.</summary>
    public required string Build { get; init; }
    public required string SourceFolder { get; init; }
    public LibraryInfo? Library { get; init; }
    public int Files { get; set; }
    public int Lines { get; set; }
    public int FilesWithErrors { get; set; }
    public double PrepareSeconds { get; set; }
    public double ParseSeconds { get; set; }
    public double ReferenceSeconds { get; set; }
    public double CompileSeconds { get; set; }
    public double CompileCpuSeconds { get; set; }
    public int CompileErrors { get; set; }
    public int CompileWarnings { get; set; }
    public List<(string Id, int Count, string Example)> TopErrors { get; } = new();
    public double AnalyzerWallSeconds { get; set; }
    public double AnalyzerCpuSeconds { get; set; }
    public double BaselineCpuSeconds { get; set; }
    public Dictionary<string, double> AnalyzerSeconds { get; } = new(StringComparer.Ordinal);
    public double AnalyzerSecondsTotal => AnalyzerSeconds.Values.Sum();

    /// <summary>Execution time of <see cref="CorpusAnalysis.GeneratedCodeProbe"/>: the driver's generated-code check of
    /// every file (the first report in a file pays it), kept out of <see cref="AnalyzerSeconds"/>.</summary>
    public double GeneratedCodeCheckSeconds { get; set; }
    public Dictionary<string, int> IdCounts { get; } = new(StringComparer.Ordinal);
    public long PeakWorkingSetBytes { get; set; }

    /// <summary>A result of the same compilation for another analyzer build: everything up to the analysis.</summary>
    public AssemblyResult CopyCompilePart(string? build = null)
    {
        var copy = new AssemblyResult
        {
            Name = Name,
            Build = build ?? Build,
            SourceFolder = SourceFolder,
            Library = Library,
            Files = Files,
            Lines = Lines,
            FilesWithErrors = FilesWithErrors,
            PrepareSeconds = PrepareSeconds,
            ParseSeconds = ParseSeconds,
            ReferenceSeconds = ReferenceSeconds,
            CompileSeconds = CompileSeconds,
            CompileCpuSeconds = CompileCpuSeconds,
            CompileErrors = CompileErrors,
            CompileWarnings = CompileWarnings,
        };
        copy.TopErrors.AddRange(TopErrors);
        return copy;
    }
}

/// <summary>Compiles decompiled sources and runs every MemSafety analyzer on them.</summary>
internal sealed class CorpusAnalysis
{
    private readonly CorpusOptions _options;
    private readonly string _frameworkFolder;
    private readonly Dictionary<string, MetadataReference> _frameworkReferences;
    private readonly ConcurrentQueue<AnalyzerCrash> _crashes = new();
    private readonly List<string> _assembliesWithCode = new();
    private readonly AnalyzerConfiguration _configuration;

    public CorpusAnalysis(CorpusOptions options, string frameworkFolder)
    {
        _options = options;
        _frameworkFolder = frameworkFolder;
        _frameworkReferences = LoadFrameworkReferences(frameworkFolder);
        // The build whose findings the report lists comes first; the one it is compared with second.
        var builds = new List<AnalyzerBuild>
        {
            options.AnalyzerAssembly is null
                ? AnalyzerBuild.Referenced(AfterLabel, options.RunOnly, options.Floor && !options.Bench)
                : AnalyzerBuild.Load(options.AnalyzerAssembly, AfterLabel, options.RunOnly, options.Floor && !options.Bench),
        };
        if (options.CompareAssembly is not null)
            builds.Add(AnalyzerBuild.Load(options.CompareAssembly, BeforeLabel, options.RunOnly, options.Floor && !options.Bench));
        Builds = builds;
        var descriptors = new Dictionary<string, DiagnosticDescriptor>(StringComparer.Ordinal);
        foreach (var build in builds)
        {
            foreach (var pair in build.Descriptors)
                descriptors.TryAdd(pair.Key, pair.Value);
        }

        Descriptors = descriptors;
        var specific = ImmutableDictionary.CreateBuilder<string, ReportDiagnostic>(StringComparer.Ordinal);
        foreach (var id in options.Enable)
        {
            if (!Descriptors.TryGetValue(id, out var descriptor))
                throw new UsageException("--enable " + id + ": no analyzer reports that id");
            specific[descriptor.Id] = descriptor.DefaultSeverity switch
            {
                DiagnosticSeverity.Error => ReportDiagnostic.Error,
                DiagnosticSeverity.Warning => ReportDiagnostic.Warn,
                DiagnosticSeverity.Info => ReportDiagnostic.Info,
                _ => ReportDiagnostic.Hidden,
            };
        }

        string? presetPath = null;
        if (options.Preset is not null)
        {
            var root = RepositoryLayout.Root ?? throw new UsageException("--preset: cannot find the repository (MemSafety.Analyzers.sln) above " + AppContext.BaseDirectory);
            presetPath = Path.Combine(root, "build", "MemSafety." + options.Preset + ".globalconfig");
            if (!File.Exists(presetPath))
                throw new UsageException("--preset: no " + presetPath);
        }

        // Every library of the third-party list targets .NET 5 or later, where the SDK runs its own analyzers by
        // default and the package's targets tell ours so (MemSafetyNetAnalyzers): MSA1004/1005/1008/4001 then leave
        // the nodes CA1846/1861/1825/1821 report to them, as in the library's real build. --option overrides it.
        var analyzerOptions = new SortedDictionary<string, string>(options.AnalyzerOptions, StringComparer.OrdinalIgnoreCase);
        if (options.Corpus == CorpusKind.ThirdParty && !analyzerOptions.ContainsKey(SdkRules.NetAnalyzersProperty))
            analyzerOptions[SdkRules.NetAnalyzersProperty] = "true";
        _configuration = new AnalyzerConfiguration(presetPath, analyzerOptions, specific.ToImmutable());
    }

    public AnalyzerConfiguration Configuration => _configuration;

    /// <summary>Label of the build the report lists findings of (the referenced project, or <c>--analyzer-assembly</c>).</summary>
    public const string AfterLabel = "after";

    /// <summary>Label of the build given with <c>--compare</c>.</summary>
    public const string BeforeLabel = "before";

    /// <summary>The analyzer builds the run uses: the one reported on first, then the one of <c>--compare</c>.</summary>
    public IReadOnlyList<AnalyzerBuild> Builds { get; }

    /// <summary>The analyzers of the build reported on.</summary>
    public ImmutableArray<DiagnosticAnalyzer> Analyzers => Builds[0].Analyzers;

    /// <summary>Every id any build reports (the first build's descriptor where both have it).</summary>
    public IReadOnlyDictionary<string, DiagnosticDescriptor> Descriptors { get; }

    public IReadOnlyCollection<AnalyzerCrash> Crashes => _crashes;

    public string FrameworkFolder => _frameworkFolder;

    public bool HasFrameworkAssembly(string name) => _frameworkReferences.ContainsKey(name);

    /// <summary>Every managed assembly of the shared framework folder, as references (the benchmark's stress set).</summary>
    public IReadOnlyList<MetadataReference> FrameworkReferences => _frameworkReferences.Values.ToList();

    /// <summary>What <c>--assemblies all</c> means: every framework assembly that defines types, except
    /// System.Private.CoreLib (about a million decompiled lines; name it explicitly to include it).</summary>
    public IEnumerable<string> AllAssembliesWithCode()
        => _assembliesWithCode.Where(n => !string.Equals(n, "System.Private.CoreLib", StringComparison.OrdinalIgnoreCase));

    /// <summary>Every managed assembly of the shared framework folder (facades included, as a real
    /// compilation against the implementation assemblies would see them).</summary>
    private Dictionary<string, MetadataReference> LoadFrameworkReferences(string folder)
    {
        var references = new Dictionary<string, MetadataReference>(StringComparer.OrdinalIgnoreCase);
        foreach (var path in Directory.GetFiles(folder, "*.dll").OrderBy(p => p, StringComparer.Ordinal))
        {
            try
            {
                using var stream = File.OpenRead(path);
                using var pe = new PEReader(stream);
                if (!pe.HasMetadata || !pe.GetMetadataReader().IsAssembly)
                    continue;
                // Facades define no type but <Module>; they are references, not code to analyse.
                if (pe.GetMetadataReader().TypeDefinitions.Count > 1)
                    _assembliesWithCode.Add(Path.GetFileNameWithoutExtension(path));
            }
            catch (BadImageFormatException)
            {
                continue;
            }

            references[Path.GetFileNameWithoutExtension(path)] = MetadataReference.CreateFromFile(path);
        }

        return references;
    }

    /// <summary>The reference assemblies of the targeting pack that matches the running runtime
    /// (packs/Microsoft.NETCore.App.Ref/&lt;version&gt;/ref/net&lt;major&gt;.0), what a consumer's build compiles
    /// against; the implementation assemblies when no pack is installed.</summary>
    public IReadOnlyList<MetadataReference> ReferencePackReferences(TextWriter log)
    {
        var version = Path.GetFileName(_frameworkFolder.TrimEnd(Path.DirectorySeparatorChar));
        var dotnetRoot = Path.GetFullPath(Path.Combine(_frameworkFolder, "..", "..", ".."));
        var packs = Path.Combine(dotnetRoot, "packs", "Microsoft.NETCore.App.Ref");
        var tfm = "net" + Environment.Version.Major + ".0";
        var candidates = Directory.Exists(packs)
            ? Directory.GetDirectories(packs)
                .Where(d => Path.GetFileName(d).StartsWith(Environment.Version.Major + ".", StringComparison.Ordinal) && Directory.Exists(Path.Combine(d, "ref", tfm)))
                .OrderByDescending(d => Path.GetFileName(d) == version)
                .ThenByDescending(d => Version.TryParse(Path.GetFileName(d).Split('-')[0], out var v) ? v : new Version())
                .ToList()
            : new List<string>();
        if (candidates.Count == 0)
        {
            log.WriteLine($"note: no {packs}/*/ref/{tfm}: compiling against the implementation assemblies of {_frameworkFolder}");
            ReferenceAssembliesFolder = _frameworkFolder;
            return _frameworkReferences.Values.ToList();
        }

        ReferenceAssembliesFolder = Path.Combine(candidates[0], "ref", tfm);
        FrameworkGeneratorsFolder = Path.Combine(candidates[0], "analyzers", "dotnet", "cs");
        return Directory.GetFiles(ReferenceAssembliesFolder, "*.dll").Order(StringComparer.Ordinal)
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToList();
    }

    /// <summary>Where the third-party libraries' framework references came from (for the report).</summary>
    public string? ReferenceAssembliesFolder { get; private set; }

    /// <summary>The targeting pack's source generators (analyzers/dotnet/cs), which every build against it runs.</summary>
    public string? FrameworkGeneratorsFolder { get; private set; }

    private static CSharpParseOptions RuntimeParseOptions { get; } =
        new(LanguageVersion.Latest, DocumentationMode.None, SourceCodeKind.Regular);

    /// <summary>A runtime assembly, decompiled (or reused from the cache), compiled against every other
    /// assembly of the framework folder.</summary>
    public CorpusUnit RuntimeUnit(string name, TextWriter log)
    {
        var assemblyPath = Path.Combine(_frameworkFolder, name + ".dll");
        var sourceFolder = Decompilation.EnsureDecompiled(assemblyPath, _options.CacheDirectory, out var decompileSeconds);
        log.WriteLine(decompileSeconds > 0
            ? $"   decompiled in {decompileSeconds:F1} s into {sourceFolder}"
            : $"   decompiled sources reused from {sourceFolder}");
        var files = Directory.GetFiles(sourceFolder, "*.cs", SearchOption.AllDirectories);
        Array.Sort(files, StringComparer.Ordinal);
        return new CorpusUnit
        {
            Name = name,
            AssemblyName = name,
            SourceRoot = sourceFolder,
            Files = files,
            ParseOptions = RuntimeParseOptions,
            References = _frameworkReferences
                .Where(pair => !string.Equals(pair.Key, name, StringComparison.OrdinalIgnoreCase))
                .Select(pair => pair.Value)
                .ToList(),
            CompilationOptions = new CSharpCompilationOptions(
                OutputKind.DynamicallyLinkedLibrary,
                allowUnsafe: true,
                nullableContextOptions: (_options.Nullable ?? true) ? NullableContextOptions.Enable : NullableContextOptions.Disable,
                concurrentBuild: true,
                deterministic: true),
            PrepareSeconds = decompileSeconds,
        };
    }

    private CSharpCompilation CreateCompilation(CorpusUnit unit, IReadOnlyList<SyntaxTree> trees)
        => CSharpCompilation.Create(unit.AssemblyName, trees, unit.References, _configuration.Apply(unit.CompilationOptions, trees));

    /// <summary>Options of one analyzer run. Only the run whose findings are kept records exceptions, so a
    /// crash is reported once however many times the assembly is analysed.</summary>
    private CompilationWithAnalyzersOptions AnalyzerOptionsFor(string assembly, string sourceFolder, IReadOnlyList<SyntaxTree> trees, bool recordCrashes, string buildTag = "")
        => new(
            new AnalyzerOptions(ImmutableArray<AdditionalText>.Empty, _configuration.ProviderFor(trees)),
            onAnalyzerException: (exception, analyzer, diagnostic) =>
            {
                if (!recordCrashes)
                    return;
                var crash = new AnalyzerCrash(
                    assembly,
                    buildTag + (analyzer.GetType().FullName ?? analyzer.GetType().Name),
                    exception.ToString() + Environment.NewLine + Environment.NewLine + "AD0001: " + diagnostic.GetMessage(),
                    Describe(diagnostic.Location, sourceFolder));
                _crashes.Enqueue(crash);
                Console.Error.WriteLine($"!!! ANALYZER EXCEPTION: {crash.Analyzer} in {assembly} at {crash.Location}:");
                Console.Error.WriteLine(exception.ToString());
            },
            concurrentAnalysis: true,
            logAnalyzerExecutionTime: true,
            reportSuppressedDiagnostics: false);

    /// <summary>Compiles one unit, runs the analyzers and returns the numbers and findings. Nothing of the
    /// compilation survives the call. With <paramref name="warmUp"/>, first compiles and analyses a slice of
    /// the unit untimed, so JIT compilation of Roslyn and the analyzers does not land in the first unit's timings.</summary>
    public async Task<List<(AssemblyResult Result, List<Finding> Findings)>> AnalyzeAsync(CorpusUnit unit, bool warmUp, TextWriter log)
    {
        var name = unit.Name;
        var sourceFolder = unit.SourceRoot;
        var result = new AssemblyResult { Name = name, Build = Builds[0].Label, SourceFolder = sourceFolder, PrepareSeconds = unit.PrepareSeconds, Library = unit.Library };

        // Parse.
        var files = unit.Files;
        var stopwatch = Stopwatch.StartNew();
        var parsed = new SyntaxTree[files.Count];
        Parallel.For(0, files.Count, i =>
        {
            var text = SourceText.From(File.ReadAllText(files[i]), Encoding.UTF8);
            parsed[i] = CSharpSyntaxTree.ParseText(text, unit.ParseOptions, path: files[i]);
        });
        var trees = parsed.Concat(unit.GeneratedSources.Select(g => CSharpSyntaxTree.ParseText(SourceText.From(g.Text, Encoding.UTF8), unit.ParseOptions, g.Path))).ToList();
        result.ParseSeconds = stopwatch.Elapsed.TotalSeconds;
        result.Files = files.Count;
        result.Lines = parsed.Sum(t => t.GetText().Lines.Count);

        if (warmUp && !_options.CompileOnly)
        {
            stopwatch.Restart();
            var slice = new List<SyntaxTree>();
            var lines = 0;
            foreach (var tree in trees)
            {
                if (lines > WarmUpLines)
                    break;
                slice.Add(tree);
                lines += tree.GetText().Lines.Count;
            }

            var warm = SourceGenerators.Run(CreateCompilation(unit, slice), unit.Generators, unit.ParseOptions, _configuration.ProviderFor(slice), TextWriter.Null, "warm-up");
            warm.GetDiagnostics();
            foreach (var build in Builds)
                await warm.WithAnalyzers(build.Analyzers, AnalyzerOptionsFor(name, sourceFolder, slice, recordCrashes: false, BuildTag(build))).GetAnalyzerDiagnosticsAsync(CancellationToken.None);
            log.WriteLine($"   warmed up on {slice.Count} files ({lines} lines) in {stopwatch.Elapsed.TotalSeconds:F1} s");
        }

        // References: binding the ~160 framework assemblies, once per compilation (clones share it).
        var compilation = SourceGenerators.Run(CreateCompilation(unit, trees), unit.Generators, unit.ParseOptions, _configuration.ProviderFor(trees), log, "generators");
        trees = compilation.SyntaxTrees.ToList();
        Collect();
        stopwatch.Restart();
        compilation.GetSpecialType(SpecialType.System_Object);
        result.ReferenceSeconds = stopwatch.Elapsed.TotalSeconds;

        // Compile: the compiler's own diagnostics, i.e. declaration and method-body binding and flow analysis.
        // Repetitions bind a fresh clone (bound bodies are cached per compilation) and keep the fastest.
        var compile = double.MaxValue;
        var compileCpu = double.MaxValue;
        for (var run = 0; run < _options.Repeat; run++)
        {
            var target = run == 0 ? compilation : compilation.Clone();
            Collect();
            var cpu = CpuSeconds();
            stopwatch.Restart();
            var compilerDiagnostics = target.GetDiagnostics();
            compile = Math.Min(compile, stopwatch.Elapsed.TotalSeconds);
            compileCpu = Math.Min(compileCpu, CpuSeconds() - cpu);
            if (run == 0)
            {
                var errors = compilerDiagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
                result.CompileErrors = errors.Count;
                result.FilesWithErrors = errors.Select(d => d.Location.SourceTree?.FilePath).Where(p => p is not null).Distinct(StringComparer.Ordinal).Count();
                result.CompileWarnings = compilerDiagnostics.Count(d => d.Severity == DiagnosticSeverity.Warning);
                foreach (var group in errors.GroupBy(d => d.Id).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).Take(_options.CompileOnly ? 30 : 8))
                    result.TopErrors.Add((group.Key, group.Count(), Describe(group.First().Location, sourceFolder) + ": " + group.First().GetMessage()));
            }
        }

        result.CompileSeconds = compile;
        result.CompileCpuSeconds = compileCpu;
        log.WriteLine($"   {result.Files} files, {result.Lines} lines, {result.CompileErrors} compile errors in {result.FilesWithErrors} files; " +
                      $"references {result.ReferenceSeconds:F1} s, compile {result.CompileSeconds:F1} s");

        if (_options.CompileOnly)
        {
            foreach (var (id, count, example) in result.TopErrors)
                log.WriteLine($"     {id} × {count}, e.g. {example}");
            return new List<(AssemblyResult, List<Finding>)> { (result, new List<Finding>()) };
        }

        // Analyze. CompilationWithAnalyzers works on its own clone of the compilation, so each run binds
        // everything again (to produce compilation events) and runs every analyzer callback. Findings and
        // exceptions come from the first run; times are the fastest of the runs, per analyzer.
        // Baseline: the same driver with one analyzer that registers operation actions and does nothing.
        // That pays for what any build with operation analyzers pays (compilation events, IOperation trees),
        // so Driver CPU minus this is what our analyzers themselves add. Baseline and real runs alternate
        // (and swap order every run) so that neither profits more from the JIT tiering up meanwhile; with two
        // analyzer builds (--compare) both analyse the same compilation, in alternating order too.
        var builds = Builds;
        var outcomes = new List<(AssemblyResult Result, List<Finding> Findings)>(builds.Count);
        foreach (var build in builds)
        {
            var copy = result.CopyCompilePart(build.Label);
            outcomes.Add((copy, new List<Finding>()));
        }

        var crashesBefore = _crashes.Count;
        var baselineCpu = double.MaxValue;
        for (var run = 0; run < _options.Repeat; run++)
        {
            if (run % 2 == 0)
                baselineCpu = Math.Min(baselineCpu, await BaselineCpuAsync(compilation, name, sourceFolder, trees));
            for (var k = 0; k < builds.Count; k++)
            {
                var index = run % 2 == 0 ? k : builds.Count - 1 - k;
                await AnalyzeOnceAsync(compilation, unit, trees, builds[index], run, outcomes[index].Result, outcomes[index].Findings);
            }

            if (run % 2 == 1)
                baselineCpu = Math.Min(baselineCpu, await BaselineCpuAsync(compilation, name, sourceFolder, trees));
        }

        var peak = Process.GetCurrentProcess().PeakWorkingSet64;
        foreach (var (buildResult, buildFindings) in outcomes)
        {
            buildResult.BaselineCpuSeconds = baselineCpu;
            buildResult.PeakWorkingSetBytes = peak;
            var label = builds.Count > 1 ? $"   [{buildResult.Build}] " : "   ";
            log.WriteLine($"{label}{buildFindings.Count} diagnostics; analyzers {buildResult.AnalyzerSecondsTotal:F1} s = {Ratio(buildResult.AnalyzerSecondsTotal, buildResult.CompileSeconds)} of compile; " +
                          $"CPU: compile {buildResult.CompileCpuSeconds:F1} s, driver {buildResult.AnalyzerCpuSeconds:F1} s, baseline driver {buildResult.BaselineCpuSeconds:F1} s");
        }

        if (_crashes.Count > crashesBefore)
            log.WriteLine($"   !!! {_crashes.Count - crashesBefore} ANALYZER EXCEPTION(S) in {name}");
        return outcomes;
    }

    /// <summary>One timed run of one build's analyzers over the compilation; the first run also keeps its
    /// findings and exceptions.</summary>
    private async Task AnalyzeOnceAsync(
        CSharpCompilation compilation, CorpusUnit unit, IReadOnlyList<SyntaxTree> trees, AnalyzerBuild build, int run, AssemblyResult result, List<Finding> findings)
    {
        var name = unit.Name;
        var sourceFolder = unit.SourceRoot;
        var crashesBefore = _crashes.Count;
        var probe = new GeneratedCodeProbe();
        var withAnalyzers = compilation.WithAnalyzers(build.Analyzers.Add(probe), AnalyzerOptionsFor(name, sourceFolder, trees, recordCrashes: run == 0, BuildTag(build)));
        Collect();
        var cpu = CpuSeconds();
        var stopwatch = Stopwatch.StartNew();
        var diagnostics = await withAnalyzers.GetAnalyzerDiagnosticsAsync(CancellationToken.None);
        var wall = stopwatch.Elapsed.TotalSeconds;
        cpu = CpuSeconds() - cpu;
        result.AnalyzerWallSeconds = run == 0 ? wall : Math.Min(result.AnalyzerWallSeconds, wall);
        result.AnalyzerCpuSeconds = run == 0 ? cpu : Math.Min(result.AnalyzerCpuSeconds, cpu);
        foreach (var analyzer in build.Analyzers)
        {
            var telemetry = await withAnalyzers.GetAnalyzerTelemetryInfoAsync(analyzer, CancellationToken.None);
            var key = DispatchFloor.NameOf(analyzer);
            var seconds = telemetry.ExecutionTime.TotalSeconds;
            result.AnalyzerSeconds[key] = run == 0 ? seconds : Math.Min(result.AnalyzerSeconds[key], seconds);
        }

        var probeSeconds = (await withAnalyzers.GetAnalyzerTelemetryInfoAsync(probe, CancellationToken.None)).ExecutionTime.TotalSeconds;
        result.GeneratedCodeCheckSeconds = run == 0 ? probeSeconds : Math.Min(result.GeneratedCodeCheckSeconds, probeSeconds);

        if (run > 0)
            return;

        var crashMessages = _crashes.Skip(crashesBefore).Select(c => c.Detail).ToList();
        foreach (var diagnostic in diagnostics)
        {
            if (diagnostic.Id == GeneratedCodeProbe.Id)
                continue;
            if (diagnostic.Id.StartsWith("AD", StringComparison.Ordinal))
            {
                // Normally also seen by onAnalyzerException; keep any that was not.
                var message = diagnostic.GetMessage();
                if (!crashMessages.Any(m => m.EndsWith(message, StringComparison.Ordinal)))
                    _crashes.Enqueue(new AnalyzerCrash(name, BuildTag(build) + diagnostic.Id, message, Describe(diagnostic.Location, sourceFolder)));
                continue;
            }

            result.IdCounts[diagnostic.Id] = result.IdCounts.GetValueOrDefault(diagnostic.Id) + 1;
            findings.Add(ToFinding(name, sourceFolder, diagnostic));
        }
    }

    /// <summary>"[before] " in front of an analyzer's name when a run compares two builds.</summary>
    private string BuildTag(AnalyzerBuild build) => Builds.Count > 1 ? "[" + build.Label + "] " : string.Empty;

    private async Task<double> BaselineCpuAsync(CSharpCompilation compilation, string name, string sourceFolder, IReadOnlyList<SyntaxTree> trees)
    {
        var baseline = compilation.WithAnalyzers(
            ImmutableArray.Create<DiagnosticAnalyzer>(new NoOpOperationAnalyzer(), new GeneratedCodeProbe()),
            AnalyzerOptionsFor(name, sourceFolder, trees, recordCrashes: false));
        Collect();
        var cpu = CpuSeconds();
        await baseline.GetAnalyzerDiagnosticsAsync(CancellationToken.None);
        return CpuSeconds() - cpu;
    }

    /// <summary>CPU time of this process (all threads): unlike wall time, it does not grow when other
    /// processes compete for the cores.</summary>
    private static double CpuSeconds() => Environment.CpuUsage.TotalTime.TotalSeconds;

    /// <summary>Lines of the first assembly compiled and analysed untimed before measuring.</summary>
    private const int WarmUpLines = 20000;

    /// <summary>A full blocking collection before each timed section, so garbage of the previous one is not
    /// collected inside it.</summary>
    private static void Collect()
    {
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
    }

    public static string Ratio(double analyzer, double compile)
        => compile > 0 ? (analyzer / compile).ToString("P1", System.Globalization.CultureInfo.InvariantCulture) : "n/a";

    private static Finding ToFinding(string assembly, string sourceFolder, Diagnostic diagnostic)
    {
        var location = diagnostic.Location;
        var span = location.GetLineSpan();
        var tree = location.SourceTree;
        var member = tree is null ? string.Empty : ContainingMember(tree.GetRoot().FindNode(location.SourceSpan, getInnermostNodeForTie: true));
        var additional = ImmutableArray.CreateBuilder<FindingLocation>();
        foreach (var extra in diagnostic.AdditionalLocations)
        {
            if (!extra.IsInSource)
                continue;
            var extraSpan = extra.GetLineSpan();
            additional.Add(new FindingLocation(extraSpan.Path, Relative(extraSpan.Path, sourceFolder),
                extraSpan.StartLinePosition.Line + 1, extraSpan.EndLinePosition.Line + 1));
        }

        return new Finding(
            assembly,
            diagnostic.Id,
            diagnostic.Severity.ToString(),
            span.Path,
            Relative(span.Path, sourceFolder),
            span.StartLinePosition.Line + 1,
            span.StartLinePosition.Character + 1,
            span.EndLinePosition.Line + 1,
            span.EndLinePosition.Character + 1,
            diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture),
            member,
            additional.ToImmutable());
    }

    private static string Describe(Location location, string sourceFolder)
    {
        if (!location.IsInSource)
            return "(no source location)";
        var span = location.GetLineSpan();
        return $"{Relative(span.Path, sourceFolder)}:{span.StartLinePosition.Line + 1}";
    }

    private static string Relative(string path, string folder)
        => string.IsNullOrEmpty(path) ? "(none)" : Path.GetRelativePath(folder, path).Replace('\\', '/');

    /// <summary>"Namespace.Type.Member" (with local functions appended) from syntax alone: enough for a
    /// reader to find the code, without a semantic model.</summary>
    private static string ContainingMember(SyntaxNode node)
    {
        var names = new List<string>();
        for (var current = node; current is not null; current = current.Parent)
        {
            var name = current switch
            {
                LocalFunctionStatementSyntax local => local.Identifier.ValueText,
                MethodDeclarationSyntax method => method.Identifier.ValueText,
                ConstructorDeclarationSyntax constructor => constructor.Modifiers.Any(SyntaxKind.StaticKeyword) ? ".cctor" : ".ctor",
                DestructorDeclarationSyntax => "Finalize",
                PropertyDeclarationSyntax property => property.Identifier.ValueText,
                IndexerDeclarationSyntax => "this[]",
                EventDeclarationSyntax evt => evt.Identifier.ValueText,
                OperatorDeclarationSyntax op => "operator " + op.OperatorToken.ValueText,
                ConversionOperatorDeclarationSyntax conversion => "operator " + conversion.Type,
                BaseFieldDeclarationSyntax field => field.Declaration.Variables.Count > 0 ? field.Declaration.Variables[0].Identifier.ValueText : null,
                BaseTypeDeclarationSyntax type => type.Identifier.ValueText,
                DelegateDeclarationSyntax type => type.Identifier.ValueText,
                BaseNamespaceDeclarationSyntax ns => ns.Name.ToString(),
                _ => null,
            };
            if (name is not null)
                names.Add(name);
        }

        names.Reverse();
        return string.Join(".", names);
    }

    /// <summary>Registers for every operation of every body and does nothing: the driver's cost without ours.</summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    internal sealed class NoOpOperationAnalyzer : DiagnosticAnalyzer
    {
        private static readonly DiagnosticDescriptor Never = new(
            "CORPUS0001", "Never reported", "Never reported", "Corpus", DiagnosticSeverity.Warning, isEnabledByDefault: true);

        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Never);

        public override void Initialize(AnalysisContext context)
        {
            context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
            context.EnableConcurrentExecution();
            context.RegisterOperationBlockStartAction(static start => start.RegisterOperationAction(static _ => { }, OperationKind.ArrayCreation, OperationKind.ObjectCreation));
        }
    }

    /// <summary>
    /// Reports one hidden diagnostic at the start of every file, from a syntax-tree action (which the driver runs before
    /// the file's semantic actions). A report from an analyzer that does not analyse generated code
    /// (<see cref="GeneratedCodeAnalysisFlags.None"/>, as ours) makes the driver check whether the file declares code
    /// marked <c>[GeneratedCode]</c>: a walk over every token of the file, once per file and driver, paid inside the
    /// callback of whichever analyzer reports there first. Any build with a reporting analyzer pays it once. The probe
    /// pays it up front in every run (ours and the baseline), so our analyzers' times are their own work and the check
    /// shows on a row of its own.
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    internal sealed class GeneratedCodeProbe : DiagnosticAnalyzer
    {
        public const string Id = "CORPUS0002";

        private static readonly DiagnosticDescriptor Probe = new(
            Id, "Generated-code probe", "Generated-code probe", "Corpus", DiagnosticSeverity.Hidden, isEnabledByDefault: true);

        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Probe);

        public override void Initialize(AnalysisContext context)
        {
            context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
            context.EnableConcurrentExecution();
            context.RegisterSyntaxTreeAction(static tree =>
                tree.ReportDiagnostic(Diagnostic.Create(Probe, Location.Create(tree.Tree, new Microsoft.CodeAnalysis.Text.TextSpan(0, 0)))));
        }
    }
}
