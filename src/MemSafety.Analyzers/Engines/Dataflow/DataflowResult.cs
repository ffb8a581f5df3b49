using MemSafety.Analyzers.Engines.ControlFlow;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.FlowAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Engines.Dataflow;

/// <summary>
/// The fixed point of one analysis over one function, in program order whatever the direction: the state at
/// the start and at the end of each block, and before / after an operation. A block run in several copies (a
/// finally) answers the join of its copies. "Try" methods answer false for code no path reaches (or, backward,
/// from which no exit is reached) and for operations the graph does not hold.
/// <para>
/// Operations are found by their syntax, so an operation of the original tree (what an analyzer is given)
/// finds its rewritten copy in the graph. The granularity is the top-level operation of a block: the state
/// before <c>x</c> in <c>Use(x = 1, x)</c> is the state before the whole call. Roslyn's graph splits
/// expressions with their own control flow (<c>?:</c>, <c>??</c>, <c>&amp;&amp;</c>, patterns) into blocks.
/// </para>
/// </summary>
internal sealed class DataflowResult<TState>
{
    private readonly FlowGraph _flow;
    private readonly DataflowAnalysis<TState> _analysis;
    private readonly TState[] _start;
    private readonly TState[] _end;
    private readonly bool[] _reached;

    internal DataflowResult(FlowGraph flow, DataflowAnalysis<TState> analysis, TState[] start, TState[] end, bool[] reached)
    {
        _flow = flow;
        _analysis = analysis;
        _start = start;
        _end = end;
        _reached = reached;
    }

    public ControlFlowGraph Graph => _flow.Graph;

    public bool TryGetStateAtStart(BasicBlock block, out TState state) => TryJoin(block.Ordinal, _start, out state);

    public bool TryGetStateAtEnd(BasicBlock block, out TState state) => TryJoin(block.Ordinal, _end, out state);

    /// <summary>The state just before the operation (before the top-level operation of its block that holds it).</summary>
    public bool TryGetStateBefore(IOperation operation, out TState state) => TryAt(operation, after: false, out state);

    /// <summary>The state just after the operation (after the top-level operation of its block that holds it).</summary>
    public bool TryGetStateAfter(IOperation operation, out TState state) => TryAt(operation, after: true, out state);

    private bool TryJoin(int block, TState[] states, out TState state)
    {
        state = default!;
        var any = false;
        foreach (var node in _flow.NodesOfBlock[block])
        {
            if (!_reached[node])
                continue;
            state = any ? _analysis.Join(state, states[node]) : states[node];
            any = true;
        }

        return any;
    }

    private bool TryAt(IOperation operation, bool after, out TState state)
    {
        state = default!;
        // Where the graph holds the operation, by block then top-level index (see GraphIndex), shared with LoopCycles.
        var index = GraphIndex.Of(_flow.Graph);
        if (!index.TryGetPositions(operation.Syntax, out var positions)
            && !(operation is IExpressionStatementOperation statement && index.TryGetPositions(statement.Operation.Syntax, out positions)))
        {
            return false;
        }

        var any = false;
        for (var p = 0; p < positions.Count; p++)
        {
            var position = positions[p];
            foreach (var node in _flow.NodesOfBlock[position.Block])
            {
                if (!_reached[node])
                    continue;
                var at = At(node, position.Index, after);
                state = any ? _analysis.Join(state, at) : at;
                any = true;
            }
        }

        return any;
    }

    /// <summary>Replays the block's transfers up to the operation at <paramref name="index"/> (the branch value
    /// is at the number of operations).</summary>
    private TState At(int node, int index, bool after)
    {
        var block = _flow.Graph.Blocks[_flow.BlockOf[node]];
        var operations = block.Operations;
        if (_analysis.Direction == DataflowDirection.Forward)
        {
            var state = _start[node];
            var last = after ? index : index - 1;
            for (var i = 0; i <= last; i++)
                state = _analysis.Transfer(i < operations.Length ? operations[i] : block.BranchValue!, state);
            return state;
        }

        var handlers = _flow.Handlers[node];
        var throws = handlers.Length > 0;
        var thrown = _analysis.Bottom;
        foreach (var h in handlers)
            thrown = _analysis.Join(thrown, _start[h]);
        if (throws)
            thrown = _analysis.OnExceptionalEdge(block, thrown);
        var backward = _end[node];
        var stop = after ? index + 1 : index;
        for (var i = block.BranchValue is null ? operations.Length - 1 : operations.Length; i >= stop; i--)
            backward = Dataflow.Step(_analysis, i < operations.Length ? operations[i] : block.BranchValue!, backward, throws, thrown);
        return backward;
    }
}
