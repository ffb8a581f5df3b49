using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;

namespace MemSafety.Analyzers.Tests.Verification;

/// <summary>
/// Our test harness (Microsoft.CodeAnalysis.Testing is not available here). It compiles the marked-up
/// sources against real reference assemblies, runs the analyzers the way the compiler does
/// (<see cref="CompilationWithAnalyzers"/>, concurrent), and requires the reported diagnostics to be
/// exactly the marked ones: an unmarked diagnostic fails the test, so a source without markup is a
/// real negative test. With a code fix, it applies the fix one diagnostic at a time and through Fix All
/// in document, project and solution scope; each route must reach the expected source, which must
/// compile with no new errors or warnings and report only the diagnostics marked in it.
/// </summary>
public sealed class AnalyzerTest
{
    private const string ProjectName = "TestProject";
    private const string OtherProjectName = "OtherProject";

    public AnalyzerTest(params DiagnosticAnalyzer[] analyzers)
    {
        if (analyzers.Length == 0)
            throw new ArgumentException("At least one analyzer is needed", nameof(analyzers));
        Analyzers = analyzers.ToImmutableArray();
    }

    public ImmutableArray<DiagnosticAnalyzer> Analyzers { get; }

    /// <summary>Marked-up sources of the project under test (Test0.cs, Test1.cs, …).</summary>
    public List<string> Sources { get; } = new();

    /// <summary>Sources of a second project that references the first (for solution-scope Fix All).</summary>
    public List<string> OtherProjectSources { get; } = new();

    /// <summary>The id that <c>[|…|]</c> stands for; by default the first analyzer's only supported id.</summary>
    public string? RuleId { get; set; }

    public List<ExpectedDiagnostic> ExpectedDiagnostics { get; } = new();

    public LanguageVersion LanguageVersion { get; set; } = LanguageVersion.Latest;

    public ReferenceSet ReferenceSet { get; set; } = ReferenceSet.Net80;

    public NullableContextOptions NullableContextOptions { get; set; } = NullableContextOptions.Enable;

    public OptimizationLevel OptimizationLevel { get; set; } = OptimizationLevel.Debug;

    public List<string> PreprocessorSymbols { get; } = new();

    /// <summary><c>memsafety.*</c> and other .editorconfig keys, applied to every file.</summary>
    public Dictionary<string, string> AnalyzerOptions { get; } = new();

    /// <summary>Per-id severities, as <c>dotnet_diagnostic.ID.severity</c> would set them.</summary>
    public Dictionary<string, ReportDiagnostic> DiagnosticSeverities { get; } = new();

    /// <summary>Let the test source contain compiler errors (code as typed in an editor).</summary>
    public bool AllowCompilerErrors { get; set; }

    public CodeFixProvider? CodeFix { get; set; }

    /// <summary>Expected sources after fixing (markup marks diagnostics that must remain); empty: no fix check.</summary>
    public List<string> FixedSources { get; } = new();

    public List<string> FixedOtherProjectSources { get; } = new();

    /// <summary>Assert that the fix offers nothing for any diagnostic.</summary>
    public bool ExpectNoFix { get; set; }

    public string? CodeActionEquivalenceKey { get; set; }

    public string? CodeActionTitle { get; set; }

    /// <summary>How many times Fix All runs over the solution before the result is compared (each pass re-analyzes).
    /// The IDE and <c>dotnet format</c> run it once; the default of 5 lets fixes whose edits nest converge. Set 1 to
    /// check that one Fix All applies every edit (nested ones included).</summary>
    public int FixAllPasses { get; set; } = 5;

    /// <summary>Compile as a netstandard2.0 library that references System.Memory, at C# 7.3 (the SDK's default
    /// language version for that target) without nullable annotations: where span-producing fixes most easily
    /// write code that only compiles on .NET Core.</summary>
    public AnalyzerTest OnNetStandard20WithSystemMemory()
    {
        ReferenceSet = ReferenceSet.NetStandard20WithSystemMemory;
        LanguageVersion = LanguageVersion.CSharp7_3;
        NullableContextOptions = NullableContextOptions.Disable;
        return this;
    }

    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    public async Task RunAsync()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var ct = cts.Token;
        var parsed = Sources.Select(Markup.Parse).ToList();
        var parsedOther = OtherProjectSources.Select(Markup.Parse).ToList();
        using var workspace = new AdhocWorkspace();
        var solution = CreateSolution(workspace, parsed.Select(p => p.Source), parsedOther.Select(p => p.Source));

