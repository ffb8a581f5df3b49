using System.Collections.Generic;
using System.Threading;
using MemSafety.Analyzers.Engines.Dataflow;
using MemSafety.Analyzers.Engines.Disposal;
using MemSafety.Analyzers.Engines.Escape;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.FlowAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.Finalizers;

/// <summary>
/// MSA4002's question, "does every path through this Dispose that releases something call
/// <c>GC.SuppressFinalize(this)</c>?", as a forward dataflow analysis over the method's control-flow graph. The
/// state is the set of (suppressed, released) pairs some path can be in; a path that throws never reaches the exit
/// (the dataflow base sends unhandled exceptions nowhere), so <c>ObjectDisposedException</c> guards need nothing.
/// "Released" is any call that does work (not a flag check through <c>Interlocked</c>/<c>Volatile</c>, not a
/// <c>[Conditional]</c> call this build leaves out, not a pure library member, not an implicit call the compiler
/// adds for <c>lock</c>/<c>using</c>): a path that only finds the object already disposed and returns need not
/// suppress again. A call on <c>this</c> suppresses when the method it runs does
/// (<see cref="DisposableTypes.SuppressesFinalization"/>).
/// </summary>
internal sealed class SuppressFinalizePaths : DataflowAnalysis<int>
{
    // Bits of the state: one per (suppressed, released) pair some path can be in.
    private const int Suppressed = 2;
    private const int Released = 1;
    internal const int ReleasedNotSuppressed = 1 << Released;
    internal const int AnySuppressed = (1 << Suppressed) | (1 << (Suppressed | Released));

    private readonly DisposableTypes _disposal;
    private readonly INamedTypeSymbol _type;
    private readonly IEnumerable<string> _symbols;
    private readonly CancellationToken _cancellationToken;
    private readonly Dictionary<IOperation, int> _effects = new();

    private SuppressFinalizePaths(DisposableTypes disposal, INamedTypeSymbol type, IEnumerable<string> symbols, CancellationToken cancellationToken)
    {
        _disposal = disposal;
        _type = type;
        _symbols = symbols;
        _cancellationToken = cancellationToken;
    }

    public override DataflowDirection Direction => DataflowDirection.Forward;

    public override int Boundary => 1; // neither suppressed nor released

    public override int Bottom => 0;

    public override int Join(int left, int right) => left | right;

    public override bool Same(int left, int right) => left == right;

    public override int Transfer(IOperation operation, int state)
    {
        var effect = EffectOf(operation);
        if (effect == 0 || state == 0)
            return state;
        var result = 0;
        for (var pair = 0; pair < 4; pair++)
        {
            if ((state & (1 << pair)) != 0)
                result |= 1 << (pair | effect);
        }

        return result;
    }

    /// <summary>The paths that reach the method's normal exit, as state bits (null: unknown, no graph).</summary>
    public static Verdict? Analyze(IOperation body, IMethodSymbol method, DisposableTypes disposal, CancellationToken cancellationToken)
    {
        var symbols = ((CSharpParseOptions)body.Syntax.SyntaxTree.Options).PreprocessorSymbolNames;
        var analysis = new SuppressFinalizePaths(disposal, method.ContainingType, symbols, cancellationToken);
        var result = Dataflow.Analyze(body, analysis, cancellationToken);
        if (result is null)
            return null;
        var blocks = result.Graph.Blocks;
        var exit = blocks[blocks.Length - 1];
        if (exit.Kind != BasicBlockKind.Exit || !result.TryGetStateAtStart(exit, out var atExit))
            return new Verdict(0, canAppend: false);

        // Appending the call at the end covers every path only if no path returns early after releasing (the
        // implicit return at the end of a body is the end).
        var canAppend = true;
        foreach (var operation in body.DescendantsAndSelf())
        {
            if (operation is IReturnOperation { Kind: OperationKind.Return } ret && !InNestedFunction(ret, body)
                && (!result.TryGetStateBefore(ret, out var beforeReturn) || (analysis.Transfer(ret, beforeReturn) & ReleasedNotSuppressed) != 0)
                && !ret.IsImplicit)
            {
                canAppend = false;
                break;
            }
        }

        return new Verdict(atExit, canAppend);
    }

    private static bool InNestedFunction(IOperation operation, IOperation root)
    {
        for (var parent = operation.Parent; parent is not null && parent != root; parent = parent.Parent)
        {
            if (parent is IAnonymousFunctionOperation or ILocalFunctionOperation)
                return true;
        }

        return false;
    }

    /// <summary>Bit <see cref="Suppressed"/> when the operation suppresses finalization, bit <see cref="Released"/>
    /// when it does work. Memoised per operation of the graph.</summary>
    private int EffectOf(IOperation operation)
    {
        if (_effects.TryGetValue(operation, out var known))
            return known;
        var effect = 0;
        var stack = new Stack<IOperation>();
        stack.Push(operation);
        while (stack.Count > 0)
        {
            var current = stack.Pop();
            if (current is IAnonymousFunctionOperation or ILocalFunctionOperation or IFlowAnonymousFunctionOperation)
                continue;
            if (current is IInvocationOperation invocation)
            {
                if (DisposableTypes.IsCompiledOut(invocation.TargetMethod, _symbols))
                    continue;
                effect |= InvocationEffect(invocation);
            }
            foreach (var child in current.ChildOperations)
                stack.Push(child);
        }

        _effects[operation] = effect;
        return effect;
    }

    private int InvocationEffect(IInvocationOperation invocation)
    {
        if (_disposal.IsSuppressFinalizeOfThis(invocation))
            return Suppressed;
        var target = invocation.TargetMethod;
        if (invocation.Instance is IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance })
        {
            foreach (var implementation in _disposal.DispatchTargets(invocation, _type, out _))
            {
                if (_disposal.SuppressesFinalization(implementation, _cancellationToken))
                    return Suppressed | Released;
            }

            return Released;
        }

        if (invocation.IsImplicit || _disposal.Known.IsPure(target))
            return 0;
        if (target.ContainingType is { } type
            && ((type.Name is "Interlocked" or "Volatile" or "Monitor" && NonRetainingMembers.IsNamespace(type.ContainingNamespace, "System.Threading"))
                || (type.Name is "GC" or "ObjectDisposedException" or "ArgumentNullException" && NonRetainingMembers.IsNamespace(type.ContainingNamespace, "System"))))
        {
            return 0;
        }

        return Released;
    }

    /// <summary>The states that reach the exit, and whether appending the call at the end of the body covers them.</summary>
    internal readonly struct Verdict
    {
        public Verdict(int atExit, bool canAppend)
        {
            AtExit = atExit;
            CanAppend = canAppend;
        }

        public int AtExit { get; }

        public bool CanAppend { get; }

        /// <summary>Some path releases and leaves without suppressing finalization.</summary>
        public bool Misses => (AtExit & ReleasedNotSuppressed) != 0;

        /// <summary>Some path does suppress it.</summary>
        public bool SometimesSuppresses => (AtExit & AnySuppressed) != 0;
    }
}
