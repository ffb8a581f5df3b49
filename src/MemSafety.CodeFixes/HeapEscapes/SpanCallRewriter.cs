using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using MemSafety.CodeFixes.Core;
using MemSafety.Analyzers.Rules.HeapEscapes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.CodeFixes.HeapEscapes;

/// <summary>Rewrites one use of an array local, as classified by <see cref="SpanUses"/>, into its span form.
/// Shared by the fixes that turn arrays into spans (MSA1001, MSA1002, MSA1003).</summary>
internal static class SpanCallRewriter
{
    public static ExpressionSyntax Rewrite(SpanUse use, ILocalSymbol local) => use.Operation switch
    {
        IInvocationOperation { Syntax: InvocationExpressionSyntax call } invocation => Rewrite(invocation, call, use.Rewrite, local),
        IObjectCreationOperation { Syntax: ObjectCreationExpressionSyntax creation } objectCreation => RewriteArguments(objectCreation.Arguments, creation, use.Rewrite, local),
        _ => (ExpressionSyntax)use.Operation.Syntax,
    };

    internal static ExpressionSyntax Rewrite(IInvocationOperation invocation, InvocationExpressionSyntax call, SpanRewrite rewrite, ILocalSymbol local)
    {
        var name = local.Name;
        var arguments = invocation.Arguments;
        switch (rewrite)
        {
            case SpanRewrite.Fill:
                return SyntaxFactory.ParseExpression($"{name}.Fill({Text(arguments, 1)})");
            case SpanRewrite.Clear:
                return SyntaxFactory.ParseExpression($"{name}.Clear()");
            case SpanRewrite.Reverse:
                return SyntaxFactory.ParseExpression($"{name}.Reverse()");
            case SpanRewrite.AsSpan:
                return arguments.Length switch
                {
                    1 => SyntaxFactory.IdentifierName(name),
                    2 => SyntaxFactory.ParseExpression($"{name}.Slice({Text(arguments, 1)})"),
                    _ => SyntaxFactory.ParseExpression($"{name}.Slice({Text(arguments, 1)}, {Text(arguments, 2)})"),
                };
            default:
                return RewriteArguments(arguments, call, rewrite, local);
        }
    }

    /// <summary>(…, a, offset, count, …) → (…, a.Slice(offset, count), …) and (…, a, start, …) → (…, a.Slice(start), …).</summary>
    internal static TExpression RewriteArguments<TExpression>(ImmutableArray<IArgumentOperation> arguments, TExpression call, SpanRewrite rewrite, ILocalSymbol local)
        where TExpression : ExpressionSyntax
    {
        var list = call switch
        {
            InvocationExpressionSyntax invocation => invocation.ArgumentList,
            ObjectCreationExpressionSyntax creation => creation.ArgumentList!,
            _ => null,
        };
        if (list is null)
            return call;

        var at = -1;
        for (var i = 0; i < list.Arguments.Count; i++)
        {
            if (list.Arguments[i].Expression is IdentifierNameSyntax identifier && identifier.Identifier.ValueText == local.Name)
            {
                at = i;
                break;
            }
        }

        var removed = rewrite == SpanRewrite.SliceOffsetCount ? 2 : 1;
        if (at < 0 || at + removed >= list.Arguments.Count)
            return call;

        var whole = rewrite == SpanRewrite.SliceOffsetCount
            ? IsZero(list.Arguments[at + 1].Expression) && IsLengthOf(list.Arguments[at + 2].Expression, local.Name)
            : IsZero(list.Arguments[at + 1].Expression);
        var slice = whole
            ? local.Name
            : rewrite == SpanRewrite.SliceOffsetCount
                ? $"{local.Name}.Slice({list.Arguments[at + 1].Expression}, {list.Arguments[at + 2].Expression})"
                : $"{local.Name}.Slice({list.Arguments[at + 1].Expression})";

        // Comments on the arguments and commas that go (`Read(b, // into b` + line break + `0, b.Length)`) stay,
        // after the argument that replaces them.
        var dropped = new List<SyntaxTrivia>(list.Arguments[at].GetTrailingTrivia());
        for (var i = at; i < at + removed; i++)
        {
            var separator = list.Arguments.GetSeparator(i);
            dropped.AddRange(separator.LeadingTrivia);
            dropped.AddRange(separator.TrailingTrivia);
            dropped.AddRange(list.Arguments[i + 1].DescendantTrivia());
        }

        var comments = TriviaEditing.Comments(dropped);
        if (comments.Count > 0 && comments.Last().IsKind(SyntaxKind.WhitespaceTrivia) && !comments.Any(SyntaxKind.EndOfLineTrivia))
            comments = comments.RemoveAt(comments.Count - 1);
        var newArguments = list.Arguments.ToList();
        newArguments.RemoveRange(at + 1, removed);
        var replacement = SyntaxFactory.Argument(SyntaxFactory.ParseExpression(slice)).WithTriviaFrom(newArguments[at]);
        if (comments.Count > 0)
            replacement = replacement.WithTrailingTrivia(SyntaxFactory.TriviaList(SyntaxFactory.Space).AddRange(comments));
        newArguments[at] = replacement;
        var separators = list.Arguments.GetSeparators().ToList();
        separators.RemoveRange(at, removed);
        var newList = list.WithArguments(SyntaxFactory.SeparatedList(newArguments, separators));
        return call.ReplaceNode(list, newList);
    }

    internal static bool IsZero(ExpressionSyntax expression) => expression is LiteralExpressionSyntax { Token.Value: 0 };

    internal static bool IsLengthOf(ExpressionSyntax expression, string name)
        => expression is MemberAccessExpressionSyntax { Name.Identifier.ValueText: "Length", Expression: IdentifierNameSyntax owner } && owner.Identifier.ValueText == name;

    internal static string Text(ImmutableArray<IArgumentOperation> arguments, int ordinal)
        => SpanUses.TryArgument(arguments, ordinal, out var value) ? value.Syntax.ToString() : string.Empty;
}
