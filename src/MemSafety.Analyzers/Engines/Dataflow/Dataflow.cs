using System;
using System.Runtime.CompilerServices;
using System.Threading;
using MemSafety.Analyzers.Engines.ControlFlow;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.FlowAnalysis;

namespace MemSafety.Analyzers.Engines.Dataflow;

/// <summary>
/// Runs a <see cref="DataflowAnalysis{TState}"/> over one function's control-flow graph to a fixed point: a
/// worklist visited in reverse postorder (forward) or postorder (backward), each node recomputed from its
/// neighbours (exception edges included, see <see cref="FlowGraph"/>). A lambda or local function is a graph of
/// its own: its body is analysed from <see cref="DataflowAnalysis{TState}.Boundary"/>, and in the enclosing
/// graph its creation is one operation and a call to it is an invocation, which the analysis models as it likes.
/// </summary>
internal static class Dataflow
{
    private static readonly ConditionalWeakTable<ControlFlowGraph, FlowGraphHolder> s_flows = new();

    /// <summary>Analyses the function (member body, lambda or local function) that contains the operation, on
    /// the graph <see cref="LoopCycles"/> keeps for it. Null ("unknown") when no graph can be built.</summary>
    public static DataflowResult<TState>? Analyze<TState>(IOperation operationInFunction, DataflowAnalysis<TState> analysis, CancellationToken cancellationToken)
        => Analyze(LoopCycles.GraphOf(operationInFunction), analysis, cancellationToken);

    /// <summary>Analyses one graph. Null ("unknown") when there is no graph or it is too large to model.</summary>
    public static DataflowResult<TState>? Analyze<TState>(ControlFlowGraph? graph, DataflowAnalysis<TState> analysis, CancellationToken cancellationToken)
    {
        if (graph is null)
            return null;
        var holder = s_flows.GetValue(graph, static g => new FlowGraphHolder(g));
        var flow = holder.Get(cancellationToken);
        if (flow is null)
            return null;
        return analysis.Direction == DataflowDirection.Forward
            ? SolveForward(flow, analysis, cancellationToken)
            : SolveBackward(flow, analysis, cancellationToken);
    }

    private static DataflowResult<TState> SolveForward<TState>(FlowGraph flow, DataflowAnalysis<TState> analysis, CancellationToken cancellationToken)
    {
        var count = flow.Count;
        var blocks = flow.Graph.Blocks;
        var start = new TState[count];
        var end = new TState[count];
        var exceptional = new TState[count];
        var reached = new bool[count];
        var worklist = new Worklist(flow);
        while (worklist.TryTake(out var node))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var any = node == flow.Entry;
            var state = any ? analysis.Boundary : default!;
            var predecessors = flow.Predecessors[node];
            var branches = flow.PredecessorBranches[node];
            for (var i = 0; i < predecessors.Length; i++)
            {
                var p = predecessors[i];
                if (!reached[p])
                    continue;
                var along = analysis.OnEdge(blocks[flow.BlockOf[p]], branches[i], end[p]);
                state = any ? analysis.Join(state, along) : along;
                any = true;
            }

            foreach (var p in flow.ExceptionalPredecessors[node])
            {
                if (!reached[p])
                    continue;
                state = any ? analysis.Join(state, exceptional[p]) : exceptional[p];
                any = true;
            }

            if (!any || (reached[node] && analysis.Same(state, start[node])))
                continue;

            var first = !reached[node];
            reached[node] = true;
            start[node] = state;
            var block = blocks[flow.BlockOf[node]];
            var throws = flow.Handlers[node].Length > 0;
            var thrown = state;
            foreach (var operation in block.Operations)
            {
                state = analysis.Transfer(operation, state);
                if (throws)
                    thrown = analysis.Join(thrown, state);
            }

            if (block.BranchValue is { } branchValue)
            {
                state = analysis.Transfer(branchValue, state);
                if (throws)
                    thrown = analysis.Join(thrown, state);
            }

            var changed = first || !analysis.Same(state, end[node]);
            end[node] = state;
            if (changed)
                worklist.AddAll(flow.Successors[node]);
            if (throws)
            {
                thrown = analysis.OnExceptionalEdge(block, thrown);
                if (first || !analysis.Same(thrown, exceptional[node]))
                {
                    exceptional[node] = thrown;
                    worklist.AddAll(flow.Handlers[node]);
                }
            }
        }

