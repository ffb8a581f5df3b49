using System.Collections.Immutable;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Provenance;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.UnsafePointers;

/// <summary>
/// MSA5005. <c>MemoryMarshal.CreateSpan/CreateReadOnlySpan(ref x, n)</c> and <c>Unsafe.AsRef(in x)</c> declare their
/// ref parameter <c>scoped</c>: the compiler assumes the result does not refer to the argument and lets it escape
/// anywhere. Over a by-value local or parameter, a returned or stored result refers to the dead frame (use after
/// return), which <c>new Span&lt;T&gt;(ref x)</c> or a plain <c>ref</c> would have turned into CS8347/CS8352.
/// Reported from the provenance engine's <see cref="ProvenanceKind.Stack"/> origins of those calls. A span made
/// from a stack pointer (<c>new Span&lt;T&gt;(p, n)</c>) is MSA5002's; a span over pinned or unpinned heap memory is
/// tracked by the collector and not reported.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class StackViewEscapeAnalyzer : MemSafetyAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.StackViewEscape);

    protected override void Register(AnalysisContext context) => context.RegisterSyntaxNodeAction(Analyze, SyntaxKind.InvocationExpression);

    private static void Analyze(SyntaxNodeAnalysisContext context)
    {
        var node = (InvocationExpressionSyntax)context.Node;
        var name = node.Expression switch
        {
            MemberAccessExpressionSyntax member => member.Name,
            SimpleNameSyntax simple => simple,
            _ => null,
        };
        if (name?.Identifier.ValueText is not ("CreateSpan" or "CreateReadOnlySpan" or "AsRef"))
            return;
        if (context.SemanticModel.GetOperation(node, context.CancellationToken) is not IInvocationOperation invocation
            || !ProvenanceAnalysis.IsScopedRefView(invocation)
            || PointerProvenance.Of(invocation, context.CancellationToken) is not { } provenance)
        {
            return;
        }

        foreach (var escape in provenance.EscapesOf(node))
        {
            if (escape.Origin.Kind != ProvenanceKind.Stack || PointerEscapeReports.CompilerAlreadyReports(context.SemanticModel, escape, context.CancellationToken))
                continue;
            var method = invocation.TargetMethod;
            context.ReportDiagnostic(Diagnostic.Create(
                RuleCatalogue.StackViewEscape,
                escape.Site.GetLocation(),
                new[] { node.GetLocation() },
                method.Name == "AsRef" ? "reference" : "span",
                method.ContainingType.Name + "." + method.Name,
                escape.Origin.What,
                PointerEscapeReports.Describe(escape, "the method returns")));
        }
    }
}
