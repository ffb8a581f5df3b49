using System.Collections.Generic;
using System.Threading;
using MemSafety.Analyzers.Compat;
using MemSafety.Analyzers.Engines.Dataflow;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.FlowAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Engines.Concurrency;

/// <summary>
/// The lockset facts of one member body: every access to a field of the type with the locks its function holds
/// there (<see cref="LocksetAnalysis"/> over the body's graph), and every call of a private method of the type with
/// the locks held at the call (for <see cref="TypeLocks"/>, which gives a helper the locks all its callers hold).
/// <para>
/// Lambdas and local functions are graphs of their own and start with no lock held: they may run later, on another
/// thread. One created (or a local function called) while a lock is held may also run right there, under it, so
/// its accesses are left out rather than guessed at. A constructor's own accesses are left out (the object is not
/// shared yet); the lambdas it creates are not.
/// </para>
/// </summary>
internal sealed class BodyLocks
{
    private readonly INamedTypeSymbol _type;
    private readonly ConcurrencyTypes _types;
    private readonly ISymbol? _member;
    private readonly bool _memberIsConstructor;
    private readonly System.Func<IFieldSymbol, bool> _isBinarySemaphore;
    private readonly System.Func<IMethodSymbol, bool>? _recordCallsTo;
    private readonly System.Func<IPropertySymbol, bool>? _recordPropertyUses;
    private readonly bool _enterEveryFunction;
    private readonly bool _shortcut;
    private readonly CancellationToken _cancellationToken;

    private BodyLocks(INamedTypeSymbol type, ConcurrencyTypes types, ISymbol? member, System.Func<IFieldSymbol, bool> isBinarySemaphore,
        System.Func<IMethodSymbol, bool>? recordCallsTo, System.Func<IPropertySymbol, bool>? recordPropertyUses, bool enterEveryFunction, bool shortcut, CancellationToken cancellationToken)
    {
        _shortcut = shortcut;
        _recordCallsTo = recordCallsTo;
        _recordPropertyUses = recordPropertyUses;
        _enterEveryFunction = enterEveryFunction;
        _type = type;
        _types = types;
        _member = member;
        _memberIsConstructor = member is IMethodSymbol { MethodKind: MethodKind.Constructor or MethodKind.StaticConstructor } || member is IFieldSymbol or IPropertySymbol;
        _isBinarySemaphore = isBinarySemaphore;
        _cancellationToken = cancellationToken;
    }

    public List<FieldAccess> Accesses { get; } = new();

    public List<HelperCall> Calls { get; } = new();

    /// <summary>How many of the body's functions (itself, its lambdas and local functions) were analysed without the
    /// lockset dataflow: no lock held on entry and no call that takes one, so no lock is held anywhere in them.</summary>
    public int FunctionsWithoutLocks { get; private set; }

    /// <summary>Calls of the methods the caller asked for (<c>recordCallsTo</c>: the lock annotations' <c>[RequiresLock]</c>
    /// methods), on this instance, static, on another instance named by a local, a parameter or a field of this object,
    /// or on a call's or property's result, with the locks held there; none from a constructor's own body.</summary>
    public List<(IInvocationOperation Call, Lockset Held)> RecordedCalls { get; } = new();

    /// <summary>Uses of the properties the caller asked for (<c>recordPropertyUses</c>: the <c>[GuardedBy]</c> properties),
    /// on this instance or static, with the locks held there and whether the use writes; none from a constructor's own body.</summary>
    public List<(IPropertyReferenceOperation Use, Lockset Held, bool Write)> RecordedPropertyUses { get; } = new();

    /// <summary>Analyses one body. <paramref name="member"/> is the method or accessor (a field or property for an
    /// initializer: exempt, as constructors are); <paramref name="boundary"/> the locks held on entry
    /// (<c>[MethodImpl(MethodImplOptions.Synchronized)]</c>, a <c>[RequiresLock]</c>). With <paramref name="enterEveryFunction"/>
    /// every lambda and local function is analysed from an empty lockset, also those created or called under a lock.
    /// <paramref name="shortcut"/> false runs the lockset analysis also in functions that take no lock (tests check that
    /// both answers agree).</summary>
    public static BodyLocks Analyze(ControlFlowGraph graph, INamedTypeSymbol type, ISymbol? member, Lockset boundary, ConcurrencyTypes types,
        System.Func<IFieldSymbol, bool> isBinarySemaphore, CancellationToken cancellationToken, System.Func<IMethodSymbol, bool>? recordCallsTo = null,
        bool enterEveryFunction = false, System.Func<IPropertySymbol, bool>? recordPropertyUses = null, bool shortcut = true)
    {
        var body = new BodyLocks(type, types, member, isBinarySemaphore, recordCallsTo, recordPropertyUses, enterEveryFunction, shortcut, cancellationToken);
        body.Walk(graph, boundary, nested: false);
        return body;
    }

