using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;

namespace MemSafety.Analyzers.Corpus;

/// <summary>Runs every MemSafety analyzer on decompiled .NET runtime assemblies or on third-party libraries
/// built from source: counts per id, every finding or a seeded sample for hand-checking, analyzer
/// exceptions, and analyzer time as a share of compile time.
/// See docs/design/architecture.md ("Corpus runs").</summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        CorpusOptions options;
        try
        {
            options = CorpusOptions.Parse(args);
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine("error: " + e.Message);
            Console.Error.WriteLine(CorpusOptions.Usage);
            return 1;
        }

        if (options.Help)
        {
            Console.WriteLine(CorpusOptions.Usage);
            return 0;
        }

        if (options.Diff is { } files)
            return Diff(files.Before, files.After);

        if (options.ListPeers)
        {
            foreach (var package in PeerAnalyzers.All)
            {
                try
                {
                    Console.Write(PeerAnalyzers.Describe(PeerAnalyzers.Load(options.PackagesDirectory, package)));
                }
                catch (UsageException e)
                {
                    Console.Error.WriteLine("error: " + e.Message);
                }
            }

            return 0;
        }

        if (options.Bench)
        {
            try
            {
                return await Benchmark.RunAsync(options, Console.Out);
            }
            catch (UsageException e)
            {
                Console.Error.WriteLine("error: " + e.Message);
                return 1;
            }
        }

        var frameworkFolder = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        if (RepositoryLayout.IsInside(options.CacheDirectory) || (options.ReportPath is not null && RepositoryLayout.IsInside(options.ReportPath)))
        {
            Console.Error.WriteLine("error: --cache and --report must be outside the repository");
            return 1;
        }

        CorpusAnalysis analysis;
        ThirdPartyCorpus? thirdParty = null;
        List<LibrarySpec> libraries = new();
        try
        {
            analysis = new CorpusAnalysis(options, frameworkFolder);
            if (options.Corpus == CorpusKind.Runtime)
            {
                if (options.Assemblies.Remove("all"))
                    options.Assemblies.AddRange(analysis.AllAssembliesWithCode().Where(a => !options.Assemblies.Contains(a, StringComparer.OrdinalIgnoreCase)));
                var missing = options.Assemblies.Where(a => !analysis.HasFrameworkAssembly(a)).ToList();
                if (missing.Count > 0)
                    throw new UsageException("not an assembly of " + frameworkFolder + ": " + string.Join(", ", missing));
            }
            else
            {
                var listFile = options.ProjectsFile ?? RepositoryLayout.DefaultProjectsFile
                    ?? throw new UsageException("cannot find the repository above " + AppContext.BaseDirectory + ": give --projects");
                var framework = analysis.ReferencePackReferences(Console.Out);
                thirdParty = new ThirdPartyCorpus(options, LibraryList.Load(listFile), framework, analysis.FrameworkGeneratorsFolder, Console.Out);
                libraries = thirdParty.Selected();
                options.ProjectsFileUsed = listFile;
            }
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine("error: " + e.Message);
            return 1;
        }

        Directory.CreateDirectory(options.CacheDirectory);
        Console.WriteLine($"{analysis.Analyzers.Length} analyzers; framework {frameworkFolder}; cache {options.CacheDirectory}" +
                          (options.Preset is null ? "" : "; preset " + analysis.Configuration.PresetPath));
        foreach (var build in analysis.Builds)
            Console.WriteLine($"analyzers{(analysis.Builds.Count > 1 ? " " + build.Label : "")}: {build.Location} ({build.Identity})");

        var total = Stopwatch.StartNew();
        var builds = analysis.Builds.Select(b => new BuildRun(b, new List<AssemblyResult>(), new List<Finding>())).ToList();
        var skipped = new List<(string Name, string Reason)>();
        if (thirdParty is null)
        {
            foreach (var name in options.Assemblies)
            {
                // One assembly at a time; nothing of its compilation outlives this iteration.
                Console.WriteLine($"== {name}");
                var unit = analysis.RuntimeUnit(name, Console.Out);
                Add(builds, await analysis.AnalyzeAsync(unit, warmUp: builds[0].Results.Count == 0, Console.Out));
            }
        }
        else
        {
            var missingPackages = thirdParty.MissingPackages(libraries);
            if (missingPackages.Count > 0 && options.Restore && !thirdParty.RestorePackages(missingPackages, Console.Out))
                Console.Error.WriteLine("warning: dotnet restore failed; libraries whose packages are missing are skipped");

            foreach (var library in libraries)
            {
                Console.WriteLine($"== {library.Name} ({library.Repository}@{library.Commit.Substring(0, 12)}, {library.Project})");
                var unit = thirdParty.Prepare(library, Console.Out, out var reason);
                if (unit is null)
                {
                    Console.Error.WriteLine($"   SKIPPED {library.Name}: {reason}");
                    skipped.Add((library.Name, reason!));
                    continue;
                }

                Add(builds, await analysis.AnalyzeAsync(unit, warmUp: builds[0].Results.Count == 0, Console.Out));
            }
        }

        total.Stop();
        var run = new RunSummary(total.Elapsed.TotalSeconds, skipped, analysis.ReferenceAssembliesFolder);
        var findings = builds[0].Findings;
        var samples = Report.Sample(options, findings);
        var tsv = Report.Tsv(findings);

        // --compare: the before build's findings against the after build's.
        TsvDiff? diff = null;
        string? beforeTsv = null;
        if (builds.Count > 1 && !options.CompileOnly)
        {
            beforeTsv = Report.Tsv(builds[1].Findings);
            diff = TsvDiff.Compare(beforeTsv, tsv, CorpusAnalysis.BeforeLabel, CorpusAnalysis.AfterLabel);
        }

        string? tsvPath = null;
        string? beforeTsvPath = null;
        if (options.ReportPath is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(options.ReportPath)!);
            tsvPath = Path.ChangeExtension(options.ReportPath, ".tsv");
            File.WriteAllText(options.ReportPath, Report.Markdown(options, analysis, run, builds, samples, includeSampleContext: true, diff));
            File.WriteAllText(tsvPath, tsv);
            if (beforeTsv is not null)
            {
                beforeTsvPath = Path.ChangeExtension(options.ReportPath, "." + CorpusAnalysis.BeforeLabel + ".tsv");
                File.WriteAllText(beforeTsvPath, beforeTsv);
            }
        }

        Console.WriteLine();
        Console.WriteLine(Report.Markdown(options, analysis, run, builds, samples, includeSampleContext: false, diff));
        if (options.ReportPath is not null)
        {
            Console.WriteLine("Report with source context: " + options.ReportPath);
            Console.WriteLine($"Every finding ({findings.Count}) as TSV: " + tsvPath);
            if (beforeTsvPath is not null)
                Console.WriteLine($"Every finding of the before build ({builds[1].Findings.Count}) as TSV: " + beforeTsvPath);
        }

        if (diff is not null)
        {
            Console.WriteLine();
            Console.WriteLine(diff.Format(beforeTsvPath ?? CorpusAnalysis.BeforeLabel, tsvPath ?? CorpusAnalysis.AfterLabel));
        }

        foreach (var (name, reason) in skipped)
            Console.Error.WriteLine($"SKIPPED {name}: {reason}");

        if (analysis.Crashes.Count > 0)
        {
            Console.Error.WriteLine();
            Console.Error.WriteLine($"!!! {analysis.Crashes.Count} ANALYZER EXCEPTION(S) (AD0001): severity-1 bugs, details above and in the report.");
            foreach (var crash in analysis.Crashes)
                Console.Error.WriteLine($"!!! {crash.Analyzer} in {crash.Assembly} at {crash.Location}: {FirstLine(crash.Detail)}");
            return 2;
        }

        return diff is { Identical: false } ? 3 : 0;
    }

    private static void Add(List<BuildRun> builds, List<(AssemblyResult Result, List<Finding> Findings)> outcomes)
    {
        // Compile-only runs analyse nothing and give one result, which stands for every build.
        for (var i = 0; i < builds.Count; i++)
        {
            var (result, findings) = outcomes[Math.Min(i, outcomes.Count - 1)];
            builds[i].Results.Add(result);
            builds[i].Findings.AddRange(findings);
        }
    }

    /// <summary><c>--diff</c>: 0 when the two TSVs hold the same findings, 3 when not, 1 when one cannot be read.</summary>
    private static int Diff(string before, string after)
    {
        try
        {
            var diff = TsvDiff.Compare(File.ReadAllText(before), File.ReadAllText(after), before, after);
            Console.Write(diff.Format(before, after));
            return diff.Identical ? 0 : 3;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine("error: " + e.Message);
            return 1;
        }
    }

    private static string FirstLine(string text)
    {
        var newline = text.IndexOf('\n', StringComparison.Ordinal);
        return newline < 0 ? text : text.Substring(0, newline).TrimEnd('\r');
    }
}
