using System.Collections.Generic;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Rules.Closures;
using MemSafety.CodeFixes.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.FindSymbols;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.CodeFixes.Closures;

/// <summary>
/// MSA3004, two rewrites:
/// <list type="bullet">
/// <item><b>Make the method static</b> (offered when the analyzer found it uses no instance state, C# 11 or later): adds
/// <c>static</c> and turns <c>this.M</c> references into <c>M</c>; the compiler then caches the method group's delegate
/// in a static field. Not offered when the method is referenced through another instance (<c>other.M</c>) or from
/// another document.</item>
/// <item><b>Cache the delegate in a field</b>: a private field of the object, created on first use where the delegate was
/// (<c>xs.Sort(_compareDelegate ??= Compare)</c>, <c>?? (… = …)</c> before C# 8). Lazily, because a field initializer
/// cannot use <c>this</c>, and because a delegate created in the constructors would cost every instance an allocation,
/// also instances that never run this code; the delegate is bound to the same object either way, so every call sees
/// the same behaviour. A static method group (before C# 11) gets a <c>static readonly</c> field initialized with it.
/// Several uses of one method group share one field. Not offered in structs, interfaces, or when the delegate type
/// involves a method's type parameters (no field can have that type).</item>
/// </list>
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(UncachedDelegateFix)), Shared]
public sealed class UncachedDelegateFix : MemSafetyCodeFix
{
    private const string MakeStaticKey = "MSA3004.MakeStatic";
    private const string CacheKey = "MSA3004.CacheInField";

    public UncachedDelegateFix()
        : base(RuleIdentifiers.UncachedDelegate)
    {
    }

    /// <summary>Fixes are applied one after another on the document as the previous ones left it: one field serves every
    /// use of a method group, and a method is made static once.</summary>
    public override FixAllProvider GetFixAllProvider() => FixAllProvider.Create(async (context, document, diagnostics) =>
    {
        var makeStatic = context.CodeActionEquivalenceKey == MakeStaticKey;
        var root = await document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null)
            return document;
        var targets = new Dictionary<SyntaxNode, SyntaxAnnotation>();
        foreach (var diagnostic in diagnostics)
        {
            if (makeStatic && !diagnostic.Properties.ContainsKey(UncachedDelegateAnalyzer.CanBeStaticProperty))
                continue;
            if (!diagnostic.Properties.ContainsKey(UncachedDelegateAnalyzer.KindProperty))
                continue;
            var node = root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true);
            if (node is ExpressionSyntax && !targets.ContainsKey(node))
                targets.Add(node, new SyntaxAnnotation());
        }

        if (targets.Count == 0)
            return document;
        var current = document.WithSyntaxRoot(root.ReplaceNodes(targets.Keys, (original, _) => original.WithAdditionalAnnotations(targets[original])));
        foreach (var annotation in targets.Values)
        {
            var currentRoot = await current.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
            if (currentRoot!.GetAnnotatedNodes(annotation).FirstOrDefault() is not ExpressionSyntax expression)
                continue;
            var next = makeStatic
                ? await MakeStaticAsync(current, expression.Span, context.CancellationToken).ConfigureAwait(false)
                : await CacheAsync(current, expression.Span, context.CancellationToken).ConfigureAwait(false);
            if (next is not null)
                current = next;
        }

