using System.Collections.Generic;
using System.Threading;
using MemSafety.Analyzers.Engines.Effects;
using MemSafety.Analyzers.Engines.Escape;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.HeapEscapes;

/// <summary>
/// Decides whether one <c>ToList()</c>/<c>ToArray()</c> copy can be dropped without changing behaviour.
/// Removing the copy changes <em>when</em> the source is enumerated: instead of all elements up front, one
/// element at a time, interleaved with the code that consumes them (a loop body, an Any/Count predicate).
/// That is only safe when the consuming code cannot change what the enumeration sees, and the enumeration
/// cannot change what the consuming code sees. The analysis therefore looks at three things:
/// <list type="number">
/// <item>the source's <b>roots</b>: the collections at the bottom of the LINQ chain, and who else can reach
/// them (a fresh local nobody else holds, a shared List, an IEnumerable of unknown origin, an iterator call);</item>
/// <item>the chain's <b>lambdas</b>: they run lazily once the copy is gone, so they must be free of side
/// effects (<see cref="FunctionEffects.IsPure"/>);</item>
/// <item>the consuming <b>body</b>: it may not touch the roots at all, and when a root is shared or the chain
/// has lambdas it may only call known code that cannot reach the source, and may not write what the lambdas
/// read (<see cref="RegionEffects"/>, with the locals only this method holds from <see cref="FrameOwnership"/>).</item>
/// </list>
/// Anything not recognised counts against reporting. The effects questions are the effects engine's
/// (Engines/Effects); what is left here is the rule's own: the roots and what each use of the copy requires.
/// Create one per candidate.
/// </summary>
internal sealed class MaterializedOnceAnalysis
{
    private readonly MaterializedOnceTypes _types;
    private readonly CancellationToken _cancellationToken;
    private readonly INamedTypeSymbol? _containingType;
    private readonly List<Root> _roots = new();
    private readonly HashSet<ISymbol> _rootSymbols = new(SymbolEqualityComparer.Default);
    private readonly HashSet<ISymbol> _lambdaReads = new(SymbolEqualityComparer.Default);
    private readonly HashSet<IOperation> _chainReferences = new();
    private readonly FrameOwnership _ownership;
    private bool _hasLambdas;

    public MaterializedOnceAnalysis(MaterializedOnceTypes types, IOperation copy, INamedTypeSymbol? containingType, CancellationToken cancellationToken)
    {
        _types = types;
        _containingType = containingType;
        _cancellationToken = cancellationToken;

        // References of the chain itself are the copy's business, not a use that shares the local.
        _ownership = new FrameOwnership(copy, types.Members, _chainReferences);
    }

    private enum RootKind
    {
        /// <summary>A local of this method holding a collection it created, that nothing else can reach.</summary>
        Private,
        /// <summary>A collection created right here (<c>new List&lt;T&gt;(…)</c>, an array, another copy).</summary>
        Fresh,
        /// <summary>A string or System.Collections.Immutable collection: nobody can change it.</summary>
        Immutable,
        /// <summary>An array or a System.Collections.Generic collection others may hold (parameter, field…).</summary>
        Collection,
        /// <summary>A System.Collections.Concurrent collection: its copy is an atomic snapshot.</summary>
        Concurrent,
        /// <summary>An interface or user type: its enumerator is code we cannot see.</summary>
        Unknown,
        /// <summary>The result of a BCL method (<c>File.ReadLines</c>, <c>Directory.EnumerateFiles</c>).</summary>
        LibraryCall,
        /// <summary>The result of a user method: often an iterator whose side effects we cannot see.</summary>
        UserCall,
    }

    private readonly struct Root
    {
        public Root(RootKind kind, bool isStatic = false, INamedTypeSymbol? owner = null)
        {
            Kind = kind;
            IsStatic = isStatic;
            Owner = owner;
        }

        public RootKind Kind { get; }

        /// <summary>A static field or property: shared with every thread and every method.</summary>
        public bool IsStatic { get; }

        /// <summary>The type declaring the field or property the root reads.</summary>
        public INamedTypeSymbol? Owner { get; }

        /// <summary>Someone other than this method can reach (and change) the collection.</summary>
        public bool IsShared => Kind is not (RootKind.Private or RootKind.Fresh or RootKind.Immutable);
    }

    // ------------------------------------------------------------------ the source chain

