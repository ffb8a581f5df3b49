using System.Linq;
using MemSafety.Analyzers.Engines.ControlFlow;
using MemSafety.Analyzers.Tests.Verification;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Tests.Engines.ControlFlow;

/// <summary>The loop engine asked directly about the operation marked <c>[|…|]</c>: does it lie on a cycle of
/// its function's control-flow graph, and which loop statement repeats it.</summary>
public sealed class LoopCyclesTests
{
    private static IOperation Marked(string markup, OutputKind kind = OutputKind.DynamicallyLinkedLibrary)
    {
        var parsed = Markup.Parse(markup);
        var tree = CSharpSyntaxTree.ParseText(parsed.Source, new CSharpParseOptions(LanguageVersion.Latest));
        var compilation = CSharpCompilation.Create("t", new[] { tree }, Basic.Reference.Assemblies.Net80.References.All,
            new CSharpCompilationOptions(kind, nullableContextOptions: NullableContextOptions.Enable));
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        var node = tree.GetRoot().FindNode(parsed.Spans.Single().Span, getInnermostNodeForTie: true);
        var operation = compilation.GetSemanticModel(tree).GetOperation(node);
        Assert.NotNull(operation);
        return operation!;
    }

    private static string Wrap(string body, string returnType = "void") => $$"""
        using System;
        using System.Collections.Generic;
        using System.Text;
        #pragma warning disable CS0162, CS0164, CS0168, CS0219, CS8321
        class C
        {
            static bool F() => true;
            static void A() { }
            static void Use(object o) { }
            static int Parse(string s) => int.Parse(s);
            {{returnType}} M(int x, string s, List<int> list)
            {
        {{body}}
            }
        }
        """;

    /// <summary>Asks twice: as rules do (a loop that every path comes back around is answered from syntax) and
    /// from the graph alone, so every case also tests the graph.</summary>
    private static bool IsOnCycle(IOperation operation)
    {
        var answer = LoopCycles.IsOnCycle(operation);
        Assert.True(answer == LoopCycles.IsOnCycle(operation, allowShortcut: false), "the syntactic shortcut and the graph disagree");
        return answer;
    }

    private static void Repeats(string body, string returnType = "void")
        => Assert.True(IsOnCycle(Marked(Wrap(body, returnType))), "expected the marked operation on a cycle");

    private static void Once(string body, string returnType = "void")
        => Assert.False(IsOnCycle(Marked(Wrap(body, returnType))), "expected the marked operation off every cycle");

    /// <summary>The loop statement that repeats the marked operation, by its first keyword and its line in the body.</summary>
    private static string? RepeatingLoop(string body)
    {
        var operation = Marked(Wrap(body));
        var loop = LoopCycles.RepeatingLoop(operation);
        Assert.Same(loop, LoopCycles.RepeatingLoop(operation, allowShortcut: false));
        const int firstLineOfBody = 12;
        return loop is null ? null : loop.Syntax.GetFirstToken().ValueText + "@" + (loop.Syntax.GetLocation().GetLineSpan().StartLinePosition.Line - firstLineOfBody);
    }

    // ----------------------------------------------------------------------------- exits: once per call

    [Fact]
    public void ReturnAfterIt_Once() => Once("""
        foreach (var c in s) { if (F()) { var sb = [|new StringBuilder()|]; sb.Append(c); return; } }
        """);

    [Fact]
    public void ThrowAfterIt_Once() => Once("""
        while (x > 0) { if (F()) { Use([|x|]); throw new InvalidOperationException(); } x--; }
        """);

    [Fact]
    public void BreakAfterIt_Once() => Once("""
        for (var i = 0; i < x; i++) { if (F()) { [|A()|]; break; } }
        """);

    [Fact]
    public void GotoOutOfLoopAfterIt_Once() => Once("""
        while (F()) { if (x > 2) { [|A()|]; goto done; } x++; }
        done: A();
        """);

    [Fact]
    public void YieldBreakAfterIt_Once() => Once("""
        foreach (var i in list) { if (i > x) { Use([|i|]); yield break; } yield return i; }
        """, "IEnumerable<int>");

