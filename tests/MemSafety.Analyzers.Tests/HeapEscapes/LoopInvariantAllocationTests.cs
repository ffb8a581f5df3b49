using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.HeapEscapes;
using MemSafety.Analyzers.Tests.Verification;

namespace MemSafety.Analyzers.Tests.HeapEscapes;

public sealed class LoopInvariantAllocationTests
{
    /// <summary>These tests are about which allocations can be hoisted and how; they use loops of ordinary methods, which the default scope (hot paths only) does not reach, so they widen it to loops. DefaultScope_LoopOfAnUnmarkedMethod_NoDiagnostic checks the default.</summary>
    private static readonly VerifyWithOptions<MemSafety.Analyzers.Rules.HeapEscapes.LoopInvariantAllocationAnalyzer, MemSafety.CodeFixes.HeapEscapes.LoopInvariantAllocationFix> VerifyCS = new(("memsafety.MSA1009.scope", "hot_paths_and_loops"));

    private static Task NoDiagnostic(string source) => VerifyCS.AnalyzerAsync(source);

    [Fact]
    public Task ConstantArray_HoistedAndClearedEachIteration() => VerifyCS.CodeFixAsync(
        """
        using System;

        static class Frames
        {
            public static int Checksum(byte[][] frames)
            {
                var total = 0;
                foreach (var frame in frames)
                {
                    var counts = [|new int[16]|];
                    foreach (var b in frame)
                        counts[b & 15]++;
                    total += counts[0];
                }
                return total;
            }
        }
        """,
        """
        using System;

        static class Frames
        {
            public static int Checksum(byte[][] frames)
            {
                var total = 0;
                var counts = new int[16];
                foreach (var frame in frames)
                {
                    Array.Clear(counts, 0, counts.Length);
                    foreach (var b in frame)
                        counts[b & 15]++;
                    total += counts[0];
                }
                return total;
            }
        }
        """);

    [Fact]
    public Task ListAndStringBuilder_HoistedAndCleared() => VerifyCS.CodeFixAsync(
        """
        using System.Collections.Generic;
        using System.Text;

        static class Report
        {
            public static int Longest(string[] lines)
            {
                var best = 0;
                for (var i = 0; i < lines.Length; i++)
                {
                    var words = [|new List<string>()|];
                    var sb = [|new StringBuilder(lines.Length * 2)|];
                    foreach (var w in lines[i].Split(' ')) { words.Add(w); sb.Append(w); }
                    if (words.Count + sb.Length > best) best = words.Count + sb.Length;
                }
                return best;
            }
        }
        """,
        """
        using System.Collections.Generic;
        using System.Text;

        static class Report
        {
            public static int Longest(string[] lines)
            {
                var best = 0;
                var words = new List<string>();
                var sb = new StringBuilder(lines.Length * 2);
                for (var i = 0; i < lines.Length; i++)
                {
                    words.Clear();
                    sb.Clear();
                    foreach (var w in lines[i].Split(' ')) { words.Add(w); sb.Append(w); }
                    if (words.Count + sb.Length > best) best = words.Count + sb.Length;
                }
                return best;
            }
        }
        """);

    [Fact]
    public Task NoUsingSystem_QualifiesArrayClear() => VerifyCS.CodeFixAsync(
        "class C { int M(int[] xs) { var t = 0; while (t < 10) { var tmp = [|new long[4]|]; tmp[0] = t; t += (int)tmp[0] + 1; } return t; } }",
        "class C { int M(int[] xs) { var t = 0; var tmp = new long[4];\nwhile (t < 10) { System.Array.Clear(tmp, 0, tmp.Length); tmp[0] = t; t += (int)tmp[0] + 1; } return t; } }");

