using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Tests.Infrastructure;
using MemSafety.Analyzers.Tests.Verification;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;

namespace MemSafety.Analyzers.Tests.Reliability;

/// <summary>What one mutant did: how many diagnostics and fixes it exercised, and each failure (an analyzer or fix
/// exception, analysis that did not finish in time, or a fix that turned code that parsed into code that does not).</summary>
public sealed record FuzzOutcome(int Diagnostics, IReadOnlyCollection<string> Ids, int FixesApplied, IReadOnlyList<string> Failures);

/// <summary>Runs every analyzer of the package over a source with every rule on and <c>memsafety.scope =
/// everywhere</c>, then asks every code fix for every diagnostic it can fix, applies each action and each Fix All of
/// the document, and checks the result.</summary>
public static class FuzzHarness
{
    private static readonly ImmutableArray<DiagnosticAnalyzer> s_analyzers = RepositoryFiles.Analyzers.ToImmutableArray();
    private static readonly ImmutableArray<MetadataReference> s_references = ReferenceSets.References(ReferenceSet.Net100).ToImmutableArray();
    private static readonly Dictionary<string, string> s_options = new() { ["memsafety.scope"] = "everywhere" };
    private static readonly ImmutableDictionary<string, ReportDiagnostic> s_severities =
        RuleCatalogue.All.ToImmutableDictionary(d => d.Id, _ => ReportDiagnostic.Warn);

    /// <summary>Most diagnostics of one mutant whose fixes are tried (a mutant of a large sample can report hundreds).</summary>
    private const int MaxDiagnosticsFixed = 12;

    public static async Task<FuzzOutcome> RunAsync(string source, TimeSpan bound)
    {
        var failures = new List<string>();
        using var timeout = new CancellationTokenSource(bound);
        var token = timeout.Token;
        try
        {
            using var workspace = new AdhocWorkspace();
            var document = CreateDocument(workspace, source);
            var documentId = document.Id;
            var (diagnostics, exceptions) = await AnalyzeAsync(document.Project, token);
            failures.AddRange(exceptions);
            var tree = await document.GetSyntaxTreeAsync(token);
            var parsed = !tree!.GetDiagnostics(token).Any(d => d.Severity == DiagnosticSeverity.Error);
            var fixable = diagnostics.Where(d => d.Location.SourceTree == tree).OrderBy(d => d.Location.SourceSpan.Start).ThenBy(d => d.Id, StringComparer.Ordinal).ToList();
            var applied = 0;
            var fixAllTried = new HashSet<(CodeFixProvider, string?)>();
            foreach (var diagnostic in fixable.Take(MaxDiagnosticsFixed))
            {
                foreach (var fixer in RepositoryFiles.CodeFixes.Where(f => f.FixableDiagnosticIds.Contains(diagnostic.Id)))
                {
                    var actions = new List<CodeAction>();
                    await Guard(failures, $"{fixer.GetType().Name}.RegisterCodeFixesAsync for {diagnostic.Id} at {diagnostic.Location.SourceSpan}",
                        () => fixer.RegisterCodeFixesAsync(new CodeFixContext(document, diagnostic, (action, _) => actions.Add(action), token)));
                    foreach (var action in actions)
                    {
                        applied++;
                        await Guard(failures, $"{fixer.GetType().Name} action '{action.Title}' for {diagnostic.Id} at {diagnostic.Location.SourceSpan}",
                            () => CheckAsync(action, documentId, parsed, failures, token));
                        if (fixer.GetFixAllProvider() is { } fixAll && fixAllTried.Add((fixer, action.EquivalenceKey)))
                        {
                            var ids = fixer.FixableDiagnosticIds.Where(id => fixable.Any(d => d.Id == id)).ToList();
                            var context = new FixAllContext(document, fixer, FixAllScope.Document, action.EquivalenceKey, ids, new Diagnostics(fixable), token);
                            await Guard(failures, $"{fixer.GetType().Name} Fix All '{action.EquivalenceKey}'", async () =>
                            {
                                if (await fixAll.GetFixAsync(context) is { } all)
                                    await CheckAsync(all, documentId, parsed, failures, token);
                            });
                        }
                    }
                }
            }

            return new FuzzOutcome(diagnostics.Length, diagnostics.Select(d => d.Id).ToHashSet(StringComparer.Ordinal), applied, failures);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            failures.Add($"did not finish within {bound.TotalSeconds:0} s");
            return new FuzzOutcome(0, Array.Empty<string>(), 0, failures);
        }
    }

