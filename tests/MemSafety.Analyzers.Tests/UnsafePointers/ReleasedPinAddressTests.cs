using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.UnsafePointers;
using MemSafety.Analyzers.Tests.Verification;
using VerifyCS = MemSafety.Analyzers.Tests.Verification.Verify<MemSafety.Analyzers.Rules.UnsafePointers.ReleasedPinAddressAnalyzer>;

namespace MemSafety.Analyzers.Tests.UnsafePointers;

public sealed class ReleasedPinAddressTests
{
    // ------------------------------------------------------------------ reported

    [Fact]
    public Task DereferencedAfterFree_MessageSaysWhy()
    {
        var test = Verify<ReleasedPinAddressAnalyzer>.Test("""
            using System;
            using System.Runtime.InteropServices;
            unsafe class C
            {
                static int First(int[] values)
                {
                    var handle = GCHandle.Alloc(values, GCHandleType.Pinned);
                    IntPtr address = {|#1:handle.AddrOfPinnedObject()|};
                    {|#2:handle.Free()|};
                    return {|#0:*(int*)address|};
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA5004", 0).WithAdditionalLocation(1).WithAdditionalLocation(2).WithMessage(
            "The address of the object pinned by 'handle' from 'handle.AddrOfPinnedObject()' is used ('*(int*)address' at line 10) after 'handle.Free()' on line 9 ended the pin: the garbage collector may move the object from then on, and the address then reads and writes whatever occupies the old location"));
        return test.RunAsync();
    }

    [Fact]
    public Task PassedToMarshalAfterFree_Reported() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static int First(int[] values)
            {
                var handle = GCHandle.Alloc(values, GCHandleType.Pinned);
                IntPtr address = handle.AddrOfPinnedObject();
                handle.Free();
                return [|Marshal.ReadInt32(address)|];
            }
        }
        """);

    [Fact]
    public Task FreedInFinallyUsedAfterTheTry_Reported() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        unsafe class C
        {
            static int Sum(int[] values)
            {
                var handle = GCHandle.Alloc(values, GCHandleType.Pinned);
                int* p;
                try
                {
                    p = (int*)handle.AddrOfPinnedObject();
                    Console.WriteLine(p[0]);
                }
                finally
                {
                    handle.Free();
                }
                return [|p[1]|];
            }
        }
        """);

    [Fact]
    public Task FreedOnOnePathOnly_Reported() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        unsafe class C
        {
            static int Read(int[] values, bool early)
            {
                var handle = GCHandle.Alloc(values, GCHandleType.Pinned);
                long address = handle.AddrOfPinnedObject().ToInt64();
                if (early)
                    handle.Free();
                int value = [|*(int*)address|];
                if (!early)
                    handle.Free();
                return value;
            }
        }
        """);

