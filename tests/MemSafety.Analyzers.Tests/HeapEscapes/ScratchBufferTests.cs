using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.HeapEscapes;
using MemSafety.Analyzers.Tests.Verification;
using Microsoft.CodeAnalysis.CSharp;

namespace MemSafety.Analyzers.Tests.HeapEscapes;

public sealed class ScratchBufferTests
{
    private static AnalyzerTest Test(string source, string? fixedSource = null)
    {
        var test = new AnalyzerTest(new ScratchBufferAnalyzer());
        test.Sources.Add(source);
        if (fixedSource is not null)
        {
            test.CodeFix = new MemSafety.CodeFixes.HeapEscapes.ScratchBufferFix();
            test.FixedSources.Add(fixedSource);
        }

        // Census-style: hot paths by default; these tests look at the rule itself.
        test.AnalyzerOptions["memsafety.scope"] = "everywhere";
        return test;
    }

    private static Task NoDiagnostic(string source) => Test(source).RunAsync();

    [Fact]
    public Task VariableSizeBuffer_StackOrPool() => Test(
        """
        using System;
        using System.Buffers;

        static class Hex
        {
            public static string Encode(byte[] data)
            {
                var chars = [|new char[data.Length * 2]|];
                for (var i = 0; i < data.Length; i++)
                {
                    chars[2 * i] = "0123456789abcdef"[data[i] >> 4];
                    chars[2 * i + 1] = "0123456789abcdef"[data[i] & 15];
                }
                return new string(chars);
            }
        }
        """,
        """
        using System;
        using System.Buffers;

        static class Hex
        {
            public static string Encode(byte[] data)
            {
                char[]? charsArray = null;
                try
                {
                    Span<char> chars = data.Length * 2 <= 512 ? stackalloc char[512] : (charsArray = ArrayPool<char>.Shared.Rent(data.Length * 2));
                    chars = chars.Slice(0, data.Length * 2);
                    chars.Clear();
                    for (var i = 0; i < data.Length; i++)
                    {
                        chars[2 * i] = "0123456789abcdef"[data[i] >> 4];
                        chars[2 * i + 1] = "0123456789abcdef"[data[i] & 15];
                    }
                    return new string(chars);
                }
                finally
                {
                    if (charsArray != null)
                        ArrayPool<char>.Shared.Return(charsArray);
                }
            }
        }
        """).RunAsync();

    [Fact]
    public Task SizeWithSideEffects_EvaluatedOnce() => Test(
        """
        using System;
        using System.Buffers;
        using System.IO;

        static class Reader
        {
            static int NextLength(Stream s) => s.ReadByte();

            public static int Sum(Stream s)
            {
                var block = [|new byte[NextLength(s)]|];
                var read = s.Read(block, 0, block.Length);
                var sum = 0;
                foreach (var b in block) sum += b;
                return sum + read;
            }
        }
        """,
        """
        using System;
        using System.Buffers;
        using System.IO;

        static class Reader
        {
            static int NextLength(Stream s) => s.ReadByte();

            public static int Sum(Stream s)
            {
                var blockLength = NextLength(s);
                byte[]? blockArray = null;
                try
                {
                    Span<byte> block = blockLength <= 1024 ? stackalloc byte[1024] : (blockArray = ArrayPool<byte>.Shared.Rent(blockLength));
                    block = block.Slice(0, blockLength);
                    block.Clear();
                    var read = s.Read(block);
                    var sum = 0;
                    foreach (var b in block) sum += b;
                    return sum + read;
                }
                finally
                {
                    if (blockArray != null)
                        ArrayPool<byte>.Shared.Return(blockArray);
                }
            }
        }
        """).RunAsync();

    [Fact]
    public Task NullableDisabled_NoAnnotationAndUsingsAdded()
    {
        var test = Test(
            """
            static class Sums
            {
                public static int Total(int n)
                {
                    var squares = [|new int[n]|];
                    for (var i = 0; i < n; i++) squares[i] = i * i;
                    var total = 0;
                    foreach (var s in squares) total += s;
                    return total;
                }
            }
            """,
            """
            using System;
            using System.Buffers;

            static class Sums
            {
                public static int Total(int n)
                {
                    int[] squaresArray = null;
                    try
                    {
                        Span<int> squares = n <= 256 ? stackalloc int[256] : (squaresArray = ArrayPool<int>.Shared.Rent(n));
                        squares = squares.Slice(0, n);
                        squares.Clear();
                        for (var i = 0; i < n; i++) squares[i] = i * i;
                        var total = 0;
                        foreach (var s in squares) total += s;
                        return total;
                    }
                    finally
                    {
                        if (squaresArray != null)
                            ArrayPool<int>.Shared.Return(squaresArray);
                    }
                }
            }
            """);
        test.NullableContextOptions = Microsoft.CodeAnalysis.NullableContextOptions.Disable;
        return test.RunAsync();
    }

