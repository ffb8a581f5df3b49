using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Corpus;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;
using Xunit.Abstractions;

namespace MemSafety.Analyzers.Tests.Reliability;

/// <summary>
/// Fix All at scale on real code (docs/reliability.md): a decompiled runtime assembly, every rule on everywhere (as the
/// Strict preset with every rule a warning), and for each rule with a fix, Fix All in the solution under the key of the
/// first finding that has a fix, pass after pass (at most <see cref="MaxPasses"/>) until the rule reports nothing that fix
/// is offered for. After every pass the assembly has no compiler error it did not have before (decompiled code has a
/// few of its own). CI fixes one small assembly; <c>MEMSAFETY_FIXALL_ASSEMBLIES</c> names others (comma-separated, or
/// <c>all</c> for the corpus tool's 91) for a long run.
/// </summary>
public sealed class CorpusFixAllTests
{
    private const int MaxPasses = 3;

    /// <summary>Small (30 decompiled files, 4,000 lines), quick to decompile in a fresh clone, and rules with fixes report
    /// there at scope=everywhere (MSA6001 on the list its collection guards with another type's lock).</summary>
    private const string CiAssembly = "System.Diagnostics.TraceSource";

    private readonly ITestOutputHelper _output;

    public CorpusFixAllTests(ITestOutputHelper output) => _output = output;

