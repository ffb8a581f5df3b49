using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.HeapEscapes;
using MemSafety.Analyzers.Tests.Infrastructure;
using MemSafety.Analyzers.Tests.Verification;
using Microsoft.CodeAnalysis.CSharp;

namespace MemSafety.Analyzers.Tests.HeapEscapes;

public sealed class StackallocCandidateTests
{
    /// <summary>These tests are about which arrays can move to the stack and how the fix rewrites them; they use plain
    /// methods, which the default scope (hot paths) does not reach, so they widen it as the Strict preset does. The
    /// DefaultScope_* tests check the default.</summary>
    private static readonly VerifyWithOptions<StackallocCandidateAnalyzer, MemSafety.CodeFixes.HeapEscapes.StackallocCandidateFix> VerifyCS = new(("memsafety.MSA1001.scope", "everywhere"));

    private static Task NoDiagnostic(string source) => VerifyCS.AnalyzerAsync(source);

    // ------------------------------------------------------------------ reported and fixed

    [Fact]
    public Task IndexerLengthAndForeach_DeclarationRewritten() => VerifyCS.CodeFixAsync(
        """
        using System;

        static class Checksum
        {
            public static int Compute(int seed)
            {
                var scratch = [|new byte[16]|];
                for (var i = 0; i < scratch.Length; i++)
                    scratch[i] = (byte)(seed + i);
                var sum = 0;
                foreach (var b in scratch)
                    sum += b;
                return sum;
            }
        }
        """,
        """
        using System;

        static class Checksum
        {
            public static int Compute(int seed)
            {
                Span<byte> scratch = stackalloc byte[16];
                for (var i = 0; i < scratch.Length; i++)
                    scratch[i] = (byte)(seed + i);
                var sum = 0;
                foreach (var b in scratch)
                    sum += b;
                return sum;
            }
        }
        """);

    [Fact]
    public Task StreamReadAndWriteWithWholeArray_UseSpanOverloads() => VerifyCS.CodeFixAsync(
        """
        using System;
        using System.IO;

        static class Copier
        {
            public static int CopyHeader(Stream source, Stream target)
            {
                var header = [|new byte[64]|];
                var read = source.Read(header, 0, header.Length);
                target.Write(header, 0, read);
                return read;
            }
        }
        """,
        """
        using System;
        using System.IO;

        static class Copier
        {
            public static int CopyHeader(Stream source, Stream target)
            {
                Span<byte> header = stackalloc byte[64];
                var read = source.Read(header);
                target.Write(header.Slice(0, read));
                return read;
            }
        }
        """);

    [Fact]
    public Task BitConverterWithStartIndex_Sliced() => VerifyCS.CodeFixAsync(
        """
        using System;

        static class Reader
        {
            public static long Read(Random random)
            {
                byte[] bytes = [|new byte[12]|];
                random.NextBytes(bytes);
                return BitConverter.ToInt32(bytes, 0) + BitConverter.ToInt64(bytes, 4);
            }
        }
        """,
        """
        using System;

        static class Reader
        {
            public static long Read(Random random)
            {
                Span<byte> bytes = stackalloc byte[12];
                random.NextBytes(bytes);
                return BitConverter.ToInt32(bytes) + BitConverter.ToInt64(bytes.Slice(4));
            }
        }
        """);

    [Fact]
    public Task StringConstructorAndArrayHelpers_MoveToSpanForms() => VerifyCS.CodeFixAsync(
        """
        using System;

        static class Text
        {
            public static string Stars(char fill)
            {
                var chars = [|new char[8]|];
                Array.Fill(chars, fill);
                Array.Reverse(chars);
                chars[0] = '[';
                Array.Clear(chars, 0, chars.Length);
                return new string(chars) + chars.AsSpan(1, 2).Length;
            }
        }
        """,
        """
        using System;

        static class Text
        {
            public static string Stars(char fill)
            {
                Span<char> chars = stackalloc char[8];
                chars.Fill(fill);
                chars.Reverse();
                chars[0] = '[';
                chars.Clear();
                return new string(chars) + chars.Slice(1, 2).Length;
            }
        }
        """);

