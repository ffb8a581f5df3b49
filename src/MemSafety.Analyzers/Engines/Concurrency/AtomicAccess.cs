using MemSafety.Analyzers.Compat;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Engines.Concurrency;

/// <summary>
/// Facts about atomic accesses that the atomicity rules (MSA6002, MSA6003) share: which field an <c>Interlocked</c> or
/// <c>Volatile</c> call works on, and whether a function runs a hand-written lock-free protocol.
/// </summary>
internal static class AtomicAccess
{
    /// <summary>Whether the call is a method of <c>System.Threading.Interlocked</c> or <c>System.Threading.Volatile</c>.</summary>
    public static bool IsAtomicCall(IInvocationOperation invocation, ConcurrencyTypes types)
    {
        var owner = invocation.TargetMethod.ContainingType;
        return ConcurrencyTypes.Is(owner, types.Interlocked) || ConcurrencyTypes.Is(owner, types.Volatile);
    }

    /// <summary>The field an atomic call's argument passes by reference (<c>ref _n</c>, <c>ref this._n</c>), or null.</summary>
    public static IFieldSymbol? FieldOf(IArgumentOperation argument)
        => argument.Value is IFieldReferenceOperation { Field: var field } && argument.Parameter?.RefKind is RefKind.Ref or RefKind.Out or RefKind.In or RoslynEnums.RefReadOnlyParameter
            ? field
            : null;

    /// <summary>
    /// The function around <paramref name="operation"/> (its lambda, local function or member body) calls
    /// <c>Interlocked</c> or <c>Volatile</c>, or touches a volatile field other than <paramref name="field"/>: a
    /// hand-written lock-free protocol, whose safety rests on invariants not visible in one access — a compare-exchange
    /// that claims the right to write, a single owner thread, a publication order.
    /// </summary>
    public static bool InLockFreeCode(IOperation operation, IFieldSymbol field, ConcurrencyTypes types)
    {
        var root = operation;
        while (root.Parent is { } parent && root is not (IAnonymousFunctionOperation or ILocalFunctionOperation))
            root = parent;
        foreach (var node in root.Descendants())
        {
            switch (node)
            {
                case IInvocationOperation invocation when IsAtomicCall(invocation, types):
                    return true;
                case IFieldReferenceOperation { Field: { IsVolatile: true } other } when !SymbolEqualityComparer.Default.Equals(other, field):
                    return true;
            }
        }

        return false;
    }
}
