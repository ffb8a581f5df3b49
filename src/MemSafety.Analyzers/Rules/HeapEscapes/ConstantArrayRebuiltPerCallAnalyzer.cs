using System.Collections.Generic;
using System.Collections.Immutable;
using System.Threading;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Bodies;
using MemSafety.Analyzers.Engines.Escape;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.HeapEscapes;

/// <summary>
/// MSA1005. <c>new[] { ',', ';' }</c> inside a method allocates an array and copies the constants into it
/// on every call. When every element is a compile-time constant and the array provably is neither modified
/// nor kept after the call, one static readonly array behaves the same. "Provably" is the point of the
/// rule (and where the SDK's CA1861 goes wrong): the array must go straight to a read-only consumer (a
/// <c>ReadOnlySpan&lt;T&gt;</c> parameter, a curated BCL member that only reads it, a <c>foreach</c>, an
/// element read), or be held by a local whose every use is such a read. While CA1861 is on in a file, the
/// arrays it reports are left to it (<see cref="Ca1861Reports"/>), so none is reported twice.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class ConstantArrayRebuiltPerCallAnalyzer : MemSafetyAnalyzer
{
    /// <summary>Present when the array initializes a local that can become a <c>ReadOnlySpan&lt;T&gt;</c>
    /// the compiler backs with static data (no allocation at all).</summary>
    public const string SpanLocalProperty = "SpanLocal";

    private static readonly ImmutableDictionary<string, string?> SpanLocalProperties
        = ImmutableDictionary<string, string?>.Empty.Add(SpanLocalProperty, "true");

    private static readonly RuleScopeOption Scope = RuleScopeOption.For(RuleIdentifiers.ConstantArrayRebuiltPerCall, RuleScope.HotPaths);

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.ConstantArrayRebuiltPerCall);

    protected override void Register(AnalysisContext context)
        => context.RegisterCompilationStartAction(start =>
        {
            var facts = new CompilationFacts(start.Compilation, CompilationServices.Get(start.Compilation, start.Options));
            start.RegisterOperationAction(c => Analyze(c, facts), OperationKind.ArrayCreation);
        });

    private sealed class CompilationFacts
    {
        public CompilationFacts(Compilation compilation, CompilationServices services)
        {
            Services = services;
            Oracle = services.HotPaths;
            Sdk = services.SdkRules;
            ReadOnlySpan = services.Types.ReadOnlySpan;
            var helpers = compilation.GetTypeByMetadataName("System.Runtime.CompilerServices.RuntimeHelpers");
            HasCreateSpan = helpers is not null && !helpers.GetMembers("CreateSpan").IsEmpty;
        }

        public CompilationServices Services { get; }

        public HotPathOracle Oracle { get; }

        public SdkRules Sdk { get; }

        public INamedTypeSymbol? ReadOnlySpan { get; }

        /// <summary>.NET 7+: the compiler backs a ReadOnlySpan of any primitive constant array with static data.</summary>
        public bool HasCreateSpan { get; }

        /// <summary>Whether converting a constant array of this element type to ReadOnlySpan allocates nothing.</summary>
        public bool SpanIsStaticData(ITypeSymbol element)
        {
            switch (element.SpecialType)
            {
                case SpecialType.System_Byte or SpecialType.System_SByte or SpecialType.System_Boolean:
                    return true;
                case SpecialType.System_Char or SpecialType.System_Int16 or SpecialType.System_UInt16 or SpecialType.System_Int32
                    or SpecialType.System_UInt32 or SpecialType.System_Int64 or SpecialType.System_UInt64
                    or SpecialType.System_Single or SpecialType.System_Double:
                    return HasCreateSpan;
                case SpecialType.System_IntPtr or SpecialType.System_UIntPtr:
                    return true; // unknown to us: assume the compiler handles it, so never claim an allocation
                default:
                    return element.TypeKind == TypeKind.Enum && HasCreateSpan;
            }
        }
    }

    private static void Analyze(OperationAnalysisContext context, CompilationFacts facts)
    {
        var creation = (IArrayCreationOperation)context.Operation;

        // Shape first (cheap): a one-dimensional array written in source, every element a constant of a
        // primitive, enum or string type.
        if (creation.IsImplicit
            || creation.Initializer is not { ElementValues.Length: > 0 } initializer
            || creation.DimensionSizes.Length != 1
            || creation.Type is not IArrayTypeSymbol { Rank: 1, ElementType: var element }
            || !IsConstantElementType(element)
            || creation.Syntax is not (ArrayCreationExpressionSyntax or ImplicitArrayCreationExpressionSyntax)
            || creation.Syntax.ContainsDiagnostics
            || IsBeingTyped(creation.Syntax))
        {
            return;
        }

        foreach (var value in initializer.ElementValues)
        {
            if (!value.ConstantValue.HasValue)
                return;
        }

        // Where: a method body that runs per call. Field and property initializers and static
        // constructors already run once (instance initializers once per object, and an object may
        // rely on owning its array); top-level statements run once and have no type to hold a field.
        if (context.ContainingSymbol is not IMethodSymbol method
            || method.MethodKind == MethodKind.StaticConstructor
            || method.IsImplicitlyDeclared
            || IsInInitializer(creation)
            || ArrayFacts.IsInAttribute(creation)
            || ArrayFacts.IsInExpressionTree(creation)
            || creation.Syntax.FirstAncestorOrSelf<GlobalStatementSyntax>() is not null)
        {
            return;
        }

        if (Ca1861Reports(creation, facts.ReadOnlySpan) && facts.Sdk.Reports(SdkRule.AvoidConstantArraysAsArguments, creation.Syntax.SyntaxTree, context.CancellationToken))
            return;

        if (!facts.Oracle.IsInScope(facts.Services.ScopeOf(Scope, creation.Syntax.SyntaxTree), creation, method))
            return;

        // Inside a lambda the array is built per call of the lambda, not of the method; a lambda handed to a cache as
        // its value factory runs once per key, so the array is not rebuilt per call at all.
        var lambda = EnclosingLambda(creation);
        if (lambda is not null && IsMemoizingFactory(lambda))
            return;

        if (!IsReadOnlyUse(creation, element, facts, context.CancellationToken, out var spanLocal))
            return;

        var count = initializer.ElementValues.Length;
        context.ReportDiagnostic(Diagnostic.Create(
            RuleCatalogue.ConstantArrayRebuiltPerCall,
            creation.Syntax.GetLocation(),
            spanLocal ? SpanLocalProperties : ImmutableDictionary<string, string?>.Empty,
            count.ToString(System.Globalization.CultureInfo.InvariantCulture) + " constant " + ElementNoun(element, count),
            (lambda is null ? "to '" : "of the lambda in '") + CallName(method) + "'"));
    }

    /// <summary>The innermost lambda or anonymous method the operation is in (not crossing a local function, which
    /// runs per call of it like a method), or null.</summary>
    private static IAnonymousFunctionOperation? EnclosingLambda(IOperation operation)
    {
        for (var current = operation.Parent; current is not null; current = current.Parent)
        {
            if (current is IAnonymousFunctionOperation lambda)
                return lambda;
            if (current is ILocalFunctionOperation)
                return null;
        }

        return null;
    }

    /// <summary>Whether the lambda is the value factory of a cache that calls it once per key or once at all:
    /// <c>ConcurrentDictionary.GetOrAdd/AddOrUpdate</c>, <c>ConditionalWeakTable.GetValue</c>,
    /// <c>ImmutableInterlocked.GetOrAdd</c>, <c>LazyInitializer.EnsureInitialized</c>, <c>new Lazy&lt;T&gt;(…)</c>.</summary>
    private static bool IsMemoizingFactory(IAnonymousFunctionOperation lambda)
    {
        var value = lambda.Parent is IDelegateCreationOperation delegateCreation ? delegateCreation.Parent : lambda.Parent;
        while (value is IConversionOperation { IsImplicit: true })
            value = value.Parent;
        if (value is not IArgumentOperation argument)
            return false;
        var (type, name) = argument.Parent switch
        {
            IInvocationOperation invocation => (invocation.TargetMethod.ContainingType, invocation.TargetMethod.Name),
            IObjectCreationOperation { Constructor: { } constructor } => (constructor.ContainingType, ".ctor"),
            _ => (null, string.Empty),
        };
        if (type is null || type.ContainingNamespace is not { } ns)
            return false;
        var namespaceName = ns.ToDisplayString();
        return (type.MetadataName, name, namespaceName) switch
        {
            ("ConcurrentDictionary`2", "GetOrAdd" or "AddOrUpdate", "System.Collections.Concurrent") => true,
            ("ConditionalWeakTable`2", "GetValue", "System.Runtime.CompilerServices") => true,
            ("ImmutableInterlocked", "GetOrAdd" or "AddOrUpdate", "System.Collections.Immutable") => true,
            ("LazyInitializer", "EnsureInitialized", "System.Threading") => true,
            ("Lazy`1" or "Lazy`2", ".ctor", "System") => true,
            _ => false,
        };
    }

    /// <summary>
    /// Whether the SDK's CA1861 ("Avoid constant arrays as arguments") reports this array, as its C# path decides
    /// (NetAnalyzers 10): the nearest argument around the array (however far up) exists and is not a params array
    /// the compiler made; every element is written as a literal (a conversion, a negative number or a constant's
    /// name is not); that argument does not initialize a static or readonly field or property, nor sit in an
    /// assignment to a static one; its parameter is not a <c>ReadOnlySpan&lt;T&gt;</c>; and the code is not a
    /// static constructor (already excluded here).
    /// </summary>
    internal static bool Ca1861Reports(IArrayCreationOperation creation, INamedTypeSymbol? readOnlySpan)
    {
        IArgumentOperation? argument = null;
        for (var p = creation.Parent; p is not null && argument is null; p = p.Parent)
            argument = p as IArgumentOperation;
        if (argument?.Parameter is not { } parameter
            || parameter.IsParams && creation.IsImplicit
            || creation.Initializer is not { } initializer)
        {
            return false;
        }

        foreach (var value in initializer.ElementValues)
        {
            if (value is not ILiteralOperation)
                return false;
        }

        for (var p = argument.Parent; p is not null; p = p.Parent)
        {
            switch (p)
            {
                case IFieldInitializerOperation fields:
                    foreach (var field in fields.InitializedFields)
                    {
                        if (field.IsStatic || field.IsReadOnly)
                            return false;
                    }

                    break;
                case IPropertyInitializerOperation properties:
                    foreach (var property in properties.InitializedProperties)
                    {
                        if (property.IsStatic || property.IsReadOnly)
                            return false;
                    }

                    break;
                case ISimpleAssignmentOperation or ICoalesceAssignmentOperation:
                    var target = ((IAssignmentOperation)p).Target;
                    if (target is IFieldReferenceOperation { Field.IsStatic: true } or IPropertyReferenceOperation { Property.IsStatic: true })
                        return false;
                    break;
                default:
                    continue;
            }

            // CA1861 stops at the first initializer or assignment it meets.
            break;
        }

        return readOnlySpan is null || !SymbolEqualityComparer.Default.Equals(parameter.Type.OriginalDefinition, readOnlySpan);
    }

    /// <summary>The statement or member around the array has syntax errors: code being typed.</summary>
    private static bool IsBeingTyped(SyntaxNode syntax)
    {
        for (var node = syntax.Parent; node is not null; node = node.Parent)
        {
            if (node is StatementSyntax or MemberDeclarationSyntax)
                return node.ContainsDiagnostics;
        }

        return false;
    }

    private static bool IsConstantElementType(ITypeSymbol element)
        => element.TypeKind == TypeKind.Enum
           || element.SpecialType is SpecialType.System_Boolean or SpecialType.System_Char or SpecialType.System_SByte
               or SpecialType.System_Byte or SpecialType.System_Int16 or SpecialType.System_UInt16 or SpecialType.System_Int32
               or SpecialType.System_UInt32 or SpecialType.System_Int64 or SpecialType.System_UInt64 or SpecialType.System_Single
               or SpecialType.System_Double or SpecialType.System_Decimal or SpecialType.System_String;

    private static string ElementNoun(ITypeSymbol element, int count)
    {
        if (element.TypeKind == TypeKind.Enum)
            return "'" + element.Name + "' value" + (count == 1 ? string.Empty : "s");
        var keyword = element.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat);
        return count == 1 ? keyword : keyword + "s";
    }

    /// <summary>The name a reader knows the code by: a constructor by its type, an accessor by its property.</summary>
    private static string CallName(IMethodSymbol method)
    {
        while (method.MethodKind == MethodKind.AnonymousFunction && method.ContainingSymbol is IMethodSymbol outer)
            method = outer;
        return method switch
        {
            { MethodKind: MethodKind.Constructor } => method.ContainingType.Name,
            { AssociatedSymbol: { } property } => property.Name,
            _ => method.Name,
        };
    }

    private static bool IsInInitializer(IOperation operation)
    {
        for (var p = operation.Parent; p is not null; p = p.Parent)
        {
            if (p is IFieldInitializerOperation or IPropertyInitializerOperation or IParameterInitializerOperation)
                return true;
        }

        return false;
    }

    // ------------------------------------------------------------------ proof that the array is only read

    /// <summary>The new array goes straight to a reader, or initializes a local that only readers use.</summary>
    private static bool IsReadOnlyUse(IArrayCreationOperation creation, ITypeSymbol element, CompilationFacts facts, CancellationToken cancellationToken, out bool spanLocal)
    {
        spanLocal = false;
        IOperation current = creation;
        while (current.Parent is IParenthesizedOperation)
            current = current.Parent;

        if (current.Parent is IConversionOperation conversion && IsReadOnlySpanOf(conversion.Type, element, facts))
        {
            // Already free when the compiler backs the span with static data (bytes; any primitive on .NET 7+).
            return !facts.SpanIsStaticData(element) && (conversion.Parent is IArgumentOperation || conversion.Parent is IVariableInitializerOperation);
        }

        // foreach sees the array through an implicit conversion.
        if (current.Parent is IConversionOperation { IsImplicit: true, Conversion.IsUserDefined: false, Parent: IForEachLoopOperation })
            current = current.Parent;

        switch (current.Parent)
        {
            case IVariableInitializerOperation { Parent: IVariableDeclaratorOperation declarator }:
                return IsReadOnlyLocal(creation, declarator, element, facts, cancellationToken, out spanLocal);
            case IForEachLoopOperation loop when loop.Collection == current:
                return true;
            case IArrayElementReferenceOperation elementReference when elementReference.ArrayReference == current:
                return IsElementRead(elementReference);
            default:
                return IsReadingArgument(current);
        }
    }

    private static bool IsReadOnlySpanOf(ITypeSymbol? type, ITypeSymbol element, CompilationFacts facts)
        => type is INamedTypeSymbol { TypeArguments.Length: 1 } named
           && facts.ReadOnlySpan is not null
           && SymbolEqualityComparer.Default.Equals(named.OriginalDefinition, facts.ReadOnlySpan)
           && SymbolEqualityComparer.Default.Equals(named.TypeArguments[0], element);

    /// <summary>The value (possibly converted, e.g. to IEnumerable&lt;T&gt;) is an argument that the callee
    /// only reads: a ReadOnlySpan parameter or a curated BCL member, passed by value or <c>in</c>.</summary>
    private static bool IsReadingArgument(IOperation value)
    {
        var current = value;
        while (current.Parent is IConversionOperation { IsImplicit: true, Conversion.IsUserDefined: false } or IParenthesizedOperation)
            current = current.Parent;
        if (current.Parent is not IArgumentOperation { Parameter: { } parameter } argument || parameter.RefKind is RefKind.Ref or RefKind.Out)
            return false;
        if (parameter.Type is INamedTypeSymbol { Name: "ReadOnlySpan", Arity: 1 } span && NonRetainingMembers.IsNamespace(span.ContainingNamespace, "System"))
            return true;
        var method = argument.Parent switch
        {
            IInvocationOperation invocation => invocation.TargetMethod,
            IObjectCreationOperation construction => construction.Constructor,
            _ => null,
        };
        return method is not null && ReadOnlyMembers.OnlyReads(method, parameter);
    }

    private static bool IsElementRead(IArrayElementReferenceOperation element)
    {
        IOperation current = element;
        while (current.Parent is IParenthesizedOperation)
            current = current.Parent;
        switch (current.Parent)
        {
            case ISimpleAssignmentOperation assignment when assignment.Target == current:
            case ICompoundAssignmentOperation compound when compound.Target == current:
            case ICoalesceAssignmentOperation coalesce when coalesce.Target == current:
            case IIncrementOrDecrementOperation:
            case IAddressOfOperation:
            case IArgumentOperation { Parameter.RefKind: RefKind.Ref or RefKind.Out }:
            case IVariableInitializerOperation { Parent: IVariableDeclaratorOperation { Symbol.RefKind: not RefKind.None } }:
            case IReturnOperation when current.Syntax.Parent is RefExpressionSyntax:
            case ITupleOperation or IDeclarationExpressionOperation:
                return false;
            default:
                return current.Syntax.Parent is not RefExpressionSyntax;
        }
    }

    /// <summary>
    /// A local initialized with the array, never assigned again, whose every use reads: an element read,
    /// <c>Length</c>, a <c>foreach</c>, a reading argument. The escape engine must agree that the array
    /// does not escape (a lambda that captures the local, for instance, is left alone).
    /// </summary>
    private static bool IsReadOnlyLocal(IArrayCreationOperation creation, IVariableDeclaratorOperation declarator, ITypeSymbol element, CompilationFacts facts, CancellationToken cancellationToken, out bool spanLocal)
    {
        spanLocal = false;
        var local = declarator.Symbol;
        if (local.RefKind != RefKind.None || local.IsConst || local.IsUsing)
            return false;

        var body = BodyFacts.Of(creation);

        // Only readers, and a list of whether each would work on a ReadOnlySpan too.
        var spanCompatible = facts.ReadOnlySpan is not null && facts.SpanIsStaticData(element)
                             && declarator.Parent is IVariableDeclarationOperation { Declarators.Length: 1 }
                             && local.ContainingSymbol is IMethodSymbol { IsAsync: false, MethodKind: not MethodKind.AnonymousFunction };
        for (var i = 0; spanCompatible && i < body.Suspensions.Count; i++)
        {
            if (body.Suspensions[i] is IReturnOperation { Kind: OperationKind.YieldReturn })
                spanCompatible = false; // an iterator cannot hold a span local
        }

        var references = body.ReferencesTo(local);
        var uses = references.Count;
        foreach (var reference in references)
        {
            if (!IsReadOfLocal((ILocalReferenceOperation)reference, element, facts, ref spanCompatible))
                return false;
            if (reference.EnclosingFunction() is { } function && !SymbolEqualityComparer.Default.Equals(function, local.ContainingSymbol))
                spanCompatible = false; // used in a lambda or local function: a span cannot be captured
        }

        if (uses == 0)
            return false; // unused: nothing to say but "remove it", which is not this rule's business

        // With the compilation's summaries, as every rule asks: one verdict per array whichever rule asks.
        if (EscapeEngine.ForBodyOf(creation, facts.Services.Summaries, cancellationToken).Analyze(creation).Escapes)
            return false;

        spanLocal = spanCompatible;
        return true;
    }

    private static bool IsReadOfLocal(ILocalReferenceOperation reference, ITypeSymbol element, CompilationFacts facts, ref bool spanCompatible)
    {
        IOperation current = reference;
        while (current.Parent is IParenthesizedOperation)
            current = current.Parent;
        switch (current.Parent)
        {
            case IArrayElementReferenceOperation elementReference when elementReference.ArrayReference == current:
                return IsElementRead(elementReference);
            case IPropertyReferenceOperation { Property.Name: "Length" or "LongLength" or "Rank" } property when property.Instance == current:
                spanCompatible &= property.Property.Name == "Length";
                return true;
            case IForEachLoopOperation loop when loop.Collection == current:
                return true;
            case IConversionOperation { IsImplicit: true, Conversion.IsUserDefined: false, Parent: IForEachLoopOperation loop } when loop.Collection == current.Parent:
                return true;
            case IConversionOperation conversion when IsReadOnlySpanOf(conversion.Type, element, facts):
                spanCompatible &= conversion.Parent is IArgumentOperation;
                return conversion.Parent is IArgumentOperation or IVariableInitializerOperation;
            case IInvocationOperation { TargetMethod.Name: "GetLength" or "GetLongLength" or "GetLowerBound" or "GetUpperBound" } invocation when invocation.Instance == current:
                spanCompatible = false;
                return true;
            default:
                spanCompatible = false;
                return IsReadingArgument(current);
        }
    }
}

