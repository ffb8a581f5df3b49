using System.Collections.Generic;
using MemSafety.Analyzers.Engines.Bodies;
using MemSafety.Analyzers.Engines.Closures;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.Closures;

/// <summary>Where the only users of a display class are, relative to its allocation (MSA3003).</summary>
public enum UnusedPathBranchKind
{
    /// <summary>The <c>if</c> branch of an <c>if</c> statement.</summary>
    IfBranch,

    /// <summary>The <c>else</c> branch of an <c>if</c> statement.</summary>
    ElseBranch,

    /// <summary>One branch of a <c>?:</c> expression.</summary>
    ConditionalExpression,

    /// <summary>One section of a <c>switch</c> statement.</summary>
    SwitchSection,

    /// <summary>A catch clause.</summary>
    CatchClause,

    /// <summary>The right operand of <c>??</c>.</summary>
    Coalesce,

    /// <summary>The right operand of <c>&amp;&amp;</c>.</summary>
    ConditionalAnd,

    /// <summary>The right operand of <c>||</c>.</summary>
    ConditionalOr,

    /// <summary>What <c>?.</c> evaluates when the receiver is not null.</summary>
    ConditionalAccess,

    /// <summary>The statements after an <c>if</c> that returns.</summary>
    AfterEarlyReturn,
}

/// <summary>
/// MSA3003's decision, shared by the analyzer and its fix: a class display class whose every user (lambda or local
/// function) lies in one region that not every path through the display class's scope runs (a conditional branch,
/// or the statements after an early <c>return</c>), with no loop between the scope and that region. The compiler
/// allocates the display class when the scope is entered, so every path that skips the region allocates it for
/// nothing. <see cref="CanCopyIntoBranch"/>: the fix may copy the captured variables into new locals at the start of
/// an <c>if</c>/<c>else</c> branch and capture the copies, which moves the allocation into the branch.
/// </summary>
public sealed class UnusedPathDisplayClass
{
    private UnusedPathDisplayClass(DisplayClass displayClass, IOperation region, UnusedPathBranchKind kind, IOperation owner)
    {
        DisplayClass = displayClass;
        Region = region;
        Kind = kind;
        Owner = owner;
    }

    public DisplayClass DisplayClass { get; }

    /// <summary>The region holding every user: the branch statement or expression, the switch case, the catch clause,
    /// or (after an early return) the first statement after it that contains a user.</summary>
    public IOperation Region { get; }

    public UnusedPathBranchKind Kind { get; }

    /// <summary>The <c>if</c>, <c>?:</c>, <c>switch</c>, <c>try</c>, <c>??</c>, <c>&amp;&amp;</c>/<c>||</c> or <c>?.</c>
    /// that makes the region conditional; for <see cref="UnusedPathBranchKind.AfterEarlyReturn"/>, the returning <c>if</c>.</summary>
    public IOperation Owner { get; }

    /// <summary>Whether copying every captured variable into a new local at the start of the branch (and capturing the
    /// copies) keeps behaviour and moves the allocation into the branch: an <c>if</c>/<c>else</c> branch, no variable
    /// written from the branch's start on (nor inside a lambda), no <c>this</c> in the display class (in Release
    /// builds the compiler would merge the copies back into a method-level display class holding <c>this</c>), no
    /// <c>goto</c> in the body.</summary>
    public bool CanCopyIntoBranch { get; private set; }

    /// <summary>Parent steps taken by <see cref="For"/> on this thread: a scaling test counts them, never a timing.</summary>
    [System.ThreadStatic]
    internal static long ParentSteps;

