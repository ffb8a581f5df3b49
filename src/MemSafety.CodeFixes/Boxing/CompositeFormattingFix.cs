using System.Collections.Generic;
using System.Collections.Immutable;
using System.Composition;
using System.Globalization;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.Boxing;
using MemSafety.Analyzers.Core;
using MemSafety.CodeFixes.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.CodeFixes.Boxing;

/// <summary>
/// MSA2002: the composite-formatting call becomes an interpolated string with the same literal text, holes,
/// alignment, format specifiers and format provider: <c>string.Format("{0:N2}", x)</c> → <c>$"{x:N2}"</c>,
/// <c>string.Format(p, …)</c> → <c>string.Create(p, $"…")</c>, <c>sb.AppendFormat(…)</c> → <c>sb.Append($"…")</c>,
/// <c>Console.WriteLine("{0}", x)</c> → <c>Console.WriteLine(string.Create(Console.Out.FormatProvider, $"{x}"))</c>
/// (a TextWriter formats with its own FormatProvider). The analysis is re-run on the current document; the
/// fix is offered only when it approved the rewrite. Fix All rewrites every call once, nested calls included.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(CompositeFormattingFix)), Shared]
public sealed class CompositeFormattingFix : MemSafetyCodeFix
{
    public CompositeFormattingFix()
        : base(RuleIdentifiers.CompositeFormatting)
    {
    }

    public override FixAllProvider GetFixAllProvider() => FixAllProvider.Create(
        async (context, document, diagnostics) => await FixAsync(document, diagnostics, context.CancellationToken).ConfigureAwait(false));

    private protected override async Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
    {
        var model = await request.GetSemanticModelAsync().ConfigureAwait(false);
        if (Plan(node, model, request.CancellationToken) is not { } plan)
            return;
        var title = plan.Call.Api == FormattingApi.AppendFormat ? "Append an interpolated string" : "Use an interpolated string";
        var document = request.Document;
        request.Register(title, ct => FixAsync(document, ImmutableArray.Create(diagnostic), ct), diagnostic);
    }

    private sealed class FixPlan
    {
        public FixPlan(InvocationExpressionSyntax syntax, CompositeFormattingCall call, ImmutableArray<int> valueArguments, int providerArgument)
        {
            Syntax = syntax;
            Call = call;
            ValueArguments = valueArguments;
            ProviderArgument = providerArgument;
        }

        public InvocationExpressionSyntax Syntax { get; }

        public CompositeFormattingCall Call { get; }

        /// <summary>For each formatted value, the position of its argument in the argument list.</summary>
        public ImmutableArray<int> ValueArguments { get; }

        public int ProviderArgument { get; }
    }

    private static FixPlan? Plan(SyntaxNode node, SemanticModel model, CancellationToken cancellationToken)
    {
        var invocationSyntax = node.FirstAncestorOrSelf<InvocationExpressionSyntax>();
        if (invocationSyntax is null || model.GetOperation(invocationSyntax, cancellationToken) is not IInvocationOperation invocation)
            return null;
        var symbols = CompositeFormattingSymbols.Create(model.Compilation);
        if (symbols is null)
            return null;
        var version = invocationSyntax.SyntaxTree.Options is CSharpParseOptions parse ? parse.LanguageVersion : LanguageVersion.Latest;
        var call = CompositeFormatting.Analyze(invocation, symbols, version);
        if (call is null || !call.CanFix)
            return null;
        if (call.Api is FormattingApi.AppendFormat or FormattingApi.Console or FormattingApi.TextWriter
            && invocationSyntax.Expression is not MemberAccessExpressionSyntax { RawKind: (int)SyntaxKind.SimpleMemberAccessExpression })
            return null;
        var arguments = invocationSyntax.ArgumentList.Arguments;
        var valueArguments = ImmutableArray.CreateBuilder<int>(call.Values.Length);
        foreach (var value in call.Values)
        {
            var index = IndexOf(arguments, value.Syntax);
            if (index < 0)
                return null;
            valueArguments.Add(index);
        }

        var provider = call.Provider is null ? -1 : IndexOf(arguments, call.Provider.Syntax);
        if (call.Provider is not null && provider < 0)
            return null;
        return new FixPlan(invocationSyntax, call, valueArguments.MoveToImmutable(), provider);
    }

    private static int IndexOf(SeparatedSyntaxList<ArgumentSyntax> arguments, SyntaxNode syntax)
    {
        for (var i = 0; i < arguments.Count; i++)
        {
            if (arguments[i].Span.Contains(syntax.Span))
                return i;
        }

        return -1;
    }

