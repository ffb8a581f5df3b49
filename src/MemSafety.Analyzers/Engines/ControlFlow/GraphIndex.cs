using System.Collections.Generic;
using System.Runtime.CompilerServices;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.FlowAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Engines.ControlFlow;

/// <summary>Where an operation sits in a control-flow graph: its block, and the index of the top-level
/// operation of that block that holds it (the block's branch value is at the number of its operations).</summary>
internal readonly struct GraphPosition
{
    public GraphPosition(int block, int index)
    {
        Block = block;
        Index = index;
    }

    public int Block { get; }
    public int Index { get; }

    public bool Equals(GraphPosition other) => Block == other.Block && Index == other.Index;
}

/// <summary>The positions of one syntax node in a graph, ordered by block, then by top-level index.</summary>
internal readonly struct GraphPositions
{
    private readonly GraphPosition _first;
    private readonly List<GraphPosition>? _all;

    internal GraphPositions(GraphPosition first, List<GraphPosition>? all)
    {
        _first = first;
        _all = all;
    }

    public int Count => _all?.Count ?? 1;

    public GraphPosition this[int i] => _all is null ? _first : _all[i];
}

/// <summary>
/// One walk over the operations of a control-flow graph, built once per graph on first request and shared by
/// the engines that look operations up in it (<see cref="FunctionCycles"/>, Engines/Dataflow).
/// <para>
/// The graph's operations are rewritten copies, so an operation of the original tree is found by its syntax:
/// every explicit operation of a block (at any depth) records its position. Implicit ones do not (the compiler
/// gives them the syntax of what they serve: a foreach's <c>MoveNext</c> and <c>Current</c> carry the
/// collection's syntax), nor flow capture references (they re-read a value evaluated elsewhere). One syntax can
/// sit in several blocks (<c>a ?? b</c>, <c>x ??= y</c>, patterns) and several top-level operations.
/// </para>
/// <para>
/// Also kept: the span of each block's operations (all, and explicit ones), and the anonymous functions by syntax.
/// </para>
/// </summary>
internal sealed class GraphIndex
{
    private static readonly ConditionalWeakTable<ControlFlowGraph, GraphIndex> s_indexes = new();
    private static readonly ConditionalWeakTable<ControlFlowGraph, GraphIndex>.CreateValueCallback s_build = Build;

    // Most syntax nodes have one position: it is kept in _first; a node with more has them all (sorted) in _more.
    private readonly Dictionary<SyntaxNode, GraphPosition> _first;
    private readonly Dictionary<SyntaxNode, List<GraphPosition>>? _more;
    private readonly Dictionary<SyntaxNode, IFlowAnonymousFunctionOperation>? _lambdas;

    private GraphIndex(Dictionary<SyntaxNode, GraphPosition> first, Dictionary<SyntaxNode, List<GraphPosition>>? more,
        Dictionary<SyntaxNode, IFlowAnonymousFunctionOperation>? lambdas, BlockSpans spans)
    {
        _first = first;
        _more = more;
        _lambdas = lambdas;
        Spans = spans;
    }

    /// <summary>The index of the graph, built on the first request and kept as long as the graph lives.</summary>
    public static GraphIndex Of(ControlFlowGraph graph) => s_indexes.GetValue(graph, s_build);

    /// <summary>Where each block's operations sit in the source.</summary>
    public BlockSpans Spans { get; }

    /// <summary>The positions of the explicit operations with this syntax, by block then top-level index
    /// (each pair once). False when the graph holds no explicit operation with it.</summary>
    public bool TryGetPositions(SyntaxNode syntax, out GraphPositions positions)
    {
        if (!_first.TryGetValue(syntax, out var first))
        {
            positions = default;
            return false;
        }

        List<GraphPosition>? all = null;
        _more?.TryGetValue(syntax, out all);
        positions = new GraphPositions(first, all);
        return true;
    }

    /// <summary>The anonymous function of the graph written at this syntax, if any.</summary>
    public IFlowAnonymousFunctionOperation? Lambda(SyntaxNode syntax)
        => _lambdas is not null && _lambdas.TryGetValue(syntax, out var lambda) ? lambda : null;

    private static GraphIndex Build(ControlFlowGraph graph)
    {
        var blocks = graph.Blocks;
        var count = blocks.Length;
        var first = new Dictionary<SyntaxNode, GraphPosition>();
        Dictionary<SyntaxNode, List<GraphPosition>>? more = null;
        Dictionary<SyntaxNode, IFlowAnonymousFunctionOperation>? lambdas = null;
        var spans = new BlockSpans(count);
        var stack = new Stack<IOperation>();
        for (var b = 0; b < count; b++)
        {
            var block = blocks[b];
            var operations = block.Operations;
            // Top-level operations last to first, each subtree children last-first: the order the walk of
            // FunctionCycles had (one stack for the block), kept so that the last lambda met for a syntax wins
            // as before. Positions are sorted on insertion, so their order does not depend on this.
            for (var i = operations.Length; i >= 0; i--)
            {
                var top = i < operations.Length ? operations[i] : block.BranchValue;
                if (top is null)
                    continue;
                stack.Push(top);
                while (stack.Count > 0)
                {
                    var operation = stack.Pop();
                    foreach (var child in operation.ChildOperations)
                        stack.Push(child);
                    if (operation is IFlowAnonymousFunctionOperation lambda)
                        (lambdas ??= new Dictionary<SyntaxNode, IFlowAnonymousFunctionOperation>())[lambda.Syntax] = lambda;
                    var syntax = operation.Syntax;
                    var isExplicit = !operation.IsImplicit && operation is not IFlowCaptureReferenceOperation;
                    spans.Add(b, syntax.Span, isExplicit);
                    if (isExplicit)
                        Add(first, ref more, syntax, new GraphPosition(b, i));
                }
            }
        }

        return new GraphIndex(first, more, lambdas, spans);
    }

    /// <summary>Records a position. Blocks come in ascending order and, within a block, top-level indexes in
    /// descending order, so a new position goes before those of its own block already recorded.</summary>
    private static void Add(Dictionary<SyntaxNode, GraphPosition> first, ref Dictionary<SyntaxNode, List<GraphPosition>>? more,
        SyntaxNode syntax, GraphPosition position)
    {
        if (!first.TryGetValue(syntax, out var known))
        {
            first[syntax] = position;
            return;
        }

        List<GraphPosition>? all = null;
        if (more is null || !more.TryGetValue(syntax, out all))
        {
            if (known.Equals(position))
                return;
            all = new List<GraphPosition>(2) { known };
            (more ??= new Dictionary<SyntaxNode, List<GraphPosition>>())[syntax] = all;
        }

        var k = all!.Count - 1;
        while (k >= 0 && all[k].Block == position.Block && all[k].Index > position.Index)
            k--;
        if (k >= 0 && all[k].Equals(position))
            return;
        all.Insert(k + 1, position);
        if (k < 0)
            first[syntax] = position;
    }
}
