using System;
using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.UnsafePointers;
using MemSafety.Analyzers.Tests.Verification;
using FixCS = MemSafety.Analyzers.Tests.Verification.Verify<MemSafety.Analyzers.Rules.UnsafePointers.MismatchedNativeFreeAnalyzer, MemSafety.CodeFixes.UnsafePointers.MismatchedNativeFreeFix>;
using VerifyCS = MemSafety.Analyzers.Tests.Verification.Verify<MemSafety.Analyzers.Rules.UnsafePointers.MismatchedNativeFreeAnalyzer>;

namespace MemSafety.Analyzers.Tests.UnsafePointers;

public sealed class MismatchedNativeFreeTests
{
    // ------------------------------------------------------------------ reported

    [Fact]
    public Task FreeHGlobalOnCoTaskMem_FreeCoTaskMem() => FixCS.CodeFixAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static void M()
            {
                IntPtr p = Marshal.AllocCoTaskMem(64);
                Marshal.WriteInt32(p, 1);
                [|Marshal.FreeHGlobal(p)|];
            }
        }
        """, """
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static void M()
            {
                IntPtr p = Marshal.AllocCoTaskMem(64);
                Marshal.WriteInt32(p, 1);
                Marshal.FreeCoTaskMem(p);
            }
        }
        """);

    [Fact]
    public Task FreeCoTaskMemOnHGlobalString_FreeHGlobal() => FixCS.CodeFixAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static void Use(IntPtr s) { }

            static void M(string text)
            {
                var s = Marshal.StringToHGlobalUni(text);
                try
                {
                    Use(s);
                }
                finally
                {
                    [|Marshal.FreeCoTaskMem(s)|];
                }
            }
        }
        """, """
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static void Use(IntPtr s) { }

            static void M(string text)
            {
                var s = Marshal.StringToHGlobalUni(text);
                try
                {
                    Use(s);
                }
                finally
                {
                    Marshal.FreeHGlobal(s);
                }
            }
        }
        """);

    [Fact]
    public Task NativeFreeOnAlignedAlloc_AlignedFree() => FixCS.CodeFixAsync("""
        using System.Runtime.InteropServices;
        unsafe class C
        {
            static void M()
            {
                byte* p = (byte*)NativeMemory.AlignedAlloc(256, 64);
                p[0] = 1;
                [|NativeMemory.Free(p)|];
            }
        }
        """, """
        using System.Runtime.InteropServices;
        unsafe class C
        {
            static void M()
            {
                byte* p = (byte*)NativeMemory.AlignedAlloc(256, 64);
                p[0] = 1;
                NativeMemory.AlignedFree(p);
            }
        }
        """);

    [Fact]
    public Task AlignedFreeOnPlainAlloc_Free() => FixCS.CodeFixAsync("""
        using System.Runtime.InteropServices;
        unsafe class C
        {
            static void M()
            {
                void* p = NativeMemory.AllocZeroed(256);
                [|NativeMemory.AlignedFree(p)|];
            }
        }
        """, """
        using System.Runtime.InteropServices;
        unsafe class C
        {
            static void M()
            {
                void* p = NativeMemory.AllocZeroed(256);
                NativeMemory.Free(p);
            }
        }
        """);

    [Fact]
    public Task FreeHGlobalOnBstr_FreeBSTR() => FixCS.CodeFixAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static int M(string text)
            {
                IntPtr bstr = Marshal.StringToBSTR(text);
                int length = Marshal.ReadInt32(bstr, -4);
                [|Marshal.FreeHGlobal(bstr)|];
                return length;
            }
        }
        """, """
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static int M(string text)
            {
                IntPtr bstr = Marshal.StringToBSTR(text);
                int length = Marshal.ReadInt32(bstr, -4);
                Marshal.FreeBSTR(bstr);
                return length;
            }
        }
        """);

    // IntPtr against void*: the two APIs do not take the same argument, so the right call is left to the author.
    [Fact]
    public Task MarshalFreeOnNativeMemory_NoFix() => FixCS.NoFixAsync("""
        using System;
        using System.Runtime.InteropServices;
        unsafe class C
        {
            static void M()
            {
                byte* p = (byte*)NativeMemory.Alloc(32);
                p[0] = 7;
                [|Marshal.FreeHGlobal((IntPtr)p)|];
            }
        }
        """);

    [Fact]
    public Task ReAllocHGlobalOnCoTaskMem_NoFix() => FixCS.NoFixAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static IntPtr M()
            {
                IntPtr p = Marshal.AllocCoTaskMem(16);
                return [|Marshal.ReAllocHGlobal(p, (IntPtr)32)|];
            }
        }
        """);

    [Fact]
    public Task EveryWriteFromTheSameFamily() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static void M(bool big)
            {
                IntPtr p = IntPtr.Zero;
                if (big)
                    p = Marshal.AllocCoTaskMem(1024);
                else
                    p = Marshal.StringToCoTaskMemUTF8("small");
                [|Marshal.FreeHGlobal(p)|];
            }
        }
        """);

    [Fact]
    public Task MessageNamesTheAllocationAndTheMatchingFree()
    {
        var test = Verify<MismatchedNativeFreeAnalyzer>.Test("""
            using System;
            using System.Runtime.InteropServices;
            class C
            {
                static void M()
                {
                    IntPtr p = {|#1:Marshal.AllocCoTaskMem(64)|};
                    {|#0:Marshal.FreeHGlobal(p)|};
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA5008", 0).WithAdditionalLocation(1).WithMessage(
            "'Marshal.FreeHGlobal' is given memory from 'Marshal.AllocCoTaskMem' (line 7), which only Marshal.FreeCoTaskMem may free: on Windows AllocHGlobal is LocalAlloc, AllocCoTaskMem is CoTaskMemAlloc and NativeMemory.Alloc is the C runtime's malloc, three heaps that do not accept each other's blocks, so this corrupts the heap; on Unix all three are malloc, so the code works there only by accident"));
        return test.RunAsync();
    }

    [Fact]
    public Task FixAll_TwoFrees() => FixCS.CodeFixAsync("""
        using System;
        using System.Runtime.InteropServices;
        unsafe class C
        {
            static void M()
            {
                IntPtr a = Marshal.AllocCoTaskMem(8);
                void* b = NativeMemory.AlignedAlloc(64, 16);
                [|Marshal.FreeHGlobal(a)|];
                [|NativeMemory.Free(b)|];
            }
        }
        """, """
        using System;
        using System.Runtime.InteropServices;
        unsafe class C
        {
            static void M()
            {
                IntPtr a = Marshal.AllocCoTaskMem(8);
                void* b = NativeMemory.AlignedAlloc(64, 16);
                Marshal.FreeCoTaskMem(a);
                NativeMemory.AlignedFree(b);
            }
        }
        """);

    // ------------------------------------------------------------------ not reported

    [Fact]
    public Task MatchingPairs_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        unsafe class C
        {
            static void M(string s)
            {
                IntPtr h = Marshal.AllocHGlobal(8);
                Marshal.FreeHGlobal(h);
                IntPtr t = Marshal.AllocCoTaskMem(8);
                Marshal.FreeCoTaskMem(t);
                IntPtr b = Marshal.StringToBSTR(s);
                Marshal.FreeBSTR(b);
                void* n = NativeMemory.Alloc(8);
                NativeMemory.Free(n);
                void* a = NativeMemory.AlignedAlloc(8, 8);
                NativeMemory.AlignedFree(a);
            }
        }
        """);

    [Fact]
    public Task WritesFromTwoFamilies_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static void M(bool com)
            {
                IntPtr p;
                if (com)
                    p = Marshal.AllocCoTaskMem(16);
                else
                    p = Marshal.AllocHGlobal(16);
                if (com)
                    Marshal.FreeCoTaskMem(p);
                else
                    Marshal.FreeHGlobal(p);
            }
        }
        """);

    [Fact]
    public Task Parameter_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static void Release(IntPtr p) => Marshal.FreeHGlobal(p);
        }
        """);

    [Fact]
    public Task WrittenThroughOut_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static void Replace(out IntPtr p) => p = Marshal.AllocHGlobal(4);

            static void M()
            {
                IntPtr p = Marshal.AllocCoTaskMem(4);
                Marshal.FreeCoTaskMem(p);
                Replace(out p);
                Marshal.FreeHGlobal(p);
            }
        }
        """);

    [Fact]
    public Task Field_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            private IntPtr _buffer = Marshal.AllocCoTaskMem(16);

            void Close() => Marshal.FreeHGlobal(_buffer);
        }
        """);

    [Fact]
    public Task ValueFromAnotherMethod_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static IntPtr Make() => Marshal.AllocHGlobal(16);

            static void M()
            {
                IntPtr p = Make();
                Marshal.FreeHGlobal(p);
                p = Marshal.AllocCoTaskMem(16);
                Marshal.FreeCoTaskMem(p);
            }
        }
        """);

    [Fact]
    public Task ReallocOfTheSameFamily_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System.Runtime.InteropServices;
        unsafe class C
        {
            static void M()
            {
                void* p = NativeMemory.Alloc(16);
                p = NativeMemory.Realloc(p, 64);
                NativeMemory.Free(p);
            }
        }
        """);

    [Fact]
    public Task WrittenInLambda_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static void M()
            {
                IntPtr p = Marshal.AllocCoTaskMem(16);
                Action swap = () => p = Marshal.AllocHGlobal(16);
                swap();
                Marshal.FreeHGlobal(p);
            }
        }
        """);

    // ------------------------------------------------------------------ run-time evidence (.NET 10 test host, Linux)

    private const string BstrProbe = """
        using System;
        using System.Runtime.InteropServices;
        static class Program
        {
            static int Length(string text)
            {
                IntPtr bstr = Marshal.StringToBSTR(text);
                int length = Marshal.ReadInt32(bstr, -4);
                Marshal.FreeHGlobal(bstr);
                return length;
            }

            static string Run()
            {
                int total = 0;
                for (int i = 0; i < 100; i++)
                    total += Length("item " + i);
                return total.ToString();
            }
        }
        """;

    // A BSTR points past its length prefix, so FreeHGlobal hands free() an address malloc never returned: the process
    // dies before Run returns (.NET 10 on Linux: exit code 139, SIGSEGV, within the 100 frees). With the fix's FreeBSTR
    // the same lengths are read and the process ends normally. Own process: the original kills the process it runs in.
    [Fact]
    public async Task Fix_BstrFreedWithFreeBSTR_NoAbort_SameResult()
    {
        var fixedProbe = BstrProbe.Replace("Marshal.FreeHGlobal(bstr);", "Marshal.FreeBSTR(bstr);");
        await FixCS.CodeFixAsync(BstrProbe.Replace("Marshal.FreeHGlobal(bstr);", "[|Marshal.FreeHGlobal(bstr)|];"), fixedProbe);

        // 100 strings "item 0".."item 99": 10 of 6 chars and 90 of 7, two bytes each.
        Assert.Equal((0, "1380"), Behaviour.ExitOfOwnProcess(fixedProbe));
        // On Windows LocalFree of the BSTR's address corrupts the process heap instead, with no certain symptom.
        if (OperatingSystem.IsWindows())
            return;
        var original = Behaviour.ExitOfOwnProcess(BstrProbe);
        Assert.NotEqual(0, original.ExitCode);
        Assert.Equal("", original.Output);
    }
}
