using System;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Tests.Infrastructure;
using Microsoft.CodeAnalysis;

namespace MemSafety.Analyzers.Tests.Reliability;

/// <summary>
/// One program that uses every C# construct Roslyn 4.14 (C# 13) knows (<c>LanguageCoverage/AllFeatures.cs.txt</c>:
/// top-level statements, global usings, records and record structs, primary constructors, required members, collection
/// expressions and spreads, list patterns, static abstract members and generic math, raw and UTF-8 literals,
/// interpolated string handlers, params spans, ref structs, scoped, ref fields, stackalloc in expressions, inline
/// arrays, fixed buffers, unsafe code, function pointers, System.Threading.Lock, async streams, await using, iterators,
/// local functions, static lambdas, partial properties, file-local types, dynamic). Every analyzer runs over it with
/// every rule on and reports exactly what was checked by hand once and is listed here.
/// </summary>
public sealed class LanguageCoverageTests
{
    // Each line: id, line, and why it is right (checked by hand).
    private static readonly (string Id, int Line, string Why)[] Expected =
    {
        ("MSA2001", 388, "Generics.Boxed returns an int as object: a box per call (the only boxing conversion in the program)"),
    };

    [Fact]
    public async Task EveryConstruct_CompilesAndEveryAnalyzerReportsExactlyTheCheckedDiagnostics()
    {
        var source = File.ReadAllText(Path.Combine(RepositoryFiles.Root, "tests", "MemSafety.Analyzers.Tests", "Reliability", "LanguageCoverage", "AllFeatures.cs.txt"));
        using var workspace = new AdhocWorkspace();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var document = FuzzHarness.CreateDocument(workspace, source, OutputKind.ConsoleApplication);
        var compilation = (await document.Project.GetCompilationAsync(timeout.Token))!;
        var errors = compilation.GetDiagnostics(timeout.Token).Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));

        var (diagnostics, exceptions) = await FuzzHarness.AnalyzeAsync(document.Project, timeout.Token);
        Assert.Empty(exceptions);
        var actual = diagnostics.Where(d => d.Location.SourceTree?.FilePath == document.FilePath)
            .Select(d => $"{d.Id}:{d.Location.GetLineSpan().StartLinePosition.Line + 1}")
            .OrderBy(s => s, StringComparer.Ordinal).ToList();
        var expected = Expected.Select(e => $"{e.Id}:{e.Line}").OrderBy(s => s, StringComparer.Ordinal).ToList();
        Assert.True(expected.SequenceEqual(actual), "Reported:\n" + string.Join("\n", diagnostics
            .Where(d => d.Location.SourceTree?.FilePath == document.FilePath)
            .OrderBy(d => d.Location.SourceSpan.Start)
            .Select(d => $"{d.Id}:{d.Location.GetLineSpan().StartLinePosition.Line + 1}: {d.GetMessage()}")));
    }
}
