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

    // ------------------------------------------------------------------ leaks reported

    [Fact]
    public Task LeakNeverFreed_RestOfTheBlockInTryFinally() => FixCS.CodeFixAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static int Checksum(byte[] data)
            {
                IntPtr p = [|Marshal.AllocHGlobal(data.Length)|];
                Marshal.Copy(data, 0, p, data.Length);
                int sum = 0;
                for (int i = 0; i < data.Length; i++)
                    sum += Marshal.ReadByte(p, i);
                return sum;
            }
        }
        """, """
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static int Checksum(byte[] data)
            {
                IntPtr p = Marshal.AllocHGlobal(data.Length);
                try
                {
                    Marshal.Copy(data, 0, p, data.Length);
                    int sum = 0;
                    for (int i = 0; i < data.Length; i++)
                        sum += Marshal.ReadByte(p, i);
                    return sum;
                }
                finally
                {
                    Marshal.FreeHGlobal(p);
                }
            }
        }
        """);

    [Fact]
    public Task LeakOnEarlyReturn_FreedInFinally() => FixCS.CodeFixAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static int First(string text, int n)
            {
                IntPtr s = [|Marshal.StringToCoTaskMemUTF8(text)|];
                if (n > 0)
                    return Marshal.ReadByte(s, n);
                int first = Marshal.ReadByte(s);
                Marshal.FreeCoTaskMem(s);
                return first;
            }
        }
        """, """
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static int First(string text, int n)
            {
                IntPtr s = Marshal.StringToCoTaskMemUTF8(text);
                int first;
                try
                {
                    if (n > 0)
                        return Marshal.ReadByte(s, n);
                    first = Marshal.ReadByte(s);
                }
                finally
                {
                    Marshal.FreeCoTaskMem(s);
                }

                return first;
            }
        }
        """);

    [Fact]
    public Task LeakWhenACallThrows_PointerFreedInFinally() => FixCS.CodeFixAsync("""
        using System.Runtime.InteropServices;
        unsafe class C
        {
            static int Sum(string[] items)
            {
                int* values = (int*)[|NativeMemory.Alloc((nuint)items.Length, sizeof(int))|];
                for (int i = 0; i < items.Length; i++)
                    values[i] = int.Parse(items[i]);
                int sum = 0;
                for (int i = 0; i < items.Length; i++)
                    sum += *(values + i);
                NativeMemory.Free(values);
                return sum;
            }
        }
        """, """
        using System.Runtime.InteropServices;
        unsafe class C
        {
            static int Sum(string[] items)
            {
                int* values = (int*)NativeMemory.Alloc((nuint)items.Length, sizeof(int));
                int sum;
                try
                {
                    for (int i = 0; i < items.Length; i++)
                        values[i] = int.Parse(items[i]);
                    sum = 0;
                    for (int i = 0; i < items.Length; i++)
                        sum += *(values + i);
                }
                finally
                {
                    NativeMemory.Free(values);
                }

                return sum;
            }
        }
        """);

    [Fact]
    public Task LeakOfAlignedMemory_AlignedFreeWritten() => FixCS.CodeFixAsync("""
        using System;
        using System.Runtime.InteropServices;
        unsafe class C
        {
            static long Fill(int n)
            {
                byte* p = (byte*)[|NativeMemory.AlignedAlloc((nuint)n, 64)|];
                NativeMemory.Fill(p, (nuint)n, 1);
                if (n > 4096)
                    throw new ArgumentOutOfRangeException(nameof(n));
                return p[n - 1];
            }
        }
        """, """
        using System;
        using System.Runtime.InteropServices;
        unsafe class C
        {
            static long Fill(int n)
            {
                byte* p = (byte*)NativeMemory.AlignedAlloc((nuint)n, 64);
                try
                {
                    NativeMemory.Fill(p, (nuint)n, 1);
                    if (n > 4096)
                        throw new ArgumentOutOfRangeException(nameof(n));
                    return p[n - 1];
                }
                finally
                {
                    NativeMemory.AlignedFree(p);
                }
            }
        }
        """);

    [Fact]
    public Task LeakOfPointerFromMarshal_FreeTakesTheAddressAsIntPtr() => FixCS.CodeFixAsync("""
        using System.Runtime.InteropServices;
        unsafe class C
        {
            static int Twice(int v)
            {
                int* p = (int*)[|Marshal.AllocCoTaskMem(sizeof(int))|];
                *p = checked(v * 2);
                return *p;
            }
        }
        """, """
        using System.Runtime.InteropServices;
        unsafe class C
        {
            static int Twice(int v)
            {
                int* p = (int*)Marshal.AllocCoTaskMem(sizeof(int));
                try
                {
                    *p = checked(v * 2);
                    return *p;
                }
                finally
                {
                    Marshal.FreeCoTaskMem((System.IntPtr)p);
                }
            }
        }
        """);

    [Fact]
    public Task LeakWhenOverwritten_NoFix() => FixCS.NoFixAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static void M()
            {
                IntPtr p = [|Marshal.AllocHGlobal(8)|];
                Marshal.WriteInt64(p, 1);
                p = Marshal.AllocHGlobal(16);
                Marshal.WriteInt64(p, 2);
                Marshal.FreeHGlobal(p);
            }
        }
        """);

    // The free belongs somewhere the author chooses when it is inside a branch, not beside the allocation.
    [Fact]
    public Task LeakWithFreeOnOneBranch_NoFix() => FixCS.NoFixAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static int M(bool keep)
            {
                IntPtr p = [|Marshal.AllocHGlobal(4)|];
                Marshal.WriteInt32(p, 42);
                int v = Marshal.ReadInt32(p);
                if (!keep)
                    Marshal.FreeHGlobal(p);
                return v;
            }
        }
        """);

    [Fact]
    public Task LeakMessageNamesTheThrowingCallAndTheFree()
    {
        var test = Verify<MismatchedNativeFreeAnalyzer>.Test("""
            using System;
            using System.Runtime.InteropServices;
            class C
            {
                static int M(string s)
                {
                    IntPtr p = {|#0:Marshal.AllocHGlobal(4)|};
                    Marshal.WriteInt32(p, {|#1:int.Parse(s)|});
                    int v = Marshal.ReadInt32(p);
                    Marshal.FreeHGlobal(p);
                    return v;
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA5008", 0).WithAdditionalLocation(1).WithMessage(
            "The native memory in 'p' from Marshal.AllocHGlobal is not freed if 'int.Parse(s)' at line 8 throws: the exception leaves the method with the block allocated, and the garbage collector never reclaims native memory, so it is lost until the process exits; free it with Marshal.FreeHGlobal in a finally"));
        return test.RunAsync();
    }

    [Fact]
    public Task LeakMessageSaysWhereANormalPathLeaves()
    {
        var test = Verify<MismatchedNativeFreeAnalyzer>.Test("""
            using System.Runtime.InteropServices;
            unsafe class C
            {
                static byte M(int n)
                {
                    byte* p = (byte*){|#0:NativeMemory.AllocZeroed((nuint)n)|};
                    if (n > 16)
                        return p[16];
                    NativeMemory.Free(p);
                    return 0;
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA5008", 0).WithMessage(
            "The native memory in 'p' from NativeMemory.AllocZeroed is still allocated where the method returns at line 8, and nothing else can free it: the garbage collector never reclaims native memory, so the block is lost until the process exits; free it with NativeMemory.Free in a finally"));
        return test.RunAsync();
    }

    [Fact]
    public Task LeakFixAll_TwoMethods() => FixCS.CodeFixAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static int A(string s)
            {
                IntPtr p = [|Marshal.AllocHGlobal(4)|];
                Marshal.WriteInt32(p, int.Parse(s));
                int v = Marshal.ReadInt32(p);
                Marshal.FreeHGlobal(p);
                return v;
            }

            static int B(string s)
            {
                IntPtr q = [|Marshal.StringToHGlobalUni(s)|];
                return Marshal.ReadInt16(q) + int.Parse(s);
            }
        }
        """, """
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static int A(string s)
            {
                IntPtr p = Marshal.AllocHGlobal(4);
                int v;
                try
                {
                    Marshal.WriteInt32(p, int.Parse(s));
                    v = Marshal.ReadInt32(p);
                }
                finally
                {
                    Marshal.FreeHGlobal(p);
                }

                return v;
            }

            static int B(string s)
            {
                IntPtr q = Marshal.StringToHGlobalUni(s);
                try
                {
                    return Marshal.ReadInt16(q) + int.Parse(s);
                }
                finally
                {
                    Marshal.FreeHGlobal(q);
                }
            }
        }
        """);

    // ------------------------------------------------------------------ leaks not reported

    [Fact]
    public Task FreedInFinally_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static int M(string s)
            {
                IntPtr p = Marshal.AllocHGlobal(4);
                try
                {
                    Marshal.WriteInt32(p, int.Parse(s));
                    return Marshal.ReadInt32(p);
                }
                finally
                {
                    Marshal.FreeHGlobal(p);
                }
            }
        }
        """);

    [Fact]
    public Task AllocatedInTryFreedInFinallyWhenNotZero_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        unsafe class C
        {
            static int M(string s)
            {
                IntPtr p = IntPtr.Zero;
                byte* q = null;
                try
                {
                    p = Marshal.AllocHGlobal(4);
                    q = (byte*)NativeMemory.Alloc(4);
                    if (q == null)
                        throw new OutOfMemoryException();
                    *q = 1;
                    Marshal.WriteInt32(p, int.Parse(s));
                    return Marshal.ReadInt32(p) + *q;
                }
                finally
                {
                    if (p != IntPtr.Zero)
                        Marshal.FreeHGlobal(p);
                    if (q != null)
                        NativeMemory.Free(q);
                }
            }
        }
        """);

    // Reads and writes through the block cannot throw for a valid address, and there is nothing else between.
    [Fact]
    public Task FreedOnEveryPathNoThrowingCallBetween_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        unsafe class C
        {
            static int M(byte[] data, bool twice)
            {
                IntPtr p = Marshal.AllocCoTaskMem(data.Length);
                Marshal.Copy(data, 0, p, data.Length);
                int v = Marshal.ReadByte(p);
                if (twice)
                {
                    v += ((byte*)p)[0];
                    Marshal.FreeCoTaskMem(p);
                    return v;
                }

                Marshal.FreeCoTaskMem(p);
                return v;
            }
        }
        """);

    [Fact]
    public Task ReturnedOrDerivedPointerReturned_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        unsafe class C
        {
            static IntPtr Make(string s)
            {
                IntPtr p = Marshal.StringToHGlobalAnsi(s);
                int.Parse(s);
                return p;
            }

            static byte* Past(int n)
            {
                byte* p = (byte*)NativeMemory.Alloc((nuint)n + 4);
                *(int*)p = n;
                return p + 4;
            }
        }
        """);

    [Fact]
    public Task StoredInFieldArrayOrOutParameter_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            private IntPtr _buffer;
            private static readonly IntPtr[] Buffers = new IntPtr[4];

            void Open(string s)
            {
                IntPtr p = Marshal.AllocHGlobal(64);
                _buffer = p;
                int.Parse(s);
            }

            static void Keep(int i, string s)
            {
                IntPtr p = Marshal.AllocHGlobal(64);
                Buffers[i] = p;
                int.Parse(s);
            }

            static void Give(string s, out IntPtr result)
            {
                IntPtr p = Marshal.AllocHGlobal(64);
                result = p;
                int.Parse(s);
            }
        }
        """);

    [Fact]
    public Task HandedToASafeHandle_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        sealed class HGlobalBuffer : SafeHandle
        {
            public HGlobalBuffer(IntPtr memory) : base(IntPtr.Zero, true) => SetHandle(memory);
            private HGlobalBuffer() : base(IntPtr.Zero, true) { }
            public override bool IsInvalid => handle == IntPtr.Zero;
            protected override bool ReleaseHandle() { Marshal.FreeHGlobal(handle); return true; }

            public static HGlobalBuffer Create(int size)
            {
                var buffer = new HGlobalBuffer();
                IntPtr p = Marshal.AllocHGlobal(size);
                buffer.SetHandle(p);
                Console.WriteLine(size);
                return buffer;
            }

            public static HGlobalBuffer Wrap(int size)
            {
                IntPtr p = Marshal.AllocHGlobal(size);
                var owner = new HGlobalBuffer(p);
                Console.WriteLine(size);
                return owner;
            }
        }
        """);

    // Whether native code takes the block over is the P/Invoke's contract, which the analysis cannot see: unknown, so silent.
    [Fact]
    public Task PassedToPlatformInvoke_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        static class C
        {
            [DllImport("native")]
            private static extern int Submit(IntPtr request);

            static void M(string s)
            {
                IntPtr request = Marshal.StringToCoTaskMemUni(s);
                if (Submit(request) != 0)
                    throw new InvalidOperationException(s);
            }
        }
        """);

    [Fact]
    public Task CopiedSpannedOrCaptured_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        unsafe class C
        {
            static byte* _last;

            static void Copied(string s)
            {
                byte* p = (byte*)NativeMemory.Alloc(16);
                byte* q = p;
                _last = q;
                int.Parse(s);
            }

            static int Spanned(string s)
            {
                void* p = NativeMemory.Alloc(16);
                var span = new Span<byte>(p, 16);
                span.Fill(1);
                return int.Parse(s) + span[0];
            }

            static Func<IntPtr> Captured()
            {
                IntPtr p = Marshal.AllocHGlobal(16);
                return () => p;
            }
        }
        """);

    // A flag set beside the allocation decides the free: the path that skips the free also skipped the allocation.
    [Fact]
    public Task FreeGuardedByAFlagSetBesideTheAllocation_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static int M(int n)
            {
                IntPtr p = IntPtr.Zero;
                bool allocated = false;
                if (n > 256)
                {
                    p = Marshal.AllocHGlobal(n);
                    allocated = true;
                    Marshal.WriteByte(p, 1);
                }

                int v = allocated ? Marshal.ReadByte(p) : 0;
                if (allocated)
                    Marshal.FreeHGlobal(p);
                return v;
            }
        }
        """);

    // An allocation after the first can throw only OutOfMemoryException: a leak on that path alone is not reported.
    [Fact]
    public Task SecondAllocationBeforeTry_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static void M()
            {
                IntPtr a = Marshal.AllocHGlobal(8);
                IntPtr b = Marshal.AllocHGlobal(8);
                try
                {
                    Marshal.WriteInt64(a, 1);
                    Marshal.WriteInt64(b, 2);
                }
                finally
                {
                    Marshal.FreeHGlobal(a);
                    Marshal.FreeHGlobal(b);
                }
            }
        }
        """);

    [Fact]
    public Task IncompleteCode_NoCrash_NoDiagnostic()
    {
        var test = FixCS.Test("""
            using System;
            using System.Runtime.InteropServices;
            unsafe class C
            {
                static void M(string s)
                {
                    IntPtr p = Marshal.AllocHGlobal();
                    byte* q = (byte*)NativeMemory.Alloc(
                    Undefined(p);
                    p = Marshal.AllocHGlobal(4) +;
                    Marshal.FreeHGlobal(p
                }
            }
            """, "");
        test.AllowCompilerErrors = true;
        test.ExpectNoFix = true;
        return test.RunAsync();
    }

    // ------------------------------------------------------------------ run-time evidence (.NET 10 test host, Linux)

    private const string LeakProbe = """
        using System;
        using System.Runtime.InteropServices;
        static class Program
        {
            static int Validate(int v) => v >= 0 ? v : throw new ArgumentOutOfRangeException(nameof(v));

            static int Checksum(int[] values)
            {
                IntPtr p = Marshal.AllocHGlobal(values.Length * 4);
                for (int i = 0; i < values.Length; i++)
                    Marshal.WriteInt32(p, i * 4, Validate(values[i]));
                int sum = 0;
                for (int i = 0; i < values.Length; i++)
                    sum += Marshal.ReadInt32(p, i * 4);
                Marshal.FreeHGlobal(p);
                return sum;
            }

            static string Run()
            {
                int total = 0, failures = 0;
                foreach (var values in new[] { new[] { 1, 2, 3 }, new[] { 4, -5, 6 }, new[] { 7, 8 } })
                {
                    try { total += Checksum(values); }
                    catch (ArgumentOutOfRangeException) { failures++; }
                }

                return total + ":" + failures;
            }
        }
        """;

    // The probe's Marshal calls go through counters that forward to the real Marshal (HGlobal memory has no
    // process-wide count to read): blocks allocated minus blocks freed when Run returns.
    private const string CountingMarshal = """

        static class CountingMarshal
        {
            public static int Outstanding;
            public static IntPtr AllocHGlobal(int n) { Outstanding++; return System.Runtime.InteropServices.Marshal.AllocHGlobal(n); }
            public static void FreeHGlobal(IntPtr p) { Outstanding--; System.Runtime.InteropServices.Marshal.FreeHGlobal(p); }
            public static void WriteInt32(IntPtr p, int offset, int v) => System.Runtime.InteropServices.Marshal.WriteInt32(p, offset, v);
            public static int ReadInt32(IntPtr p, int offset) => System.Runtime.InteropServices.Marshal.ReadInt32(p, offset);
        }
        """;

    private static string Counted(string probe)
    {
        var counted = probe.Replace("Marshal.", "CountingMarshal.").Replace("return total + \":\" + failures;", "return total + \":\" + failures + \":\" + CountingMarshal.Outstanding;");
        Assert.NotEqual(probe.Replace("Marshal.", "CountingMarshal."), counted);
        return counted + CountingMarshal;
    }

    // The second array makes Validate throw after the allocation: the original loses that block (1 outstanding), the
    // fixed code frees it in the finally (0). The sums (1+2+3 + 7+8) and the failure count are the same. Deterministic
    // (counters, no GC), so in process.
    [Fact]
    public async Task LeakFix_FreesTheBlockAnExceptionLeaked_SameResults()
    {
        var fixedProbe = LeakProbe.Replace("""
                    IntPtr p = Marshal.AllocHGlobal(values.Length * 4);
                    for (int i = 0; i < values.Length; i++)
                        Marshal.WriteInt32(p, i * 4, Validate(values[i]));
                    int sum = 0;
                    for (int i = 0; i < values.Length; i++)
                        sum += Marshal.ReadInt32(p, i * 4);
                    Marshal.FreeHGlobal(p);
                    return sum;
            """, """
                    IntPtr p = Marshal.AllocHGlobal(values.Length * 4);
                    int sum;
                    try
                    {
                        for (int i = 0; i < values.Length; i++)
                            Marshal.WriteInt32(p, i * 4, Validate(values[i]));
                        sum = 0;
                        for (int i = 0; i < values.Length; i++)
                            sum += Marshal.ReadInt32(p, i * 4);
                    }
                    finally
                    {
                        Marshal.FreeHGlobal(p);
                    }

                    return sum;
            """);
        Assert.NotEqual(LeakProbe, fixedProbe);

        // The analyzer reports the probe, and its fix produces exactly the fixed probe.
        await FixCS.CodeFixAsync(LeakProbe.Replace("IntPtr p = Marshal.AllocHGlobal(values.Length * 4);", "IntPtr p = [|Marshal.AllocHGlobal(values.Length * 4)|];"), fixedProbe);

        Assert.Equal("21:1:1", Behaviour.Run(Counted(LeakProbe)));
        Assert.Equal("21:1:0", Behaviour.Run(Counted(fixedProbe)));
    }

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

    // ------------------------------------------------------------------ the leak's stackalloc fix

    /// <summary>A method of class C (unsafe, usings for System and InteropServices) around <paramref name="body"/>.</summary>
    private static string InC(string body, string attributes = "") => $$"""
        using System;
        using System.Runtime.InteropServices;
        {{attributes}}unsafe class C
        {
        {{body}}
        }
        """;

    private static Task StackallocFixAsync(string body, string fixedBody, string attributes = "")
    {
        var test = FixCS.Test(InC(body, attributes), InC(fixedBody, attributes));
        test.CodeActionEquivalenceKey = "MSA5008.Stackalloc";
        return test.RunAsync();
    }

    private static Task NoStackallocFixAsync(string body, string attributes = "")
    {
        // The diagnostics stay; with the key, no action is taken.
        var test = FixCS.Test(InC(body, attributes), InC(body, attributes));
        test.CodeActionEquivalenceKey = "MSA5008.Stackalloc";
        return test.RunAsync();
    }

    private const string SmallBlockLeakedByAThrow = """
            static int Sum(string[] items)
            {
                int* values = (int*)[|NativeMemory.Alloc(16, sizeof(int))|];
                for (int i = 0; i < 16; i++)
                    values[i] = int.Parse(items[i % items.Length]);
                int sum = 0;
                for (int i = 0; i < 16; i++)
                    sum += values[i];
                NativeMemory.Free(values);
                return sum;
            }
        """;

    [Fact]
    public Task LeakOfSmallConstantBlock_StackallocAndTheFreeRemoved() => StackallocFixAsync(SmallBlockLeakedByAThrow, """
            static int Sum(string[] items)
            {
                int* values = stackalloc int[16];
                for (int i = 0; i < 16; i++)
                    values[i] = int.Parse(items[i % items.Length]);
                int sum = 0;
                for (int i = 0; i < 16; i++)
                    sum += values[i];
                return sum;
            }
        """);

    /// <summary><c>var p = stackalloc T[n]</c> would be a <c>Span&lt;T&gt;</c>: the pointer type is written out.</summary>
    [Fact]
    public Task NeverFreedZeroedBlockInVar_StackallocWithThePointerType() => StackallocFixAsync("""
            static long Checksum(ReadOnlySpan<byte> data)
            {
                var block = (byte*)[|NativeMemory.AllocZeroed(256)|];
                for (int i = 0; i < data.Length && i < 256; i++)
                    block[i] = data[i];
                long sum = 0;
                for (int i = 0; i < 256; i++)
                    sum += block[i];
                return sum;
            }
        """, """
            static long Checksum(ReadOnlySpan<byte> data)
            {
                byte* block = stackalloc byte[256];
                for (int i = 0; i < data.Length && i < 256; i++)
                    block[i] = data[i];
                long sum = 0;
                for (int i = 0; i < 256; i++)
                    sum += block[i];
                return sum;
            }
        """);

    [Fact]
    public Task StackallocFixAll_TwoMethods() => StackallocFixAsync("""
            static int First(string s)
            {
                byte* a = (byte*)[|NativeMemory.Alloc(8)|];
                a[0] = byte.Parse(s);
                int result = a[0];
                NativeMemory.Free(a);
                return result;
            }

            static int Second(string s)
            {
                long* b = (long*)[|NativeMemory.AllocZeroed(4, 8)|];
                b[1] = long.Parse(s);
                return (int)(b[0] + b[1]);
            }
        """, """
            static int First(string s)
            {
                byte* a = stackalloc byte[8];
                a[0] = byte.Parse(s);
                int result = a[0];
                return result;
            }

            static int Second(string s)
            {
                long* b = stackalloc long[4];
                b[1] = long.Parse(s);
                return (int)(b[0] + b[1]);
            }
        """);

    [Fact]
    public Task AllocationInALoop_NoStackallocFix() => NoStackallocFixAsync("""
            static int Sum(string[][] rows)
            {
                int total = 0;
                foreach (var items in rows)
                {
                    int* values = (int*)[|NativeMemory.Alloc(16, sizeof(int))|];
                    values[0] = int.Parse(items[0]);
                    total += values[0];
                    NativeMemory.Free(values);
                }

                return total;
            }
        """);

    [Fact]
    public Task BlockOverTheLimitOrOfAVariableSize_NoStackallocFix() => NoStackallocFixAsync("""
            static int Big(string s)
            {
                byte* big = (byte*)[|NativeMemory.Alloc(4096)|];
                big[0] = (byte)int.Parse(s);
                int result = big[0];
                NativeMemory.Free(big);
                return result;
            }

            static int Sized(string s, int n)
            {
                byte* sized = (byte*)[|NativeMemory.Alloc((nuint)n)|];
                sized[0] = (byte)int.Parse(s);
                int result = sized[0];
                NativeMemory.Free(sized);
                return result;
            }
        """);

    /// <summary>Under <c>[SkipLocalsInit]</c> a stack block is not zeroed: <c>AllocZeroed</c>'s zeroes would be lost.</summary>
    [Fact]
    public Task ZeroedBlockUnderSkipLocalsInit_NoStackallocFix() => NoStackallocFixAsync("""
            static int Count(string s)
            {
                int* counts = (int*)[|NativeMemory.AllocZeroed(64)|];
                counts[int.Parse(s) % 16]++;
                int result = counts[0];
                NativeMemory.Free(counts);
                return result;
            }
        """, "[System.Runtime.CompilerServices.SkipLocalsInit]\n");

    /// <summary>A <c>stackalloc</c> initializer must have the local's own element type: <c>void* p = stackalloc byte[8]</c>
    /// would not compile.</summary>
    [Fact]
    public Task LocalOfAnotherPointerType_NoStackallocFix() => NoStackallocFixAsync("""
            static int First(string s)
            {
                void* raw = (byte*)[|NativeMemory.Alloc(8)|];
                ((byte*)raw)[0] = byte.Parse(s);
                int result = ((byte*)raw)[0];
                NativeMemory.Free(raw);
                return result;
            }
        """);

    /// <summary>Recursion would multiply the frame.</summary>
    [Fact]
    public Task RecursiveMethod_NoStackallocFix() => NoStackallocFixAsync("""
            static int Depth(string s, int n)
            {
                int* slot = (int*)[|NativeMemory.Alloc(4)|];
                *slot = int.Parse(s);
                int result = n == 0 ? *slot : Depth(s, n - 1);
                NativeMemory.Free(slot);
                return result;
            }
        """);

    // The probe's NativeMemory calls go through counters that forward to the real NativeMemory: blocks allocated minus
    // blocks freed when Run returns. The second row makes int.Parse throw after the allocation: the original loses that
    // block (1 outstanding), the stack block of the fixed code cannot leak (0 outstanding, and no allocation at all).
    private const string StackallocProbe = """
        using System;
        unsafe static class Program
        {
            static int Sum(string[] items)
            {
                int* values = (int*)NativeMemory.Alloc(16, sizeof(int));
                for (int i = 0; i < 16; i++)
                    values[i] = int.Parse(items[i % items.Length]);
                int sum = 0;
                for (int i = 0; i < 16; i++)
                    sum += values[i];
                NativeMemory.Free(values);
                return sum;
            }

            static string Run()
            {
                int total = 0, failures = 0;
                foreach (var items in new[] { new[] { "1", "2" }, new[] { "3", "x" }, new[] { "4" } })
                {
                    try { total += Sum(items); }
                    catch (FormatException) { failures++; }
                }

                return total + ":" + failures + ":" + NativeMemory.Outstanding + ":" + NativeMemory.Allocations;
            }
        }

        unsafe static class NativeMemory
        {
            public static int Outstanding, Allocations;
            public static void* Alloc(nuint count, nuint size) { Outstanding++; Allocations++; return System.Runtime.InteropServices.NativeMemory.Alloc(count, size); }
            public static void Free(void* p) { Outstanding--; System.Runtime.InteropServices.NativeMemory.Free(p); }
        }
        """;

    [Fact]
    public async Task StackallocFix_NoBlockLeakedOrAllocated_SameResults()
    {
        var fixedProbe = StackallocProbe.Replace("int* values = (int*)NativeMemory.Alloc(16, sizeof(int));", "int* values = stackalloc int[16];")
            .Replace("""
                        sum += values[i];
                    NativeMemory.Free(values);
            """, """
                        sum += values[i];
            """);
        Assert.NotEqual(StackallocProbe, fixedProbe);

        // The fix, asked on the real NativeMemory, writes exactly the fixed probe's Sum.
        static string Real(string probe) => probe.Replace(
            "using System;\n", "using System;\nusing System.Runtime.InteropServices;\n").Split("unsafe static class NativeMemory")[0]
            .Replace(" + \":\" + NativeMemory.Outstanding + \":\" + NativeMemory.Allocations", string.Empty);
        var test = FixCS.Test(Real(StackallocProbe).Replace("(int*)NativeMemory.Alloc(16, sizeof(int))", "(int*)[|NativeMemory.Alloc(16, sizeof(int))|]"), Real(fixedProbe));
        test.CodeActionEquivalenceKey = "MSA5008.Stackalloc";
        await test.RunAsync();

        // Sums 1+2 (x8) and 4 (x16): 24 + 64; one failure. Original: one block lost, 3 allocated. Fixed: none.
        Assert.Equal("88:1:1:3", Behaviour.Run(StackallocProbe));
        Assert.Equal("88:1:0:0", Behaviour.Run(fixedProbe));
    }
}
