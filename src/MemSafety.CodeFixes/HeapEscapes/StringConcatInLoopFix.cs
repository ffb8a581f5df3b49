using System.Collections.Generic;
using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Text;
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
using Microsoft.CodeAnalysis.Simplification;
using Microsoft.CodeAnalysis.Text;
using static Microsoft.CodeAnalysis.CSharp.SyntaxFactory;

namespace MemSafety.CodeFixes.HeapEscapes;

/// <summary>
/// MSA1006: builds the string in a <c>System.Text.StringBuilder</c>, the way a person would write it.
/// Where the string is a local declared just for this (its declaration in the same statement list as the
/// loop, nothing but the appends touching it until the loop is done), the declaration becomes the builder
/// (<c>string csv = "";</c> → <c>var csvBuilder = new StringBuilder();</c>) and the string comes back after
/// the loop: inline where it is read once (<c>return csv;</c> → <c>return csvBuilder.ToString();</c>), else
/// declared there (<c>string csv = csvBuilder.ToString();</c>). A string declared as <c>x.ToString()</c> of a
/// builder that nothing uses afterwards keeps appending to that builder. Otherwise (a parameter, a string
/// read before the loop or live across an enclosing loop) the builder is declared before the loop
/// (<c>new StringBuilder(s)</c>, empty when <c>s</c> provably starts as "") and the string is assigned back
/// after it, or read once inline. In the loop, each append becomes <c>builder.Append(piece)</c>, one call per
/// concatenated piece. Offered only where the analyzer proved the rewrite keeps behaviour (see
/// <see cref="StringConcatInLoopAnalyzer.FixableProperty"/>). Fix All fixes a document's diagnostics one
/// after the other in source order, planning each on the code the previous ones left, so it produces
/// exactly what fixing them one by one does.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(StringConcatInLoopFix)), Shared]
public sealed class StringConcatInLoopFix : MemSafetyCodeFix
{
    internal const string EquivalenceKey = RuleIdentifiers.StringConcatInLoop;

    public StringConcatInLoopFix()
        : base(RuleIdentifiers.StringConcatInLoop)
    {
    }

    public override FixAllProvider GetFixAllProvider()
        => FixAllProvider.Create((context, document, diagnostics) => FixAsync(document, diagnostics, context.CancellationToken));

    private protected override async Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
    {
        // Offer the action only when the rewrite can be planned here (the code may have changed).
        if (!IsFixable(diagnostic)
            || Target(request.Root, diagnostic) is not { } target
            || CreatePlan(request.Root, await request.GetSemanticModelAsync().ConfigureAwait(false), target.Loop, target.Appends, StartsEmpty(diagnostic), request.CancellationToken) is not { } plan)
        {
            return;
        }

        var document = request.Document;
        request.Register(
            $"Build '{plan.Variable.ValueText}' with a StringBuilder",
            async ct => await FixAsync(document, ImmutableArray.Create(diagnostic), ct).ConfigureAwait(false) ?? document,
            diagnostic,
            EquivalenceKey);
    }

    private static bool IsFixable(Diagnostic diagnostic)
        => diagnostic.Properties.TryGetValue(StringConcatInLoopAnalyzer.FixableProperty, out var value) && value == "true"
           && diagnostic.AdditionalLocations.Count >= 1;

    private static bool StartsEmpty(Diagnostic diagnostic)
        => diagnostic.Properties.TryGetValue(StringConcatInLoopAnalyzer.StartsEmptyProperty, out var empty) && empty == "true";

    /// <summary>The loop and the append statements a diagnostic points at.</summary>
    private static (StatementSyntax Loop, List<AssignmentExpressionSyntax> Appends)? Target(SyntaxNode root, Diagnostic diagnostic)
    {
        if (root.FindToken(diagnostic.AdditionalLocations[0].SourceSpan.Start).Parent is not StatementSyntax loop
            || loop is not (ForStatementSyntax or CommonForEachStatementSyntax or WhileStatementSyntax or DoStatementSyntax))
        {
            return null;
        }

        var appends = new List<AssignmentExpressionSyntax>();
        var locations = new List<Location> { diagnostic.Location };
        for (var i = 1; i < diagnostic.AdditionalLocations.Count; i++)
            locations.Add(diagnostic.AdditionalLocations[i]);
        foreach (var location in locations)
        {
            if (root.FindNode(location.SourceSpan) is not AssignmentExpressionSyntax assignment)
                return null;
            appends.Add(assignment);
        }

        return (loop, appends);
    }

