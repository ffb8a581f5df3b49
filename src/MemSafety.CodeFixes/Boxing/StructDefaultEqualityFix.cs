using System.Collections.Generic;
using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.Boxing;
using MemSafety.Analyzers.Core;
using MemSafety.CodeFixes.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Formatting;
using Microsoft.CodeAnalysis.Simplification;
using Microsoft.CodeAnalysis.Text;

namespace MemSafety.CodeFixes.Boxing;

/// <summary>
/// MSA2003: implement <c>IEquatable&lt;T&gt;</c> on the struct the diagnostic names (its declaration is the
/// diagnostic's additional location, possibly in another document): <c>Equals(T)</c> comparing every field,
/// <c>Equals(object)</c>, <c>GetHashCode()</c> unless the struct overrides it, and <c>==</c>/<c>!=</c> unless it
/// declares them. The analyzer offers it only where field-wise equality is provably what ValueType.Equals
/// answers (<see cref="StructEquality.PlanFix"/>). Several sites of one struct make one edit: the fix works on
/// the declaration, Fix All collects the distinct declarations, and a struct that already implements
/// IEquatable is left alone.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(StructDefaultEqualityFix)), Shared]
public sealed class StructDefaultEqualityFix : MemSafetyCodeFix
{
    private const string Title = "Implement IEquatable<T> on the struct";

    public StructDefaultEqualityFix()
        : base(RuleIdentifiers.StructDefaultEquality)
    {
    }

    public override FixAllProvider GetFixAllProvider() => DeclarationFixAll.Instance;

    private protected override Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
    {
        if (FixLocation(diagnostic) is { } location)
        {
            var solution = request.Document.Project.Solution;
            request.Register(Title, ct => ImplementAsync(solution, new[] { location }, ct), diagnostic);
        }

        return Task.CompletedTask;
    }

    private static Location? FixLocation(Diagnostic diagnostic)
        => diagnostic.Properties.ContainsKey(StructDefaultEqualityAnalyzer.FixableProperty) && diagnostic.AdditionalLocations.Count > 0
           && diagnostic.AdditionalLocations[0] is { IsInSource: true } location
            ? location
            : null;

    private static async Task<Solution> ImplementAsync(Solution solution, IEnumerable<Location> structs, CancellationToken cancellationToken)
    {
        var byDocument = new Dictionary<DocumentId, SortedSet<int>>();
        foreach (var location in structs)
        {
            var tree = location.SourceTree!;
            var id = solution.GetDocument(tree)?.Id ?? solution.GetDocumentIdsWithFilePath(tree.FilePath).FirstOrDefault();
            if (id is null)
                continue;
            if (!byDocument.TryGetValue(id, out var starts))
                byDocument[id] = starts = new SortedSet<int>();
            starts.Add(location.SourceSpan.Start);
        }

        foreach (var pair in byDocument)
        {
            var document = solution.GetDocument(pair.Key)!;
            var changed = false;
            // Last declaration first, so the positions of the earlier ones stay valid.
            foreach (var start in pair.Value.Reverse())
            {
                var (root, model) = await FixDocument.ReadAsync(document, cancellationToken).ConfigureAwait(false);
                if (root.FindToken(start).Parent is not StructDeclarationSyntax declaration
                    || model.GetDeclaredSymbol(declaration, cancellationToken) is not { } type
                    || Rewrite(declaration, type, model) is not { } rewritten)
                {
                    continue;
                }

                document = document.WithSyntaxRoot(root.ReplaceNode(declaration, rewritten));
                changed = true;
            }

            if (!changed)
                continue;
            document = await Simplifier.ReduceAsync(document, Simplifier.Annotation, cancellationToken: cancellationToken).ConfigureAwait(false);
            document = await Formatter.FormatAsync(document, Formatter.Annotation, cancellationToken: cancellationToken).ConfigureAwait(false);
            solution = document.Project.Solution;
        }

        return solution;
    }

