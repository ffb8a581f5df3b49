using System.Collections.Immutable;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Provenance;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.UnsafePointers;

/// <summary>
/// MSA5004. The address a pin object gives — <c>GCHandle.AddrOfPinnedObject()</c> (an <c>IntPtr</c>), a
/// <c>MemoryHandle</c>'s <c>Pointer</c> — is valid only while the pin lasts. Used after the handle's <c>Free</c> /
/// <c>Dispose</c> (dereferenced after a cast back to a pointer, passed to a call, made into a span), returned after it,
/// or still held in a field, it addresses wherever the object was: a compacting collection may move it from then on
/// (Go's uintptr rule: an address kept as an integer does not keep the object in place). Reported from the provenance
/// engine's released <see cref="ProvenanceKind.Pinned"/> origins (<see cref="PointerOrigin.ReleasedAt"/>) on some path.
/// A fixed pointer laundered through an integer and used after its block is MSA5001's.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class ReleasedPinAddressAnalyzer : MemSafetyAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.ReleasedPinAddress);

    protected override void Register(AnalysisContext context)
        => context.RegisterOperationAction(Analyze, OperationKind.Invocation, OperationKind.PropertyReference);

    private static void Analyze(OperationAnalysisContext context)
    {
        var operation = context.Operation;
        var name = operation switch
        {
            IInvocationOperation invocation => invocation.TargetMethod.Name,
            IPropertyReferenceOperation property => property.Property.Name,
            _ => null,
        };
        if (name is not ("AddrOfPinnedObject" or "Pointer")
            || operation.SemanticModel is not { } model
            || PointerProvenance.Of(operation, context.CancellationToken) is not { } provenance)
        {
            return;
        }

        foreach (var escape in provenance.EscapesOf(operation.Syntax))
        {
            if (escape.Origin.ReleasedAt is not { } release || PointerEscapeReports.CompilerAlreadyReports(model, escape, context.CancellationToken))
                continue;
            var how = escape.Kind switch
            {
                PointerEscapeKind.Returned => "is returned",
                PointerEscapeKind.StoredBeyondScope => "is still held in " + escape.Target,
                PointerEscapeKind.CapturedByEscapingDelegate => "is captured by a delegate that is " + escape.Target,
                _ => "is used ('" + Shorten(escape.Site.ToString()) + "' at line " + PointerEscapeReports.Line(escape.Site) + ")",
            };
            context.ReportDiagnostic(Diagnostic.Create(
                RuleCatalogue.ReleasedPinAddress,
                escape.Site.GetLocation(),
                new[] { operation.Syntax.GetLocation(), release.GetLocation() },
                escape.Origin.What,
                Shorten(operation.Syntax.ToString()),
                how,
                Shorten(release.ToString()),
                PointerEscapeReports.Line(release)));
        }
    }

    private static string Shorten(string text)
    {
        text = text.Replace("\r", string.Empty).Replace("\n", " ");
        return text.Length <= 50 ? text : text.Substring(0, 47) + "...";
    }
}
