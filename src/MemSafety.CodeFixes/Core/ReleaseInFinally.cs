using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Engines.Bodies;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Formatting;

namespace MemSafety.CodeFixes.Core;

/// <summary>
/// The rewrite shared by fixes that make a release run on every path (MSA5007's <c>GCHandle.Free</c>, MSA5008's native
/// free, MSA5009's <c>DangerousRelease</c>, MSA6005's lock release): an acquiring statement and its release are
/// statements of one block, and the statements between them become the protected part of
/// <c>try { … } finally { release; }</c> (or of another statement the fix builds from them, such as <c>lock</c>).
/// </summary>
internal static class ReleaseInFinally
{
    /// <summary>Where the rewrite goes: the acquiring statement and the release (or, when
    /// <see cref="ReleaseIndex"/> is past the last statement, none: the rest of the block is protected and the caller
    /// writes the release).</summary>
    public readonly struct Plan
    {
        public Plan(BlockSyntax block, int acquireIndex, int releaseIndex, ILocalSymbol? local, List<int>? hoisted)
        {
            Block = block;
            AcquireIndex = acquireIndex;
            ReleaseIndex = releaseIndex;
            Local = local;
            Hoisted = hoisted;
        }

        /// <summary>Declarations between the acquire and the release whose locals are used after it: declared before
        /// the try, assigned where they stood.</summary>
        public List<int>? Hoisted { get; }

        public BlockSyntax Block { get; }
        public int AcquireIndex { get; }
        public int ReleaseIndex { get; }

        /// <summary>The local the acquire stores into; null for an acquiring statement (<see cref="PlanForStatements"/>).</summary>
        public ILocalSymbol? Local { get; }

        /// <summary>No release statement exists: the caller supplies one, put after the block's last statement.</summary>
        public bool WritesRelease => ReleaseIndex == Block.Statements.Count;
    }

    /// <summary>
    /// The plan for an acquiring call (<c>var h = Acquire(…);</c> or <c>h = Acquire(…);</c>, casts looked through) whose
    /// local has one release in the member, <paramref name="isRelease"/>, as a statement of the same block after it:
    /// the statements between are protected. Without any release, when <paramref name="releaseAtEnd"/>, and every use
    /// of the local lies in the statements after it in that block, the rest of the block is. Null when the local is
    /// assigned or passed by reference in the protected statements, when a local declared there is used after them,
    /// when they hold a label, or (with <paramref name="refuseValueReturns"/>) a <c>return</c> of a non-constant value.
    /// With <paramref name="hoistDeclarations"/>, a local declared by a statement between them (one variable, a type
    /// that can be written, not <c>const</c>, <c>ref</c> or <c>using</c>) and used after is declared before the try instead.
    /// </summary>
    public static Plan? PlanFor(InvocationExpressionSyntax call, SemanticModel model, Func<InvocationExpressionSyntax, ILocalSymbol, bool> isRelease,
        bool releaseAtEnd, bool refuseValueReturns, CancellationToken cancellationToken, bool hoistDeclarations = false)
    {
        SyntaxNode value = call;
        while (value.Parent is CastExpressionSyntax or ParenthesizedExpressionSyntax)
            value = value.Parent;

        // The statement that acquires into the local.
        StatementSyntax acquire;
        ISymbol? symbol;
        switch (value.Parent)
        {
            case EqualsValueClauseSyntax { Parent: VariableDeclaratorSyntax declarator }
                when declarator.Parent is VariableDeclarationSyntax { Variables.Count: 1, Parent: LocalDeclarationStatementSyntax declaration }:
                acquire = declaration;
                symbol = model.GetDeclaredSymbol(declarator, cancellationToken);
                break;
            case AssignmentExpressionSyntax { Parent: ExpressionStatementSyntax statement } assignment
                when assignment.IsKind(SyntaxKind.SimpleAssignmentExpression) && assignment.Right == value:
                acquire = statement;
                symbol = model.GetSymbolInfo(assignment.Left, cancellationToken).Symbol;
                break;
            default:
                return null;
        }

        if (symbol is not ILocalSymbol local || acquire.Parent is not BlockSyntax block)
            return null;

        // The member's only release of the local, a statement of the same block after the acquisition.
        var body = (SyntaxNode?)block.FirstAncestorOrSelf<MemberDeclarationSyntax>() ?? block;
        StatementSyntax? release = null;
        foreach (var node in body.DescendantNodes())
        {
            if (node is InvocationExpressionSyntax invocation && isRelease(invocation, local))
            {
                if (release is not null || invocation.Parent is not ExpressionStatementSyntax statement || statement.Parent != block)
                    return null;
                release = statement;
            }
        }

        var statements = block.Statements;
        int from = statements.IndexOf(acquire), to;
        if (release is not null)
        {
            to = statements.IndexOf(release);
        }
        else
        {
            if (!releaseAtEnd)
                return null;
            to = statements.Count;
            // Every use of the local lies in the rest of the block, which the finally will follow.
            var rest = TextSpan(statements, from + 1, to);
            foreach (var node in body.DescendantNodes())
            {
                if (node is IdentifierNameSyntax name && name.Identifier.ValueText == local.Name && !rest.Contains(name.Span)
                    && !acquire.Span.Contains(name.Span) && SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(name, cancellationToken).Symbol, local))
                {
                    return null;
                }
            }
        }

