using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Diagnostics;
using System.Formats.Tar;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;

namespace MemSafety.Analyzers.Corpus;

/// <summary>The list file of third-party libraries (tests/MemSafety.Analyzers.Corpus/third-party.json).</summary>
internal sealed class LibraryList
{
    public string? Description { get; set; }

    public List<LibrarySpec> Libraries { get; set; } = new();

    public static LibraryList Load(string path)
    {
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            ReadCommentHandling = JsonCommentHandling.Skip,
            AllowTrailingCommas = true,
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        };
        LibraryList? list;
        try
        {
            list = JsonSerializer.Deserialize<LibraryList>(File.ReadAllText(path), options);
        }
        catch (JsonException e)
        {
            throw new UsageException(path + ": " + e.Message);
        }

        if (list is null || list.Libraries.Count == 0)
            throw new UsageException(path + ": no libraries");
        foreach (var library in list.Libraries)
            library.Validate(path);
        var duplicate = list.Libraries.GroupBy(l => l.Name, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new UsageException(path + ": library '" + duplicate.Key + "' is listed twice");
        return list;
    }
}

/// <summary>How to compile one project of a library: what its csproj and Directory.Build.* files say for the
/// target framework we mirror, reduced to what the C# compiler needs.</summary>
internal class ProjectSpec
{
    /// <summary>The .csproj, relative to the repository root; its folder is globbed for **/*.cs as the SDK does.</summary>
    public string Project { get; set; } = "";

    /// <summary>Default: the .csproj's file name (InternalsVisibleTo between the projects depends on it).</summary>
    public string? AssemblyName { get; set; }

    /// <summary>The target framework whose settings are mirrored; its SDK preprocessor symbols are implied.</summary>
    public string TargetFramework { get; set; } = "";

    /// <summary>DefineConstants beyond the SDK's implicit ones for <see cref="TargetFramework"/> (and TRACE, RELEASE).</summary>
    public List<string> DefineConstants { get; set; } = new();

    public string LangVersion { get; set; } = "latest";

    public bool Nullable { get; set; }

    public bool AllowUnsafe { get; set; }

    /// <summary>&lt;AssemblyOriginatorKeyFile&gt;, relative to the repository root: the assembly is public-signed
    /// with it, so InternalsVisibleTo entries that name a public key match, as in the real build.</summary>
    public string? KeyFile { get; set; }

    /// <summary>&lt;PublicKey&gt; (hex), for projects that name the key instead of a key file.</summary>
    public string? PublicKey { get; set; }

    /// <summary>&lt;NoWarn&gt; ids that matter for compiling: those that would otherwise be errors, such as
    /// the library's own [Experimental] diagnostic ids.</summary>
    public List<string> NoWarn { get; set; } = new();

    /// <summary>&lt;CheckForOverflowUnderflow&gt;: arithmetic is checked by default.</summary>
    public bool CheckOverflow { get; set; }

    /// <summary>&lt;ImplicitUsings&gt;enable: the SDK's global usings of Microsoft.NET.Sdk.</summary>
    public bool ImplicitUsings { get; set; }

    /// <summary>&lt;Using Include&gt; items: "Namespace", "Alias=Type" or "static Type".</summary>
    public List<string> Usings { get; set; } = new();

    /// <summary>&lt;Using Remove&gt; items.</summary>
    public List<string> RemoveUsings { get; set; } = new();

    /// <summary>Further source globs, relative to the repository root (&lt;Compile Include&gt; of linked files).</summary>
    public List<string> Include { get; set; } = new();

    /// <summary>Globs relative to the repository root that are not compiled (&lt;Compile Remove&gt;).</summary>
    public List<string> Exclude { get; set; } = new();

    public string ProjectFolder => Path.GetDirectoryName(Project)!.Replace('\\', '/');

    public string EffectiveAssemblyName => AssemblyName ?? Path.GetFileNameWithoutExtension(Project);

