using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Bodies;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Engines.Escape;

/// <summary>
/// The value-flow graph of one function body, Go's <c>escape</c> package in miniature: a node per location
/// (local, parameter, pattern or deconstruction variable, ref local bound to an element), an edge where a
/// location's value flows into another ("assigned to 'x'"), and on each node the sink its uses reach
/// directly (returned, stored into a field, passed to a method that keeps it, …). Nodes are expanded (their
/// uses classified) lazily, once, on the first question that reaches them; verdicts are solved once per node
/// and memoised, so every allocation of the body is answered from the same graph.
/// <para>One graph per (body, summaries), cached on the body's root operation; asking is serialised per
/// graph (a lock), as several rules may ask about the same body on different threads.</para>
/// <para>The first sink of a value is the one the depth-first order over uses in source order reaches first
/// (what the walk that preceded the graph reported): each node's edges and sink are in that order, and a
/// node's memoised verdict is reused only where it cannot depend on the way the search came in (Tarjan: the
/// node is the root of its strongly connected part of the search). Nodes on a cycle of locals
/// (<c>a = b; b = a;</c>) are solved again from each start, which is cheap: such cycles are small.</para>
/// </summary>
internal sealed class EscapeGraph
{
    private static readonly ConditionalWeakTable<IOperation, Shelf> Cache = new();
    private static readonly ConditionalWeakTable<IOperation, Shelf>.CreateValueCallback NewShelf = static _ => new Shelf();

    private readonly object _gate = new();
    private readonly Dictionary<ISymbol, Node> _values = new(SymbolEqualityComparer.Default);
    private readonly Dictionary<ISymbol, Node> _elementReferences = new(SymbolEqualityComparer.Default);
    private readonly FlowClassifier _classifier;
    private readonly Stack<Node> _frames = new();
    private readonly List<Node> _tarjan = new();
    private List<IOperation>? _suspensions;
    private int _epoch;
    private int _index;

    private readonly IOperation _root;
    private readonly SummaryContext? _fixedContext;
    private BodyFacts? _facts;
    private SummaryContext? _requestContext;
    private CancellationToken _requestToken;

    /// <param name="summaryContext">A parameter summary's own graph: the summaries being computed on its call
    /// stack (and that request's token). Null for a graph shared by every rule: each question then brings its
    /// own token and starts its summaries from the root.</param>
    internal EscapeGraph(IOperation root, ParameterSummaries? summaries, SummaryContext? summaryContext)
    {
        _root = root;
        Summaries = summaries;
        _fixedContext = summaryContext;
        _classifier = new FlowClassifier(this);
    }

    /// <summary>The graph of the body containing <paramref name="operation"/>, built on first request and
    /// shared by every rule that asks with the same summaries.</summary>
    public static EscapeGraph For(IOperation operation, ParameterSummaries? summaries)
    {
        var root = operation;
        while (root.Parent is not null)
            root = root.Parent;
        return Cache.GetValue(root, NewShelf).Get(root, summaries);
    }

    /// <summary>The body's facts, asked for only when a question needs them (a value that flows into a local, or
    /// one that does not escape and may be live across an await): most allocations go straight to their sink.
    /// Read under the graph's lock.</summary>
    public BodyFacts Facts => _facts ??= BodyFacts.Of(_root);

    public ParameterSummaries? Summaries { get; }

    /// <summary>The summary context of the question being answered (valid only under the graph's lock).</summary>
    public SummaryContext SummaryContext => _fixedContext ?? (_requestContext ??= SummaryContext.Root(_requestToken));

    /// <summary>Whether a question has needed the body's facts yet (tests check that most do not).</summary>
    internal bool HasFacts => _facts is not null;

    /// <summary>How many nodes have had their uses classified: each at most once per graph (tests check the sharing).</summary>
    internal int Expansions { get; private set; }

