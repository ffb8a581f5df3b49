using System.Collections.Generic;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

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
/// <para>Text is rendered only when asked (<see cref="Reason"/>, <see cref="Path"/>, <see cref="Explain"/>,
/// <see cref="Suspension"/>): rules that only need the verdict never build a string.</para>
/// </summary>
public sealed class EscapeResult
{
    public static readonly EscapeResult DoesNotEscape = new(EscapeKind.None, null, "does not escape");

    private readonly Trail? _trail;
    private readonly IOperation? _suspensionAt;
    private string? _reason;
    private string? _suspension;

    public EscapeResult(EscapeKind kind, IOperation? sink, string reason, string? suspension = null)
    {
        Kind = kind;
        Sink = sink;
        _reason = reason;
        _suspension = suspension;
    }

    /// <summary>An escape found by the graph: the chain of named locations from the value to its sink.</summary>
    internal EscapeResult(Trail trail)
    {
        _trail = trail;
        var sink = trail.Final;
        Kind = sink.Kind;
        Sink = sink.Operation;
    }

    private EscapeResult(EscapeResult result, IOperation suspensionAt)
    {
        Kind = result.Kind;
        Sink = result.Sink;
        _trail = result._trail;
        _reason = result._reason;
        _suspensionAt = suspensionAt;
    }

    public EscapeKind Kind { get; }

    public bool Escapes => Kind != EscapeKind.None;

    /// <summary>The operation where the value escapes (put its location into additionalLocations).</summary>
    public IOperation? Sink { get; }

    public Location? SinkLocation => Sink?.Syntax.GetLocation();

    /// <summary>The sink, in a few words ("stored into field '_kept'"); the steps that led there are in <see cref="Path"/>.</summary>
    public string Reason => _reason ??= _trail!.Final.Reason;

    /// <summary>Every step from the value to its sink, Go <c>-m=2</c> style: the locals, parameters and
    /// pattern variables it flowed through ("assigned to 'x' (line 12)"), then the sink; through a call
    /// judged by a parameter summary, the callee's own steps follow. Empty when the value does not escape.</summary>
    public IReadOnlyList<string> Path
    {
        get
        {
            var steps = new List<string>();
            if (_trail is not null)
                _trail.AppendSteps(steps);
            else if (Escapes)
                steps.Add(Reason);
            return steps;
        }
    }

    /// <summary>The path as one line: "assigned to 'x' (line 12), passed to 'C.Keep' as 'values', stored into field '_kept'".</summary>
    public string Explain()
    {
        var text = new StringBuilder();
        foreach (var step in Path)
        {
            if (text.Length > 0)
                text.Append(", ");
            text.Append(step);
        }

        return text.Length > 0 ? text.ToString() : Reason;
    }

    /// <summary>The path as a report shows it: the locations the value went through after the one it was
    /// first assigned to (which the reader sees at the allocation), then the short sink reason; a callee's
    /// own steps stay summarised in the reason ("passed to 'C.Keep', where it is stored into field '_kept'").
    /// For <c>var a = new int[4]; var b = a; _f = b;</c>: "assigned to 'b' (line 2), stored into field '_f'".</summary>
    public string ExplainBriefly()
    {
        if (_trail is null || _trail.Step is null)
            return Reason;
        var text = new StringBuilder();
        var first = true;
        for (var t = _trail; t is not null; t = t.Next)
        {
            if (t.Step is null)
                continue;
            if (first && t.Step.Kind == StepKind.Assigned)
            {
                first = false;
                continue;
            }

            first = false;
            text.Append(t.Step.Describe()).Append(", ");
        }

        return text.Append(Reason).ToString();
    }

    /// <summary>Non-null when the value is live across an await/yield: "live across 'await' at line 12".</summary>
    public string? Suspension => _suspension ??= _suspensionAt is null ? null : $"it is live across '{Describe(_suspensionAt)}' at line {EscapeEngine.Line(_suspensionAt)}";

    public bool IsLiveAcrossSuspension => _suspension is not null || _suspensionAt is not null;

    /// <summary>Stack allocation (stackalloc, a span instead of an array) is possible.</summary>
    public bool CanLiveOnStack => !Escapes && !IsLiveAcrossSuspension;

    internal EscapeResult WithSuspension(IOperation suspension) => new(this, suspension);

    public override string ToString() => Escapes ? "escapes: " + Reason : Suspension is null ? Reason : Reason + ", but " + Suspension;

    private static string Describe(IOperation suspension) => suspension switch
    {
        IAwaitOperation => "await",
        IReturnOperation => "yield return",
        IUsingOperation or IUsingDeclarationOperation => "await using",
        _ => "await foreach",
    };
}
