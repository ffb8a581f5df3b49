using System.Threading;
using Microsoft.CodeAnalysis;

namespace MemSafety.Analyzers.Engines.Escape;

/// <summary>
/// Intraprocedural, flow-insensitive escape analysis over one function body's IOperation tree, modelled
/// on Go's escape analysis: it follows a value from where it is created through every local or
/// parameter that holds it (simple copies, pattern variables, tuples) to its sinks, and answers whether
/// it escapes the frame, where first, and by which path. Anything it does not model counts as an escape,
/// so a "does not escape" verdict can be relied on.
/// <para>The questions are answered from the body's <see cref="EscapeGraph"/>, built once per body (and
/// summaries) and shared by every rule: asking about every allocation of a body costs one graph.</para>
/// </summary>
public sealed class EscapeEngine
{
    /// <param name="root">Any operation of the function body (usually its root).</param>
    /// <param name="summaries">Summaries of the compilation's methods; without them every call to a
    /// method outside the curated BCL table counts as an escape.</param>
    /// <param name="cancellationToken">The token of the analyzer callback the engine serves: the questions it
    /// asks the shared graph observe it (summaries computed for them too), and no other request's.</param>
    public EscapeEngine(IOperation root, ParameterSummaries? summaries = null, CancellationToken cancellationToken = default)
    {
        Graph = EscapeGraph.For(root, summaries);
        _cancellationToken = cancellationToken;
    }

    private readonly CancellationToken _cancellationToken;

    /// <summary>A parameter summary's engine: its verdicts depend on the summaries being computed on this call
    /// stack (depth, recursion cuts), so its graph is its own and not shared.</summary>
    internal EscapeEngine(IOperation root, ParameterSummaries? summaries, SummaryContext summaryContext)
    {
        Graph = new EscapeGraph(root, summaries, summaryContext);
    }

    /// <summary>The engine for the body that contains <paramref name="operation"/>.</summary>
    public static EscapeEngine ForBodyOf(IOperation operation, ParameterSummaries? summaries = null, CancellationToken cancellationToken = default)
        => new(operation, summaries, cancellationToken);

    internal EscapeGraph Graph { get; }

    /// <summary>Does the value produced by <paramref name="value"/> (an allocation, usually) escape?</summary>
    public EscapeResult Analyze(IOperation value) => Graph.Analyze(value, _cancellationToken);

    /// <summary>Does the value held by a local or parameter escape (a parameter summary asks this)?</summary>
    public EscapeResult AnalyzeSymbol(ISymbol localOrParameter) => Graph.AnalyzeSymbol(localOrParameter, _cancellationToken);

    internal static int Line(IOperation operation) => operation.Syntax.GetLocation().GetLineSpan().StartLinePosition.Line + 1;
}
