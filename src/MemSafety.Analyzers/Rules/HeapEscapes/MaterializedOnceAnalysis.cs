using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using MemSafety.Analyzers.Engines.Escape;
using MemSafety.Analyzers.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
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
/// effects (a syntactic allow-list: reads, operators, pure BCL members such as string and Math methods);</item>
/// <item>the consuming <b>body</b>: it may not touch the roots at all, and when a root is shared or the chain
/// has lambdas it may only call members that cannot reach the source (Console, Debug, StringBuilder, pure
/// members, methods of collections that only this method holds), and may not write what the lambdas read.</item>
/// </list>
/// Anything not recognised counts against reporting. Create one per candidate.
/// </summary>
internal sealed class MaterializedOnceAnalysis
{
    private readonly MaterializedOnceTypes _types;
    private readonly CancellationToken _cancellationToken;
    private readonly IOperation _bodyRoot;
    private readonly INamedTypeSymbol? _containingType;
    private readonly List<Root> _roots = new();
    private readonly HashSet<ISymbol> _rootSymbols = new(SymbolEqualityComparer.Default);
    private readonly HashSet<ISymbol> _lambdaReads = new(SymbolEqualityComparer.Default);
    private readonly HashSet<IOperation> _chainReferences = new();
    private readonly Dictionary<ILocalSymbol, bool> _private = new(SymbolEqualityComparer.Default);
    private Dictionary<ILocalSymbol, List<IOperation>>? _localReferences;
    private Dictionary<ILocalSymbol, IVariableDeclaratorOperation>? _declarators;
    private bool _hasLambdas;

