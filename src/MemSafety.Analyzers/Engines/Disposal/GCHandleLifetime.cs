using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using MemSafety.Analyzers.Engines.Bodies;
using MemSafety.Analyzers.Engines.ControlFlow;
using MemSafety.Analyzers.Engines.Dataflow;
using MemSafety.Analyzers.Engines.Escape;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.FlowAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Engines.Disposal;

/// <summary>What <c>GCHandle.Alloc</c> was asked for, from its <c>GCHandleType</c> argument.</summary>
public enum GCHandleAllocKind
{
    /// <summary><c>GCHandle.Alloc(o)</c> or <c>GCHandleType.Normal</c>: keeps the object alive.</summary>
    Normal,
    /// <summary><c>GCHandleType.Pinned</c>: keeps the object alive and where it is.</summary>
    Pinned,
    /// <summary><c>Weak</c> or <c>WeakTrackResurrection</c>: the handle table entry alone.</summary>
    Weak,
    /// <summary>A type that is not a constant.</summary>
    Unknown,
}

/// <summary>What is wrong with one use of a <c>GCHandle</c> local.</summary>
public enum GCHandleDefectKind
{
    /// <summary>A handle from <c>GCHandle.Alloc</c> reaches the end of the function (or is overwritten) unfreed on some normal path.</summary>
    NotFreed,
    /// <summary>A call that can throw runs while the handle is allocated, and nothing in the function frees it then.</summary>
    NotFreedOnException,
    /// <summary><c>AddrOfPinnedObject</c> or <c>Target</c> where every path has freed the local.</summary>
    UsedAfterFree,
    /// <summary><c>Free</c> where every path has freed the local already.</summary>
    FreedTwice,
    /// <summary><c>AddrOfPinnedObject</c> where every path allocated the handle with a constant type other than <c>Pinned</c>.</summary>
    AddressOfUnpinned,
}

/// <summary>One defect: where to report it, the allocation or free it refers to, and the words for the message.</summary>
public sealed class GCHandleDefect
{
    internal GCHandleDefect(GCHandleDefectKind kind, IOperation site, IOperation? related, GCHandleAllocKind allocKind, string detail)
    {
        Kind = kind;
        Site = site;
        Related = related;
        AllocKind = allocKind;
        Detail = detail;
    }

    public GCHandleDefectKind Kind { get; }

    /// <summary>NotFreed/NotFreedOnException: the <c>GCHandle.Alloc</c> call; otherwise the offending use.</summary>
    public IOperation Site { get; }

    /// <summary>NotFreedOnException: the call that can throw; UsedAfterFree/FreedTwice: a <c>Free</c> call before the use;
    /// AddressOfUnpinned: an allocation that reaches the use.</summary>
    public IOperation? Related { get; }

    public GCHandleAllocKind AllocKind { get; }

    /// <summary>NotFreed: "returns at line 12", "reaches the end of 'M'", "assigns 'h' again at line 9";
    /// UsedAfterFree: the member used ("AddrOfPinnedObject", "Target"); else empty.</summary>
    public string Detail { get; }
}

