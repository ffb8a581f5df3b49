using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using MemSafety.Analyzers.Engines.Bodies;
using MemSafety.Analyzers.Engines.ControlFlow;
using MemSafety.Analyzers.Engines.Dataflow;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.FlowAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Engines.Disposal;

/// <summary>How a value created into a local is lost without being disposed.</summary>
public enum LeakKind
{
    /// <summary>Disposed or handed on on every normal path.</summary>
    None,
    /// <summary>Still owned and undisposed where some path leaves the function.</summary>
    AtExit,
    /// <summary>Still owned and undisposed where the local is assigned again (another value replaces it).</summary>
    Overwritten,
    /// <summary>Still owned and undisposed when the same creation runs again: a loop goes round without disposing it.</summary>
    NextIteration,
}

/// <summary>One place where a local receives a newly created disposable, and whether every normal path disposes it.</summary>
public sealed class CreationSite
{
    internal CreationSite(IOperation write, IOperation value, ITypeSymbol type)
    {
        Write = write;
        Value = value;
        Type = type;
    }

    /// <summary>The declarator (<c>var x = new …</c>) or the assignment (<c>x = new …</c>).</summary>
    public IOperation Write { get; }

    /// <summary>The creating expression (conversions looked through).</summary>
    public IOperation Value { get; }

    /// <summary>The created type.</summary>
    public ITypeSymbol Type { get; }

    public LeakKind Leak { get; internal set; }

    /// <summary>Where the leak happens, for the message: "returns at line 12", "reaches the end of 'Load'", "leaves
    /// 'Load'", "assigns 'x' again at line 9", "goes round the loop at line 7". Null when there is no leak.</summary>
    public string? Where { get; internal set; }
}

/// <summary>
/// "Is the disposable this local receives disposed on every path?", as a forward dataflow analysis over the function's
/// control-flow graph (Engines/Dataflow). The state is a bit per creation site of the local: set where the site has
/// created a value that is still owned and undisposed (a may-analysis: union where paths meet). A write creates (sets
/// its site's bit) or replaces the value (clears them); a use that disposes or hands the value on
/// (<see cref="Ownership.ClassifyUse"/>) clears them; along a branch on which the local is null (<c>if (x != null)</c>,
/// <c>x is null</c>) they are cleared too. Only normal paths count: the state is dropped along exception edges, so a
/// value left undisposed when an exception is thrown (or caught and swallowed) is not a finding, and a <c>finally</c>
/// that disposes counts on every normal path through it (the dataflow base copies finally blocks per continuation).
/// <para>A site leaks where its bit reaches the function's exit, a write of the local (overwritten), or the site itself
/// again (a loop goes round). The local is given up (<c>null</c>) when one of its uses is not understood
/// (<see cref="OwnedUse.Unknown"/>: copied to another local, captured by a lambda, …), when it is written other than
/// by a simple assignment, or when no graph can be built. Results are cached per function body and local.</para>
/// </summary>
public sealed class DisposedOnAllPaths
{
    private static readonly ConditionalWeakTable<IOperation, ConcurrentDictionary<ILocalSymbol, DisposedOnAllPaths?>> Cache = new();

    private DisposedOnAllPaths(ILocalSymbol local, List<CreationSite> sites)
    {
        Local = local;
        Sites = sites;
    }

    public ILocalSymbol Local { get; }

    /// <summary>Every creation site of the local, in source order.</summary>
    public IReadOnlyList<CreationSite> Sites { get; }

    /// <summary>Some use disposes the local explicitly (<c>Dispose</c>, <c>Close</c>, <c>using (x)</c>).</summary>
    public bool DisposedSomewhere { get; private set; }

    /// <summary>Some use hands the value on (returned, stored, passed to an owner).</summary>
    public bool TransferredSomewhere { get; private set; }

    /// <summary>How many times the local is written (its declarator's initializer counted).</summary>
    public int WriteCount { get; private set; }