    public MaterializedOnceAnalysis(MaterializedOnceTypes types, IOperation copy, INamedTypeSymbol? containingType, CancellationToken cancellationToken)
    {
        _types = types;
        _containingType = containingType;
        _cancellationToken = cancellationToken;
        _bodyRoot = copy.Root();
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
            var operation = Unwrap(work.Pop());

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
                CollectSymbols(conditional.Condition, _rootSymbols);
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
                _roots.Add(new Root(IsPrivateLocal(local.Local) ? RootKind.Private : KindOf(operation.Type)));
                return true;

            case IParameterReferenceOperation parameter:
                _rootSymbols.Add(parameter.Parameter);
                _roots.Add(new Root(KindOf(operation.Type)));
                return true;

            case IFieldReferenceOperation field:
                CollectSymbols(operation, _rootSymbols);
                _roots.Add(new Root(KindOf(operation.Type), field.Field.IsStatic, field.Field.ContainingType));
                return true;

            case IPropertyReferenceOperation property:
                CollectSymbols(operation, _rootSymbols);
                _roots.Add(new Root(KindOf(operation.Type), property.Property.IsStatic, property.Property.ContainingType));
                return true;

            case IArrayElementReferenceOperation:
                CollectSymbols(operation, _rootSymbols);
                _roots.Add(new Root(KindOf(operation.Type)));
                return true;

            case IInstanceReferenceOperation:
                _roots.Add(new Root(KindOf(operation.Type)));
                return true;

            case IInvocationOperation invocation:
                CollectSymbols(operation, _rootSymbols);
                var method = invocation.TargetMethod;
                if (method.MethodKind is MethodKind.DelegateInvoke or MethodKind.LocalFunction)
                    return false;
                if (IsFreshProducer(method) || IsGenerator(method))
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
                CollectSymbols(operation, _rootSymbols);
                _roots.Add(new Root(KindOf(operation.Type) is RootKind.Collection or RootKind.Immutable ? RootKind.Fresh : RootKind.Unknown));
                return true;

            case IArrayCreationOperation:
            case ICollectionExpressionOperation:
                CollectSymbols(operation, _rootSymbols);
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
        if (Unwrap(value) is not IDelegateCreationOperation creation)
            return false; // a delegate from a variable or a field: its code is unknown.
        _hasLambdas = true;
        switch (creation.Target)
        {
            case IAnonymousFunctionOperation lambda:
                return IsPureFunction(lambda.Body, lambda.Symbol);
            case IMethodReferenceOperation reference:
                if (reference.Instance is not null)
                    CollectSymbols(reference.Instance, _lambdaReads);
                return IsPureMethod(reference.Method);
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
        switch (Unwrap(value))
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
    public bool CanDropCopyBefore(IOperation use, ConcurrentDictionary<INamedTypeSymbol, bool> lockingCache)
    {
        foreach (var root in _roots)
        {
            // An iterator method's side effects would interleave with the body; a concurrent collection's
            // copy is an atomic snapshot; a static collection is shared with every thread.
            if (root.Kind is RootKind.UserCall or RootKind.Concurrent || root.IsStatic)
                return false;

            // A type that locks is a type that is used from several threads: the copy may be the snapshot
            // that lets the loop run outside the lock.
            if (root.Owner is not null && (UsesLocking(root.Owner, lockingCache) || (_containingType is not null && UsesLocking(_containingType, lockingCache))))
                return false;
        }

        var effects = new BodyEffects();
        if (use is IForEachLoopOperation loop)
        {
            if (loop.LoopControlVariable is not IVariableDeclaratorOperation)
            {
                ScanBody(loop.LoopControlVariable, effects);
                RecordWrite(loop.LoopControlVariable, effects);
            }

            ScanBody(loop.Body, effects);
        }
        else
        {
            ScanBody(use, effects);
        }

        if (effects.TouchesRoot)
            return false;

        var shared = false;
        var unknownEnumerator = false;
        foreach (var root in _roots)
        {
            shared |= root.IsShared;
            unknownEnumerator |= root.Kind is RootKind.Unknown or RootKind.LibraryCall;
        }

        if ((shared || _hasLambdas) && !effects.Harmless)
            return false;

        // An enumerator we cannot see may read any field or array the body writes.
        if (unknownEnumerator && effects.WritesShared)
            return false;

        // other[i] = x, where other may be the array being enumerated.
        if (shared && effects.WritesSharedArray)
            return false;

        // The lambdas now run between iterations: they must not read what the body writes.
        if (_hasLambdas && effects.Writes.Overlaps(_lambdaReads))
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

    private bool UsesLocking(INamedTypeSymbol type, ConcurrentDictionary<INamedTypeSymbol, bool> cache)
    {
        if (type.DeclaringSyntaxReferences.IsEmpty)
            return false;
        if (cache.TryGetValue(type, out var known))
            return known;

        var result = false;
        foreach (var reference in type.DeclaringSyntaxReferences)
        {
            foreach (var node in reference.GetSyntax(_cancellationToken).DescendantNodes())
            {
                if (node is LockStatementSyntax
                    || (node is IdentifierNameSyntax identifier && identifier.Identifier.ValueText is "Interlocked" or "Monitor" or "Volatile" or "SemaphoreSlim" or "ReaderWriterLockSlim" or "SpinLock" or "Mutex")
                    || (node is FieldDeclarationSyntax field && HasVolatileModifier(field)))
                {
                    result = true;
                    break;
                }
            }

            if (result)
                break;
        }

        cache.TryAdd(type, result);
        return result;
    }

    private static bool HasVolatileModifier(FieldDeclarationSyntax field)
    {
        foreach (var modifier in field.Modifiers)
        {
            if (modifier.ValueText == "volatile")
                return true;
        }

        return false;
    }

    // ------------------------------------------------------------------ lambdas of the chain

    /// <summary>Side-effect free by a syntactic allow-list; records every variable, field and property it reads.</summary>
    private bool IsPureFunction(IOperation body, IMethodSymbol function)
    {
        var stack = new Stack<IOperation>();
        stack.Push(body);
        while (stack.Count > 0)
        {
            var operation = stack.Pop();
            if (!IsPureNode(operation, function))
                return false;
            foreach (var child in operation.ChildOperations)
                stack.Push(child);
        }

        return true;
    }

    private bool IsPureNode(IOperation operation, IMethodSymbol function)
    {
        switch (operation)
        {
            case ILocalReferenceOperation local:
                _lambdaReads.Add(local.Local);
                return true;
            case IParameterReferenceOperation parameter:
                _lambdaReads.Add(parameter.Parameter);
                return true;
            case IFieldReferenceOperation field:
                _lambdaReads.Add(field.Field);
                return true;
            case IPropertyReferenceOperation property:
                _lambdaReads.Add(property.Property);
                return !IsClockProperty(property.Property);
            case IInvocationOperation invocation:
                if (IsInitializerReceiver(invocation.Instance))
                    return true; // Add of a collection initializer, on a collection created here.
                return IsPureMethod(invocation.TargetMethod) && OutArgumentsAreOwn(invocation.Arguments, function);
            case IMethodReferenceOperation reference:
                return IsPureMethod(reference.Method);
            case IObjectCreationOperation creation:
                return IsHarmlessCreation(creation.Type) && OutArgumentsAreOwn(creation.Arguments, function);
            case ISimpleAssignmentOperation assignment:
                return IsInitializerTarget(assignment.Target);
            case IBinaryOperation binary:
                return binary.OperatorMethod is null || IsLibraryOperator(binary.OperatorMethod);
            case IUnaryOperation unary:
                return unary.OperatorMethod is null || IsLibraryOperator(unary.OperatorMethod);
            case IConversionOperation conversion:
                return conversion.OperatorMethod is null || IsLibraryOperator(conversion.OperatorMethod);
            default:
                return IsPureKind(operation.Kind);
        }
    }

    /// <summary>ref/out arguments may only write variables declared inside the lambda (<c>int.TryParse(s, out var n)</c>).</summary>
    private static bool OutArgumentsAreOwn(System.Collections.Immutable.ImmutableArray<IArgumentOperation> arguments, IMethodSymbol function)
    {
        foreach (var argument in arguments)
        {
            if (argument.Parameter is not { RefKind: RefKind.Out or RefKind.Ref })
                continue;
            switch (argument.Value)
            {
                case IDeclarationExpressionOperation:
                case IDiscardOperation:
                    continue;
                case ILocalReferenceOperation local when IsDeclaredWithin(local.Local, function):
                    continue;
                default:
                    return false;
            }
        }

        return true;
    }

    private static bool IsDeclaredWithin(ILocalSymbol local, IMethodSymbol function)
    {
        for (var symbol = local.ContainingSymbol; symbol is not null; symbol = symbol.ContainingSymbol)
        {
            if (SymbolEqualityComparer.Default.Equals(symbol, function))
                return true;
            if (symbol is not IMethodSymbol { MethodKind: MethodKind.AnonymousFunction or MethodKind.LocalFunction })
                return false;
        }

        return false;
    }

    private static bool IsPureKind(OperationKind kind)
    {
        switch (kind)
        {
            case OperationKind.Block:
            case OperationKind.Return:
            case OperationKind.ExpressionStatement:
            case OperationKind.Literal:
            case OperationKind.Utf8String:
            case OperationKind.Conditional:
            case OperationKind.Coalesce:
            case OperationKind.ConditionalAccess:
            case OperationKind.ConditionalAccessInstance:
            case OperationKind.IsType:
            case OperationKind.IsPattern:
            case OperationKind.ConstantPattern:
            case OperationKind.DeclarationPattern:
            case OperationKind.TypePattern:
            case OperationKind.RelationalPattern:
            case OperationKind.NegatedPattern:
            case OperationKind.BinaryPattern:
            case OperationKind.RecursivePattern:
            case OperationKind.PropertySubpattern:
            case OperationKind.DiscardPattern:
            case OperationKind.ListPattern:
            case OperationKind.SlicePattern:
            case OperationKind.SwitchExpression:
            case OperationKind.SwitchExpressionArm:
            case OperationKind.Switch:
            case OperationKind.SwitchCase:
            case OperationKind.CaseClause:
            case OperationKind.Tuple:
            case OperationKind.TupleBinary:
            case OperationKind.AnonymousObjectCreation:
            case OperationKind.ArrayCreation:
            case OperationKind.ArrayInitializer:
            case OperationKind.ArrayElementReference:
            case OperationKind.ImplicitIndexerReference:
            case OperationKind.CollectionExpression:
            case OperationKind.Spread:
            case OperationKind.InstanceReference:
            case OperationKind.InterpolatedString:
            case OperationKind.Interpolation:
            case OperationKind.InterpolatedStringText:
            case OperationKind.DefaultValue:
            case OperationKind.TypeOf:
            case OperationKind.NameOf:
            case OperationKind.SizeOf:
            case OperationKind.Throw:
            case OperationKind.DelegateCreation:
            case OperationKind.AnonymousFunction:
            case OperationKind.Argument:
            case OperationKind.VariableDeclarationGroup:
            case OperationKind.VariableDeclaration:
            case OperationKind.VariableDeclarator:
            case OperationKind.VariableInitializer:
            case OperationKind.DeclarationExpression:
            case OperationKind.Discard:
            case OperationKind.Range:
            case OperationKind.ObjectOrCollectionInitializer:
            case OperationKind.MemberInitializer:
            case OperationKind.Empty:
            case OperationKind.InterpolatedStringHandlerCreation:
            case OperationKind.InterpolatedStringAddition:
            case OperationKind.InterpolatedStringAppendLiteral:
            case OperationKind.InterpolatedStringAppendFormatted:
            case OperationKind.InterpolatedStringHandlerArgumentPlaceholder:
                return true;
            default:
                return false;
        }
    }

    /// <summary>Members assumed free of side effects. Property getters, <c>ToString</c>, <c>Equals</c>,
    /// <c>GetHashCode</c> and <c>CompareTo</c> are assumed pure everywhere (documented); parsing methods are
    /// not, because code materialises a sequence precisely to make every element's parse fail up front.</summary>
    internal bool IsPureMethod(IMethodSymbol method)
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

        if (SymbolEqualityComparer.Default.Equals(type, _types.Enumerable))
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

    private static bool IsLibraryOperator(IMethodSymbol method)
        => method.ContainingType is { } type
           && (type.SpecialType != SpecialType.None || NonRetainingMembers.IsNamespace(type.ContainingNamespace, "System"));

    /// <summary><c>DateTime.Now</c> and friends: a lambda reading them gives other answers when it runs later.</summary>
    private static bool IsClockProperty(IPropertySymbol property)
    {
        if (!property.IsStatic)
            return false;
        var type = property.ContainingType;
        return (type.SpecialType == SpecialType.System_DateTime)
               || (type.Name is "DateTimeOffset" or "Environment" && NonRetainingMembers.IsNamespace(type.ContainingNamespace, "System"))
               || (type.Name == "Stopwatch" && NonRetainingMembers.IsNamespace(type.ContainingNamespace, "System.Diagnostics"));
    }

    private static bool IsHarmlessCreation(ITypeSymbol? type)
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

    private static bool IsInitializerReceiver(IOperation? instance)
        => instance is IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ImplicitReceiver };

    /// <summary><c>new T { X = 1 }</c>, <c>new { X = 1 }</c>: sets a member of the object being created.</summary>
    private static bool IsInitializerTarget(IOperation target)
        => target is IMemberReferenceOperation member && IsInitializerReceiver(member.Instance)
           || (target is IPropertyReferenceOperation && target.Parent?.Parent is IAnonymousObjectCreationOperation);

    // ------------------------------------------------------------------ the consuming body

    private sealed class BodyEffects
    {
        /// <summary>Calls only members that cannot reach the source (see the class summary).</summary>
        public bool Harmless = true;

        /// <summary>Mentions a variable, field or property the source's roots are read from.</summary>
        public bool TouchesRoot;

        /// <summary>Writes a field, an array element or a ref parameter (state an unknown enumerator may read).</summary>
        public bool WritesShared;

        /// <summary>Writes an element of an array this method does not own (or a struct inside one): that
        /// array may be the very array the source enumerates, under another name.</summary>
        public bool WritesSharedArray;

        /// <summary>Variables, fields and properties the body writes (or mutates through a method call).</summary>
        public readonly HashSet<ISymbol> Writes = new(SymbolEqualityComparer.Default);
    }

    private void ScanBody(IOperation body, BodyEffects effects)
    {
        var stack = new Stack<IOperation>();
        stack.Push(body);
        while (stack.Count > 0)
        {
            var operation = stack.Pop();
            ScanNode(operation, effects);
            if (effects.TouchesRoot)
                return;
            foreach (var child in operation.ChildOperations)
                stack.Push(child);
        }
    }

    private void ScanNode(IOperation operation, BodyEffects effects)
    {
        switch (operation)
        {
            case ILocalReferenceOperation local:
                effects.TouchesRoot |= _rootSymbols.Contains(local.Local);
                break;
            case IParameterReferenceOperation parameter:
                effects.TouchesRoot |= _rootSymbols.Contains(parameter.Parameter);
                break;
            case IFieldReferenceOperation field:
                effects.TouchesRoot |= _rootSymbols.Contains(field.Field);
                break;
            case IPropertyReferenceOperation property:
                effects.TouchesRoot |= _rootSymbols.Contains(property.Property);
                break;
            case IInvocationOperation invocation:
                ScanInvocation(invocation, effects);
                break;
            case IArgumentOperation { Parameter.RefKind: RefKind.Ref or RefKind.Out } argument:
                RecordWrite(argument.Value, effects);
                break;
            case IObjectCreationOperation creation:
                effects.Harmless &= IsHarmlessCreation(creation.Type);
                break;
            case IMethodReferenceOperation reference:
                effects.Harmless &= IsPureMethod(reference.Method);
                break;
            case ISimpleAssignmentOperation assignment:
                if (!IsInitializerTarget(assignment.Target))
                    RecordWrite(assignment.Target, effects);
                break;
            case ICompoundAssignmentOperation compound:
                RecordWrite(compound.Target, effects);
                effects.Harmless &= compound.OperatorMethod is null || IsLibraryOperator(compound.OperatorMethod);
                break;
            case IIncrementOrDecrementOperation increment:
                RecordWrite(increment.Target, effects);
                effects.Harmless &= increment.OperatorMethod is null || IsLibraryOperator(increment.OperatorMethod);
                break;
            case ICoalesceAssignmentOperation coalesce:
                RecordWrite(coalesce.Target, effects);
                break;
            case IDeconstructionAssignmentOperation deconstruction:
                RecordWrite(deconstruction.Target, effects);
                effects.Harmless &= deconstruction.Value.Type is { IsTupleType: true }; // else a user Deconstruct runs.
                break;
            case IBinaryOperation binary:
                effects.Harmless &= binary.OperatorMethod is null || IsLibraryOperator(binary.OperatorMethod);
                break;
            case IUnaryOperation unary:
                effects.Harmless &= unary.OperatorMethod is null || IsLibraryOperator(unary.OperatorMethod);
                break;
            case IConversionOperation conversion:
                effects.Harmless &= conversion.OperatorMethod is null || IsLibraryOperator(conversion.OperatorMethod);
                break;
            case IForEachLoopOperation loop:
                // A nested loop runs the enumerator of its collection: fine for BCL collections only.
                effects.Harmless &= !loop.IsAsynchronous && KindOf(Unwrap(loop.Collection).Type) is RootKind.Collection or RootKind.Immutable;
                if (loop.LoopControlVariable is not IVariableDeclaratorOperation)
                    RecordWrite(loop.LoopControlVariable, effects);
                break;
            case IReturnOperation { Kind: OperationKind.YieldReturn or OperationKind.YieldBreak }:
                effects.Harmless = false; // the consumer runs arbitrary code between elements.
                break;
            default:
                effects.Harmless &= IsPureKind(operation.Kind) || IsStatementKind(operation.Kind);
                break;
        }
    }

    private static bool IsStatementKind(OperationKind kind)
    {
        switch (kind)
        {
            case OperationKind.Loop:
            case OperationKind.Branch:
            case OperationKind.Labeled:
            case OperationKind.Try:
            case OperationKind.CatchClause:
            case OperationKind.CaughtException:
            case OperationKind.Lock:
            case OperationKind.LocalFunction:
            case OperationKind.Increment:
            case OperationKind.Decrement:
            case OperationKind.CompoundAssignment:
            case OperationKind.SimpleAssignment:
            case OperationKind.DeconstructionAssignment:
            case OperationKind.CoalesceAssignment:
                return true;
            default:
                return false;
        }
    }

    private void ScanInvocation(IInvocationOperation invocation, BodyEffects effects)
    {
        var method = invocation.TargetMethod;
        if (IsInitializerReceiver(invocation.Instance) || IsPureMethod(method))
            return;

        var type = method.ContainingType;
        if (method.IsStatic)
        {
            // Output only: it cannot reach the source.
            if (type is not null
                && ((type.Name == "Console" && NonRetainingMembers.IsNamespace(type.ContainingNamespace, "System"))
                    || (type.Name is "Debug" or "Trace" && NonRetainingMembers.IsNamespace(type.ContainingNamespace, "System.Diagnostics"))))
            {
                return;
            }

            effects.Harmless = false;
            return;
        }

        var instance = invocation.Instance is null ? null : Unwrap(invocation.Instance);
        if (type is not null && type.Name == "StringBuilder" && NonRetainingMembers.IsNamespace(type.ContainingNamespace, "System.Text") && instance is not null)
        {
            RecordMutation(instance, effects);
            return;
        }

        // result.Add(x) on a collection only this method holds.
        if (instance is ILocalReferenceOperation local && IsOwnStateType(type) && IsPrivateLocal(local.Local))
        {
            effects.Writes.Add(local.Local);
            return;
        }

        effects.Harmless = false;
    }

    private void RecordMutation(IOperation instance, BodyEffects effects)
    {
        // builder.Append(a).Append(b): the second call mutates what the first returned, the builder.
        while (instance is IInvocationOperation { Instance: { } receiver } fluent
               && SymbolEqualityComparer.Default.Equals(fluent.Type, receiver.Type))
        {
            instance = Unwrap(receiver);
        }

        if (instance is ILocalReferenceOperation local && IsPrivateLocal(local.Local))
        {
            effects.Writes.Add(local.Local);
            return;
        }

        effects.WritesShared = true;
        CollectSymbols(instance, effects.Writes);
    }

    private void RecordWrite(IOperation target, BodyEffects effects)
    {
        switch (target)
        {
            case ILocalReferenceOperation local:
                effects.Writes.Add(local.Local);
                effects.WritesShared |= local.Local.RefKind != RefKind.None;
                break;
            case IParameterReferenceOperation parameter:
                effects.Writes.Add(parameter.Parameter);
                effects.WritesShared |= parameter.Parameter.RefKind != RefKind.None;
                break;
            case IFieldReferenceOperation field:
                effects.Writes.Add(field.Field);
                if (field.Instance is not null && Unwrap(field.Instance) is ILocalReferenceOperation { Local: { RefKind: RefKind.None, Type.IsValueType: true } structLocal })
                {
                    effects.Writes.Add(structLocal); // a field of a struct local: this frame's memory.
                }
                else
                {
                    effects.WritesShared = true;

                    // points[i].X = 1 changes the array (or the object) that holds the struct.
                    effects.WritesSharedArray |= field.Instance is { Type.IsValueType: true };
                    if (field.Instance is not null)
                        CollectSymbols(field.Instance, effects.Writes);
                }

                break;
            case IArrayElementReferenceOperation element:
                var array = Unwrap(element.ArrayReference);
                effects.WritesSharedArray |= !(array is ILocalReferenceOperation arrayLocal && IsPrivateLocal(arrayLocal.Local));
                RecordMutation(array, effects);
                break;
            case IPropertyReferenceOperation property:
                // A setter is user code, unless it is the indexer of a collection only this method holds.
                if (property.Instance is not null
                    && Unwrap(property.Instance) is ILocalReferenceOperation owner
                    && IsOwnStateType(property.Property.ContainingType)
                    && IsPrivateLocal(owner.Local))
                {
                    effects.Writes.Add(owner.Local);
                }
                else
                {
                    effects.Harmless = false;
                }

                break;
            case ITupleOperation tuple:
                foreach (var element in tuple.Elements)
                    RecordWrite(element, effects);
                break;
            case IDeclarationExpressionOperation declaration:
                RecordWrite(declaration.Expression, effects);
                break;
            case IDiscardOperation:
                break;
            default:
                effects.Harmless = false;
                break;
        }
    }

    // ------------------------------------------------------------------ locals only this method holds

    /// <summary>
    /// A local that holds a collection this method created (every value assigned to it is fresh) and that
    /// nothing else can reach while the method runs: it is only used as the receiver of its own
    /// collection methods, indexed, read for Count/Length, enumerated, passed to a BCL member that keeps
    /// nothing (<see cref="NonRetainingMembers"/>), or returned — never captured, stored, or passed elsewhere.
    /// (The escape engine treats <c>return</c> as an escape; here it is not one, because nothing runs in
    /// this method after it.)
    /// </summary>
    private bool IsPrivateLocal(ILocalSymbol local)
    {
        if (_private.TryGetValue(local, out var known))
            return known;
        var result = ComputePrivate(local);
        _private[local] = result;
        return result;
    }

    private bool ComputePrivate(ILocalSymbol local)
    {
        if (local.RefKind != RefKind.None || local.IsConst || !IsOwnStateType(local.Type))
            return false;

        EnsureIndexed();
        if (!_declarators!.TryGetValue(local, out var declarator))
            return false;
        var initializer = declarator.Initializer?.Value ?? (declarator.Parent as IVariableDeclarationOperation)?.Initializer?.Value;
        if (initializer is null || !IsFreshValue(initializer))
            return false;

        if (!_localReferences!.TryGetValue(local, out var references))
            return true;
        foreach (var reference in references)
        {
            // A lambda may run on another thread while the method goes on: captured means shared.
            if (IsCaptured(reference, local))
                return false;
            if (_chainReferences.Contains(reference))
                continue;
            if (reference.Parent is ISimpleAssignmentOperation assignment && assignment.Target == reference)
            {
                if (!IsFreshValue(assignment.Value))
                    return false;
                continue;
            }

            if (!IsPrivateUse(reference))
                return false;
        }

        return true;
    }

    private static bool IsCaptured(IOperation reference, ILocalSymbol local)
        => reference.EnclosingFunction() is { } function && !SymbolEqualityComparer.Default.Equals(local.ContainingSymbol, function);

    private bool IsPrivateUse(IOperation reference)
    {
        var current = reference;
        for (var depth = 0; depth < 16; depth++)
        {
            var parent = current.Parent;
            switch (parent)
            {
                case IConversionOperation { IsImplicit: true, OperatorMethod: null }:
                    current = parent;
                    continue;
                case IInvocationOperation invocation when invocation.Instance == current:
                    if (!IsOwnStateType(invocation.TargetMethod.ContainingType))
                        return false;
                    if (invocation.Type is { } resultType && current.Type is { } receiverType && SymbolEqualityComparer.Default.Equals(resultType, receiverType))
                    {
                        current = invocation; // sb.Append(x) returns sb: follow it.
                        continue;
                    }

                    return IsDetachedResult(invocation.Type, current.Type);
                case IExpressionStatementOperation:
                    return true;
                case IPropertyReferenceOperation property when property.Instance == current:
                    return IsDetachedResult(property.Type, current.Type) || (property.Parent is ISimpleAssignmentOperation set && set.Target == property);
                case IArrayElementReferenceOperation element when element.ArrayReference == current:
                    return true;
                case IForEachLoopOperation loop when loop.Collection == current:
                    return true;
                case IReturnOperation { Kind: OperationKind.Return }:
                    return true;
                case IArgumentOperation { Parameter.RefKind: RefKind.None } argument when argument.Parent is IInvocationOperation call:
                    return NonRetainingMembers.IsNonRetaining(call.TargetMethod, out var aliases) && !aliases;
                case IBinaryOperation:
                case IIsTypeOperation:
                    return true;
                default:
                    return false;
            }
        }

        return false;
    }

    /// <summary>A member result that cannot be a view of the collection: nothing, a primitive, a string,
    /// one of its elements, or a copy (an array).</summary>
    private static bool IsDetachedResult(ITypeSymbol? result, ITypeSymbol? container)
    {
        if (result is null || result.SpecialType == SpecialType.System_Void || result.SpecialType == SpecialType.System_String)
            return true;
        if (result.SpecialType != SpecialType.None && result.IsValueType)
            return true;
        if (result is IArrayTypeSymbol)
            return true;
        if (container is INamedTypeSymbol named)
        {
            foreach (var argument in named.TypeArguments)
            {
                if (SymbolEqualityComparer.Default.Equals(argument, result))
                    return true;
            }
        }
        else if (container is IArrayTypeSymbol array && SymbolEqualityComparer.Default.Equals(array.ElementType, result))
        {
            return true;
        }

        return false;
    }

    /// <summary>Arrays, System.Collections.Generic classes and StringBuilder: their methods work on their
    /// own state and call no user code except element comparers and ToString.</summary>
    private static bool IsOwnStateType(ITypeSymbol? type)
    {
        switch (type)
        {
            case IArrayTypeSymbol { Rank: 1 }:
                return true;
            case INamedTypeSymbol { SpecialType: SpecialType.System_Array }:
                return true;
            case INamedTypeSymbol { TypeKind: TypeKind.Class } named:
                return NonRetainingMembers.IsNamespace(named.ContainingNamespace, "System.Collections.Generic")
                       || (named.Name == "StringBuilder" && NonRetainingMembers.IsNamespace(named.ContainingNamespace, "System.Text"));
            default:
                return false;
        }
    }

    private bool IsFreshValue(IOperation value)
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

    /// <summary>Methods that return a new collection nobody else holds.</summary>
    private bool IsFreshProducer(IMethodSymbol method)
    {
        if (SymbolEqualityComparer.Default.Equals(method.ContainingType, _types.Enumerable))
            return method.Name is "ToList" or "ToArray" or "ToHashSet" or "ToDictionary" or "ToLookup";
        return method.Name == "ToArray"
               && method.ContainingType is { } type
               && SymbolEqualityComparer.Default.Equals(type.OriginalDefinition, _types.List);
    }

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

    private void EnsureIndexed()
    {
        if (_localReferences is not null)
            return;
        var references = new Dictionary<ILocalSymbol, List<IOperation>>(SymbolEqualityComparer.Default);
        var declarators = new Dictionary<ILocalSymbol, IVariableDeclaratorOperation>(SymbolEqualityComparer.Default);
        var stack = new Stack<IOperation>();
        stack.Push(_bodyRoot);
        while (stack.Count > 0)
        {
            var operation = stack.Pop();
            switch (operation)
            {
                case ILocalReferenceOperation local:
                    if (!references.TryGetValue(local.Local, out var list))
                        references[local.Local] = list = new List<IOperation>();
                    list.Add(operation);
                    break;
                case IVariableDeclaratorOperation declarator:
                    declarators[declarator.Symbol] = declarator;
                    break;
            }

            foreach (var child in operation.ChildOperations)
                stack.Push(child);
        }

        _declarators = declarators;
        _localReferences = references;
    }

    // ------------------------------------------------------------------ shared helpers

    /// <summary>Skips implicit, non-user-defined conversions (List&lt;T&gt; to IEnumerable&lt;T&gt;, boxing) and
    /// the wrapper of a query expression (<c>from x in xs select x</c>).</summary>
    internal static IOperation Unwrap(IOperation operation)
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

    private static void CollectSymbols(IOperation operation, HashSet<ISymbol> into)
    {
        foreach (var node in operation.DescendantsAndSelf())
        {
            switch (node)
            {
                case ILocalReferenceOperation local:
                    into.Add(local.Local);
                    break;
                case IParameterReferenceOperation parameter:
                    into.Add(parameter.Parameter);
                    break;
                case IFieldReferenceOperation field:
                    into.Add(field.Field);
                    break;
                case IPropertyReferenceOperation property:
                    into.Add(property.Property);
                    break;
            }
        }
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

    internal static int CountReferences(IOperation root, ILocalSymbol local)
    {
        var count = 0;
        foreach (var node in root.DescendantsAndSelf())
        {
            if (node is ILocalReferenceOperation reference && SymbolEqualityComparer.Default.Equals(reference.Local, local))
                count++;
        }

        return count;
    }
}
