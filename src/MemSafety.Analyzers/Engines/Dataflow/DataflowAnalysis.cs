using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.FlowAnalysis;

namespace MemSafety.Analyzers.Engines.Dataflow;

/// <summary>Which way facts flow: from the function's entry towards its exits, or from its exits back.</summary>
internal enum DataflowDirection
{
    Forward,
    Backward,
}

/// <summary>
/// One flow-sensitive analysis: a lattice of states (<see cref="Bottom"/>, <see cref="Join"/>, <see cref="Same"/>)
/// and how each operation and each branch changes a state. The solver (<see cref="Dataflow"/>) calls
/// <see cref="Transfer"/> for every top-level operation of a block in program order (forward) or in reverse
/// (backward), then for the block's <see cref="BasicBlock.BranchValue"/> (forward: after the operations;
/// backward: before them), and <see cref="OnEdge"/> for every branch taken. States are values: a transfer returns
/// a new state (or the same one when nothing changes) and never mutates its argument, because the solver keeps
/// the states it has seen. Transfer functions must be monotone for the solver to terminate.
/// </summary>
internal abstract class DataflowAnalysis<TState>
{
    public abstract DataflowDirection Direction { get; }

    /// <summary>The state at the function's entry (forward) or at its exits (backward).</summary>
    public abstract TState Boundary { get; }

    /// <summary>The state of "no path yet": the identity of <see cref="Join"/>. A backward analysis starts every
    /// block from it (a forward one starts only the entry, from <see cref="Boundary"/>).</summary>
    public abstract TState Bottom { get; }

    /// <summary>The state where paths meet (the least upper bound: union for "may", intersection for "must").</summary>
    public abstract TState Join(TState left, TState right);

    public abstract bool Same(TState left, TState right);

    /// <summary>The state after (forward) or before (backward) one operation of the graph: a top-level operation
    /// of a block or a block's branch value. The operation is the graph's rewritten copy, with its descendants.</summary>
    public abstract TState Transfer(IOperation operation, TState state);

    /// <summary>The state carried along one branch out of <paramref name="source"/>: forward, from the end of the
    /// source to the start of the destination; backward, from the start of the destination to the end of the
    /// source. <see cref="DataflowEdges.ConditionHolds"/> tells which value of the branch condition takes it.
    /// A branch that leaves through finally blocks is given here once, on its way into the first of them.</summary>
    public virtual TState OnEdge(BasicBlock source, ControlFlowBranch branch, TState state) => state;

    /// <summary>The state carried along the exception edges out of <paramref name="source"/> to its handlers (forward:
    /// the join of the states at every point of the block, on its way to the catch or finally; backward: the handlers'
    /// joined entry state, on its way back into the block). An analysis that asks only about normal paths (MSA4006:
    /// "disposed on every path that does not throw") forgets here what an exception path would carry.</summary>
    public virtual TState OnExceptionalEdge(BasicBlock source, TState state) => state;
}

internal static class DataflowEdges
{
    /// <summary>For a branch out of a conditional block: true when it is taken if the block's branch value is
    /// true, false when taken if it is false; null for a block without a condition.</summary>
    public static bool? ConditionHolds(BasicBlock source, ControlFlowBranch branch)
    {
        if (source.ConditionKind == ControlFlowConditionKind.None || branch.Source != source)
            return null;
        var whenTrue = source.ConditionKind == ControlFlowConditionKind.WhenTrue;
        return branch.IsConditionalSuccessor ? whenTrue : !whenTrue;
    }
}