    internal void ValidateProject(string file, string owner)
    {
        if (!Project.EndsWith(".csproj", StringComparison.OrdinalIgnoreCase) || Path.IsPathRooted(Project))
            throw new UsageException($"{file}: {owner}: project must be a .csproj path relative to the repository root, got '{Project}'");
        if (ThirdPartyCorpus.FrameworkSymbols(TargetFramework) is null)
            throw new UsageException($"{file}: {owner}: targetFramework must be netX.Y, netcoreappX.Y or netstandardX.Y, got '{TargetFramework}'");
        if (!LanguageVersionFacts.TryParse(LangVersion, out _))
            throw new UsageException($"{file}: {owner}: langVersion '{LangVersion}' is not one Roslyn {typeof(CSharpCompilation).Assembly.GetName().Version} knows");
    }
}

internal sealed class LibrarySpec : ProjectSpec
{
    public string Name { get; set; } = "";

    /// <summary>owner/name on GitHub.</summary>
    public string Repository { get; set; } = "";

    /// <summary>The commit analysed: 40 hex digits.</summary>
    public string Commit { get; set; } = "";

    /// <summary>Projects of the same repository that the main project references: compiled first (without
    /// analysis) and referenced as compilations.</summary>
    public List<ProjectSpec> ProjectReferences { get; set; } = new();

    /// <summary>NuGet packages whose compile assets are referenced (transitive ones listed too).</summary>
    public List<PackageSpec> Packages { get; set; } = new();

    /// <summary>Why the settings are what they are, and what is known to be missing (source generators).</summary>
    public string? Notes { get; set; }

    public void Validate(string file)
    {
        if (Name.Length == 0 || Name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
            throw new UsageException($"{file}: library name '{Name}' is empty or not a valid folder name");
        if (!Regex.IsMatch(Repository, "^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$"))
            throw new UsageException($"{file}: {Name}: repository must be owner/name, got '{Repository}'");
        if (!Regex.IsMatch(Commit, "^[0-9a-f]{40}$"))
            throw new UsageException($"{file}: {Name}: commit must be 40 lower-case hex digits, got '{Commit}'");
        ValidateProject(file, Name);
        foreach (var reference in ProjectReferences)
            reference.ValidateProject(file, Name + " → " + reference.Project);
        foreach (var package in Packages)
        {
            if (package.Id.Length == 0 || package.Version.Length == 0)
                throw new UsageException($"{file}: {Name}: a package needs id and version");
        }
    }
}

internal sealed class PackageSpec
{
    public string Id { get; set; } = "";

    public string Version { get; set; } = "";

    public override string ToString() => Id + " " + Version;
}

/// <summary>No analyzer options: what generators of project references see.</summary>
internal sealed class EmptyOptions : Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptionsProvider
{
    public static readonly EmptyOptions Instance = new();

    public override Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptions GlobalOptions => Empty.Instance;

    public override Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptions GetOptions(SyntaxTree tree) => Empty.Instance;

    public override Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptions GetOptions(AdditionalText textFile) => Empty.Instance;

    private sealed class Empty : Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptions
    {
        public static readonly Empty Instance = new();

        public override bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? value)
        {
            value = null;
            return false;
        }
    }
}

/// <summary>Facts about the library a unit was built from, for the report.</summary>
internal sealed record LibraryInfo(string Repository, string Commit, string Project, string TargetFramework, string LangVersion, int DependencyErrors);

/// <summary>Turns the list file into compilable units: sources from the local git mirror at the listed commit
/// (git archive into the cache), references from the net10.0 targeting pack and the NuGet package folder.
/// Uses no network, except <c>dotnet restore</c> with --restore.</summary>
internal sealed class ThirdPartyCorpus
{
    private static readonly string[] SdkImplicitUsings =
    {
        "System", "System.Collections.Generic", "System.IO", "System.Linq", "System.Net.Http", "System.Threading", "System.Threading.Tasks",
    };

