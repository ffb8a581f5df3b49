using System.Collections.Generic;
using System.Linq;
using MemSafety.Analyzers.Engines.ControlFlow;
using MemSafety.Analyzers.Engines.Dataflow;
using MemSafety.Analyzers.Tests.Verification;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Tests.Engines.Dataflow;

/// <summary>
/// The dataflow base proved by two small analyses written here (not shipped as rules): definite assignment
/// (forward, must) asked at every <c>Use(local)</c> of a body and checked against the C# compiler's own verdict
/// (CS0165), and liveness (backward, may) asked after the operation marked <c>[|…|]</c>.
/// </summary>
public sealed class DataflowTests
{
    private static string Wrap(string body) => $$"""
        using System;
        using System.Collections.Generic;
        #pragma warning disable CS0162, CS0164, CS0168, CS0219, CS8321
        class C
        {
            static bool F() => true;
            static int G() => 1;
            static void Use(int v) { }
            static bool TryGet(out int v) { v = 1; return true; }
            void M(object o, List<int> list)
            {
        {{body}}
            }
        }
        """;

    private static CSharpCompilation Compile(string source, out SyntaxTree tree)
    {
        tree = CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Latest));
        return CSharpCompilation.Create("t", new[] { tree }, Basic.Reference.Assemblies.Net80.References.All,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
    }

    /// <summary>"assigned", "unassigned", "unreachable" or "unknown" at each <c>Use(local)</c>, in source order.
    /// For code without other errors, each verdict must agree with whether the compiler reports CS0165 there.</summary>
    private static string[] Assigned(string body, bool compare = true)
    {
        var compilation = Compile(Wrap(body), out var tree);
        var diagnostics = compilation.GetDiagnostics();
        var unassigned = diagnostics.Where(d => d.Id == "CS0165").Select(d => d.Location.SourceSpan).ToHashSet();
        var otherErrors = diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error && d.Id != "CS0165").ToList();
        if (compare)
            Assert.True(otherErrors.Count == 0, string.Join("\n", otherErrors));
        var model = compilation.GetSemanticModel(tree);
        var verdicts = new List<string>();
        foreach (var call in tree.GetRoot().DescendantNodes().OfType<InvocationExpressionSyntax>())
        {
            if (call.Expression.ToString() != "Use" || call.ArgumentList.Arguments.Count != 1)
                continue;
            var argument = call.ArgumentList.Arguments[0].Expression;
            if (model.GetOperation(argument) is not ILocalReferenceOperation use)
                continue;
            var verdict = Verdict(use);
            verdicts.Add(verdict);
            if (compare && verdict is "assigned" or "unassigned")
                Assert.True((verdict == "unassigned") == unassigned.Contains(argument.Span), $"{verdict} disagrees with the compiler at '{call}' (line {argument.GetLocation().GetLineSpan().StartLinePosition.Line})");
        }

        return verdicts.ToArray();
    }

    private static string Verdict(ILocalReferenceOperation use)
    {
        var graph = LoopCycles.GraphOf(use);
        if (graph is null)
            return "unknown";
        var analysis = new DefiniteAssignment(graph);
        var result = MemSafety.Analyzers.Engines.Dataflow.Dataflow.Analyze(graph, analysis, default);
        if (result is null)
            return "unknown";
        if (!result.TryGetStateBefore(use, out var state))
            return "unreachable";
        return analysis.IsAssigned(state, use.Local) ? "assigned" : "unassigned";
    }

    /// <summary>Whether the local written by the marked operation may be read after it.</summary>
    private static bool LiveAfter(string body, string local)
    {
        var parsed = Markup.Parse(Wrap(body));
        var compilation = Compile(parsed.Source, out var tree);
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        var node = tree.GetRoot().FindNode(parsed.Spans.Single().Span, getInnermostNodeForTie: true);
        var operation = compilation.GetSemanticModel(tree).GetOperation(node)!;
        var graph = LoopCycles.GraphOf(operation)!;
        var analysis = new Liveness(graph);
        var result = MemSafety.Analyzers.Engines.Dataflow.Dataflow.Analyze(graph, analysis, default)!;
        Assert.True(result.TryGetStateAfter(operation, out var state), "the marked operation is not in the graph");
        var symbol = operation.DescendantsAndSelf().OfType<ILocalReferenceOperation>().First(r => r.Local.Name == local).Local;
        return state.Contains(analysis.Locals.Of(symbol));
    }

    // ------------------------------------------------------------------------ branches

    [Fact]
    public void IfElse_BothAssign_Assigned()
        => Assert.Equal(new[] { "assigned" }, Assigned("int x; if (F()) x = 1; else x = 2; Use(x);"));

    [Fact]
    public void IfWithoutElse_Unassigned()
        => Assert.Equal(new[] { "unassigned" }, Assigned("int x; if (F()) x = 1; Use(x);"));

    [Fact]
    public void InsideTheBranchThatAssigns_Assigned()
        => Assert.Equal(new[] { "assigned" }, Assigned("int x; if (F()) { x = 1; Use(x); }"));

    [Fact]
    public void ShortCircuitAnd_AssignedOnlyWhenBothRan()
        => Assert.Equal(new[] { "assigned", "unassigned" }, Assigned("""
            int x, y;
            if (F() && TryGet(out x)) Use(x);
            if (F() || TryGet(out y)) Use(y);
            """));

    [Fact]
    public void ThrowingBranch_DoesNotReachTheUse_Assigned()
        => Assert.Equal(new[] { "assigned" }, Assigned("int x; if (F()) x = 1; else throw new Exception(); Use(x);"));

    [Fact]
    public void ReturningBranch_DoesNotReachTheUse_Assigned()
        => Assert.Equal(new[] { "assigned" }, Assigned("int x; if (!F()) return; x = 1; Use(x);"));

    [Fact]
    public void CodeAfterReturn_Unreachable()
        => Assert.Equal(new[] { "unreachable" }, Assigned("int x; return; Use(x);"));

    // ------------------------------------------------------------------------ loops

    [Fact]
    public void While_AssignedInBody_UnassignedAfter()
        => Assert.Equal(new[] { "unassigned" }, Assigned("int x; while (F()) { x = 1; } Use(x);"));

    [Fact]
    public void DoWhile_AssignedInBody_AssignedAfter()
        => Assert.Equal(new[] { "assigned" }, Assigned("int x; do { x = 1; } while (F()); Use(x);"));

    [Fact]
    public void For_AssignedInCondition_AssignedInBodyAndAfter()
        => Assert.Equal(new[] { "assigned", "assigned" }, Assigned("int x; for (int i = 0; TryGet(out x) && i < 3; i++) { Use(x); } Use(x);"));

    [Fact]
    public void Foreach_AssignedInBody_UnassignedAfter_IterationVariableAssigned()
        => Assert.Equal(new[] { "assigned", "unassigned" }, Assigned("int x; foreach (var item in list) { Use(item); x = item; } Use(x);"));

    [Fact]
    public void WhileTrue_BreakAfterAssignment_Assigned()
        => Assert.Equal(new[] { "assigned" }, Assigned("int x; while (true) { if (F()) { x = 1; break; } } Use(x);"));

    [Fact]
    public void Continue_SkipsTheAssignment_UnassignedAtTheNextIteration()
        => Assert.Equal(new[] { "assigned", "assigned", "unassigned" }, Assigned("""
            int x, y;
            for (var i = 0; i < 3; i++) { if (F()) continue; x = 1; Use(x); }
            while (F()) { int z; if (F()) { y = 1; continue; } z = 2; Use(z); } Use(y);
            """));

    [Fact]
    public void Goto_JumpsOverTheAssignment_Unassigned()
        => Assert.Equal(new[] { "unassigned", "assigned" }, Assigned("""
            int x, y;
            if (F()) goto done;
            x = 1;
            done:
            Use(x);
            again:
            if (F()) goto again;
            y = 1;
            Use(y);
            """));

    // ------------------------------------------------------------------------ switch

    [Fact]
    public void Switch_EveryCaseAndDefaultAssign_Assigned()
        => Assert.Equal(new[] { "assigned" }, Assigned("""
            int x;
            switch (G()) { case 1: x = 1; break; case 2: x = 2; break; default: x = 3; break; }
            Use(x);
            """));

    [Fact]
    public void Switch_WithoutDefault_Unassigned()
        => Assert.Equal(new[] { "unassigned" }, Assigned("int x; switch (G()) { case 1: x = 1; break; case 2: x = 2; break; } Use(x);"));

    [Fact]
    public void IsPattern_DeclaresOnlyWhenItMatched()
        => Assert.Equal(new[] { "assigned", "unassigned" }, Assigned("""
            if (o is int a) Use(a);
            else { int b; if (o is int c) b = c; Use(b); }
            """));

    // ------------------------------------------------------------------------ exceptions

    [Fact]
    public void AssignedInTry_UseInCatch_Unassigned()
        => Assert.Equal(new[] { "unassigned" }, Assigned("int x; try { x = G(); } catch (Exception) { Use(x); }"));

    [Fact]
    public void AssignedBeforeTry_UseInCatch_Assigned()
        => Assert.Equal(new[] { "assigned" }, Assigned("int x = 0; try { x = G(); } catch { Use(x); }"));

    [Fact]
    public void AssignedInTryAndEveryCatch_UseAfter_Assigned()
        => Assert.Equal(new[] { "assigned" }, Assigned("int x; try { x = G(); } catch (InvalidOperationException) { x = 2; } catch { x = 3; } Use(x);"));

    [Fact]
    public void CatchThatDoesNotAssign_UseAfter_Unassigned()
        => Assert.Equal(new[] { "unassigned" }, Assigned("int x; try { x = G(); } catch (InvalidOperationException) { } Use(x);"));

    [Fact]
    public void AssignedInTry_UseAfterFinally_Assigned()
        => Assert.Equal(new[] { "assigned" }, Assigned("int x; try { x = G(); } finally { G(); } Use(x);"));

    [Fact]
    public void AssignedInTry_UseInFinally_Unassigned()
        => Assert.Equal(new[] { "unassigned" }, Assigned("int x; try { x = G(); } finally { Use(x); }"));

    [Fact]
    public void AssignedInFinally_UseAfter_Assigned()
        => Assert.Equal(new[] { "assigned" }, Assigned("int x; try { G(); } finally { x = 1; } Use(x);"));

    [Fact]
    public void ReturnThroughFinally_DoesNotReachTheCodeAfterIt_Assigned()
        // One copy of the finally per destination: the return's path ends at the exit, not at Use(x).
        => Assert.Equal(new[] { "assigned" }, Assigned("int x; try { if (F()) return; x = 1; } finally { G(); } Use(x);"));

    [Fact]
    public void NestedFinally_AssignedInInnerTry_AssignedAfterBoth()
        => Assert.Equal(new[] { "assigned", "unassigned" }, Assigned("""
            int x, y;
            try { try { x = G(); } finally { G(); } } finally { G(); }
            Use(x);
            try { try { if (F()) y = 1; } finally { } } catch { y = 2; }
            Use(y);
            """));

    [Fact]
    public void Using_AssignedInside_AssignedAfter_DisposableAssignedInside()
        => Assert.Equal(new[] { "assigned" }, Assigned("int x; using (var d = new System.IO.MemoryStream()) { x = d.ReadByte(); } Use(x);"));

    [Fact]
    public void CatchVariable_Assigned()
        => Assert.Equal(new[] { "assigned" }, Assigned("try { G(); } catch (Exception e) { int h = e.HResult; Use(h); }"));

    // ------------------------------------------------------------------------ out, lambdas, local functions

    [Fact]
    public void OutArgument_Assigned()
        => Assert.Equal(new[] { "assigned", "assigned" }, Assigned("int x; TryGet(out x); Use(x); TryGet(out var y); Use(y);"));

    [Fact]
    public void LocalFunctionBody_IsItsOwnGraph()
        => Assert.Equal(new[] { "unassigned", "assigned" }, Assigned("""
            void Local() { int y; if (F()) y = 1; Use(y); }
            int x = 1;
            void Reads() => Use(x);
            Reads();
            """));

    [Fact]
    public void LambdaBody_IsItsOwnGraph_CapturedLocalAssignedAtTheBoundary()
        => Assert.Equal(new[] { "assigned", "unassigned" }, Assigned("""
            int x = 1;
            Action a = () => { Use(x); int y; if (F()) y = 2; Use(y); };
            """));

    // ------------------------------------------------------------------------ broken code, no graph

    [Fact]
    public void IncompleteCode_AnswersWithoutCrashing()
        => Assert.Equal(new[] { "unassigned", "assigned" }, Assigned("""
            int x; if (F() { x = 1; } Use(x);
            int y = 2; Use(y
            """, compare: false));

    [Fact]
    public void NoGraph_Unknown()
    {
        var compilation = Compile("""
            class A : System.Attribute { public A(int v) { } }
            [A(1 + 2)] class C { }
            """, out var tree);
        var argument = tree.GetRoot().DescendantNodes().OfType<BinaryExpressionSyntax>().Single();
        var operation = compilation.GetSemanticModel(tree).GetOperation(argument)!;
        Assert.Null(LoopCycles.GraphOf(operation));
        Assert.Null(MemSafety.Analyzers.Engines.Dataflow.Dataflow.Analyze(operation, new Liveness(null), default));
    }

    // ------------------------------------------------------------------------ liveness (backward)

    [Fact]
    public void OverwrittenBeforeAnyRead_NotLive()
        => Assert.False(LiveAfter("int x; [|x = 1|]; x = 2; Use(x);", "x"));

    [Fact]
    public void ReadLater_Live()
        => Assert.True(LiveAfter("int x; [|x = 1|]; G(); Use(x);", "x"));

    [Fact]
    public void ReadOnlyInCatch_LiveAcrossTheTry()
        // The catch may be entered from any point of the try, before x is written again.
        => Assert.True(LiveAfter("int x; [|x = 1|]; try { G(); x = 2; } catch { Use(x); }", "x"));

    [Fact]
    public void ReadOnlyInFinally_LiveAcrossTheTry()
        => Assert.True(LiveAfter("int x; [|x = 1|]; try { if (F()) return; G(); } finally { Use(x); }", "x"));

    [Fact]
    public void ReadAtTheNextIteration_LiveAcrossTheBackEdge()
        => Assert.True(LiveAfter("int x = 0; while (F()) { Use(x); [|x = G()|]; }", "x"));

    [Fact]
    public void ReadOnlyBeforeTheWriteInAStraightLine_NotLive()
        => Assert.False(LiveAfter("int x = 0; Use(x); [|x = G()|]; G();", "x"));
}