/// <summary>
/// The lifetime of a <c>GCHandle</c> held in a local, as a forward dataflow analysis over the function's control-flow
/// graph (Engines/Dataflow, the base <see cref="DisposedOnAllPaths"/> uses). The state is a bit per
/// <c>GCHandle.Alloc</c> site of the local (set while the handle it made is still allocated), a bit "freed" (set after
/// <c>h.Free()</c>, which zeroes the local: <c>Interlocked.Exchange(ref _handle, 0)</c> in the runtime) and a bit
/// "other value" (the default, or a handle that came from elsewhere); union where paths meet. Along the false branch of
/// <c>h.IsAllocated</c> the local holds no handle. Unlike MSA4006's analysis the state is kept along exception edges.
/// <para>Defects: an allocation still set at the exit or at an overwrite (NotFreed); a call that can throw, while an
/// allocation is set, outside any <c>try</c> with a <c>finally</c> or a catch-all (NotFreedOnException: the exception
/// leaves the function and nothing frees the handle); <c>AddrOfPinnedObject</c>/<c>Target</c>/<c>Free</c> where only
/// "freed" is set (every path freed it: the runtime throws <c>InvalidOperationException</c>); <c>AddrOfPinnedObject</c>
/// where only allocations of a constant non-pinned type are set (the runtime throws). The leak defects are given only
/// when the handle does not escape: its uses are <c>Free</c>, <c>AddrOfPinnedObject</c>, <c>Target</c> and
/// <c>IsAllocated</c> alone (passed, copied, stored, returned, captured or converted with <c>ToIntPtr</c>, it may be freed
/// elsewhere). A local written through <c>ref</c>/<c>out</c> is not followed. Results are cached per body and local.</para>
/// </summary>
public sealed class GCHandleLifetime
{
    private static readonly ConditionalWeakTable<IOperation, ConcurrentDictionary<ILocalSymbol, GCHandleLifetime?>> Cache = new();

    private const ulong Freed = 1UL << 62;
    private const ulong Other = 1UL << 61;
    private const ulong Sites = (1UL << 61) - 1;
    private const int MaxSites = 61;

    private GCHandleLifetime(ILocalSymbol local, List<GCHandleDefect> defects, bool escapes)
    {
        Local = local;
        Defects = defects;
        Escapes = escapes;
    }

    public ILocalSymbol Local { get; }

    /// <summary>The defects found, in the order found.</summary>
    public IReadOnlyList<GCHandleDefect> Defects { get; }

    /// <summary>Some use hands the handle on (so leaks are not judged).</summary>
    public bool Escapes { get; }

    /// <summary>Whether the type is <c>System.Runtime.InteropServices.GCHandle</c>.</summary>
    public static bool IsGCHandle(ITypeSymbol? type)
        => type is { Name: "GCHandle", TypeKind: TypeKind.Struct } && NonRetainingMembers.IsNamespace(type.ContainingNamespace, "System.Runtime.InteropServices");

    /// <summary>The analysis of a <c>GCHandle</c> local declared in the body that holds <paramref name="operationInBody"/>;
    /// null when the local is not one or cannot be followed.</summary>
    public static GCHandleLifetime? Analyze(ILocalSymbol local, IOperation operationInBody, CancellationToken cancellationToken)
    {
        if (!IsGCHandle(local.Type))
            return null;
        var facts = BodyFacts.Of(operationInBody);
        var perLocal = Cache.GetValue(facts.Root, static _ => new ConcurrentDictionary<ILocalSymbol, GCHandleLifetime?>(SymbolEqualityComparer.Default));
        if (perLocal.TryGetValue(local, out var known))
            return known;
        var result = Compute(local, facts, cancellationToken);
        perLocal.TryAdd(local, result);
        return result;
    }

    /// <summary>Whether the operation is <c>GCHandle.Alloc(…)</c>; <paramref name="kind"/> is what it asks for.</summary>
    public static bool IsAlloc(IOperation value, out GCHandleAllocKind kind)
    {
        kind = GCHandleAllocKind.Unknown;
        value = Variables.WithoutBuiltInConversions(value);
        if (value is not IInvocationOperation { TargetMethod: { Name: "Alloc", IsStatic: true } method } invocation || !IsGCHandle(method.ContainingType))
            return false;
        if (invocation.Arguments.Length < 2)
        {
            kind = GCHandleAllocKind.Normal;
            return true;
        }

        if (invocation.Arguments[1].Value.ConstantValue is { HasValue: true, Value: int type })
        {
            // GCHandleType: Weak = 0, WeakTrackResurrection = 1, Normal = 2, Pinned = 3.
            kind = type switch
            {
                0 or 1 => GCHandleAllocKind.Weak,
                2 => GCHandleAllocKind.Normal,
                3 => GCHandleAllocKind.Pinned,
                _ => GCHandleAllocKind.Unknown,
            };
        }

        return true;
    }