    /// <summary>Walks the LINQ chain under the copy, recording its roots and checking its lambdas;
    /// false when the copy must stay whatever consumes it (IQueryable, impure lambdas, unknown delegates).</summary>
    public bool AnalyzeChain(IOperation source)
    {
        var work = new Stack<IOperation>();
        work.Push(source);
        while (work.Count > 0)
        {
            var operation = KnownMembers.Unwrap(work.Pop());

            // EF and other providers run the query where it is enumerated: the copy decides that place.
            if (IsQueryable(operation.Type))
                return false;

            if (operation is IInvocationOperation invocation && IsDeferredOperator(invocation))
            {
                foreach (var argument in invocation.Arguments)
                {
                    var parameter = argument.Parameter;
                    if (parameter is null)
                        return false;
                    if (parameter.Ordinal == 0)
                    {
                        work.Push(argument.Value);
                    }
                    else if (parameter.Type.TypeKind == TypeKind.Delegate)
                    {
                        if (!IsPureDelegate(argument.Value))
                            return false;
                    }
                    else if (SequenceElementType(parameter.Type, _types) is not null && parameter.Type.SpecialType != SpecialType.System_String)
                    {
                        work.Push(argument.Value); // Concat(other), Except(other), Zip(other): another root.
                    }
                    else if (IsComparerType(parameter.Type))
                    {
                        if (!IsKnownComparer(argument.Value))
                            return false;
                    }
                    else if (ContainsFunction(argument.Value))
                    {
                        return false;
                    }

                    // Other arguments (Take(n), a seed) are evaluated where the query is built, copy or not.
                }

                continue;
            }

            // a ?? b, c ? a : b: both sides are roots.
            if (operation is ICoalesceOperation coalesce)
            {
                work.Push(coalesce.Value);
                work.Push(coalesce.WhenNull);
                continue;
            }

            if (operation is IConditionalOperation { WhenFalse: { } whenFalse } conditional)
            {
                if (ContainsFunction(conditional.Condition))
                    return false;
                FunctionEffects.CollectSymbols(conditional.Condition, _rootSymbols);
                work.Push(conditional.WhenTrue);
                work.Push(whenFalse);
                continue;
            }

            if (!AddRoot(operation))
                return false;
        }

        return true;
    }

    private bool AddRoot(IOperation operation)
    {
        if (ContainsFunction(operation))
            return false;

        switch (operation)
        {
            case ILocalReferenceOperation local:
                _rootSymbols.Add(local.Local);
                _chainReferences.Add(operation);
                _roots.Add(new Root(_ownership.Owns(local.Local) ? RootKind.Private : KindOf(operation.Type)));
                return true;

            case IParameterReferenceOperation parameter:
                _rootSymbols.Add(parameter.Parameter);
                _roots.Add(new Root(KindOf(operation.Type)));
                return true;

            case IFieldReferenceOperation field:
                FunctionEffects.CollectSymbols(operation, _rootSymbols);
                _roots.Add(new Root(KindOf(operation.Type), field.Field.IsStatic, field.Field.ContainingType));
                return true;

            case IPropertyReferenceOperation property:
                FunctionEffects.CollectSymbols(operation, _rootSymbols);
                _roots.Add(new Root(KindOf(operation.Type), property.Property.IsStatic, property.Property.ContainingType));
                return true;

            case IArrayElementReferenceOperation:
                FunctionEffects.CollectSymbols(operation, _rootSymbols);
                _roots.Add(new Root(KindOf(operation.Type)));
                return true;

            case IInstanceReferenceOperation:
                _roots.Add(new Root(KindOf(operation.Type)));
                return true;

            case IInvocationOperation invocation:
                FunctionEffects.CollectSymbols(operation, _rootSymbols);
                var method = invocation.TargetMethod;
                if (method.MethodKind is MethodKind.DelegateInvoke or MethodKind.LocalFunction)
                    return false;
                if (_types.Members.IsFreshProducer(method) || IsGenerator(method))
                {
                    _roots.Add(new Root(RootKind.Fresh));
                }
                else if (KindOf(method.ReturnType) is RootKind.Collection or RootKind.Immutable or RootKind.Concurrent)
                {
                    // A method returning List<T> or an array is not an iterator: it hands out a collection
                    // (maybe one it keeps in a field, so: shared, and subject to its type's locking).
                    // (BCL methods such as string.Split or Directory.GetFiles return new arrays.)
                    var library = IsLibrary(method.ContainingType);
                    _roots.Add(new Root(KindOf(method.ReturnType), !library && method.IsStatic, library ? null : method.ContainingType));
                }
                else
                {
                    _roots.Add(new Root(IsLibrary(method.ContainingType) ? RootKind.LibraryCall : RootKind.UserCall));
                }

                return true;

            case IObjectCreationOperation:
                FunctionEffects.CollectSymbols(operation, _rootSymbols);
                _roots.Add(new Root(KindOf(operation.Type) is RootKind.Collection or RootKind.Immutable ? RootKind.Fresh : RootKind.Unknown));
                return true;

            case IArrayCreationOperation:
            case ICollectionExpressionOperation:
                FunctionEffects.CollectSymbols(operation, _rootSymbols);
                _roots.Add(new Root(RootKind.Fresh));
                return true;

            case ILiteralOperation { Type.SpecialType: SpecialType.System_String }:
                _roots.Add(new Root(RootKind.Immutable));
                return true;

            default:
                return false;
        }
    }

