using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Escape;
using MemSafety.Analyzers.Tests.Infrastructure;
using MemSafety.Analyzers.Tests.Verification;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace MemSafety.Analyzers.Tests.Core;

/// <summary>The per-compilation services every rule shares: one of each per compilation and options, whatever
/// the number of analyzers; options, cancellation and lifetime kept apart per compilation, provider and request.</summary>
public sealed class CompilationServicesTests
{
    private const string Source = """
        using System;
        using System.Collections.Generic;
        using System.Linq;
        class C
        {
            int[]? _kept;
            static void Keep(int[] values) => Store(values);
            static void Store(int[] values) { Holder.Kept = values; }
            static int Sum(int[] values) { var s = 0; foreach (var v in values) s += v; return s; }
            int A(List<int> list) { var a = new int[4]; object o = 1; Keep(a); var e = new int[0]; return Sum(new int[8]) + list.ToList().Count + o.GetHashCode() + e.Length; }
            int B(string s) { var total = 0; for (var i = 0; i < 10; i++) { var b = new byte[16]; total += Sum(new int[2]) + string.Format("{0}", i).Length + s.Substring(1).Length; } return total; }
            ~C() { }
        }
        static class Holder { public static int[]? Kept; }
        """;

    private static CSharpCompilation Compile(string source = Source)
    {
        var tree = CSharpSyntaxTree.ParseText(source, path: "/src/C.cs");
        var compilation = CSharpCompilation.Create("t", new[] { tree }, ReferenceSets.References(ReferenceSet.Net80),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        return compilation;
    }

    private static AnalyzerConfigOptionsProvider Options(params (string Key, string Value)[] values)
        => new TestAnalyzerConfigOptionsProvider(values.ToDictionary(v => v.Key, v => v.Value));

    /// <summary>Remembers the compilation the driver hands the analyzers (the driver analyses a copy of the one
    /// it is given, so the test cannot know it otherwise).</summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    private sealed class CompilationProbe : DiagnosticAnalyzer
    {
        private static readonly DiagnosticDescriptor Unused = new("TEST0003", "unused", "unused", "Test", DiagnosticSeverity.Hidden, true);

        public Compilation? Seen { get; private set; }

        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(Unused);

        public override void Initialize(AnalysisContext context)
        {
            context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
            context.EnableConcurrentExecution();
            // It only looks at the compilation; it has nothing to register.
#pragma warning disable RS1012
            context.RegisterCompilationStartAction(start => Seen = start.Compilation);
#pragma warning restore RS1012
        }
    }

    private static readonly string[] Services =
        { nameof(CompilationServices), nameof(WellKnownTypes), nameof(HotPathOracle), nameof(ColdPaths), nameof(SdkRules), nameof(ParameterSummaries), nameof(MemSafety.Analyzers.Engines.Disposal.DisposableTypes) };

    private static readonly string Once = string.Join(", ", Services.Select(s => s + " ×1"));

    /// <summary>How many of each service were built for the compilation, as one readable line.</summary>
    private static string Counts(Compilation compilation) => string.Join(", ", Services.Select(s => $"{s} ×{CreationCounts.Of(compilation, s)}"));

    [Fact]
    public async Task EveryAnalyzerOfThePackage_SharesOneInstanceOfEachService()
    {
        var probe = new CompilationProbe();
        var analyzers = RepositoryFiles.Analyzers.Append(probe).ToImmutableArray();
        var options = new CompilationWithAnalyzersOptions(
            new AnalyzerOptions(ImmutableArray<AdditionalText>.Empty, Options(("memsafety.scope", "everywhere"))),
            onAnalyzerException: null, concurrentAnalysis: true, logAnalyzerExecutionTime: false);
        var diagnostics = await Compile().WithAnalyzers(analyzers, options).GetAnalyzerDiagnosticsAsync();

        Assert.DoesNotContain(diagnostics, d => d.Id == "AD0001");
        // The source gives most rules something to look at, so the run exercises the services it counts.
        Assert.True(diagnostics.Select(d => d.Id).Distinct().Count() >= 5, string.Join("\n", diagnostics));
        var compilation = probe.Seen!;
        Assert.NotNull(compilation);
        var counts = Counts(compilation);
        Assert.True(counts == Once, counts);
    }

    [Fact]
    public void DifferentCompilations_GetDifferentInstances()
    {
        var provider = Options();
        var first = Compile();
        var second = Compile();
        var a = CompilationServices.Get(first, provider);
        var b = CompilationServices.Get(second, provider);

        Assert.Same(a, CompilationServices.Get(first, provider));
        Assert.NotSame(a, b);
        Assert.Same(first, a.Compilation);
        Assert.Same(second, b.Compilation);
        Assert.NotSame(a.HotPaths, b.HotPaths);
        Assert.NotSame(a.Summaries, b.Summaries);
        Assert.NotSame(a.Types, b.Types);
        Assert.Same(first.GetTypeByMetadataName("System.Span`1"), a.Types.Span);
        Assert.Same(second.GetTypeByMetadataName("System.Span`1"), b.Types.Span);
    }

    [Fact]
    public void SameCompilationWithOtherOptions_AnswersWithThoseOptions()
    {
        var compilation = Compile();
        var type = compilation.GetTypeByMetadataName("C")!;
        var a = type.GetMembers("A").Single();
        var b = type.GetMembers("B").Single();
        var tree = compilation.SyntaxTrees.Single();
        var scope = RuleScopeOption.For("TEST0004", RuleScope.HotPaths);
        var ownScope = RuleScopeOption.OwnKeyOnly("TEST0005", RuleScope.HotPaths);

        var hotA = CompilationServices.Get(compilation, Options(("memsafety.hot_paths", "C.A"), ("memsafety.scope", "everywhere")));
        var hotB = CompilationServices.Get(compilation, Options(("memsafety.hot_paths", "C.B"), ("memsafety.TEST0004.scope", "hot_paths_and_loops")));

        Assert.NotSame(hotA, hotB);
        Assert.True(hotA.HotPaths.IsHot(a));
        Assert.False(hotA.HotPaths.IsHot(b));
        Assert.False(hotB.HotPaths.IsHot(a));
        Assert.True(hotB.HotPaths.IsHot(b));
        // Asked twice: the second answer comes from the per-file cache and must be the same.
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(RuleScope.Everywhere, hotA.ScopeOf(scope, tree));
            Assert.Equal(RuleScope.HotPathsAndLoops, hotB.ScopeOf(scope, tree));
            Assert.Equal(RuleScope.HotPaths, hotA.ScopeOf(ownScope, tree));
        }

        // Types do not depend on options: both share the compilation's one table.
        Assert.Same(hotA.Types, hotB.Types);
    }