    private static GCHandleLifetime? Compute(ILocalSymbol local, BodyFacts facts, CancellationToken cancellationToken)
    {
        if (local.IsRef || facts.DeclaratorOf(local) is not { } declarator)
            return null;

        var function = local.ContainingSymbol;
        var events = new Dictionary<SyntaxNode, Event>();
        var sites = new List<(IOperation Alloc, GCHandleAllocKind Kind)>();
        var writes = new List<(IOperation Write, IOperation Value, SyntaxNode Key)>();
        if (declarator.Initializer is { } initializer)
            writes.Add((declarator, initializer.Value, declarator.Syntax));
        foreach (var write in facts.WritesTo(local))
        {
            if (write.Parent is not ISimpleAssignmentOperation assignment || assignment.Target != write
                || !SymbolEqualityComparer.Default.Equals(FunctionOf(write), function))
            {
                return null;
            }

            writes.Add((assignment, assignment.Value, write.Syntax));
        }

        foreach (var (_, value, key) in writes)
        {
            if (IsAlloc(value, out var kind))
            {
                if (sites.Count == MaxSites)
                    return null;
                events[key] = new Event(EventKind.Allocate, sites.Count);
                sites.Add((Variables.WithoutBuiltInConversions(value), kind));
            }
            else
            {
                events[key] = new Event(EventKind.Replace, -1);
            }
        }

        if (sites.Count == 0)
            return null;

        var escapes = false;
        var uses = new List<(IOperation Reference, EventKind Kind)>();
        foreach (var reference in facts.ReferencesTo(local))
        {
            if (reference.Parent is ISimpleAssignmentOperation assignment && assignment.Target == reference)
                continue;
            var kind = ClassifyUse(reference, function);
            if (kind == EventKind.Escape)
            {
                escapes = true;
                continue;
            }

            events[reference.Syntax] = new Event(kind, -1);
            uses.Add((reference, kind));
        }

        var analysis = new Analysis(local, events);
        var flow = Dataflow.Dataflow.Analyze(LoopCycles.GraphOf(declarator), analysis, cancellationToken);
        if (flow is null)
            return null;

        var defects = new List<GCHandleDefect>();
        var leaked = 0UL;

        // Uses on freed handles and AddrOfPinnedObject on unpinned ones: what every path to the use holds.
        foreach (var (reference, kind) in uses)
        {
            if (kind == EventKind.Neutral || !flow.TryGetStateBefore(reference, out var before) || before == 0)
                continue;
            var use = reference.Parent!;
            if (before == Freed && LastFree(uses, reference) is { } free)
            {
                if (kind == EventKind.Free)
                    defects.Add(new GCHandleDefect(GCHandleDefectKind.FreedTwice, use, free, GCHandleAllocKind.Unknown, ""));
                else
                    defects.Add(new GCHandleDefect(GCHandleDefectKind.UsedAfterFree, use, free, GCHandleAllocKind.Unknown, MemberName(use)));
                continue;
            }

            if (kind == EventKind.AddressOf && (before & ~Sites) == 0 && OnlyUnpinned(before, sites, out var first))
                defects.Add(new GCHandleDefect(GCHandleDefectKind.AddressOfUnpinned, use, sites[first].Alloc, sites[first].Kind, ""));
        }

        if (!escapes)
        {
            // Overwritten while allocated.
            foreach (var (write, value, key) in writes)
            {
                if (!flow.TryGetStateBefore(write is IVariableDeclaratorOperation ? value : write, out var before) || (before & Sites) == 0)
                    continue;
                var self = events[key];
                for (var k = 0; k < sites.Count; k++)
                {
                    var bit = 1UL << k;
                    if ((before & bit) == 0 || (leaked & bit) != 0)
                        continue;
                    // A declaration in a loop body that runs again: the previous iteration's handle.
                    var where = self.Kind == EventKind.Allocate && self.Site == k
                        ? (LoopCycles.IsOnCycle(write is IVariableDeclaratorOperation ? value : write) ? "the loop runs it again" : null)
                        : "'" + local.Name + "' is assigned again at line " + DisposedOnAllPaths.Line(write.Syntax);
                    if (where is null)
                        continue;
                    leaked |= bit;
                    defects.Add(new GCHandleDefect(GCHandleDefectKind.NotFreed, sites[k].Alloc, null, sites[k].Kind, where));
                }
            }

            // Still allocated where a normal path leaves the function.
            var blocks = flow.Graph.Blocks;
            var exit = blocks[blocks.Length - 1];
            if (exit.Kind == BasicBlockKind.Exit && flow.TryGetStateAtStart(exit, out var atExit) && (atExit & Sites & ~leaked) != 0)
            {
                for (var k = 0; k < sites.Count; k++)
                {
                    var bit = 1UL << k;
                    if ((atExit & bit) == 0 || (leaked & bit) != 0)
                        continue;
                    leaked |= bit;
                    var where = "the method " + DisposedOnAllPaths.ExitPath(flow, analysis, exit, bit, function);
                    defects.Add(new GCHandleDefect(GCHandleDefectKind.NotFreed, sites[k].Alloc, null, sites[k].Kind, where));
                }
            }

            // Still allocated where a call can throw an exception that leaves the function without running a free.
            var thrown = new Dictionary<int, IOperation>();
            foreach (var operation in facts.Root.DescendantsAndSelf())
            {
                if (!CanThrow(operation) || IsHandleMember(operation, local) || !ExceptionLeavesFunction(operation, local)
                    || !flow.TryGetStateBefore(operation, out var before) || (before & Sites & ~leaked) == 0)
                {
                    continue;
                }

                for (var k = 0; k < sites.Count; k++)
                {
                    var bit = 1UL << k;
                    if ((before & bit) == 0 || (leaked & bit) != 0 || ReferenceEquals(operation, sites[k].Alloc))
                        continue;
                    if (!thrown.TryGetValue(k, out var earlier) || operation.Syntax.SpanStart < earlier.Syntax.SpanStart)
                        thrown[k] = operation;
                }
            }

            foreach (var pair in thrown)
                defects.Add(new GCHandleDefect(GCHandleDefectKind.NotFreedOnException, sites[pair.Key].Alloc, pair.Value, sites[pair.Key].Kind, ""));
        }

        return new GCHandleLifetime(local, defects, escapes);
    }

