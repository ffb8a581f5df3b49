using System;
using System.IO;
using System.Linq;

namespace MemSafety.Analyzers.Tests.Integration;

/// <summary>Packs the real MemSafety.Analyzers.nupkg once into a local folder feed, with a package
/// cache of its own so that a stale package of the same version can never be restored. Shared by every
/// integration test class (<see cref="PackageCollection"/>): one pack per run, and the classes run one
/// after another, never building the repository's projects while the pack does.</summary>
public sealed class PackageFixture : IDisposable
{
    public PackageFixture()
    {
        Root = Path.Combine(Path.GetTempPath(), "memsafety-it-" + Guid.NewGuid().ToString("N"));
        Feed = Path.Combine(Root, "feed");
        Packages = Path.Combine(Root, "packages");
        Directory.CreateDirectory(Feed);
        Directory.CreateDirectory(Packages);

        var repo = DotNetCli.RepositoryRoot();
        var pack = DotNetCli.Run(repo, null, "pack", Path.Combine(repo, "src", "MemSafety.Analyzers.Package", "MemSafety.Analyzers.Package.csproj"),
            "-c", "Release", "-o", Feed, "-p:UseSharedCompilation=false", "-nodeReuse:false");
        if (pack.ExitCode != 0)
            throw new InvalidOperationException("dotnet pack failed: " + pack);
        PackagePath = Directory.GetFiles(Feed, "MemSafety.Analyzers.*.nupkg").Single();
        Version = Path.GetFileNameWithoutExtension(PackagePath).Substring("MemSafety.Analyzers.".Length);
    }

    public string Root { get; }
    public string Feed { get; }
    public string Packages { get; }
    public string PackagePath { get; }
    public string Version { get; }

    /// <summary>A fresh consumer project in its own folder, referencing the package from the feed (or, for a
    /// baseline of what the SDK alone reports, not referencing it), with an optional .editorconfig.</summary>
    public string CreateConsumer(string name, string source, string extraProperties = "", string? editorConfig = null, bool withPackage = true)
    {
        var dir = Path.Combine(Root, name);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{Feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
              <packageSourceMapping>
                <packageSource key="local"><package pattern="MemSafety.Analyzers" /></packageSource>
                <packageSource key="nuget.org"><package pattern="*" /></packageSource>
              </packageSourceMapping>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(dir, name + ".csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                {extraProperties}
              </PropertyGroup>
              <ItemGroup>
                {(withPackage ? $"<PackageReference Include=\"MemSafety.Analyzers\" Version=\"{Version}\" />" : string.Empty)}
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(dir, "Code.cs"), source);
        if (editorConfig is not null)
            File.WriteAllText(Path.Combine(dir, ".editorconfig"), "root = true\n\n[*.cs]\n" + editorConfig);
        return dir;
    }

    public DotNetCli.Result Dotnet(string dir, params string[] arguments) => DotNetCli.Run(dir, Packages, arguments);

    public DotNetCli.Result Build(string dir, params string[] extra)
        => Dotnet(dir, new[] { "build", "-nodeReuse:false", "-p:UseSharedCompilation=false", "--no-incremental" }.Concat(extra).ToArray());

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is not worth failing the run for.
        }
    }
}

[CollectionDefinition(Name)]
public sealed class PackageCollection : ICollectionFixture<PackageFixture>
{
    public const string Name = "Package";
}