        return new DataflowResult<TState>(flow, analysis, start, end, reached);
    }

    private static DataflowResult<TState> SolveBackward<TState>(FlowGraph flow, DataflowAnalysis<TState> analysis, CancellationToken cancellationToken)
    {
        var count = flow.Count;
        var blocks = flow.Graph.Blocks;
        var start = new TState[count];
        var end = new TState[count];
        var reached = new bool[count];
        var bottom = analysis.Bottom;
        for (var n = 0; n < count; n++)
            start[n] = bottom;
        var worklist = new Worklist(flow, backward: true);
        while (worklist.TryTake(out var node))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var block = blocks[flow.BlockOf[node]];
            var successors = flow.Successors[node];
            var branches = flow.SuccessorBranches[node];
            var state = successors.Length == 0 ? analysis.Boundary : bottom;
            for (var i = 0; i < successors.Length; i++)
                state = analysis.Join(state, analysis.OnEdge(block, branches[i], start[successors[i]]));
            end[node] = state;

            var handlers = flow.Handlers[node];
            var thrown = bottom;
            foreach (var h in handlers)
                thrown = analysis.Join(thrown, start[h]);
            var throws = handlers.Length > 0;
            if (throws)
                thrown = analysis.OnExceptionalEdge(block, thrown);
            if (block.BranchValue is { } branchValue)
                state = Step(analysis, branchValue, state, throws, thrown);
            var operations = block.Operations;
            for (var i = operations.Length - 1; i >= 0; i--)
                state = Step(analysis, operations[i], state, throws, thrown);

            if (reached[node] && analysis.Same(state, start[node]))
                continue;
            reached[node] = true;
            start[node] = state;
            worklist.AddAll(flow.Predecessors[node]);
            worklist.AddAll(flow.ExceptionalPredecessors[node]);
        }

        return new DataflowResult<TState>(flow, analysis, start, end, reached);
    }

    /// <summary>Backward over one operation: an exception may leave from any point of it to the handlers.</summary>
    internal static TState Step<TState>(DataflowAnalysis<TState> analysis, IOperation operation, TState state, bool throws, TState thrown)
    {
        state = analysis.Transfer(operation, state);
        return throws ? analysis.Join(state, thrown) : state;
    }

    /// <summary>Nodes waiting to be recomputed, taken in (reverse) postorder: a sweep over the order that
    /// starts again from the lowest position whenever an earlier node is queued.</summary>
    private sealed class Worklist
    {
        private readonly int[] _order;
        private readonly int[] _position;
        private readonly bool[] _queued;
        private int _count;
        private int _cursor;

        public Worklist(FlowGraph flow, bool backward = false)
        {
            var count = flow.Count;
            _order = new int[count];
            _position = new int[count];
            _queued = new bool[count];
            for (var i = 0; i < count; i++)
            {
                var node = backward ? flow.Order[count - 1 - i] : flow.Order[i];
                _order[i] = node;
                _position[node] = i;
                _queued[i] = true;
            }

            _count = count;
        }

        public void AddAll(int[] nodes)
        {
            foreach (var node in nodes)
            {
                var position = _position[node];
                if (_queued[position])
                    continue;
                _queued[position] = true;
                _count++;
                if (position < _cursor)
                    _cursor = position;
            }
        }

        public bool TryTake(out int node)
        {
            if (_count == 0)
            {
                node = -1;
                return false;
            }

            while (!_queued[_cursor])
                _cursor++;
            _queued[_cursor] = false;
            _count--;
            node = _order[_cursor];
            return true;
        }
    }

    /// <summary>One <see cref="FlowGraph"/> per Roslyn graph, shared by every analysis of that function.</summary>
    private sealed class FlowGraphHolder
    {
        private readonly ControlFlowGraph _graph;
        private FlowGraph? _flow;
        private int _state; // 0: not built, 1: built, 2: too large

        public FlowGraphHolder(ControlFlowGraph graph) => _graph = graph;

        public FlowGraph? Get(CancellationToken cancellationToken)
        {
            switch (Volatile.Read(ref _state))
            {
                case 1:
                    return _flow;
                case 2:
                    return null;
            }

            // Two threads may both build it; both results are equal and one wins.
            var flow = FlowGraph.Build(_graph, cancellationToken);
            _flow = flow;
            Volatile.Write(ref _state, flow is null ? 2 : 1);
            return flow;
        }
    }
}
