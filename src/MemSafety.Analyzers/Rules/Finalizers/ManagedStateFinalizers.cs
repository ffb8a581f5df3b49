using System.Threading;
using MemSafety.Analyzers.Engines.Disposal;
using Microsoft.CodeAnalysis;

namespace MemSafety.Analyzers.Rules.Finalizers;

/// <summary>
/// MSA4005's decision, shared with MSA4002 (which leaves such a type's <c>Dispose</c> alone: removing the finalizer
/// is the better fix) and with the fix: a class's own finalizer that does work in this build but only reads and
/// writes the object being finalized (<see cref="FinalizationPath.OnlyTouchesItself"/>: no native call, no other
/// object, no static state, every body it may run seen), in a type with no field assigned a native resource and no
/// pointer or <c>GCHandle</c> field, and no finalizer in a base type.
/// </summary>
internal static class ManagedStateFinalizers
{
    /// <summary>The finalizer's path when the rule applies to the type, else null.</summary>
    public static FinalizationPath? Applies(DisposableType facts, CancellationToken cancellationToken)
    {
        var type = facts.Type;
        if (type.TypeKind != TypeKind.Class || facts.IsSafeHandle || facts.IsCriticalFinalizable || !facts.HasOwnFinalizer
            || facts.GetNonTrivialFinalizer(cancellationToken) is not { } finalizer
            || !SymbolEqualityComparer.Default.Equals(finalizer.ContainingType.OriginalDefinition, type.OriginalDefinition))
        {
            return null;
        }

        for (var t = type.BaseType; t is not null && t.SpecialType != SpecialType.System_Object; t = t.BaseType)
        {
            if (DisposableType.DeclaredFinalizer(t) is not null)
                return null;
        }

        // The path first: most finalizers do something, and it binds only what the finalizer runs, while the native
        // field scan binds every member of the type.
        var path = facts.GetFinalizationPath(cancellationToken);
        if (path is not { OnlyTouchesItself: true })
            return null;
        foreach (var field in facts.HandleFields)
        {
            if (field.Type is IPointerTypeSymbol or IFunctionPointerTypeSymbol || field.Type.Name == "GCHandle")
                return null;
        }

        return facts.GetNativeFields(cancellationToken).IsEmpty ? path : null;
    }
}