    [Fact]
    public void SwitchCaseEndingInReturnInsideWhileTrue_Once() => Once("""
        while (true) { switch (x) { case 1: Use([|(object)x|]); return; case 2: x++; break; default: x--; break; } }
        """);

    [Fact]
    public void SwitchCaseEndingInBreakInsideWhileTrue_Repeats() => Repeats("""
        while (true) { switch (x) { case 1: Use(x); return; case 2: [|x++|]; break; default: x--; break; } }
        """);

    [Fact]
    public void EveryPathReturns_LoopConditionStillRepeatsButBodyDoesNot()
    {
        Once("while (F()) { [|A()|]; return; }");
        Once("while ([|F()|]) { A(); return; }");
    }

    // ----------------------------------------------------------------------------- staying in the loop

    [Fact]
    public void ContinueAfterIt_Repeats() => Repeats("""
        foreach (var i in list) { if (i > x) { [|A()|]; continue; } Use(i); }
        """);

    [Fact]
    public void ConditionalWithoutExit_Repeats() => Repeats("""
        foreach (var i in list) { if (i > x) { [|A()|]; } }
        """);

    [Fact]
    public void BreakOfASwitchOrInnerLoop_Repeats()
    {
        Repeats("while (F()) { switch (x) { case 1: [|A()|]; break; default: x++; break; } }");
        Repeats("while (F()) { [|A()|]; foreach (var i in list) { if (i == x) break; } }");
    }

    [Fact]
    public void ThrowExpression_ItsBranchOnceTheOtherRepeats()
    {
        Once("foreach (var i in list) { var v = i > 0 ? i : throw new InvalidOperationException([|s|]); }");
        Repeats("foreach (var i in list) { var v = i > 0 ? [|i * 2|] : throw new InvalidOperationException(s); }");
    }

    [Fact]
    public void ConstantFalseCondition_Once()
    {
        Once("for (var i = 0; false; i++) { [|A()|]; }");
        Once("do { [|A()|]; } while (false);");
    }

    [Fact]
    public void ExitOnOtherBranchOnly_Repeats() => Repeats("""
        foreach (var i in list) { if (i > x) return; [|A()|]; }
        """);

    [Fact]
    public void BreakFromInnerLoopOnly_RepeatsWithOuterLoop()
    {
        const string body = """
            for (var i = 0; i < x; i++)
            {
                foreach (var j in list) { if (j == i) { [|A()|]; break; } }
            }
            """;
        Repeats(body);
        Assert.Equal("for@0", RepeatingLoop(body));
    }

    [Fact]
    public void LabelledBreakOutOfBothLoops_Once() => Once("""
        for (var i = 0; i < x; i++) { foreach (var j in list) { if (j == i) { [|A()|]; goto found; } } }
        found: A();
        """);

    [Fact]
    public void DoWhileBody_Repeats() => Repeats("do { [|A()|]; } while (F());");

    [Fact]
    public void DoWhileFalse_Once() => Once("do { [|A()|]; if (F()) break; } while (false);");

    [Fact]
    public void WhileTrueWithoutExit_Repeats() => Repeats("while (true) { [|A()|]; }");

    [Fact]
    public void ForParts_InitializerOnceConditionAndIncrementRepeat()
    {
        Once("for (var i = [|x * 2|]; i < 10; i++) A();");
        Repeats("for (var i = 0; [|i < x|]; i++) A();");
        Repeats("for (var i = 0; i < x; [|i++|]) A();");
    }

    [Fact]
    public void ForeachCollection_Once() => Once("foreach (var c in [|s.Trim()|]) A();");

    [Fact]
    public void ForeachCollectionOfInnerLoop_RepeatsWithOuterLoop() => Repeats("""
        while (F()) { foreach (var c in [|s.Trim()|]) A(); }
        """);

    [Fact]
    public void LoopStatementItself_RepeatsOnlyInsideAnotherLoop()
    {
        Once("[|foreach (var c in s) A();|]");
        Repeats("while (F()) { [|foreach (var c in s) A();|] }");
        Once("[|while (F()) A();|]");
        Repeats("for (var i = 0; i < x; i++) { [|while (F()) A();|] }");
        Repeats("foreach (var i in list) { [|while (F()) A();|] }");
        Repeats("foreach (var i in list) { [|do A(); while (F());|] }");
        Once("foreach (var i in list) { [|while (F()) A();|] return; }");
    }