    public EscapeResult Analyze(IOperation value, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            Begin(cancellationToken);
            try
            {
                var start = new Node(null, elementReference: false);
                Expand(start, value);
                var trail = Solve(start);
                if (trail is not null)
                    return new EscapeResult(trail);
                var suspension = FindSuspension(value, start);
                return suspension is null ? EscapeResult.DoesNotEscape : EscapeResult.DoesNotEscape.WithSuspension(suspension);
            }
            catch
            {
                AbandonSearch();
                throw;
            }
            finally
            {
                End();
            }
        }
    }

    public EscapeResult AnalyzeSymbol(ISymbol localOrParameter, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            Begin(cancellationToken);
            try
            {
                var trail = Solve(NodeFor(localOrParameter, elementReference: false));
                return trail is null ? EscapeResult.DoesNotEscape : new EscapeResult(trail);
            }
            catch
            {
                AbandonSearch();
                throw;
            }
            finally
            {
                End();
            }
        }
    }

    private void Begin(CancellationToken cancellationToken)
    {
        // No early throw: a cancelled request stops at its first summary, like any other (and a question that
        // needs no summary is answered, as cheaply as checking).
        _requestToken = cancellationToken;
        _requestContext = null;
    }

    private void End()
    {
        _requestToken = default;
        _requestContext = null;
    }

    /// <summary>A question cut short (its request cancelled while a summary was computed): the graph stays valid
    /// for the next one. A node's expansion is atomic (its edges and sink are set together, after its uses are
    /// classified), finished strongly connected parts are complete; only the search in progress is dropped.</summary>
    private void AbandonSearch()
    {
        _frames.Clear();
        foreach (var member in _tarjan)
            member.OnStack = false;
        _tarjan.Clear();
    }

    internal Node NodeFor(ISymbol symbol, bool elementReference)
    {
        var map = elementReference ? _elementReferences : _values;
        if (!map.TryGetValue(symbol, out var node))
            map[symbol] = node = new Node(symbol, elementReference);
        return node;
    }

    private void Expand(Node node, IOperation? value = null)
    {
        Expansions++;
        _classifier.Expand(node, value);
    }

    // ------------------------------------------------------------------ solve

    /// <summary>The first sink reachable from <paramref name="start"/> in depth-first order, as a trail of
    /// edges ending in the sink; null when none is reachable. Iterative Tarjan with early exit: a node's
    /// sink is memoised when nothing below it led back to it or above it (its first sink is then the same
    /// whichever way the search reaches it); a finished strongly connected part without a sink is memoised
    /// as a whole ("does not escape" does not depend on the order).</summary>
    private Trail? Solve(Node start)
    {
        if (start.Edges is null)
            Expand(start);
        if (start.Done)
            return start.Memo;
        _epoch++;
        _index = 0;
        Enter(start);
        Trail? found = null;
        while (_frames.Count > 0)
        {
            var node = _frames.Peek();
            var edges = node.Edges!;
            if (node.Next < edges.Length)
            {
                var edge = edges[node.Next++];
                var target = edge.Target;
                if (target.Edges is null)
                    Expand(target);
                if (target.Done)
                {
                    if (target.Memo is null)
                        continue;
                    found = new Trail(edge, target.Memo);
                    break;
                }

                if (target.Epoch == _epoch)
                {
                    // Already on this search: a back edge (or a finished member of an unfinished cycle).
                    if (target.OnStack)
                        Lower(node, target.Index);
                    continue;
                }

                Enter(target);
                continue;
            }

            if (node.Sink is not null)
            {
                found = new Trail(node.Sink);
                break;
            }

            _frames.Pop();
            if (node.Low == node.Index)
            {
                // A complete strongly connected part with no sink: no member can reach one.
                Node member;
                do
                {
                    member = _tarjan[_tarjan.Count - 1];
                    _tarjan.RemoveAt(_tarjan.Count - 1);
                    member.OnStack = false;
                    member.Done = true;
                    member.Memo = null;
                }
                while (member != node);
            }

            if (_frames.Count > 0)
                Lower(_frames.Peek(), node.Low);
        }

        if (found is not null)
        {
            var below = _frames.Pop();
            Settle(below, found);
            while (_frames.Count > 0)
            {
                var node = _frames.Pop();
                found = new Trail(node.Edges![node.Next - 1], found);
                Lower(node, below.Low);
                Settle(node, found);
                below = node;
            }
        }

        foreach (var member in _tarjan)
            member.OnStack = false;
        _tarjan.Clear();
        return found;

        static void Settle(Node node, Trail trail)
        {
            // Nothing it reached leads back to it or above it: it is on no cycle that was seen, and the search
            // from it finds this first sink whichever way it is entered. A node on a cycle is not memoised:
            // entered from another member of the cycle (already on the search, so skipped), its first sink
            // can be a different one.
            if (node.Reach > node.Index)
            {
                node.Done = true;
                node.Memo = trail;
            }
        }

        static void Lower(Node node, int index)
        {
            if (index < node.Low)
                node.Low = index;
            if (index < node.Reach)
                node.Reach = index;
        }
    }

    private void Enter(Node node)
    {
        node.Epoch = _epoch;
        node.Index = node.Low = _index++;
        node.Reach = int.MaxValue;
        node.Next = 0;
        node.OnStack = true;
        _tarjan.Add(node);
        _frames.Push(node);
    }

    // ------------------------------------------------------------------ liveness across await / yield

    /// <summary>An await/yield between the creation and a later use of any location the value reaches, or in a
    /// loop that also uses it (the value does not escape, so every reachable node was expanded).</summary>
    private IOperation? FindSuspension(IOperation value, Node start)
    {
        var suspensions = SortedSuspensions();
        if (suspensions.Count == 0)
            return null;

        var reached = new List<ISymbol>();
        var visited = new HashSet<Node>();
        var stack = new Stack<Node>();
        stack.Push(start);
        while (stack.Count > 0)
        {
            var node = stack.Pop();
            if (!visited.Add(node))
                continue;
            if (node.Symbol is not null && !reached.ContainsSymbol(node.Symbol))
                reached.Add(node.Symbol);
            if (node.Edges is null)
                continue;
            foreach (var edge in node.Edges)
                stack.Push(edge.Target);
        }

        var start0 = value.Syntax.SpanStart;
        foreach (var suspension in suspensions)
        {
            var at = suspension.Syntax.SpanStart;
            if (at <= start0)
                continue;
            // A use inside the await/yield expression itself is evaluated before the suspension.
            var resumed = suspension.Syntax.Span.End;
            foreach (var symbol in reached)
            {
                foreach (var use in Facts.ReferencesTo(symbol))
                {
                    if (use.Syntax.SpanStart >= resumed || SharesLoop(suspension, use, value))
                        return suspension;
                }
            }
        }

        return null;
    }

    private List<IOperation> SortedSuspensions()
    {
        if (_suspensions is null && !MaySuspend(_root))
            _suspensions = NoSuspensions;
        if (_suspensions is null)
        {
            // Earliest first, so a verdict names the first await/yield the value is live across.
            var list = new List<IOperation>(Facts.Suspensions);
            list.Sort(static (a, b) => a.Syntax.SpanStart.CompareTo(b.Syntax.SpanStart));
            _suspensions = list;
        }

        return _suspensions;
    }

    private static readonly List<IOperation> NoSuspensions = new(0);

    /// <summary>Whether the body may hold an await or yield: every suspension (<c>await</c>, <c>yield return</c>,
    /// <c>await using</c>, <c>await foreach</c>) spells its keyword inside the root's syntax, so a body whose text holds
    /// neither word has none, and a value that does not escape is answered without the body's facts (a walk of every
    /// operation, which most such values never need). A word in a comment, string or name only means asking the facts.</summary>
    private static bool MaySuspend(IOperation root)
    {
        var syntax = root.Syntax;
        if (!syntax.SyntaxTree.TryGetText(out var source))
            return true;
        var text = source.ToString(syntax.FullSpan);
        return text.IndexOf("await", System.StringComparison.Ordinal) >= 0 || text.IndexOf("yield", System.StringComparison.Ordinal) >= 0;
    }

    private static bool SharesLoop(IOperation suspension, IOperation use, IOperation creation)
    {
        for (var loop = suspension.Parent; loop is not null; loop = loop.Parent)
        {
            if (loop is ILoopOperation && Contains(loop, use) && !Contains(loop, creation))
                return true;
        }

        return false;
    }

    private static bool Contains(IOperation outer, IOperation inner) => outer.Syntax.Span.Contains(inner.Syntax.Span);

    /// <summary>The graphs of one body, one per summaries instance (rules that pass none share one too).</summary>
    private sealed class Shelf
    {
        private readonly List<(ParameterSummaries? Summaries, EscapeGraph Graph)> _graphs = new(1);

        public EscapeGraph Get(IOperation root, ParameterSummaries? summaries)
        {
            lock (_graphs)
            {
                foreach (var (s, graph) in _graphs)
                {
                    if (ReferenceEquals(s, summaries))
                        return graph;
                }

                var created = new EscapeGraph(root, summaries, summaryContext: null);
                _graphs.Add((summaries, created));
                return created;
            }
        }
    }
}

