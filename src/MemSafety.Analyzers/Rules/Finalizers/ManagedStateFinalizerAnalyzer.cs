using System.Collections.Immutable;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Disposal;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.Finalizers;

/// <summary>
/// MSA4005. A finalizer exists to release what the garbage collector cannot: native handles and memory. One that
/// only reads and writes the fields of the object being finalized (the classic <c>~T() { Dispose(false); }</c> over
/// a <c>Dispose(bool)</c> that does everything under <c>if (disposing)</c>) releases nothing, yet every instance is
/// registered for finalization at allocation and survives the collection that finds it dead. The decision is
/// <see cref="ManagedStateFinalizers.Applies"/>: the whole path the finalizer may run was seen (no override from
/// another assembly, no library code with unknown effects), no native call, no other object touched, no static
/// state, no field assigned a native resource, no pointer or <c>GCHandle</c> field, no base type's finalizer.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class ManagedStateFinalizerAnalyzer : MemSafetyAnalyzer
{
    /// <summary>Diagnostic property, present when the fix may also delete the type's
    /// <c>GC.SuppressFinalize(this)</c> calls: the type is sealed, or no type can derive from it outside the
    /// compilation and none in it declares a finalizer.</summary>
    public const string RemoveSuppressFinalizeProperty = "RemoveSuppressFinalize";

    private static readonly ImmutableDictionary<string, string?> RemoveSuppressFinalize = ImmutableDictionary<string, string?>.Empty.Add(RemoveSuppressFinalizeProperty, "true");

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.ManagedStateFinalizer);

    protected override void Register(AnalysisContext context) => context.RegisterCompilationStartAction(start =>
    {
        var disposal = CompilationServices.Get(start.Compilation, start.Options).Disposal;
        start.RegisterOperationBlockAction(block => AnalyzeBlock(block, disposal));
    });

    private static void AnalyzeBlock(OperationBlockAnalysisContext context, DisposableTypes disposal)
    {
        if (context.OwningSymbol is not IMethodSymbol { MethodKind: MethodKind.Destructor, IsExtern: false } finalizer
            || finalizer.ContainingType is not { TypeKind: TypeKind.Class } type
            || finalizer.DeclaringSyntaxReferences.Length != 1
            || finalizer.DeclaringSyntaxReferences[0].GetSyntax(context.CancellationToken) is not DestructorDeclarationSyntax declaration
            || declaration.ContainsDiagnostics
            || declaration.Identifier.ValueText != type.Name)
        {
            return;
        }

        var cancellationToken = context.CancellationToken;
        var facts = disposal.Of(type);
        if (ManagedStateFinalizers.Applies(facts, cancellationToken) is not { } path)
            return;

        var runs = FirstCallOnThis(path.Body);
        var what = runs is null
            ? "it changes nothing outside the object being finalized"
            : $"what it runs ('{runs}') changes nothing outside the object being finalized";
        var properties = type.IsSealed || (!DisposableTypes.IsExternallyDerivable(type) && !DerivedTypeHasFinalizer(type, disposal))
            ? RemoveSuppressFinalize
            : ImmutableDictionary<string, string?>.Empty;
        context.ReportDiagnostic(Diagnostic.Create(
            RuleCatalogue.ManagedStateFinalizer,
            declaration.Identifier.GetLocation(),
            properties,
            type.Name,
            what));
    }

    private static bool DerivedTypeHasFinalizer(INamedTypeSymbol type, DisposableTypes disposal)
    {
        foreach (var derived in disposal.DerivedTypesOf(type))
        {
            if (DisposableType.DeclaredFinalizer(derived) is not null)
                return true;
        }

        return false;
    }

    /// <summary>The first method the finalizer calls on <c>this</c>, as written (<c>Dispose(false)</c>).</summary>
    private static string? FirstCallOnThis(IOperation body)
    {
        foreach (var operation in body.DescendantsAndSelf())
        {
            if (operation is IInvocationOperation { Instance: IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance } } invocation)
            {
                var text = invocation.Syntax.ToString();
                return text.Length <= 60 && text.IndexOf('\n') < 0 ? text : invocation.TargetMethod.Name + "(…)";
            }
        }

        return null;
    }
}
