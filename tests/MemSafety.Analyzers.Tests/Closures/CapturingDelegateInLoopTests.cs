using System.Linq;
using System.Reflection.Metadata;
using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.Closures;
using MemSafety.Analyzers.Tests.Verification;
using MemSafety.CodeFixes.Closures;
using Microsoft.CodeAnalysis.CSharp;

namespace MemSafety.Analyzers.Tests.Closures;

public sealed class CapturingDelegateInLoopTests
{
    /// <summary>These tests are about which lambdas allocate per iteration; they use loops of ordinary methods, which the
    /// default scope (hot paths only) does not reach, so they widen it. DefaultScope_LoopOfAnUnmarkedMethod_NoDiagnostic
    /// checks the default.</summary>
    private static readonly VerifyWithOptions<CapturingDelegateInLoopAnalyzer, CapturingDelegateInLoopFix> VerifyCS = new(("memsafety.MSA3002.scope", "hot_paths_and_loops"));

    private static Task NoDiagnostic(string source) => VerifyCS.AnalyzerAsync(source);

    // ------------------------------------------------------------------ the compiler creates a new delegate per iteration

    [Fact]
    public Task WhileBodyDeclaresNothing_DelegateHoistedBeforeTheLoop() => VerifyCS.CodeFixAsync(
        """
        using System.Collections.Generic;
        using System.Linq;

        class C
        {
            int CountAbove(List<int> xs, int threshold, int rounds)
            {
                var t = 0;
                while (rounds-- > 0)
                {
                    t += xs.Count([|y => y > threshold|]);
                }
                return t;
            }
        }
        """,
        """
        using System.Collections.Generic;
        using System.Linq;

        class C
        {
            int CountAbove(List<int> xs, int threshold, int rounds)
            {
                var t = 0;
                System.Func<int, bool> predicate = y => y > threshold;
                while (rounds-- > 0)
                {
                    t += xs.Count(predicate);
                }
                return t;
            }
        }
        """);

