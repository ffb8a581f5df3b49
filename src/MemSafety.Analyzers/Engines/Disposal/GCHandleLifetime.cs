using System.Collections.Generic;
using System.Threading;
using MemSafety.Analyzers.Engines.Bodies;
using MemSafety.Analyzers.Engines.Escape;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Engines.Disposal;

/// <summary>What <c>GCHandle.Alloc</c> was asked for, from its <c>GCHandleType</c> argument.</summary>
public enum GCHandleAllocKind
{
    /// <summary><c>GCHandle.Alloc(o)</c> or <c>GCHandleType.Normal</c>: keeps the object alive.</summary>
    Normal,
    /// <summary><c>GCHandleType.Pinned</c>: keeps the object alive and where it is.</summary>
    Pinned,
    /// <summary><c>Weak</c> or <c>WeakTrackResurrection</c>: the handle table entry alone.</summary>
    Weak,
    /// <summary>A type that is not a constant.</summary>
    Unknown,
}

/// <summary>
/// The lifetime of a <c>GCHandle</c> held in a local: <see cref="LocalLifetime"/> with the handle's protocol. An
/// acquisition is <c>GCHandle.Alloc</c>; <c>h.Free()</c> releases it (and zeroes the local: <c>Interlocked.Exchange(ref
/// _handle, 0)</c> in the runtime); along the false branch of <c>h.IsAllocated</c> the local holds no handle.
/// <c>Target</c> needs a live handle, <c>AddrOfPinnedObject</c> a live Pinned one. Any other use (passed, copied,
/// stored, returned, captured or converted with <c>ToIntPtr</c>) hands the handle on: it may be freed elsewhere, so
/// leaks are not judged.
/// </summary>
public sealed class GCHandleLifetime
{
    private static readonly Protocol HandleProtocol = new();

    private GCHandleLifetime(LocalLifetime lifetime)
    {
        Local = lifetime.Local;
        Escapes = lifetime.Escapes;
        Defects = lifetime.Defects;
    }

    /// <summary>What the handle of a defect was allocated as (the protocol's acquisition kind).</summary>
    public static GCHandleAllocKind AllocKindOf(LifetimeDefect defect)
        => defect.SiteKind < 0 ? GCHandleAllocKind.Unknown : (GCHandleAllocKind)defect.SiteKind;

    public ILocalSymbol Local { get; }

    /// <summary>The defects found, in the order found.</summary>
    public IReadOnlyList<LifetimeDefect> Defects { get; }

    /// <summary>Some use hands the handle on (so leaks are not judged).</summary>
    public bool Escapes { get; }

    /// <summary>Whether the type is <c>System.Runtime.InteropServices.GCHandle</c>.</summary>
    public static bool IsGCHandle(ITypeSymbol? type)
        => type is { Name: "GCHandle", TypeKind: TypeKind.Struct } && NonRetainingMembers.IsNamespace(type.ContainingNamespace, "System.Runtime.InteropServices");

    /// <summary>The analysis of a <c>GCHandle</c> local declared in the body that holds <paramref name="operationInBody"/>;
    /// null when the local is not one or cannot be followed.</summary>
    public static GCHandleLifetime? Analyze(ILocalSymbol local, IOperation operationInBody, CancellationToken cancellationToken)
        => LocalLifetime.Analyze(HandleProtocol, local, operationInBody, cancellationToken) is { } lifetime ? new GCHandleLifetime(lifetime) : null;

    /// <summary>Whether the operation is <c>GCHandle.Alloc(…)</c>; <paramref name="kind"/> is what it asks for.</summary>
    public static bool IsAlloc(IOperation value, out GCHandleAllocKind kind)
    {
        kind = GCHandleAllocKind.Unknown;
        value = Variables.WithoutBuiltInConversions(value);
        if (value is not IInvocationOperation { TargetMethod: { Name: "Alloc", IsStatic: true } method } invocation || !IsGCHandle(method.ContainingType))
            return false;
        if (invocation.Arguments.Length < 2)
        {
            kind = GCHandleAllocKind.Normal;
            return true;
        }

        if (invocation.Arguments[1].Value.ConstantValue is { HasValue: true, Value: int type })
        {
            // GCHandleType: Weak = 0, WeakTrackResurrection = 1, Normal = 2, Pinned = 3.
            kind = type switch
            {
                0 or 1 => GCHandleAllocKind.Weak,
                2 => GCHandleAllocKind.Normal,
                3 => GCHandleAllocKind.Pinned,
                _ => GCHandleAllocKind.Unknown,
            };
        }

        return true;
    }

    private sealed class Protocol : LifetimeProtocol
    {
        public override bool Tracks(ITypeSymbol type) => IsGCHandle(type);

        public override bool IsAcquire(IOperation value, out int kind)
        {
            var result = IsAlloc(value, out var allocKind);
            kind = (int)allocKind;
            return result;
        }

        /// <summary>A member of the handle itself (<c>Free</c>, <c>AddrOfPinnedObject</c>, <c>Target</c>,
        /// <c>IsAllocated</c>) or anything else, which hands the handle on.</summary>
        public override LifetimeUse ClassifyUse(IOperation reference)
        {
            switch (reference.Parent)
            {
                case IInvocationOperation invocation when invocation.Instance == reference:
                    return invocation.TargetMethod.Name switch
                    {
                        "Free" => LifetimeUse.Release,
                        "AddrOfPinnedObject" => LifetimeUse.KindSensitiveAccess,
                        _ => LifetimeUse.Escape,
                    };
                case IPropertyReferenceOperation property when property.Instance == reference:
                    return property.Property.Name switch
                    {
                        "Target" => LifetimeUse.Access,
                        "IsAllocated" => LifetimeUse.Neutral,
                        _ => LifetimeUse.Escape,
                    };
                default:
                    return LifetimeUse.Escape;
            }
        }

        public override bool? HeldWhenTrue(IOperation condition, ILocalSymbol local)
            => condition is IPropertyReferenceOperation { Property.Name: "IsAllocated", Instance: ILocalReferenceOperation reference }
               && SymbolEqualityComparer.Default.Equals(reference.Local, local)
                ? true
                : null;

        public override bool IsOwnCall(IOperation operation, ILocalSymbol local)
            => operation is IInvocationOperation { Instance: ILocalReferenceOperation reference } && SymbolEqualityComparer.Default.Equals(reference.Local, local);

        public override bool IsRelease(IOperation operation, ILocalSymbol local)
            => operation is IInvocationOperation { TargetMethod.Name: "Free", Instance: ILocalReferenceOperation reference }
               && SymbolEqualityComparer.Default.Equals(reference.Local, local);

        // AddrOfPinnedObject throws for a handle not allocated Pinned.
        public override bool Refuses(int kind) => (GCHandleAllocKind)kind is GCHandleAllocKind.Normal or GCHandleAllocKind.Weak;
    }
}