    [Fact]
    public Task SpanMadeAfterFree_Reported() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        unsafe class C
        {
            static int Count(byte[] data)
            {
                var handle = GCHandle.Alloc(data, GCHandleType.Pinned);
                IntPtr start = handle.AddrOfPinnedObject();
                handle.Free();
                var span = [|new ReadOnlySpan<byte>((void*)start, data.Length)|];
                return span.IndexOf((byte)0);
            }
        }
        """);

    // Found by the fuzzer (seed 3, mutant 745): a Free inside a loop made the analysis run forever.
    [Fact]
    public Task FreedInALoop_AnalysisEnds_ReturnedAddressReported() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static IntPtr Address(int[] values)
            {
                var handle = GCHandle.Alloc(values, GCHandleType.Pinned);
                IntPtr address = handle.AddrOfPinnedObject();
                for (var i = 0; i < 2; i++) { handle.Free(); }
                return [|address|];
            }
        }
        """);

    [Fact]
    public Task ReturnedAfterFree_Reported() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static IntPtr Address(int[] values)
            {
                var handle = GCHandle.Alloc(values, GCHandleType.Pinned);
                IntPtr address = handle.AddrOfPinnedObject();
                handle.Free();
                return [|address|];
            }
        }
        """);

    [Fact]
    public Task StoredInAFieldThenFreed_Reported() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        class Buffer
        {
            private IntPtr _address;
            public void Attach(byte[] data)
            {
                var handle = GCHandle.Alloc(data, GCHandleType.Pinned);
                [|_address = handle.AddrOfPinnedObject()|];
                handle.Free();
            }
            public IntPtr Address => _address;
        }
        """);

    [Fact]
    public Task MemoryHandlePointerAfterDispose_Reported() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Buffers;
        unsafe class C
        {
            static int First(Memory<int> memory)
            {
                MemoryHandle pin = memory.Pin();
                int* p = (int*)pin.Pointer;
                pin.Dispose();
                return [|p[0]|];
            }
        }
        """);

    [Fact]
    public Task MemoryHandlePointerAfterUsingBlock_Reported() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Buffers;
        unsafe class C
        {
            static int First(Memory<int> memory)
            {
                int* p;
                using (MemoryHandle pin = memory.Pin())
                {
                    p = (int*)pin.Pointer;
                }
                return [|*p|];
            }
        }
        """);

    // ------------------------------------------------------------------ not reported

    [Fact]
    public Task UsedBeforeFree_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        unsafe class C
        {
            static int First(int[] values)
            {
                var handle = GCHandle.Alloc(values, GCHandleType.Pinned);
                IntPtr address = handle.AddrOfPinnedObject();
                int value = *(int*)address;
                handle.Free();
                return value;
            }
        }
        """);

    [Fact]
    public Task UsedInsideTryFreedInFinally_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static int First(int[] values)
            {
                var handle = GCHandle.Alloc(values, GCHandleType.Pinned);
                try
                {
                    return Marshal.ReadInt32(handle.AddrOfPinnedObject());
                }
                finally
                {
                    handle.Free();
                }
            }
        }
        """);

    [Fact]
    public Task HandleFreedByAnotherMethod_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        sealed class Pinned : IDisposable
        {
            private GCHandle _handle;
            public IntPtr Address { get; }
            public Pinned(byte[] data)
            {
                _handle = GCHandle.Alloc(data, GCHandleType.Pinned);
                Address = _handle.AddrOfPinnedObject();
            }
            public void Dispose() => _handle.Free();
        }
        """);

    [Fact]
    public Task ComparedAfterFree_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static bool Same(int[] values, IntPtr other)
            {
                var handle = GCHandle.Alloc(values, GCHandleType.Pinned);
                IntPtr address = handle.AddrOfPinnedObject();
                handle.Free();
                return address == other;
            }
        }
        """);

    [Fact]
    public Task AnotherHandleFreed_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        unsafe class C
        {
            static int First(int[] values, object other)
            {
                var handle = GCHandle.Alloc(values, GCHandleType.Pinned);
                var second = GCHandle.Alloc(other);
                IntPtr address = handle.AddrOfPinnedObject();
                second.Free();
                int value = *(int*)address;
                handle.Free();
                return value;
            }
        }
        """);

    [Fact]
    public Task ReassignedFromANewPinAfterFree_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        unsafe class C
        {
            static int Last(int[] a, int[] b)
            {
                var handle = GCHandle.Alloc(a, GCHandleType.Pinned);
                IntPtr address = handle.AddrOfPinnedObject();
                int first = *(int*)address;
                handle.Free();
                handle = GCHandle.Alloc(b, GCHandleType.Pinned);
                address = handle.AddrOfPinnedObject();
                int second = *(int*)address;
                handle.Free();
                return first + second;
            }
        }
        """);

    // A fixed pointer laundered through an integer and used after its block is MSA5001's, not this rule's.
    [Fact]
    public Task FixedPointerThroughIntPtrAfterTheBlock_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System;
        unsafe class C
        {
            static int First(int[] values)
            {
                IntPtr address;
                fixed (int* p = values)
                    address = (IntPtr)p;
                return *(int*)address;
            }
        }
        """);

    [Fact]
    public Task NativeMemoryFreed_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        unsafe class C
        {
            static int Read()
            {
                IntPtr memory = Marshal.AllocHGlobal(16);
                *(int*)memory = 5;
                int value = *(int*)memory;
                Marshal.FreeHGlobal(memory);
                return value;
            }
        }
        """);

    [Fact]
    public Task MemoryHandlePointerUsedInsideUsing_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Buffers;
        unsafe class C
        {
            static int First(Memory<int> memory)
            {
                using (MemoryHandle pin = memory.Pin())
                {
                    int* p = (int*)pin.Pointer;
                    return p[0];
                }
            }
        }
        """);

    // ------------------------------------------------------------------ run-time evidence (.NET 10)

    // A small array allocated behind dead ones in gen0: a compacting collection copies it out of gen0 unless it is
    // pinned. With the handle freed before the collections, the kept address no longer points at the array; freed
    // after them, the array stays.
    private const string MoveProbe = """
        using System;
        using System.Runtime.InteropServices;
        unsafe class Program
        {
            private static object s_sink;

            static string Run()
            {
                for (int j = 0; j < 100; j++)
                    s_sink = new int[64];
                s_sink = null;
                var values = new int[16];
                var handle = GCHandle.Alloc(values, GCHandleType.Pinned);
                IntPtr address = handle.AddrOfPinnedObject();
                /*EARLY*/
                bool moved = false;
                for (int i = 0; i < 10 && !moved; i++)
                {
                    GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
                    fixed (int* now = values) moved = (IntPtr)now != address;
                }
                /*LATE*/
                return moved ? "moved" : "stayed";
            }
        }
        """;

    [Fact]
    public void FreedBeforeTheCollections_ArrayMovesAwayFromTheAddress_FreedAfter_ItStays()
    {
        // Comparing the address is not a use: the probe itself is silent; the difference is what the rule is about.
        var early = Behaviour.RunInOwnProcess(MoveProbe.Replace("/*EARLY*/", "handle.Free();").Replace("/*LATE*/", string.Empty));
        var late = Behaviour.RunInOwnProcess(MoveProbe.Replace("/*EARLY*/", string.Empty).Replace("/*LATE*/", "handle.Free();"));
        Assert.Equal("stayed", late);
        Assert.Equal("moved", early);
    }
}
