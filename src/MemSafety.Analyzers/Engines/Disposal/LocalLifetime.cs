using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using MemSafety.Analyzers.Engines.Bodies;
using MemSafety.Analyzers.Engines.ControlFlow;
using MemSafety.Analyzers.Engines.Dataflow;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.FlowAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Engines.Disposal;

/// <summary>What one read of a tracked local does with the resource it holds (<see cref="LifetimeProtocol.ClassifyUse"/>).</summary>
public enum LifetimeUse
{
    /// <summary>Gives the resource back (<c>h.Free()</c>, <c>Marshal.FreeHGlobal(p)</c>).</summary>
    Release,
    /// <summary>Needs the resource to be live (<c>h.Target</c>): a use where every path released it is a defect.</summary>
    Access,
    /// <summary>Needs a live resource of a kind <see cref="LifetimeProtocol.Refuses"/> may refuse (<c>h.AddrOfPinnedObject()</c>).</summary>
    KindSensitiveAccess,
    /// <summary>Reads it and keeps nothing (<c>h.IsAllocated</c>, <c>p == IntPtr.Zero</c>, <c>*p</c>).</summary>
    Neutral,
    /// <summary>Hands it on (passed, copied, stored, returned, captured): someone else may release it.</summary>
    Escape,
}

/// <summary>What is wrong with one use of a tracked local.</summary>
public enum LifetimeDefectKind
{
    /// <summary>An acquisition reaches the end of the function (or is overwritten) unreleased on some normal path.</summary>
    NotFreed,
    /// <summary>A call that can throw runs while the resource is held, and nothing in the function releases it then.</summary>
    NotFreedOnException,
    /// <summary>An <see cref="LifetimeUse.Access"/> where every path has released the local.</summary>
    UsedAfterFree,
    /// <summary>A release where every path has released the local already.</summary>
    FreedTwice,
    /// <summary>A <see cref="LifetimeUse.KindSensitiveAccess"/> where every acquisition that reaches it is of a refused kind.</summary>
    AddressOfUnpinned,
}

/// <summary>One defect: where to report it, the acquisition or release it refers to, and the words for the message.</summary>
public sealed class LifetimeDefect
{
    internal LifetimeDefect(LifetimeDefectKind kind, IOperation site, IOperation? related, int siteKind, string detail)
    {
        Kind = kind;
        Site = site;
        Related = related;
        SiteKind = siteKind;
        Detail = detail;
    }

    public LifetimeDefectKind Kind { get; }

    /// <summary>NotFreed/NotFreedOnException: the acquiring call; otherwise the offending use.</summary>
    public IOperation Site { get; }

    /// <summary>NotFreedOnException: the call that can throw; UsedAfterFree/FreedTwice: a release before the use;
    /// AddressOfUnpinned: an acquisition that reaches the use.</summary>
    public IOperation? Related { get; }

    /// <summary>The protocol's kind of the acquisition (<see cref="LifetimeProtocol.IsAcquire"/>).</summary>
    public int SiteKind { get; }

    /// <summary>NotFreed: "returns at line 12", "reaches the end of 'M'", "'h' is assigned again at line 9";
    /// UsedAfterFree: the member used; else empty.</summary>
    public string Detail { get; }
}

/// <summary>
/// What a resource held in a local is for <see cref="LocalLifetime"/>: which writes acquire it, what each read does,
/// which conditions say the local holds nothing, and which calls of the local's own release cannot throw. One instance
/// per kind of resource (<see cref="GCHandleLifetime"/>'s handles, <see cref="NativeMemoryLifetime"/>'s blocks).
/// </summary>
public abstract class LifetimeProtocol
{
    internal readonly ConditionalWeakTable<IOperation, ConcurrentDictionary<ILocalSymbol, LocalLifetime?>> Cache = new();

    /// <summary>Whether locals of this type can hold the resource.</summary>
    public abstract bool Tracks(ITypeSymbol type);

    /// <summary>Whether a written value acquires a resource; <paramref name="kind"/> is the protocol's kind of it.</summary>
    public abstract bool IsAcquire(IOperation value, out int kind);