    /// <summary>Compile assets of a package are taken from the first of these folders that exists.</summary>
    private static readonly string[] PackageFrameworks =
    {
        "net10.0", "net9.0", "net8.0", "net7.0", "net6.0", "net5.0", "netcoreapp3.1", "netcoreapp3.0", "netcoreapp2.1",
        "netstandard2.1", "netstandard2.0", "netstandard1.6", "netstandard1.3", "netstandard1.1", "netstandard1.0",
    };

    private readonly CorpusOptions _options;
    private readonly IReadOnlyList<MetadataReference> _framework;
    private readonly List<ISourceGenerator> _frameworkGenerators;

    public ThirdPartyCorpus(CorpusOptions options, LibraryList list, IReadOnlyList<MetadataReference> framework, string? frameworkGenerators, TextWriter log)
    {
        _options = options;
        _framework = framework;
        _frameworkGenerators = frameworkGenerators is null ? new List<ISourceGenerator>() : SourceGenerators.FromFolder(frameworkGenerators, log);
        List = list;
    }

    public LibraryList List { get; }

    /// <summary>The libraries selected by --libraries, in list order.</summary>
    public List<LibrarySpec> Selected()
    {
        if (_options.Libraries.Count == 0)
            return List.Libraries.ToList();
        var unknown = _options.Libraries.Where(n => !List.Libraries.Any(l => string.Equals(l.Name, n, StringComparison.OrdinalIgnoreCase))).ToList();
        if (unknown.Count > 0)
            throw new UsageException("not in the list file: " + string.Join(", ", unknown) + " (listed: " + string.Join(", ", List.Libraries.Select(l => l.Name)) + ")");
        return List.Libraries.Where(l => _options.Libraries.Contains(l.Name, StringComparer.OrdinalIgnoreCase)).ToList();
    }

    /// <summary>The git directory of the library's mirror, or null.</summary>
    public string? MirrorOf(LibrarySpec library)
    {
        var parts = library.Repository.Split('/');
        var candidates = new[]
        {
            Path.Combine(_options.MirrorsDirectory, parts[0] + "+" + parts[1], "repo"),
            Path.Combine(_options.MirrorsDirectory, parts[0] + "+" + parts[1]),
            Path.Combine(_options.MirrorsDirectory, parts[0], parts[1]),
            Path.Combine(_options.MirrorsDirectory, parts[1] + ".git"),
        };
        return candidates.FirstOrDefault(c => File.Exists(Path.Combine(c, "HEAD")) && Directory.Exists(Path.Combine(c, "objects")));
    }

    /// <summary>Packages of the selected libraries that the package folder lacks.</summary>
    public List<PackageSpec> MissingPackages(IEnumerable<LibrarySpec> libraries)
        => libraries.SelectMany(l => l.Packages)
            .GroupBy(p => (p.Id.ToLowerInvariant(), p.Version.ToLowerInvariant()))
            .Select(g => g.First())
            .Where(p => !Directory.Exists(PackageFolder(p)))
            .ToList();

    /// <summary>Restores packages through a throwaway project in the cache (outside the repository).</summary>
    public bool RestorePackages(IReadOnlyList<PackageSpec> packages, TextWriter log)
    {
        var folder = Path.Combine(_options.CacheDirectory, "restore");
        Directory.CreateDirectory(folder);
        var project = new StringBuilder();
        project.AppendLine("<Project Sdk=\"Microsoft.NET.Sdk\">");
        project.AppendLine("  <!-- Written by the MemSafety.Analyzers corpus tool (restore option): only restores the packages of the third-party list. -->");
        project.AppendLine("  <PropertyGroup><TargetFramework>net10.0</TargetFramework><ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally></PropertyGroup>");
        project.AppendLine("  <ItemGroup>");
        foreach (var package in packages)
            project.AppendLine($"    <PackageReference Include=\"{package.Id}\" Version=\"[{package.Version}]\" />");
        project.AppendLine("  </ItemGroup>");
        project.AppendLine("</Project>");
        var path = Path.Combine(folder, "restore.csproj");
        File.WriteAllText(path, project.ToString());
        File.WriteAllText(Path.Combine(folder, "Directory.Build.props"), "<Project />\n");
        File.WriteAllText(Path.Combine(folder, "Directory.Build.targets"), "<Project />\n");
        log.WriteLine($"restoring {packages.Count} package(s) through {path}");
        var (exit, output) = Run("dotnet", new[] { "restore", path, "--packages", _options.PackagesDirectory }, folder, binaryOutput: null);
        log.WriteLine(output.TrimEnd());
        return exit == 0;
    }

