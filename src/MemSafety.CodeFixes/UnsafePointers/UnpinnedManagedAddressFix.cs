using System.Collections.Generic;
using System.Composition;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Provenance;
using MemSafety.Analyzers.Rules.UnsafePointers;
using MemSafety.CodeFixes.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Formatting;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.CodeFixes.UnsafePointers;

/// <summary>
/// MSA5003: takes the pointer with a fixed statement instead, whose block covers every use, so the object stays
/// pinned while they run. Two shapes: a pointer local (<c>int* p = (int*)Unsafe.AsPointer(ref a[0]);</c> and the
/// statements after it in the same list that use it) becomes <c>fixed (int* p = &amp;a[0]) { … }</c>; a statement
/// that passes the pointer to a call (<c>Use(Unsafe.AsPointer(ref _f));</c>) becomes
/// <c>fixed (void* p = &amp;_f) { Use(p); }</c>. Offered only when every escape is such a use inside those statements
/// (a returned or stored pointer outlives any fixed block), the pointed-to type is unmanaged (so <c>&amp;x</c> compiles
/// without CS8500), the local is never written (fixed locals are read-only), and the moved statements can move
/// (<see cref="FixedWidening.ExtendOverDeclarations"/>).
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(UnpinnedManagedAddressFix)), Shared]
public sealed class UnpinnedManagedAddressFix : MemSafetyCodeFix
{
    private const string Title = "Pin with a fixed statement around the uses of the pointer";

    public UnpinnedManagedAddressFix()
        : base(RuleIdentifiers.UnpinnedManagedAddress)
    {
    }

    private protected override async Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
    {
        InvocationExpressionSyntax? call = null;
        foreach (var candidate in node.DescendantNodesAndSelf())
        {
            if (candidate is InvocationExpressionSyntax invocation && invocation.Span == diagnostic.Location.SourceSpan)
            {
                call = invocation;
                break;
            }
        }

        if (call is null || call.ArgumentList.Arguments.Count != 1 || call.ArgumentList.Arguments[0] is not { RefKindKeyword.RawKind: (int)SyntaxKind.RefKeyword } argument)
            return;
        var model = await request.GetSemanticModelAsync().ConfigureAwait(false);
        var ct = request.CancellationToken;
        if (model.GetOperation(call, ct) is not IInvocationOperation { Arguments.Length: 1 } operation
            || operation.Arguments[0].Value.Type is not { IsUnmanagedType: true } pointedType
            || PointerProvenance.Of(operation, ct) is not { } provenance)
        {
            return;
        }

        var escapes = new List<PointerEscape>();
        foreach (var escape in provenance.EscapesOf(call))
        {
            if (escape.Kind is not (PointerEscapeKind.PassedToCall or PointerEscapeKind.UsedInLaterStatement))
                return;
            escapes.Add(escape);
        }

        if (escapes.Count == 0)
            return;

        var document = request.Document;
        if (PointerLocal(call) is { } declaration)
        {
            var plan = PlanLocal(declaration, argument, pointedType, escapes, model, ct);
            if (plan is { } p)
                request.Register(Title, c => WrapLocalAsync(document, declaration, p.Type, argument.Expression, p.Last, c), diagnostic, RuleIdentifiers.UnpinnedManagedAddress);
            return;
        }

        // A statement that uses the pointer only within itself (passing it to a call).
        var statement = call.FirstAncestorOrSelf<StatementSyntax>();
        if (statement is not (ExpressionStatementSyntax or ReturnStatementSyntax))
            return;
        foreach (var escape in escapes)
        {
            if (!statement.Span.Contains(escape.Site.Span))
                return;
        }

        foreach (var other in statement.DescendantNodes())
        {
            if (other is InvocationExpressionSyntax nested && nested != call && IsAsPointer(nested))
                return;
        }

        var name = FreeName(model, statement);
        if (name is null)
            return;
        request.Register(Title, c => WrapStatementAsync(document, statement, call, argument.Expression, name, c), diagnostic, RuleIdentifiers.UnpinnedManagedAddress);
    }

    private static bool IsAsPointer(InvocationExpressionSyntax call) => call.Expression switch
    {
        MemberAccessExpressionSyntax member => member.Name.Identifier.ValueText == "AsPointer",
        SimpleNameSyntax simple => simple.Identifier.ValueText == "AsPointer",
        _ => false,
    };

