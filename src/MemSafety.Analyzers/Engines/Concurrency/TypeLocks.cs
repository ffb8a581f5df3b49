using System.Collections.Concurrent;
using System.Collections.Generic;
using Microsoft.CodeAnalysis;

namespace MemSafety.Analyzers.Engines.Concurrency;

/// <summary>
/// The per-type summary, built at the type's symbol end from the <see cref="BodyLocks"/> of all its bodies (every
/// part of a partial type): each field access with the locks definitely held there, its function's callers included.
/// <para>
/// A private method is called only from inside its type (RacerD's and Clang's reading of "helper"): it runs with the
/// locks that every one of its callers holds at the call, each caller's own entry locks included (a fixed point, so a
/// helper of a helper works). Calls from constructors and initializers do not count (the object is not shared yet);
/// a helper called only from them is exempt like them. A helper converted to a delegate may run anywhere: no lock.
/// When some call can hold a lock nobody can name, or the helper is called from a nested type (calls this summary
/// does not see), the helper's accesses are left out.
/// </para>
/// </summary>
internal sealed class TypeLocks
{
    // Bodies arrive from concurrent operation-block callbacks: a lock-free queue, read once at the symbol end (a lock
    // here was contended on lock-heavy types, its spinning a tenth of MSA6001's time on System.Collections.Concurrent).
    private readonly ConcurrentQueue<BodyLocks> _bodies = new();
    private readonly System.Func<HashSet<string>> _namesUsedByNestedTypes;

    /// <param name="namesUsedByNestedTypes">Simple names that nested types mention: a private method of that name
    /// may have callers this summary does not see.</param>
    public TypeLocks(HashSet<string> namesUsedByNestedTypes) => _namesUsedByNestedTypes = () => namesUsedByNestedTypes;

    /// <param name="namesUsedByNestedTypes">Asked only when some body calls a private helper (most types: never), once.</param>
    public TypeLocks(System.Func<HashSet<string>> namesUsedByNestedTypes) => _namesUsedByNestedTypes = namesUsedByNestedTypes;

    /// <summary>Adds one body's facts; called concurrently from the bodies' actions.</summary>
    public void Add(BodyLocks body) => _bodies.Enqueue(body);

    /// <summary>Whether some access or helper call added so far holds a lock that <paramref name="predicate"/> accepts.
    /// Every lock a helper receives from its callers is held at some call, so when none of the bodies that take locks
    /// holds one anywhere, no access of the type can hold one either.</summary>
    public bool AnyHeld(System.Func<HeldLock, bool> predicate)
    {
        foreach (var body in _bodies)
        {
            foreach (var access in body.Accesses)
            {
                if (AnyIn(access.Held, predicate))
                    return true;
            }

            foreach (var call in body.Calls)
            {
                if (AnyIn(call.Held, predicate))
                    return true;
            }
        }

        return false;
    }

    private static bool AnyIn(Lockset held, System.Func<HeldLock, bool> predicate)
    {
        for (var i = 0; i < held.Count; i++)
        {
            if (predicate(held[i]))
                return true;
        }

        return false;
    }

    /// <summary>Every access whose held locks are known, with those locks (its function's callers included), in source order.</summary>
    public List<(FieldAccess Access, Lockset Held)> Resolve()
    {
        var calls = new List<HelperCall>();
        var accesses = new List<FieldAccess>();
        foreach (var body in _bodies)
        {
            accesses.AddRange(body.Accesses);
            calls.AddRange(body.Calls);
        }

        var entries = HelperEntries(calls);
        var resolved = new List<(FieldAccess, Lockset)>(accesses.Count);
        foreach (var access in accesses)
        {
            var held = access.Held;
            if (!access.InNestedFunction && access.Function is IMethodSymbol method && entries.TryGetValue(method.OriginalDefinition, out var entry))
            {
                if (entry.State != EntryState.Known)
                    continue;
                held = held.Union(entry.Locks!);
            }

            resolved.Add((access, held));
        }

        resolved.Sort(static (a, b) =>
        {
            var tree = string.CompareOrdinal(a.Item1.Operation.Syntax.SyntaxTree.FilePath, b.Item1.Operation.Syntax.SyntaxTree.FilePath);
            return tree != 0 ? tree : a.Item1.Operation.Syntax.SpanStart.CompareTo(b.Item1.Operation.Syntax.SpanStart);
        });
        return resolved;
    }

