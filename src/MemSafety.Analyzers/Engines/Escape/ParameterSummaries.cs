using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Engines.Escape;

/// <summary>What a method does with one of its parameters, as seen by a caller.</summary>
public enum ParameterVerdict
{
    /// <summary>The method may keep it (stores it, passes it on to unknown code, …) or could not be analysed.</summary>
    Retains,
    /// <summary>The method keeps nothing, but may return it: the call's result must be followed.</summary>
    Returns,
    /// <summary>The method only uses it during the call.</summary>
    DoesNotRetain,
}

/// <summary>A summary: the verdict and, when the method keeps the parameter, how (the callee's own escape reason).</summary>
public sealed class ParameterSummary
{
    public static readonly ParameterSummary Unknown = new(ParameterVerdict.Retains, (string?)null);
    public static readonly ParameterSummary Safe = new(ParameterVerdict.DoesNotRetain, (string?)null);
    public static readonly ParameterSummary ReturnsIt = new(ParameterVerdict.Returns, (string?)null);

    private readonly string? _reason;

    public ParameterSummary(ParameterVerdict verdict, string? reason)
    {
        Verdict = verdict;
        _reason = reason;
    }

    /// <summary>The callee keeps it, as <paramref name="callee"/> (the callee's own verdict) says; its
    /// reason and path are rendered only when a caller's diagnostic needs them.</summary>
    internal ParameterSummary(ParameterVerdict verdict, EscapeResult callee)
    {
        Verdict = verdict;
        Callee = callee;
    }

    public ParameterVerdict Verdict { get; }

    /// <summary>Why the callee keeps it ("stored into field '_items'"), or null when unknown.</summary>
    public string? Reason => _reason ?? Callee?.Reason;

    /// <summary>The callee's verdict on its parameter (with its path), when the summary was computed.</summary>
    internal EscapeResult? Callee { get; }

    internal bool HasReason => _reason is not null || Callee is not null;
}

/// <summary>
/// Go's "leaking param" summaries: for a method of the same compilation whose body we can see, whether
/// it keeps a parameter. One instance per compilation, shared by every rule (<see cref="Core.CompilationServices.Summaries"/>);
/// summaries are cached per (method, parameter). Analysis is bounded: callees are followed <see cref="MaxDepth"/>
/// levels deep and recursion is cut; a verdict reached through a cut is conservative (Retains).
/// <para>Every verdict is a function of the question alone, never of what the cache held when it was asked (the
/// rules share one instance and run in any order, so a cache-dependent verdict would make diagnostics differ
/// between two builds of the same code): a verdict computed without any cut is cached with its height (how many
/// levels of summaries it needed) and served only where those levels are still available; one that met the depth
/// limit is cached for the depth it was asked at only; one that met a recursion cut (it depends on the call
/// stack) is not cached.</para>
/// <para>Each request brings its own cancellation token (in its <see cref="SummaryContext"/>): a cancelled request
/// throws <see cref="OperationCanceledException"/> to its own caller and caches nothing it had not finished, so
/// another rule's request is never cancelled by it nor served a summary cut short.</para>
/// </summary>
public sealed class ParameterSummaries
{
    public const int MaxDepth = 3;

    private readonly Compilation _compilation;
    private readonly ConcurrentDictionary<(IMethodSymbol Method, int Ordinal), (ParameterSummary Summary, int Height)> _complete = new();
    private readonly ConcurrentDictionary<(IMethodSymbol Method, int Ordinal, int Depth), ParameterSummary> _atDepth = new();
    private readonly ConcurrentDictionary<SyntaxTree, SemanticModel> _models = new();
    private readonly Func<SyntaxTree, SemanticModel> _createModel;

    public ParameterSummaries(Compilation compilation)
    {
        _compilation = compilation;
#pragma warning disable RS1030 // Do not invoke Compilation.GetSemanticModel() method within a diagnostic analyzer
        _createModel = tree => compilation.GetSemanticModel(tree);
#pragma warning restore RS1030
        Core.CreationCounts.Record(compilation, nameof(ParameterSummaries));
    }

    /// <summary>What <paramref name="method"/> does with its parameter <paramref name="ordinal"/>, for a request
    /// cancelled by <paramref name="cancellationToken"/>.</summary>
    internal ParameterSummary Get(IMethodSymbol method, int ordinal, CancellationToken cancellationToken)
        => Get(method, ordinal, SummaryContext.Root(cancellationToken));

