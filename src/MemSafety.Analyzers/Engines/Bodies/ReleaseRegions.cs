using System.Collections.Generic;
using System.Threading;
using MemSafety.Analyzers.Engines.ControlFlow;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.FlowAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Engines.Bodies;

/// <summary>
/// Syntax facts for an acquire call that a later call undoes in the same body (a lock taken by <c>Monitor.Enter</c>,
/// a reference count raised by <c>SafeHandle.DangerousAddRef</c>): which body both belong to, whether a release sits
/// in a <c>finally</c> that covers the acquire, and whether anything between them could throw. Shared by MSA6005
/// (<c>ManualLockRegions</c>) and MSA5009 (<c>SafeHandleHatches</c>).
/// </summary>
public static class ReleaseRegions
{
    /// <summary>Whether <paramref name="release"/> is in the finally of a try that covers <paramref name="acquire"/>:
    /// the try contains it, follows the acquire's statement directly (<c>acquire; try { … } finally { release }</c>), or
    /// opens the block the acquire's condition guards (<c>if (TryEnter(x)) { try … finally … }</c>).</summary>
    public static bool Protects(SyntaxNode release, SyntaxNode acquire)
    {
        for (var node = release.Parent; node is not null && !IsFunction(node); node = node.Parent)
        {
            if (node is not FinallyClauseSyntax { Parent: TryStatementSyntax @try })
                continue;
            if (@try.Block.Span.Contains(acquire.Span))
                return true;
            var statement = acquire.FirstAncestorOrSelf<StatementSyntax>();
            if (statement is null)
                return false;
            if (statement.Parent is BlockSyntax block && Next(block, statement) == @try)
                return true;
            if (statement is IfStatementSyntax { Statement: BlockSyntax guarded } && guarded.Statements.Count > 0 && guarded.Statements[0] == @try)
                return true;
            if (statement is IfStatementSyntax { Statement: TryStatementSyntax direct } && direct == @try)
                return true;
        }

        return false;
    }

    /// <summary>Whether <paramref name="node"/> is inside a finally clause of its own function.</summary>
    public static bool InFinally(SyntaxNode node)
    {
        for (var current = node.Parent; current is not null && !IsFunction(current); current = current.Parent)
        {
            if (current is FinallyClauseSyntax)
                return true;
        }

        return false;
    }

    /// <summary>Whether <paramref name="node"/> is inside a catch clause, of its own function, of a try whose protected
    /// block contains <paramref name="acquire"/>: a release on the failure path only, kept on success on purpose.</summary>
    public static bool InCatchCovering(SyntaxNode node, SyntaxNode acquire)
    {
        for (var current = node.Parent; current is not null && !IsFunction(current); current = current.Parent)
        {
            if (current is CatchClauseSyntax { Parent: TryStatementSyntax @try } && @try.Block.Span.Contains(acquire.Span))
                return true;
        }

        return false;
    }

    /// <summary>Acquire and release are statements of one block and every statement between them is plain arithmetic
    /// and assignment on locals, parameters and this object's fields: no call, allocation, array access, division or
    /// dereference of another object that could throw. The acquire may be awaited (<c>await s.WaitAsync().ConfigureAwait(false);</c>:
    /// when the wait throws, nothing was acquired), and the release may be part of a <c>return</c> whose other parts are
    /// as plain (<c>return 1 + s.Release();</c>, Quartz's TaskSchedulingThreadPool, reported wrongly in session 9).</summary>
    public static bool NothingBetweenCanThrow(InvocationExpressionSyntax acquire, InvocationExpressionSyntax release, SemanticModel model, CancellationToken cancellationToken)
    {
        if (StatementOfAwaited(acquire) is not { Parent: BlockSyntax block } acquireStatement
            || release.FirstAncestorOrSelf<StatementSyntax>() is not { } releaseStatement || releaseStatement.Parent != block
            || releaseStatement is not (ExpressionStatementSyntax or ReturnStatementSyntax))
        {
            return false;
        }

        var statements = block.Statements;
        var end = statements.IndexOf(releaseStatement);
        for (var i = statements.IndexOf(acquireStatement) + 1; i <= end; i++)
        {
            if (statements[i] is not (ExpressionStatementSyntax or ReturnStatementSyntax) || model.GetOperation(statements[i], cancellationToken) is not { } operation)
                return false;
            if (!IsPlain(operation, i == end ? release : null))
                return false;
        }

        return true;
    }

