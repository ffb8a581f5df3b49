using System.Collections.Immutable;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Disposal;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.UnsafePointers;

/// <summary>
/// MSA5007. A <c>GCHandle</c> local whose lifetime is wrong (the engine's <see cref="GCHandleLifetime"/>): allocated by
/// <c>GCHandle.Alloc</c> and not freed on some normal path or when a later call throws, while the handle does not
/// escape the local; <c>AddrOfPinnedObject</c>/<c>Target</c> or a second <c>Free</c> where every path has freed it;
/// <c>AddrOfPinnedObject</c> where every path allocated it with a constant type other than <c>Pinned</c>.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class GCHandleLifetimeAnalyzer : MemSafetyAnalyzer
{
    /// <summary>The property the fix reads: which defect a diagnostic reports.</summary>
    public const string KindProperty = "Kind";

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.GCHandleLifetime);

    // Each defect is reported from the operation it is reported at (the Alloc call, the use), so that it is local to it.
    protected override void Register(AnalysisContext context)
    {
        context.RegisterOperationAction(AnalyzeInvocation, OperationKind.Invocation);
        context.RegisterOperationAction(AnalyzeTarget, OperationKind.PropertyReference);
    }

    private static void AnalyzeInvocation(OperationAnalysisContext context)
    {
        var invocation = (IInvocationOperation)context.Operation;
        var method = invocation.TargetMethod;
        if (method.Name is not ("Alloc" or "Free" or "AddrOfPinnedObject") || !GCHandleLifetime.IsGCHandle(method.ContainingType))
            return;
        var local = method.IsStatic ? AllocatedInto(invocation) : (invocation.Instance as ILocalReferenceOperation)?.Local;
        if (local is not null)
            Report(context, local, invocation);
    }

    private static void AnalyzeTarget(OperationAnalysisContext context)
    {
        var property = (IPropertyReferenceOperation)context.Operation;
        if (property.Property.Name == "Target" && property.Instance is ILocalReferenceOperation reference && GCHandleLifetime.IsGCHandle(reference.Type))
            Report(context, reference.Local, property);
    }

    /// <summary>The local that <c>GCHandle.Alloc(…)</c> initializes or is assigned to.</summary>
    private static ILocalSymbol? AllocatedInto(IOperation alloc)
    {
        var value = alloc;
        while (value.Parent is IConversionOperation { OperatorMethod: null } conversion)
            value = conversion;
        return value.Parent switch
        {
            IVariableInitializerOperation { Parent: IVariableDeclaratorOperation declarator } => declarator.Symbol,
            ISimpleAssignmentOperation { Target: ILocalReferenceOperation target } assignment when assignment.Value == value => target.Local,
            _ => null,
        };
    }

    private static void Report(OperationAnalysisContext context, ILocalSymbol local, IOperation site)
    {
        if (GCHandleLifetime.Analyze(local, site, context.CancellationToken) is not { } lifetime)
            return;
        var name = local.Name;
        foreach (var defect in lifetime.Defects)
        {
            if (defect.Site.Syntax != site.Syntax)
                continue;
            var text = defect.Kind switch
            {
                LifetimeDefectKind.NotFreed =>
                    "from GCHandle.Alloc is still allocated where " + defect.Detail + ", and nothing else can free it: "
                    + Consequence(GCHandleLifetime.AllocKindOf(defect)) + "; free the handle in a finally",
                LifetimeDefectKind.NotFreedOnException =>
                    "from GCHandle.Alloc is not freed if '" + MessageText.Quote(defect.Related!) + "' at line " + Line(defect.Related!)
                    + " throws: the exception leaves the method with the handle allocated, and nothing else can free it: "
                    + Consequence(GCHandleLifetime.AllocKindOf(defect)) + "; free the handle in a finally",
                LifetimeDefectKind.UsedAfterFree =>
                    "is used by '" + defect.Detail + "' after every path has freed it ('" + MessageText.Quote(defect.Related!) + "' at line "
                    + Line(defect.Related!) + "): Free zeroes the handle, so this throws InvalidOperationException",
                LifetimeDefectKind.FreedTwice =>
                    "is freed again after every path has freed it ('" + MessageText.Quote(defect.Related!) + "' at line "
                    + Line(defect.Related!) + "): Free zeroes the handle, so this second Free throws InvalidOperationException",
                _ =>
                    "is allocated as GCHandleType." + GCHandleLifetime.AllocKindOf(defect) + " on every path to here ('" + MessageText.Quote(defect.Related!)
                    + "' at line " + Line(defect.Related!) + "): AddrOfPinnedObject throws InvalidOperationException for a handle "
                    + "that is not Pinned; allocate it with GCHandleType.Pinned",
            };
            var additional = defect.Related is { } related ? new[] { related.Syntax.GetLocation() } : null;
            context.ReportDiagnostic(Diagnostic.Create(
                RuleCatalogue.GCHandleLifetime,
                defect.Site.Syntax.GetLocation(),
                additional,
                ImmutableDictionary<string, string?>.Empty.Add(KindProperty, defect.Kind.ToString()),
                name,
                text));
        }
    }

    private static string Consequence(GCHandleAllocKind kind) => kind switch
    {
        GCHandleAllocKind.Pinned => "the pinned object stays alive, and where it is (the GC compacts around it), until the process exits",
        GCHandleAllocKind.Weak => "its entry in the runtime's handle table is never reclaimed",
        _ => "the object it holds stays alive until the process exits",
    };

    private static int Line(IOperation operation) => DisposedOnAllPaths.Line(operation.Syntax);
}
