using System.Linq;
using MemSafety.Analyzers.Engines.Concurrency;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Tests.Engines.Concurrency;

/// <summary>The atomic-access facts (<see cref="AtomicAccess"/>) that MSA6002 and MSA6003 share.</summary>
public sealed class AtomicAccessTests
{
    private const string Source = """
        using System.Threading;
        class C
        {
            private int _count;
            private long _total;
            private volatile bool _ready;
            private int _plain;
            private static int s_shared;

            void Atomic()
            {
                Interlocked.Increment(ref _count);
                Volatile.Write(ref this._total, 1L);
                Interlocked.Add(ref s_shared, 2);
                System.Math.Max(_plain, 1);
            }

            void LockFree() { _plain++; if (Interlocked.CompareExchange(ref _count, 1, 0) == 0) _plain = 0; }
            void Publishes() { _plain = 1; _ready = true; }
            void Plain() { _plain++; System.Action a = () => Interlocked.Increment(ref _count); }
            void OwnVolatileOnly() { _ready = !_ready; }
        }
        """;

    private static (CSharpCompilation Compilation, SemanticModel Model, SyntaxNode Root) Compile()
    {
        var tree = CSharpSyntaxTree.ParseText(Source);
        var compilation = CSharpCompilation.Create("t", new[] { tree }, Basic.Reference.Assemblies.Net80.References.All,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        Assert.Empty(compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
        return (compilation, compilation.GetSemanticModel(tree), tree.GetRoot());
    }

    [Fact]
    public void AtomicCalls_AndTheFieldTheyPassByReference()
    {
        var (compilation, model, root) = Compile();
        var types = ConcurrencyTypes.Of(compilation);
        var atomic = root.DescendantNodes().OfType<MethodDeclarationSyntax>().Single(m => m.Identifier.Text == "Atomic");
        var calls = atomic.DescendantNodes().OfType<InvocationExpressionSyntax>().Select(c => (IInvocationOperation)model.GetOperation(c)!).ToList();
        Assert.Equal(new[] { true, true, true, false }, calls.Select(c => AtomicAccess.IsAtomicCall(c, types)));
        Assert.Equal(new[] { "_count", "_total", "s_shared", null }, calls.Select(c => AtomicAccess.FieldOf(c.Arguments[0])?.Name));
    }

    [Fact]
    public void LockFreeCode_IsTheFunctionThatCallsInterlockedOrTouchesAnotherVolatileField()
    {
        var (compilation, model, root) = Compile();
        var types = ConcurrencyTypes.Of(compilation);
        var plain = (IFieldSymbol)compilation.GetTypeByMetadataName("C")!.GetMembers("_plain").Single();
        var ready = (IFieldSymbol)compilation.GetTypeByMetadataName("C")!.GetMembers("_ready").Single();

        bool InLockFree(string method, IFieldSymbol field)
        {
            var body = root.DescendantNodes().OfType<MethodDeclarationSyntax>().Single(m => m.Identifier.Text == method);
            var access = body.DescendantNodes().OfType<IdentifierNameSyntax>().First(i => i.Identifier.Text == field.Name);
            return AtomicAccess.InLockFreeCode(model.GetOperation(access)!, field, types);
        }

        Assert.True(InLockFree("LockFree", plain));
        Assert.True(InLockFree("Publishes", plain));
        // A lambda's Interlocked call counts for the function that declares it (the protocol may span the function and
        // what it starts): the silence errs on the side of no report.
        Assert.True(InLockFree("Plain", plain));
        // Only the field itself being volatile is not a protocol.
        Assert.False(InLockFree("OwnVolatileOnly", ready));
    }
}
