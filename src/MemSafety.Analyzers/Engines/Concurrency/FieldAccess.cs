using Microsoft.CodeAnalysis;

namespace MemSafety.Analyzers.Engines.Concurrency;

/// <summary>What an access does to a field.</summary>
public enum FieldAccessKind : byte
{
    /// <summary>A plain read of a field whose value is one machine word or less (a reference, an int, a bool).</summary>
    Read,
    /// <summary>A read of a value wider than the atomic unit (<c>long</c>/<c>double</c> in a 32-bit process, <c>decimal</c>,
    /// a struct of several fields): it can see half of a concurrent write.</summary>
    TearingRead,
    /// <summary>A call or property read on a collection that is not thread-safe (<c>List&lt;T&gt;.Count</c>,
    /// <c>Dictionary.TryGetValue</c>, enumeration).</summary>
    CollectionRead,
    /// <summary>An assignment (or a <c>ref</c>/<c>out</c> argument to a method that is not <c>Interlocked</c>/<c>Volatile</c>).</summary>
    Write,
    /// <summary>A read-modify-write: <c>++</c>, <c>--</c>, <c>+=</c> and the other compound assignments.</summary>
    Update,
    /// <summary>A call or indexer/property write that changes a collection that is not thread-safe (<c>Add</c>, <c>Remove</c>, <c>d[k] = v</c>).</summary>
    CollectionWrite,
    /// <summary>An <c>Interlocked</c> or <c>Volatile</c> call on the field: atomic by itself.</summary>
    Atomic,
}

/// <summary>One access to a field of the analysed type, with the locks its own function holds there.</summary>
public sealed class FieldAccess
{
    internal FieldAccess(IFieldSymbol field, FieldAccessKind kind, string? member, IOperation operation, Lockset held, ISymbol? function, bool inNestedFunction, bool inLockFreeCode)
    {
        InLockFreeCode = inLockFreeCode;
        Field = field;
        Kind = kind;
        Member = member;
        Operation = operation;
        Held = held;
        Function = function;
        InNestedFunction = inNestedFunction;
    }

    public IFieldSymbol Field { get; }

    public FieldAccessKind Kind { get; }

    /// <summary>The collection member called or read (<c>Add</c>, <c>Count</c>, <c>this[]</c>, <c>GetEnumerator</c>), or null.</summary>
    public string? Member { get; }

    /// <summary>The field reference as the control-flow graph holds it; its <see cref="IOperation.Syntax"/> is the source to report.</summary>
    public IOperation Operation { get; }

    /// <summary>The locks held at the access by the function that contains it, not counting what its callers hold.</summary>
    public Lockset Held { get; }

    /// <summary>The member whose body holds the access (for a lambda or local function: the member around it).</summary>
    public ISymbol? Function { get; }

    /// <summary>In a lambda or local function, which starts with no lock held whoever created it.</summary>
    public bool InNestedFunction { get; }

    /// <summary>The function also uses <c>Interlocked</c>, <c>Volatile</c> or a <c>volatile</c> field: a hand-written
    /// lock-free protocol, whose safety rests on invariants (a single owner thread, a publication order) not visible here.</summary>
    public bool InLockFreeCode { get; }

    public bool IsWrite => Kind is FieldAccessKind.Write or FieldAccessKind.Update or FieldAccessKind.CollectionWrite;
}

/// <summary>A call from a member of the type to one of its private methods, with the locks held at the call.</summary>
internal readonly struct HelperCall
{
    public HelperCall(IMethodSymbol callee, ISymbol? caller, Lockset held, bool inNestedFunction, bool fromConstructor, bool asDelegate)
    {
        Callee = callee;
        Caller = caller;
        Held = held;
        InNestedFunction = inNestedFunction;
        FromConstructor = fromConstructor;
        AsDelegate = asDelegate;
    }

    public IMethodSymbol Callee { get; }
    public ISymbol? Caller { get; }
    public Lockset Held { get; }
    public bool InNestedFunction { get; }
    public bool FromConstructor { get; }
    /// <summary>The method is converted to a delegate here, which anyone may invoke later, anywhere.</summary>
    public bool AsDelegate { get; }
}
