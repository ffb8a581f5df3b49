using System.Collections.Generic;
using System.Collections.Immutable;
using System.Composition;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.HeapEscapes;
using MemSafety.Analyzers.Core;
using MemSafety.CodeFixes.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Editing;
using Microsoft.CodeAnalysis.Formatting;
using Microsoft.CodeAnalysis.Operations;
using Microsoft.CodeAnalysis.Simplification;

namespace MemSafety.CodeFixes.HeapEscapes;

/// <summary>
/// MSA1005. Two rewrites:
/// <list type="bullet">
/// <item><b>Hoist into a static readonly field</b>: moves the array creation, unchanged, into
/// <c>private static readonly T[] Name = …;</c> of the type that contains the code, and reads the field
/// where the array was created. The name comes from the local (<c>primes</c> → <c>Primes</c>) or from the
/// method and parameter (<c>Parse</c> + <c>separator</c> → <c>ParseSeparator</c>), made unique against
/// everything visible there (Fix All numbers them: <c>ParseSeparator</c>, <c>ParseSeparator2</c>). No fix when an element names a local, parameter or method type parameter (a local constant,
/// <c>nameof(x)</c>), which the field could not see, or when the containing type is an interface.</item>
/// <item><b>Use a ReadOnlySpan local</b> (when the analyzer found it possible): <c>var x = new byte[] {…}</c>
/// becomes <c>ReadOnlySpan&lt;byte&gt; x = new byte[] {…}</c>, which the compiler backs with static data.</item>
/// </list>
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(ConstantArrayRebuiltPerCallFix)), Shared]
public sealed class ConstantArrayRebuiltPerCallFix : MemSafetyCodeFix
{
    internal const string FieldKey = RuleIdentifiers.ConstantArrayRebuiltPerCall + ".Field";
    internal const string SpanKey = RuleIdentifiers.ConstantArrayRebuiltPerCall + ".Span";

    public ConstantArrayRebuiltPerCallFix()
        : base(RuleIdentifiers.ConstantArrayRebuiltPerCall)
    {
    }

    public override FixAllProvider GetFixAllProvider() => FixAllProvider.Create(
        async (context, document, diagnostics) => context.CodeActionEquivalenceKey == SpanKey
            ? await UseSpanLocalsAsync(document, diagnostics, context.CancellationToken).ConfigureAwait(false)
            : await HoistAsync(document, diagnostics, context.CancellationToken).ConfigureAwait(false));

    private protected override async Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
    {
        if (AsCreation(node) is not { } creation)
            return;
        var document = request.Document;
        var model = await request.GetSemanticModelAsync().ConfigureAwait(false);
        if (Plan(creation, model, request.CancellationToken) is { } plan)
        {
            var name = UniqueName(plan, model, new HashSet<string>());
            request.Register(
                $"Hoist the array into static readonly field '{name}'",
                ct => HoistAsync(document, ImmutableArray.Create(diagnostic), ct),
                diagnostic,
                FieldKey);
        }

        if (diagnostic.Properties.ContainsKey(ConstantArrayRebuiltPerCallAnalyzer.SpanLocalProperty) && SpanDeclaration(creation) is not null)
        {
            request.Register(
                "Use a ReadOnlySpan local (the compiler backs it with static data)",
                ct => UseSpanLocalsAsync(document, ImmutableArray.Create(diagnostic), ct),
                diagnostic,
                SpanKey);
        }
    }

