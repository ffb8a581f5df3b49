using System.Collections.Generic;
using System.Collections.Immutable;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Provenance;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace MemSafety.Analyzers.Rules.UnsafePointers;

/// <summary>
/// MSA5001. <c>fixed</c> pins an array, string or field of a class only until its block ends; then the garbage
/// collector may compact the heap and move the object, and a pointer kept from the block points to whatever the
/// old address holds next (a GC hole: reads see another object's bytes, writes corrupt it). The compiler checks
/// nothing of the kind for pointers. Reported when a pointer (or a pointer-sized integer made from it) is
/// returned, stored where it outlives the block, captured by a delegate that is returned or stored, or used after the
/// block (dereferenced, indexed, passed to a call: the first such use per statement). Only definite movable
/// objects: a fixed over a span, a <c>ref</c> or <c>GetPinnableReference</c> may be stack or native memory (silent),
/// and an array allocated on the pinned object heap never moves (silent).
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class PinnedPointerEscapeAnalyzer : MemSafetyAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.PinnedPointerEscape);

    protected override void Register(AnalysisContext context) => context.RegisterSyntaxNodeAction(Analyze, SyntaxKind.FixedStatement);

    private static void Analyze(SyntaxNodeAnalysisContext context)
    {
        var statement = (FixedStatementSyntax)context.Node;
        if (statement.Declaration.Variables.Count == 0
            || context.SemanticModel.GetOperation(statement.Declaration.Variables[0], context.CancellationToken) is not { } operation
            || (context.SemanticModel.GetOperation(statement, context.CancellationToken) is { } fixedOperation && !PointerSinks.MayLeave(fixedOperation))
            || PointerProvenance.Of(operation, context.CancellationToken) is not { } provenance)
        {
            return;
        }

        PointerEscape? firstUse = null;
        foreach (var declarator in statement.Declaration.Variables)
        {
            foreach (var escape in provenance.EscapesOf(declarator))
            {
                if (PointerEscapeReports.CompilerAlreadyReports(context.SemanticModel, escape, context.CancellationToken))
                    continue;
                if (escape.Kind == PointerEscapeKind.UsedAfterScope)
                {
                    // One report per statement for uses after the block: the fix widens the block over all of them.
                    if (firstUse is null || escape.Site.SpanStart < firstUse.Site.SpanStart)
                        firstUse = escape;
                    continue;
                }

                Report(context, statement, escape);
            }
        }

        if (firstUse is not null)
            Report(context, statement, firstUse);
    }

    private static void Report(SyntaxNodeAnalysisContext context, FixedStatementSyntax statement, PointerEscape escape)
        => context.ReportDiagnostic(Diagnostic.Create(
            RuleCatalogue.PinnedPointerEscape,
            escape.Site.GetLocation(),
            new[] { escape.Origin.Site.GetLocation() },
            escape.Origin.What,
            PointerEscapeReports.Line(statement),
            PointerEscapeReports.Describe(escape, "the block ends"),
            escape.Origin.Movable));
}
