using System.Composition;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.HeapEscapes;
using MemSafety.Analyzers.Core;
using MemSafety.CodeFixes.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace MemSafety.CodeFixes.HeapEscapes;

/// <summary>
/// MSA1007: removes the copy. <c>foreach (var x in q.ToList())</c> becomes <c>foreach (var x in q)</c>;
/// <c>q.ToList().Any()</c> becomes <c>q.Any()</c>; <c>q.ToList().Count</c> and <c>q.ToArray().Length</c> become
/// <c>q.Count()</c>, or the source's own <c>Count</c>/<c>Length</c> when it has one; <c>var c = q.ToList();
/// foreach (var x in c)</c> loses the declaration and enumerates <c>q</c>. The analyzer has already shown
/// that enumerating the source directly behaves the same; the fix only rewrites syntax.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(MaterializedOnceFix)), Shared]
public sealed class MaterializedOnceFix : MemSafetyCodeFix
{
    internal const string EquivalenceKey = RuleIdentifiers.MaterializedOnce;

    public MaterializedOnceFix()
        : base(RuleIdentifiers.MaterializedOnce)
    {
    }

    private protected override Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
    {
        if (diagnostic.Properties.TryGetValue(MaterializedOnceAnalyzer.FormProperty, out var form) && form is not null && Find(node) is { } copy)
        {
            var document = request.Document;
            var name = copy.Access.Name.Identifier.ValueText;
            request.Register($"Remove the unneeded '{name}()' copy", ct => FixAsync(document, diagnostic, ct), diagnostic, EquivalenceKey);
        }

        return Task.CompletedTask;
    }

    private readonly struct Copy
    {
        public Copy(InvocationExpressionSyntax invocation, MemberAccessExpressionSyntax access)
        {
            Invocation = invocation;
            Access = access;
        }

        /// <summary><c>q.ToList()</c> or <c>Enumerable.ToList(q)</c>.</summary>
        public InvocationExpressionSyntax Invocation { get; }

        /// <summary><c>q.ToList</c> or <c>Enumerable.ToList</c>.</summary>
        public MemberAccessExpressionSyntax Access { get; }

        /// <summary>Called in static form, <c>Enumerable.ToList(q)</c>.</summary>
        public bool IsStaticForm => Invocation.ArgumentList.Arguments.Count == 1;

        public ExpressionSyntax Source => IsStaticForm ? Invocation.ArgumentList.Arguments[0].Expression : Access.Expression;
    }

    private static Copy? Find(SyntaxNode node)
    {
        if (node is SimpleNameSyntax { Parent: MemberAccessExpressionSyntax access } name
            && access.Name == name
            && access.Parent is InvocationExpressionSyntax invocation
            && invocation.Expression == access
            && invocation.ArgumentList.Arguments.Count <= 1)
        {
            return new Copy(invocation, access);
        }

        return null;
    }

