using MemSafety.Analyzers.Engines.Disposal;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace MemSafety.Analyzers.Rules.Finalizers;

/// <summary>What the rules that read a finalizer's effects (MSA4003, MSA4009) share: the operation block is a
/// well-formed finalizer of a class, and what its finalization path does.</summary>
internal static class FinalizerBlocks
{
    /// <summary>The finalization path of the class whose finalizer <paramref name="context"/> is, when it has an
    /// effect of <paramref name="kind"/>; null for any other block, a critical finalizable type, or code with errors.</summary>
    public static FinalizationPath? PathWith(OperationBlockAnalysisContext context, DisposableTypes disposal, FinalizerEffectKind kind, out INamedTypeSymbol? type)
    {
        type = null;
        if (context.OwningSymbol is not IMethodSymbol { MethodKind: MethodKind.Destructor, IsExtern: false } finalizer
            || finalizer.ContainingType is not { TypeKind: TypeKind.Class } owner
            || finalizer.DeclaringSyntaxReferences.Length != 1
            || finalizer.DeclaringSyntaxReferences[0].GetSyntax(context.CancellationToken) is not DestructorDeclarationSyntax { ContainsDiagnostics: false })
        {
            return null;
        }

        var facts = disposal.Of(owner);
        if (facts.IsCriticalFinalizable || facts.GetFinalizationPath(context.CancellationToken) is not { } path || !path.Has(kind))
            return null;
        type = owner;
        return path;
    }
}
