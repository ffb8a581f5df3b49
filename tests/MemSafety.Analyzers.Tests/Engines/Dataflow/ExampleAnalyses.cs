using System;
using System.Collections.Generic;
using MemSafety.Analyzers.Engines.Dataflow;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.FlowAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Tests.Engines.Dataflow;

/// <summary>An immutable set of small integers (local numbers), or "every local" (the bottom of a must-lattice).</summary>
internal sealed class LocalSet : IEquatable<LocalSet>
{
    public static readonly LocalSet Empty = new(Array.Empty<ulong>(), all: false);
    public static readonly LocalSet All = new(Array.Empty<ulong>(), all: true);

    private readonly ulong[] _words;
    private readonly bool _all;

    private LocalSet(ulong[] words, bool all)
    {
        _words = words;
        _all = all;
    }

    public bool Contains(int index) => _all || (index >> 6 < _words.Length && (_words[index >> 6] & (1UL << index)) != 0);

    public LocalSet With(int index)
    {
        if (Contains(index))
            return this;
        var words = new ulong[Math.Max(_words.Length, (index >> 6) + 1)];
        _words.CopyTo(words, 0);
        words[index >> 6] |= 1UL << index;
        return new LocalSet(words, all: false);
    }

    public LocalSet Without(int index)
    {
        if (_all)
            throw new InvalidOperationException("no use removes from the set of every local");
        if (!Contains(index))
            return this;
        var words = (ulong[])_words.Clone();
        words[index >> 6] &= ~(1UL << index);
        return new LocalSet(words, all: false);
    }

    public LocalSet Intersect(LocalSet other)
    {
        if (_all)
            return other;
        if (other._all)
            return this;
        var words = new ulong[Math.Min(_words.Length, other._words.Length)];
        for (var i = 0; i < words.Length; i++)
            words[i] = _words[i] & other._words[i];
        return new LocalSet(words, all: false);
    }

    public LocalSet Union(LocalSet other)
    {
        if (_all || other._all)
            return All;
        var (longer, shorter) = _words.Length >= other._words.Length ? (_words, other._words) : (other._words, _words);
        var words = (ulong[])longer.Clone();
        for (var i = 0; i < shorter.Length; i++)
            words[i] |= shorter[i];
        return new LocalSet(words, all: false);
    }

    public bool Equals(LocalSet? other)
    {
        if (other is null || _all != other._all)
            return false;
        var length = Math.Max(_words.Length, other._words.Length);
        for (var i = 0; i < length; i++)
        {
            if ((i < _words.Length ? _words[i] : 0) != (i < other._words.Length ? other._words[i] : 0))
                return false;
        }

        return true;
    }

    public override bool Equals(object? obj) => Equals(obj as LocalSet);

    public override int GetHashCode() => _all ? 1 : _words.Length;
}

/// <summary>Numbers the locals declared in one graph (in its regions, nested ones included).</summary>
internal sealed class LocalNumbers
{
    private readonly Dictionary<ILocalSymbol, int> _numbers = new(SymbolEqualityComparer.Default);

    public LocalNumbers(ControlFlowGraph? graph)
    {
        var regions = new Stack<ControlFlowRegion>();
        if (graph is not null)
            regions.Push(graph.Root);
        while (regions.Count > 0)
        {
            var region = regions.Pop();
            foreach (var local in region.Locals)
                _numbers[local] = _numbers.Count;
            foreach (var nested in region.NestedRegions)
                regions.Push(nested);
        }
    }

    /// <summary>-1 for a local of an enclosing function (captured) or one the graph does not declare.</summary>
    public int Of(ILocalSymbol local) => _numbers.TryGetValue(local, out var number) ? number : -1;
}

/// <summary>
/// Forward must-analysis: which locals of the function are definitely assigned (C#'s rule, without struct
/// fields). A captured local (declared by an enclosing function) counts as assigned: the compiler checks it
/// where the lambda or local function is created or called, which is the enclosing graph's business.
/// </summary>
internal sealed class DefiniteAssignment : DataflowAnalysis<LocalSet>
{
    public DefiniteAssignment(ControlFlowGraph graph) => Locals = new LocalNumbers(graph);

