using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace MemSafety.Analyzers.Corpus;

/// <summary>A peer analyzer package the benchmark times beside ours (the versions the corpus csproj downloads).</summary>
internal sealed record PeerPackage(string Name, string PackageId, string Version);

/// <summary>Rules of a peer that do work comparable to one of our groups. <paramref name="Ids"/> empty: every rule
/// of the package.</summary>
internal sealed record PeerRuleSet(string Group, string Package, string Label, IReadOnlyList<string> Ids);

/// <summary>A group of our rules (by id prefix) and the peer rule sets it is compared with.</summary>
internal sealed record ComparisonGroup(string Name, IReadOnlyList<string> OurPrefixes, IReadOnlyList<PeerRuleSet> Peers);

/// <summary>The analyzers of one peer package, loaded from the package folder into a load context of their own that
/// shares Roslyn with the tool.</summary>
internal sealed class LoadedPeer
{
    public required PeerPackage Package { get; init; }

    /// <summary>The folder the analyzers were loaded from (the Roslyn lane the tool's Roslyn can load).</summary>
    public required string Folder { get; init; }
    public required ImmutableArray<DiagnosticAnalyzer> Analyzers { get; init; }

    /// <summary>Every id any analyzer of the package reports.</summary>
    public required IReadOnlyList<DiagnosticDescriptor> Descriptors { get; init; }
}

/// <summary>Finds and loads the peer packages of the benchmark: the analyzer packages a user would otherwise install
/// for the same concerns (issue 13).</summary>
internal static class PeerAnalyzers
{
    public static readonly PeerPackage NetAnalyzers = new("NetAnalyzers", "Microsoft.CodeAnalysis.NetAnalyzers", "10.0.111");
    public static readonly PeerPackage Meziantou = new("Meziantou", "Meziantou.Analyzer", "3.0.296");
    public static readonly PeerPackage IDisposable = new("IDisposableAnalyzers", "IDisposableAnalyzers", "4.0.8");
    public static readonly PeerPackage Roslynator = new("Roslynator", "Roslynator.Analyzers", "4.14.1");
    public static readonly PeerPackage Sonar = new("SonarAnalyzer", "SonarAnalyzer.CSharp", "9.32.0.97167");

    /// <summary>In the order the report lists them.</summary>
    public static readonly IReadOnlyList<PeerPackage> All = new[] { NetAnalyzers, Meziantou, IDisposable, Roslynator, Sonar };

    /// <summary>Our groups and the peer rules doing comparable work, as issue 13 pairs them. Allocation: arrays,
    /// strings, LINQ copies, closures and boxing that a rule points out (Meziantou's and Roslynator's rules chosen by
    /// their titles, listed on the page). Disposal: undisposed locals and fields, SuppressFinalize. Locking: lock
    /// targets (CA2002 against MSA6004 only), locks released on all paths, shared static state.</summary>
    public static readonly IReadOnlyList<ComparisonGroup> Groups = new[]
    {
        new ComparisonGroup("Allocation (MSA1 heap escapes, MSA2 boxing, MSA3 closures)", new[] { "MSA1", "MSA2", "MSA3" }, new[]
        {
            new PeerRuleSet("Allocation", NetAnalyzers.Name, "CA1825, CA1846, CA1861, CA1859", new[] { "CA1825", "CA1846", "CA1861", "CA1859" }),
            new PeerRuleSet("Allocation", Meziantou.Name, "MA0005, MA0020, MA0029, MA0031, MA0098, MA0105, MA0106, MA0028, MA0089", new[] { "MA0005", "MA0020", "MA0029", "MA0031", "MA0098", "MA0105", "MA0106", "MA0028", "MA0089" }),
            new PeerRuleSet("Allocation", Roslynator.Name, "RCS1077, RCS1080, RCS1107, RCS1197, RCS1198, RCS1235, RCS1246", new[] { "RCS1077", "RCS1080", "RCS1107", "RCS1197", "RCS1198", "RCS1235", "RCS1246" }),
        }),
        new ComparisonGroup("Disposal and finalizers (MSA4)", new[] { "MSA4" }, new[]
        {
            new PeerRuleSet("Disposal", NetAnalyzers.Name, "CA2000, CA2213, CA1816", new[] { "CA2000", "CA2213", "CA1816" }),
            new PeerRuleSet("Disposal", IDisposable.Name, "every rule (IDISP*)", Array.Empty<string>()),
            new PeerRuleSet("Disposal", Sonar.Name, "S2930, S2931", new[] { "S2930", "S2931" }),
        }),
        // CA2002 checks only what a lock statement locks on ("weak identity" objects): the work of our MSA6004
        // alone, so that is what it is compared with; the family's lockset dataflow has no counterpart in the SDK.
        new ComparisonGroup("Lock targets (MSA6004)", new[] { "MSA6004" }, new[]
        {
            new PeerRuleSet("Locking", NetAnalyzers.Name, "CA2002", new[] { "CA2002" }),
        }),
        new ComparisonGroup("Locking and shared state (MSA6)", new[] { "MSA6" }, new[]
        {
            new PeerRuleSet("Locking", Sonar.Name, "S2222, S2445, S2551, S2696, S3998, S6507", new[] { "S2222", "S2445", "S2551", "S2696", "S3998", "S6507" }),
        }),
    };

