using System.Linq;
using System.Threading;
using MemSafety.Analyzers.Engines.Provenance;
using MemSafety.Analyzers.Tests.Verification;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Tests.Engines.Provenance;

/// <summary><see cref="PointerSinks"/> against the full provenance analysis of the same code: where the prefilter says a
/// fixed statement's pointers cannot leave it, or that a function cannot let a stack address escape, the engine finds no
/// escape of those origins; and the code that cannot escape is recognised as such (the prefilter is not always "may").</summary>
public sealed class PointerSinksTests
{
    private static string Wrap(string members) => $$"""
        using System;
        unsafe class C
        {
            private IntPtr _address;
            private int* _p;
            private static byte* s_p;
            private readonly IntPtr[] _slots = new IntPtr[1];
            private Action? _callback;
            static void Use(void* p) { }
            static int Parse(char* p, ref int index) => p[index++];
        {{members}}
        }
        """;

    [Theory]
    // Escapes of a fixed pointer: each through one sink.
    [InlineData("int* M(int[] a) { fixed (int* p = a) { return p; } }", true)]
    [InlineData("nint M(int[] a) { fixed (int* p = a) { return (nint)p; } }", true)]
    [InlineData("void M(byte[] b) { fixed (byte* p = b) { _address = (IntPtr)p; } }", true)]
    [InlineData("void M(byte[] b) { fixed (byte* p = b) { s_p = p; } }", true)]
    [InlineData("void M(byte[] b) { fixed (byte* p = b) { _slots[0] = (IntPtr)p; } }", true)]
    [InlineData("void M(byte[] b, out byte* r) { fixed (byte* p = b) { r = p; } }", true)]
    [InlineData("int M(int[] a, int* c) { fixed (int* p = a) { c = p; } return *c; }", true)]
    [InlineData("int M(int[] a) { int* c; fixed (int* p = a) { c = p + 1; } return *c; }", true)]
    [InlineData("int M(int[] a) { long c; fixed (int* p = a) { c = (long)p; } return *(int*)c; }", true)]
    [InlineData("void M(int[] a) { fixed (int* p = a) { int* q = p; _callback = () => Use(q); } }", true)]
    // Pointers that stay inside: the filter says so, and the engine agrees.
    [InlineData("int M(int[] a) { int s = 0; fixed (int* p = a) { for (int i = 0; i < a.Length; i++) s += p[i]; } return s; }", false)]
    [InlineData("int M(string t) { int i = 0, r; fixed (char* p = t) { r = Parse(p, ref i); int* q = null; byte* b = (byte*)p; b++; } return r + i; }", false)]
    [InlineData("bool M(byte[] b) { fixed (byte* p = b) { Use(p); return p[0] == 1; } }", false)]
    [InlineData("void M(byte[] b) { fixed (byte* p = b) { byte* q = p + 1; *q = 2; q = p; Use(q); } }", false)]
    public void FixedStatement_PrefilterCoversEveryEscape(string members, bool escapes)
    {
        var (model, root) = Compile(members);
        foreach (var statement in root.DescendantNodes().OfType<FixedStatementSyntax>())
        {
            var fixedOperation = model.GetOperation(statement)!;
            var declarator = model.GetOperation(statement.Declaration.Variables[0])!;
            var found = PointerProvenance.Of(declarator, CancellationToken.None)!.Escapes
                .Where(e => statement.Declaration.Variables.Contains(e.Origin.Site)).ToArray();
            var may = PointerSinks.MayLeave(fixedOperation);
            Assert.Equal(escapes, found.Length > 0);
            Assert.Equal(escapes, may);
        }
    }

    [Theory]
    [InlineData("int* M() { int* p = stackalloc int[2]; return p; }", true)]
    [InlineData("IntPtr M() { int x = 1; return (IntPtr)(&x); }", true)]
    [InlineData("void M() { int x = 1; _p = &x; }", true)]
    [InlineData("void M(out int* r) { int* p = stackalloc int[2]; r = p; }", true)]
    [InlineData("void M() { byte* p = stackalloc byte[2]; s_p = p; }", true)]
    [InlineData("Action M() { int x = 1; int* p = &x; return () => Use(p); }", true)]
    [InlineData("int M() { int* p = stackalloc int[4]; p[0] = 1; int* q = p; Use(q); return p[0] + *q; }", false)]
    [InlineData("string M(int n) { char* p = stackalloc char[n]; int i = 0; Parse(p, ref i); return new string(p, 0, n); }", false)]
    public void StackAddress_PrefilterCoversEveryEscape(string members, bool escapes)
    {
        var (model, root) = Compile(members);
        foreach (var node in root.DescendantNodes().Where(n => n is StackAllocArrayCreationExpressionSyntax or PrefixUnaryExpressionSyntax { RawKind: (int)SyntaxKind.AddressOfExpression }))
        {
            var operation = model.GetOperation(node)!;
            var found = PointerProvenance.Of(operation, CancellationToken.None)!.EscapesOf(node).Where(e => e.Origin.Kind == ProvenanceKind.Stack).ToArray();
            Assert.Equal(escapes, found.Length > 0);
            Assert.Equal(escapes, PointerSinks.MayEscapeFunction(operation));
        }
    }

    private static (SemanticModel Model, SyntaxNode Root) Compile(string members)
    {
        var tree = CSharpSyntaxTree.ParseText(Wrap(members));
        var compilation = CSharpCompilation.Create("T", new[] { tree }, ReferenceSets.References(ReferenceSet.Net80),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable));
        Assert.Empty(compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
        var root = tree.GetRoot();
        return (compilation.GetSemanticModel(tree), root.DescendantNodes().OfType<MethodDeclarationSyntax>().Last(m => m.Identifier.ValueText == "M"));
    }
}