    private static bool OnlyUnpinned(ulong state, List<(IOperation Alloc, GCHandleAllocKind Kind)> sites, out int first)
    {
        first = -1;
        for (var k = 0; k < sites.Count; k++)
        {
            if ((state & (1UL << k)) == 0)
                continue;
            if (sites[k].Kind is GCHandleAllocKind.Pinned or GCHandleAllocKind.Unknown)
                return false;
            if (first < 0)
                first = k;
        }

        return first >= 0;
    }

    private static IOperation? LastFree(List<(IOperation Reference, EventKind Kind)> uses, IOperation before)
    {
        IOperation? last = null;
        foreach (var (reference, kind) in uses)
        {
            if (kind == EventKind.Free && reference.Syntax.SpanStart < before.Syntax.SpanStart
                && (last is null || reference.Syntax.SpanStart > last.Syntax.SpanStart))
            {
                last = reference.Parent;
            }
        }

        // A free later in the text reached through a loop's back edge.
        if (last is null)
        {
            foreach (var (reference, kind) in uses)
            {
                if (kind == EventKind.Free && reference != before)
                    return reference.Parent;
            }
        }

        return last;
    }

    private static string MemberName(IOperation use) => use switch
    {
        IInvocationOperation invocation => invocation.TargetMethod.Name,
        IPropertyReferenceOperation property => property.Property.Name,
        _ => "",
    };