    private string PackageFolder(PackageSpec package)
        => Path.Combine(_options.PackagesDirectory, package.Id.ToLowerInvariant(), package.Version.ToLowerInvariant());

    /// <summary>Extracts the library (or reuses the cache), compiles its project references and returns the
    /// unit to analyse; null with a reason when it cannot.</summary>
    public CorpusUnit? Prepare(LibrarySpec library, TextWriter log, out string? skipReason)
    {
        skipReason = null;
        var mirror = MirrorOf(library);
        if (mirror is null)
        {
            skipReason = $"no git mirror of {library.Repository} under {_options.MirrorsDirectory}: fetch it first with the search tool, " +
                         $"fetch github:{library.Repository} (it lands in {Path.Combine(_options.MirrorsDirectory, library.Repository.Replace('/', '+'), "repo")})";
            return null;
        }

        var (exists, _) = Run("git", new[] { "--git-dir=" + mirror, "cat-file", "-e", library.Commit + "^{commit}" }, null, binaryOutput: null);
        if (exists != 0)
        {
            skipReason = $"the mirror {mirror} has no commit {library.Commit}: fetch github:{library.Repository} again, or update the list file";
            return null;
        }

        var missing = MissingPackages(new[] { library });
        if (missing.Count > 0)
        {
            skipReason = $"packages missing from {_options.PackagesDirectory}: {string.Join(", ", missing)} (run with --restore)";
            return null;
        }

        var stopwatch = Stopwatch.StartNew();
        var root = Path.Combine(_options.CacheDirectory, "src", library.Name, library.Commit);
        var folders = new[] { (ProjectSpec)library }.Concat(library.ProjectReferences)
            .SelectMany(p => p.Include.Select(StaticPrefix).Prepend(p.ProjectFolder).Concat(p.KeyFile is null ? Array.Empty<string>() : new[] { p.KeyFile }))
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .ToList();
        // A folder inside another one is extracted with it.
        folders = folders.Where(f => !folders.Any(o => o != f && (o.Length == 0 || f.StartsWith(o + "/", StringComparison.Ordinal)))).ToList();
        var marker = Path.Combine(root, ".complete");
        var wanted = string.Join("\n", folders);
        var extracted = false;
        if (!File.Exists(marker) || File.ReadAllText(marker) != wanted)
        {
            if (Directory.Exists(root))
                Directory.Delete(root, recursive: true);
            Directory.CreateDirectory(root);
            var arguments = new List<string> { "--git-dir=" + mirror, "archive", "--format=tar", library.Commit, "--" };
            arguments.AddRange(folders.Select(f => f.Length == 0 ? "." : f));
            using (var tar = new MemoryStream())
            {
                var (exit, error) = Run("git", arguments, null, tar);
                if (exit != 0)
                {
                    skipReason = $"git archive failed: {error.Trim()}";
                    return null;
                }

                tar.Position = 0;
                TarFile.ExtractToDirectory(tar, root, overwriteFiles: true);
            }

            File.WriteAllText(marker, wanted);
            extracted = true;
        }

        var extractSeconds = extracted ? stopwatch.Elapsed.TotalSeconds : 0;
        log.WriteLine(extracted
            ? $"   extracted {library.Repository}@{library.Commit.Substring(0, 12)} ({string.Join(", ", folders)}) in {extractSeconds:F1} s into {root}"
            : $"   sources reused from {root}");

        var packages = new List<MetadataReference>();
        var generators = new List<ISourceGenerator>(_frameworkGenerators);
        foreach (var package in library.Packages)
        {
            var assets = PackageAssets(package);
            if (assets.Count == 0)
                log.WriteLine($"   note: {package} has no compile assets for net10.0 (the framework provides it)");
            packages.AddRange(assets.Select(a => MetadataReference.CreateFromFile(a)));
            if (SourceGenerators.PackageFolder(PackageFolder(package)) is { } analyzers)
                generators.AddRange(SourceGenerators.FromFolder(analyzers, log));
        }

        var references = _framework.Concat(packages).ToList();
        var dependencyErrors = 0;
        foreach (var reference in library.ProjectReferences)
        {
            var trees = Parse(root, reference, out _);
            var compilation = CSharpCompilation.Create(reference.EffectiveAssemblyName, trees, references, CompilationOptions(root, reference, _options.Nullable));
            compilation = SourceGenerators.Run(compilation, generators, ParseOptions(reference), EmptyOptions.Instance, log, reference.Project);
            var errors = compilation.GetDiagnostics().Count(d => d.Severity == DiagnosticSeverity.Error);
            dependencyErrors += errors;
            log.WriteLine($"   project reference {reference.Project}: {trees.Count} files, {errors} compile errors");
            references.Add(compilation.ToMetadataReference());
        }

        var files = SourceFiles(root, library);
        return new CorpusUnit
        {
            Name = library.Name,
            AssemblyName = library.EffectiveAssemblyName,
            SourceRoot = root,
            Files = files,
            ParseOptions = ParseOptions(library),
            GeneratedSources = GlobalUsings(root, library),
            References = references,
            Generators = generators,
            CompilationOptions = CompilationOptions(root, library, _options.Nullable),
            PrepareSeconds = extractSeconds,
            Library = new LibraryInfo(library.Repository, library.Commit, library.Project, library.TargetFramework, library.LangVersion, dependencyErrors),
        };
    }

