using System.Collections.Generic;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Engines.Concurrency;

/// <summary>How a lock-guarded collection leaves its lock.</summary>
internal enum EscapeKind : byte
{
    /// <summary><c>return _items;</c> inside the lock.</summary>
    Returned,
    /// <summary>Stored into a local inside the lock that the function returns after it.</summary>
    ReturnedThroughLocal,
    /// <summary>Stored into an <c>out</c> or <c>ref</c> parameter.</summary>
    StoredInParameter,
    /// <summary>Stored into a field or property of another object, or a static one of another type.</summary>
    StoredElsewhere,
}

/// <summary>A collection field handed out from inside a <c>lock</c> statement.</summary>
internal readonly struct LockedEscape
{
    public LockedEscape(IOperation at, IFieldSymbol field, LockKey lockKey, EscapeKind kind, string target)
    {
        At = at;
        Field = field;
        LockKey = lockKey;
        Kind = kind;
        Target = target;
    }

    /// <summary>The field read that escapes (where the rule reports).</summary>
    public IOperation At { get; }
    public IFieldSymbol Field { get; }
    public LockKey LockKey { get; }
    public EscapeKind Kind { get; }

    /// <summary>Where it goes: the parameter, local or member as source names it.</summary>
    public string Target { get; }
}

/// <summary>
/// Per type (MSA6009): which of its collection fields that are not thread-safe (<see cref="StaticCollections.IsUnsafeCollection"/>)
/// are changed inside <c>lock (L)</c> (a change call or an indexer write on the field itself), and where the field's
/// reference leaves a <c>lock</c> statement: returned, stored into a local returned after the lock, an <c>out</c>/<c>ref</c>
/// parameter or another object's member. A collection changed under L is guarded by L; a reference to it handed out
/// of the lock is used without L while L's holders change it. Lambdas and local functions inside the lock are not
/// entered (they run later, without the lock), and a lock inside a lambda hands nothing to the member's callers.
/// Thread-safe: lock statements of one type are added from concurrent operation callbacks.
/// </summary>
internal sealed class LockedCollections
{
    private readonly object _gate = new();
    private readonly Dictionary<(IFieldSymbol, LockKey), ISymbol> _changes = new(FieldLockComparer.Instance);
    private readonly List<LockedEscape> _escapes = new();

    /// <summary>Records the changes and escapes of one lock statement of <paramref name="owner"/>.</summary>
    public void Add(ILockOperation lockOperation, INamedTypeSymbol owner, ISymbol member, StaticCollections collections)
    {
        var key = KeyOf(lockOperation.LockedValue, owner);
        if (key.Kind == LockKind.Unknown)
            return;
        var handsOut = !InsideFunction(lockOperation) && member.DeclaredAccessibility != Accessibility.Private;
        List<(IFieldSymbol, ISymbol)>? changes = null;
        List<LockedEscape>? escapes = null;
        foreach (var node in Descendants(lockOperation.Body))
        {
            switch (node)
            {
                case IInvocationOperation call when StaticCollections.IsChangeName(call.TargetMethod.Name):
                    if (GuardableField(call.Instance, owner, collections) is { } changed)
                        (changes ??= new()).Add((changed, member));
                    break;
                case IPropertyReferenceOperation { Property.IsIndexer: true } indexer
                    when indexer.Parent is IAssignmentOperation assignment && assignment.Target == indexer:
                    if (GuardableField(indexer.Instance, owner, collections) is { } written)
                        (changes ??= new()).Add((written, member));
                    break;
                case IReturnOperation { Kind: OperationKind.Return, ReturnedValue: { } value } when handsOut:
                    if (GuardableField(value, owner, collections) is { } returned)
                        (escapes ??= new()).Add(new LockedEscape(Unwrap(value)!, returned, key, EscapeKind.Returned, string.Empty));
                    break;
                case ISimpleAssignmentOperation { Target: var target, Value: var stored } when handsOut:
                    if (GuardableField(stored, owner, collections) is not { } field)
                        break;
                    if (Escape(target, lockOperation, owner) is { } where)
                        (escapes ??= new()).Add(new LockedEscape(Unwrap(stored)!, field, key, where.Kind, where.Target));
                    break;
            }
        }

        if (changes is null && escapes is null)
            return;
        lock (_gate)
        {
            if (changes is not null)
            {
                foreach (var (field, where) in changes)
                {
                    if (!_changes.ContainsKey((field, key)))
                        _changes[(field, key)] = where;
                }
            }

            if (escapes is not null)
                _escapes.AddRange(escapes);
        }
    }

    /// <summary>The escapes of fields changed under the same lock, each with a member that changes it there; one per
    /// escaping read (a read inside nested locks is reported for the first of them that guards it).</summary>
    public List<(LockedEscape Escape, ISymbol ChangedIn)> Resolve()
    {
        var result = new List<(LockedEscape, ISymbol)>();
        var seen = new HashSet<IOperation>();
        lock (_gate)
        {
            foreach (var escape in _escapes)
            {
                if (_changes.TryGetValue((escape.Field, escape.LockKey), out var member) && seen.Add(escape.At))
                    result.Add((escape, member));
            }
        }

        result.Sort((a, b) => a.Item1.At.Syntax.SpanStart.CompareTo(b.Item1.At.Syntax.SpanStart));
        return result;
    }

