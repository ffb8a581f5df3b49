using System.IO;
using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.HeapEscapes;
using MemSafety.Analyzers.Tests.Infrastructure;
using MemSafety.Analyzers.Tests.Verification;
using Microsoft.CodeAnalysis.CSharp;
using VerifyCS = MemSafety.Analyzers.Tests.Verification.Verify<MemSafety.Analyzers.Rules.HeapEscapes.LargeTemporaryArrayAnalyzer, MemSafety.CodeFixes.HeapEscapes.LargeTemporaryArrayFix>;

namespace MemSafety.Analyzers.Tests.HeapEscapes;

public sealed class LargeTemporaryArrayTests
{
    private static Task NoDiagnostic(string source) => Verify<LargeTemporaryArrayAnalyzer>.AnalyzerAsync(source);

    [Fact]
    public Task CopyBuffer_RentedAndReturned_NotClearedWhereOnlyWhatWasReadIsWritten() => VerifyCS.CodeFixAsync(
        """
        using System;
        using System.Buffers;
        using System.IO;

        static class Copier
        {
            public static long Copy(Stream source, Stream target)
            {
                var buffer = [|new byte[128 * 1024]|];
                long total = 0;
                int read;
                while ((read = source.Read(buffer, 0, buffer.Length)) > 0)
                {
                    target.Write(buffer, 0, read);
                    total += read;
                }
                return total;
            }
        }
        """,
        """
        using System;
        using System.Buffers;
        using System.IO;

        static class Copier
        {
            public static long Copy(Stream source, Stream target)
            {
                byte[] bufferArray = ArrayPool<byte>.Shared.Rent(128 * 1024);
                try
                {
                    Span<byte> buffer = bufferArray.AsSpan(0, 128 * 1024);
                    long total = 0;
                    int read;
                    while ((read = source.Read(buffer)) > 0)
                    {
                        target.Write(buffer.Slice(0, read));
                        total += read;
                    }
                    return total;
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(bufferArray);
                }
            }
        }
        """);

    [Fact]
    public Task MissingUsings_Added_CountsReadBeforeWrittenCleared() => VerifyCS.CodeFixAsync(
        """
        static class Histogram
        {
            public static int Peak(byte[] data)
            {
                var counts = [|new int[65536]|];
                foreach (var b in data)
                    counts[b]++;
                var peak = 0;
                for (var i = 0; i < counts.Length; i++)
                    if (counts[i] > counts[peak]) peak = i;
                return peak;
            }
        }
        """,
        """
        using System;
        using System.Buffers;

        static class Histogram
        {
            public static int Peak(byte[] data)
            {
                int[] countsArray = ArrayPool<int>.Shared.Rent(65536);
                try
                {
                    Span<int> counts = countsArray.AsSpan(0, 65536);
                    counts.Clear();
                    foreach (var b in data)
                        counts[b]++;
                    var peak = 0;
                    for (var i = 0; i < counts.Length; i++)
                        if (counts[i] > counts[peak]) peak = i;
                    return peak;
                }
                finally
                {
                    ArrayPool<int>.Shared.Return(countsArray);
                }
            }
        }
        """);

