using System.Composition;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.Finalizers;
using MemSafety.Analyzers.Core;
using MemSafety.CodeFixes.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;

namespace MemSafety.CodeFixes.Finalizers;

/// <summary>
/// MSA4001: deletes an empty finalizer, and the <c>GC.SuppressFinalize(this)</c> calls it leaves
/// pointless. Those calls are only removed when the type is sealed and no base type declares a
/// finalizer: otherwise a derived or base finalizer still depends on them. A finalizer that only calls
/// <c>[Conditional]</c> methods (a debug-build leak detector) is kept for the builds that compile those
/// calls: it is wrapped in <c>#if SYMBOL</c> instead.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(EmptyFinalizerFix)), Shared]
public sealed class EmptyFinalizerFix : MemSafetyCodeFix
{
    // One key for both rewrites, so Fix All (and `dotnet format`) applies each where it belongs.
    internal const string EquivalenceKey = RuleIdentifiers.EmptyFinalizer;

    public EmptyFinalizerFix()
        : base(RuleIdentifiers.EmptyFinalizer)
    {
    }

    private protected override Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
    {
        if (node.FirstAncestorOrSelf<DestructorDeclarationSyntax>() is not { } declaration)
            return Task.CompletedTask;
        var document = request.Document;
        if (diagnostic.Properties.TryGetValue(EmptyFinalizerAnalyzer.ConditionalSymbolsProperty, out var condition) && condition is not null)
            request.Register($"Compile the finalizer only under '{condition}'", ct => WrapInConditionalAsync(document, declaration, condition, ct), diagnostic, EquivalenceKey);
        else
            request.Register("Remove the empty finalizer", ct => RemoveAsync(document, declaration, ct), diagnostic, EquivalenceKey);
        return Task.CompletedTask;
    }

    private static async Task<Document> WrapInConditionalAsync(Document document, DestructorDeclarationSyntax declaration, string condition, CancellationToken cancellationToken)
    {
        var text = await document.GetTextAsync(cancellationToken).ConfigureAwait(false);
        var lineBreak = TriviaEditing.LineBreak(text);

        // Doc comments and attributes above the finalizer go inside the #if with it.
        var start = declaration.SpanStart;
        foreach (var trivia in declaration.GetLeadingTrivia())
        {
            if (!trivia.IsKind(SyntaxKind.WhitespaceTrivia) && !trivia.IsKind(SyntaxKind.EndOfLineTrivia))
            {
                start = trivia.SpanStart;
                break;
            }
        }

        var startLine = text.Lines.GetLineFromPosition(start);
        var endLine = text.Lines.GetLineFromPosition(declaration.Span.End);
        var endHasBreak = endLine.EndIncludingLineBreak > endLine.End;
        var changes = new[]
        {
            new TextChange(new TextSpan(startLine.Start, 0), "#if " + condition + lineBreak),
            endHasBreak
                ? new TextChange(new TextSpan(endLine.EndIncludingLineBreak, 0), "#endif" + lineBreak)
                : new TextChange(new TextSpan(endLine.End, 0), lineBreak + "#endif" + lineBreak),
        };
        return document.WithText(text.WithChanges(changes));
    }

    private static async Task<Solution> RemoveAsync(Document document, DestructorDeclarationSyntax declaration, CancellationToken cancellationToken)
    {
        var model = await document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false);
        var type = model?.GetDeclaredSymbol(declaration, cancellationToken)?.ContainingType;
        var removeSuppressFinalize = type is not null && type.IsSealed && EmptyFinalizerAnalyzer.BaseFinalizerOwner(type) is null;
        return await FinalizerRemoval.RemoveAsync(document, declaration, removeSuppressFinalize, cancellationToken).ConfigureAwait(false);
    }
}
