using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Threading;
using MemSafety.Analyzers.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;
using Microsoft.CodeAnalysis.Text;

namespace MemSafety.Analyzers.Rules.Boxing;

/// <summary>
/// MSA2003. Hash collections, list searches and the LINQ set/grouping operators compare through
/// <c>EqualityComparer&lt;T&gt;.Default</c>. For a struct without <c>IEquatable&lt;itself&gt;</c> that is
/// <c>ObjectEqualityComparer&lt;T&gt;</c>, which boxes the values for <c>Equals(object)</c> and
/// <c>GetHashCode()</c> on every lookup — inside the BCL, so the caller's IL has no <c>box</c>
/// (docs/design/boxing.md, "Boxing the caller cannot see"). The rule therefore reasons from the key type:
/// it reports each site that makes the default comparer compare such a struct (a collection's creation, a
/// search call, a LINQ operator without a comparer argument, <c>EqualityComparer&lt;T&gt;.Default</c>), also
/// when the struct is an element of a ValueTuple, an anonymous type or a Nullable key (they compare their
/// elements through the default comparer too). <c>Enumerable.Contains</c> runs the source's own
/// <c>ICollection&lt;T&gt;.Contains</c>, so it is judged by the source's static type: arrays and lists search with the
/// default comparer, a BCL dictionary of pairs compares only the value, anything else is not guessed. For a struct of
/// another assembly (KeyValuePair, …) the message says what the caller can do (a comparer, a predicate), never
/// to implement IEquatable, and no fix is offered.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class StructDefaultEqualityAnalyzer : MemSafetyAnalyzer
{
    /// <summary>Diagnostic property present when the fix can implement IEquatable on the struct, whose
    /// declaration is the diagnostic's first additional location.</summary>
    public const string FixableProperty = "Fixable";

    private const int MaxDepth = 8;

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.StructDefaultEquality);

    // Nothing is looked up at compilation start: a compilation's first symbol lookups (its source assembly, the namespace
    // tables of every reference) are paid by whichever callback asks first, and the sites are recognised by name (the
    // types' name, arity and namespace), so the rule needs no lookup until it has a struct to judge.
    protected override void Register(AnalysisContext context) => context.RegisterCompilationStartAction(start =>
    {
        var state = new State(start.Compilation);
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

        /// <summary>Without the override, hashing runs ValueType.GetHashCode on a box; with it, hashing does not box.</summary>
        public bool OverridesGetHashCode { get; }

        public bool OverridesEquals { get; }

        /// <summary>The struct's identifier when the fix can implement IEquatable on it; null otherwise.</summary>
        public Location? FixLocation { get; }
    }

    /// <summary>Where the default comparer is chosen, which decides how often it compares.</summary>
    private enum SiteKind
    {
        /// <summary>A Dictionary/HashSet/ConcurrentDictionary created without a comparer: hashes every lookup.</summary>
        HashedCollection,

        /// <summary>A LINQ operator that hashes (Distinct, GroupBy, ToDictionary, …).</summary>
        Hashing,

        /// <summary>Compares element after element: List/Array searches, Enumerable.Contains on an array or list, SequenceEqual.</summary>
        ArraySearch,

        /// <summary>Enumerable.Contains on a BCL dictionary: compares the value when the key is found.</summary>
        DictionaryValue,

        /// <summary>EqualityComparer&lt;T&gt;.Default itself.</summary>
        Comparer,
    }

    private enum Dispatch
    {
        Unknown,
        ArraySearch,
        DictionaryValue,
    }

    private sealed class State
    {
        private static readonly ImmutableDictionary<string, string?> Fixable = ImmutableDictionary<string, string?>.Empty.Add(FixableProperty, "true");

        private const string GenericCollections = "System.Collections.Generic";

        private readonly Compilation _compilation;
        private readonly ConcurrentDictionary<ITypeSymbol, StructFacts> _facts = new(SymbolEqualityComparer.Default);

        // Looked up on first use (a struct to judge, an Enumerable.Contains on a collection, a report), never at compilation start.
        private INamedTypeSymbol? _collection;
        private bool _collectionKnown;
        private int _targetsFramework;

        public State(Compilation compilation) => _compilation = compilation;

        /// <summary><c>System.Collections.Generic.ICollection&lt;T&gt;</c>, looked up on the first Enumerable.Contains over a
        /// class or struct (two threads may both look it up; Roslyn answers both with the same symbol).</summary>
        private INamedTypeSymbol? Collection
        {
            get
            {
                if (!Volatile.Read(ref _collectionKnown))
                {
                    _collection = _compilation.GetTypeByMetadataName("System.Collections.Generic.ICollection`1");
                    Volatile.Write(ref _collectionKnown, true);
                }

                return _collection;
            }
        }

        /// <summary>Whether the compilation's core library is .NET Framework's mscorlib (0: not known yet, 1: yes, 2: no).</summary>
        private bool TargetsFramework
        {
            get
            {
                var known = Volatile.Read(ref _targetsFramework);
                if (known == 0)
                {
                    known = _compilation.ObjectType.ContainingAssembly?.Name == "mscorlib" ? 1 : 2;
                    Volatile.Write(ref _targetsFramework, known);
                }

                return known == 1;
            }
        }

        /// <summary>The type <paramref name="name"/> of <paramref name="arity"/> type parameters in <paramref name="ns"/>,
        /// known by name: the name is compared first, so almost every type is rejected by one string comparison.</summary>
        private static bool Is(INamedTypeSymbol? definition, string name, int arity, string ns)
            => definition is not null && definition.Name == name && definition.Arity == arity
                && Engines.Escape.NonRetainingMembers.IsNamespace(definition.ContainingNamespace, ns);

        private static bool IsList(INamedTypeSymbol definition) => Is(definition, "List", 1, GenericCollections);

        private static bool IsEnumerable(INamedTypeSymbol type) => Is(type, "Enumerable", 0, "System.Linq");

        // ------------------------------------------------------------ sites

        public void AnalyzeCreation(OperationAnalysisContext context)
        {
            var creation = (IObjectCreationOperation)context.Operation;
            if (creation.Type is not INamedTypeSymbol { IsGenericType: true } type)
                return;
            var definition = type.OriginalDefinition;
            string noun;
            if (Is(definition, "Dictionary", 2, GenericCollections) || Is(definition, "ConcurrentDictionary", 2, "System.Collections.Concurrent"))
                noun = "keys";
            else if (Is(definition, "HashSet", 1, GenericCollections))
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
            var key = type.TypeArguments[0];
            Report(context, key, Location.Create(syntax.SyntaxTree, span), "'" + Display(type) + "'", "its " + noun, SiteKind.HashedCollection,
                "pass an IEqualityComparer<" + Display(key) + "> to the constructor");
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
            SiteKind kind;
            string remedy;
            switch (method.Name)
            {
                case "Contains" or "IndexOf" or "LastIndexOf" or "Remove" when !method.IsStatic && IsList(containing.OriginalDefinition):
                    key = containing.TypeArguments[0];
                    site = "'" + Display(containing) + "." + method.Name + "'";
                    kind = SiteKind.ArraySearch;
                    remedy = "search with a predicate instead (" + method.Name switch
                    {
                        "Contains" => "Exists",
                        "IndexOf" => "FindIndex",
                        "LastIndexOf" => "FindLastIndex",
                        _ => "FindIndex, then RemoveAt",
                    } + ")";
                    break;
                case "IndexOf" or "LastIndexOf" when method.IsStatic && method.IsGenericMethod && containing.SpecialType == SpecialType.System_Array:
                    key = method.TypeArguments[0];
                    site = "'Array." + method.Name + "'";
                    kind = SiteKind.ArraySearch;
                    remedy = "search with a predicate instead (Array." + (method.Name == "IndexOf" ? "FindIndex" : "FindLastIndex") + ")";
                    break;
                case "Contains" when method.IsStatic && method.IsGenericMethod && IsEnumerable(containing):
                    if (PassesComparer(invocation.Arguments) || invocation.Arguments.Length == 0)
                        return;
                    key = method.TypeArguments[0];
                    // Arguments come in evaluation order; named arguments can put the source second.
                    var source = invocation.Arguments[0].Parameter?.Ordinal == 0 ? invocation.Arguments[0] : invocation.Arguments[invocation.Arguments.Length - 1];
                    switch (ContainsDispatch(source.Value.WithoutImplicitConversions().Type, key, out var valueType))
                    {
                        case Dispatch.ArraySearch:
                            site = "'Contains'";
                            kind = SiteKind.ArraySearch;
                            remedy = "pass an IEqualityComparer<" + Display(key) + "> or search with a predicate (Any)";
                            break;
                        case Dispatch.DictionaryValue:
                            // A BCL dictionary's ICollection<KeyValuePair<K, V>>.Contains looks the key up with its own comparer
                            // and compares the value with EqualityComparer<V>.Default: no KeyValuePair equality, and the value
                            // comparison only when the key is found.
                            site = "'Contains' on a '" + Display(source.Value.WithoutImplicitConversions().Type!) + "'";
                            key = valueType!;
                            noun = "values";
                            kind = SiteKind.DictionaryValue;
                            remedy = "look the key up with TryGetValue and compare the value with an IEqualityComparer<" + Display(key) + ">";
                            break;
                        default:
                            return;
                    }

                    break;
                case "Distinct" or "Except" or "Intersect" or "Union" or "ToHashSet" or "SequenceEqual"
                    or "GroupBy" or "GroupJoin" or "Join" or "ToDictionary" or "ToLookup" or "DistinctBy" or "ExceptBy" or "IntersectBy" or "UnionBy"
                    or "CountBy" or "AggregateBy"
                    when method.IsStatic && method.IsGenericMethod && IsEnumerable(containing):
                    if (PassesComparer(invocation.Arguments))
                        return;
                    // SequenceEqual compares pairs in order with EqualityComparer<T>.Default (through a span search on .NET
                    // Core when both are arrays or lists); the others hash.
                    kind = method.Name == "SequenceEqual" ? SiteKind.ArraySearch : SiteKind.Hashing;
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
                    remedy = "pass an IEqualityComparer<" + Display(key) + ">";
                    break;
                default:
                    return;
            }

            var syntax = invocation.Syntax;
            var span = syntax is InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax access }
                ? TextSpan.FromBounds(access.Name.SpanStart, syntax.Span.End)
                : syntax.Span;
            Report(context, key, Location.Create(syntax.SyntaxTree, span), site, "the " + noun, kind, remedy);
        }

        public void AnalyzePropertyReference(OperationAnalysisContext context)
        {
            var reference = (IPropertyReferenceOperation)context.Operation;
            var property = reference.Property;
            if (property.Name != "Default" || !property.IsStatic || property.ContainingType is not { } containing
                || !Is(containing.OriginalDefinition, "EqualityComparer", 1, GenericCollections))
            {
                return;
            }

            var key = containing.TypeArguments[0];
            Report(context, key, reference.Syntax.GetLocation(), "'" + Display(containing) + ".Default'", "the values", SiteKind.Comparer,
                "use an IEqualityComparer<" + Display(key) + "> of your own");
        }

        /// <summary>
        /// What <c>Enumerable.Contains(source, value)</c> runs, known from the source's static type: it calls
        /// <c>ICollection&lt;T&gt;.Contains</c> when the source is a collection (on .NET Framework and .NET Core alike), so
        /// arrays and <c>List&lt;T&gt;</c> search with <c>EqualityComparer&lt;T&gt;.Default</c>, and a BCL dictionary of
        /// <c>KeyValuePair&lt;K, V&gt;</c> looks the key up and compares only the value. An interface or type parameter
        /// (<c>IEnumerable&lt;T&gt;</c>, <c>IDictionary&lt;K, V&gt;</c>) could be any of these at run time, and a set or a
        /// user's collection compares with its own comparer: the rule does not guess.
        /// </summary>
        private Dispatch ContainsDispatch(ITypeSymbol? source, ITypeSymbol element, out ITypeSymbol? valueType)
        {
            valueType = null;
            if (source is IArrayTypeSymbol { Rank: 1 })
                return Dispatch.ArraySearch;
            if (source is not INamedTypeSymbol { TypeKind: TypeKind.Class or TypeKind.Struct } named || Collection is not { } collection)
                return Dispatch.Unknown;
            var contract = collection.Construct(element).GetMembers("Contains");
            if (contract.Length != 1 || named.FindImplementationForInterfaceMember(contract[0]) is not IMethodSymbol implementation)
                return Dispatch.Unknown;
            var implementer = implementation.ContainingType;
            if (IsList(implementer.OriginalDefinition))
                return Dispatch.ArraySearch;
            if (element is INamedTypeSymbol { TypeArguments.Length: 2 } pair && Is(pair.OriginalDefinition, "KeyValuePair", 2, GenericCollections)
                && implementer.DeclaringSyntaxReferences.IsEmpty && IsBclDictionary(implementer, pair))
            {
                valueType = pair.TypeArguments[1];
                return Dispatch.DictionaryValue;
            }

            return Dispatch.Unknown;
        }

        /// <summary>A BCL dictionary whose <c>ICollection&lt;KeyValuePair&lt;K, V&gt;&gt;.Contains</c> is a key lookup plus
        /// <c>EqualityComparer&lt;V&gt;.Default</c>: Dictionary, SortedDictionary, SortedList, ConcurrentDictionary,
        /// FrozenDictionary. Not ImmutableDictionary/ImmutableSortedDictionary (their value comparer can be replaced
        /// with WithComparers) nor ReadOnlyDictionary (it forwards to whatever dictionary it wraps): their runtime
        /// dispatch is not known from the type.</summary>
        private static bool IsBclDictionary(INamedTypeSymbol type, INamedTypeSymbol pair)
        {
            if (type.Name is not ("Dictionary" or "SortedDictionary" or "SortedList" or "ConcurrentDictionary" or "FrozenDictionary"))
                return false;
            var ns = type.ContainingNamespace;
            var inCollections = false;
            for (var n = ns; n is { IsGlobalNamespace: false }; n = n.ContainingNamespace)
            {
                if (n.Name == "Collections" && n.ContainingNamespace is { Name: "System", ContainingNamespace.IsGlobalNamespace: true })
                    inCollections = true;
            }

            if (!inCollections)
                return false;
            foreach (var implemented in type.AllInterfaces)
            {
                if (implemented.Name is "IDictionary" or "IReadOnlyDictionary" && implemented.TypeArguments.Length == 2
                    && SymbolEqualityComparer.Default.Equals(implemented.TypeArguments[0], pair.TypeArguments[0])
                    && SymbolEqualityComparer.Default.Equals(implemented.TypeArguments[1], pair.TypeArguments[1]))
                {
                    return true;
                }
            }

            return false;
        }

        // ------------------------------------------------------------ decisions

        /// <summary>
        /// Reports the site when the default comparer of <paramref name="key"/> boxes. How often it boxes depends on
        /// the site and the struct: hashing boxes on every lookup unless the struct overrides GetHashCode (a
        /// <c>constrained.</c> call to an override does not box); <c>Equals(object)</c> then runs only when hash codes
        /// match, so a struct that overrides GetHashCode boxes only on hits (0 B for a miss, measured); searches compare
        /// element after element. <paramref name="remedy"/> is what the caller can do when the struct is declared outside
        /// the compilation, where implementing IEquatable is not the caller's to do.
        /// </summary>
        private void Report(OperationAnalysisContext context, ITypeSymbol key, Location location, string site, string noun, SiteKind kind, string remedy)
        {
            var hashing = kind is SiteKind.HashedCollection or SiteKind.Hashing;
            var offender = Offender(key, 0, hashing, out var facts);
            if (offender is null || context.Operation.Syntax.ContainsDiagnostics)
                return;

            // Array searches (List<T>.Contains/IndexOf/…, Array.IndexOf, Enumerable.Contains on an array or list) compare the
            // bits of a reference-free, padding-free struct of primitives without boxing on .NET Core (measured on .NET 10);
            // .NET Framework has no such path. Only a struct key itself can qualify (ValueTuple etc. override Equals).
            if (kind == SiteKind.ArraySearch && facts!.MayCompareBits && !TargetsFramework && SymbolEqualityComparer.Default.Equals(offender, key))
                return;

            var name = Display(offender);
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

            var hashesWithoutBox = hashing && !facts.Equatable && facts.OverridesGetHashCode;
            var operation = kind switch
            {
                SiteKind.HashedCollection => hashesWithoutBox ? "hit (a lookup that finds an equal hash code)" : "lookup",
                SiteKind.Hashing => hashesWithoutBox ? "hash match" : "comparison",
                SiteKind.DictionaryValue => "hit (a lookup that finds the key)",
                _ => "comparison",
            };

            // IEquatable cannot be added to KeyValuePair or any struct of another assembly from here: say what the caller can do.
            if (!SymbolEqualityComparer.Default.Equals(offender.ContainingAssembly, _compilation.Assembly))
                tail += "; " + remedy;

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

        private static string Display(ITypeSymbol type) => type.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat);

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

            var known = _facts.TryGetValue(named, out var cached) ? cached : _facts.GetOrAdd(named, Compute);
            if (known.Equatable && (!hashing || known.OverridesGetHashCode))
                return null;
            facts = known;
            return named;
        }

        private StructFacts Compute(ITypeSymbol type)
        {
            var named = (INamedTypeSymbol)type;
            var equatable = WellKnownTypes.Of(_compilation).IEquatable;
            if (equatable is null)
                return new StructFacts(true, false, null); // no IEquatable<T> to implement or to miss: nothing to report
            if (StructEquality.ImplementsEquatableOfItself(named, equatable))
                return new StructFacts(true, false, null, overridesGetHashCode: StructEquality.OverridesGetHashCode(named));
            foreach (var implemented in named.AllInterfaces)
            {
                if (implemented.TypeKind == TypeKind.Error)
                    return new StructFacts(true, false, null); // incomplete code: the missing interface may be IEquatable
            }

            var overrides = StructEquality.OverridesEqualsObject(named);
            Location? fix = null;
            if (!overrides && !StructEquality.PlanFix(named.OriginalDefinition, _compilation, equatable).IsDefault)
                fix = named.OriginalDefinition.Locations[0];
            return new StructFacts(false, overrides, fix, !overrides && StructEquality.MayCompareBits(named), StructEquality.OverridesGetHashCode(named));
        }

        private bool PassesComparer(ImmutableArray<IArgumentOperation> arguments)
        {
            foreach (var argument in arguments)
            {
                if (argument.Parameter?.Type is INamedTypeSymbol { IsGenericType: true } parameterType
                    && Is(parameterType.OriginalDefinition, "IEqualityComparer", 1, GenericCollections)
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