    /// <summary>The expression statement whose whole expression is <paramref name="call"/>, possibly awaited
    /// (<c>await call;</c>, <c>await call.ConfigureAwait(…);</c>); null otherwise.</summary>
    private static StatementSyntax? StatementOfAwaited(InvocationExpressionSyntax call)
    {
        SyntaxNode node = call;
        if (node.Parent is MemberAccessExpressionSyntax { Name.Identifier.ValueText: "ConfigureAwait", Parent: InvocationExpressionSyntax configured } access
            && access.Expression == node)
        {
            node = configured;
        }

        if (node.Parent is AwaitExpressionSyntax awaited)
            node = awaited;
        else if (node != call)
            return null;
        return node.Parent as ExpressionStatementSyntax;
    }

    /// <summary>Every operation of <paramref name="statement"/>, except those inside <paramref name="skip"/> (the release
    /// itself), is plain: it cannot throw.</summary>
    private static bool IsPlain(IOperation statement, SyntaxNode? skip)
    {
        foreach (var inner in statement.DescendantsAndSelf())
        {
            if (skip is not null && skip.Span.Contains(inner.Syntax.Span))
                continue;
            switch (inner)
            {
                case IReturnOperation:
                case IExpressionStatementOperation:
                case ILiteralOperation:
                case ILocalReferenceOperation:
                case IParameterReferenceOperation { Parameter.RefKind: RefKind.None }:
                case IInstanceReferenceOperation:
                case IFieldReferenceOperation { Instance: null or IInstanceReferenceOperation }:
                case ISimpleAssignmentOperation:
                case IIncrementOrDecrementOperation { IsChecked: false }:
                case IParenthesizedOperation:
                case IConversionOperation { IsImplicit: true, IsTryCast: false, Conversion.IsUserDefined: false }:
                    continue;
                case ICompoundAssignmentOperation { IsChecked: false, OperatorKind: not (BinaryOperatorKind.Divide or BinaryOperatorKind.Remainder), OperatorMethod: null }:
                    continue;
                case IBinaryOperation { IsChecked: false, OperatorKind: not (BinaryOperatorKind.Divide or BinaryOperatorKind.Remainder), OperatorMethod: null }:
                    continue;
                default:
                    return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Whether some path from <paramref name="acquire"/> runs the last statement of its function (a <c>return</c>, or the
    /// statement the function falls off the end after) without passing any of <paramref name="releases"/>, and that last
    /// statement releases nothing: the function keeps what it acquired on its main path for a later call to give back (a
    /// lock handed to the caller, a permit handed to a task's continuation) and releases it only on early-exit paths, so
    /// moving those releases into a finally would give it back on the main path too. Paths that throw do not count. False
    /// when the graph cannot be built. log4net's FileAppender.InterProcessLock.AcquireLock and Quartz's
    /// TaskSchedulingThreadPool.TryRun were reported wrongly in session 9.
    /// </summary>
    public static bool KeptOnTheMainPath(IOperation acquire, List<SyntaxNode> releases)
    {
        if (Body(acquire.Syntax) is not BlockSyntax { Statements.Count: > 0 } body || LoopCycles.GraphOf(acquire) is not { } graph)
            return false;
        var last = body.Statements[body.Statements.Count - 1];
        foreach (var release in releases)
        {
            if (last.Span.Contains(release.Span))
                return false;
        }

        var blocks = graph.Blocks;
        var visited = new bool[blocks.Length];
        var pending = new Stack<(BasicBlock Block, int From)>();
        foreach (var block in blocks)
        {
            var operations = block.Operations;
            for (var i = 0; i < operations.Length; i++)
            {
                if (operations[i].Syntax.Span.Contains(acquire.Syntax.Span))
                    pending.Push((block, i + 1));
            }

            if (block.BranchValue is { } value && value.Syntax.Span.Contains(acquire.Syntax.Span))
                pending.Push((block, operations.Length + 1));
        }

        while (pending.Count > 0)
        {
            var (block, from) = pending.Pop();
            var operations = block.Operations;
            var released = false;
            var reachesLast = false;
            for (var i = from; i <= operations.Length && !released; i++)
            {
                var syntax = i < operations.Length ? operations[i].Syntax : block.BranchValue?.Syntax;
                if (syntax is null)
                    continue;
                released = ContainsAny(syntax, releases);
                reachesLast |= last.Span.Contains(syntax.Span);
            }

            if (released)
                continue;
            if (reachesLast)
                return true;
            Follow(block.FallThroughSuccessor, visited, pending);
            Follow(block.ConditionalSuccessor, visited, pending);
        }

        return false;
    }

    private static bool ContainsAny(SyntaxNode syntax, List<SyntaxNode> releases)
    {
        foreach (var release in releases)
        {
            if (syntax.Span.Contains(release.Span))
                return true;
        }

        return false;
    }

    private static void Follow(ControlFlowBranch? branch, bool[] visited, Stack<(BasicBlock Block, int From)> pending)
    {
        if (branch?.Destination is { } next && branch.Semantics != ControlFlowBranchSemantics.Throw
            && branch.Semantics != ControlFlowBranchSemantics.Rethrow && !visited[next.Ordinal])
        {
            visited[next.Ordinal] = true;
            pending.Push((next, 0));
        }
    }

    /// <summary>The body (block or expression) of the method, accessor, local function or lambda that contains
    /// <paramref name="node"/>; null in a field initializer and other places without a body.</summary>
    public static SyntaxNode? Body(SyntaxNode node)
    {
        for (var current = node.Parent; current is not null; current = current.Parent)
        {
            switch (current)
            {
                case BaseMethodDeclarationSyntax method:
                    return (SyntaxNode?)method.Body ?? method.ExpressionBody;
                case AccessorDeclarationSyntax accessor:
                    return (SyntaxNode?)accessor.Body ?? accessor.ExpressionBody;
                case LocalFunctionStatementSyntax local:
                    return (SyntaxNode?)local.Body ?? local.ExpressionBody;
                case AnonymousFunctionExpressionSyntax lambda:
                    return lambda.Body;
                case PropertyDeclarationSyntax property:
                    return property.ExpressionBody;
                case MemberDeclarationSyntax:
                    return null;
            }
        }

        return null;
    }

    /// <summary>The loop (or, for <c>break</c>, the switch) that a <c>break</c> or <c>continue</c> statement leaves; null
    /// when there is none in its own function.</summary>
    public static SyntaxNode? JumpTarget(SyntaxNode jump)
    {
        for (var current = jump.Parent; current is not null && !IsFunction(current); current = current.Parent)
        {
            if (current is ForStatementSyntax or CommonForEachStatementSyntax or WhileStatementSyntax or DoStatementSyntax
                || current is SwitchStatementSyntax && jump is BreakStatementSyntax)
            {
                return current;
            }
        }

        return null;
    }

    /// <summary>A lambda or local function: a body of its own inside the member's.</summary>
    public static bool IsFunction(SyntaxNode node) => node is AnonymousFunctionExpressionSyntax or LocalFunctionStatementSyntax;

    /// <summary>The simple name of the method an invocation calls (<c>x.Name(…)</c>, <c>Name(…)</c>).</summary>
    public static string Name(InvocationExpressionSyntax call) => call.Expression switch
    {
        MemberAccessExpressionSyntax access => access.Name.Identifier.ValueText,
        IdentifierNameSyntax identifier => identifier.Identifier.ValueText,
        _ => string.Empty,
    };

    private static StatementSyntax? Next(BlockSyntax block, StatementSyntax statement)
    {
        var statements = block.Statements;
        var index = statements.IndexOf(statement);
        return index >= 0 && index + 1 < statements.Count ? statements[index + 1] : null;
    }
}
