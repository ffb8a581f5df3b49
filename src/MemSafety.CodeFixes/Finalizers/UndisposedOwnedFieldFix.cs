using System.Collections.Generic;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Disposal;
using MemSafety.Analyzers.Rules.Finalizers;
using MemSafety.CodeFixes.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Formatting;
using Microsoft.CodeAnalysis.Text;

namespace MemSafety.CodeFixes.Finalizers;

/// <summary>
/// MSA4007: disposes the field where the type's disposal runs: <c>_f?.Dispose();</c> at the end of the
/// <c>if (disposing)</c> block of <c>Dispose(bool)</c> (a new one at the end when there is none), else at the end of
/// <c>Dispose()</c>, and <c>await _f.DisposeAsync();</c> at the end of an <c>async DisposeAsync()</c> that does not go
/// through <c>Dispose()</c> (<see cref="OwnedFieldDisposal.Sites"/>). An expression body becomes a block. Fix All adds
/// every field of a type to the same methods, in declaration order.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(UndisposedOwnedFieldFix)), Shared]
public sealed class UndisposedOwnedFieldFix : MemSafetyCodeFix
{
    public UndisposedOwnedFieldFix()
        : base(RuleIdentifiers.UndisposedOwnedField)
    {
    }

    public override FixAllProvider GetFixAllProvider() => FixAllProvider.Create(async (context, document, diagnostics) =>
    {
        var spans = new List<TextSpan>();
        foreach (var diagnostic in diagnostics)
        {
            if (diagnostic.Properties.ContainsKey(UndisposedOwnedFieldAnalyzer.CanFixProperty))
                spans.Add(diagnostic.Location.SourceSpan);
        }

        return spans.Count == 0 ? document : await DisposeFieldsAsync(document, spans, context.CancellationToken).ConfigureAwait(false);
    });

    private protected override async Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
    {
        if (!diagnostic.Properties.ContainsKey(UndisposedOwnedFieldAnalyzer.CanFixProperty) || node.FirstAncestorOrSelf<VariableDeclaratorSyntax>() is not { } declarator)
            return;
        var model = await request.GetSemanticModelAsync().ConfigureAwait(false);
        if (model.GetDeclaredSymbol(declarator, request.CancellationToken) is not IFieldSymbol field
            || Plan(new DisposableTypes(model.Compilation), field, request.CancellationToken) is not { Count: > 0 } sites)
        {
            return;
        }

        foreach (var site in sites)
        {
            if (site.Method.DeclaringSyntaxReferences[0].SyntaxTree != declarator.SyntaxTree)
                return;
        }

        var document = request.Document;
        var span = diagnostic.Location.SourceSpan;
        request.Register($"Dispose '{field.Name}' in {OwnedFieldDisposal.DisplayName(sites[0].Method)}", ct => DisposeFieldsAsync(document, new[] { span }, ct), diagnostic);
    }

    private static List<DisposeSite>? Plan(DisposableTypes disposal, IFieldSymbol field, CancellationToken cancellationToken)
    {
        var declared = DisposedFields.DisposeMethodsDeclaredBy(disposal, field.ContainingType);
        if (OwnedFieldDisposal.EditableMethods(declared, disposal.Compilation, cancellationToken) is not { } editable)
            return null;
        return OwnedFieldDisposal.Sites(editable, disposal.IsDisposable(field.Type), disposal.IsAsyncDisposable(field.Type), cancellationToken);
    }

