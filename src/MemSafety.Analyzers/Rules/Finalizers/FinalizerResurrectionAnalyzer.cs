using System.Collections.Concurrent;
using System.Collections.Immutable;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Disposal;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.Finalizers;

/// <summary>
/// MSA4009. A finalizer runs after the object became unreachable, on the finalizer thread, in no particular order
/// with the finalizers of the objects it references. Storing <c>this</c> where other code reaches it (a static, a
/// collection, another object's field) brings the object back to life in that state: its finalizable fields may
/// already be finalized, and its own finalizer will not run again unless it re-registers. Reported at each store the
/// finalizer's path makes (<see cref="FinalizerEffectKind.Publication"/>). <c>GC.ReRegisterForFinalize(this)</c>
/// alone is not reported: nothing can reach the object, which is the runtime's own "callback on every GC" pattern.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class FinalizerResurrectionAnalyzer : MemSafetyAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.FinalizerResurrection);

    protected override void Register(AnalysisContext context) => context.RegisterCompilationStartAction(start =>
    {
        var disposal = CompilationServices.Get(start.Compilation, start.Options).Disposal;
        // A store reached from two finalizers (a base type's and a derived type's) is reported once.
        var reported = new ConcurrentDictionary<Location, byte>();
        start.RegisterOperationBlockAction(block => AnalyzeBlock(block, disposal, reported));
    });

    private static void AnalyzeBlock(OperationBlockAnalysisContext context, DisposableTypes disposal, ConcurrentDictionary<Location, byte> reported)
    {
        if (FinalizerBlocks.PathWith(context, disposal, FinalizerEffectKind.Publication, out var type) is not { } path)
            return;

        var reRegisters = path.Has(FinalizerEffectKind.ReRegistration);
        foreach (var effect in path.Effects)
        {
            if (effect.Kind != FinalizerEffectKind.Publication)
                continue;
            var location = effect.Operation.Syntax.GetLocation();
            if (!context.Compilation.ContainsSyntaxTree(location.SourceTree!) || !reported.TryAdd(location, 0))
                continue;
            var where = Describe(effect.Operation) + (effect.Via.Length == 0 ? string.Empty : $" (in {effect.Via})");
            var consequence = reRegisters
                ? "the object becomes reachable again after finalization, while objects it references may already have been finalized, and it is re-registered to be finalized again"
                : "the object becomes reachable again after finalization, while objects it references may already have been finalized, and its finalizer will not run again";
            context.ReportDiagnostic(Diagnostic.Create(RuleCatalogue.FinalizerResurrection, location, type!.Name, where, consequence));
        }
    }

    private static string Describe(IOperation publication)
    {
        switch (publication)
        {
            case IAssignmentOperation { Target: IFieldReferenceOperation field }:
                return $"stores 'this' into {(field.Field.IsStatic ? "static field" : "field")} '{field.Field.Name}'";
            case IAssignmentOperation { Target: IPropertyReferenceOperation property }:
                return $"stores 'this' into {(property.Property.IsStatic ? "static property" : "property")} '{property.Property.Name}'";
            case IAssignmentOperation { Target: IArrayElementReferenceOperation }:
                return "stores 'this' into an array element";
            case IInvocationOperation invocation:
                var callee = invocation.Syntax is InvocationExpressionSyntax { Expression: { } expression } && expression.Span.Length <= 60
                    ? expression.ToString()
                    : invocation.TargetMethod.Name;
                return invocation.TargetMethod.DeclaringSyntaxReferences.Length > 0
                    ? $"passes 'this' to '{callee}', which stores it"
                    : $"passes 'this' to '{callee}'";
            default:
                return "stores 'this'";
        }
    }
}
