using System;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Testing;

namespace MemSafety.Analyzers.Tests.Verification;

/// <summary>
/// Runs Microsoft.CodeAnalysis.Testing (1.1.4, DefaultVerifier) without network: its <see cref="ReferenceAssemblies"/>
/// resolve no package (their NuGet sources are an empty local feed) and the compilation references are our
/// <see cref="ReferenceSet"/>s from Basic.Reference.Assemblies / the System.Memory package.
/// </summary>
public static class MicrosoftTesting
{
    private static readonly Lazy<string> EmptyFeedConfig = new(() =>
    {
        var folder = Path.Combine(Path.GetTempPath(), "memsafety-empty-feed");
        Directory.CreateDirectory(Path.Combine(folder, "feed"));
        var config = Path.Combine(folder, "nuget.config");
        File.WriteAllText(config, """
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="empty" value="feed" />
              </packageSources>
            </configuration>
            """);
        return config;
    });

    /// <summary>Reference assemblies that resolve nothing from NuGet; add <see cref="References"/> to the test state.</summary>
    public static ReferenceAssemblies NoPackages { get; } = new ReferenceAssemblies("net8.0").WithNuGetConfigFilePath(EmptyFeedConfig.Value);

    /// <summary>Configures a test of the library to compile against one of our reference sets, offline.</summary>
    public static TTest Offline<TTest>(this TTest test, ReferenceSet references = ReferenceSet.Net80)
        where TTest : AnalyzerTest<DefaultVerifier>
    {
        test.ReferenceAssemblies = NoPackages;
        test.TestState.AdditionalReferences.AddRange(ReferenceSets.References(references).ToArray());
        if (test is CodeFixTest<DefaultVerifier> fixTest)
            fixTest.FixedState.AdditionalReferences.AddRange(ReferenceSets.References(references).ToArray());
        return test;
    }
}
