using System.Composition;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Concurrency;
using MemSafety.CodeFixes.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;
using static Microsoft.CodeAnalysis.CSharp.SyntaxFactory;

namespace MemSafety.CodeFixes.SharedState;

/// <summary>
/// MSA6006, where the pair maps exactly onto one atomic call:
/// <list type="bullet">
/// <item><c>if (!d.ContainsKey(k)) d[k] = v;</c> (v a local, parameter, constant or field) becomes <c>d.TryAdd(k, v);</c>.</item>
/// <item><c>if (!d.TryGetValue(k, out var v)) { v = expr; d[k] = v; }</c> (or <c>d.TryAdd(k, v);</c>) becomes
/// <c>var v = d.GetOrAdd(k, _ =&gt; expr);</c>: <c>expr</c> runs only when the key is missing, as before.</item>
/// <item><c>if (q.Count &gt; 0) { q.TryDequeue(out var x); … }</c> (and <c>while</c>, <c>!q.IsEmpty</c>, TryTake/TryPop/TryPeek)
/// becomes <c>if (q.TryDequeue(out var x)) { … }</c>.</item>
/// </list>
/// On one thread each does what the pair did; with others, the one call cannot be split. Nothing is offered for other
/// shapes (an <c>else</c>, more statements, a value with side effects that would now run when the key exists).
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(CheckThenActFix)), Shared]
public sealed class CheckThenActFix : MemSafetyCodeFix
{
    public CheckThenActFix()
        : base(RuleIdentifiers.CheckThenActOnConcurrentCollection)
    {
    }

    private protected override async Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
    {
        var model = await request.GetSemanticModelAsync().ConfigureAwait(false);
        if (Plan(node, model, request.CancellationToken) is not { } plan)
            return;
        var document = request.Document;
        request.Register(plan.Title, async ct =>
        {
            var root = await document.GetSyntaxRootAsync(ct).ConfigureAwait(false);
            var current = root!.FindNode(plan.Statement.Span);
            return document.WithSyntaxRoot(root.ReplaceNode(current, plan.Replacement.WithTriviaFrom(current)));
        }, diagnostic);
    }

    private sealed class FixPlan
    {
        public FixPlan(string title, StatementSyntax statement, StatementSyntax replacement)
        {
            Title = title;
            Statement = statement;
            Replacement = replacement;
        }

        public string Title { get; }

        public StatementSyntax Statement { get; }

        public StatementSyntax Replacement { get; }
    }

    private static FixPlan? Plan(SyntaxNode node, SemanticModel model, CancellationToken cancellationToken)
    {
        var statement = node.FirstAncestorOrSelf<StatementSyntax>();
        if (statement is not (IfStatementSyntax or WhileStatementSyntax))
            return null;
        var collections = CheckThenAct.Of(model.Compilation);
        var pair = model.GetOperation(statement, cancellationToken) switch
        {
            IConditionalOperation conditional => collections.Find(conditional.Condition, conditional.WhenTrue, conditional.WhenFalse),
            IWhileLoopOperation { Condition: { } condition } loop => collections.Find(condition, loop.Body, null),
            _ => null,
        };
        if (pair is null || pair.Check.Syntax.Span != node.Span && !pair.Check.Syntax.Span.Contains(node.Span))
            return null;

        return pair.Kind == CheckThenActKind.IgnoredTakeAfterCount ? PlanTake(pair, statement) : PlanAdd(pair, statement, model, cancellationToken);
    }

    private static FixPlan? PlanTake(CheckThenActPair pair, StatementSyntax statement)
    {
        if (pair.Branch is not IBlockOperation { Operations: { Length: > 1 } operations } || operations[0] != pair.ActStatement
            || pair.Act.Syntax is not InvocationExpressionSyntax take || pair.ActStatement.Syntax is not ExpressionStatementSyntax takeStatement)
        {
            return null;
        }

        var block = (BlockSyntax)pair.Branch.Syntax;
        var newBlock = block.RemoveNode(takeStatement, SyntaxRemoveOptions.KeepNoTrivia)!;
        var name = ((IInvocationOperation)pair.Act).TargetMethod.Name;
        if (statement is WhileStatementSyntax loop)
            return new FixPlan("Loop on " + name, statement, loop.WithCondition(take.WithoutTrivia()).WithStatement(newBlock));

        var ifStatement = (IfStatementSyntax)statement;

        // An out variable declared in an if's condition is in scope in the enclosing block: another of that name there would clash.
        foreach (var argument in take.ArgumentList.Arguments)
        {
            if (argument.Expression is DeclarationExpressionSyntax { Designation: SingleVariableDesignationSyntax designation }
                && ifStatement.Parent is { } parent && DeclaresElsewhere(parent, designation.Identifier.ValueText, designation))
            {
                return null;
            }
        }

        return new FixPlan("Test the result of " + name, statement, ifStatement.WithCondition(take.WithoutTrivia()).WithStatement(newBlock));
    }

