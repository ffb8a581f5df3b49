using System.Collections.Generic;
using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using System.Threading;
using MemSafety.Analyzers.Engines.Bodies;
using MemSafety.Analyzers.Engines.ControlFlow;
using MemSafety.Analyzers.Engines.Escape;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.FlowAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Engines.Provenance;

/// <summary>
/// Pointer provenance of one function (member body, lambda or local function): where each pointer-typed or
/// pointer-sized value may come from (<see cref="ProvenanceKind"/>) and the definite escapes of those with a
/// definite origin. A forward "may" dataflow over the function's control-flow graph (Engines/Dataflow), so a value
/// reassigned before it escapes, a field cleared before the fixed block ends, or a pointer used only inside its
/// block is not an escape; then each block is replayed from its fixed-point start state to record the escapes
/// (<see cref="PointerEscapeKind"/>). Computed once per graph on the first question, cached with it.
/// Like Go vet's unsafeptr check, an unknown origin is never reported.
/// </summary>
internal sealed class PointerProvenance
{
    private static readonly ConditionalWeakTable<ControlFlowGraph, Holder> s_cache = new();

    private readonly ProvenanceAnalysis _analysis;
    private readonly Dataflow.DataflowResult<ProvenanceState> _result;

    private PointerProvenance(ProvenanceAnalysis analysis, Dataflow.DataflowResult<ProvenanceState> result, ImmutableArray<PointerEscape> escapes)
    {
        _analysis = analysis;
        _result = result;
        Escapes = escapes;
    }

    /// <summary>Every definite escape of the function, in block order.</summary>
    public ImmutableArray<PointerEscape> Escapes { get; }

    /// <summary>The provenance of the function containing <paramref name="operationInFunction"/> (an operation of the
    /// original tree); null when no graph can be built or it is too large ("unknown": say nothing).</summary>
    public static PointerProvenance? Of(IOperation operationInFunction, CancellationToken cancellationToken)
    {
        var graph = LoopCycles.GraphOf(operationInFunction);
        if (graph is null)
            return null;
        var holder = s_cache.GetValue(graph, static _ => new Holder());
        lock (holder)
        {
            if (!holder.Done)
            {
                holder.Value = Compute(graph, operationInFunction, cancellationToken);
                holder.Done = true;
            }

            return holder.Value;
        }
    }

    /// <summary>The escapes of the pointers one site creates (a stackalloc, an <c>&amp;x</c>, a fixed declarator).</summary>
    public IEnumerable<PointerEscape> EscapesOf(SyntaxNode originSite)
    {
        foreach (var escape in Escapes)
        {
            if (escape.Origin.Site == originSite)
                yield return escape;
        }
    }

    /// <summary>The origins <paramref name="value"/> (an operation of the original tree) may carry where it is
    /// evaluated, as far as the state before its top-level operation tells.</summary>
    public ImmutableArray<PointerOrigin> OriginsOf(IOperation value)
    {
        if (!_result.TryGetStateBefore(value, out var state))
            return ImmutableArray<PointerOrigin>.Empty;
        var held = _analysis.Eval(value, state);
        var builder = ImmutableArray.CreateBuilder<PointerOrigin>(held.Length);
        foreach (var h in held)
        {
            if (!builder.Contains(h.Origin))
                builder.Add(h.Origin);
        }

        return builder.ToImmutable();
    }

    private static PointerProvenance? Compute(ControlFlowGraph graph, IOperation anyOperation, CancellationToken cancellationToken)
    {
        var analysis = new ProvenanceAnalysis();
        var result = Dataflow.Dataflow.Analyze(graph, analysis, cancellationToken);
        if (result is null)
            return null;
        var replay = new Replay(analysis, anyOperation, cancellationToken);
        foreach (var block in graph.Blocks)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!result.TryGetStateAtStart(block, out var state))
                continue;
            foreach (var operation in block.Operations)
            {
                replay.LeavingScope(operation.Syntax, state);
                state = analysis.Visit(operation, state, replay);
            }

            if (block.BranchValue is { } branchValue)
            {
                replay.LeavingScope(branchValue.Syntax, state);
                state = analysis.Visit(branchValue, state, replay);
                if (block.FallThroughSuccessor?.Semantics == ControlFlowBranchSemantics.Return)
                    replay.Returned(branchValue, analysis.Eval(branchValue, state));
            }

