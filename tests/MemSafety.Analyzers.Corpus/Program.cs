using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;

namespace MemSafety.Analyzers.Corpus;

/// <summary>Runs every MemSafety analyzer on decompiled .NET runtime assemblies: counts per id, a seeded
/// sample for hand-checking, analyzer exceptions, and analyzer time as a share of compile time.
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

        var frameworkFolder = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        if (IsInsideRepository(options.CacheDirectory) || (options.ReportPath is not null && IsInsideRepository(options.ReportPath)))
        {
            Console.Error.WriteLine("error: --cache and --report must be outside the repository");
            return 1;
        }

        CorpusAnalysis analysis;
        try
        {
            analysis = new CorpusAnalysis(options, frameworkFolder);
            if (options.Assemblies.Remove("all"))
                options.Assemblies.AddRange(analysis.AllAssembliesWithCode().Where(a => !options.Assemblies.Contains(a, StringComparer.OrdinalIgnoreCase)));
            var missing = options.Assemblies.Where(a => !analysis.HasFrameworkAssembly(a)).ToList();
            if (missing.Count > 0)
                throw new UsageException("not an assembly of " + frameworkFolder + ": " + string.Join(", ", missing));
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine("error: " + e.Message);
            return 1;
        }

        Directory.CreateDirectory(options.CacheDirectory);
        Console.WriteLine($"{analysis.Analyzers.Length} analyzers; framework {frameworkFolder}; cache {options.CacheDirectory}");

        var results = new List<AssemblyResult>();
        var findings = new List<Finding>();
        foreach (var name in options.Assemblies)
        {
            // One assembly at a time; nothing of its compilation outlives this iteration.
            var (result, assemblyFindings) = await analysis.AnalyzeAsync(name, warmUp: results.Count == 0, Console.Out);
            results.Add(result);
            findings.AddRange(assemblyFindings);
        }

        var samples = Report.Sample(options, findings);
        if (options.ReportPath is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(options.ReportPath)!);
            File.WriteAllText(options.ReportPath, Report.Markdown(options, analysis, results, samples, includeSampleContext: true));
        }

        Console.WriteLine();
        Console.WriteLine(Report.Markdown(options, analysis, results, samples, includeSampleContext: false));
        if (options.ReportPath is not null)
            Console.WriteLine("Report with source context: " + options.ReportPath);

        if (analysis.Crashes.Count > 0)
        {
            Console.Error.WriteLine();
            Console.Error.WriteLine($"!!! {analysis.Crashes.Count} ANALYZER EXCEPTION(S) (AD0001): severity-1 bugs, details above and in the report.");
            foreach (var crash in analysis.Crashes)
                Console.Error.WriteLine($"!!! {crash.Analyzer} in {crash.Assembly} at {crash.Location}: {FirstLine(crash.Detail)}");
            return 2;
        }

        return 0;
    }

    private static string FirstLine(string text)
    {
        var newline = text.IndexOf('\n', StringComparison.Ordinal);
        return newline < 0 ? text : text.Substring(0, newline).TrimEnd('\r');
    }

    /// <summary>True when <paramref name="path"/> lies in the git checkout this tool was built from
    /// (decompiled sources must never land in the repository).</summary>
    private static bool IsInsideRepository(string path)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MemSafety.Analyzers.sln")))
            {
                var root = dir.FullName.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
                var full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
                return full.StartsWith(root, StringComparison.Ordinal);
            }
        }

        return false;
    }
}