    private static ExpressionSyntax? FindCreation(SyntaxNode root, Diagnostic diagnostic)
        => AsCreation(root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true));

    private static ExpressionSyntax? AsCreation(SyntaxNode node)
        => node is ArrayCreationExpressionSyntax or ImplicitArrayCreationExpressionSyntax ? (ExpressionSyntax)node : null;

    // ------------------------------------------------------------------ hoisting into a field

    private sealed class HoistPlan
    {
        public HoistPlan(ExpressionSyntax creation, TypeDeclarationSyntax type, INamedTypeSymbol typeSymbol, string fieldType, string baseName)
        {
            Creation = creation;
            Type = type;
            TypeSymbol = typeSymbol;
            FieldType = fieldType;
            BaseName = baseName;
        }

        public ExpressionSyntax Creation { get; }
        public TypeDeclarationSyntax Type { get; }
        public INamedTypeSymbol TypeSymbol { get; }
        public string FieldType { get; }
        public string BaseName { get; }
    }

    private static HoistPlan? Plan(ExpressionSyntax creation, SemanticModel model, CancellationToken cancellationToken)
    {
        var type = creation.FirstAncestorOrSelf<TypeDeclarationSyntax>();
        // No interface fields; no braces to put a field in (`class C(string s) : B(s.Split(...));`).
        if (type is null or InterfaceDeclarationSyntax || type.OpenBraceToken.IsKind(SyntaxKind.None) || type.OpenBraceToken.IsMissing)
            return null;
        if (model.GetDeclaredSymbol(type, cancellationToken) is not INamedTypeSymbol typeSymbol)
            return null;
        if (model.GetOperation(creation, cancellationToken) is not IArrayCreationOperation { Type: IArrayTypeSymbol arrayType })
            return null;

        // The field initializer cannot see the method's locals, parameters and type parameters.
        foreach (var name in creation.DescendantNodes().OfType<SimpleNameSyntax>())
        {
            var symbol = model.GetSymbolInfo(name, cancellationToken).Symbol;
            if (symbol is ILocalSymbol or IParameterSymbol or IRangeVariableSymbol or ITypeParameterSymbol { TypeParameterKind: TypeParameterKind.Method })
                return null;
        }

        return new HoistPlan(creation, type, typeSymbol, arrayType.ToMinimalDisplayString(model, type.SpanStart), BaseName(creation, model, cancellationToken));
    }

    /// <summary>From the local it initializes, else the member and the parameter it is passed to, else the member.</summary>
    private static string BaseName(ExpressionSyntax creation, SemanticModel model, CancellationToken cancellationToken)
    {
        if (creation.Parent is EqualsValueClauseSyntax { Parent: VariableDeclaratorSyntax declarator })
            return Pascal(declarator.Identifier.ValueText);

        var member = MemberName(creation, model, cancellationToken);
        SyntaxNode node = creation;
        while (node.Parent is ParenthesizedExpressionSyntax or CastExpressionSyntax)
            node = node.Parent;
        if (node.Parent is ArgumentSyntax argument
            && model.GetOperation(argument, cancellationToken) is IArgumentOperation { Parameter: { } parameter })
        {
            return member + Pascal(parameter.Name);
        }

        return member + "Values";
    }

    private static string MemberName(SyntaxNode node, SemanticModel model, CancellationToken cancellationToken)
    {
        var member = node.FirstAncestorOrSelf<MemberDeclarationSyntax>(m => m is BaseMethodDeclarationSyntax or BasePropertyDeclarationSyntax);
        var symbol = member is null ? null : model.GetDeclaredSymbol(member, cancellationToken);
        return symbol switch
        {
            IMethodSymbol { MethodKind: MethodKind.Constructor or MethodKind.StaticConstructor } ctor => ctor.ContainingType.Name,
            IMethodSymbol { MethodKind: MethodKind.Ordinary } method => Pascal(method.Name),
            IPropertySymbol { IsIndexer: true } => "Indexer",
            IPropertySymbol property => Pascal(property.Name),
            IEventSymbol @event => Pascal(@event.Name),
            _ => "Shared",
        };
    }

    private static string Pascal(string name)
    {
        name = name.TrimStart('_', '@');
        if (name.Length == 0)
            return "Values";
        return char.ToUpperInvariant(name[0]) + name.Substring(1);
    }

    private static string UniqueName(HoistPlan plan, SemanticModel model, HashSet<string> taken)
    {
        for (var i = 1; ; i++)
        {
            var candidate = i == 1 ? plan.BaseName : plan.BaseName + i.ToString(CultureInfo.InvariantCulture);
            if (taken.Contains(candidate)
                || !plan.TypeSymbol.GetMembers(candidate).IsEmpty
                || plan.TypeSymbol.Name == candidate
                || !model.LookupSymbols(plan.Creation.SpanStart, name: candidate).IsEmpty
                || SyntaxFacts.GetKeywordKind(candidate) != SyntaxKind.None)
            {
                continue;
            }

            return candidate;
        }
    }

    private static async Task<Document> HoistAsync(Document document, ImmutableArray<Diagnostic> diagnostics, CancellationToken cancellationToken)
    {
        var (root, model) = await FixDocument.ReadAsync(document, cancellationToken).ConfigureAwait(false);

        var plans = new List<HoistPlan>();
        foreach (var diagnostic in diagnostics.OrderBy(d => d.Location.SourceSpan.Start))
        {
            var creation = FindCreation(root, diagnostic);
            var plan = creation is null ? null : Plan(creation, model, cancellationToken);
            if (plan is not null)
                plans.Add(plan);
        }

        if (plans.Count == 0)
            return document;

        var editor = new SyntaxEditor(root, document.Project.Solution.Services);
        // One field per array, even for equal contents: a shared field would make Fix All differ from
        // fixing one at a time, and a field the user already has may be modified elsewhere.
        var namesByType = new Dictionary<TypeDeclarationSyntax, (HashSet<string> Taken, List<MemberDeclarationSyntax> Fields)>();
        foreach (var plan in plans)
        {
            if (!namesByType.TryGetValue(plan.Type, out var state))
                namesByType[plan.Type] = state = (new HashSet<string>(), new List<MemberDeclarationSyntax>());
            var name = UniqueName(plan, model, state.Taken);
            state.Taken.Add(name);
            state.Fields.Add(Field(plan, name));

            editor.ReplaceNode(plan.Creation, SyntaxFactory.IdentifierName(name).WithTriviaFrom(plan.Creation));
        }

        foreach (var pair in namesByType)
        {
            var fields = pair.Value.Fields;
            editor.ReplaceNode(pair.Key, (current, _) =>
            {
                var type = (TypeDeclarationSyntax)current;
                var index = 0;
                for (var i = 0; i < type.Members.Count; i++)
                {
                    if (type.Members[i] is FieldDeclarationSyntax)
                        index = i + 1;
                }

                return type.WithMembers(type.Members.InsertRange(index, fields));
            });
        }

        return document.WithSyntaxRoot(editor.GetChangedRoot());
    }

    private static MemberDeclarationSyntax Field(HoistPlan plan, string name)
    {
        var initializer = plan.Creation.WithoutTrivia();
        var declaration = SyntaxFactory.FieldDeclaration(
                SyntaxFactory.VariableDeclaration(
                    SyntaxFactory.ParseTypeName(plan.FieldType),
                    SyntaxFactory.SingletonSeparatedList(
                        SyntaxFactory.VariableDeclarator(SyntaxFactory.Identifier(name))
                            .WithInitializer(SyntaxFactory.EqualsValueClause(initializer)))))
            .WithModifiers(SyntaxFactory.TokenList(
                SyntaxFactory.Token(SyntaxKind.PrivateKeyword),
                SyntaxFactory.Token(SyntaxKind.StaticKeyword),
                SyntaxFactory.Token(SyntaxKind.ReadOnlyKeyword)));
        return declaration.WithAdditionalAnnotations(Formatter.Annotation);
    }

    // ------------------------------------------------------------------ ReadOnlySpan locals

    private static VariableDeclarationSyntax? SpanDeclaration(ExpressionSyntax creation)
        => creation.Parent is EqualsValueClauseSyntax { Parent: VariableDeclaratorSyntax { Parent: VariableDeclarationSyntax { Variables.Count: 1 } declaration } }
            ? declaration
            : null;

    private static async Task<Document> UseSpanLocalsAsync(Document document, ImmutableArray<Diagnostic> diagnostics, CancellationToken cancellationToken)
    {
        var (root, model) = await FixDocument.ReadAsync(document, cancellationToken).ConfigureAwait(false);

        var editor = new SyntaxEditor(root, document.Project.Solution.Services);
        var changed = false;
        foreach (var diagnostic in diagnostics)
        {
            if (!diagnostic.Properties.ContainsKey(ConstantArrayRebuiltPerCallAnalyzer.SpanLocalProperty))
                continue;
            var creation = FindCreation(root, diagnostic);
            var declaration = creation is null ? null : SpanDeclaration(creation);
            if (declaration is null || model.GetTypeInfo(creation!, cancellationToken).Type is not IArrayTypeSymbol arrayType)
                continue;

            var element = SyntaxFactory.ParseTypeName(arrayType.ElementType.ToMinimalDisplayString(model, declaration.SpanStart));
            var span = SyntaxFactory.QualifiedName(
                    SyntaxFactory.AliasQualifiedName(SyntaxFactory.IdentifierName(SyntaxFactory.Token(SyntaxKind.GlobalKeyword)), SyntaxFactory.IdentifierName("System")),
                    SyntaxFactory.GenericName(SyntaxFactory.Identifier("ReadOnlySpan"), SyntaxFactory.TypeArgumentList(SyntaxFactory.SingletonSeparatedList(element))))
                .WithAdditionalAnnotations(Simplifier.Annotation)
                .WithTriviaFrom(declaration.Type);
            editor.ReplaceNode(declaration.Type, span);
            changed = true;
        }

        return changed ? document.WithSyntaxRoot(editor.GetChangedRoot()) : document;
    }
}
