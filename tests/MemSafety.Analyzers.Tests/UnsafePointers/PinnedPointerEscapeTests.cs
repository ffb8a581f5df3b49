using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.UnsafePointers;
using MemSafety.Analyzers.Tests.Verification;

namespace MemSafety.Analyzers.Tests.UnsafePointers;

public sealed class PinnedPointerEscapeTests
{
    // Roslyn's analysis result files these diagnostics as non-local (observed with Roslyn 4.14): the action that
    // reports them analyzes the fixed statement, and the diagnostic is at a use of the pointer after the block (the uses the fix moves into it), outside it. The testing
    // library refuses to fix non-local diagnostics, which an IDE may show only under full-solution analysis rather
    // than while the document is edited; its local-diagnostic check is left out for this class so that the fix is
    // still tested. Whether the rule should report where it is local is an open question, not settled by this harness.
    private static readonly VerifyWithOptions<PinnedPointerEscapeAnalyzer, MemSafety.CodeFixes.UnsafePointers.PinnedPointerEscapeFix> VerifyCS
        = new() { CodeFixTestBehaviors = Microsoft.CodeAnalysis.Testing.CodeFixTestBehaviors.SkipLocalDiagnosticCheck };

    // ------------------------------------------------------------------ reported

    [Fact]
    public Task PointerReturnedFromFixed_NoFix() => VerifyCS.NoFixAsync("""
        unsafe class C
        {
            static int* First(int[] values)
            {
                fixed (int* p = values)
                {
                    return [|p|];
                }
            }
        }
        """);

