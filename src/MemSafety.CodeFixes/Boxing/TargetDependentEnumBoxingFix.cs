using System.Composition;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.Boxing;
using MemSafety.Analyzers.Core;
using MemSafety.CodeFixes.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using static Microsoft.CodeAnalysis.CSharp.SyntaxFactory;

namespace MemSafety.CodeFixes.Boxing;

/// <summary>
/// MSA2007. <c>Enum.IsDefined(typeof(E), e)</c> / <c>Enum.GetName(typeof(E), e)</c> → <c>Enum.IsDefined&lt;E&gt;(e)</c> /
/// <c>Enum.GetName&lt;E&gt;(e)</c> (the analyzer only offers it when the value's type is exactly E, so both forms
/// return the same and neither throws). <c>e.HasFlag(f)</c> → <c>(e &amp; f) == f</c> (same type on both sides,
/// and a flag that can be read twice without side effects): HasFlag computes exactly that on the underlying values.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(TargetDependentEnumBoxingFix)), Shared]
public sealed class TargetDependentEnumBoxingFix : MemSafetyCodeFix
{
    public TargetDependentEnumBoxingFix()
        : base(RuleIdentifiers.TargetDependentEnumBoxing)
    {
    }

    private protected override Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
    {
        if (!diagnostic.Properties.TryGetValue(TargetDependentEnumBoxingAnalyzer.FixProperty, out var kind) || node is not InvocationExpressionSyntax invocation)
            return Task.CompletedTask;

        ExpressionSyntax? replacement = kind switch
        {
            TargetDependentEnumBoxingAnalyzer.GenericFix => GenericCall(invocation),
            TargetDependentEnumBoxingAnalyzer.BitTestFix => BitTest(invocation),
            _ => null,
        };
        if (replacement is not null)
        {
            var title = kind == TargetDependentEnumBoxingAnalyzer.GenericFix ? "Use the generic overload" : "Test the flag with '&'";
            var document = request.Document;
            request.Register(title, ct => Replace(document, invocation, replacement, ct), diagnostic, RuleIdentifiers.TargetDependentEnumBoxing + kind);
        }

        return Task.CompletedTask;
    }

    private static async Task<Document> Replace(Document document, SyntaxNode node, SyntaxNode replacement, CancellationToken cancellationToken)
    {
        var root = (await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false))!;
        return document.WithSyntaxRoot(root.ReplaceNode(node, replacement.WithTriviaFrom(node)));
    }

    private static ExpressionSyntax? GenericCall(InvocationExpressionSyntax invocation)
    {
        var arguments = invocation.ArgumentList.Arguments;
        if (arguments.Count != 2)
            return null;
        TypeOfExpressionSyntax? typeOf = null;
        ArgumentSyntax? value = null;
        foreach (var argument in arguments)
        {
            if (argument.Expression is TypeOfExpressionSyntax t && typeOf is null)
                typeOf = t;
            else
                value = argument;
        }

        if (typeOf is null || value is null)
            return null;

        var valueArgument = Argument(value.Expression.WithoutTrivia());
        SimpleNameSyntax Generic(SimpleNameSyntax name)
            => GenericName(name.Identifier, TypeArgumentList(SingletonSeparatedList(typeOf.Type.WithoutTrivia())));
        ExpressionSyntax callee = invocation.Expression switch
        {
            MemberAccessExpressionSyntax access => access.WithName(Generic(access.Name)),
            IdentifierNameSyntax identifier => Generic(identifier).WithTriviaFrom(identifier),
            _ => null!,
        };
        if (callee is null)
            return null;
        return invocation.WithExpression(callee).WithArgumentList(ArgumentList(SingletonSeparatedList(valueArgument)).WithTriviaFrom(invocation.ArgumentList));
    }

    private static ExpressionSyntax? BitTest(InvocationExpressionSyntax invocation)
    {
        if (invocation.Expression is not MemberAccessExpressionSyntax access || invocation.ArgumentList.Arguments.Count != 1)
            return null;
        var receiver = Operand(access.Expression.WithoutTrivia());
        var flag = Operand(invocation.ArgumentList.Arguments[0].Expression.WithoutTrivia());
        ExpressionSyntax test = BinaryExpression(
            SyntaxKind.EqualsExpression,
            ParenthesizedExpression(BinaryExpression(SyntaxKind.BitwiseAndExpression, receiver, flag)),
            flag);
        return NeedsParentheses(invocation) ? ParenthesizedExpression(test) : test;
    }

    /// <summary>Parenthesizes an operand of '&amp;' unless it is a primary expression.</summary>
    private static ExpressionSyntax Operand(ExpressionSyntax expression) => expression switch
    {
        IdentifierNameSyntax or MemberAccessExpressionSyntax or InvocationExpressionSyntax or ElementAccessExpressionSyntax
            or LiteralExpressionSyntax or ParenthesizedExpressionSyntax or ThisExpressionSyntax or BaseExpressionSyntax => expression,
        _ => ParenthesizedExpression(expression),
    };

    /// <summary>Whether '(a &amp; f) == f' must be parenthesized where the call stood.</summary>
    private static bool NeedsParentheses(InvocationExpressionSyntax invocation) => invocation.Parent switch
    {
        ExpressionSyntax parent and not ParenthesizedExpressionSyntax and not AssignmentExpressionSyntax and not LambdaExpressionSyntax
            and not ConditionalExpressionSyntax
            and not BinaryExpressionSyntax { RawKind: (int)SyntaxKind.LogicalAndExpression or (int)SyntaxKind.LogicalOrExpression } => true,
        _ => false,
    };
}