    [Fact]
    public void LoopBuiltFromGoto_Repeats()
    {
        const string body = """
            again:
            [|A()|];
            if (F()) goto again;
            """;
        Repeats(body);
        Assert.Null(RepeatingLoop(body));
    }

    [Fact]
    public void GotoForwardOnly_Once() => Once("if (F()) goto skip; [|A()|]; skip: A();");

    [Fact]
    public void OutsideAnyLoop_Once() => Once("[|A()|]; if (F()) A();");

    // ----------------------------------------------------------------------------- exception regions

    [Fact]
    public void TryBodyInLoop_Repeats() => Repeats("while (F()) { try { [|A()|]; } catch (Exception) { } }");

    [Fact]
    public void CatchInLoop_Repeats() => Repeats("while (F()) { try { A(); } catch (Exception e) { Use([|e|]); } }");

    [Fact]
    public void FinallyInLoop_Repeats() => Repeats("while (F()) { try { A(); } finally { [|A()|]; } }");

    [Fact]
    public void FinallyInLoopWhoseTryMayReturn_Repeats() => Repeats("while (F()) { try { if (x > 1) return; A(); } finally { [|A()|]; } }");

    [Fact]
    public void FinallyAfterLoopInsideItsTry_Once() => Once("try { while (F()) A(); } finally { [|A()|]; }");

    [Fact]
    public void CatchOutsideLoop_Once() => Once("try { while (F()) A(); } catch (Exception e) { Use([|e|]); }");

    [Fact]
    public void FinallyThatThrowsBeforeItsEnd_Once() => Once("""
        while (F()) { try { A(); } finally { if (x > 1) { [|A()|]; throw new InvalidOperationException(); } } }
        """);

    [Fact]
    public void FinallyInsideRepeatedFinally_Repeats() => Repeats("""
        while (F()) { try { A(); } finally { try { A(); } finally { [|A()|]; } } }
        """);

    [Fact]
    public void FinallyWhoseTryAlwaysReturns_Once() => Once("""
        while (true) { try { return Parse(s); } finally { [|A()|]; } }
        """, "int");

    [Fact]
    public void ReturnInsideRetriedTry_Once() => Once("""
        while (true) { try { return [|Parse(s)|]; } catch (FormatException) { s = "0"; } }
        """, "int");

    [Fact]
    public void CatchOfRetriedTry_Repeats() => Repeats("""
        while (true) { try { return Parse(s); } catch (FormatException) { [|A()|]; } }
        """, "int");

    [Fact]
    public void ThrowCaughtInsideLoop_Repeats() => Repeats("""
        while (F()) { try { if (x > 1) { [|A()|]; throw new InvalidOperationException(); } } catch (InvalidOperationException) { } }
        """);

    [Fact]
    public void ReturnThroughFinallyInLoop_Once() => Once("""
        foreach (var i in list) { try { if (i > x) { Use([|(object)i|]); return; } } finally { A(); } }
        """);

    [Fact]
    public void CatchThatRethrowsOutOfLoop_Once() => Once("""
        while (F()) { try { A(); } catch (Exception) { [|A()|]; throw; } }
        """);

    // ----------------------------------------------------------------------------- nested functions

    [Fact]
    public void LoopInsideLambda_Repeats() => Repeats("Action a = () => { for (var i = 0; i < 3; i++) [|A()|]; };");

    [Fact]
    public void LambdaCreatedInLoop_CreationRepeatsBodyDoesNot()
    {
        Repeats("foreach (var i in list) { Func<int> f = [|() => i + 1|]; Use(f); }");
        Once("foreach (var i in list) { Func<int> f = () => [|i + 1|]; Use(f); }");
    }

    [Fact]
    public void ExitInsideLambdaInLoop_IsTheLambdasOwn() => Repeats("""
        foreach (var i in list) { Func<int> f = () => { if (F()) return 1; return 2; }; [|A()|]; }
        """);