    /// <summary>What a read of the local, in the function that declares it, does.</summary>
    public abstract LifetimeUse ClassifyUse(IOperation reference);

    /// <summary>Whether the condition is true exactly when the local holds a resource (true), exactly when it holds
    /// none (false), or says nothing about it (null).</summary>
    public abstract bool? HeldWhenTrue(IOperation condition, ILocalSymbol local);

    /// <summary>Whether the operation is a call on or of the local that cannot throw while it holds a resource (its
    /// release, a member of the handle).</summary>
    public abstract bool IsOwnCall(IOperation operation, ILocalSymbol local);

    /// <summary>Whether the operation releases the local (for a finally that frees it).</summary>
    public abstract bool IsRelease(IOperation operation, ILocalSymbol local);

    /// <summary>Whether a <see cref="LifetimeUse.KindSensitiveAccess"/> fails on a resource of this kind.</summary>
    public virtual bool Refuses(int kind) => false;

    /// <summary>Whether a leak at the exit or at an overwrite is given up when a later test may read what the branch
    /// around the acquisition decided (<see cref="DisposedOnAllPaths.MayBeInfeasible"/>: a flag set beside it, before or after).</summary>
    public virtual bool GivesUpOnCorrelatedTests => false;

    /// <summary>Calls that cannot throw for the values such code gives them, beyond the ones every protocol shares.</summary>
    public virtual bool CannotThrow(IMethodSymbol method) => false;
}

/// <summary>
/// The lifetime of a resource held in a local (a <c>GCHandle</c>, a block of native memory), as a forward dataflow
/// analysis over the function's control-flow graph (Engines/Dataflow, the base <see cref="DisposedOnAllPaths"/> uses).
/// The state is a bit per acquisition site of the local (set while what it acquired is still held), a bit "released"
/// (set after the release) and a bit "other value" (the default, or a value that came from elsewhere); union where
/// paths meet. Along the branch where the protocol's test says the local holds nothing (<c>h.IsAllocated</c> false,
/// <c>p == IntPtr.Zero</c>) the acquisition bits are cleared. Unlike MSA4006's analysis the state is kept along
/// exception edges.
/// <para>Defects: an acquisition still set at the exit or at an overwrite (NotFreed); a call that can throw, while an
/// acquisition is set, outside any <c>try</c> with a <c>finally</c> or a catch-all (NotFreedOnException: the exception
/// leaves the function and nothing releases it); an access or release where only "released" is set; a kind-sensitive
/// access where only refused kinds are set. The leak defects are given only when the resource does not escape: every
/// read is a release, an access or a neutral use (passed, copied, stored, returned, captured, it may be released
/// elsewhere), and no acquiring assignment's value is used beyond the assignment. A local written through
/// <c>ref</c>/<c>out</c> is not followed. Results are cached per body, protocol and local.</para>
/// </summary>
public sealed class LocalLifetime
{
    private const ulong Freed = 1UL << 62;
    private const ulong Other = 1UL << 61;
    private const ulong Sites = (1UL << 61) - 1;
    private const int MaxSites = 61;

    private LocalLifetime(ILocalSymbol local, List<LifetimeDefect> defects, bool escapes)
    {
        Local = local;
        Defects = defects;
        Escapes = escapes;
    }

    public ILocalSymbol Local { get; }

    /// <summary>The defects found, in the order found.</summary>
    public IReadOnlyList<LifetimeDefect> Defects { get; }

    /// <summary>Some use hands the resource on (so leaks are not judged).</summary>
    public bool Escapes { get; }

    /// <summary>The analysis of a local declared in the body that holds <paramref name="operationInBody"/>; null when
    /// the protocol does not track its type or it cannot be followed.</summary>
    public static LocalLifetime? Analyze(LifetimeProtocol protocol, ILocalSymbol local, IOperation operationInBody, CancellationToken cancellationToken)
    {
        if (!protocol.Tracks(local.Type))
            return null;
        var facts = BodyFacts.Of(operationInBody);
        var perLocal = protocol.Cache.GetValue(facts.Root, static _ => new ConcurrentDictionary<ILocalSymbol, LocalLifetime?>(SymbolEqualityComparer.Default));
        if (perLocal.TryGetValue(local, out var known))
            return known;
        var result = Compute(protocol, local, facts, cancellationToken);
        perLocal.TryAdd(local, result);
        return result;
    }

