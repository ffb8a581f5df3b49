using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.UnsafePointers;
using MemSafety.Analyzers.Tests.Verification;
using Microsoft.CodeAnalysis;

namespace MemSafety.Analyzers.Tests.UnsafePointers;

public sealed class UnsafeContextHidesRefSafetyErrorTests
{
    private static AnalyzerTest Test(string source) => Verify<UnsafeContextHidesRefSafetyErrorAnalyzer>.Test(source);

    // ------------------------------------------------------------------ reported

    [Fact]
    public Task StackallocSpanReturnedFromUnsafeMethod_MessageNamesTheCompilerWarning()
    {
        var test = Test("""
            using System;
            class Buffers
            {
                {|#0:unsafe|} Span<int> Scratch()
                {
                    Span<int> s = stackalloc int[4];
                    int* p = stackalloc int[1];
                    return {|#1:s|};
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA5006", 0).WithAdditionalLocation(1).WithMessage(
            "'unsafe' on method 'Scratch' turns the compiler's ref-safety error on line 8 into warning CS9080 ('Use of variable 's' in this context may expose referenced variables outside of their declaration scope'): outside an unsafe context the compiler refuses this code, because the reference or span can outlive the memory it points to and be read after that memory is reused; fix what CS9080 names, and keep 'unsafe' to the statements that need pointers"));
        return test.RunAsync();
    }

    [Fact]
    public Task RefToLocalReturnedFromUnsafeBlock_ReportedAtTheBlock()
    {
        var test = Test("""
            class Counters
            {
                ref int Next()
                {
                    int x = 1;
                    {|#0:unsafe|}
                    {
                        return ref {|#1:x|};
                    }
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA5006", 0).WithAdditionalLocation(1).WithMessage(
            "The unsafe block turns the compiler's ref-safety error on line 8 into warning CS9091 ('This returns local 'x' by reference but it is not a ref local'): outside an unsafe context the compiler refuses this code, because the reference or span can outlive the memory it points to and be read after that memory is reused; fix what CS9091 names, and keep 'unsafe' to the statements that need pointers"));
        return test.RunAsync();
    }

    [Fact]
    public Task ByValueParameterReturnedByReference_Reported()
    {
        var test = Test("""
            class Cells
            {
                {|#0:unsafe|} ref int Cell(int value) => ref {|#1:value|};
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA5006", 0).WithAdditionalLocation(1));
        return test.RunAsync();
    }

    [Fact]
    public Task UnsafeStructReturnsThisFieldByReference_ReportedAtTheType()
    {
        var test = Test("""
            {|#0:unsafe|} struct Vector
            {
                private int _x;
                public ref int X() => ref {|#1:_x|};
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA5006", 0).WithAdditionalLocation(1).WithMessage(
            "'unsafe' on type 'Vector' turns the compiler's ref-safety error on line 4 into warning CS9084 ('Struct member returns 'this' or other instance members by reference'): outside an unsafe context the compiler refuses this code, because the reference or span can outlive the memory it points to and be read after that memory is reused; fix what CS9084 names, and keep 'unsafe' to the statements that need pointers"));
        return test.RunAsync();
    }

    [Fact]
    public Task UnsafeTypeWithAdjacentAndSeparateMembersWorthAsking_EveryWarningCounted()
    {
        // A and B are asked about in one span, C in another (Plain, between them, is not asked about).
        var test = Test("""
            {|#0:unsafe|} struct Triple
            {
                private int _a;
                public ref int A() => ref {|#1:_a|};
                public ref int B() { return ref {|#2:_a|}; }
                public int Plain() => _a;
                public ref int C() => ref {|#3:_a|};
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA5006", 0).WithAdditionalLocation(1).WithAdditionalLocation(2).WithAdditionalLocation(3));
        return test.RunAsync();
    }

    [Fact]
    public Task RefStructConstructorKeepsStackalloc_Reported()
    {
        var test = Test("""
            using System;
            ref struct Window
            {
                private Span<byte> _bytes;
                public {|#0:unsafe|} Window(int size) { _bytes = {|#1:stackalloc byte[size]|}; }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA5006", 0).WithAdditionalLocation(1));
        return test.RunAsync();
    }

    [Fact]
    public Task UnsafeLocalFunctionReturnsLocalByReference_ReportedAtTheLocalFunction()
    {
        var test = Test("""
            class Host
            {
                int Run()
                {
                    return Local();
                    {|#0:unsafe|} ref int Local() { int y = 2; return ref {|#1:y|}; }
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA5006", 0).WithAdditionalLocation(1));
        return test.RunAsync();
    }

    [Fact]
    public Task ParameterRefAssignedToLocal_Reported()
    {
        var test = Test("""
            class Rebinder
            {
                {|#0:unsafe|} void Rebind(ref int target)
                {
                    int local = 5;
                    {|#1:target = ref local|};
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA5006", 0).WithAdditionalLocation(1));
        return test.RunAsync();
    }

    [Fact]
    public Task TwoWarningsInOneMethod_OneDiagnosticThatCountsBoth()
    {
        var test = Test("""
            using System;
            class Pair
            {
                {|#0:unsafe|} Span<int> Either(bool first, ref int other)
                {
                    int local = 1;
                    {|#2:other = ref local|};
                    Span<int> s = stackalloc int[2];
                    return {|#1:s|};
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA5006", 0).WithAdditionalLocation(2).WithAdditionalLocation(1).WithMessage(
            "'unsafe' on method 'Either' turns the compiler's ref-safety error on line 7 into warning CS9085 ('This ref-assigns 'local' to 'other' but 'local' has a narrower escape scope than 'other'.') (and 1 more: CS9080 on line 9): outside an unsafe context the compiler refuses this code, because the reference or span can outlive the memory it points to and be read after that memory is reused; fix what CS9085 names, and keep 'unsafe' to the statements that need pointers"));
        return test.RunAsync();
    }

    [Fact]
    public Task UnsafeBlockInsideUnsafeMethod_ReportedAtTheInnermost()
    {
        var test = Test("""
            class Nested
            {
                unsafe int Outer(int* p)
                {
                    int value = *p;
                    return Inner();
                    ref int Inner()
                    {
                        int z = value;
                        {|#0:unsafe|} { return ref {|#1:z|}; }
                    }
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA5006", 0).WithAdditionalLocation(1));
        return test.RunAsync();
    }

    [Fact]
    public Task UnsafePropertyGetter_Reported()
    {
        var test = Test("""
            using System;
            class Scratch
            {
                {|#0:unsafe|} Span<char> Chars
                {
                    get { Span<char> c = stackalloc char[8]; return {|#1:c|}; }
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA5006", 0).WithAdditionalLocation(1));
        return test.RunAsync();
    }

    [Fact]
    public Task SpanMadeOverALocalByRefReturned_Reported()
    {
        var test = Test("""
            using System;
            class Views
            {
                {|#0:unsafe|} Span<int> View() { int z = 0; return new Span<int>(ref {|#1:z|}); }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA5006", 0).WithAdditionalLocation(1));
        return test.RunAsync();
    }

    [Fact]
    public Task StackallocSpanHandedToARefStructTheCallerOwns_Reported()
    {
        // The shape of interop marshalling code: a scratch span given to a ref struct that lives in the caller's frame.
        var test = Test("""
            using System;
            ref struct Writer
            {
                private Span<byte> _destination;
                public void Use(Span<byte> buffer) => _destination = buffer;
            }
            static class Encoder
            {
                public static void Prepare(ref Writer writer)
                {
                    Span<byte> scratch = stackalloc byte[16];
                    {|#0:unsafe|}
                    {
                        writer.Use({|#1:scratch|});
                    }
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA5006", 0).WithAdditionalLocation(1));
        return test.RunAsync();
    }

    // The calls whose ref argument makes a member worth asking: each case below is found only through that argument
    // (no ref return, ref assignment, span stackalloc or scoped in the member), so each fails if the check of the
    // call's signature drops it.

    [Fact]
    public Task RefArgumentToACallReturningARefStruct_ResultReturned_Reported()
    {
        var test = Test("""
            using System;
            class Views
            {
                static Span<int> Wrap(ref int x) => new Span<int>(ref x);
                {|#0:unsafe|} Span<int> View() { int z = 0; return Wrap(ref {|#1:z|}); }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA5006", 0).WithAdditionalLocation(1));
        return test.RunAsync();
    }

    [Fact]
    public Task RefArgumentOfARefStructParameter_ArgumentsMustMatch_Reported()
    {
        var test = Test("""
            using System;
            class Spans
            {
                static int Swap(ref Span<int> target, Span<int> source) { target = source; return 0; }
                {|#0:unsafe|} int Run(ref Span<int> target)
                {
                    int z = 0;
                    Span<int> local = new Span<int>(ref z);
                    int n;
                    n = Swap(ref target, {|#1:local|});
                    return n;
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA5006", 0).WithAdditionalLocation(1));
        return test.RunAsync();
    }

    [Fact]
    public Task RefArgumentToAMethodOfARefStructReceiver_Reported()
    {
        var test = Test("""
            ref struct Cursor
            {
                private ref int _at;
                public int Point([System.Diagnostics.CodeAnalysis.UnscopedRef] ref int at) { _at = ref at; return 0; }
            }
            static class Walker
            {
                static {|#0:unsafe|} int Run(ref Cursor cursor)
                {
                    int z = 0;
                    int n;
                    n = cursor.Point(ref {|#1:z|});
                    return n;
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA5006", 0).WithAdditionalLocation(1));
        return test.RunAsync();
    }

    [Fact]
    public Task WarningRaisedToErrorByThePreset_StillReported()
    {
        var test = Test("""
            using System;
            class Buffers
            {
                {|#0:unsafe|} Span<int> Scratch() { Span<int> s = stackalloc int[4]; return {|#1:s|}; }
            }
            """);
        test.AllowCompilerErrors = true;
        test.DiagnosticSeverities["CS9080"] = ReportDiagnostic.Error;
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA5006", 0).WithAdditionalLocation(1));
        return test.RunAsync();
    }

    /// <summary>What the downgraded error lets through, run on .NET 10: the span a method returns over its own
    /// stackalloc sees the stack frame of the next call, so the values it was filled with are gone. The same data
    /// copied out before the return (what the compiler forces outside an unsafe context) keeps them.</summary>
    [Fact]
    public void UseAfterReturn_ReturnedSpanSeesTheNextCallsFrame_ACopyDoesNot()
    {
        const string Program = """
            using System;
            using System.Runtime.CompilerServices;
            public static class Program
            {
                [MethodImpl(MethodImplOptions.NoInlining)]
                static unsafe Span<int> Scratch() { Span<int> s = stackalloc int[4]; s.Fill(7); return s; }

                [MethodImpl(MethodImplOptions.NoInlining)]
                static int[] Copied() { Span<int> s = stackalloc int[4]; s.Fill(7); return s.ToArray(); }

                [MethodImpl(MethodImplOptions.NoInlining)]
                static int Clobber() { Span<int> t = stackalloc int[256]; t.Fill(-1); return t[255]; }

                public static string Run()
                {
                    Span<int> returned = Scratch();
                    Clobber();
                    int[] seen = returned.ToArray();
                    int[] copy = Copied();
                    Clobber();
                    return string.Join(",", seen) + "|" + string.Join(",", copy);
                }
            }
            """;
        var result = Behaviour.Run(Program).Split('|');
        Assert.NotEqual("7,7,7,7", result[0]);
        Assert.Equal("7,7,7,7", result[1]);
    }

    // ------------------------------------------------------------------ not reported

    [Fact]
    public Task SameCodeWithoutUnsafe_CompilerRefusesIt_NoDiagnostic()
    {
        var test = Test("""
            using System;
            class Buffers
            {
                Span<int> Scratch() { Span<int> s = stackalloc int[4]; return s; }
                ref int Cell(int value) => ref value;
            }
            """);
        test.AllowCompilerErrors = true;
        return test.RunAsync();
    }

    [Fact]
    public Task PointerCodeWithoutRefSafetyIssue_NoDiagnostic()
    {
        var test = Test("""
            using System;
            static class Checksum
            {
                public static unsafe int Sum(byte[] data)
                {
                    int sum = 0;
                    fixed (byte* p = data)
                    {
                        for (int i = 0; i < data.Length; i++)
                            sum += p[i];
                    }
                    return sum;
                }
            }
            """);
        return test.RunAsync();
    }

    [Fact]
    public Task StackallocSpanUsedOnlyInside_NoDiagnostic()
    {
        var test = Test("""
            using System;
            static class Format
            {
                public static unsafe int Digits(int value)
                {
                    Span<char> buffer = stackalloc char[16];
                    value.TryFormat(buffer, out int written);
                    int* marker = stackalloc int[1];
                    return written + *marker * 0;
                }
            }
            """);
        return test.RunAsync();
    }

    [Fact]
    public Task RefToRefParameterOrArrayElement_Legal_NoDiagnostic()
    {
        var test = Test("""
            class Slots
            {
                private readonly int[] _slots = new int[4];
                unsafe ref int First(ref int a, ref int b) => ref a;
                unsafe ref int Slot(int i) { ref int r = ref _slots[i]; return ref r; }
                unsafe ref readonly int Pick(in int x) => ref x;
            }
            """);
        return test.RunAsync();
    }

    [Fact]
    public Task WarningDisabledByPragma_NoDiagnostic_UntilRestored()
    {
        var test = Test("""
            using System;
            class Buffers
            {
            #pragma warning disable CS9080 // reviewed: the caller copies the span before the next call
                unsafe Span<int> Scratch() { Span<int> s = stackalloc int[4]; return s; }
            #pragma warning restore CS9080
                {|#0:unsafe|} ref int Cell(int value) { return ref {|#1:value|}; }
            #pragma warning disable
                unsafe ref int Other(int value) { return ref value; }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA5006", 0).WithAdditionalLocation(1));
        return test.RunAsync();
    }

    [Fact]
    public Task WarningTurnedOffByConfiguration_NoDiagnostic()
    {
        var test = Test("""
            using System;
            class Buffers
            {
                unsafe Span<int> Scratch() { Span<int> s = stackalloc int[4]; return s; }
            }
            """);
        test.DiagnosticSeverities["CS9080"] = ReportDiagnostic.Suppress;
        return test.RunAsync();
    }

    [Fact]
    public Task OtherCompilerWarningsInAnUnsafeRegion_NoDiagnostic()
    {
        var test = Test("""
            class Noise
            {
                unsafe ref int M(ref int r)
                {
                    int unused = 3;
                    int* p = null;
                    return ref r;
                }
            }
            """);
        return test.RunAsync();
    }

    [Fact]
    public Task UnsafeRefStructWithSafeMembers_NoDiagnostic()
    {
        var test = Test("""
            using System;
            unsafe ref struct Reader
            {
                private ReadOnlySpan<byte> _data;
                public Reader(ReadOnlySpan<byte> data) => _data = data;
                public ReadOnlySpan<byte> Rest => _data;
                public ref readonly byte First => ref _data[0];
            }
            """);
        return test.RunAsync();
    }

    [Fact]
    public Task IncompleteCodeInAnUnsafeMethod_NoCrash()
    {
        var test = Test("""
            using System;
            class Broken
            {
                unsafe Span<int> M(int n)
                {
                    Span<int> s = stackalloc int[n
                    return s
                }
            }
            """);
        test.AllowCompilerErrors = true;
        return test.RunAsync();
    }
}
