using System.Collections.Generic;
using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.HeapEscapes;
using MemSafety.Analyzers.Infrastructure;
using MemSafety.CodeFixes.Infrastructure;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Editing;
using Microsoft.CodeAnalysis.Simplification;
using Microsoft.CodeAnalysis.Text;
using static Microsoft.CodeAnalysis.CSharp.SyntaxFactory;

namespace MemSafety.CodeFixes.HeapEscapes;

/// <summary>
/// MSA1006: builds the string in a <c>System.Text.StringBuilder</c>. Before the loop,
/// <c>var sBuilder = new StringBuilder(s);</c> (empty when <c>s</c> provably starts as ""); in the loop,
/// each append becomes <c>sBuilder.Append(piece)</c>, one call per concatenated piece; after the loop,
/// <c>s = sBuilder.ToString();</c>, so every later read of <c>s</c> is unchanged. Offered only where
/// the analyzer proved the rewrite keeps behaviour (see <see cref="StringConcatInLoopAnalyzer.FixableProperty"/>).
/// Fix All rewrites a whole document at once, in source order, so it produces exactly what fixing the
/// diagnostics one by one does.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(StringConcatInLoopFix)), Shared]
public sealed class StringConcatInLoopFix : CodeFixProvider
{
    internal const string EquivalenceKey = RuleIdentifiers.StringConcatInLoop;

    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(RuleIdentifiers.StringConcatInLoop);

