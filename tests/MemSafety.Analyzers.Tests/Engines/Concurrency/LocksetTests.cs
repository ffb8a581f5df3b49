using System.Collections.Generic;
using System.Linq;
using System.Threading;
using MemSafety.Analyzers.Engines.Concurrency;
using MemSafety.Analyzers.Tests.SharedState;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.FlowAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Tests.Engines.Concurrency;

/// <summary>
/// The lockset engine: which locks are definitely held at each field access (<see cref="BodyLocks"/>), and the
/// per-type summary that gives private helpers their callers' locks (<see cref="TypeLocks"/>). Each test lists the
/// accesses of the fields of class <c>C</c> as <c>field:kind{locks}</c> in source order.
/// </summary>
public sealed class LocksetTests
{
    private static List<string> Accesses(string source)
    {
        var tree = CSharpSyntaxTree.ParseText(source + InconsistentlyGuardedFieldTests.LockType, new CSharpParseOptions(LanguageVersion.Latest));
        var compilation = CSharpCompilation.Create("t", new[] { tree }, Basic.Reference.Assemblies.Net80.References.All,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true));
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        var model = compilation.GetSemanticModel(tree);
        var type = compilation.GetTypeByMetadataName("C")!;
        var types = ConcurrencyTypes.Of(compilation);
        var signals = new LockSignals();
        var summary = new TypeLocks(LockSignals.NamesUsedByNestedTypes(type, CancellationToken.None));
        foreach (var declaration in tree.GetRoot().DescendantNodes().Where(n => n is BaseMethodDeclarationSyntax or AccessorDeclarationSyntax))
        {
            if (model.GetDeclaredSymbol(declaration) is not IMethodSymbol method || !SymbolEqualityComparer.Default.Equals(method.ContainingType, type))
                continue;
            if (model.GetOperation(declaration) is not IMethodBodyBaseOperation body)
                continue;
            var graph = body is IMethodBodyOperation m ? ControlFlowGraph.Create(m) : ControlFlowGraph.Create((IConstructorBodyOperation)body);
            summary.Add(BodyLocks.Analyze(graph, type, method, BodyLocks.EntryLocks(method, type, types), types, signals.IsBinarySemaphore, CancellationToken.None));
        }

        return summary.Resolve().Select(r => $"{r.Access.Field.Name}:{r.Access.Kind}{r.Held}").ToList();
    }

    [Fact]
    public void LockStatement_HeldInsideOnly()
    {
        Assert.Equal(new[] { "_n:Update{}", "_n:Update{_gate}", "_n:Update{}" }, Accesses("""
            class C
            {
                private readonly object _gate = new();
                private int _n;
                void M()
                {
                    _n++;
                    lock (_gate) { _n++; }
                    _n++;
                }
            }
            """));
    }
}
