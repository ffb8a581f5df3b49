using System.Collections.Immutable;
using System.Globalization;
using MemSafety.Analyzers.Engines.Escape;
using MemSafety.Analyzers.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.HeapEscapes;

/// <summary>
/// MSA1002. <c>var buffer = new char[length];</c> used as scratch space costs a heap allocation per call.
/// The standard replacement (used throughout the BCL) is a stack buffer below a threshold and a pooled
/// array above it. Reported only where that rewrite is provably safe: the array never escapes, is not
/// live across await/yield, and every use has a span form. Census-style: hot paths by default.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class ScratchBufferAnalyzer : MemSafetyAnalyzer
{
    /// <summary>Diagnostic property: how many elements the fix puts on the stack before renting.</summary>
    public const string StackElementsProperty = "StackElements";

    private static readonly RuleScopeOption Scope = RuleScopeOption.For(RuleIdentifiers.ScratchBuffer, RuleScope.HotPaths);

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.ScratchBuffer);

    protected override void Register(AnalysisContext context) => context.RegisterCompilationStartAction(start =>
    {
        var services = CompilationServices.Get(start.Compilation, start.Options);
        if (services.Types.Span is null || services.Types.ArrayPool is null)
            return;
        var summaries = services.Summaries;
        var oracle = services.HotPaths;
        start.RegisterOperationAction(operation =>
        {
            var creation = (IArrayCreationOperation)operation.Operation;
            if (creation.DimensionSizes.Length != 1 || creation.DimensionSizes[0].ConstantValue.HasValue || creation.Initializer is not null)
                return;
            var tree = creation.Syntax.SyntaxTree;
            // stackalloc inside a conditional expression needs C# 8.
            if (((CSharpParseOptions)tree.Options).LanguageVersion < LanguageVersion.CSharp8)
                return;
            var scratch = ScratchArrays.TryGet(creation);
            if (scratch is null || scratch.InCatchOrFinally || !scratch.InBlock)
                return;
            var elementSize = ScratchArrays.SizeOf(scratch.ElementType);
            if (elementSize == 0)
                return;

            var scope = services.ScopeOf(Scope, tree);
            // The loop test may build the body's control-flow graph (a body with goto): after the cheap tests.
            if (!oracle.IsInScope(scope, creation, operation.ContainingSymbol) || scratch.FunctionIsAsyncOrIterator || scratch.InLoop)
                return;
            if (!EscapeEngine.ForBodyOf(creation, summaries, operation.CancellationToken).Analyze(creation).CanLiveOnStack)
                return;
            if (SpanUses.Classify(scratch.Local, scratch.Root, scratch.Function) is null)
                return;

            var stackElements = System.Math.Max(1, services.OptionsFor(tree).Get(MemSafetyOptions.StackallocMaxBytes) / elementSize);
            operation.ReportDiagnostic(Diagnostic.Create(
                RuleCatalogue.ScratchBuffer,
                creation.Syntax.GetLocation(),
                ImmutableDictionary<string, string?>.Empty.Add(StackElementsProperty, stackElements.ToString(CultureInfo.InvariantCulture)),
                scratch.Local.Name,
                creation.DimensionSizes[0].Syntax.ToString(),
                scratch.ElementType.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat),
                operation.ContainingSymbol.Name));
        }, OperationKind.ArrayCreation);
    });
}
