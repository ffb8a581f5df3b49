using System.Collections.Generic;
using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using System.Threading;
using MemSafety.Analyzers.Compat;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;
using MemSafety.Analyzers.Engines.Bodies;
using MemSafety.Analyzers.Engines.Escape;
using MemSafety.Analyzers.Core;

namespace MemSafety.Analyzers.Rules.HeapEscapes;

/// <summary>
/// MSA1008. <c>new T[0]</c> and <c>new T[] { }</c> allocate a fresh array object on every execution,
/// although an empty array holds nothing and cannot be written to. <c>Array.Empty&lt;T&gt;()</c> (.NET
/// Framework 4.6, .NET Standard 1.3 and later) returns one cached instance per <c>T</c>. The only
/// observable difference is identity, so the rule stays silent where identity may be used: a lock, a
/// reference comparison, an <c>object</c> (a typical lock or sentinel), a reference-keyed table. The .NET
/// SDK's CA1825 reports every array this rule reports (and the identity cases too): while CA1825 is on in a
/// file, this rule leaves the file to it, so an allocation is never reported twice (<see cref="SdkRules"/>).
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class ZeroLengthArrayAllocationAnalyzer : MemSafetyAnalyzer
{
    /// <summary>Present when <c>[]</c> (C# 12) binds to <c>Array.Empty</c> at this place too.</summary>
    public const string CollectionExpressionProperty = "CollectionExpression";

    private static readonly ImmutableDictionary<string, string?> CollectionExpressionProperties
        = ImmutableDictionary<string, string?>.Empty.Add(CollectionExpressionProperty, "true");

    private static readonly RuleScopeOption Scope = RuleScopeOption.For(RuleIdentifiers.ZeroLengthArrayAllocation, RuleScope.HotPathsAndLoops);

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.ZeroLengthArrayAllocation);

    protected override void Register(AnalysisContext context)
        => context.RegisterCompilationStartAction(start =>
        {
            // Array.Empty<T> is missing on .NET Framework before 4.6 and on old portable profiles.
            if (!HasArrayEmpty(start.Compilation))
                return;
            var services = CompilationServices.Get(start.Compilation, start.Options);
            start.RegisterOperationAction(context => Analyze(context, services), OperationKind.ArrayCreation);
        });

    internal static bool HasArrayEmpty(Compilation compilation)
    {
        foreach (var member in compilation.GetSpecialType(SpecialType.System_Array).GetMembers("Empty"))
        {
            if (member is IMethodSymbol { IsStatic: true, DeclaredAccessibility: Accessibility.Public, Arity: 1, Parameters.Length: 0 })
                return true;
        }

        return false;
    }

    private static void Analyze(OperationAnalysisContext context, CompilationServices services)
    {
        var creation = (IArrayCreationOperation)context.Operation;

        // Cheap shape checks first: one dimension of constant size 0, no elements, written in source
        // (a params call with no arguments is implicit, and the compiler already uses Array.Empty there).
        if (creation.IsImplicit
            || creation.DimensionSizes.Length != 1
            || !ArrayFacts.IsZero(creation.DimensionSizes[0].ConstantValue)
            || creation.Initializer is { ElementValues.Length: > 0 }
            || creation.Type is not IArrayTypeSymbol { Rank: 1 } arrayType
            || creation.Syntax is not ArrayCreationExpressionSyntax syntax
            || syntax.ContainsDiagnostics)
        {
            return;
        }

        // Code that runs once (a static field or property initializer, a static constructor) allocates
        // one empty array in all: "on every call" would be false and the saving is nil.
        if (creation.RunsOncePerType(context.ContainingSymbol))
            return;

        if (!ArrayFacts.IsNameable(arrayType.ElementType)
            || ArrayFacts.IsInAttribute(creation)
            || ArrayFacts.IsInExpressionTree(creation)
            || IdentityMayMatter(creation, depth: 0, context.CancellationToken))
        {
            return;
        }

        // CA1825 reports every one-dimensional creation of constant size 0 (of any integral type) of a non-pointer
        // element type, outside attributes and expression trees, when Array.Empty exists: every array this rule
        // reports, and the identity cases too.
        if (services.SdkRules.Reports(SdkRule.AvoidZeroLengthArrayAllocations, syntax.SyntaxTree, context.CancellationToken))
            return;

        // 24 bytes per call is worth a warning where the code repeats: hot paths and loop cycles. Judged on
        // third-party libraries, the once-per-type cases (attribute constructors, reflection helpers) were not.
        var scope = services.ScopeOf(Scope, syntax.SyntaxTree);
        if (!services.HotPaths.IsInScope(scope, creation, context.ContainingSymbol))
            return;

        var elementName = arrayType.ElementType.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat);
        var properties = CollectionExpressionBindsToArrayEmpty(creation, arrayType)
            ? CollectionExpressionProperties
            : ImmutableDictionary<string, string?>.Empty;
        context.ReportDiagnostic(Diagnostic.Create(
            RuleCatalogue.ZeroLengthArrayAllocation,
            syntax.GetLocation(),
            properties,
            AsWritten(syntax),
            elementName,
            MessageText.Frequency(creation, context.ContainingSymbol, services.HotPaths)));
    }

    /// <summary>The creation as the source spells it (<c>new int[] { }</c> stays that), on one line.</summary>
    private static string AsWritten(SyntaxNode syntax)
    {
        var text = syntax.ToString();
        var builder = new System.Text.StringBuilder(text.Length);
        var space = false;
        foreach (var c in text)
        {
            if (char.IsWhiteSpace(c))
            {
                space = builder.Length > 0;
                continue;
            }

            if (space)
                builder.Append(' ');
            space = false;
            builder.Append(c);
        }

        return builder.ToString();
    }

    // ------------------------------------------------------------------ identity

    /// <summary>
    /// Whether the new array may be used for its identity: as a lock, in a reference comparison, as an
    /// <c>object</c> (locks and sentinels are typed <c>object</c>), or as a key of a table that compares
    /// keys by reference (arrays do not override Equals, so every dictionary keyed by arrays does). Sharing
    /// one instance would change the outcome of those. Follows locals in the same body and, for fields and
    /// properties, their uses in the containing type.
    /// </summary>
    private static bool IdentityMayMatter(IOperation value, int depth, CancellationToken cancellationToken)
    {
        if (depth > 4)
            return true;
        var current = value;
        while (current.Parent is IConversionOperation or IParenthesizedOperation)
        {
            if (current.Parent is IConversionOperation { Type: { } target } && IsIdentityType(target))
                return true;
            current = current.Parent;
        }

        switch (current.Parent)
        {
            case ILockOperation:
                return true;
            case IBinaryOperation { OperatorKind: BinaryOperatorKind.Equals or BinaryOperatorKind.NotEquals }:
                return true;
            case IIsPatternOperation:
                return false;
            case IArgumentOperation argument:
                return IsIdentityArgument(argument);
            case IConditionalOperation conditional when conditional.Condition != current:
                return IdentityMayMatter(conditional, depth + 1, cancellationToken);
            case ICoalesceOperation coalesce:
                return IdentityMayMatter(coalesce, depth + 1, cancellationToken);
            case IVariableInitializerOperation { Parent: IVariableDeclaratorOperation declarator }:
                return LocalIdentityMayMatter(current, declarator.Symbol, depth, cancellationToken);
            case ISimpleAssignmentOperation assignment when assignment.Value == current:
                return assignment.Target switch
                {
                    ILocalReferenceOperation local => LocalIdentityMayMatter(current, local.Local, depth, cancellationToken)
                                                      || IdentityMayMatter(assignment, depth + 1, cancellationToken),
                    IFieldReferenceOperation field => MemberIdentityMayMatter(field.Field, cancellationToken),
                    IPropertyReferenceOperation { Property.IsIndexer: false } property => MemberIdentityMayMatter(property.Property, cancellationToken),
                    IPropertyReferenceOperation => true, // stored into a collection: may be looked up by reference
                    _ => IdentityMayMatter(assignment, depth + 1, cancellationToken),
                };
            case IFieldInitializerOperation fieldInitializer:
                foreach (var field in fieldInitializer.InitializedFields)
                {
                    if (MemberIdentityMayMatter(field, cancellationToken))
                        return true;
                }

                return false;
            case IPropertyInitializerOperation propertyInitializer:
                foreach (var property in propertyInitializer.InitializedProperties)
                {
                    if (MemberIdentityMayMatter(property, cancellationToken))
                        return true;
                }

                return false;
            default:
                return false;
        }
    }

    /// <summary><c>object</c> and <c>dynamic</c>: what locks, sentinels and reference comparisons are typed as.</summary>
    private static bool IsIdentityType(ITypeSymbol type)
        => type.SpecialType == SpecialType.System_Object || type.TypeKind == TypeKind.Dynamic;

    /// <summary>Arguments whose identity the callee uses: generic collection keys and lookups (arrays
    /// compare by reference), weak tables, reference hashing.</summary>
    private static bool IsIdentityArgument(IArgumentOperation argument)
    {
        if (argument.Parameter is not { } parameter)
            return true;
        var method = argument.Parent switch
        {
            IInvocationOperation invocation => invocation.TargetMethod,
            IObjectCreationOperation construction => construction.Constructor,
            _ => null,
        };
        if (method is null)
            return true;
        var containing = method.ContainingType;
        if (containing is { Name: "ConditionalWeakTable" or "ObjectIDGenerator" or "ReferenceEqualityComparer" or "RuntimeHelpers" or "Monitor" })
            return true;
        return parameter.OriginalDefinition.Type.TypeKind == TypeKind.TypeParameter && IsLookupName(method.Name);
    }

    private static bool IsLookupName(string name) => name switch
    {
        "Add" or "TryAdd" or "ContainsKey" or "TryGetValue" or "GetOrAdd" or "AddOrUpdate" or "Remove" or "TryRemove"
            or "Contains" or "IndexOf" or "LastIndexOf" or "Equals" or "GetHashCode" or "GetValue" or "GetOrCreateValue"
            or "ReferenceEquals" or "Enter" or "TryEnter" or "Exit" or "Wait" or "Pulse" or "PulseAll" or "Push" or "Enqueue"
            or "Insert" or "set_Item" or "get_Item" => true,
        _ => false,
    };

    private static bool LocalIdentityMayMatter(IOperation creation, ILocalSymbol local, int depth, CancellationToken cancellationToken)
    {
        foreach (var reference in BodyFacts.Of(creation).ReferencesTo(local))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var isWrite = reference.Parent is ISimpleAssignmentOperation assignment && assignment.Target == reference;
            if (!isWrite && IdentityMayMatter(reference, depth + 1, cancellationToken))
                return true;
            if (reference.Parent is IArgumentOperation { Parameter.RefKind: not RefKind.None and not RefKind.In })
                return true;
        }

        return false;
    }

    /// <summary>A field or property holding the array: looks, in the syntax of its containing type, for
    /// uses that depend on identity (lock, ==, !=, ReferenceEquals and other identity calls). Uses in
    /// other types are not seen, as for an array that is returned.</summary>
    private static bool MemberIdentityMayMatter(ISymbol member, CancellationToken cancellationToken)
        => member.ContainingType is { } type && IdentityUsedNames.In(type, cancellationToken).Contains(member.Name);

    /// <summary>
    /// Per type: the names written somewhere in the type's syntax (all its partial declarations) in a use that
    /// depends on identity (see <see cref="IsIdentityUse"/>). A fact about the type, not a body, so it is cached
    /// per type symbol (its original definition) here rather than in BodyFacts: one syntax walk per type instead
    /// of one per field or property asked about. Weakly keyed, it dies with the compilation.
    /// </summary>
    private static class IdentityUsedNames
    {
        private static readonly ConditionalWeakTable<INamedTypeSymbol, HashSet<string>> Cache = new();

        public static HashSet<string> In(INamedTypeSymbol type, CancellationToken cancellationToken)
        {
            type = type.OriginalDefinition;
            return Cache.TryGetValue(type, out var names) ? names : Compute(type, cancellationToken);
        }

        /// <summary>Apart from <see cref="In"/> so that the closure is allocated only on a cache miss.</summary>
        private static HashSet<string> Compute(INamedTypeSymbol type, CancellationToken cancellationToken)
        {
            var found = new HashSet<string>(System.StringComparer.Ordinal);
            foreach (var reference in type.DeclaringSyntaxReferences)
            {
                foreach (var node in reference.GetSyntax(cancellationToken).DescendantNodes())
                {
                    if (node is IdentifierNameSyntax identifier && IsIdentityUse(identifier))
                        found.Add(identifier.Identifier.ValueText);
                }
            }

            return Cache.GetValue(type, _ => found);
        }
    }

    private static bool IsIdentityUse(ExpressionSyntax expression)
    {
        SyntaxNode node = expression;
        while (node.Parent is MemberAccessExpressionSyntax access && access.Name == node
               || node.Parent is ParenthesizedExpressionSyntax or CastExpressionSyntax or PostfixUnaryExpressionSyntax { RawKind: (int)SyntaxKind.SuppressNullableWarningExpression })
        {
            node = node.Parent;
        }

        switch (node.Parent)
        {
            case LockStatementSyntax:
                return true;
            case BinaryExpressionSyntax binary when binary.IsKind(SyntaxKind.EqualsExpression) || binary.IsKind(SyntaxKind.NotEqualsExpression):
                var other = binary.Left == node ? binary.Right : binary.Left;
                return !other.IsKind(SyntaxKind.NullLiteralExpression);
            case ArgumentSyntax { Parent: ArgumentListSyntax { Parent: InvocationExpressionSyntax invocation } }:
                var calledName = invocation.Expression switch
                {
                    MemberAccessExpressionSyntax access => access.Name.Identifier.ValueText,
                    SimpleNameSyntax simple => simple.Identifier.ValueText,
                    _ => string.Empty,
                };
                return IsLookupName(calledName);
            default:
                return false;
        }
    }

    // ------------------------------------------------------------------ collection expressions

    /// <summary>
    /// Whether <c>[]</c> could replace the creation and compile to <c>Array.Empty&lt;T&gt;()</c>: C# 12+, a
    /// place with a target type that does not take part in overload resolution (an explicitly typed local,
    /// an assignment, a return from a method or property, a field or property initializer), and a target of
    /// the same array type or IEnumerable/IReadOnlyCollection/IReadOnlyList of the element type (for
    /// List, ICollection or IList, <c>[]</c> allocates).
    /// </summary>
    private static bool CollectionExpressionBindsToArrayEmpty(IArrayCreationOperation creation, IArrayTypeSymbol arrayType)
    {
        if (((CSharpParseOptions)creation.Syntax.SyntaxTree.Options).LanguageVersion < RoslynEnums.CSharp12)
            return false;
        IOperation current = creation;
        ITypeSymbol target = arrayType;
        if (current.Parent is IConversionOperation { IsImplicit: true, Conversion.IsUserDefined: false, Type: { } converted } conversion)
        {
            target = converted;
            current = conversion;
        }

        if (!SymbolEqualityComparer.Default.Equals(target, arrayType) && !IsReadOnlySequenceOf(target, arrayType.ElementType))
            return false;

        switch (current.Parent)
        {
            case IVariableInitializerOperation { Parent: IVariableDeclaratorOperation { Syntax: VariableDeclaratorSyntax { Parent: VariableDeclarationSyntax declaration } } }:
                return !declaration.Type.IsVar;
            case ISimpleAssignmentOperation assignment when assignment.Value == current && assignment.Parent is IExpressionStatementOperation:
                return true;
            case IReturnOperation { Kind: OperationKind.Return } returned:
                for (var p = returned.Parent; p is not null; p = p.Parent)
                {
                    if (p is IAnonymousFunctionOperation)
                        return false;
                }

                return true;
            case IFieldInitializerOperation or IPropertyInitializerOperation:
                return true;
            default:
                return false;
        }
    }

    private static bool IsReadOnlySequenceOf(ITypeSymbol target, ITypeSymbol element)
        => target is INamedTypeSymbol { IsGenericType: true, TypeArguments.Length: 1 } named
           && named.OriginalDefinition.SpecialType is SpecialType.System_Collections_Generic_IEnumerable_T
               or SpecialType.System_Collections_Generic_IReadOnlyCollection_T
               or SpecialType.System_Collections_Generic_IReadOnlyList_T
           && SymbolEqualityComparer.Default.Equals(named.TypeArguments[0], element);
}