    public static TheoryData<string> Assemblies()
    {
        var data = new TheoryData<string>();
        var named = Environment.GetEnvironmentVariable("MEMSAFETY_FIXALL_ASSEMBLIES");
        IEnumerable<string> names = string.IsNullOrWhiteSpace(named) ? new[] { CiAssembly }
            : named.Trim() == "all" ? NewAnalysis().AllAssembliesWithCode()
            : named.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var name in names)
            data.Add(name);
        return data;
    }

    [Theory]
    [MemberData(nameof(Assemblies))]
    public async Task FixAllOfEveryFixableRule_NoNewCompilerErrors_NothingLeftToFix(string assembly)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(20));
        var token = timeout.Token;
        var unit = NewAnalysis().RuntimeUnit(assembly, TextWriter.Null);
        using var workspace = new AdhocWorkspace();
        var project = CreateProject(workspace, unit);
        var baselineErrors = await ErrorsAsync(project, token);

        var fixers = RepositoryFiles.CodeFixes;
        var fixedAny = 0;
        foreach (var id in RuleCatalogue.All.Select(d => d.Id).Where(id => fixers.Any(f => f.FixableDiagnosticIds.Contains(id))))
        {
            var fixer = fixers.Single(f => f.FixableDiagnosticIds.Contains(id));
            var analyzers = RepositoryFiles.Analyzers.Where(a => a.SupportedDiagnostics.Any(d => d.Id == id)).ToImmutableArray();
            for (var pass = 1; ; pass++)
            {
                var reported = await AnalyzeAsync(project, analyzers, id, token);
                var (key, offered) = await FuzzHarness.OfferedAsync(project, fixer, reported, token);
                if (offered.Count == 0)
                {
                    if (pass == 1 && reported.Count > 0)
                        _output.WriteLine($"{assembly} {id}: {reported.Count} reported, none with a fix");
                    break;
                }

                Assert.True(pass <= MaxPasses, $"{assembly}: Fix All of {id} ('{key}') still has {offered.Count} findings to fix after {MaxPasses} passes");
                _output.WriteLine($"{assembly} {id} pass {pass}: {reported.Count} reported, {offered.Count} fixed with '{key}'");
                var first = project.GetDocument(offered[0].Location.SourceTree)!;
                var context = new FixAllContext(first, fixer, FixAllScope.Solution, key!, new[] { id }, new FuzzHarness.Diagnostics(offered), token);
                var action = await fixer.GetFixAllProvider()!.GetFixAsync(context);
                Assert.True(action is not null, $"{assembly}: Fix All of {id} returned no action");
                project = (await action!.GetOperationsAsync(token)).OfType<ApplyChangesOperation>().Single().ChangedSolution.GetProject(project.Id)!;
                fixedAny += offered.Count;

                var errors = await ErrorsAsync(project, token);
                var introduced = errors.Keys.Where(e => errors[e] > baselineErrors.GetValueOrDefault(e)).ToList();
                Assert.True(introduced.Count == 0, $"{assembly}: Fix All of {id} (pass {pass}) introduced compiler errors:\n{string.Join("\n", introduced.Take(20))}\n"
                                                   + await WhereAsync(project, introduced, token));
            }
        }

        // The CI assembly is chosen for findings with fixes: a run that fixes nothing there tests nothing.
        Assert.True(fixedAny > 0 || assembly != CiAssembly, $"{assembly}: no finding with a fix");
    }

    /// <summary>The lines, after the fix, of the first few introduced errors.</summary>
    private static async Task<string> WhereAsync(Project project, List<string> introduced, CancellationToken token)
    {
        var lines = new List<string>();
        foreach (var error in (await project.GetCompilationAsync(token))!.GetDiagnostics(token))
        {
            if (error.Severity != DiagnosticSeverity.Error || !introduced.Contains(error.Id + " " + error.GetMessage()) || lines.Count >= 5)
                continue;
            var span = error.Location.GetLineSpan();
            var text = (await error.Location.SourceTree!.GetTextAsync(token)).Lines;
            var from = Math.Max(0, span.StartLinePosition.Line - 6);
            var to = Math.Min(text.Count - 1, span.StartLinePosition.Line + 2);
            lines.Add($"{span.Path}({span.StartLinePosition.Line + 1}):\n" + string.Join("\n", Enumerable.Range(from, to - from + 1).Select(i => text[i].ToString())));
        }

        return string.Join("\n", lines);
    }

    /// <summary>The corpus tool's runtime corpus: decompiled into its cache (the tool's default folder), compiled against
    /// the framework this test runs on.</summary>
    private static CorpusAnalysis NewAnalysis()
        => new(CorpusOptions.Parse(new[] { "--corpus", "runtime" }), Path.GetDirectoryName(typeof(object).Assembly.Location)!);

    private static Project CreateProject(AdhocWorkspace workspace, CorpusUnit unit)
    {
        var projectId = ProjectId.CreateNewId();
        var severities = RuleCatalogue.All.ToImmutableDictionary(d => d.Id, _ => ReportDiagnostic.Warn);
        var solution = workspace.CurrentSolution.AddProject(ProjectInfo.Create(projectId, VersionStamp.Default, unit.Name, unit.AssemblyName, LanguageNames.CSharp,
            compilationOptions: unit.CompilationOptions.WithSpecificDiagnosticOptions(severities),
            parseOptions: unit.ParseOptions,
            metadataReferences: unit.References));
        foreach (var file in unit.Files)
            solution = solution.AddDocument(DocumentId.CreateNewId(projectId), Path.GetFileName(file), SourceText.From(File.ReadAllText(file)), filePath: file);
        foreach (var (path, text) in unit.GeneratedSources)
            solution = solution.AddDocument(DocumentId.CreateNewId(projectId), Path.GetFileName(path), SourceText.From(text), filePath: path);
        return solution.GetProject(projectId)!;
    }

    /// <summary>Compiler errors by id and message (locations move when code is fixed), with how many of each.</summary>
    private static async Task<Dictionary<string, int>> ErrorsAsync(Project project, CancellationToken token)
        => (await project.GetCompilationAsync(token))!.GetDiagnostics(token)
            .Where(d => d.Severity == DiagnosticSeverity.Error)
            .GroupBy(d => d.Id + " " + d.GetMessage())
            .ToDictionary(g => g.Key, g => g.Count());

    private static async Task<List<Diagnostic>> AnalyzeAsync(Project project, ImmutableArray<DiagnosticAnalyzer> analyzers, string id, CancellationToken token)
    {
        var compilation = (await project.GetCompilationAsync(token))!;
        var exceptions = new List<string>();
        var options = new CompilationWithAnalyzersOptions(
            new AnalyzerOptions(ImmutableArray<AdditionalText>.Empty,
                new Verification.TestAnalyzerConfigOptionsProvider(new Dictionary<string, string> { ["memsafety.scope"] = "everywhere" })),
            onAnalyzerException: (exception, analyzer, _) => { lock (exceptions) exceptions.Add($"{analyzer.GetType().Name} threw {exception}"); },
            concurrentAnalysis: true, logAnalyzerExecutionTime: false, reportSuppressedDiagnostics: false);
        var diagnostics = await compilation.WithAnalyzers(analyzers, options).GetAnalyzerDiagnosticsAsync(token);
        Assert.True(exceptions.Count == 0, string.Join("\n", exceptions));
        return diagnostics.Where(d => d.Id == id && d.Location.IsInSource)
            .OrderBy(d => d.Location.SourceTree!.FilePath, StringComparer.Ordinal).ThenBy(d => d.Location.SourceSpan.Start).ToList();
    }
}