    /// <summary>What a read of the local does: a member of the handle itself (<c>Free</c>, <c>AddrOfPinnedObject</c>,
    /// <c>Target</c>, <c>IsAllocated</c>) or anything else, which hands the handle on.</summary>
    private static EventKind ClassifyUse(IOperation reference, ISymbol function)
    {
        if (!SymbolEqualityComparer.Default.Equals(FunctionOf(reference), function))
            return EventKind.Escape; // captured by a lambda or local function
        switch (reference.Parent)
        {
            case IInvocationOperation invocation when invocation.Instance == reference:
                return invocation.TargetMethod.Name switch
                {
                    "Free" => EventKind.Free,
                    "AddrOfPinnedObject" => EventKind.AddressOf,
                    _ => EventKind.Escape,
                };
            case IPropertyReferenceOperation property when property.Instance == reference:
                return property.Property.Name switch
                {
                    "Target" => EventKind.Target,
                    "IsAllocated" => EventKind.Neutral,
                    _ => EventKind.Escape,
                };
            default:
                return EventKind.Escape;
        }
    }

    private static ISymbol? FunctionOf(IOperation operation)
    {
        for (var p = operation.Parent; p is not null; p = p.Parent)
        {
            switch (p)
            {
                case IAnonymousFunctionOperation lambda:
                    return lambda.Symbol;
                case ILocalFunctionOperation localFunction:
                    return localFunction.Symbol;
            }
        }

        return operation.SemanticModel?.GetEnclosingSymbol(operation.Syntax.SpanStart);
    }

    /// <summary>Calls and object creations (which run code that can throw), and <c>throw</c>. Not the members of
    /// <c>IntPtr</c>/<c>UIntPtr</c>, <c>Math</c> and <c>Unsafe</c>, which do not throw for the values such code gives them.</summary>
    private static bool CanThrow(IOperation operation)
    {
        switch (operation)
        {
            case IInvocationOperation invocation:
                var type = invocation.TargetMethod.ContainingType;
                if (type is null)
                    return true;
                if (type.SpecialType is SpecialType.System_IntPtr or SpecialType.System_UIntPtr)
                    return false;
                return !(type.Name is "Math" or "MathF" or "Unsafe" or "GCHandle"
                         && type.ContainingNamespace?.ToDisplayString() is "System" or "System.Runtime.CompilerServices" or "System.Runtime.InteropServices");
            case IObjectCreationOperation:
            case IFunctionPointerInvocationOperation:
            case IThrowOperation:
                return true;
            default:
                return false;
        }
    }

    private static bool IsHandleMember(IOperation operation, ILocalSymbol local)
        => operation is IInvocationOperation { Instance: ILocalReferenceOperation reference } && SymbolEqualityComparer.Default.Equals(reference.Local, local);

    /// <summary>Whether an exception thrown at the operation leaves the function without running a finally or a catch-all
    /// of the function (either may free the handle; the normal-path analysis judges what follows a catch). Cleanup code in
    /// a finally that frees the handle itself is not counted (CryptoStream zeroes its pinned buffer there before the
    /// Free): the author has put the Free in a finally, which is what the rule asks for.</summary>
    private static bool ExceptionLeavesFunction(IOperation operation, ILocalSymbol local)
    {
        var child = operation;
        for (var parent = operation.Parent; parent is not null; child = parent, parent = parent.Parent)
        {
            switch (parent)
            {
                case IAnonymousFunctionOperation or ILocalFunctionOperation:
                    return false; // another function's exceptions
                case ITryOperation @try when child == @try.Body:
                    if (@try.Finally is not null)
                        return false;
                    foreach (var clause in @try.Catches)
                    {
                        if (clause.Filter is null && (clause.ExceptionType is null || clause.ExceptionType.SpecialType == SpecialType.System_Object
                                                       || clause.ExceptionType is { Name: "Exception", ContainingNamespace.Name: "System" }))
                        {
                            return false;
                        }
                    }

                    break;
                case ITryOperation @try when child != @try.Finally && @try.Finally is not null:
                    return false; // a catch of a try-finally
                case ITryOperation @try when child == @try.Finally && FreesLocal(@try.Finally, local):
                    return false;
            }
        }

        return true;
    }

