using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.HeapEscapes;
using MemSafety.Analyzers.Infrastructure;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Editing;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.CodeFixes.HeapEscapes;

/// <summary>
/// MSA1001: <c>var b = new byte[16];</c> → <c>Span&lt;byte&gt; b = stackalloc byte[16];</c>, and every use
/// that the analyzer approved moved to its span form (<c>stream.Read(b, 0, b.Length)</c> →
/// <c>stream.Read(b)</c>, <c>BitConverter.ToInt32(b, 4)</c> → <c>BitConverter.ToInt32(b.Slice(4))</c>,
/// <c>Array.Fill(b, x)</c> → <c>b.Fill(x)</c>, …). Under [SkipLocalsInit] stackalloc memory is not zeroed
/// while <c>new T[N]</c> is, so the fix then adds <c>b.Clear();</c>. It never introduces pointers or unsafe code.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(StackallocFix)), Shared]
public sealed class StackallocFix : CodeFixProvider
{
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(RuleIdentifiers.StackallocCandidate);

    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root?.FindNode(context.Span, getInnermostNodeForTie: true) is not ArrayCreationExpressionSyntax and not ImplicitArrayCreationExpressionSyntax)
            return;
        foreach (var diagnostic in context.Diagnostics)
        {
            context.RegisterCodeFix(
                CodeAction.Create("Allocate with stackalloc into a Span", ct => FixAsync(context.Document, diagnostic, ct), RuleIdentifiers.StackallocCandidate),
                diagnostic);
        }
    }

    private static async Task<Document> FixAsync(Document document, Diagnostic diagnostic, CancellationToken cancellationToken)
    {
        var root = (await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false))!;
        var model = (await document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false))!;
        var creationSyntax = (ExpressionSyntax)root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true);
        if (model.GetOperation(creationSyntax, cancellationToken) is not IArrayCreationOperation creation
            || creation.Parent is not IVariableInitializerOperation { Parent: IVariableDeclaratorOperation declarator }
            || creationSyntax.FirstAncestorOrSelf<LocalDeclarationStatementSyntax>() is not { } statement)
        {
            return document;
        }

        var local = declarator.Symbol;
        var operationRoot = (IOperation)creation;
        while (operationRoot.Parent is not null)
            operationRoot = operationRoot.Parent;
        var uses = SpanUses.Classify(local, operationRoot, FunctionOf(creation, local));
        if (uses is null)
            return document;

        var element = ((IArrayTypeSymbol)creation.Type!).ElementType;
        var elementText = element.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat);
        var editor = await DocumentEditor.CreateAsync(document, cancellationToken).ConfigureAwait(false);

        // The declaration: Span<T> x = stackalloc T[N] / stackalloc T[] { … }.
        var rank = creationSyntax is ArrayCreationExpressionSyntax explicitCreation ? explicitCreation.Type.RankSpecifiers[0].ToString() : "[]";
        var initializer = creationSyntax switch
        {
            ArrayCreationExpressionSyntax { Initializer: { } init } => " " + init.ToString(),
            ImplicitArrayCreationExpressionSyntax implicitCreation => " " + implicitCreation.Initializer.ToString(),
            _ => string.Empty,
        };
        var stackAllocation = SyntaxFactory.ParseExpression($"stackalloc {elementText}{rank}{initializer}").WithTriviaFrom(creationSyntax);
        editor.ReplaceNode(creationSyntax, stackAllocation);
        editor.ReplaceNode(statement.Declaration.Type,
            SyntaxFactory.ParseTypeName($"Span<{elementText}>").WithTriviaFrom(statement.Declaration.Type));

        if (diagnostic.Properties.ContainsKey(StackallocCandidateAnalyzer.SkipLocalsInitProperty))
        {
            var clear = SyntaxFactory.ParseStatement($"{local.Name}.Clear();")
                .WithLeadingTrivia(statement.GetLeadingTrivia().Where(t => t.IsKind(SyntaxKind.WhitespaceTrivia)))
                .WithTrailingTrivia(statement.GetTrailingTrivia());
            editor.InsertAfter(statement, clear);
        }

        foreach (var use in uses)
        {
            if (use.Rewrite != SpanRewrite.None && use.Operation is IInvocationOperation invocation && invocation.Syntax is InvocationExpressionSyntax call)
                editor.ReplaceNode(call, Rewrite(invocation, call, use.Rewrite, local).WithTriviaFrom(call));
            else if (use.Rewrite != SpanRewrite.None && use.Operation is IObjectCreationOperation { Syntax: ObjectCreationExpressionSyntax creationCall } objectCreation)
                editor.ReplaceNode(creationCall, RewriteArguments(objectCreation.Arguments, creationCall, use.Rewrite, local).WithTriviaFrom(creationCall));
        }

        var newRoot = editor.GetChangedRoot();
        if (newRoot is CompilationUnitSyntax unit && !SpanInScope(model, statement.SpanStart))
            newRoot = unit.AddUsings(SyntaxFactory.UsingDirective(SyntaxFactory.ParseName("System")).WithTrailingTrivia(SyntaxFactory.ElasticCarriageReturnLineFeed));
        return document.WithSyntaxRoot(newRoot);
    }

    private static ISymbol FunctionOf(IOperation operation, ILocalSymbol local)
    {
        for (var p = operation.Parent; p is not null; p = p.Parent)
        {
            if (p is IAnonymousFunctionOperation lambda)
                return lambda.Symbol;
            if (p is ILocalFunctionOperation localFunction)
                return localFunction.Symbol;
        }

        return local.ContainingSymbol;
    }

    private static bool SpanInScope(SemanticModel model, int position)
    {
        foreach (var symbol in model.LookupNamespacesAndTypes(position, name: "Span"))
        {
            if (symbol is INamedTypeSymbol { Arity: 1, ContainingNamespace.Name: "System" })
                return true;
        }

        return false;
    }

    private static ExpressionSyntax Rewrite(IInvocationOperation invocation, InvocationExpressionSyntax call, SpanRewrite rewrite, ILocalSymbol local)
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
    private static TExpression RewriteArguments<TExpression>(ImmutableArray<IArgumentOperation> arguments, TExpression call, SpanRewrite rewrite, ILocalSymbol local)
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

        var newArguments = list.Arguments.ToList();
        newArguments.RemoveRange(at + 1, removed);
        newArguments[at] = SyntaxFactory.Argument(SyntaxFactory.ParseExpression(slice)).WithTriviaFrom(newArguments[at]);
        var newList = list.WithArguments(SyntaxFactory.SeparatedList(newArguments));
        return call.ReplaceNode(list, newList);
    }

    private static bool IsZero(ExpressionSyntax expression) => expression is LiteralExpressionSyntax { Token.Value: 0 };

    private static bool IsLengthOf(ExpressionSyntax expression, string name)
        => expression is MemberAccessExpressionSyntax { Name.Identifier.ValueText: "Length", Expression: IdentifierNameSyntax owner } && owner.Identifier.ValueText == name;

    private static string Text(ImmutableArray<IArgumentOperation> arguments, int ordinal)
        => SpanUses.TryArgument(arguments, ordinal, out var value) ? value.Syntax.ToString() : string.Empty;
}