    /// <summary>The decision for one display class; null when MSA3003 does not apply.</summary>
    public static UnusedPathDisplayClass? For(DisplayClass displayClass, BodyFacts body)
    {
        // A for statement's variables: one display class for the whole loop, shared by every iteration; any branch of
        // the body runs once per iteration, so it is not a path that skips the allocation.
        if (displayClass.IsStruct || displayClass.Variables.Count == 0 || displayClass.Kind == DisplayClassScopeKind.ForVariables)
            return null;
        var functions = displayClass.Functions;
        var closures = ClosureFacts.Of(body.Root);
        foreach (var function in functions)
        {
            // The model's answer (no walk to the root per user and display class: cubic in nested lambdas).
            if (closures.InExpressionTree(function) ?? InExpressionTree(function))
                return null;
        }

        // Where the users run: a lambda where it is created, a local function where it is called or converted (not where
        // it is declared), leaving out uses inside other users, which those users already place. A lambda directly inside
        // the user before it (a lambda: users are in the body's order) lies where that one is: one anchor for a chain of
        // nested lambdas, not one walk up the tree per lambda and display class (cubic in nested lambdas).
        var anchors = new List<IOperation>();
        IOperation? previous = null;
        foreach (var function in functions)
        {
            var before = previous;
            previous = function;
            if (function is not ILocalFunctionOperation localFunction)
            {
                if (before is IAnonymousFunctionOperation && body.OuterFunctionOf(function) == before)
                    continue;
                anchors.Add(function);
                continue;
            }

            foreach (var use in body.UsesOf(localFunction.Symbol))
            {
                if (!IsInAny(use, functions))
                    anchors.Add(use);
            }
        }

        if (anchors.Count == 0)
            return null;
        var scope = displayClass.Scope;
        var common = CommonAncestor(anchors, scope);
        if (common is null)
            return null;

        // Up from the users to the scope: the innermost conditional region with no loop above it.
        IOperation? region = null;
        IOperation? owner = null;
        var kind = UnusedPathBranchKind.IfBranch;
        for (var child = common; child != scope; child = child.Parent!)
        {
            ParentSteps++;
            var parent = child.Parent;
            if (parent is null)
                return null;
            if (parent == scope)
                break;
            if (parent is IAnonymousFunctionOperation or ILocalFunctionOperation)
                return null;
            if (parent is ILoopOperation loop && IsRepeatedPart(loop, child))
            {
                // A region inside a loop runs many times per allocation: moving the allocation there could cost more.
                region = null;
                continue;
            }

            if (region is not null)
                continue;
            switch (parent)
            {
                case IConditionalOperation conditional when child == conditional.WhenTrue || child == conditional.WhenFalse:
                    // The path that skips the branch must be a normal one, not a throw (argument validation).
                    var other = child == conditional.WhenTrue ? conditional.WhenFalse : conditional.WhenTrue;
                    if (other is not null && AlwaysThrows(other))
                        continue;
                    (region, owner) = (child, parent);
                    kind = conditional.Syntax is IfStatementSyntax
                        ? child == conditional.WhenTrue ? UnusedPathBranchKind.IfBranch : UnusedPathBranchKind.ElseBranch
                        : UnusedPathBranchKind.ConditionalExpression;
                    break;
                case ISwitchCaseOperation:
                    (region, owner, kind) = (parent, parent.Parent ?? parent, UnusedPathBranchKind.SwitchSection);
                    break;
                case ICatchClauseOperation:
                    (region, owner, kind) = (parent, parent.Parent ?? parent, UnusedPathBranchKind.CatchClause);
                    break;
                case ICoalesceOperation coalesce when child == coalesce.WhenNull:
                    (region, owner, kind) = (child, parent, UnusedPathBranchKind.Coalesce);
                    break;
                case IBinaryOperation { OperatorKind: BinaryOperatorKind.ConditionalAnd or BinaryOperatorKind.ConditionalOr } logic when child == logic.RightOperand:
                    (region, owner) = (child, parent);
                    kind = logic.OperatorKind == BinaryOperatorKind.ConditionalAnd ? UnusedPathBranchKind.ConditionalAnd : UnusedPathBranchKind.ConditionalOr;
                    break;
                case IConditionalAccessOperation access when child == access.WhenNotNull:
                    (region, owner, kind) = (child, parent, UnusedPathBranchKind.ConditionalAccess);
                    break;
            }
        }

        UnusedPathDisplayClass? plan;
        if (region is not null)
            plan = new UnusedPathDisplayClass(displayClass, region, kind, owner!);
        else if (EarlyReturnBefore(StatementsOf(displayClass), common) is { } earlyReturn)
            plan = new UnusedPathDisplayClass(displayClass, earlyReturn.After, UnusedPathBranchKind.AfterEarlyReturn, earlyReturn.Exit);
        else
            return null;

        plan.CanCopyIntoBranch = plan.Kind is UnusedPathBranchKind.IfBranch or UnusedPathBranchKind.ElseBranch && CanCopy(plan, body);
        return plan;
    }

    /// <summary>Whether any user is an expression tree or nested in one: expression trees are data, never reported.</summary>
    private static bool InExpressionTree(IOperation function)
    {
        for (var current = function; current is not null; current = current.Parent)
        {
            if (current is IAnonymousFunctionOperation && ClosureFacts.IsExpressionTree(current))
                return true;
        }

        return false;
    }