    /// <summary>A project of the package's settings for the fuzzer and Fix All tests: the source as <c>/Fuzz/Mutant.cs</c>
    /// beside the hot-path, ownership and lock attributes, .NET 10 references, unsafe code, nullable on, every rule a warning.</summary>
    public static Document CreateDocument(AdhocWorkspace workspace, string source, OutputKind outputKind = OutputKind.DynamicallyLinkedLibrary)
    {
        var projectId = ProjectId.CreateNewId();
        var documentId = DocumentId.CreateNewId(projectId);
        var solution = workspace.CurrentSolution
            .AddProject(ProjectInfo.Create(projectId, VersionStamp.Default, "Fuzz", "Fuzz", LanguageNames.CSharp,
                compilationOptions: new CSharpCompilationOptions(outputKind, allowUnsafe: true,
                    nullableContextOptions: NullableContextOptions.Enable).WithSpecificDiagnosticOptions(s_severities),
                parseOptions: new CSharpParseOptions(LanguageVersion.Latest),
                metadataReferences: s_references))
            .AddDocument(documentId, "Mutant.cs", SourceText.From(source), filePath: "/Fuzz/Mutant.cs")
            .AddDocument(DocumentId.CreateNewId(projectId), "HotPath.cs", SourceText.From(RepositoryFiles.Read("build", "MemSafety.HotPathAttribute.cs")), filePath: "/Fuzz/HotPath.cs")
            .AddDocument(DocumentId.CreateNewId(projectId), "Ownership.cs", SourceText.From(RepositoryFiles.Read("build", "MemSafety.OwnershipAttributes.cs")), filePath: "/Fuzz/Ownership.cs")
            .AddDocument(DocumentId.CreateNewId(projectId), "ThreadSafety.cs", SourceText.From(RepositoryFiles.Read("build", "MemSafety.ThreadSafetyAttributes.cs")), filePath: "/Fuzz/ThreadSafety.cs");
        return solution.GetDocument(documentId)!;
    }

    /// <summary>A project like <see cref="CreateDocument"/>'s with several files.</summary>
    public static Project CreateProject(AdhocWorkspace workspace, IEnumerable<(string Name, string Text)> files)
    {
        var first = true;
        Project? project = null;
        foreach (var (name, text) in files)
        {
            if (first)
            {
                project = CreateDocument(workspace, text).Project;
                first = false;
                continue;
            }

            project = project!.AddDocument(name, SourceText.From(text), filePath: "/Fuzz/" + name).Project;
        }

        return project ?? throw new ArgumentException("no file", nameof(files));
    }

