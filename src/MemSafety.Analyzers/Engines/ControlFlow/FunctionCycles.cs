using System.Collections.Generic;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.FlowAnalysis;
using Microsoft.CodeAnalysis.Operations;
using Microsoft.CodeAnalysis.Text;

namespace MemSafety.Analyzers.Engines.ControlFlow;

/// <summary>
/// The cycles of one function's control-flow graph, and where the operations of its (original) operation
/// tree sit in it.
/// <para>
/// The graph's operations are rewritten copies, so an operation is found by its syntax: every explicit
/// operation of a block (at any depth) indexes its block. Implicit ones do not: the compiler gives them the
/// syntax of what they serve (a foreach's <c>MoveNext</c> and <c>Current</c> carry the collection's syntax),
/// and a flow capture reference re-reads a value evaluated elsewhere.
/// </para>
/// <para>
/// Edges: the branches between blocks (a branch that leaves a try through its finally goes straight to its
/// destination), and exception edges from every block of a try to the handlers of its catch clauses, which
/// Roslyn enters implicitly. An exception edge makes a handler repeat when its try can come back to it, but
/// does not make the throwing block repeat: code that repeats only when it throws itself (a block ending in
/// <c>return</c> inside a retried try) runs once per successful call. A <c>throw</c> statement's edges to
/// the catches are its normal exit. A finally block repeats when its try is entered again on a cycle and
/// the block can reach the end of the finally (the graph has no edges into a finally).
/// </para>
/// </summary>
internal sealed class FunctionCycles
{
    private readonly ControlFlowGraph _graph;
    private readonly BlockGraph _blocks;
    private readonly Dictionary<SyntaxNode, int> _blockOf;
    private readonly Dictionary<SyntaxNode, List<int>>? _moreBlocksOf;
    private readonly Dictionary<SyntaxNode, IFlowAnonymousFunctionOperation>? _lambdas;

    private FunctionCycles(ControlFlowGraph graph, BlockGraph blocks, Dictionary<SyntaxNode, int> blockOf,
        Dictionary<SyntaxNode, List<int>>? moreBlocksOf, Dictionary<SyntaxNode, IFlowAnonymousFunctionOperation>? lambdas)
    {
        _graph = graph;
        _blocks = blocks;
        _blockOf = blockOf;
        _moreBlocksOf = moreBlocksOf;
        _lambdas = lambdas;
    }

    public static FunctionCycles? Create(ControlFlowGraph? graph)
    {
        if (graph is null)
            return null;

        var blocks = graph.Blocks;
        var count = blocks.Length;
        var blockOf = new Dictionary<SyntaxNode, int>();
        Dictionary<SyntaxNode, List<int>>? moreBlocksOf = null;
        Dictionary<SyntaxNode, IFlowAnonymousFunctionOperation>? lambdas = null;
        var spans = new BlockSpans(count);
        var stack = new Stack<IOperation>();
        for (var b = 0; b < count; b++)
        {
            var block = blocks[b];
            foreach (var operation in block.Operations)
                stack.Push(operation);
            if (block.BranchValue is { } branchValue)
                stack.Push(branchValue);
            while (stack.Count > 0)
            {
                var operation = stack.Pop();
                foreach (var child in operation.ChildOperations)
                    stack.Push(child);
                if (operation is IFlowAnonymousFunctionOperation lambda)
                    (lambdas ??= new Dictionary<SyntaxNode, IFlowAnonymousFunctionOperation>())[lambda.Syntax] = lambda;
                var syntax = operation.Syntax;
                var isExplicit = !operation.IsImplicit && operation is not IFlowCaptureReferenceOperation;
                spans.Add(b, syntax.Span, isExplicit);
                if (!isExplicit)
                    continue;
                if (!blockOf.TryGetValue(syntax, out var first))
                {
                    blockOf[syntax] = b;
                }
                else if (first != b)
                {
                    moreBlocksOf ??= new Dictionary<SyntaxNode, List<int>>();
                    if (!moreBlocksOf.TryGetValue(syntax, out var more))
                        moreBlocksOf[syntax] = more = new List<int>();
                    if (!more.Contains(b))
                        more.Add(b);
                }
            }
        }

        return new FunctionCycles(graph, BlockGraph.Build(blocks, spans), blockOf, moreBlocksOf, lambdas);
    }

