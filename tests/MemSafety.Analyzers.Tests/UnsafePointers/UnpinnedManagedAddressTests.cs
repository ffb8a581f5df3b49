using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.UnsafePointers;
using MemSafety.Analyzers.Tests.Verification;
using VerifyCS = MemSafety.Analyzers.Tests.Verification.Verify<MemSafety.Analyzers.Rules.UnsafePointers.UnpinnedManagedAddressAnalyzer, MemSafety.CodeFixes.UnsafePointers.UnpinnedManagedAddressFix>;

namespace MemSafety.Analyzers.Tests.UnsafePointers;

public sealed class UnpinnedManagedAddressTests
{
    // ------------------------------------------------------------------ reported

    [Fact]
    public Task ArrayElementUsedInLaterStatements_FixedAroundUses() => VerifyCS.CodeFixAsync("""
        using System.Runtime.CompilerServices;
        unsafe class C
        {
            private int[] _values = new int[4];

            int Sum()
            {
                int* p = (int*)[|Unsafe.AsPointer(ref _values[0])|];
                int sum = p[0] + p[1];
                sum += p[2];
                return sum;
            }
        }
        """, """
        using System.Runtime.CompilerServices;
        unsafe class C
        {
            private int[] _values = new int[4];

            int Sum()
            {
                fixed (int* p = &_values[0])
                {
                    int sum = p[0] + p[1];
                    sum += p[2];
                    return sum;
                }
            }
        }
        """);

