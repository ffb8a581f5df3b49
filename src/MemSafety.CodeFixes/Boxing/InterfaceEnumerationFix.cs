using System.Collections.Generic;
using System.Collections.Immutable;
using System.Composition;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.Boxing;
using MemSafety.Analyzers.Core;
using MemSafety.CodeFixes.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;
using Microsoft.CodeAnalysis.Simplification;

namespace MemSafety.CodeFixes.Boxing;

/// <summary>
/// MSA2006: declares the local or private field as its concrete type (<c>IEnumerable&lt;int&gt; items</c> →
/// <c>List&lt;int&gt; items</c>). The rewrite is checked against the compiler before it is offered: the
/// document must gain no diagnostic, and every other use of the variable must bind as before (the same
/// method, property, overload and converted type; an interface member may become the concrete type's
/// implementation of that very member). Otherwise — <c>items.Reverse()</c> would switch from
/// <c>Enumerable.Reverse</c> to the in-place <c>List&lt;T&gt;.Reverse</c>, an overload would change, a
/// <c>var</c> copy would change type — no fix is offered.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(InterfaceEnumerationFix)), Shared]
public sealed class InterfaceEnumerationFix : MemSafetyCodeFix
{
    private const string Title = "Declare the concrete collection type";

    public InterfaceEnumerationFix()
        : base(RuleIdentifiers.InterfaceEnumeration)
    {
    }