    private static async Task<Document> FixAsync(Document document, Diagnostic diagnostic, CancellationToken cancellationToken)
    {
        var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        if (root is null || Find(root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true)) is not { } copy)
            return document;
        diagnostic.Properties.TryGetValue(MaterializedOnceAnalyzer.FormProperty, out var form);
        var newRoot = form switch
        {
            MaterializedOnceAnalyzer.ForEachForm => root.ReplaceNode(copy.Invocation, KeepingComments(AsCollection(copy.Source), copy)),
            MaterializedOnceAnalyzer.ReceiverForm => ReplaceReceiver(root, copy),
            MaterializedOnceAnalyzer.PropertyForm => ReplaceProperty(root, copy, diagnostic),
            MaterializedOnceAnalyzer.LocalForEachForm => InlineLocal(root, copy),
            _ => null,
        };
        return newRoot is null ? document : document.WithSyntaxRoot(newRoot);
    }

    /// <summary><c>q.ToList().Any()</c> → <c>q.Any()</c>; <c>Enumerable.Any(q.ToList())</c> → <c>Enumerable.Any(q)</c>.</summary>
    private static SyntaxNode ReplaceReceiver(SyntaxNode root, Copy copy)
    {
        var source = copy.Invocation.Parent is MemberAccessExpressionSyntax ? AsReceiver(copy.Source) : copy.Source;
        return root.ReplaceNode(copy.Invocation, KeepingComments(source, copy));
    }

    /// <summary>The source in place of the copy, with the copy's trivia and the comments on the call that goes
    /// (<c>q // why</c>, line break, <c>.ToList()</c>).</summary>
    private static ExpressionSyntax KeepingComments(ExpressionSyntax source, Copy copy)
        => TriviaEditing.WithCommentsAfter(
            source.WithLeadingTrivia(copy.Invocation.GetLeadingTrivia()),
            TriviaEditing.DroppedComments(copy.Invocation, copy.Source),
            copy.Invocation.GetTrailingTrivia());

    /// <summary><c>q.ToList().Count</c> → <c>q.Count()</c> or <c>list.Count</c>; <c>a.ToArray().Length</c> → <c>a.Length</c>.</summary>
    private static SyntaxNode? ReplaceProperty(SyntaxNode root, Copy copy, Diagnostic diagnostic)
    {
        if (copy.Invocation.Parent is not MemberAccessExpressionSyntax property || property.Expression != copy.Invocation)
            return null;
        diagnostic.Properties.TryGetValue(MaterializedOnceAnalyzer.ReplacementProperty, out var replacement);

        ExpressionSyntax result;
        if (replacement is "Count" or "Length")
        {
            result = SyntaxFactory.MemberAccessExpression(
                SyntaxKind.SimpleMemberAccessExpression,
                AsReceiver(copy.Source).WithTriviaFrom(copy.Source),
                SyntaxFactory.IdentifierName(replacement));
        }
        else if (copy.IsStaticForm)
        {
            // Enumerable.ToList(q).Count → Enumerable.Count(q): stays a static call, needs no using.
            result = SyntaxFactory.InvocationExpression(
                copy.Access.WithName(SyntaxFactory.IdentifierName("Count").WithTriviaFrom(copy.Access.Name)),
                copy.Invocation.ArgumentList);
        }
        else
        {
            result = SyntaxFactory.InvocationExpression(
                copy.Access.WithName(SyntaxFactory.IdentifierName("Count").WithTriviaFrom(copy.Access.Name)));
        }

        return root.ReplaceNode(property, result.WithTriviaFrom(property));
    }

    /// <summary><c>var c = q.ToList(); foreach (var x in c) …</c> → <c>foreach (var x in q) …</c>.</summary>
    private static SyntaxNode? InlineLocal(SyntaxNode root, Copy copy)
    {
        var statement = copy.Invocation.FirstAncestorOrSelf<LocalDeclarationStatementSyntax>();
        if (statement?.Parent is not BlockSyntax block)
            return null;
        var index = block.Statements.IndexOf(statement);
        if (index < 0 || index + 1 >= block.Statements.Count || block.Statements[index + 1] is not CommonForEachStatementSyntax forEach)
            return null;

        var newForEach = forEach.ReplaceNode(forEach.Expression, AsCollection(copy.Source).WithTriviaFrom(forEach.Expression));

        // The declaration's comments and blank lines now belong to the loop.
        var leading = statement.GetLeadingTrivia();
        var trailing = statement.GetTrailingTrivia();
        if (HasComment(trailing))
        {
            // `var c = …; // why` keeps its comment, on its own line above the loop.
            var start = 0;
            while (start < trailing.Count && trailing[start].IsKind(SyntaxKind.WhitespaceTrivia))
                start++;
            for (var i = start; i < trailing.Count; i++)
                leading = leading.Add(trailing[i]);
            leading = leading.AddRange(forEach.GetLeadingTrivia());
        }

        newForEach = newForEach.WithLeadingTrivia(leading);

        var statements = block.Statements.Replace(forEach, newForEach).RemoveAt(index);
        return root.ReplaceNode(block, block.WithStatements(statements));
    }

    private static bool HasComment(SyntaxTriviaList trivia)
    {
        foreach (var t in trivia)
        {
            if (t.IsKind(SyntaxKind.SingleLineCommentTrivia) || t.IsKind(SyntaxKind.MultiLineCommentTrivia))
                return true;
        }

        return false;
    }

    /// <summary>Any expression can follow <c>in</c>: parentheses around the source are no longer needed.</summary>
    private static ExpressionSyntax AsCollection(ExpressionSyntax source)
        => source is ParenthesizedExpressionSyntax parenthesized ? parenthesized.Expression : source;

    /// <summary>The source as the receiver of <c>.Count</c>/<c>.Any()</c>: parenthesised unless it is already a
    /// primary expression (it may come from <c>Enumerable.ToList(a ?? b)</c>).</summary>
    private static ExpressionSyntax AsReceiver(ExpressionSyntax source)
    {
        switch (source)
        {
            case SimpleNameSyntax:
            case MemberAccessExpressionSyntax:
            case InvocationExpressionSyntax:
            case ElementAccessExpressionSyntax:
            case ParenthesizedExpressionSyntax:
            case ThisExpressionSyntax:
            case BaseExpressionSyntax:
            case LiteralExpressionSyntax:
            case ObjectCreationExpressionSyntax:
            case ImplicitArrayCreationExpressionSyntax:
            case PostfixUnaryExpressionSyntax:
            case TypeOfExpressionSyntax:
            case DefaultExpressionSyntax:
                return source;
            default:
                return SyntaxFactory.ParenthesizedExpression(source.WithoutTrivia()).WithTriviaFrom(source);
        }
    }
}