            if (block.Kind == BasicBlockKind.Exit)
                replay.AtExit(state);
        }

        return new PointerProvenance(analysis, result, replay.Escapes.ToImmutable());
    }

    private sealed class Holder
    {
        public bool Done;
        public PointerProvenance? Value;
    }

    /// <summary>Collects escapes while blocks are replayed; each (origin, kind, site) once.</summary>
    private sealed class Replay : ProvenanceAnalysis.EscapeSink
    {
        private readonly ProvenanceAnalysis _analysis;
        private readonly IOperation _anyOperation;
        private readonly CancellationToken _cancellationToken;
        private readonly HashSet<(PointerOrigin, PointerEscapeKind, SyntaxNode)> _seen = new();

        public Replay(ProvenanceAnalysis analysis, IOperation anyOperation, CancellationToken cancellationToken)
        {
            _analysis = analysis;
            _anyOperation = anyOperation;
            _cancellationToken = cancellationToken;
        }

        public ImmutableArray<PointerEscape>.Builder Escapes { get; } = ImmutableArray.CreateBuilder<PointerEscape>();

        private void Add(PointerOrigin origin, PointerEscapeKind kind, SyntaxNode site, string? target)
        {
            if (origin.Kind is ProvenanceKind.Stack or ProvenanceKind.Pinned && _seen.Add((origin, kind, site)))
                Escapes.Add(new PointerEscape(origin, kind, site, target));
        }

        public void Use(IOperation use, ImmutableArray<Held> pointer)
        {
            foreach (var h in pointer)
            {
                if (h.Origin.Kind == ProvenanceKind.Pinned && !h.Origin.IsInScope(use.Syntax))
                    Add(h.Origin, PointerEscapeKind.UsedAfterScope, use.Syntax, null);
            }
        }

        public void StoredToHeap(IOperation store, ImmutableArray<Held> value, string target)
        {
            foreach (var h in value)
                Add(h.Origin, PointerEscapeKind.StoredBeyondScope, store.Syntax, target);
        }

        public void Returned(IOperation value, ImmutableArray<Held> held)
        {
            foreach (var h in held)
                Add(h.Origin, PointerEscapeKind.Returned, value.Syntax, null);
        }

        /// <summary>Before an operation outside a fixed statement: a pinned pointer still held by a location that
        /// outlives the function has outlived its block.</summary>
        public void LeavingScope(SyntaxNode at, ProvenanceState state)
        {
            foreach (var pair in state.Map)
            {
                if (!OutlivesFunction(pair.Key))
                    continue;
                foreach (var h in pair.Value)
                {
                    if (h.Origin.Kind == ProvenanceKind.Pinned && !h.Origin.IsInScope(at) && h.StoredAt is not null)
                        Add(h.Origin, PointerEscapeKind.StoredBeyondScope, h.StoredAt, h.Target);
                }
            }
        }

        /// <summary>At the function's exit (normal paths): anything still held by a location that outlives it.</summary>
        public void AtExit(ProvenanceState state)
        {
            foreach (var pair in state.Map)
            {
                if (!OutlivesFunction(pair.Key))
                    continue;
                foreach (var h in pair.Value)
                {
                    if (h.StoredAt is not null)
                        Add(h.Origin, PointerEscapeKind.StoredBeyondScope, h.StoredAt, h.Target);
                }
            }
        }

        private static bool OutlivesFunction(object key) => key switch
        {
            MemberKey member => member.OutlivesFunction,
            IParameterSymbol parameter => parameter.RefKind is RefKind.Ref or RefKind.Out,
            _ => false,
        };

        /// <summary>A lambda or local function converted to a delegate captures the pointers its captured variables
        /// hold; it is an escape when the delegate is returned or stored (the escape engine's verdict on it), not
        /// when it is only invoked or passed to a call.</summary>
        public void DelegateCreated(IDelegateCreationOperation creation, ProvenanceState state)
        {
            if (state.Map.Count == 0)
                return;
            var original = Original(creation);
            if (original is null)
                return;
            var facts = BodyFacts.Of(original);
            var function = original.Target switch
            {
                IAnonymousFunctionOperation lambda => (IOperation)lambda,
                IMethodReferenceOperation { Method.MethodKind: MethodKind.LocalFunction } reference => LocalFunction(facts, reference.Method),
                _ => null,
            };
            if (function is null)
                return;
            List<Held>? captured = null;
            foreach (var symbol in facts.CapturedBy(function))
            {
                foreach (var h in state.Get(symbol))
                    (captured ??= new List<Held>()).Add(h);
            }

            if (captured is null)
                return;
            var verdict = new EscapeEngine(facts.Root, null, _cancellationToken).Analyze(original);
            var target = verdict.Kind switch
            {
                EscapeKind.Returned => "returned",
                EscapeKind.StoredInField or EscapeKind.StoredInProperty or EscapeKind.StoredInArrayElement or EscapeKind.StoredInRefParameter => verdict.Reason,
                _ => null,
            };
            if (target is null)
                return;
            foreach (var h in captured)
                Add(h.Origin, PointerEscapeKind.CapturedByEscapingDelegate, creation.Syntax, target);
        }

        private IDelegateCreationOperation? Original(IDelegateCreationOperation copy)
        {
            var model = _anyOperation.SemanticModel;
            var found = model?.GetOperation(copy.Syntax, _cancellationToken);
            while (found is not null and not IDelegateCreationOperation)
                found = found.Parent is IDelegateCreationOperation parent ? parent : null;
            return found as IDelegateCreationOperation;
        }

        private static IOperation? LocalFunction(BodyFacts facts, IMethodSymbol method)
        {
            foreach (var function in facts.Functions)
            {
                if (function is ILocalFunctionOperation local && SymbolEqualityComparer.Default.Equals(local.Symbol, method.OriginalDefinition))
                    return local;
            }

            return null;
        }
    }
}