    /// <summary>The function's graph (for engines that walk it themselves).</summary>
    public ControlFlowGraph Graph => _graph;

    public ControlFlowGraph? LambdaGraph(SyntaxNode syntax)
        => _lambdas is not null && _lambdas.TryGetValue(syntax, out var lambda) ? _graph.GetAnonymousFunctionControlFlowGraph(lambda) : null;

    public ControlFlowGraph? LocalFunctionGraph(IMethodSymbol symbol)
    {
        foreach (var local in _graph.LocalFunctions)
        {
            if (SymbolEqualityComparer.Default.Equals(local, symbol))
                return _graph.GetLocalFunctionControlFlowGraph(local);
        }

        return null;
    }

    /// <summary>
    /// Whether the operation repeats: it lies on a cycle of the graph (restricted to the blocks of a loop
    /// when <paramref name="within"/> is given). A foreach stands for its collection and a for with an
    /// initializer for that initializer (each runs once per execution of the loop); another loop statement
    /// repeats when control comes back into it from outside; any other operation that the graph does not
    /// hold as written stands for its first evaluated part.
    /// </summary>
    public bool Repeats(IOperation operation, LoopScope? within)
    {
        var current = operation;
        Stack<IOperation>? pending = null;
        while (true)
        {
            switch (current)
            {
                case IForEachLoopOperation forEach:
                    current = forEach.Collection;
                    continue;
                case IForLoopOperation { Before.Length: > 0 } forLoop:
                    current = forLoop.Before[0];
                    continue;
                case ILoopOperation loop:
                    return IsReentered(loop.Syntax.Span, within);
                case ILocalFunctionOperation:
                    break; // declared, not run here
                default:
                    if (_blockOf.TryGetValue(current.Syntax, out var block))
                        return AnyRepeats(current.Syntax, block, within);
                    if (current is not IAnonymousFunctionOperation)
                    {
                        // Not in the graph as written (a statement, a declaration): its first evaluated part is.
                        pending ??= new Stack<IOperation>();
                        var mark = pending.Count;
                        foreach (var child in current.ChildOperations)
                            pending.Push(child);
                        Reverse(pending, mark);
                    }

                    break;
            }

            if (pending is null || pending.Count == 0)
                return false;
            current = pending.Pop();
        }
    }

    private static void Reverse(Stack<IOperation> stack, int mark)
    {
        // Children were pushed in order; the first child must be popped first.
        var count = stack.Count - mark;
        if (count < 2)
            return;
        var items = new IOperation[count];
        for (var i = 0; i < count; i++)
            items[i] = stack.Pop();
        foreach (var item in items)
            stack.Push(item);
    }

    private bool AnyRepeats(SyntaxNode syntax, int first, LoopScope? within)
    {
        if (BlockRepeats(first, within))
            return true;
        if (_moreBlocksOf is not null && _moreBlocksOf.TryGetValue(syntax, out var more))
        {
            foreach (var block in more)
            {
                if (BlockRepeats(block, within))
                    return true;
            }
        }

        return false;
    }

    private bool BlockRepeats(int block, LoopScope? within)
    {
        var blocks = _blocks;
        if (!blocks.Reachable[block] || within is not null && !within.Allows(blocks, block))
            return false;
        if (NormalCycle(block, within))
            return true;

        // A finally block runs each time its try is left; it repeats when the try is entered again on a cycle
        // (or lies in an outer finally that repeats) and the block is not cut off from the finally's end by a throw.
        for (var b = block; blocks.InnermostFinally[b] is { } finallyRegion && blocks.ReachesFinallyEnd[b];)
        {
            var tryAndFinally = finallyRegion.EnclosingRegion!;
            var entry = tryAndFinally.FirstBlockOrdinal;
            foreach (var predecessor in blocks.NormalPredecessors[entry])
            {
                if ((predecessor < tryAndFinally.FirstBlockOrdinal || predecessor > tryAndFinally.LastBlockOrdinal)
                    && OnCycle(entry, predecessor, within))
                {
                    return true;
                }
            }

            b = entry;
        }

        return false;
    }

