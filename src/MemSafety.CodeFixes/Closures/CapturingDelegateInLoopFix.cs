using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Rules.Closures;
using MemSafety.CodeFixes.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;
using Microsoft.CodeAnalysis.Text;

namespace MemSafety.CodeFixes.Closures;

/// <summary>
/// MSA3002: creates the delegate once, in a local declared just before the loop, and uses the local where the lambda
/// was: <c>while (…) t += xs.Count(y =&gt; y &gt; limit);</c> becomes <c>Func&lt;int, bool&gt; predicate = y =&gt; y &gt; limit;
/// while (…) t += xs.Count(predicate);</c>. The lambda reads its captured variables through the same display class as
/// before, and none of them changes in the loop, so every call sees what it saw; the delegates the loop created were
/// equal to each other (same target, same method) and now are one. Offered only for what <see cref="LoopClosure"/>
/// approves (<see cref="LoopClosure.HoistBefore"/>), when the loop is a statement of a block and the delegate type can
/// be written.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(CapturingDelegateInLoopFix)), Shared]
public sealed class CapturingDelegateInLoopFix : MemSafetyCodeFix
{
    private const string Title = "Create the delegate once before the loop";

    public CapturingDelegateInLoopFix()
        : base(RuleIdentifiers.CapturingDelegateInLoop)
    {
    }

    /// <summary>Finds a lambda of the document again after earlier hoists in the same Fix All: each gets its own, and
    /// <see cref="Apply"/> carries them over to the copy of a hoisted lambda (which is parsed anew).</summary>
    private const string FixAllKind = "MemSafety.MSA3002.FixAll";

    /// <summary>Each hoist is planned on the document as the previous ones left it, in text order like fixing one at a
    /// time, so names stay unique and lambdas hoisted before the same loop keep their order. A lambda may lie in a loop
    /// of another reported lambda: hoisting the outer one moves it, and its annotation moves with it.</summary>
    public override FixAllProvider GetFixAllProvider() => FixAllProvider.Create(async (context, document, diagnostics) =>
    {
        var root = await document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null)
            return document;
        var lambdas = new System.Collections.Generic.Dictionary<SyntaxNode, SyntaxAnnotation>();
        foreach (var diagnostic in diagnostics)
        {
            if (!diagnostic.Properties.ContainsKey(CapturingDelegateInLoopAnalyzer.HoistProperty))
                continue;
            if (root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true) is AnonymousFunctionExpressionSyntax lambda && !lambdas.ContainsKey(lambda))
                lambdas.Add(lambda, new SyntaxAnnotation(FixAllKind));
        }

        if (lambdas.Count == 0)
            return document;

        // Annotate the rewritten node: it carries the annotation of a lambda nested in it, the original does not.
        var annotations = lambdas.OrderBy(pair => pair.Key.SpanStart).Select(pair => pair.Value).ToList();
        var current = document.WithSyntaxRoot(root.ReplaceNodes(lambdas.Keys, (original, rewritten) => rewritten.WithAdditionalAnnotations(lambdas[original])));
        foreach (var annotation in annotations)
        {
            var (currentRoot, model) = await FixDocument.ReadAsync(current, context.CancellationToken).ConfigureAwait(false);
            if (currentRoot.GetAnnotatedNodes(annotation).FirstOrDefault() is AnonymousFunctionExpressionSyntax lambda
                && Plan(model, lambda, context.CancellationToken) is { } plan)
            {
                current = current.WithSyntaxRoot(Apply(currentRoot, plan, await LineBreakAsync(current, context.CancellationToken).ConfigureAwait(false)));
            }
        }

