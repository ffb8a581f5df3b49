using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text.RegularExpressions;

namespace MemSafety.Analyzers.Tests.Integration;

/// <summary>
/// The real package in a real build: packs MemSafety.Analyzers.nupkg, restores it into fresh consumer
/// projects from a local folder feed and runs the SDK's own <c>dotnet build</c> and <c>dotnet format</c>.
/// Slow (a minute or two), so they carry the Integration trait:
/// <c>dotnet test --filter Category=Integration</c> runs them alone; the default test command runs them too.
/// </summary>
[Trait("Category", "Integration")]
[Collection(PackageCollection.Name)]
public sealed class PackageIntegrationTests
{
    private const string EmptyFinalizerSource = """
        public sealed class Widget : System.IDisposable
        {
            public int Size;

            public void Dispose()
            {
                Size = 0;
                System.GC.SuppressFinalize(this);
            }

            ~Widget()
            {
            }
        }
        """;

    /// <summary>A project without the SDK's analyzers (as a .NET Standard or .NET Framework project is by default):
    /// MSA4001 reports the empty finalizer itself. With them, their CA1821 reports it and MSA4001 leaves it to CA1821
    /// (<see cref="SdkRuleIntegrationTests"/>).</summary>
    private const string WithoutSdkAnalyzers = "<EnableNETAnalyzers>false</EnableNETAnalyzers>";

    private readonly PackageFixture _package;

    public PackageIntegrationTests(PackageFixture package) => _package = package;