    /// <summary>The analysis of <paramref name="local"/>, declared in the body that holds <paramref name="operationInBody"/>;
    /// null when the local receives no created disposable or cannot be followed.</summary>
    public static DisposedOnAllPaths? Analyze(ILocalSymbol local, IOperation operationInBody, Ownership ownership, IgnoredTypes ignored, CancellationToken cancellationToken)
    {
        var facts = BodyFacts.Of(operationInBody);
        var perLocal = Cache.GetValue(facts.Root, static _ => new ConcurrentDictionary<ILocalSymbol, DisposedOnAllPaths?>(SymbolEqualityComparer.Default));
        if (perLocal.TryGetValue(local, out var known))
            return known;
        var result = Compute(local, facts, ownership, ignored, cancellationToken);
        perLocal.TryAdd(local, result);
        return result;
    }

    private static DisposedOnAllPaths? Compute(ILocalSymbol local, BodyFacts facts, Ownership ownership, IgnoredTypes ignored, CancellationToken cancellationToken)
    {
        if (local.IsRef || local.IsConst || facts.DeclaratorOf(local) is not { } declarator
            || declarator.Parent?.Parent?.Parent is IUsingDeclarationOperation or IUsingOperation)
        {
            return null;
        }

        var function = local.ContainingSymbol;
        var events = new Dictionary<SyntaxNode, int>();
        var sites = new List<CreationSite>();
        var writes = new List<(IOperation Write, IOperation Value)>();
        if (declarator.Initializer is { } initializer)
            writes.Add((declarator, initializer.Value));
        foreach (var write in facts.WritesTo(local))
        {
            if (write.Parent is not ISimpleAssignmentOperation assignment || assignment.Target != write)
                return null;
            writes.Add((assignment, assignment.Value));
        }

        var references = facts.ReferencesTo(local);
        var receivesOtherValues = false;
        var cancelsAfter = false;
        string? onDemandUsed = null;
        foreach (var reference in references)
        {
            if (reference.Parent is IInvocationOperation { TargetMethod.Name: "CancelAfter" } invocation && invocation.Instance == reference)
                cancelsAfter = true;
            // A slim event's WaitHandle, a request's Content: what their Dispose releases (Ownership.OnDemandMember).
            if (reference.Parent is IPropertyReferenceOperation property && property.Instance == reference
                && Ownership.OnDemandMember(local.Type) is { Length: > 0 } member && property.Property.Name == member)
            {
                onDemandUsed = member;
            }
        }

        foreach (var (write, value) in writes)
        {
            var key = write is IVariableDeclaratorOperation ? write.Syntax : ((ISimpleAssignmentOperation)write).Target.Syntax;
            if (ownership.IsCreation(value, ignored, out var type) || (cancelsAfter && IsTokenSource(value, out type))
                || (onDemandUsed is not null && IsOnDemandHolder(value, onDemandUsed, ignored, out type)))
            {
                if (sites.Count == 64)
                    return null;
                events[key] = Event.Site(sites.Count);
                sites.Add(new CreationSite(write, Variables.WithoutBuiltInConversions(value), type));
            }
            else
            {
                events[key] = Event.Replace;
                var replacement = Variables.WithoutBuiltInConversions(value);
                if (replacement.ConstantValue is not { HasValue: true, Value: null } && replacement is not IDefaultValueOperation)
                    receivesOtherValues = true;
            }
        }

        if (sites.Count == 0)
            return null;

        var result = new DisposedOnAllPaths(local, sites) { WriteCount = writes.Count };
        foreach (var reference in references)
        {
            if (reference.Parent is ISimpleAssignmentOperation assignment && assignment.Target == reference)
                continue;
            switch (ownership.ClassifyUse(reference, function, cancellationToken))
            {
                case OwnedUse.Neutral:
                    break;
                case OwnedUse.Disposes:
                    // The local also holds values it did not create (`var s = given; if (s == null) s = Create();`) and
                    // a disposal is guarded by a test of something else (`if (given == null) s.Dispose();`): which
                    // value it holds there is decided by another variable, which this path-insensitive analysis
                    // cannot correlate (BlockingCollection's linked token source).
                    if (receivesOtherValues && GuardedByAnotherVariable(reference, local))
                        return null;
                    events[reference.Syntax] = Event.Release;
                    result.DisposedSomewhere = true;
                    break;
                case OwnedUse.Transfers:
                    events[reference.Syntax] = Event.Release;
                    result.TransferredSomewhere = true;
                    break;
                default:
                    return null;
            }
        }

        var graph = LoopCycles.GraphOf(declarator);
        var analysis = new Analysis(local, events);
        var flow = Dataflow.Dataflow.Analyze(graph, analysis, cancellationToken);
        if (flow is null)
            return null;

        // Overwritten, or created again by a loop, while still owned.
        foreach (var (write, value) in writes)
        {
            // The graph keeps a declaration's write as an implicit assignment, which it does not index: ask at the value.
            // An assignment is asked at itself: an object initializer splits the value into several operations.
            if (!flow.TryGetStateBefore(write is IVariableDeclaratorOperation ? value : write, out var before) || before == 0 || Reads(value, local))
                continue;
            var repeats = LoopCycles.IsOnCycle(write is IVariableDeclaratorOperation ? value : write);
            var key = write is IVariableDeclaratorOperation ? write.Syntax : ((ISimpleAssignmentOperation)write).Target.Syntax;
            var self = events[key];
            for (var k = 0; k < sites.Count; k++)
            {
                if ((before & (1UL << k)) == 0 || sites[k].Leak == LeakKind.NextIteration)
                    continue;
                if (self == Event.Site(k))
                {
                    if (!repeats || CreatedOnSomeIterationsOnly(write, local))
                        continue;
                    sites[k].Leak = LeakKind.NextIteration;
                    sites[k].Where = "goes round the loop at line " + Line(LoopOf(write)?.Syntax ?? write.Syntax);
                }
                else if (sites[k].Leak == LeakKind.None)
                {
                    sites[k].Leak = LeakKind.Overwritten;
                    sites[k].Where = "assigns '" + local.Name + "' again at line " + Line(write.Syntax);
                }
            }
        }

        var blocks = flow.Graph.Blocks;
        var exit = blocks[blocks.Length - 1];
        if (exit.Kind == BasicBlockKind.Exit && flow.TryGetStateAtStart(exit, out var atExit) && atExit != 0)
        {
            for (var k = 0; k < sites.Count; k++)
            {
                if ((atExit & (1UL << k)) == 0 || sites[k].Leak != LeakKind.None)
                    continue;
                sites[k].Leak = LeakKind.AtExit;
                sites[k].Where = ExitPath(flow, analysis, exit, 1UL << k, function);
            }
        }

        // A leak found on a path that may not exist: the analysis does not follow values, so a path through a later test
        // that is decided by what the creation's own branch decided (`if (t.IsCompleted) { created = true; s = new …; }
        // … if (created) s.Dispose();`) counts as possible. Give up such a site rather than claim a leak there.
        for (var k = 0; k < sites.Count; k++)
        {
            if (sites[k].Leak is LeakKind.AtExit or LeakKind.Overwritten && MayBeInfeasible(sites[k].Write, local, facts.Root))
            {
                sites[k].Leak = LeakKind.None;
                sites[k].Where = null;
            }
        }

        return result;
    }

