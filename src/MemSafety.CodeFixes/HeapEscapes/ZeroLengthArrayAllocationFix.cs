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
using Microsoft.CodeAnalysis.Simplification;

namespace MemSafety.CodeFixes.HeapEscapes;

/// <summary>
/// MSA1008: replaces <c>new T[0]</c> / <c>new T[] { }</c> with <c>Array.Empty&lt;T&gt;()</c>, spelling the
/// element type as the source did. <c>Array</c> is written <c>global::System.Array</c> and simplified to
/// the shortest form that still binds to <c>System.Array</c> (<c>Array</c> under <c>using System;</c>,
/// the qualified form when a type named Array is in scope). Where the analyzer found that <c>[]</c> binds
/// to <c>Array.Empty</c> too (C# 12+), a second action offers <c>[]</c>.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(ZeroLengthArrayAllocationFix)), Shared]
public sealed class ZeroLengthArrayAllocationFix : MemSafetyCodeFix
{
    internal const string ArrayEmptyKey = RuleIdentifiers.ZeroLengthArrayAllocation;
    internal const string CollectionExpressionKey = RuleIdentifiers.ZeroLengthArrayAllocation + ".CollectionExpression";

    public ZeroLengthArrayAllocationFix()
        : base(RuleIdentifiers.ZeroLengthArrayAllocation)
    {
    }

    private protected override Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
    {
        if (node is not ArrayCreationExpressionSyntax creation)
            return Task.CompletedTask;
        var document = request.Document;
        var element = ElementTypeSyntax(creation);
        request.Register($"Use Array.Empty<{element}>()", ct => ReplaceAsync(document, creation, ArrayEmptyCall(element), ct), diagnostic, ArrayEmptyKey);
        if (diagnostic.Properties.ContainsKey(ZeroLengthArrayAllocationAnalyzer.CollectionExpressionProperty))
            request.Register("Use '[]'", ct => ReplaceAsync(document, creation, SyntaxFactory.ParseExpression("[]"), ct), diagnostic, CollectionExpressionKey);
        return Task.CompletedTask;
    }

    /// <summary>The element type as written: <c>new int[0][]</c> creates an array of <c>int[]</c>.</summary>
    internal static TypeSyntax ElementTypeSyntax(ArrayCreationExpressionSyntax creation)
    {
        var type = creation.Type;
        var element = type.ElementType.WithoutTrivia();
        return type.RankSpecifiers.Count > 1
            ? SyntaxFactory.ArrayType(element, type.RankSpecifiers.RemoveAt(0)).WithoutTrivia()
            : element;
    }

    private static ExpressionSyntax ArrayEmptyCall(TypeSyntax element)
    {
        // A member access, as the parser reads 'System.Array' in an expression (a qualified name is a type's
        // syntax): the tree the fix builds is the tree of its text.
        var array = SyntaxFactory.MemberAccessExpression(
                SyntaxKind.SimpleMemberAccessExpression,
                SyntaxFactory.AliasQualifiedName(SyntaxFactory.IdentifierName(SyntaxFactory.Token(SyntaxKind.GlobalKeyword)), SyntaxFactory.IdentifierName("System")),
                SyntaxFactory.IdentifierName("Array"))
            .WithAdditionalAnnotations(Simplifier.Annotation);
        return SyntaxFactory.InvocationExpression(
            SyntaxFactory.MemberAccessExpression(
                SyntaxKind.SimpleMemberAccessExpression,
                array,
                SyntaxFactory.GenericName(SyntaxFactory.Identifier("Empty"), SyntaxFactory.TypeArgumentList(SyntaxFactory.SingletonSeparatedList(element)))));
    }

    private static async Task<Document> ReplaceAsync(Document document, ArrayCreationExpressionSyntax creation, ExpressionSyntax replacement, CancellationToken cancellationToken)
    {
        var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        if (root is null)
            return document;
        replacement = replacement.WithTriviaFrom(creation);
        return document.WithSyntaxRoot(root.ReplaceNode(creation, replacement));
    }
}