    private static RootKind KindOf(ITypeSymbol? type)
    {
        switch (type)
        {
            case IArrayTypeSymbol { Rank: 1 }:
                return RootKind.Collection;
            case { SpecialType: SpecialType.System_String }:
                return RootKind.Immutable;
            case INamedTypeSymbol { TypeKind: TypeKind.Class or TypeKind.Struct } named:
                var ns = named.ContainingNamespace;
                if (NonRetainingMembers.IsNamespace(ns, "System.Collections.Immutable"))
                    return RootKind.Immutable;
                if (NonRetainingMembers.IsNamespace(ns, "System.Collections.Generic"))
                    return RootKind.Collection;
                if (NonRetainingMembers.IsNamespace(ns, "System.Collections.Concurrent"))
                    return RootKind.Concurrent;
                return RootKind.Unknown;
            default:
                return RootKind.Unknown;
        }
    }

    private bool IsDeferredOperator(IInvocationOperation invocation)
    {
        var method = invocation.TargetMethod;
        if (!method.IsExtensionMethod
            || method.Parameters.Length == 0
            || !SymbolEqualityComparer.Default.Equals(method.ContainingType, _types.Enumerable)
            || method.ReturnType is not INamedTypeSymbol returnType)
        {
            return false;
        }

        var definition = returnType.OriginalDefinition;
        return definition.SpecialType == SpecialType.System_Collections_Generic_IEnumerable_T
               || (definition.Name == "IOrderedEnumerable" && NonRetainingMembers.IsNamespace(definition.ContainingNamespace, "System.Linq"));
    }

    private bool IsPureDelegate(IOperation value)
    {
        if (KnownMembers.Unwrap(value) is not IDelegateCreationOperation creation)
            return false; // a delegate from a variable or a field: its code is unknown.
        _hasLambdas = true;
        switch (creation.Target)
        {
            case IAnonymousFunctionOperation lambda:
                return FunctionEffects.IsPure(lambda.Body, lambda.Symbol, _types.Members, _lambdaReads);
            case IMethodReferenceOperation reference:
                if (reference.Instance is not null)
                    FunctionEffects.CollectSymbols(reference.Instance, _lambdaReads);
                return _types.Members.IsPure(reference.Method);
            default:
                return false;
        }
    }

    private static bool IsComparerType(ITypeSymbol type)
        => type is INamedTypeSymbol { TypeKind: TypeKind.Interface, Name: "IEqualityComparer" or "IComparer" };

    /// <summary>null, <c>StringComparer.Ordinal</c>, <c>EqualityComparer&lt;T&gt;.Default</c>…: BCL comparers
    /// whose calls have no side effects. Any other comparer runs user code during the enumeration.</summary>
    private static bool IsKnownComparer(IOperation value)
    {
        switch (KnownMembers.Unwrap(value))
        {
            case ILiteralOperation { ConstantValue: { HasValue: true, Value: null } }:
            case IDefaultValueOperation:
                return true;
            case IPropertyReferenceOperation { Property.IsStatic: true } property:
                var type = property.Property.ContainingType;
                return (type.Name == "StringComparer" && NonRetainingMembers.IsNamespace(type.ContainingNamespace, "System"))
                       || (type.Name is "EqualityComparer" or "Comparer" && NonRetainingMembers.IsNamespace(type.ContainingNamespace, "System.Collections.Generic"));
            default:
                return false;
        }
    }

    // ------------------------------------------------------------------ decisions per use