    private static bool DeclaresElsewhere(SyntaxNode scope, string name, SyntaxNode except)
    {
        foreach (var node in scope.DescendantNodes())
        {
            if (node != except
                && (node is SingleVariableDesignationSyntax { Identifier.ValueText: var d } && d == name
                    || node is VariableDeclaratorSyntax { Identifier.ValueText: var v } && v == name
                    || node is ForEachStatementSyntax { Identifier.ValueText: var f } && f == name))
            {
                return true;
            }
        }

        return false;
    }

    private static FixPlan? PlanAdd(CheckThenActPair pair, StatementSyntax statement, SemanticModel model, CancellationToken cancellationToken)
    {
        if (statement is not IfStatementSyntax { Else: null } ifStatement || pair.Check is not IInvocationOperation lookup
            || pair.Collection.Syntax is not ExpressionSyntax collection || lookup.Arguments[0].Value.Syntax is not ExpressionSyntax key)
        {
            return null;
        }

        var statements = pair.Branch is IBlockOperation block ? block.Operations : System.Collections.Immutable.ImmutableArray.Create(pair.Branch);
        var value = pair.Act switch
        {
            ISimpleAssignmentOperation assignment => assignment.Value,
            IInvocationOperation tryAdd => tryAdd.Arguments[1].Value,
            _ => null,
        };
        if (value is null)
            return null;

        if (lookup.TargetMethod.Name == "ContainsKey")
        {
            // d[k] = v alone: TryAdd(k, v) evaluates v whether or not the key is there, so v must be free of effects.
            if (statements.Length != 1 || pair.Kind != CheckThenActKind.SetAfterMissingKey || !IsPlainValue(CheckThenAct.Unwrap(value)))
                return null;
            var tryAdd = ExpressionStatement(InvocationExpression(
                MemberAccessExpression(SyntaxKind.SimpleMemberAccessExpression, collection.WithoutTrivia(), IdentifierName("TryAdd")),
                ArgumentList(SeparatedList(new[] { Argument(key.WithoutTrivia()), Argument(((ExpressionSyntax)value.Syntax).WithoutTrivia()) }))));
            return new FixPlan("Use TryAdd", statement, tryAdd);
        }

        // if (!d.TryGetValue(k, out v)) { v = expr; d[k] = v; } -> v = d.GetOrAdd(k, _ => expr);
        if (statements.Length != 2 || statements[1] != pair.ActStatement
            || statements[0] is not IExpressionStatementOperation { Operation: ISimpleAssignmentOperation { Target: ILocalReferenceOperation target, Value: var produced } }
            || CheckThenAct.Unwrap(value) is not ILocalReferenceOperation stored || !SymbolEqualityComparer.Default.Equals(stored.Local, target.Local)
            || lookup.Arguments[1].Syntax is not ArgumentSyntax outArgument
            || produced.Syntax is not ExpressionSyntax factory
            || !FitsInLambda(produced, target.Local)
            || model.GetEnclosingSymbol(statement.SpanStart, cancellationToken)?.ContainingType is { IsValueType: true }
            || ifStatement.Parent is not BlockSyntax)
        {
            return null;
        }

        var getOrAdd = InvocationExpression(
            MemberAccessExpression(SyntaxKind.SimpleMemberAccessExpression, collection.WithoutTrivia(), IdentifierName("GetOrAdd")),
            ArgumentList(SeparatedList(new[]
            {
                Argument(key.WithoutTrivia()),
                Argument(SimpleLambdaExpression(Parameter(Identifier("_")), factory.WithoutTrivia())),
            })));
        StatementSyntax replacement = outArgument.Expression switch
        {
            DeclarationExpressionSyntax { Type: var type, Designation: SingleVariableDesignationSyntax designation } => LocalDeclarationStatement(
                VariableDeclaration(type.WithoutTrivia(), SingletonSeparatedList(VariableDeclarator(designation.Identifier.WithoutTrivia()).WithInitializer(EqualsValueClause(getOrAdd))))),
            IdentifierNameSyntax name => ExpressionStatement(AssignmentExpression(SyntaxKind.SimpleAssignmentExpression, name.WithoutTrivia(), getOrAdd)),
            _ => null!,
        };
        if (replacement is null)
            return null;
        return new FixPlan("Use GetOrAdd", statement, replacement.WithAdditionalAnnotations(Microsoft.CodeAnalysis.Formatting.Formatter.Annotation));
    }

    private static bool IsPlainValue(IOperation? value) => value is ILocalReferenceOperation or IParameterReferenceOperation or ILiteralOperation
        or IFieldReferenceOperation { Instance: null or IInstanceReferenceOperation } or IDefaultValueOperation || value?.ConstantValue.HasValue == true;

    // The factory moves into a lambda: no await, no ref/out/in use, no use of the local it initialises, and no '_' it would shadow.
    private static bool FitsInLambda(IOperation produced, ILocalSymbol local)
    {
        foreach (var node in produced.Syntax.DescendantNodesAndSelf())
        {
            if (node is AwaitExpressionSyntax or RefExpressionSyntax or StackAllocArrayCreationExpressionSyntax
                || node is ArgumentSyntax { RefKindKeyword.RawKind: not 0 }
                || node is IdentifierNameSyntax { Identifier.ValueText: var name } && (name == local.Name || name == "_"))
            {
                return false;
            }
        }

        return true;
    }
}