    /// <summary>Where the builder comes from.</summary>
    private enum BuilderSource
    {
        /// <summary><c>var sBuilder = new StringBuilder(s);</c> inserted before the loop.</summary>
        BeforeLoop,
        /// <summary>The string's declaration becomes the builder's.</summary>
        Declaration,
        /// <summary>The string was declared as <c>b.ToString()</c> of a builder nothing else uses: keep appending to <c>b</c>.</summary>
        ContinuedBuilder,
    }

    /// <summary>How the built string comes back after the loop.</summary>
    private enum AfterLoop
    {
        /// <summary>Nothing reads it.</summary>
        Nothing,
        /// <summary>Its one read becomes <c>sBuilder.ToString()</c>.</summary>
        Inline,
        /// <summary><c>string s = sBuilder.ToString();</c> after the loop (the declaration moved there).</summary>
        Declare,
        /// <summary><c>s = sBuilder.ToString();</c> after the loop.</summary>
        Assign,
    }

    /// <summary>One loop to rewrite for one variable.</summary>
    private sealed class Plan
    {
        public StatementSyntax Loop = null!;
        public SyntaxToken Variable;
        public string BuilderName = null!;
        public TypeSyntax BuilderType = null!;
        public List<(AssignmentExpressionSyntax Append, List<ExpressionSyntax> Pieces)> Appends = null!;
        public BuilderSource Source;
        /// <summary>BeforeLoop: the builder starts empty instead of with the string's value.</summary>
        public bool StartsEmpty;
        /// <summary>Declaration / ContinuedBuilder: the string's declaration statement and declarator.</summary>
        public LocalDeclarationStatementSyntax? Declaration;
        public VariableDeclaratorSyntax? Declarator;
        /// <summary>Declaration: the builder's initial text (null: empty).</summary>
        public ExpressionSyntax? Initial;
        public AfterLoop After;
        public IdentifierNameSyntax? InlineRead;
    }

    private static async Task<Document?> FixAsync(Document document, ImmutableArray<Diagnostic> diagnostics, CancellationToken cancellationToken)
    {
        var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        var text = await document.GetTextAsync(cancellationToken).ConfigureAwait(false);
        if (root is null)
            return null;

        // Mark each diagnostic's loop and appends, then fix them in source order, planning each on the
        // current code: an earlier fix can change what the next one sees (a declaration that moved, a
        // string that now comes from a builder), exactly as when fixing one diagnostic at a time.
        var marks = new Dictionary<SyntaxNode, List<SyntaxAnnotation>>();
        var entries = new List<(SyntaxAnnotation Loop, List<SyntaxAnnotation> Appends, bool StartsEmpty)>();
        foreach (var diagnostic in diagnostics.Where(IsFixable).OrderBy(d => d.Location.SourceSpan.Start))
        {
            if (Target(root, diagnostic) is not { } target)
                continue;
            var loopMark = Mark(marks, target.Loop);
            entries.Add((loopMark, target.Appends.Select(a => Mark(marks, a)).ToList(), StartsEmpty(diagnostic)));
        }

        if (entries.Count == 0)
            return null;
        document = document.WithSyntaxRoot(root.ReplaceNodes(marks.Keys, (original, current) => current.WithAdditionalAnnotations(marks[original])));

        var lineBreak = TriviaEditing.LineBreak(text);
        var changed = false;
        foreach (var entry in entries)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (currentRoot, model) = await FixDocument.ReadAsync(document, cancellationToken).ConfigureAwait(false);
            if (currentRoot.GetAnnotatedNodes(entry.Loop).FirstOrDefault() is not StatementSyntax loop)
                continue;
            var appends = new List<AssignmentExpressionSyntax>();
            foreach (var mark in entry.Appends)
            {
                if (currentRoot.GetAnnotatedNodes(mark).FirstOrDefault() is AssignmentExpressionSyntax append)
                    appends.Add(append);
            }

            if (appends.Count != entry.Appends.Count || CreatePlan(currentRoot, model, loop, appends, entry.StartsEmpty, cancellationToken) is not { } plan)
                continue;
            document = document.WithSyntaxRoot(Apply(currentRoot, plan, lineBreak));
            changed = true;
        }

