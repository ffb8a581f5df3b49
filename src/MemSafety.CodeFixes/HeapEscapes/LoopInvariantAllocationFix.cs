using System.Collections.Generic;
using System.Collections.Immutable;
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

namespace MemSafety.CodeFixes.HeapEscapes;

/// <summary>
/// MSA1009: moves the declaration, unchanged, to just before the loop, and puts a reset where it was
/// (<c>Array.Clear(x, 0, x.Length);</c> for arrays, <c>x.Clear();</c> for collections and builders), so each
/// iteration still starts from an empty/zeroed object. A small hoisted array can then be made a
/// <c>stackalloc</c> by MSA1001's fix. Offered only when the name can move to the outer block unambiguously.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(LoopInvariantAllocationFix)), Shared]
public sealed class LoopInvariantAllocationFix : MemSafetyCodeFix
{
    public LoopInvariantAllocationFix()
        : base(RuleIdentifiers.LoopInvariantAllocation)
    {
    }

    /// <summary>All hoists of a document in one edit: the batch fixer merges text changes and drops all but one
    /// of several declarations inserted before the same loop, which left the rest for a second Fix All.</summary>
    public override FixAllProvider GetFixAllProvider() => FixAllProvider.Create(
        async (context, document, diagnostics) => await FixAsync(document, diagnostics, context.CancellationToken).ConfigureAwait(false));

    private protected override Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
    {
        if (Locate(request.Root, diagnostic) is not null)
            request.Register("Create it once before the loop", ct => FixAsync(request.Document, ImmutableArray.Create(diagnostic), ct), diagnostic);
        return Task.CompletedTask;
    }

    private static (LocalDeclarationStatementSyntax Declaration, StatementSyntax Loop)? Locate(SyntaxNode root, Diagnostic diagnostic)
    {
        if (diagnostic.AdditionalLocations.Count == 0)
            return null;
        var creation = root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true);
        var declaration = creation.FirstAncestorOrSelf<LocalDeclarationStatementSyntax>();
        var loop = root.FindNode(diagnostic.AdditionalLocations[0].SourceSpan, getInnermostNodeForTie: true) as StatementSyntax;
        if (declaration is null || loop is null || loop.Parent is not BlockSyntax outer || declaration.Declaration.Variables.Count != 1)
            return null;

        // The hoisted name must not meet another declaration or use of the same name in the outer block
        // (CS0136/CS0841), other than its own declaration and uses inside the loop.
        var name = declaration.Declaration.Variables[0].Identifier.ValueText;
        foreach (var token in outer.DescendantTokens())
        {
            if (!token.IsKind(SyntaxKind.IdentifierToken) || token.ValueText != name)
                continue;
            if (!loop.Span.Contains(token.Span))
                return null;
            var parent = token.Parent;
            var declaresAnother = parent is VariableDeclaratorSyntax or SingleVariableDesignationSyntax or ForEachStatementSyntax or ParameterSyntax
                                  or LocalFunctionStatementSyntax or CatchDeclarationSyntax
                                  && parent != declaration.Declaration.Variables[0];
            if (declaresAnother)
                return null;
        }

        return (declaration, loop);
    }

    private static async Task<Document> FixAsync(Document document, ImmutableArray<Diagnostic> diagnostics, CancellationToken cancellationToken)
    {
        var fixDocument = await FixDocument.ReadAsync(document, cancellationToken).ConfigureAwait(false);
        var model = fixDocument.Model;
        var lineBreak = await fixDocument.LineBreakAsync(cancellationToken).ConfigureAwait(false);
        DocumentEditor? editor = null;
        var moved = new HashSet<LocalDeclarationStatementSyntax>();
        foreach (var diagnostic in diagnostics.OrderBy(d => d.Location.SourceSpan.Start))
        {
            if (Locate(fixDocument.Root, diagnostic) is not var (declaration, loop) || !moved.Add(declaration))
                continue;
            var name = declaration.Declaration.Variables[0].Identifier.ValueText;

            string reset;
            if (diagnostic.Properties.TryGetValue(LoopInvariantAllocationAnalyzer.ResetProperty, out var kind) && kind == "ArrayClear")
            {
                var array = ArrayIsSystemArray(model, declaration.SpanStart) ? "Array" : "System.Array";
                reset = $"{array}.Clear({name}, 0, {name}.Length);";
            }
            else
            {
                reset = $"{name}.Clear();";
            }

            var indentation = loop.GetLeadingTrivia().LastOrDefault(t => t.IsKind(SyntaxKind.WhitespaceTrivia));
            var hoisted = declaration
                .WithLeadingTrivia(indentation == default ? SyntaxTriviaList.Empty : SyntaxFactory.TriviaList(indentation))
                .WithTrailingTrivia(SyntaxFactory.EndOfLine(lineBreak));
            var resetStatement = SyntaxFactory.ParseStatement(reset).WithTriviaFrom(declaration);

            editor ??= await DocumentEditor.CreateAsync(document, cancellationToken).ConfigureAwait(false);
            editor.InsertBefore(loop, hoisted);
            editor.ReplaceNode(declaration, resetStatement);
        }

        return editor is null ? document : editor.GetChangedDocument();
    }

    private static bool ArrayIsSystemArray(SemanticModel model, int position)
    {
        foreach (var symbol in model.LookupNamespacesAndTypes(position, name: "Array"))
        {
            if (symbol is INamedTypeSymbol { SpecialType: SpecialType.System_Array })
                return true;
        }

        return false;
    }
}
