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
    /// collector may move the object.</summary>
    Pinned,

    /// <summary>A managed location never pinned: <c>Unsafe.AsPointer(ref x)</c> of a field, an array element or a
    /// <c>ref</c> parameter. Valid only until the next collection.</summary>
    Unpinned,

    /// <summary>Native memory, which the garbage collector never moves: <c>NativeMemory.*</c>, <c>Marshal.Alloc*</c>,
    /// P/Invoke results, <c>IntPtr</c> parameters.</summary>
    Native,
}

/// <summary>Where a pointer value came from: one per creating site of a function (reference identity).</summary>
public sealed class PointerOrigin
{
    internal PointerOrigin(ProvenanceKind kind, SyntaxNode site, SyntaxNode? scope, string what, string? movable = null)
    {
        Kind = kind;
        Site = site;
        Scope = scope;
        What = what;
        Movable = movable;
    }

    public ProvenanceKind Kind { get; }

    /// <summary>The syntax that made the pointer: the <c>stackalloc</c>, the <c>&amp;x</c>, the <c>fixed</c> declarator, the call.</summary>
    public SyntaxNode Site { get; }

    /// <summary>For <see cref="ProvenanceKind.Pinned"/>: the <c>fixed</c> statement outside which the pointer is stale.</summary>
    public SyntaxNode? Scope { get; }

    /// <summary>What it points to, for messages: "the stackalloc buffer", "local 'x'", "'buffer'".</summary>
    public string What { get; }

    /// <summary>For <see cref="ProvenanceKind.Pinned"/>: what the collector may move ("array", "string", "object").</summary>
    public string? Movable { get; }

    /// <summary>Whether an operation at <paramref name="syntax"/> runs while the pointer is still valid as far as its
    /// scope goes: inside the fixed statement for pinned pointers, anywhere in the function otherwise.</summary>
    public bool IsInScope(SyntaxNode syntax) => Scope is null || Scope.Span.Contains(syntax.Span);

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