        if (!changed)
            return null;
        var newRoot = (await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false))!;
        if (!newRoot.GetAnnotatedNodes(Simplifier.AddImportsAnnotation).Any())
            return document;
        document = await ImportAdder.AddImportsAsync(document, Simplifier.AddImportsAnnotation, cancellationToken: cancellationToken).ConfigureAwait(false);
        return await Simplifier.ReduceAsync(document, Simplifier.Annotation, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private static SyntaxAnnotation Mark(Dictionary<SyntaxNode, List<SyntaxAnnotation>> marks, SyntaxNode node)
    {
        var mark = new SyntaxAnnotation();
        if (!marks.TryGetValue(node, out var list))
            marks[node] = list = new List<SyntaxAnnotation>();
        list.Add(mark);
        return mark;
    }

    private static Plan? CreatePlan(SyntaxNode root, SemanticModel model, StatementSyntax loop, List<AssignmentExpressionSyntax> appendNodes, bool startsEmpty, CancellationToken cancellationToken)
    {
        ISymbol? variable = null;
        SyntaxToken variableToken = default;
        var appends = new List<(AssignmentExpressionSyntax, List<ExpressionSyntax>)>();
        var pieces = new List<IOperation>();
        foreach (var assignment in appendNodes)
        {
            if (model.GetOperation(assignment, cancellationToken) is not { } operation
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

        var plan = new Plan
        {
            Loop = loop,
            Variable = variableToken.WithoutTrivia(),
            Appends = appends,
            BuilderType = BuilderType(model, loop.SpanStart),
            StartsEmpty = startsEmpty,
            Source = BuilderSource.BeforeLoop,
            After = AfterLoop.Assign,
        };
        var scope = (SyntaxNode?)loop.Ancestors().FirstOrDefault(a => a is MemberDeclarationSyntax and not GlobalStatementSyntax) ?? root;
        ChooseShape(plan, scope, model, variable, cancellationToken);

        if (plan.Source != BuilderSource.ContinuedBuilder)
            plan.BuilderName = BuilderName(variable.Name + "Builder", loop, scope, model, new HashSet<string>());
        return plan;
    }

    /// <summary>Decides where the builder comes from and how the string comes back, from every reference
    /// to the variable in the member. Anything unusual keeps the general shape (builder before the loop,
    /// string assigned back after it).</summary>
    private static void ChooseShape(Plan plan, SyntaxNode scope, SemanticModel model, ISymbol variable, CancellationToken cancellationToken)
    {
        var loop = plan.Loop;
        var loopAnchor = Anchor(loop);
        var list = loopAnchor.Parent;

        // A label could send control back over the rewritten statements; text in an inactive #if branch may
        // mention the variable, and the semantic model cannot see it.
        foreach (var node in scope.DescendantNodes())
        {
            if (node is LabeledStatementSyntax)
                return;
        }

        foreach (var trivia in scope.DescendantTrivia())
        {
            if (trivia.IsKind(SyntaxKind.DisabledTextTrivia) && trivia.ToString().Contains(variable.Name))
                return;
        }

        var references = References(scope, model, variable, cancellationToken);
        if (references is null)
            return;

        var inAppends = new List<IdentifierNameSyntax>();
        var after = new List<IdentifierNameSyntax>();
        var elsewhere = new List<IdentifierNameSyntax>();
        foreach (var reference in references)
        {
            if (plan.Appends.Any(a => a.Append.Span.Contains(reference.Span)))
                inAppends.Add(reference);
            else if (reference.SpanStart >= loop.Span.End)
                after.Add(reference);
            else
                elsewhere.Add(reference);
        }

        var afterInSiblings = after.All(r => SiblingOf(r, list) is { } top && top.SpanStart >= loopAnchor.Span.End);

        // The string's own declaration, in the same statement list before the loop, with nothing else reading
        // or writing the string until the loop is done: the declaration can become the builder.
        if (elsewhere.Count == 0 && afterInSiblings && DeclarationFor(variable, loopAnchor, model, cancellationToken) is { } declaration)
        {
            plan.Declaration = declaration.Statement;
            plan.Declarator = declaration.Declarator;
            if (ContinuedBuilder(declaration.Statement, declaration.Declarator, scope, model, cancellationToken) is { } builder)
            {
                plan.Source = BuilderSource.ContinuedBuilder;
                plan.BuilderName = builder;
            }
            else
            {
                plan.Source = BuilderSource.Declaration;
                plan.Initial = IsEmptyString(declaration.Declarator.Initializer!.Value, model, cancellationToken) ? null : declaration.Declarator.Initializer.Value;
            }

            plan.After = after.Count == 0 ? AfterLoop.Nothing
                : after.Count == 1 && IsInlinableRead(after[0], list!) ? AfterLoop.Inline
                : AfterLoop.Declare;
            plan.InlineRead = plan.After == AfterLoop.Inline ? after[0] : null;
            return;
        }

        // The builder goes before the loop. The string's one read after the loop can take the builder's text
        // directly when the loop runs once per lifetime of the variable (no enclosing loop) and nothing else
        // reads the string after the loop starts (the foreach collection is evaluated before the first append).
        if (after.Count == 1 && afterInSiblings && !InEnclosingLoop(loop) && IsInlinableRead(after[0], list!)
            && elsewhere.All(r => r.SpanStart < loop.SpanStart || loop is CommonForEachStatementSyntax forEach && forEach.Expression.Span.Contains(r.Span)))
        {
            plan.After = AfterLoop.Inline;
            plan.InlineRead = after[0];
        }
    }

    /// <summary>Every identifier in the member that binds to the variable, or null when one of them is in a
    /// lambda, a local function or a <c>nameof</c> (where moving or dropping the variable is not safe).</summary>
    private static List<IdentifierNameSyntax>? References(SyntaxNode scope, SemanticModel model, ISymbol variable, CancellationToken cancellationToken)
    {
        var result = new List<IdentifierNameSyntax>();
        foreach (var node in scope.DescendantNodes())
        {
            if (node is not IdentifierNameSyntax identifier || identifier.Identifier.ValueText != variable.Name
                || !SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(identifier, cancellationToken).Symbol, variable))
            {
                continue;
            }

            foreach (var ancestor in identifier.Ancestors())
            {
                if (ancestor is AnonymousFunctionExpressionSyntax or LocalFunctionStatementSyntax
                    || ancestor is InvocationExpressionSyntax { Expression: IdentifierNameSyntax { Identifier.ValueText: "nameof" } })
                {
                    return null;
                }

                if (ancestor == scope)
                    break;
            }

            result.Add(identifier);
        }

        return result;
    }

    /// <summary>A top-level statement's GlobalStatement, any other statement itself.</summary>
    private static SyntaxNode Anchor(StatementSyntax statement) => statement.Parent is GlobalStatementSyntax global ? global : statement;

    /// <summary>The statement of <paramref name="list"/> (a block, switch section or compilation unit) that contains the node.</summary>
    private static SyntaxNode? SiblingOf(SyntaxNode node, SyntaxNode? list)
    {
        for (var current = node; current is not null; current = current.Parent)
        {
            if (current.Parent == list)
                return current;
        }

        return null;
    }

    private static bool InEnclosingLoop(StatementSyntax loop)
    {
        foreach (var ancestor in loop.Ancestors())
        {
            switch (ancestor)
            {
                case ForStatementSyntax or CommonForEachStatementSyntax or WhileStatementSyntax or DoStatementSyntax:
                    return true;
                case MemberDeclarationSyntax or AnonymousFunctionExpressionSyntax or LocalFunctionStatementSyntax:
                    return false;
            }
        }

        return false;
    }

    /// <summary>A read of the value, run at most once after the loop: in a later statement of the loop's
    /// statement list, not in a loop, lambda or local function of its own, not written or passed by reference.</summary>
    private static bool IsInlinableRead(IdentifierNameSyntax reference, SyntaxNode list)
    {
        for (SyntaxNode? node = reference.Parent; node is not null && node != list; node = node.Parent)
        {
            if (node is ForStatementSyntax or CommonForEachStatementSyntax or WhileStatementSyntax or DoStatementSyntax
                or AnonymousFunctionExpressionSyntax or LocalFunctionStatementSyntax)
            {
                return false;
            }
        }

        return reference.Parent switch
        {
            AssignmentExpressionSyntax assignment when assignment.Left == reference => false,
            PrefixUnaryExpressionSyntax or PostfixUnaryExpressionSyntax => false,
            ArgumentSyntax argument when !argument.RefKindKeyword.IsKind(SyntaxKind.None) => false,
            RefExpressionSyntax => false,
            ArgumentSyntax { Parent: TupleExpressionSyntax { Parent: AssignmentExpressionSyntax } } => false,
            _ => true,
        };
    }

    /// <summary>The variable's declaration when the builder can take its place: a local declared in the loop's
    /// statement list before the loop, with a string initializer (a constant one when the statement declares
    /// several variables, whose initializers then run in a different order).</summary>
    private static (LocalDeclarationStatementSyntax Statement, VariableDeclaratorSyntax Declarator)? DeclarationFor(ISymbol variable, SyntaxNode loopAnchor, SemanticModel model, CancellationToken cancellationToken)
    {
        if (variable is not ILocalSymbol { IsConst: false, RefKind: RefKind.None } local
            || local.DeclaringSyntaxReferences.Length != 1
            || local.DeclaringSyntaxReferences[0].GetSyntax(cancellationToken) is not VariableDeclaratorSyntax { Initializer: { } initializer } declarator
            || declarator.Parent is not VariableDeclarationSyntax { Parent: LocalDeclarationStatementSyntax statement } declaration
            || statement.Modifiers.Count > 0 || !statement.UsingKeyword.IsKind(SyntaxKind.None) || !statement.AwaitKeyword.IsKind(SyntaxKind.None)
            || statement.ContainsDiagnostics)
        {
            return null;
        }

        var anchor = Anchor(statement);
        if (anchor.Parent != loopAnchor.Parent || anchor.SpanStart >= loopAnchor.SpanStart
            || anchor.Parent is not (BlockSyntax or SwitchSectionSyntax or CompilationUnitSyntax))
        {
            return null;
        }

        if (model.GetTypeInfo(initializer.Value, cancellationToken).Type?.SpecialType != SpecialType.System_String)
            return null;
        if (declaration.Variables.Count > 1 && !IsEmptyString(initializer.Value, model, cancellationToken) && model.GetConstantValue(initializer.Value, cancellationToken) is not { HasValue: true })
            return null;
        return (statement, declarator);
    }

    /// <summary><c>string s = b.ToString();</c> where <c>b</c> is a StringBuilder local of the same statement
    /// list that nothing uses afterwards: appending to <c>b</c> builds the same text. Returns <c>b</c>'s name.</summary>
    private static string? ContinuedBuilder(LocalDeclarationStatementSyntax statement, VariableDeclaratorSyntax declarator, SyntaxNode scope, SemanticModel model, CancellationToken cancellationToken)
    {
        if (statement.Declaration.Variables.Count != 1
            || declarator.Initializer?.Value is not InvocationExpressionSyntax { ArgumentList.Arguments.Count: 0, Expression: MemberAccessExpressionSyntax { Name.Identifier.ValueText: "ToString", Expression: IdentifierNameSyntax builder } }
            || model.GetSymbolInfo(builder, cancellationToken).Symbol is not ILocalSymbol { RefKind: RefKind.None, Type: INamedTypeSymbol { Name: "StringBuilder", ContainingNamespace: { Name: "Text", ContainingNamespace: { Name: "System", ContainingNamespace.IsGlobalNamespace: true } } } } local
            || local.DeclaringSyntaxReferences.Length != 1
            || local.DeclaringSyntaxReferences[0].GetSyntax(cancellationToken).FirstAncestorOrSelf<LocalDeclarationStatementSyntax>() is not { } builderStatement
            || Anchor(builderStatement).Parent != Anchor(statement).Parent)
        {
            return null;
        }

        var references = References(scope, model, local, cancellationToken);
        if (references is null || references.Any(r => r != builder && r.Span.End > statement.SpanStart))
            return null;
        return local.Name;
    }

    private static bool IsEmptyString(ExpressionSyntax value, SemanticModel model, CancellationToken cancellationToken)
        => model.GetConstantValue(value, cancellationToken) is { HasValue: true, Value: "" }
           || model.GetSymbolInfo(value, cancellationToken).Symbol is IFieldSymbol { Name: "Empty", IsStatic: true, ContainingType.SpecialType: SpecialType.System_String };

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
        var tracked = new List<SyntaxNode> { plan.Loop };
        foreach (var (append, pieces) in plan.Appends)
        {
            tracked.Add(append);
            tracked.AddRange(pieces);
        }

        if (plan.Declaration is not null)
            tracked.Add(plan.Declaration);
        if (plan.Declarator is not null)
            tracked.Add(plan.Declarator);
        if (plan.InlineRead is not null)
            tracked.Add(plan.InlineRead);
        root = root.TrackNodes(tracked);

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

        // 2. The one read after the loop takes the builder's text.
        if (plan.After == AfterLoop.Inline && plan.InlineRead is not null && root.GetCurrentNode(plan.InlineRead) is { } read)
            root = root.ReplaceNode(read, ParseExpression($"{plan.BuilderName}.ToString()").WithTriviaFrom(read));

        // 3. The string's declaration becomes the builder's, or goes (the builder it came from carries on).
        if (plan.Source != BuilderSource.BeforeLoop && plan.Declaration is not null && plan.Declarator is not null)
            root = ReplaceDeclaration(root, plan, lineBreak);

        // 4. Statements before and after the loop: the builder, the string back.
        var loop = root.GetCurrentNode(plan.Loop);
        if (loop is null)
            return root;
        var anchor = Anchor(loop);

        StatementSyntax? before = plan.Source == BuilderSource.BeforeLoop
            ? BuilderDeclaration(plan, plan.StartsEmpty ? string.Empty : plan.Variable.Text)
            : null;
        StatementSyntax? after = plan.After switch
        {
            AfterLoop.Declare => ParseStatement($"{plan.Declaration!.Declaration.Type.WithoutTrivia()} {plan.Variable.Text} = {plan.BuilderName}.ToString();"),
            AfterLoop.Assign => ParseStatement($"{plan.Variable.Text} = {plan.BuilderName}.ToString();"),
            _ => null,
        };
        if (before is null && after is null)
            return root;

        var firstToken = anchor.GetFirstToken();
        var startsLine = firstToken.LeadingTrivia.Any(SyntaxKind.EndOfLineTrivia)
                         || firstToken.GetPreviousToken().TrailingTrivia.Any(SyntaxKind.EndOfLineTrivia)
                         || firstToken.GetPreviousToken().IsKind(SyntaxKind.None);
        var indentation = Indentation(firstToken.LeadingTrivia);
        var lastToken = anchor.GetLastToken();
        var endsLine = lastToken.TrailingTrivia.Any(SyntaxKind.EndOfLineTrivia);

        var newAnchor = anchor;
        if (before is not null)
        {
            // The loop's leading trivia (blank lines, comments, directives) moves above the builder.
            before = before
                .WithLeadingTrivia(firstToken.LeadingTrivia)
                .WithTrailingTrivia(startsLine ? EndOfLine(lineBreak) : Space);
            newAnchor = newAnchor.WithLeadingTrivia(startsLine ? TriviaList(Whitespace(indentation)) : TriviaList());
        }

        if (after is not null)
        {
            // On one line with more code (`{ foreach (…) s += x; }`), the statements join it, space-separated.
            after = after
                .WithLeadingTrivia(endsLine ? TriviaList(Whitespace(indentation)) : TriviaList())
                .WithTrailingTrivia(endsLine ? TriviaList(EndOfLine(lineBreak)) : lastToken.TrailingTrivia);
            if (!endsLine)
                newAnchor = newAnchor.WithTrailingTrivia(Space);
        }

        root = root.ReplaceNode(anchor, newAnchor);
        if (before is not null)
        {
            anchor = Anchor(root.GetCurrentNode(plan.Loop)!);
            root = root.InsertNodesBefore(anchor, new[] { AsListMember(anchor, before) });
        }

        if (after is not null)
        {
            anchor = Anchor(root.GetCurrentNode(plan.Loop)!);
            root = root.InsertNodesAfter(anchor, new[] { AsListMember(anchor, after) });
        }

        return root;
    }

    /// <summary>A statement as a member of the anchor's list (top-level statements are wrapped).</summary>
    private static SyntaxNode AsListMember(SyntaxNode anchor, StatementSyntax statement)
        => anchor is GlobalStatementSyntax ? GlobalStatement(statement) : statement;

    private static StatementSyntax BuilderDeclaration(Plan plan, string argument)
    {
        var declaration = ParseStatement($"var {plan.BuilderName} = new {plan.BuilderType}({argument});");
        if (plan.BuilderType.HasAnnotation(Simplifier.AddImportsAnnotation)
            && declaration.DescendantNodes().OfType<ObjectCreationExpressionSyntax>().FirstOrDefault() is { } creation)
        {
            declaration = declaration.ReplaceNode(creation.Type, creation.Type.WithAdditionalAnnotations(Simplifier.Annotation, Simplifier.AddImportsAnnotation));
        }

        return declaration;
    }

    private static SyntaxNode ReplaceDeclaration(SyntaxNode root, Plan plan, string lineBreak)
    {
        if (root.GetCurrentNode(plan.Declaration!) is not { } statement || root.GetCurrentNode(plan.Declarator!) is not { } declarator)
            return root;
        SyntaxNode anchor = Anchor(statement);

        if (plan.Source == BuilderSource.ContinuedBuilder)
        {
            // The statement goes; its comments stay, above the statement that follows.
            var next = anchor.GetLastToken().GetNextToken();
            var prefix = new List<SyntaxTrivia>(anchor.GetLeadingTrivia());
            while (prefix.Count > 0 && prefix[prefix.Count - 1].IsKind(SyntaxKind.WhitespaceTrivia))
                prefix.RemoveAt(prefix.Count - 1);
            var trailingComments = anchor.GetTrailingTrivia().Where(t => t.IsKind(SyntaxKind.SingleLineCommentTrivia) || t.IsKind(SyntaxKind.MultiLineCommentTrivia)).ToList();
            if (trailingComments.Count > 0)
            {
                prefix.Add(Whitespace(Indentation(anchor.GetLeadingTrivia())));
                foreach (var comment in trailingComments)
                    prefix.Add(comment);
                prefix.Add(EndOfLine(lineBreak));
            }

            var mark = new SyntaxAnnotation();
            root = root.ReplaceToken(next, next.WithAdditionalAnnotations(mark));
            root = root.RemoveNode(Anchor(root.GetCurrentNode(plan.Declaration!)!), SyntaxRemoveOptions.KeepNoTrivia | SyntaxRemoveOptions.KeepUnbalancedDirectives)!;
            var token = root.GetAnnotatedTokens(mark).Single();
            return root.ReplaceToken(token, token.WithLeadingTrivia(TriviaList(prefix).AddRange(token.LeadingTrivia)));
        }

        var initial = plan.Initial is null || declarator.Initializer is null ? string.Empty : Trim(declarator.Initializer.Value).ToFullString();
        var builder = BuilderDeclaration(plan, initial);
        if (statement.Declaration.Variables.Count == 1)
        {
            // Comments inside the declaration (`string s = /* none yet */ "";`) go after the builder's.
            var comments = TriviaEditing.DroppedComments(statement, plan.Initial is null ? null : declarator.Initializer?.Value);
            builder = TriviaEditing.WithCommentsAfter(builder.WithLeadingTrivia(statement.GetLeadingTrivia()), comments, statement.GetTrailingTrivia());
            return root.ReplaceNode(anchor, AsListMember(anchor, builder));
        }

        // `string a = "", b = "";`: the builder's declaration comes first, the other variables stay declared after it.
        var remaining = statement.WithDeclaration(statement.Declaration.WithVariables(statement.Declaration.Variables.Remove(declarator)));
        var firstToken = anchor.GetFirstToken();
        var startsLine = firstToken.LeadingTrivia.Any(SyntaxKind.EndOfLineTrivia)
                         || firstToken.GetPreviousToken().TrailingTrivia.Any(SyntaxKind.EndOfLineTrivia)
                         || firstToken.GetPreviousToken().IsKind(SyntaxKind.None);
        builder = builder.WithLeadingTrivia(anchor.GetLeadingTrivia()).WithTrailingTrivia(startsLine ? EndOfLine(lineBreak) : Space);
        remaining = remaining.WithLeadingTrivia(startsLine ? TriviaList(Whitespace(Indentation(anchor.GetLeadingTrivia()))) : TriviaList());
        return root.ReplaceNode(anchor, new[] { AsListMember(anchor, builder), AsListMember(anchor, remaining) });
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