    /// <summary>Several loops over one variable give several diagnostics but one declaration change, and
    /// each change is validated against the document as it is after the previous ones.</summary>
    public override FixAllProvider GetFixAllProvider() => FixAllProvider.Create(async (context, document, diagnostics) =>
    {
        var (root, model) = await FixDocument.ReadAsync(document, context.CancellationToken).ConfigureAwait(false);
        var annotations = new Dictionary<VariableDeclaratorSyntax, (SyntaxAnnotation Annotation, string Concrete)>();
        foreach (var diagnostic in diagnostics)
        {
            if (Target(root, root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true), model, context.CancellationToken) is { } declarator && !annotations.ContainsKey(declarator)
                && diagnostic.Properties.TryGetValue(InterfaceEnumerationAnalyzer.ConcreteTypeProperty, out var concrete) && concrete is not null)
            {
                annotations.Add(declarator, (new SyntaxAnnotation(), concrete));
            }
        }

        if (annotations.Count == 0)
            return document;
        var current = document.WithSyntaxRoot(root.ReplaceNodes(annotations.Keys, (original, _) => original.WithAdditionalAnnotations(annotations[original].Annotation)));
        foreach (var pair in annotations.Values)
        {
            var fixedDocument = await TryFixAsync(current, pair.Annotation, pair.Concrete, context.CancellationToken).ConfigureAwait(false);
            if (fixedDocument is not null)
                current = fixedDocument;
        }

        return current;
    });

    private protected override async Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
    {
        if (!diagnostic.Properties.TryGetValue(InterfaceEnumerationAnalyzer.ConcreteTypeProperty, out var concrete) || concrete is null)
            return;
        var root = request.Root;
        if (Target(root, node, await request.GetSemanticModelAsync().ConfigureAwait(false), request.CancellationToken) is not { } declarator)
            return;
        var annotation = new SyntaxAnnotation();
        var annotated = request.Document.WithSyntaxRoot(root.ReplaceNode(declarator, declarator.WithAdditionalAnnotations(annotation)));
        // The check needs the compiler, so it runs now: a fix that is not offered must not be listed.
        var fixedDocument = await TryFixAsync(annotated, annotation, concrete, request.CancellationToken).ConfigureAwait(false);
        if (fixedDocument is not null)
            request.Register(Title, _ => Task.FromResult(fixedDocument), diagnostic);
    }

    /// <summary>The declarator of the enumerated variable, when it is in this document and declares it alone.</summary>
    private static VariableDeclaratorSyntax? Target(SyntaxNode root, SyntaxNode node, SemanticModel model, CancellationToken cancellationToken)
    {
        if (node is not ExpressionSyntax expression)
            return null;
        var symbol = model.GetSymbolInfo(expression, cancellationToken).Symbol;
        if (symbol is not (ILocalSymbol or IFieldSymbol) || symbol.DeclaringSyntaxReferences.Length != 1)
            return null;
        // The bindings are checked in this document only: a field of a type declared in several files may be
        // used (and rebound) in another one.
        if (symbol is IFieldSymbol { ContainingType.DeclaringSyntaxReferences.Length: > 1 })
            return null;
        var reference = symbol.DeclaringSyntaxReferences[0];
        if (reference.SyntaxTree != root.SyntaxTree || root.FindNode(reference.Span, getInnermostNodeForTie: true) is not VariableDeclaratorSyntax declarator)
            return null;
        return declarator.Parent is VariableDeclarationSyntax { Variables.Count: 1, Type.IsVar: false } ? declarator : null;
    }

    /// <summary>Declares the annotated variable as <paramref name="concrete"/>; null when the compiler shows
    /// that something else would change.</summary>
    private static async Task<Document?> TryFixAsync(Document document, SyntaxAnnotation annotation, string concrete, CancellationToken cancellationToken)
    {
        var (root, model) = await FixDocument.ReadAsync(document, cancellationToken).ConfigureAwait(false);
        var declarator = FindAnnotated(root, annotation);
        if (declarator?.Parent is not VariableDeclarationSyntax declaration || model.GetDeclaredSymbol(declarator, cancellationToken) is not { } before)
            return null;
        var usesBefore = Uses(root, model, before, cancellationToken);
        var diagnosticsBefore = Count(model, cancellationToken);

        TypeSyntax newType = SyntaxFactory.ParseTypeName(concrete);
        if (declaration.Type is NullableTypeSyntax)
            newType = SyntaxFactory.NullableType(newType);
        newType = newType.WithTriviaFrom(declaration.Type).WithAdditionalAnnotations(Simplifier.Annotation);
        var changed = document.WithSyntaxRoot(root.ReplaceNode(declaration.Type, newType));
        changed = await Simplifier.ReduceAsync(changed, Simplifier.Annotation, cancellationToken: cancellationToken).ConfigureAwait(false);

        var (newRoot, newModel) = await FixDocument.ReadAsync(changed, cancellationToken).ConfigureAwait(false);
        var newDeclarator = FindAnnotated(newRoot, annotation);
        if (newDeclarator is null || newModel.GetDeclaredSymbol(newDeclarator, cancellationToken) is not { } after)
            return null;
        if (Count(newModel, cancellationToken) > diagnosticsBefore)
            return null;
        var usesAfter = Uses(newRoot, newModel, after, cancellationToken);
        if (usesAfter.Count != usesBefore.Count)
            return null;
        var concreteType = after is ILocalSymbol local ? local.Type : ((IFieldSymbol)after).Type;
        for (var i = 0; i < usesBefore.Count; i++)
        {
            if (!SameBinding(usesBefore[i], usesAfter[i], concreteType))
                return null;
        }

        return changed;
    }

    private static VariableDeclaratorSyntax? FindAnnotated(SyntaxNode root, SyntaxAnnotation annotation)
    {
        foreach (var node in root.GetAnnotatedNodes(annotation))
            return node as VariableDeclaratorSyntax;
        return null;
    }

    private static int Count(SemanticModel model, CancellationToken cancellationToken)
    {
        var count = 0;
        foreach (var diagnostic in model.GetDiagnostics(cancellationToken: cancellationToken))
        {
            if (diagnostic.Severity >= DiagnosticSeverity.Warning)
                count++;
        }

        return count;
    }

    /// <summary>How each reference to the variable is consumed, in document order.</summary>
    private static List<Use> Uses(SyntaxNode root, SemanticModel model, ISymbol variable, CancellationToken cancellationToken)
    {
        var uses = new List<Use>();
        foreach (var token in root.DescendantTokens())
        {
            if (!token.IsKind(SyntaxKind.IdentifierToken) || token.ValueText != variable.Name || token.Parent is not IdentifierNameSyntax name)
                continue;
            if (!SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(name, cancellationToken).Symbol, variable))
                continue;
            var operation = model.GetOperation(name, cancellationToken);
            uses.Add(Describe(operation));
        }

        return uses;
    }

    /// <summary>What consumes the variable's value: walks up through conversions to the first operation
    /// that gives the value a meaning, and the type the value has there.</summary>
    private static Use Describe(IOperation? operation)
    {
        if (operation is null)
            return new Use("none", null, null, null);
        var child = operation;
        var parent = operation.Parent;
        while (parent is IConversionOperation)
        {
            child = parent;
            parent = parent.Parent;
        }

        var converted = child.Type;
        return parent switch
        {
            IForEachLoopOperation loop when loop.Collection == child => new Use("foreach", null, null, null),
            ISimpleAssignmentOperation assignment when assignment.Target == child => new Use("assigned", null, null, null),
            ICoalesceAssignmentOperation assignment when assignment.Target == child => new Use("assigned", null, null, null),
            IInvocationOperation invocation when invocation.Instance == child => new Use("call", invocation.TargetMethod, null, null),
            IPropertyReferenceOperation property when property.Instance == child => new Use("property", property.Property, null, null),
            // The same parameter of the same (constructed) method: the same overload, the same parameter type.
            IArgumentOperation argument => new Use("argument", argument.Parameter?.ContainingSymbol, argument.Parameter?.Ordinal.ToString(System.Globalization.CultureInfo.InvariantCulture), null),
            IMemberReferenceOperation member when member.Instance == child => new Use("member", member.Member, null, null),
            null => new Use("none", null, null, converted),
            _ => new Use(parent.Kind.ToString(), null, parent.Type?.ToDisplayString(), converted),
        };
    }

    /// <summary>The same consumer, or an interface member called on the variable replaced by the concrete
    /// type's implementation of that very member (<c>ICollection&lt;T&gt;.Add</c> → <c>List&lt;T&gt;.Add</c>).
    /// The two uses come from two compilations, so symbols are compared by their full display.</summary>
    private static bool SameBinding(Use before, Use after, ITypeSymbol concrete)
    {
        if (before.Kind != after.Kind || before.Detail != after.Detail || Key(before.Converted) != Key(after.Converted))
            return false;
        if (Key(before.Member) == Key(after.Member))
            return true;
        if (before.Kind is not ("call" or "property") || before.Member is not { ContainingType.TypeKind: TypeKind.Interface } || after.Member is null)
            return false;
        var wanted = Key(before.Member);
        foreach (var implemented in concrete.AllInterfaces)
        {
            foreach (var member in implemented.GetMembers(before.Member.Name))
            {
                if (Key(member) == wanted && SymbolEqualityComparer.Default.Equals(concrete.FindImplementationForInterfaceMember(member), after.Member))
                    return true;
            }
        }

        return false;
    }

    private static string? Key(ISymbol? symbol) => symbol?.ToDisplayString(SymbolDisplayFormat.CSharpErrorMessageFormat);

    private sealed class Use
    {
        public Use(string kind, ISymbol? member, string? detail, ITypeSymbol? converted)
        {
            Kind = kind;
            Member = member;
            Detail = detail;
            Converted = converted;
        }

        /// <summary>For consumers that are neither a member nor a parameter: the type the value reaches them as.</summary>
        public ITypeSymbol? Converted { get; }

        public string Kind { get; }

        public ISymbol? Member { get; }

        public string? Detail { get; }
    }
}