        return current;
    });

    private protected override async Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
    {
        if (!diagnostic.Properties.TryGetValue(UncachedDelegateAnalyzer.KindProperty, out var kind) || node is not ExpressionSyntax expression)
            return;
        var document = request.Document;
        var span = expression.Span;
        var ct = request.CancellationToken;

        // Each rewrite is computed now: a fix that turns out impossible must not be listed.
        if (kind == UncachedDelegateAnalyzer.ThisMethod && diagnostic.Properties.ContainsKey(UncachedDelegateAnalyzer.CanBeStaticProperty)
            && await MakeStaticAsync(document, span, ct).ConfigureAwait(false) is { } madeStatic)
        {
            var name = ((IMethodReferenceOperation?)Creation(await request.GetSemanticModelAsync().ConfigureAwait(false), expression, ct)?.Target)?.Method.Name;
            request.Register($"Make '{name}' static", _ => Task.FromResult(madeStatic), diagnostic, MakeStaticKey);
        }

        if (await CacheAsync(document, span, ct).ConfigureAwait(false) is { } cached)
            request.Register("Cache the delegate in a field", _ => Task.FromResult(cached), diagnostic, CacheKey);
    }

    private static IDelegateCreationOperation? Creation(SemanticModel model, ExpressionSyntax expression, CancellationToken cancellationToken)
        => model.GetOperation(expression, cancellationToken) switch
        {
            IDelegateCreationOperation creation => creation,
            { Parent: IDelegateCreationOperation creation } => creation,
            _ => null,
        };

    // ------------------------------------------------------------------ make the method static

    private static async Task<Document?> MakeStaticAsync(Document document, Microsoft.CodeAnalysis.Text.TextSpan span, CancellationToken cancellationToken)
    {
        var (root, model) = await FixDocument.ReadAsync(document, cancellationToken).ConfigureAwait(false);
        if (root.FindNode(span, getInnermostNodeForTie: true) is not ExpressionSyntax expression
            || expression.FirstAncestorOrSelf<MemberDeclarationSyntax>() is { ContainsDiagnostics: true }
            || Creation(model, expression, cancellationToken)?.Target is not IMethodReferenceOperation { Method: { IsStatic: false } method }
            || method.DeclaringSyntaxReferences.Length != 1
            || method.DeclaringSyntaxReferences[0].SyntaxTree != root.SyntaxTree
            || root.FindNode(method.DeclaringSyntaxReferences[0].Span) is not MethodDeclarationSyntax declaration)
        {
            return null;
        }

        // The body must still use no instance state (the analyzer checked; the document may have changed since).
        if (model.GetOperation(declaration, cancellationToken) is not { } body
            || body.Descendants().Any(o => o is IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance } or IInvalidOperation))
        {
            return null;
        }

        // Every reference must keep compiling: M and this.M (which becomes M) do, other.M would not.
        var references = await SymbolFinder.FindReferencesAsync(method, document.Project.Solution, cancellationToken).ConfigureAwait(false);
        var thisQualified = new List<MemberAccessExpressionSyntax>();
        foreach (var location in references.SelectMany(r => r.Locations))
        {
            if (location.Document.Id != document.Id)
                return null;
            var name = root.FindNode(location.Location.SourceSpan, getInnermostNodeForTie: true);
            if (name.Parent is MemberAccessExpressionSyntax access && access.Name == name)
            {
                if (access.Expression is not ThisExpressionSyntax)
                    return null;
                thisQualified.Add(access);
            }
        }

        var editedRoot = root.TrackNodes(thisQualified.Cast<SyntaxNode>().Append(declaration));
        foreach (var access in thisQualified)
        {
            var currentAccess = editedRoot.GetCurrentNode(access)!;
            editedRoot = editedRoot.ReplaceNode(currentAccess, currentAccess.Name.WithTriviaFrom(currentAccess));
        }

        var currentDeclaration = editedRoot.GetCurrentNode(declaration)!;
        editedRoot = editedRoot.ReplaceNode(currentDeclaration, WithStatic(currentDeclaration));
        return document.WithSyntaxRoot(editedRoot);
    }

    /// <summary>Adds <c>static</c> after the accessibility modifiers (and <c>new</c>), before the rest.</summary>
    private static MethodDeclarationSyntax WithStatic(MethodDeclarationSyntax declaration)
    {
        var modifiers = declaration.Modifiers;
        var index = 0;
        while (index < modifiers.Count && modifiers[index].Kind() is SyntaxKind.PublicKeyword or SyntaxKind.PrivateKeyword or SyntaxKind.ProtectedKeyword
                   or SyntaxKind.InternalKeyword or SyntaxKind.NewKeyword)
        {
            index++;
        }

        if (modifiers.Count == 0)
        {
            // The leading trivia of the declaration belongs before the new first token.
            var staticToken = SyntaxFactory.Token(declaration.GetLeadingTrivia(), SyntaxKind.StaticKeyword, SyntaxFactory.TriviaList(SyntaxFactory.Space));
            return declaration.WithoutLeadingTrivia().WithModifiers(SyntaxFactory.TokenList(staticToken));
        }

        var token = SyntaxFactory.Token(SyntaxKind.StaticKeyword).WithTrailingTrivia(SyntaxFactory.Space);
        if (index == 0)
        {
            token = token.WithLeadingTrivia(modifiers[0].LeadingTrivia);
            modifiers = modifiers.Replace(modifiers[0], modifiers[0].WithLeadingTrivia());
        }

        return declaration.WithModifiers(modifiers.Insert(index, token));
    }

    // ------------------------------------------------------------------ cache the delegate in a field

    private static async Task<Document?> CacheAsync(Document document, Microsoft.CodeAnalysis.Text.TextSpan span, CancellationToken cancellationToken)
    {
        var (root, model) = await FixDocument.ReadAsync(document, cancellationToken).ConfigureAwait(false);
        if (root.FindNode(span, getInnermostNodeForTie: true) is not ExpressionSyntax expression
            // A member with syntax errors: the formatter the edit runs through can fail on the broken tree (seed 4, mutant 21235).
            || expression.FirstAncestorOrSelf<MemberDeclarationSyntax>() is { ContainsDiagnostics: true }
            || Creation(model, expression, cancellationToken) is not { Type: INamedTypeSymbol delegateType } creation
            || ContainsMethodTypeParameter(delegateType)
            || expression.FirstAncestorOrSelf<TypeDeclarationSyntax>() is not { } typeDeclaration
            || model.GetDeclaredSymbol(typeDeclaration, cancellationToken) is not { } type)
        {
            return null;
        }

        var isStatic = creation.Target is IMethodReferenceOperation { Method: { IsStatic: true, ReducedFrom: null } };
        if (isStatic ? type.TypeKind is not (TypeKind.Class or TypeKind.Struct) : type.TypeKind != TypeKind.Class)
            return null;
        // An instance field needs 'this' where the delegate is created.
        if (!isStatic && (model.GetEnclosingSymbol(expression.SpanStart, cancellationToken) is not { } enclosing || IsStaticContext(enclosing)))
            return null;

        var lineBreak = TriviaEditing.LineBreak(await document.GetTextAsync(cancellationToken).ConfigureAwait(false));
        var typeText = delegateType.WithNullableAnnotation(NullableAnnotation.NotAnnotated).ToMinimalDisplayString(model, expression.SpanStart);
        var nullable = !isStatic && (model.GetNullableContext(expression.SpanStart) & Microsoft.CodeAnalysis.NullableContext.AnnotationsEnabled) != 0;
        var method = (creation.Target as IMethodReferenceOperation)?.Method;
        var baseName = FieldBaseName(creation, isStatic);

        // A field an earlier fix made for this method group and delegate type serves this use too.
        var name = method is not null ? ReusableField(model, typeDeclaration, baseName, delegateType, method, isStatic, cancellationToken) : null;
        var addField = name is null;
        name ??= UniqueFieldName(model, type, expression.SpanStart, baseName);

        ExpressionSyntax replacement;
        if (isStatic)
        {
            replacement = SyntaxFactory.IdentifierName(name);
        }
        else
        {
            var value = expression.WithoutTrivia();
            replacement = ((CSharpParseOptions)root.SyntaxTree.Options).LanguageVersion >= LanguageVersion.CSharp8
                ? SyntaxFactory.AssignmentExpression(SyntaxKind.CoalesceAssignmentExpression, SyntaxFactory.IdentifierName(name), value)
                : SyntaxFactory.BinaryExpression(SyntaxKind.CoalesceExpression, SyntaxFactory.IdentifierName(name),
                    SyntaxFactory.ParenthesizedExpression(SyntaxFactory.AssignmentExpression(SyntaxKind.SimpleAssignmentExpression, SyntaxFactory.IdentifierName(name), value)));
            if (!StandsAlone(expression))
                replacement = SyntaxFactory.ParenthesizedExpression(replacement);
        }

        var editedRoot = root.TrackNodes(expression, typeDeclaration);
        editedRoot = editedRoot.ReplaceNode(editedRoot.GetCurrentNode(expression)!, replacement.WithTriviaFrom(expression));
        if (addField)
        {
            var field = isStatic
                ? $"private static readonly {typeText} {name} = {expression.WithoutTrivia()};"
                : $"private {typeText}{(nullable ? "?" : "")} {name};";
            editedRoot = editedRoot.ReplaceNode(editedRoot.GetCurrentNode(typeDeclaration)!, AddField(editedRoot.GetCurrentNode(typeDeclaration)!, field, lineBreak));
        }

        return document.WithSyntaxRoot(editedRoot);
    }

    private static bool IsStaticContext(ISymbol symbol)
    {
        for (var s = symbol; s is not null && s.Kind != SymbolKind.NamedType; s = s.ContainingSymbol)
        {
            if (s.IsStatic)
                return true;
        }

        return false;
    }

    /// <summary>Where <c>a ??= b</c> can stand without parentheses: an argument, an initializer, a return value, the
    /// right side of an assignment, an expression body.</summary>
    private static bool StandsAlone(ExpressionSyntax expression) => expression.Parent switch
    {
        ArgumentSyntax or EqualsValueClauseSyntax or ReturnStatementSyntax or ArrowExpressionClauseSyntax or ParenthesizedExpressionSyntax => true,
        AssignmentExpressionSyntax assignment => assignment.Right == expression,
        _ => false,
    };

    private static string FieldBaseName(IDelegateCreationOperation creation, bool isStatic)
    {
        string stem;
        if (creation.Target is IMethodReferenceOperation reference)
            stem = reference.Method.Name + "Delegate";
        else if (creation.Parent is IArgumentOperation { Parameter: { } parameter })
            stem = parameter.Name;
        else
            stem = "callback";
        stem = char.ToLowerInvariant(stem[0]) + stem.Substring(1);
        return (isStatic ? "s_" : "_") + stem;
    }

    private static string UniqueFieldName(SemanticModel model, INamedTypeSymbol type, int position, string baseName)
    {
        for (var i = 1; ; i++)
        {
            var candidate = i == 1 ? baseName : baseName + i;
            if (!type.MemberNames.Contains(candidate) && model.LookupSymbols(position, name: candidate).IsEmpty)
                return candidate;
        }
    }

    /// <summary>
    /// The field <paramref name="baseName"/> of this type declaration when it has the delegate type and is only ever used
    /// as this fix uses it: <c>name ??= M</c> (or <c>name ?? (name = M)</c>) for the same method, or, static, initialized
    /// with it and only read.
    /// </summary>
    private static string? ReusableField(SemanticModel model, TypeDeclarationSyntax typeDeclaration, string baseName, ITypeSymbol delegateType,
        IMethodSymbol method, bool isStatic, CancellationToken cancellationToken)
    {
        IFieldSymbol? field = null;
        foreach (var declaration in typeDeclaration.Members.OfType<FieldDeclarationSyntax>())
        {
            foreach (var variable in declaration.Declaration.Variables)
            {
                if (variable.Identifier.ValueText == baseName && model.GetDeclaredSymbol(variable, cancellationToken) is IFieldSymbol candidate)
                {
                    field = candidate;
                    if (isStatic && (variable.Initializer is null || !SameMethod(model.GetOperation(variable.Initializer.Value, cancellationToken), method)))
                        return null;
                }
            }
        }

        if (field is null || field.IsStatic != isStatic || field.DeclaredAccessibility != Accessibility.Private
            || !SymbolEqualityComparer.Default.Equals(field.Type.WithNullableAnnotation(NullableAnnotation.None), delegateType.WithNullableAnnotation(NullableAnnotation.None)))
        {
            return null;
        }

        foreach (var name in typeDeclaration.DescendantNodes().OfType<IdentifierNameSyntax>())
        {
            if (name.Identifier.ValueText != baseName || !SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(name, cancellationToken).Symbol, field))
                continue;
            if (isStatic)
            {
                if (model.GetOperation(name, cancellationToken)?.Parent is IAssignmentOperation { Target: var target } && target.Syntax == name)
                    return null;
                continue;
            }

            // name ??= M, or name ?? (name = M)
            var use = name.Parent switch
            {
                AssignmentExpressionSyntax { RawKind: (int)SyntaxKind.CoalesceAssignmentExpression } a when a.Left == name => a.Right,
                BinaryExpressionSyntax { RawKind: (int)SyntaxKind.CoalesceExpression } b when b.Left == name => (b.Right as ParenthesizedExpressionSyntax)?.Expression is AssignmentExpressionSyntax inner ? inner.Right : null,
                AssignmentExpressionSyntax { RawKind: (int)SyntaxKind.SimpleAssignmentExpression, Parent: ParenthesizedExpressionSyntax { Parent: BinaryExpressionSyntax { RawKind: (int)SyntaxKind.CoalesceExpression } } } a when a.Left == name => a.Right,
                _ => null,
            };
            if (use is null || !SameMethod(model.GetOperation(use, cancellationToken), method))
                return null;
        }

        return baseName;
    }

    private static bool SameMethod(IOperation? operation, IMethodSymbol method)
    {
        while (operation is IConversionOperation or IDelegateCreationOperation)
            operation = operation is IConversionOperation conversion ? conversion.Operand : ((IDelegateCreationOperation)operation).Target;
        return operation is IMethodReferenceOperation reference && SymbolEqualityComparer.Default.Equals(reference.Method, method)
               && reference.Instance is null or IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance };
    }

    /// <summary>Inserts the field after the type's last field (or first among its members), indented like its members.</summary>
    private static TypeDeclarationSyntax AddField(TypeDeclarationSyntax typeDeclaration, string fieldText, string lineBreak)
    {
        var members = typeDeclaration.Members;
        var lastField = members.LastOrDefault(m => m is FieldDeclarationSyntax);
        var reference = lastField ?? members.FirstOrDefault();
        var indentation = reference?.GetLeadingTrivia().LastOrDefault(t => t.IsKind(SyntaxKind.WhitespaceTrivia)).ToString()
                          ?? typeDeclaration.GetLeadingTrivia().LastOrDefault(t => t.IsKind(SyntaxKind.WhitespaceTrivia)).ToString() + "    ";
        var field = (MemberDeclarationSyntax)SyntaxFactory.ParseMemberDeclaration(indentation + fieldText + lineBreak)!;
        if (lastField is not null)
            return typeDeclaration.WithMembers(members.Insert(members.IndexOf(lastField) + 1, field));
        if (reference is not null)
        {
            // Before the first member, which keeps a blank line under the field.
            var first = members[0];
            var separated = first.WithLeadingTrivia(SyntaxFactory.TriviaList(SyntaxFactory.EndOfLine(lineBreak)).AddRange(first.GetLeadingTrivia()));
            return typeDeclaration.WithMembers(members.Replace(first, separated).Insert(0, field));
        }

        return typeDeclaration.WithMembers(members.Add(field));
    }

    private static bool ContainsMethodTypeParameter(ITypeSymbol type) => type switch
    {
        ITypeParameterSymbol parameter => parameter.TypeParameterKind == TypeParameterKind.Method,
        IArrayTypeSymbol array => ContainsMethodTypeParameter(array.ElementType),
        IPointerTypeSymbol pointer => ContainsMethodTypeParameter(pointer.PointedAtType),
        INamedTypeSymbol named => named.IsAnonymousType || named.TypeArguments.Any(ContainsMethodTypeParameter),
        _ => false,
    };
}