/// <summary>A location of the graph: a local or parameter (or pattern/deconstruction variable) holding the
/// value, or a ref local bound to one of its elements. The start of a question is a node without symbol.</summary>
internal sealed class Node
{
    public Node(ISymbol? symbol, bool elementReference)
    {
        Symbol = symbol;
        ElementReference = elementReference;
    }

    public ISymbol? Symbol { get; }

    public bool ElementReference { get; }

    /// <summary>Where its value flows, in the order the uses reach them; null until expanded.</summary>
    public Edge[]? Edges { get; set; }

    /// <summary>The sink its uses reach directly, after every edge (classification stops at the first sink).</summary>
    public SinkInfo? Sink { get; set; }

    // Solve state.
    public bool Done;
    public Trail? Memo;
    public int Epoch;
    public int Index;
    public int Low;
    /// <summary>The lowest search index reached back from below it (int.MaxValue when nothing leads back).</summary>
    public int Reach;
    public int Next;
    public bool OnStack;
}

internal enum StepKind
{
    Assigned,
    PatternVariable,
    Deconstructed,
    LocalFunctionParameter,
    ElementReference,
}

/// <summary>"flows into": the value held at the source reaches <see cref="Target"/> at <see cref="Operation"/>.</summary>
internal sealed class Edge
{
    public Edge(Node target, StepKind kind, IOperation operation)
    {
        Target = target;
        Kind = kind;
        Operation = operation;
    }

