using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using MemSafety.Analyzers.Tests.Verification;

namespace MemSafety.Analyzers.Tests.Infrastructure;

/// <summary>The samples show what they claim: every <c>MSAnnnn.*.Before.cs</c> reports that rule and
/// only it, every <c>*.After.cs</c> reports nothing, with all analyzers on (Release-like: no DEBUG). The samples of
/// <c>Unity/</c> show an engine's per-frame method, hot by convention: they run in the default scope (hot paths), not
/// the samples project's Strict one, so that they report only because Update is hot.</summary>
public sealed class SamplesTests
{
    public static TheoryData<string> SampleFiles()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Path.Combine(RepositoryFiles.Root, "samples", "MemSafety.Samples"), "*.cs", SearchOption.AllDirectories))
        {
            var name = Path.GetFileName(file);
            if (name.EndsWith(".Before.cs") || name.EndsWith(".After.cs"))
                data.Add(Path.GetRelativePath(RepositoryFiles.Root, file));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(SampleFiles))]
    public async Task Sample_ReportsExactlyItsRule(string relativePath)
    {
        var name = Path.GetFileName(relativePath);
        var id = name.Substring(0, name.IndexOf('.'));
        var test = new AnalyzerTest(RepositoryFiles.Analyzers.ToArray());
        test.Sources.Add(File.ReadAllText(Path.Combine(RepositoryFiles.Root, relativePath)));
        // Files beside the samples that are no sample themselves (the UnityEngine stand-ins) compile with them.
        foreach (var support in Directory.GetFiles(Path.GetDirectoryName(Path.Combine(RepositoryFiles.Root, relativePath))!, "*.cs"))
        {
            if (!support.EndsWith(".Before.cs") && !support.EndsWith(".After.cs"))
                test.Sources.Add(File.ReadAllText(support));
        }

        // The samples project compiles the package's [MemSafety.HotPath] attribute (MemSafetyGenerateAttributes).
        test.Sources.Add(RepositoryFiles.Read("build", "MemSafety.HotPathAttribute.cs"));
        test.Sources.Add(RepositoryFiles.Read("build", "MemSafety.OwnershipAttributes.cs"));
        test.Sources.Add(RepositoryFiles.Read("build", "MemSafety.ThreadSafetyAttributes.cs"));
        // The samples project runs in Strict mode (census-style rules everywhere): check the same thing here.
        if (!relativePath.Replace('\\', '/').Contains("/Unity/"))
            test.AnalyzerOptions["memsafety.scope"] = "everywhere";
        // A rule that is off by default (a report, with no fixed state) is turned on for its own Before sample,
        // as a user would while looking at that code.
        if (name.EndsWith(".Before.cs") && MemSafety.Analyzers.Core.RuleCatalogue.All.Single(d => d.Id == id) is { IsEnabledByDefault: false })
            test.DiagnosticSeverities[id] = Microsoft.CodeAnalysis.ReportDiagnostic.Warn;
        var diagnostics = await test.AnalyzeAsync();
        var ids = diagnostics.Select(d => d.Id).ToList();
        if (name.EndsWith(".Before.cs"))
        {
            Assert.NotEmpty(ids);
            Assert.All(ids, actual => Assert.Equal(id, actual));
        }
        else
        {
            Assert.Empty(ids);
        }
    }
}