    [Fact]
    public async Task ConcurrentFirstRequests_BuildEachServiceOnce()
    {
        var compilation = Compile();
        var provider = Options();
        using var start = new ManualResetEventSlim();
        var tasks = Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            start.Wait();
            var services = CompilationServices.Get(compilation, provider);
            return (services, services.HotPaths, services.Summaries, services.ColdPaths, services.SdkRules, services.Types, services.Disposal);
        })).ToList();
        start.Set();
        var results = await Task.WhenAll(tasks);

        Assert.Single(results.Select(r => r.services).Distinct());
        Assert.Single(results.Select(r => r.HotPaths).Distinct());
        Assert.Single(results.Select(r => r.Summaries).Distinct());
        Assert.Single(results.Select(r => r.Disposal).Distinct());
        var counts = Counts(compilation);
        Assert.True(counts == Once, counts);
    }

    // ------------------------------------------------------------------ cancellation

    private static IMethodSymbol Method(Compilation compilation, string name)
        => (IMethodSymbol)compilation.GetTypeByMetadataName("C")!.GetMembers(name).Single();

    [Fact]
    public void CancelledSummaryRequest_ThrowsToItsCallerOnly_AndCachesNothing()
    {
        var compilation = Compile();
        var summaries = CompilationServices.Get(compilation, Options()).Summaries;
        var keep = Method(compilation, "Keep");

        Assert.ThrowsAny<OperationCanceledException>(() => summaries.Get(keep, 0, new CancellationToken(canceled: true)));

        // A later request with a live token gets the whole answer, through Keep's callee, as an instance that never
        // saw a cancellation computes it.
        var live = summaries.Get(keep, 0, CancellationToken.None);
        var fresh = new ParameterSummaries(compilation).Get(keep, 0, CancellationToken.None);
        Assert.Equal(ParameterVerdict.Retains, live.Verdict);
        Assert.Equal("passed to 'C.Store', where it is stored into static field 'Kept'", live.Reason);
        Assert.Equal(fresh.Reason, live.Reason);
        Assert.Equal(ParameterVerdict.DoesNotRetain, summaries.Get(Method(compilation, "Sum"), 0, CancellationToken.None).Verdict);
    }

    [Fact]
    public void CancelledEngineRequest_Throws_AndTheSharedSummariesStillAnswerOthers()
    {
        var compilation = Compile();
        var summaries = CompilationServices.Get(compilation, Options()).Summaries;
        var tree = compilation.SyntaxTrees.Single();
        var creation = tree.GetRoot().DescendantNodes().OfType<ArrayCreationExpressionSyntax>().First(c => c.ToString() == "new int[4]");
        var operation = compilation.GetSemanticModel(tree).GetOperation(creation)!;

        Assert.ThrowsAny<OperationCanceledException>(
            () => EscapeEngine.ForBodyOf(operation, summaries, new CancellationToken(canceled: true)).Analyze(operation));

        var result = EscapeEngine.ForBodyOf(operation, summaries, CancellationToken.None).Analyze(operation);
        Assert.Equal("passed to 'C.Keep', where it is passed to 'C.Store', where it is stored into static field 'Kept'", result.Reason);
    }

    [Fact]
    public async Task ConcurrentRequests_SomeCancelled_LiveOnesAlwaysGetTheCompleteSummary()
    {
        for (var round = 0; round < 20; round++)
        {
            var compilation = Compile();
            var summaries = new ParameterSummaries(compilation);
            var keep = Method(compilation, "Keep");
            using var start = new ManualResetEventSlim();
            var tasks = Enumerable.Range(0, 8).Select(i => Task.Run(() =>
            {
                start.Wait();
                var token = new CancellationToken(canceled: i % 2 == 0);
                try
                {
                    return (Cancelled: token.IsCancellationRequested, Summary: (ParameterSummary?)summaries.Get(keep, 0, token), Threw: false);
                }
                catch (OperationCanceledException)
                {
                    return (Cancelled: token.IsCancellationRequested, Summary: null, Threw: true);
                }
            })).ToList();
            start.Set();
            var results = await Task.WhenAll(tasks);

            Assert.DoesNotContain(results, r => r.Threw && !r.Cancelled);
            // A cancelled request either stops or, when a live one finished first, reads its cached answer.
            foreach (var (_, summary, threw) in results)
            {
                if (!threw)
                    Assert.Equal("passed to 'C.Store', where it is stored into static field 'Kept'", summary!.Reason);
            }
        }
    }

    // ------------------------------------------------------------------ lifetime

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (WeakReference Compilation, WeakReference Services) UseAndDrop()
    {
        var compilation = Compile();
        var services = CompilationServices.Get(compilation, Options());
        var type = compilation.GetTypeByMetadataName("C")!;
        _ = services.HotPaths.IsHot(type.GetMembers("A").Single());
        _ = services.Summaries.Get(Method(compilation, "Keep"), 0, CancellationToken.None);
        _ = services.ScopeOf(RuleScopeOption.For("TEST0006", RuleScope.HotPaths), compilation.SyntaxTrees.Single());
        _ = services.Types.Span;
        return (new WeakReference(compilation), new WeakReference(services));
    }

    [Fact]
    public void DroppedCompilation_IsCollectedWithItsServices()
    {
        var (compilation, services) = UseAndDrop();
        for (var i = 0; i < 5 && (compilation.IsAlive || services.IsAlive); i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
        }

        Assert.False(services.IsAlive, "the services outlived their compilation");
        Assert.False(compilation.IsAlive, "something keeps the compilation alive");
    }
}