    /// <summary>The local that an acquiring call initializes or is assigned to (conversions looked through), or null.</summary>
    public static ILocalSymbol? AcquiredInto(IOperation acquire)
    {
        var value = acquire;
        while (value.Parent is IConversionOperation conversion && (conversion.OperatorMethod is null || NativeMemoryFamilies.IsPointerConversion(conversion)))
            value = conversion;
        return value.Parent switch
        {
            IVariableInitializerOperation { Parent: IVariableDeclaratorOperation declarator } => declarator.Symbol,
            ISimpleAssignmentOperation { Target: ILocalReferenceOperation target } assignment when assignment.Value == value => target.Local,
            _ => null,
        };
    }

    private static LocalLifetime? Compute(LifetimeProtocol protocol, ILocalSymbol local, BodyFacts facts, CancellationToken cancellationToken)
    {
        if (local.IsRef || facts.DeclaratorOf(local) is not { } declarator)
            return null;

        var function = local.ContainingSymbol;
        var events = new Dictionary<SyntaxNode, Event>();
        var sites = new List<(IOperation Alloc, int Kind)>();
        var writes = new List<(IOperation Write, IOperation Value, SyntaxNode Key)>();
        var escapes = false;
        if (declarator.Initializer is { } initializer)
            writes.Add((declarator, initializer.Value, declarator.Syntax));
        foreach (var write in facts.WritesTo(local))
        {
            if (write.Parent is not ISimpleAssignmentOperation assignment || assignment.Target != write
                || !SymbolEqualityComparer.Default.Equals(FunctionOf(write), function))
            {
                return null;
            }

            // `Use(p = Alloc(n))`: the value goes on beyond the local.
            if (assignment.Parent is not IExpressionStatementOperation)
                escapes = true;
            writes.Add((assignment, assignment.Value, write.Syntax));
        }

        foreach (var (_, value, key) in writes)
        {
            if (protocol.IsAcquire(value, out var kind))
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

        var uses = new List<(IOperation Reference, EventKind Kind)>();
        foreach (var reference in facts.ReferencesTo(local))
        {
            if (reference.Parent is ISimpleAssignmentOperation assignment && assignment.Target == reference)
                continue;
            var kind = SymbolEqualityComparer.Default.Equals(FunctionOf(reference), function)
                ? protocol.ClassifyUse(reference) switch
                {
                    LifetimeUse.Release => EventKind.Free,
                    LifetimeUse.Access => EventKind.Target,
                    LifetimeUse.KindSensitiveAccess => EventKind.AddressOf,
                    LifetimeUse.Neutral => EventKind.Neutral,
                    _ => EventKind.Escape,
                }
                : EventKind.Escape; // captured by a lambda or local function
            if (kind == EventKind.Escape)
            {
                escapes = true;
                continue;
            }

            events[reference.Syntax] = new Event(kind, -1);
            uses.Add((reference, kind));
        }

        var analysis = new Analysis(protocol, local, events);
        var flow = Dataflow.Dataflow.Analyze(LoopCycles.GraphOf(declarator), analysis, cancellationToken);
        if (flow is null)
            return null;

        var defects = new List<LifetimeDefect>();
        var leaked = 0UL;

        // Uses of released resources and kind-sensitive uses of refused kinds: what every path to the use holds.
        foreach (var (reference, kind) in uses)
        {
            if (kind == EventKind.Neutral || !flow.TryGetStateBefore(reference, out var before) || before == 0)
                continue;
            var use = UseOf(reference, kind);
            if (before == Freed && LastFree(uses, reference) is { } free)
            {
                if (kind == EventKind.Free)
                    defects.Add(new LifetimeDefect(LifetimeDefectKind.FreedTwice, use, free, -1, ""));
                else
                    defects.Add(new LifetimeDefect(LifetimeDefectKind.UsedAfterFree, use, free, -1, MemberName(use)));
                continue;
            }

            if (kind == EventKind.AddressOf && (before & ~Sites) == 0 && OnlyRefused(protocol, before, sites, out var first))
                defects.Add(new LifetimeDefect(LifetimeDefectKind.AddressOfUnpinned, use, sites[first].Alloc, sites[first].Kind, ""));
        }

        if (!escapes)
        {
            // Overwritten while held.
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
                    // A declaration in a loop body that runs again: the previous iteration's resource.
                    var where = self.Kind == EventKind.Allocate && self.Site == k
                        ? (LoopCycles.IsOnCycle(write is IVariableDeclaratorOperation ? value : write) ? "the loop runs it again" : null)
                        : "'" + local.Name + "' is assigned again at line " + DisposedOnAllPaths.Line(write.Syntax);
                    if (where is null || (protocol.GivesUpOnCorrelatedTests && DisposedOnAllPaths.MayBeInfeasible(WriteOf(sites[k].Alloc), local, facts.Root, writesAfterCreation: true)))
                        continue;
                    leaked |= bit;
                    defects.Add(new LifetimeDefect(LifetimeDefectKind.NotFreed, sites[k].Alloc, null, sites[k].Kind, where));
                }
            }

            // Still held where a normal path leaves the function.
            var blocks = flow.Graph.Blocks;
            var exit = blocks[blocks.Length - 1];
            if (exit.Kind == BasicBlockKind.Exit && flow.TryGetStateAtStart(exit, out var atExit) && (atExit & Sites & ~leaked) != 0)
            {
                for (var k = 0; k < sites.Count; k++)
                {
                    var bit = 1UL << k;
                    if ((atExit & bit) == 0 || (leaked & bit) != 0
                        || (protocol.GivesUpOnCorrelatedTests && DisposedOnAllPaths.MayBeInfeasible(WriteOf(sites[k].Alloc), local, facts.Root, writesAfterCreation: true)))
                    {
                        continue;
                    }

                    leaked |= bit;
                    var where = "the method " + DisposedOnAllPaths.ExitPath(flow, analysis, exit, bit, function);
                    defects.Add(new LifetimeDefect(LifetimeDefectKind.NotFreed, sites[k].Alloc, null, sites[k].Kind, where));
                }
            }

            // Still held where a call can throw an exception that leaves the function without running a release.
            var thrown = new Dictionary<int, IOperation>();
            foreach (var operation in facts.Root.DescendantsAndSelf())
            {
                if (!CanThrow(protocol, operation) || protocol.IsOwnCall(operation, local) || !ExceptionLeavesFunction(protocol, operation, local)
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
                defects.Add(new LifetimeDefect(LifetimeDefectKind.NotFreedOnException, sites[pair.Key].Alloc, pair.Value, sites[pair.Key].Kind, ""));
        }

        return new LocalLifetime(local, defects, escapes);
    }

    /// <summary>The declarator or assignment that stores the acquisition (what <see cref="DisposedOnAllPaths.MayBeInfeasible"/> looks around).</summary>
    private static IOperation WriteOf(IOperation alloc)
    {
        var write = alloc;
        while (write.Parent is IConversionOperation or IVariableInitializerOperation)
            write = write.Parent;
        return write.Parent is IVariableDeclaratorOperation or ISimpleAssignmentOperation ? write.Parent : write;
    }

    /// <summary>The operation a use is: the invocation or property of a handle member, the call a pointer is passed to.</summary>
    private static IOperation UseOf(IOperation reference, EventKind kind)
    {
        var use = reference.Parent!;
        if (kind != EventKind.Free)
            return use;
        while (use is IConversionOperation or IArgumentOperation)
            use = use.Parent!;
        return use;
    }

    private static bool OnlyRefused(LifetimeProtocol protocol, ulong state, List<(IOperation Alloc, int Kind)> sites, out int first)
    {
        first = -1;
        for (var k = 0; k < sites.Count; k++)
        {
            if ((state & (1UL << k)) == 0)
                continue;
            if (!protocol.Refuses(sites[k].Kind))
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
                last = UseOf(reference, kind);
            }
        }

        // A release later in the text reached through a loop's back edge.
        if (last is null)
        {
            foreach (var (reference, kind) in uses)
            {
                if (kind == EventKind.Free && reference != before)
                    return UseOf(reference, kind);
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

    internal static ISymbol? FunctionOf(IOperation operation)
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
    /// <c>IntPtr</c>/<c>UIntPtr</c>, <c>Math</c>, <c>Unsafe</c> and <c>GCHandle</c>, which do not throw for the values
    /// such code gives them, nor what the protocol adds.</summary>
    private static bool CanThrow(LifetimeProtocol protocol, IOperation operation)
    {
        switch (operation)
        {
            case IInvocationOperation invocation:
                var type = invocation.TargetMethod.ContainingType;
                if (type is null)
                    return true;
                if (type.SpecialType is SpecialType.System_IntPtr or SpecialType.System_UIntPtr)
                    return false;
                if (type.Name is "Math" or "MathF" or "Unsafe" or "GCHandle"
                    && type.ContainingNamespace?.ToDisplayString() is "System" or "System.Runtime.CompilerServices" or "System.Runtime.InteropServices")
                {
                    return false;
                }

                return !protocol.CannotThrow(invocation.TargetMethod);
            case IObjectCreationOperation:
            case IFunctionPointerInvocationOperation:
            case IThrowOperation:
                return true;
            default:
                return false;
        }
    }

    /// <summary>Whether an exception thrown at the operation leaves the function without running a finally or a catch-all
    /// of the function (either may release the resource; the normal-path analysis judges what follows a catch). Cleanup
    /// code in a finally that releases the local itself is not counted (CryptoStream zeroes its pinned buffer there
    /// before the Free): the author has put the release in a finally, which is what the rules ask for.</summary>
    private static bool ExceptionLeavesFunction(LifetimeProtocol protocol, IOperation operation, ILocalSymbol local)
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
                case ITryOperation @try when child == @try.Finally && ReleasesLocal(protocol, @try.Finally, local):
                    return false;
            }
        }

        return true;
    }