    [Fact]
    public Task MessageSaysWhatMovesAndWhy()
    {
        var test = Verify<UnpinnedManagedAddressAnalyzer>.Test("""
            using System.Runtime.CompilerServices;
            unsafe class C
            {
                private long _state;

                static void Use(void* p) { }

                void M()
                {
                    void* p = {|#0:Unsafe.AsPointer(ref _state)|};
                    {|#1:Use(p)|};
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA5003", 0).WithAdditionalLocation(1).WithMessage(
            "The pointer to '_state' from Unsafe.AsPointer is passed to a call ('Use(p)' at line 11), but nothing pins the object: a garbage collection can move the object before the pointer is used, and the pointer then reads and writes whatever occupies the old address"));
        return test.RunAsync();
    }

    [Fact]
    public Task FieldPassedToCall_FixedAroundStatement() => VerifyCS.CodeFixAsync("""
        using System.Runtime.CompilerServices;
        unsafe class Counter
        {
            private long _count;

            static void Increment(void* counter) => *(long*)counter += 1;

            void Tick()
            {
                Increment([|Unsafe.AsPointer(ref _count)|]);
            }
        }
        """, """
        using System.Runtime.CompilerServices;
        unsafe class Counter
        {
            private long _count;

            static void Increment(void* counter) => *(long*)counter += 1;

            void Tick()
            {
                fixed (void* p = &_count)
                {
                    Increment(p);
                }
            }
        }
        """);

    [Fact]
    public Task ReturnedPointer_NoFix() => VerifyCS.NoFixAsync("""
        using System.Runtime.CompilerServices;
        unsafe class C
        {
            private int[] _table = new int[8];

            int* Entry(int i)
            {
                return (int*)[|Unsafe.AsPointer(ref _table[i])|];
            }
        }
        """);

    [Fact]
    public Task StoredInField_NoFix() => VerifyCS.NoFixAsync("""
        using System.Runtime.CompilerServices;
        unsafe class C
        {
            private byte[] _buffer = new byte[16];
            private byte* _cursor;

            void Reset()
            {
                _cursor = (byte*)[|Unsafe.AsPointer(ref _buffer[0])|];
            }
        }
        """);

    [Fact]
    public Task ArrayDataReferenceInLoop_FixedAroundLoop() => VerifyCS.CodeFixAsync("""
        using System.Runtime.CompilerServices;
        using System.Runtime.InteropServices;
        unsafe class C
        {
            static void Clear(byte[] data)
            {
                byte* p = (byte*)[|Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(data))|];
                for (int i = 0; i < data.Length; i++)
                    p[i] = 0;
            }
        }
        """, """
        using System.Runtime.CompilerServices;
        using System.Runtime.InteropServices;
        unsafe class C
        {
            static void Clear(byte[] data)
            {
                fixed (byte* p = &MemoryMarshal.GetArrayDataReference(data))
                {
                    for (int i = 0; i < data.Length; i++)
                        p[i] = 0;
                }
            }
        }
        """);

    [Fact]
    public Task GetReferenceOfArraySpanThroughUnsafeAdd_PassedToCall() => VerifyCS.CodeFixAsync("""
        using System;
        using System.Runtime.CompilerServices;
        using System.Runtime.InteropServices;
        unsafe class C
        {
            static void Copy(byte[] source, byte* destination)
            {
                Buffer.MemoryCopy([|Unsafe.AsPointer(ref Unsafe.Add(ref MemoryMarshal.GetReference(source.AsSpan()), 4))|], destination, 4, 4);
            }
        }
        """, """
        using System;
        using System.Runtime.CompilerServices;
        using System.Runtime.InteropServices;
        unsafe class C
        {
            static void Copy(byte[] source, byte* destination)
            {
                fixed (void* p = &Unsafe.Add(ref MemoryMarshal.GetReference(source.AsSpan()), 4))
                {
                    Buffer.MemoryCopy(p, destination, 4, 4);
                }
            }
        }
        """);

    [Fact]
    public Task ThroughNintAndSpan_UsedLater_NoFixForIntegerLocal() => VerifyCS.NoFixAsync("""
        using System;
        using System.Runtime.CompilerServices;
        unsafe class C
        {
            private int[] _values = new int[4];

            void M()
            {
                nint address = (nint)[|Unsafe.AsPointer(ref _values[1])|];
                var span = new Span<int>((void*)address, 2);
                span[0] = 1;
            }

            // Made in the same expression, the span's reference is tracked by the collector from then on.
            void SameExpression()
            {
                var span = new Span<int>(Unsafe.AsPointer(ref _values[0]), 4);
                span[1] = 2;
            }
        }
        """);

    [Fact]
    public Task FieldOfStructElementOfArray_Reported() => VerifyCS.CodeFixAsync("""
        using System.Runtime.CompilerServices;
        unsafe class C
        {
            struct Point { public int X, Y; }

            static int M(Point[] points)
            {
                int* x = (int*)[|Unsafe.AsPointer(ref points[0].X)|];
                *x = 3;
                return *x;
            }
        }
        """, """
        using System.Runtime.CompilerServices;
        unsafe class C
        {
            struct Point { public int X, Y; }

            static int M(Point[] points)
            {
                fixed (int* x = &points[0].X)
                {
                    *x = 3;
                    return *x;
                }
            }
        }
        """);

    [Fact]
    public Task PointerLocalWritten_NoFix() => VerifyCS.NoFixAsync("""
        using System.Runtime.CompilerServices;
        unsafe class C
        {
            static int M(int[] values)
            {
                int* p = (int*)[|Unsafe.AsPointer(ref values[0])|];
                int sum = 0;
                for (int i = 0; i < values.Length; i++)
                    sum += *p++;
                return sum;
            }
        }
        """);

    [Fact]
    public Task CapturedByStoredDelegate_NoFix() => VerifyCS.NoFixAsync("""
        using System;
        using System.Runtime.CompilerServices;
        unsafe class C
        {
            private int[] _values = new int[4];
            private Func<int> _reader;

            void M()
            {
                int* p = (int*)[|Unsafe.AsPointer(ref _values[0])|];
                _reader = () => *p;
            }
        }
        """);

    [Fact]
    public Task FixAll_TwoMethods() => VerifyCS.CodeFixAsync("""
        using System.Runtime.CompilerServices;
        unsafe class C
        {
            private int[] _a = new int[2];
            private long _b;

            static void Use(void* p) { }

            int First()
            {
                int* p = (int*)[|Unsafe.AsPointer(ref _a[0])|];
                return *p;
            }

            void Second() => Use(null);

            void Third()
            {
                Use([|Unsafe.AsPointer(ref _b)|]);
            }
        }
        """, """
        using System.Runtime.CompilerServices;
        unsafe class C
        {
            private int[] _a = new int[2];
            private long _b;

            static void Use(void* p) { }

            int First()
            {
                fixed (int* p = &_a[0])
                {
                    return *p;
                }
            }

            void Second() => Use(null);

            void Third()
            {
                fixed (void* p = &_b)
                {
                    Use(p);
                }
            }
        }
        """);

    // ------------------------------------------------------------------ not reported

    [Fact]
    public Task DereferencedInTheSameExpression_NoDiagnostic() => VerifyCS.NoFixAsync("""
        using System.Runtime.CompilerServices;
        unsafe class C
        {
            private int[] _values = new int[4];
            private int _count;

            void M()
            {
                *(int*)Unsafe.AsPointer(ref _values[0]) = 5;
                ref int count = ref Unsafe.AsRef<int>(Unsafe.AsPointer(ref _count));
                count++;
            }
        }
        """);

    [Fact]
    public Task AddressOnlyComparedOrMasked_NoDiagnostic() => VerifyCS.NoFixAsync("""
        using System.Runtime.CompilerServices;
        unsafe class C
        {
            static int Misalignment(byte[] data)
            {
                nuint offset = (nuint)Unsafe.AsPointer(ref data[0]) & 31;
                byte* start = (byte*)Unsafe.AsPointer(ref data[0]);
                byte* end = (byte*)Unsafe.AsPointer(ref data[data.Length - 1]);
                return (int)offset + (int)(end - start);
            }
        }
        """);

    [Fact]
    public Task LocalsAndByValueParameters_StackNotMovable_NoDiagnostic() => VerifyCS.NoFixAsync("""
        using System.Runtime.CompilerServices;
        unsafe class C
        {
            struct Pair { public int A, B; }
            static void Use(void* p) { }

            static int M(int value)
            {
                Pair pair = default;
                int* p = (int*)Unsafe.AsPointer(ref pair.B);
                Use(p);
                Use(Unsafe.AsPointer(ref value));
                return *p;
            }
        }
        """);

    [Fact]
    public Task RefParameterAndRefLocal_UnknownTarget_NoDiagnostic() => VerifyCS.NoFixAsync("""
        using System;
        using System.Runtime.CompilerServices;
        using System.Runtime.InteropServices;
        unsafe class C
        {
            static void Use(void* p) { }

            static void M(ref int target, Span<int> span, int[] values)
            {
                int* p = (int*)Unsafe.AsPointer(ref target);
                Use(p);
                Use(Unsafe.AsPointer(ref MemoryMarshal.GetReference(span)));
                ref int first = ref values[0];
                Use(Unsafe.AsPointer(ref first));
            }
        }
        """);

    [Fact]
    public Task StaticFields_StorageDoesNotMove_NoDiagnostic() => VerifyCS.NoFixAsync("""
        using System.Runtime.CompilerServices;
        unsafe class C
        {
            private static long s_total;
            static void Use(void* p) { }

            static void M()
            {
                long* p = (long*)Unsafe.AsPointer(ref s_total);
                Use(p);
            }
        }
        """);

    [Fact]
    public Task ArrayAllocatedPinned_NoDiagnostic() => VerifyCS.NoFixAsync("""
        using System;
        using System.Runtime.CompilerServices;
        unsafe class C
        {
            private readonly byte[] _buffer = GC.AllocateUninitializedArray<byte>(4096, pinned: true);
            private byte* _cursor;

            void M()
            {
                var local = GC.AllocateArray<int>(16, pinned: true);
                _cursor = (byte*)Unsafe.AsPointer(ref _buffer[0]);
                int* p = (int*)Unsafe.AsPointer(ref local[0]);
                *p = 1;
            }
        }
        """);

    [Fact]
    public Task InsideFixedOrPinnedHandleOfTheSameObject_NoDiagnostic() => VerifyCS.NoFixAsync("""
        using System.Runtime.CompilerServices;
        using System.Runtime.InteropServices;
        unsafe class C
        {
            private int _a;
            private int _b;
            static void Use(void* p) { }

            void M(int[] values, byte[] bytes)
            {
                fixed (int* start = values)
                {
                    int* second = (int*)Unsafe.AsPointer(ref values[1]);
                    Use(second);
                }

                fixed (int* a = &_a)
                {
                    Use(Unsafe.AsPointer(ref _b));
                }

                var handle = GCHandle.Alloc(bytes, GCHandleType.Pinned);
                try
                {
                    byte* p = (byte*)Unsafe.AsPointer(ref bytes[0]);
                    Use(p);
                }
                finally
                {
                    handle.Free();
                }
            }
        }
        """);

    // Decompiled System.Private.Xml (XmlUtf8RawTextWriter.WriteCommentOrPi): ILSpy shows the compiler's pinned
    // array local as a fixed local of array type (not valid C#: CS0209), and the element address through it.
    [Fact]
    public Task ElementOfAFixedArrayLocal_Pinned_NoDiagnostic()
    {
        const string source = """
            using System.Runtime.CompilerServices;
            unsafe class C
            {
                private byte[] _buf = new byte[8];
                static void Use(byte* p) { }

                void M()
                {
                    byte[] bufBytes = _buf;
                    fixed (byte[] array = bufBytes)
                    {
                        byte* p = (byte*)((bufBytes != null && array.Length != 0) ? Unsafe.AsPointer(ref array[0]) : null);
                        Use(p + 1);
                    }
                }
            }
            """;
        var test = VerifyCS.Test(source, source);
        test.AllowCompilerErrors = true;
        test.ExpectNoFix = true;
        return test.RunAsync();
    }

    [Fact]
    public Task FieldOfStructThis_MayBeOnTheStack_NoDiagnostic() => VerifyCS.NoFixAsync("""
        using System.Runtime.CompilerServices;
        unsafe struct S
        {
            private int _x;
            static void Use(void* p) { }
            void M() { Use(Unsafe.AsPointer(ref _x)); }
        }
        """);

    [Fact]
    public Task IncompleteCode_NoCrash()
    {
        var test = VerifyCS.Test("""
            using System.Runtime.CompilerServices;
            unsafe class C
            {
                private int[] _a;
                void M()
                {
                    int* p = (int*)Unsafe.AsPointer(ref _a[);
                    Use(Unsafe.AsPointer(ref ));
                }
            }
            """, "");
        test.AllowCompilerErrors = true;
        test.ExpectNoFix = true;
        return test.RunAsync();
    }

    // ------------------------------------------------------------------ behaviour

    // A compacting collection moves a live, unpinned small array (gen0 survivors are copied when they are promoted),
    // so the address Unsafe.AsPointer took before it no longer points at the array. Fixed, the collections run while
    // the array is pinned: it stays, and the read through the pointer is right. The same two methods as a standalone
    // .NET 10 program (Debug and Release) print "20:0" for the original (moved in each of 20 trials) and "0:400" for
    // the fixed code (docs/rules/MSA5003.md).
    private const string MovedBetweenStatements = """
        using System;
        using System.Runtime.CompilerServices;
        unsafe class Program
        {
            private static object s_sink;

            static string Run()
            {
                int moved = 0, sum = 0;
                for (int trial = 0; trial < 20; trial++)
                {
                    s_sink = new int[1000];
                    var values = new int[1000];
                    values[1] = 20;
                    s_sink = null;
                    int* p = (int*)[|Unsafe.AsPointer(ref values[1])|];
                    GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
                    bool stale = p != (int*)Unsafe.AsPointer(ref values[1]);
                    if (stale)
                        moved++;
                    else
                        sum += *p;
                }

                return moved + ":" + sum;
            }
        }
        """;

    private const string MovedBetweenStatementsFixed = """
        using System;
        using System.Runtime.CompilerServices;
        unsafe class Program
        {
            private static object s_sink;

            static string Run()
            {
                int moved = 0, sum = 0;
                for (int trial = 0; trial < 20; trial++)
                {
                    s_sink = new int[1000];
                    var values = new int[1000];
                    values[1] = 20;
                    s_sink = null;
                    fixed (int* p = &values[1])
                    {
                        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
                        bool stale = p != (int*)Unsafe.AsPointer(ref values[1]);
                        if (stale)
                            moved++;
                        else
                            sum += *p;
                    }
                }

                return moved + ":" + sum;
            }
        }
        """;

    [Fact]
    public Task MovedBetweenStatements_FixPinsAroundUses() => VerifyCS.CodeFixAsync(MovedBetweenStatements, MovedBetweenStatementsFixed);

    [Fact]
    public void MovedBetweenStatements_FixedArrayStaysThroughCompactingCollections()
    {
        Assert.Equal("0:400", Behaviour.RunInOwnProcess(MovedBetweenStatementsFixed));
        // The original's result depends on what the collections (ours and those of tests running in parallel) did:
        // standalone "20:0" (moved in every trial); in the test host "0:380" and "0:320", reads that found 0 instead
        // of 20 because a collection moved the array between the comparison and the read. Not asserted.
    }
}
