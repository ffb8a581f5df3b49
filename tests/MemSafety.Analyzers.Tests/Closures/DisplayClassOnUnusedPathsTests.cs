using System;
using System.Linq;
using System.Reflection.Metadata;
using System.Threading.Tasks;
using MemSafety.Analyzers.Tests.Verification;
using Microsoft.CodeAnalysis;

namespace MemSafety.Analyzers.Tests.Closures;

public sealed class DisplayClassOnUnusedPathsTests
{
    // Roslyn's analysis result files these diagnostics as non-local (observed with Roslyn 4.14): the action that
    // reports them analyzes a lambda or local function, and the diagnostic is at the declaration of the captured variable (where the display class is created), outside it. The testing
    // library refuses to fix non-local diagnostics, which an IDE may show only under full-solution analysis rather
    // than while the document is edited; its local-diagnostic check is left out for this class so that the fix is
    // still tested. Whether the rule should report where it is local is an open question, not settled by this harness.
    //
    // The rule is census-style (hot paths by default); the tests about what it finds use ordinary methods with the
    // rule's scope widened, and DefaultScope_* check the default.
    private static readonly VerifyWithOptions<MemSafety.Analyzers.Rules.Closures.DisplayClassOnUnusedPathsAnalyzer, MemSafety.CodeFixes.Closures.DisplayClassOnUnusedPathsFix> VerifyCS
        = new(("memsafety.MSA3003.scope", "everywhere")) { CodeFixTestBehaviors = Microsoft.CodeAnalysis.Testing.CodeFixTestBehaviors.SkipLocalDiagnosticCheck };

    private const string Helpers = """

        static class H
        {
            public static void Run(System.Action a) => a();
            public static int Call(System.Func<int> f) => f();
        }
        """;

    private static Task NoDiagnostic(string source) => VerifyCS.AnalyzerAsync(source + Helpers);

    private static Task Reported(string source) => VerifyCS.NoFixAsync(source + Helpers);

    // ------------------------------------------------------------------ reported, with the fix

    [Fact]
    public Task ParameterCapturedOnlyInAnIfBranch_CopiedIntoTheBranch() => VerifyCS.CodeFixAsync(
        """
        class C
        {
            int M(int [|limit|], bool rare)
            {
                if (rare)
                    return H.Call(() => limit * 2);
                return 0;
            }
        }
        """ + Helpers,
        """
        class C
        {
            int M(int limit, bool rare)
            {
                if (rare)
                {
                    var limitCopy = limit;
                    return H.Call(() => limitCopy * 2);
                }
                return 0;
            }
        }
        """ + Helpers);

    [Fact]
    public Task TwoVariablesInABlockBranch_BothCopied_NameClashAvoided() => VerifyCS.CodeFixAsync(
        """
        class C
        {
            int M(int a, string [|b|], bool rare)
            {
                var bCopy = 1;
                if (rare)
                {
                    H.Run(() => System.Console.WriteLine(b));
                    return H.Call(() => a + b.Length);
                }
                return bCopy;
            }
        }
        """ + Helpers,
        """
        class C
        {
            int M(int a, string b, bool rare)
            {
                var bCopy = 1;
                if (rare)
                {
                    var bCopy2 = b;
                    var aCopy = a;
                    H.Run(() => System.Console.WriteLine(bCopy2));
                    return H.Call(() => aCopy + bCopy2.Length);
                }
                return bCopy;
            }
        }
        """ + Helpers);

    [Fact]
    public Task LocalCapturedOnlyInTheElseBranch_Copied() => VerifyCS.CodeFixAsync(
        """
        class C
        {
            string M(string s)
            {
                var [|trimmed|] = s.Trim();
                if (trimmed.Length == 0)
                    return "";
                else
                {
                    return H.Call(() => trimmed.Length).ToString();
                }
            }
        }
        """ + Helpers,
        """
        class C
        {
            string M(string s)
            {
                var trimmed = s.Trim();
                if (trimmed.Length == 0)
                    return "";
                else
                {
                    var trimmedCopy = trimmed;
                    return H.Call(() => trimmedCopy.Length).ToString();
                }
            }
        }
        """ + Helpers);

