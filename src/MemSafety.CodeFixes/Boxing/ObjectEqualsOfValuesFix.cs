using System.Composition;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.Boxing;
using MemSafety.Analyzers.Core;
using MemSafety.CodeFixes.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Simplification;

namespace MemSafety.CodeFixes.Boxing;

/// <summary>MSA2005: <c>object.Equals(a, b)</c> → <c>a == b</c> (enums) or <c>a.Equals(b)</c> (BCL IEquatable
/// types). Both keep the evaluation order (a, then b); parentheses are added where needed and the
/// simplifier removes the ones that are not.</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(ObjectEqualsOfValuesFix)), Shared]
public sealed class ObjectEqualsOfValuesFix : MemSafetyCodeFix
{
    public ObjectEqualsOfValuesFix()
        : base(RuleIdentifiers.ObjectEqualsOfValues)
    {
    }

    private protected override Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
    {
        if (node is InvocationExpressionSyntax { ArgumentList.Arguments.Count: 2 }
            && diagnostic.Properties.TryGetValue(ObjectEqualsOfValuesAnalyzer.RewriteProperty, out var rewrite) && rewrite is not null)
        {
            var title = rewrite == "Operator" ? "Compare with '=='" : "Call Equals on the value";
            request.Register(title, ct => FixAsync(request.Document, diagnostic, rewrite, ct), diagnostic);
        }

        return Task.CompletedTask;
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
        // Comments between the arguments (the arguments keep the ones inside them) go before the comparison.
        var comments = TriviaEditing.DroppedComments(call, call.ArgumentList.Arguments[0].Expression, call.ArgumentList.Arguments[1].Expression);
        replacement = SyntaxFactory.ParenthesizedExpression(replacement)
            .WithAdditionalAnnotations(Simplifier.Annotation)
            .WithLeadingTrivia(call.GetLeadingTrivia().AddRange(comments))
            .WithTrailingTrivia(call.GetTrailingTrivia());
        var changed = document.WithSyntaxRoot(root.ReplaceNode(call, replacement));
        return await Simplifier.ReduceAsync(changed, Simplifier.Annotation, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private static ExpressionSyntax Parenthesize(ExpressionSyntax expression)
        => SyntaxFactory.ParenthesizedExpression(expression).WithAdditionalAnnotations(Simplifier.Annotation);
}
