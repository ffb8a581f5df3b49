using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;

namespace MemSafety.Analyzers.Tests.Reliability;

/// <summary>
/// Fix All at scale (docs/reliability.md): for every sample of a rule with a fix, Fix All (solution scope) of the fix
/// the diagnostics offer first, pass after pass, until analysing the code again reports nothing that fix is offered for
/// (at most <see cref="MaxPasses"/> passes); every pass compiles without errors.
/// </summary>
public sealed class FixAllTests
{
    public static TheoryData<string> FixableSamples()
    {
        var data = new TheoryData<string>();
        var fixable = RepositoryFiles.CodeFixes.SelectMany(f => f.FixableDiagnosticIds).ToHashSet(StringComparer.Ordinal);
        foreach (var input in FuzzInputs.All.Where(i => i.Name.StartsWith("samples/", StringComparison.Ordinal) && i.Name.EndsWith(".Before.cs", StringComparison.Ordinal)))
        {
            if (fixable.Contains(Path.GetFileName(input.Name).Split('.')[0]))
                data.Add(input.Name);
        }

        return data;
    }

    [Fact]
    public void EveryFixableRule_HasASample()
        => Assert.True(FixableSamples().Count >= 25, $"{FixableSamples().Count} fixable samples");

    /// <summary>Most passes of Fix All a sample may need: a fix may uncover a copy it wrapped, which its rule then
    /// reports in turn (MSA1004's nested copies are fixed from the outside); the next pass fixes that one.</summary>
    private const int MaxPasses = 3;

    [Theory]
    [MemberData(nameof(FixableSamples))]
    public async Task FixAllInTheSolution_Compiles_AndReachesCodeWithNothingLeftToFix(string sample)
    {
        var id = Path.GetFileName(sample).Split('.')[0];
        using var workspace = new AdhocWorkspace();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var token = timeout.Token;
        var document = FuzzHarness.CreateDocument(workspace, FuzzInputs.All.Single(i => i.Name == sample).Source);
        var fixer = RepositoryFiles.CodeFixes.Single(f => f.FixableDiagnosticIds.Contains(id));
        var fixAll = fixer.GetFixAllProvider();
        Assert.NotNull(fixAll);
        var history = new List<string>();
        for (var pass = 1; ; pass++)
        {
            var (diagnostics, exceptions) = await FuzzHarness.AnalyzeAsync(document.Project, token);
            Assert.Empty(exceptions);
            var reported = diagnostics.Where(d => d.Id == id).ToList();
            Assert.True(pass > 1 || reported.Count > 0, $"{sample} reports no {id}");
            var (key, offered) = await FuzzHarness.OfferedAsync(document.Project, fixer, reported, token);

            var text = (await document.GetTextAsync(token)).ToString();
            if (offered.Count == 0)
            {
                Assert.True(pass > 1, $"no fix offered for any {id} in {sample}");
                break;
            }

            history.Add($"pass {pass}: {reported.Count} {id}, {offered.Count} with the fix '{key}'");
            Assert.True(pass <= MaxPasses, $"Fix All of {id} does not converge: {string.Join("; ", history)}\n{text}");
            var context = new FixAllContext(document, fixer, FixAllScope.Solution, key, new[] { id }, new FuzzHarness.Diagnostics(offered), token);
            var fix = await fixAll!.GetFixAsync(context);
            Assert.NotNull(fix);
            var changed = (await fix!.GetOperationsAsync(token)).OfType<ApplyChangesOperation>().Single().ChangedSolution;
            document = changed.GetDocument(document.Id)!;
            var compilation = (await document.Project.GetCompilationAsync(token))!;
            var errors = compilation.GetDiagnostics(token).Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
            Assert.True(errors.Count == 0,
                $"Fix All of {id} ('{key}', pass {pass}) does not compile:\n{string.Join("\n", errors)}\n{(await document.GetTextAsync(token))}");
        }
    }