    private static async Task<Document> FixAsync(Document document, ImmutableArray<Diagnostic> diagnostics, CancellationToken cancellationToken)
    {
        var (root, model) = await FixDocument.ReadAsync(document, cancellationToken).ConfigureAwait(false);
        var plans = new Dictionary<InvocationExpressionSyntax, FixPlan>();
        foreach (var diagnostic in diagnostics)
        {
            if (Plan(root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true), model, cancellationToken) is { } plan && !plans.ContainsKey(plan.Syntax))
                plans.Add(plan.Syntax, plan);
        }

        if (plans.Count == 0)
            return document;
        var newRoot = root.ReplaceNodes(plans.Keys, (original, rewritten) => Rewrite(plans[original], rewritten));
        return document.WithSyntaxRoot(newRoot);
    }

    private static SyntaxNode Rewrite(FixPlan plan, InvocationExpressionSyntax rewritten)
    {
        var arguments = rewritten.ArgumentList.Arguments;
        var text = new StringBuilder("$\"");
        foreach (var segment in plan.Call.Segments)
        {
            if (segment.Literal is not null)
            {
                CompositeFormatting.AppendLiteral(text, segment.Literal);
                continue;
            }

            text.Append('{').Append(HoleText(arguments[plan.ValueArguments[segment.Index]].Expression));
            if (segment.Alignment is { } alignment)
                text.Append(',').Append(alignment.ToString(CultureInfo.InvariantCulture));
            if (segment.Format is not null)
                text.Append(':').Append(segment.Format);
            text.Append('}');
        }

        text.Append('"');
        var interpolated = text.ToString();
        var provider = plan.ProviderArgument < 0 ? null : arguments[plan.ProviderArgument].Expression.WithoutTrivia().ToString();
        string replacement;
        switch (plan.Call.Api)
        {
            case FormattingApi.StringFormat:
            case FormattingApi.StringConcat:
                replacement = provider is null ? interpolated : "string.Create(" + provider + ", " + interpolated + ")";
                break;
            case FormattingApi.AppendFormat:
                var receiver = ((MemberAccessExpressionSyntax)rewritten.Expression).Expression.WithoutTrivia().ToString();
                replacement = receiver + ".Append(" + (provider is null ? "" : provider + ", ") + interpolated + ")";
                break;
            default:
                var access = (MemberAccessExpressionSyntax)rewritten.Expression;
                var formatProvider = plan.Call.Api == FormattingApi.Console
                    ? access.Expression.WithoutTrivia() + ".Out.FormatProvider"
                    : access.Expression.WithoutTrivia() + ".FormatProvider";
                replacement = access.WithoutTrivia() + "(string.Create(" + formatProvider + ", " + interpolated + "))";
                break;
        }

        // The values, the provider and the receiver carry their own comments into the new text; comments elsewhere
        // in the call (around the format string, between arguments) go before the new expression.
        var kept = new List<SyntaxNode?> { provider is null ? null : arguments[plan.ProviderArgument].Expression };
        foreach (var index in plan.ValueArguments)
            kept.Add(arguments[index].Expression);
        kept.Add(plan.Call.Api == FormattingApi.StringFormat || plan.Call.Api == FormattingApi.StringConcat
            ? null
            : plan.Call.Api == FormattingApi.AppendFormat ? ((MemberAccessExpressionSyntax)rewritten.Expression).Expression : rewritten.Expression);
        var comments = TriviaEditing.DroppedComments(rewritten, kept.ToArray());
        return SyntaxFactory.ParseExpression(replacement)
            .WithLeadingTrivia(rewritten.GetLeadingTrivia().AddRange(comments))
            .WithTrailingTrivia(rewritten.GetTrailingTrivia());
    }

    /// <summary>The hole's expression; parenthesised unless it is a primary expression (a conditional's ':'
    /// would otherwise start a format specifier).</summary>
    private static string HoleText(ExpressionSyntax expression)
    {
        var bare = expression.WithoutTrivia();
        while (bare is CastExpressionSyntax { Type: PredefinedTypeSyntax { Keyword.RawKind: (int)SyntaxKind.ObjectKeyword } } cast)
            bare = cast.Expression.WithoutTrivia();
        return bare is IdentifierNameSyntax or MemberAccessExpressionSyntax or InvocationExpressionSyntax or ElementAccessExpressionSyntax
            or LiteralExpressionSyntax or ThisExpressionSyntax or ParenthesizedExpressionSyntax
            ? bare.ToString()
            : "(" + bare + ")";
    }
}
