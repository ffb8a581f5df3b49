using System.Collections.Generic;
using System.Linq;
using MemSafety.Analyzers.Engines.ControlFlow;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.FlowAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Tests.Engines.ControlFlow;

/// <summary>The per-graph index that LoopCycles and the dataflow engine look operations up in, checked against a
/// plain reading of the graph: each explicit operation's syntax maps to the (block, top-level operation) pairs
/// holding it, ordered by block then top-level index.</summary>
public sealed class GraphIndexTests
{
    private static string Wrap(string body) => $$"""
        using System;
        using System.Collections.Generic;
        using System.Linq;
        #pragma warning disable CS0162, CS0164, CS0168, CS0219, CS8321
        class C
        {
            static bool F() => true;
            static int G() => 1;
            static void Use(object v) { }
            string? _s;
            void M(object o, List<int> list, string? s, int[]? a)
            {
        {{body}}
            }
        }
        """;

    private static (ControlFlowGraph Graph, SyntaxTree Tree) GraphOf(string body)
    {
        var tree = CSharpSyntaxTree.ParseText(Wrap(body), new CSharpParseOptions(LanguageVersion.Latest));
        var compilation = CSharpCompilation.Create("t", new[] { tree }, Basic.Reference.Assemblies.Net80.References.All,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        var method = tree.GetRoot().DescendantNodes().OfType<MethodDeclarationSyntax>().Single(m => m.Identifier.ValueText == "M");
        var operation = compilation.GetSemanticModel(tree).GetOperation(method.Body!)!;
        return (LoopCycles.GraphOf(operation)!, tree);
    }

    /// <summary>The positions read off the graph directly: block by block, top-level operation by operation.</summary>
    private static Dictionary<SyntaxNode, List<(int, int)>> Expected(ControlFlowGraph graph, out HashSet<SyntaxNode> allSyntax)
    {
        var expected = new Dictionary<SyntaxNode, List<(int, int)>>();
        allSyntax = new HashSet<SyntaxNode>();
        foreach (var block in graph.Blocks)
        {
            var tops = block.Operations.ToList();
            if (block.BranchValue is { } branch)
                tops.Add(branch);
            for (var i = 0; i < tops.Count; i++)
            {
                foreach (var operation in tops[i].DescendantsAndSelf())
                {
                    allSyntax.Add(operation.Syntax);
                    if (operation.IsImplicit || operation is IFlowCaptureReferenceOperation)
                        continue;
                    if (!expected.TryGetValue(operation.Syntax, out var list))
                        expected[operation.Syntax] = list = new List<(int, int)>();
                    if (!list.Contains((block.Ordinal, i)))
                        list.Add((block.Ordinal, i));
                }
            }
        }

        return expected;
    }

    private static List<(int, int)> Actual(GraphIndex index, SyntaxNode syntax)
    {
        Assert.True(index.TryGetPositions(syntax, out var positions), $"'{syntax}' not indexed");
        var list = new List<(int, int)>();
        for (var i = 0; i < positions.Count; i++)
            list.Add((positions[i].Block, positions[i].Index));
        return list;
    }

    [Theory]
    [InlineData("var x = F() ? G() : 2; Use(x);")]
    [InlineData("var t = s ?? \"d\"; _s ??= t; Use(s?.Length ?? 0);")]
    [InlineData("if (F() && o is string { Length: > 2 } str || o is int) Use(o);")]
    [InlineData("var k = o switch { int i when i > 1 => 1, string => 2, _ => G() }; Use(k);")]
    [InlineData("try { Use(G()); } catch (Exception e) when (e.Message != null) { Use(e); } finally { Use(F() ? 1 : 2); }")]
    [InlineData("foreach (var v in list) { if (v > 1) continue; Use(v); } for (var i = 0; i < G(); i++) Use(a?[i]);")]
    [InlineData("Func<int, int> f = v => v > 0 ? v : -v; Use(f(G())); Use(list.Where(v => v > G()).Count());")]
    [InlineData("using (var d = (IDisposable?)o) { Use(d); } lock (o) { Use($\"{G()} {s ?? \"-\"}\"); }")]
    [InlineData("var (p, q) = (F() ? 1 : 2, G()); a![p] += q; a[q] = a[p] > 0 ? a[p] : q;")]
    [InlineData("int n = 0; again: n++; if (n < G()) goto again; while (n-- > 0) { if (F()) break; }")]
    [InlineData("var d = new Dictionary<int, List<int>> { [1] = { G(), F() ? 1 : 2, 3 } }; Use(d);")]
    public void Positions_AreThoseOfTheGraph_ByBlockThenTopLevelIndex(string body)
    {
        var (graph, _) = GraphOf(body);
        var index = GraphIndex.Of(graph);
        var expected = Expected(graph, out var allSyntax);
        foreach (var pair in expected)
        {
            var sorted = pair.Value.OrderBy(p => p.Item1).ThenBy(p => p.Item2).ToList();
            Assert.Equal(sorted, Actual(index, pair.Key));
        }

        foreach (var syntax in allSyntax)
        {
            if (!expected.ContainsKey(syntax))
                Assert.False(index.TryGetPositions(syntax, out _), $"'{syntax}' has only implicit operations but is indexed");
        }
    }

    /// <summary>A nested collection initializer of an indexer reads the indexer again for each element it adds:
    /// the index expression's syntax is held by several top-level operations, of one block or of several.</summary>
    [Theory]
    [InlineData("var d = new Dictionary<int, List<int>> { [1] = { 2, 3, 4 } }; Use(d);", 3, 1)]
    [InlineData("var d = new Dictionary<int, List<int>> { [1] = { G(), F() ? 1 : 2 } }; Use(d);", 2, 2)]
    public void IndexerReadPerAddedElement_SeveralPositionsInOrder(string body, int positions, int blocks)
    {
        var (graph, tree) = GraphOf(body);
        var indexArgument = tree.GetRoot().DescendantNodes().OfType<ImplicitElementAccessSyntax>().Single();
        var actual = Actual(GraphIndex.Of(graph), indexArgument);
        Assert.Equal(positions, actual.Count);
        Assert.Equal(blocks, actual.Select(p => p.Item1).Distinct().Count());
        Assert.Equal(actual.OrderBy(p => p.Item1).ThenBy(p => p.Item2), actual);
        Assert.Equal(Expected(graph, out _)[indexArgument].OrderBy(p => p.Item1).ThenBy(p => p.Item2), actual);
    }

    [Fact]
    public void Lambda_FoundBySyntax()
    {
        var (graph, tree) = GraphOf("Func<int> f = () => G(); Use(f);");
        var lambda = tree.GetRoot().DescendantNodes().OfType<ParenthesizedLambdaExpressionSyntax>().Single();
        var found = GraphIndex.Of(graph).Lambda(lambda);
        Assert.NotNull(found);
        Assert.NotNull(graph.GetAnonymousFunctionControlFlowGraph(found!));
        Assert.Null(GraphIndex.Of(graph).Lambda(lambda.Body));
    }

    [Fact]
    public void BuiltOncePerGraph()
    {
        var (graph, _) = GraphOf("Use(G());");
        Assert.Same(GraphIndex.Of(graph), GraphIndex.Of(graph));
    }
}
