using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.UnsafePointers;
using MemSafety.Analyzers.Tests.Verification;
using Microsoft.CodeAnalysis;
using VerifyCS = MemSafety.Analyzers.Tests.Verification.Verify<MemSafety.Analyzers.Rules.UnsafePointers.StackAddressEscapeAnalyzer>;

namespace MemSafety.Analyzers.Tests.UnsafePointers;

public sealed class StackAddressEscapeTests
{
    // ------------------------------------------------------------------ reported

    [Fact]
    public Task StackallocPointerReturned() => VerifyCS.AnalyzerAsync("""
        unsafe class C
        {
            static int* Make(int n)
            {
                int* p = stackalloc int[n];
                for (int i = 0; i < n; i++) p[i] = i;
                return [|p|];
            }
        }
        """);

    [Fact]
    public Task MessageSaysWhatAndWhy()
    {
        var test = Verify<StackAddressEscapeAnalyzer>.Test("""
            unsafe class C
            {
                static int* Make()
                {
                    int* p = stackalloc int[4];
                    return {|#0:p + 1|};
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA5002", 0).WithMessage(
            "The pointer to the stackalloc buffer (line 5) is returned: that memory is this call's stack frame, which the next call reuses once this one returns, so the pointer then reads and writes another call's data"));
        return test.RunAsync();
    }

    [Fact]
    public Task AddressOfLocalStoredIntoField() => VerifyCS.AnalyzerAsync("""
        unsafe class C
        {
            private int* _last;

            void Remember()
            {
                int value = 42;
                [|_last = &value|];
            }
        }
        """);

    [Fact]
    public Task AddressOfParameterReturnedAsIntPtr() => VerifyCS.AnalyzerAsync("""
        using System;
        unsafe class C
        {
            static IntPtr Address(int value) => [|(IntPtr)(&value)|];
        }
        """);

    [Fact]
    public Task StackallocStoredIntoOutParameter() => VerifyCS.AnalyzerAsync("""
        unsafe class C
        {
            static void Scratch(out byte* buffer)
            {
                byte* p = stackalloc byte[64];
                [|buffer = p|];
            }
        }
        """);

    [Fact]
    public Task StackallocStoredIntoStatic() => VerifyCS.AnalyzerAsync("""
        unsafe class C
        {
            private static long* s_scratch;

            static void Init()
            {
                long* p = stackalloc long[8];
                p[0] = 1;
                [|s_scratch = p|];
                Use();
            }

            static void Use() { }
        }
        """);

    [Fact]
    public Task CapturedByReturnedDelegate() => VerifyCS.AnalyzerAsync("""
        using System;
        unsafe class C
        {
            static Func<int> Reader()
            {
                int* p = stackalloc int[1];
                p[0] = 7;
                return [|() => *p|];
            }
        }
        """);

    [Fact]
    public Task SpanOverStackallocPointerReturned() => VerifyCS.AnalyzerAsync("""
        using System;
        unsafe class C
        {
            static Span<byte> Buffer()
            {
                byte* p = stackalloc byte[16];
                return [|new Span<byte>(p, 16)|];
            }
        }
        """);

    [Fact]
    public Task ReturnedOnOnePathOnly() => VerifyCS.AnalyzerAsync("""
        using System.Runtime.InteropServices;
        unsafe class C
        {
            static byte* Buffer(int n)
            {
                byte* p;
                if (n <= 128)
                {
                    byte* small = stackalloc byte[128];
                    p = small;
                }
                else
                {
                    p = (byte*)NativeMemory.Alloc((nuint)n);
                }

                return [|p|];
            }
        }
        """);

    [Fact]
    public Task InLambda_StackallocReturnedFromLambda() => VerifyCS.AnalyzerAsync("""
        unsafe class C
        {
            delegate int* Maker();

            static Maker M() => () =>
            {
                int* p = stackalloc int[2];
                return [|p|];
            };
        }
        """);

    // ------------------------------------------------------------------ not reported

    [Fact]
    public Task StackallocUsedLocally_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        unsafe class C
        {
            static int Sum(int n)
            {
                int* p = stackalloc int[n];
                int sum = 0;
                for (int i = 0; i < n; i++) { p[i] = i; sum += p[i]; }
                return sum;
            }
        }
        """);

    [Fact]
    public Task SpanStackalloc_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System;
        class C
        {
            static int First()
            {
                Span<int> s = stackalloc int[4];
                s[0] = 3;
                return s[0];
            }
        }
        """);

    [Fact]
    public Task PassedToCall_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        unsafe class C
        {
            static void Fill(int* p, int n) { for (int i = 0; i < n; i++) p[i] = i; }

            static int M()
            {
                int x = 0;
                Fill(&x, 1);
                int* p = stackalloc int[3];
                Fill(p, 3);
                return x + p[2];
            }
        }
        """);

