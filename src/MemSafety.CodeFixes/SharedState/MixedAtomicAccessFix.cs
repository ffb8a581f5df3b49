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
/// MSA6003: <c>_f = v;</c> becomes <c>Volatile.Write(ref _f, v);</c> (a release store, atomic for every type it takes),
/// or <c>Interlocked.Exchange(ref _f, v);</c> for <c>long</c>, <c>ulong</c> and <c>double</c> (atomic in a 32-bit
/// process too, where <c>Volatile.Write</c> of 64 bits need not be). Offered only for a store used as a statement
/// (Exchange returns the old value, an assignment the new one) of a type those methods take.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(MixedAtomicAccessFix)), Shared]
public sealed class MixedAtomicAccessFix : MemSafetyCodeFix
{
    public MixedAtomicAccessFix()
        : base(RuleIdentifiers.MixedAtomicAccess)
    {
    }

    public override FixAllProvider GetFixAllProvider() => FixAllProvider.Create(async (context, document, diagnostics) =>
    {
        var targets = new List<(TextSpan Span, string Call)>();
        foreach (var diagnostic in diagnostics)
        {
            if (diagnostic.Properties.TryGetValue(MixedAtomicAccessAnalyzer.FixProperty, out var call) && call is not null)
                targets.Add((diagnostic.Location.SourceSpan, call));
        }

        return targets.Count == 0 ? document : await RewriteAsync(document, targets, context.CancellationToken).ConfigureAwait(false);
    });

    private protected override Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
    {
        if (!diagnostic.Properties.TryGetValue(MixedAtomicAccessAnalyzer.FixProperty, out var call) || call is null || Store(request.Root, diagnostic.Location.SourceSpan) is null)
            return Task.CompletedTask;
        var document = request.Document;
        request.Register($"Use {call}", ct => RewriteAsync(document, new[] { (diagnostic.Location.SourceSpan, call) }, ct), diagnostic);
        return Task.CompletedTask;
    }

    private static AssignmentExpressionSyntax? Store(SyntaxNode root, TextSpan span)
        => root.FullSpan.Contains(span)
            ? root.FindNode(span, getInnermostNodeForTie: true).AncestorsAndSelf().OfType<AssignmentExpressionSyntax>().FirstOrDefault(n => n.Span == span)
            : null;

    private static async Task<Document> RewriteAsync(Document document, IReadOnlyList<(TextSpan Span, string Call)> targets, CancellationToken cancellationToken)
    {
        var root = (await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false))!;
        var calls = new Dictionary<SyntaxNode, string>();
        foreach (var (span, call) in targets)
        {
            if (Store(root, span) is { } store)
                calls[store] = call;
        }

        if (calls.Count == 0)
            return document;
        root = root.ReplaceNodes(calls.Keys, (original, rewritten) =>
        {
            var assignment = (AssignmentExpressionSyntax)rewritten;
            var parts = calls[original].Split('.');
            var owner = SyntaxFactory.ParseExpression("global::System.Threading." + parts[0])
                .WithAdditionalAnnotations(Simplifier.Annotation, Simplifier.AddImportsAnnotation);
            var invocation = SyntaxFactory.InvocationExpression(
                SyntaxFactory.MemberAccessExpression(SyntaxKind.SimpleMemberAccessExpression, owner, SyntaxFactory.IdentifierName(parts[1])),
                SyntaxFactory.ArgumentList(SyntaxFactory.SeparatedList(new[]
                {
                    SyntaxFactory.Argument(assignment.Left.WithoutTrivia()).WithRefKindKeyword(SyntaxFactory.Token(SyntaxKind.RefKeyword).WithTrailingTrivia(SyntaxFactory.Space)),
                    SyntaxFactory.Argument(assignment.Right.WithoutTrivia()),
                })));
            return invocation.WithTriviaFrom(original);
        });
        document = document.WithSyntaxRoot(root);
        document = await ImportAdder.AddImportsAsync(document, Simplifier.AddImportsAnnotation, cancellationToken: cancellationToken).ConfigureAwait(false);
        return await Simplifier.ReduceAsync(document, Simplifier.Annotation, cancellationToken: cancellationToken).ConfigureAwait(false);
    }
}
