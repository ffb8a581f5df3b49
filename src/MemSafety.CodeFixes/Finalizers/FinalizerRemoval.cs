using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.CodeFixes.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace MemSafety.CodeFixes.Finalizers;

/// <summary>
/// Deletes a finalizer with its comments and, when the caller has decided that nothing is left for them to
/// suppress, the <c>GC.SuppressFinalize(this);</c> statements of the type's own members in every partial part
/// (shared by MSA4001 and MSA4005, whose rules differ on when the calls may go).
/// </summary>
internal static class FinalizerRemoval
{
    public static async Task<Solution> RemoveAsync(Document document, DestructorDeclarationSyntax declaration, bool removeSuppressFinalize, CancellationToken cancellationToken)
    {
        var model = await document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false);
        var type = model?.GetDeclaredSymbol(declaration, cancellationToken)?.ContainingType;

        // Documents to edit, with the nodes to remove from each.
        var removals = new Dictionary<DocumentId, List<SyntaxNode>> { [document.Id] = new() { declaration } };
        if (type is not null && removeSuppressFinalize)
        {
            foreach (var reference in type.DeclaringSyntaxReferences)
            {
                var part = document.Project.Solution.GetDocument(reference.SyntaxTree);
                if (part is null)
                    continue;
                var partModel = part.Id == document.Id ? model : await part.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false);
                var node = await reference.GetSyntaxAsync(cancellationToken).ConfigureAwait(false);
                foreach (var statement in SuppressFinalizeCalls(node, partModel!, cancellationToken))
                {
                    if (!removals.TryGetValue(part.Id, out var list))
                        removals[part.Id] = list = new List<SyntaxNode>();
                    list.Add(statement);
                }
            }
        }

        var solution = document.Project.Solution;
        foreach (var pair in removals)
        {
            var current = solution.GetDocument(pair.Key)!;
            var root = (await current.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false))!;

            // Remove the later nodes first, so earlier spans stay valid.
            foreach (var node in pair.Value.OrderByDescending(n => n.SpanStart))
                root = TriviaEditing.RemoveWithAttachedTrivia(root, node);
            solution = solution.WithDocumentSyntaxRoot(pair.Key, root);
        }

        return solution;
    }

    /// <summary><c>GC.SuppressFinalize(this);</c> statements in the type's own members (nested types
    /// have their own <c>this</c>), only where removing the statement leaves valid code (in a block).</summary>
    private static IEnumerable<StatementSyntax> SuppressFinalizeCalls(SyntaxNode typeDeclaration, SemanticModel model, CancellationToken cancellationToken)
    {
        foreach (var node in typeDeclaration.DescendantNodes(n => n == typeDeclaration || n is not BaseTypeDeclarationSyntax))
        {
            if (node is ExpressionStatementSyntax
                {
                    Parent: BlockSyntax,
                    Expression: InvocationExpressionSyntax { ArgumentList.Arguments: { Count: 1 } arguments } invocation,
                } statement
                && arguments[0].Expression is ThisExpressionSyntax
                && model.GetSymbolInfo(invocation, cancellationToken).Symbol is IMethodSymbol
                {
                    Name: "SuppressFinalize",
                    ContainingType: { Name: "GC", ContainingNamespace: { Name: "System", ContainingNamespace.IsGlobalNamespace: true } },
                })
            {
                yield return statement;
            }
        }
    }
}