        return current;
    });

    private protected override async Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
    {
        if (!diagnostic.Properties.ContainsKey(CapturingDelegateInLoopAnalyzer.HoistProperty) || node is not AnonymousFunctionExpressionSyntax lambda)
            return;
        var model = await request.GetSemanticModelAsync().ConfigureAwait(false);
        if (Plan(model, lambda, request.CancellationToken) is null)
            return;
        var document = request.Document;
        var span = lambda.Span;
        request.Register(Title, async ct =>
        {
            var (root, currentModel) = await FixDocument.ReadAsync(document, ct).ConfigureAwait(false);
            if (root.FindNode(span, getInnermostNodeForTie: true) is not AnonymousFunctionExpressionSyntax current || Plan(currentModel, current, ct) is not { } plan)
                return document;
            return document.WithSyntaxRoot(Apply(root, plan, await LineBreakAsync(document, ct).ConfigureAwait(false)));
        }, diagnostic);
    }

    private sealed class HoistPlan
    {
        public HoistPlan(AnonymousFunctionExpressionSyntax lambda, StatementSyntax loop, string type, string name)
        {
            Lambda = lambda;
            Loop = loop;
            Type = type;
            Name = name;
        }

        public AnonymousFunctionExpressionSyntax Lambda { get; }
        public StatementSyntax Loop { get; }
        public string Type { get; }
        public string Name { get; }
    }

    private static HoistPlan? Plan(SemanticModel model, AnonymousFunctionExpressionSyntax lambda, CancellationToken cancellationToken)
    {
        if (model.GetOperation(lambda, cancellationToken) is not IAnonymousFunctionOperation { Parent: IDelegateCreationOperation creation }
            || LoopClosure.Analyze(creation) is not { Kind: LoopClosureKind.DelegatePerIteration, HoistBefore: { } hoistBefore }
            || hoistBefore.Syntax is not StatementSyntax { Parent: BlockSyntax } loop
            || creation.Type is not { } type || !CanBeWritten(type))
        {
            return null;
        }

        var baseName = creation.Parent is IArgumentOperation { Parameter: { } parameter } && SyntaxFacts.IsValidIdentifier(parameter.Name)
                       && SyntaxFacts.GetKeywordKind(parameter.Name) == SyntaxKind.None
            ? parameter.Name
            : "callback";
        return new HoistPlan(lambda, loop, type.ToMinimalDisplayString(model, loop.SpanStart), UniqueName(model, loop, baseName));
    }

    /// <summary>A name that nothing in the member uses and that binds to nothing at the loop.</summary>
    private static string UniqueName(SemanticModel model, StatementSyntax loop, string baseName)
    {
        SyntaxNode member = loop.FirstAncestorOrSelf<MemberDeclarationSyntax>() ?? (SyntaxNode)loop.SyntaxTree.GetRoot();
        var used = new System.Collections.Generic.HashSet<string>(
            member.DescendantTokens().Where(t => t.IsKind(SyntaxKind.IdentifierToken)).Select(t => t.ValueText), System.StringComparer.Ordinal);
        for (var i = 1; ; i++)
        {
            var candidate = i == 1 ? baseName : baseName + i;
            if (!used.Contains(candidate) && model.LookupSymbols(loop.SpanStart, name: candidate).IsEmpty)
                return candidate;
        }
    }

    /// <summary>Whether the type can be spelled in source: no anonymous types (nor the compiler's anonymous delegate
    /// types) or error types anywhere in it.</summary>
    private static bool CanBeWritten(ITypeSymbol type) => type switch
    {
        IErrorTypeSymbol => false,
        IArrayTypeSymbol array => CanBeWritten(array.ElementType),
        IPointerTypeSymbol pointer => CanBeWritten(pointer.PointedAtType),
        INamedTypeSymbol { IsAnonymousType: true } => false,
        INamedTypeSymbol named => named.CanBeReferencedByName && named.TypeArguments.All(CanBeWritten) && (named.ContainingType is null || CanBeWritten(named.ContainingType)),
        _ => true,
    };

    private static SyntaxNode Apply(SyntaxNode root, HoistPlan plan, string lineBreak)
    {
        var indentation = plan.Loop.GetLeadingTrivia().LastOrDefault(t => t.IsKind(SyntaxKind.WhitespaceTrivia));
        var lambdaText = Reindent(plan.Lambda, plan.Loop, indentation.ToString(), lineBreak);
        var declaration = CarryFixAllAnnotations(plan.Lambda, SyntaxFactory.ParseStatement($"{indentation}{plan.Type} {plan.Name} = {lambdaText};{lineBreak}"));
        var trackedRoot = root.TrackNodes(plan.Loop, plan.Lambda);
        trackedRoot = trackedRoot.ReplaceNode(trackedRoot.GetCurrentNode(plan.Lambda)!, SyntaxFactory.IdentifierName(plan.Name).WithTriviaFrom(plan.Lambda));
        var loop = trackedRoot.GetCurrentNode(plan.Loop)!;
        var leading = loop.GetLeadingTrivia();
        // The declaration takes the loop's own leading trivia (blank lines, comments), the loop keeps its indentation.
        var movedTrivia = SyntaxFactory.TriviaList(leading.TakeWhile((_, i) => i < leading.Count - (indentation == default ? 0 : 1)));
        declaration = declaration.WithLeadingTrivia(movedTrivia.AddRange(declaration.GetLeadingTrivia()));
        var newLoop = loop.WithLeadingTrivia(indentation == default ? SyntaxFactory.TriviaList() : SyntaxFactory.TriviaList(indentation));
        return trackedRoot.ReplaceNode(loop, new SyntaxNode[] { declaration, newLoop });
    }

    /// <summary>The declaration holds a copy of the lambda parsed from its text: the same lambdas in the same order, only
    /// the indentation differs. Those nested in it that a Fix All is still to hoist keep their annotations.</summary>
    private static StatementSyntax CarryFixAllAnnotations(AnonymousFunctionExpressionSyntax lambda, StatementSyntax declaration)
    {
        var originals = lambda.DescendantNodes().OfType<AnonymousFunctionExpressionSyntax>().ToList();
        if (!originals.Any(l => l.HasAnnotations(FixAllKind)))
            return declaration;
        var copies = declaration.DescendantNodes().OfType<AnonymousFunctionExpressionSyntax>().Skip(1).ToList();
        if (copies.Count != originals.Count)
            return declaration;
        var map = new System.Collections.Generic.Dictionary<SyntaxNode, SyntaxNode>();
        for (var i = 0; i < copies.Count; i++)
            map.Add(copies[i], originals[i]);
        return declaration.ReplaceNodes(copies, (copy, rewritten) => rewritten.WithAdditionalAnnotations(map[copy].GetAnnotations(FixAllKind)));
    }

    /// <summary>The lambda's text with its continuation lines shifted left or right as far as its statement moves: from
    /// the indentation of the line it was on to the loop's. A line that begins inside a token (the continuation of a
    /// verbatim, raw or interpolated string) is part of that token's value: it and the line break before it are kept
    /// exactly.</summary>
    private static string Reindent(AnonymousFunctionExpressionSyntax lambda, StatementSyntax loop, string loopIndentation, string lineBreak)
    {
        var source = lambda.SyntaxTree.GetText();
        var span = lambda.Span;
        var lines = source.Lines;
        var first = lines.GetLineFromPosition(span.Start);
        var last = lines.GetLineFromPosition(span.End);
        if (first.LineNumber == last.LineNumber)
            return source.ToString(span);
        var firstText = first.ToString();
        var oldIndentation = firstText.Substring(0, firstText.Length - firstText.TrimStart().Length);
        var builder = new System.Text.StringBuilder(source.ToString(TextSpan.FromBounds(span.Start, first.End)));
        for (var number = first.LineNumber + 1; number <= last.LineNumber; number++)
        {
            var previous = lines[number - 1];
            var line = lines[number];
            var text = source.ToString(TextSpan.FromBounds(line.Start, number == last.LineNumber ? span.End : line.End));
            var token = lambda.FindToken(previous.End);
            if (token.SpanStart < previous.End && previous.End < token.Span.End)
            {
                builder.Append(source.ToString(TextSpan.FromBounds(previous.End, previous.EndIncludingLineBreak))).Append(text);
                continue;
            }

            builder.Append(lineBreak);
            builder.Append(text.StartsWith(oldIndentation, System.StringComparison.Ordinal) ? loopIndentation + text.Substring(oldIndentation.Length) : text);
        }

        return builder.ToString();
    }

    private static async Task<string> LineBreakAsync(Document document, CancellationToken cancellationToken)
        => TriviaEditing.LineBreak(await document.GetTextAsync(cancellationToken).ConfigureAwait(false));
}