    /// <summary>The locks a <c>[MethodImpl(MethodImplOptions.Synchronized)]</c> method holds throughout: <c>this</c>,
    /// or the type for a static method (what the runtime locks).</summary>
    public static Lockset EntryLocks(IMethodSymbol? method, INamedTypeSymbol type, ConcurrencyTypes types)
    {
        if (method is null || types.MethodImplAttribute is null)
            return Lockset.Empty;
        foreach (var attribute in method.GetAttributes())
        {
            if (!SymbolEqualityComparer.Default.Equals(attribute.AttributeClass, types.MethodImplAttribute) || attribute.ConstructorArguments.Length != 1)
                continue;
            if (attribute.ConstructorArguments[0].Value is int options && (options & 0x20) != 0)
                return Lockset.Empty.Acquire(method.IsStatic ? new LockKey(LockKind.Type, type) : new LockKey(LockKind.This, type), LockMode.Exclusive, LockFlavor.Synchronized);
        }

        return Lockset.Empty;
    }

    /// <summary>
    /// Whether the body may hold, anywhere (its lambdas and local functions included), a lock that <paramref name="accept"/>
    /// accepts, read from the operation tree without a graph: the locks its <c>lock</c> statements and acquire calls take,
    /// each as <see cref="Analyze"/> would hold it. Errs towards yes: a locked value this reading does not settle (anything
    /// but a field, <c>this</c>, <c>typeof</c>, a local, a parameter, an element, a property or a call, under any
    /// conversions) counts, and a field under an explicit conversion is taken as the field.
    /// </summary>
    public static bool MayHold(IOperation body, ConcurrencyTypes types, System.Func<IFieldSymbol, bool> isBinarySemaphore, System.Func<HeldLock, bool> accept)
    {
        foreach (var node in body.DescendantsAndSelf())
        {
            LockKey? key;
            LockCall call;
            switch (node)
            {
                case ILockOperation statement:
                    var isLock = ConcurrencyTypes.Is(statement.LockedValue.Type, types.Lock) || ConcurrencyTypes.Is(Core(statement.LockedValue)?.Type, types.Lock);
                    call = new LockCall(LockCallEffect.Acquire, isLock ? LockFlavor.Lock : LockFlavor.Monitor, LockMode.Exclusive);
                    key = TreeKey(statement.LockedValue);
                    break;
                case IInvocationOperation invocation when LockCalls.IsAcquireName(invocation.TargetMethod.Name):
                    call = LockCalls.Classify(invocation.TargetMethod, LocksetAnalysis.Unwrap(invocation.Instance)?.Type, types);
                    if (!call.IsAcquire)
                        continue;
                    if (call.LocksArgument)
                    {
                        if (invocation.Arguments.Length == 0)
                            continue;
                        key = TreeKey(invocation.Arguments[0].Value);
                    }
                    else
                    {
                        // Only a binary semaphore in a field is a lock (LocksetAnalysis.Apply).
                        if (call.Flavor == LockFlavor.Semaphore
                            && (LocksetAnalysis.Unwrap(invocation.Instance) is not IFieldReferenceOperation { Field: var semaphore } || !isBinarySemaphore(semaphore)))
                        {
                            continue;
                        }

                        key = TreeKey(invocation.Instance);
                    }

                    break;
                case IInvalidOperation { Syntax.Parent: Microsoft.CodeAnalysis.CSharp.Syntax.LockStatementSyntax }:
                    return true;
                default:
                    continue;
            }

            if (key is not { } known || accept(new HeldLock(known, call.Mode, call.Flavor, 1)))
                return true;
        }

        return false;
    }

