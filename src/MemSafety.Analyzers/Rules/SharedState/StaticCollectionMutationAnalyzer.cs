using System.Collections.Immutable;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Concurrency;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.SharedState;

/// <summary>
/// MSA6007. A static <c>List</c>/<c>Dictionary</c>/<c>HashSet</c>/<c>Queue</c>/… changed outside the static constructor
/// and initializers with no lock, in a public static member or in a type that runs code on other threads
/// (see <see cref="StaticCollections"/>).
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class StaticCollectionMutationAnalyzer : MemSafetyAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.StaticCollectionMutation);

    protected override void Register(AnalysisContext context) => context.RegisterCompilationStartAction(start =>
    {
        var collections = StaticCollections.Of(start.Compilation);
        start.RegisterOperationAction(c => AnalyzeCall(c, collections), OperationKind.Invocation);
        start.RegisterOperationAction(c => AnalyzeIndexerWrite(c, collections), OperationKind.SimpleAssignment);
    });

    private static void AnalyzeCall(OperationAnalysisContext context, StaticCollections collections)
    {
        var call = (IInvocationOperation)context.Operation;
        if (!StaticCollections.IsChangeName(call.TargetMethod.Name) || collections.ChangedField(call.Instance) is not { } field)
            return;
        Report(context, field, call.TargetMethod.Name + "()");
    }

    private static void AnalyzeIndexerWrite(OperationAnalysisContext context, StaticCollections collections)
    {
        var assignment = (ISimpleAssignmentOperation)context.Operation;
        if (assignment.Target is not IPropertyReferenceOperation { Property.IsIndexer: true } indexer
            || collections.ChangedField(indexer.Instance) is not { } field)
        {
            return;
        }

        Report(context, field, "its indexer");
    }

    private static void Report(OperationAnalysisContext context, IFieldSymbol field, string change)
    {
        var operation = context.Operation;
        var member = context.ContainingSymbol;
        if (operation.RunsOncePerType(member) || member.ContainingType is not { } type
            || StaticCollections.MayHoldLock(operation, member, context.CancellationToken)
            || StaticCollections.CalledOnlyFromStaticConstructor(member, context.CancellationToken)
            || StaticCollections.Exposure(member, type, context.CancellationToken) is not { } exposure)
        {
            return;
        }

        var memberName = member is IMethodSymbol { AssociatedSymbol: { } property } ? property.Name : member.Name;
        var why = exposure switch
        {
            StaticExposure.PublicStaticMember => "'" + memberName + "' is public and static, and public static members may be called from any thread",
            StaticExposure.DeclaredThreadSafe => "'" + type.Name + "' is [ThreadSafe], so its members may run at the same time",
            _ => "'" + type.Name + "' runs code on other threads or synchronises, so its members may run at the same time",
        };
        context.ReportDiagnostic(Diagnostic.Create(
            RuleCatalogue.StaticCollectionMutation,
            operation.Syntax.GetLocation(),
            field.Name,
            field.Type.OriginalDefinition.Name,
            change,
            why));
    }
}
