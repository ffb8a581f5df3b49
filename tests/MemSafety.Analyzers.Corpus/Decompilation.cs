using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using ICSharpCode.Decompiler;
using ICSharpCode.Decompiler.CSharp.ProjectDecompiler;
using ICSharpCode.Decompiler.Metadata;

namespace MemSafety.Analyzers.Corpus;

/// <summary>Decompiles one assembly into a cache folder, one .cs file per top-level type (ILSpy's project
/// layout), and reuses it on later runs. The folder name carries the assembly's MVID and the decompiler's
/// version, so a runtime or decompiler update decompiles afresh.</summary>
internal static class Decompilation
{
    private const string CompleteMarker = ".complete";

    public static string DecompilerVersion { get; } =
        typeof(WholeProjectDecompiler).Assembly.GetName().Version?.ToString() ?? "unknown";

    /// <summary>The folder holding the decompiled sources of <paramref name="assemblyPath"/>, decompiling
    /// first when the cache has no complete copy. <paramref name="seconds"/> is 0 on a cache hit.</summary>
    public static string EnsureDecompiled(string assemblyPath, string cacheRoot, out double seconds)
    {
        var name = Path.GetFileNameWithoutExtension(assemblyPath);
        Guid mvid;
        using (var stream = File.OpenRead(assemblyPath))
        using (var pe = new PEReader(stream))
        {
            var reader = pe.GetMetadataReader();
            mvid = reader.GetGuid(reader.GetModuleDefinition().Mvid);
        }

        var folder = Path.Combine(cacheRoot, name, mvid.ToString("N").Substring(0, 12) + "-ilspy" + DecompilerVersion);
        seconds = 0;
        if (File.Exists(Path.Combine(folder, CompleteMarker)))
            return folder;

        if (Directory.Exists(folder))
            Directory.Delete(folder, recursive: true);
        Directory.CreateDirectory(folder);

        var stopwatch = Stopwatch.StartNew();
        using (var module = new PEFile(assemblyPath, PEStreamOptions.PrefetchEntireImage))
        {
            var resolver = new UniversalAssemblyResolver(assemblyPath, throwOnError: false, module.DetectTargetFrameworkId());
            // C# 13: the newest language Roslyn 4.14 (what the analyzers build against) parses as Latest.
            var settings = new DecompilerSettings(ICSharpCode.Decompiler.CSharp.LanguageVersion.CSharp13_0)
            {
                ThrowOnAssemblyResolveErrors = false,
                UseSdkStyleProjectFormat = true,
                UseNestedDirectoriesForNamespaces = false,
            };
            var decompiler = new SourcesOnlyDecompiler(settings, resolver)
            {
                MaxDegreeOfParallelism = Math.Max(1, Environment.ProcessorCount),
            };
            decompiler.DecompileProject(module, folder, TextWriter.Null);
        }

        stopwatch.Stop();
        seconds = stopwatch.Elapsed.TotalSeconds;
        File.WriteAllText(Path.Combine(folder, CompleteMarker), assemblyPath + Environment.NewLine);
        return folder;
    }

    /// <summary>Writes the code files only: resources (.resx) are large and of no use to the analyzers.</summary>
    private sealed class SourcesOnlyDecompiler : WholeProjectDecompiler
    {
        public SourcesOnlyDecompiler(DecompilerSettings settings, IAssemblyResolver resolver)
            : base(settings, resolver, projectWriter: null, assemblyReferenceClassifier: null, debugInfoProvider: null)
        {
        }

        protected override IEnumerable<ProjectItemInfo> WriteResourceFilesInProject(MetadataFile module)
            => Array.Empty<ProjectItemInfo>();
    }
}