    /// <summary>The lock key of a locked value as the graph's <see cref="LocksetAnalysis.KeyOf"/> can name it at most; null
    /// when the tree does not settle it.</summary>
    private static LockKey? TreeKey(IOperation? value)
    {
        switch (Core(value))
        {
            case IFieldReferenceOperation field:
                return field.Field.IsStatic || LocksetAnalysis.Unwrap(field.Instance) is IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance }
                    ? new LockKey(LockKind.Field, field.Field.OriginalDefinition)
                    : LockKey.Unknown;
            case IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance } instance:
                return new LockKey(LockKind.This, instance.Type);
            case ITypeOfOperation typeOf:
                return new LockKey(LockKind.Type, typeOf.TypeOperand.OriginalDefinition);
            case ILocalReferenceOperation or IParameterReferenceOperation or IArrayElementReferenceOperation or IPropertyReferenceOperation
                or IInvocationOperation:
                return LockKey.Unknown;
            default:
                return null;
        }
    }

    /// <summary>The value under every conversion and parenthesis.</summary>
    private static IOperation? Core(IOperation? value)
    {
        while (value is IConversionOperation or IParenthesizedOperation)
            value = value is IConversionOperation conversion ? conversion.Operand : ((IParenthesizedOperation)value).Operand;
        return value;
    }

    private void Walk(ControlFlowGraph graph, Lockset boundary, bool nested)
    {
        // Most functions of a type that locks take no lock themselves: with none held on entry and no call that can
        // take one (nor a lock statement the graph leaves unlowered), every state the lockset analysis would compute is
        // the empty set, so only which blocks it reaches matters. That is the solver's reachability, which the trivial
        // analysis computes without walking any operation (the lockset transfer walks each one's descendants).
        var (takesLock, lockFree) = Scan(graph);
        LocksetAnalysis? analysis = null;
        DataflowResult<Lockset>? result = null;
        DataflowResult<bool>? reached = null;
        if (takesLock || !boundary.IsEmpty || !_shortcut)
        {
            analysis = new LocksetAnalysis(graph, _type, _types, boundary, _isBinarySemaphore);
            result = Dataflow.Dataflow.Analyze(graph, analysis, _cancellationToken);
            if (result is null)
                return;
        }
        else
        {
            reached = Dataflow.Dataflow.Analyze(graph, Reachability.Instance, _cancellationToken);
            if (reached is null)
                return;
            FunctionsWithoutLocks++;
        }

        var exempt = !nested && _memberIsConstructor;
        var lexical = analysis is null || !takesLock ? null : LexicalLocks(graph, analysis);
        var lambdas = new List<(IFlowAnonymousFunctionOperation Lambda, bool UnderLock)>();
        Dictionary<IMethodSymbol, bool>? localFunctions = null;
        foreach (var block in graph.Blocks)
        {
            Lockset state;
            if (result is not null)
            {
                if (!result.TryGetStateAtStart(block, out state))
                    continue;
            }
            else
            {
                if (!reached!.TryGetStateAtStart(block, out _))
                    continue;
                state = Lockset.Empty;
            }

            var operations = block.Operations;
            for (var i = 0; i <= operations.Length; i++)
            {
                var operation = i < operations.Length ? operations[i] : block.BranchValue;
                if (operation is null)
                    continue;
                _cancellationToken.ThrowIfCancellationRequested();
                var held = lexical is null ? state : WithLexical(state, lexical, operation.Syntax);
                foreach (var node in operation.DescendantsAndSelf())
                {
                    if (_recordCallsTo is not null && !exempt && node is IInvocationOperation recorded && _recordCallsTo(recorded.TargetMethod.OriginalDefinition)
                        && (recorded.TargetMethod.IsStatic || LocksetAnalysis.Unwrap(recorded.Instance) is IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance }
                            || LocksetAnalysis.ReceiverOf(recorded.Instance) is not null
                            || LocksetAnalysis.Unwrap(recorded.Instance) is IInvocationOperation or IPropertyReferenceOperation))
                    {
                        RecordedCalls.Add((recorded, held));
                    }

                    if (_recordPropertyUses is not null && !exempt && node is IPropertyReferenceOperation property && _recordPropertyUses(property.Property.OriginalDefinition)
                        && (property.Property.IsStatic || LocksetAnalysis.Unwrap(property.Instance) is IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance }))
                    {
                        RecordedPropertyUses.Add((property, held, IsWritten(property)));
                    }

                    switch (node)
                    {
                        case IFieldReferenceOperation field when !exempt:
                            Record(field, held, nested, lockFree);
                            break;
                        case IFlowAnonymousFunctionOperation lambda:
                            lambdas.Add((lambda, !held.IsEmpty));
                            break;
                        case IInvocationOperation { TargetMethod.MethodKind: MethodKind.LocalFunction } call:
                            UseLocalFunction(ref localFunctions, call.TargetMethod, !held.IsEmpty);
                            break;
                        case IMethodReferenceOperation { Method.MethodKind: MethodKind.LocalFunction } reference:
                            UseLocalFunction(ref localFunctions, reference.Method, underLock: true);
                            break;
                        case IInvocationOperation call when IsHelper(call.TargetMethod, call.Instance):
                            Calls.Add(new HelperCall(call.TargetMethod.OriginalDefinition, _member, held, nested, exempt, asDelegate: false));
                            break;
                        case IMethodReferenceOperation reference when IsHelper(reference.Method, reference.Instance):
                            Calls.Add(new HelperCall(reference.Method.OriginalDefinition, _member, held, nested, exempt, asDelegate: true));
                            break;
                    }
                }

                if (analysis is not null)
                    state = analysis.Transfer(operation, state);
            }
        }

        foreach (var (lambda, underLock) in lambdas)
        {
            // With enterEveryFunction (the lock annotations, Clang's rule), a lambda made under a lock starts with none too.
            if (!underLock || _enterEveryFunction)
                Walk(graph.GetAnonymousFunctionControlFlowGraph(lambda, _cancellationToken), Lockset.Empty, nested: true);
        }

        foreach (var localFunction in graph.LocalFunctions)
        {
            // Never used, or used only where no lock is held: its body runs with none.
            if (!_enterEveryFunction && localFunctions is not null && localFunctions.TryGetValue(localFunction, out var underLock) && underLock)
                continue;
            Walk(graph.GetLocalFunctionControlFlowGraph(localFunction, _cancellationToken), Lockset.Empty, nested: true);
        }
    }

    /// <summary>Whether the property use sets it: the target of an assignment (in the graph, also of a compound one,
    /// lowered to a read and a write), of <c>++</c>/<c>--</c>, or of a compound assignment.</summary>
    private static bool IsWritten(IPropertyReferenceOperation property) => property.Parent switch
    {
        ISimpleAssignmentOperation assignment => assignment.Target == property,
        ICompoundAssignmentOperation compound => compound.Target == property,
        IIncrementOrDecrementOperation => true,
        _ => false,
    };

    /// <summary>
    /// <c>lock</c> statements on a <c>System.Threading.Lock</c> that the graph does not lower: with nullable analysis
    /// on, Roslyn 4.14's graph holds such a statement as an invalid operation over the locked value, with the body's
    /// operations after it and no enter or exit call. The statement is lexically scoped, so its lock is held exactly
    /// by the operations inside its body: the pairs (body, lock) found here are added by position.
    /// </summary>
    private static List<(SyntaxNode Body, LockKey Key)>? LexicalLocks(ControlFlowGraph graph, LocksetAnalysis analysis)
    {
        List<(SyntaxNode, LockKey)>? found = null;
        foreach (var block in graph.Blocks)
        {
            foreach (var operation in block.Operations)
            {
                foreach (var node in operation.DescendantsAndSelf())
                {
                    if (node is IInvalidOperation invalid && invalid.Syntax.Parent is Microsoft.CodeAnalysis.CSharp.Syntax.LockStatementSyntax statement
                        && statement.Expression == invalid.Syntax)
                    {
                        IOperation? value = null;
                        foreach (var child in invalid.ChildOperations)
                        {
                            value = child;
                            break;
                        }

                        (found ??= new List<(SyntaxNode, LockKey)>()).Add((statement.Statement, analysis.KeyOf(value)));
                    }
                }
            }
        }

        return found;
    }

    private static Lockset WithLexical(Lockset state, List<(SyntaxNode Body, LockKey Key)> lexical, SyntaxNode at)
    {
        foreach (var (body, key) in lexical)
        {
            if (body.SyntaxTree == at.SyntaxTree && body.Span.Contains(at.Span))
                state = state.Acquire(key, LockMode.Exclusive, LockFlavor.Lock);
        }

        return state;
    }

    /// <summary>One walk over the function's operations: whether it can take a lock (a call <see cref="LockCalls"/> calls an
    /// acquire, or a <c>lock</c> statement the graph leaves unlowered, see <see cref="LexicalLocks"/>), and whether it uses
    /// lock-free primitives (<c>Interlocked</c>, <c>Volatile</c>, a volatile field).</summary>
    private (bool TakesLock, bool LockFree) Scan(ControlFlowGraph graph)
    {
        var takesLock = false;
        var lockFree = false;
        foreach (var block in graph.Blocks)
        {
            for (var i = 0; i <= block.Operations.Length; i++)
            {
                var operation = i < block.Operations.Length ? block.Operations[i] : block.BranchValue;
                if (operation is null)
                    continue;
                foreach (var node in operation.DescendantsAndSelf())
                {
                    switch (node)
                    {
                        case IInvocationOperation call:
                            // Only lock-free primitives are looked for in a block's branch value, as before.
                            if (i < block.Operations.Length && (ConcurrencyTypes.Is(call.TargetMethod.ContainingType, _types.Interlocked) || ConcurrencyTypes.Is(call.TargetMethod.ContainingType, _types.Volatile)))
                                lockFree = true;
                            if (!takesLock && LockCalls.IsAcquireName(call.TargetMethod.Name)
                                && LockCalls.Classify(call.TargetMethod, LocksetAnalysis.Unwrap(call.Instance)?.Type, _types).IsAcquire)
                            {
                                takesLock = true;
                            }

                            break;
                        case IFieldReferenceOperation { Field.IsVolatile: true } when i < block.Operations.Length:
                            lockFree = true;
                            break;
                        case IInvalidOperation invalid when invalid.Syntax.Parent is Microsoft.CodeAnalysis.CSharp.Syntax.LockStatementSyntax:
                            takesLock = true;
                            break;
                    }
                }
            }
        }

        return (takesLock, lockFree);
    }

    private static void UseLocalFunction(ref Dictionary<IMethodSymbol, bool>? uses, IMethodSymbol function, bool underLock)
    {
        uses ??= new Dictionary<IMethodSymbol, bool>(SymbolEqualityComparer.Default);
        uses.TryGetValue(function.OriginalDefinition, out var known);
        uses[function.OriginalDefinition] = known || underLock;
    }

    /// <summary>A private ordinary method of the type called on this instance (or static): every caller is in the type.</summary>
    private bool IsHelper(IMethodSymbol method, IOperation? instance)
        => method.MethodKind == MethodKind.Ordinary
           && method.DeclaredAccessibility == Accessibility.Private
           && SymbolEqualityComparer.Default.Equals(method.ContainingType?.OriginalDefinition, _type)
           && (method.IsStatic || LocksetAnalysis.Unwrap(instance) is IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance });

    private void Record(IFieldReferenceOperation reference, Lockset state, bool nested, bool lockFree)
    {
        var field = reference.Field;
        if (field.IsConst || !SymbolEqualityComparer.Default.Equals(field.ContainingType?.OriginalDefinition, _type))
            return;
        // Another instance's field is guarded by that instance's lock, not ours.
        if (!field.IsStatic && LocksetAnalysis.Unwrap(reference.Instance) is not IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance })
            return;
        var (kind, member) = Classify(reference);
        Accesses.Add(new FieldAccess(field.OriginalDefinition, kind, member, reference, state, _member, nested, lockFree));
    }

    private (FieldAccessKind Kind, string? Member) Classify(IFieldReferenceOperation reference)
    {
        var parent = reference.Parent;
        switch (parent)
        {
            case ISimpleAssignmentOperation assignment when assignment.Target == reference:
                return (FieldAccessKind.Write, null);
            case ICompoundAssignmentOperation compound when compound.Target == reference:
                return (FieldAccessKind.Update, null);
            case IIncrementOrDecrementOperation:
                return (FieldAccessKind.Update, null);
            case IDeconstructionAssignmentOperation:
                return (FieldAccessKind.Write, null);
            case IArgumentOperation { Parameter.RefKind: RefKind.Ref or RefKind.Out } argument:
                return argument.Parent is IInvocationOperation call
                       && (ConcurrencyTypes.Is(call.TargetMethod.ContainingType, _types.Interlocked) || ConcurrencyTypes.Is(call.TargetMethod.ContainingType, _types.Volatile))
                    ? (FieldAccessKind.Atomic, call.TargetMethod.Name)
                    : (FieldAccessKind.Write, null);
            case IArgumentOperation { Parameter.RefKind: RefKind.In or RoslynEnums.RefReadOnlyParameter, Parent: IInvocationOperation volatileRead }
                when ConcurrencyTypes.Is(volatileRead.TargetMethod.ContainingType, _types.Volatile):
                return (FieldAccessKind.Atomic, volatileRead.TargetMethod.Name);
        }

        if (NonThreadSafeCollections.Is(reference.Field.Type))
        {
            // Through the implicit conversion to IEnumerable<T> of a LINQ call.
            var user = parent;
            IOperation child = reference;
            while (user is IConversionOperation { IsImplicit: true })
            {
                child = user;
                user = user.Parent;
            }

            switch (user)
            {
                case IInvocationOperation call when call.Instance == child:
                    return (NonThreadSafeCollections.IsMutator(call.TargetMethod.Name) ? FieldAccessKind.CollectionWrite : FieldAccessKind.CollectionRead, call.TargetMethod.Name);
                // The comparer is fixed when the collection is created: reading it reads only the field's reference
                // (NLog's copy-on-write ThreadSafeDictionary.Comparer was reported wrongly in session 9).
                case IPropertyReferenceOperation { Property.Name: "Comparer", Property.IsIndexer: false } comparer when comparer.Instance == child:
                    return (FieldAccessKind.Read, null);
                case IPropertyReferenceOperation property when property.Instance == child:
                    var name = property.Property.IsIndexer ? "this[]" : property.Property.Name;
                    return (IsAssigned(property) ? FieldAccessKind.CollectionWrite : FieldAccessKind.CollectionRead, name);
                case IArgumentOperation { Parent: IInvocationOperation { TargetMethod.IsExtensionMethod: true } extension } argument when extension.Arguments.Length > 0 && extension.Arguments[0] == argument:
                    return (FieldAccessKind.CollectionRead, extension.TargetMethod.Name);
            }

            return (FieldAccessKind.Read, null);
        }

        // A member of a wide value read through the field reads only that member, not the whole value.
        if (parent is IMemberReferenceOperation { Instance: var instance } && instance == reference
            || parent is IInvocationOperation { Instance: var receiver } && receiver == reference)
        {
            return (FieldAccessKind.Read, null);
        }

        return (CanTear(reference.Field.Type) ? FieldAccessKind.TearingRead : FieldAccessKind.Read, null);
    }

    private static bool IsAssigned(IOperation operation)
        => operation.Parent is IAssignmentOperation assignment && assignment.Target == operation;

    /// <summary>Wider than the atomic unit the runtime guarantees (ECMA-335 I.12.6.6: reads and writes of properly
    /// aligned values no larger than the native int are atomic): 8-byte integers and doubles in a 32-bit process,
    /// <c>decimal</c>, and any struct of more than one field (<c>Nullable&lt;T&gt;</c> included), copied field by field.</summary>
    internal static bool CanTear(ITypeSymbol type)
    {
        if (type is INamedTypeSymbol { TypeKind: TypeKind.Enum, EnumUnderlyingType: { } underlying })
            type = underlying;
        switch (type.SpecialType)
        {
            case SpecialType.System_Int64 or SpecialType.System_UInt64 or SpecialType.System_Double or SpecialType.System_Decimal:
                return true;
            case SpecialType.None:
                break;
            default:
                return false;
        }

        if (type.TypeKind != TypeKind.Struct || type is not INamedTypeSymbol named)
            return false;
        var fields = 0;
        foreach (var member in named.GetMembers())
        {
            if (member is IFieldSymbol { IsStatic: false, IsConst: false } && ++fields > 1)
                return true;
        }

        return false;
    }
}

