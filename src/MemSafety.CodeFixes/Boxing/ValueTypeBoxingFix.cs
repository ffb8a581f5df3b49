using System.Collections.Generic;
using System.Collections.Immutable;
using System.Composition;
using System.Linq;
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
using Microsoft.CodeAnalysis.FindSymbols;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.CodeFixes.Boxing;

/// <summary>
/// MSA2001: a struct passed to an interface-typed parameter of a method in source
/// (<c>int Measure(IShape shape)</c>) is boxed at every call. The method becomes generic with a constraint
/// (<c>int Measure&lt;TShape&gt;(TShape shape) where TShape : IShape</c>): every call site infers the type
/// argument, a struct is passed by value and interface calls on it become constrained calls, which do not box.
/// Offered only when that is provably the same program:
/// <list type="bullet">
/// <item>the method is an ordinary, non-generic, non-virtual, non-extension, private or internal method of
/// a single declaration, with no other member of that name in its type (no overload can change);</item>
/// <item>the parameter is a by-value, non-params, non-optional parameter of an interface type, and the body
/// uses it only as the receiver of that interface's (or object's) members: not reassigned, not passed on
/// (that would just move the box), not compared, captured only as such a receiver;</item>
/// <item>every reference to the method in the solution is a call whose argument for it has a type (not
/// <c>null</c>, <c>default</c> or <c>dynamic</c>), so inference succeeds everywhere.</item>
/// </list>
/// Semantics: with the boxed interface the callee worked on a private copy of the caller's struct (the box);
/// with the type parameter it works on a private copy too (the by-value parameter), so mutations through
/// the interface are seen within the callee and never by the caller, as before.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(ValueTypeBoxingFix)), Shared]
public sealed class ValueTypeBoxingFix : MemSafetyCodeFix
{
    private const string Title = "Make the method generic over the interface";

    public ValueTypeBoxingFix()
        : base(RuleIdentifiers.ValueTypeBoxing)
    {
    }

    public override FixAllProvider GetFixAllProvider() => GenericParameterFixAll.Instance;

    private protected override async Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
    {
        if (!diagnostic.Properties.ContainsKey(ValueTypeBoxingAnalyzer.InterfaceParameterProperty))
            return;
        var solution = request.Document.Project.Solution;
        var model = await request.GetSemanticModelAsync().ConfigureAwait(false);
        if (await FindTargetAsync(solution, node, model, request.CancellationToken).ConfigureAwait(false) is { } target)
            request.Register(Title, ct => ApplyAsync(solution, new[] { target }, ct), diagnostic);
    }

    /// <summary>The method and parameter the argument at <paramref name="node"/> goes to, when the rewrite is safe.</summary>
    private static async Task<(IMethodSymbol Method, int Ordinal)?> FindTargetAsync(Solution solution, SyntaxNode node, SemanticModel model, CancellationToken cancellationToken)
    {
        var argumentSyntax = node.FirstAncestorOrSelf<ArgumentSyntax>();
        if (argumentSyntax is null || model.GetOperation(argumentSyntax, cancellationToken) is not IArgumentOperation { Parameter: { } parameter })
            return null;
        if (parameter.ContainingSymbol is not IMethodSymbol method)
            return null;
        method = method.OriginalDefinition;
        return await IsSafeAsync(solution, method, parameter.Ordinal, cancellationToken).ConfigureAwait(false)
            ? (method, parameter.Ordinal)
            : null;
    }

