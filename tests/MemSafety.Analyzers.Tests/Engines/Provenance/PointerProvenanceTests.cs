using System.Linq;
using System.Threading;
using MemSafety.Analyzers.Engines.Provenance;
using MemSafety.Analyzers.Tests.Verification;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Tests.Engines.Provenance;

public sealed class PointerProvenanceTests
{
    private static string Wrap(string members) => $$"""
        using System;
        using System.Runtime.CompilerServices;
        using System.Runtime.InteropServices;
        unsafe class C
        {
            private int _field;
            private int* _p;
            static void Use(void* p) { }
        {{members}}
        }
        """;

    /// <summary>The origins of the value returned by the first return statement of the source.</summary>
    private static ProvenanceKind[] ReturnedKinds(string members)
    {
        var tree = CSharpSyntaxTree.ParseText(Wrap(members));
        var compilation = CSharpCompilation.Create("T", new[] { tree }, ReferenceSets.References(ReferenceSet.Net80),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true));
        var model = compilation.GetSemanticModel(tree);
        var ret = tree.GetRoot().DescendantNodes().OfType<ReturnStatementSyntax>().First();
        var operation = (IReturnOperation)model.GetOperation(ret)!;
        var provenance = PointerProvenance.Of(operation, CancellationToken.None)!;
        return provenance.OriginsOf(operation.ReturnedValue!).Select(o => o.Kind).OrderBy(k => k).ToArray();
    }

    private static PointerEscape[] Escapes(string members, bool allowErrors = false)
    {
        var tree = CSharpSyntaxTree.ParseText(Wrap(members));
        var compilation = CSharpCompilation.Create("T", new[] { tree }, ReferenceSets.References(ReferenceSet.Net80),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true));
        if (!allowErrors)
            Assert.Empty(compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
        var model = compilation.GetSemanticModel(tree);
        return tree.GetRoot().DescendantNodes().OfType<BaseMethodDeclarationSyntax>()
            .Select(m => model.GetOperation(m))
            .Where(o => o is not null)
            .SelectMany(o => o!.DescendantsAndSelf().Where(d => d is IAnonymousFunctionOperation or ILocalFunctionOperation or IMethodBodyOperation))
            .Select(o => o switch
            {
                IMethodBodyOperation b => (IOperation?)b.BlockBody ?? b.ExpressionBody,
                IAnonymousFunctionOperation f => f.Body,
                ILocalFunctionOperation l => (IOperation?)l.Body ?? l.IgnoredBody,
                _ => null,
            })
            .Where(o => o is not null)
            .Select(o => PointerProvenance.Of(o!, CancellationToken.None))
            .Where(p => p is not null)
            .SelectMany(p => p!.Escapes)
            .Distinct()
            .ToArray();
    }

    [Theory]
    [InlineData("int* M() { int* p = stackalloc int[2]; return p; }", ProvenanceKind.Stack)]
    [InlineData("IntPtr M() { int x = 1; IntPtr ip = (IntPtr)(&x); return ip + 4; }", ProvenanceKind.Stack)]
    [InlineData("long M() { int x = 1; return (long)(&x + 1); }", ProvenanceKind.Stack)]
    [InlineData("void* M() { int* p = stackalloc int[2]; IntPtr ip = new IntPtr(p); return ip.ToPointer(); }", ProvenanceKind.Stack)]
    [InlineData("Span<int> M() { int* p = stackalloc int[2]; return new Span<int>(p, 2); }", ProvenanceKind.Stack)]
    [InlineData("int* M(int[] a) { fixed (int* p = a) { int* q = p + 1; return q; } }", ProvenanceKind.Pinned)]
    [InlineData("void* M() => null; void* N() { return Unsafe.AsPointer(ref _field); }", ProvenanceKind.Unpinned)]
    [InlineData("void* M(int[] a) { return Unsafe.AsPointer(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(a), 1)); }", ProvenanceKind.Unpinned)]
    [InlineData("int* M(int[] a) { int* p = (int*)Unsafe.AsPointer(ref a[0]); p++; p += 2; return p; }", ProvenanceKind.Unpinned)]
    [InlineData("byte* M() { var p = (byte*)NativeMemory.Alloc(8); return p; }", ProvenanceKind.Native)]
    [InlineData("IntPtr M() { IntPtr h = Marshal.AllocHGlobal(8); return h; }", ProvenanceKind.Native)]
    [InlineData("IntPtr M(IntPtr handle) { return handle; }", ProvenanceKind.Native)]
    public void Origin_FollowsCastsArithmeticAndSpans(string members, ProvenanceKind expected)
        => Assert.Equal(new[] { expected }, ReturnedKinds(members.Replace("void* M() => null; ", string.Empty)));

    [Theory]
    [InlineData("int* M(int* p) { return p; }")]
    [InlineData("int* M() { return _p; }")]
    [InlineData("int M() { int* p = stackalloc int[2]; return (int)(p - p); }")]
    [InlineData("int* M(Span<int> s) { fixed (int* p = s) { return p; } }")]
    [InlineData("char* M() { fixed (char* p = \"const\") { return p; } }")]
    [InlineData("int* M() { int* p = stackalloc int[2]; p = null; return p; }")]
    [InlineData("void* M(ref int r) { return Unsafe.AsPointer(ref r); }")]
    [InlineData("static int s_total; void* M() { return Unsafe.AsPointer(ref s_total); }")]
    [InlineData("void* M(Span<int> s) { return Unsafe.AsPointer(ref MemoryMarshal.GetReference(s)); }")]
    [InlineData("void* M(int[] a) { fixed (int* p = a) { return Unsafe.AsPointer(ref a[1]); } }")]
    public void Origin_UnknownOrGone_NoKind(string members) => Assert.Empty(ReturnedKinds(members));

    [Fact]
    public void Origin_FlowCapturesJoinBothBranches()
        => Assert.Equal(new[] { ProvenanceKind.Stack, ProvenanceKind.Native },
            ReturnedKinds("byte* M(bool b) { byte* s = stackalloc byte[4]; byte* n = (byte*)NativeMemory.Alloc(4); byte* r = b ? s : n; return r; }"));

    [Fact]
    public void Escapes_EachKind()
    {
        var escapes = Escapes("""
            private Func<int> _f;
            int* Returned() { int* p = stackalloc int[1]; return p; }
            void Stored(int[] a) { fixed (int* p = a) { _p = p; } }
            void Captured() { int* p = stackalloc int[1]; _f = () => *p; }
            int UsedAfter(int[] a) { int* q; fixed (int* p = a) { q = p; } return *q; }
            """);
        Assert.Equal(
            new[] { PointerEscapeKind.Returned, PointerEscapeKind.StoredBeyondScope, PointerEscapeKind.CapturedByEscapingDelegate, PointerEscapeKind.UsedAfterScope },
            escapes.Select(e => e.Kind).ToArray());
        Assert.Equal("field '_p'", escapes[1].Target);
        Assert.Equal("returned", Escapes("Func<int> M() { int* p = stackalloc int[1]; return () => *p; }").Single().Target);
    }

    [Fact]
    public void PinObjectAddress_ReleasedByFreeOrDispose_EscapesOnlyAfterTheRelease()
    {
        var escapes = Escapes("""
            int Before(int[] a) { var h = GCHandle.Alloc(a, GCHandleType.Pinned); IntPtr p = h.AddrOfPinnedObject(); int v = *(int*)p; h.Free(); return v; }
            int After(int[] a) { var h = GCHandle.Alloc(a, GCHandleType.Pinned); IntPtr p = h.AddrOfPinnedObject(); h.Free(); return *(int*)p; }
            int Disposed(Memory<int> m) { var pin = m.Pin(); int* p = (int*)pin.Pointer; pin.Dispose(); return *p; }
            IntPtr Kept(int[] a) { var h = GCHandle.Alloc(a, GCHandleType.Pinned); return h.AddrOfPinnedObject(); }
            """.Replace("Memory<int>", "System.Memory<int>"));
        var released = escapes.Where(e => e.Origin.ReleasedAt is not null).ToArray();
        Assert.Equal(new[] { PointerEscapeKind.UsedAfterScope, PointerEscapeKind.UsedAfterScope }, released.Select(e => e.Kind).ToArray());
        Assert.Equal(new[] { "h.Free()", "pin.Dispose()" }, released.Select(e => e.Origin.ReleasedAt!.ToString()).ToArray());
        Assert.All(released, e => Assert.Equal(ProvenanceKind.Pinned, e.Origin.Kind));
        // Returned while the handle is still allocated: an escape of an unreleased origin, which no rule reports.
        Assert.Contains(escapes, e => e.Origin.ReleasedAt is null && e.Kind == PointerEscapeKind.Returned);
    }

    [Fact]
    public void Escapes_UnpinnedAddressPassedToACallOrUsedInALaterStatement()
    {
        var escapes = Escapes("""
            private int[] _a = new int[2];
            void Passed() { Use(Unsafe.AsPointer(ref _a[0])); }
            int Later() { int* p = (int*)Unsafe.AsPointer(ref _field); return *p; }
            int SameExpression() { return *(int*)Unsafe.AsPointer(ref _a[1]) + Unsafe.Read<int>(Unsafe.AsPointer(ref _field)); }
            """);
        Assert.Equal(new[] { PointerEscapeKind.PassedToCall, PointerEscapeKind.UsedInLaterStatement }, escapes.Select(e => e.Kind).ToArray());
        Assert.All(escapes, e => Assert.Equal(ProvenanceKind.Unpinned, e.Origin.Kind));
        Assert.Equal(new[] { "array", "object" }, escapes.Select(e => e.Origin.Movable).ToArray());
    }

    [Fact]
    public void Escapes_ReturnedIntoTheCallersPinnedBuffer_OnlyWhenTiedByADifference()
    {
        // pDst - start means the caller's pointer points into the same buffer, so the caller has it pinned.
        Assert.Empty(Escapes("""
            private byte[] _buf = new byte[8];
            private int _pos;
            byte* Tied(byte* pDst) { fixed (byte* start = _buf) { _pos = (int)(pDst - start); return start + _pos; } }
            """));
        Assert.Equal(PointerEscapeKind.Returned, Escapes("""
            private byte[] _buf = new byte[8];
            byte* Untied(byte* pDst, int n) { fixed (byte* start = _buf) { *pDst = 0; return start + n; } }
            """).Single().Kind);
    }

    [Fact]
    public void Escapes_NoneForLocalUseClearedFieldsAndReassignment() => Assert.Empty(Escapes("""
        int A(int[] a) { int s = 0; fixed (int* p = a) { _p = p; s = *p; _p = null; } return s; }
        int* B(int* other) { int* p = stackalloc int[1]; p = other; return p; }
        int C2(int[] a) { fixed (int* p = a, q = &a[0]) { fixed (char* c = "x" + a.Length) { Use(c); } return *p + *q; } }
        int D(int[] a) { Func<int> f = () => { fixed (int* p = a) return *p; }; return f() + L(); int L() { int x = 1; int* px = &x; return *px; } }
        """));

    [Fact]
    public void IncompleteCode_NoCrash()
    {
        var escapes = Escapes("""
            int* M(int[] a) { fixed (int* p = a, ) { return p } }
            int* N() { int* p = stackalloc int[; return p; }
            void O() { fixed (int* p = ) { _p = p; } }
            """, allowErrors: true);
        Assert.NotNull(escapes);
    }
}
