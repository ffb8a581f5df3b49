using System.Collections.Generic;
using System.Composition;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Disposal;
using MemSafety.Analyzers.Rules.UnsafePointers;
using MemSafety.CodeFixes.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Formatting;

namespace MemSafety.CodeFixes.UnsafePointers;

/// <summary>
/// MSA5007, a handle not freed on some path: where the allocation (<c>var h = GCHandle.Alloc(…);</c> or
/// <c>h = GCHandle.Alloc(…);</c>) and the method's only <c>h.Free();</c> are statements of one block, the statements
/// between become <c>try { … } finally { h.Free(); }</c>. Behaviour is the same on every path that reached the Free; on
/// those that did not (an exception, an early <c>return</c>, <c>break</c>) the handle is now freed — the leak the rule
/// reports. Not offered when no Free exists (where the handle should end is the author's choice), when a statement
/// between returns a value other than a constant (the value may be the pinned address, which the earlier Free would
/// leave dangling), when the local is assigned between them, or when a local declared between them is used after the Free.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(GCHandleLifetimeFix)), Shared]
public sealed class GCHandleLifetimeFix : MemSafetyCodeFix
{
    private const string Title = "Free the GCHandle in a finally block";

    public GCHandleLifetimeFix()
        : base(RuleIdentifiers.GCHandleLifetime)
    {
    }

    private protected override async Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
    {
        if (!diagnostic.Properties.TryGetValue(GCHandleLifetimeAnalyzer.KindProperty, out var kind)
            || kind is not (nameof(GCHandleDefectKind.NotFreed) or nameof(GCHandleDefectKind.NotFreedOnException))
            || node.FirstAncestorOrSelf<InvocationExpressionSyntax>() is not { } call)
        {
            return;
        }

        var model = await request.GetSemanticModelAsync().ConfigureAwait(false);
        if (Plan(call, model, request.CancellationToken) is null)
            return;
        var document = request.Document;
        var span = call.Span;
        request.Register(Title, ct => ApplyAsync(document, span, ct), diagnostic);
    }

    private readonly struct FixPlan
    {
        public FixPlan(BlockSyntax block, int acquireIndex, int releaseIndex)
        {
            Block = block;
            AcquireIndex = acquireIndex;
            ReleaseIndex = releaseIndex;
        }

        public BlockSyntax Block { get; }
        public int AcquireIndex { get; }
        public int ReleaseIndex { get; }
    }

    private static FixPlan? Plan(InvocationExpressionSyntax call, SemanticModel model, CancellationToken cancellationToken)
    {
        // The statement that allocates into the local.
        StatementSyntax acquire;
        ISymbol? local;
        switch (call.Parent)
        {
            case EqualsValueClauseSyntax { Parent: VariableDeclaratorSyntax declarator }
                when declarator.Parent is VariableDeclarationSyntax { Variables.Count: 1, Parent: LocalDeclarationStatementSyntax declaration }:
                acquire = declaration;
                local = model.GetDeclaredSymbol(declarator, cancellationToken);
                break;
            case AssignmentExpressionSyntax { Parent: ExpressionStatementSyntax statement } assignment
                when assignment.IsKind(SyntaxKind.SimpleAssignmentExpression) && assignment.Right == call:
                acquire = statement;
                local = model.GetSymbolInfo(assignment.Left, cancellationToken).Symbol;
                break;
            default:
                return null;
        }

        if (local is not ILocalSymbol || acquire.Parent is not BlockSyntax block)
            return null;

        // The method's only Free of the local, a statement of the same block after the allocation.
        var body = (SyntaxNode?)block.FirstAncestorOrSelf<MemberDeclarationSyntax>() ?? block;
        StatementSyntax? release = null;
        foreach (var node in body.DescendantNodes())
        {
            if (node is InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax { Name.Identifier.ValueText: "Free", Expression: IdentifierNameSyntax receiver } } free
                && receiver.Identifier.ValueText == local.Name
                && SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(receiver, cancellationToken).Symbol, local))
            {
                if (release is not null || free.Parent is not ExpressionStatementSyntax statement || statement.Parent != block)
                    return null;
                release = statement;
            }
        }

        if (release is null)
            return null;
        var statements = block.Statements;
        int from = statements.IndexOf(acquire), to = statements.IndexOf(release);
        if (from < 0 || to <= from)
            return null;

        var declared = new HashSet<ISymbol>(SymbolEqualityComparer.Default);
        for (var i = from + 1; i < to; i++)
        {
            foreach (var inner in statements[i].DescendantNodesAndSelf(n => n is not (AnonymousFunctionExpressionSyntax or LocalFunctionStatementSyntax)))
            {
                switch (inner)
                {
                    case ReturnStatementSyntax { Expression: { } returned } when model.GetConstantValue(returned, cancellationToken) is not { HasValue: true }:
                        return null;
                    case AssignmentExpressionSyntax assignment
                        when SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(assignment.Left, cancellationToken).Symbol, local):
                        return null;
                    case ArgumentSyntax { RefKindKeyword.RawKind: not 0 } argument
                        when SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(argument.Expression, cancellationToken).Symbol, local):
                        return null;
                    case VariableDeclaratorSyntax or SingleVariableDesignationSyntax or LocalFunctionStatementSyntax
                        when model.GetDeclaredSymbol(inner, cancellationToken) is { } symbol:
                        declared.Add(symbol);
                        break;
                }
            }
        }

        if (ReleaseInFinally.DeclaredBetweenUsedAfter(block, to, declared, model, cancellationToken))
            return null;
        return new FixPlan(block, from, to);
    }

    private static async Task<Document> ApplyAsync(Document document, Microsoft.CodeAnalysis.Text.TextSpan span, CancellationToken cancellationToken)
    {
        var read = await FixDocument.ReadAsync(document, cancellationToken).ConfigureAwait(false);
        if (read.FindNode(span).FirstAncestorOrSelf<InvocationExpressionSyntax>() is not { } call || Plan(call, read.Model, cancellationToken) is not { } plan)
            return document;

        var statements = plan.Block.Statements;
        var @try = ReleaseInFinally.TryFinally(ReleaseInFinally.Between(plan.Block, plan.AcquireIndex, plan.ReleaseIndex), statements[plan.ReleaseIndex])
            .WithLeadingTrivia(SyntaxFactory.ElasticMarker);
        var newBlock = ReleaseInFinally.Replace(plan.Block, plan.AcquireIndex, plan.ReleaseIndex, new List<StatementSyntax> { statements[plan.AcquireIndex], @try });
        var root = read.Root.ReplaceNode(plan.Block, newBlock);
        return await Formatter.FormatAsync(document.WithSyntaxRoot(root), Formatter.Annotation, cancellationToken: cancellationToken).ConfigureAwait(false);
    }
}
