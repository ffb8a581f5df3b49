using System.Collections.Generic;
using System.Collections.Immutable;
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

namespace MemSafety.CodeFixes.Finalizers;

/// <summary>
/// MSA4006, MSA4008: declares the local with <c>using</c> (<c>await using</c> for an async-disposable type in an async
/// method), so it is disposed when its block ends, on every path. Before C# 8 the rest of the block moves into a
/// <c>using (…) { … }</c> statement instead (not offered when that rest declares a local function or a label, which
/// the move would hide from the code before it). The analyzer decides whether the rewrite keeps behaviour (the
/// <see cref="UndisposedLocalAnalyzer.UsingProperty"/> property): one write, no explicit disposal or hand-off anywhere.
/// Fix All rewrites a document's declarations from the last to the first, so nested <c>using</c> blocks compose.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(UndisposedLocalFix)), Shared]
public sealed class UndisposedLocalFix : MemSafetyCodeFix
{
    public UndisposedLocalFix()
        : base(RuleIdentifiers.UndisposedLocal, RuleIdentifiers.DisposableDroppedInLoop)
    {
    }

    public override FixAllProvider GetFixAllProvider() => FixAllProvider.Create(FixAllAsync);

    private protected override Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
    {
        if (Target(diagnostic, node) is not { } target)
            return Task.CompletedTask;
        var (statement, awaitUsing) = target;
        var document = request.Document;
        request.Register(
            awaitUsing ? "Declare it with 'await using'" : "Declare it with 'using'",
            async ct =>
            {
                var root = await document.GetSyntaxRootAsync(ct).ConfigureAwait(false);
                return document.WithSyntaxRoot(Rewrite(root!, statement, awaitUsing)!);
            },
            diagnostic,
            RuleIdentifiers.UndisposedLocal);
        return Task.CompletedTask;
    }

    /// <summary>The declaration to rewrite and its form, or null where no fix is offered.</summary>
    private static (LocalDeclarationStatementSyntax Statement, bool AwaitUsing)? Target(Diagnostic diagnostic, SyntaxNode node)
    {
        if (!diagnostic.Properties.TryGetValue(UndisposedLocalAnalyzer.UsingProperty, out var form) || form is null
            || node.FirstAncestorOrSelf<LocalDeclarationStatementSyntax>() is not { Parent: BlockSyntax block } statement)
        {
            return null;
        }

        var awaitUsing = form == "await using";
        if (((CSharpParseOptions)statement.SyntaxTree.Options).LanguageVersion >= LanguageVersion.CSharp8)
            return (statement, awaitUsing);
        if (awaitUsing)
            return null;
        var index = block.Statements.IndexOf(statement);
        for (var i = index + 1; i < block.Statements.Count; i++)
        {
            if (block.Statements[i] is LocalFunctionStatementSyntax or LabeledStatementSyntax)
                return null;
        }

        return (statement, false);
    }

    /// <summary>The root with <paramref name="statement"/> declared with using; null when it is no longer in a block.</summary>
    private static SyntaxNode? Rewrite(SyntaxNode root, LocalDeclarationStatementSyntax statement, bool awaitUsing)
    {
        if (((CSharpParseOptions)statement.SyntaxTree.Options).LanguageVersion >= LanguageVersion.CSharp8)
        {
            var leading = statement.GetLeadingTrivia();
            var declared = statement.WithoutLeadingTrivia()
                .WithUsingKeyword(SyntaxFactory.Token(SyntaxKind.UsingKeyword).WithTrailingTrivia(SyntaxFactory.Space));
            if (awaitUsing)
                declared = declared.WithAwaitKeyword(SyntaxFactory.Token(SyntaxKind.AwaitKeyword).WithTrailingTrivia(SyntaxFactory.Space));
            return root.ReplaceNode(statement, declared.WithLeadingTrivia(leading));
        }

        if (statement.Parent is not BlockSyntax block)
            return null;
        var index = block.Statements.IndexOf(statement);
        var rest = new List<StatementSyntax>();
        for (var i = index + 1; i < block.Statements.Count; i++)
            rest.Add(block.Statements[i]);
        var usingStatement = SyntaxFactory.UsingStatement(
                statement.Declaration.WithoutTrivia(),
                null,
                SyntaxFactory.Block(rest))
            .WithLeadingTrivia(statement.GetLeadingTrivia())
            .WithTrailingTrivia(statement.GetTrailingTrivia())
            .WithAdditionalAnnotations(Formatter.Annotation);
        var statements = new List<StatementSyntax>();
        for (var i = 0; i < index; i++)
            statements.Add(block.Statements[i]);
        statements.Add(usingStatement);
        return root.ReplaceNode(block, block.WithStatements(SyntaxFactory.List(statements)));
    }

    private static async Task<Document?> FixAllAsync(FixAllContext context, Document document, ImmutableArray<Diagnostic> diagnostics)
    {
        var root = await document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null)
            return null;
        // Annotate every declaration first, then rewrite the last one first: an earlier using block then takes in the
        // rewritten statements after it.
        var targets = new List<(SyntaxAnnotation Annotation, bool AwaitUsing, int Start)>();
        var annotated = new Dictionary<SyntaxNode, SyntaxAnnotation>();
        foreach (var diagnostic in diagnostics)
        {
            var node = root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true);
            if (Target(diagnostic, node) is not { } target || annotated.ContainsKey(target.Statement))
                continue;
            var annotation = new SyntaxAnnotation();
            annotated.Add(target.Statement, annotation);
            targets.Add((annotation, target.AwaitUsing, target.Statement.SpanStart));
        }

        if (targets.Count == 0)
            return null;
        root = root.ReplaceNodes(annotated.Keys, (original, rewritten) => rewritten.WithAdditionalAnnotations(annotated[original]));
        targets.Sort((a, b) => b.Start.CompareTo(a.Start));
        foreach (var (annotation, awaitUsing, _) in targets)
        {
            foreach (var node in root.GetAnnotatedNodes(annotation))
            {
                if (node is LocalDeclarationStatementSyntax statement && Rewrite(root, statement, awaitUsing) is { } rewritten)
                    root = rewritten;
                break;
            }
        }

        return document.WithSyntaxRoot(root);
    }
}
