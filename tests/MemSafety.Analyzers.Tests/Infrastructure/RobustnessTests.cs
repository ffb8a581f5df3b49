using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using MemSafety.Analyzers.Tests.Verification;

namespace MemSafety.Analyzers.Tests.Infrastructure;

/// <summary>
/// Code as typed in an editor is incomplete most of the time. Every analyzer runs over every sample cut
/// off at ten points (mid-token, mid-statement, mid-type) and with lines deleted; an analyzer exception
/// (AD0001) fails the test. Diagnostics themselves are not checked here.
/// </summary>
public sealed class RobustnessTests
{
    public static TheoryData<string> Samples()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Path.Combine(RepositoryFiles.Root, "samples", "MemSafety.Samples"), "*.Before.cs", SearchOption.AllDirectories))
            data.Add(Path.GetRelativePath(RepositoryFiles.Root, file));
        return data;
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public async Task TruncatedSample_NoAnalyzerThrows(string relativePath)
    {
        var text = File.ReadAllText(Path.Combine(RepositoryFiles.Root, relativePath));
        for (var tenth = 1; tenth <= 10; tenth++)
        {
            // Cut a few characters past each tenth so cuts land inside tokens too.
            var length = Math.Min(text.Length, text.Length * tenth / 10 + tenth);
            await Analyze(text.Substring(0, length));
        }
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public async Task SampleWithLinesDeleted_NoAnalyzerThrows(string relativePath)
    {
        var lines = File.ReadAllLines(Path.Combine(RepositoryFiles.Root, relativePath));
        var random = new Random(relativePath.Length);
        for (var round = 0; round < 6; round++)
        {
            var kept = lines.Where(_ => random.Next(5) != 0);
            await Analyze(string.Join("\n", kept));
        }
    }

    private static async Task Analyze(string source)
    {
        var test = new AnalyzerTest(RepositoryFiles.Analyzers.ToArray()) { AllowCompilerErrors = true };
        test.Sources.Add(source);
        test.Sources.Add(RepositoryFiles.Read("build", "MemSafety.HotPathAttribute.cs"));
        test.AnalyzerOptions["memsafety.scope"] = "everywhere";
        foreach (var descriptor in MemSafety.Analyzers.Core.RuleCatalogue.All)
            test.DiagnosticSeverities[descriptor.Id] = Microsoft.CodeAnalysis.ReportDiagnostic.Warn;
        await test.AnalyzeAsync();
    }
}