/// <summary>
/// BCL members that only read an array argument during the call and neither modify it nor keep it
/// (copying constructors such as <c>new HashSet&lt;T&gt;(items)</c> count: they copy the elements). Curated
/// from the members' documented behaviour; members of types users commonly derive from (Stream,
/// TextWriter, Encoding) are left out, since an override could do anything.
/// </summary>
internal static class ReadOnlyMembers
{
    private static readonly (string Namespace, string Type, string[] Members)[] Entries =
    {
        ("System", "String", new[] { "Split", "IndexOfAny", "LastIndexOfAny", "Trim", "TrimStart", "TrimEnd", "Join", "Concat", ".ctor" }),
        ("System", "Array", new[] { "IndexOf", "LastIndexOf", "BinarySearch", "Exists", "Find", "FindAll", "FindIndex", "FindLast", "FindLastIndex", "TrueForAll", "ConvertAll" }),
        ("System.Linq", "Enumerable", new[] { "Contains", "Any", "All", "Count", "LongCount", "Sum", "Min", "Max", "Average", "SequenceEqual", "First",
            "FirstOrDefault", "Last", "LastOrDefault", "Single", "SingleOrDefault", "ElementAt", "ElementAtOrDefault", "Aggregate", "ToArray", "ToList", "ToHashSet" }),
        ("System.Collections.Generic", "HashSet`1", new[] { ".ctor", "UnionWith", "IntersectWith", "ExceptWith", "SymmetricExceptWith", "IsSubsetOf",
            "IsSupersetOf", "IsProperSubsetOf", "IsProperSupersetOf", "Overlaps", "SetEquals" }),
        ("System.Collections.Generic", "List`1", new[] { ".ctor", "AddRange", "InsertRange" }),
        ("System.IO", "Path", new[] { "Combine", "Join" }),
        ("System", "Convert", new[] { "ToBase64String", "ToHexString", "ToHexStringLower" }),
        ("System", "BitConverter", new[] { "ToString", "ToInt16", "ToInt32", "ToInt64", "ToUInt16", "ToUInt32", "ToUInt64", "ToSingle", "ToDouble", "ToBoolean", "ToChar" }),
        ("System.Text", "StringBuilder", new[] { "Append", "AppendJoin", "Insert" }),
    };

    public static bool OnlyReads(IMethodSymbol method, IParameterSymbol parameter)
    {
        if (parameter.RefKind is RefKind.Ref or RefKind.Out)
            return false;
        var definition = method.ReducedFrom ?? method;
        definition = definition.OriginalDefinition;
        var type = definition.ContainingType;
        if (type is null)
            return false;
        foreach (var (ns, typeName, members) in Entries)
        {
            if (type.MetadataName == typeName && NonRetainingMembers.IsNamespace(type.ContainingNamespace, ns) && System.Array.IndexOf(members, definition.Name) >= 0)
                return true;
        }

        return false;
    }
}
