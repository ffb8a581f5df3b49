using System.Collections.Generic;
using System.Composition;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Provenance;
using MemSafety.Analyzers.Rules.UnsafePointers;
using MemSafety.CodeFixes.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Formatting;

namespace MemSafety.CodeFixes.UnsafePointers;

/// <summary>
/// MSA5001: moves the statements that use a pinned pointer after its fixed block into the block, so the object stays
/// pinned while they run (<see cref="FixedWidening"/> decides when that is legal). Pointers returned, stored into
/// fields or captured get no fix: keeping an object pinned beyond the method needs an owner of a pinned GCHandle,
/// a design decision left to the author.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(PinnedPointerEscapeFix)), Shared]
public sealed class PinnedPointerEscapeFix : MemSafetyCodeFix
{
    public PinnedPointerEscapeFix()
        : base(RuleIdentifiers.PinnedPointerEscape)
    {
    }

    private protected override async Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
    {
        if (diagnostic.AdditionalLocations.Count == 0)
            return;
        if (request.Root.FindNode(diagnostic.AdditionalLocations[0].SourceSpan).FirstAncestorOrSelf<FixedStatementSyntax>() is not { } statement)
            return;
        var model = await request.GetSemanticModelAsync().ConfigureAwait(false);
        if (statement.Declaration.Variables.Count == 0
            || model.GetOperation(statement.Declaration.Variables[0], request.CancellationToken) is not { } operation
            || PointerProvenance.Of(operation, request.CancellationToken) is not { } provenance)
        {
            return;
        }

        var last = FixedWidening.LastStatementToInclude(statement, provenance);
        if (last < 0)
            return;
        var document = request.Document;
        request.Register("Widen the fixed block over the uses of its pointer", ct => WidenAsync(document, statement, last, ct), diagnostic, RuleIdentifiers.PinnedPointerEscape);
    }

    private static async Task<Document> WidenAsync(Document document, FixedStatementSyntax statement, int last, CancellationToken cancellationToken)
    {
        var root = (await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false))!;
        var block = (BlockSyntax)statement.Parent!;
        var statements = block.Statements;
        var index = statements.IndexOf(statement);
        var body = new List<StatementSyntax>();
        if (statement.Statement is BlockSyntax existing)
            body.AddRange(existing.Statements);
        else
            body.Add(statement.Statement);
        // A one-line block ({ q = p; }) leaves its last statement without a line break before the moved ones.
        if (body.Count > 0 && !body[body.Count - 1].GetTrailingTrivia().Any(SyntaxKind.EndOfLineTrivia))
            body[body.Count - 1] = body[body.Count - 1].WithTrailingTrivia(SyntaxFactory.ElasticEndOfLine(LineBreak(root)));
        for (var i = index + 1; i <= last; i++)
            body.Add(statements[i]);
        var newBody = statement.Statement is BlockSyntax old
            ? old.WithStatements(SyntaxFactory.List(body))
            : SyntaxFactory.Block(body);
        var widened = statement.WithStatement(newBody.WithAdditionalAnnotations(Formatter.Annotation));
        var rebuilt = new List<StatementSyntax>();
        for (var i = 0; i < statements.Count; i++)
        {
            if (i == index)
                rebuilt.Add(widened);
            else if (i < index || i > last)
                rebuilt.Add(statements[i]);
        }

        var newRoot = root.ReplaceNode(block, block.WithStatements(SyntaxFactory.List(rebuilt)));
        return await Formatter.FormatAsync(document.WithSyntaxRoot(newRoot), Formatter.Annotation, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private static string LineBreak(SyntaxNode root)
    {
        foreach (var trivia in root.DescendantTrivia())
        {
            if (trivia.IsKind(SyntaxKind.EndOfLineTrivia))
                return trivia.ToString();
        }

        return "\n";
    }
}
