using System.Collections.Immutable;
using System.Globalization;
using MemSafety.Analyzers.Engines.Escape;
using MemSafety.Analyzers.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.HeapEscapes;

/// <summary>
/// MSA1003. The runtime puts objects of 85,000 bytes or more on the Large Object Heap (an array's size is
/// its elements plus a 24-byte header on 64-bit): the LOH is collected only with generation 2 and not
/// compacted by default, so a large array allocated per call and dropped triggers full GCs and
/// fragments memory (docs: "Large object heap on Windows systems", learn.microsoft.com/dotnet/standard/garbage-collection/large-object-heap).
/// Reported for non-escaping arrays only; never suggests stackalloc.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class LargeTemporaryArrayAnalyzer : MemSafetyAnalyzer
{
    public const int LargeObjectThreshold = 85000;
    private const int ArrayHeaderBytes = 24;

    private static readonly RuleScopeOption Scope = RuleScopeOption.For(RuleIdentifiers.LargeTemporaryArray, RuleScope.Everywhere);

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.LargeTemporaryArray);

    protected override void Register(AnalysisContext context) => context.RegisterCompilationStartAction(start =>
    {
        var services = CompilationServices.Get(start.Compilation, start.Options);
        var summaries = services.Summaries;
        var oracle = services.HotPaths;
        start.RegisterOperationAction(operation =>
        {
            var creation = (IArrayCreationOperation)operation.Operation;
            if (creation.DimensionSizes.Length != 1 || creation.DimensionSizes[0].ConstantValue is not { HasValue: true, Value: int length })
                return;
            if (creation.Type is not IArrayTypeSymbol { Rank: 1, ElementType: var element })
                return;
            var elementSize = ScratchArrays.SizeOf(element, includeReferences: true);
            if (elementSize == 0 || (long)length * elementSize + ArrayHeaderBytes < LargeObjectThreshold)
                return;
            var scratch = ScratchArrays.TryGet(creation);
            if (scratch is null)
                return;
            var scope = services.ScopeOf(Scope, creation.Syntax.SyntaxTree);
            if (!oracle.IsInScope(scope, creation, operation.ContainingSymbol))
                return;

            // Living across an await is fine for a pooled array: only escaping matters here.
            if (EscapeEngine.ForBodyOf(creation, summaries, operation.CancellationToken).Analyze(creation).Escapes)
                return;

            operation.ReportDiagnostic(Diagnostic.Create(
                RuleCatalogue.LargeTemporaryArray,
                creation.Syntax.GetLocation(),
                scratch.Local.Name,
                length.ToString(CultureInfo.InvariantCulture),
                element.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat),
                ((long)length * elementSize).ToString(CultureInfo.InvariantCulture),
                operation.ContainingSymbol.Name));
        }, OperationKind.ArrayCreation);
    });
}