    private static StructDeclarationSyntax? Rewrite(StructDeclarationSyntax declaration, INamedTypeSymbol type, SemanticModel model)
    {
        var compilation = model.Compilation;
        var equatable = WellKnownTypes.Of(compilation).IEquatable;
        var members = StructEquality.PlanFix(type, compilation, equatable);
        if (members.IsDefault)
            return null; // already fixed (another site of the same struct) or no longer safe

        var taken = new HashSet<string>(type.MemberNames);
        foreach (var parameter in type.TypeParameters)
            taken.Add(parameter.Name);
        string Fresh(string name)
        {
            var candidate = name;
            for (var i = 1; taken.Contains(candidate); i++)
                candidate = name + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return candidate;
        }

        var self = type.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat);
        var other = Fresh("other");
        var obj = Fresh("obj");
        var nullable = model.GetNullableContext(declaration.OpenBraceToken.SpanStart).AnnotationsEnabled();

        var comparisons = new List<string>(members.Length);
        foreach (var member in members)
        {
            var name = Escape(member.Name);
            comparisons.Add(member.Comparison == MemberComparison.Operator
                ? $"{name} == {other}.{name}"
                : $"{Comparer(member.Type)}.Equals({name}, {other}.{name})");
        }

        var generated = new List<MemberDeclarationSyntax>
        {
            Member($"public bool Equals({self} {other}) => {(comparisons.Count == 0 ? "true" : string.Join(" && ", comparisons))};"),
            Member($"public override bool Equals(object{(nullable ? "?" : string.Empty)} {obj}) => {obj} is {self} {other} && Equals({other});"),
        };

        if (!OverridesGetHashCode(type))
            generated.Add(Member(GetHashCode(members, compilation.GetTypeByMetadataName("System.HashCode") is not null, Fresh("hash"))));

        if (type.GetMembers(WellKnownMemberNames.EqualityOperatorName).IsEmpty && type.GetMembers(WellKnownMemberNames.InequalityOperatorName).IsEmpty)
        {
            var left = Fresh("left");
            var right = Fresh("right");
            generated.Add(Member($"public static bool operator ==({self} {left}, {self} {right}) => {left}.Equals({right});"));
            generated.Add(Member($"public static bool operator !=({self} {left}, {self} {right}) => !{left}.Equals({right});"));
        }

        var baseType = SyntaxFactory.SimpleBaseType(
            SyntaxFactory.ParseTypeName("global::System.IEquatable<" + self + ">").WithAdditionalAnnotations(Simplifier.Annotation));
        StructDeclarationSyntax result;
        if (declaration.BaseList is { } baseList)
        {
            var last = baseList.Types.Last();
            var nodesAndTokens = baseList.Types.Replace(last, last.WithoutTrailingTrivia()).GetWithSeparators()
                .Add(SyntaxFactory.Token(SyntaxKind.CommaToken).WithTrailingTrivia(SyntaxFactory.Space))
                .Add(baseType.WithTrailingTrivia(last.GetTrailingTrivia()));
            result = declaration.WithBaseList(baseList.WithTypes(SyntaxFactory.SeparatedList<BaseTypeSyntax>(nodesAndTokens)));
        }
        else
        {
            var before = declaration.TypeParameterList is { } parameters ? parameters.GetLastToken() : declaration.Identifier;
            var trailing = before.TrailingTrivia;
            result = declaration.ReplaceToken(before, before.WithTrailingTrivia())
                .WithBaseList(SyntaxFactory.BaseList(
                        SyntaxFactory.Token(SyntaxKind.ColonToken).WithLeadingTrivia(SyntaxFactory.Space).WithTrailingTrivia(SyntaxFactory.Space),
                        SyntaxFactory.SingletonSeparatedList<BaseTypeSyntax>(baseType))
                    .WithTrailingTrivia(trailing));
        }

