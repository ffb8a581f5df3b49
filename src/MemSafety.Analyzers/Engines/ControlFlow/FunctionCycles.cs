using System;
using System.Collections.Generic;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.FlowAnalysis;
using Microsoft.CodeAnalysis.Operations;
using Microsoft.CodeAnalysis.Text;

namespace MemSafety.Analyzers.Engines.ControlFlow;

/// <summary>
/// The cycles of one function's control-flow graph, and where the operations of its (original) operation
/// tree sit in it.
/// <para>
/// The graph's operations are rewritten copies, so an operation is found by its syntax, in the graph's
/// <see cref="GraphIndex"/> (explicit operations only: see there).
/// </para>
/// <para>
/// Edges: the branches between blocks (a branch that leaves a try through its finally goes straight to its
/// destination), and exception edges from every block of a try to the handlers of its catch clauses, which
/// Roslyn enters implicitly. An exception edge makes a handler repeat when its try can come back to it, but
/// does not make the throwing block repeat: code that repeats only when it throws itself (a block ending in
/// <c>return</c> inside a retried try) runs once per successful call. A <c>throw</c> statement's edges to
/// the catches are its normal exit. A finally block repeats when its try is entered again on a cycle and
/// the block can reach the end of the finally (the graph has no edges into a finally).
/// </para>
/// </summary>
internal sealed class FunctionCycles
{
    private readonly ControlFlowGraph _graph;
    private GraphIndex? _index;
    private BlockGraph? _blocks;
    private bool _failed;

    private FunctionCycles(ControlFlowGraph graph) => _graph = graph;

    /// <summary>Holds the graph; its index and block graph are built on the first question that needs them
    /// (a caller that only wants <see cref="Graph"/>, such as Engines/Dataflow, builds neither).</summary>
    public static FunctionCycles? Create(ControlFlowGraph? graph) => graph is null ? null : new FunctionCycles(graph);

    private GraphIndex Index
    {
        get
        {
            var index = Volatile.Read(ref _index);
            if (index is null)
                Volatile.Write(ref _index, index = GraphIndex.Of(_graph));
            return index;
        }
    }

    private BlockGraph Blocks
    {
        get
        {
            var blocks = Volatile.Read(ref _blocks);
            if (blocks is null)
            {
                // Two threads may both build it; either result is the same graph.
                blocks = BlockGraph.Build(_graph.Blocks, Index.Spans);
                blocks = Interlocked.CompareExchange(ref _blocks, blocks, null) ?? blocks;
            }

            return blocks;
        }
    }

    /// <summary>Builds the index and the block graph if not yet done. False when that fails: as when the graph
    /// itself cannot be built (see LoopCycles), no answer means "does not repeat".</summary>
    private bool Ready()
    {
        if (Volatile.Read(ref _blocks) is not null)
            return true;
        if (Volatile.Read(ref _failed))
            return false;
        try
        {
            _ = Blocks;
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Volatile.Write(ref _failed, true);
            return false;
        }
    }

    /// <summary>The function's graph (for engines that walk it themselves).</summary>
    public ControlFlowGraph Graph => _graph;

    public ControlFlowGraph? LambdaGraph(SyntaxNode syntax)
        => Index.Lambda(syntax) is { } lambda ? _graph.GetAnonymousFunctionControlFlowGraph(lambda) : null;

    public ControlFlowGraph? LocalFunctionGraph(IMethodSymbol symbol)
    {
        foreach (var local in _graph.LocalFunctions)
        {
            if (SymbolEqualityComparer.Default.Equals(local, symbol))
                return _graph.GetLocalFunctionControlFlowGraph(local);
        }

        return null;
    }

    /// <summary>
    /// Whether the operation repeats: it lies on a cycle of the graph (restricted to the blocks of a loop
    /// when <paramref name="within"/> is given). A foreach stands for its collection and a for with an
    /// initializer for that initializer (each runs once per execution of the loop); another loop statement
    /// repeats when control comes back into it from outside; any other operation that the graph does not
    /// hold as written stands for its first evaluated part.
    /// </summary>
    public bool Repeats(IOperation operation, LoopScope? within)
    {
        if (!Ready())
            return false;
        var current = operation;
        Stack<IOperation>? pending = null;
        while (true)
        {
            switch (current)
            {
                case IForEachLoopOperation forEach:
                    current = forEach.Collection;
                    continue;
                case IForLoopOperation { Before.Length: > 0 } forLoop:
                    current = forLoop.Before[0];
                    continue;
                case ILoopOperation loop:
                    return IsReentered(loop.Syntax.Span, within);
                case ILocalFunctionOperation:
                    break; // declared, not run here
                default:
                    if (Index.TryGetPositions(current.Syntax, out var positions))
                        return AnyRepeats(positions, within);
                    if (current is not IAnonymousFunctionOperation)
                    {
                        // Not in the graph as written (a statement, a declaration): its first evaluated part is.
                        pending ??= new Stack<IOperation>();
                        var mark = pending.Count;
                        foreach (var child in current.ChildOperations)
                            pending.Push(child);
                        Reverse(pending, mark);
                    }

                    break;
            }

            if (pending is null || pending.Count == 0)
                return false;
            current = pending.Pop();
        }
    }

    private static void Reverse(Stack<IOperation> stack, int mark)
    {
        // Children were pushed in order; the first child must be popped first.
        var count = stack.Count - mark;
        if (count < 2)
            return;
        var items = new IOperation[count];
        for (var i = 0; i < count; i++)
            items[i] = stack.Pop();
        foreach (var item in items)
            stack.Push(item);
    }