    private List<SyntaxTree> Parse(string root, ProjectSpec project, out List<string> files)
    {
        files = SourceFiles(root, project);
        var options = ParseOptions(project);
        var trees = files.Select(f => CSharpSyntaxTree.ParseText(SourceText.From(File.ReadAllText(f), Encoding.UTF8), options, f)).ToList();
        foreach (var (path, text) in GlobalUsings(root, project))
            trees.Add(CSharpSyntaxTree.ParseText(SourceText.From(text, Encoding.UTF8), options, path));
        return trees;
    }

    public static CSharpCompilationOptions CompilationOptions(string root, ProjectSpec project, bool? nullableOverride)
    {
        var options = new CSharpCompilationOptions(
            OutputKind.DynamicallyLinkedLibrary,
            allowUnsafe: project.AllowUnsafe,
            nullableContextOptions: (nullableOverride ?? project.Nullable) ? NullableContextOptions.Enable : NullableContextOptions.Disable,
            checkOverflow: project.CheckOverflow,
            concurrentBuild: true,
            deterministic: true);
        if (project.NoWarn.Count > 0)
            options = options.WithSpecificDiagnosticOptions(project.NoWarn.Select(id => new KeyValuePair<string, ReportDiagnostic>(id, ReportDiagnostic.Suppress)));
        // Public signing gives the assembly its identity (name and public key) without the private key;
        // nothing is emitted anyway.
        if (project.KeyFile is not null)
        {
            options = options.WithCryptoKeyFile(Path.Combine(root, project.KeyFile)).WithPublicSign(true)
                .WithStrongNameProvider(new DesktopStrongNameProvider());
        }
        else if (project.PublicKey is not null)
        {
            options = options.WithCryptoPublicKey(Convert.FromHexString(project.PublicKey).ToImmutableArray()).WithPublicSign(true);
        }

        return options;
    }

