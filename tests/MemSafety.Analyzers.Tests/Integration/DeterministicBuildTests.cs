using System;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Security.Cryptography;

namespace MemSafety.Analyzers.Tests.Integration;

/// <summary>
/// Package hygiene (docs/reliability.md): the build is deterministic. The repository is rebuilt from scratch (MSBuild's
/// Rebuild, which cleans the referenced analyzer projects too) and packed again; every assembly in the new package has
/// the same bytes as the one in the package the other integration tests use, so a published package can be rebuilt
/// from its commit and checked. Runs in the package collection: never beside another build of the repository.
/// </summary>
[Trait("Category", "Integration")]
[Collection(PackageCollection.Name)]
public sealed class DeterministicBuildTests
{
    private readonly PackageFixture _package;

    public DeterministicBuildTests(PackageFixture package) => _package = package;

    [Fact]
    public void RebuiltFromScratch_EveryShippedAssemblyHasTheSameBytes()
    {
        var repo = DotNetCli.RepositoryRoot();
        var feed = Path.Combine(_package.Root, "rebuilt");
        Directory.CreateDirectory(feed);
        var rebuild = DotNetCli.Run(repo, null, "msbuild", Path.Combine(repo, "src", "MemSafety.Analyzers.Package", "MemSafety.Analyzers.Package.csproj"),
            "-t:Rebuild;Pack", "-p:Configuration=Release", "-p:PackageOutputPath=" + feed, "-p:UseSharedCompilation=false", "-nodeReuse:false", "-v:q");
        Assert.True(rebuild.ExitCode == 0, rebuild.ToString());

        using var first = ZipFile.OpenRead(_package.PackagePath);
        using var second = ZipFile.OpenRead(Directory.GetFiles(feed, "MemSafety.Analyzers.*.nupkg").Single());
        var assemblies = first.Entries.Where(e => e.FullName.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)).ToList();
        Assert.NotEmpty(assemblies);
        Assert.Equal(
            assemblies.Select(e => e.FullName).OrderBy(n => n, StringComparer.Ordinal),
            second.Entries.Where(e => e.FullName.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)).Select(e => e.FullName).OrderBy(n => n, StringComparer.Ordinal));
        foreach (var entry in assemblies)
            Assert.True(Hash(entry) == Hash(second.GetEntry(entry.FullName)!), entry.FullName + " differs between two builds of the same sources");
    }

    private static string Hash(ZipArchiveEntry entry)
    {
        using var stream = entry.Open();
        return Convert.ToHexString(SHA256.HashData(stream));
    }
}