    /// <summary>Whether any block holding the operation repeats. Positions come by block (the order the
    /// former per-block walk met them), so each block is asked once; the answer does not depend on the order.</summary>
    private bool AnyRepeats(GraphPositions positions, LoopScope? within)
    {
        var blocks = Blocks;
        for (var i = 0; i < positions.Count; i++)
        {
            var block = positions[i].Block;
            if ((i == 0 || positions[i - 1].Block != block) && BlockRepeats(blocks, block, within))
                return true;
        }

        return false;
    }

    private static bool BlockRepeats(BlockGraph blocks, int block, LoopScope? within)
    {
        if (!blocks.Reachable[block] || within is not null && !within.Allows(blocks, block))
            return false;
        if (NormalCycle(blocks, block, within))
            return true;

        // A finally block runs each time its try is left; it repeats when the try is entered again on a cycle
        // (or lies in an outer finally that repeats) and the block is not cut off from the finally's end by a throw.
        for (var b = block; blocks.InnermostFinally[b] is { } finallyRegion && blocks.ReachesFinallyEnd[b];)
        {
            var tryAndFinally = finallyRegion.EnclosingRegion!;
            var entry = tryAndFinally.FirstBlockOrdinal;
            foreach (var predecessor in blocks.NormalPredecessors[entry])
            {
                if ((predecessor < tryAndFinally.FirstBlockOrdinal || predecessor > tryAndFinally.LastBlockOrdinal)
                    && OnCycle(blocks, entry, predecessor, within))
                {
                    return true;
                }
            }

            b = entry;
        }

        return false;
    }

    /// <summary>Whether a normal exit of the block leads back to it.</summary>
    private static bool NormalCycle(BlockGraph blocks, int block, LoopScope? within)
    {
        var successors = blocks.Successors[block];
        var normal = blocks.NormalCount[block];
        if (within is null)
        {
            var component = blocks.Component[block];
            for (var i = 0; i < normal; i++)
            {
                if (blocks.Component[successors[i]] == component)
                    return true;
            }

            return false;
        }

        for (var i = 0; i < normal; i++)
        {
            if (Reaches(blocks, successors[i], block, within))
                return true;
        }

        return false;
    }

    /// <summary>Whether <paramref name="from"/> reaches <paramref name="to"/>, given the edge from <paramref name="to"/> to <paramref name="from"/>.</summary>
    private static bool OnCycle(BlockGraph blocks, int from, int to, LoopScope? within)
        => within is null ? blocks.Component[from] == blocks.Component[to] : within.Allows(blocks, to) && Reaches(blocks, from, to, within);

    private static bool Reaches(BlockGraph blocks, int from, int to, LoopScope within)
    {
        if (!within.Allows(blocks, from))
            return false;
        var seen = new bool[blocks.Count];
        var stack = new Stack<int>();
        stack.Push(from);
        seen[from] = true;
        while (stack.Count > 0)
        {
            var b = stack.Pop();
            if (b == to)
                return true;
            foreach (var next in blocks.Successors[b])
            {
                if (!seen[next] && within.Allows(blocks, next))
                {
                    seen[next] = true;
                    stack.Push(next);
                }
            }
        }

        return false;
    }

    /// <summary>A loop statement repeats when a block outside it leads into one of its blocks and back.</summary>
    private bool IsReentered(TextSpan loop, LoopScope? within)
    {
        var blocks = Blocks;
        for (var b = 0; b < blocks.Count; b++)
        {
            if (!blocks.Reachable[b] || !blocks.HasOperations(b) || !loop.Contains(blocks.Span(b)))
                continue;
            foreach (var predecessor in blocks.NormalPredecessors[b])
            {
                if (blocks.HasOperations(predecessor) && !loop.Contains(blocks.Span(predecessor)) && OnCycle(blocks, b, predecessor, within))
                {
                    return true;
                }
            }
        }

        return false;
    }
}

/// <summary>The part of a loop statement that runs per iteration, as a filter on blocks: a block belongs
/// when all its operations lie in the loop and no explicit one in its foreach collection or for
/// initializer (a foreach's MoveNext is implicit and carries the collection's syntax, but runs per
/// iteration). Blocks without operations (joins) belong to whatever surrounds them.</summary>
internal sealed class LoopScope
{
    private readonly TextSpan _loop;
    private readonly TextSpan _once;
    private readonly bool _hasOnce;

    private LoopScope(TextSpan loop, TextSpan once, bool hasOnce)
    {
        _loop = loop;
        _once = once;
        _hasOnce = hasOnce;
    }

    public static LoopScope Of(ILoopOperation loop)
    {
        switch (loop)
        {
            case IForEachLoopOperation forEach:
                return new LoopScope(loop.Syntax.Span, forEach.Collection.Syntax.Span, hasOnce: true);
            case IForLoopOperation { Before.Length: > 0 } forLoop:
                return new LoopScope(loop.Syntax.Span,
                    TextSpan.FromBounds(forLoop.Before[0].Syntax.SpanStart, forLoop.Before[forLoop.Before.Length - 1].Syntax.Span.End), hasOnce: true);
            default:
                return new LoopScope(loop.Syntax.Span, default, hasOnce: false);
        }
    }

    public bool Allows(BlockGraph blocks, int block)
        => !blocks.HasOperations(block)
           || _loop.Contains(blocks.Span(block))
              && !(_hasOnce && blocks.HasExplicitOperations(block) && _once.IntersectsWith(blocks.ExplicitSpan(block)));
}
