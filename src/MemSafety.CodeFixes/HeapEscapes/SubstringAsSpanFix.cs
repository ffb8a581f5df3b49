using System;
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
/// MSA1004: the copy becomes a span over the original string, and each use moves to the span API with the
/// same meaning: <c>s.Substring(i, 3) == "abc"</c> → <c>s.AsSpan(i, 3).SequenceEqual("abc")</c>,
/// <c>int.Parse(s[2..])</c> → <c>int.Parse(s.AsSpan(2..))</c>, <c>sb.Append(s.Trim())</c> →
/// <c>sb.Append(s.AsSpan().Trim())</c>, <c>var part = s.Substring(1); … part.Contains("x") …</c> →
/// <c>ReadOnlySpan&lt;char&gt; part = s.AsSpan(1); … part.Contains("x", StringComparison.Ordinal) …</c>.
/// The fix re-runs the analysis on the current document, so it only rewrites what the analyzer approved.
/// Fix All fixes one diagnostic after the other in each document, re-analysing in between, exactly as
/// fixing them one at a time would.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(SubstringAsSpanFix)), Shared]
public sealed class SubstringAsSpanFix : MemSafetyCodeFix
{
    public SubstringAsSpanFix()
        : base(RuleIdentifiers.SubstringAsSpan)
    {
    }

    public override FixAllProvider GetFixAllProvider() => FixAllProvider.Create(
        async (context, document, diagnostics) => await FixAllAsync(document, diagnostics, context.CancellationToken).ConfigureAwait(false));

    private protected override async Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
    {
        if (AsProducer(node) is not { } producer
            || Plan(await request.GetSemanticModelAsync().ConfigureAwait(false), producer, request.CancellationToken) is not { } plan)
        {
            return;
        }

        var title = plan.Local is null
            ? "Use a span of the string instead of a copy"
            : $"Make '{plan.Local.Name}' a ReadOnlySpan<char> over the string";
        var document = request.Document;
        request.Register(title, ct => FixOneAsync(document, diagnostic.Location.SourceSpan, ct), diagnostic);
    }

    private static ExpressionSyntax? FindProducer(SyntaxNode root, Microsoft.CodeAnalysis.Text.TextSpan span)
        => AsProducer(root.FindNode(span, getInnermostNodeForTie: true));

    private static ExpressionSyntax? AsProducer(SyntaxNode node)
        => node is ExpressionSyntax expression and (InvocationExpressionSyntax or ElementAccessExpressionSyntax) ? expression : null;

    private static SubstringCopyPlan? Plan(SemanticModel model, SyntaxNode producer, CancellationToken cancellationToken)
    {
        var symbols = SubstringCopySymbols.Create(model.Compilation);
        if (symbols is null || model.GetOperation(producer, cancellationToken) is not { } operation)
            return null;
        var containing = model.GetEnclosingSymbol(producer.SpanStart, cancellationToken);
        while (containing is IMethodSymbol { MethodKind: MethodKind.AnonymousFunction or MethodKind.LocalFunction })
            containing = containing.ContainingSymbol;
        return containing is null ? null : SubstringCopies.Analyze(operation, symbols, containing, cancellationToken);
    }