    [Fact]
    public Task Message_NamesCapturesDelegateTypeAndWhereTheDisplayClassIs()
    {
        var test = VerifyCS.AnalyzerTest(
            """
            using System;
            using System.Collections.Generic;
            class C
            {
                int _bias;
                int M(List<int> xs, int threshold)
                {
                    var t = 0;
                    var k = 0;
                    {|#1:do t += xs.FindIndex({|#0:y => y > threshold + _bias|}); while (++k < 3);|}
                    return t;
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA3002", 0).WithAdditionalLocation(1).WithMessage(
            "Lambda capturing 'threshold' and 'this' allocates a new 'Predicate<int>' delegate on every iteration of this 'do' loop; " +
            "its display class is allocated at method entry (line 7), on every call, outside the loop, and nothing it captures changes there: create the delegate once before the loop"));
        return test.RunAsync();
    }

    [Fact]
    public Task CapturedVariableAssignedInTheLoop_ReportedWithoutFix()
    {
        const string source = """
            using System.Collections.Generic;
            class C
            {
                int M(List<int> xs)
                {
                    var limit = 0;
                    var t = 0;
                    while (limit < 10)
                    {
                        t += xs.FindIndex({|#0:y => y > limit|});
                        limit += 2;
                    }
                    return t;
                }
            }
            """;
        var test = VerifyCS.AnalyzerTest(source);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA3002", 0).WithMessage(
            "Lambda capturing 'limit' allocates a new 'Predicate<int>' delegate on every iteration of this 'while' loop; its display class is allocated " +
            "at method entry (line 5), on every call, outside the loop, so one delegate created before the loop would serve every iteration ('limit' is assigned in the loop: it must have its value there too)"));
        return Task.WhenAll(test.RunAsync(), VerifyCS.NoFixAsync(source.Replace("{|#0:", "[|").Replace("limit|})", "limit|])")));
    }

    [Fact]
    public Task NestedWhileLoops_HoistedBeforeTheOutermostLoopNothingChangesIn() => VerifyCS.CodeFixAsync(
        """
        using System.Collections.Generic;
        class C
        {
            int M(List<int> xs, int threshold)
            {
                var t = 0;
                var i = 0;
                var j = 0;
                while (i++ < 3)
                {
                    while (j++ < 3)
                        t += xs.FindIndex([|y => y > threshold|]);
                    j = 0;
                }
                return t;
            }
        }
        """,
        """
        using System.Collections.Generic;
        class C
        {
            int M(List<int> xs, int threshold)
            {
                var t = 0;
                var i = 0;
                var j = 0;
                System.Predicate<int> match = y => y > threshold;
                while (i++ < 3)
                {
                    while (j++ < 3)
                        t += xs.FindIndex(match);
                    j = 0;
                }
                return t;
            }
        }
        """);

    [Fact]
    public Task LambdaInALoopOfALocalFunction_CapturingItsParameter_Hoisted() => VerifyCS.CodeFixAsync(
        """
        using System;
        using System.Collections.Generic;
        class C
        {
            int M(List<int> xs)
            {
                return Count(3);

                int Count(int threshold)
                {
                    var t = 0;
                    var k = 0;
                    while (k++ < 3)
                        t += xs.FindIndex([|y => y > threshold|]);
                    return t;
                }
            }
        }
        """,
        """
        using System;
        using System.Collections.Generic;
        class C
        {
            int M(List<int> xs)
            {
                return Count(3);

                int Count(int threshold)
                {
                    var t = 0;
                    var k = 0;
                    Predicate<int> match = y => y > threshold;
                    while (k++ < 3)
                        t += xs.FindIndex(match);
                    return t;
                }
            }
        }
        """);

    [Fact]
    public Task NestedLambda_InALoopOfAnOuterLambda_Hoisted() => VerifyCS.CodeFixAsync(
        """
        using System;
        using System.Collections.Generic;
        using System.Linq;
        class C
        {
            IEnumerable<int> M(List<int> xs, List<int> limits) => limits.Select(limit =>
            {
                var t = 0;
                var k = 0;
                while (k++ < 2)
                    t += xs.FindIndex([|y => y > limit|]);
                return t;
            });
        }
        """,
        """
        using System;
        using System.Collections.Generic;
        using System.Linq;
        class C
        {
            IEnumerable<int> M(List<int> xs, List<int> limits) => limits.Select(limit =>
            {
                var t = 0;
                var k = 0;
                Predicate<int> match = y => y > limit;
                while (k++ < 2)
                    t += xs.FindIndex(match);
                return t;
            });
        }
        """);

    [Fact]
    public Task AsyncLambda_InAWhileLoop_Hoisted() => VerifyCS.CodeFixAsync(
        """
        using System;
        using System.Threading.Tasks;
        class C
        {
            static void Run(Func<Task> work) => work().Wait();

            void M(int delay, int rounds)
            {
                while (rounds-- > 0)
                    Run([|async () => await Task.Delay(delay)|]);
            }
        }
        """,
        """
        using System;
        using System.Threading.Tasks;
        class C
        {
            static void Run(Func<Task> work) => work().Wait();

            void M(int delay, int rounds)
            {
                Func<Task> work = async () => await Task.Delay(delay);
                while (rounds-- > 0)
                    Run(work);
            }
        }
        """);

    [Fact]
    public Task TwoLambdasBeforeOneLoop_FixAllGivesEachItsOwnName() => VerifyCS.CodeFixAsync(
        """
        using System.Collections.Generic;
        class C
        {
            int M(List<int> xs, int low, int high)
            {
                var t = 0;
                var k = 0;
                while (k++ < 3)
                    t += xs.FindIndex([|y => y > low|]) + xs.FindLastIndex([|y => y < high|]);
                return t;
            }
        }
        """,
        """
        using System.Collections.Generic;
        class C
        {
            int M(List<int> xs, int low, int high)
            {
                var t = 0;
                var k = 0;
                System.Predicate<int> match = y => y > low;
                System.Predicate<int> match2 = y => y < high;
                while (k++ < 3)
                    t += xs.FindIndex(match) + xs.FindLastIndex(match2);
                return t;
            }
        }
        """);

    [Fact]
    public Task FixAll_LambdaInALoopOfAHoistedLambda_OnePassHoistsBoth()
    {
        // The outer lambda captures 'low' (the method's display class), the inner one 'g' too (the outer lambda's display
        // class), and no scope lies between either and its display class: each evaluation creates a delegate. One Fix All (what the IDE and dotnet format run) must hoist both, although hoisting the
        // outer one moves the inner one.
        var test = VerifyCS.Test(
            """
            using System.Collections.Generic;
            class C
            {
                int M(List<List<int>> groups, int low, int rounds)
                {
                    var t = 0;
                    while (rounds-- > 0)
                        t += groups.FindIndex([|g =>
                        {
                            while (g.Exists([|y => y > low + g.Count|]))
                                g.RemoveAt(0);
                            return g.Count == 0;
                        }|]);
                    return t;
                }
            }
            """,
            """
            using System.Collections.Generic;
            class C
            {
                int M(List<List<int>> groups, int low, int rounds)
                {
                    var t = 0;
                    System.Predicate<List<int>> match = g =>
                    {
                        System.Predicate<int> match2 = y => y > low + g.Count;
                        while (g.Exists(match2))
                            g.RemoveAt(0);
                        return g.Count == 0;
                    };
                    while (rounds-- > 0)
                        t += groups.FindIndex(match);
                    return t;
                }
            }
            """);
        test.FixAllPasses = 1;
        return test.RunAsync();
    }

    [Fact]
    public Task MultiLineLambda_KeepsItsShapeBeforeTheLoop() => VerifyCS.CodeFixAsync(
        """
        using System.Collections.Generic;
        class C
        {
            int M(List<int> xs, int threshold)
            {
                var t = 0;
                var k = 0;
                while (k++ < 3)
                {
                    t += xs.FindIndex([|y =>
                    {
                        var d = y - threshold;
                        return d > 0;
                    }|]);
                }
                return t;
            }
        }
        """,
        """
        using System.Collections.Generic;
        class C
        {
            int M(List<int> xs, int threshold)
            {
                var t = 0;
                var k = 0;
                System.Predicate<int> match = y =>
                {
                    var d = y - threshold;
                    return d > 0;
                };
                while (k++ < 3)
                {
                    t += xs.FindIndex(match);
                }
                return t;
            }
        }
        """);

    // A verbatim string's continuation lines are part of its value: moving the lambda must not re-indent them, while
    // the lambda's own lines move with it.
    [Fact]
    public Task MultiLineLambdaWithAVerbatimString_StringKeepsItsText() => VerifyCS.CodeFixAsync(
        """
        using System.Collections.Generic;
        class C
        {
            int M(List<string> xs, string prefix)
            {
                var t = 0;
                var k = 0;
                while (k++ < 3)
                {
                    t += xs.FindIndex([|y =>
                    {
                        var header = @"first
                    second";
                        return y == prefix + header;
                    }|]);
                }
                return t;
            }
        }
        """,
        """
        using System.Collections.Generic;
        class C
        {
            int M(List<string> xs, string prefix)
            {
                var t = 0;
                var k = 0;
                System.Predicate<string> match = y =>
                {
                    var header = @"first
                    second";
                    return y == prefix + header;
                };
                while (k++ < 3)
                {
                    t += xs.FindIndex(match);
                }
                return t;
            }
        }
        """);

    // ------------------------------------------------------------------ a display class per iteration

    [Fact]
    public Task ForeachVariableCaptured_DelegateDiesWithTheCall_ReportedWithoutFix() => VerifyCS.NoFixAsync(
        """
        using System.Collections.Generic;
        using System.Linq;
        class C
        {
            int M(List<int> orders, List<int> customers)
            {
                var t = 0;
                foreach (var order in orders)
                {
                    if (customers.Any([|c => c == order|]))
                        t++;
                }
                return t;
            }
        }
        """);

    [Fact]
    public Task ForeachVariableCaptured_Message()
    {
        var test = VerifyCS.AnalyzerTest(
            """
            using System.Collections.Generic;
            using System.Linq;
            class C
            {
                int M(List<int> orders, List<int> customers, int bias)
                {
                    var t = 0;
                    {|#1:foreach|} (var order in orders)
                        t += customers.Count({|#0:c => c == order + bias|});
                    return t;
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA3002", 0).WithMessage(
            "Lambda capturing 'order' and 'bias' allocates a new display class for 'order' and a new 'Func<int, bool>' delegate on every iteration of this 'foreach' loop; " +
            "'order' is declared in the loop: its display class is allocated at the start of the loop body (line 9), on every iteration; " +
            "the delegate does not outlive its call to 'Count', so a plain loop there would allocate neither"));
        return test.RunAsync();
    }

    [Fact]
    public Task LocalDeclaredInTheLoopBodyCaptured_Reported() => VerifyCS.AnalyzerAsync(
        """
        using System.Collections.Generic;
        using System.Linq;
        class C
        {
            int M(List<int> xs)
            {
                var t = 0;
                for (var i = 0; i < xs.Count; i++)
                {
                    var limit = xs[i] * 2;
                    t += xs.Count([|y => y > limit|]);
                }
                return t;
            }
        }
        """);

    // ------------------------------------------------------------------ not reported: the compiler caches the delegate

    /// <summary>The common case the brief of this rule assumed to allocate: a lambda in a foreach that captures only
    /// variables declared outside it. The foreach variable is a scope between the lambda and its display class, so the
    /// compiler caches the delegate in the display class (IL: CompilerCachesTheDelegate_WhenAScopeLiesBetween).</summary>
    [Fact]
    public Task ForeachCapturingOnlyOuterVariables_CachedByTheCompiler_NoDiagnostic() => NoDiagnostic(
        """
        using System.Collections.Generic;
        using System.Linq;
        class C
        {
            int M(List<int> xs, int threshold)
            {
                var t = 0;
                foreach (var x in xs)
                    t += xs.Count(y => y > threshold);
                return t;
            }
        }
        """);

    [Fact]
    public Task WhileBodyDeclaresALocal_CachedByTheCompiler_NoDiagnostic() => NoDiagnostic(
        """
        using System.Collections.Generic;
        using System.Linq;
        class C
        {
            int M(List<int> xs, int threshold, int k)
            {
                var t = 0;
                while (k-- > 0)
                {
                    var z = 1;
                    t += z + xs.Count(y => y > threshold);
                }
                return t;
            }
        }
        """);

    [Fact]
    public Task OuterLoopBodyDeclaresALocal_CachedByTheCompiler_NoDiagnostic() => NoDiagnostic(
        // 'j' makes the outer body a scope between the lambda and 'threshold': one delegate per call.
        """
        using System.Collections.Generic;
        class C
        {
            int M(List<int> xs, int threshold)
            {
                var t = 0;
                var i = 0;
                while (i++ < 3)
                {
                    var j = 0;
                    while (j++ < 3)
                        t += xs.FindIndex(y => y > threshold);
                }
                return t;
            }
        }
        """);

    private const string MergedBlock =
        "using System.Collections.Generic; class C { int M(List<int> xs, int threshold, int k) { var t = 0; { var b = threshold * 2; while (k-- > 0) t += xs.FindIndex(MARK); } return t; } }";

    /// <summary>An optimized build merges the block's display class ('b') into the method's ('threshold'): the lambda then
    /// lives in the method's display class with the block as a scope between them, and its delegate is cached. A debug
    /// build keeps two display classes and creates the delegate on every iteration. The rule follows the build.</summary>
    [Fact]
    public async Task DisplayClassMergedInReleaseBuilds_ReportedOnlyInDebug()
    {
        var release = VerifyCS.AnalyzerTest(MergedBlock.Replace("MARK", "y => y > b + threshold"));
        release.OptimizationLevel = Microsoft.CodeAnalysis.OptimizationLevel.Release;
        await release.RunAsync();
        await VerifyCS.AnalyzerAsync(MergedBlock.Replace("MARK", "[|y => y > b + threshold|]"));

        var releaseIl = IlInspection.Compile(MergedBlock.Replace("MARK", "y => y > b + threshold"));
        var debugIl = IlInspection.Compile(MergedBlock.Replace("MARK", "y => y > b + threshold"), optimization: Microsoft.CodeAnalysis.OptimizationLevel.Debug);
        Assert.True(releaseIl.Methods.Any(CachesADelegate), releaseIl.Method("C", "M").Dump());
        Assert.False(debugIl.Methods.Any(CachesADelegate), debugIl.Method("C", "M").Dump());
    }

    [Fact]
    public Task ForWithItsOwnVariable_CachedByTheCompiler_NoDiagnostic() => NoDiagnostic(
        "using System.Collections.Generic; using System.Linq; class C { int M(List<int> xs, int threshold) { var t = 0; for (var i = 0; i < 3; i++) t += xs.Count(y => y > threshold); return t; } }");

    [Fact]
    public Task LinqQuerySyntaxInForeach_CachedByTheCompiler_NoDiagnostic() => NoDiagnostic(
        """
        using System.Collections.Generic;
        using System.Linq;
        class C
        {
            int M(List<int> xs, int threshold)
            {
                var t = 0;
                foreach (var x in xs)
                    t += (from y in xs where y > threshold select y).Count();
                return t;
            }
        }
        """);

    /// <summary>A compound assignment to an array element is lowered with temporaries, a scope of their own: the compiler
    /// caches the delegate there (IL checked). Shapes whose lowering is not known are left alone in the same way.</summary>
    [Fact]
    public Task LoweringIntroducesATemporary_MayBeCached_NoDiagnostic() => NoDiagnostic(
        """
        using System.Collections.Generic;
        using System.Linq;
        class C
        {
            int[] _totals = new int[4];
            void M(List<int>? xs, int threshold, int k, int? bias)
            {
                while (k-- > 0) _totals[k] += xs!.Count(y => y > threshold);
                while (k++ < 3) _totals[0] += xs?.Count(y => y > threshold) ?? 0;
                while (k-- > 0) _totals[1] = Add(b: xs!.Count(y => y > threshold), a: k);
                while (k++ < 3) _totals[2] = (bias + xs!.Count(y => y > threshold)) ?? 0;
            }
            static int Add(int a, int b) => a + b;
        }
        """);

    // ------------------------------------------------------------------ not reported: other reasons

    [Fact]
    public Task ForeachVariableCaptured_DelegateKept_NoDiagnostic() => NoDiagnostic(
        // Every iteration needs its own closure: the tasks and handlers run later, each with its own item.
        """
        using System;
        using System.Collections.Generic;
        using System.Threading.Tasks;
        class C
        {
            List<Action> _handlers = new();
            void Process(int item) { }
            Task M(List<int> items)
            {
                var tasks = new List<Task>();
                foreach (var item in items)
                {
                    tasks.Add(Task.Run(() => Process(item)));
                    _handlers.Add(() => Process(item));
                }
                return Task.WhenAll(tasks);
            }
        }
        """);

    [Fact]
    public Task ForeachVariableCapturedInLinqQuery_Deferred_NoDiagnostic() => NoDiagnostic(
        """
        using System.Collections.Generic;
        using System.Linq;
        class C
        {
            List<IEnumerable<int>> M(List<int> xs)
            {
                var all = new List<IEnumerable<int>>();
                foreach (var x in xs)
                    all.Add(from y in xs where y > x select y);
                return all;
            }
        }
        """);

    [Fact]
    public Task OtherLambdaSharesTheIterationsDisplayClass_NoDiagnostic() => NoDiagnostic(
        // The handler keeps the iteration's display class alive; avoiding the Any lambda would not remove it.
        """
        using System;
        using System.Collections.Generic;
        using System.Linq;
        class C
        {
            List<Action> _handlers = new();
            int M(List<int> items)
            {
                var t = 0;
                foreach (var item in items)
                {
                    _handlers.Add(() => Console.WriteLine(item));
                    if (items.Any(x => x > item)) t++;
                }
                return t;
            }
        }
        """);

    [Fact]
    public Task NonCapturingAndStaticLambdas_CachedInAStaticField_NoDiagnostic() => NoDiagnostic(
        "using System.Collections.Generic; using System.Linq; class C { int M(List<int> xs, int k) { var t = 0; while (k-- > 0) t += xs.Count(y => y > 2) + xs.Count(static y => y < 0); return t; } }");

    [Fact]
    public Task ExpressionTree_NoDiagnostic() => NoDiagnostic(
        """
        using System;
        using System.Linq;
        using System.Linq.Expressions;
        class C
        {
            int M(IQueryable<int> xs, int threshold, int k)
            {
                var t = 0;
                while (k-- > 0)
                {
                    Expression<Func<int, bool>> e = y => y > threshold;
                    t += xs.Count(y => y > threshold);
                }
                return t;
            }
        }
        """);

    [Fact]
    public Task ThisOnlyLambda_LeftToMSA3004_NoDiagnostic() => NoDiagnostic(
        "using System.Collections.Generic; using System.Linq; class C { int _limit; int M(List<int> xs, int k) { var t = 0; while (k-- > 0) t += xs.Count(y => y > _limit); return t; } }");

    [Fact]
    public Task CreatedAfterWhichEveryPathLeavesTheLoop_NoDiagnostic() => NoDiagnostic(
        """
        using System.Collections.Generic;
        class C
        {
            int M(List<int> xs, int threshold)
            {
                var k = 0;
                while (k++ < 10)
                {
                    if (xs.Count == k)
                        return xs.FindIndex(y => y > threshold);
                }
                while (true)
                {
                    var found = xs.FindIndex(y => y > threshold);
                    break;
                }
                return -1;
            }
        }
        """);

    [Fact]
    public Task ForHeaderVariableCaptured_NoDiagnostic() => NoDiagnostic(
        // 'i' is one variable for the whole loop, written by it: no display class per iteration and no way to create
        // the delegate before the loop, where 'i' does not exist.
        "using System.Collections.Generic; class C { int M(List<int> xs) { var t = 0; for (int i = 0; i < 3; i++) t += xs.FindIndex(y => y > i); return t; } }");

    [Fact]
    public Task LambdaCallsALocalFunction_NoDiagnostic() => NoDiagnostic(
        // What the local function captures, the lambda captures too; the body's facts do not show it.
        """
        using System.Collections.Generic;
        class C
        {
            int M(List<int> xs, int threshold, int k)
            {
                var t = 0;
                while (k-- > 0)
                    t += xs.FindIndex(y => Above(y));
                return t;
                bool Above(int y) => y > threshold;
            }
        }
        """);

    [Fact]
    public Task RefLocalInTheLoop_LambdaCapturesACopy_OnlyTheCopyMatters() => VerifyCS.AnalyzerAsync(
        // A ref local cannot be captured (CS8175); the copy 'limit' is what the lambda captures, declared in the loop.
        """
        using System.Collections.Generic;
        using System.Linq;
        class C
        {
            int M(int[] limits, List<int> xs)
            {
                var t = 0;
                for (var i = 0; i < limits.Length; i++)
                {
                    ref int slot = ref limits[i];
                    var limit = slot;
                    t += xs.Count([|y => y > limit|]);
                }
                return t;
            }
        }
        """);

    [Fact]
    public Task ConstructorAndMain_NoDiagnostic() => NoDiagnostic(
        """
        using System.Collections.Generic;
        class C
        {
            public int Found;
            public C(List<int> xs, int threshold, int k) { while (k-- > 0) Found += xs.FindIndex(y => y > threshold); }
            public static void Main(string[] args) { var k = 0; while (k++ < 3) System.Array.FindIndex(args, a => a.Length > k); }
        }
        """);

    [Fact]
    public Task GeneratedCode_NoDiagnostic() => NoDiagnostic(
        "// <auto-generated/>\nusing System.Collections.Generic; class C { int M(List<int> xs, int threshold, int k) { var t = 0; while (k-- > 0) t += xs.FindIndex(y => y > threshold); return t; } }");

    [Fact]
    public Task OutsideLoops_NoDiagnostic() => NoDiagnostic(
        "using System.Collections.Generic; class C { int M(List<int> xs, int threshold) => xs.FindIndex(y => y > threshold); }");

    [Fact]
    public Task IncompleteCode_NoDiagnosticAndNoCrash()
    {
        var test = VerifyCS.AnalyzerTest("using System.Collections.Generic; class C { int M(List<int> xs, int t) { while (t-- > 0) xs.FindIndex(y => y > t +); } }");
        test.AllowCompilerErrors = true;
        return test.RunAsync();
    }

    /// <summary>The default scope is loops of hot paths; hot_paths_and_loops or everywhere (Strict) reaches every loop.</summary>
    [Fact]
    public async Task DefaultScope_LoopOfAnUnmarkedMethod_NoDiagnostic()
    {
        const string source = """
            using System.Collections.Generic;
            sealed class HotPathAttribute : System.Attribute { }
            class C
            {
                ATTRIBUTE int M(List<int> xs, int threshold, int k) { var t = 0; while (k-- > 0) t += xs.FindIndex(MARK); return t; }
            }
            """;
        await Verify<CapturingDelegateInLoopAnalyzer>.AnalyzerAsync(source.Replace("ATTRIBUTE", "").Replace("MARK", "y => y > threshold"));
        await Verify<CapturingDelegateInLoopAnalyzer>.AnalyzerAsync(source.Replace("ATTRIBUTE", "[HotPath]").Replace("MARK", "[|y => y > threshold|]"));
        var strict = Verify<CapturingDelegateInLoopAnalyzer>.Test(source.Replace("ATTRIBUTE", "").Replace("MARK", "[|y => y > threshold|]"));
        strict.AnalyzerOptions["memsafety.scope"] = "everywhere";
        await strict.RunAsync();
    }

    // ------------------------------------------------------------------ evidence: IL and allocations (.NET 10)

    private const string WhileLoop = """
        using System.Collections.Generic;
        using System.Linq;
        using System.Runtime.CompilerServices;
        public static class Program
        {
            static readonly List<int> Items = new() { 1, 5, 9, 12 };
            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            public static void Measure() => Count(Items, 4, 100);
            public static string Run() => Count(Items, 4, 3) + "," + Count(Items, 10, 2) + "," + Count(Items, 0, 0);
            static int Count(List<int> xs, int threshold, int rounds)
            {
                var t = 0;
                BODY
                return t;
            }
        }
        """;

    private const string WhileBefore = "while (rounds-- > 0) { t += xs.Count(y => y > threshold); }";
    private const string WhileAfter = "System.Func<int, bool> predicate = y => y > threshold; while (rounds-- > 0) { t += xs.Count(predicate); }";

    private static int DelegateConstructions(IlMethod method) => method.Instructions.Count(i => i.OpCode == ILOpCode.Newobj && i.Token!.Contains("::.ctor(System.Object, System.IntPtr)"));

    private static bool CachesADelegate(IlMethod method) => method.Instructions.Any(i => i.OpCode == ILOpCode.Ldfld && i.Token!.Contains("<>9__"));

    [Fact]
    public void Il_WhileWithoutLocals_NewDelegateEveryIteration_FixCreatesItOnce()
    {
        var before = IlInspection.Compile(WhileLoop.Replace("BODY", WhileBefore));
        var after = IlInspection.Compile(WhileLoop.Replace("BODY", WhileAfter));
        var count = before.Method("Program", "Count");
        // No <>9__ cache field: the newobj of the delegate runs each time the loop body does.
        Assert.False(CachesADelegate(count), count.Dump());
        Assert.Equal(1, DelegateConstructions(count));
        var perCallBefore = before.AllocatedBytesPerCall("Program", "Measure");
        var perCallAfter = after.AllocatedBytesPerCall("Program", "Measure");
        // 100 iterations: 100 delegates of 64 bytes (and the enumerators Count boxes) before; one delegate after.
        Assert.True(perCallBefore - perCallAfter >= 99 * 64, $"before {perCallBefore} B/call, after {perCallAfter} B/call");
    }

    /// <summary>Every shape a positive test above reports as "a new delegate on every iteration", compiled: no display
    /// class caches a delegate (no <c>ldfld &lt;&gt;9__N</c> anywhere), so each evaluation runs the delegate's newobj.</summary>
    [Theory]
    [InlineData("int M(List<int> xs, int threshold, int rounds) { var t = 0; while (rounds-- > 0) { t += xs.Count(y => y > threshold); } return t; }")]
    [InlineData("int _bias; int M(List<int> xs, int threshold) { var t = 0; var k = 0; do t += xs.FindIndex(y => y > threshold + _bias); while (++k < 3); return t; }")]
    [InlineData("int M(List<int> xs) { var limit = 0; var t = 0; while (limit < 10) { t += xs.FindIndex(y => y > limit); limit += 2; } return t; }")]
    [InlineData("int M(List<int> xs, int threshold) { var t = 0; var i = 0; var j = 0; while (i++ < 3) { while (j++ < 3) t += xs.FindIndex(y => y > threshold); j = 0; } return t; }")]
    [InlineData("int M(List<int> xs) { return Count(3); int Count(int threshold) { var t = 0; var k = 0; while (k++ < 3) t += xs.FindIndex(y => y > threshold); return t; } }")]
    [InlineData("IEnumerable<int> M(List<int> xs, List<int> limits) => limits.Select(limit => { var t = 0; var k = 0; while (k++ < 2) t += xs.FindIndex(y => y > limit); return t; });")]
    [InlineData("static void Run(Func<Task> work) => work().Wait(); void M(int delay, int rounds) { while (rounds-- > 0) Run(async () => await Task.Delay(delay)); }")]
    [InlineData("int M(List<int> xs, int low, int high) { var t = 0; var k = 0; while (k++ < 3) t += xs.FindIndex(y => y > low) + xs.FindLastIndex(y => y < high); return t; }")]
    [InlineData("int M(List<List<int>> batches, int limit) { var removed = 0; var i = 0; while (i < batches.Count) { removed += batches[i].RemoveAll(x => x < limit); i++; } return removed; }")]
    public void Il_ReportedShapes_CreateTheDelegateOnEveryEvaluation(string member)
    {
        var assembly = IlInspection.Compile(
            "using System; using System.Collections.Generic; using System.Linq; using System.Threading.Tasks; class C { " + member + " }", LanguageVersion.CSharp10);
        foreach (var method in assembly.Methods)
            Assert.False(CachesADelegate(method), method.Dump());
        Assert.Contains(assembly.Methods, m => DelegateConstructions(m) > 0 && m.Instructions.Any(i => i.Token?.Contains("DisplayClass") == true));
    }

    /// <summary>Shapes the rule leaves alone because lowering puts the lambda inside a temporary's scope: the compiler
    /// then caches the delegate (the rule's conservative list also holds shapes not listed here).</summary>
    [Theory]
    [InlineData("int[] _a = new int[4]; void M(List<int> xs, int threshold, int k) { while (k-- > 0) _a[k] += xs.Count(y => y > threshold); }")]
    [InlineData("int M(List<int> xs, int threshold, int k) { var t = 0; while (k-- > 0) t += Add(b: xs.Count(y => y > threshold), a: k); return t; } static int Add(int a, int b) => a + b;")]
    [InlineData("int? M(List<int> xs, int threshold, int k, int? bias) { int? t = 0; while (k-- > 0) t += bias + xs.Count(y => y > threshold); return t; }")]
    [InlineData("int M(List<int> xs, int threshold, int k) { var t = 0; while (k-- > 0) lock (xs) t += xs.Count(y => y > threshold); return t; }")]
    public void Il_TemporaryBetween_TheCompilerCachesTheDelegate(string member)
    {
        var assembly = IlInspection.Compile("using System; using System.Collections.Generic; using System.Linq; class C { " + member + " }", LanguageVersion.CSharp10);
        Assert.True(assembly.Methods.Any(CachesADelegate), assembly.Method("C", "M").Dump());
    }

    [Fact]
    public void Fix_KeepsBehaviour()
    {
        var before = Behaviour.Run(WhileLoop.Replace("BODY", WhileBefore));
        Assert.Equal("9,2,0", before);
        Assert.Equal(before, Behaviour.Run(WhileLoop.Replace("BODY", WhileAfter)));
    }

    [Fact]
    public void Il_CompilerCachesTheDelegate_WhenAScopeLiesBetween()
    {
        // foreach (its variable), a for with a variable, a block that declares a local: each is a scope between the
        // lambda and 'threshold', so the delegate is cached in the display class (<>9__0) and created once per call.
        foreach (var body in new[]
                 {
                     "foreach (var x in xs) t += xs.Count(y => y > threshold);",
                     "for (var i = 0; i < rounds; i++) t += xs.Count(y => y > threshold);",
                     "while (rounds-- > 0) { var z = 1; t += z + xs.Count(y => y > threshold); }",
                 })
        {
            var assembly = IlInspection.Compile(WhileLoop.Replace("BODY", body), LanguageVersion.CSharp10);
            var count = assembly.Method("Program", "Count");
            Assert.True(CachesADelegate(count), body + "\n" + count.Dump());
            var perCall = assembly.AllocatedBytesPerCall("Program", "Measure");
            var baseline = IlInspection.Compile(WhileLoop.Replace("BODY", body.Replace("y => y > threshold", "static y => y > 4"))).AllocatedBytesPerCall("Program", "Measure");
            // One display class and one delegate per call at most, whatever the number of iterations.
            Assert.True(perCall - baseline <= 24 + 64 + 8, $"{body}: {perCall} B/call against {baseline} B/call without a capture");
        }
    }

    [Fact]
    public void Il_ForeachVariableCaptured_DisplayClassAndDelegateEveryIteration()
    {
        var assembly = IlInspection.Compile(WhileLoop.Replace("BODY", "foreach (var x in xs) t += xs.Count(y => y > x + threshold);"));
        var count = assembly.Method("Program", "Count");
        var displayClasses = count.Instructions.Where(i => i.OpCode == ILOpCode.Newobj && i.Token!.Contains("DisplayClass")).ToList();
        // One display class at method entry (threshold) and one inside the loop (x), whose newobj runs per iteration.
        Assert.Equal(2, displayClasses.Count);
        Assert.Contains("var x", count.StatementAt(displayClasses[1].Offset + displayClasses[1].Size)?.Text ?? count.Dump());
    }
}
