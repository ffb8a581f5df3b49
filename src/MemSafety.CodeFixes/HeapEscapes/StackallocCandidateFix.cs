using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.HeapEscapes;
using MemSafety.Analyzers.Core;
using MemSafety.CodeFixes.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Editing;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.CodeFixes.HeapEscapes;

/// <summary>
/// MSA1001: <c>var b = new byte[16];</c> → <c>Span&lt;byte&gt; b = stackalloc byte[16];</c>, and every use
/// that the analyzer approved moved to its span form (<c>stream.Read(b, 0, b.Length)</c> →
/// <c>stream.Read(b)</c>, <c>BitConverter.ToInt32(b, 4)</c> → <c>BitConverter.ToInt32(b.Slice(4))</c>,
/// <c>Array.Fill(b, x)</c> → <c>b.Fill(x)</c>, …). Under [SkipLocalsInit] stackalloc memory is not zeroed
/// while <c>new T[N]</c> is, so the fix then adds <c>b.Clear();</c>. It never introduces pointers or unsafe code.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(StackallocCandidateFix)), Shared]
public sealed class StackallocCandidateFix : MemSafetyCodeFix
{
    public StackallocCandidateFix()
        : base(RuleIdentifiers.StackallocCandidate)
    {
    }

    private protected override Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
    {
        if (node is ArrayCreationExpressionSyntax or ImplicitArrayCreationExpressionSyntax)
            request.Register("Allocate with stackalloc into a Span", ct => FixAsync(request.Document, diagnostic, ct), diagnostic);
        return Task.CompletedTask;
    }

    private static async Task<Document> FixAsync(Document document, Diagnostic diagnostic, CancellationToken cancellationToken)
    {
        var (root, model) = await FixDocument.ReadAsync(document, cancellationToken).ConfigureAwait(false);
        var creationSyntax = (ExpressionSyntax)root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true);
        if (model.GetOperation(creationSyntax, cancellationToken) is not IArrayCreationOperation creation
            || creation.Parent is not IVariableInitializerOperation { Parent: IVariableDeclaratorOperation declarator }
            || creationSyntax.FirstAncestorOrSelf<LocalDeclarationStatementSyntax>() is not { } statement)
        {
            return document;
        }

        var local = declarator.Symbol;
        var uses = SpanUses.Classify(local, creation.Root(), creation.FunctionOf(local.ContainingSymbol));
        if (uses is null)
            return document;

        var element = ((IArrayTypeSymbol)creation.Type!).ElementType;
        var elementText = element.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat);
        var editor = await DocumentEditor.CreateAsync(document, cancellationToken).ConfigureAwait(false);

        // The declaration: Span<T> x = stackalloc T[N] / stackalloc T[] { … }.
        var rank = creationSyntax is ArrayCreationExpressionSyntax explicitCreation ? explicitCreation.Type.RankSpecifiers[0].ToString() : "[]";
        var initializer = creationSyntax switch
        {
            ArrayCreationExpressionSyntax { Initializer: { } init } => " " + init.ToString(),
            ImplicitArrayCreationExpressionSyntax implicitCreation => " " + implicitCreation.Initializer.ToString(),
            _ => string.Empty,
        };
        var stackAllocation = SyntaxFactory.ParseExpression($"stackalloc {elementText}{rank}{initializer}").WithTriviaFrom(creationSyntax);
        editor.ReplaceNode(creationSyntax, stackAllocation);
        editor.ReplaceNode(statement.Declaration.Type,
            SyntaxFactory.ParseTypeName($"Span<{elementText}>").WithTriviaFrom(statement.Declaration.Type));

        if (diagnostic.Properties.ContainsKey(StackallocCandidateAnalyzer.SkipLocalsInitProperty))
        {
            var clear = SyntaxFactory.ParseStatement($"{local.Name}.Clear();")
                .WithLeadingTrivia(statement.GetLeadingTrivia().Where(t => t.IsKind(SyntaxKind.WhitespaceTrivia)))
                .WithTrailingTrivia(statement.GetTrailingTrivia());
            editor.InsertAfter(statement, clear);
        }

        foreach (var use in uses)
        {
            if (use.Rewrite != SpanRewrite.None && use.Operation.Syntax is ExpressionSyntax call)
                editor.ReplaceNode(call, SpanCallRewriter.Rewrite(use, local).WithTriviaFrom(call));
        }

        var newRoot = editor.GetChangedRoot();
        if (newRoot is CompilationUnitSyntax unit && !SpanInScope(model, statement.SpanStart))
            newRoot = unit.AddUsings(SyntaxFactory.UsingDirective(SyntaxFactory.ParseName("System")).WithTrailingTrivia(SyntaxFactory.ElasticCarriageReturnLineFeed));
        return document.WithSyntaxRoot(newRoot);
    }

    private static bool SpanInScope(SemanticModel model, int position)
    {
        foreach (var symbol in model.LookupNamespacesAndTypes(position, name: "Span"))
        {
            if (symbol is INamedTypeSymbol { Arity: 1, ContainingNamespace.Name: "System" })
                return true;
        }

        return false;
    }
}