    internal ParameterSummary Get(IMethodSymbol method, int ordinal, SummaryContext context)
    {
        method = method.OriginalDefinition;
        var key = (method, ordinal);

        // The stack first: a summary being computed here is a recursion cut even if another thread has cached it.
        if (context.InProgress.Contains(key))
        {
            context.RecursionCut = true;
            return ParameterSummary.Unknown;
        }

        if (_complete.TryGetValue(key, out var complete) && context.Depth + complete.Height <= MaxDepth)
        {
            context.NoteHeight(complete.Height);
            return complete.Summary;
        }

        if (_atDepth.TryGetValue((method, ordinal, context.Depth), out var limited))
        {
            context.DepthCut = true;
            return limited;
        }

        // A method we cannot see into is Unknown at any depth: cached with height 0, so the checks below run once.
        if (!CanSummarize(method))
        {
            _complete.TryAdd(key, (ParameterSummary.Unknown, 0));
            return ParameterSummary.Unknown;
        }

        if (context.Depth >= MaxDepth)
        {
            context.DepthCut = true;
            return ParameterSummary.Unknown;
        }

        // Before any work, and never caught below: a cancelled request ends here or in Roslyn's binding, and
        // the exception leaves through every level without caching a verdict.
        context.CancellationToken.ThrowIfCancellationRequested();
        var inner = new SummaryContext(context.Depth + 1, context.InProgress, context.CancellationToken);
        inner.InProgress.Add(key);
        var verdict = Compute(method, ordinal, inner);
        inner.InProgress.Remove(key);
        var height = inner.Height + 1;
        context.NoteHeight(height);
        if (inner.RecursionCut)
        {
            context.RecursionCut = true;
            if (inner.DepthCut)
                context.DepthCut = true;
        }
        else if (inner.DepthCut)
        {
            context.DepthCut = true;
            _atDepth.TryAdd((method, ordinal, context.Depth), verdict);
        }
        else
        {
            _complete.TryAdd(key, (verdict, height));
        }

        return verdict;
    }

    private static bool CanSummarize(IMethodSymbol method)
    {
        if (method.IsAbstract || method.IsExtern || method.DeclaringSyntaxReferences.Length != 1)
            return false;
        // A virtual or overridable member may run someone else's body.
        if ((method.IsVirtual || method.IsOverride) && !method.IsSealed && !method.ContainingType.IsSealed)
            return false;
        return method.ContainingType.TypeKind != TypeKind.Interface
            && method.MethodKind is MethodKind.Ordinary or MethodKind.Constructor or MethodKind.StaticConstructor;
    }

    private ParameterSummary Compute(IMethodSymbol method, int ordinal, SummaryContext context)
    {
        var syntax = method.DeclaringSyntaxReferences[0].GetSyntax(context.CancellationToken);
        if (!_compilation.ContainsSyntaxTree(syntax.SyntaxTree))
            return ParameterSummary.Unknown;

        // Binding the callee's body is the cost of interprocedural precision; it happens once per
        // (method, parameter) that receives a candidate value, never for the whole compilation.
        var model = _models.GetOrAdd(syntax.SyntaxTree, _createModel);
        var body = model.GetOperation(syntax, context.CancellationToken);
        if (body is null || ordinal >= method.Parameters.Length)
            return ParameterSummary.Unknown;

        var result = new EscapeEngine(body, this, context).AnalyzeSymbol(method.Parameters[ordinal]);
        if (!result.Escapes)
            return ParameterSummary.Safe;
        if (result.Kind == EscapeKind.Returned && result.Sink is IReturnOperation { Kind: OperationKind.Return } ret && !IsInNestedFunction(ret))
            return ParameterSummary.ReturnsIt;
        return new ParameterSummary(ParameterVerdict.Retains, result);
    }

    private static bool IsInNestedFunction(IOperation operation)
    {
        for (var p = operation.Parent; p is not null; p = p.Parent)
        {
            if (p is IAnonymousFunctionOperation or ILocalFunctionOperation)
                return true;
        }

        return false;
    }
}

/// <summary>The chain of summaries being computed on this call stack, for one request.</summary>
internal sealed class SummaryContext
{
    public SummaryContext(int depth, HashSet<(IMethodSymbol, int)> inProgress, CancellationToken cancellationToken)
    {
        Depth = depth;
        InProgress = inProgress;
        CancellationToken = cancellationToken;
    }

    public static SummaryContext Root(CancellationToken cancellationToken) => new(0, new HashSet<(IMethodSymbol, int)>(new KeyComparer()), cancellationToken);

    public int Depth { get; }

    /// <summary>The token of the request (the analyzer callback) that asked; never shared between requests.</summary>
    public CancellationToken CancellationToken { get; }

    public HashSet<(IMethodSymbol, int)> InProgress { get; }

    /// <summary>Set when a recursion cut (a summary already being computed on this stack) made some verdict
    /// conservative: the verdict depends on the call stack and is not cached.</summary>
    public bool RecursionCut { get; set; }

    /// <summary>Set when the depth limit made some verdict conservative: the verdict holds for this depth only.</summary>
    public bool DepthCut { get; set; }

    /// <summary>The most levels of summaries any summary obtained in this context needed (0: none).</summary>
    public int Height { get; private set; }

    public void NoteHeight(int height)
    {
        if (height > Height)
            Height = height;
    }

    private sealed class KeyComparer : IEqualityComparer<(IMethodSymbol, int)>
    {
        public bool Equals((IMethodSymbol, int) x, (IMethodSymbol, int) y)
            => x.Item2 == y.Item2 && SymbolEqualityComparer.Default.Equals(x.Item1, y.Item1);

        public int GetHashCode((IMethodSymbol, int) obj) => SymbolEqualityComparer.Default.GetHashCode(obj.Item1) * 31 + obj.Item2;
    }
}