    /// <summary>Whether a normal exit of the block leads back to it.</summary>
    private bool NormalCycle(int block, LoopScope? within)
    {
        var successors = _blocks.Successors[block];
        var normal = _blocks.NormalCount[block];
        if (within is null)
        {
            var component = _blocks.Component[block];
            for (var i = 0; i < normal; i++)
            {
                if (_blocks.Component[successors[i]] == component)
                    return true;
            }

            return false;
        }

        for (var i = 0; i < normal; i++)
        {
            if (Reaches(successors[i], block, within))
                return true;
        }

        return false;
    }

    /// <summary>Whether <paramref name="from"/> reaches <paramref name="to"/>, given the edge from <paramref name="to"/> to <paramref name="from"/>.</summary>
    private bool OnCycle(int from, int to, LoopScope? within)
        => within is null ? _blocks.Component[from] == _blocks.Component[to] : within.Allows(_blocks, to) && Reaches(from, to, within);

    private bool Reaches(int from, int to, LoopScope within)
    {
        var blocks = _blocks;
        if (!within.Allows(blocks, from))
            return false;
        var seen = new bool[blocks.Count];
        var stack = new Stack<int>();
        stack.Push(from);
        seen[from] = true;
        while (stack.Count > 0)
        {
            var b = stack.Pop();
            if (b == to)
                return true;
            foreach (var next in blocks.Successors[b])
            {
                if (!seen[next] && within.Allows(blocks, next))
                {
                    seen[next] = true;
                    stack.Push(next);
                }
            }
        }

        return false;
    }

    /// <summary>A loop statement repeats when a block outside it leads into one of its blocks and back.</summary>
    private bool IsReentered(TextSpan loop, LoopScope? within)
    {
        var blocks = _blocks;
        for (var b = 0; b < blocks.Count; b++)
        {
            if (!blocks.Reachable[b] || !blocks.HasOperations(b) || !loop.Contains(blocks.Span(b)))
                continue;
            foreach (var predecessor in blocks.NormalPredecessors[b])
            {
                if (blocks.HasOperations(predecessor) && !loop.Contains(blocks.Span(predecessor)) && OnCycle(b, predecessor, within))
                {
                    return true;
                }
            }
        }

        return false;
    }
}

/// <summary>The part of a loop statement that runs per iteration, as a filter on blocks: a block belongs
/// when all its operations lie in the loop and no explicit one in its foreach collection or for
/// initializer (a foreach's MoveNext is implicit and carries the collection's syntax, but runs per
/// iteration). Blocks without operations (joins) belong to whatever surrounds them.</summary>
internal sealed class LoopScope
{
    private readonly TextSpan _loop;
    private readonly TextSpan _once;
    private readonly bool _hasOnce;

    private LoopScope(TextSpan loop, TextSpan once, bool hasOnce)
    {
        _loop = loop;
        _once = once;
        _hasOnce = hasOnce;
    }

    public static LoopScope Of(ILoopOperation loop)
    {
        switch (loop)
        {
            case IForEachLoopOperation forEach:
                return new LoopScope(loop.Syntax.Span, forEach.Collection.Syntax.Span, hasOnce: true);
            case IForLoopOperation { Before.Length: > 0 } forLoop:
                return new LoopScope(loop.Syntax.Span,
                    TextSpan.FromBounds(forLoop.Before[0].Syntax.SpanStart, forLoop.Before[forLoop.Before.Length - 1].Syntax.Span.End), hasOnce: true);
            default:
                return new LoopScope(loop.Syntax.Span, default, hasOnce: false);
        }
    }

    public bool Allows(BlockGraph blocks, int block)
        => !blocks.HasOperations(block)
           || _loop.Contains(blocks.Span(block))
              && !(_hasOnce && blocks.HasExplicitOperations(block) && _once.IntersectsWith(blocks.ExplicitSpan(block)));
}
