using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.UnsafePointers;
using MemSafety.Analyzers.Tests.Verification;
using VerifyCS = MemSafety.Analyzers.Tests.Verification.Verify<MemSafety.Analyzers.Rules.UnsafePointers.StackViewEscapeAnalyzer>;

namespace MemSafety.Analyzers.Tests.UnsafePointers;

// Every reported source here compiles without error or warning (the harness checks it): the scoped parameter of
// these APIs is what lets the escape through.
public sealed class StackViewEscapeTests
{
    // ------------------------------------------------------------------ reported

    [Fact]
    public Task CreateSpanOverLocalReturned() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static Span<long> One()
            {
                long value = 42;
                return [|MemoryMarshal.CreateSpan(ref value, 1)|];
            }
        }
        """);

    [Fact]
    public Task MessageSaysWhatAndWhy()
    {
        var test = Verify<StackViewEscapeAnalyzer>.Test("""
            using System;
            using System.Runtime.InteropServices;
            class C
            {
                static ReadOnlySpan<int> View(int count)
                {
                    var span = {|#1:MemoryMarshal.CreateReadOnlySpan(ref count, 1)|};
                    return {|#0:span|};
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA5005", 0).WithAdditionalLocation(1).WithMessage(
            "The span that MemoryMarshal.CreateReadOnlySpan makes over parameter 'count' is returned: the method's ref parameter is scoped, so the compiler does not check where the result goes, and parameter 'count' lives in this call's stack frame, which the next call reuses once this one returns"));
        return test.RunAsync();
    }

    [Fact]
    public Task FieldOfStructLocal_StoredIntoOutParameter() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            struct Pair { public int A, B; }

            static void Second(out Span<int> result)
            {
                Pair pair = new Pair { A = 1, B = 2 };
                [|result = MemoryMarshal.CreateSpan(ref pair.B, 1)|];
            }
        }
        """);

    [Fact]
    public Task AsRefOfLocalReturnedByRef() => VerifyCS.AnalyzerAsync("""
        using System.Runtime.CompilerServices;
        class C
        {
            static ref int Counter()
            {
                int count = 0;
                return ref [|Unsafe.AsRef(in count)|];
            }
        }
        """);

    [Fact]
    public Task ReturnedOnOneBranch() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static Span<byte> Pick(bool small, byte[] large)
            {
                byte b = 0;
                Span<byte> s = small ? MemoryMarshal.CreateSpan(ref b, 1) : large;
                return [|s|];
            }
        }
        """);

    [Fact]
    public Task StoredIntoRefStructField() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        ref struct Reader
        {
            private Span<int> _window;

            void Reset(int seed)
            {
                [|_window = MemoryMarshal.CreateSpan(ref seed, 1)|];
            }
        }
        """);

    // ------------------------------------------------------------------ not reported

    [Fact]
    public Task UsedInsideTheMethod_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.CompilerServices;
        using System.Runtime.InteropServices;
        class C
        {
            static int Sum(int a)
            {
                var span = MemoryMarshal.CreateSpan(ref a, 1);
                span[0] += 1;
                ref int r = ref Unsafe.AsRef(in a);
                r++;
                return span[0] + r;
            }
        }
        """);

    [Fact]
    public Task OverHeapMemoryOrRefParameter_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.CompilerServices;
        using System.Runtime.InteropServices;
        class C
        {
            private int _field;
            static Span<int> OfArray(int[] a) => MemoryMarshal.CreateSpan(ref a[0], a.Length);
            Span<int> OfField() => MemoryMarshal.CreateSpan(ref _field, 1);
            static Span<int> OfRef(ref int r) => MemoryMarshal.CreateSpan(ref r, 1);
            static ref int AsRefOfIn(in int x) => ref Unsafe.AsRef(in x);
        }
        """);

    [Fact]
    public Task AsRefReadByValue_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System.Runtime.CompilerServices;
        class C
        {
            static int Copy()
            {
                int count = 3;
                int copy = Unsafe.AsRef(in count);
                return copy;
            }
        }
        """);

    [Fact]
    public Task LifetimeTrackedForms_CompilerChecks_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System;
        class C
        {
            static int M()
            {
                int x = 1;
                var one = new Span<int>(ref x);
                Span<int> buffer = stackalloc int[4];
                return one[0] + buffer.Length;
            }
        }
        """);

    [Fact]
    public Task NewSpanOverLocalReturned_CompilerReportsCS8347_NoDiagnostic()
    {
        const string source = """
            using System;
            class C
            {
                static Span<int> M()
                {
                    int x = 1;
                    return new Span<int>(ref x);
                }
            }
            """;
        CompilerDiagnostics.AssertCompilerReports(source, "CS8347");
        var test = Verify<StackViewEscapeAnalyzer>.Test(source);
        test.AllowCompilerErrors = true;
        return test.RunAsync();
    }

    [Fact]
    public Task IncompleteCode_NoCrash()
    {
        var test = Verify<StackViewEscapeAnalyzer>.Test("""
            using System;
            using System.Runtime.InteropServices;
            class C
            {
                static Span<int> M()
                {
                    int x;
                    return MemoryMarshal.CreateSpan(ref x, );
                }
            }
            """);
        test.AllowCompilerErrors = true;
        return test.RunAsync();
    }

    // ------------------------------------------------------------------ behaviour

    // Make's frame holds 'value'; Clobber's frame takes the same stack memory once Make has returned, so the span
    // reads Clobber's data (.NET 10): a use after return.
    private const string UseAfterReturn = """
        using System;
        using System.Runtime.CompilerServices;
        using System.Runtime.InteropServices;
        unsafe class Program
        {
            [MethodImpl(MethodImplOptions.NoInlining)]
            static Span<long> Make()
            {
                long value = 42;
                return [|MemoryMarshal.CreateSpan(ref value, 1)|];
            }

            [MethodImpl(MethodImplOptions.NoInlining)]
            static long Clobber()
            {
                long* q = stackalloc long[16];
                for (int i = 0; i < 16; i++) q[i] = 7;
                return q[15];
            }

            static string Run()
            {
                var span = Make();
                Clobber();
                return span[0].ToString();
            }
        }
        """;

    [Fact]
    public Task UseAfterReturn_Reported() => VerifyCS.AnalyzerAsync(UseAfterReturn);

    [Fact]
    public void UseAfterReturn_ReadsAnotherCallsData() => Assert.NotEqual("42", Behaviour.Run(UseAfterReturn));
}
