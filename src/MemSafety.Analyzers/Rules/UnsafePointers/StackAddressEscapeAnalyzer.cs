using System.Collections.Immutable;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Provenance;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace MemSafety.Analyzers.Rules.UnsafePointers;

/// <summary>
/// MSA5002. A pointer <c>stackalloc</c>, <c>&amp;local</c> or <c>&amp;parameter</c> points into the current call's
/// stack frame, which is released when the call returns and reused by the next call. The compiler checks the
/// lifetime of a <c>Span&lt;T&gt;</c> over stackalloc memory (CS8352/CS8353) but not of a pointer, so returning one,
/// storing it where it outlives the call (a field, a static, a ref/out parameter) or capturing it in a delegate that
/// is returned or stored compiles silently and reads another call's data later (Rust: dangling_pointers_from_locals).
/// Reported from the pointer provenance engine: only definite stack origins and definite escapes.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class StackAddressEscapeAnalyzer : MemSafetyAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.StackAddressEscape);

    protected override void Register(AnalysisContext context) => context.RegisterSyntaxNodeAction(
        Analyze, SyntaxKind.StackAllocArrayCreationExpression, SyntaxKind.ImplicitStackAllocArrayCreationExpression, SyntaxKind.AddressOfExpression);

    private static void Analyze(SyntaxNodeAnalysisContext context)
    {
        var node = context.Node;
        // &x in a fixed declarator pins x: MSA5001's business.
        if (node.IsKind(SyntaxKind.AddressOfExpression) && node.Parent is EqualsValueClauseSyntax { Parent: VariableDeclaratorSyntax { Parent.Parent: FixedStatementSyntax } })
            return;
        if (context.SemanticModel.GetOperation(node, context.CancellationToken) is not { Type: IPointerTypeSymbol } operation)
            return;
        if (!PointerSinks.MayEscapeFunction(operation) || PointerProvenance.Of(operation, context.CancellationToken) is not { } provenance)
            return;
        foreach (var escape in provenance.EscapesOf(node))
        {
            if (escape.Origin.Kind != ProvenanceKind.Stack || PointerEscapeReports.CompilerAlreadyReports(context.SemanticModel, escape, context.CancellationToken))
                continue;
            var what = node.IsKind(SyntaxKind.AddressOfExpression) ? escape.Origin.What : "the stackalloc buffer";
            context.ReportDiagnostic(Diagnostic.Create(
                RuleCatalogue.StackAddressEscape,
                escape.Site.GetLocation(),
                new[] { node.GetLocation() },
                what,
                PointerEscapeReports.Line(node),
                PointerEscapeReports.Describe(escape, "the method returns")));
        }
    }
}
