using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Threading;
using Microsoft.CodeAnalysis.FlowAnalysis;

namespace MemSafety.Analyzers.Engines.Dataflow;

/// <summary>
/// The nodes and edges the solver walks: Roslyn's blocks, with the edges its graph leaves implicit.
/// <para>
/// Exceptions: every block of a try (or of a catch inside a try-finally) that has operations gets exception
/// edges to the first block of each catch (or filter) of every enclosing try-catch, and to the finally of the
/// innermost enclosing try-finally; the solver sends along them the join of the states at every point of the
/// block (an exception can interrupt it anywhere).
/// </para>
/// <para>
/// Finally: Roslyn has no edges into a finally; a branch that leaves a try lists the finally regions it runs
/// (<see cref="ControlFlowBranch.FinallyRegions"/>). A finally is copied once per place control goes after it:
/// one copy per destination of the branches through it (it ends by going there), and one copy for exceptions
/// (it ends by handing the exception to the enclosing handlers). So a must-analysis keeps what the try did on
/// the normal path (<c>try { x = 1; } finally { } Use(x)</c>: assigned), while the finally itself sees every
/// way in. A node is a (block, copy) pair; blocks outside every finally have one node.
/// </para>
/// </summary>
internal sealed class FlowGraph
{
    private FlowGraph(ControlFlowGraph graph, int count)
    {
        Graph = graph;
        Count = count;
        BlockOf = new int[count];
        Successors = new int[count][];
        SuccessorBranches = new ControlFlowBranch[count][];
        Handlers = new int[count][];
        Predecessors = new int[count][];
        PredecessorBranches = new ControlFlowBranch[count][];
        ExceptionalPredecessors = new int[count][];
        Order = new int[count];
        NodesOfBlock = new int[graph.Blocks.Length][];
    }

    public ControlFlowGraph Graph { get; }
    public int Count { get; }
    public int Entry => 0;
    public int[] BlockOf { get; }
    /// <summary>Normal edges, with the branch of Roslyn's graph that takes each (a finally's end: its own exit branch).</summary>
    public int[][] Successors { get; }
    public ControlFlowBranch[][] SuccessorBranches { get; }
    /// <summary>Exception edges: the handlers (catch, filter, finally copy) an exception in the node reaches.</summary>
    public int[][] Handlers { get; }
    public int[][] Predecessors { get; }
    public ControlFlowBranch[][] PredecessorBranches { get; }
    public int[][] ExceptionalPredecessors { get; }
    /// <summary>Nodes in reverse postorder from the entry.</summary>
    public int[] Order { get; }
    /// <summary>The nodes of each block (none when unreachable, several for a block of a finally).</summary>
    public int[][] NodesOfBlock { get; }

    /// <summary>Null when copying finally blocks would blow the graph up (deeply nested try-finally).</summary>
    public static FlowGraph? Build(ControlFlowGraph graph, CancellationToken cancellationToken)
    {
        var builder = new Builder(graph);
        if (!builder.Run(cancellationToken))
            return null;
        var count = builder.BlockOf.Count;
        var flow = new FlowGraph(graph, count);
        var predecessors = new List<int>?[count];
        var predecessorBranches = new List<ControlFlowBranch>?[count];
        var exceptional = new List<int>?[count];
        for (var n = 0; n < count; n++)
        {
            flow.BlockOf[n] = builder.BlockOf[n];
            var successors = builder.Successors[n];
            var branches = builder.SuccessorBranches[n];
            flow.Successors[n] = successors.ToArray();
            flow.SuccessorBranches[n] = branches.ToArray();
            flow.Handlers[n] = builder.Handlers[n]?.ToArray() ?? Array.Empty<int>();
            for (var i = 0; i < successors.Count; i++)
            {
                (predecessors[successors[i]] ??= new List<int>()).Add(n);
                (predecessorBranches[successors[i]] ??= new List<ControlFlowBranch>()).Add(branches[i]);
            }

            foreach (var handler in flow.Handlers[n])
                (exceptional[handler] ??= new List<int>()).Add(n);
        }

        var perBlock = new List<int>?[graph.Blocks.Length];
        for (var n = 0; n < count; n++)
        {
            flow.Predecessors[n] = predecessors[n]?.ToArray() ?? Array.Empty<int>();
            flow.PredecessorBranches[n] = predecessorBranches[n]?.ToArray() ?? Array.Empty<ControlFlowBranch>();
            flow.ExceptionalPredecessors[n] = exceptional[n]?.ToArray() ?? Array.Empty<int>();
            (perBlock[flow.BlockOf[n]] ??= new List<int>()).Add(n);
        }

        for (var b = 0; b < perBlock.Length; b++)
            flow.NodesOfBlock[b] = perBlock[b]?.ToArray() ?? Array.Empty<int>();
        ReversePostorder(flow);
        return flow;
    }

