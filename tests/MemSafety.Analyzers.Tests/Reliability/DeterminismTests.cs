using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;

namespace MemSafety.Analyzers.Tests.Reliability;

/// <summary>
/// Determinism and cancellation (docs/reliability.md), over one project made of every Before sample (every rule
/// reports there): the same diagnostics whether analysed again, with concurrent execution on or off, or as several
/// compilations analysed at once (per-compilation state must not leak between them); analysis cancelled part way
/// stops promptly, and nothing but <see cref="OperationCanceledException"/> comes out of it.
/// </summary>
public sealed class DeterminismTests
{
    private static IEnumerable<(string, string)> Samples()
        => FuzzInputs.All.Where(i => i.Name.StartsWith("samples/", StringComparison.Ordinal) && i.Name.EndsWith(".Before.cs", StringComparison.Ordinal))
            .Select(i => (i.Name.Replace('/', '_'), i.Source));

    private static async Task<List<string>> Run(bool concurrent, CancellationToken token = default)
    {
        using var workspace = new AdhocWorkspace();
        var (diagnostics, exceptions) = await FuzzHarness.AnalyzeAsync(FuzzHarness.CreateProject(workspace, Samples()), token, concurrent);
        Assert.Empty(exceptions);
        return diagnostics.Select(d => $"{d.Id} {d.Location.GetLineSpan()} {d.GetMessage()}").OrderBy(s => s, StringComparer.Ordinal).ToList();
    }

    [Fact]
    public async Task SameDiagnostics_AgainSequentialAndSeveralCompilationsAtOnce()
    {
        var first = await Run(concurrent: true);
        Assert.True(first.Select(d => d.Split(' ')[0]).Distinct().Count() >= 30, string.Join("\n", first));
        Assert.Equal(first, await Run(concurrent: true));
        Assert.Equal(first, await Run(concurrent: false));
        var parallel = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Task.Run(() => Run(concurrent: true))));
        Assert.All(parallel, result => Assert.Equal(first, result));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(200)]
    [InlineData(1500)]
    public async Task CancelledPartWay_StopsPromptlyWithOnlyOperationCanceled(int afterMilliseconds)
    {
        using var cancellation = new CancellationTokenSource();
        var clock = new Stopwatch();
        cancellation.Token.Register(clock.Start);
        cancellation.CancelAfter(afterMilliseconds);
        try
        {
            await Run(concurrent: true, cancellation.Token);
        }
        catch (OperationCanceledException)
        {
            // What cancellation must produce; any analyzer exception fails Run instead.
        }

        // Promptly: a shared test host runs other tests at the same time, hence the generous bound.
        Assert.True(!cancellation.IsCancellationRequested || clock.Elapsed < TimeSpan.FromSeconds(20), $"{clock.Elapsed} after cancellation");
    }
}
