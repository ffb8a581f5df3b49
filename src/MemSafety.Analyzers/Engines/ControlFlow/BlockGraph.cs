using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis.FlowAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace MemSafety.Analyzers.Engines.ControlFlow;

/// <summary>Where each block's operations sit in the source: all of them, and the explicit ones.</summary>
internal sealed class BlockSpans
{
    public BlockSpans(int count)
    {
        Start = new int[count];
        End = new int[count];
        ExplicitStart = new int[count];
        ExplicitEnd = new int[count];
        for (var b = 0; b < count; b++)
        {
            Start[b] = ExplicitStart[b] = int.MaxValue;
            End[b] = ExplicitEnd[b] = -1;
        }
    }

    public int[] Start { get; }
    public int[] End { get; }
    public int[] ExplicitStart { get; }
    public int[] ExplicitEnd { get; }

    public void Add(int block, TextSpan span, bool isExplicit)
    {
        if (span.Start < Start[block])
            Start[block] = span.Start;
        if (span.End > End[block])
            End[block] = span.End;
        if (!isExplicit)
            return;
        if (span.Start < ExplicitStart[block])
            ExplicitStart[block] = span.Start;
        if (span.End > ExplicitEnd[block])
            ExplicitEnd[block] = span.End;
    }
}

/// <summary>The basic blocks of one graph as arrays: edges (normal ones first), the strongly connected
/// component of each block, and what the finally logic of <see cref="FunctionCycles"/> needs.</summary>
internal sealed class BlockGraph
{
    private readonly BlockSpans _spans;

    private BlockGraph(int count, BlockSpans spans)
    {
        Count = count;
        _spans = spans;
        Reachable = new bool[count];
        Successors = new int[count][];
        NormalCount = new int[count];
        NormalPredecessors = new int[count][];
        Component = new int[count];
        InnermostFinally = new ControlFlowRegion?[count];
        ReachesFinallyEnd = new bool[count];
    }

    public int Count { get; }
    public bool[] Reachable { get; }
    /// <summary>Successors of each block: its normal exits (branches, and a throw statement's edges to the
    /// catches), then the exception edges to the catches it may reach by throwing.</summary>
    public int[][] Successors { get; }
    public int[] NormalCount { get; }
    public int[][] NormalPredecessors { get; }
    /// <summary>Strongly connected component of each block over all edges.</summary>
    public int[] Component { get; }
    public ControlFlowRegion?[] InnermostFinally { get; }
    /// <summary>Whether the block can reach the end of its innermost finally region.</summary>
    public bool[] ReachesFinallyEnd { get; }

    public bool HasOperations(int block) => _spans.End[block] >= 0;

    /// <summary>From the first to the last character of the block's operations, implicit ones included
    /// (they carry the syntax of the statement they serve).</summary>
    public TextSpan Span(int block) => TextSpan.FromBounds(_spans.Start[block], _spans.End[block]);

    public bool HasExplicitOperations(int block) => _spans.ExplicitEnd[block] >= 0;

    /// <summary>From the first to the last character of the block's explicit operations.</summary>
    public TextSpan ExplicitSpan(int block) => TextSpan.FromBounds(_spans.ExplicitStart[block], _spans.ExplicitEnd[block]);

    public static BlockGraph Build(ImmutableArray<BasicBlock> blocks, BlockSpans spans)
    {
        var count = blocks.Length;
        var graph = new BlockGraph(count, spans);
        var edges = new List<int>();
        var handlers = new List<int>();
        var predecessors = new List<int>[count];
        for (var b = 0; b < count; b++)
        {
            var block = blocks[b];
            graph.Reachable[b] = block.IsReachable;
            edges.Clear();
            // The graph keeps both exits of a constant condition; `do { … } while (false)` runs its body once.
            var taken = ConstantBranch(block);
            if (block.FallThroughSuccessor?.Destination is { } next && taken != true)
                edges.Add(next.Ordinal);
            if (block.ConditionalSuccessor?.Destination is { } branch && taken != false)
                edges.Add(branch.Ordinal);

            handlers.Clear();
            CatchHandlers(block, handlers);
            var throws = block.FallThroughSuccessor?.Semantics is ControlFlowBranchSemantics.Throw or ControlFlowBranchSemantics.Rethrow;
            if (throws)
                edges.AddRange(handlers);
            var normal = edges.Count;
            if (!throws)
                edges.AddRange(handlers);

            graph.Successors[b] = edges.ToArray();
            graph.NormalCount[b] = normal;
            for (var i = 0; i < normal; i++)
                (predecessors[edges[i]] ??= new List<int>()).Add(b);
            graph.InnermostFinally[b] = FinallyAround(block.EnclosingRegion);
        }

        for (var b = 0; b < count; b++)
            graph.NormalPredecessors[b] = predecessors[b]?.ToArray() ?? Array.Empty<int>();

        StronglyConnectedComponents(graph.Successors, graph.Component);
        MarkFinallyEnds(blocks, graph);
        return graph;
    }

