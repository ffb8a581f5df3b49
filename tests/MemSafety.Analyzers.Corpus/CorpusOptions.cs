using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;

namespace MemSafety.Analyzers.Corpus;

/// <summary>The command line of the corpus tool.</summary>
internal sealed class CorpusOptions
{
    /// <summary>Runtime assemblies that decompile into almost error-free C# full of arrays, loops, spans,
    /// locks and unsafe code, chosen from 43 measured assemblies for the number of MSA1xxx findings they
    /// yield (the runtime is allocation-tuned, so most yield none). See docs/design/architecture.md.</summary>
    public static readonly string[] DefaultAssemblies =
    {
        "System.Collections.Immutable",
        "System.Text.Json",
        "System.Private.Uri",
        "System.Reflection.Metadata",
        "System.Data.Common",
        "System.Private.DataContractSerialization",
        "Microsoft.CSharp",
        "Microsoft.VisualBasic.Core",
    };

    public const string Usage =
        """
        MemSafety.Analyzers.Corpus: runs every MemSafety analyzer on real code: decompiled .NET runtime
        assemblies, or third-party libraries built from their public source.

        Usage: dotnet run --project tests/MemSafety.Analyzers.Corpus -c Release -- [options]

          --corpus runtime|third-party|both
                                 runtime (default): decompiled assemblies of the running shared framework.
                                 third-party: the libraries of the list file (--projects), extracted from
                                 local git mirrors at the listed commit and compiled against the net10.0
                                 reference assemblies
          --preset Recommended|Strict|None
                                 Apply the shipped build/MemSafety.<preset>.globalconfig as a global analyzer
                                 config, as a consumer build does (severities and memsafety.* options).
                                 Without it every rule runs at its default severity and with default options
          --assemblies A,B,...   (runtime) Simple names of assemblies of the running shared framework
                                 (default: System.Collections.Immutable, System.Text.Json, System.Private.Uri,
                                 System.Reflection.Metadata, System.Data.Common,
                                 System.Private.DataContractSerialization, Microsoft.CSharp,
                                 Microsoft.VisualBasic.Core). 'all': every assembly that defines types,
                                 except System.Private.CoreLib (add it by name)
          --projects FILE        (third-party) The list file (default: tests/MemSafety.Analyzers.Corpus/third-party.json)
          --libraries A,B,...    (third-party) Only these libraries of the list (default: all)
          --mirrors DIR          (third-party) Where the git mirrors are: DIR/<owner>+<name>/repo, as the fetch
                                 tool lays them out (default: $MEMSAFETY_CORPUS_MIRRORS or /work/.mirror)
          --packages DIR         (third-party) NuGet package folder (default: $NUGET_PACKAGES or ~/.nuget/packages)
          --restore              (third-party) Restore missing NuGet packages of the list through a throwaway
                                 project in the cache (the only network use; off by default)
          --cache DIR            Where decompiled and extracted sources are kept and reused
                                 (default: $TMPDIR/memsafety-corpus). Must be outside the repository.
          --run-only P1,P2,...   Run only the analyzers that report an id with one of these prefixes, e.g.
                                 MSA1,MSA2 (in both builds with --compare: times like for like when one
                                 build has rules the other lacks; default: every analyzer)
          --ids P1,P2,...        Id prefixes to sample, e.g. MSA1 or MSA1001,MSA4 (default: every id)
          --sample N|all         Diagnostics listed per prefix of --ids (per id with --per-id or without --ids);
                                 default 30 for runtime, all for third-party. '--ids MSA --sample 40' samples
                                 40 in all
          --per-id               Sample N per diagnostic id instead of per prefix
          --seed N               Seed of the sample (default 1)
          --option key=value     An .editorconfig option for every file, e.g. memsafety.scope=everywhere (repeatable)
          --enable ID            Turn on a rule that is off by default, at its default severity (repeatable, or ID,ID)
          --nullable on|off      Nullable context of the compilations (default: on for the runtime, as it is
                                 built; the list file's setting for third-party libraries)
          --compile-only         Compile and report compile errors (with examples) only; no analysis. For
                                 checking the settings of the list file
          --repeat N             Compile and analyse each assembly N times and keep the fastest times (default 1)
          --report FILE          Write the Markdown report there (default: only the summary on stdout), and
                                 every finding as TSV next to it (FILE.tsv): rule, library, file, line,
                                 message, column, end_line, end_column (1-based; the end column is the one just
                                 after the span)
          --analyzer-assembly DLL
                                 Run the analyzers of this build of MemSafety.Analyzers.dll instead of the
                                 project the tool is built with (loaded into a load context of its own that
                                 shares Roslyn with the tool, so it must be built against the tool's Roslyn
                                 version or an older one)
          --compare DLL          Also run the analyzers of this other build ("before") on the same compilations,
                                 alternating with the build above ("after") per assembly and run: the report
                                 compares their times (totals and per analyzer) and findings, and
                                 FILE.before.tsv holds the before build's findings. Exit code 3 when the
                                 findings differ
          --diff BEFORE.tsv AFTER.tsv
                                 Compare two TSVs of this tool (on the columns both have) and print the findings
                                 removed and added, with counts per rule (and how many only changed their
                                 message); nothing else is run. Exit code 0 when identical, 3 when not
          --bench                Benchmark (docs/performance.md): ours under Strict and Recommended, the peer
                                 packages (NetAnalyzers, Meziantou, IDisposableAnalyzers, Roslynator, Sonar) with
                                 every rule on, on the same compilations in the same process; per-document
                                 latency, allocations with and without ours, scaling, a generated stress set,
                                 the budgets of issue 13 as PASS/MISS. With --corpus both: the third-party
                                 libraries and the runtime assemblies. Without --assemblies: System.Threading,
                                 System.Collections.Concurrent, System.Private.Uri, System.Collections,
                                 System.Collections.Immutable. Findings are not listed
          --smoke                (--bench) One small runtime assembly (System.Collections.Concurrent), one
                                 iteration, the stress set at a tenth of its size: proves the harness works
          --skip A,B,...         (--bench) Leave out parts: peers, latency, memory, stress, corpus (the stress
                                 set only), floor (the dispatch floor of our registrations, see --floor)
          --page FILE            (--bench) Write the page there (e.g. docs/performance.md) and its chart next
                                 to it (FILE without extension + .svg); may be inside the repository
          --note TEXT            (--bench) A line for the page, e.g. "under load: 3 other builds running"
          --latency-docs N       (--bench) Documents per compilation whose per-document latency is measured,
                                 evenly spread (default 40; 0: every document, slow: each call is expensive,
                                 even a no-op analyzer's)
          --floor                Time the dispatch floor of our registrations instead of the analyzers: each
                                 analyzer's registrations replayed with empty callbacks (start actions run
                                 for real, so gates still decide what is registered; every other callback
                                 does nothing, so nothing is reported). With --compare: both builds' floors,
                                 per analyzer. --bench measures the floor anyway (one more run per
                                 repetition; --skip floor leaves it out)
          --list-peers           Print every rule id and title of each peer package and exit
          --help                 This text

        Exit code: 0, or 2 when any analyzer threw (AD0001), 3 when --compare or --diff found different
        findings, 1 on a usage or setup error.
        """;

