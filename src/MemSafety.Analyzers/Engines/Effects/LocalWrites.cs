using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Bodies;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Engines.Effects;

/// <summary>
/// Whether a region of a body (a loop, a statement) may change a local or parameter, from
/// <see cref="BodyFacts"/>: no walk of the region, only the symbol's own references, each checked against the
/// region by walking up its parents.
/// </summary>
public static class LocalWrites
{
    /// <summary>
    /// Whether running <paramref name="region"/> may change <paramref name="localOrParameter"/>: it is a
    /// variable of the loop itself (<see cref="ILoopOperation.Locals"/>: a <c>for</c> header's variables, a
    /// <c>foreach</c> variable); or it is a local declared inside the region (each run of the region gives it
    /// a new value); or a write of it lies inside the region (<see cref="BodyFacts.WritesTo"/>: assignments of
    /// every kind, <c>++</c>/<c>--</c>, <c>out</c>/<c>ref</c> arguments, ref aliases); or a lambda or local
    /// function that captures it writes it anywhere (the region may call it, or it may run on another thread);
    /// or it is mentioned anywhere inside a written target in the region. The last is deliberately coarse:
    /// <c>a[i] = x</c> and <c>Fill(out a[i])</c> count as changing both <c>a</c> and <c>i</c>.
    /// </summary>
    public static bool MayChange(IOperation region, ISymbol localOrParameter)
    {
        if (region is ILoopOperation loop)
        {
            foreach (var local in loop.Locals)
            {
                if (SymbolEqualityComparer.Default.Equals(local, localOrParameter))
                    return true;
            }
        }

        if (localOrParameter is ILocalSymbol && IsDeclaredWithin(localOrParameter, region))
            return true;

        var facts = BodyFacts.Of(region);
        foreach (var write in facts.WritesTo(localOrParameter))
        {
            if (IsWithin(write, region) || IsCapturedWrite(write, localOrParameter))
                return true;
        }

        foreach (var reference in facts.ReferencesTo(localOrParameter))
        {
            if (IsInWrittenTargetWithin(reference, region))
                return true;
        }

        return false;
    }

    private static bool IsDeclaredWithin(ISymbol local, IOperation region)
    {
        var syntax = region.Syntax;
        foreach (var declaration in local.DeclaringSyntaxReferences)
        {
            if (declaration.SyntaxTree == syntax.SyntaxTree && syntax.Span.Contains(declaration.Span))
                return true;
        }

        return false;
    }

    /// <summary>A write inside a lambda or local function other than the one that declares the variable.</summary>
    private static bool IsCapturedWrite(IOperation write, ISymbol localOrParameter)
        => write.EnclosingFunction() is { } function && !SymbolEqualityComparer.Default.Equals(function, localOrParameter.ContainingSymbol);

    private static bool IsWithin(IOperation operation, IOperation region)
    {
        for (var current = operation; current is not null; current = current.Parent)
        {
            if (current == region)
                return true;
        }

        return false;
    }

    /// <summary>Whether the reference lies inside the target of an assignment, increment, ref/out argument or
    /// declaration expression that is itself inside the region.</summary>
    private static bool IsInWrittenTargetWithin(IOperation reference, IOperation region)
    {
        var inTarget = false;
        var current = reference;
        if (current == region)
            return false;
        for (var parent = current.Parent; parent is not null; current = parent, parent = parent.Parent)
        {
            inTarget |= IsWrittenChild(parent, current);
            if (parent == region)
                return inTarget;
        }

        return false;
    }

    private static bool IsWrittenChild(IOperation parent, IOperation child) => parent switch
    {
        IAssignmentOperation assignment => assignment.Target == child,
        IIncrementOrDecrementOperation increment => increment.Target == child,
        IArgumentOperation { Parameter.RefKind: RefKind.Ref or RefKind.Out } argument => argument.Value == child,
        IDeclarationExpressionOperation declaration => declaration.Expression == child,
        _ => false,
    };
}