    public override FixAllProvider GetFixAllProvider()
        => FixAllProvider.Create((context, document, diagnostics) => FixAsync(document, diagnostics, context.CancellationToken));

    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        SyntaxNode? root = null;
        SemanticModel? model = null;
        foreach (var diagnostic in context.Diagnostics)
        {
            if (!IsFixable(diagnostic))
                continue;

            // Offer the action only when the rewrite can be planned here (the code may have changed).
            root ??= await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
            model ??= await context.Document.GetSemanticModelAsync(context.CancellationToken).ConfigureAwait(false);
            if (root is null || model is null
                || CreatePlan(root, model, diagnostic, new Dictionary<SyntaxNode, HashSet<string>>(), context.CancellationToken) is not { } plan)
            {
                continue;
            }

            context.RegisterCodeFix(
                CodeAction.Create(
                    $"Build '{plan.Variable.ValueText}' with a StringBuilder",
                    async ct => await FixAsync(context.Document, ImmutableArray.Create(diagnostic), ct).ConfigureAwait(false) ?? context.Document,
                    EquivalenceKey),
                diagnostic);
        }
    }

    private static bool IsFixable(Diagnostic diagnostic)
        => diagnostic.Properties.TryGetValue(StringConcatInLoopAnalyzer.FixableProperty, out var value) && value == "true"
           && diagnostic.AdditionalLocations.Count >= 1;

    /// <summary>One loop to rewrite for one variable.</summary>
    private sealed class Plan
    {
        public Plan(StatementSyntax loop, SyntaxToken variable, string builderName, bool startsEmpty, TypeSyntax builderType, List<(AssignmentExpressionSyntax Append, List<ExpressionSyntax> Pieces)> appends)
        {
            BuilderType = builderType;
            Loop = loop;
            Variable = variable;
            BuilderName = builderName;
            StartsEmpty = startsEmpty;
            Appends = appends;
        }

        public StatementSyntax Loop { get; }
        public SyntaxToken Variable { get; }
        public string BuilderName { get; }
        public bool StartsEmpty { get; }
        public TypeSyntax BuilderType { get; }
        public List<(AssignmentExpressionSyntax Append, List<ExpressionSyntax> Pieces)> Appends { get; }
    }

    private static async Task<Document?> FixAsync(Document document, ImmutableArray<Diagnostic> diagnostics, CancellationToken cancellationToken)
    {
        var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        var model = await document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false);
        var text = await document.GetTextAsync(cancellationToken).ConfigureAwait(false);
        if (root is null || model is null)
            return null;

        // Plan every rewrite against the original tree, in source order (the order one-by-one fixing takes).
        var usedNames = new Dictionary<SyntaxNode, HashSet<string>>();
        var plans = new List<Plan>();
        foreach (var diagnostic in diagnostics.Where(IsFixable).OrderBy(d => d.Location.SourceSpan.Start))
        {
            if (CreatePlan(root, model, diagnostic, usedNames, cancellationToken) is { } plan)
                plans.Add(plan);
        }

        if (plans.Count == 0)
            return null;

        var tracked = new List<SyntaxNode>();
        foreach (var plan in plans)
        {
            tracked.Add(plan.Loop);
            foreach (var (append, pieces) in plan.Appends)
            {
                tracked.Add(append);
                tracked.AddRange(pieces);
            }
        }

        var lineBreak = TriviaEditing.LineBreak(text);
        var newRoot = root.TrackNodes(tracked);
        foreach (var plan in plans)
            newRoot = Apply(newRoot, plan, lineBreak);

        var result = document.WithSyntaxRoot(newRoot);
        if (!newRoot.GetAnnotatedNodes(Simplifier.AddImportsAnnotation).Any())
            return result;
        result = await ImportAdder.AddImportsAsync(result, Simplifier.AddImportsAnnotation, cancellationToken: cancellationToken).ConfigureAwait(false);
        return await Simplifier.ReduceAsync(result, Simplifier.Annotation, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private static Plan? CreatePlan(SyntaxNode root, SemanticModel model, Diagnostic diagnostic, Dictionary<SyntaxNode, HashSet<string>> usedNames, CancellationToken cancellationToken)
    {
        if (root.FindToken(diagnostic.AdditionalLocations[0].SourceSpan.Start).Parent is not StatementSyntax loop
            || loop is not (ForStatementSyntax or CommonForEachStatementSyntax or WhileStatementSyntax or DoStatementSyntax))
        {
            return null;
        }

        var appendLocations = new List<Location> { diagnostic.Location };
        for (var i = 1; i < diagnostic.AdditionalLocations.Count; i++)
            appendLocations.Add(diagnostic.AdditionalLocations[i]);

        ISymbol? variable = null;
        SyntaxToken variableToken = default;
        var appends = new List<(AssignmentExpressionSyntax, List<ExpressionSyntax>)>();
        var pieces = new List<IOperation>();
        foreach (var location in appendLocations)
        {
            if (root.FindNode(location.SourceSpan) is not AssignmentExpressionSyntax assignment
                || model.GetOperation(assignment, cancellationToken) is not { } operation
                || StringAppend.Target(operation) is not { } target
                || variable is not null && !SymbolEqualityComparer.Default.Equals(variable, target))
            {
                return null;
            }

            if (variable is null)
            {
                variable = target;
                if (assignment.Left is not IdentifierNameSyntax identifier)
                    return null;
                variableToken = identifier.Identifier;
            }

            pieces.Clear();
            StringAppend.CollectPieces(operation, pieces);
            var syntaxPieces = new List<ExpressionSyntax>(pieces.Count);
            foreach (var piece in pieces)
            {
                if (StringAppend.Natural(piece).Syntax is not ExpressionSyntax expression)
                    return null;
                syntaxPieces.Add(expression);
            }

            appends.Add((assignment, syntaxPieces));
        }

        if (variable is null)
            return null;

        var scope = (SyntaxNode?)loop.Ancestors().FirstOrDefault(a => a is MemberDeclarationSyntax and not GlobalStatementSyntax) ?? root;
        if (!usedNames.TryGetValue(scope, out var used))
            usedNames[scope] = used = new HashSet<string>();
        var name = BuilderName(variable.Name + "Builder", loop, scope, model, used);
        used.Add(name);

        var startsEmpty = diagnostic.Properties.TryGetValue(StringConcatInLoopAnalyzer.StartsEmptyProperty, out var empty) && empty == "true";
        return new Plan(loop, variableToken.WithoutTrivia(), name, startsEmpty, BuilderType(model, loop.SpanStart), appends);
    }

    /// <summary><c>StringBuilder</c> where that already names System.Text.StringBuilder; where nothing
    /// by that name is visible, the qualified name marked for adding <c>using System.Text;</c> and
    /// simplifying; where it names another type, the qualified name.</summary>
    private static TypeSyntax BuilderType(SemanticModel model, int position)
    {
        var visible = model.LookupNamespacesAndTypes(position, name: "StringBuilder");
        var qualified = ParseTypeName("System.Text.StringBuilder");
        if (visible.IsEmpty)
            return qualified.WithAdditionalAnnotations(Simplifier.Annotation, Simplifier.AddImportsAnnotation);
        if (visible.Length == 1 && visible[0] is INamedTypeSymbol { Arity: 0, ContainingNamespace: { Name: "Text", ContainingNamespace: { Name: "System", ContainingNamespace.IsGlobalNamespace: true } } })
            return IdentifierName("StringBuilder");
        return qualified;
    }

    /// <summary>The first of <c>base</c>, <c>base2</c>, … that names nothing visible at the loop and no
    /// identifier anywhere in the member (so it cannot clash with or shadow a local declared later).</summary>
    private static string BuilderName(string baseName, SyntaxNode loop, SyntaxNode scope, SemanticModel model, HashSet<string> used)
    {
        var identifiers = new HashSet<string>();
        foreach (var token in scope.DescendantTokens())
        {
            if (token.IsKind(SyntaxKind.IdentifierToken))
                identifiers.Add(token.ValueText);
        }

        for (var suffix = 1; ; suffix++)
        {
            var candidate = suffix == 1 ? baseName : baseName + suffix.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (!identifiers.Contains(candidate) && !used.Contains(candidate)
                && SyntaxFacts.GetKeywordKind(candidate) == SyntaxKind.None
                && model.LookupSymbols(loop.SpanStart, name: candidate).IsEmpty)
            {
                return candidate;
            }
        }
    }

    private static SyntaxNode Apply(SyntaxNode root, Plan plan, string lineBreak)
    {
        // 1. Each append becomes builder.Append(a).Append(b)…, keeping the statement's trivia.
        foreach (var (append, pieces) in plan.Appends)
        {
            var current = root.GetCurrentNode(append);
            if (current is null)
                continue;
            var currentPieces = pieces.Select(p => root.GetCurrentNode(p) ?? p).ToList();
            var comments = CommentsBeforePieces(current, currentPieces, lineBreak);
            // Built as text and parsed, so no elastic trivia invites a formatter to move things around.
            var text = new StringBuilder(plan.BuilderName);
            for (var i = 0; i < currentPieces.Count; i++)
            {
                text.Append(".Append(");
                foreach (var comment in comments[i])
                    text.Append(comment.ToFullString());
                text.Append(Trim(currentPieces[i]).ToFullString()).Append(')');
            }

            var call = ParseExpression(text.ToString());
            root = root.ReplaceNode(current, call.WithTriviaFrom(current));
        }

        // 2. The builder before the loop, the string assigned back after it.
        var loop = root.GetCurrentNode(plan.Loop);
        if (loop is null)
            return root;
        SyntaxNode anchor = loop.Parent is GlobalStatementSyntax global ? global : loop;

        var firstToken = anchor.GetFirstToken();
        var startsLine = firstToken.LeadingTrivia.Any(SyntaxKind.EndOfLineTrivia)
                         || firstToken.GetPreviousToken().TrailingTrivia.Any(SyntaxKind.EndOfLineTrivia)
                         || firstToken.GetPreviousToken().IsKind(SyntaxKind.None);
        var indentation = Indentation(firstToken.LeadingTrivia);
        var endsLine = anchor.GetLastToken().TrailingTrivia.Any(SyntaxKind.EndOfLineTrivia);

        var argument = plan.StartsEmpty ? string.Empty : plan.Variable.Text;
        var declaration = ParseStatement($"var {plan.BuilderName} = new {plan.BuilderType}({argument});");
        if (plan.BuilderType.HasAnnotation(Simplifier.AddImportsAnnotation)
            && declaration.DescendantNodes().OfType<ObjectCreationExpressionSyntax>().FirstOrDefault() is { } creation)
        {
            declaration = declaration.ReplaceNode(creation.Type, creation.Type.WithAdditionalAnnotations(Simplifier.Annotation, Simplifier.AddImportsAnnotation));
        }
        var assignBack = ParseStatement($"{plan.Variable.Text} = {plan.BuilderName}.ToString();");

        // The loop's leading trivia (blank lines, comments, directives) moves above the builder.
        var loopLeading = startsLine ? TriviaList(Whitespace(indentation)) : TriviaList();
        declaration = declaration
            .WithLeadingTrivia(firstToken.LeadingTrivia)
            .WithTrailingTrivia(startsLine ? EndOfLine(lineBreak) : Space);
        // On one line with more code (`{ foreach (…) s += x; }`), the statements join it, space-separated.
        var lastToken = anchor.GetLastToken();
        assignBack = assignBack
            .WithLeadingTrivia(endsLine ? TriviaList(Whitespace(indentation)) : TriviaList())
            .WithTrailingTrivia(endsLine ? TriviaList(EndOfLine(lineBreak)) : lastToken.TrailingTrivia);
        var newAnchor = anchor.WithLeadingTrivia(loopLeading);
        if (!endsLine)
            newAnchor = newAnchor.WithTrailingTrivia(Space);

        if (anchor is GlobalStatementSyntax)
        {
            root = root.ReplaceNode(anchor, newAnchor);
            anchor = root.GetCurrentNode(plan.Loop)!.Parent!;
            root = root.InsertNodesBefore(anchor, new[] { GlobalStatement(declaration) });
            anchor = root.GetCurrentNode(plan.Loop)!.Parent!;
            return root.InsertNodesAfter(anchor, new[] { GlobalStatement(assignBack) });
        }

        root = root.ReplaceNode(anchor, newAnchor);
        root = root.InsertNodesBefore(root.GetCurrentNode(plan.Loop)!, new[] { declaration });
        return root.InsertNodesAfter(root.GetCurrentNode(plan.Loop)!, new[] { assignBack });
    }

    /// <summary>Comments inside the append but outside its pieces (<c>s += /* why */ x</c>, on the
    /// operators the rewrite drops), each list for the piece it precedes.</summary>
    private static List<List<SyntaxTrivia>> CommentsBeforePieces(SyntaxNode append, List<ExpressionSyntax> pieces, string lineBreak)
    {
        var result = pieces.Select(_ => new List<SyntaxTrivia>()).ToList();
        foreach (var token in append.DescendantTokens())
        {
            if (pieces.Any(p => p.FullSpan.Contains(token.Span)))
                continue;
            foreach (var trivia in token.LeadingTrivia.Concat(token.TrailingTrivia))
            {
                if (!append.Span.Contains(trivia.Span) || !(trivia.IsKind(SyntaxKind.SingleLineCommentTrivia) || trivia.IsKind(SyntaxKind.MultiLineCommentTrivia)))
                    continue;
                var index = pieces.FindIndex(p => p.SpanStart >= trivia.Span.End);
                if (index < 0)
                    continue;
                result[index].Add(trivia);
                result[index].Add(trivia.IsKind(SyntaxKind.SingleLineCommentTrivia) ? EndOfLine(lineBreak) : Space);
            }
        }

        return result;
    }

    /// <summary>The whitespace that starts the line the trivia ends on.</summary>
    private static string Indentation(SyntaxTriviaList leading)
    {
        var indentation = string.Empty;
        foreach (var trivia in leading)
        {
            if (trivia.IsKind(SyntaxKind.EndOfLineTrivia))
                indentation = string.Empty;
            else if (trivia.IsKind(SyntaxKind.WhitespaceTrivia))
                indentation = trivia.ToString();
        }

        return indentation;
    }

    /// <summary>A piece without the whitespace and line breaks around it (comments stay).</summary>
    private static ExpressionSyntax Trim(ExpressionSyntax piece)
        => piece.WithLeadingTrivia(TrimWhitespace(piece.GetLeadingTrivia()))
                .WithTrailingTrivia(TrimWhitespace(piece.GetTrailingTrivia()));

    private static SyntaxTriviaList TrimWhitespace(SyntaxTriviaList trivia)
    {
        var kept = trivia.Where(t => !t.IsKind(SyntaxKind.WhitespaceTrivia) && !t.IsKind(SyntaxKind.EndOfLineTrivia)).ToList();
        return kept.Count == trivia.Count ? trivia : TriviaList(kept);
    }
}
