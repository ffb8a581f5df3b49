using Microsoft.CodeAnalysis;

namespace MemSafety.Analyzers.Engines.Escape;

/// <summary>Where a value goes that makes it outlive the method's stack frame.</summary>
public enum EscapeKind
{
    None,
    Returned,
    StoredInField,
    StoredInProperty,
    StoredInArrayElement,
    StoredInRefParameter,
    CapturedByDelegate,
    PassedToMethod,
    PassedToDynamic,
    Thrown,
    ElementReferenceEscapes,
    /// <summary>A use the engine does not model; treated as an escape so that no rule claims more than it knows.</summary>
    Unknown,
}

/// <summary>
/// The engine's verdict on one value, in the spirit of <c>go build -gcflags=-m</c>: whether it escapes,
/// the first sink found and a short human reason ("stored into field '_buffer'"). Separately, whether
/// it is live across an <c>await</c> or <c>yield</c>: not an escape to the caller, but the compiler
/// hoists it into the state machine, so it cannot live on the stack either.
/// </summary>
public sealed class EscapeResult
{
    public static readonly EscapeResult DoesNotEscape = new(EscapeKind.None, null, "does not escape");

    public EscapeResult(EscapeKind kind, IOperation? sink, string reason, string? suspension = null)
    {
        Kind = kind;
        Sink = sink;
        Reason = reason;
        Suspension = suspension;
    }

    public EscapeKind Kind { get; }

    public bool Escapes => Kind != EscapeKind.None;

    /// <summary>The operation where the value escapes (put its location into additionalLocations).</summary>
    public IOperation? Sink { get; }

    public Location? SinkLocation => Sink?.Syntax.GetLocation();

    public string Reason { get; }

    /// <summary>Non-null when the value is live across an await/yield: "live across 'await' at line 12".</summary>
    public string? Suspension { get; }

    public bool IsLiveAcrossSuspension => Suspension is not null;

    /// <summary>Stack allocation (stackalloc, a span instead of an array) is possible.</summary>
    public bool CanLiveOnStack => !Escapes && !IsLiveAcrossSuspension;

    internal EscapeResult WithSuspension(string suspension) => new(Kind, Sink, Reason, suspension);

    public override string ToString() => Escapes ? "escapes: " + Reason : Suspension is null ? Reason : Reason + ", but " + Suspension;
}
