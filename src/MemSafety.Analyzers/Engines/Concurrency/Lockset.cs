using System;
using System.Text;
using Microsoft.CodeAnalysis;

namespace MemSafety.Analyzers.Engines.Concurrency;

/// <summary>How a lock is identified: by the field that holds it (read through <c>this</c> or static), by
/// <c>this</c>, by <c>typeof(T)</c>; anything else (a local, another object's field, a call) is
/// <see cref="Unknown"/>: held, but not known to be any of this object's locks. An unknown lock on a local or
/// parameter (<c>lock (other)</c>) or on a field of one (<c>lock (other._gate)</c>) still carries those symbols
/// (<see cref="LockKey.Receiver"/>), so that a call on <c>other</c> can ask for <c>other</c>'s lock.</summary>
public enum LockKind : byte
{
    Field,
    This,
    Type,
    Unknown,
}

/// <summary>Whether a lock excludes every other holder (<c>lock</c>, <c>Monitor</c>, <c>Lock</c>, a write lock,
/// a binary <c>SemaphoreSlim</c>, <c>SpinLock</c>, <c>Mutex</c>) or only writers (a read or upgradeable-read lock
/// of <c>ReaderWriterLockSlim</c>).</summary>
public enum LockMode : byte
{
    Exclusive,
    Shared,
}

/// <summary>What kind of object the lock is, which decides how code can take it (a fix can only write
/// <c>lock (…)</c> for <see cref="Monitor"/> and <see cref="Lock"/>).</summary>
public enum LockFlavor : byte
{
    Monitor,
    Lock,
    ReaderWriter,
    Semaphore,
    SpinLock,
    Mutex,
    Synchronized,
}

/// <summary>One lock: what identifies it (a symbol: the field, the type for <c>this</c> and <c>typeof</c>) and its kind.</summary>
public readonly struct LockKey : IEquatable<LockKey>
{
    public LockKey(LockKind kind, ISymbol? symbol)
        : this(kind, symbol, null)
    {
    }

    public LockKey(LockKind kind, ISymbol? symbol, ISymbol? receiver)
    {
        Kind = kind;
        Symbol = symbol;
        Receiver = receiver;
    }

    /// <summary>A lock of another object that a local, parameter or field of this object holds: the object itself
    /// (<paramref name="field"/> null: <c>lock (other)</c>) or its field (<c>lock (other._gate)</c>, <c>lock (_inner._gate)</c>).
    /// Of kind <see cref="LockKind.Unknown"/>: it is not one of this object's locks.</summary>
    public static LockKey OfReceiver(ISymbol receiver, IFieldSymbol? field) => new(LockKind.Unknown, field?.OriginalDefinition, receiver);

    public static LockKey Unknown => new(LockKind.Unknown, null);

    public LockKind Kind { get; }

    /// <summary>The field (<see cref="LockKind.Field"/>, or of <see cref="Receiver"/>) or the type (<see cref="LockKind.This"/>, <see cref="LockKind.Type"/>).</summary>
    public ISymbol? Symbol { get; }

    /// <summary>For an unknown lock taken through a local, parameter or field of this object: that symbol; otherwise null.</summary>
    public ISymbol? Receiver { get; }

    /// <summary>How source names the lock: <c>_gate</c>, <c>this</c>, <c>typeof(C)</c>.</summary>
    public string Display => Kind switch
    {
        LockKind.Field => Symbol!.Name,
        LockKind.This => "this",
        LockKind.Type => "typeof(" + Symbol!.Name + ")",
        _ when Receiver is not null => Symbol is null ? Receiver.Name : Receiver.Name + "." + Symbol.Name,
        _ => "?",
    };

    public bool Equals(LockKey other) => Kind == other.Kind && SymbolEqualityComparer.Default.Equals(Symbol, other.Symbol)
        && SymbolEqualityComparer.Default.Equals(Receiver, other.Receiver);

    public override bool Equals(object? obj) => obj is LockKey other && Equals(other);

    public override int GetHashCode() => ((int)Kind * 397) ^ SymbolEqualityComparer.Default.GetHashCode(Symbol) ^ (SymbolEqualityComparer.Default.GetHashCode(Receiver) * 31);

    public override string ToString() => Display;
}

/// <summary>A lock held, in a mode, a number of times (Monitor and Lock are re-entrant: an inner exit keeps it held).</summary>
public readonly struct HeldLock
{
    public HeldLock(LockKey key, LockMode mode, LockFlavor flavor, int count)
    {
        Key = key;
        Mode = mode;
        Flavor = flavor;
        Count = count;
    }

    public LockKey Key { get; }
    public LockMode Mode { get; }
    public LockFlavor Flavor { get; }
    public int Count { get; }
}

/// <summary>
/// The locks definitely held at a program point: an immutable small set (a handful of entries at most). The
/// dataflow joins with <see cref="Intersect"/> (a lock is held after a merge only if held on every way in).
/// </summary>
public sealed class Lockset : IEquatable<Lockset>
{
    public static readonly Lockset Empty = new(Array.Empty<HeldLock>());

    private readonly HeldLock[] _held;

    private Lockset(HeldLock[] held) => _held = held;

    public int Count => _held.Length;

    public HeldLock this[int index] => _held[index];

    public bool IsEmpty => _held.Length == 0;