    [Fact]
    public Task NativeMemoryReturned_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System.Runtime.InteropServices;
        unsafe class C
        {
            static byte* Allocate(int n) => (byte*)NativeMemory.Alloc((nuint)n);
            static byte* Copy(byte* source) { byte* p = source; return p; }
        }
        """);

    [Fact]
    public Task FieldClearedBeforeReturn_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        unsafe class C
        {
            private int* _current;

            void Run()
            {
                int* p = stackalloc int[4];
                _current = p;
                Work();
                _current = null;
            }

            void Work() { if (_current != null) _current[0] = 1; }
        }
        """);

    [Fact]
    public Task StoredIntoStructLocal_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        unsafe struct Args { public int* Data; public int Length; }
        unsafe class C
        {
            static int Call(Args* a) => a->Length;

            static int M()
            {
                int* p = stackalloc int[2];
                var args = new Args();
                args.Data = p;
                args.Length = 2;
                return Call(&args);
            }
        }
        """);

    [Fact]
    public Task ReassignedBeforeReturn_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        unsafe class C
        {
            static int* M(int* fallback)
            {
                int* p = stackalloc int[2];
                p[0] = 1;
                p = fallback;
                return p;
            }
        }
        """);

    [Fact]
    public Task DelegateInvokedLocally_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System;
        unsafe class C
        {
            static int M()
            {
                int* p = stackalloc int[1];
                p[0] = 5;
                Func<int> read = () => *p;
                return read();
            }
        }
        """);

    [Fact]
    public Task UnknownPointerReturned_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        unsafe class C
        {
            private int* _p;
            int* Get(int* p, bool b) => b ? p : _p;
        }
        """);

    // ------------------------------------------------------------------ compiler diagnostics are not repeated

    [Fact]
    public Task SpanStackallocReturned_CompilerReportsCS8352_NoDiagnostic()
    {
        const string source = """
            using System;
            class C
            {
                static Span<int> M()
                {
                    Span<int> s = stackalloc int[4];
                    return s;
                }
            }
            """;
        CompilerDiagnostics.AssertCompilerReports(source, "CS8352");
        var test = VerifyCS.Test(source);
        test.AllowCompilerErrors = true;
        return test.RunAsync();
    }

    [Fact]
    public Task AddressOfCapturedLocal_CompilerReportsCS1686_NoDiagnostic()
    {
        const string source = """
            using System;
            unsafe class C
            {
                private int* _p;
                void M()
                {
                    int x = 1;
                    Func<int> f = () => x;
                    _p = &x;
                }
            }
            """;
        CompilerDiagnostics.AssertCompilerReports(source, "CS1686");
        var test = VerifyCS.Test(source);
        test.AllowCompilerErrors = true;
        return test.RunAsync();
    }

    [Fact]
    public Task AddressOfManagedTypeLocal_CompilerWarnsCS8500_NoDiagnostic()
    {
        const string source = """
            unsafe class C
            {
                private static object* s_p;
                static void M()
                {
                    object o = new object();
                    s_p = &o;
                }
            }
            """;
        CompilerDiagnostics.AssertCompilerReports(source, "CS8500");
        return VerifyCS.AnalyzerAsync(source);
    }

    [Fact]
    public Task IncompleteCode_NoCrash_NoDiagnostic()
    {
        var test = VerifyCS.Test("""
            unsafe class C
            {
                static int* M(int n)
                {
                    int* p = stackalloc int[;
                    return p
                }
            }
            """);
        test.AllowCompilerErrors = true;
        return test.RunAsync();
    }

    // ------------------------------------------------------------------ behaviour

    // The buffer returned by Make lives in Make's frame; Clobber's frame takes the same stack memory once Make has
    // returned, so the caller reads Clobber's data (.NET 10, test host): a use after return.
    private const string UseAfterReturn = """
        using System.Runtime.CompilerServices;
        unsafe class Program
        {
            [MethodImpl(MethodImplOptions.NoInlining)]
            static int* Make()
            {
                int* p = stackalloc int[16];
                for (int i = 0; i < 16; i++) p[i] = 42;
                return [|p|];
            }

            [MethodImpl(MethodImplOptions.NoInlining)]
            static int Clobber()
            {
                int* q = stackalloc int[16];
                for (int i = 0; i < 16; i++) q[i] = 7;
                return q[15];
            }

            static string Run()
            {
                int* p = Make();
                Clobber();
                return p[0] + "," + p[8];
            }
        }
        """;

    [Fact]
    public Task UseAfterReturn_Reported() => VerifyCS.AnalyzerAsync(UseAfterReturn);

    [Fact]
    public void UseAfterReturn_ReadsAnotherCallsData() => Assert.NotEqual("42,42", Behaviour.Run(UseAfterReturn));
}
