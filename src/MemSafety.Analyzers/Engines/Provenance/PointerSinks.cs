using System.Collections.Generic;
using System.Runtime.CompilerServices;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Engines.Provenance;

/// <summary>
/// A conservative test, on the operation tree, of whether a pointer made in a region can reach any of the sinks of
/// <see cref="PointerProvenance"/>, so that a region that cannot skips the control-flow graph and the dataflow. The
/// engine moves an origin only through values of a carrier type (<see cref="ProvenanceAnalysis.IsCarrier"/>: a value
/// of any other type evaluates to no origin), and records an escape only at a <c>return</c> (or <c>yield return</c>)
/// of such a value, a store of one into anything but a local (a field, a property, an array element, a static, a
/// <c>ref</c>/<c>out</c> parameter, through a pointer), a delegate made from a lambda or local function, or, for a
/// <c>fixed</c> pointer, a use after the block — which needs a store into a variable declared outside it. A region
/// with none of these has no escape. Anything unusual (deconstruction, invalid code, an unknown type) counts as a sink.
/// </summary>
internal static class PointerSinks
{
    private static readonly ConditionalWeakTable<IOperation, object> s_functions = new();
    private static readonly object s_may = new();
    private static readonly object s_cannot = new();

    [System.ThreadStatic]
    private static List<ILocalSymbol>? t_inside;

    /// <summary>Whether a pointer from a declarator of <paramref name="fixedStatement"/> (the operation of a <c>fixed</c>
    /// statement) may be returned, stored beyond the block, captured, or kept in a variable not declared in the statement
    /// (and so used after it).</summary>
    public static bool MayLeave(IOperation fixedStatement)
    {
        var inside = t_inside ??= new List<ILocalSymbol>();
        inside.Clear();
        var may = Walk(fixedStatement, inside);
        inside.Clear();
        return may;
    }

    /// <summary>Whether anything in the member body that holds <paramref name="operationInFunction"/> (lambdas and local
    /// functions included) may return, store or capture a carrier value: a stack address made there cannot escape
    /// otherwise. Answered once per body.</summary>
    public static bool MayEscapeFunction(IOperation operationInFunction)
    {
        var root = operationInFunction;
        while (root.Parent is { } parent)
            root = parent;
        return s_functions.GetValue(root, static body => Walk(body, inside: null) ? s_may : s_cannot) == s_may;
    }

    /// <param name="inside">The locals declared so far inside the region by a declarator (a store into one of them stays
    /// inside; pattern, <c>out var</c> and <c>foreach</c> variables are not collected, so a store into one counts); null
    /// when every non-ref local and by-value parameter of the function dies with it.</param>
    private static bool Walk(IOperation operation, List<ILocalSymbol>? inside)
    {
        switch (operation)
        {
            case IReturnOperation { ReturnedValue: { } returned } when MayCarry(returned.Type):
            case IDeconstructionAssignmentOperation or IAnonymousFunctionOperation or ILocalFunctionOperation
                or IDelegateCreationOperation or IInvalidOperation:
                return true;
            case IAssignmentOperation assignment when (MayCarry(assignment.Type) || MayCarry(assignment.Value.Type)) && !StaysInside(assignment.Target, inside):
                return true;
            case IVariableDeclaratorOperation declarator when inside is not null:
                inside.Add(declarator.Symbol);
                break;
        }

        foreach (var child in operation.ChildOperations)
        {
            if (Walk(child, inside))
                return true;
        }

        return false;
    }

    private static bool StaysInside(IOperation target, List<ILocalSymbol>? inside) => target switch
    {
        ILocalReferenceOperation { Local: { IsRef: false } local } => inside is null || Contains(inside, local),
        IParameterReferenceOperation { Parameter.RefKind: RefKind.None } => inside is null,
        _ => false,
    };

    private static bool Contains(List<ILocalSymbol> locals, ILocalSymbol local)
    {
        foreach (var candidate in locals)
        {
            if (SymbolEqualityComparer.Default.Equals(candidate, local))
                return true;
        }

        return false;
    }

    private static bool MayCarry(ITypeSymbol? type)
        => type is null or { TypeKind: TypeKind.Error or TypeKind.Dynamic or TypeKind.TypeParameter } || ProvenanceAnalysis.IsCarrier(type);
}
