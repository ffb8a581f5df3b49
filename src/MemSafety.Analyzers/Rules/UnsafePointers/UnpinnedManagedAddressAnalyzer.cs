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
/// MSA5003. <c>Unsafe.AsPointer(ref x)</c> converts a managed reference, which the garbage collector reports and
/// updates when it moves the object, into a raw pointer, which it neither reports nor updates. For an element of an
/// array or a field of a class nothing pins the object, so the pointer is only good until the next collection that
/// compacts the heap. Reported when the pointer outlives the expression that made it: used in a later statement,
/// passed to a call (other than the <c>Unsafe</c> intrinsics), returned, stored or captured by an escaping delegate
/// (the provenance engine's <see cref="ProvenanceKind.Unpinned"/> origins). Locals, <c>ref</c> parameters, statics,
/// arrays allocated pinned and objects a surrounding <c>fixed</c> or pinned <c>GCHandle</c> holds are not reported.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class UnpinnedManagedAddressAnalyzer : MemSafetyAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.UnpinnedManagedAddress);

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
        if (name?.Identifier.ValueText != "AsPointer" || node.ArgumentList.Arguments.Count != 1)
            return;
        if (context.SemanticModel.GetOperation(node, context.CancellationToken) is not IInvocationOperation { TargetMethod.ContainingType: { Name: "Unsafe" } } invocation
            || PointerProvenance.Of(invocation, context.CancellationToken) is not { } provenance)
        {
            return;
        }

        var escape = First(provenance, node);
        if (escape is null || PointerEscapeReports.CompilerAlreadyReports(context.SemanticModel, escape, context.CancellationToken))
            return;
        context.ReportDiagnostic(Diagnostic.Create(
            RuleCatalogue.UnpinnedManagedAddress,
            node.GetLocation(),
            new[] { escape.Site.GetLocation() },
            escape.Origin.What,
            PointerEscapeReports.Describe(escape, "the method returns"),
            escape.Origin.Movable));
    }

    /// <summary>The escape the message names: one that leaves the method first (returned, stored, captured), else the
    /// first call or later use.</summary>
    internal static PointerEscape? First(PointerProvenance provenance, SyntaxNode site)
    {
        PointerEscape? first = null;
        foreach (var escape in provenance.EscapesOf(site))
        {
            if (escape.Origin.Kind != ProvenanceKind.Unpinned)
                continue;
            if (first is null || Rank(escape) < Rank(first) || (Rank(escape) == Rank(first) && escape.Site.SpanStart < first.Site.SpanStart))
                first = escape;
        }

        return first;
    }

    private static int Rank(PointerEscape escape) => escape.Kind switch
    {
        PointerEscapeKind.Returned => 0,
        PointerEscapeKind.StoredBeyondScope => 1,
        PointerEscapeKind.CapturedByEscapingDelegate => 2,
        PointerEscapeKind.PassedToCall => 3,
        _ => 4,
    };
}