    private static CSharpParseOptions ParseOptions(ProjectSpec project)
    {
        LanguageVersionFacts.TryParse(project.LangVersion, out var version);
        var symbols = FrameworkSymbols(project.TargetFramework)!
            .Concat(new[] { "TRACE", "RELEASE" })
            .Concat(project.DefineConstants)
            .Distinct(StringComparer.Ordinal);
        return new CSharpParseOptions(version, DocumentationMode.None, SourceCodeKind.Regular, symbols);
    }

    /// <summary>The file the SDK generates for ImplicitUsings and &lt;Using&gt; items (obj/…GlobalUsings.g.cs).</summary>
    private static List<(string Path, string Text)> GlobalUsings(string root, ProjectSpec project)
    {
        var usings = new List<string>();
        if (project.ImplicitUsings)
            usings.AddRange(SdkImplicitUsings);
        usings.AddRange(project.Usings);
        usings.RemoveAll(u => project.RemoveUsings.Contains(u, StringComparer.Ordinal));
        if (usings.Count == 0)
            return new List<(string, string)>();
        var text = new StringBuilder("// <auto-generated/>\n");
        foreach (var item in usings.Distinct(StringComparer.Ordinal))
        {
            var equals = item.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
                text.Append("global using ").Append(item.Substring(0, equals).Trim()).Append(" = global::").Append(item.Substring(equals + 1).Trim()).Append(";\n");
            else if (item.StartsWith("static ", StringComparison.Ordinal))
                text.Append("global using static global::").Append(item.Substring(7).Trim()).Append(";\n");
            else
                text.Append("global using global::").Append(item).Append(";\n");
        }

        var name = Path.GetFileNameWithoutExtension(project.Project);
        return new List<(string, string)> { (Path.Combine(root, project.ProjectFolder, "obj", name + ".GlobalUsings.g.cs"), text.ToString()) };
    }

    /// <summary>**/*.cs of the project folder (bin/ and obj/ excluded, as the SDK does), plus Include, minus Exclude.</summary>
    private static List<string> SourceFiles(string root, ProjectSpec project)
    {
        var folder = project.ProjectFolder;
        var excludes = project.Exclude.Select(Glob)
            .Append(Glob((folder.Length == 0 ? "" : folder + "/") + "bin/**"))
            .Append(Glob((folder.Length == 0 ? "" : folder + "/") + "obj/**"))
            .ToList();
        var files = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(Path.Combine(root, folder), "*.cs", SearchOption.AllDirectories))
            files.Add(Path.GetRelativePath(root, file).Replace('\\', '/'));
        foreach (var include in project.Include)
        {
            var glob = Glob(include);
            var start = Path.Combine(root, StaticPrefix(include));
            if (!Directory.Exists(start))
                continue;
            foreach (var file in Directory.EnumerateFiles(start, "*", SearchOption.AllDirectories))
            {
                var relative = Path.GetRelativePath(root, file).Replace('\\', '/');
                if (glob.IsMatch(relative))
                    files.Add(relative);
            }
        }

