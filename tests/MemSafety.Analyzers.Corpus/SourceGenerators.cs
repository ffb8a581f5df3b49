using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace MemSafety.Analyzers.Corpus;

/// <summary>The source generators a real build of a library runs: those of the targeting pack
/// (GeneratedRegex, LibraryImport, System.Text.Json, …) and those shipped in its packages' analyzers folder
/// (LoggerMessage, …). Generators built from the libraries' own repositories are not run.</summary>
internal static class SourceGenerators
{
    private static readonly Loader s_loader = new();

    /// <summary>The generators of every assembly in <paramref name="folder"/> (none if it does not exist).
    /// An assembly that cannot be loaded (built against a newer Roslyn) is reported and skipped, as the
    /// compiler would (CS8032).</summary>
    public static List<ISourceGenerator> FromFolder(string folder, TextWriter log)
    {
        var generators = new List<ISourceGenerator>();
        if (!Directory.Exists(folder))
            return generators;
        foreach (var path in Directory.GetFiles(folder, "*.dll").Order(StringComparer.Ordinal))
        {
            s_loader.AddDependencyLocation(path);
            var reference = new AnalyzerFileReference(path, s_loader);
            reference.AnalyzerLoadFailed += (_, e) => log.WriteLine($"   note: generator assembly {Path.GetFileName(path)} not loaded: {e.Message}");
            generators.AddRange(reference.GetGenerators(LanguageNames.CSharp));
        }

        return generators;
    }

    /// <summary>The analyzers folder NuGet would use for a package: the highest analyzers/dotnet/roslynX.Y/cs
    /// not newer than the Roslyn we run, else analyzers/dotnet/cs.</summary>
    public static string? PackageFolder(string packageFolder)
    {
        var dotnet = Path.Combine(packageFolder, "analyzers", "dotnet");
        if (!Directory.Exists(dotnet))
            return null;
        var roslyn = typeof(Compilation).Assembly.GetName().Version!;
        var best = Directory.GetDirectories(dotnet, "roslyn*")
            .Select(d => (Folder: d, Version: Version.TryParse(Path.GetFileName(d).Substring("roslyn".Length), out var v) ? v : null))
            .Where(x => x.Version is not null && x.Version <= new Version(roslyn.Major, roslyn.Minor))
            .OrderByDescending(x => x.Version)
            .Select(x => Path.Combine(x.Folder, "cs"))
            .FirstOrDefault(Directory.Exists);
        if (best is not null)
            return best;
        var plain = Path.Combine(dotnet, "cs");
        return Directory.Exists(plain) ? plain : null;
    }

    /// <summary>Runs the generators and returns the compilation with their output added.</summary>
    public static CSharpCompilation Run(
        CSharpCompilation compilation,
        IReadOnlyList<ISourceGenerator> generators,
        CSharpParseOptions parseOptions,
        AnalyzerConfigOptionsProvider options,
        TextWriter log,
        string what)
    {
        if (generators.Count == 0)
            return compilation;
        var stopwatch = Stopwatch.StartNew();
        var driver = CSharpGeneratorDriver.Create(generators, ImmutableArray<AdditionalText>.Empty, parseOptions, options);
        driver.RunGeneratorsAndUpdateCompilation(compilation, out var updated, out var diagnostics);
        var added = updated.SyntaxTrees.Count() - compilation.SyntaxTrees.Count();
        log.WriteLine($"   {what}: {generators.Count} source generators added {added} files in {stopwatch.Elapsed.TotalSeconds:F1} s" +
                      (diagnostics.Length == 0 ? "" : $"; {diagnostics.Length} generator diagnostics, e.g. {diagnostics[0]}"));
        return (CSharpCompilation)updated;
    }

    /// <summary>Loads generator assemblies into the default context, resolving their dependencies from the
    /// folders they came from (Roslyn itself resolves to the copy this tool runs on).</summary>
    private sealed class Loader : IAnalyzerAssemblyLoader
    {
        private readonly HashSet<string> _folders = new(StringComparer.Ordinal);
        private readonly Dictionary<string, Assembly> _loaded = new(StringComparer.Ordinal);

        public Loader()
        {
            AssemblyLoadContext.Default.Resolving += (context, name) =>
            {
                lock (_folders)
                {
                    foreach (var folder in _folders)
                    {
                        var candidate = Path.Combine(folder, name.Name + ".dll");
                        if (File.Exists(candidate))
                            return LoadFromPath(candidate);
                    }
                }

                return null;
            };
        }

        public void AddDependencyLocation(string fullPath)
        {
            lock (_folders)
                _folders.Add(Path.GetDirectoryName(fullPath)!);
        }

        public Assembly LoadFromPath(string fullPath)
        {
            lock (_loaded)
            {
                if (!_loaded.TryGetValue(fullPath, out var assembly))
                {
                    assembly = AssemblyLoadContext.Default.LoadFromAssemblyPath(fullPath);
                    _loaded[fullPath] = assembly;
                }

                return assembly;
            }
        }
    }
}