    /// <summary>
    /// Whether a test that comes after the innermost <c>if</c> around the site's creation reads what that branch decided
    /// or changed: a variable, parameter or field the condition of a conditional around the creation reads, or a local
    /// written (inside the <c>if</c>) on the other branch or before the creation. Such a test may exclude exactly the paths on which
    /// the value is still owned (a flag set beside the creation; a buffer filled only on the other branch; the same
    /// field tested again), which this path-insensitive analysis cannot see. With <paramref name="writesAfterCreation"/>
    /// a local written on the creation's branch after it counts too (native memory: <c>p = Alloc(n); allocated = true;</c>).
    /// </summary>
    internal static bool MayBeInfeasible(IOperation write, ILocalSymbol local, IOperation root, bool writesAfterCreation = false)
    {
        // The conditionals around the creation, out to the innermost `if` statement (a `?:` inside it is not enough:
        // `if (done) { created = true; token = ms < 0 ? default : (cts = new …(ms)).Token; }`).
        IConditionalOperation? outermost = null;
        var correlated = new HashSet<ISymbol>(SymbolEqualityComparer.Default);
        var creation = write.Syntax.SpanStart;
        var child = write;
        for (var parent = write.Parent; parent is not null; child = parent, parent = parent.Parent)
        {
            if (parent is IAnonymousFunctionOperation or ILocalFunctionOperation)
                break;
            if (parent is not IConditionalOperation conditional || conditional.Condition == child)
                continue;
            AddReads(conditional.Condition, correlated);
            if (outermost is null || outermost.Syntax is not Microsoft.CodeAnalysis.CSharp.Syntax.IfStatementSyntax)
            {
                // Locals this conditional writes on the other branch, or on the creation's branch before it: what the
                // branch decided, which a later test may read.
                foreach (var operation in conditional.DescendantsAndSelf())
                {
                    if (operation is ILocalReferenceOperation written && written.Parent is IAssignmentOperation assignment && assignment.Target == written
                        && (writesAfterCreation || !child.Syntax.Span.Contains(written.Syntax.Span) || written.Syntax.SpanStart < creation))
                    {
                        correlated.Add(written.Local);
                    }
                }

                outermost = conditional;
            }
        }

        if (outermost is null)
            return false;
        correlated.Remove(local);
        if (correlated.Count == 0)
            return false;
        var after = outermost.Syntax.Span.End;
        foreach (var operation in root.DescendantsAndSelf())
        {
            IOperation? condition = operation switch
            {
                IConditionalOperation conditional => conditional.Condition,
                IWhileLoopOperation loop => loop.Condition,
                IForLoopOperation loop => loop.Condition,
                _ => null,
            };
            if (condition is null || condition.Syntax.SpanStart < after)
                continue;
            foreach (var read in condition.DescendantsAndSelf())
            {
                if (Variables.Of(read) is { } symbol && correlated.Contains(symbol))
                    return true;
            }
        }

        return false;
    }