    /// <summary>The innermost operation (at or below the scope) that contains every function.</summary>
    private static IOperation? CommonAncestor(IReadOnlyList<IOperation> functions, IOperation scope)
    {
        var path = new List<IOperation>();
        for (var current = functions[0]; current is not null; current = current.Parent)
        {
            ParentSteps++;
            path.Add(current);
            if (current == scope)
                break;
        }

        if (functions.Count == 1)
            return path[0];

        // Where each operation first meets the path: the path's own, then every operation walked from a user on the way
        // up, so that no operation is walked twice (nested lambdas: each user lies inside the one before it, and a walk
        // with a search of the path per step was cubic in the depth).
        var meets = new Dictionary<IOperation, int>(path.Count);
        for (var i = 0; i < path.Count; i++)
            meets[path[i]] = i;
        var walked = new List<IOperation>();
        var deepest = 0;
        for (var i = 1; i < functions.Count; i++)
        {
            walked.Clear();
            var index = -1;
            for (var current = functions[i]; current is not null; current = current.Parent)
            {
                ParentSteps++;
                if (meets.TryGetValue(current, out index))
                    break;
                index = -1;
                walked.Add(current);
            }

            if (index < 0)
                return null;
            foreach (var operation in walked)
                meets[operation] = index;
            if (index > deepest)
                deepest = index;
        }

        return path[deepest];
    }

    private static bool IsRepeatedPart(ILoopOperation loop, IOperation child) => loop switch
    {
        IForEachLoopOperation forEach => child != forEach.Collection,
        IForLoopOperation forLoop => !forLoop.Before.Contains(child),
        _ => true,
    };

    private static bool AlwaysThrows(IOperation branch)
    {
        while (branch is IBlockOperation { Operations.Length: > 0 } block)
            branch = block.Operations[block.Operations.Length - 1];
        return branch is IThrowOperation or IExpressionStatementOperation { Operation: IThrowOperation };
    }

    /// <summary>The statements of the display class's scope, when it is a block of statements.</summary>
    private static IBlockOperation? StatementsOf(DisplayClass displayClass) => displayClass.Scope switch
    {
        IMethodBodyBaseOperation body => body.BlockBody,
        IAnonymousFunctionOperation lambda => lambda.Body,
        ILocalFunctionOperation localFunction => localFunction.Body,
        IBlockOperation block => block,
        ICatchClauseOperation catchClause => catchClause.Handler,
        ILoopOperation loop => loop.Body as IBlockOperation,
        _ => null,
    };

    /// <summary>An <c>if</c> among the statements before the one holding the users that leaves the scope by
    /// <c>return</c> (or <c>yield break</c>) in one of its branches.</summary>
    private static (IOperation Exit, IOperation After)? EarlyReturnBefore(IBlockOperation? block, IOperation users)
    {
        if (block is null)
            return null;
        var statement = users;
        while (statement.Parent is not null && statement.Parent != block)
            statement = statement.Parent;
        if (statement.Parent != block)
            return null;
        foreach (var before in block.Operations)
        {
            if (before == statement)
                break;
            if (before is IConditionalOperation { Syntax: IfStatementSyntax } conditional
                && (Returns(conditional.WhenTrue) || conditional.WhenFalse is { } whenFalse && Returns(whenFalse)))
            {
                return (conditional, statement);
            }
        }

        return null;
    }

    private static bool Returns(IOperation branch)
    {
        while (branch is IBlockOperation { Operations.Length: > 0 } block)
            branch = block.Operations[block.Operations.Length - 1];
        return branch is IReturnOperation { Kind: OperationKind.Return or OperationKind.YieldBreak };
    }

    private static bool CanCopy(UnusedPathDisplayClass plan, BodyFacts body)
    {
        if (plan.DisplayClass.HoldsThis || body.GoToStatements.Count > 0)
            return false;
        var branchStart = plan.Region.Syntax.SpanStart;

        // Only what is written inside the branch can capture the copies: no local function declared outside it.
        foreach (var function in plan.DisplayClass.Functions)
        {
            if (!plan.Region.Syntax.Span.Contains(function.Syntax.Span))
                return false;
        }

        foreach (var variable in plan.DisplayClass.Variables)
        {
            if (variable is IParameterSymbol { RefKind: not RefKind.None } or ILocalSymbol { IsRef: true })
                return false;
            foreach (var write in body.WritesTo(variable))
            {
                if (write.Syntax.SpanStart >= branchStart)
                    return false;
            }

            foreach (var reference in body.ReferencesTo(variable))
            {
                if (IsInAny(reference, plan.DisplayClass.Functions) && reference.Syntax is not IdentifierNameSyntax)
                    return false;
            }
        }

        return true;
    }

    /// <summary>Whether the operation lies inside one of the functions.</summary>
    public static bool IsInAny(IOperation operation, IReadOnlyList<IOperation> functions)
    {
        foreach (var function in functions)
        {
            if (function.Syntax.Span.Contains(operation.Syntax.Span))
                return true;
        }

        return false;
    }
}