    /// <summary>Whether the conditional successor is always (true) or never (false) taken, when the
    /// condition is a constant; null otherwise.</summary>
    private static bool? ConstantBranch(BasicBlock block)
    {
        if (block.ConditionalSuccessor is null || block.BranchValue?.ConstantValue is not { HasValue: true, Value: bool value })
            return null;
        return block.ConditionKind == ControlFlowConditionKind.WhenTrue ? value : !value;
    }

    /// <summary>First blocks of the catch clauses (and filters) that an exception thrown in the block may
    /// reach: those of every try-catch whose try region encloses it.</summary>
    private static void CatchHandlers(BasicBlock block, List<int> handlers)
    {
        for (var region = block.EnclosingRegion; region.EnclosingRegion is { } parent; region = parent)
        {
            if (region.Kind != ControlFlowRegionKind.Try || parent.Kind != ControlFlowRegionKind.TryAndCatch)
                continue;
            foreach (var handler in parent.NestedRegions)
            {
                if (handler == region)
                    continue;
                handlers.Add(handler.FirstBlockOrdinal);
                // A filter that fails hands the exception on; enter its handler directly too.
                if (handler.Kind == ControlFlowRegionKind.FilterAndHandler && handler.NestedRegions.Length > 1)
                    handlers.Add(handler.NestedRegions[handler.NestedRegions.Length - 1].FirstBlockOrdinal);
            }
        }
    }

    private static ControlFlowRegion? FinallyAround(ControlFlowRegion? region)
    {
        for (; region is not null; region = region.EnclosingRegion)
        {
            if (region.Kind == ControlFlowRegionKind.Finally)
                return region;
        }

        return null;
    }

    /// <summary>For each finally region, which of its own blocks reach its end (the block that leaves it with
    /// StructuredExceptionHandling), walking normal edges backwards inside the region.</summary>
    private static void MarkFinallyEnds(ImmutableArray<BasicBlock> blocks, BlockGraph graph)
    {
        Stack<int>? stack = null;
        for (var b = 0; b < graph.Count; b++)
        {
            var region = graph.InnermostFinally[b];
            if (region is null || blocks[b].FallThroughSuccessor?.Semantics != ControlFlowBranchSemantics.StructuredExceptionHandling
                || InFilter(blocks[b].EnclosingRegion, region))
            {
                continue;
            }

            stack ??= new Stack<int>();
            stack.Push(b);
            graph.ReachesFinallyEnd[b] = true;
            while (stack.Count > 0)
            {
                var current = stack.Pop();
                foreach (var predecessor in graph.NormalPredecessors[current])
                {
                    if (predecessor >= region.FirstBlockOrdinal && predecessor <= region.LastBlockOrdinal
                        && graph.InnermostFinally[predecessor] == region && !graph.ReachesFinallyEnd[predecessor])
                    {
                        graph.ReachesFinallyEnd[predecessor] = true;
                        stack.Push(predecessor);
                    }
                }
            }
        }
    }

    /// <summary>A filter also ends with StructuredExceptionHandling (the exception goes on searching).</summary>
    private static bool InFilter(ControlFlowRegion region, ControlFlowRegion finallyRegion)
    {
        for (ControlFlowRegion? r = region; r is not null && r != finallyRegion; r = r.EnclosingRegion)
        {
            if (r.Kind == ControlFlowRegionKind.Filter)
                return true;
        }

        return false;
    }

    /// <summary>Tarjan's algorithm with an explicit stack (bodies can be long enough to overflow a recursive one).</summary>
    private static void StronglyConnectedComponents(int[][] successors, int[] component)
    {
        var count = successors.Length;
        var index = new int[count];
        var low = new int[count];
        var onStack = new bool[count];
        var members = new int[count];
        var frames = new int[count];
        var nextEdge = new int[count];
        for (var i = 0; i < count; i++)
            index[i] = -1;

        int counter = 0, memberTop = 0, components = 0;
        for (var root = 0; root < count; root++)
        {
            if (index[root] >= 0)
                continue;
            var frameTop = 0;
            frames[0] = root;
            nextEdge[0] = 0;
            index[root] = low[root] = counter++;
            members[memberTop++] = root;
            onStack[root] = true;
            while (frameTop >= 0)
            {
                var v = frames[frameTop];
                var edges = successors[v];
                if (nextEdge[frameTop] < edges.Length)
                {
                    var w = edges[nextEdge[frameTop]++];
                    if (index[w] < 0)
                    {
                        index[w] = low[w] = counter++;
                        members[memberTop++] = w;
                        onStack[w] = true;
                        frames[++frameTop] = w;
                        nextEdge[frameTop] = 0;
                    }
                    else if (onStack[w] && index[w] < low[v])
                    {
                        low[v] = index[w];
                    }

                    continue;
                }

                if (low[v] == index[v])
                {
                    int w;
                    do
                    {
                        w = members[--memberTop];
                        onStack[w] = false;
                        component[w] = components;
                    }
                    while (w != v);
                    components++;
                }

                frameTop--;
                if (frameTop >= 0 && low[v] < low[frames[frameTop]])
                    low[frames[frameTop]] = low[v];
            }
        }
    }
}