    [Fact]
    public Task Message_NamesSizeExpression()
    {
        var test = Test("class C { int M(int count) { var ids = {|#0:new long[count]|}; return ids.Length; } }");
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA1002", 0).WithMessage(
            "Array 'ids' of 'count' × long is scratch space that never escapes 'M'; stackalloc it when small and rent it from ArrayPool<long>.Shared otherwise"));
        return test.RunAsync();
    }

    [Fact]
    public Task HotPathAttribute_ReportedUnderDefaultScope()
    {
        var test = new AnalyzerTest(new ScratchBufferAnalyzer());
        test.Sources.Add("class HotPathAttribute : System.Attribute { } class C { [HotPath] int M(int n) { var a = [|new int[n]|]; return a.Length; } }");
        return test.RunAsync();
    }

    [Fact]
    public void Fix_KeepsBehaviourForSmallAndLargeSizes()
    {
        const string before = """
            public static class Program
            {
                static string Encode(byte[] data)
                {
                    var chars = new char[data.Length * 2];
                    for (var i = 0; i < data.Length; i++) { chars[2 * i] = "0123456789abcdef"[data[i] >> 4]; chars[2 * i + 1] = "0123456789abcdef"[data[i] & 15]; }
                    return new string(chars);
                }
                public static string Run() { var big = new byte[5000]; for (var i = 0; i < big.Length; i++) big[i] = (byte)i; return Encode(new byte[] { 1, 171 }) + ":" + Encode(big).GetHashCode(); }
            }
            """;
        const string after = """
            using System;
            using System.Buffers;
            public static class Program
            {
                static string Encode(byte[] data)
                {
                    char[]? charsArray = null;
                    try
                    {
                        Span<char> chars = data.Length * 2 <= 512 ? stackalloc char[512] : (charsArray = ArrayPool<char>.Shared.Rent(data.Length * 2));
                        chars = chars.Slice(0, data.Length * 2);
                        chars.Clear();
                        for (var i = 0; i < data.Length; i++) { chars[2 * i] = "0123456789abcdef"[data[i] >> 4]; chars[2 * i + 1] = "0123456789abcdef"[data[i] & 15]; }
                        return new string(chars);
                    }
                    finally
                    {
                        if (charsArray != null)
                            ArrayPool<char>.Shared.Return(charsArray);
                    }
                }
                public static string Run() { var big = new byte[5000]; for (var i = 0; i < big.Length; i++) big[i] = (byte)i; return Encode(new byte[] { 1, 171 }) + ":" + Encode(big).GetHashCode(); }
            }
            """;
        Assert.StartsWith("01ab:", Behaviour.Run(before, "Program", "Run"));
        Assert.Equal(Behaviour.Run(before, "Program", "Run"), Behaviour.Run(after, "Program", "Run"));
    }

    // ------------------------------------------------------------------ not reported

    [Fact]
    public Task ColdCodeUnderDefaultScope_NoDiagnostic()
    {
        var test = new AnalyzerTest(new ScratchBufferAnalyzer());
        test.Sources.Add("class C { int M(int n) { var a = new int[n]; return a.Length; } }");
        return test.RunAsync();
    }

    [Fact]
    public Task ConstantSize_NoDiagnostic() => NoDiagnostic("class C { int M() { var a = new int[4]; return a.Length; } }");

    [Fact]
    public Task Escapes_NoDiagnostic() => NoDiagnostic("class C { int[] M(int n) { var a = new int[n]; return a; } }");

    [Fact]
    public Task InLoop_NoDiagnostic() => NoDiagnostic("class C { int M(int n) { var t = 0; for (var i = 0; i < n; i++) { var a = new int[i]; t += a.Length; } return t; } }");

    [Fact]
    public Task AsyncOrIterator_NoDiagnostic() => NoDiagnostic(
        """
        using System.Collections.Generic;
        using System.Threading.Tasks;
        class C
        {
            async Task<int> A(int n) { var a = new int[n]; await Task.Yield(); return a.Length; }
            IEnumerable<int> B(int n) { var b = new int[n]; yield return b.Length; }
        }
        """);

    [Fact]
    public Task ArrayOnlyUse_NoDiagnostic() => NoDiagnostic("class C { int M(int n) { var a = new int[n]; return System.Linq.Enumerable.Sum(a); } }");

    [Fact]
    public Task ReferenceElements_NoDiagnostic() => NoDiagnostic("class C { int M(int n) { var a = new string[n]; a[0] = \"x\"; return a.Length; } }");

    [Fact]
    public Task CSharp73_NoDiagnostic()
    {
        var test = Test("class C { int M(int n) { var a = new int[n]; return a.Length; } }");
        test.LanguageVersion = LanguageVersion.CSharp7_3;
        test.NullableContextOptions = Microsoft.CodeAnalysis.NullableContextOptions.Disable;
        return test.RunAsync();
    }

    [Fact]
    public Task OnlyWhatWasReadIsUsed_NotCleared() => Test(
        """
        using System.IO;
        using System.Text;

        static class Decoder
        {
            public static string ReadText(Stream source, int length)
            {
                var buffer = [|new byte[length]|];
                var read = source.Read(buffer, 0, buffer.Length);
                return Encoding.UTF8.GetString(buffer, 0, read);
            }
        }
        """,
        """
        using System;
        using System.Buffers;
        using System.IO;
        using System.Text;

        static class Decoder
        {
            public static string ReadText(Stream source, int length)
            {
                byte[]? bufferArray = null;
                try
                {
                    Span<byte> buffer = length <= 1024 ? stackalloc byte[1024] : (bufferArray = ArrayPool<byte>.Shared.Rent(length));
                    buffer = buffer.Slice(0, length);
                    var read = source.Read(buffer);
                    return Encoding.UTF8.GetString(buffer.Slice(0, read));
                }
                finally
                {
                    if (bufferArray != null)
                        ArrayPool<byte>.Shared.Return(bufferArray);
                }
            }
        }
        """).RunAsync();

    [Fact]
    public Task NetStandard20WithSystemMemory_CSharp73_NoDiagnostic()
    {
        // The fix needs stackalloc inside a conditional expression (C# 8); at C# 7.3, the default of a
        // netstandard2.0 project, nothing is reported, so no fix that cannot compile is offered.
        var test = Test("using System; class C { int M(int n) { var a = new int[n]; Array.Reverse(a); a[0] = 1; return a[0] + a.Length; } }");
        return test.OnNetStandard20WithSystemMemory().RunAsync();
    }

    [Fact]
    public async Task NetStandard20WithSystemMemory_CSharp8_Fixed()
    {
        const string before = """
            using System;

            public static class Program
            {
                static int Sum(ReadOnlySpan<int> values)
                {
                    var sum = 0;
                    foreach (var v in values)
                        sum += v;
                    return sum;
                }

                static int Triangle(int n)
                {
                    var a = [|new int[n]|];
                    for (var i = 1; i < a.Length; i++)
                        a[i] = a[i - 1] + i;
                    Array.Reverse(a);
                    return Sum(a.AsSpan(0, 2)) * 1000 + a[0];
                }

                public static string Run() => Triangle(4) + "," + Triangle(1000);
            }
            """;
        const string after = """
            using System;
            using System.Buffers;

            public static class Program
            {
                static int Sum(ReadOnlySpan<int> values)
                {
                    var sum = 0;
                    foreach (var v in values)
                        sum += v;
                    return sum;
                }

                static int Triangle(int n)
                {
                    int[] aArray = null;
                    try
                    {
                        Span<int> a = n <= 256 ? stackalloc int[256] : (aArray = ArrayPool<int>.Shared.Rent(n));
                        a = a.Slice(0, n);
                        a.Clear();
                        for (var i = 1; i < a.Length; i++)
                            a[i] = a[i - 1] + i;
                        a.Reverse();
                        return Sum(a.Slice(0, 2)) * 1000 + a[0];
                    }
                    finally
                    {
                        if (aArray != null)
                            ArrayPool<int>.Shared.Return(aArray);
                    }
                }

                public static string Run() => Triangle(4) + "," + Triangle(1000);
            }
            """;
        var test = Test(before, after).OnNetStandard20WithSystemMemory();
        test.LanguageVersion = LanguageVersion.CSharp8;
        await test.RunAsync();
        var expected = Behaviour.Run(before, references: ReferenceSet.NetStandard20WithSystemMemory, languageVersion: LanguageVersion.CSharp8);
        Assert.Equal("9006,998500500", expected);
        Assert.Equal(expected, Behaviour.Run(after, references: ReferenceSet.NetStandard20WithSystemMemory, languageVersion: LanguageVersion.CSharp8));
    }

    [Fact]
    public Task GeneratedCode_NoDiagnostic() => NoDiagnostic("// <auto-generated/>\nclass C { int M(int n) { var a = new int[n]; return a.Length; } }");

    [Fact]
    public Task IncompleteCode_NoDiagnosticAndNoCrash()
    {
        var test = Test("class C { int M(int n) { var a = new int[n; return a. } }");
        test.AllowCompilerErrors = true;
        return test.RunAsync();
    }
}