    private static async Task<Document> FixOneAsync(Document document, Microsoft.CodeAnalysis.Text.TextSpan span, CancellationToken cancellationToken)
    {
        var (root, model) = await FixDocument.ReadAsync(document, cancellationToken).ConfigureAwait(false);
        if (FindProducer(root, span) is not { } node || Plan(model, node, cancellationToken) is not { } plan)
            return document;
        return await ApplyAsync(document, root, model, plan, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<Document> FixAllAsync(Document document, ImmutableArray<Diagnostic> diagnostics, CancellationToken cancellationToken)
    {
        var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        if (root is null)
            return document;

        // Mark every reported copy, then fix them in source order, re-analysing the current document each
        // time: one fix can change what the next one sees (a local that became a span, a comparison rewritten).
        var marks = new Dictionary<SyntaxNode, SyntaxAnnotation>();
        foreach (var diagnostic in diagnostics.OrderBy(d => d.Location.SourceSpan.Start))
        {
            if (FindProducer(root, diagnostic.Location.SourceSpan) is { } node && !marks.ContainsKey(node))
                marks.Add(node, new SyntaxAnnotation());
        }

        var order = marks.OrderBy(pair => pair.Key.SpanStart).Select(pair => pair.Value).ToList();
        document = document.WithSyntaxRoot(root.ReplaceNodes(marks.Keys, (original, current) => current.WithAdditionalAnnotations(marks[original])));
        foreach (var mark in order)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (currentRoot, model) = await FixDocument.ReadAsync(document, cancellationToken).ConfigureAwait(false);
            if (currentRoot.GetAnnotatedNodes(mark).FirstOrDefault() is not { } node
                || Plan(model, node, cancellationToken) is not { } plan)
            {
                continue;
            }

            document = await ApplyAsync(document, currentRoot, model, plan, cancellationToken).ConfigureAwait(false);
        }

        return document;
    }

    // ------------------------------------------------------------------ the rewrite

    private static async Task<Document> ApplyAsync(Document document, SyntaxNode root, SemanticModel model, SubstringCopyPlan plan, CancellationToken cancellationToken)
    {
        var producer = plan.Producer.Syntax;
        var symbols = SubstringCopySymbols.Create(model.Compilation);
        var asSpanRange = symbols?.HasAsSpanRange == true;
        var explicitSpans = symbols?.StringConvertsToSpan != true;
        var edits = new List<(SyntaxNode Node, Func<SyntaxNode, SyntaxNode> Replace)>
        {
            (producer, current => SpanOf((ExpressionSyntax)current, plan.Kind, asSpanRange).WithTriviaFrom(current)),
        };

        if (plan.Declarator?.Syntax.Parent is VariableDeclarationSyntax declaration && !declaration.Type.IsVar)
            edits.Add((declaration.Type, current => SyntaxFactory.ParseTypeName("ReadOnlySpan<char>").WithTriviaFrom(current)));

        foreach (var use in plan.Uses)
        {
            if (Rewrite(use, explicitSpans) is { } replace)
                edits.Add((use.Consumer.Syntax, replace));
        }

        // Inner nodes first, so that a rewrite of an enclosing node sees the rewritten parts.
        edits.Sort((a, b) => a.Node.SpanStart != b.Node.SpanStart ? b.Node.SpanStart.CompareTo(a.Node.SpanStart) : a.Node.Span.Length.CompareTo(b.Node.Span.Length));
        var editor = new SyntaxEditor(root, document.Project.Solution.Services);
        foreach (var (node, replace) in edits)
            editor.ReplaceNode(node, (current, _) => replace(current));

        var newRoot = editor.GetChangedRoot();
        if (newRoot is CompilationUnitSyntax unit && !SystemInScope(model, producer.SpanStart))
        {
            var text = await document.GetTextAsync(cancellationToken).ConfigureAwait(false);
            newRoot = AddUsingSystem(unit, TriviaEditing.LineBreak(text));
        }

        return document.WithSyntaxRoot(newRoot);
    }

    /// <summary>The span over the original string that replaces the copy.</summary>
    private static ExpressionSyntax SpanOf(ExpressionSyntax copy, CopyKind kind, bool asSpanRange)
    {
        if (copy is ElementAccessExpressionSyntax access)
        {
            // s[a..b] → s.AsSpan(a..b) where MemoryExtensions has it (.NET 8), else s.AsSpan()[a..b].
            var asSpan = SyntaxFactory.MemberAccessExpression(SyntaxKind.SimpleMemberAccessExpression, access.Expression.WithoutTrailingTrivia(), SyntaxFactory.IdentifierName("AsSpan"));
            return asSpanRange
                ? SyntaxFactory.InvocationExpression(asSpan, SyntaxFactory.ArgumentList(access.ArgumentList.Arguments))
                : access.WithExpression(SyntaxFactory.InvocationExpression(asSpan));
        }

        var invocation = (InvocationExpressionSyntax)copy;
        var member = (MemberAccessExpressionSyntax)invocation.Expression;
        var asSpanName = SyntaxFactory.IdentifierName("AsSpan").WithTriviaFrom(member.Name);
        switch (kind)
        {
            case CopyKind.Trim:
            {
                // s.Trim(c) → s.AsSpan().Trim(c)
                var receiver = SyntaxFactory.InvocationExpression(member.WithName(SyntaxFactory.IdentifierName("AsSpan")).WithoutTrailingTrivia());
                return invocation.WithExpression(member.WithExpression(receiver));
            }

            case CopyKind.Remove:
            {
                // s.Remove(n) → s.AsSpan(0, n)
                var zero = SyntaxFactory.Argument(SyntaxFactory.LiteralExpression(SyntaxKind.NumericLiteralExpression, SyntaxFactory.Literal(0)));
                var list = invocation.ArgumentList;
                var arguments = SyntaxFactory.SeparatedList(new[] { zero }.Concat(list.Arguments));
                return invocation.WithExpression(member.WithName(asSpanName)).WithArgumentList(list.WithArguments(arguments));
            }

            default:
                // s.Substring(i[, n]) → s.AsSpan(i[, n]); s.ToCharArray([i, n]) → s.AsSpan([i, n])
                return invocation.WithExpression(member.WithName(asSpanName));
        }
    }

    /// <summary>The rewrite of one use; <paramref name="explicitSpans"/>: strings do not convert to
    /// <c>ReadOnlySpan&lt;char&gt;</c> here, so a string that becomes an argument of a span method gets <c>AsSpan()</c>.</summary>
    private static Func<SyntaxNode, SyntaxNode>? Rewrite(CopyUse use, bool explicitSpans)
    {
        ExpressionSyntax Span(ExpressionSyntax text) => explicitSpans ? AsSpan(text) : text;

        switch (use.Kind)
        {
            case CopyUseKind.AsSpanCall:
                // v.AsSpan() → v (v is the span now).
                return current => current is InvocationExpressionSyntax call
                    ? (call.Expression is MemberAccessExpressionSyntax member && call.ArgumentList.Arguments.Count == 0
                        ? member.Expression
                        : call.ArgumentList.Arguments[0].Expression).WithoutTrivia().WithTriviaFrom(current)
                    : current;

            case CopyUseKind.Equality:
                return current =>
                {
                    if (current is not BinaryExpressionSyntax binary)
                        return current;
                    var value = use.ValueIsSecond ? binary.Right : binary.Left;
                    var other = use.ValueIsSecond ? binary.Left : binary.Right;
                    // Comments around the operator go before the argument.
                    ExpressionSyntax result = Call(value, "SequenceEqual", TriviaEditing.DroppedComments(binary, value, other), Span(other));
                    if (use.Negated)
                        result = SyntaxFactory.PrefixUnaryExpression(SyntaxKind.LogicalNotExpression, result);
                    return result.WithTriviaFrom(current);
                };

            case CopyUseKind.EqualsCall:
                return current =>
                {
                    if (current is not InvocationExpressionSyntax call)
                        return current;
                    var arguments = call.ArgumentList.Arguments;
                    if (call.Expression is MemberAccessExpressionSyntax member && use.Consumer is Microsoft.CodeAnalysis.Operations.IInvocationOperation { Instance: not null })
                    {
                        // v.Equals(o) → v.SequenceEqual(o); v.Equals(o, c) binds to MemoryExtensions.Equals as it is.
                        if (arguments.Count != 1)
                            return use.WithComparison && explicitSpans ? WithFirstArgument(call, Span) : current;
                        return use.WithComparison
                            ? current
                            : Call(member.Expression, "SequenceEqual", TriviaEditing.DroppedComments(call, member.Expression, arguments[0].Expression), Span(arguments[0].Expression)).WithTriviaFrom(current);
                    }

                    // string.Equals(a, b[, c]) → v.SequenceEqual(o) / v.Equals(o, c)
                    if (arguments.Count < 2)
                        return current;
                    var value = arguments[use.ValueIsSecond ? 1 : 0].Expression;
                    var otherArgument = arguments[use.ValueIsSecond ? 0 : 1].Expression;
                    var other = Span(otherArgument);
                    var comments = TriviaEditing.DroppedComments(call, value, otherArgument, arguments.Count == 3 ? arguments[2].Expression : null);
                    return (use.WithComparison && arguments.Count == 3
                        ? Call(value, "Equals", comments, other, arguments[2].Expression)
                        : Call(value, "SequenceEqual", comments, other)).WithTriviaFrom(current);
                };

            case CopyUseKind.SameCall when explicitSpans && use.Other?.Type?.SpecialType == SpecialType.System_String:
                // v.StartsWith(o, c) binds to MemoryExtensions.StartsWith(span, span, c) once o is a span too.
                return current => current is InvocationExpressionSyntax call ? WithFirstArgument(call, Span) : current;

            case CopyUseKind.ContainsOrdinal:
                // v.Contains(o) is ordinal; the span method needs the comparison spelled out.
                return current => current is InvocationExpressionSyntax call
                    ? WithFirstArgument(call, Span).AddArgumentListArguments(SyntaxFactory.Argument(SyntaxFactory.ParseExpression("StringComparison.Ordinal")))
                    : current;

            default:
                return null;
        }
    }

    private static InvocationExpressionSyntax WithFirstArgument(InvocationExpressionSyntax call, Func<ExpressionSyntax, ExpressionSyntax> replace)
    {
        var first = call.ArgumentList.Arguments[0];
        return call.WithArgumentList(call.ArgumentList.WithArguments(call.ArgumentList.Arguments.Replace(first, first.WithExpression(replace(first.Expression)))));
    }

    /// <summary><c>text.AsSpan()</c>, parenthesized where member access would bind tighter than the expression.</summary>
    private static ExpressionSyntax AsSpan(ExpressionSyntax text)
    {
        var target = text.WithoutTrivia();
        while (target is ParenthesizedExpressionSyntax { Expression: var inner } && IsPrimary(inner))
            target = inner.WithoutTrivia();
        if (!IsPrimary(target) && target is not ParenthesizedExpressionSyntax)
        {
            target = SyntaxFactory.ParenthesizedExpression(target);
        }

        return SyntaxFactory.InvocationExpression(
                SyntaxFactory.MemberAccessExpression(SyntaxKind.SimpleMemberAccessExpression, target, SyntaxFactory.IdentifierName("AsSpan")))
            .WithTriviaFrom(text);
    }

    private static bool IsPrimary(ExpressionSyntax expression)
        => expression is InvocationExpressionSyntax or ElementAccessExpressionSyntax or IdentifierNameSyntax or MemberAccessExpressionSyntax
            or LiteralExpressionSyntax or InterpolatedStringExpressionSyntax;

    /// <summary><c>receiver.name(arguments)</c>, with the receiver and arguments stripped of parentheses and trivia;
    /// <paramref name="comments"/> (those the rewrite took from around them) go before the first argument.</summary>
    private static InvocationExpressionSyntax Call(ExpressionSyntax receiver, string name, SyntaxTriviaList comments, params ExpressionSyntax[] arguments)
    {
        var target = receiver.WithoutTrivia();
        while (target is ParenthesizedExpressionSyntax { Expression: InvocationExpressionSyntax or ElementAccessExpressionSyntax or IdentifierNameSyntax or MemberAccessExpressionSyntax } parenthesized)
            target = parenthesized.Expression.WithoutTrivia();
        if (target is not (InvocationExpressionSyntax or ElementAccessExpressionSyntax or IdentifierNameSyntax or MemberAccessExpressionSyntax or ParenthesizedExpressionSyntax))
            target = SyntaxFactory.ParenthesizedExpression(target);
        var argumentList = arguments.Select(a => SyntaxFactory.Argument(WithoutParentheses(a))).ToList();
        argumentList[0] = argumentList[0].WithLeadingTrivia(comments);
        return SyntaxFactory.InvocationExpression(
            SyntaxFactory.MemberAccessExpression(SyntaxKind.SimpleMemberAccessExpression, target, SyntaxFactory.IdentifierName(name)),
            comments.Count == 0
                ? SyntaxFactory.ArgumentList(SyntaxFactory.SeparatedList(argumentList))
                // Plain parentheses: elastic ones would let the formatter move the comments around.
                : SyntaxFactory.ArgumentList(
                    SyntaxFactory.Token(SyntaxTriviaList.Empty, SyntaxKind.OpenParenToken, SyntaxTriviaList.Empty),
                    SyntaxFactory.SeparatedList(argumentList),
                    SyntaxFactory.Token(SyntaxTriviaList.Empty, SyntaxKind.CloseParenToken, SyntaxTriviaList.Empty)));
    }

    /// <summary>An argument does not need the parentheses an operand of '==' may have had (binary operators keep
    /// theirs: 'M(a < b, c > d)' would read as a generic name).</summary>
    private static ExpressionSyntax WithoutParentheses(ExpressionSyntax expression)
    {
        var result = expression.WithoutTrivia();
        while (result is ParenthesizedExpressionSyntax parenthesized && parenthesized.Expression is not (BinaryExpressionSyntax or AssignmentExpressionSyntax))
            result = parenthesized.Expression.WithoutTrivia();
        return result;
    }

    /// <summary>Whether <c>AsSpan</c> (and so the rest of namespace System) is usable without a new using directive.</summary>
    private static bool SystemInScope(SemanticModel model, int position)
    {
        var stringType = model.Compilation.GetSpecialType(SpecialType.System_String);
        return model.LookupSymbols(position, stringType, "AsSpan", includeReducedExtensionMethods: true).Length > 0
               && model.LookupNamespacesAndTypes(position, name: "StringComparison").Any(s => s.ContainingNamespace?.ToDisplayString() == "System");
    }

    private static CompilationUnitSyntax AddUsingSystem(CompilationUnitSyntax unit, string lineBreak)
    {
        var directive = SyntaxFactory.UsingDirective(SyntaxFactory.ParseName("System")).WithTrailingTrivia(SyntaxFactory.EndOfLine(lineBreak));
        var usings = unit.Usings;
        var index = 0;
        while (index < usings.Count && usings[index].GlobalKeyword.RawKind == 0 && string.CompareOrdinal(usings[index].Name?.ToString(), "System") < 0)
            index++;
        usings = usings.Insert(index, directive);
        if (unit.Usings.Count == 0)
        {
            usings = usings.Replace(usings[0], usings[0].WithTrailingTrivia(SyntaxFactory.EndOfLine(lineBreak), SyntaxFactory.EndOfLine(lineBreak)));
            // The first member's leading trivia (comments, a file header) stays above the new using.
            if (unit.Members.Count > 0 && unit.AttributeLists.Count == 0 && unit.Externs.Count == 0)
            {
                var first = unit.Members[0];
                var leading = first.GetLeadingTrivia();
                unit = unit.ReplaceNode(first, first.WithLeadingTrivia());
                usings = usings.Replace(usings[0], usings[0].WithLeadingTrivia(leading));
            }
        }

        return unit.WithUsings(usings);
    }
}