        return files.Where(f => !excludes.Any(e => e.IsMatch(f))).Select(f => Path.Combine(root, f)).ToList();
    }

    private static List<string> PackageAssetsIn(string folder)
    {
        foreach (var kind in new[] { "ref", "lib" })
        {
            foreach (var framework in PackageFrameworks)
            {
                var candidate = Path.Combine(folder, kind, framework);
                if (!Directory.Exists(candidate))
                    continue;
                return Directory.GetFiles(candidate, "*.dll").Order(StringComparer.Ordinal).ToList();
            }
        }

        return new List<string>();
    }

    private List<string> PackageAssets(PackageSpec package) => PackageAssetsIn(PackageFolder(package));

    /// <summary>The folder part of a glob before its first wildcard.</summary>
    private static string StaticPrefix(string glob)
    {
        var wildcard = glob.IndexOfAny(new[] { '*', '?', '[' });
        var head = wildcard < 0 ? glob : glob.Substring(0, wildcard);
        var slash = head.LastIndexOf('/');
        return slash < 0 ? "" : head.Substring(0, slash);
    }

    /// <summary>MSBuild-style glob relative to the repository root: ** any folders, * and ? within a name.</summary>
    public static Regex Glob(string glob)
    {
        var pattern = new StringBuilder("^");
        for (var i = 0; i < glob.Length; i++)
        {
            var c = glob[i];
            if (c == '*' && i + 1 < glob.Length && glob[i + 1] == '*')
            {
                var slash = i + 2 < glob.Length && glob[i + 2] == '/';
                pattern.Append(slash ? "(?:.*/)?" : ".*");
                i += slash ? 2 : 1;
            }
            else if (c == '*')
            {
                pattern.Append("[^/]*");
            }
            else if (c == '?')
            {
                pattern.Append("[^/]");
            }
            else
            {
                pattern.Append(Regex.Escape(c.ToString()));
            }
        }

        return new Regex(pattern.Append('$').ToString(), RegexOptions.CultureInvariant);
    }

    /// <summary>The preprocessor symbols the .NET SDK defines for a target framework, or null if unknown.</summary>
    public static List<string>? FrameworkSymbols(string targetFramework)
    {
        var match = Regex.Match(targetFramework, @"^(net|netcoreapp|netstandard)(\d+)\.(\d+)$");
        if (!match.Success)
            return null;
        var kind = match.Groups[1].Value;
        var version = new Version(int.Parse(match.Groups[2].Value), int.Parse(match.Groups[3].Value));
        var symbols = new List<string>();
        string Name(Version v) => v.Major + "_" + v.Minor;
        if (kind == "netstandard")
        {
            symbols.Add("NETSTANDARD");
            symbols.Add("NETSTANDARD" + Name(version));
            foreach (var v in new[] { "1.0", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "2.0", "2.1" }.Select(Version.Parse).Where(v => v <= version))
                symbols.Add("NETSTANDARD" + Name(v) + "_OR_GREATER");
            return symbols;
        }

        if (kind == "net" && version.Major < 5)
            return null; // .NET Framework: not what we compile against
        symbols.Add("NETCOREAPP");
        if (kind == "net")
        {
            symbols.Add("NET");
            symbols.Add("NET" + Name(version));
        }
        else
        {
            symbols.Add("NETCOREAPP" + Name(version));
        }

        foreach (var v in new[] { "1.0", "1.1", "2.0", "2.1", "2.2", "3.0", "3.1" }.Select(Version.Parse).Where(v => v <= version))
            symbols.Add("NETCOREAPP" + Name(v) + "_OR_GREATER");
        for (var major = 5; major <= version.Major; major++)
            symbols.Add("NET" + major + "_0_OR_GREATER");
        return symbols;
    }

    /// <summary>Runs a program without a shell; stdout goes to <paramref name="binaryOutput"/> when given,
    /// and is otherwise returned with stderr.</summary>
    private static (int ExitCode, string Output) Run(string program, IEnumerable<string> arguments, string? workingDirectory, Stream? binaryOutput)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (workingDirectory is not null)
            start.WorkingDirectory = workingDirectory;
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start " + program);
        var error = process.StandardError.ReadToEndAsync();
        string output;
        if (binaryOutput is not null)
        {
            process.StandardOutput.BaseStream.CopyTo(binaryOutput);
            output = "";
        }
        else
        {
            output = process.StandardOutput.ReadToEnd();
        }

        process.WaitForExit();
        return (process.ExitCode, output + error.Result);
    }
}
