using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Corpus;
using MemSafety.Analyzers.Rules.HeapEscapes;
using MemSafety.Analyzers.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace MemSafety.Analyzers.Tests.Corpus;

/// <summary>The corpus tool (tests/MemSafety.Analyzers.Corpus) applies presets as a consumer build does and reads
/// the committed third-party list; its numbers are only worth judging if both hold.</summary>
public sealed class CorpusToolTests
{
    // An allocation in a member that is neither hot nor in a loop: MSA1000 reports it only where the scope is 'everywhere'.
    private const string Allocation = "class C { object M() => new object(); }";

    // The same allocation in a member marked hot (any attribute named HotPathAttribute counts).
    private const string HotAllocation = "class HotPathAttribute : System.Attribute { } class C { [HotPath] object M() => new object(); }";

    [Fact]
    public async Task NoPreset_Msa1000KeepsItsDefault_NoDiagnostic()
        => Assert.Empty(await EscapeReportsAsync(preset: null));

    [Fact]
    public async Task RecommendedPreset_Msa1000Off_NoDiagnostic()
        => Assert.Empty(await EscapeReportsAsync("Recommended", new Dictionary<string, string> { ["memsafety.MSA1000.scope"] = "everywhere" }));

    [Fact]
    public async Task StrictPreset_Msa1000SuggestionInHotPathsOnly()
    {
        // The preset's severity line turns the rule on; its memsafety.scope = everywhere is for census-style rules and
        // does not widen the escape report (only memsafety.MSA1000.scope does).
        var diagnostic = Assert.Single(await EscapeReportsAsync("Strict", source: HotAllocation));
        Assert.Equal(DiagnosticSeverity.Info, diagnostic.Severity);
        Assert.Empty(await EscapeReportsAsync("Strict"));
    }

    [Fact]
    public async Task EnableAndOption_OnTopOfRecommended_ReportTheAllocation()
    {
        // --enable acts as a line of the project's .editorconfig, and --option as one of its keys.
        var specific = ImmutableDictionary<string, ReportDiagnostic>.Empty.Add("MSA1000", ReportDiagnostic.Info);
        var diagnostic = Assert.Single(await EscapeReportsAsync("Recommended", new Dictionary<string, string> { ["memsafety.MSA1000.scope"] = "everywhere" }, specific));
        Assert.Equal("MSA1000", diagnostic.Id);
    }

    [Fact]
    public void ThirdPartyList_EveryEntryValid_LoadsWithUniqueNames()
    {
        // Load validates each entry (owner/name, 40-hex commit, .csproj path, target framework, language version).
        var list = LibraryList.Load(Path.Combine(RepositoryFiles.Root, "tests", "MemSafety.Analyzers.Corpus", "third-party.json"));
        Assert.True(list.Libraries.Count >= 8, "the corpus needs a spread of libraries, got " + list.Libraries.Count);
        Assert.All(list.Libraries, library => Assert.DoesNotContain("test", library.Project, StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void FrameworkSymbols_Net8_AsTheSdkDefinesThem()
    {
        var symbols = ThirdPartyCorpus.FrameworkSymbols("net8.0");
        Assert.Equal(
            new[]
            {
                "NETCOREAPP", "NET", "NET8_0",
                "NETCOREAPP1_0_OR_GREATER", "NETCOREAPP1_1_OR_GREATER", "NETCOREAPP2_0_OR_GREATER", "NETCOREAPP2_1_OR_GREATER",
                "NETCOREAPP2_2_OR_GREATER", "NETCOREAPP3_0_OR_GREATER", "NETCOREAPP3_1_OR_GREATER",
                "NET5_0_OR_GREATER", "NET6_0_OR_GREATER", "NET7_0_OR_GREATER", "NET8_0_OR_GREATER",
            },
            symbols);
    }

    [Fact]
    public void FrameworkSymbols_NetFramework_Unknown()
        => Assert.Null(ThirdPartyCorpus.FrameworkSymbols("net48"));

    [Theory]
    [InlineData("src/Lib/**/*.cs", "src/Lib/A.cs", true)]
    [InlineData("src/Lib/**/*.cs", "src/Lib/Deep/Er/A.cs", true)]
    [InlineData("src/Lib/*.cs", "src/Lib/Deep/A.cs", false)]
    [InlineData("src/Lib/obj/**", "src/Lib/obj/Debug/A.cs", true)]
    [InlineData("src/Lib/obj/**", "src/Lib/objects/A.cs", false)]
    [InlineData("src/Shared/Debugger?.cs", "src/Shared/Debugger1.cs", true)]
    public void Glob_LikeMSBuild(string glob, string path, bool matches)
        => Assert.Equal(matches, ThirdPartyCorpus.Glob(glob).IsMatch(path));

    [Fact]
    public void Tsv_OneSortedLinePerFinding_NoTabOrNewlineInsideAField()
    {
        var findings = new List<Finding>
        {
            Finding("Zlib", "src/A.cs", 3, "MSA2001", "second library"),
            Finding("Alib", "src/B.cs", 10, "MSA1002", "a\tmessage\nover lines"),
            Finding("Alib", "src/B.cs", 2, "MSA1005", "earlier line"),
        };

        var lines = Report.Tsv(findings).TrimEnd('\n').Split('\n');

        Assert.Equal(
            new[]
            {
                "rule\tlibrary\tfile\tline\tmessage",
                "MSA1005\tAlib\tsrc/B.cs\t2\tearlier line",
                "MSA1002\tAlib\tsrc/B.cs\t10\ta message over lines",
                "MSA2001\tZlib\tsrc/A.cs\t3\tsecond library",
            },
            lines);
    }

    private static Finding Finding(string library, string path, int line, string id, string message)
        => new(library, id, "Warning", "/x/" + path, path, line, 1, line, message, "C.M", ImmutableArray<FindingLocation>.Empty);

    private static async Task<ImmutableArray<Diagnostic>> EscapeReportsAsync(
        string? preset,
        IReadOnlyDictionary<string, string>? options = null,
        ImmutableDictionary<string, ReportDiagnostic>? specific = null,
        string source = Allocation)
    {
        var presetPath = preset is null ? null : Path.Combine(RepositoryFiles.Root, "build", $"MemSafety.{preset}.globalconfig");
        var configuration = new AnalyzerConfiguration(presetPath, options ?? new Dictionary<string, string>(), specific ?? ImmutableDictionary<string, ReportDiagnostic>.Empty);
        var trees = new[] { CSharpSyntaxTree.ParseText(source, path: "/src/C.cs") };
        var compilation = CSharpCompilation.Create(
            "Lib",
            trees,
            Basic.Reference.Assemblies.Net80.References.All,
            configuration.Apply(new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary), trees));
        Assert.Empty(compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
        var analyzers = compilation.WithAnalyzers(
            ImmutableArray.Create<DiagnosticAnalyzer>(new EscapeReportAnalyzer()),
            new AnalyzerOptions(ImmutableArray<AdditionalText>.Empty, configuration.ProviderFor(trees)));
        return await analyzers.GetAnalyzerDiagnosticsAsync(CancellationToken.None);
    }
}