    [Fact]
    public Task AnonymousTypeAndTupleNames_KeptWhenRenamed() => VerifyCS.CodeFixAsync(
        """
        class C
        {
            object M(int [|id|], bool rare)
            {
                if (rare)
                    return H.Call(() => new { id }.id + (id, 1).id);
                return 0;
            }
        }
        """ + Helpers,
        """
        class C
        {
            object M(int id, bool rare)
            {
                if (rare)
                {
                    var idCopy = id;
                    return H.Call(() => new { id = idCopy }.id + (id: idCopy, 1).id);
                }
                return 0;
            }
        }
        """ + Helpers);

    [Fact]
    public Task LambdaParameterCapturedByANestedLambdaInABranch_Copied() => VerifyCS.CodeFixAsync(
        """
        using System;
        class C
        {
            Func<int, int> M() => [|x|] =>
            {
                if (x > 10)
                    return H.Call(() => x - 10);
                return x;
            };
        }
        """ + Helpers,
        """
        using System;
        class C
        {
            Func<int, int> M() => x =>
            {
                if (x > 10)
                {
                    var xCopy = x;
                    return H.Call(() => xCopy - 10);
                }
                return x;
            };
        }
        """ + Helpers);

    [Fact]
    public Task ForeachVariableCapturedInABranchOfTheBody_Copied() => VerifyCS.CodeFixAsync(
        """
        using System.Collections.Generic;
        class C
        {
            int M(List<int> items)
            {
                var total = 0;
                foreach (var [|item|] in items)
                {
                    if (item < 0)
                        total += H.Call(() => -item);
                }
                return total;
            }
        }
        """ + Helpers,
        """
        using System.Collections.Generic;
        class C
        {
            int M(List<int> items)
            {
                var total = 0;
                foreach (var item in items)
                {
                    if (item < 0)
                    {
                        var itemCopy = item;
                        total += H.Call(() => -itemCopy);
                    }
                }
                return total;
            }
        }
        """ + Helpers);

    [Fact]
    public Task AsyncLambdaInABranch_Copied() => VerifyCS.CodeFixAsync(
        """
        using System.Threading.Tasks;
        class C
        {
            async Task<int> M(int [|n|], bool rare)
            {
                if (rare)
                    return await Task.Run(async () => { await Task.Yield(); return n; });
                return 0;
            }
        }
        """ + Helpers,
        """
        using System.Threading.Tasks;
        class C
        {
            async Task<int> M(int n, bool rare)
            {
                if (rare)
                {
                    var nCopy = n;
                    return await Task.Run(async () => { await Task.Yield(); return nCopy; });
                }
                return 0;
            }
        }
        """ + Helpers);

    [Fact]
    public Task QuerySyntaxInABranch_Copied() => VerifyCS.CodeFixAsync(
        """
        using System.Linq;
        class C
        {
            int M(int[] xs, int [|threshold|], bool filter)
            {
                if (filter)
                    return (from x in xs where x > threshold select x).Count();
                return xs.Length;
            }
        }
        """ + Helpers,
        """
        using System.Linq;
        class C
        {
            int M(int[] xs, int threshold, bool filter)
            {
                if (filter)
                {
                    var thresholdCopy = threshold;
                    return (from x in xs where x > thresholdCopy select x).Count();
                }
                return xs.Length;
            }
        }
        """ + Helpers);

    [Fact]
    public Task FixAll_EveryMethod() => VerifyCS.CodeFixAsync(
        """
        class C
        {
            int A(int [|p|], bool rare) { if (rare) return H.Call(() => p); return 0; }
            int B(int [|q|], bool rare) { if (rare) return H.Call(() => q); return 1; }
        }
        """ + Helpers,
        """
        class C
        {
            int A(int p, bool rare) { if (rare) { var pCopy = p; return H.Call(() => pCopy); } return 0; }
            int B(int q, bool rare) { if (rare) { var qCopy = q; return H.Call(() => qCopy); } return 1; }
        }
        """ + Helpers);

    // ------------------------------------------------------------------ reported, no fix

    [Fact]
    public Task AfterAnEarlyReturn_ReportedWithoutFix() => Reported(
        """
        using System.Collections.Concurrent;
        class C
        {
            readonly ConcurrentDictionary<int, string> _cache = new();
            string M(int key, string [|prefix|])
            {
                if (_cache.TryGetValue(key, out var hit))
                    return hit;
                return _cache.GetOrAdd(key, k => prefix + k);
            }
        }
        """);