    public CorpusKind Corpus { get; private set; } = CorpusKind.Runtime;
    public string? Preset { get; private set; }
    public List<string> Assemblies { get; } = new();
    public string? ProjectsFile { get; private set; }
    public List<string> Libraries { get; } = new();
    public string MirrorsDirectory { get; private set; } = Environment.GetEnvironmentVariable("MEMSAFETY_CORPUS_MIRRORS") is { Length: > 0 } mirrors ? mirrors : "/work/.mirror";
    public string PackagesDirectory { get; private set; } = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } packages
        ? packages
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
    public bool Restore { get; private set; }
    public bool CompileOnly { get; private set; }
    public string CacheDirectory { get; private set; } = Path.Combine(Path.GetTempPath(), "memsafety-corpus");
    public List<string> IdPrefixes { get; } = new();
    /// <summary>Only analyzers that report an id with one of these prefixes run (empty: all).</summary>
    public List<string> RunOnly { get; } = new();
    /// <summary>Findings listed per group; <see cref="int.MaxValue"/> for all.</summary>
    public int Sample { get; private set; } = -1;
    public bool PerId { get; private set; }
    public int Seed { get; private set; } = 1;
    public SortedDictionary<string, string> AnalyzerOptions { get; } = new(StringComparer.OrdinalIgnoreCase);
    public SortedSet<string> Enable { get; } = new(StringComparer.OrdinalIgnoreCase);
    /// <summary>null: the corpus's own setting (on for the runtime, the list file's for a library).</summary>
    public bool? Nullable { get; private set; }
    public int Repeat { get; private set; } = 1;
    public string? ReportPath { get; private set; }

    /// <summary>A build of MemSafety.Analyzers.dll to run instead of the referenced project.</summary>
    public string? AnalyzerAssembly { get; private set; }

    /// <summary>A second build to run and compare with (the "before" build).</summary>
    public string? CompareAssembly { get; private set; }

    /// <summary>The two TSVs of <c>--diff</c>, or null.</summary>
    public (string Before, string After)? Diff { get; private set; }
    public bool Help { get; private set; }

    public bool Bench { get; private set; }
    public bool Smoke { get; private set; }
    public bool ListPeers { get; private set; }

    /// <summary>Time the analyzers' registrations with empty callbacks (<see cref="DispatchFloor"/>).</summary>
    public bool Floor { get; private set; }
    public SortedSet<string> Skip { get; } = new(StringComparer.OrdinalIgnoreCase);
    public string? PagePath { get; private set; }
    public string? Note { get; private set; }

    /// <summary>Documents per compilation whose latency <c>--bench</c> measures (0: all).</summary>
    public int LatencyDocuments { get; private set; } = 40;

    /// <summary>Parts of the benchmark <c>--skip</c> accepts.</summary>
    public static readonly string[] BenchParts = { "peers", "latency", "memory", "stress", "corpus", "floor" };

    /// <summary>The corpus of <c>--bench</c> without <c>--assemblies</c>: about 2.4 MB of decompiled C#, because the peers
    /// with every rule on cost thirty to ninety times the compile time each and the full run should stay under about
    /// twenty minutes on an idle two-core machine. Locking-heavy (Threading, Concurrent), allocation-heavy (Collections,
    /// Immutable), string and unsafe code (Private.Uri).</summary>
    public static readonly string[] BenchAssemblies =
    {
        "System.Threading",
        "System.Collections.Concurrent",
        "System.Private.Uri",
        "System.Collections",
        "System.Collections.Immutable",
    };

    /// <summary>The small assembly of <c>--smoke</c>.</summary>
    public const string SmokeAssembly = "System.Collections.Concurrent";

    /// <summary>The list file actually read (for the report).</summary>
    public string? ProjectsFileUsed { get; set; }
    public string CommandLine { get; private set; } = string.Empty;

    public static CorpusOptions Parse(string[] args)
    {
        var options = new CorpusOptions();
        var commandLine = new StringBuilder();
        foreach (var arg in args)
            commandLine.Append(' ').Append(arg.Contains(' ', StringComparison.Ordinal) ? "\"" + arg + "\"" : arg);
        options.CommandLine = commandLine.ToString().Trim();

        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            switch (arg)
            {
                case "--help":
                case "-h":
                    options.Help = true;
                    break;
                case "--bench":
                    options.Bench = true;
                    break;
                case "--smoke":
                    options.Smoke = true;
                    break;
                case "--floor":
                    options.Floor = true;
                    break;
                case "--list-peers":
                    options.ListPeers = true;
                    break;
                case "--skip":
                    foreach (var part in SplitList(Value(args, ref i)))
                    {
                        if (Array.IndexOf(BenchParts, part.ToLowerInvariant()) < 0)
                            throw new UsageException("--skip expects some of " + string.Join(", ", BenchParts) + ", got '" + part + "'");
                        options.Skip.Add(part.ToLowerInvariant());
                    }

                    break;
                case "--page":
                    options.PagePath = Path.GetFullPath(Value(args, ref i));
                    break;
                case "--latency-docs":
                    options.LatencyDocuments = ParseInt(arg, Value(args, ref i), minimum: 0);
                    break;
                case "--note":
                    options.Note = Value(args, ref i);
                    break;
                case "--corpus":
                {
                    var value = Value(args, ref i);
                    options.Corpus = value.ToLowerInvariant() switch
                    {
                        "runtime" => CorpusKind.Runtime,
                        "third-party" or "thirdparty" => CorpusKind.ThirdParty,
                        "both" => CorpusKind.Both,
                        _ => throw new UsageException("--corpus expects runtime or third-party, got '" + value + "'"),
                    };
                    break;
                }
                case "--preset":
                {
                    var value = Value(args, ref i);
                    options.Preset = value.ToLowerInvariant() switch
                    {
                        "recommended" => "Recommended",
                        "strict" => "Strict",
                        "none" => "None",
                        _ => throw new UsageException("--preset expects Recommended, Strict or None, got '" + value + "'"),
                    };
                    break;
                }
                case "--projects":
                    options.ProjectsFile = Path.GetFullPath(Value(args, ref i));
                    break;
                case "--libraries":
                    options.Libraries.AddRange(SplitList(Value(args, ref i)));
                    break;
                case "--mirrors":
                    options.MirrorsDirectory = Path.GetFullPath(Value(args, ref i));
                    break;
                case "--packages":
                    options.PackagesDirectory = Path.GetFullPath(Value(args, ref i));
                    break;
                case "--compile-only":
                    options.CompileOnly = true;
                    break;
                case "--restore":
                    options.Restore = true;
                    break;
                case "--assemblies":
                    options.Assemblies.AddRange(SplitList(Value(args, ref i)));
                    break;
                case "--cache":
                    options.CacheDirectory = Path.GetFullPath(Value(args, ref i));
                    break;
                case "--ids":
                    options.IdPrefixes.AddRange(SplitList(Value(args, ref i)));
                    break;
                case "--run-only":
                    options.RunOnly.AddRange(SplitList(Value(args, ref i)));
                    break;
                case "--sample":
                {
                    var value = Value(args, ref i);
                    options.Sample = string.Equals(value, "all", StringComparison.OrdinalIgnoreCase) ? int.MaxValue : ParseInt(arg, value, minimum: 0);
                    break;
                }
                case "--per-id":
                    options.PerId = true;
                    break;
                case "--seed":
                    options.Seed = ParseInt(arg, Value(args, ref i), minimum: int.MinValue);
                    break;
                case "--option":
                {
                    var pair = Value(args, ref i);
                    var equals = pair.IndexOf('=', StringComparison.Ordinal);
                    if (equals <= 0)
                        throw new UsageException("--option expects key=value, got '" + pair + "'");
                    options.AnalyzerOptions[pair.Substring(0, equals).Trim()] = pair.Substring(equals + 1).Trim();
                    break;
                }
                case "--enable":
                    foreach (var id in SplitList(Value(args, ref i)))
                        options.Enable.Add(id);
                    break;
                case "--nullable":
                {
                    var value = Value(args, ref i);
                    options.Nullable = value switch
                    {
                        "on" or "enable" or "true" => true,
                        "off" or "disable" or "false" => false,
                        _ => throw new UsageException("--nullable expects on or off, got '" + value + "'"),
                    };
                    break;
                }
                case "--repeat":
                    options.Repeat = ParseInt(arg, Value(args, ref i), minimum: 1);
                    break;
                case "--report":
                    options.ReportPath = Path.GetFullPath(Value(args, ref i));
                    break;
                case "--analyzer-assembly":
                    options.AnalyzerAssembly = Path.GetFullPath(Value(args, ref i));
                    break;
                case "--compare":
                    options.CompareAssembly = Path.GetFullPath(Value(args, ref i));
                    break;
                case "--diff":
                {
                    if (args.Length != 3 || i != 0)
                        throw new UsageException("--diff takes two TSV files and no other option");
                    var before = Value(args, ref i);
                    options.Diff = (Path.GetFullPath(before), Path.GetFullPath(Value(args, ref i)));
                    break;
                }
                default:
                    throw new UsageException("unknown argument '" + arg + "'");
            }
        }

        if (!options.Bench)
        {
            if (options.Smoke || options.Skip.Count > 0 || options.PagePath is not null || options.Note is not null || options.LatencyDocuments != 40)
                throw new UsageException("--smoke, --skip, --page, --note and --latency-docs need --bench");
            if (options.Corpus == CorpusKind.Both)
                throw new UsageException("--corpus both needs --bench");
        }
        else
        {
            if (options.CompareAssembly is not null || options.CompileOnly)
                throw new UsageException("--bench does not take --compare or --compile-only");
            if (options.Preset is not null)
                throw new UsageException("--bench runs both presets (Strict and Recommended); drop --preset");
            if (options.Smoke)
            {
                if (options.Corpus != CorpusKind.Runtime || options.Assemblies.Count > 0)
                    throw new UsageException("--smoke runs one runtime assembly of its own; drop --corpus and --assemblies");
                options.Assemblies.Add(SmokeAssembly);
            }
        }

        if (options.Corpus == CorpusKind.Runtime)
        {
            if (options.Libraries.Count > 0 || options.ProjectsFile is not null || options.Restore)
                throw new UsageException("--libraries, --projects and --restore need --corpus third-party");
            if (options.Assemblies.Count == 0)
                options.Assemblies.AddRange(options.Bench ? BenchAssemblies : DefaultAssemblies);
        }
        else if (options.Corpus == CorpusKind.Both)
        {
            if (options.Assemblies.Count == 0)
                options.Assemblies.AddRange(BenchAssemblies);
        }
        else if (options.Assemblies.Count > 0)
        {
            throw new UsageException("--assemblies needs --corpus runtime; use --libraries");
        }

        if (options.CompareAssembly is not null && options.CompileOnly)
            throw new UsageException("--compare needs analysis; drop --compile-only");

        if (options.Sample < 0)
            options.Sample = options.Corpus == CorpusKind.Runtime ? 30 : int.MaxValue;
        return options;
    }

    private static string Value(string[] args, ref int i)
    {
        if (i + 1 >= args.Length)
            throw new UsageException(args[i] + " needs a value");
        return args[++i];
    }

    private static int ParseInt(string name, string text, int minimum)
    {
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < minimum)
            throw new UsageException(name + " expects an integer, got '" + text + "'");
        return value;
    }

    private static IEnumerable<string> SplitList(string text)
    {
        foreach (var part in text.Split(new[] { ',', ';' }, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            yield return part;
    }
}

internal enum CorpusKind
{
    Runtime,
    ThirdParty,

    /// <summary>Third-party libraries, then runtime assemblies (<c>--bench</c> only).</summary>
    Both,
}

internal sealed class UsageException : Exception
{
    public UsageException(string message) : base(message) { }
}
