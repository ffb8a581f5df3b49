using System.Collections.Generic;
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
using Microsoft.CodeAnalysis.Editing;
using Microsoft.CodeAnalysis.Simplification;
using Microsoft.CodeAnalysis.Text;

namespace MemSafety.CodeFixes.SharedState;

/// <summary>
/// MSA6002: performs the update with the <c>Interlocked</c> method that does the same thing in one atomic step:
/// <c>x++</c> → <c>Interlocked.Increment(ref x)</c>, <c>x += n</c> → <c>Interlocked.Add(ref x, n)</c>, <c>x -= n</c> →
/// <c>Interlocked.Add(ref x, -n)</c>, <c>x |= m</c> → <c>Interlocked.Or(ref x, m)</c>. The analyzer decides where this is
/// exact (int, long, uint, ulong with an overload in the target framework; not in a checked context, where the original
/// throws on overflow and Interlocked wraps; a postfix or an Or/And only where its value is not used, since Interlocked
/// returns the new value, and Or/And the old one); elsewhere no fix is offered.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(NonAtomicUpdateFix)), Shared]
public sealed class NonAtomicUpdateFix : MemSafetyCodeFix
{
    public NonAtomicUpdateFix()
        : base(RuleIdentifiers.NonAtomicUpdate)
    {
    }

    public override FixAllProvider GetFixAllProvider() => FixAllProvider.Create(async (context, document, diagnostics) =>
    {
        var root = await document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null)
            return document;
        var targets = new List<(TextSpan Span, string Method)>();
        foreach (var diagnostic in diagnostics)
        {
            if (diagnostic.Properties.TryGetValue(NonAtomicUpdateAnalyzer.InterlockedProperty, out var method) && method is not null)
                targets.Add((diagnostic.Location.SourceSpan, method));
        }

        return targets.Count == 0 ? document : await RewriteAsync(document, targets, context.CancellationToken).ConfigureAwait(false);
    });

    private protected override Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
    {
        if (!diagnostic.Properties.TryGetValue(NonAtomicUpdateAnalyzer.InterlockedProperty, out var method) || method is null)
            return Task.CompletedTask;
        if (Update(request.Root, diagnostic.Location.SourceSpan) is null)
            return Task.CompletedTask;
        var name = method == "AddNegated" ? "Add" : method;
        var document = request.Document;
        request.Register($"Use Interlocked.{name}", ct => RewriteAsync(document, new[] { (diagnostic.Location.SourceSpan, method) }, ct), diagnostic);
        return Task.CompletedTask;
    }

    private static ExpressionSyntax? Update(SyntaxNode root, TextSpan span)
    {
        if (!root.FullSpan.Contains(span))
            return null;
        return root.FindNode(span, getInnermostNodeForTie: true).AncestorsAndSelf()
            .FirstOrDefault(n => n.Span == span && n is PostfixUnaryExpressionSyntax or PrefixUnaryExpressionSyntax or AssignmentExpressionSyntax) as ExpressionSyntax;
    }

    private static async Task<Document> RewriteAsync(Document document, IReadOnlyList<(TextSpan Span, string Method)> targets, CancellationToken cancellationToken)
    {
        var root = (await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false))!;
        var replacements = new Dictionary<SyntaxNode, SyntaxNode>();
        foreach (var (span, method) in targets)
        {
            if (Update(root, span) is { } update && Rewrite(update, method) is { } call)
                replacements[update] = call.WithTriviaFrom(update);
        }

        if (replacements.Count == 0)
            return document;
        root = root.ReplaceNodes(replacements.Keys, (original, rewritten) =>
        {
            // An update nested in another (x += y++) keeps its own rewrite inside the outer one.
            if (Rewrite((ExpressionSyntax)rewritten, Method(targets, original)) is { } call)
                return call.WithTriviaFrom(original);
            return rewritten;
        });
        document = document.WithSyntaxRoot(root);
        document = await ImportAdder.AddImportsAsync(document, Simplifier.AddImportsAnnotation, cancellationToken: cancellationToken).ConfigureAwait(false);
        return await Simplifier.ReduceAsync(document, Simplifier.Annotation, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private static string Method(IReadOnlyList<(TextSpan Span, string Method)> targets, SyntaxNode original)
    {
        foreach (var (span, method) in targets)
        {
            if (span == original.Span)
                return method;
        }

        return string.Empty;
    }

    private static ExpressionSyntax? Rewrite(ExpressionSyntax update, string method)
    {
        ExpressionSyntax? target;
        ExpressionSyntax? value = null;
        switch (update)
        {
            case PostfixUnaryExpressionSyntax postfix:
                target = postfix.Operand;
                break;
            case PrefixUnaryExpressionSyntax prefix:
                target = prefix.Operand;
                break;
            case AssignmentExpressionSyntax assignment:
                target = assignment.Left;
                value = assignment.Right.WithoutTrivia();
                break;
            default:
                return null;
        }

        var name = method;
        if (method == "AddNegated")
        {
            if (value is null)
                return null;
            name = "Add";
            var operand = value is LiteralExpressionSyntax or IdentifierNameSyntax or MemberAccessExpressionSyntax or InvocationExpressionSyntax or ElementAccessExpressionSyntax
                ? value
                : SyntaxFactory.ParenthesizedExpression(value);
            value = SyntaxFactory.PrefixUnaryExpression(SyntaxKind.UnaryMinusExpression, operand);
        }

        var arguments = new List<ArgumentSyntax>
        {
            SyntaxFactory.Argument(target.WithoutTrivia()).WithRefKindKeyword(SyntaxFactory.Token(SyntaxKind.RefKeyword).WithTrailingTrivia(SyntaxFactory.Space)),
        };
        if (value is not null)
            arguments.Add(SyntaxFactory.Argument(value));
        var interlocked = SyntaxFactory.ParseExpression("global::System.Threading.Interlocked")
            .WithAdditionalAnnotations(Simplifier.Annotation, Simplifier.AddImportsAnnotation);
        return SyntaxFactory.InvocationExpression(
            SyntaxFactory.MemberAccessExpression(SyntaxKind.SimpleMemberAccessExpression, interlocked, SyntaxFactory.IdentifierName(name)),
            SyntaxFactory.ArgumentList(SyntaxFactory.SeparatedList(arguments)))
            .NormalizeWhitespace();
    }
}
