using System.Composition;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Rules.Finalizers;
using MemSafety.CodeFixes.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Formatting;
using Microsoft.CodeAnalysis.Simplification;

namespace MemSafety.CodeFixes.Finalizers;

/// <summary>
/// MSA4002: appends <c>GC.SuppressFinalize(this);</c> to the end of the <c>Dispose</c> (an expression body becomes a
/// block), where the dispose pattern puts it: after the resources are released, so a <c>Dispose</c> that throws
/// leaves the object registered and the finalizer still runs as the backstop. Offered only where the analyzer found
/// that the end of the method covers every path that releases without it (no early <c>return</c> after releasing),
/// for a method returning void or an <c>async</c> one.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(MissingSuppressFinalizeFix)), Shared]
public sealed class MissingSuppressFinalizeFix : MemSafetyCodeFix
{
    public MissingSuppressFinalizeFix()
        : base(RuleIdentifiers.MissingSuppressFinalize)
    {
    }

    private protected override Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
    {
        if (!diagnostic.Properties.ContainsKey(MissingSuppressFinalizeAnalyzer.CanAppendProperty)
            || node.FirstAncestorOrSelf<MethodDeclarationSyntax>() is not { } declaration
            || (declaration.Body is null && declaration.ExpressionBody is null))
        {
            return Task.CompletedTask;
        }

        var document = request.Document;
        request.Register("Call GC.SuppressFinalize(this) at the end", ct => AppendAsync(document, declaration, ct), diagnostic);
        return Task.CompletedTask;
    }

    private static async Task<Document> AppendAsync(Document document, MethodDeclarationSyntax declaration, CancellationToken cancellationToken)
    {
        var root = (await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false))!;
        var call = SyntaxFactory.ParseStatement("global::System.GC.SuppressFinalize(this);")
            .WithAdditionalAnnotations(Simplifier.Annotation, Formatter.Annotation);
        MethodDeclarationSyntax rewritten;
        if (declaration.Body is { } body)
        {
            rewritten = declaration.WithBody(body.AddStatements(call));
        }
        else
        {
            var arrow = declaration.ExpressionBody!;
            var block = SyntaxFactory.Block(SyntaxFactory.ExpressionStatement(arrow.Expression.WithoutTrivia()), call)
                .WithTrailingTrivia(declaration.SemicolonToken.TrailingTrivia);
            rewritten = declaration
                .WithParameterList(declaration.ParameterList.WithTrailingTrivia(SyntaxFactory.ElasticCarriageReturnLineFeed))
                .WithExpressionBody(null)
                .WithSemicolonToken(default)
                .WithBody(block)
                .WithAdditionalAnnotations(Formatter.Annotation);
        }

        document = document.WithSyntaxRoot(root.ReplaceNode(declaration, rewritten));
        document = await Simplifier.ReduceAsync(document, Simplifier.Annotation, cancellationToken: cancellationToken).ConfigureAwait(false);
        return await Formatter.FormatAsync(document, Formatter.Annotation, cancellationToken: cancellationToken).ConfigureAwait(false);
    }
}