    [Fact]
    public void Package_HasAnalyzersBuildFilesAndNoLibOrDependencies()
    {
        using var zip = ZipFile.OpenRead(_package.PackagePath);
        var entries = zip.Entries.Select(e => e.FullName).ToList();
        // One build of both assemblies per Roslyn lane; no lane-less analyzers/dotnet/cs folder (a compiler would load it
        // beside the lane it picks).
        foreach (var lane in Lanes)
        {
            Assert.Contains($"analyzers/dotnet/roslyn{lane}/cs/MemSafety.Analyzers.dll", entries);
            Assert.Contains($"analyzers/dotnet/roslyn{lane}/cs/MemSafety.CodeFixes.dll", entries);
        }

        Assert.Equal(Lanes.Length * 2, entries.Count(e => e.StartsWith("analyzers/", System.StringComparison.Ordinal)));
        foreach (var folder in new[] { "build", "buildTransitive" })
        {
            Assert.Contains($"{folder}/MemSafety.Analyzers.props", entries);
            Assert.Contains($"{folder}/MemSafety.Analyzers.targets", entries);
            Assert.Contains($"{folder}/MemSafety.Recommended.globalconfig", entries);
            Assert.Contains($"{folder}/MemSafety.Strict.globalconfig", entries);
            Assert.Contains($"{folder}/MemSafety.None.globalconfig", entries);
        }

        Assert.Contains("README.md", entries);
        Assert.Contains("LICENSE", entries);
        Assert.DoesNotContain(entries, e => e.StartsWith("lib/"));

        using var nuspec = new StreamReader(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec")).Open());
        var text = nuspec.ReadToEnd();
        Assert.Contains("<developmentDependency>true</developmentDependency>", text);
        Assert.DoesNotContain("<dependencies>", text);

        // Each shipped assembly targets netstandard2.0 (it references netstandard, not System.Runtime) and references no
        // Roslyn newer than its lane's name (a compiler older than the Roslyn an analyzer references refuses to load it:
        // CS8032); besides those, only Roslyn's own dependencies (System.Collections.Immutable, System.Reflection.Metadata …)
        // at versions no newer than Roslyn 4.14's (9.0), which that compiler brings with it.
        foreach (var entry in zip.Entries.Where(e => e.FullName.StartsWith("analyzers/", System.StringComparison.Ordinal) && e.FullName.EndsWith(".dll", System.StringComparison.Ordinal)))
        {
            using var copy = new MemoryStream();
            using (var stream = entry.Open())
                stream.CopyTo(copy);
            copy.Position = 0;
            using var pe = new System.Reflection.PortableExecutable.PEReader(copy);
            var metadata = System.Reflection.Metadata.PEReaderExtensions.GetMetadataReader(pe);
            var laneName = entry.FullName.Split('/')[2];
            Assert.StartsWith("roslyn", laneName);
            var laneVersion = System.Version.Parse(laneName.Substring("roslyn".Length) + ".0.0");
            var names = new System.Collections.Generic.List<string>();
            foreach (var handle in metadata.AssemblyReferences)
            {
                var reference = metadata.GetAssemblyReference(handle);
                var name = metadata.GetString(reference.Name);
                names.Add(name);
                if (name.StartsWith("Microsoft.CodeAnalysis", System.StringComparison.Ordinal))
                    Assert.True(reference.Version <= laneVersion, $"{entry.FullName} references {name} {reference.Version}");
                else
                    Assert.True(name is "netstandard" or "MemSafety.Analyzers" || name.StartsWith("System.", System.StringComparison.Ordinal) && name != "System.Runtime" && reference.Version.Major <= 9,
                        $"{entry.FullName} references {name} {reference.Version}");
            }

            Assert.Contains("netstandard", names);
        }
    }

    private static readonly string[] Lanes = { "3.7", "4.8", "4.14" };

    /// <summary>NuGet never refreshes a version it already caches, so a local pack must not reuse one.</summary>
    [Fact]
    public void LocalPack_HasAUniquePreReleaseVersion_ReleaseBuildThePlainOne()
    {
        var root = DotNetCli.RepositoryRoot();
        var prefix = Regex.Match(File.ReadAllText(Path.Combine(root, "Directory.Build.props")), "<VersionPrefix>(.*)</VersionPrefix>").Groups[1].Value;
        Assert.Matches($@"^{Regex.Escape(prefix)}-dev\.20\d{{12}}$", _package.Version);
        Assert.EndsWith($"MemSafety.Analyzers.{_package.Version}.nupkg", _package.PackagePath);

        var project = Path.Combine(root, "src", "MemSafety.Analyzers.Package", "MemSafety.Analyzers.Package.csproj");
        var release = DotNetCli.Run(root, null, "msbuild", project, "-getProperty:PackageVersion", "-p:MemSafetyRelease=true");
        Assert.True(release.ExitCode == 0, release.ToString());
        Assert.Equal(prefix, release.Output.Trim());
    }

    /// <summary>A project compiled by exactly the compiler of Microsoft.Net.Compilers.Toolset 4.14.0 (what the .NET SDK
    /// 9.0.300 and Visual Studio 17.14 ship) is given the roslyn4.14 lane, and only that lane, and the rules report.</summary>
    [Fact]
    public void OldestSupportedCompiler_RunsTheRules()
    {
        const string source = """
            using System.Collections.Generic;

            public struct Cell { public int Row; public int Column; }

            public static class Index
            {
                public static Dictionary<Cell, int> Create() => new Dictionary<Cell, int>();
            }
            """;
        var dir = _package.CreateConsumer("Roslyn414", source);
        // The .NET 10 SDK puts its own compiler back over a toolset package's unless RoslynCompilerType is set.
        File.WriteAllText(Path.Combine(dir, "Directory.Build.props"), """
            <Project>
              <PropertyGroup>
                <RoslynCompilerType>Toolset</RoslynCompilerType>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Microsoft.Net.Compilers.Toolset" Version="4.14.0" PrivateAssets="all" />
              </ItemGroup>
            </Project>
            """);
        var build = _package.Build(dir, "-v:n");
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Contains("microsoft.net.compilers.toolset/4.14.0/tasks/netcore/bincore/csc.dll", build.Output.Replace('\\', '/'), System.StringComparison.OrdinalIgnoreCase);
        Assert.Contains("warning MSA2003", build.Output);
        Assert.DoesNotContain("CS8032", build.Output);
        var output = build.Output.Replace('\\', '/');
        Assert.Contains("analyzers/dotnet/roslyn4.14/cs/MemSafety.Analyzers.dll", output, System.StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("analyzers/dotnet/roslyn4.8/", output, System.StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("analyzers/dotnet/roslyn3.7/", output, System.StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Build_ReportsEmptyFinalizerAsWarning()
    {
        var dir = _package.CreateConsumer("Plain", EmptyFinalizerSource, WithoutSdkAnalyzers);
        var build = _package.Build(dir);
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Contains("Code.cs(11,6): warning MSA4001: Finalizer of 'Widget' is empty", build.Output);
    }

    [Fact]
    public void WarningsAsErrors_FailsTheBuild()
    {
        var dir = _package.CreateConsumer("Strict", EmptyFinalizerSource, "<TreatWarningsAsErrors>true</TreatWarningsAsErrors>" + WithoutSdkAnalyzers);
        var build = _package.Build(dir);
        Assert.True(build.ExitCode != 0, build.ToString());
        Assert.Contains("error MSA4001", build.Output);
    }

    [Fact]
    public void ModeNone_SilencesTheRule()
    {
        var dir = _package.CreateConsumer("ModeNone", EmptyFinalizerSource, "<MemSafetyMode>None</MemSafetyMode>" + WithoutSdkAnalyzers);
        var build = _package.Build(dir, "-warnaserror");
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.DoesNotContain("MSA4001", build.Output);
    }

    [Fact]
    public void EditorConfigSeverityNone_SilencesTheRuleOverThePreset()
    {
        var dir = _package.CreateConsumer("EditorConfig", EmptyFinalizerSource, "<MemSafetyMode>Strict</MemSafetyMode>" + WithoutSdkAnalyzers);
        File.WriteAllText(Path.Combine(dir, ".editorconfig"), "root = true\n\n[*.cs]\ndotnet_diagnostic.MSA4001.severity = none\n");
        var build = _package.Build(dir, "-warnaserror");
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.DoesNotContain("MSA4001", build.Output);
    }

    /// <summary>MSA5006: the default preset raises the compiler's downgraded ref-safety warnings back to errors and
    /// the rule names the unsafe method; with the presets off (<c>None</c>) the compiler's warning is all there is.</summary>
    [Fact]
    public void DefaultPreset_RaisesTheDowngradedRefSafetyWarningToAnError_NoneLeavesItAWarning()
    {
        const string source = """
            public static class Buffers
            {
                public static unsafe System.Span<int> Scratch(int* seed)
                {
                    System.Span<int> buffer = stackalloc int[4];
                    buffer[0] = *seed;
                    return buffer;
                }
            }
            """;
        const string unsafeBlocks = "<AllowUnsafeBlocks>true</AllowUnsafeBlocks>" + WithoutSdkAnalyzers;

        var recommended = _package.Build(_package.CreateConsumer("RefSafetyRecommended", source, unsafeBlocks));
        Assert.True(recommended.ExitCode != 0, recommended.ToString());
        Assert.Contains("Code.cs(7,16): error CS9080", recommended.Output);
        Assert.Contains("Code.cs(3,19): warning MSA5006: 'unsafe' on method 'Scratch' turns the compiler's ref-safety error on line 7 into warning CS9080", recommended.Output);

        var none = _package.Build(_package.CreateConsumer("RefSafetyNone", source, "<MemSafetyMode>None</MemSafetyMode>" + unsafeBlocks));
        Assert.True(none.ExitCode == 0, none.ToString());
        Assert.Contains("Code.cs(7,16): warning CS9080", none.Output);
        Assert.DoesNotContain("MSA5006", none.Output);
    }

    [Fact]
    public void UnknownMode_WarnsAndKeepsDefaults()
    {
        var dir = _package.CreateConsumer("BadMode", EmptyFinalizerSource, "<MemSafetyMode>Everything</MemSafetyMode>" + WithoutSdkAnalyzers);
        var build = _package.Build(dir);
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Contains("warning MSA0001: MemSafetyMode 'Everything'", build.Output);
        Assert.Contains("warning MSA4001", build.Output);
    }

    [Fact]
    public void GenerateAttributes_AddsTheInternalHotPathOwnershipAndLockAttributes()
    {
        const string source = """
            namespace App
            {
                [MemSafety.HotPath]
                public static class Parser
                {
                    [MemSafety.HotPath]
                    public static int Parse(string s) => s.Length;

                    [MemSafety.ReturnsOwned]
                    public static System.IO.Stream Open(string path) => System.IO.File.OpenRead(path);

                    public static void Adopt([MemSafety.TransfersOwnership] System.IO.Stream stream) => stream.Dispose();

                    [MemSafety.NotOwned]
                    public static System.IO.Stream Shared => System.IO.Stream.Null;
                }

                public sealed class Counter
                {
                    private readonly object _gate = new object();
                    [MemSafety.GuardedBy(nameof(_gate))] private int _count;
                    public void Add() { lock (_gate) { Bump(); } }
                    [MemSafety.RequiresLock(nameof(_gate))] private void Bump() => _count++;
                    [MemSafety.ThreadConfined] public int Peek() => _count;
                }
            }
            """;
        var without = _package.CreateConsumer("NoAttributes", source);
        var failed = _package.Build(without);
        Assert.True(failed.ExitCode != 0 && failed.Output.Contains("error CS0246: The type or namespace name 'MemSafety'"), failed.ToString());

        var with = _package.CreateConsumer("WithAttributes", source, "<MemSafetyGenerateAttributes>true</MemSafetyGenerateAttributes>");
        var build = _package.Build(with, "-warnaserror");
        Assert.True(build.ExitCode == 0, build.ToString());
    }

    [Fact]
    public void ReadmeRunCommand_BuildsTheSamplesAndPrintsTheirDiagnostics()
    {
        // Exactly the README's first command. In this class so it never builds the repository's
        // projects in Release at the same time as the fixture's pack.
        var repo = DotNetCli.RepositoryRoot();
        var build = DotNetCli.Run(repo, null, "build", "samples/MemSafety.Samples", "-c", "Release", "--no-incremental", "-v:q",
            "-nodeReuse:false", "-p:UseSharedCompilation=false");
        Assert.True(build.ExitCode == 0, build.ToString());
        var lines = build.Output.Split('\n').Where(l => l.Contains(": warning MSA")).ToList();
        Assert.Contains(lines, l => l.Contains("MSA4001.EmptyFinalizer.Before.cs(19,6): warning MSA4001: Finalizer of 'PooledConnection' is empty"));
        Assert.Contains(lines, l => l.Contains("MSA4001.EmptyFinalizer.Before.cs(28,6): warning MSA4001: Finalizer of 'TrackedBuffer' only calls methods compiled under 'DEBUG'"));
        Assert.DoesNotContain(lines, l => l.Contains(".After.cs"));
    }

    [Fact]
    public void DotnetFormat_AppliesTheFixAndTheProjectThenBuildsClean()
    {
        var dir = _package.CreateConsumer("Format", EmptyFinalizerSource, WithoutSdkAnalyzers);
        var restore = _package.Dotnet(dir, "restore");
        Assert.True(restore.ExitCode == 0, restore.ToString());

        var format = _package.Dotnet(dir, "format", "analyzers", "--diagnostics", "MSA4001", "--severity", "info", "--no-restore");
        Assert.True(format.ExitCode == 0, format.ToString());

        var code = File.ReadAllText(Path.Combine(dir, "Code.cs")).ReplaceLineEndings("\n");
        Assert.Equal("""
            public sealed class Widget : System.IDisposable
            {
                public int Size;

                public void Dispose()
                {
                    Size = 0;
                }
            }
            """, code);

        var build = _package.Build(dir, "-warnaserror");
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.DoesNotContain("MSA4001", build.Output);
    }

    private const string BoxingSource = """
        using System;
        using System.Collections.Generic;

        public interface IShape { int Area(); }
        public struct Square : IShape { public int Side; public int Area() => Side * Side; }
        public struct Cell { public int Row; public int Column; }

        // The census rules (MSA2001, MSA2006) report in hot paths by default: an attribute named HotPathAttribute marks one.
        [AttributeUsage(AttributeTargets.All)]
        public sealed class HotPathAttribute : Attribute { }

        [HotPath]
        public static class Geometry
        {
            private static int Measure(IShape shape) => shape.Area();

            public static int Total(Square[] squares)
            {
                var total = 0;
                foreach (var s in squares)
                    total += Measure(s);
                foreach (var s in squares)
                    total += Measure(s);
                return total;
            }

            public static Dictionary<Cell, int> Index() => new Dictionary<Cell, int>();

            public static HashSet<Cell> Set() => new HashSet<Cell>();

            public static int Sum(int n)
            {
                IEnumerable<int> items = new List<int> { 1, 2 };
                var total = 0;
                for (var i = 0; i < n; i++)
                {
                    foreach (var x in items)
                        total += x;
                }
                return total;
            }
        }
        """;

    /// <summary>The three boxing fixes that edit a declaration other than the reported node (a method, a struct,
    /// a variable), each with its own Fix All provider, run through the SDK's dotnet format: every declaration is
    /// rewritten once although several diagnostics point at it, and the result builds clean as errors.</summary>
    [Fact]
    public void DotnetFormat_BoxingFixesEditEachDeclarationOnce_AndTheProjectBuildsClean()
    {
        var dir = _package.CreateConsumer("FormatBoxing", BoxingSource);
        var before = _package.Build(dir);
        Assert.True(before.ExitCode == 0, before.ToString());
        foreach (var id in new[] { "MSA2001", "MSA2003", "MSA2006" })
            Assert.Contains("warning " + id, before.Output);

        var format = _package.Dotnet(dir, "format", "analyzers", "--diagnostics", "MSA2001", "MSA2003", "MSA2006", "--severity", "info", "--no-restore");
        Assert.True(format.ExitCode == 0, format.ToString());

        var code = File.ReadAllText(Path.Combine(dir, "Code.cs")).ReplaceLineEndings("\n");
        Assert.Contains("private static int Measure<TShape>(TShape shape) where TShape : IShape => shape.Area();", code);
        Assert.Contains("public struct Cell : IEquatable<Cell>", code);
        Assert.Single(Regex.Matches(code, @"public bool Equals\(Cell other\)"));
        Assert.Contains("List<int> items = new List<int> { 1, 2 };", code);
        Assert.DoesNotContain("IEnumerable<int> items", code);

        var build = _package.Build(dir, "-warnaserror");
        Assert.True(build.ExitCode == 0, build.ToString() + "\n" + code);
        Assert.DoesNotContain("MSA20", build.Output);
    }
}
