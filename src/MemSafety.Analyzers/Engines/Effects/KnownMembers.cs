using MemSafety.Analyzers.Engines.Escape;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Engines.Effects;

/// <summary>
/// What the effects engine knows about library members without seeing their bodies: which are free of side
/// effects, which only write to the outside world (console, debug output), which types keep all their state to
/// themselves, which constructors and producers hand out a collection nobody else holds. Curated from the
/// members' documented behaviour; anything not listed counts as unknown code that may write anything.
/// <para>One instance per compilation (it holds the compilation's <c>System.Linq.Enumerable</c> and
/// <c>List&lt;T&gt;</c>); the static members need no compilation.</para>
/// </summary>
public sealed class KnownMembers
{
    public KnownMembers(INamedTypeSymbol? enumerable, INamedTypeSymbol? list)
    {
        Enumerable = enumerable;
        List = list;
    }

    /// <summary><c>System.Linq.Enumerable</c> of the compilation.</summary>
    public INamedTypeSymbol? Enumerable { get; }

    /// <summary><c>System.Collections.Generic.List&lt;T&gt;</c> of the compilation (its original definition).</summary>
    public INamedTypeSymbol? List { get; }

    /// <summary>
    /// Members assumed free of side effects: they write nothing the caller can see. Property getters are not
    /// asked here (a getter is assumed pure everywhere); <c>ToString</c>, <c>Equals</c>, <c>GetHashCode</c> and
    /// <c>CompareTo</c> are assumed pure on every type (documented limit). Parsing methods are not: they throw
    /// on bad input, and the order of exceptions is observable (code materialises a sequence precisely to make
    /// every element's parse fail up front). Enumerable's operators are pure in themselves; the delegates they
    /// are given are separate code the caller must judge.
    /// </summary>
    public bool IsPure(IMethodSymbol method)
    {
        if (method.MethodKind is MethodKind.DelegateInvoke or MethodKind.LocalFunction or MethodKind.AnonymousFunction)
            return false;
        var definition = method.ReducedFrom ?? method;
        var type = definition.ContainingType;
        if (type is null)
            return false;
        var name = definition.Name;
        if (name is "Parse" or "ParseExact")
            return false;

        switch (type.SpecialType)
        {
            case SpecialType.System_Object:
                return name is "Equals" or "ReferenceEquals" or "GetHashCode" or "ToString" or "GetType";
            case SpecialType.System_String:
            case SpecialType.System_Char:
            case SpecialType.System_Boolean:
            case SpecialType.System_SByte:
            case SpecialType.System_Byte:
            case SpecialType.System_Int16:
            case SpecialType.System_UInt16:
            case SpecialType.System_Int32:
            case SpecialType.System_UInt32:
            case SpecialType.System_Int64:
            case SpecialType.System_UInt64:
            case SpecialType.System_Decimal:
            case SpecialType.System_Single:
            case SpecialType.System_Double:
            case SpecialType.System_DateTime:
            case SpecialType.System_Enum:
                return true;
        }

        if (type.OriginalDefinition.SpecialType == SpecialType.System_Nullable_T)
            return true;

        // The handlers behind $"…" (they format into their own buffer).
        if ((type.Name == "DefaultInterpolatedStringHandler" && NonRetainingMembers.IsNamespace(type.ContainingNamespace, "System.Runtime.CompilerServices"))
            || type.ContainingType is { Name: "StringBuilder" } builder && NonRetainingMembers.IsNamespace(builder.ContainingNamespace, "System.Text"))
        {
            return true;
        }

        if (SymbolEqualityComparer.Default.Equals(type, Enumerable))
            return true;
        var ns = type.ContainingNamespace;
        if (NonRetainingMembers.IsNamespace(ns, "System") && type.Name is "Math" or "MathF" or "TimeSpan" or "DateTimeOffset" or "StringComparer")
            return true;
        // Span helpers that only read (C# 14 binds array.Contains(x) to MemoryExtensions.Contains).
        if (type.Name == "MemoryExtensions" && NonRetainingMembers.IsNamespace(ns, "System")
            && name is "Contains" or "ContainsAny" or "IndexOf" or "IndexOfAny" or "LastIndexOf" or "LastIndexOfAny" or "StartsWith" or "EndsWith"
                or "SequenceEqual" or "SequenceCompareTo" or "Equals" or "CompareTo" or "AsSpan" or "Trim" or "TrimStart" or "TrimEnd" or "Count")
        {
            return true;
        }

        if (!definition.IsStatic && name is "Equals" or "GetHashCode" or "ToString" or "CompareTo")
            return true;
        if (name is "Contains" or "ContainsKey" or "ContainsValue" or "TryGetValue" or "IndexOf" or "LastIndexOf" or "GetValueOrDefault" or "ToArray"
            && (NonRetainingMembers.IsNamespace(ns, "System.Collections.Generic") || NonRetainingMembers.IsNamespace(ns, "System.Collections.Immutable")))
        {
            return true;
        }

        return false;
    }