    public LocalNumbers Locals { get; }
    public override DataflowDirection Direction => DataflowDirection.Forward;
    public override LocalSet Boundary => LocalSet.Empty;
    public override LocalSet Bottom => LocalSet.All;
    public override LocalSet Join(LocalSet left, LocalSet right) => left.Intersect(right);
    public override bool Same(LocalSet left, LocalSet right) => left.Equals(right);

    public bool IsAssigned(LocalSet state, ILocalSymbol local) => Locals.Of(local) is var n && (n < 0 || state.Contains(n));

    public override LocalSet Transfer(IOperation operation, LocalSet state)
    {
        foreach (var written in Writes.Of(operation))
        {
            var n = Locals.Of(written);
            if (n >= 0)
                state = state.With(n);
        }

        return state;
    }

    /// <summary>A pattern declares its locals only where it matched: on the branch taken when it is true.</summary>
    public override LocalSet OnEdge(BasicBlock source, ControlFlowBranch branch, LocalSet state)
    {
        if (source.BranchValue is IIsPatternOperation isPattern && DataflowEdges.ConditionHolds(source, branch) == true)
        {
            foreach (var node in isPattern.Pattern.DescendantsAndSelf())
            {
                if (node is IDeclarationPatternOperation { DeclaredSymbol: ILocalSymbol local } && Locals.Of(local) is >= 0 and var n)
                    state = state.With(n);
            }
        }

        return state;
    }
}

/// <summary>Backward may-analysis: which locals of the function may be read later (live).</summary>
internal sealed class Liveness : DataflowAnalysis<LocalSet>
{
    public Liveness(ControlFlowGraph? graph) => Locals = new LocalNumbers(graph);

    public LocalNumbers Locals { get; }
    public override DataflowDirection Direction => DataflowDirection.Backward;
    public override LocalSet Boundary => LocalSet.Empty;
    public override LocalSet Bottom => LocalSet.Empty;
    public override LocalSet Join(LocalSet left, LocalSet right) => left.Union(right);
    public override bool Same(LocalSet left, LocalSet right) => left.Equals(right);

    public override LocalSet Transfer(IOperation operation, LocalSet state)
    {
        // Live before = (live after − written) ∪ read: a statement reads before it writes (x = x + 1).
        foreach (var written in Writes.Of(operation))
        {
            if (Locals.Of(written) is >= 0 and var n)
                state = state.Without(n);
        }

        foreach (var node in operation.DescendantsAndSelf())
        {
            if (node is ILocalReferenceOperation reference && !Writes.IsPureWrite(reference) && Locals.Of(reference.Local) is >= 0 and var n)
                state = state.With(n);
        }

        return state;
    }
}

internal static class Writes
{
    /// <summary>The locals an operation of the graph writes (assignments, out arguments, deconstructions).</summary>
    public static IEnumerable<ILocalSymbol> Of(IOperation operation)
    {
        foreach (var node in operation.DescendantsAndSelf())
        {
            if (node is ILocalReferenceOperation reference && IsWrite(reference))
                yield return reference.Local;
        }
    }

    /// <summary>Written without being read first (x = …, out x), unlike x += 1.</summary>
    public static bool IsPureWrite(ILocalReferenceOperation reference)
        => IsWrite(reference) && reference.Parent is not (ICompoundAssignmentOperation or IIncrementOrDecrementOperation or ICoalesceAssignmentOperation);

    private static bool IsWrite(ILocalReferenceOperation reference)
    {
        IOperation child = reference;
        var parent = reference.Parent;
        // A deconstruction's target is a tuple (or declaration) of references.
        while (parent is ITupleOperation or IDeclarationExpressionOperation)
        {
            child = parent;
            parent = parent.Parent;
        }

        return parent switch
        {
            IAssignmentOperation assignment => assignment.Target == child,
            IIncrementOrDecrementOperation => true,
            IArgumentOperation { Parameter.RefKind: RefKind.Out } => true,
            _ => false,
        };
    }
}