    /// <summary>Depth-first from the entry over normal and exception edges, with an explicit stack.</summary>
    private static void ReversePostorder(FlowGraph flow)
    {
        var count = flow.Count;
        var visited = new bool[count];
        var stack = new int[count];
        var nextEdge = new int[count];
        var position = count;
        var top = 0;
        stack[0] = flow.Entry;
        visited[flow.Entry] = true;
        while (top >= 0)
        {
            var node = stack[top];
            var normal = flow.Successors[node];
            var handlers = flow.Handlers[node];
            var edge = nextEdge[top];
            if (edge < normal.Length + handlers.Length)
            {
                nextEdge[top]++;
                var next = edge < normal.Length ? normal[edge] : handlers[edge - normal.Length];
                if (!visited[next])
                {
                    visited[next] = true;
                    stack[++top] = next;
                    nextEdge[top] = 0;
                }

                continue;
            }

            flow.Order[--position] = node;
            top--;
        }
    }

    private sealed class Builder
    {
        private readonly ImmutableArray<BasicBlock> _blocks;
        private readonly int _limit;
        private readonly Dictionary<long, int> _nodes = new();
        private readonly List<int> _contextOf = new();
        /// <summary>Copy 0: code outside every finally. Others: one finally region with where it goes at its end
        /// (a node, or -1: on to the handlers of an exception) and the copy its try-finally statement runs in.</summary>
        private readonly List<(ControlFlowRegion? Finally, int Target, int Parent)> _contexts = new() { (null, -1, 0) };
        private readonly Dictionary<(int Finally, int Target, int Parent), int> _contextIds = new();
        private readonly Stack<int> _pending = new();
        private readonly List<int> _targets = new();

        public Builder(ControlFlowGraph graph)
        {
            _blocks = graph.Blocks;
            _limit = 16 * _blocks.Length + 1024;
        }

        public List<int> BlockOf { get; } = new();
        public List<List<int>> Successors { get; } = new();
        public List<List<ControlFlowBranch>> SuccessorBranches { get; } = new();
        public List<List<int>?> Handlers { get; } = new();

        public bool Run(CancellationToken cancellationToken)
        {
            Node(0, 0); // Roslyn's entry block is block 0
            while (_pending.Count > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (BlockOf.Count > _limit)
                    return false;
                Expand(_pending.Pop());
            }

            return true;
        }

        private int Node(int block, int context)
        {
            var key = ((long)context << 32) | (uint)block;
            if (_nodes.TryGetValue(key, out var node))
                return node;
            node = BlockOf.Count;
            _nodes[key] = node;
            BlockOf.Add(block);
            _contextOf.Add(context);
            Successors.Add(new List<int>(2));
            SuccessorBranches.Add(new List<ControlFlowBranch>(2));
            Handlers.Add(null);
            _pending.Push(node);
            return node;
        }

        private int Context(ControlFlowRegion finallyRegion, int target, int parent)
        {
            var key = (finallyRegion.FirstBlockOrdinal, target, parent);
            if (!_contextIds.TryGetValue(key, out var id))
            {
                id = _contexts.Count;
                _contexts.Add((finallyRegion, target, parent));
                _contextIds[key] = id;
            }

            return id;
        }

