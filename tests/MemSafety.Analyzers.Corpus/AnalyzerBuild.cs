using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Runtime.Loader;
using MemSafety.Analyzers.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace MemSafety.Analyzers.Corpus;

/// <summary>One build of MemSafety.Analyzers.dll whose analyzers a run uses: the project this tool references,
/// or another build loaded from a path (<c>--analyzer-assembly</c>, <c>--compare</c>), so that one run can
/// time two builds on the same compilations and diff their findings.</summary>
internal sealed class AnalyzerBuild
{
    private AnalyzerBuild(string label, Assembly assembly, string location, IReadOnlyCollection<string> runOnly, bool floor)
    {
        Label = label;
        Location = location;
        Analyzers = CreateAnalyzers(assembly);
        if (runOnly.Count > 0)
            Analyzers = Analyzers.Where(a => a.SupportedDiagnostics.Any(d => runOnly.Any(p => d.Id.StartsWith(p, StringComparison.OrdinalIgnoreCase)))).ToImmutableArray();
        if (floor)
            Analyzers = DispatchFloor.Wrap(Analyzers);
        Descriptors = Analyzers
            .SelectMany(a => a.SupportedDiagnostics)
            .GroupBy(d => d.Id, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        Identity = Describe(location);
    }

    /// <summary>"after" for the build whose findings the report lists, "before" for the one it is compared with.</summary>
    public string Label { get; }

    /// <summary>The file the analyzers were loaded from.</summary>
    public string Location { get; }

    /// <summary>File version, module version id and last write time: which build this was.</summary>
    public string Identity { get; }

    public ImmutableArray<DiagnosticAnalyzer> Analyzers { get; }

    public IReadOnlyDictionary<string, DiagnosticDescriptor> Descriptors { get; }

    /// <summary>The analyzers of the MemSafety.Analyzers project this tool is built with.</summary>
    /// <param name="runOnly">Id prefixes: only the analyzers that report one of them (empty: all).</param>
    /// <param name="floor">Replay each analyzer's registrations with empty callbacks (<see cref="DispatchFloor"/>).</param>
    public static AnalyzerBuild Referenced(string label, IReadOnlyCollection<string>? runOnly = null, bool floor = false)
    {
        var assembly = typeof(MemSafetyAnalyzer).Assembly;
        return new AnalyzerBuild(label, assembly, assembly.Location, runOnly ?? Array.Empty<string>(), floor);
    }

    /// <summary>The analyzers of another build of MemSafety.Analyzers.dll, loaded into a load context of its own
    /// (it has the same name as the referenced one). Roslyn and everything else the default context can load
    /// are shared with it, so its analyzers derive from the very <see cref="DiagnosticAnalyzer"/> this tool runs;
    /// only what the default context lacks is loaded from the DLL's folder. The DLL must be built against this
    /// tool's Roslyn version or an older one.</summary>
    public static AnalyzerBuild Load(string path, string label, IReadOnlyCollection<string>? runOnly = null, bool floor = false)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new UsageException("no analyzer assembly at " + full);
        AssemblyName name;
        try
        {
            name = AssemblyName.GetAssemblyName(full);
        }
        catch (BadImageFormatException)
        {
            throw new UsageException(full + " is not a .NET assembly");
        }

        var context = new AnalyzerLoadContext(full, name.Name!, label);
        return new AnalyzerBuild(label, context.LoadFromAssemblyPath(full), full, runOnly ?? Array.Empty<string>(), floor);
    }

    /// <summary>Every concrete C# <see cref="DiagnosticAnalyzer"/> of the assembly, by reflection, in a stable
    /// order, so a new rule is covered without touching this tool.</summary>
    private static ImmutableArray<DiagnosticAnalyzer> CreateAnalyzers(Assembly assembly)
    {
        Type[] types;
        try
        {
            types = assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException e)
        {
            throw new UsageException("cannot load the types of " + assembly.Location + ": " +
                                     string.Join("; ", e.LoaderExceptions.Where(x => x is not null).Select(x => x!.Message).Distinct()));
        }

        var analyzers = ImmutableArray.CreateBuilder<DiagnosticAnalyzer>();
        foreach (var type in types.OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            if (type.IsAbstract || !typeof(DiagnosticAnalyzer).IsAssignableFrom(type))
                continue;
            var attribute = type.GetCustomAttribute<DiagnosticAnalyzerAttribute>();
            if (attribute is null || !attribute.Languages.Contains(LanguageNames.CSharp))
                continue;
            analyzers.Add((DiagnosticAnalyzer)Activator.CreateInstance(type, nonPublic: true)!);
        }

        if (analyzers.Count == 0)
            throw new UsageException("no analyzer found in " + assembly.Location);
        return analyzers.ToImmutable();
    }

    private static string Describe(string location)
    {
        var version = FileVersionInfo.GetVersionInfo(location).FileVersion ?? "unknown";
        Guid mvid;
        using (var stream = File.OpenRead(location))
        using (var pe = new PEReader(stream))
        {
            var reader = pe.GetMetadataReader();
            mvid = reader.GetGuid(reader.GetModuleDefinition().Mvid);
        }

        return $"{version}, MVID {mvid:D}, written {File.GetLastWriteTimeUtc(location):yyyy-MM-dd HH:mm} UTC";
    }

    private sealed class AnalyzerLoadContext : AssemblyLoadContext
    {
        private readonly string _path;
        private readonly string _folder;
        private readonly string _name;

        public AnalyzerLoadContext(string path, string name, string label)
            : base("MemSafety.Analyzers (" + label + ")", isCollectible: false)
        {
            _path = path;
            _folder = Path.GetDirectoryName(path)!;
            _name = name;
        }

        protected override Assembly? Load(AssemblyName assemblyName)
        {
            if (string.Equals(assemblyName.Name, _name, StringComparison.OrdinalIgnoreCase))
                return LoadFromAssemblyPath(_path);

            // Shared with the tool: Roslyn above all, whose types the analyzers derive from and are handed.
            try
            {
                return Default.LoadFromAssemblyName(assemblyName);
            }
            catch (Exception e) when (e is FileNotFoundException or FileLoadException)
            {
                var candidate = Path.Combine(_folder, assemblyName.Name + ".dll");
                return File.Exists(candidate) ? LoadFromAssemblyPath(candidate) : null;
            }
        }
    }
}