    /// <summary>The Roslyn version this tool runs (and loads peers into).</summary>
    public static Version ToolRoslyn { get; } = typeof(Compilation).Assembly.GetName().Version!;

    /// <summary>The folder of a package's C# analyzers for the tool's Roslyn: analyzers/dotnet/roslynX.Y/cs with the
    /// highest X.Y not newer than the tool's Roslyn, else analyzers/dotnet/cs, else analyzers (SonarAnalyzer's layout).
    /// Null when the package is not in <paramref name="packagesFolder"/> or has no lane the tool can load.</summary>
    public static string? AnalyzerFolder(string packagesFolder, PeerPackage package, out string? why)
    {
        var root = Path.Combine(packagesFolder, package.PackageId.ToLowerInvariant(), package.Version.ToLowerInvariant(), "analyzers");
        if (!Directory.Exists(root))
        {
            why = "not restored: no " + root + " (restore tests/MemSafety.Analyzers.Corpus)";
            return null;
        }

        var dotnet = Path.Combine(root, "dotnet");
        if (Directory.Exists(dotnet))
        {
            var lanes = Directory.GetDirectories(dotnet, "roslyn*")
                .Select(d => (Folder: d, Version: Version.TryParse(Path.GetFileName(d).Substring("roslyn".Length), out var v) ? v : null))
                .Where(l => l.Version is not null)
                .ToList();
            if (lanes.Count > 0)
            {
                var usable = lanes.Where(l => l.Version! <= new Version(ToolRoslyn.Major, ToolRoslyn.Minor)).OrderByDescending(l => l.Version).ToList();
                if (usable.Count == 0)
                {
                    why = "every Roslyn lane of " + dotnet + " is newer than the tool's Roslyn " + ToolRoslyn.ToString(2);
                    return null;
                }

                why = null;
                return Path.Combine(usable[0].Folder, "cs");
            }

            if (Directory.Exists(Path.Combine(dotnet, "cs")))
            {
                why = null;
                return Path.Combine(dotnet, "cs");
            }
        }

        why = null;
        return root;
    }

