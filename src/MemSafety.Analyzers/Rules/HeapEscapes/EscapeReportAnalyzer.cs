using System;
using System.Collections.Immutable;
using MemSafety.Analyzers.Engines.Escape;
using MemSafety.Analyzers.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;
using Microsoft.CodeAnalysis.Text;

namespace MemSafety.Analyzers.Rules.HeapEscapes;

/// <summary>
/// MSA1000: our <c>go build -gcflags=-m</c>. For every heap allocation (array, class instance, anonymous
/// object) in hot code it reports the escape engine's verdict and reason (with the locals it went through
/// on the way to its sink, as <c>-m=2</c> does), with the sink as an additional location. Off by default: it is a lens for performance work, not a defect finder.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class EscapeReportAnalyzer : MemSafetyAnalyzer
{
    private const int MaxShownLength = 48;
    private const int ShownWindow = 256;
    private static readonly char[] LineBreaks = { '\r', '\n' };

    private static readonly RuleScopeOption Scope = RuleScopeOption.OwnKeyOnly(RuleIdentifiers.EscapeReport, RuleScope.HotPaths);

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.EscapeReport);

    protected override void Register(AnalysisContext context) => context.RegisterCompilationStartAction(start =>
    {
        var services = CompilationServices.Get(start.Compilation, start.Options);
        var oracle = services.HotPaths;
        var summaries = services.Summaries;
        start.RegisterOperationBlockStartAction(block =>
        {
            if (block.OperationBlocks.IsEmpty)
                return;
            var tree = block.OperationBlocks[0].Syntax.SyntaxTree;
            var scope = services.ScopeOf(Scope, tree);
            // The common case, a cold method under the default scope, costs one cached lookup.
            if (scope == RuleScope.HotPaths && !oracle.IsHot(block.OwningSymbol))
                return;

            EscapeEngine? engine = null;
            var gate = new object();
            block.RegisterOperationAction(operation =>
            {
                var allocation = operation.Operation;
                // Struct construction is not a heap allocation; an attribute application is metadata.
                if (allocation is IObjectCreationOperation { Type.IsReferenceType: false } || allocation.Parent is IAttributeOperation)
                    return;
                if (allocation.Syntax.ContainsDiagnostics || !oracle.IsInScope(scope, allocation, operation.ContainingSymbol))
                    return;

                EscapeResult result;
                lock (gate)
                {
                    engine ??= EscapeEngine.ForBodyOf(allocation, summaries, operation.CancellationToken);
                    result = engine.Analyze(allocation);
                }

                var verdict = result.Escapes
                    ? "escapes: " + result.ExplainBriefly()
                    : result.Suspension is { } suspension
                        ? $"does not escape, but {suspension}, so the state machine keeps it on the heap"
                        : "does not escape: it could be avoided or live on the stack";
                var additional = result.SinkLocation is { } sink ? ImmutableArray.Create(sink) : ImmutableArray<Location>.Empty;
                operation.ReportDiagnostic(Diagnostic.Create(RuleCatalogue.EscapeReport, allocation.Syntax.GetLocation(), additional, Shown(allocation), verdict));
            }, OperationKind.ArrayCreation, OperationKind.ObjectCreation, OperationKind.AnonymousObjectCreation);
        });
    });

    private static string Shown(IOperation allocation)
    {
        // Read only the start of the expression from the source text rather than rendering the whole node: an
        // array initializer can hold thousands of elements. The window decides the result whenever it holds the
        // first line break or enough text to be cut; otherwise (a window of blanks) the whole node is rendered.
        var syntax = allocation.Syntax;
        if (syntax.Span.Length > ShownWindow && syntax.SyntaxTree.TryGetText(out var source))
        {
            var window = source.ToString(new TextSpan(syntax.Span.Start, ShownWindow));
            var newline = window.IndexOfAny(LineBreaks);
            if (newline >= 0 || window.Substring(MaxShownLength).Trim().Length > 0)
                return Shorten(window);
        }

        return Shorten(syntax.ToString());
    }

    private static string Shorten(string text)
    {
        var newline = text.IndexOfAny(LineBreaks);
        if (newline >= 0)
            text = text.Substring(0, newline).TrimEnd() + " …";
        return text.Length <= MaxShownLength ? text : text.Substring(0, MaxShownLength - 1) + "…";
    }
}