/// <summary>The collections of <c>System.Collections.Generic</c> that are not safe to use from several threads
/// unless every use is locked, and which of their members change them.</summary>
internal static class NonThreadSafeCollections
{
    public static bool Is(ITypeSymbol type)
    {
        if (type is not INamedTypeSymbol { IsGenericType: true } named
            || named.ContainingNamespace is not { Name: "Generic", ContainingNamespace: { Name: "Collections", ContainingNamespace: { Name: "System", ContainingNamespace.IsGlobalNamespace: true } } })
        {
            return false;
        }

        return named.MetadataName is "List`1" or "Dictionary`2" or "HashSet`1" or "Queue`1" or "Stack`1" or "SortedDictionary`2"
            or "SortedList`2" or "SortedSet`1" or "LinkedList`1" or "PriorityQueue`2";
    }

    public static bool IsMutator(string name) => name is "Add" or "AddRange" or "Insert" or "InsertRange" or "Remove" or "RemoveAt"
        or "RemoveAll" or "RemoveRange" or "RemoveWhere" or "Clear" or "Sort" or "Reverse" or "TrimExcess" or "EnsureCapacity" or "TryAdd"
        or "Enqueue" or "EnqueueRange" or "Dequeue" or "TryDequeue" or "EnqueueDequeue" or "DequeueEnqueue" or "Push" or "Pop" or "TryPop"
        or "UnionWith" or "IntersectWith" or "ExceptWith" or "SymmetricExceptWith" or "AddFirst" or "AddLast" or "AddBefore" or "AddAfter"
        or "RemoveFirst" or "RemoveLast" or "CollectionsMarshal";
}