    /// <summary>Where a store to <paramref name="target"/> hands the value out of the lock, or null when it stays
    /// with this object (its own fields) or this frame (a local not returned after the lock).</summary>
    private static (EscapeKind Kind, string Target)? Escape(IOperation target, ILockOperation lockOperation, INamedTypeSymbol owner)
    {
        switch (target)
        {
            case IParameterReferenceOperation { Parameter: { RefKind: RefKind.Out or RefKind.Ref } parameter }:
                return (EscapeKind.StoredInParameter, parameter.Name);
            case IMemberReferenceOperation { Member: { IsStatic: true } member } when member is IFieldSymbol or IPropertySymbol:
                return SymbolEqualityComparer.Default.Equals(member.ContainingType.OriginalDefinition, owner.OriginalDefinition)
                    ? null
                    : (EscapeKind.StoredElsewhere, member.ContainingType.Name + "." + member.Name);
            case IMemberReferenceOperation { Instance: { } instance } member when member is IFieldReferenceOperation or IPropertyReferenceOperation:
                return Unwrap(instance) is IInstanceReferenceOperation ? null : (EscapeKind.StoredElsewhere, instance.Syntax + "." + member.Member.Name);
            case ILocalReferenceOperation { Local: var local } when ReturnedAfter(local, lockOperation):
                return (EscapeKind.ReturnedThroughLocal, local.Name);
            default:
                return null;
        }
    }

    /// <summary>Whether the function that holds the lock returns <paramref name="local"/> somewhere after the lock statement.</summary>
    private static bool ReturnedAfter(ILocalSymbol local, ILockOperation lockOperation)
    {
        var root = (IOperation)lockOperation;
        while (root.Parent is { } parent && parent is not (IAnonymousFunctionOperation or ILocalFunctionOperation))
            root = parent;
        foreach (var node in Descendants(root))
        {
            if (node is IReturnOperation { Kind: OperationKind.Return, ReturnedValue: { } value }
                && node.Syntax.SpanStart >= lockOperation.Syntax.Span.End
                && Unwrap(value) is ILocalReferenceOperation reference
                && SymbolEqualityComparer.Default.Equals(reference.Local, local))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The operations under <paramref name="root"/>, lambdas and local functions left out.</summary>
    private static IEnumerable<IOperation> Descendants(IOperation root)
    {
        var stack = new Stack<IOperation>();
        stack.Push(root);
        while (stack.Count > 0)
        {
            var node = stack.Pop();
            yield return node;
            foreach (var child in node.ChildOperations)
            {
                if (child is not (IAnonymousFunctionOperation or ILocalFunctionOperation))
                    stack.Push(child);
            }
        }
    }

    private static bool InsideFunction(IOperation operation)
    {
        for (var parent = operation.Parent; parent is not null; parent = parent.Parent)
        {
            if (parent is IAnonymousFunctionOperation or ILocalFunctionOperation)
                return true;
        }

        return false;
    }

    /// <summary>A collection field of <paramref name="owner"/> read through <c>this</c> (or static), conversions removed.</summary>
    private static IFieldSymbol? GuardableField(IOperation? value, INamedTypeSymbol owner, StaticCollections collections)
    {
        if (Unwrap(value) is not IFieldReferenceOperation { Field: var field } reference
            || !SymbolEqualityComparer.Default.Equals(field.ContainingType.OriginalDefinition, owner.OriginalDefinition)
            || !collections.IsUnsafeCollection(field.Type))
        {
            return null;
        }

        return field.IsStatic || Unwrap(reference.Instance) is IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance }
            ? field.OriginalDefinition
            : null;
    }

    /// <summary>The lock a <c>lock (…)</c> statement takes: a field of this type (through <c>this</c> or static),
    /// <c>this</c>, <c>typeof(T)</c>; anything else is unknown.</summary>
    public static LockKey KeyOf(IOperation? lockedValue, INamedTypeSymbol owner) => Unwrap(lockedValue) switch
    {
        IFieldReferenceOperation field when field.Field.IsStatic || Unwrap(field.Instance) is IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance }
            => new LockKey(LockKind.Field, field.Field.OriginalDefinition),
        IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance } => new LockKey(LockKind.This, owner),
        ITypeOfOperation typeOf => new LockKey(LockKind.Type, typeOf.TypeOperand.OriginalDefinition),
        _ => LockKey.Unknown,
    };

    /// <summary>Conversions (implicit or to an interface or base the object already is) and parentheses removed.</summary>
    private static IOperation? Unwrap(IOperation? operation)
    {
        while (true)
        {
            switch (operation)
            {
                case IConversionOperation { Conversion.IsReference: true } or IConversionOperation { IsImplicit: true } or IConversionOperation { Conversion.IsIdentity: true }:
                    operation = ((IConversionOperation)operation).Operand;
                    break;
                case IParenthesizedOperation parenthesized:
                    operation = parenthesized.Operand;
                    break;
                default:
                    return operation;
            }
        }
    }

    private sealed class FieldLockComparer : IEqualityComparer<(IFieldSymbol, LockKey)>
    {
        public static readonly FieldLockComparer Instance = new();

        public bool Equals((IFieldSymbol, LockKey) x, (IFieldSymbol, LockKey) y)
            => SymbolEqualityComparer.Default.Equals(x.Item1, y.Item1) && x.Item2.Equals(y.Item2);

        public int GetHashCode((IFieldSymbol, LockKey) obj) => SymbolEqualityComparer.Default.GetHashCode(obj.Item1) ^ obj.Item2.GetHashCode();
    }
}