    /// <summary>For a foreach over the copy, or an Any/Count predicate: can the consuming code run between
    /// the source's elements instead of after all of them?</summary>
    public bool CanDropCopyBefore(IOperation use)
    {
        foreach (var root in _roots)
        {
            // An iterator method's side effects would interleave with the body; a concurrent collection's
            // copy is an atomic snapshot; a static collection is shared with every thread.
            if (root.Kind is RootKind.UserCall or RootKind.Concurrent || root.IsStatic)
                return false;

            // A type that locks is a type that is used from several threads: the copy may be the snapshot
            // that lets the loop run outside the lock.
            if (root.Owner is not null && (UsesLocking(root.Owner) || (_containingType is not null && UsesLocking(_containingType))))
                return false;
        }

        var effects = use is IForEachLoopOperation loop
            ? RegionEffects.OfIteration(loop, _ownership, _rootSymbols)
            : RegionEffects.Of(use, _ownership, _rootSymbols);
        if (effects.MentionsWatched)
            return false;

        var shared = false;
        var unknownEnumerator = false;
        foreach (var root in _roots)
        {
            shared |= root.IsShared;
            unknownEnumerator |= root.Kind is RootKind.Unknown or RootKind.LibraryCall;
        }

        if ((shared || _hasLambdas) && !effects.CallsOnlyKnownCode)
            return false;

        // An enumerator we cannot see may read any field or array the body writes.
        if (unknownEnumerator && effects.WritesSharedMemory)
            return false;

        // other[i] = x, where other may be the array being enumerated.
        if (shared && effects.WritesUnownedArrayElement)
            return false;

        // The lambdas now run between iterations: they must not read what the body writes.
        if (_hasLambdas && effects.Written.Overlaps(_lambdaReads))
            return false;

        return true;
    }

    /// <summary>For <c>Any()</c>: the source is no longer enumerated to the end. Acceptable unless a root is a
    /// user method, typically an iterator whose remaining side effects (or exceptions) would be skipped.</summary>
    public bool CanStopEarly()
    {
        foreach (var root in _roots)
        {
            if (root.Kind == RootKind.UserCall)
                return false;
        }

        return true;
    }

    private bool UsesLocking(INamedTypeSymbol type) => _types.Synchronization.UsesLocking(type, _cancellationToken);

    /// <summary>Enumerable.Range/Repeat/Empty: BCL generators nobody else can change.</summary>
    private bool IsGenerator(IMethodSymbol method)
        => method.Name is "Range" or "Repeat" or "Empty"
           && SymbolEqualityComparer.Default.Equals(method.ContainingType, _types.Enumerable);

    private static bool IsLibrary(INamedTypeSymbol? type)
    {
        for (var ns = type?.ContainingNamespace; ns is { IsGlobalNamespace: false }; ns = ns.ContainingNamespace)
        {
            if (ns.ContainingNamespace is { IsGlobalNamespace: true })
                return ns.Name == "System" && type!.ContainingAssembly is { } assembly && IsFrameworkAssembly(assembly.Identity.Name);
        }

        return false;
    }

    private static bool IsFrameworkAssembly(string name)
        => name.StartsWith("System", System.StringComparison.Ordinal) || name is "netstandard" or "mscorlib";

    // ------------------------------------------------------------------ shared helpers

    private static bool IsQueryable(ITypeSymbol? type)
    {
        if (type is not INamedTypeSymbol named)
            return false;
        if (IsQueryableInterface(named))
            return true;
        foreach (var implemented in named.AllInterfaces)
        {
            if (IsQueryableInterface(implemented))
                return true;
        }

        return false;

        static bool IsQueryableInterface(INamedTypeSymbol t)
            => t.Name is "IQueryable" or "IOrderedQueryable" && NonRetainingMembers.IsNamespace(t.ContainingNamespace, "System.Linq");
    }

    private static bool ContainsFunction(IOperation operation)
    {
        foreach (var node in operation.DescendantsAndSelf())
        {
            if (node is IAnonymousFunctionOperation or IMethodReferenceOperation or ILocalFunctionOperation)
                return true;
        }

        return false;
    }

    /// <summary>The T of the type's one IEnumerable&lt;T&gt; (char for string, the element type of an
    /// array); null when there is none or more than one.</summary>
    internal static ITypeSymbol? SequenceElementType(ITypeSymbol type, MaterializedOnceTypes types)
    {
        switch (type)
        {
            case IArrayTypeSymbol { Rank: 1 } array:
                return array.ElementType;
            case { SpecialType: SpecialType.System_String }:
                return types.Char;
            case INamedTypeSymbol named:
                if (named.OriginalDefinition.SpecialType == SpecialType.System_Collections_Generic_IEnumerable_T)
                    return named.TypeArguments[0];
                ITypeSymbol? found = null;
                foreach (var implemented in named.AllInterfaces)
                {
                    if (implemented.OriginalDefinition.SpecialType != SpecialType.System_Collections_Generic_IEnumerable_T)
                        continue;
                    if (found is not null && !SymbolEqualityComparer.Default.Equals(found, implemented.TypeArguments[0]))
                        return null;
                    found = implemented.TypeArguments[0];
                }

                return found;
            default:
                return null; // type parameters, dynamic, errors
        }
    }