    private static async Task<Document> DisposeFieldsAsync(Document document, IReadOnlyList<TextSpan> fieldSpans, CancellationToken cancellationToken)
    {
        var read = await FixDocument.ReadAsync(document, cancellationToken).ConfigureAwait(false);
        var (root, model) = read;
        var lineBreak = SyntaxFactory.ElasticEndOfLine(await read.LineBreakAsync(cancellationToken).ConfigureAwait(false));
        var disposal = new DisposableTypes(model.Compilation);
        var languageVersion = ((CSharpParseOptions)root.SyntaxTree.Options).LanguageVersion;

        // Every field to dispose, per method that disposes it, in declaration order.
        var fields = new List<(IFieldSymbol Field, int Position)>();
        foreach (var span in fieldSpans)
        {
            if (root.FindNode(span, getInnermostNodeForTie: true).FirstAncestorOrSelf<VariableDeclaratorSyntax>() is { } declarator
                && model.GetDeclaredSymbol(declarator, cancellationToken) is IFieldSymbol field)
            {
                fields.Add((field, declarator.SpanStart));
            }
        }

        fields.Sort((a, b) => a.Position.CompareTo(b.Position));
        var edits = new Dictionary<MethodDeclarationSyntax, (DisposeSiteKind Kind, List<IFieldSymbol> Fields)>();
        foreach (var (field, _) in fields)
        {
            if (Plan(disposal, field, cancellationToken) is not { } sites)
                continue;
            foreach (var site in sites)
            {
                var reference = site.Method.DeclaringSyntaxReferences[0];
                if (reference.SyntaxTree != root.SyntaxTree || root.FindNode(reference.Span) is not MethodDeclarationSyntax method)
                    continue;
                if (!edits.TryGetValue(method, out var edit))
                    edits[method] = edit = (site.Kind, new List<IFieldSymbol>());
                edit.Fields.Add(field);
            }
        }

        if (edits.Count == 0)
            return document;
        var newRoot = root.ReplaceNodes(edits.Keys, (original, _) =>
        {
            var (kind, disposed) = edits[original];
            var statements = new List<StatementSyntax>();
            foreach (var field in disposed)
                statements.Add(DisposeStatement(field, kind, original, model, disposal, languageVersion));
            return Rewrite(original, kind, statements, lineBreak).WithAdditionalAnnotations(Formatter.Annotation);
        });
        return await Formatter.FormatAsync(document.WithSyntaxRoot(newRoot), Formatter.Annotation, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private static StatementSyntax DisposeStatement(IFieldSymbol field, DisposeSiteKind kind, MethodDeclarationSyntax method, SemanticModel model, DisposableTypes disposal, LanguageVersion languageVersion)
    {
        // "this." only where a local or parameter of the method hides the field.
        var position = method.Body?.OpenBraceToken.Span.End ?? method.ExpressionBody!.Expression.SpanStart;
        var visible = model.LookupSymbols(position, name: field.Name);
        var name = visible.Length == 1 && SymbolEqualityComparer.Default.Equals(visible[0].OriginalDefinition, field.OriginalDefinition)
            ? field.Name
            : "this." + field.Name;
        if (kind != DisposeSiteKind.DisposeAsync || !disposal.IsAsyncDisposable(field.Type))
            return SyntaxFactory.ParseStatement($"{name}?.Dispose();");
        var configure = method.ToString().Contains(".ConfigureAwait(false)") ? ".ConfigureAwait(false)" : string.Empty;
        var call = $"await {name}.DisposeAsync(){configure};";
        if (field.IsReadOnly && field.DeclaringSyntaxReferences[0].GetSyntax() is VariableDeclaratorSyntax { Initializer: not null })
            return SyntaxFactory.ParseStatement(call);
        var test = languageVersion >= LanguageVersion.CSharp9 ? $"{name} is not null" : $"{name} != null";
        return SyntaxFactory.IfStatement(SyntaxFactory.ParseExpression(test), SyntaxFactory.ParseStatement(call));
    }

    private static MethodDeclarationSyntax Rewrite(MethodDeclarationSyntax method, DisposeSiteKind kind, List<StatementSyntax> statements, SyntaxTrivia lineBreak)
    {
        var block = method.Body;
        if (block is null)
        {
            // An expression body becomes a block holding its expression.
            var arrow = method.ExpressionBody!;
            block = SyntaxFactory.Block(SyntaxFactory.ExpressionStatement(arrow.Expression.WithoutTrivia()))
                .WithTrailingTrivia(method.SemicolonToken.TrailingTrivia);
            method = method
                .WithParameterList(method.ParameterList.WithTrailingTrivia(lineBreak))
                .WithExpressionBody(null)
                .WithSemicolonToken(default)
                .WithBody(block);
        }

        if (kind != DisposeSiteKind.DisposeBool)
            return method.WithBody(Append(block, statements, lineBreak));

        var disposing = method.ParameterList.Parameters[0].Identifier.ValueText;
        var guard = block.DescendantNodes(n => n is not (AnonymousFunctionExpressionSyntax or LocalFunctionStatementSyntax))
            .OfType<IfStatementSyntax>()
            .FirstOrDefault(s => s.Condition is IdentifierNameSyntax identifier && identifier.Identifier.ValueText == disposing);
        if (guard is null)
        {
            var added = SyntaxFactory.IfStatement(SyntaxFactory.IdentifierName(disposing), SyntaxFactory.Block(OnOwnLines(statements, lineBreak)));
            return method.WithBody(Append(block, new List<StatementSyntax> { added }, lineBreak));
        }

        var body = guard.Statement is BlockSyntax inner
            ? Append(inner, statements, lineBreak)
            : SyntaxFactory.Block(OnOwnLines(new[] { guard.Statement.WithoutTrivia() }.Concat(statements), lineBreak));
        return method.WithBody(block.ReplaceNode(guard, guard.WithStatement(body.WithAdditionalAnnotations(Formatter.Annotation))));
    }

    /// <summary>Appends the statements to the block, each on a line of its own when the block's last statement ends
    /// its line (a block written on one line stays on one line).</summary>
    private static BlockSyntax Append(BlockSyntax block, List<StatementSyntax> statements, SyntaxTrivia lineBreak)
    {
        var last = block.Statements.LastOrDefault();
        var ownLines = last is null
            ? block.OpenBraceToken.TrailingTrivia.Any(t => t.IsKind(SyntaxKind.EndOfLineTrivia))
            : last.GetTrailingTrivia().Any(t => t.IsKind(SyntaxKind.EndOfLineTrivia));
        return block.AddStatements((ownLines ? OnOwnLines(statements, lineBreak) : statements).ToArray());
    }

    private static IEnumerable<StatementSyntax> OnOwnLines(IEnumerable<StatementSyntax> statements, SyntaxTrivia lineBreak)
        => statements.Select(s => s.WithLeadingTrivia(SyntaxFactory.ElasticMarker).WithTrailingTrivia(lineBreak));
}
