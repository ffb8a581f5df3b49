using Microsoft.CodeAnalysis;

namespace MemSafety.Analyzers.Engines.Dataflow;

/// <summary>
/// The analysis with one state: the blocks it reaches (<see cref="DataflowResult{TState}.TryGetStateAtStart"/> true)
/// are exactly those every other forward analysis reaches on the same graph, since the solver's reachability
/// depends on the edges only (normal and exceptional), never on the states. An engine whose state would be the
/// same everywhere in a function asks this instead: no operation is looked at.
/// </summary>
internal sealed class Reachability : DataflowAnalysis<bool>
{
    public static readonly Reachability Instance = new();

    private Reachability()
    {
    }

    public override DataflowDirection Direction => DataflowDirection.Forward;

    public override bool Boundary => true;

    public override bool Bottom => true;

    public override bool Join(bool left, bool right) => true;

    public override bool Same(bool left, bool right) => true;

    public override bool Transfer(IOperation operation, bool state) => state;
}
