using System.Linq;
using MemSafety.Analyzers.Engines.Bodies;
using MemSafety.Analyzers.Engines.Effects;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace MemSafety.Analyzers.Tests.Engines.Effects;

/// <summary><see cref="Synchronization.UsesLocking"/>: whether a type of the compilation synchronises.</summary>
public sealed class SynchronizationTests
{
    private static (bool UsesLocking, Compilation Compilation, INamedTypeSymbol Type) Judge(string members)
    {
        var tree = CSharpSyntaxTree.ParseText("using System; using System.Threading; using System.Collections.Generic;\n#pragma warning disable CS0169, CS0649\npartial class T\n{\n" + members + "\n}\npartial class T { }\n");
        var compilation = CSharpCompilation.Create("t", new[] { tree }, Basic.Reference.Assemblies.Net80.References.All,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        Assert.Empty(compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
        var type = compilation.GetTypeByMetadataName("T")!;
        return (new Synchronization().UsesLocking(type, default), compilation, type);
    }

    [Theory]
    [InlineData("object _gate = new object(); int _n; void Add() { lock (_gate) _n++; }")]
    [InlineData("int _n; void Add() => Interlocked.Increment(ref _n);")]
    [InlineData("int _n; int Read() => Volatile.Read(ref _n);")]
    [InlineData("object _gate = new object(); void Add() { Monitor.Enter(_gate); Monitor.Exit(_gate); }")]
    [InlineData("SemaphoreSlim _gate;")]
    [InlineData("volatile bool _stop;")]
    public void Synchronises(string members) => Assert.True(Judge(members).UsesLocking);

    [Theory]
    [InlineData("List<int> _items = new List<int>(); void Add(int v) => _items.Add(v);")]
    [InlineData("string Lock = \"lock\";")]
    public void DoesNotSynchronise(string members) => Assert.False(Judge(members).UsesLocking);

    [Fact]
    public void MetadataType_DoesNotSynchronise()
    {
        var (_, compilation, _) = Judge("");
        Assert.False(new Synchronization().UsesLocking(compilation.GetTypeByMetadataName("System.Collections.Generic.List`1")!, default));
    }

    /// <summary>Why the detector reads syntax and is not <see cref="BodyFacts.LockStatements"/>: a field of a
    /// lock type, or a volatile field, is a sign of a type used from several threads that has no operation at
    /// all (no body, no initializer), so no per-body fact can see it.</summary>
    [Fact]
    public void FieldOnlySigns_HaveNoOperationForBodyFactsToSee()
    {
        var (usesLocking, compilation, type) = Judge("SemaphoreSlim _gate; volatile bool _stop; int Read() => _stop ? 1 : 0;");
        Assert.True(usesLocking);
        var tree = compilation.SyntaxTrees.Single();
        var model = compilation.GetSemanticModel(tree);
        foreach (var field in tree.GetRoot().DescendantNodes().OfType<VariableDeclaratorSyntax>())
            Assert.Null(model.GetOperation(field));
        var method = tree.GetRoot().DescendantNodes().OfType<MethodDeclarationSyntax>().Single();
        Assert.Empty(BodyFacts.Of(model.GetOperation(method)!).LockStatements);
        Assert.True(type.GetMembers("_stop").OfType<IFieldSymbol>().Single().IsVolatile);
    }
}
