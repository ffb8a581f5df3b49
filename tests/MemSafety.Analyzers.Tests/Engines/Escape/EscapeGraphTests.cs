using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Escape;
using MemSafety.Analyzers.Tests.Verification;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Tests.Engines.Escape;

/// <summary>The escape graph of a body: built once and shared by every question about the body, cycles
/// among locals, the path kept for explanations, text rendered only when asked, incomplete code.</summary>
public sealed class EscapeGraphTests
{
    private static (Compilation Compilation, List<IOperation> Marked) Compile(string members, bool allowErrors = false)
    {
        var parsed = Markup.Parse($$"""
            using System;
            using System.Collections.Generic;
            #pragma warning disable CS0168, CS0219, CS8321, CS0649, CS0169
            class C
            {
                int[]? _field;
                static object? s_static;
                static void Use(int x) { }
            {{members}}
            }
            """);
        var tree = CSharpSyntaxTree.ParseText(parsed.Source, new CSharpParseOptions(LanguageVersion.Latest));
        var compilation = CSharpCompilation.Create("t", new[] { tree }, Basic.Reference.Assemblies.Net80.References.All,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        if (!allowErrors)
        {
            var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
            Assert.True(errors.Count == 0, string.Join("\n", errors));
        }

        var model = compilation.GetSemanticModel(tree);
        var marked = parsed.Spans
            .Select(span => model.GetOperation(tree.GetRoot().FindNode(span.Span, getInnermostNodeForTie: true))!)
            .ToList();
        return (compilation, marked);
    }

    private static ILocalSymbol Local(IOperation anyOperationOfTheBody, string name)
        => anyOperationOfTheBody.Root().Descendants().OfType<IVariableDeclaratorOperation>().Single(d => d.Symbol.Name == name).Symbol;

    // ----------------------------------------------------------------------------- cancellation

    /// <summary>The graph is shared by every rule, and a request can be cancelled in the middle of a search (at a
    /// summary the search needs): the graph must answer the next request completely and correctly, with that
    /// request's token, not the cancelled one's.</summary>
    [Fact]
    public void RequestCancelledInTheMiddleOfASearch_NextRequestOnTheSameGraphAnswersCorrectly()
    {
        var (compilation, marked) = Compile("""
                void M()
                {
                    var a = [|new int[1]|];
                    var b = a;
                    var c = b;
                    Keep(c);
                }
                static void Keep(int[] kept) => s_static = kept;
            """);
        var summaries = new ParameterSummaries(compilation);
        var creation = marked[0];

        // Cancelled: the search has entered 'a', 'b' and 'c' when 'Keep' needs its summary.
        Assert.ThrowsAny<OperationCanceledException>(
            () => new EscapeEngine(creation, summaries, new CancellationToken(canceled: true)).Analyze(creation));

        var engine = new EscapeEngine(creation, summaries, CancellationToken.None);
        Assert.Same(EscapeGraph.For(creation, summaries), engine.Graph);
        var result = engine.Analyze(creation);
        Assert.True(result.Escapes);
        Assert.Equal("passed to 'C.Keep', where it is stored into static field 's_static'", result.Reason);
        Assert.Equal(result.Explain(), new EscapeEngine(creation, new ParameterSummaries(compilation)).Analyze(creation).Explain());
    }

    // ----------------------------------------------------------------------------- one graph per body

    [Fact]
    public void FiveAllocationsOfOneBody_OneGraphEachLocationExpandedOnce()
    {
        var (_, marked) = Compile("""
                void M()
                {
                    var a = [|new int[1]|]; var b = [|new int[2]|]; var c = [|new int[3]|]; var d = [|new int[4]|]; var e = [|new int[5]|];
                    var x = a; x = b; x = c; x = d; x = e;
                    _field = x;
                }
            """);
        Assert.Equal(5, marked.Count);
        var graph = EscapeEngine.ForBodyOf(marked[0]).Graph;
        foreach (var allocation in marked)
        {
            var engine = EscapeEngine.ForBodyOf(allocation);
            Assert.Same(graph, engine.Graph);
            var result = engine.Analyze(allocation);
            Assert.Equal(EscapeKind.StoredInField, result.Kind);
        }

        // Five question starts plus six locations (a..e and x): 'x' is classified once, not five times.
        Assert.Equal(11, graph.Expansions);
        foreach (var allocation in marked)
            EscapeEngine.ForBodyOf(allocation).Analyze(allocation);
        Assert.Equal(16, graph.Expansions);
    }

    [Fact]
    public void EngineCreatedDirectlyOrForAnyOperation_SharesTheBodysGraph_PerSummaries()
    {
        var (compilation, marked) = Compile("void M() { var a = [|new int[1]|]; Use(a.Length); }");
        var graph = EscapeEngine.ForBodyOf(marked[0]).Graph;
        Assert.Same(graph, new EscapeEngine(marked[0].Root()).Graph);
        var summaries = new ParameterSummaries(compilation);
        var withSummaries = EscapeEngine.ForBodyOf(marked[0], summaries).Graph;
        Assert.NotSame(graph, withSummaries);
        Assert.Same(withSummaries, EscapeEngine.ForBodyOf(marked[0], summaries).Graph);
    }

    // ----------------------------------------------------------------------------- cycles among locals

    [Fact]
    public void CycleOfLocalsStoredToField_BothEscapeWithPath()
    {
        var (_, marked) = Compile("""
                void M()
                {
                    int[] a = [|new int[4]|];
                    int[] b = [|new int[2]|];
                    a = b;
                    b = a;
                    _field = a;
                }
            """);
        var first = EscapeEngine.ForBodyOf(marked[0]).Analyze(marked[0]);
        Assert.Equal(EscapeKind.StoredInField, first.Kind);
        Assert.Equal("assigned to 'a' (line 11), stored into field '_field'", first.Explain());

        var second = EscapeEngine.ForBodyOf(marked[1]).Analyze(marked[1]);
        Assert.Equal("stored into field '_field'", second.Reason);
        Assert.Equal("assigned to 'b' (line 12), assigned to 'a' (line 13), stored into field '_field'", second.Explain());

        var engine = EscapeEngine.ForBodyOf(marked[0]);
        Assert.True(engine.AnalyzeSymbol(Local(marked[0], "a")).Escapes);
        Assert.True(engine.AnalyzeSymbol(Local(marked[0], "b")).Escapes);
    }

    [Fact]
    public void CycleWithASinkOnEachLocal_FirstSinkDependsOnWhereTheValueEnters()
    {
        // a's uses: 'b = a' (into b), then '_field = a'; b's uses: 'a = b' (into a), then 's_static = b'.
        // Depth first in source order, a value entering at 'a' reaches b's sink before a's own, and a value
        // entering at 'b' reaches a's sink first: a verdict memoised for a member of the cycle would be
        // wrong for the other entry.
        var (_, marked) = Compile("""
                void M()
                {
                    int[] a = [|new int[1]|];
                    int[] b = [|new int[2]|];
                    b = a;
                    a = b;
                    _field = a;
                    s_static = b;
                }
            """);
        var engine = EscapeEngine.ForBodyOf(marked[0]);
        var first = engine.Analyze(marked[0]);
        var second = engine.Analyze(marked[1]);
        Assert.Equal("stored into static field 's_static'", first.Reason);
        Assert.Equal("assigned to 'a' (line 11), assigned to 'b' (line 13), stored into static field 's_static'", first.Explain());
        Assert.Equal("stored into field '_field'", second.Reason);
        Assert.Equal("assigned to 'b' (line 12), assigned to 'a' (line 14), stored into field '_field'", second.Explain());
        // Asked again, in the other order, the answers are the same.
        Assert.Equal("stored into field '_field'", engine.Analyze(marked[1]).Reason);
        Assert.Equal("stored into static field 's_static'", engine.Analyze(marked[0]).Reason);
    }

    [Fact]
    public void CycleWithoutSink_DoesNotEscape()
    {
        var (_, marked) = Compile("""
                void M()
                {
                    int[] a = [|new int[1]|];
                    int[] b = a;
                    for (var i = 0; i < 3; i++) { var t = a; a = b; b = t; }
                    Use(a.Length + b.Length);
                }
            """);
        var engine = EscapeEngine.ForBodyOf(marked[0]);
        Assert.True(engine.Analyze(marked[0]).CanLiveOnStack);
        Assert.False(engine.AnalyzeSymbol(Local(marked[0], "t")).Escapes);
    }

    // ----------------------------------------------------------------------------- the path

    [Fact]
    public void PathThroughPatternDeconstructionAndLocalFunction_NamesEveryLocation()
    {
        var (_, marked) = Compile("""
                void M()
                {
                    object o = [|new int[4]|];
                    if (o is int[] arr)
                    {
                        var (x, y) = (arr, 1);
                        Keep(x);
                    }
                    void Keep(int[] kept) { _field = kept; }
                }
            """);
        var result = EscapeEngine.ForBodyOf(marked[0]).Analyze(marked[0]);
        Assert.Equal("stored into field '_field'", result.Reason);
        Assert.Equal(new[]
        {
            "assigned to 'o' (line 11)",
            "matched as 'arr' (line 12)",
            "deconstructed into 'x' (line 14)",
            "passed to local function 'Keep' as 'kept' (line 15)",
            "stored into field '_field'",
        }, result.Path);
    }

    [Fact]
    public void PathThroughCalleeSummary_ContinuesInTheCallee()
    {
        var (compilation, marked) = Compile("""
                void Keep(int[] values) { var copy = values; _field = copy; }
                void M()
                {
                    var buffer = [|new int[4]|];
                    Keep(buffer);
                }
            """);
        var result = EscapeEngine.ForBodyOf(marked[0], new ParameterSummaries(compilation)).Analyze(marked[0]);
        Assert.Equal("passed to 'C.Keep', where it is stored into field '_field'", result.Reason);
        Assert.Equal("assigned to 'buffer' (line 12), passed to 'C.Keep' as 'values', assigned to 'copy' (line 9), stored into field '_field'", result.Explain());
    }

    [Fact]
    public void DirectSink_PathIsTheReason()
    {
        var (_, marked) = Compile("int[] M() => [|new int[4]|];");
        var result = EscapeEngine.ForBodyOf(marked[0]).Analyze(marked[0]);
        Assert.Equal(new[] { "returned" }, result.Path);
        Assert.Equal("returned", result.Explain());
    }

    [Fact]
    public void NoEscape_EmptyPath()
    {
        var (_, marked) = Compile("void M() { var a = [|new int[4]|]; Use(a[0]); }");
        var result = EscapeEngine.ForBodyOf(marked[0]).Analyze(marked[0]);
        Assert.Empty(result.Path);
        Assert.Equal("does not escape", result.Explain());
    }

    // ----------------------------------------------------------------------------- lazy text

    [Fact]
    public void Reason_RenderedOnlyWhenAsked_AndOnce()
    {
        var (compilation, marked) = Compile("""
                void M()
                {
                    var a = [|new int[4]|];
                    var l = new List<int[]>();
                    l.Add(a);
                }
            """);
        var result = EscapeEngine.ForBodyOf(marked[0], new ParameterSummaries(compilation)).Analyze(marked[0]);
        Assert.Equal(EscapeKind.PassedToMethod, result.Kind);
        var field = typeof(EscapeResult).GetField("_reason", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!;
        Assert.Null(field.GetValue(result));
        var reason = result.Reason;
        Assert.Equal("passed to 'List<int[]>.Add', which may keep it", reason);
        Assert.Same(reason, field.GetValue(result));
        Assert.Same(reason, result.Reason);
    }

    // ----------------------------------------------------------------------------- the body's facts only when needed

    /// <summary>A value that does not escape is checked for liveness across await/yield; a body whose text spells
    /// neither keyword has no suspension, so the answer needs no walk of the body (its facts), which MSA1000 would
    /// otherwise pay for in nearly every method it reports in.</summary>
    [Fact]
    public void NonEscapingValue_BodyWithoutAwaitOrYield_AnsweredWithoutTheBodysFacts()
    {
        var (_, marked) = Compile("void M() { Use(([|new int[4]|]).Length); }");
        var engine = EscapeEngine.ForBodyOf(marked[0]);
        Assert.True(engine.Analyze(marked[0]).CanLiveOnStack);
        Assert.False(engine.Graph.HasFacts);
    }

    [Fact]
    public void NonEscapingValue_AwaitOnlyInAComment_AskedTheFacts_NoSuspension()
    {
        var (_, marked) = Compile("""
                void M()
                {
                    // no await here
                    Use(([|new int[4]|]).Length);
                }
            """);
        var engine = EscapeEngine.ForBodyOf(marked[0]);
        var result = engine.Analyze(marked[0]);
        Assert.True(result.CanLiveOnStack);
        Assert.Null(result.Suspension);
        Assert.True(engine.Graph.HasFacts);
    }

    [Fact]
    public void NonEscapingValue_UsedAfterAnAwait_LiveAcrossIt()
    {
        var (_, marked) = Compile("""
                async System.Threading.Tasks.Task M()
                {
                    var a = [|new int[4]|];
                    await System.Threading.Tasks.Task.Yield();
                    Use(a.Length);
                }
            """);
        var result = EscapeEngine.ForBodyOf(marked[0]).Analyze(marked[0]);
        Assert.False(result.Escapes);
        Assert.Equal("it is live across 'await' at line 12", result.Suspension);
    }

    [Fact]
    public void NonEscapingValue_YieldBeforeItsCreation_NotLiveAcrossIt()
    {
        var (_, marked) = Compile("""
                IEnumerable<int> M()
                {
                    yield return 1;
                    Use(([|new int[4]|]).Length);
                }
            """);
        var result = EscapeEngine.ForBodyOf(marked[0]).Analyze(marked[0]);
        Assert.True(result.CanLiveOnStack);
    }

    // ----------------------------------------------------------------------------- incomplete code

    [Fact]
    public void IncompleteCode_AnsweredWithoutThrowing()
    {
        var (_, marked) = Compile("""
                void M()
                {
                    var a = [|new int[4]|];
                    var b = a;
                    Undefined(b);
                    b = ;
                    _field = a
                }
            """, allowErrors: true);
        var result = EscapeEngine.ForBodyOf(marked[0]).Analyze(marked[0]);
        Assert.True(result.Escapes);
        Assert.False(string.IsNullOrEmpty(result.Explain()));
    }

    [Fact]
    public void UnknownSymbol_DoesNotEscape()
    {
        var (compilation, marked) = Compile("void M() { var a = [|new int[4]|]; }");
        var other = compilation.GetTypeByMetadataName("C")!.GetMembers("_field").Single();
        Assert.False(EscapeEngine.ForBodyOf(marked[0]).AnalyzeSymbol(other).Escapes);
    }
}