    private static void AddReads(IOperation condition, HashSet<ISymbol> symbols)
    {
        foreach (var operation in condition.DescendantsAndSelf())
        {
            if (Variables.Of(operation) is { } symbol)
                symbols.Add(symbol);
        }
    }

    /// <summary>Whether an <c>if</c> (or <c>?:</c>) around <paramref name="reference"/>, within its function, tests a
    /// variable, parameter or field other than <paramref name="local"/>.</summary>
    private static bool GuardedByAnotherVariable(IOperation reference, ILocalSymbol local)
    {
        var child = reference;
        for (var parent = reference.Parent; parent is not null; child = parent, parent = parent.Parent)
        {
            if (parent is IAnonymousFunctionOperation or ILocalFunctionOperation)
                return false;
            if (parent is not IConditionalOperation conditional || conditional.Condition == child)
                continue;
            foreach (var operation in conditional.Condition.DescendantsAndSelf())
            {
                switch (operation)
                {
                    case ILocalReferenceOperation other when !SymbolEqualityComparer.Default.Equals(other.Local, local):
                    case IParameterReferenceOperation:
                    case IFieldReferenceOperation:
                        return true;
                }
            }
        }

        return false;
    }

    private static bool IsTokenSource(IOperation value, out ITypeSymbol type)
    {
        type = null!;
        if (Variables.WithoutBuiltInConversions(value) is IObjectCreationOperation { Arguments.Length: 0, Type: INamedTypeSymbol { Name: "CancellationTokenSource" } created })
        {
            type = created;
            return true;
        }

        return false;
    }

    private static bool IsOnDemandHolder(IOperation value, string member, IgnoredTypes ignored, out ITypeSymbol type)
    {
        type = null!;
        if (Variables.WithoutBuiltInConversions(value) is IObjectCreationOperation { Type: { } created } && Ownership.OnDemandMember(created) == member && !ignored.Contains(created))
        {
            type = created;
            return true;
        }

        return false;
    }

    private static bool Reads(IOperation value, ILocalSymbol local)
    {
        foreach (var operation in value.DescendantsAndSelf())
        {
            if (operation is ILocalReferenceOperation reference && SymbolEqualityComparer.Default.Equals(reference.Local, local))
                return true;
        }

        return false;
    }

