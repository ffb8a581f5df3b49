using System.Collections.Generic;
using System.Composition;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Bodies;
using MemSafety.Analyzers.Rules.Closures;
using MemSafety.CodeFixes.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;
using Microsoft.CodeAnalysis.Text;

namespace MemSafety.CodeFixes.Closures;

/// <summary>
/// MSA3006: gives the long-lived lambda copies of what it captures, declared in a new block around the statement that
/// stores (subscribes, returns) it. The copies belong to the block's scope, so the lambda gets a display class of its
/// own holding only them, and no longer references the display class with the large variable. Offered only where
/// <see cref="ImplicitCapture.IsolatableStatement"/> is set (no captured variable is ever reassigned, so the copies
/// always hold the same values).
/// </summary>
[ExportCodeFixProvider(Microsoft.CodeAnalysis.LanguageNames.CSharp, Name = nameof(ImplicitCaptureKeepsAliveFix)), Shared]
public sealed class ImplicitCaptureKeepsAliveFix : MemSafetyCodeFix
{
    public ImplicitCaptureKeepsAliveFix()
        : base(RuleIdentifiers.ImplicitCaptureKeepsAlive)
    {
    }

    private protected override Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
    {
        if (!CaptureCopies.TryParseSpan(diagnostic.Properties, ImplicitCaptureKeepsAliveAnalyzer.StatementProperty, out var statement))
            return Task.CompletedTask;
        var document = request.Document;
        var lambda = diagnostic.Location.SourceSpan;
        request.Register("Let the lambda capture copies of its own", ct => FixAsync(document, lambda, statement, ct), diagnostic);
        return Task.CompletedTask;
    }

    private static async Task<Document> FixAsync(Document document, TextSpan lambdaSpan, TextSpan statementSpan, CancellationToken cancellationToken)
    {
        var (root, model) = await FixDocument.ReadAsync(document, cancellationToken).ConfigureAwait(false);
        if (root.FindNode(statementSpan, getInnermostNodeForTie: true) is not StatementSyntax statement || statement.Span != statementSpan
            || root.FindNode(lambdaSpan, getInnermostNodeForTie: true) is not { } lambdaSyntax
            || model.GetOperation(lambdaSyntax, cancellationToken) is not IAnonymousFunctionOperation lambda
            || model.GetOperation(statement, cancellationToken) is not { } statementOperation)
            return document;
        if (lambda.Parent is not IDelegateCreationOperation)
            return document;

        // The analyzer's decision again, on this document.
        var body = BodyFacts.Of(lambda);
        if (statementOperation.Parent is not IBlockOperation || !statement.Span.Contains(lambda.Syntax.Span))
            return document;
        var variables = new List<ISymbol>(body.CapturedBy(lambda));
        if (variables.Count == 0 || body.CapturesThis(lambda) || body.LocalFunctionsUsedBy(lambda).Count > 0)
            return document;
        foreach (var variable in variables)
        {
            if (body.IsWritten(variable))
                return document;
        }

        var rewritten = CaptureCopies.Rewrite(statement, model, body, variables, new IOperation[] { lambda }, out var copies);
        return document.WithSyntaxRoot(root.ReplaceNode(statement, CaptureCopies.Block(copies, rewritten)));
    }
}