        private void Expand(int node)
        {
            var block = _blocks[BlockOf[node]];
            var context = _contextOf[node];
            // Roslyn keeps both exits of a constant condition; `while (true)` has no exit (as BlockGraph does).
            var taken = ConstantBranch(block);
            if (block.ConditionalSuccessor is { } conditional && taken != false)
                AddBranch(node, block, context, conditional);
            if (block.FallThroughSuccessor is { } fallThrough && taken != true)
                AddBranch(node, block, context, fallThrough);

            if (block.Operations.Length > 0 || block.BranchValue is not null)
            {
                _targets.Clear();
                ExceptionTargets(block.EnclosingRegion, context, _targets);
                if (_targets.Count > 0)
                    Handlers[node] = new List<int>(_targets);
            }
        }

        private void AddBranch(int node, BasicBlock block, int context, ControlFlowBranch branch)
        {
            if (branch.Destination is { } destination)
            {
                var target = Node(destination.Ordinal, context);
                var finallyRegions = branch.FinallyRegions;
                for (var i = finallyRegions.Length - 1; i >= 0; i--)
                    target = Node(finallyRegions[i].FirstBlockOrdinal, Context(finallyRegions[i], target, context));
                AddEdge(node, target, branch);
                return;
            }

            if (branch.Semantics != ControlFlowBranchSemantics.StructuredExceptionHandling)
                return; // return value / throw / error: no successor here (throws flow along exception edges)

            // The end of a finally (go where its copy goes) or of a filter that rejected the exception.
            for (ControlFlowRegion? region = block.EnclosingRegion; region is not null && region.Kind != ControlFlowRegionKind.Root; region = region.EnclosingRegion)
            {
                if (region.Kind == ControlFlowRegionKind.Filter)
                {
                    _targets.Clear();
                    // Other catches of the same try already have their edges; search further out.
                    ExceptionTargets(region.EnclosingRegion?.EnclosingRegion?.EnclosingRegion, context, _targets);
                    foreach (var t in _targets)
                        AddEdge(node, t, branch);
                    return;
                }

                if (region.Kind != ControlFlowRegionKind.Finally)
                    continue;
                if (context == 0)
                    return;
                var (_, target, parent) = _contexts[context];
                if (target >= 0)
                {
                    AddEdge(node, target, branch);
                    return;
                }

                _targets.Clear();
                ExceptionTargets(region.EnclosingRegion, parent, _targets);
                foreach (var t in _targets)
                    AddEdge(node, t, branch);
                return;
            }
        }

        private void AddEdge(int from, int to, ControlFlowBranch branch)
        {
            Successors[from].Add(to);
            SuccessorBranches[from].Add(branch);
        }

        /// <summary>Where an exception raised in <paramref name="region"/> (run in copy <paramref name="context"/>)
        /// goes: the catches and filters of every enclosing try-catch (one may not match the exception, so the
        /// search goes on outwards), up to the finally of the innermost enclosing try-finally.</summary>
        private void ExceptionTargets(ControlFlowRegion? region, int context, List<int> targets)
        {
            // A lambda's or local function's graph ends at its root region, whose enclosing region is the enclosing
            // function's region around the lambda (a try of the outer graph is not this graph's handler).
            for (; region is not null && region.Kind != ControlFlowRegionKind.Root; region = region.EnclosingRegion)
            {
                if (region.Kind == ControlFlowRegionKind.Finally)
                {
                    // Leaving a finally by an exception: it is no longer the copy's own code that runs.
                    context = _contexts[context].Parent;
                    continue;
                }

                if (region.Kind != ControlFlowRegionKind.Try || region.EnclosingRegion is not { } statement)
                    continue;
                if (statement.Kind == ControlFlowRegionKind.TryAndCatch)
                {
                    foreach (var handler in statement.NestedRegions)
                    {
                        if (handler != region)
                            targets.Add(Node(handler.FirstBlockOrdinal, context));
                    }
                }
                else if (statement.Kind == ControlFlowRegionKind.TryAndFinally && statement.NestedRegions.Length > 1)
                {
                    var finallyRegion = statement.NestedRegions[1];
                    targets.Add(Node(finallyRegion.FirstBlockOrdinal, Context(finallyRegion, -1, context)));
                    return;
                }
            }
        }

        private static bool? ConstantBranch(BasicBlock block)
        {
            if (block.ConditionalSuccessor is null || block.BranchValue?.ConstantValue is not { HasValue: true, Value: bool value })
                return null;
            return block.ConditionKind == ControlFlowConditionKind.WhenTrue ? value : !value;
        }
    }
}
