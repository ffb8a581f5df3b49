using System.Collections.Generic;
using System.Composition;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Bodies;
using MemSafety.Analyzers.Engines.Closures;
using MemSafety.Analyzers.Rules.Closures;
using MemSafety.CodeFixes.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Formatting;
using Microsoft.CodeAnalysis.Operations;
using Microsoft.CodeAnalysis.Text;
using static Microsoft.CodeAnalysis.CSharp.SyntaxFactory;

namespace MemSafety.CodeFixes.Closures;

/// <summary>
/// MSA3003: copies each captured variable into a new local declared at the start of the <c>if</c>/<c>else</c> branch
/// and makes the branch's lambdas capture the copies. The copies belong to the branch's scope, so the compiler
/// allocates their display class when the branch runs; the original variables are no longer captured. Offered only
/// where <see cref="UnusedPathDisplayClass.CanCopyIntoBranch"/> holds (nothing writes the variables from the branch
/// on, so every read sees the same value).
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(DisplayClassOnUnusedPathsFix)), Shared]
public sealed class DisplayClassOnUnusedPathsFix : MemSafetyCodeFix
{
    public DisplayClassOnUnusedPathsFix()
        : base(RuleIdentifiers.DisplayClassOnUnusedPaths)
    {
    }

    private protected override Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
    {
        if (!diagnostic.Properties.ContainsKey(DisplayClassOnUnusedPathsAnalyzer.FixableProperty)
            || !TryParseSpan(diagnostic.Properties, out var region))
            return Task.CompletedTask;
        var document = request.Document;
        var location = diagnostic.Location.SourceSpan;
        request.Register("Capture copies made inside the branch", ct => FixAsync(document, location, region, ct), diagnostic);
        return Task.CompletedTask;
    }

    private static bool TryParseSpan(IReadOnlyDictionary<string, string?> properties, out TextSpan span)
    {
        span = default;
        if (!properties.TryGetValue(DisplayClassOnUnusedPathsAnalyzer.RegionProperty, out var text) || text is null)
            return false;
        var parts = text.Split(':');
        if (parts.Length != 2
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var start)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var length))
            return false;
        span = new TextSpan(start, length);
        return true;
    }

    private static async Task<Document> FixAsync(Document document, TextSpan location, TextSpan region, CancellationToken cancellationToken)
    {
        var (root, model) = await FixDocument.ReadAsync(document, cancellationToken).ConfigureAwait(false);
        if (root.FindNode(region, getInnermostNodeForTie: true) is not StatementSyntax branch || branch.Span != region
            || model.GetOperation(branch, cancellationToken) is not { } branchOperation)
            return document;

        // The analyzer's decision again, on this document: the display class reported at this location, for this branch.
        var body = BodyFacts.Of(branchOperation);
        UnusedPathDisplayClass? plan = null;
        foreach (var displayClass in ClosureFacts.Of(branchOperation).DisplayClasses)
        {
            if (displayClass.Variables.Count == 0 || displayClass.Variables[0].Locations.Length == 0
                || displayClass.Variables[0].Locations[0].SourceSpan != location)
                continue;
            plan = UnusedPathDisplayClass.For(displayClass, body);
            break;
        }

        if (plan is null || !plan.CanCopyIntoBranch || plan.Region.Syntax != branch)
            return document;

        var taken = new HashSet<string>();
        foreach (var symbol in model.LookupSymbols(branch.SpanStart))
            taken.Add(symbol.Name);
        foreach (var token in branch.DescendantTokens())
        {
            if (token.IsKind(SyntaxKind.IdentifierToken))
                taken.Add(token.ValueText);
        }

        var copies = new List<StatementSyntax>();
        var renames = new Dictionary<SyntaxNode, string>();
        foreach (var variable in plan.DisplayClass.Variables)
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
                if (!UnusedPathDisplayClass.IsInAny(reference, plan.DisplayClass.Functions) || InNameOf(reference))
                    continue;
                renames[reference.Syntax] = name;
            }
        }

        var rewritten = branch.ReplaceNodes(RenameTargets(renames), (original, current) => Rename(original, current, renames));
        BlockSyntax block;
        if (rewritten is BlockSyntax existing)
        {
            block = existing.WithStatements(existing.Statements.InsertRange(0, copies));
        }
        else
        {
            copies.Add(rewritten.WithoutLeadingTrivia().WithoutTrailingTrivia());
            block = Block(copies).WithLeadingTrivia(rewritten.GetLeadingTrivia()).WithTrailingTrivia(rewritten.GetTrailingTrivia());
        }

        return document.WithSyntaxRoot(root.ReplaceNode(branch, block.WithAdditionalAnnotations(Formatter.Annotation)));
    }

    /// <summary>The nodes to replace: the identifier, or the anonymous-object member or tuple element whose name it gives.</summary>
    private static IEnumerable<SyntaxNode> RenameTargets(Dictionary<SyntaxNode, string> renames)
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
        => SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None || SyntaxFacts.GetContextualKeywordKind(name) is SyntaxKind.VarKeyword
            ? Identifier("@" + name)
            : Identifier(name);

    private static bool InNameOf(IOperation reference)
    {
        for (var parent = reference.Parent; parent is not null; parent = parent.Parent)
        {
            if (parent is INameOfOperation)
                return true;
        }

        return false;
    }
}
