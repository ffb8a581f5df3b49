using Microsoft.CodeAnalysis;

namespace MemSafety.Analyzers.Engines.Provenance;

/// <summary>What a pointer (or a pointer-sized integer or span made from one) points into.</summary>
public enum ProvenanceKind
{
    /// <summary>Not known: a pointer parameter, a field read, a call's result. No rule reports on it.</summary>
    Unknown,

    /// <summary>This call's stack frame: <c>&amp;local</c>, <c>&amp;parameter</c>, a pointer <c>stackalloc</c>. Valid until
    /// the function returns.</summary>
    Stack,

    /// <summary>A managed object pinned by a <c>fixed</c> statement (an array, a non-constant string, a field of a class,
    /// a static field). Valid only inside the statement (<see cref="PointerOrigin.Scope"/>): afterwards the garbage
    /// collector may move the object. Also the address a pinned <c>GCHandle</c> local gives (<c>AddrOfPinnedObject</c>)
    /// or a <c>MemoryHandle</c> local (<c>Pointer</c>): valid until that local's <c>Free</c>/<c>Dispose</c>
    /// (<see cref="PointerOrigin.PinOwner"/>, <see cref="PointerOrigin.ReleasedAt"/>).</summary>
    Pinned,

    /// <summary>A managed location nothing pins: <c>Unsafe.AsPointer(ref x)</c> of a field of a class or an array element
    /// (also through <c>MemoryMarshal.GetArrayDataReference</c>, <c>GetReference</c> of a span over an array,
    /// <c>Unsafe.Add</c>), outside a fixed statement or pinned handle over the same object. Valid only until the next
    /// collection (<see cref="PointerOrigin.Movable"/> says what moves). A <c>ref</c> parameter or ref local may refer
    /// to the caller's stack or to pinned memory: unknown, not this.</summary>
    Unpinned,

    /// <summary>Native memory, which the garbage collector never moves: <c>NativeMemory.*</c>, <c>Marshal.Alloc*</c>,
    /// P/Invoke results, <c>IntPtr</c> parameters.</summary>
    Native,
}

/// <summary>Where a pointer value came from: one per creating site of a function (reference identity).</summary>
public sealed class PointerOrigin
{
    internal PointerOrigin(ProvenanceKind kind, SyntaxNode site, SyntaxNode? scope, string what, string? movable = null,
        ISymbol? pinOwner = null, SyntaxNode? releasedAt = null, PointerOrigin? unreleased = null)
    {
        Kind = kind;
        Site = site;
        Scope = scope;
        What = what;
        Movable = movable;
        PinOwner = pinOwner;
        ReleasedAt = releasedAt;
        Unreleased = unreleased;
    }

    /// <summary>For <see cref="ProvenanceKind.Pinned"/> addresses from a pin object rather than a fixed statement: the
    /// local holding it (a <c>GCHandle</c> whose <c>AddrOfPinnedObject</c> gave the address, a <c>MemoryHandle</c>
    /// whose <c>Pointer</c> did). The pin lasts until that local's <c>Free</c>/<c>Dispose</c>.</summary>
    public ISymbol? PinOwner { get; }

    /// <summary>Set on the copy of a <see cref="PinOwner"/> origin that values carry once a path has run the owner's
    /// <c>Free</c>/<c>Dispose</c>: the release call. The object may move from there on.</summary>
    public SyntaxNode? ReleasedAt { get; }

    /// <summary>For a released copy: the origin before the release.</summary>
    public PointerOrigin? Unreleased { get; }

    public ProvenanceKind Kind { get; }

    /// <summary>The syntax that made the pointer: the <c>stackalloc</c>, the <c>&amp;x</c>, the <c>fixed</c> declarator, the call.</summary>
    public SyntaxNode Site { get; }

    /// <summary>For <see cref="ProvenanceKind.Pinned"/>: the <c>fixed</c> statement outside which the pointer is stale.</summary>
    public SyntaxNode? Scope { get; }

    /// <summary>What it points to, for messages: "the stackalloc buffer", "local 'x'", "'buffer'".</summary>
    public string What { get; }

    /// <summary>For <see cref="ProvenanceKind.Pinned"/> and <see cref="ProvenanceKind.Unpinned"/>: what the collector may
    /// move ("array", "string", "object").</summary>
    public string? Movable { get; }

    /// <summary>Whether an operation at <paramref name="syntax"/> runs while the pointer is still valid as far as its
    /// scope goes: inside the fixed statement for pinned pointers, anywhere in the function otherwise.</summary>
    public bool IsInScope(SyntaxNode syntax) => ReleasedAt is null && (Scope is null || Scope.Span.Contains(syntax.Span));

    public override string ToString() => Kind + " " + What;
}

/// <summary>How a pointer outlives what kept it valid.</summary>
public enum PointerEscapeKind
{
    /// <summary>Returned from the function (directly, through a pointer-sized integer or a span over it).</summary>
    Returned,

    /// <summary>Stored into a field, static, array of a field, property or ref/out parameter, and still held there when the
    /// fixed block ends (pinned) or the function returns (stack).</summary>
    StoredBeyondScope,

    /// <summary>Captured by a lambda or local function whose delegate is returned or stored.</summary>
    CapturedByEscapingDelegate,

    /// <summary>Dereferenced, indexed or passed to a call after the fixed block ended (pinned only).</summary>
    UsedAfterScope,

    /// <summary>Unpinned only: passed to a call or constructor (other than the <c>Unsafe</c> intrinsics), which may
    /// allocate, block or call native code, so a collection can run while the callee holds the address.</summary>
    PassedToCall,

    /// <summary>Unpinned only: dereferenced or indexed in a later statement than the one that took the address, so
    /// the address is held across instructions where a collection can stop the thread.</summary>
    UsedInLaterStatement,
}

/// <summary>One definite escape of a pointer with a definite origin.</summary>
public sealed class PointerEscape
{
    internal PointerEscape(PointerOrigin origin, PointerEscapeKind kind, SyntaxNode site, string? target)
    {
        Origin = origin;
        Kind = kind;
        Site = site;
        Target = target;
    }

    public PointerOrigin Origin { get; }

    public PointerEscapeKind Kind { get; }

    /// <summary>Where it escapes: the returned expression, the store, the delegate, the use after the block.</summary>
    public SyntaxNode Site { get; }

    /// <summary>For stores, what holds it ("field '_p'", "parameter 'result'"); for captures, what happens to the delegate.</summary>
    public string? Target { get; }

    public override string ToString() => Origin + " " + Kind + (Target is null ? string.Empty : " " + Target) + " at " + Site;
}