    private static bool ReleasesLocal(LifetimeProtocol protocol, IOperation block, ILocalSymbol local)
    {
        foreach (var operation in block.DescendantsAndSelf())
        {
            if (protocol.IsRelease(operation, local))
                return true;
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
        private readonly LifetimeProtocol _protocol;
        private readonly ILocalSymbol _local;
        private readonly Dictionary<SyntaxNode, Event> _events;
        private readonly Dictionary<IOperation, ulong?> _effects = new();
        private readonly Stack<IOperation> _stack = new();

        public Analysis(LifetimeProtocol protocol, ILocalSymbol local, Dictionary<SyntaxNode, Event> events)
        {
            _protocol = protocol;
            _local = local;
            _events = events;
        }

        public override DataflowDirection Direction => DataflowDirection.Forward;

        // The default value: holds nothing.
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
            if ((state & Sites) == 0 || source.BranchValue is not { } condition || HeldWhenTrue(condition) is not { } heldWhenTrue)
                return state;
            // Where the test says the local holds nothing (never acquired, or released through this local).
            return DataflowEdges.ConditionHolds(source, branch) == heldWhenTrue ? state : (state & ~Sites) | Other;
        }

        /// <summary>The state after the operation when it writes or releases the local (the last such event in it wins); null when it does neither.</summary>
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

        private bool? HeldWhenTrue(IOperation condition)
        {
            var negated = false;
            while (condition is IUnaryOperation { OperatorKind: UnaryOperatorKind.Not } not)
            {
                negated = !negated;
                condition = not.Operand;
            }

            return _protocol.HeldWhenTrue(condition, _local) is { } held ? held != negated : null;
        }
    }
}