    [Fact]
    public Task Message_NamesTypeLoopAndReset()
    {
        var test = VerifyCS.AnalyzerTest(
            "using System.Collections.Generic; class C { int M() { var n = 0; for (var i = 0; i < 3; i++) { var seen = {|#0:new HashSet<int>()|}; seen.Add(i); n += seen.Count; } return n; } }");
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA1009", 0).WithMessage(
            "'new HashSet<int>()' allocates a new HashSet<int> on every iteration of this loop, and it never outlives the iteration; create it once before the loop and Clear() it each time"));
        return test.RunAsync();
    }

    [Fact]
    public Task SizeFromInvariantArrayLength_Reported() => VerifyCS.AnalyzerAsync(
        "class C { int M(int[] data) { var t = 0; for (var i = 0; i < 3; i++) { var copy = [|new int[data.Length + 1]|]; copy[0] = i; t += copy[0]; } return t; } }");

    [Fact]
    public void Fix_KeepsBehaviour()
    {
        const string before = """
            public static class Program
            {
                public static string Run()
                {
                    var result = "";
                    for (var i = 0; i < 4; i++)
                    {
                        var counts = new int[3];
                        counts[i % 3] += i;
                        counts[0]++;
                        result += string.Join(",", counts) + ";";
                    }
                    return result;
                }
            }
            """;
        const string after = """
            using System;
            public static class Program
            {
                public static string Run()
                {
                    var result = "";
                    var counts = new int[3];
                    for (var i = 0; i < 4; i++)
                    {
                        Array.Clear(counts, 0, counts.Length);
                        counts[i % 3] += i;
                        counts[0]++;
                        result += string.Join(",", counts) + ";";
                    }
                    return result;
                }
            }
            """;
        Assert.Equal("1,0,0;1,1,0;1,0,2;4,0,0;", Behaviour.Run(before, "Program", "Run"));
        Assert.Equal(Behaviour.Run(before, "Program", "Run"), Behaviour.Run(after, "Program", "Run"));
    }

    [Fact]
    public Task NestedLoops_FixAllHoistsStepByStep()
    {
        var test = VerifyCS.Test(
            "using System;\nclass C\n{\n    int M()\n    {\n        var t = 0;\n        for (var i = 0; i < 2; i++)\n        {\n            for (var j = 0; j < 2; j++)\n            {\n                var a = [|new int[2]|];\n                a[j] = i;\n                t += a[0];\n            }\n        }\n        return t;\n    }\n}\n",
            "using System;\nclass C\n{\n    int M()\n    {\n        var t = 0;\n        var a = new int[2];\n        for (var i = 0; i < 2; i++)\n        {\n            Array.Clear(a, 0, a.Length);\n            for (var j = 0; j < 2; j++)\n            {\n                Array.Clear(a, 0, a.Length);\n                a[j] = i;\n                t += a[0];\n            }\n        }\n        return t;\n    }\n}\n");

        // Hoisted out of the inner loop, the array is reported again in the outer one: two steps either way.
        test.IncrementalFixes = 2;
        test.FixAllPasses = 2;
        return test.RunAsync();
    }

    [Fact]
    public Task BreakEndsTheInnerLoopAfterIt_HoistedBeforeTheOuterLoop() => VerifyCS.CodeFixAsync(
        """
        using System;
        class C
        {
            int M(int[][] rows)
            {
                var t = 0;
                foreach (var row in rows)
                {
                    for (var j = 0; j < row.Length; j++)
                    {
                        if (row[j] < 0) continue;
                        var counts = [|new int[4]|];
                        counts[row[j] & 3]++;
                        t += counts[0];
                        break;
                    }
                }
                return t;
            }
        }
        """,
        """
        using System;
        class C
        {
            int M(int[][] rows)
            {
                var t = 0;
                var counts = new int[4];
                foreach (var row in rows)
                {
                    for (var j = 0; j < row.Length; j++)
                    {
                        if (row[j] < 0) continue;
                        Array.Clear(counts, 0, counts.Length);
                        counts[row[j] & 3]++;
                        t += counts[0];
                        break;
                    }
                }
                return t;
            }
        }
        """);

    // ------------------------------------------------------------------ not reported

    [Fact]
    public Task SizeDependsOnLoopVariable_NoDiagnostic() => NoDiagnostic(
        "class C { int M() { var t = 0; for (var i = 1; i < 4; i++) { var a = new int[i]; t += a.Length; } return t; } }");

    [Fact]
    public Task SizeFromParameterThatCouldBeNegative_NoDiagnostic() => NoDiagnostic(
        "class C { int M(int n) { var t = 0; for (var i = 0; i < 4; i++) { var a = new int[n]; t += a.Length; } return t; } }");

    [Fact]
    public Task EscapesIntoOuterList_NoDiagnostic() => NoDiagnostic(
        "using System.Collections.Generic; class C { List<int[]> M() { var all = new List<int[]>(); for (var i = 0; i < 3; i++) { var a = new int[2]; all.Add(a); } return all; } }");

    [Fact]
    public Task CapturedByLambda_NoDiagnostic() => NoDiagnostic(
        "using System; class C { int M() { var t = 0; for (var i = 0; i < 3; i++) { var a = new int[2]; Func<int> f = () => a.Length; t += f(); } return t; } }");

    [Fact]
    public Task BuilderCreatedOnlyOnTheWayOut_NoDiagnostic() => NoDiagnostic(
        // The loop searches; the builder is created once, when a character needs escaping, and the method returns.
        // Hoisting it would allocate on every call, including the calls that find nothing to escape.
        """
        using System.Text;
        static class Escaper
        {
            static bool NeedsEscape(char c) => c == '"' || c == '\\';
            public static string Escape(string s)
            {
                foreach (var c in s)
                {
                    if (NeedsEscape(c))
                    {
                        var sb = new StringBuilder(s.Length + 8);
                        foreach (var d in s) { if (NeedsEscape(d)) sb.Append('\\'); sb.Append(d); }
                        return sb.ToString();
                    }
                }
                return s;
            }
        }
        """);

    [Fact]
    public Task CreatedBeforeAThrowInTheLoop_NoDiagnostic() => NoDiagnostic(
        """
        using System;
        using System.Collections.Generic;
        class C
        {
            int M(int[] xs)
            {
                var t = 0;
                foreach (var x in xs)
                {
                    if (x < 0)
                    {
                        var bad = new List<int>(xs.Length);
                        bad.Add(x);
                        throw new ArgumentException("negative: " + bad.Count);
                    }
                    t += x;
                }
                return t;
            }
        }
        """);

    [Fact]
    public Task SizeFromLocalDeclaredInTheLoop_NoDiagnostic() => NoDiagnostic(
        // 'row' gets a new value on every iteration, and the hoisted array could not even see it.
        "class C { int M(int[][] rows) { var t = 0; for (var k = 0; k < rows.Length; k++) { var row = rows[k]; var a = new int[row.Length]; t += a.Length; } return t; } }");

    [Fact]
    public Task SizeFromArrayThatALambdaReplaces_NoDiagnostic() => NoDiagnostic(
        // 'grow' is declared before the loop and called in it: every call gives 'arr' another length.
        "using System; class C { int M(int[] arr) { var t = 0; Action grow = () => arr = new int[arr.Length + 1]; for (var k = 0; k < 3; k++) { grow(); var a = new int[arr.Length]; t += a.Length; } return t; } }");

    [Fact]
    public Task OutsideLoop_NoDiagnostic() => NoDiagnostic("class C { int M() { var a = new int[2]; return a.Length; } }");

    [Fact]
    public Task CollectionInitializerOrCopyConstructor_NoDiagnostic() => NoDiagnostic(
        """
        using System.Collections.Generic;
        class C
        {
            int M(List<int> source)
            {
                var t = 0;
                for (var i = 0; i < 3; i++)
                {
                    var a = new List<int> { i };
                    var b = new List<int>(source);
                    t += a.Count + b.Count;
                }
                return t;
            }
        }
        """);

    [Fact]
    public Task LargeArray_LeftToMSA1003_NoDiagnostic() => NoDiagnostic(
        "class C { int M() { var t = 0; for (var i = 0; i < 3; i++) { var a = new byte[100000]; t += a.Length; } return t; } }");

    [Fact]
    public Task ListCountAsSize_CanChange_NoDiagnostic() => NoDiagnostic(
        "using System.Collections.Generic; class C { int M(List<int> l) { var t = 0; for (var i = 0; i < 3; i++) { var a = new int[l.Count]; l.Add(i); t += a.Length; } return t; } }");

    [Fact]
    public Task InsideLambdaInLoop_NoDiagnostic() => NoDiagnostic(
        "using System; class C { void M(Action<Func<int>> run) { for (var i = 0; i < 3; i++) run(() => { var a = new int[2]; return a.Length; }); } }");

    [Fact]
    public Task NameReusedInOuterBlock_ReportedWithoutFix() => VerifyCS.NoFixAsync(
        """
        class C
        {
            int M()
            {
                var t = 0;
                for (var i = 0; i < 3; i++) { var a = [|new int[2]|]; t += a.Length; }
                for (var j = 0; j < 3; j++) { var a = [|new int[3]|]; t += a.Length; }
                return t;
            }
        }
        """);

    [Fact]
    public Task GeneratedCode_NoDiagnostic() => NoDiagnostic(
        "// <auto-generated/>\nclass C { int M() { var t = 0; for (var i = 0; i < 3; i++) { var a = new int[2]; t += a.Length; } return t; } }");

    [Fact]
    public Task IncompleteCode_NoDiagnosticAndNoCrash()
    {
        var test = VerifyCS.AnalyzerTest("class C { int M() { for (var i = 0; i < 3; i++) { var a = new int[2; a. } } }");
        test.AllowCompilerErrors = true;
        return test.RunAsync();
    }

    /// <summary>The default scope is hot paths only (loops of unmarked methods were mostly reflection and setup code on
    /// third-party libraries); a hot member's loops are reported, and hot_paths_and_loops reaches every loop.</summary>
    [Fact]
    public async Task DefaultScope_LoopOfAnUnmarkedMethod_NoDiagnostic()
    {
        const string source = """
            sealed class HotPathAttribute : System.Attribute { }
            static class C
            {
                ATTRIBUTE public static int M(byte[][] frames)
                {
                    var total = 0;
                    foreach (var frame in frames) { var counts = MARK; counts[frame.Length & 15]++; total += counts[0]; }
                    return total;
                }
            }
            """;
        await Verify<LoopInvariantAllocationAnalyzer>.AnalyzerAsync(source.Replace("ATTRIBUTE", "").Replace("MARK", "new int[16]"));
        await Verify<LoopInvariantAllocationAnalyzer>.AnalyzerAsync(source.Replace("ATTRIBUTE", "[HotPath]").Replace("MARK", "[|new int[16]|]"));
        await VerifyCS.AnalyzerAsync(source.Replace("ATTRIBUTE", "").Replace("MARK", "[|new int[16]|]"));
    }
}