    /// <summary>Loads every C# analyzer of the package's folder for this Roslyn. Throws <see cref="UsageException"/> with
    /// the reason when it cannot.</summary>
    public static LoadedPeer Load(string packagesFolder, PeerPackage package)
    {
        var folder = AnalyzerFolder(packagesFolder, package, out var why) ?? throw new UsageException(package.PackageId + " " + package.Version + ": " + why);
        var dlls = Directory.GetFiles(folder, "*.dll").Order(StringComparer.Ordinal).ToList();
        foreach (var dll in dlls)
        {
            var needed = ReferencedRoslyn(dll);
            if (needed is not null && needed > ToolRoslyn)
                throw new UsageException($"{package.PackageId} {package.Version}: {Path.GetFileName(dll)} references Microsoft.CodeAnalysis {needed}, newer than the tool's {ToolRoslyn}");
        }

        var context = new PeerLoadContext(package.Name, folder);
        var analyzers = ImmutableArray.CreateBuilder<DiagnosticAnalyzer>();
        foreach (var dll in dlls)
        {
            // Code fixes need Workspaces, which the tool does not load; they hold no analyzer anyway.
            var file = Path.GetFileName(dll);
            if (file.Contains("CodeFix", StringComparison.OrdinalIgnoreCase) || file.Contains("Workspaces", StringComparison.OrdinalIgnoreCase))
                continue;
            Type?[] types;
            try
            {
                types = context.LoadFromAssemblyPath(dll).GetTypes();
            }
            catch (ReflectionTypeLoadException e)
            {
                types = e.Types;
            }
            catch (BadImageFormatException)
            {
                continue;
            }

            foreach (var type in types.Where(t => t is not null).OrderBy(t => t!.FullName, StringComparer.Ordinal))
            {
                if (type!.IsAbstract || !typeof(DiagnosticAnalyzer).IsAssignableFrom(type) || type.GetConstructor(Type.EmptyTypes) is null)
                    continue;
                DiagnosticAnalyzerAttribute? attribute;
                try
                {
                    attribute = type.GetCustomAttribute<DiagnosticAnalyzerAttribute>();
                }
                catch (Exception e) when (e is FileNotFoundException or TypeLoadException)
                {
                    continue;
                }

                if (attribute is null || !attribute.Languages.Contains(LanguageNames.CSharp))
                    continue;
                try
                {
                    var analyzer = (DiagnosticAnalyzer)Activator.CreateInstance(type)!;
                    _ = analyzer.SupportedDiagnostics;
                    analyzers.Add(analyzer);
                }
                catch (Exception e) when (e is TargetInvocationException or TypeLoadException or FileNotFoundException or MissingMethodException)
                {
                    // An analyzer that cannot be created here would not run in a build either.
                }
            }
        }

        if (analyzers.Count == 0)
            throw new UsageException($"{package.PackageId} {package.Version}: no C# analyzer in {folder}");
        var descriptors = analyzers.SelectMany(a => a.SupportedDiagnostics).GroupBy(d => d.Id, StringComparer.Ordinal)
            .Select(g => g.First()).OrderBy(d => d.Id, StringComparer.Ordinal).ToList();
        return new LoadedPeer { Package = package, Folder = folder, Analyzers = analyzers.ToImmutable(), Descriptors = descriptors };
    }

    /// <summary>The version of Microsoft.CodeAnalysis a DLL references, or null.</summary>
    private static Version? ReferencedRoslyn(string dll)
    {
        try
        {
            using var stream = File.OpenRead(dll);
            using var pe = new PEReader(stream);
            if (!pe.HasMetadata)
                return null;
            var reader = pe.GetMetadataReader();
            foreach (var handle in reader.AssemblyReferences)
            {
                var reference = reader.GetAssemblyReference(handle);
                if (reader.GetString(reference.Name) == "Microsoft.CodeAnalysis")
                    return reference.Version;
            }
        }
        catch (BadImageFormatException)
        {
        }

        return null;
    }

    /// <summary>"IDs: title" lines of a package, for choosing comparable rules (<c>--list-peers</c>).</summary>
    public static string Describe(LoadedPeer peer)
    {
        var lines = new System.Text.StringBuilder();
        lines.AppendLine(CultureInfo.InvariantCulture, $"{peer.Package.PackageId} {peer.Package.Version}: {peer.Analyzers.Length} analyzers, {peer.Descriptors.Count} ids, from {peer.Folder}");
        foreach (var d in peer.Descriptors)
            lines.AppendLine(CultureInfo.InvariantCulture, $"  {d.Id}\t{d.Category}\t{(d.IsEnabledByDefault ? "on" : "off")}\t{d.Title}");
        return lines.ToString();
    }

    /// <summary>Roslyn and everything else the default context has are shared; the package's own dependencies come
    /// from its folder.</summary>
    private sealed class PeerLoadContext : AssemblyLoadContext
    {
        private readonly string _folder;

        public PeerLoadContext(string name, string folder)
            : base("peer " + name, isCollectible: false)
            => _folder = folder;

        protected override Assembly? Load(AssemblyName assemblyName)
        {
            var candidate = Path.Combine(_folder, assemblyName.Name + ".dll");
            if (assemblyName.Name!.StartsWith("Microsoft.CodeAnalysis", StringComparison.Ordinal) && !File.Exists(candidate))
                return null;
            try
            {
                return Default.LoadFromAssemblyName(assemblyName);
            }
            catch (Exception e) when (e is FileNotFoundException or FileLoadException)
            {
                return File.Exists(candidate) ? LoadFromAssemblyPath(candidate) : null;
            }
        }
    }
}