    public Node Target { get; }

    public StepKind Kind { get; }

    public IOperation Operation { get; }

    public string Describe()
    {
        var name = Target.Symbol!.Name;
        var line = EscapeEngine.Line(Operation);
        return Kind switch
        {
            StepKind.PatternVariable => $"matched as '{name}' (line {line})",
            StepKind.Deconstructed => $"deconstructed into '{name}' (line {line})",
            StepKind.LocalFunctionParameter => $"passed to local function '{Target.Symbol.ContainingSymbol.Name}' as '{name}' (line {line})",
            StepKind.ElementReference => $"its element is referenced by '{name}' (line {line})",
            _ => $"assigned to '{name}' (line {line})",
        };
    }
}

/// <summary>A path to a sink: edges, then the sink. Shared tails (a memoised node's trail) are reused.</summary>
internal sealed class Trail
{
    public Trail(Edge step, Trail next)
    {
        Step = step;
        Next = next;
        Final = next.Final;
    }

    public Trail(SinkInfo sink) => Final = sink;

    public Edge? Step { get; }

    public Trail? Next { get; }

    public SinkInfo Final { get; }

    public void AppendSteps(List<string> steps)
    {
        for (var t = this; t is not null; t = t.Next)
        {
            if (t.Step is not null)
                steps.Add(t.Step.Describe());
        }

        Final.AppendSteps(steps);
    }
}