    private static async Task<bool> IsSafeAsync(Solution solution, IMethodSymbol method, int ordinal, CancellationToken cancellationToken)
    {
        if (method.MethodKind != MethodKind.Ordinary || method.IsVirtual || method.IsOverride || method.IsAbstract
            || method.IsExtern || method.IsExtensionMethod || method.PartialDefinitionPart is not null || method.PartialImplementationPart is not null
            || method.DeclaringSyntaxReferences.Length != 1
            || method.DeclaredAccessibility is not (Accessibility.Private or Accessibility.Internal or Accessibility.ProtectedAndInternal))
        {
            return false;
        }

        var containing = method.ContainingType;
        if (containing is null || containing.GetMembers(method.Name).Length != 1)
            return false;

        var parameter = method.Parameters[ordinal];
        if (parameter.RefKind != RefKind.None || parameter.IsParams || parameter.HasExplicitDefaultValue || parameter.Type.TypeKind != TypeKind.Interface)
            return false;

        var declaration = await method.DeclaringSyntaxReferences[0].GetSyntaxAsync(cancellationToken).ConfigureAwait(false);
        if (declaration is not MethodDeclarationSyntax methodSyntax || methodSyntax.ContainsDiagnostics)
            return false;
        var document = solution.GetDocument(methodSyntax.SyntaxTree);
        var model = document is null ? null : await document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false);
        if (model is null || !UsesOnlyAsReceiver(model, methodSyntax, parameter, cancellationToken))
            return false;