        var original = await CompilerDiagnosticsAsync(solution, ct);
        if (!AllowCompilerErrors)
        {
            var errors = original.Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
            if (errors.Count > 0)
                Assert.Fail("The test source does not compile:" + Environment.NewLine + Describe(errors));
        }

        var expected = ExpectedFromMarkup(parsed, ProjectName).Concat(ExpectedFromMarkup(parsedOther, OtherProjectName)).ToList();
        foreach (var explicitDiagnostic in ExpectedDiagnostics)
        {
            var located = FindLocation(parsed, explicitDiagnostic.LocationIndex);
            expected.RemoveAll(e => e.File == located.File && e.Span == located.Span && e.Id == null);
            TextSpan? additional = explicitDiagnostic.AdditionalLocationIndex is int extra ? FindLocation(parsed, extra).Span : null;
            expected.Add(new Expectation(explicitDiagnostic.Id, located.File, located.Span, explicitDiagnostic.Message, additional));
        }

        var actual = await AnalyzerDiagnosticsAsync(solution, ct);
        Compare("the test source", expected, actual);

        if (CodeFix is null)
            return;
        if (ExpectNoFix)
        {
            await AssertNoFixOfferedAsync(solution, actual, ct);
            return;
        }

        if (FixedSources.Count == 0)
            Assert.Fail("A code fix test needs FixedSources (or ExpectNoFix)");
        await VerifyFixesAsync(solution, original, ct);
    }

    /// <summary>Compiles the sources (which must compile unless errors are allowed) and returns every
    /// diagnostic the analyzers report, without comparing them to markup.</summary>
    public async Task<IReadOnlyList<Diagnostic>> AnalyzeAsync()
    {
        using var cts = new CancellationTokenSource(Timeout);
        using var workspace = new AdhocWorkspace();
        var solution = CreateSolution(workspace, Sources.Select(s => Markup.Parse(s).Source), OtherProjectSources.Select(s => Markup.Parse(s).Source));
        var errors = (await CompilerDiagnosticsAsync(solution, cts.Token)).Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        if (errors.Count > 0 && !AllowCompilerErrors)
            Assert.Fail("The test source does not compile:" + Environment.NewLine + Describe(errors));
        return await AnalyzerDiagnosticsAsync(solution, cts.Token);
    }

    // ---------------------------------------------------------------- workspace and compilation

    private Solution CreateSolution(AdhocWorkspace workspace, IEnumerable<string> sources, IEnumerable<string> otherSources)
    {
        var parseOptions = new CSharpParseOptions(LanguageVersion, preprocessorSymbols: PreprocessorSymbols);
        var compilationOptions = new CSharpCompilationOptions(
                OutputKind.DynamicallyLinkedLibrary,
                allowUnsafe: true,
                nullableContextOptions: NullableContextOptions,
                optimizationLevel: OptimizationLevel)
            .WithSpecificDiagnosticOptions(DiagnosticSeverities);
        var references = ReferenceSets.References(ReferenceSet);

        var solution = workspace.CurrentSolution;
        var projectId = ProjectId.CreateNewId(ProjectName);
        solution = solution.AddProject(ProjectInfo.Create(projectId, VersionStamp.Default, ProjectName, ProjectName, LanguageNames.CSharp,
            compilationOptions: compilationOptions, parseOptions: parseOptions, metadataReferences: references));
        solution = AddDocuments(solution, projectId, sources);

        var otherList = otherSources.ToList();
        if (otherList.Count > 0)
        {
            var otherId = ProjectId.CreateNewId(OtherProjectName);
            solution = solution.AddProject(ProjectInfo.Create(otherId, VersionStamp.Default, OtherProjectName, OtherProjectName, LanguageNames.CSharp,
                compilationOptions: compilationOptions, parseOptions: parseOptions, metadataReferences: references,
                projectReferences: new[] { new ProjectReference(projectId) }));
            solution = AddDocuments(solution, otherId, otherList);
        }

        return solution;
    }

    private static Solution AddDocuments(Solution solution, ProjectId projectId, IEnumerable<string> sources)
    {
        var index = 0;
        foreach (var source in sources)
        {
            var name = $"Test{index++}.cs";
            solution = solution.AddDocument(DocumentId.CreateNewId(projectId, name), name, SourceText.From(source, Encoding.UTF8), filePath: "/src/" + solution.GetProject(projectId)!.Name + "/" + name);
        }

        return solution;
    }

    private static async Task<List<Diagnostic>> CompilerDiagnosticsAsync(Solution solution, CancellationToken ct)
    {
        var result = new List<Diagnostic>();
        foreach (var project in solution.Projects)
        {
            var compilation = (await project.GetCompilationAsync(ct))!;
            result.AddRange(compilation.GetDiagnostics(ct).Where(d => d.Severity >= DiagnosticSeverity.Warning));
        }

        return result;
    }

    private async Task<List<Diagnostic>> AnalyzerDiagnosticsAsync(Solution solution, CancellationToken ct)
    {
        var result = new List<Diagnostic>();
        foreach (var project in solution.Projects)
            result.AddRange(await AnalyzerDiagnosticsAsync(project, ct));
        return result;
    }

    internal async Task<ImmutableArray<Diagnostic>> AnalyzerDiagnosticsAsync(Project project, CancellationToken ct)
    {
        var compilation = (await project.GetCompilationAsync(ct))!;
        var exceptions = new ConcurrentQueue<string>();
        var options = new CompilationWithAnalyzersOptions(
            new AnalyzerOptions(ImmutableArray<AdditionalText>.Empty, new TestAnalyzerConfigOptionsProvider(AnalyzerOptions)),
            onAnalyzerException: (exception, analyzer, _) => exceptions.Enqueue($"{analyzer.GetType().Name} threw {exception}"),
            concurrentAnalysis: true,
            logAnalyzerExecutionTime: false,
            reportSuppressedDiagnostics: false);
        var diagnostics = await compilation.WithAnalyzers(Analyzers, options).GetAnalyzerDiagnosticsAsync(ct);
        var crashes = diagnostics.Where(d => d.Id == "AD0001").Select(d => d.GetMessage()).Concat(exceptions).ToList();
        if (crashes.Count > 0)
            Assert.Fail("An analyzer threw (AD0001):" + Environment.NewLine + string.Join(Environment.NewLine, crashes));
        return diagnostics;
    }

    // ---------------------------------------------------------------- expectations

    private sealed record Expectation(string? Id, string File, TextSpan Span, string? Message, TextSpan? AdditionalSpan = null);

    private IEnumerable<Expectation> ExpectedFromMarkup(List<ParsedMarkup> parsed, string project)
    {
        for (var i = 0; i < parsed.Count; i++)
        {
            foreach (var span in parsed[i].Spans)
            {
                if (span.LocationIndex is not null)
                    continue;
                yield return new Expectation(span.Id ?? DefaultRuleId, $"/src/{project}/Test{i}.cs", span.Span, null);
            }
        }
    }

    private string DefaultRuleId
        => RuleId ?? (Analyzers[0].SupportedDiagnostics.Length == 1
            ? Analyzers[0].SupportedDiagnostics[0].Id
            : throw new InvalidOperationException("[|…|] needs RuleId when the analyzer reports several ids"));

    private static (string File, TextSpan Span) FindLocation(List<ParsedMarkup> parsed, int index)
    {
        for (var i = 0; i < parsed.Count; i++)
        {
            foreach (var span in parsed[i].Spans)
            {
                if (span.LocationIndex == index)
                    return ($"/src/{ProjectName}/Test{i}.cs", span.Span);
            }
        }

        throw new InvalidOperationException($"No markup location {{|#{index}:…|}}");
    }

    private void Compare(string what, List<Expectation> expected, IReadOnlyCollection<Diagnostic> actual)
    {
        var remaining = actual.ToList();
        var problems = new List<string>();
        foreach (var e in expected.OrderBy(e => e.File).ThenBy(e => e.Span.Start))
        {
            var match = remaining.FirstOrDefault(d => d.Id == e.Id && d.Location.SourceSpan == e.Span && d.Location.SourceTree?.FilePath == e.File);
            if (match is null)
            {
                var near = remaining.Where(d => d.Id == e.Id).Select(d => "      actual: " + Describe(d)).ToList();
                problems.Add($"  missing {e.Id} at {e.File} {e.Span}" + (near.Count > 0 ? Environment.NewLine + string.Join(Environment.NewLine, near) : string.Empty));
                continue;
            }

            remaining.Remove(match);
            if (e.Message is not null && match.GetMessage() != e.Message)
                problems.Add($"  {e.Id} at {e.Span}: message{Environment.NewLine}    expected: {e.Message}{Environment.NewLine}    actual:   {match.GetMessage()}");
            if (e.AdditionalSpan is { } additional && (match.AdditionalLocations.Count == 0 || match.AdditionalLocations[0].SourceSpan != additional))
                problems.Add($"  {e.Id} at {e.Span}: additional location expected at {additional}, actual: {string.Join(", ", match.AdditionalLocations.Select(l => l.SourceSpan))}");
        }

        foreach (var d in remaining)
            problems.Add("  unexpected " + Describe(d));
        if (problems.Count > 0)
            Assert.Fail($"Diagnostics in {what} differ from the markup:{Environment.NewLine}{string.Join(Environment.NewLine, problems)}");
    }

    private static string Describe(IEnumerable<Diagnostic> diagnostics) => string.Join(Environment.NewLine, diagnostics.Select(d => "  " + Describe(d)));

    private static string Describe(Diagnostic d)
    {
        var text = d.Location.IsInSource ? d.Location.SourceTree!.GetText().ToString(d.Location.SourceSpan) : string.Empty;
        return $"{d.Id} at {d.Location.GetLineSpan()} on '{text}': {d.GetMessage()}";
    }

    // ---------------------------------------------------------------- code fixes

    private ImmutableArray<string> FixableIds => CodeFix!.FixableDiagnosticIds;

    private async Task AssertNoFixOfferedAsync(Solution solution, List<Diagnostic> diagnostics, CancellationToken ct)
    {
        foreach (var diagnostic in diagnostics.Where(d => FixableIds.Contains(d.Id)))
        {
            var actions = await ActionsForAsync(solution, diagnostic, ct);
            if (actions.Count > 0)
                Assert.Fail($"Expected no fix, but '{actions[0].Title}' is offered for {Describe(diagnostic)}");
        }
    }

    private async Task<List<CodeAction>> ActionsForAsync(Solution solution, Diagnostic diagnostic, CancellationToken ct)
    {
        var document = solution.GetDocument(diagnostic.Location.SourceTree)!;
        var actions = new List<CodeAction>();
        var context = new CodeFixContext(document, diagnostic, (action, _) => actions.Add(action), ct);
        await CodeFix!.RegisterCodeFixesAsync(context);
        return actions.SelectMany(Flatten).ToList();

        static IEnumerable<CodeAction> Flatten(CodeAction action)
            => action.NestedActions.IsDefaultOrEmpty ? new[] { action } : action.NestedActions.SelectMany(Flatten);
    }

    private CodeAction? Choose(List<CodeAction> actions)
    {
        if (CodeActionEquivalenceKey is not null)
            return actions.FirstOrDefault(a => a.EquivalenceKey == CodeActionEquivalenceKey);
        if (CodeActionTitle is not null)
            return actions.FirstOrDefault(a => a.Title == CodeActionTitle);
        return actions.FirstOrDefault();
    }

    private static async Task<Solution> ApplyAsync(Solution solution, CodeAction action, CancellationToken ct)
    {
        foreach (var operation in await action.GetOperationsAsync(ct))
        {
            if (operation is ApplyChangesOperation apply)
                return apply.ChangedSolution;
        }

        Assert.Fail($"Code action '{action.Title}' changes nothing");
        return solution;
    }

    private async Task VerifyFixesAsync(Solution original, List<Diagnostic> originalCompilerDiagnostics, CancellationToken ct)
    {
        var fixedParsed = FixedSources.Select(Markup.Parse).ToList();
        var fixedOtherParsed = (FixedOtherProjectSources.Count > 0 ? FixedOtherProjectSources : OtherProjectSources).Select(Markup.Parse).ToList();

        var oneByOne = await FixOneAtATimeAsync(original, ct);
        await CheckFixedAsync("fixing one diagnostic at a time", oneByOne, fixedParsed, fixedOtherParsed, originalCompilerDiagnostics, ct);

        var fixAll = CodeFix!.GetFixAllProvider();
        if (fixAll is null)
            Assert.Fail("The code fix has no Fix All provider");
        foreach (var scope in new[] { FixAllScope.Document, FixAllScope.Project, FixAllScope.Solution })
        {
            var result = await FixAllAsync(original, fixAll!, scope, ct);
            await CheckFixedAsync($"Fix All in {scope} scope", result, fixedParsed, fixedOtherParsed, originalCompilerDiagnostics, ct);
        }
    }

    private async Task<Solution> FixOneAtATimeAsync(Solution solution, CancellationToken ct)
    {
        for (var iteration = 0; iteration < 50; iteration++)
        {
            var diagnostics = (await AnalyzerDiagnosticsAsync(solution, ct))
                .Where(d => FixableIds.Contains(d.Id))
                .OrderBy(d => d.Location.SourceTree!.FilePath, StringComparer.Ordinal)
                .ThenBy(d => d.Location.SourceSpan.Start);
            CodeAction? chosen = null;
            foreach (var diagnostic in diagnostics)
            {
                chosen = Choose(await ActionsForAsync(solution, diagnostic, ct));
                if (chosen is not null)
                    break;
            }

            if (chosen is null)
                return solution;
            solution = await ApplyAsync(solution, chosen, ct);
        }

        Assert.Fail("Fixing one diagnostic at a time did not converge after 50 fixes");
        return solution;
    }

    private async Task<Solution> FixAllAsync(Solution solution, FixAllProvider provider, FixAllScope scope, CancellationToken ct)
    {
        // Like the IDE: Fix All starts from one diagnostic's fix, whose equivalence key picks the rest.
        // Document scope runs document by document, project scope project by project.
        for (var pass = 0; pass < FixAllPasses; pass++)
        {
            var changed = false;
            foreach (var projectId in solution.ProjectIds)
            {
                var documentIds = scope == FixAllScope.Document ? solution.GetProject(projectId)!.DocumentIds.ToList() : new List<DocumentId> { null! };
                foreach (var documentId in documentIds)
                {
                    var project = solution.GetProject(projectId)!;
                    var diagnostics = (await AnalyzerDiagnosticsAsync(project, ct))
                        .Where(d => FixableIds.Contains(d.Id))
                        .Where(d => documentId is null || solution.GetDocument(d.Location.SourceTree)?.Id == documentId)
                        .OrderBy(d => d.Location.SourceTree!.FilePath, StringComparer.Ordinal)
                        .ThenBy(d => d.Location.SourceSpan.Start)
                        .ToList();
                    CodeAction? first = null;
                    Diagnostic? firstDiagnostic = null;
                    foreach (var diagnostic in diagnostics)
                    {
                        first = Choose(await ActionsForAsync(solution, diagnostic, ct));
                        firstDiagnostic = diagnostic;
                        if (first is not null)
                            break;
                    }

                    if (first is null)
                        continue;

                    var diagnosticProvider = new FixAllDiagnostics(this, ct);
                    var context = scope == FixAllScope.Document
                        ? new FixAllContext(solution.GetDocument(firstDiagnostic!.Location.SourceTree)!, CodeFix!, scope, first.EquivalenceKey, FixableIds, diagnosticProvider, ct)
                        : new FixAllContext(project, CodeFix!, scope, first.EquivalenceKey, FixableIds, diagnosticProvider, ct);
                    var action = await provider.GetFixAsync(context);
                    if (action is null)
                        continue;
                    var next = await ApplyAsync(solution, action, ct);
                    changed |= next != solution;
                    solution = next;
                    if (scope == FixAllScope.Solution)
                        break;
                }

                if (scope == FixAllScope.Solution)
                    break;
            }

            if (!changed)
                return solution;
        }

        return solution;
    }

    private sealed class FixAllDiagnostics : FixAllContext.DiagnosticProvider
    {
        private readonly AnalyzerTest _test;
        private readonly CancellationToken _ct;

        public FixAllDiagnostics(AnalyzerTest test, CancellationToken ct)
        {
            _test = test;
            _ct = ct;
        }

        public override async Task<IEnumerable<Diagnostic>> GetAllDiagnosticsAsync(Project project, CancellationToken cancellationToken)
            => await _test.AnalyzerDiagnosticsAsync(project, _ct);

        public override async Task<IEnumerable<Diagnostic>> GetDocumentDiagnosticsAsync(Document document, CancellationToken cancellationToken)
        {
            var tree = await document.GetSyntaxTreeAsync(_ct);
            return (await _test.AnalyzerDiagnosticsAsync(document.Project, _ct)).Where(d => d.Location.SourceTree == tree);
        }

        public override async Task<IEnumerable<Diagnostic>> GetProjectDiagnosticsAsync(Project project, CancellationToken cancellationToken)
            => (await _test.AnalyzerDiagnosticsAsync(project, _ct)).Where(d => !d.Location.IsInSource);
    }

    private async Task CheckFixedAsync(string route, Solution solution, List<ParsedMarkup> expected, List<ParsedMarkup> expectedOther, List<Diagnostic> originalCompilerDiagnostics, CancellationToken ct)
    {
        await CompareTextAsync(route, solution, ProjectName, expected, ct);
        if (expectedOther.Count > 0)
            await CompareTextAsync(route, solution, OtherProjectName, expectedOther, ct);

        // The fixed code must compile: no error or compiler warning that the original did not have.
        var before = originalCompilerDiagnostics.Select(d => (d.Id, d.GetMessage())).ToList();
        var introduced = new List<Diagnostic>();
        foreach (var d in await CompilerDiagnosticsAsync(solution, ct))
        {
            var key = (d.Id, d.GetMessage());
            if (!before.Remove(key))
                introduced.Add(d);
        }

        if (introduced.Count > 0)
            Assert.Fail($"After {route}, the code has new compiler diagnostics:{Environment.NewLine}{Describe(introduced)}");

        var remaining = await AnalyzerDiagnosticsAsync(solution, ct);
        var expectations = ExpectedFromMarkup(expected, ProjectName).Concat(ExpectedFromMarkup(expectedOther, OtherProjectName)).ToList();
        Compare($"the code after {route}", expectations, remaining);
    }

    private static async Task CompareTextAsync(string route, Solution solution, string projectName, List<ParsedMarkup> expected, CancellationToken ct)
    {
        var project = solution.Projects.Single(p => p.Name == projectName);
        var documents = project.Documents.OrderBy(d => d.Name, StringComparer.Ordinal).ToList();
        if (documents.Count != expected.Count)
            Assert.Fail($"After {route}, {projectName} has {documents.Count} documents; {expected.Count} expected");
        for (var i = 0; i < documents.Count; i++)
        {
            var actual = (await documents[i].GetTextAsync(ct)).ToString();
            if (actual != expected[i].Source)
                Assert.Fail($"After {route}, {projectName}/{documents[i].Name} differs from the expected source.{Environment.NewLine}{TextDiff(expected[i].Source, actual)}");
        }
    }

    internal static string TextDiff(string expected, string actual)
    {
        var e = expected.Split('\n');
        var a = actual.Split('\n');
        var builder = new StringBuilder();
        var line = 0;
        while (line < Math.Min(e.Length, a.Length) && e[line] == a[line])
            line++;
        builder.AppendLine($"First difference at line {line + 1}:");
        builder.AppendLine("--- expected ---");
        builder.AppendLine(string.Join("\n", e.Skip(Math.Max(0, line - 2)).Take(8)));
        builder.AppendLine("--- actual ---");
        builder.AppendLine(string.Join("\n", a.Skip(Math.Max(0, line - 2)).Take(8)));
        builder.AppendLine("--- whole actual ---");
        builder.Append(actual);
        return builder.ToString();
    }
}
