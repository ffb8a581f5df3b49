using System.Collections.Concurrent;
using System.Collections.Immutable;
using MemSafety.Analyzers.Infrastructure;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;
using Microsoft.CodeAnalysis.Text;

namespace MemSafety.Analyzers.Boxing;

/// <summary>
/// MSA2003. Hash collections, list searches and the LINQ set/grouping operators compare through
/// <c>EqualityComparer&lt;T&gt;.Default</c>. For a struct without <c>IEquatable&lt;itself&gt;</c> that is
/// <c>ObjectEqualityComparer&lt;T&gt;</c>, which boxes the values for <c>Equals(object)</c> and
/// <c>GetHashCode()</c> on every lookup — inside the BCL, so the caller's IL has no <c>box</c>
/// (docs/design/boxing.md, "Boxing the caller cannot see"). The rule therefore reasons from the key type:
/// it reports each site that makes the default comparer compare such a struct (a collection's creation, a
/// search call, a LINQ operator without a comparer argument, <c>EqualityComparer&lt;T&gt;.Default</c>), also
/// when the struct is an element of a ValueTuple, an anonymous type or a Nullable key (they compare their
/// elements through the default comparer too).
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class StructDefaultEqualityAnalyzer : MemSafetyAnalyzer
{
    /// <summary>Diagnostic property present when the fix can implement IEquatable on the struct, whose
    /// declaration is the diagnostic's first additional location.</summary>
    public const string FixableProperty = "Fixable";

    private const int MaxDepth = 8;

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.StructDefaultEquality);

    protected override void Register(AnalysisContext context) => context.RegisterCompilationStartAction(start =>
    {
        var compilation = start.Compilation;
        var equatable = compilation.GetTypeByMetadataName("System.IEquatable`1");
        var comparerInterface = compilation.GetTypeByMetadataName("System.Collections.Generic.IEqualityComparer`1");
        if (equatable is null || comparerInterface is null)
            return;
        var state = new State(
            compilation,
            equatable,
            comparerInterface,
            compilation.GetTypeByMetadataName("System.Collections.Generic.Dictionary`2"),
            compilation.GetTypeByMetadataName("System.Collections.Generic.HashSet`1"),
            compilation.GetTypeByMetadataName("System.Collections.Concurrent.ConcurrentDictionary`2"),
            compilation.GetTypeByMetadataName("System.Collections.Generic.List`1"),
            compilation.GetTypeByMetadataName("System.Collections.Generic.EqualityComparer`1"),
            compilation.GetTypeByMetadataName("System.Linq.Enumerable"));
        start.RegisterOperationAction(state.AnalyzeCreation, OperationKind.ObjectCreation);
        start.RegisterOperationAction(state.AnalyzeInvocation, OperationKind.Invocation);
        start.RegisterOperationAction(state.AnalyzePropertyReference, OperationKind.PropertyReference);
    });

    /// <summary>What the analyzer knows about one struct (computed once per compilation).</summary>
    private sealed class StructFacts
    {
        public StructFacts(bool equatable, bool overridesEquals, Location? fixLocation, bool mayCompareBits = false, bool overridesGetHashCode = true)
        {
            Equatable = equatable;
            OverridesGetHashCode = overridesGetHashCode;
            OverridesEquals = overridesEquals;
            FixLocation = fixLocation;
            MayCompareBits = mayCompareBits;
        }

        /// <summary>The runtime may search arrays of it by comparing bits (no box): see <see cref="StructEquality.MayCompareBits"/>.</summary>
        public bool MayCompareBits { get; }

        public bool Equatable { get; }

        /// <summary>Meaningful for equatable structs: without the override, hashing runs ValueType.GetHashCode on a box.</summary>
        public bool OverridesGetHashCode { get; }

        public bool OverridesEquals { get; }

        /// <summary>The struct's identifier when the fix can implement IEquatable on it; null otherwise.</summary>
        public Location? FixLocation { get; }
    }

    private sealed class State
    {
        private static readonly ImmutableDictionary<string, string?> Fixable = ImmutableDictionary<string, string?>.Empty.Add(FixableProperty, "true");

        private readonly Compilation _compilation;
        private readonly INamedTypeSymbol _equatable;
        private readonly INamedTypeSymbol _comparerInterface;
        private readonly INamedTypeSymbol? _dictionary;
        private readonly INamedTypeSymbol? _hashSet;
        private readonly INamedTypeSymbol? _concurrentDictionary;
        private readonly INamedTypeSymbol? _list;
        private readonly INamedTypeSymbol? _equalityComparer;
        private readonly INamedTypeSymbol? _enumerable;
        private readonly ConcurrentDictionary<ITypeSymbol, StructFacts> _facts = new(SymbolEqualityComparer.Default);
        private readonly bool _targetsFramework;

        public State(Compilation compilation, INamedTypeSymbol equatable, INamedTypeSymbol comparerInterface, INamedTypeSymbol? dictionary, INamedTypeSymbol? hashSet,
            INamedTypeSymbol? concurrentDictionary, INamedTypeSymbol? list, INamedTypeSymbol? equalityComparer, INamedTypeSymbol? enumerable)
        {
            _compilation = compilation;
            _equatable = equatable;
            _comparerInterface = comparerInterface;
            _dictionary = dictionary;
            _hashSet = hashSet;
            _concurrentDictionary = concurrentDictionary;
            _list = list;
            _equalityComparer = equalityComparer;
            _enumerable = enumerable;
            _targetsFramework = compilation.ObjectType.ContainingAssembly?.Name == "mscorlib";
        }

        // ------------------------------------------------------------ sites

        public void AnalyzeCreation(OperationAnalysisContext context)
        {
            var creation = (IObjectCreationOperation)context.Operation;
            if (creation.Type is not INamedTypeSymbol { IsGenericType: true } type)
                return;
            var definition = type.OriginalDefinition;
            string noun;
            if (SymbolEqualityComparer.Default.Equals(definition, _dictionary) || SymbolEqualityComparer.Default.Equals(definition, _concurrentDictionary))
                noun = "keys";
            else if (SymbolEqualityComparer.Default.Equals(definition, _hashSet))
                noun = "items";
            else
                return;

            if (PassesComparer(creation.Arguments))
                return;

            var syntax = creation.Syntax;
            var span = syntax switch
            {
                ObjectCreationExpressionSyntax explicitNew => TextSpan.FromBounds(explicitNew.SpanStart, explicitNew.ArgumentList?.Span.End ?? explicitNew.Type.Span.End),
                ImplicitObjectCreationExpressionSyntax implicitNew => TextSpan.FromBounds(implicitNew.SpanStart, implicitNew.ArgumentList.Span.End),
                _ => syntax.Span,
            };
            Report(context, type.TypeArguments[0], Location.Create(syntax.SyntaxTree, span),
                "'" + type.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat) + "'", "its " + noun, "lookup", hashing: true);
        }

        public void AnalyzeInvocation(OperationAnalysisContext context)
        {
            var invocation = (IInvocationOperation)context.Operation;
            var method = invocation.TargetMethod;
            var containing = method.ContainingType;
            if (containing is null)
                return;

            ITypeSymbol key;
            string site;
            string noun = "items";
            var search = true;
            var hashes = false;
            switch (method.Name)
            {
                case "Contains" or "IndexOf" or "LastIndexOf" or "Remove" when !method.IsStatic && SymbolEqualityComparer.Default.Equals(containing.OriginalDefinition, _list):
                    key = containing.TypeArguments[0];
                    site = "'" + containing.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat) + "." + method.Name + "'";
                    break;
                case "IndexOf" or "LastIndexOf" when method.IsStatic && method.IsGenericMethod && containing.SpecialType == SpecialType.System_Array:
                    key = method.TypeArguments[0];
                    site = "'Array." + method.Name + "'";
                    break;
                case "Contains" or "Distinct" or "Except" or "Intersect" or "Union" or "ToHashSet" or "SequenceEqual"
                    or "GroupBy" or "GroupJoin" or "Join" or "ToDictionary" or "ToLookup" or "DistinctBy" or "ExceptBy" or "IntersectBy" or "UnionBy"
                    or "CountBy" or "AggregateBy"
                    when method.IsStatic && method.IsGenericMethod && SymbolEqualityComparer.Default.Equals(containing, _enumerable):
                    if (PassesComparer(invocation.Arguments))
                        return;
                    search = method.Name is "Contains" or "SequenceEqual";
                    hashes = !search;
                    key = method.TypeArguments[0];
                    for (var i = 0; i < method.TypeParameters.Length; i++)
                    {
                        if (method.TypeParameters[i].Name == "TKey")
                        {
                            key = method.TypeArguments[i];
                            noun = "keys";
                        }
                    }

                    site = "'" + method.Name + "'";
                    break;
                default:
                    return;
            }

            var syntax = invocation.Syntax;
            var span = syntax is InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax access }
                ? TextSpan.FromBounds(access.Name.SpanStart, syntax.Span.End)
                : syntax.Span;
            Report(context, key, Location.Create(syntax.SyntaxTree, span), site, "the " + noun, "comparison", search, hashing: hashes);
        }

        public void AnalyzePropertyReference(OperationAnalysisContext context)
        {
            var reference = (IPropertyReferenceOperation)context.Operation;
            var property = reference.Property;
            if (property.Name != "Default" || !property.IsStatic || property.ContainingType is not { } containing
                || !SymbolEqualityComparer.Default.Equals(containing.OriginalDefinition, _equalityComparer))
            {
                return;
            }

            Report(context, containing.TypeArguments[0], reference.Syntax.GetLocation(),
                "'" + containing.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat) + ".Default'", "the values", "comparison");
        }

        // ------------------------------------------------------------ decisions

        /// <param name="hashing">The site hashes its keys: a struct with IEquatable but without a GetHashCode
        /// override still boxes there (the default comparer calls the inherited GetHashCode on a box).</param>
        private void Report(OperationAnalysisContext context, ITypeSymbol key, Location location, string site, string noun, string operation, bool search = false, bool hashing = false)
        {
            var offender = Offender(key, 0, hashing, out var facts);
            if (offender is null || context.Operation.Syntax.ContainsDiagnostics)
                return;

            // Array searches (List<T>.Contains/IndexOf/…, Array.IndexOf, Enumerable.Contains on a collection) compare the
            // bits of a reference-free, padding-free struct of primitives without boxing on .NET Core (measured on .NET 10);
            // .NET Framework has no such path. Only a struct key itself can qualify (ValueTuple etc. override Equals).
            if (search && facts!.MayCompareBits && !_targetsFramework && SymbolEqualityComparer.Default.Equals(offender, key))
                return;

            var name = offender.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat);
            var what = SymbolEqualityComparer.Default.Equals(offender, key) ? noun : "the '" + name + "' in " + noun;
            string problem;
            string tail;
            Location[]? additional;
            if (facts!.Equatable)
            {
                problem = "implements IEquatable<" + name + "> but does not override GetHashCode()";
                tail = " to run ValueType.GetHashCode(), which may not agree with Equals(" + name + ")";
                additional = null;
            }
            else
            {
                problem = "has no IEquatable<" + name + ">";
                tail = facts.OverridesEquals
                    ? " to call its Equals(object) override"
                    : " and ValueType.Equals may compare the fields through reflection";
                additional = facts.FixLocation is { } fix ? new[] { fix } : null;
            }

            context.ReportDiagnostic(Diagnostic.Create(
                RuleCatalogue.StructDefaultEquality,
                location,
                additional,
                additional is null ? ImmutableDictionary<string, string?>.Empty : Fixable,
                name,
                problem,
                site,
                what,
                operation,
                tail));
        }

        /// <summary>The struct without IEquatable of itself that the default comparer of <paramref name="key"/>
        /// ends up comparing through Equals(object): the key itself, or an element of a ValueTuple, Nullable or
        /// anonymous-type key (which compare their elements with EqualityComparer&lt;T&gt;.Default).</summary>
        private INamedTypeSymbol? Offender(ITypeSymbol key, int depth, bool hashing, out StructFacts? facts)
        {
            facts = null;
            if (depth > MaxDepth || key is not INamedTypeSymbol named)
                return null;

            if (named.TypeKind == TypeKind.Class)
            {
                if (!named.IsAnonymousType)
                    return null;
                foreach (var member in named.GetMembers())
                {
                    if (member is IPropertySymbol property && Offender(property.Type, depth + 1, hashing, out facts) is { } inner)
                        return inner;
                }

                return null;
            }

            if (named.TypeKind != TypeKind.Struct || named.IsRefLikeType)
                return null;

            if (named.OriginalDefinition.SpecialType == SpecialType.System_Nullable_T || named.IsTupleType
                || (named.Name == "ValueTuple" && named.ContainingNamespace is { Name: "System", ContainingNamespace.IsGlobalNamespace: true }))
            {
                foreach (var argument in named.TypeArguments)
                {
                    if (Offender(argument, depth + 1, hashing, out facts) is { } inner)
                        return inner;
                }

                return null;
            }

            var known = _facts.GetOrAdd(named, Compute);
            if (known.Equatable && (!hashing || known.OverridesGetHashCode))
                return null;
            facts = known;
            return named;
        }

        private StructFacts Compute(ITypeSymbol type)
        {
            var named = (INamedTypeSymbol)type;
            if (StructEquality.ImplementsEquatableOfItself(named, _equatable))
                return new StructFacts(true, false, null, overridesGetHashCode: StructEquality.OverridesGetHashCode(named));
            foreach (var implemented in named.AllInterfaces)
            {
                if (implemented.TypeKind == TypeKind.Error)
                    return new StructFacts(true, false, null); // incomplete code: the missing interface may be IEquatable
            }

            var overrides = StructEquality.OverridesEqualsObject(named);
            Location? fix = null;
            if (!overrides && !StructEquality.PlanFix(named.OriginalDefinition, _compilation, _equatable).IsDefault)
                fix = named.OriginalDefinition.Locations[0];
            return new StructFacts(false, overrides, fix, !overrides && StructEquality.MayCompareBits(named));
        }

        private bool PassesComparer(ImmutableArray<IArgumentOperation> arguments)
        {
            foreach (var argument in arguments)
            {
                if (argument.Parameter?.Type is INamedTypeSymbol { IsGenericType: true } parameterType
                    && SymbolEqualityComparer.Default.Equals(parameterType.OriginalDefinition, _comparerInterface)
                    && argument.ArgumentKind != ArgumentKind.DefaultValue
                    && !(argument.Value.ConstantValue is { HasValue: true, Value: null }))
                {
                    return true;
                }
            }

            return false;
        }
    }
}
