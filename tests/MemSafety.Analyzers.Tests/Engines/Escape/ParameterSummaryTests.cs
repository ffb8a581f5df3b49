using System.Linq;
using System.Threading;
using MemSafety.Analyzers.Engines.Escape;
using MemSafety.Analyzers.Tests.Verification;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace MemSafety.Analyzers.Tests.Engines.Escape;

/// <summary>Interprocedural precision: calls into methods of the same compilation are judged by the
/// callee's own body ("leaking param" summaries), bounded and recursion-safe.</summary>
public sealed class ParameterSummaryTests
{
    private static EscapeResult Analyze(string members, bool withSummaries = true)
    {
        var parsed = Markup.Parse($$"""
            using System;
            using System.Collections.Generic;
            class C
            {
                int[]? _kept;
                static int Total;
            {{members}}
            }
            """);
        var tree = CSharpSyntaxTree.ParseText(parsed.Source);
        var compilation = CSharpCompilation.Create("t", new[] { tree }, Basic.Reference.Assemblies.Net80.References.All,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        var operation = compilation.GetSemanticModel(tree).GetOperation(tree.GetRoot().FindNode(parsed.Spans.Single().Span, getInnermostNodeForTie: true))!;
        return EscapeEngine.ForBodyOf(operation, withSummaries ? new ParameterSummaries(compilation) : null).Analyze(operation);
    }

    /// <summary>What <see cref="ParameterSummaries"/> answers for the first parameter of <paramref name="method"/>, asked
    /// directly (as MSA4009 does), on a fresh instance.</summary>
    private static ParameterSummary Summary(string members, string method, bool allowErrors = false)
    {
        var tree = CSharpSyntaxTree.ParseText($$"""
            using System;
            using System.Collections.Generic;
            class C
            {
                int[]? _kept;
                static int Total;
            {{members}}
            }
            """);
        var compilation = CSharpCompilation.Create("t", new[] { tree }, Basic.Reference.Assemblies.Net80.References.All,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        if (!allowErrors)
            Assert.Empty(compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
        var symbol = compilation.GetSymbolsWithName(method, SymbolFilter.Member).OfType<IMethodSymbol>().First();
        return new ParameterSummaries(compilation).Get(symbol, 0, CancellationToken.None);
    }

    [Fact]
    public void Summary_ParameterOnlyRead_DoesNotRetain()
        => Assert.Equal(ParameterVerdict.DoesNotRetain, Summary("static int Sum(int[] v) { var s = 0; foreach (var x in v) s += x; return s; }", "Sum").Verdict);

    [Fact]
    public void Summary_ParameterStoredToField_RetainsWithTheSink()
    {
        var summary = Summary("void Keep(int[] v) { var copy = v; _kept = copy; }", "Keep");
        Assert.Equal(ParameterVerdict.Retains, summary.Verdict);
        Assert.Equal(EscapeKind.StoredInField, summary.Callee!.Kind);
        Assert.Equal("stored into field '_kept'", summary.Reason);
        Assert.Equal(new[] { "assigned to 'copy' (line 7)", "stored into field '_kept'" }, summary.Callee.Path);
    }

    [Fact]
    public void Summary_ParameterReturned_Returns()
        => Assert.Same(ParameterSummary.ReturnsIt, Summary("static int[] Same(int[] v) { if (v.Length == 0) return v; return v; }", "Same"));

    [Fact]
    public void Summary_ParameterReturnedFromALambda_Retains()
        => Assert.Equal(ParameterVerdict.Retains, Summary("static Func<int[]> Later(int[] v) => () => v;", "Later").Verdict);

    [Fact]
    public void Summary_ParameterPassedOnToACalleeThatKeepsIt_RetainsWithTheCalleesReason()
    {
        var summary = Summary("void Keep(int[] v) { _kept = v; }\nvoid Forward(int[] w) => Keep(w);", "Forward");
        Assert.Equal(ParameterVerdict.Retains, summary.Verdict);
        Assert.Equal("passed to 'C.Keep', where it is stored into field '_kept'", summary.Reason);
    }

    [Fact]
    public void Summary_ParameterPassedOnToACalleeThatOnlyReadsIt_DoesNotRetain()
        => Assert.Equal(ParameterVerdict.DoesNotRetain,
            Summary("static int Length(int[] v) => v.Length;\nstatic int Forward(int[] w) => Length(w) + 1;", "Forward").Verdict);

    [Fact]
    public void Summary_Recursion_CutConservatively()
    {
        var summary = Summary("static int Loop(int[] v, int n) => n == 0 ? v.Length : Loop(v, n - 1);", "Loop");
        Assert.Equal(ParameterVerdict.Retains, summary.Verdict);
        Assert.Equal("passed to 'C.Loop', which may keep it", summary.Reason);
    }

    [Fact]
    public void Summary_VirtualOrInterfaceCallee_Unknown()
    {
        Assert.Same(ParameterSummary.Unknown, Summary("protected virtual int Look(int[] v) => v.Length;", "Look"));
        Assert.Same(ParameterSummary.Unknown, Summary("interface IReader { int Read(int[] v); }", "Read"));
        Assert.Same(ParameterSummary.Unknown, Summary("abstract class Reader { public abstract int Read(int[] v); }", "Read"));
    }

    [Fact]
    public void Summary_IncompleteCode_AnsweredWithoutThrowing()
    {
        Assert.Equal(ParameterVerdict.Retains, Summary("void Broken(int[] v) { _kept = v }", "Broken", allowErrors: true).Verdict);
        Assert.Equal(ParameterVerdict.Retains, Summary("void Unknown(int[] v) { Undefined(v); }", "Unknown", allowErrors: true).Verdict);
        Assert.Equal(ParameterVerdict.DoesNotRetain, Summary("static int Half(int[] v) { return v.Length / ; }", "Half", allowErrors: true).Verdict);
    }

    private const string Readers = """
            static int Sum(int[] values) { var s = 0; foreach (var v in values) s += v; return s; }
            static int First(int[] values) => values.Length > 0 ? values[0] : -1;
        """;

    [Fact]
    public void CalleeOnlyReads_NoEscape()
        => Assert.True(Analyze(Readers + "void M() { var a = [|new int[4]|]; Total = Sum(a) + First(a); }").CanLiveOnStack);

    [Fact]
    public void WithoutSummaries_SameCallCountsAsEscape()
        => Assert.Equal("passed to 'C.Sum', which may keep it",
            Analyze(Readers + "void M() { var a = [|new int[4]|]; Total = Sum(a); }", withSummaries: false).Reason);

    [Fact]
    public void CalleeStoresIntoField_EscapesWithTheCalleesReason()
    {
        var result = Analyze("void Keep(int[] values) { _kept = values; }\nvoid M() { var a = [|new int[4]|]; Keep(a); }");
        Assert.Equal(EscapeKind.PassedToMethod, result.Kind);
        Assert.Equal("passed to 'C.Keep', where it is stored into field '_kept'", result.Reason);
    }

    [Fact]
    public void CalleePassesToSafeCallee_NoEscape()
        => Assert.True(Analyze(Readers + "static int Twice(int[] v) => Sum(v) * 2;\nvoid M() { var a = [|new int[4]|]; Total = Twice(a); }").CanLiveOnStack);

    [Fact]
    public void CalleeReturnsIt_ResultIsFollowed()
    {
        const string identity = "static int[] Same(int[] v) => v;\n";
        Assert.True(Analyze(identity + "void M() { var a = [|new int[4]|]; var b = Same(a); Total = b[0]; }").CanLiveOnStack);
        var escaped = Analyze(identity + "void M() { var a = [|new int[4]|]; _kept = Same(a); }");
        Assert.Equal("stored into field '_kept'", escaped.Reason);
    }

    [Fact]
    public void VirtualCallee_IsNotSummarized()
        => Assert.Equal("passed to 'C.Look', which may keep it",
            Analyze("protected virtual int Look(int[] v) => v.Length;\nvoid M() { var a = [|new int[4]|]; Total = Look(a); }").Reason);

    [Fact]
    public void OverrideInSealedType_IsSummarized()
        => Assert.True(Analyze("""
                class Base { public virtual int Look(int[] v) => 0; }
                sealed class Derived : Base { public override int Look(int[] v) => v.Length; }
                void M(Derived d) { var a = [|new int[4]|]; Total = d.Look(a); }
            """).CanLiveOnStack);

    [Fact]
    public void Recursion_IsCutConservatively()
        => Assert.True(Analyze("static int Loop(int[] v, int n) => n == 0 ? v.Length : Loop(v, n - 1);\nvoid M() { var a = [|new int[4]|]; Total = Loop(a, 3); }").Escapes);

    [Fact]
    public void DeepChains_AreBoundedConservatively()
    {
        const string chain = """
                static int L1(int[] v) => L2(v);
                static int L2(int[] v) => L3(v);
                static int L3(int[] v) => L4(v);
                static int L4(int[] v) => L5(v);
                static int L5(int[] v) => v.Length;
            """;
        Assert.True(Analyze(chain + "void M() { var a = [|new int[4]|]; Total = L1(a); }").Escapes);
        Assert.True(Analyze(chain + "void M() { var a = [|new int[4]|]; Total = L3(a); }").CanLiveOnStack);
    }

    [Fact]
    public void ConstructorStoringArgument_Escapes()
        => Assert.Equal("passed to the constructor of 'Holder', where it is stored into field 'Data'",
            Analyze("sealed class Holder { public int[] Data; public Holder(int[] d) { Data = d; } }\nvoid M() { var a = [|new int[4]|]; var h = new Holder(a); }").Reason);

    [Fact]
    public void LocalFunctionParameter_IsFollowedInline()
    {
        Assert.True(Analyze("void M() { var a = [|new int[4]|]; Total = Count(a); static int Count(int[] v) => v.Length; }").CanLiveOnStack);
        Assert.Equal("stored into field '_kept'",
            Analyze("void M() { var a = [|new int[4]|]; Store(a); void Store(int[] v) { _kept = v; } }").Reason);
    }

    [Fact]
    public void InterfaceCallee_IsNotSummarized()
        => Assert.True(Analyze("interface IReader { int Read(int[] v); }\nvoid M(IReader r) { var a = [|new int[4]|]; Total = r.Read(a); }").Escapes);

    /// <summary>The rules share one summaries instance and ask in any order, so a verdict must not depend on what
    /// the cache held: a chain one level deeper than <see cref="ParameterSummaries.MaxDepth"/> is cut (and so kept
    /// conservatively) whether or not the deeper summaries were computed first, from a shallower question.</summary>
    [Fact]
    public void VerdictDoesNotDependOnWhatWasCachedBefore()
    {
        const string chain = """
                static int P0(int[] v) => P1(v);
                static int P1(int[] v) => P2(v);
                static int P2(int[] v) => P3(v);
                static int P3(int[] v) => v.Length;
                void M() { var a = [|new int[4]|]; Total = P0(a); }
            """;
        var parsed = Markup.Parse("class C { static int Total; " + chain + " }");
        var tree = CSharpSyntaxTree.ParseText(parsed.Source);
        var compilation = CSharpCompilation.Create("t", new[] { tree }, Basic.Reference.Assemblies.Net80.References.All,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        Assert.Empty(compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
        var operation = compilation.GetSemanticModel(tree).GetOperation(tree.GetRoot().FindNode(parsed.Spans.Single().Span, getInnermostNodeForTie: true))!;
        IMethodSymbol Method(string name) => compilation.GetTypeByMetadataName("C")!.GetMembers(name).OfType<IMethodSymbol>().Single();

        var cold = new ParameterSummaries(compilation);
        var coldResult = EscapeEngine.ForBodyOf(operation, cold).Analyze(operation);

        var warmed = new ParameterSummaries(compilation);
        Assert.Equal(ParameterVerdict.DoesNotRetain, warmed.Get(Method("P2"), 0, CancellationToken.None).Verdict);
        Assert.Equal(ParameterVerdict.DoesNotRetain, warmed.Get(Method("P1"), 0, CancellationToken.None).Verdict);
        var warmResult = EscapeEngine.ForBodyOf(operation, warmed).Analyze(operation);

        Assert.True(coldResult.Escapes, "four levels of calls are beyond the depth limit: kept conservatively");
        Assert.Equal(coldResult.Explain(), warmResult.Explain());

        // And the other way round: what a deep question computed does not change a shallow one.
        Assert.Equal(ParameterVerdict.DoesNotRetain, cold.Get(Method("P1"), 0, CancellationToken.None).Verdict);
    }
}
