using System.Collections.Generic;
using System.Globalization;
using MemSafety.Analyzers.Engines.Bodies;
using MemSafety.Analyzers.Rules.Closures;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Formatting;
using Microsoft.CodeAnalysis.Operations;
using static Microsoft.CodeAnalysis.CSharp.SyntaxFactory;

namespace MemSafety.CodeFixes.Closures;

/// <summary>
/// The rewrite the closure fixes share: give some lambdas copies of the variables they capture. For each variable,
/// a <c>var nameCopy = name;</c> declaration (a fresh name, unused where it is declared) and the lambdas' references
/// renamed to the copy; a name an anonymous-type member or tuple element took from the variable is kept explicitly.
/// References inside <c>nameof</c> stay (they are not captures).
/// </summary>
internal static class CaptureCopies
{
    /// <summary>Returns <paramref name="container"/> with the references inside <paramref name="functions"/> renamed,
    /// and the declarations of the copies to put before it, inside a new scope.</summary>
    public static SyntaxNode Rewrite(SyntaxNode container, SemanticModel model, BodyFacts body, IReadOnlyList<ISymbol> variables, IReadOnlyList<IOperation> functions, out List<StatementSyntax> copies)
    {
        var taken = new HashSet<string>();
        foreach (var symbol in model.LookupSymbols(container.SpanStart))
            taken.Add(symbol.Name);
        foreach (var token in container.DescendantTokens())
        {
            if (token.IsKind(SyntaxKind.IdentifierToken))
                taken.Add(token.ValueText);
        }

        copies = new List<StatementSyntax>();
        var renames = new Dictionary<SyntaxNode, string>();
        foreach (var variable in variables)
        {
            var name = variable.Name + "Copy";
            for (var i = 2; !taken.Add(name); i++)
                name = variable.Name + "Copy" + i.ToString(CultureInfo.InvariantCulture);
            copies.Add(LocalDeclarationStatement(VariableDeclaration(
                    IdentifierName(Identifier(TriviaList(), SyntaxKind.VarKeyword, "var", "var", TriviaList())),
                    SingletonSeparatedList(VariableDeclarator(Escaped(name)).WithInitializer(EqualsValueClause(IdentifierName(Escaped(variable.Name)))))))
                .WithAdditionalAnnotations(Formatter.Annotation));
            foreach (var reference in body.ReferencesTo(variable))
            {
                if (!UnusedPathDisplayClass.IsInAny(reference, functions) || InNameOf(reference) || !container.Span.Contains(reference.Syntax.Span))
                    continue;
                renames[reference.Syntax] = name;
            }
        }

        return container.ReplaceNodes(Targets(renames), (original, current) => Rename(original, current, renames));
    }

    /// <summary>The block that replaces <paramref name="statement"/>: the copies, then the (rewritten) statement, or the
    /// statements of a rewritten block.</summary>
    public static BlockSyntax Block(List<StatementSyntax> copies, SyntaxNode rewritten)
    {
        if (rewritten is BlockSyntax existing)
            return existing.WithStatements(existing.Statements.InsertRange(0, copies)).WithAdditionalAnnotations(Formatter.Annotation);
        var statement = (StatementSyntax)rewritten;
        var all = new List<StatementSyntax>(copies) { statement.WithoutLeadingTrivia().WithoutTrailingTrivia() };
        return SyntaxFactory.Block(all)
            .WithLeadingTrivia(statement.GetLeadingTrivia())
            .WithTrailingTrivia(statement.GetTrailingTrivia())
            .WithAdditionalAnnotations(Formatter.Annotation);
    }

    /// <summary>The nodes to replace: the identifier, or the anonymous-object member or tuple element whose name it gives.</summary>
    private static IEnumerable<SyntaxNode> Targets(Dictionary<SyntaxNode, string> renames)
    {
        foreach (var reference in renames.Keys)
        {
            yield return reference.Parent switch
            {
                AnonymousObjectMemberDeclaratorSyntax { NameEquals: null } member => member,
                ArgumentSyntax { NameColon: null, Parent: TupleExpressionSyntax } element => element,
                _ => reference,
            };
        }
    }

    private static SyntaxNode Rename(SyntaxNode original, SyntaxNode current, Dictionary<SyntaxNode, string> renames)
    {
        switch (current)
        {
            case AnonymousObjectMemberDeclaratorSyntax member when original is AnonymousObjectMemberDeclaratorSyntax { Expression: var expression } && renames.TryGetValue(expression, out var memberName):
                // `new { p }` names the member after the variable: keep the name.
                return member.WithNameEquals(NameEquals(IdentifierName(((IdentifierNameSyntax)expression).Identifier.WithoutTrivia())))
                    .WithExpression(IdentifierName(Escaped(memberName)).WithTriviaFrom(member.Expression));
            case ArgumentSyntax argument when original is ArgumentSyntax { Expression: var expression } && renames.TryGetValue(expression, out var elementName):
                return argument.WithNameColon(NameColon(IdentifierName(((IdentifierNameSyntax)expression).Identifier.WithoutTrivia())))
                    .WithExpression(IdentifierName(Escaped(elementName)).WithTriviaFrom(argument.Expression));
            case IdentifierNameSyntax identifier when renames.TryGetValue(original, out var name):
                return IdentifierName(Escaped(name)).WithTriviaFrom(identifier);
            default:
                return current;
        }
    }

    private static SyntaxToken Escaped(string name)
        => SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None ? Identifier("@" + name) : Identifier(name);

    private static bool InNameOf(IOperation reference)
    {
        for (var parent = reference.Parent; parent is not null; parent = parent.Parent)
        {
            if (parent is INameOfOperation)
                return true;
        }

        return false;
    }

    /// <summary>A span stored in a diagnostic property as "start:length".</summary>
    public static bool TryParseSpan(IReadOnlyDictionary<string, string?> properties, string key, out Microsoft.CodeAnalysis.Text.TextSpan span)
    {
        span = default;
        if (!properties.TryGetValue(key, out var text) || text is null)
            return false;
        var parts = text.Split(':');
        if (parts.Length != 2
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var start)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var length))
            return false;
        span = new Microsoft.CodeAnalysis.Text.TextSpan(start, length);
        return true;
    }
}