    /// <summary>
    /// <c>dotnet format analyzers</c> asks for the fix of the first diagnostic its analysis lists and passes that
    /// action's equivalence key to Fix All, or no key when that diagnostic has no fix. With no key, every fix must
    /// still fix what the first diagnostic with a fix (in file and position order) would have: the same text as Fix
    /// All under that diagnostic's key.
    /// </summary>
    [Theory]
    [MemberData(nameof(FixableSamples))]
    public async Task FixAllWithoutAKey_AsDotnetFormatAsksIt_FixesWhatTheFirstOfferedKeyFixes(string sample)
    {
        var id = Path.GetFileName(sample).Split('.')[0];
        using var workspace = new AdhocWorkspace();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var token = timeout.Token;
        var document = FuzzHarness.CreateDocument(workspace, FuzzInputs.All.Single(i => i.Name == sample).Source);
        var fixer = RepositoryFiles.CodeFixes.Single(f => f.FixableDiagnosticIds.Contains(id));
        var (diagnostics, _) = await FuzzHarness.AnalyzeAsync(document.Project, token);
        var reported = diagnostics.Where(d => d.Id == id).OrderBy(d => d.Location.SourceSpan.Start).ToList();
        var (key, _) = await FuzzHarness.OfferedAsync(document.Project, fixer, reported, token);
        Assert.NotNull(key);
        var byKey = await FixAllTextAsync(document, fixer, key, reported, token);
        // The list dotnet format passes is in no particular order: give it last-first.
        var withoutKey = await FixAllTextAsync(document, fixer, null, Enumerable.Reverse(reported).ToList(), token);
        Assert.Equal(byKey, withoutKey);
    }

    /// <summary>
    /// The case dotnet format met on a newcomer's project: the first MSA6005 it listed was one the rule reports without
    /// a fix (a local declared under the lock is read after it), so with Roslyn's batch fixer it fixed no MSA6005 at all
    /// and said "didn't return a Fix All action"; on another run, with another order, it fixed the other one.
    /// </summary>
    [Fact]
    public async Task FixAllWithoutAKey_FirstListedDiagnosticHasNoFix_TheOthersAreFixed()
    {
        const string source = """
            using System.Collections.Generic;
            using System.Threading;

            public sealed class Inventory
            {
                private readonly Dictionary<string, int> _counts = new Dictionary<string, int>();
                private int _total;

                public int Total()
                {
                    Monitor.Enter(_counts);
                    var total = _total;
                    Monitor.Exit(_counts);
                    return total;
                }

                public void Reset()
                {
                    Monitor.Enter(_counts);
                    _counts.Clear();
                    _total = 0;
                    Monitor.Exit(_counts);
                }
            }
            """;
        using var workspace = new AdhocWorkspace();
        var token = CancellationToken.None;
        var document = FuzzHarness.CreateDocument(workspace, source);
        var fixer = RepositoryFiles.CodeFixes.Single(f => f.FixableDiagnosticIds.Contains("MSA6005"));
        var (diagnostics, _) = await FuzzHarness.AnalyzeAsync(document.Project, token);
        var reported = diagnostics.Where(d => d.Id == "MSA6005").OrderBy(d => d.Location.SourceSpan.Start).ToList();
        Assert.Equal(2, reported.Count);
        var firstActions = new List<CodeAction>();
        await fixer.RegisterCodeFixesAsync(new CodeFixContext(document, reported[0], (action, _) => firstActions.Add(action), token));
        Assert.Empty(firstActions);

        var fixedText = await FixAllTextAsync(document, fixer, null, reported, token);

        Assert.Contains("lock (_counts)", fixedText, StringComparison.Ordinal);
        Assert.Contains("Monitor.Enter(_counts);\n        var total = _total;", fixedText.Replace("\r\n", "\n", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    private static async Task<string> FixAllTextAsync(Document document, CodeFixProvider fixer, string? key, IReadOnlyList<Diagnostic> diagnostics, CancellationToken token)
    {
        var context = new FixAllContext(document, fixer, FixAllScope.Solution, key!, diagnostics.Select(d => d.Id).Distinct().ToArray(), new FuzzHarness.Diagnostics(diagnostics), token);
        var fix = await fixer.GetFixAllProvider()!.GetFixAsync(context);
        Assert.True(fix is not null, $"Fix All with the key '{key ?? "(none)"}' returned no action");
        var changed = (await fix!.GetOperationsAsync(token)).OfType<ApplyChangesOperation>().Single().ChangedSolution;
        return (await changed.GetDocument(document.Id)!.GetTextAsync(token)).ToString();
    }
}