    /// <summary>Whether some held lock is not identified (then nothing can be said about which lock guards an access).</summary>
    public bool HasUnknown
    {
        get
        {
            foreach (var h in _held)
            {
                if (h.Key.Kind == LockKind.Unknown)
                    return true;
            }

            return false;
        }
    }

    /// <summary>Whether <paramref name="key"/> is held, exclusively when <paramref name="exclusive"/>.</summary>
    public bool Holds(LockKey key, bool exclusive)
    {
        foreach (var h in _held)
        {
            if (h.Key.Equals(key) && (!exclusive || h.Mode == LockMode.Exclusive))
                return true;
        }

        return false;
    }

    public Lockset Acquire(LockKey key, LockMode mode, LockFlavor flavor)
    {
        for (var i = 0; i < _held.Length; i++)
        {
            if (_held[i].Key.Equals(key) && _held[i].Mode == mode)
            {
                var copy = (HeldLock[])_held.Clone();
                copy[i] = new HeldLock(key, mode, _held[i].Flavor, _held[i].Count + 1);
                return new Lockset(copy);
            }
        }

        var grown = new HeldLock[_held.Length + 1];
        Array.Copy(_held, grown, _held.Length);
        grown[_held.Length] = new HeldLock(key, mode, flavor, 1);
        return new Lockset(grown);
    }

    /// <summary>Releases one hold of the key in the mode (either mode when null). Releasing a lock not held changes nothing.</summary>
    public Lockset Release(LockKey key, LockMode? mode)
    {
        for (var i = _held.Length - 1; i >= 0; i--)
        {
            if (!_held[i].Key.Equals(key) || (mode is { } m && _held[i].Mode != m))
                continue;
            if (_held[i].Count > 1)
            {
                var copy = (HeldLock[])_held.Clone();
                copy[i] = new HeldLock(key, _held[i].Mode, _held[i].Flavor, _held[i].Count - 1);
                return new Lockset(copy);
            }

            var shrunk = new HeldLock[_held.Length - 1];
            Array.Copy(_held, shrunk, i);
            Array.Copy(_held, i + 1, shrunk, i, _held.Length - i - 1);
            return shrunk.Length == 0 ? Empty : new Lockset(shrunk);
        }

        return this;
    }

    /// <summary>The locks held in both (each as many times as in the one that holds it fewer times).</summary>
    public Lockset Intersect(Lockset other)
    {
        if (ReferenceEquals(this, other) || _held.Length == 0)
            return this;
        if (other._held.Length == 0)
            return other;
        HeldLock[]? result = null;
        var n = 0;
        foreach (var h in _held)
        {
            foreach (var o in other._held)
            {
                if (h.Key.Equals(o.Key) && h.Mode == o.Mode)
                {
                    result ??= new HeldLock[_held.Length];
                    result[n++] = new HeldLock(h.Key, h.Mode, h.Flavor, Math.Min(h.Count, o.Count));
                    break;
                }
            }
        }

        // Two different unknown locks (another object's, named through different locals) still leave "some lock not
        // known to be ours" held, as when every unknown lock was one key: the rules that stay silent under one rely on it.
        if (HasUnknown && other.HasUnknown && !HasUnknownIn(result, n))
        {
            result ??= new HeldLock[_held.Length];
            if (n == result.Length)
                Array.Resize(ref result, n + 1);
            result[n++] = new HeldLock(LockKey.Unknown, LockMode.Exclusive, LockFlavor.Monitor, 1);
        }

        if (n == 0)
            return Empty;
        if (n != result!.Length)
            Array.Resize(ref result, n);
        return new Lockset(result);
    }

    private static bool HasUnknownIn(HeldLock[]? held, int count)
    {
        for (var i = 0; i < count; i++)
        {
            if (held![i].Key.Kind == LockKind.Unknown)
                return true;
        }

        return false;
    }

    /// <summary>Every lock of either (the locks a helper's callers hold, added to those it takes itself).</summary>
    public Lockset Union(Lockset other)
    {
        var result = this;
        foreach (var o in other._held)
        {
            if (!HoldsMode(result, o.Key, o.Mode))
                result = result.Acquire(o.Key, o.Mode, o.Flavor);
        }

        return result;
    }

    private static bool HoldsMode(Lockset set, LockKey key, LockMode mode)
    {
        foreach (var h in set._held)
        {
            if (h.Key.Equals(key) && h.Mode == mode)
                return true;
        }

        return false;
    }

    public bool Equals(Lockset? other)
    {
        if (ReferenceEquals(this, other))
            return true;
        if (other is null || other._held.Length != _held.Length)
            return false;
        foreach (var h in _held)
        {
            var found = false;
            foreach (var o in other._held)
            {
                if (h.Key.Equals(o.Key) && h.Mode == o.Mode && h.Count == o.Count)
                {
                    found = true;
                    break;
                }
            }

            if (!found)
                return false;
        }

        return true;
    }

    public override bool Equals(object? obj) => Equals(obj as Lockset);

    public override int GetHashCode() => _held.Length;

    /// <summary>For tests and messages: <c>{_gate, _rw(read)}</c>.</summary>
    public override string ToString()
    {
        var text = new StringBuilder("{");
        for (var i = 0; i < _held.Length; i++)
        {
            if (i > 0)
                text.Append(", ");
            text.Append(_held[i].Key.Display);
            if (_held[i].Mode == LockMode.Shared)
                text.Append("(read)");
            if (_held[i].Count > 1)
                text.Append('×').Append(_held[i].Count);
        }

        return text.Append('}').ToString();
    }
}
