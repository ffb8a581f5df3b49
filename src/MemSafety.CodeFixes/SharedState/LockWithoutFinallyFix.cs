using System.Collections.Generic;
using System.Composition;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Rules.SharedState;
using MemSafety.CodeFixes.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Formatting;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.CodeFixes.SharedState;

/// <summary>
/// MSA6005: where the acquire and its first release are statements of one block, with no other release of the object
/// between them and no local declared between them used after the release, the statements between become the body of
/// <c>lock (x) { … }</c> (a one-argument <c>Monitor.Enter(x)</c> paired with <c>Monitor.Exit(x)</c>) or of
/// <c>try { … } finally { release; }</c> right after the acquire (every other kind). Behaviour is the same on every path
/// that reached the release; on the paths that did not (an exception, an early <c>return</c>) the lock is now released —
/// the bug the rule reports. Not offered for <c>TryEnter</c>/<c>Wait(timeout)</c> forms, whose result decides whether
/// there is anything to release.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(LockWithoutFinallyFix)), Shared]
public sealed class LockWithoutFinallyFix : MemSafetyCodeFix
{
    public LockWithoutFinallyFix()
        : base(RuleIdentifiers.LockWithoutFinally)
    {
    }

    private protected override async Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
    {
        if (node.FirstAncestorOrSelf<InvocationExpressionSyntax>() is not { } call)
            return;
        var model = await request.GetSemanticModelAsync().ConfigureAwait(false);
        if (Plan(call, model, request.CancellationToken) is not { } plan)
            return;
        var document = request.Document;
        var title = plan.UseLockStatement ? "Use a lock statement" : "Release in a finally block";
        request.Register(title, ct => ApplyAsync(document, call.Span, ct), diagnostic);
    }

    private sealed class FixPlan
    {
        public FixPlan(BlockSyntax block, int acquireIndex, int releaseIndex, ExpressionSyntax lockObject, bool useLockStatement)
        {
            Block = block;
            AcquireIndex = acquireIndex;
            ReleaseIndex = releaseIndex;
            LockObject = lockObject;
            UseLockStatement = useLockStatement;
        }

        public BlockSyntax Block { get; }

        public int AcquireIndex { get; }

        public int ReleaseIndex { get; }

        public ExpressionSyntax LockObject { get; }

        public bool UseLockStatement { get; }
    }

    private static FixPlan? Plan(InvocationExpressionSyntax call, SemanticModel model, CancellationToken cancellationToken)
    {
        if (model.GetOperation(call, cancellationToken) is not IInvocationOperation invocation
            || ManualLockRegions.Check(invocation, cancellationToken) is not { } unprotected)
        {
            return null;
        }

        // Only the forms that always take the lock: Enter(x), Enter(x, ref taken) is left alone (the flag says whether).
        var method = invocation.TargetMethod;
        if (method.Name.StartsWith("Try", System.StringComparison.Ordinal) || method.Parameters.Length > (unprotected.Kind == ManualLockKind.Monitor ? 1 : 0)
            && !(unprotected.Kind == ManualLockKind.Semaphore && method.Parameters.Length == 1 && method.Parameters[0].Type.Name == "CancellationToken"))
        {
            return null;
        }

        var acquireStatement = call.Parent is AwaitExpressionSyntax awaited ? awaited.Parent : call.Parent;
        if (acquireStatement is not ExpressionStatementSyntax { Parent: BlockSyntax block } acquire
            || unprotected.Release.Parent is not ExpressionStatementSyntax release || release.Parent != block)
        {
            return null;
        }

        var statements = block.Statements;
        int from = statements.IndexOf(acquire), to = statements.IndexOf(release);
        if (from < 0 || to <= from)
            return null;

        // No other release of the object between them (it would run twice), and no local declared between them read
        // after the release (it would leave scope).
        var releaseName = ManualLockRegions.ReleaseName(unprotected.Kind);
        var declared = new HashSet<ISymbol>(SymbolEqualityComparer.Default);
        for (var i = from + 1; i < to; i++)
        {
            foreach (var inner in statements[i].DescendantNodesAndSelf())
            {
                if (inner is InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax { Name.Identifier.ValueText: { } name } } && name == releaseName)
                    return null;
                if (inner is VariableDeclaratorSyntax or SingleVariableDesignationSyntax or LocalFunctionStatementSyntax
                    && model.GetDeclaredSymbol(inner, cancellationToken) is { } symbol)
                {
                    declared.Add(symbol);
                }
            }
        }

        if (ReleaseInFinally.DeclaredBetweenUsedAfter(block, to, declared, model, cancellationToken))
            return null;
        var useLock = unprotected.Kind == ManualLockKind.Monitor && call.Parent is ExpressionStatementSyntax;
        return new FixPlan(block, from, to, unprotected.LockObject, useLock);
    }

    private static async Task<Document> ApplyAsync(Document document, Microsoft.CodeAnalysis.Text.TextSpan span, CancellationToken cancellationToken)
    {
        var read = await FixDocument.ReadAsync(document, cancellationToken).ConfigureAwait(false);
        if (read.FindNode(span).FirstAncestorOrSelf<InvocationExpressionSyntax>() is not { } call || Plan(call, read.Model, cancellationToken) is not { } plan)
            return document;

        var statements = plan.Block.Statements;
        var inner = ReleaseInFinally.Between(plan.Block, plan.AcquireIndex, plan.ReleaseIndex);
        var acquire = statements[plan.AcquireIndex];
        var release = statements[plan.ReleaseIndex];

        var replacement = new List<StatementSyntax>();
        if (plan.UseLockStatement)
        {
            replacement.Add(SyntaxFactory.LockStatement(plan.LockObject.WithoutTrivia(), SyntaxFactory.Block(inner))
                .WithLeadingTrivia(acquire.GetLeadingTrivia())
                .WithTrailingTrivia(release.GetTrailingTrivia()));
        }
        else
        {
            replacement.Add(acquire);
            replacement.Add(ReleaseInFinally.TryFinally(inner, release)
                .WithLeadingTrivia(inner.Count > 0 ? inner[0].GetLeadingTrivia() : release.GetLeadingTrivia()));
        }

        var newBlock = ReleaseInFinally.Replace(plan.Block, plan.AcquireIndex, plan.ReleaseIndex, replacement);
        var root = read.Root.ReplaceNode(plan.Block, newBlock);
        return await Formatter.FormatAsync(document.WithSyntaxRoot(root), Formatter.Annotation, cancellationToken: cancellationToken).ConfigureAwait(false);
    }
}
