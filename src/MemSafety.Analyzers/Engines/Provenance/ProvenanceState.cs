using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;

namespace MemSafety.Analyzers.Engines.Provenance;

/// <summary>A pointer origin as held by one location; for a location that outlives the scope (a field, a ref
/// parameter) also the store that put it there, where an escape is reported.</summary>
internal sealed class Held
{
    public Held(PointerOrigin origin, SyntaxNode? storedAt, string? target)
    {
        Origin = origin;
        StoredAt = storedAt;
        Target = target;
    }

    public PointerOrigin Origin { get; }

    public SyntaxNode? StoredAt { get; }

    public string? Target { get; }
}

/// <summary>A location the analysis follows besides locals, parameters and flow captures: a field or property of
/// <c>this</c>, of a by-value struct local, of a reference-type parameter, or a static one; or the elements of an
/// array held in such a field (<see cref="Elements"/>).</summary>
internal sealed class MemberKey : IEquatable<MemberKey>
{
    public MemberKey(ISymbol? instance, ISymbol member, bool elements, bool outlivesFunction)
    {
        Instance = instance;
        Member = member;
        Elements = elements;
        OutlivesFunction = outlivesFunction;
    }

    /// <summary>The local or parameter whose member this is; null for <c>this</c> and statics.</summary>
    public ISymbol? Instance { get; }

    public ISymbol Member { get; }

    public bool Elements { get; }

    /// <summary>Whether what it holds is still reachable after the function returns (not a member of a struct local).</summary>
    public bool OutlivesFunction { get; }

    public bool Equals(MemberKey? other) => other is not null && Elements == other.Elements
        && SymbolEqualityComparer.Default.Equals(Instance, other.Instance) && SymbolEqualityComparer.Default.Equals(Member, other.Member);

    public override bool Equals(object? obj) => Equals(obj as MemberKey);

    public override int GetHashCode() => SymbolEqualityComparer.Default.GetHashCode(Member) ^ (Elements ? 1 : 0);
}

/// <summary>The analysis state: for each followed location (local, parameter, flow capture, <see cref="MemberKey"/>)
/// the origins it may hold on some path ("may": a value with a definite origin on one path keeps it after a join).
/// A location absent from the map holds nothing followed (unknown, or never assigned on any path seen).</summary>
internal sealed class ProvenanceState
{
    public static readonly ProvenanceState Empty = new(ImmutableDictionary<object, ImmutableArray<Held>>.Empty);

    private ProvenanceState(ImmutableDictionary<object, ImmutableArray<Held>> map) => Map = map;

    public ImmutableDictionary<object, ImmutableArray<Held>> Map { get; }

    public ImmutableArray<Held> Get(object key) => Map.TryGetValue(key, out var held) ? held : ImmutableArray<Held>.Empty;

    public ProvenanceState Set(object key, ImmutableArray<Held> held)
    {
        if (held.IsDefaultOrEmpty)
            return Map.ContainsKey(key) ? new ProvenanceState(Map.Remove(key)) : this;
        return Map.TryGetValue(key, out var old) && SameSet(old, held) ? this : new ProvenanceState(Map.SetItem(key, held));
    }

    public ProvenanceState Join(ProvenanceState other)
    {
        if (ReferenceEquals(this, other) || other.Map.Count == 0)
            return this;
        if (Map.Count == 0)
            return other;
        var map = Map;
        foreach (var pair in other.Map)
            map = map.TryGetValue(pair.Key, out var mine) ? map.SetItem(pair.Key, Union(mine, pair.Value)) : map.Add(pair.Key, pair.Value);
        return new ProvenanceState(map);
    }

    public bool Same(ProvenanceState other)
    {
        if (ReferenceEquals(this, other))
            return true;
        if (Map.Count != other.Map.Count)
            return false;
        foreach (var pair in Map)
        {
            if (!other.Map.TryGetValue(pair.Key, out var theirs) || !SameSet(pair.Value, theirs))
                return false;
        }

        return true;
    }

    internal static ImmutableArray<Held> Union(ImmutableArray<Held> left, ImmutableArray<Held> right)
    {
        if (SameSet(left, right))
            return left;
        var builder = ImmutableArray.CreateBuilder<Held>(left.Length + right.Length);
        builder.AddRange(left);
        foreach (var h in right)
        {
            if (!Contains(left, h))
                builder.Add(h);
        }

        return builder.ToImmutable();
    }

    private static bool SameSet(ImmutableArray<Held> left, ImmutableArray<Held> right)
    {
        if (left.Length != right.Length)
            return false;
        foreach (var h in left)
        {
            if (!Contains(right, h))
                return false;
        }

        return true;
    }

    private static bool Contains(ImmutableArray<Held> set, Held held)
    {
        foreach (var h in set)
        {
            if (ReferenceEquals(h, held))
                return true;
        }

        return false;
    }
}