    [Fact]
    public void LocalFunction_OwnLoopsOnly()
    {
        Once("foreach (var i in list) Local(i); void Local(int v) { [|A()|]; }");
        Repeats("Local(1); void Local(int v) { while (v-- > 0) [|A()|]; }");
        Once("while (F()) { Local(1); } void Local(int v) { while (v-- > 0) { [|A()|]; return; } }");
    }

    [Fact]
    public void LambdaInsideLocalFunction_OwnLoopsOnly() => Repeats("""
        Local(); void Local() { Action a = () => { do { [|A()|]; } while (F()); }; a(); }
        """);

    // ----------------------------------------------------------------------------- other bodies

    [Fact]
    public void FieldInitializerLambda_OwnLoop() => Assert.True(IsOnCycle(Marked("""
        using System;
        class C
        {
            static void A() { }
            static readonly Action s_run = () => { for (var i = 0; i < 3; i++) [|A()|]; };
        }
        """)));

    [Fact]
    public void ConstructorWithBaseCall_LoopInBody() => Assert.True(IsOnCycle(Marked("""
        class B { protected B(int x) { } }
        class C : B
        {
            static void A() { }
            C(int n) : base(n) { while (n-- > 0) [|A()|]; }
        }
        """)));

    [Fact]
    public void ExpressionBodiedAccessorAndOperator_NoLoop()
    {
        Assert.False(IsOnCycle(Marked("class C { static int F() => 1; int P => [|F()|]; }")));
        Assert.False(IsOnCycle(Marked("class C { static int F() => 1; public static C operator +(C a, C b) { [|F()|]; return a; } }")));
    }

    [Fact]
    public void TopLevelStatements_LoopAndExitPath()
    {
        Assert.True(IsOnCycle(Marked("for (var i = 0; i < 3; i++) System.Console.WriteLine([|i|]);", OutputKind.ConsoleApplication)));
        Assert.False(IsOnCycle(Marked("foreach (var a in args) { System.Console.WriteLine([|a|]); return; }", OutputKind.ConsoleApplication)));
    }

    [Fact]
    public void CodeWithErrors_AnswersWithoutThrowing()
    {
        // Code being typed: every operation of every body is asked, none may throw.
        const string source = """
            using System;
            class C
            {
                int M(int[] xs)
                {
                    foreach (var x in xs) { if (x > 0) { Undefined(x); return x; } goto missing; }
                    while (true) { switch (x) { case 1: break; case : } }
                    for (var i = 0; i < ; i++) { Action a = () => { do { Nope(); } while (; }; }
                    try { } catch (Exception e) when ( { } finally { Use(); }
                }
                int P { get { foreach (var c in ) { } } }
            }
            """;
        var tree = CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Latest));
        var compilation = CSharpCompilation.Create("t", new[] { tree }, Basic.Reference.Assemblies.Net80.References.All,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        Assert.NotEmpty(compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
        var model = compilation.GetSemanticModel(tree);
        var asked = 0;
        foreach (var member in tree.GetRoot().DescendantNodes().OfType<MemberDeclarationSyntax>())
        {
            if (member is not (MethodDeclarationSyntax or PropertyDeclarationSyntax))
                continue;
            foreach (var node in member.DescendantNodes())
            {
                if (model.GetOperation(node) is not { } operation)
                    continue;
                LoopCycles.IsOnCycle(operation);
                LoopCycles.IsOnCycle(operation, allowShortcut: false);
                LoopCycles.RepeatingLoop(operation);
                LoopCycles.RepeatingLoop(operation, allowShortcut: false);
                asked++;
            }
        }

        Assert.True(asked > 20, asked.ToString());
    }

    // ----------------------------------------------------------------------------- the repeating loop

    [Fact]
    public void RepeatingLoop_InnermostLoopThatRepeatsIt()
    {
        Assert.Equal("foreach@2", RepeatingLoop("""
            while (F())
            {
                foreach (var i in list) { [|A()|]; }
            }
            """));
        Assert.Null(RepeatingLoop("foreach (var i in list) { [|A()|]; return; }"));
    }

    [Fact]
    public void RepeatingLoop_FinallyOfInnerTry()
    {
        Assert.Equal("while@0", RepeatingLoop("""
            while (F())
            {
                try { A(); } finally { [|A()|]; }
            }
            """));
    }
}
