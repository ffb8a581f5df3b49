using System.Composition;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Bodies;
using MemSafety.Analyzers.Engines.Disposal;
using MemSafety.CodeFixes.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.CodeFixes.UnsafePointers;

/// <summary>
/// MSA5009, a <c>DangerousAddRef</c> whose <c>DangerousRelease</c> is not in a finally: where the AddRef
/// (<c>h.DangerousAddRef(ref added);</c>) and its release (<c>h.DangerousRelease();</c>, or
/// <c>if (added) h.DangerousRelease();</c>) are statements of one block, the statements between become
/// <c>try { … } finally { release; }</c> right after the AddRef — the rewrite MSA6005's fix makes for a lock
/// (<see cref="ReleaseInFinally"/>). The try starts after the AddRef returned, so the count is raised whenever the
/// finally runs; <c>DangerousAddRef</c> that throws (a closed handle) raised nothing, in the original and the fixed code.
/// Behaviour is the same on every path that reached the release; where an exception skipped it, the count is now
/// dropped — the leak the rule reports. Not offered when a statement between leaves them otherwise (<c>return</c>,
/// <c>goto</c>, <c>break</c>/<c>continue</c> of an outer loop: the original keeps the count raised there, perhaps on
/// purpose), when the receiver is assigned or passed by reference between them (the finally would release another
/// handle), or when a local declared between them is used after the release and cannot be declared before the try.
/// The raw-handle half of the rule has no fix: the right change alters a signature or an ownership contract.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(SafeHandleEscapeHatchFix)), Shared]
public sealed class SafeHandleEscapeHatchFix : MemSafetyCodeFix
{
    private const string Title = "Release the handle in a finally block";

    public SafeHandleEscapeHatchFix()
        : base(RuleIdentifiers.SafeHandleEscapeHatch)
    {
    }

    private protected override Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
        => node.FirstAncestorOrSelf<InvocationExpressionSyntax>() is { } call && ReleaseRegions.Name(call) == "DangerousAddRef"
            ? ReleaseInFinally.RegisterAsync(request, diagnostic, call, Title, Plan)
            : Task.CompletedTask;

    private static ReleaseInFinally.Plan? Plan(InvocationExpressionSyntax call, SemanticModel model, CancellationToken cancellationToken)
    {
        if (model.GetOperation(call, cancellationToken) is not IInvocationOperation invocation
            || SafeHandleHatches.CheckAddRef(invocation, cancellationToken) is not { } unprotected
            || call.Parent is not ExpressionStatementSyntax acquire
            || ReleaseStatement(unprotected.Release, acquire.Parent, model, cancellationToken) is not { } release)
        {
            return null;
        }

        // The receiver's root (`h`, `_h`, `this._h`): assigned between the two, the finally would release another handle.
        var receiver = call.Expression is MemberAccessExpressionSyntax { Expression: { } expression } ? model.GetSymbolInfo(expression, cancellationToken).Symbol : null;
        return ReleaseInFinally.PlanForStatements(acquire, release, receiver, hoistDeclarations: true, model, cancellationToken);
    }

    /// <summary>The statement of <paramref name="block"/> that holds the release: <c>h.DangerousRelease();</c> itself, or
    /// <c>if (added) h.DangerousRelease();</c> (braces allowed, no else) whose condition is a local or parameter.</summary>
    private static StatementSyntax? ReleaseStatement(InvocationExpressionSyntax release, SyntaxNode? block, SemanticModel model, CancellationToken cancellationToken)
    {
        if (release.Parent is not ExpressionStatementSyntax statement)
            return null;
        if (statement.Parent == block)
            return statement;
        SyntaxNode? parent = statement.Parent is BlockSyntax { Statements.Count: 1 } braces ? braces.Parent : statement.Parent;
        return parent is IfStatementSyntax { Else: null, Condition: IdentifierNameSyntax flag } guard && guard.Parent == block
               && model.GetSymbolInfo(flag, cancellationToken).Symbol is ILocalSymbol or IParameterSymbol
            ? guard
            : null;
    }
}