    /// <summary>foreach over a class or struct uses its public GetEnumerator() when it has one; that
    /// enumerator must produce the same element type as the copy did.</summary>
    internal static bool PatternElementMatches(INamedTypeSymbol type, ITypeSymbol element)
    {
        for (var t = type; t is not null; t = t.BaseType)
        {
            foreach (var member in t.GetMembers("GetEnumerator"))
            {
                if (member is IMethodSymbol { IsStatic: false, Parameters.Length: 0, TypeParameters.Length: 0, DeclaredAccessibility: Accessibility.Public } getEnumerator)
                {
                    var current = FindProperty(getEnumerator.ReturnType, "Current");
                    return current is not null && SymbolEqualityComparer.Default.Equals(current.Type, element);
                }
            }
        }

        return true; // no public pattern method: foreach uses IEnumerable<T>.
    }

    private static IPropertySymbol? FindProperty(ITypeSymbol type, string name)
    {
        for (var t = type; t is not null; t = t.BaseType)
        {
            foreach (var member in t.GetMembers(name))
            {
                if (member is IPropertySymbol { IsStatic: false, IsIndexer: false } property)
                    return property;
            }
        }

        if (type.TypeKind == TypeKind.Interface)
        {
            foreach (var implemented in type.AllInterfaces)
            {
                foreach (var member in implemented.GetMembers(name))
                {
                    if (member is IPropertySymbol { IsStatic: false, IsIndexer: false } property)
                        return property;
                }
            }
        }

        return null;
    }

    /// <summary>What replaces <c>copy.Count</c>/<c>copy.Length</c>: the source's own Length (arrays,
    /// strings) or Count (BCL collections and collection interfaces), else <c>Count()</c>.</summary>
    internal static string CountReplacement(ITypeSymbol sourceType, MaterializedOnceTypes types)
    {
        if (sourceType is IArrayTypeSymbol || sourceType.SpecialType == SpecialType.System_String)
            return "Length";
        if (sourceType is not INamedTypeSymbol named)
            return "Count()";
        var ns = named.ContainingNamespace;
        var bcl = NonRetainingMembers.IsNamespace(ns, "System.Collections.Generic")
                  || NonRetainingMembers.IsNamespace(ns, "System.Collections.Immutable")
                  || NonRetainingMembers.IsNamespace(ns, "System.Collections.Concurrent");
        if (!bcl)
            return "Count()";

        if (named.TypeKind is TypeKind.Class or TypeKind.Struct)
        {
            if (FindPublicIntProperty(named, "Count"))
                return "Count";
            if (FindPublicIntProperty(named, "Length"))
                return "Length";
            return "Count()";
        }

        if (named.TypeKind == TypeKind.Interface)
        {
            // ICollection<T>, IReadOnlyList<T>…: exactly one interface may declare Count, or it is ambiguous.
            var declaring = HasIntProperty(named, "Count") ? 1 : 0;
            foreach (var implemented in named.AllInterfaces)
            {
                if (HasIntProperty(implemented, "Count"))
                    declaring++;
            }

            return declaring == 1 ? "Count" : "Count()";
        }

        return "Count()";

        static bool FindPublicIntProperty(INamedTypeSymbol type, string name)
        {
            for (INamedTypeSymbol? t = type; t is not null; t = t.BaseType)
            {
                if (HasIntProperty(t, name))
                    return true;
            }

            return false;
        }

        static bool HasIntProperty(INamedTypeSymbol type, string name)
        {
            foreach (var member in type.GetMembers(name))
            {
                if (member is IPropertySymbol { IsStatic: false, IsIndexer: false, DeclaredAccessibility: Accessibility.Public, Type.SpecialType: SpecialType.System_Int32 })
                    return true;
            }

            return false;
        }
    }

    /// <summary>Whether the type has an instance method of that name, which <c>source.Name()</c> would call
    /// instead of the LINQ extension.</summary>
    internal static bool HasInstanceMethod(ITypeSymbol type, string name)
    {
        for (var t = type; t is not null; t = t.BaseType)
        {
            foreach (var member in t.GetMembers(name))
            {
                if (member is IMethodSymbol { IsStatic: false })
                    return true;
            }
        }

        if (type.TypeKind == TypeKind.Interface)
        {
            foreach (var implemented in type.AllInterfaces)
            {
                foreach (var member in implemented.GetMembers(name))
                {
                    if (member is IMethodSymbol { IsStatic: false })
                        return true;
                }
            }
        }

        return false;
    }
}