    /// <summary>Methods that return a new collection nobody else holds (<c>Enumerable.ToList</c> and friends,
    /// <c>List&lt;T&gt;.ToArray</c>).</summary>
    public bool IsFreshProducer(IMethodSymbol method)
    {
        if (SymbolEqualityComparer.Default.Equals(method.ContainingType, Enumerable))
            return method.Name is "ToList" or "ToArray" or "ToHashSet" or "ToDictionary" or "ToLookup";
        return method.Name == "ToArray"
               && method.ContainingType is { } type
               && SymbolEqualityComparer.Default.Equals(type.OriginalDefinition, List);
    }

    /// <summary>A value that is a collection created right here: <c>new …</c>, an array or collection
    /// expression, or a <see cref="IsFreshProducer">fresh producer</see>'s result.</summary>
    public bool IsFreshValue(IOperation value)
    {
        switch (Unwrap(value))
        {
            case IObjectCreationOperation:
            case IArrayCreationOperation:
            case ICollectionExpressionOperation:
                return true;
            case IInvocationOperation invocation:
                return IsFreshProducer(invocation.TargetMethod);
            default:
                return false;
        }
    }

    /// <summary>A user-defined operator of a library type (<c>decimal + decimal</c>, <c>DateTime - TimeSpan</c>): pure.</summary>
    public static bool IsLibraryOperator(IMethodSymbol method)
        => method.ContainingType is { } type
           && (type.SpecialType != SpecialType.None || NonRetainingMembers.IsNamespace(type.ContainingNamespace, "System"));

    /// <summary>Whether an operator, conversion or compound assignment with this operator method (null for a
    /// built-in one) runs no user code.</summary>
    public static bool IsPureOperator(IMethodSymbol? operatorMethod) => operatorMethod is null || IsLibraryOperator(operatorMethod);

    /// <summary><c>DateTime.Now</c>, <c>Environment.TickCount</c>, <c>Stopwatch.…</c>: reads that give another
    /// answer each time, so code reading them changes meaning when it runs later.</summary>
    public static bool ReadsClock(IPropertySymbol property)
    {
        if (!property.IsStatic)
            return false;
        var type = property.ContainingType;
        return (type.SpecialType == SpecialType.System_DateTime)
               || (type.Name is "DateTimeOffset" or "Environment" && NonRetainingMembers.IsNamespace(type.ContainingNamespace, "System"))
               || (type.Name == "Stopwatch" && NonRetainingMembers.IsNamespace(type.ContainingNamespace, "System.Diagnostics"));
    }

    /// <summary>Constructors that only initialise the new object: anonymous types, tuples, and types of
    /// System, System.Collections.Generic and System.Text.</summary>
    public static bool IsSideEffectFreeCreation(ITypeSymbol? type)
    {
        if (type is null)
            return false;
        if (type.IsAnonymousType || type.IsTupleType)
            return true;
        var ns = type.ContainingNamespace;
        return NonRetainingMembers.IsNamespace(ns, "System")
               || NonRetainingMembers.IsNamespace(ns, "System.Collections.Generic")
               || NonRetainingMembers.IsNamespace(ns, "System.Text");
    }

    /// <summary>Static methods that write only to the outside world (Console, Debug, Trace): they cannot
    /// reach any of the program's objects.</summary>
    public static bool IsOutputOnly(IMethodSymbol method)
        => method.IsStatic
           && method.ContainingType is { } type
           && ((type.Name == "Console" && NonRetainingMembers.IsNamespace(type.ContainingNamespace, "System"))
               || (type.Name is "Debug" or "Trace" && NonRetainingMembers.IsNamespace(type.ContainingNamespace, "System.Diagnostics")));

    /// <summary>Arrays, System.Collections.Generic classes and StringBuilder: their methods work on their own
    /// state and call no user code except element comparers and ToString.</summary>
    public static bool IsSelfContained(ITypeSymbol? type)
    {
        switch (type)
        {
            case IArrayTypeSymbol { Rank: 1 }:
                return true;
            case INamedTypeSymbol { SpecialType: SpecialType.System_Array }:
                return true;
            case INamedTypeSymbol { TypeKind: TypeKind.Class } named:
                return NonRetainingMembers.IsNamespace(named.ContainingNamespace, "System.Collections.Generic")
                       || IsStringBuilder(named);
            default:
                return false;
        }
    }

    /// <summary><c>System.Text.StringBuilder</c>.</summary>
    public static bool IsStringBuilder(ITypeSymbol? type)
        => type is { Name: "StringBuilder" } && NonRetainingMembers.IsNamespace(type.ContainingNamespace, "System.Text");

    /// <summary>The operation under implicit, non-user-defined conversions (List&lt;T&gt; to IEnumerable&lt;T&gt;,
    /// boxing) and the wrapper of a query expression (<c>from x in xs select x</c>).</summary>
    public static IOperation Unwrap(IOperation operation)
    {
        while (true)
        {
            switch (operation)
            {
                case IConversionOperation { IsImplicit: true, OperatorMethod: null } conversion:
                    operation = conversion.Operand;
                    continue;
                case ITranslatedQueryOperation query:
                    operation = query.Operation;
                    continue;
                default:
                    return operation;
            }
        }
    }
}
