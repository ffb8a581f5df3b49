using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
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
    /// dereference of another object that could throw.</summary>
    public static bool NothingBetweenCanThrow(InvocationExpressionSyntax acquire, InvocationExpressionSyntax release, SemanticModel model, CancellationToken cancellationToken)
    {
        if (acquire.Parent is not ExpressionStatementSyntax { Parent: BlockSyntax block } acquireStatement
            || release.Parent is not ExpressionStatementSyntax releaseStatement || releaseStatement.Parent != block)
        {
            return false;
        }

        var statements = block.Statements;
        for (var i = statements.IndexOf(acquireStatement) + 1; i < statements.IndexOf(releaseStatement); i++)
        {
            if (statements[i] is not ExpressionStatementSyntax statement || model.GetOperation(statement, cancellationToken) is not { } operation)
                return false;
            foreach (var inner in operation.DescendantsAndSelf())
            {
                switch (inner)
                {
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
        }

        return true;
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