    [Fact]
    public Task Message_NamesSizeAndLargeObjectHeap()
    {
        var test = Verify<LargeTemporaryArrayAnalyzer>.Test("class C { int M() { var big = {|#0:new double[20000]|}; big[0] = 1; return (int)big[0]; } }");
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA1003", 0).WithMessage(
            "Array 'big' (20000 × double, 160000 bytes) lands on the Large Object Heap on every call to 'M' and never escapes; rent it from ArrayPool<double>.Shared and return it when done"));
        return test.RunAsync();
    }

    [Fact]
    public Task ReferenceElements_CountPointerSize() => Verify<LargeTemporaryArrayAnalyzer>.AnalyzerAsync(
        "class C { int M() { var slots = [|new object[11000]|]; slots[0] = 1; return slots.Length; } }");

    [Fact]
    public Task AsyncMethod_ReportedWithoutFix() => Verify<LargeTemporaryArrayAnalyzer, MemSafety.CodeFixes.HeapEscapes.LargeTemporaryArrayFix>.NoFixAsync(
        """
        using System.IO;
        using System.Threading.Tasks;
        class C
        {
            async Task<int> M(Stream s)
            {
                var buffer = [|new byte[100000]|];
                var n = s.Read(buffer, 0, buffer.Length);
                await Task.Yield();
                return n;
            }
        }
        """);

    [Fact]
    public Task UseWithoutSpanForm_ReportedWithoutFix() => Verify<LargeTemporaryArrayAnalyzer, MemSafety.CodeFixes.HeapEscapes.LargeTemporaryArrayFix>.NoFixAsync(
        "class C { int M() { var big = [|new int[50000]|]; var copy = (int[])big.Clone(); return copy.Length; } }");

    [Fact]
    // The rewrite moves whole lines into a try: a block written on one line has none to move (found by the fuzzer).
    public Task DeclarationSharesItsLine_ReportedWithoutFix() => Verify<LargeTemporaryArrayAnalyzer, MemSafety.CodeFixes.HeapEscapes.LargeTemporaryArrayFix>.NoFixAsync(
        """
        using System;
        using System.IO;
        class C
        {
            static void M(Stream s)
            {
                Action read = () => { var buffer = [|new byte[128 * 1024]|]; s.Read(buffer, 0, buffer.Length); };
                read();
            }
        }
        """);

    [Fact]
    public Task LocalFunctionInBlock_ReportedWithoutFix() => Verify<LargeTemporaryArrayAnalyzer, MemSafety.CodeFixes.HeapEscapes.LargeTemporaryArrayFix>.NoFixAsync(
        "class C { int M() { var big = [|new int[50000]|]; big[0] = Two(); return big[0]; static int Two() => 2; } }");

    [Fact]
    public async Task Fix_KeepsBehaviour_WithARentedArrayThatHoldsOldData()
    {
        // The pool hands back the arrays it was given: after the first call, Copy rents a buffer full of the
        // previous call's bytes and Histogram one with the previous counts. Copy never reads what Read did not
        // write, so its buffer needs no clearing; Histogram reads counts before writing them, so its is cleared.
        const string before = """
            using System;
            using System.IO;

            public static class Program
            {
                static string Copy(byte[] data)
                {
                    var source = new MemoryStream(data);
                    var target = new MemoryStream();
                    var buffer = [|new byte[100 * 1024]|];
                    int read;
                    while ((read = source.Read(buffer, 0, buffer.Length)) > 0)
                        target.Write(buffer, 0, read);
                    return target.Length + ":" + Convert.ToBase64String(target.ToArray()).Equals(Convert.ToBase64String(data));
                }

                static int Histogram(byte[] data)
                {
                    var counts = [|new int[30000]|];
                    foreach (var b in data)
                        counts[b]++;
                    return counts[7] * 1000 + counts[0];
                }

                public static string Run()
                {
                    var big = new byte[300000];
                    new Random(7).NextBytes(big);
                    var small = new byte[] { 7, 7, 0, 1 };
                    return Copy(big) + "," + Copy(small) + "," + Copy(new byte[0]) + "," + Histogram(small) + "," + Histogram(small) + "," + Histogram(big);
                }
            }
            """;
        const string after = """
            using System;
            using System.Buffers;
            using System.IO;

            public static class Program
            {
                static string Copy(byte[] data)
                {
                    var source = new MemoryStream(data);
                    var target = new MemoryStream();
                    byte[] bufferArray = ArrayPool<byte>.Shared.Rent(100 * 1024);
                    try
                    {
                        Span<byte> buffer = bufferArray.AsSpan(0, 100 * 1024);
                        int read;
                        while ((read = source.Read(buffer)) > 0)
                            target.Write(buffer.Slice(0, read));
                        return target.Length + ":" + Convert.ToBase64String(target.ToArray()).Equals(Convert.ToBase64String(data));
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(bufferArray);
                    }
                }

                static int Histogram(byte[] data)
                {
                    int[] countsArray = ArrayPool<int>.Shared.Rent(30000);
                    try
                    {
                        Span<int> counts = countsArray.AsSpan(0, 30000);
                        counts.Clear();
                        foreach (var b in data)
                            counts[b]++;
                        return counts[7] * 1000 + counts[0];
                    }
                    finally
                    {
                        ArrayPool<int>.Shared.Return(countsArray);
                    }
                }

                public static string Run()
                {
                    var big = new byte[300000];
                    new Random(7).NextBytes(big);
                    var small = new byte[] { 7, 7, 0, 1 };
                    return Copy(big) + "," + Copy(small) + "," + Copy(new byte[0]) + "," + Histogram(small) + "," + Histogram(small) + "," + Histogram(big);
                }
            }
            """;
        await VerifyCS.CodeFixAsync(before, after);
        var expected = Behaviour.Run(before);
        Assert.StartsWith("300000:True,4:True,0:True,2001,2001,", expected);
        Assert.Equal(expected, Behaviour.Run(after));
        // Without the Clear, the second Histogram would count on top of the first.
        Assert.NotEqual(expected, Behaviour.Run(after.Replace("counts.Clear();", "")));
    }

    [Fact]
    public Task Sample_FixTurnsBeforeIntoAfter()
    {
        // The After sample is exactly what the fix makes of the Before sample (namespace and comment aside).
        var folder = Path.Combine(RepositoryFiles.Root, "samples", "MemSafety.Samples", "HeapEscapes");
        var before = File.ReadAllText(Path.Combine(folder, "MSA1003.LargeTemporaryArray.Before.cs"))
            .Replace("new byte[128 * 1024]", "[|new byte[128 * 1024]|]");
        var after = File.ReadAllText(Path.Combine(folder, "MSA1003.LargeTemporaryArray.After.cs"))
            .Replace(".After.", ".Before.")
            .Replace("    // The fix: one pooled array, returned when done.", "    // MSA1003: 128 KiB lands on the Large Object Heap on every call.");
        return VerifyCS.CodeFixAsync(before, after);
    }

    [Fact]
    public Task CommentsAndADeclarationOverTwoLines_Kept() => VerifyCS.CodeFixAsync(
        """
        class C
        {
            int M()
            {
                // the counts
                var counts = /* one per value */
                    [|new int[50000]|]; // cleared by the fix
                counts[1]++; // count one

                return counts[1] + counts.Length; // done
            }
        }
        """,
        """
        using System;
        using System.Buffers;

        class C
        {
            int M()
            {
                // the counts
                int[] countsArray = ArrayPool<int>.Shared.Rent(50000);
                try
                {
                    Span<int> counts = countsArray.AsSpan(0, 50000); /* one per value */ // cleared by the fix
                    counts.Clear();
                    counts[1]++; // count one

                    return counts[1] + counts.Length; // done
                }
                finally
                {
                    ArrayPool<int>.Shared.Return(countsArray);
                }
            }
        }
        """);

    [Fact]
    public Task TextReaderIntoStringBuilder_NotCleared() => VerifyCS.CodeFixAsync(
        """
        using System.IO;
        using System.Text;

        static class Reader
        {
            public static string ReadAll(TextReader reader)
            {
                var chars = [|new char[50000]|];
                var text = new StringBuilder();
                int n;
                while ((n = reader.Read(chars, 0, chars.Length)) > 0)
                    text.Append(chars, 0, n);
                return text.ToString();
            }
        }
        """,
        """
        using System;
        using System.Buffers;
        using System.IO;
        using System.Text;

        static class Reader
        {
            public static string ReadAll(TextReader reader)
            {
                char[] charsArray = ArrayPool<char>.Shared.Rent(50000);
                try
                {
                    Span<char> chars = charsArray.AsSpan(0, 50000);
                    var text = new StringBuilder();
                    int n;
                    while ((n = reader.Read(chars)) > 0)
                        text.Append(chars.Slice(0, n));
                    return text.ToString();
                }
                finally
                {
                    ArrayPool<char>.Shared.Return(charsArray);
                }
            }
        }
        """);

    [Theory]
    [InlineData("source.Read(buffer, 0, buffer.Length); target.Write(buffer, 0, buffer.Length);", "source.Read(buffer); target.Write(buffer);")]
    [InlineData("var n = source.Read(buffer, 0, 100); target.Write(buffer, 0, n + 1);", "var n = source.Read(buffer.Slice(0, 100)); target.Write(buffer.Slice(0, n + 1));")]
    [InlineData("var n = 10; source.Read(buffer, 0, buffer.Length); target.Write(buffer, 0, n);", "var n = 10; source.Read(buffer); target.Write(buffer.Slice(0, n));")]
    [InlineData("var n = source.Read(buffer, 0, buffer.Length); n++; target.Write(buffer, 0, n);", "var n = source.Read(buffer); n++; target.Write(buffer.Slice(0, n));")]
    [InlineData("var n = source.Read(buffer, 1, 100); target.Write(buffer, 0, n);", "var n = source.Read(buffer.Slice(1, 100)); target.Write(buffer.Slice(0, n));")]
    [InlineData("buffer[1] = 2; target.WriteByte(buffer[0]);", "buffer[1] = 2; target.WriteByte(buffer[0]);")]
    // A count declared by `out var`, a pattern or foreach gets its value there, not from a reader.
    [InlineData("int.TryParse(\"5\", out var n); source.Read(buffer, 0, buffer.Length); target.Write(buffer, 0, n);", "int.TryParse(\"5\", out var n); source.Read(buffer); target.Write(buffer.Slice(0, n));")]
    [InlineData("if (source.ReadByte() is int n) { source.Read(buffer, 0, buffer.Length); target.Write(buffer, 0, n); }", "if (source.ReadByte() is int n) { source.Read(buffer); target.Write(buffer.Slice(0, n)); }")]
    [InlineData("foreach (var n in new[] { 5 }) { source.Read(buffer, 0, buffer.Length); target.Write(buffer, 0, n); }", "foreach (var n in new[] { 5 }) { source.Read(buffer); target.Write(buffer.Slice(0, n)); }")]
    public Task ElementThatMayBeUnwrittenIsRead_Cleared(string uses, string rewritten) => VerifyCS.CodeFixAsync(
        "using System.IO;\nclass C\n{\n    void M(Stream source, Stream target)\n    {\n        var buffer = [|new byte[100000]|];\n        " + uses + "\n    }\n}\n",
        "using System;\nusing System.Buffers;\nusing System.IO;\nclass C\n{\n    void M(Stream source, Stream target)\n    {\n        byte[] bufferArray = ArrayPool<byte>.Shared.Rent(100000);\n        try\n        {\n            Span<byte> buffer = bufferArray.AsSpan(0, 100000);\n            buffer.Clear();\n            "
        + rewritten + "\n        }\n        finally\n        {\n            ArrayPool<byte>.Shared.Return(bufferArray);\n        }\n    }\n}\n");

    [Fact]
    public Task OnlyWrittenOrReadUpToWhatWasRead_NotCleared() => VerifyCS.CodeFixAsync(
        """
        using System.IO;
        using System.Text;

        class C
        {
            string M(Stream source, Encoding encoding)
            {
                var buffer = [|new byte[100000]|];
                buffer[0] = 1;
                var n = source.Read(buffer, 0, buffer.Length);
                source.Read(buffer, 0, n);
                return encoding.GetString(buffer, 0, n);
            }
        }
        """,
        """
        using System;
        using System.Buffers;
        using System.IO;
        using System.Text;

        class C
        {
            string M(Stream source, Encoding encoding)
            {
                byte[] bufferArray = ArrayPool<byte>.Shared.Rent(100000);
                try
                {
                    Span<byte> buffer = bufferArray.AsSpan(0, 100000);
                    buffer[0] = 1;
                    var n = source.Read(buffer);
                    source.Read(buffer.Slice(0, n));
                    return encoding.GetString(buffer.Slice(0, n));
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(bufferArray);
                }
            }
        }
        """);

    [Fact]
    public Task FixAll_TwoMethods_NoElementRead_NotCleared()
    {
        var test = VerifyCS.Test(
            "using System;\nusing System.Buffers;\nclass C\n{\n    int A()\n    {\n        var a = [|new long[20000]|];\n        return a.Length;\n    }\n\n    int B()\n    {\n        var b = [|new long[30000]|];\n        return b.Length;\n    }\n}\n",
            "using System;\nusing System.Buffers;\nclass C\n{\n    int A()\n    {\n        long[] aArray = ArrayPool<long>.Shared.Rent(20000);\n        try\n        {\n            Span<long> a = aArray.AsSpan(0, 20000);\n            return a.Length;\n        }\n        finally\n        {\n            ArrayPool<long>.Shared.Return(aArray);\n        }\n    }\n\n    int B()\n    {\n        long[] bArray = ArrayPool<long>.Shared.Rent(30000);\n        try\n        {\n            Span<long> b = bArray.AsSpan(0, 30000);\n            return b.Length;\n        }\n        finally\n        {\n            ArrayPool<long>.Shared.Return(bArray);\n        }\n    }\n}\n");
        return test.RunAsync();
    }

    [Fact]
    public async Task NetStandard20WithSystemMemory_CSharp73_Fixed()
    {
        const string before = """
            using System;

            public static class Program
            {
                static int Peak(byte[] data)
                {
                    var counts = [|new int[65536]|];
                    foreach (var b in data)
                        counts[b * 256 + b]++;
                    var peak = 0;
                    for (var i = 0; i < counts.Length; i++)
                        if (counts[i] > counts[peak]) peak = i;
                    Array.Reverse(counts);
                    return peak * 1000 + counts[0];
                }

                public static string Run() => Peak(new byte[] { 1, 2, 2, 3 }) + "," + Peak(new byte[] { 255, 255 });
            }
            """;
        const string after = """
            using System;
            using System.Buffers;

            public static class Program
            {
                static int Peak(byte[] data)
                {
                    int[] countsArray = ArrayPool<int>.Shared.Rent(65536);
                    try
                    {
                        Span<int> counts = countsArray.AsSpan(0, 65536);
                        counts.Clear();
                        foreach (var b in data)
                            counts[b * 256 + b]++;
                        var peak = 0;
                        for (var i = 0; i < counts.Length; i++)
                            if (counts[i] > counts[peak]) peak = i;
                        counts.Reverse();
                        return peak * 1000 + counts[0];
                    }
                    finally
                    {
                        ArrayPool<int>.Shared.Return(countsArray);
                    }
                }

                public static string Run() => Peak(new byte[] { 1, 2, 2, 3 }) + "," + Peak(new byte[] { 255, 255 });
            }
            """;
        await VerifyCS.Test(before, after).OnNetStandard20WithSystemMemory().RunAsync();
        var expected = Behaviour.Run(before, references: ReferenceSet.NetStandard20WithSystemMemory, languageVersion: LanguageVersion.CSharp7_3);
        Assert.Equal("514000,65535002", expected);
        Assert.Equal(expected, Behaviour.Run(after, references: ReferenceSet.NetStandard20WithSystemMemory, languageVersion: LanguageVersion.CSharp7_3));
    }

    [Fact]
    public Task NetStandard20WithSystemMemory_StreamReadHasNoSpanOverload_ReportedWithoutFix()
    {
        // Stream.Read(Span<byte>) is .NET Core 2.1+; System.Memory does not add it.
        var test = Verify<LargeTemporaryArrayAnalyzer, MemSafety.CodeFixes.HeapEscapes.LargeTemporaryArrayFix>.Test(
            """
            using System.IO;

            class C
            {
                int M(Stream source)
                {
                    var buffer = [|new byte[100000]|];
                    return source.Read(buffer, 0, buffer.Length);
                }
            }
            """, string.Empty);
        test.FixedSources.Clear();
        test.ExpectNoFix = true;
        return test.OnNetStandard20WithSystemMemory().RunAsync();
    }

    [Fact]
    public Task NetStandard20WithoutSystemMemory_ReportedWithoutFix()
    {
        // No ArrayPool and no Span there: the allocation is still worth knowing about, but there is nothing to rewrite it into.
        var test = Verify<LargeTemporaryArrayAnalyzer, MemSafety.CodeFixes.HeapEscapes.LargeTemporaryArrayFix>.Test(
            "class C { int M() { var big = [|new int[50000]|]; big[0] = 1; return big[0] + big.Length; } }", string.Empty);
        test.FixedSources.Clear();
        test.ExpectNoFix = true;
        test.ReferenceSet = ReferenceSet.NetStandard20;
        test.LanguageVersion = LanguageVersion.CSharp7_3;
        test.NullableContextOptions = Microsoft.CodeAnalysis.NullableContextOptions.Disable;
        return test.RunAsync();
    }

    // ------------------------------------------------------------------ not reported

    [Fact]
    public Task JustBelowTheThreshold_NoDiagnostic() => NoDiagnostic("class C { int M() { var a = new byte[84975]; return a.Length; } }");

    [Fact]
    public Task Returned_NoDiagnostic() => NoDiagnostic("class C { byte[] M() { var a = new byte[100000]; return a; } }");

    [Fact]
    public Task StoredForReuse_NoDiagnostic() => NoDiagnostic("class C { byte[]? _buffer; void M() { var a = new byte[100000]; _buffer = a; } }");

    [Fact]
    public Task PassedToMethodThatKeepsIt_NoDiagnostic() => NoDiagnostic(
        "class C { static System.Collections.Generic.List<byte[]> All = new(); static void Keep(byte[] b) => All.Add(b); void M() { var a = new byte[100000]; Keep(a); } }");

    [Fact]
    public Task NonConstantSize_NoDiagnostic() => NoDiagnostic("class C { int M(int n) { var a = new byte[n]; return a.Length; } }");

    [Fact]
    public Task StaticReadonlyFieldInitializer_NoDiagnostic() => NoDiagnostic("class C { static readonly byte[] Table = new byte[100000]; }");

    [Fact]
    public Task UserStructElements_NoDiagnostic() => NoDiagnostic("struct P { public long A, B; } class C { int M() { var a = new P[10000]; return a.Length; } }");

    [Fact]
    public Task GeneratedCode_NoDiagnostic() => NoDiagnostic("// <auto-generated/>\nclass C { int M() { var a = new byte[100000]; return a.Length; } }");

    [Fact]
    public Task IncompleteCode_NoDiagnosticAndNoCrash()
    {
        var test = Verify<LargeTemporaryArrayAnalyzer>.Test("class C { int M() { var a = new byte[100000; return a. } }");
        test.AllowCompilerErrors = true;
        return test.RunAsync();
    }
}