        // Every reference is a call that infers the type argument.
        var references = await SymbolFinder.FindReferencesAsync(method, solution, cancellationToken).ConfigureAwait(false);
        foreach (var reference in references)
        {
            foreach (var location in reference.Locations)
            {
                if (location.IsImplicit || location.IsCandidateLocation)
                    return false;
                var referenceRoot = await location.Document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
                var referenceModel = await location.Document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false);
                var name = referenceRoot?.FindNode(location.Location.SourceSpan, getInnermostNodeForTie: true);
                var expression = name?.Parent is MemberAccessExpressionSyntax access && access.Name == name ? access : name;
                // A call with explicit type arguments (`M<int>(…)`) would no longer have the right number of them.
                if (referenceModel is null || expression?.Parent is not InvocationExpressionSyntax invocationSyntax || invocationSyntax.Expression != expression
                    || name is GenericNameSyntax
                    || referenceModel.GetOperation(invocationSyntax, cancellationToken) is not IInvocationOperation invocation)
                {
                    return false;
                }

                var argument = invocation.Arguments.FirstOrDefault(a => a.Parameter?.Ordinal == ordinal);
                if (argument is null || argument.ArgumentKind != ArgumentKind.Explicit)
                    return false;
                var value = argument.Value is IConversionOperation { IsImplicit: true } conversion ? conversion.Operand : argument.Value;
                // `null`/`default` infer nothing; an annotated `IShape?` would break the constraint's nullability.
                if (value.Type is null || value.Type.TypeKind is TypeKind.Dynamic or TypeKind.Error || value.Syntax.ContainsDiagnostics
                    || value.Type.IsReferenceType && value.Type.NullableAnnotation == NullableAnnotation.Annotated)
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>Each use of the parameter is the receiver of a member of the interface, its base interfaces or object.</summary>
    private static bool UsesOnlyAsReceiver(SemanticModel model, MethodDeclarationSyntax methodSyntax, IParameterSymbol parameter, CancellationToken cancellationToken)
    {
        if (model.GetOperation(methodSyntax, cancellationToken) is not { } body)
            return false;
        var iface = (INamedTypeSymbol)parameter.Type;
        foreach (var operation in body.Descendants())
        {
            if (operation is not IParameterReferenceOperation reference || !SymbolEqualityComparer.Default.Equals(reference.Parameter, parameter))
                continue;
            ISymbol? member = reference.Parent switch
            {
                IInvocationOperation invocation when invocation.Instance == reference => invocation.TargetMethod,
                IPropertyReferenceOperation property when property.Instance == reference => property.Property,
                _ => null,
            };
            var declaring = member?.ContainingType;
            if (declaring is null || member!.IsStatic)
                return false;

            // A default interface member runs on a box either way, but with a type parameter each call boxes a
            // fresh copy, so state it changes through other members would no longer carry over between calls.
            if (declaring.TypeKind == TypeKind.Interface && !member.IsAbstract)
                return false;
            if (declaring.SpecialType != SpecialType.System_Object
                && !SymbolEqualityComparer.Default.Equals(declaring, iface)
                && !iface.AllInterfaces.Contains(declaring, SymbolEqualityComparer.Default))
            {
                return false;
            }

            // An assigned interface property (`shape.Size = 3`, `shape.Size++`) is left alone: conservative.
            if (reference.Parent is IPropertyReferenceOperation propertyReference && propertyReference.Parent is IAssignmentOperation or IIncrementOrDecrementOperation)
                return false;
        }

        return true;
    }

    /// <summary>Rewrites each method once, with one type parameter per fixed parameter.</summary>
    private static async Task<Solution> ApplyAsync(Solution solution, IEnumerable<(IMethodSymbol Method, int Ordinal)> targets, CancellationToken cancellationToken)
    {
        // One entry per declaration (however many call sites named it), with the parameters to make generic.
        var byDeclaration = new Dictionary<(SyntaxTree Tree, Microsoft.CodeAnalysis.Text.TextSpan Span), SortedSet<int>>();
        foreach (var (method, ordinal) in targets)
        {
            var reference = method.DeclaringSyntaxReferences[0];
            var key = (reference.SyntaxTree, reference.Span);
            if (!byDeclaration.TryGetValue(key, out var ordinals))
                byDeclaration.Add(key, ordinals = new SortedSet<int>());
            ordinals.Add(ordinal);
        }

        foreach (var group in byDeclaration.GroupBy(pair => pair.Key.Tree))
        {
            var documentId = solution.GetDocumentId(group.Key);
            if (documentId is null)
                continue;
            var document = solution.GetDocument(documentId)!;
            var (root, model) = await FixDocument.ReadAsync(document, cancellationToken).ConfigureAwait(false);
            var replacements = new Dictionary<SyntaxNode, SyntaxNode>();
            foreach (var pair in group)
            {
                if (root.FindNode(pair.Key.Span) is MethodDeclarationSyntax declaration)
                    replacements[declaration] = MakeGeneric(model, declaration, pair.Value);
            }

            solution = document.WithSyntaxRoot(root.ReplaceNodes(replacements.Keys, (original, _) => replacements[original])).Project.Solution;
        }

        return solution;
    }

    private static MethodDeclarationSyntax MakeGeneric(SemanticModel model, MethodDeclarationSyntax declaration, SortedSet<int> ordinals)
    {
        var taken = new HashSet<string>(model.LookupSymbols(declaration.ParameterList.SpanStart).Select(s => s.Name));
        foreach (var parameter in declaration.ParameterList.Parameters)
            taken.Add(parameter.Identifier.ValueText);
        foreach (var existing in declaration.TypeParameterList?.Parameters ?? default)
            taken.Add(existing.Identifier.ValueText);

        var parameters = declaration.ParameterList.Parameters;
        var typeParameters = new List<TypeParameterSyntax>(declaration.TypeParameterList?.Parameters ?? default(SeparatedSyntaxList<TypeParameterSyntax>));
        var clauses = new List<TypeParameterConstraintClauseSyntax>();
        var existingClauses = declaration.ConstraintClauses;
        foreach (var ordinal in ordinals)
        {
            var parameter = parameters[ordinal];
            var interfaceType = parameter.Type!;
            var name = UniqueName(TypeParameterName(interfaceType), taken);
            typeParameters.Add(SyntaxFactory.TypeParameter(name));
            clauses.Add(SyntaxFactory.TypeParameterConstraintClause(SyntaxFactory.IdentifierName(name))
                .AddConstraints(SyntaxFactory.TypeConstraint(interfaceType.WithoutTrivia())));
            parameters = parameters.Replace(parameter, parameter.WithType(SyntaxFactory.IdentifierName(name).WithTriviaFrom(interfaceType)));
        }

        // `int M(IShape s) => …;` / `{`: the constraints go after the parameter list (and any existing
        // constraints), before the body, and take over the trivia that followed.
        var parameterList = declaration.ParameterList.WithParameters(parameters);
        SyntaxTriviaList trailing;
        if (existingClauses.Count == 0)
        {
            trailing = parameterList.CloseParenToken.TrailingTrivia;
            parameterList = parameterList.WithCloseParenToken(parameterList.CloseParenToken.WithTrailingTrivia());
        }
        else
        {
            trailing = existingClauses[existingClauses.Count - 1].GetTrailingTrivia();
            existingClauses = existingClauses.Replace(existingClauses[existingClauses.Count - 1], existingClauses[existingClauses.Count - 1].WithoutTrailingTrivia());
        }

        for (var i = 0; i < clauses.Count; i++)
        {
            clauses[i] = clauses[i].NormalizeWhitespace()
                .WithLeadingTrivia(SyntaxFactory.Space)
                .WithTrailingTrivia(i == clauses.Count - 1 ? trailing : SyntaxFactory.TriviaList());
        }

        return declaration
            .WithTypeParameterList(SyntaxFactory.TypeParameterList(SyntaxFactory.SeparatedList(typeParameters.Select(t => t.WithoutTrivia()))).NormalizeWhitespace())
            .WithParameterList(parameterList)
            .WithConstraintClauses(existingClauses.AddRange(clauses));
    }

    /// <summary><c>IShape</c> → <c>TShape</c>; <c>IReadOnlyList&lt;int&gt;</c> → <c>TReadOnlyList</c>; otherwise <c>T</c>.</summary>
    private static string TypeParameterName(TypeSyntax type)
    {
        var simple = type switch
        {
            QualifiedNameSyntax qualified => qualified.Right,
            AliasQualifiedNameSyntax alias => alias.Name,
            NullableTypeSyntax { ElementType: SimpleNameSyntax element } => element,
            _ => type as SimpleNameSyntax,
        };
        var text = simple?.Identifier.ValueText ?? "";
        return text.Length > 1 && text[0] == 'I' && char.IsUpper(text[1]) ? "T" + text.Substring(1) : "T";
    }

    private static string UniqueName(string candidate, HashSet<string> taken)
    {
        var name = candidate;
        for (var i = 2; !taken.Add(name); i++)
            name = candidate + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return name;
    }

    /// <summary>Fix All: every safe (method, parameter) named by the diagnostics in scope, each rewritten once.</summary>
    private sealed class GenericParameterFixAll : FixAllProvider
    {
        public static readonly GenericParameterFixAll Instance = new();

        public override IEnumerable<FixAllScope> GetSupportedFixAllScopes()
            => new[] { FixAllScope.Document, FixAllScope.Project, FixAllScope.Solution };

        public override Task<CodeAction?> GetFixAsync(FixAllContext fixAllContext)
            => Task.FromResult<CodeAction?>(CodeAction.Create(Title, ct => FixAllAsync(fixAllContext, ct), fixAllContext.CodeActionEquivalenceKey));

        private static async Task<Solution> FixAllAsync(FixAllContext context, CancellationToken cancellationToken)
        {
            var documents = new List<Document>();
            switch (context.Scope)
            {
                case FixAllScope.Document when context.Document is not null:
                    documents.Add(context.Document);
                    break;
                case FixAllScope.Project:
                    documents.AddRange(context.Project.Documents);
                    break;
                case FixAllScope.Solution:
                    documents.AddRange(context.Solution.Projects.SelectMany(p => p.Documents));
                    break;
            }

            var targets = new List<(IMethodSymbol, int)>();
            foreach (var document in documents)
            {
                FixDocument? read = null;
                foreach (var diagnostic in await context.GetDocumentDiagnosticsAsync(document).ConfigureAwait(false))
                {
                    if (!diagnostic.Properties.ContainsKey(ValueTypeBoxingAnalyzer.InterfaceParameterProperty))
                        continue;
                    read ??= await FixDocument.ReadAsync(document, cancellationToken).ConfigureAwait(false);
                    if (await FindTargetAsync(context.Solution, read.FindNode(diagnostic.Location.SourceSpan), read.Model, cancellationToken).ConfigureAwait(false) is { } found)
                        targets.Add(found);
                }
            }

            return await ApplyAsync(context.Solution, targets, cancellationToken).ConfigureAwait(false);
        }
    }
}
