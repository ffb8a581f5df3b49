using MemSafety.Analyzers.Engines.ControlFlow;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Core;

public static class OperationExtensions
{
    /// <summary>
    /// Whether the operation runs once per iteration of a loop of its own function: whether it lies on a
    /// cycle of that function's control-flow graph (<see cref="LoopCycles"/>). Code in a loop body that
    /// every path leaves the loop after (return, throw, break, goto out) runs at most once per call; the
    /// collection of a <c>foreach</c> and the initializer of a <c>for</c> run once per loop; a lambda or
    /// local function body is a different function (creating it in a loop repeats, running it does not).
    /// </summary>
    public static bool IsExecutedPerLoopIteration(this IOperation operation) => LoopCycles.IsOnCycle(operation);

    /// <summary>
    /// Whether the operation runs once per type: in a static field or property initializer or a static
    /// constructor, and not inside a lambda or local function there (those run per call).
    /// </summary>
    public static bool RunsOncePerType(this IOperation operation, ISymbol containingSymbol)
        => containingSymbol is IFieldSymbol { IsStatic: true } or IPropertySymbol { IsStatic: true } or IMethodSymbol { MethodKind: MethodKind.StaticConstructor }
           && operation.EnclosingFunction() is null;

    /// <summary>The operation under any implicit conversions: the value as written, with its own type.</summary>
    public static IOperation WithoutImplicitConversions(this IOperation operation)
    {
        while (operation is IConversionOperation { IsImplicit: true } conversion)
            operation = conversion.Operand;
        return operation;
    }

    /// <summary>The top of the operation tree the operation belongs to: the member's body (or initializer)
    /// operation, which holds its lambdas and local functions too.</summary>
    public static IOperation Root(this IOperation operation)
    {
        while (operation.Parent is not null)
            operation = operation.Parent;
        return operation;
    }

    /// <summary>The innermost lambda or local function containing the operation, or null when it is
    /// directly in the member's body.</summary>
    public static IMethodSymbol? EnclosingFunction(this IOperation operation)
        => operation.EnclosingFunctionOperation() switch
        {
            IAnonymousFunctionOperation lambda => lambda.Symbol,
            ILocalFunctionOperation localFunction => localFunction.Symbol,
            _ => null,
        };

    /// <summary>The innermost lambda (<see cref="IAnonymousFunctionOperation"/>) or local function
    /// (<see cref="ILocalFunctionOperation"/>) containing the operation, or null when it is directly in the
    /// member's body: the function operation that <c>BodyFacts</c> answers per-function questions about.</summary>
    public static IOperation? EnclosingFunctionOperation(this IOperation operation)
    {
        for (var parent = operation.Parent; parent is not null; parent = parent.Parent)
        {
            if (parent is IAnonymousFunctionOperation or ILocalFunctionOperation)
                return parent;
        }

        return null;
    }

    /// <summary>The function the operation runs in: the innermost lambda or local function containing it,
    /// else <paramref name="containingSymbol"/> (the member whose body it is).</summary>
    public static ISymbol FunctionOf(this IOperation operation, ISymbol containingSymbol)
        => (ISymbol?)operation.EnclosingFunction() ?? containingSymbol;

    /// <summary>Whether <paramref name="ancestor"/> is the operation itself or one of its parents.</summary>
    public static bool IsWithin(this IOperation operation, IOperation ancestor)
    {
        for (IOperation? current = operation; current is not null; current = current.Parent)
        {
            if (current == ancestor)
                return true;
        }

        return false;
    }
}
