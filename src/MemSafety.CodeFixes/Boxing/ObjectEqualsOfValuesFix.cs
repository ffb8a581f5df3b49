using System.Collections.Immutable;
using System.Composition;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.Boxing;
using MemSafety.Analyzers.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Simplification;

namespace MemSafety.CodeFixes.Boxing;

/// <summary>MSA2005: <c>object.Equals(a, b)</c> → <c>a == b</c> (enums) or <c>a.Equals(b)</c> (BCL IEquatable
/// types). Both keep the evaluation order (a, then b); parentheses are added where needed and the
/// simplifier removes the ones that are not.</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(ObjectEqualsOfValuesFix)), Shared]
public sealed class ObjectEqualsOfValuesFix : CodeFixProvider
{
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(RuleIdentifiers.ObjectEqualsOfValues);

    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root?.FindNode(context.Span, getInnermostNodeForTie: true) is not InvocationExpressionSyntax { ArgumentList.Arguments.Count: 2 })
            return;
        foreach (var diagnostic in context.Diagnostics)
        {
            if (!diagnostic.Properties.TryGetValue(ObjectEqualsOfValuesAnalyzer.RewriteProperty, out var rewrite) || rewrite is null)
                continue;
            var title = rewrite == "Operator" ? "Compare with '=='" : "Call Equals on the value";
            context.RegisterCodeFix(CodeAction.Create(title, ct => FixAsync(context.Document, diagnostic, rewrite, ct), RuleIdentifiers.ObjectEqualsOfValues), diagnostic);
        }
    }

    private static async Task<Document> FixAsync(Document document, Diagnostic diagnostic, string rewrite, CancellationToken cancellationToken)
    {
        var root = (await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false))!;
        var call = (InvocationExpressionSyntax)root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true);
        var left = Parenthesize(call.ArgumentList.Arguments[0].Expression.WithoutTrivia());
        var right = call.ArgumentList.Arguments[1].Expression.WithoutTrivia();
        ExpressionSyntax replacement = rewrite == "Operator"
            ? SyntaxFactory.BinaryExpression(SyntaxKind.EqualsExpression, left, Parenthesize(right))
            : SyntaxFactory.InvocationExpression(
                SyntaxFactory.MemberAccessExpression(SyntaxKind.SimpleMemberAccessExpression, left, SyntaxFactory.IdentifierName("Equals")),
                SyntaxFactory.ArgumentList(SyntaxFactory.SingletonSeparatedList(SyntaxFactory.Argument(right))));
        replacement = SyntaxFactory.ParenthesizedExpression(replacement)
            .WithAdditionalAnnotations(Simplifier.Annotation)
            .WithTriviaFrom(call);
        var changed = document.WithSyntaxRoot(root.ReplaceNode(call, replacement));
        return await Simplifier.ReduceAsync(changed, Simplifier.Annotation, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private static ExpressionSyntax Parenthesize(ExpressionSyntax expression)
        => SyntaxFactory.ParenthesizedExpression(expression).WithAdditionalAnnotations(Simplifier.Annotation);
}