        // Each new member on its own line after a blank line, in the file's line ending; the formatter indents them.
        var newLine = declaration.ToFullString().Contains("\r\n") ? SyntaxFactory.CarriageReturnLineFeed : SyntaxFactory.LineFeed;
        for (var i = 0; i < generated.Count; i++)
            generated[i] = generated[i].WithLeadingTrivia(newLine).WithTrailingTrivia(newLine);
        return result.AddMembers(generated.ToArray());
    }

    private static string GetHashCode(ImmutableArray<EqualityMember> members, bool hasHashCode, string hash)
    {
        if (members.Length == 0)
            return "public override int GetHashCode() => 0;";
        if (hasHashCode && members.Length <= 8)
            return $"public override int GetHashCode() => global::System.HashCode.Combine({string.Join(", ", members.Select(m => Escape(m.Name)))});";

        var text = new StringBuilder();
        text.Append("public override int GetHashCode()\n{\n");
        if (hasHashCode)
        {
            text.Append($"var {hash} = new global::System.HashCode();\n");
            foreach (var member in members)
                text.Append($"{hash}.Add({Escape(member.Name)});\n");
            text.Append($"return {hash}.ToHashCode();\n");
        }
        else
        {
            // netstandard2.0 and .NET Framework have no System.HashCode.
            text.Append($"unchecked\n{{\nint {hash} = 17;\n");
            foreach (var member in members)
            {
                var name = Escape(member.Name);
                var value = member.Comparison == MemberComparison.Operator && member.Type.IsValueType && member.Type.TypeKind != TypeKind.Enum
                    ? name + ".GetHashCode()"
                    : $"{Comparer(member.Type)}.GetHashCode({name})";
                text.Append($"{hash} = {hash} * 31 + {value};\n");
            }

            text.Append($"return {hash};\n}}\n");
        }

        text.Append("}\n");
        return text.ToString();
    }

    private static bool OverridesGetHashCode(INamedTypeSymbol type)
        => type.GetMembers(WellKnownMemberNames.ObjectGetHashCode).OfType<IMethodSymbol>().Any(m => m.IsOverride && m.Parameters.Length == 0);

    private static string Comparer(ITypeSymbol type)
        => "global::System.Collections.Generic.EqualityComparer<" + type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat) + ">.Default";

    private static string Escape(string name)
        => SyntaxFacts.IsReservedKeyword(SyntaxFacts.GetKeywordKind(name)) ? "@" + name : name;

    private static MemberDeclarationSyntax Member(string text)
        => SyntaxFactory.ParseMemberDeclaration(text)!.WithAdditionalAnnotations(Formatter.Annotation, Simplifier.Annotation);

    /// <summary>Fix All: the distinct struct declarations named by the fixable diagnostics in scope, each rewritten once.</summary>
    private sealed class DeclarationFixAll : FixAllProvider
    {
        public static readonly DeclarationFixAll Instance = new();

        public override async Task<CodeAction?> GetFixAsync(FixAllContext context)
        {
            var diagnostics = new List<Diagnostic>();
            switch (context.Scope)
            {
                case FixAllScope.Document when context.Document is not null:
                    diagnostics.AddRange(await context.GetDocumentDiagnosticsAsync(context.Document).ConfigureAwait(false));
                    break;
                case FixAllScope.Project:
                    diagnostics.AddRange(await context.GetAllDiagnosticsAsync(context.Project).ConfigureAwait(false));
                    break;
                case FixAllScope.Solution:
                    foreach (var project in context.Solution.Projects)
                        diagnostics.AddRange(await context.GetAllDiagnosticsAsync(project).ConfigureAwait(false));
                    break;
                default:
                    return null;
            }

            var locations = diagnostics.Select(FixLocation).Where(l => l is not null).Select(l => l!).ToList();
            if (locations.Count == 0)
                return null;
            var solution = context.Solution;
            return CodeAction.Create(Title, ct => ImplementAsync(solution, locations, ct), RuleIdentifiers.StructDefaultEquality);
        }
    }
}
