using System.Collections.Generic;
using System.Collections.Immutable;
using System.Composition;
using System.Linq;
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
using Microsoft.CodeAnalysis.Text;

namespace MemSafety.CodeFixes.SharedState;

/// <summary>
/// MSA6001: takes the guarding lock around the access: the statement that holds it (or the statement the analyzer
/// chose to cover several accesses at once) becomes the body of <c>lock (L) { … }</c>, an expression-bodied method or
/// accessor a block body that does the same. Offered only where <c>lock</c> takes the very lock the other member
/// holds (a Monitor object, <c>this</c>, <c>typeof(T)</c> or a <c>System.Threading.Lock</c>; not a
/// ReaderWriterLockSlim, a semaphore, a SpinLock, a Mutex or a <c>[MethodImpl(Synchronized)]</c> method), and where
/// the statement may move into a block: no <c>await</c> (which C# forbids in a lock), no <c>yield</c>, no local
/// declaration or <c>out var</c> whose variable the code after it uses.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(InconsistentlyGuardedFieldFix)), Shared]
public sealed class InconsistentlyGuardedFieldFix : MemSafetyCodeFix
{
    public InconsistentlyGuardedFieldFix()
        : base(RuleIdentifiers.InconsistentlyGuardedField)
    {
    }

    public override FixAllProvider GetFixAllProvider() => WrapAll;

