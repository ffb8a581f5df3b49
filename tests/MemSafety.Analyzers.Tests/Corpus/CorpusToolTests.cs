using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Runtime.Loader;
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
                "rule\tlibrary\tfile\tline\tmessage\tcolumn\tend_line\tend_column",
                "MSA1005\tAlib\tsrc/B.cs\t2\tearlier line\t1\t2\t5",
                "MSA1002\tAlib\tsrc/B.cs\t10\ta message over lines\t1\t10\t5",
                "MSA2001\tZlib\tsrc/A.cs\t3\tsecond library\t1\t3\t5",
            },
            lines);
    }

    [Fact]
    public void Tsv_SameLineAndRule_OrderedByColumnThenEnd()
    {
        // Two findings of one rule on one line differ only by span: the TSV, and so a diff, must tell them apart.
        var findings = new List<Finding>
        {
            Finding("Lib", "A.cs", 7, "MSA2001", "boxed", column: 20, endLine: 7, endColumn: 24),
            Finding("Lib", "A.cs", 7, "MSA2001", "boxed", column: 5, endLine: 8, endColumn: 2),
            Finding("Lib", "A.cs", 7, "MSA2001", "boxed", column: 5, endLine: 7, endColumn: 9),
        };

        var lines = Report.Tsv(findings).TrimEnd('\n').Split('\n').Skip(1).ToArray();

        Assert.Equal(
            new[]
            {
                "MSA2001\tLib\tA.cs\t7\tboxed\t5\t7\t9",
                "MSA2001\tLib\tA.cs\t7\tboxed\t5\t8\t2",
                "MSA2001\tLib\tA.cs\t7\tboxed\t20\t7\t24",
            },
            lines);
    }

    private const string DiffHeader = "rule\tlibrary\tfile\tline\tmessage\tcolumn\tend_line\tend_column\n";

    [Fact]
    public void Diff_SameFindingsInAnotherOrder_Identical()
    {
        var before = DiffHeader +
                     "MSA1002\tLib\tA.cs\t10\tscratch\t5\t10\t20\n" +
                     "MSA2001\tLib\tB.cs\t3\tboxed\t1\t3\t4\n";
        var after = DiffHeader +
                    "MSA2001\tLib\tB.cs\t3\tboxed\t1\t3\t4\n" +
                    "MSA1002\tLib\tA.cs\t10\tscratch\t5\t10\t20\n";

        var diff = TsvDiff.Compare(before, after);

        Assert.True(diff.Identical);
        Assert.Equal(TsvDiff.KeyColumns, diff.Columns);
        Assert.Contains("IDENTICAL", diff.Format("a.tsv", "b.tsv"), StringComparison.Ordinal);
    }

    [Fact]
    public void Diff_SpanMovedMessageChangedFindingDropped_ListsRemovedAndAdded()
    {
        var before = DiffHeader +
                     "MSA1002\tLib\tA.cs\t10\tscratch\t5\t10\t20\n" +   // kept
                     "MSA2001\tLib\tA.cs\t12\tboxed\t9\t12\t14\n" +     // its span moves
                     "MSA2001\tLib\tB.cs\t3\told words\t1\t3\t4\n" +    // its message changes
                     "MSA1009\tLib\tC.cs\t8\thoist\t2\t8\t30\n";        // dropped
        var after = DiffHeader +
                    "MSA1002\tLib\tA.cs\t10\tscratch\t5\t10\t20\n" +
                    "MSA2001\tLib\tA.cs\t12\tboxed\t10\t12\t14\n" +
                    "MSA2001\tLib\tB.cs\t3\tnew words\t1\t3\t4\n";

        var diff = TsvDiff.Compare(before, after);
        var lines = diff.Format("before.tsv", "after.tsv").Split('\n');

        Assert.False(diff.Identical);
        Assert.Equal(
            new[]
            {
                "- MSA2001\tLib\tA.cs\t12\t9\t12\t14\tboxed",
                "+ MSA2001\tLib\tA.cs\t12\t10\t12\t14\tboxed",
                "- MSA2001\tLib\tB.cs\t3\t1\t3\t4\told words",
                "+ MSA2001\tLib\tB.cs\t3\t1\t3\t4\tnew words",
                "- MSA1009\tLib\tC.cs\t8\t2\t8\t30\thoist",
            },
            lines.Where(l => l.StartsWith("- ", StringComparison.Ordinal) || l.StartsWith("+ ", StringComparison.Ordinal)).ToArray());
        // Reworded: only B.cs:3 stayed in place with another message; A.cs:12 moved.
        Assert.Contains("| MSA1002 | 1 | 1 | 0 | 0 | 0 |", lines);
        Assert.Contains("| MSA1009 | 1 | 0 | 1 | 0 | 0 |", lines);
        Assert.Contains("| MSA2001 | 2 | 2 | 2 | 2 | 1 |", lines);
        Assert.Contains("| total | 4 | 3 | 3 | 2 | 1 |", lines);
    }

    [Fact]
    public void Diff_FindingReportedTwiceThenOnce_OneRemoved()
    {
        // Two diagnostics of one rule on the same span with the same message are two findings, not one.
        const string Row = "MSA2001\tLib\tA.cs\t12\tboxed\t9\t12\t14\n";

        var diff = TsvDiff.Compare(DiffHeader + Row + Row, DiffHeader + Row);

        Assert.Single(diff.Removed);
        Assert.Empty(diff.Added);
    }

    [Fact]
    public void Diff_JudgedListWithoutSpanOrMessage_ComparedOnTheColumnsBothHave()
    {
        // A judged list (committed under judged/) has rule, library, file, line and its verdict columns.
        var judged = "rule\tlibrary\tfile\tline\tverdict\tmessage_clear\treason\n" +
                     "MSA1001\tLib\tA.cs\t170\tworth changing\tyes\tper formatted field\n";
        var run = DiffHeader +
                  "MSA1001\tLib\tA.cs\t170\tchar[16] ...\t9\t170\t30\n" +
                  "MSA1001\tLib\tA.cs\t256\tchar[16] ...\t9\t256\t30\n";

        var diff = TsvDiff.Compare(judged, run);

        Assert.Equal(new[] { "rule", "library", "file", "line" }, diff.Columns);
        Assert.Equal(new[] { "column", "end_line", "end_column", "message" }, diff.Ignored);
        Assert.Empty(diff.Removed);
        Assert.Equal(new[] { "MSA1001", "Lib", "A.cs", "256" }, Assert.Single(diff.Added));
    }

    [Fact]
    public void Diff_RowWithTooFewFields_RefusedWithItsLine()
    {
        var broken = DiffHeader + "MSA1002\tLib\tA.cs\t10\n";

        var error = Assert.Throws<InvalidDataException>(() => TsvDiff.Compare(DiffHeader, broken, "a.tsv", "b.tsv"));

        Assert.StartsWith("b.tsv:2:", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--diff", "a.tsv")]
    [InlineData("--diff", "a.tsv", "b.tsv", "--sample", "0")]
    [InlineData("--sample", "0", "--diff", "a.tsv", "b.tsv")]
    [InlineData("--compare", "x.dll", "--compile-only")]
    public void Options_DiffWithOtherOptionsOrCompareWithoutAnalysis_UsageError(params string[] args)
        => Assert.Throws<UsageException>(() => CorpusOptions.Parse(args));

    [Fact]
    public void AnalyzerBuild_NotAnAssembly_UsageError()
    {
        var path = Path.Combine(Path.GetTempPath(), "memsafety-not-an-assembly-" + Guid.NewGuid().ToString("N") + ".dll");
        File.WriteAllText(path, "not a PE file");
        try
        {
            Assert.Throws<UsageException>(() => AnalyzerBuild.Load(path, "before"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task AnalyzerBuild_LoadedFromPath_OwnLoadContextSharingRoslyn()
    {
        // The referenced build's own DLL, loaded again: a second copy of every analyzer type, in a context of its
        // own. Its analyzers are found only if they derive from the DiagnosticAnalyzer of the Roslyn the tool runs.
        var referenced = typeof(EscapeReportAnalyzer).Assembly;
        var loaded = AnalyzerBuild.Load(referenced.Location, "before");
        var escape = Assert.Single(loaded.Analyzers, a => a.GetType().Name == nameof(EscapeReportAnalyzer));

        Assert.NotSame(referenced, escape.GetType().Assembly);
        Assert.NotSame(AssemblyLoadContext.Default, AssemblyLoadContext.GetLoadContext(escape.GetType().Assembly));
        Assert.Equal(AnalyzerBuild.Referenced("after").Analyzers.Select(a => a.GetType().FullName), loaded.Analyzers.Select(a => a.GetType().FullName));

        // And it runs, reporting what the referenced build reports.
        var options = new Dictionary<string, string> { ["memsafety.MSA1000.scope"] = "everywhere" };
        var specific = ImmutableDictionary<string, ReportDiagnostic>.Empty.Add("MSA1000", ReportDiagnostic.Info);
        var fromLoaded = Assert.Single(await EscapeReportsAsync(null, options, specific, analyzer: escape));
        var fromReferenced = Assert.Single(await EscapeReportsAsync(null, options, specific));
        Assert.Equal(fromReferenced.ToString(), fromLoaded.ToString());
    }

    [Fact]
    public async Task Compare_TwoBuildsOnOneCompilation_FindingsAndTimesForEach()
    {
        var folder = Path.Combine(Path.GetTempPath(), "memsafety-compare-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            var file = Path.Combine(folder, "C.cs");
            File.WriteAllText(file, "class C { object M(int i) => i; object N() => new object(); }");
            var options = CorpusOptions.Parse(new[]
            {
                "--compare", typeof(EscapeReportAnalyzer).Assembly.Location,
                "--option", "memsafety.scope=everywhere", "--option", "memsafety.MSA1000.scope=everywhere", "--enable", "MSA1000",
                "--cache", folder,
            });
            var analysis = new CorpusAnalysis(options, Path.GetDirectoryName(typeof(object).Assembly.Location)!);
            var unit = new CorpusUnit
            {
                Name = "Lib",
                AssemblyName = "Lib",
                SourceRoot = folder,
                Files = new[] { file },
                ParseOptions = new CSharpParseOptions(LanguageVersion.Latest),
                References = Basic.Reference.Assemblies.Net80.References.All,
                CompilationOptions = new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary),
            };

            var outcomes = await analysis.AnalyzeAsync(unit, warmUp: false, TextWriter.Null);

            Assert.Equal(new[] { "after", "before" }, outcomes.Select(o => o.Result.Build));
            Assert.Equal(new[] { "MSA1000", "MSA2001" }, outcomes[0].Findings.Select(f => f.Id).Order(StringComparer.Ordinal));
            Assert.Equal(Report.Tsv(outcomes[0].Findings), Report.Tsv(outcomes[1].Findings));
            Assert.All(outcomes, o => Assert.Equal(analysis.Analyzers.Length, o.Result.AnalyzerSeconds.Count));
            Assert.All(outcomes, o => Assert.Equal(outcomes[0].Result.CompileSeconds, o.Result.CompileSeconds));
            // The probe that pays the driver's generated-code check runs in every build's run, apart from our analyzers.
            Assert.All(outcomes, o => Assert.True(o.Result.GeneratedCodeCheckSeconds > 0));
            Assert.All(outcomes, o => Assert.DoesNotContain(nameof(CorpusAnalysis.GeneratedCodeProbe), o.Result.AnalyzerSeconds.Keys));

            var builds = analysis.Builds.Select((b, i) => new BuildRun(b, new List<AssemblyResult> { outcomes[i].Result }, outcomes[i].Findings)).ToList();
            var diff = TsvDiff.Compare(Report.Tsv(builds[1].Findings), Report.Tsv(builds[0].Findings));
            var markdown = Report.Markdown(options, analysis, new RunSummary(1, Array.Empty<(string, string)>(), null), builds, Report.Sample(options, builds[0].Findings), includeSampleContext: false, diff);
            Assert.Contains("## Builds compared", markdown, StringComparison.Ordinal);
            Assert.Contains("\n| after | 2 |", markdown, StringComparison.Ordinal);
            Assert.Contains("\n| before | 2 |", markdown, StringComparison.Ordinal);
            Assert.Contains("\n| EscapeReportAnalyzer |", markdown, StringComparison.Ordinal);
            Assert.Contains("\n| (driver) generated-code check |", markdown, StringComparison.Ordinal);
            Assert.Contains("**Identical** (2 findings", markdown, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void RunOnly_BoxingPrefix_OnlyAnalyzersReportingThoseIds()
    {
        var all = new CorpusAnalysis(CorpusOptions.Parse(Array.Empty<string>()), Path.GetDirectoryName(typeof(object).Assembly.Location)!);
        var options = CorpusOptions.Parse(new[] { "--run-only", "MSA2", "--compare", typeof(EscapeReportAnalyzer).Assembly.Location });
        var boxing = new CorpusAnalysis(options, Path.GetDirectoryName(typeof(object).Assembly.Location)!);

        Assert.Contains(all.Analyzers, a => a is EscapeReportAnalyzer);
        Assert.All(boxing.Builds, build =>
        {
            Assert.NotEmpty(build.Analyzers);
            Assert.All(build.Analyzers, a => Assert.Contains(a.SupportedDiagnostics, d => d.Id.StartsWith("MSA2", StringComparison.Ordinal)));
        });
        Assert.Equal(
            all.Analyzers.Count(a => a.SupportedDiagnostics.Any(d => d.Id.StartsWith("MSA2", StringComparison.Ordinal))),
            boxing.Analyzers.Length);
        Assert.True(boxing.Analyzers.Length < all.Analyzers.Length);
    }

    private static Finding Finding(string library, string path, int line, string id, string message, int column = 1, int? endLine = null, int endColumn = 5)
        => new(library, id, "Warning", "/x/" + path, path, line, column, endLine ?? line, endColumn, message, "C.M", ImmutableArray<FindingLocation>.Empty);

    private static async Task<ImmutableArray<Diagnostic>> EscapeReportsAsync(
        string? preset,
        IReadOnlyDictionary<string, string>? options = null,
        ImmutableDictionary<string, ReportDiagnostic>? specific = null,
        string source = Allocation,
        DiagnosticAnalyzer? analyzer = null)
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
            ImmutableArray.Create(analyzer ?? new EscapeReportAnalyzer()),
            new AnalyzerOptions(ImmutableArray<AdditionalText>.Empty, configuration.ProviderFor(trees)));
        return await analyzers.GetAnalyzerDiagnosticsAsync(CancellationToken.None);
    }
}