        if (from < 0 || to <= from + 1 || !CanProtect(block, from, to, local, refuseValueReturns, refuseJumpsOut: false, hoistDeclarations, model, cancellationToken, out var hoisted))
            return null;
        return new Plan(block, from, to, local, hoisted);
    }

    /// <summary>
    /// The plan for an acquire and its release that are both statements of one block (<c>h.DangerousAddRef(ref added);</c>
    /// … <c>h.DangerousRelease();</c>), the statements between protected. Null on the conditions of
    /// <see cref="PlanFor"/>, with <paramref name="acquired"/> (the receiver's local, parameter or field) as the local that
    /// must not be assigned or passed by reference between them, and also when a statement between leaves them by
    /// <c>return</c>, <c>goto</c>, <c>yield break</c> or a <c>break</c>/<c>continue</c> of an enclosing loop: the original
    /// skips the release there, maybe on purpose (the count or lock handed on), and the finally would not. A <c>throw</c>
    /// is kept: it skips the release as any exception does, the path the fix is for.
    /// </summary>
    public static Plan? PlanForStatements(StatementSyntax acquire, StatementSyntax release, ISymbol? acquired, bool hoistDeclarations,
        SemanticModel model, CancellationToken cancellationToken)
    {
        if (acquire.Parent is not BlockSyntax block || release.Parent != block)
            return null;
        var statements = block.Statements;
        int from = statements.IndexOf(acquire), to = statements.IndexOf(release);
        if (from < 0 || to <= from + 1
            || !CanProtect(block, from, to, acquired, refuseValueReturns: false, refuseJumpsOut: true, hoistDeclarations, model, cancellationToken, out var hoisted))
        {
            return null;
        }

        return new Plan(block, from, to, null, hoisted);
    }

    /// <summary>Whether the statements strictly between <paramref name="from"/> and <paramref name="to"/> can become the
    /// protected block of a try: see <see cref="PlanFor"/> and <see cref="PlanForStatements"/>. <paramref name="hoisted"/>
    /// lists the declarations to move before the try.</summary>
    private static bool CanProtect(BlockSyntax block, int from, int to, ISymbol? acquired, bool refuseValueReturns, bool refuseJumpsOut,
        bool hoistDeclarations, SemanticModel model, CancellationToken cancellationToken, out List<int>? hoisted)
    {
        hoisted = null;
        var statements = block.Statements;
        var protectedSpan = TextSpan(statements, from + 1, to);
        var declared = new HashSet<ISymbol>(SymbolEqualityComparer.Default);
        for (var i = from + 1; i < to; i++)
        {
            foreach (var inner in statements[i].DescendantNodesAndSelf(n => n is not (AnonymousFunctionExpressionSyntax or LocalFunctionStatementSyntax)))
            {
                switch (inner)
                {
                    case LabeledStatementSyntax:
                        return false;
                    case ReturnStatementSyntax { Expression: { } returned } when refuseValueReturns && model.GetConstantValue(returned, cancellationToken) is not { HasValue: true }:
                        return false;
                    case ReturnStatementSyntax or GotoStatementSyntax or YieldStatementSyntax { RawKind: (int)SyntaxKind.YieldBreakStatement } when refuseJumpsOut:
                        return false;
                    case BreakStatementSyntax or ContinueStatementSyntax when refuseJumpsOut && !protectedSpan.Contains(ReleaseRegions.JumpTarget(inner)?.Span ?? default):
                        return false;
                    case AssignmentExpressionSyntax assignment
                        when acquired is not null && SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(assignment.Left, cancellationToken).Symbol, acquired):
                        return false;
                    case ArgumentSyntax { RefKindKeyword.RawKind: not 0 } argument
                        when acquired is not null && SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(argument.Expression, cancellationToken).Symbol, acquired):
                        return false;
                    case VariableDeclaratorSyntax or SingleVariableDesignationSyntax or LocalFunctionStatementSyntax
                        when model.GetDeclaredSymbol(inner, cancellationToken) is { } declaredSymbol:
                        declared.Add(declaredSymbol);
                        break;
                }
            }
        }

        if (!DeclaredBetweenUsedAfter(block, to, declared, model, cancellationToken))
            return true;
        if (!hoistDeclarations)
            return false;
        hoisted = new List<int>();
        var hoistable = new HashSet<ISymbol>(SymbolEqualityComparer.Default);
        for (var i = from + 1; i < to; i++)
        {
            if (statements[i] is LocalDeclarationStatementSyntax { Declaration.Variables.Count: 1, UsingKeyword.RawKind: 0 } declaration
                && !declaration.IsConst && declaration.Declaration.Type is not RefTypeSyntax
                && model.GetDeclaredSymbol(declaration.Declaration.Variables[0], cancellationToken) is ILocalSymbol { Type.IsAnonymousType: false, IsRef: false } hoistedLocal
                && hoistedLocal.Type.TypeKind != TypeKind.Error && !hoistedLocal.Type.IsRefLikeType)
            {
                hoisted.Add(i);
                hoistable.Add(hoistedLocal);
            }
        }

        declared.ExceptWith(hoistable);
        return !DeclaredBetweenUsedAfter(block, to, declared, model, cancellationToken);
    }

    /// <summary>Offers the rewrite (under <paramref name="title"/>, the diagnostic's id as its key) when
    /// <paramref name="planFor"/> makes a plan for <paramref name="call"/>; <see cref="ApplyAsync"/> plans again on the
    /// document it is applied to.</summary>
    public static async Task RegisterAsync(FixRequest request, Diagnostic diagnostic, InvocationExpressionSyntax call, string title,
        Func<InvocationExpressionSyntax, SemanticModel, CancellationToken, Plan?> planFor)
    {
        var model = await request.GetSemanticModelAsync().ConfigureAwait(false);
        if (planFor(call, model, request.CancellationToken) is null)
            return;
        var document = request.Document;
        var span = call.Span;
        request.Register(title, ct => ApplyAsync(document, span, planFor, ct), diagnostic);
    }

    /// <summary>The document with the plan that <paramref name="planFor"/> makes for the call at <paramref name="span"/>
    /// applied, its release being the plan's release statement (moved into the finally); unchanged when no plan is made
    /// there any longer.</summary>
    public static async Task<Document> ApplyAsync(Document document, Microsoft.CodeAnalysis.Text.TextSpan span,
        Func<InvocationExpressionSyntax, SemanticModel, CancellationToken, Plan?> planFor, CancellationToken cancellationToken)
    {
        var read = await FixDocument.ReadAsync(document, cancellationToken).ConfigureAwait(false);
        if (read.FindNode(span).FirstAncestorOrSelf<InvocationExpressionSyntax>() is not { } call || planFor(call, read.Model, cancellationToken) is not { } plan)
            return document;

        var newBlock = Rewrite(plan, plan.Block.Statements[plan.ReleaseIndex], read.Model);
        var root = read.Root.ReplaceNode(plan.Block, newBlock);
        return await Formatter.FormatAsync(document.WithSyntaxRoot(root), Formatter.Annotation, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The acquiring statement kept, then <c>try { between } finally { release }</c>; the rest of the block as it was.</summary>
    public static BlockSyntax Rewrite(Plan plan, StatementSyntax release, SemanticModel model)
    {
        var statements = plan.Block.Statements;
        var replacement = new List<StatementSyntax> { statements[plan.AcquireIndex] };
        var between = Between(plan.Block, plan.AcquireIndex, plan.ReleaseIndex);
        if (plan.Hoisted is { } hoisted)
        {
            // `T x = init;` becomes `T x;` before the try and `x = init;` where it stood (`var` spelled out).
            for (var h = hoisted.Count - 1; h >= 0; h--)
            {
                var index = hoisted[h] - plan.AcquireIndex - 1;
                var declaration = (LocalDeclarationStatementSyntax)between[index];
                var variable = declaration.Declaration.Variables[0];
                var type = declaration.Declaration.Type;
                if (type.IsVar && model.GetDeclaredSymbol(variable) is ILocalSymbol declared)
                    type = SyntaxFactory.ParseTypeName(declared.Type.ToMinimalDisplayString(model, declaration.SpanStart));
                replacement.Insert(1, SyntaxFactory.LocalDeclarationStatement(SyntaxFactory.VariableDeclaration(type.WithoutTrivia().WithTrailingTrivia(SyntaxFactory.Space),
                    SyntaxFactory.SingletonSeparatedList(SyntaxFactory.VariableDeclarator(variable.Identifier.WithoutTrivia())))).WithAdditionalAnnotations(Formatter.Annotation));
                if (variable.Initializer is { } initializer)
                {
                    between[index] = SyntaxFactory.ExpressionStatement(SyntaxFactory.AssignmentExpression(SyntaxKind.SimpleAssignmentExpression,
                        SyntaxFactory.IdentifierName(variable.Identifier.WithoutTrivia()), initializer.Value.WithoutTrivia())).WithTriviaFrom(declaration);
                }
                else
                {
                    between.RemoveAt(index);
                }
            }
        }

        replacement.Add(TryFinally(between, release).WithLeadingTrivia(SyntaxFactory.ElasticMarker));
        return Replace(plan.Block, plan.AcquireIndex, Math.Min(plan.ReleaseIndex, statements.Count - 1), replacement);
    }

    private static Microsoft.CodeAnalysis.Text.TextSpan TextSpan(SyntaxList<StatementSyntax> statements, int from, int to)
        => from >= to ? default : Microsoft.CodeAnalysis.Text.TextSpan.FromBounds(statements[from].SpanStart, statements[to - 1].Span.End);

    /// <summary>Whether a local or local function declared between the acquire and the release (at
    /// <paramref name="acquireIndex"/> and <paramref name="releaseIndex"/> of <paramref name="block"/>) is used after the
    /// release: moving the statements between into a block would take it out of scope there. <paramref name="declared"/>
    /// holds what the caller found declared between them.</summary>
    public static bool DeclaredBetweenUsedAfter(BlockSyntax block, int releaseIndex, HashSet<ISymbol> declared, SemanticModel model, CancellationToken cancellationToken)
    {
        if (declared.Count == 0)
            return false;
        var statements = block.Statements;
        for (var i = releaseIndex + 1; i < statements.Count; i++)
        {
            foreach (var identifier in statements[i].DescendantNodes())
            {
                if (identifier is IdentifierNameSyntax name && model.GetSymbolInfo(name, cancellationToken).Symbol is { } used && declared.Contains(used))
                    return true;
            }
        }

        return false;
    }

    /// <summary>The statements strictly between the acquire and the release.</summary>
    public static List<StatementSyntax> Between(BlockSyntax block, int acquireIndex, int releaseIndex)
    {
        var statements = block.Statements;
        var inner = new List<StatementSyntax>();
        for (var i = acquireIndex + 1; i < releaseIndex; i++)
            inner.Add(statements[i]);
        return inner;
    }

    /// <summary><c>try { <paramref name="inner"/> } finally { <paramref name="release"/> }</c>, the release without its
    /// leading trivia (its comments stay where the formatter puts the finally block).</summary>
    public static TryStatementSyntax TryFinally(List<StatementSyntax> inner, StatementSyntax release)
        => SyntaxFactory.TryStatement(SyntaxFactory.Block(inner), default, SyntaxFactory.FinallyClause(SyntaxFactory.Block(release.WithoutLeadingTrivia())));

    /// <summary>The block with its statements from the acquire to the release replaced by <paramref name="replacement"/>,
    /// the last of which is marked for the formatter.</summary>
    public static BlockSyntax Replace(BlockSyntax block, int acquireIndex, int releaseIndex, List<StatementSyntax> replacement)
    {
        replacement[replacement.Count - 1] = replacement[replacement.Count - 1].WithAdditionalAnnotations(Formatter.Annotation);
        var statements = block.Statements;
        var newStatements = new List<StatementSyntax>();
        for (var i = 0; i < statements.Count; i++)
        {
            if (i == acquireIndex)
                newStatements.AddRange(replacement);
            else if (i < acquireIndex || i > releaseIndex)
                newStatements.Add(statements[i]);
        }

        return block.WithStatements(SyntaxFactory.List(newStatements));
    }
}