    [Fact]
    public Task MessageSaysWhatMovesAndWhy()
    {
        var test = Verify<PinnedPointerEscapeAnalyzer>.Test("""
            unsafe class C
            {
                private char* _text;

                void Keep(string s)
                {
                    fixed (char* {|#1:p = s|})
                    {
                        {|#0:_text = p|};
                    }
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA5001", 0).WithAdditionalLocation(1).WithMessage(
            "The pointer to 's' pinned by the fixed statement at line 7 is stored into field '_text' and still held there when the block ends: once the block ends the garbage collector can move the string, and the pointer then reads and writes whatever occupies the old address"));
        return test.RunAsync();
    }

    [Fact]
    public Task StoredIntoFieldAsIntPtr_NoFix() => VerifyCS.NoFixAsync("""
        using System;
        unsafe class C
        {
            private IntPtr _address;

            void Keep(byte[] buffer)
            {
                fixed (byte* p = &buffer[0])
                {
                    [|_address = (IntPtr)p|];
                }
            }
        }
        """);

    [Fact]
    public Task StoredIntoOutParameter() => VerifyCS.NoFixAsync("""
        unsafe class C
        {
            static void Address(double[] values, out double* result)
            {
                fixed (double* p = values)
                {
                    [|result = p + 1|];
                }
            }
        }
        """);

    // The two stores below are sinks PointerSinks (the prefilter that spares the graph of a fixed statement whose
    // pointers cannot leave it) must see: a by-value parameter outlives the block, an element of a field's array the call.

    [Fact]
    public Task StoredIntoByValueParameter_UsedAfterBlock_Reported() => VerifyCS.AnalyzerAsync("""
        unsafe class C
        {
            static int Next(int[] values, int* cursor)
            {
                fixed (int* p = values)
                {
                    cursor = p;
                }
                return [|*cursor|];
            }
        }
        """);

    [Fact]
    public Task StoredIntoElementOfFieldArray_NoFix() => VerifyCS.NoFixAsync("""
        using System;
        unsafe class C
        {
            private readonly IntPtr[] _slots = new IntPtr[1];

            void Keep(byte[] buffer)
            {
                fixed (byte* p = buffer)
                {
                    [|_slots[0] = (IntPtr)p|];
                }
            }
        }
        """);

    [Fact]
    public Task FieldOfClassPinned_ReturnedAsNint() => VerifyCS.NoFixAsync("""
        unsafe class Node
        {
            public long Value;

            static nint Address(Node node)
            {
                fixed (long* p = &node.Value)
                {
                    return [|(nint)p|];
                }
            }
        }
        """);

    [Fact]
    public Task UsedAfterBlock_Widened() => VerifyCS.CodeFixAsync("""
        unsafe class C
        {
            static int Sum(int[] values)
            {
                int* cursor;
                fixed (int* p = values)
                {
                    cursor = p;
                }

                int sum = [|cursor[0]|] + cursor[1];
                return sum;
            }
        }
        """, """
        unsafe class C
        {
            static int Sum(int[] values)
            {
                int* cursor;
                fixed (int* p = values)
                {
                    cursor = p;

                    int sum = cursor[0] + cursor[1];
                    return sum;
                }
            }
        }
        """);

    [Fact]
    public Task UsedAfterBlockThroughIntPtrAndSpan_Widened() => VerifyCS.CodeFixAsync("""
        using System;
        unsafe class C
        {
            static int Count(string text)
            {
                IntPtr start;
                fixed (char* p = text)
                    start = (IntPtr)p;
                var chars = [|new ReadOnlySpan<char>((void*)start, text.Length)|];
                return chars.IndexOf('x');
            }
        }
        """, """
        using System;
        unsafe class C
        {
            static int Count(string text)
            {
                IntPtr start;
                fixed (char* p = text)
                {
                    start = (IntPtr)p;
                    var chars = new ReadOnlySpan<char>((void*)start, text.Length);
                    return chars.IndexOf('x');
                }
            }
        }
        """);

    // Making a span from the kept pointer after the block is the use: from then on the span's reference is tracked.
    [Fact]
    public Task SpanMadeAfterBlock_ReportedAtItsCreation_Widened() => VerifyCS.CodeFixAsync("""
        using System;
        unsafe class C
        {
            static void Clear(byte[] data)
            {
                byte* start;
                fixed (byte* p = data)
                    start = p;
                var span = [|new Span<byte>(start, data.Length)|];
                span[0] = 0;
            }
        }
        """, """
        using System;
        unsafe class C
        {
            static void Clear(byte[] data)
            {
                byte* start;
                fixed (byte* p = data)
                {
                    start = p;
                    var span = new Span<byte>(start, data.Length);
                    span[0] = 0;
                }
            }
        }
        """);

    [Fact]
    public Task CapturedByStoredDelegate() => VerifyCS.NoFixAsync("""
        using System;
        unsafe class C
        {
            private Func<int> _reader;

            void M(int[] values)
            {
                fixed (int* p = values)
                {
                    int* q = p;
                    _reader = [|() => *q|];
                }
            }
        }
        """);

    [Fact]
    public Task NestedAndMultipleDeclarators_EachReported() => VerifyCS.NoFixAsync("""
        unsafe class C
        {
            private int* _a;
            private byte* _b;

            void M(int[] ints, byte[] bytes, string s)
            {
                fixed (int* a = ints, a2 = &ints[1])
                {
                    fixed (byte* b = bytes)
                    {
                        [|_b = b|];
                        [|_a = a2|];
                    }
                }
            }
        }
        """);

    [Fact]
    public Task UsedOutsideTheStatementListOfTheBlock_NoFix() => VerifyCS.NoFixAsync("""
        unsafe class C
        {
            static int M(int[] values)
            {
                int* q = null;
                if (values.Length > 0)
                {
                    fixed (int* p = values) { q = p; }
                }

                return [|*q|];
            }
        }
        """);

    [Fact]
    public Task UsedAfterBlock_DeclarationsMoveWithTheirUses() => VerifyCS.CodeFixAsync("""
        unsafe class C
        {
            static int M(int[] values)
            {
                int* q;
                fixed (int* p = values) { q = p; }
                int first = [|*q|];
                int twice = first * 2;
                return twice;
            }
        }
        """, """
        unsafe class C
        {
            static int M(int[] values)
            {
                int* q;
                fixed (int* p = values)
                {
                    q = p;
                    int first = *q;
                    int twice = first * 2;
                    return twice;
                }
            }
        }
        """);

    // ------------------------------------------------------------------ not reported

    [Fact]
    public Task UsedOnlyInsideBlock_NoDiagnostic() => VerifyCS.NoFixAsync("""
        unsafe class C
        {
            static int Sum(int[] values)
            {
                int sum = 0;
                fixed (int* p = values)
                {
                    int* q = p;
                    for (int i = 0; i < values.Length; i++) sum += q[i];
                }
                return sum;
            }
        }
        """);

    // A span holds a managed reference, which the collector reports and updates: made inside the block, it follows
    // the array when a collection moves it after the block (.NET 10, standalone: 20 of 20 arrays moved after their
    // fixed block, every span followed its array and read the right value). So neither returning nor using it is a
    // GC hole.
    [Fact]
    public Task SpanMadeInsideBlock_ReturnedOrUsedAfter_TrackedByTheCollector_NoDiagnostic() => VerifyCS.NoFixAsync("""
        using System;
        unsafe class C
        {
            static Span<int> All(int[] values)
            {
                fixed (int* p = values)
                    return new Span<int>(p, values.Length);
            }

            static int Second(int[] values)
            {
                Span<int> span;
                fixed (int* p = values)
                    span = new Span<int>(p, values.Length);
                return span[1];
            }
        }
        """);

    [Fact]
    public Task FieldClearedBeforeBlockEnds_NoDiagnostic() => VerifyCS.NoFixAsync("""
        unsafe class C
        {
            private byte* _current;

            void Run(byte[] data)
            {
                fixed (byte* p = data)
                {
                    _current = p;
                    Work();
                    _current = null;
                }
            }

            void Work() { }
        }
        """);

    [Fact]
    public Task OffsetComputedAfterBlock_NoDiagnostic() => VerifyCS.NoFixAsync("""
        unsafe class C
        {
            static int Parsed(char[] text)
            {
                char* start, end;
                fixed (char* p = text)
                {
                    start = p;
                    end = p;
                    while (end < p + text.Length && *end != ' ') end++;
                }
                return (int)(end - start);
            }
        }
        """);

    [Fact]
    public Task FixedOverSpan_UnknownMemory_NoDiagnostic() => VerifyCS.NoFixAsync("""
        using System;
        unsafe class C
        {
            private byte* _p;
            void M(Span<byte> span)
            {
                fixed (byte* p = span) { _p = p; }
                fixed (byte* p = &span.GetPinnableReference()) { _p = p; }
            }
        }
        """);

    [Fact]
    public Task PinnedObjectHeapArray_NoDiagnostic() => VerifyCS.NoFixAsync("""
        using System;
        unsafe class C
        {
            private readonly byte[] _buffer = GC.AllocateArray<byte>(4096, pinned: true);
            private byte* _p;
            void M()
            {
                fixed (byte* p = _buffer) { _p = p; }
            }
        }
        """);

    // The engine reads the type's text for the allocator's name before it walks the type's nodes; a Unicode escape in
    // the name (the same identifier to the compiler) must not hide it.
    [Fact]
    public Task PinnedObjectHeapArray_NameWithUnicodeEscape_NoDiagnostic() => VerifyCS.NoFixAsync("""
        using System;
        unsafe class C
        {
            private readonly byte[] _buffer = GC.\u0041llocateArray<byte>(4096, pinned: true);
            private byte* _p;
            void M()
            {
                fixed (byte* p = _buffer) { _p = p; }
            }
        }
        """);

    [Fact]
    public Task ConstantString_Frozen_NoDiagnostic() => VerifyCS.NoFixAsync("""
        unsafe class C
        {
            static char* Hello()
            {
                fixed (char* p = "hello") { return p; }
            }
        }
        """);

    // System.Private.Xml's XmlUtf8RawTextWriter.WriteNewLine: called with a pointer into _bufBytes from inside the
    // caller's fixed over _bufBytes, whose pin keeps the returned pointer valid.
    [Fact]
    public Task ReturnedIntoCallersPinnedBuffer_NoDiagnostic() => VerifyCS.NoFixAsync("""
        unsafe class Writer
        {
            private byte[] _buf = new byte[64];
            private int _pos;

            byte* WriteNewLine(byte* dst)
            {
                fixed (byte* start = _buf)
                {
                    _pos = (int)(dst - start);
                    return start + _pos;
                }
            }
        }
        """);

    // The exemption above rests on the difference 'dst - start', which ties the caller's pointer to the pinned buffer;
    // a pointer parameter that is not compared with the pinned pointer says nothing about the caller's pins.
    [Fact]
    public Task ReturnedFromMethodWithUnrelatedPointerParameter_NoFix() => VerifyCS.NoFixAsync("""
        unsafe class Writer
        {
            private byte[] _buf = new byte[64];

            byte* Start(byte* scratch, int offset)
            {
                fixed (byte* start = _buf)
                {
                    *scratch = start[0];
                    return [|start + offset|];
                }
            }
        }
        """);

    [Fact]
    public Task PassedToCallsInsideBlock_NoDiagnostic() => VerifyCS.NoFixAsync("""
        using System;
        using System.Runtime.InteropServices;
        unsafe class C
        {
            [DllImport("libc")] static extern nint strlen(byte* s);
            static nint M(byte[] s)
            {
                fixed (byte* p = s)
                {
                    var span = new Span<byte>(p, s.Length);
                    span[0] = 1;
                    return strlen(p);
                }
            }
        }
        """);

    [Fact]
    public Task FixedLocalCapturedByLambda_CompilerReportsCS1764_NoDiagnostic()
    {
        const string source = """
            using System;
            unsafe class C
            {
                private Func<int> _f;
                void M(int[] a)
                {
                    fixed (int* p = a) { _f = () => *p; }
                }
            }
            """;
        CompilerDiagnostics.AssertCompilerReports(source, "CS1764");
        var test = VerifyCS.Test(source, source);
        test.AllowCompilerErrors = true;
        test.ExpectNoFix = true;
        return test.RunAsync();
    }

    [Fact]
    public Task AddressOfUnfixedArrayElement_CompilerReportsCS0212_NoDiagnostic()
    {
        const string source = """
            unsafe class C
            {
                static int* M(int[] a) { return &a[0]; }
            }
            """;
        CompilerDiagnostics.AssertCompilerReports(source, "CS0212");
        var test = VerifyCS.Test(source, source);
        test.AllowCompilerErrors = true;
        test.ExpectNoFix = true;
        return test.RunAsync();
    }

    [Fact]
    public Task IncompleteFixed_NoCrash_NoDiagnostic()
    {
        var test = VerifyCS.Test("""
            unsafe class C
            {
                private int* _p;
                void M(int[] a)
                {
                    fixed (int* p = a, q = ) { _p = 
                }
            }
            """, "");
        test.AllowCompilerErrors = true;
        test.ExpectNoFix = true;
        return test.RunAsync();
    }

    [Fact]
    public Task PointersInLambdasAndLocalFunctions_NoDiagnostic() => VerifyCS.NoFixAsync("""
        using System;
        unsafe class C
        {
            static int M(int[] a)
            {
                Func<int> f = () => { fixed (int* p = a) { return *p; } };
                return f() + Local();
                int Local() { fixed (int* p = a) { int* q = p; return q[0]; } }
            }
        }
        """);

    // ------------------------------------------------------------------ behaviour

    // Collections that compact the heap move a live, unpinned array (it is promoted out of gen0 by copying): after
    // the fixed block the kept pointer no longer points at the array (a GC hole), which the original observes within
    // a few forced compacting collections (.NET 10). Widened, the collections run while the array is pinned.
    private const string UseAfterFixed = """
        using System;
        using System.Runtime;
        unsafe class Program
        {
            private static object s_sink;

            static string Run()
            {
                // Large enough for the large object heap, behind a dead large array: a compaction of that heap
                // (asked for below) slides it down into the dead one's space.
                var junk = new int[100_000];
                var values = new int[100_000];
                values[1] = 20;
                s_sink = junk;
                s_sink = null;
                int* cursor;
                fixed (int* p = values)
                {
                    cursor = p;
                }

                bool moved = false;
                for (int i = 0; i < 10 && !moved; i++)
                {
                    GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
                    GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
                    fixed (int* now = values) moved = now != cursor;
                }

                return moved + ":" + (moved ? "?" : [|cursor[1]|].ToString());
            }
        }
        """;

    private const string UseAfterFixedWidened = """
        using System;
        using System.Runtime;
        unsafe class Program
        {
            private static object s_sink;

            static string Run()
            {
                // Large enough for the large object heap, behind a dead large array: a compaction of that heap
                // (asked for below) slides it down into the dead one's space.
                var junk = new int[100_000];
                var values = new int[100_000];
                values[1] = 20;
                s_sink = junk;
                s_sink = null;
                int* cursor;
                fixed (int* p = values)
                {
                    cursor = p;

                    bool moved = false;
                    for (int i = 0; i < 10 && !moved; i++)
                    {
                        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
                        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
                        fixed (int* now = values) moved = now != cursor;
                    }

                    return moved + ":" + (moved ? "?" : cursor[1].ToString());
                }
            }
        }
        """;

    [Fact]
    public Task UseAfterFixed_FixWidensBlock() => VerifyCS.CodeFixAsync(UseAfterFixed, UseAfterFixedWidened);

    // In a standalone .NET 10 process the original reports "True:?" within the first collections (the array moved
    // away from the kept pointer); inside the test host the same collections did not move it, so only the fixed
    // code's guarantee is asserted here: pinned through every compacting collection, it reads the right value.
    [Fact]
    public void UseAfterFixed_Widened_ArrayStaysPinnedThroughCompactingCollections()
    {
        Assert.Equal("False:20", Behaviour.RunInOwnProcess(UseAfterFixedWidened));
        // The original's result depends on what the collections did: "True:?" (moved, standalone), "False:20" (not
        // moved) and once "False:0" in the test host (a wrong read through the kept pointer). Not asserted.
    }
}