    [Fact]
    public Task SwitchSection_ReportedWithoutFix() => Reported(
        """
        class C
        {
            int M(int kind, int [|scale|])
            {
                switch (kind)
                {
                    case 1:
                        return H.Call(() => scale);
                    default:
                        return 0;
                }
            }
        }
        """);

    [Fact]
    public Task CatchClause_ReportedWithoutFix() => Reported(
        """
        class C
        {
            int M(string [|text|])
            {
                try { return int.Parse(text); }
                catch (System.FormatException) { return H.Call(() => text.Length); }
            }
        }
        """);

    [Fact]
    public Task RightOfCoalesce_Reported() => Reported(
        """
        class C
        {
            string M(string? cached, int [|seed|]) => cached ?? H.Call(() => seed).ToString();
        }
        """);

    [Fact]
    public Task WrittenAfterTheBranchStarts_NoFix() => Reported(
        """
        class C
        {
            int M(int [|count|], bool rare)
            {
                if (rare)
                    return H.Call(() => count++);
                return 0;
            }
        }
        """);

    [Fact]
    public Task ThisCapturedToo_NoFix()
    {
        // In Release builds the compiler would merge the branch's copies back into a method-level display class
        // holding 'this' (see ClosureFactsTests.ThisAndABlockLocal_InReleaseBuilds_…), so copying would not help.
        return Reported(
            """
            class C
            {
                int _offset;
                int M(int [|p|], bool rare)
                {
                    if (rare)
                        return H.Call(() => p + _offset);
                    return 0;
                }
            }
            """);
    }