    /// <summary>
    /// Whether the creation stores into a local declared outside its loop and runs only on the iterations a test inside
    /// the loop lets through (<c>if (index++ == 0) fs = new FileStream(…)</c>, <c>if (s == null) s = …</c>, a
    /// <c>switch</c> case, the right side of <c>&amp;&amp;</c>/<c>??</c>): whether a later iteration creates another
    /// while the first is still held depends on values the analysis does not follow, so "the next iteration creates
    /// another" is not proven (LiteDB's SysFileCsv creates its stream on the first iteration only and disposes it
    /// after the loop). A local declared inside the loop is a new variable each iteration, and such a creation is kept.
    /// </summary>
    private static bool CreatedOnSomeIterationsOnly(IOperation write, ILocalSymbol local)
    {
        if (LoopOf(write) is not { } loop || local.Locations.Length == 0 || loop.Syntax.Span.Contains(local.Locations[0].SourceSpan))
            return false;
        for (var child = write; child.Parent is { } parent && parent != loop; child = parent)
        {
            switch (parent)
            {
                case IConditionalOperation conditional when conditional.Condition != child:
                case ISwitchCaseOperation:
                case ISwitchExpressionArmOperation:
                case ICatchClauseOperation:
                case IBinaryOperation { OperatorKind: BinaryOperatorKind.ConditionalAnd or BinaryOperatorKind.ConditionalOr } binary when binary.RightOperand == child:
                case ICoalesceOperation coalesce when coalesce.WhenNull == child:
                case ICoalesceAssignmentOperation coalesceAssignment when coalesceAssignment.Value == child:
                case IConditionalAccessOperation access when access.WhenNotNull == child:
                    return true;
            }
        }

        return false;
    }

    private static ILoopOperation? LoopOf(IOperation operation)
    {
        for (var p = operation.Parent; p is not null; p = p.Parent)
        {
            if (p is ILoopOperation loop)
                return loop;
            if (p is IAnonymousFunctionOperation or ILocalFunctionOperation)
                return null;
        }

        return null;
    }

    internal static int Line(SyntaxNode syntax) => syntax.GetLocation().GetLineSpan().StartLinePosition.Line + 1;

    /// <summary>Names the first path (in source order) that reaches the exit with the site's value still owned: a
    /// block that branches straight to the exit (not through a finally) with the bit set. A <c>return</c> with a value
    /// is that block's branch value; a bare <c>return;</c> or the end of the body is found from the token after the
    /// block's last code. Without such a block (the path leaves through a finally), "leaves 'M'".</summary>
    internal static string ExitPath(DataflowResult<ulong> flow, DataflowAnalysis<ulong> analysis, BasicBlock exit, ulong bit, ISymbol function)
    {
        string? best = null;
        var bestPosition = int.MaxValue;
        foreach (var block in flow.Graph.Blocks)
        {
            if (!flow.TryGetStateAtEnd(block, out var end))
                continue;
            Consider(block, block.ConditionalSuccessor, end);
            Consider(block, block.FallThroughSuccessor, end);
        }

        return best ?? "leaves '" + function.Name + "'";

        void Consider(BasicBlock block, ControlFlowBranch? branch, ulong end)
        {
            if (branch is null || branch.Destination != exit || branch.FinallyRegions.Length > 0
                || (analysis.OnEdge(block, branch, end) & bit) == 0)
            {
                return;
            }

            SyntaxNode? anchor = null;
            string? text = null;
            if (block.BranchValue is { } returned && block.ConditionKind == ControlFlowConditionKind.None)
            {
                anchor = returned.Syntax;
                text = "returns at line " + Line(anchor);
            }
            else
            {
                var last = block.BranchValue?.Syntax ?? (block.Operations.Length > 0 ? block.Operations[block.Operations.Length - 1].Syntax : null);
                if (last is null)
                    return;
                // The code after the block's last code, skipping punctuation and the ends of enclosing blocks: a
                // `return` there is the one this branch takes; the function's own closing brace is its end.
                var token = last.GetLastToken().GetNextToken();
                while (token.IsKind(SyntaxKind.CloseParenToken) || token.IsKind(SyntaxKind.SemicolonToken) || token.IsKind(SyntaxKind.OpenBraceToken)
                       || (token.IsKind(SyntaxKind.CloseBraceToken) && token.Parent is BlockSyntax { Parent: StatementSyntax or ElseClauseSyntax or SwitchSectionSyntax }))
                {
                    token = token.GetNextToken();
                }

                if (token.IsKind(SyntaxKind.ReturnKeyword))
                {
                    anchor = token.Parent;
                    text = "returns at line " + Line(token.Parent!);
                }
                else if (token.IsKind(SyntaxKind.CloseBraceToken) && token.Parent?.Parent is BaseMethodDeclarationSyntax or AccessorDeclarationSyntax
                         or LocalFunctionStatementSyntax or AnonymousFunctionExpressionSyntax)
                {
                    anchor = token.Parent;
                    text = "reaches the end of '" + function.Name + "'";
                }
            }

            if (anchor is null || text is null)
                return;
            var position = anchor.SpanStart;
            if (position < bestPosition)
            {
                bestPosition = position;
                best = text;
            }
        }
    }

