using System;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text.RegularExpressions;

namespace MemSafety.Analyzers.Tests.Integration;

/// <summary>
/// Dogfooding: our own analyzer and code-fix projects build with the packed package's analyzers on, in its default
/// preset, with the repository's warnings-as-errors. A probe file with an empty finalizer (MSA4001) is compiled into
/// each project so the test also proves the rules were loaded and ran there; any other MSA diagnostic in our own
/// source fails the test. (Strict findings on our own source are judged by hand:
/// tests/MemSafety.Analyzers.Corpus/judged/dogfood-strict.tsv.)
/// </summary>
[Trait("Category", "Integration")]
[Collection(PackageCollection.Name)]
public sealed class DogfoodIntegrationTests
{
    private readonly PackageFixture _package;

    public DogfoodIntegrationTests(PackageFixture package) => _package = package;

    [Fact]
    public void OwnSources_BuildWithThePackagesDefaultRules_NoFindingButTheProbes()
    {
        var root = Path.Combine(_package.Root, "dogfood");
        var extracted = Path.Combine(root, "package");
        ZipFile.ExtractToDirectory(_package.PackagePath, extracted);
        var analyzers = Path.Combine(extracted, "analyzers", "dotnet", "roslyn4.14", "cs");
        Assert.True(File.Exists(Path.Combine(analyzers, "MemSafety.Analyzers.dll")), "the package has no roslyn4.14 analyzer");

        var probe = Path.Combine(root, "DogfoodProbe.cs");
        File.WriteAllText(probe, """
            namespace MemSafety.DogfoodProbe
            {
                internal sealed class EmptyFinalizer
                {
                    ~EmptyFinalizer()
                    {
                    }
                }
            }
            """);

        // Imported after Microsoft.Common.targets of each project (CustomAfterMicrosoftCommonTargets): the package's
        // own build files, as a PackageReference would import them, and its analyzers. A PackageReference itself would
        // rewrite the projects' obj/project.assets.json, which the repository's normal builds use.
        var targets = Path.Combine(root, "dogfood.targets");
        File.WriteAllText(targets, $"""
            <Project>
              <Import Project="{Path.Combine(extracted, "build", "MemSafety.Analyzers.props")}" />
              <Import Project="{Path.Combine(extracted, "build", "MemSafety.Analyzers.targets")}" />
              <ItemGroup>
                <Analyzer Include="{Path.Combine(analyzers, "MemSafety.Analyzers.dll")}" />
                <Analyzer Include="{Path.Combine(analyzers, "MemSafety.CodeFixes.dll")}" />
                <Compile Include="{probe}" />
              </ItemGroup>
              <PropertyGroup>
                <WarningsNotAsErrors>$(WarningsNotAsErrors);MSA4001</WarningsNotAsErrors>
              </PropertyGroup>
            </Project>
            """);

        // The code-fix project builds the analyzer project it references: both are analysed. Configuration Dogfood
        // keeps the intermediate files apart from Debug/Release; restore already ran for the pack.
        var repo = DotNetCli.RepositoryRoot();
        var build = DotNetCli.Run(repo, null, "build", Path.Combine(repo, "src", "MemSafety.CodeFixes", "MemSafety.CodeFixes.csproj"),
            "-c", "Dogfood", "--no-restore", "--no-incremental", "-o", Path.Combine(root, "out"),
            "-p:CustomAfterMicrosoftCommonTargets=" + targets, "-p:UseSharedCompilation=false", "-nodeReuse:false");
        Assert.True(build.ExitCode == 0, build.ToString());

        var findings = Regex.Matches(build.Output, @"^(?<file>[^\r\n]*?)\(\d+,\d+\): (?:warning|error) (?<id>MSA\d{4})[^\r\n]*$", RegexOptions.Multiline)
            .Select(m => m.Value)
            .Distinct(StringComparer.Ordinal)
            .ToList();
        var probes = findings.Where(f => f.StartsWith(probe, StringComparison.Ordinal) && f.Contains("MSA4001", StringComparison.Ordinal)).ToList();
        var own = findings.Except(probes).ToList();
        Assert.True(own.Count == 0, "our own sources have findings of the default preset:" + Environment.NewLine + string.Join(Environment.NewLine, own));
        Assert.Contains(probes, p => p.EndsWith("[" + Path.Combine(repo, "src", "MemSafety.Analyzers", "MemSafety.Analyzers.csproj") + "]", StringComparison.Ordinal));
        Assert.Contains(probes, p => p.EndsWith("[" + Path.Combine(repo, "src", "MemSafety.CodeFixes", "MemSafety.CodeFixes.csproj") + "]", StringComparison.Ordinal));
    }
}