    [Fact]
    public Task InitializerForms_KeepTheirElements() => VerifyCS.CodeFixAsync(
        """
        using System;

        static class Tables
        {
            public static int Pick(int i)
            {
                var weights = [|new byte[] { 3, 1, 4, 1, 5 }|];
                var steps = [|new[] { 10, 20 }|];
                weights[0] = 9;
                steps[1] += i;
                return weights[i % weights.Length] + steps[i % 2];
            }
        }
        """,
        """
        using System;

        static class Tables
        {
            public static int Pick(int i)
            {
                Span<byte> weights = stackalloc byte[] { 3, 1, 4, 1, 5 };
                Span<int> steps = stackalloc int[] { 10, 20 };
                weights[0] = 9;
                steps[1] += i;
                return weights[i % weights.Length] + steps[i % 2];
            }
        }
        """);

    [Fact]
    public Task SkipLocalsInit_FixClearsTheSpan() => VerifyCS.CodeFixAsync(
        """
        using System;
        using System.Runtime.CompilerServices;

        static class Fast
        {
            [SkipLocalsInit]
            public static int Count(int n)
            {
                var marks = [|new bool[32]|];
                marks[n % 32] = true;
                var count = 0;
                foreach (var m in marks) if (m) count++;
                return count;
            }
        }
        """,
        """
        using System;
        using System.Runtime.CompilerServices;

        static class Fast
        {
            [SkipLocalsInit]
            public static int Count(int n)
            {
                Span<bool> marks = stackalloc bool[32];
                marks.Clear();
                marks[n % 32] = true;
                var count = 0;
                foreach (var m in marks) if (m) count++;
                return count;
            }
        }
        """);

    [Fact]
    public Task NoUsingSystem_UsingAdded() => VerifyCS.CodeFixAsync(
        """
        static class Parity
        {
            public static int Of(int v)
            {
                var bits = [|new int[4]|];
                bits[v & 3] = 1;
                return bits[0] + bits[1];
            }
        }
        """,
        """
        using System;

        static class Parity
        {
            public static int Of(int v)
            {
                Span<int> bits = stackalloc int[4];
                bits[v & 3] = 1;
                return bits[0] + bits[1];
            }
        }
        """);

    [Fact]
    public Task PassedToSpanParameterOfOwnMethod_Reported() => VerifyCS.CodeFixAsync(
        """
        using System;

        static class Hashing
        {
            static int Mix(ReadOnlySpan<byte> data) { var h = 17; foreach (var b in data) h = h * 31 + b; return h; }

            public static int Hash(int value)
            {
                var buffer = [|new byte[4]|];
                BitConverter.TryWriteBytes(buffer, value);
                return Mix(buffer);
            }
        }
        """,
        """
        using System;

        static class Hashing
        {
            static int Mix(ReadOnlySpan<byte> data) { var h = 17; foreach (var b in data) h = h * 31 + b; return h; }

            public static int Hash(int value)
            {
                Span<byte> buffer = stackalloc byte[4];
                BitConverter.TryWriteBytes(buffer, value);
                return Mix(buffer);
            }
        }
        """);