    /// <summary>The declaration <c>T* p = (T*)Unsafe.AsPointer(ref x);</c> (one declarator, in a block) the call initializes.</summary>
    private static LocalDeclarationStatementSyntax? PointerLocal(InvocationExpressionSyntax call)
    {
        SyntaxNode value = call;
        while (value.Parent is CastExpressionSyntax or ParenthesizedExpressionSyntax)
            value = value.Parent;
        return value.Parent is EqualsValueClauseSyntax { Parent: VariableDeclaratorSyntax { Parent: VariableDeclarationSyntax { Variables.Count: 1, Parent: LocalDeclarationStatementSyntax declaration } } }
            && declaration.Parent is BlockSyntax && declaration.UsingKeyword.IsKind(SyntaxKind.None) && declaration.Modifiers.Count == 0
            ? declaration
            : null;
    }

    private readonly struct LocalPlan
    {
        public LocalPlan(TypeSyntax type, int last)
        {
            Type = type;
            Last = last;
        }

        public TypeSyntax Type { get; }

        public int Last { get; }
    }

    private static LocalPlan? PlanLocal(LocalDeclarationStatementSyntax declaration, ArgumentSyntax argument, ITypeSymbol pointedType,
        List<PointerEscape> escapes, SemanticModel model, CancellationToken ct)
    {
        var declarator = declaration.Declaration.Variables[0];
        if (model.GetDeclaredSymbol(declarator, ct) is not ILocalSymbol { Type: IPointerTypeSymbol pointer } local)
            return null;
        // fixed (T* p = &x) needs &x to convert to T* implicitly: the same type, or void*.
        if (pointer.PointedAtType.SpecialType != SpecialType.System_Void && !SymbolEqualityComparer.Default.Equals(pointer.PointedAtType, pointedType))
            return null;
        var type = declaration.Declaration.Type.IsVar
            ? (TypeSyntax)SyntaxFactory.ParseTypeName(pointer.ToMinimalDisplayString(model, declaration.SpanStart))
            : declaration.Declaration.Type;
        var block = (BlockSyntax)declaration.Parent!;
        var statements = block.Statements;
        var index = statements.IndexOf(declaration);
        var name = declarator.Identifier.ValueText;
        var last = index;
        for (var i = 0; i < statements.Count; i++)
        {
            foreach (var identifier in statements[i].DescendantNodes())
            {
                if (identifier is not IdentifierNameSyntax { Identifier.ValueText: var text } || text != name
                    || !SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(identifier, ct).Symbol, local))
                {
                    continue;
                }

                // A fixed local is read-only, and a use outside the list (a local function before it) cannot move.
                if (i <= index || IsWritten((IdentifierNameSyntax)identifier))
                    return null;
                if (i > last)
                    last = i;
            }
        }

        foreach (var escape in escapes)
        {
            var at = IndexIn(statements, escape.Site);
            if (at < index)
                return null;
            if (at > last)
                last = at;
        }