    [Fact]
    public Task Message_NamesVariablesUsersBranchAndAllocation()
    {
        var test = VerifyCS.AnalyzerTest(
            """
            class C
            {
                int M(int {|#0:limit|}, bool rare)
                {
                    if (rare)
                        return H.Call({|#1:() => limit * 2|});
                    return 0;
                }
            }
            """ + Helpers);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA3003", 0).WithAdditionalLocation(1).WithMessage(
            "'limit' is captured only by the lambda at line 6 in the 'if (rare)' branch at line 5, but the display class holding it is allocated at method entry (line 4), on every call, also when that branch does not run"));
        return test.RunAsync();
    }

    [Fact]
    public Task Message_TwoLambdasOnOneLine_AndALocalFunction()
    {
        var test = VerifyCS.AnalyzerTest(
            """
            class C
            {
                int M(int {|#0:p|}, bool rare)
                {
                    if (rare)
                    {
                        System.Func<int> f = Twice;
                        return H.Call({|#1:() => p|}) + H.Call({|#2:() => p + 1|}) + f();
                        {|#3:int Twice() => p * 2;|}
                    }
                    return 0;
                }
            }
            """ + Helpers);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA3003", 0).WithMessage(
            "'p' is captured only by the 2 lambdas at line 8 and local function 'Twice' in the 'if (rare)' branch at line 5, but the display class holding it is allocated at method entry (line 4), on every call, also when that branch does not run"));
        return test.RunAsync();
    }

    // ------------------------------------------------------------------ not reported

    [Fact]
    public Task LambdaOnEveryPath_NoDiagnostic() => NoDiagnostic(
        """
        class C
        {
            int M(int p) => H.Call(() => p);
        }
        """);

    [Fact]
    public Task LambdasInBothBranches_NoDiagnostic() => NoDiagnostic(
        """
        class C
        {
            int M(int p, bool b)
            {
                if (b)
                    return H.Call(() => p);
                else
                    return H.Call(() => -p);
            }
        }
        """);

    [Fact]
    public Task AlsoCapturedAtTheTopLevelOfTheScope_NoDiagnostic() => NoDiagnostic(
        """
        class C
        {
            int M(int p, bool rare)
            {
                H.Run(() => System.Console.WriteLine(p));
                if (rare)
                    return H.Call(() => p);
                return 0;
            }
        }
        """);

    [Fact]
    public Task LocalFunctionCalledDirectly_StructEnvironment_NoDiagnostic() => NoDiagnostic(
        """
        class C
        {
            int M(int p, bool rare)
            {
                if (rare)
                    return Twice();
                return 0;
                int Twice() => p * 2;
            }
        }
        """);

    [Fact]
    public Task LocalFunctionDeclaredOutsideTheBranch_ConvertedOnlyInIt_ReportedWithoutFix() => Reported(
        """
        class C
        {
            void M(int [|p|], bool rare)
            {
                if (rare)
                    H.Run(Print);
                void Print() => System.Console.WriteLine(p);
            }
        }
        """);

    [Fact]
    public Task LocalFunctionDeclaredAfterAnEarlyReturn_ButConvertedBeforeIt_NoDiagnostic() => NoDiagnostic(
        """
        class C
        {
            void M(int p, bool done)
            {
                H.Run(Print);
                if (done)
                    return;
                void Print() => System.Console.WriteLine(p);
            }
        }
        """);

    [Fact]
    public Task LocalFunctionConvertedAfterAnEarlyReturn_Reported() => Reported(
        """
        class C
        {
            void M(int [|p|], bool done)
            {
                if (done)
                    return;
                H.Run(Print);
                void Print() => System.Console.WriteLine(p);
            }
        }
        """);

    [Fact]
    public Task ExpressionTree_NoDiagnostic() => NoDiagnostic(
        """
        using System;
        using System.Linq.Expressions;
        class C
        {
            Expression<Func<int>>? M(int p, bool rare)
            {
                if (rare)
                    return () => p;
                return null;
            }
        }
        """);

    [Fact]
    public Task StaticAndNonCapturingLambdas_NoDiagnostic() => NoDiagnostic(
        """
        class C
        {
            int M(int p, bool rare)
            {
                if (rare)
                    return H.Call(static () => 1) + H.Call(() => 2);
                return p;
            }
        }
        """);

    [Fact]
    public Task BranchInsideALoop_NoDiagnostic() => NoDiagnostic(
        """
        class C
        {
            int M(int p, int[] xs)
            {
                var t = 0;
                foreach (var x in xs)
                    if (x > 0)
                        t += H.Call(() => p);
                return t;
            }
        }
        """);

    [Fact]
    public Task ForVariableCapturedInABranchOfTheBody_NoDiagnostic() => NoDiagnostic(
        """
        using System;
        using System.Collections.Generic;
        class C
        {
            List<Func<int>> M(int n)
            {
                var list = new List<Func<int>>();
                for (var i = 0; i < n; i++)
                    if (i % 2 == 0)
                        list.Add(() => i);
                return list;
            }
        }
        """);

    [Fact]
    public Task GuardThatThrows_NoDiagnostic() => NoDiagnostic(
        """
        class C
        {
            int M(string? s, int p)
            {
                if (s is null)
                    throw new System.ArgumentNullException(nameof(s));
                return H.Call(() => p + s.Length);
            }
        }
        """);

    [Fact]
    public Task OtherBranchThrows_NoDiagnostic() => NoDiagnostic(
        """
        class C
        {
            int M(int p, bool ok)
            {
                if (ok)
                    return H.Call(() => p);
                else
                    throw new System.InvalidOperationException();
            }
        }
        """);

    [Fact]
    public Task VariableDeclaredInsideTheBranch_NoDiagnostic() => NoDiagnostic(
        """
        class C
        {
            int M(int p, bool rare)
            {
                if (rare)
                {
                    var q = p + 1;
                    return H.Call(() => q);
                }
                return 0;
            }
        }
        """);

    [Fact]
    public Task OnlyThisCaptured_NoDiagnostic() => NoDiagnostic(
        """
        class C
        {
            int _f;
            int M(bool rare)
            {
                if (rare)
                    return H.Call(() => _f);
                return 0;
            }
        }
        """);

    [Fact]
    public Task GeneratedCode_NoDiagnostic() => NoDiagnostic(
        """
        // <auto-generated/>
        class C
        {
            int M(int p, bool rare)
            {
                if (rare)
                    return H.Call(() => p);
                return 0;
            }
        }
        """);

    // ------------------------------------------------------------------ default scope: hot paths

    private const string ColdAndHot = """
        using System;

        class HotPathAttribute : Attribute { }

        class C
        {
            int Cold(int limit, bool rare)
            {
                if (rare)
                    return H.Call(() => limit * 2);
                return 0;
            }

            [HotPath]
            int Hot(int {|#0:limit|}, bool rare)
            {
                if (rare)
                    return H.Call(() => limit * 2);
                return 0;
            }
        }
        """;

    [Fact]
    public Task DefaultScope_ColdMethodNotReported_HotMethodReported()
    {
        var test = Verify<MemSafety.Analyzers.Rules.Closures.DisplayClassOnUnusedPathsAnalyzer>.Test(ColdAndHot + Helpers);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA3003", 0));
        return test.RunAsync();
    }

    [Fact]
    public Task DefaultScope_ColdLoopOfAnUnmarkedMethod_NotReported() => Verify<MemSafety.Analyzers.Rules.Closures.DisplayClassOnUnusedPathsAnalyzer>.AnalyzerAsync(
        """
        class C
        {
            int M(int[] items, bool rare)
            {
                var sum = 0;
                foreach (var item in items)
                {
                    if (rare)
                        sum += H.Call(() => item * 2);
                }
                return sum;
            }
        }
        """ + Helpers);

    [Fact]
    public Task ScopeEverywhere_TheStrictSetting_ReportsColdMethods()
    {
        var test = Verify<MemSafety.Analyzers.Rules.Closures.DisplayClassOnUnusedPathsAnalyzer>.Test(
            ColdAndHot.Replace("int Cold(int limit", "int Cold(int {|#1:limit|}", StringComparison.Ordinal) + Helpers);
        test.AnalyzerOptions["memsafety.scope"] = "everywhere";
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA3003", 1));
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA3003", 0));
        return test.RunAsync();
    }

    // ------------------------------------------------------------------ evidence for the fix

    private const string Before = """
        using System;
        using System.Runtime.CompilerServices;
        public static class Program
        {
            static int Call(Func<int> f) => f();
            // Not inlined into ColdPath: .NET 10's JIT could then stack-allocate the display class on that path.
            [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
            public static int M(int limit, bool rare)
            {
                if (rare)
                    return Call(() => limit * 2);
                return limit;
            }
            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            public static void ColdPath() => M(5, false);
            public static string Run() => M(5, false) + "," + M(5, true) + "," + M(-3, true);
        }
        """;

    private const string After = """
        using System;
        using System.Runtime.CompilerServices;
        public static class Program
        {
            static int Call(Func<int> f) => f();
            // Not inlined into ColdPath: .NET 10's JIT could then stack-allocate the display class on that path.
            [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
            public static int M(int limit, bool rare)
            {
                if (rare)
                {
                    var limitCopy = limit;
                    return Call(() => limitCopy * 2);
                }
                return limit;
            }
            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            public static void ColdPath() => M(5, false);
            public static string Run() => M(5, false) + "," + M(5, true) + "," + M(-3, true);
        }
        """;

    [Fact]
    public void Fix_MovesTheNewobjIntoTheBranch_AndTheColdPathAllocatesNothing()
    {
        var before = IlInspection.Compile(Before);
        var after = IlInspection.Compile(After);

        // IL: the display class's newobj is the first instruction of M before the fix (every call), and follows the
        // branch on 'rare' after it.
        static int NewobjAfterBranches(IlMethod m)
        {
            var newobj = m.Instructions.Single(i => i.OpCode == ILOpCode.Newobj && i.Token!.Contains("<>c__DisplayClass", StringComparison.Ordinal));
            return m.Instructions.Count(i => i.Offset < newobj.Offset && i.OpCode.IsBranch());
        }

        Assert.Equal(0, NewobjAfterBranches(before.Method("Program", "M")));
        Assert.Equal(1, NewobjAfterBranches(after.Method("Program", "M")));

        // At run time (.NET 10, the test host): the path that skips the branch allocated the display class before.
        var allocated = before.AllocatedBytesPerCall("Program", "ColdPath");
        Assert.True(allocated >= 24, $"{allocated} bytes per call before the fix");
        Assert.Equal(0, after.AllocatedBytesPerCall("Program", "ColdPath"));
    }

    [Fact]
    public void Fix_KeepsBehaviour()
    {
        Assert.Equal("5,10,-6", Behaviour.Run(Before));
        Assert.Equal(Behaviour.Run(Before), Behaviour.Run(After));
    }

    [Fact]
    public Task Fix_ProducesTheEvidenceSource() => VerifyCS.CodeFixAsync(
        Before.Replace("M(int limit, bool rare)", "M(int [|limit|], bool rare)", StringComparison.Ordinal),
        After);
}