    [Fact]
    public Task Message_NamesArraySizeAndMethod()
    {
        var test = VerifyCS.AnalyzerTest(
            "class C { int Hash() { var scratch = {|#0:new byte[16]|}; scratch[1] = 2; return scratch[1]; } }");
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA1001", 0).WithMessage(
            "Array 'scratch' (16 × byte, 16 bytes) never escapes 'Hash' and every use works on a span; stackalloc it instead of allocating on the heap"));
        return test.RunAsync();
    }

    [Fact]
    public Task SiblingsOverTheBudgetTogether_NoDiagnostic() => NoDiagnostic(
        """
        class C
        {
            int M()
            {
                var first = new long[100];
                var second = new long[100];
                first[0] = 1; second[0] = 2;
                return (int)(first[0] + second[0]);
            }
        }
        """);

    [Fact]
    public Task SiblingsWithinTheBudgetTogether_AllReported() => VerifyCS.AnalyzerAsync(
        """
        class C
        {
            int M()
            {
                var first = [|new long[60]|];
                var second = [|new long[60]|];
                first[0] = 1; second[0] = 2;
                return (int)(first[0] + second[0]);
            }
        }
        """);

    [Fact]
    public Task SiblingThatEscapes_DoesNotCountAgainstTheBudget() => VerifyCS.AnalyzerAsync(
        """
        class C
        {
            long[] _kept;
            int M()
            {
                var first = [|new long[100]|];
                var second = new long[100];
                _kept = second;
                first[0] = 1;
                return (int)first[0];
            }
        }
        """);

    [Fact]
    public Task RaisedBudgetOption_ReportsLargerArrays()
    {
        var test = VerifyCS.AnalyzerTest("class C { int M() { var big = [|new byte[4000]|]; big[1] = 1; return big[1]; } }");
        test.AnalyzerOptions["memsafety.stackalloc_max_bytes"] = "4096";
        return test.RunAsync();
    }

    [Fact]
    public Task FixAll_AcrossMethodsAndDocuments()
    {
        var test = new AnalyzerTest(new StackallocCandidateAnalyzer()) { CodeFix = new MemSafety.CodeFixes.HeapEscapes.StackallocCandidateFix() };
        test.AnalyzerOptions["memsafety.MSA1001.scope"] = "everywhere";
        test.Sources.Add("using System;\nclass A { int M() { var a = [|new int[2]|]; a[0] = 1; return a[0]; } int N() { var b = [|new int[3]|]; return b.Length; } }\n");
        test.Sources.Add("using System;\nclass B { int M() { var c = [|new short[8]|]; return c[7]; } }\n");
        test.FixedSources.Add("using System;\nclass A { int M() { Span<int> a = stackalloc int[2]; a[0] = 1; return a[0]; } int N() { Span<int> b = stackalloc int[3]; return b.Length; } }\n");
        test.FixedSources.Add("using System;\nclass B { int M() { Span<short> c = stackalloc short[8]; return c[7]; } }\n");
        return test.RunAsync();
    }

    [Fact]
    public Task CommentsOnRewrittenArguments_Kept() => VerifyCS.CodeFixAsync(
        """
        using System;
        using System.IO;

        class C
        {
            int M(Stream s)
            {
                // the header
                var b = /* sixteen bytes */ [|new byte[16]|]; // trailing
                var n = s.Read(b, // into b
                    0, b.Length); // after read
                n += s.Read(b, /* offset */ 0, b.Length /* count */);
                return n + BitConverter.ToInt32(b, /* at */ 4);
            }
        }
        """,
        """
        using System;
        using System.IO;

        class C
        {
            int M(Stream s)
            {
                // the header
                Span<byte> b = /* sixteen bytes */ stackalloc byte[16]; // trailing
                var n = s.Read(b // into b
                    ); // after read
                n += s.Read(b /* offset */ /* count */);
                return n + BitConverter.ToInt32(b.Slice(4) /* at */);
            }
        }
        """);

    [Theory]
    [InlineData(LanguageVersion.CSharp7_3)]
    [InlineData(LanguageVersion.CSharp10)]
    [InlineData(LanguageVersion.Latest)]
    public Task LanguageVersionsWithSpan_Reported(LanguageVersion version)
    {
        var test = VerifyCS.Test(
            "using System;\nclass C { int M() { var a = [|new int[2]|]; a[1] = 4; return a[1]; } }",
            "using System;\nclass C { int M() { Span<int> a = stackalloc int[2]; a[1] = 4; return a[1]; } }");
        test.LanguageVersion = version;
        test.NullableContextOptions = Microsoft.CodeAnalysis.NullableContextOptions.Disable;
        return test.RunAsync();
    }

    [Fact]
    public void Fix_KeepsBehaviour()
    {
        const string before = """
            using System;
            using System.IO;
            public static class Program
            {
                public static string Run()
                {
                    var source = new MemoryStream(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 });
                    var header = new byte[8];
                    var read = source.Read(header, 0, header.Length);
                    Array.Reverse(header);
                    return BitConverter.ToInt32(header, 2) + ":" + read + ":" + string.Join(",", header.AsSpan(1, 3).ToArray());
                }
            }
            """;
        const string after = """
            using System;
            using System.IO;
            public static class Program
            {
                public static string Run()
                {
                    var source = new MemoryStream(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 });
                    Span<byte> header = stackalloc byte[8];
                    var read = source.Read(header);
                    header.Reverse();
                    return BitConverter.ToInt32(header.Slice(2)) + ":" + read + ":" + string.Join(",", header.Slice(1, 3).ToArray());
                }
            }
            """;
        Assert.Equal(Behaviour.Run(before, "Program", "Run"), Behaviour.Run(after, "Program", "Run"));
    }

    [Fact]
    public async Task Fix_ProducesTheBehaviourCheckedSource()
    {
        // The source Fix_KeepsBehaviour runs is exactly what the fix writes.
        var test = VerifyCS.Test(
            """
            using System;
            using System.IO;
            public static class Program
            {
                public static string Run()
                {
                    var source = new MemoryStream(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 });
                    var header = [|new byte[8]|];
                    var read = source.Read(header, 0, header.Length);
                    Array.Reverse(header);
                    return BitConverter.ToInt32(header, 2) + ":" + read + ":" + string.Join(",", header.AsSpan(1, 3).ToArray());
                }
            }
            """,
            """
            using System;
            using System.IO;
            public static class Program
            {
                public static string Run()
                {
                    var source = new MemoryStream(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 });
                    Span<byte> header = stackalloc byte[8];
                    var read = source.Read(header);
                    header.Reverse();
                    return BitConverter.ToInt32(header.Slice(2)) + ":" + read + ":" + string.Join(",", header.Slice(1, 3).ToArray());
                }
            }
            """);
        await test.RunAsync();
    }

    // ------------------------------------------------------------------ default scope: hot paths (census-style)

    /// <summary>One small allocation per call pays back only where calls are many. Reporting in every method, the rule's
    /// findings on the third-party corpus were true but mostly in setup code that runs once per bzip2/deflate block,
    /// gzip header or password (SharpZipLib: 10 of 13), so by default an unmarked method is not reported.</summary>
    [Fact]
    public Task DefaultScope_ColdMethod_NoDiagnostic() => Verify<StackallocCandidateAnalyzer>.AnalyzerAsync(
        "class C { int Hash(int seed) { var scratch = new byte[16]; scratch[1] = (byte)seed; return scratch[1]; } }");

    [Fact]
    public Task DefaultScope_HotPathAttribute_Reported() => Verify<StackallocCandidateAnalyzer>.AnalyzerAsync(
        """
        sealed class HotPathAttribute : System.Attribute { }
        class C
        {
            [HotPath]
            int Hash(int seed) { var scratch = [|new byte[16]|]; scratch[1] = (byte)seed; return scratch[1]; }

            int Cold(int seed) { var scratch = new byte[16]; scratch[1] = (byte)seed; return scratch[1]; }
        }
        """);

    /// <summary>A hot type makes its members hot, local functions included (they belong to their member).</summary>
    [Fact]
    public Task DefaultScope_LocalFunctionOfHotType_Reported() => Verify<StackallocCandidateAnalyzer>.AnalyzerAsync(
        """
        sealed class PerformanceSensitiveAttribute : System.Attribute { }
        [PerformanceSensitive]
        class C
        {
            int Hash(int seed)
            {
                return Local(seed);

                static int Local(int s) { var scratch = [|new int[4]|]; scratch[0] = s; return scratch[0]; }
            }
        }
        """);

    [Fact]
    public Task DefaultScope_MemberListedInHotPaths_Reported()
    {
        var test = Verify<StackallocCandidateAnalyzer>.Test(
            """
            namespace App
            {
                class Formatter
                {
                    int Pad(int v) { var digits = [|new char[16]|]; digits[0] = (char)v; return digits[0]; }
                    int Other(int v) { var digits = new char[16]; digits[0] = (char)v; return digits[0]; }
                }
            }
            """);
        test.AnalyzerOptions["memsafety.hot_paths"] = "App.Formatter.Pad";
        return test.RunAsync();
    }

    /// <summary>An array on a loop cycle is never a candidate (the stack would grow per iteration), so adding loops to
    /// the scope adds nothing: a cold method stays unreported under <c>hot_paths_and_loops</c>.</summary>
    [Fact]
    public Task HotPathsAndLoopsScope_ColdMethod_NoDiagnostic()
    {
        var test = Verify<StackallocCandidateAnalyzer>.Test(
            "class C { int Sum(int n) { var a = new int[4]; for (var i = 0; i < n; i++) a[i & 3] += i; return a[0]; } }");
        test.AnalyzerOptions["memsafety.MSA1001.scope"] = "hot_paths_and_loops";
        return test.RunAsync();
    }

    /// <summary>The Strict preset widens every census-style rule to every method: its memsafety.* keys, read from the
    /// file the package ships, make the cold method of <see cref="DefaultScope_ColdMethod_NoDiagnostic"/> report.</summary>
    [Fact]
    public Task StrictPreset_ColdMethod_Reported()
    {
        var test = Verify<StackallocCandidateAnalyzer>.Test(
            "class C { int Hash(int seed) { var scratch = [|new byte[16]|]; scratch[1] = (byte)seed; return scratch[1]; } }");
        var strict = RepositoryFiles.PresetOptions("Strict");
        foreach (var (key, value) in strict)
            test.AnalyzerOptions[key] = value;
        Assert.NotEmpty(strict);
        return test.RunAsync();
    }

    [Fact]
    public Task RuleScopeKey_WinsOverGlobalScope()
    {
        var test = Verify<StackallocCandidateAnalyzer>.Test(
            "class C { int Hash(int seed) { var scratch = new byte[16]; scratch[1] = (byte)seed; return scratch[1]; } }");
        test.AnalyzerOptions["memsafety.scope"] = "everywhere";
        test.AnalyzerOptions["memsafety.MSA1001.scope"] = "hot_paths";
        return test.RunAsync();
    }

    // ------------------------------------------------------------------ not reported

    [Fact]
    public Task Returned_NoDiagnostic() => NoDiagnostic("class C { byte[] M() { var a = new byte[4]; a[0] = 1; return a; } }");

    [Fact]
    public Task StoredInField_NoDiagnostic() => NoDiagnostic("class C { byte[]? _last; void M() { var a = new byte[4]; _last = a; } }");

    [Fact]
    public Task PassedWhereAnArrayIsKept_NoDiagnostic() => NoDiagnostic(
        "using System.Collections.Generic; class C { void M(List<byte[]> all) { var a = new byte[4]; all.Add(a); } }");

    [Fact]
    public Task PassedToArrayParameterWithoutSpanOverload_NoDiagnostic() => NoDiagnostic(
        "class C { static int Sum(byte[] b) => b.Length; int M() { var a = new byte[4]; return Sum(a); } }");

    [Fact]
    public Task InsideLoop_NoDiagnostic() => NoDiagnostic(
        "class C { int M() { var t = 0; for (var i = 0; i < 3; i++) { var a = new int[4]; a[0] = i; t += a[0]; } return t; } }");

    [Fact]
    public Task InsideLoopBuiltFromGoto_NoDiagnostic() => NoDiagnostic(
        // A stackalloc on a cycle of the control flow grows the stack on every pass, with or without a loop statement.
        "class C { int M() { var t = 0; again: t++; var a = new int[4]; a[0] = t; t += a[0]; if (t < 9) goto again; return t; } }");

    [Fact]
    public Task InLoopBodyOnTheWayOut_NoDiagnostic() => NoDiagnostic(
        // Runs once (return follows), but the SDK's CA2014 flags any stackalloc in a loop body: no fix into its warning.
        "class C { int M(int[] xs) { foreach (var x in xs) { if (x < 0) { var a = new int[4]; a[0] = x; return a[0]; } } return 0; } }");

    [Fact]
    public Task NonConstantSize_NoDiagnostic() => NoDiagnostic("class C { int M(int n) { var a = new int[n]; return a.Length; } }");

    [Fact]
    public Task OverTheBudget_NoDiagnostic() => NoDiagnostic("class C { int M() { var a = new byte[2048]; a[0] = 1; return a[0]; } }");

    // Found on the decompiled BCL (an MD5 round-constant table reported by MSA1001 and MSA1005 at once):
    // a constant table that is only read is MSA1005's.
    [Fact]
    public Task ReadOnlyConstantTable_LeftToMSA1005_NoDiagnostic() => NoDiagnostic(
        "class C { int M(int i) { var shifts = new int[] { 7, 12, 17, 22 }; var t = 0; foreach (var s in shifts) t += s; return shifts[i & 3] + t; } }");

    [Fact]
    public Task ConstantInitializerThatIsWritten_Reported() => VerifyCS.AnalyzerAsync(
        "class C { int M(int i) { var state = [|new int[] { 1, 2, 3, 4 }|]; state[i & 3]++; return state[0]; } }");

    [Fact]
    public Task HugeConstantSize_NoDiagnosticAndNoOverflow() => NoDiagnostic(
        "class C { int M() { var a = new decimal[200_000_000]; a[0] = 1; return (int)a[0]; } }");

    [Fact]
    public Task ExistingStackallocUsesTheBudget_NoDiagnostic() => NoDiagnostic(
        "using System; class C { int M() { Span<byte> s = stackalloc byte[1000]; var a = new byte[64]; a[0] = s[0]; return a[0]; } }");

    [Fact]
    public Task AsyncMethod_NoDiagnostic() => NoDiagnostic(
        "using System.Threading.Tasks; class C { async Task<int> M() { var a = new int[4]; a[0] = 1; await Task.Yield(); return a.Length; } }");

    [Fact]
    public Task Iterator_NoDiagnostic() => NoDiagnostic(
        "using System.Collections.Generic; class C { IEnumerable<int> M() { var a = new int[2]; a[0] = 5; yield return a[0]; } }");

    [Fact]
    public Task IteratorLocalFunctionInsideAnotherLocalFunction_NoDiagnostic() => NoDiagnostic(
        """
        using System.Collections.Generic;
        class C
        {
            int M()
            {
                return Outer();
                int Outer()
                {
                    foreach (var x in Iterate())
                        return x;
                    return 0;
                    IEnumerable<int> Iterate() { var a = new int[2]; a[0] = 5; yield return a[0]; }
                }
            }
        }
        """);

    [Fact]
    public Task CapturedByLambdaOrLocalFunction_NoDiagnostic() => NoDiagnostic(
        """
        using System;
        class C
        {
            int M() { var a = new int[4]; Func<int> f = () => a.Length; return f(); }
            int N() { var b = new int[4]; return Count(); int Count() => b.Length; }
        }
        """);

    [Fact]
    public Task Reassigned_NoDiagnostic() => NoDiagnostic("class C { int M(int[] other) { var a = new int[4]; a = other; return a.Length; } }");

    [Fact]
    public Task UserStructElements_NoDiagnostic() => NoDiagnostic(
        "struct P { public int X, Y; } class C { int M() { var a = new P[4]; a[0].X = 1; return a[0].X; } }");

    [Fact]
    public Task RangeOrUnknownMemberUse_NoDiagnostic() => NoDiagnostic(
        "class C { int M() { var a = new int[4]; var b = a[1..3]; var c = (int[])a.Clone(); return b.Length + c.Length; } }");

    [Fact]
    public Task CatchAndFinallyBlocks_NoDiagnostic() => NoDiagnostic(
        """
        class C
        {
            int M()
            {
                try { return 1; }
                catch { var a = new int[2]; a[0] = 1; return a[0]; }
                finally { var b = new int[2]; b[0] = 2; }
            }
        }
        """);

    [Fact]
    public Task CSharp72_NoDiagnostic()
    {
        var test = VerifyCS.AnalyzerTest("class C { int M() { var a = new int[2]; a[0] = 1; return a[0]; } }");
        test.LanguageVersion = LanguageVersion.CSharp7_2;
        test.NullableContextOptions = Microsoft.CodeAnalysis.NullableContextOptions.Disable;
        return test.RunAsync();
    }

    [Fact]
    public async Task NetStandard20WithSystemMemory_FixedWithTheSpanApisThatExistThere()
    {
        // System.Memory brings Span<T> and MemoryExtensions (Reverse, Clear, AsSpan, Slice); it adds no span
        // overloads to the BCL, so an array passed to Stream.Read stays an array there.
        const string before = """
            using System;
            using System.IO;

            public static class Program
            {
                static int Sum(ReadOnlySpan<int> values)
                {
                    var sum = 0;
                    foreach (var v in values)
                        sum += v;
                    return sum;
                }

                static int Digits(int seed)
                {
                    var digits = [|new int[] { 1, 2, 3, 4 }|];
                    Array.Reverse(digits);
                    digits[0] += seed;
                    return Sum(digits) * 10 + Sum(digits.AsSpan(1, 2)) + digits.Length;
                }

                static int Scratch(int seed)
                {
                    var scratch = [|new byte[16]|];
                    for (var i = 0; i < scratch.Length; i++)
                        scratch[i] = (byte)(seed + i);
                    Array.Clear(scratch, 0, scratch.Length);
                    var total = 0;
                    foreach (var b in scratch)
                        total += b;
                    return total;
                }

                static int Header(Stream source)
                {
                    var header = new byte[8];
                    return source.Read(header, 0, header.Length) + header[0];
                }

                public static string Run() => Digits(5) + "," + Scratch(3) + "," + Header(new MemoryStream(new byte[] { 7, 8 }));
            }
            """;
        const string after = """
            using System;
            using System.IO;

            public static class Program
            {
                static int Sum(ReadOnlySpan<int> values)
                {
                    var sum = 0;
                    foreach (var v in values)
                        sum += v;
                    return sum;
                }

                static int Digits(int seed)
                {
                    Span<int> digits = stackalloc int[] { 1, 2, 3, 4 };
                    digits.Reverse();
                    digits[0] += seed;
                    return Sum(digits) * 10 + Sum(digits.Slice(1, 2)) + digits.Length;
                }

                static int Scratch(int seed)
                {
                    Span<byte> scratch = stackalloc byte[16];
                    for (var i = 0; i < scratch.Length; i++)
                        scratch[i] = (byte)(seed + i);
                    scratch.Clear();
                    var total = 0;
                    foreach (var b in scratch)
                        total += b;
                    return total;
                }

                static int Header(Stream source)
                {
                    var header = new byte[8];
                    return source.Read(header, 0, header.Length) + header[0];
                }

                public static string Run() => Digits(5) + "," + Scratch(3) + "," + Header(new MemoryStream(new byte[] { 7, 8 }));
            }
            """;
        await VerifyCS.Test(before, after).OnNetStandard20WithSystemMemory().RunAsync();
        var expected = Behaviour.Run(before, references: ReferenceSet.NetStandard20WithSystemMemory, languageVersion: LanguageVersion.CSharp7_3);
        Assert.Equal("159,0,9", expected);
        Assert.Equal(expected, Behaviour.Run(after, references: ReferenceSet.NetStandard20WithSystemMemory, languageVersion: LanguageVersion.CSharp7_3));
    }

    [Fact]
    public Task NetStandard20WithoutSpan_NoDiagnostic()
    {
        var test = VerifyCS.AnalyzerTest("class C { int M() { var a = new int[2]; a[0] = 1; return a[0]; } }");
        test.ReferenceSet = ReferenceSet.NetStandard20;
        return test.RunAsync();
    }

    [Fact]
    public Task UsingOrMultipleDeclarators_NoDiagnostic() => NoDiagnostic(
        "class C { int M() { int[] a = new int[2], b = new int[3]; return a.Length + b.Length; } }");

    [Fact]
    public Task GeneratedCode_NoDiagnostic() => NoDiagnostic(
        "// <auto-generated/>\nclass C { int M() { var a = new int[2]; a[0] = 1; return a[0]; } }");

    [Fact]
    public Task IncompleteCode_NoDiagnosticAndNoCrash()
    {
        var test = VerifyCS.AnalyzerTest("class C { int M() { var a = new int[4]; a[0] = ; return a.Len } void N() { var b = new int[ }");
        test.AllowCompilerErrors = true;
        return test.RunAsync();
    }
}