    private static bool FreesLocal(IOperation block, ILocalSymbol local)
    {
        foreach (var operation in block.DescendantsAndSelf())
        {
            if (operation is IInvocationOperation { TargetMethod.Name: "Free", Instance: ILocalReferenceOperation reference }
                && SymbolEqualityComparer.Default.Equals(reference.Local, local))
            {
                return true;
            }
        }

        return false;
    }

    private enum EventKind
    {
        Allocate,
        Replace,
        Free,
        AddressOf,
        Target,
        Neutral,
        Escape,
    }

    private readonly struct Event
    {
        public Event(EventKind kind, int site)
        {
            Kind = kind;
            Site = site;
        }

        public EventKind Kind { get; }
        public int Site { get; }
    }

    private sealed class Analysis : DataflowAnalysis<ulong>
    {
        private readonly ILocalSymbol _local;
        private readonly Dictionary<SyntaxNode, Event> _events;
        private readonly Dictionary<IOperation, ulong?> _effects = new();
        private readonly Stack<IOperation> _stack = new();

        public Analysis(ILocalSymbol local, Dictionary<SyntaxNode, Event> events)
        {
            _local = local;
            _events = events;
        }

        public override DataflowDirection Direction => DataflowDirection.Forward;

        // The default GCHandle: holds no handle.
        public override ulong Boundary => Other;

        public override ulong Bottom => 0;

        public override ulong Join(ulong left, ulong right) => left | right;

        public override bool Same(ulong left, ulong right) => left == right;

        public override ulong Transfer(IOperation operation, ulong state)
        {
            if (!_effects.TryGetValue(operation, out var effect))
            {
                effect = EffectOf(operation);
                _effects[operation] = effect;
            }

            return effect ?? state;
        }

        public override ulong OnEdge(BasicBlock source, ControlFlowBranch branch, ulong state)
        {
            if ((state & Sites) == 0 || source.BranchValue is not { } condition || AllocatedWhenTrue(condition) is not { } allocatedWhenTrue)
                return state;
            // Where IsAllocated is false the local holds no handle (never allocated, or freed through this local).
            return DataflowEdges.ConditionHolds(source, branch) == allocatedWhenTrue ? state : (state & ~Sites) | Other;
        }

        /// <summary>The state after the operation when it writes or frees the local (the last such event in it wins); null when it does neither.</summary>
        private ulong? EffectOf(IOperation operation)
        {
            ulong? result = null;
            var position = -1;
            _stack.Clear();
            _stack.Push(operation);
            while (_stack.Count > 0)
            {
                var current = _stack.Pop();
                if (current is ILocalReferenceOperation reference && SymbolEqualityComparer.Default.Equals(reference.Local, _local)
                    && _events.TryGetValue(reference.Syntax, out var effect) && reference.Syntax.SpanStart >= position)
                {
                    switch (effect.Kind)
                    {
                        case EventKind.Allocate:
                            result = 1UL << effect.Site;
                            position = reference.Syntax.SpanStart;
                            break;
                        case EventKind.Replace:
                            result = Other;
                            position = reference.Syntax.SpanStart;
                            break;
                        case EventKind.Free:
                            result = Freed;
                            position = reference.Syntax.SpanStart;
                            break;
                    }
                }

                foreach (var child in current.ChildOperations)
                    _stack.Push(child);
            }

            return result;
        }

        private bool? AllocatedWhenTrue(IOperation condition)
        {
            var negated = false;
            while (condition is IUnaryOperation { OperatorKind: UnaryOperatorKind.Not } not)
            {
                negated = !negated;
                condition = not.Operand;
            }

            if (condition is IPropertyReferenceOperation { Property.Name: "IsAllocated", Instance: ILocalReferenceOperation reference }
                && SymbolEqualityComparer.Default.Equals(reference.Local, _local))
            {
                return !negated;
            }

            return null;
        }
    }
}
