using System.Collections.Immutable;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Disposal;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace MemSafety.Analyzers.Rules.Finalizers;

/// <summary>
/// MSA4004. A class that keeps a native handle in an <c>IntPtr</c> (or descriptor <c>int</c>) field and releases it in
/// its own finalizer: the runtime's answer is a <c>SafeHandle</c> (critical finalization, a reference count that keeps
/// the handle open while a marshalled call uses it). The facts come from <see cref="HandleReleases.InFinalizer"/>: the
/// field is assigned the result of a handle-producing call and passed to a releasing call on the finalizer's path.
/// Whether a fix can be offered is <see cref="SafeHandlePlan"/>'s decision; where it cannot, the message says why.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class RawHandleFieldAnalyzer : MemSafetyAnalyzer
{
    /// <summary>Diagnostic property, present when <see cref="SafeHandlePlan"/> found a complete rewrite.</summary>
    public const string FixableProperty = "Fixable";

    private static readonly ImmutableDictionary<string, string?> Fixable = ImmutableDictionary<string, string?>.Empty.Add(FixableProperty, "true");

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.RawHandleField);

    protected override void Register(AnalysisContext context) => context.RegisterCompilationStartAction(start =>
    {
        var disposal = CompilationServices.Get(start.Compilation, start.Options).Disposal;
        start.RegisterSymbolAction(symbol => Analyze(symbol, disposal), SymbolKind.NamedType);
    });

    private static void Analyze(SymbolAnalysisContext context, DisposableTypes disposal)
    {
        // Most types declare no finalizer: the declared member names say so without building any member.
        if (context.Symbol is not INamedTypeSymbol { TypeKind: TypeKind.Class } type || !DeclaresFinalizer(type))
            return;
        var cancellationToken = context.CancellationToken;
        var facts = disposal.Of(type);
        if (!facts.HasOwnFinalizer || facts.Finalizer!.DeclaringSyntaxReferences.Length != 1
            || facts.Finalizer.DeclaringSyntaxReferences[0].GetSyntax(cancellationToken).ContainsDiagnostics)
        {
            return;
        }

        foreach (var release in HandleReleases.InFinalizer(facts, cancellationToken))
        {
            var field = release.Field;
            if (field.Locations.Length == 0 || !field.Locations[0].IsInSource)
                continue;
            var plan = SafeHandlePlan.Create(disposal, facts, release, cancellationToken);
            var source = release.Acquisition.Source!;
            context.ReportDiagnostic(Diagnostic.Create(
                RuleCatalogue.RawHandleField,
                field.Locations[0],
                plan.CanFix ? Fixable : ImmutableDictionary<string, string?>.Empty,
                field.Name,
                source.ContainingType.Name == "Marshal" || source.ContainingType.Name == "NativeMemory" || source.ContainingType.Name == "NativeLibrary"
                    ? source.ContainingType.Name + "." + source.Name
                    : source.Name,
                type.Name,
                release.Release.TargetMethod.ContainingType.Name is "Marshal" or "NativeMemory" or "NativeLibrary"
                    ? release.Release.TargetMethod.ContainingType.Name + "." + release.Release.TargetMethod.Name
                    : release.Release.TargetMethod.Name,
                release.Via.Length == 0 ? string.Empty : " (through " + release.Via + ")",
                plan.CanFix ? string.Empty : "; no automatic fix: " + plan.NoFixReason));
        }
    }

    private static bool DeclaresFinalizer(INamedTypeSymbol type)
    {
        foreach (var name in type.MemberNames)
        {
            if (name == WellKnownMemberNames.DestructorName)
                return true;
        }

        return false;
    }
}