    /// <summary>What a syntax node of the local does, keyed by the syntax the graph's operations keep: the reference
    /// (a read, or an assignment's target) or the declarator (a declaration's initial write).</summary>
    private static class Event
    {
        public const int Release = -1;
        public const int Replace = -2;

        public static int Site(int index) => index;
    }

    private sealed class Analysis : DataflowAnalysis<ulong>
    {
        private readonly ILocalSymbol _local;
        private readonly Dictionary<SyntaxNode, int> _events;
        private readonly Dictionary<IOperation, (ulong Kill, ulong Gen)> _effects = new();
        private readonly Stack<IOperation> _stack = new();

        public Analysis(ILocalSymbol local, Dictionary<SyntaxNode, int> events)
        {
            _local = local;
            _events = events;
        }

        public override DataflowDirection Direction => DataflowDirection.Forward;

        public override ulong Boundary => 0;

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

            return (state & ~effect.Kill) | effect.Gen;
        }

        public override ulong OnEdge(BasicBlock source, ControlFlowBranch branch, ulong state)
        {
            if (state == 0 || source.BranchValue is not { } condition || NullWhenTrue(condition) is not { } nullWhenTrue)
                return state;
            return DataflowEdges.ConditionHolds(source, branch) == nullWhenTrue ? 0 : state;
        }

        public override ulong OnExceptionalEdge(BasicBlock source, ulong state) => 0;

        private (ulong Kill, ulong Gen) EffectOf(IOperation operation)
        {
            ulong kill = 0, gen = 0;
            _stack.Clear();
            _stack.Push(operation);
            while (_stack.Count > 0)
            {
                var current = _stack.Pop();
                if (current is ILocalReferenceOperation reference && SymbolEqualityComparer.Default.Equals(reference.Local, _local)
                    && _events.TryGetValue(reference.Syntax, out var effect))
                {
                    kill = ulong.MaxValue;
                    if (effect >= 0)
                        gen |= 1UL << effect;
                }

                foreach (var child in current.ChildOperations)
                    _stack.Push(child);
            }

            return (kill, gen);
        }

        /// <summary>For <c>x == null</c>, <c>x is null</c>, <c>x == y</c>: true; <c>x != null</c>, <c>x is not null</c>, <c>x != y</c>: false; else null.</summary>
        private bool? NullWhenTrue(IOperation condition)
        {
            switch (condition)
            {
                // x == null, and x == other: where the local equals another reference, that one may be the owner
                // (`if (stream != _base) stream.Dispose();`), so the branch on which they are equal forgets the value.
                case IBinaryOperation { OperatorKind: BinaryOperatorKind.Equals or BinaryOperatorKind.NotEquals } binary
                    when IsLocal(binary.LeftOperand) != IsLocal(binary.RightOperand) && binary.LeftOperand.Type?.IsValueType != true
                         && binary.RightOperand.Type?.IsValueType != true:
                    return binary.OperatorKind == BinaryOperatorKind.Equals;
                case IIsPatternOperation { Pattern: IConstantPatternOperation constant } isPattern when IsLocal(isPattern.Value) && IsNull(constant.Value):
                    return true;
                case IIsPatternOperation { Pattern: INegatedPatternOperation { Pattern: IConstantPatternOperation constant } } isPattern
                    when IsLocal(isPattern.Value) && IsNull(constant.Value):
                    return false;
                default:
                    return null;
            }
        }

        private bool IsLocal(IOperation operation)
        {
            while (operation is IConversionOperation conversion)
                operation = conversion.Operand;
            return operation is ILocalReferenceOperation reference && SymbolEqualityComparer.Default.Equals(reference.Local, _local);
        }

        private static bool IsNull(IOperation operation) => operation.ConstantValue is { HasValue: true, Value: null };
    }
}