    private enum EntryState
    {
        /// <summary>No caller seen yet that holds less (the fixed point's start; at the end: called only from constructors).</summary>
        Top,
        Known,
        /// <summary>Some caller's locks cannot be told: leave the helper's accesses out.</summary>
        Unknown,
        /// <summary>Called only from constructors and initializers.</summary>
        Exempt,
    }

    private readonly struct Entry
    {
        public Entry(EntryState state, Lockset? locks)
        {
            State = state;
            Locks = locks;
        }

        public EntryState State { get; }
        public Lockset? Locks { get; }
    }

    private Dictionary<IMethodSymbol, Entry> HelperEntries(List<HelperCall> calls)
    {
        var entries = new Dictionary<IMethodSymbol, Entry>(SymbolEqualityComparer.Default);
        var nestedNames = calls.Count == 0 ? null : _namesUsedByNestedTypes();
        foreach (var call in calls)
        {
            if (!entries.ContainsKey(call.Callee))
                entries[call.Callee] = nestedNames!.Contains(call.Callee.Name) ? new Entry(EntryState.Unknown, null) : new Entry(EntryState.Top, null);
        }

        // Meet over the calls, to a fixed point: each round can only lower an entry (Top > Known sets shrinking > Unknown).
        for (var round = 0; round < 16; round++)
        {
            var changed = false;
            foreach (var call in calls)
            {
                var current = entries[call.Callee];
                if (current.State == EntryState.Unknown || call.FromConstructor)
                    continue;
                Entry contribution;
                if (call.AsDelegate)
                {
                    contribution = call.Held.IsEmpty ? new Entry(EntryState.Known, Lockset.Empty) : new Entry(EntryState.Unknown, null);
                }
                else if (call.InNestedFunction || call.Caller is not IMethodSymbol caller || !entries.TryGetValue(caller.OriginalDefinition, out var callerEntry))
                {
                    contribution = new Entry(EntryState.Known, call.Held);
                }
                else
                {
                    contribution = callerEntry.State switch
                    {
                        EntryState.Top or EntryState.Exempt => new Entry(EntryState.Top, null),
                        EntryState.Known => new Entry(EntryState.Known, call.Held.Union(callerEntry.Locks!)),
                        _ => new Entry(EntryState.Unknown, null),
                    };
                }

                if (contribution.State == EntryState.Known && contribution.Locks!.HasUnknown)
                    contribution = new Entry(EntryState.Unknown, null);
                var met = Meet(current, contribution);
                if (met.State != current.State || (met.State == EntryState.Known && !met.Locks!.Equals(current.Locks)))
                {
                    entries[call.Callee] = met;
                    changed = true;
                }
            }

            if (!changed)
                break;
        }

        // Still at the top: every call came from a constructor (or from helpers called only from them).
        var exempt = new List<IMethodSymbol>();
        foreach (var pair in entries)
        {
            if (pair.Value.State == EntryState.Top)
                exempt.Add(pair.Key);
        }

        foreach (var method in exempt)
            entries[method] = new Entry(EntryState.Exempt, null);
        return entries;
    }

    private static Entry Meet(Entry a, Entry b)
    {
        if (a.State == EntryState.Unknown || b.State == EntryState.Unknown)
            return new Entry(EntryState.Unknown, null);
        if (a.State == EntryState.Top)
            return b;
        if (b.State == EntryState.Top)
            return a;
        return new Entry(EntryState.Known, a.Locks!.Intersect(b.Locks!));
    }
}