    /// <summary>Every analyzer's diagnostics on the project, and each analyzer exception (or AD0001) as text.</summary>
    /// <param name="editorConfig">The project's analyzer options (.editorconfig/.globalconfig keys); null: <c>memsafety.scope = everywhere</c>.</param>
    public static async Task<(ImmutableArray<Diagnostic> Diagnostics, IReadOnlyList<string> Exceptions)> AnalyzeAsync(
        Project project, CancellationToken token, bool concurrent = true, IReadOnlyDictionary<string, string>? editorConfig = null)
    {
        var compilation = (await project.GetCompilationAsync(token))!;
        var exceptions = new ConcurrentQueue<string>();
        var options = new CompilationWithAnalyzersOptions(
            new AnalyzerOptions(ImmutableArray<AdditionalText>.Empty, new TestAnalyzerConfigOptionsProvider(editorConfig ?? s_options)),
            onAnalyzerException: (exception, analyzer, _) => exceptions.Enqueue($"{analyzer.GetType().Name} threw {exception}"),
            concurrentAnalysis: concurrent, logAnalyzerExecutionTime: false, reportSuppressedDiagnostics: false);
        var diagnostics = await compilation.WithAnalyzers(s_analyzers, options).GetAnalyzerDiagnosticsAsync(token);
        var failures = exceptions.Distinct().Concat(diagnostics.Where(d => d.Id == "AD0001").Select(d => "AD0001: " + d.GetMessage())).ToList();
        return (diagnostics, failures);
    }

    /// <summary>The key of the first finding with a fix (as the IDE's Fix All of that finding would use) and every
    /// finding offered an action under that key.</summary>
    public static async Task<(string? Key, List<Diagnostic> Offered)> OfferedAsync(Project project, CodeFixProvider fixer, IEnumerable<Diagnostic> reported, CancellationToken token)
    {
        string? key = null;
        var offered = new List<Diagnostic>();
        foreach (var diagnostic in reported)
        {
            var document = project.GetDocument(diagnostic.Location.SourceTree);
            if (document is null)
                continue;
            var actions = new List<CodeAction>();
            await fixer.RegisterCodeFixesAsync(new CodeFixContext(document, diagnostic, (action, _) => actions.Add(action), token));
            if (actions.Count == 0)
                continue;
            key ??= actions[0].EquivalenceKey;
            if (actions.Any(a => a.EquivalenceKey == key))
                offered.Add(diagnostic);
        }

        return (key, offered);
    }

    private static async Task Guard(List<string> failures, string what, Func<Task> run)
    {
        try
        {
            await run();
        }
        catch (OperationCanceledException)
        {
            throw;
        }
        catch (Exception e)
        {
            failures.Add($"{what} threw {e}");
        }
    }

    private static async Task CheckAsync(CodeAction action, DocumentId documentId, bool parsed, List<string> failures, CancellationToken token)
    {
        foreach (var operation in await action.GetOperationsAsync(token))
        {
            if (operation is not ApplyChangesOperation apply || apply.ChangedSolution.GetDocument(documentId) is not { } changed)
                continue;
            var tree = await changed.GetSyntaxTreeAsync(token);
            // A fix may not make code that parsed stop parsing (on code that already has syntax errors it only must not throw).
            if (parsed && tree!.GetDiagnostics(token).FirstOrDefault(d => d.Severity == DiagnosticSeverity.Error) is { } error)
                failures.Add($"'{action.Title}' produced code that does not parse: {error}\n{(await changed.GetTextAsync(token))}");
        }
    }

    /// <summary>The diagnostics a Fix All is given: those of the document asked for, or all of them.</summary>
    internal sealed class Diagnostics : FixAllContext.DiagnosticProvider
    {
        private readonly IReadOnlyList<Diagnostic> _diagnostics;

        public Diagnostics(IReadOnlyList<Diagnostic> diagnostics) => _diagnostics = diagnostics;

        public override Task<IEnumerable<Diagnostic>> GetDocumentDiagnosticsAsync(Document document, CancellationToken cancellationToken)
            => Task.FromResult(_diagnostics.Where(d => d.Location.SourceTree?.FilePath == document.FilePath));

        public override Task<IEnumerable<Diagnostic>> GetProjectDiagnosticsAsync(Project project, CancellationToken cancellationToken)
            => Task.FromResult(Enumerable.Empty<Diagnostic>());

        public override Task<IEnumerable<Diagnostic>> GetAllDiagnosticsAsync(Project project, CancellationToken cancellationToken)
            => Task.FromResult<IEnumerable<Diagnostic>>(_diagnostics);
    }
}