    /// <summary>Fix All of the lock-wrapping fixes (this one and <see cref="LockAnnotationFix"/>): every target of the
    /// document in one edit, a target inside another covered by the outer lock.</summary>
    internal static readonly FixAllProvider WrapAll = FixAllProvider.Create(async (context, document, diagnostics) =>
    {
        var root = await document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null)
            return document;
        var targets = new List<(TextSpan Span, string Lock, string? Owner)>();
        foreach (var diagnostic in diagnostics)
        {
            if (Target(root, diagnostic) is { } target)
                targets.Add((target.Span, diagnostic.Properties[InconsistentlyGuardedFieldAnalyzer.LockProperty]!, Owner(diagnostic)));
        }

        return targets.Count == 0 ? document : await WrapAsync(document, targets, context.CancellationToken).ConfigureAwait(false);
    });

    private protected override Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
    {
        if (Target(request.Root, diagnostic) is not { } target)
            return Task.CompletedTask;
        var document = request.Document;
        var lockText = diagnostic.Properties[InconsistentlyGuardedFieldAnalyzer.LockProperty]!;
        var owner = Owner(diagnostic);
        request.Register($"Take lock '{lockText}' around the access", ct => WrapAsync(document, new[] { (target.Span, lockText, owner) }, ct), diagnostic);
        return Task.CompletedTask;
    }

    /// <summary>The statement or expression body to wrap, when the fix can wrap it.</summary>
    internal static SyntaxNode? Target(SyntaxNode root, Diagnostic diagnostic)
    {
        if (!diagnostic.Properties.ContainsKey(InconsistentlyGuardedFieldAnalyzer.LockProperty) || diagnostic.AdditionalLocations.Count == 0)
            return null;
        var span = diagnostic.AdditionalLocations[0].SourceSpan;
        if (!root.FullSpan.Contains(span))
            return null;
        var node = root.FindNode(span, getInnermostNodeForTie: true);
        node = node.AncestorsAndSelf().FirstOrDefault(n => n.Span == span && n is StatementSyntax or ArrowExpressionClauseSyntax);
        return node is not null && CanWrap(node) ? node : null;
    }

    private static bool CanWrap(SyntaxNode target)
    {
        // Roslyn's formatter can throw on the new block in a member that does not parse (fuzz seed 5, mutant 30908:
        // a stray '[' after 'lock'); code as typed mid-edit gets no fix, as MSA3004's.
        if (target.FirstAncestorOrSelf<MemberDeclarationSyntax>() is { ContainsDiagnostics: true })
            return false;
        foreach (var node in target.DescendantNodesAndSelf(n => n == target || n is not (AnonymousFunctionExpressionSyntax or LocalFunctionStatementSyntax)))
        {
            // C# forbids await in a lock body (CS1996); a yield would hold the lock while the caller runs.
            if (node is AwaitExpressionSyntax or YieldStatementSyntax || node is ForEachStatementSyntax { AwaitKeyword.RawKind: not 0 }
                || node is UsingStatementSyntax { AwaitKeyword.RawKind: not 0 } || node is LocalDeclarationStatementSyntax { AwaitKeyword.RawKind: not 0 })
            {
                return false;
            }
        }

        // Expression bodies the fix turns into blocks; others (constructors, operators, local functions) get no fix.
        if (target is ArrowExpressionClauseSyntax)
            return target.Parent is MethodDeclarationSyntax or AccessorDeclarationSyntax or PropertyDeclarationSyntax or IndexerDeclarationSyntax;
        // Variables an expression declares (out var, patterns) in an expression statement, return or if are in scope after it.
        if (target.Parent is BlockSyntax or SwitchSectionSyntax)
        {
            var declared = new HashSet<string>();
            foreach (var node in target.DescendantNodes(n => n is not (BlockSyntax or AnonymousFunctionExpressionSyntax or LocalFunctionStatementSyntax)))
            {
                if (node is SingleVariableDesignationSyntax designation)
                    declared.Add(designation.Identifier.ValueText);
            }

            if (declared.Count > 0)
            {
                var statements = target.Parent is BlockSyntax block ? block.Statements : ((SwitchSectionSyntax)target.Parent).Statements;
                for (var i = statements.IndexOf((StatementSyntax)target) + 1; i < statements.Count; i++)
                {
                    foreach (var name in statements[i].DescendantNodes().OfType<IdentifierNameSyntax>())
                    {
                        if (declared.Contains(name.Identifier.ValueText))
                            return false;
                    }
                }
            }
        }

        return true;
    }

    internal static string? Owner(Diagnostic diagnostic)
        => diagnostic.Properties.TryGetValue(InconsistentlyGuardedFieldAnalyzer.LockOwnerProperty, out var owner) ? owner : null;

    internal static async Task<Document> WrapAsync(Document document, IReadOnlyList<(TextSpan Span, string Lock, string? Owner)> targets, CancellationToken cancellationToken)
    {
        var read = await FixDocument.ReadAsync(document, cancellationToken).ConfigureAwait(false);
        var (root, model) = read;
        var nodes = new Dictionary<SyntaxNode, ExpressionSyntax>();
        foreach (var (span, lockText, owner) in targets)
        {
            var node = root.FindNode(span, getInnermostNodeForTie: true).AncestorsAndSelf().FirstOrDefault(n => n.Span == span && n is StatementSyntax or ArrowExpressionClauseSyntax);
            if (node is null || nodes.ContainsKey(node))
                continue;
            nodes[node] = LockExpression(lockText, owner, node, model);
        }

        // A target inside another is covered by the outer lock.
        var outer = nodes.Keys.Where(n => !n.Ancestors().Any(a => nodes.ContainsKey(a))).ToList();
        var newRoot = root.ReplaceNodes(outer.Select(n => n is ArrowExpressionClauseSyntax ? n.Parent! : n), (original, _) =>
        {
            if (original is StatementSyntax statement && nodes.TryGetValue(statement, out var gate))
                return Wrap(statement, gate);
            return WrapExpressionBody(original, nodes, model, cancellationToken);
        });
        return await Formatter.FormatAsync(document.WithSyntaxRoot(newRoot), Formatter.Annotation, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private static LockStatementSyntax Wrap(StatementSyntax statement, ExpressionSyntax gate)
    {
        var inner = statement.WithoutLeadingTrivia().WithoutTrailingTrivia();
        return SyntaxFactory.LockStatement(gate, SyntaxFactory.Block(inner))
            .WithLeadingTrivia(statement.GetLeadingTrivia())
            .WithTrailingTrivia(statement.GetTrailingTrivia())
            .WithAdditionalAnnotations(Formatter.Annotation);
    }

    private static SyntaxNode WrapExpressionBody(SyntaxNode member, Dictionary<SyntaxNode, ExpressionSyntax> nodes, SemanticModel model, CancellationToken cancellationToken)
    {
        switch (member)
        {
            case MethodDeclarationSyntax { ExpressionBody: { } arrow } method when nodes.TryGetValue(arrow, out var gate):
                var returnsValue = model.GetDeclaredSymbol(method, cancellationToken) is IMethodSymbol { ReturnsVoid: false };
                return method.WithExpressionBody(null).WithSemicolonToken(default)
                    .WithBody(Body(arrow.Expression, returnsValue, gate))
                    .WithAdditionalAnnotations(Formatter.Annotation);
            case AccessorDeclarationSyntax { ExpressionBody: { } arrow } accessor when nodes.TryGetValue(arrow, out var gate):
                var returns = accessor.IsKind(SyntaxKind.GetAccessorDeclaration);
                return accessor.WithExpressionBody(null).WithSemicolonToken(default)
                    .WithBody(Body(arrow.Expression, returns, gate))
                    .WithAdditionalAnnotations(Formatter.Annotation);
            case PropertyDeclarationSyntax { ExpressionBody: { } arrow } property when nodes.TryGetValue(arrow, out var gate):
                return property.WithExpressionBody(null).WithSemicolonToken(default)
                    .WithAccessorList(GetterOnly(Body(arrow.Expression, returnsValue: true, gate)))
                    .WithAdditionalAnnotations(Formatter.Annotation);
            case IndexerDeclarationSyntax { ExpressionBody: { } arrow } indexer when nodes.TryGetValue(arrow, out var gate):
                return indexer.WithExpressionBody(null).WithSemicolonToken(default)
                    .WithAccessorList(GetterOnly(Body(arrow.Expression, returnsValue: true, gate)))
                    .WithAdditionalAnnotations(Formatter.Annotation);
            default:
                return member;
        }
    }

    private static AccessorListSyntax GetterOnly(BlockSyntax body)
        => SyntaxFactory.AccessorList(SyntaxFactory.SingletonList(SyntaxFactory.AccessorDeclaration(SyntaxKind.GetAccessorDeclaration, body)));

    private static BlockSyntax Body(ExpressionSyntax expression, bool returnsValue, ExpressionSyntax gate)
    {
        StatementSyntax statement = returnsValue
            ? SyntaxFactory.ReturnStatement(expression.WithoutTrivia())
            : SyntaxFactory.ExpressionStatement(expression.WithoutTrivia());
        return SyntaxFactory.Block(SyntaxFactory.LockStatement(gate, SyntaxFactory.Block(statement)));
    }

    /// <summary>The lock as an expression at the target: the field's simple name where that name means the field there;
    /// else a static field or a locked type qualified by its type as the target's scope can name it
    /// (<c>TraceInternal.critSec</c>, <c>typeof(Outer.Inner)</c>), an instance field by <c>this.</c>.</summary>
    private static ExpressionSyntax LockExpression(string text, string? ownerId, SyntaxNode at, SemanticModel model)
    {
        var expression = SyntaxFactory.ParseExpression(text);
        var owner = ownerId is null ? null : DocumentationCommentId.GetFirstSymbolForDeclarationId(ownerId, model.Compilation) as INamedTypeSymbol;
        if (expression is TypeOfExpressionSyntax && owner is not null)
            return SyntaxFactory.TypeOfExpression(SyntaxFactory.ParseTypeName(owner.ToMinimalDisplayString(model, at.SpanStart)));
        if (expression is not IdentifierNameSyntax name)
            return expression;
        var found = model.LookupSymbols(at.SpanStart, name: name.Identifier.ValueText);
        if (owner is not null)
        {
            var field = owner.GetMembers(name.Identifier.ValueText).OfType<IFieldSymbol>().FirstOrDefault();
            return found.Length == 1 && SymbolEqualityComparer.Default.Equals(found[0], field)
                ? expression
                : SyntaxFactory.MemberAccessExpression(SyntaxKind.SimpleMemberAccessExpression, SyntaxFactory.ParseTypeName(owner.ToMinimalDisplayString(model, at.SpanStart)), name);
        }

        return found.Length == 1 && found[0] is IFieldSymbol
            ? expression
            : SyntaxFactory.MemberAccessExpression(SyntaxKind.SimpleMemberAccessExpression, SyntaxFactory.ThisExpression(), name);
    }
}