        if (last == index)
            return null;
        last = FixedWidening.ExtendOverDeclarations(statements, index, last, new[] { name });
        return last < 0 ? null : new LocalPlan(type, last);
    }

    private static int IndexIn(SyntaxList<StatementSyntax> statements, SyntaxNode node)
    {
        for (var current = node; current is not null; current = current.Parent)
        {
            if (current is StatementSyntax statement && statement.Parent is BlockSyntax block && block.Statements == statements)
                return statements.IndexOf(statement);
        }

        return -1;
    }

    private static bool IsWritten(IdentifierNameSyntax identifier)
    {
        var parent = identifier.Parent;
        return parent switch
        {
            AssignmentExpressionSyntax assignment => assignment.Left == identifier,
            PrefixUnaryExpressionSyntax prefix => prefix.Kind() is SyntaxKind.PreIncrementExpression or SyntaxKind.PreDecrementExpression or SyntaxKind.AddressOfExpression,
            PostfixUnaryExpressionSyntax => true,
            ArgumentSyntax arg => !arg.RefKindKeyword.IsKind(SyntaxKind.None),
            RefExpressionSyntax => true,
            _ => false,
        };
    }

    private static string? FreeName(SemanticModel model, StatementSyntax statement)
    {
        var declaredInside = new HashSet<string>();
        foreach (var node in statement.DescendantNodes())
        {
            if (node is VariableDeclaratorSyntax v)
                declaredInside.Add(v.Identifier.ValueText);
            else if (node is SingleVariableDesignationSyntax d)
                declaredInside.Add(d.Identifier.ValueText);
            else if (node is ParameterSyntax parameter)
                declaredInside.Add(parameter.Identifier.ValueText);
        }

        foreach (var candidate in new[] { "p", "pointer", "pinned", "address" })
        {
            if (!declaredInside.Contains(candidate) && model.LookupSymbols(statement.SpanStart, name: candidate).IsEmpty)
                return candidate;
        }

        return null;
    }

    private static FixedStatementSyntax Fixed(TypeSyntax type, string name, ExpressionSyntax target, StatementSyntax body)
        => SyntaxFactory.FixedStatement(
            SyntaxFactory.VariableDeclaration(
                type.WithoutTrivia().WithTrailingTrivia(SyntaxFactory.Space),
                SyntaxFactory.SingletonSeparatedList(
                    SyntaxFactory.VariableDeclarator(SyntaxFactory.Identifier(name))
                        .WithInitializer(SyntaxFactory.EqualsValueClause(
                            SyntaxFactory.PrefixUnaryExpression(SyntaxKind.AddressOfExpression, Parenthesized(target.WithoutTrivia())))))),
            body);

    /// <summary><c>&amp;a[0]</c>, <c>&amp;o.f</c>, <c>&amp;M(…)</c> bind as written; anything else is parenthesized.</summary>
    private static ExpressionSyntax Parenthesized(ExpressionSyntax target)
        => target is ElementAccessExpressionSyntax or MemberAccessExpressionSyntax or InvocationExpressionSyntax or IdentifierNameSyntax
            ? target
            : SyntaxFactory.ParenthesizedExpression(target);

    private static async Task<Document> WrapLocalAsync(Document document, LocalDeclarationStatementSyntax declaration, TypeSyntax type, ExpressionSyntax target, int last, CancellationToken cancellationToken)
    {
        var root = (await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false))!;
        var block = (BlockSyntax)declaration.Parent!;
        var statements = block.Statements;
        var index = statements.IndexOf(declaration);
        var body = new List<StatementSyntax>();
        for (var i = index + 1; i <= last; i++)
            body.Add(statements[i]);
        var name = declaration.Declaration.Variables[0].Identifier.ValueText;
        var statement = Fixed(type, name, target, SyntaxFactory.Block(body))
            .WithLeadingTrivia(declaration.GetLeadingTrivia())
            .WithTrailingTrivia(statements[last].GetTrailingTrivia())
            .WithAdditionalAnnotations(Formatter.Annotation);
        var rebuilt = new List<StatementSyntax>();
        for (var i = 0; i < statements.Count; i++)
        {
            if (i == index)
                rebuilt.Add(statement);
            else if (i < index || i > last)
                rebuilt.Add(statements[i]);
        }

        var newRoot = root.ReplaceNode(block, block.WithStatements(SyntaxFactory.List(rebuilt)));
        return await Formatter.FormatAsync(document.WithSyntaxRoot(newRoot), Formatter.Annotation, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private static async Task<Document> WrapStatementAsync(Document document, StatementSyntax statement, InvocationExpressionSyntax call, ExpressionSyntax target, string name, CancellationToken cancellationToken)
    {
        var root = (await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false))!;
        // The pointer keeps the call's type, void*, so overload resolution of the calls it is passed to does not change.
        var inner = statement.ReplaceNode(call, SyntaxFactory.IdentifierName(name).WithTriviaFrom(call)).WithoutLeadingTrivia().WithoutTrailingTrivia();
        var voidPointer = SyntaxFactory.PointerType(SyntaxFactory.PredefinedType(SyntaxFactory.Token(SyntaxKind.VoidKeyword)));
        var replacement = Fixed(voidPointer, name, target, SyntaxFactory.Block(inner))
            .WithLeadingTrivia(statement.GetLeadingTrivia())
            .WithTrailingTrivia(statement.GetTrailingTrivia())
            .WithAdditionalAnnotations(Formatter.Annotation);
        var newRoot = root.ReplaceNode(statement, replacement);
        return await Formatter.FormatAsync(document.WithSyntaxRoot(newRoot), Formatter.Annotation, cancellationToken: cancellationToken).ConfigureAwait(false);
    }
}
