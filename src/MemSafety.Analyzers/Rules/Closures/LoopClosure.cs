using System.Collections.Generic;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Bodies;
using MemSafety.Analyzers.Engines.Closures;
using MemSafety.Analyzers.Engines.ControlFlow;
using MemSafety.Analyzers.Engines.Effects;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.Closures;

/// <summary>What a capturing lambda in a loop allocates per iteration (see <see cref="LoopClosure"/>).</summary>
public enum LoopClosureKind
{
    /// <summary>Some captured variable is declared in the loop: each iteration allocates a display class for it and a delegate.</summary>
    DisplayClassPerIteration,

    /// <summary>Everything captured lives outside the loop (one display class), but the compiler creates the delegate anew
    /// on every evaluation (<see cref="DelegateCaching.IsCreatedOnEachEvaluation"/>).</summary>
    DelegatePerIteration,
}

/// <summary>
/// MSA3002's decision, shared by the analyzer and its fix: does a capturing lambda on a loop cycle allocate on every
/// iteration, what, and can its delegate be created once before the loop? Built from <see cref="BodyFacts"/> (captures),
/// <see cref="ClosureFacts"/> (the display classes the lambda uses, where each is allocated), <see cref="LoopCycles"/>
/// (which loops repeat it), <see cref="LocalWrites"/> (what the loop changes) and <see cref="DelegateCaching"/> (whether
/// the compiler caches the delegate in its display class).
/// </summary>
public sealed class LoopClosure
{
    private LoopClosure(LoopClosureKind kind, ILoopOperation loop, IReadOnlyList<ISymbol> captures, bool capturesThis, DisplayClass displayClass)
    {
        Kind = kind;
        Loop = loop;
        Captures = captures;
        CapturesThis = capturesThis;
        DisplayClass = displayClass;
    }

    public LoopClosureKind Kind { get; }

    /// <summary>The loop whose iterations allocate.</summary>
    public ILoopOperation Loop { get; }

    /// <summary>The locals and parameters the lambda captures, in source order.</summary>
    public IReadOnlyList<ISymbol> Captures { get; }

    public bool CapturesThis { get; }

    /// <summary>For <see cref="LoopClosureKind.DelegatePerIteration"/>, the display class that holds the lambda (allocated
    /// outside <see cref="Loop"/>); for <see cref="LoopClosureKind.DisplayClassPerIteration"/>, the one allocated on every
    /// iteration of it.</summary>
    public DisplayClass DisplayClass { get; }

    /// <summary>For <see cref="LoopClosureKind.DisplayClassPerIteration"/>: the captured variables declared in <see cref="Loop"/>.</summary>
    public IReadOnlyList<ISymbol> PerIterationVariables { get; private set; } = System.Array.Empty<ISymbol>();

    /// <summary>For <see cref="LoopClosureKind.DelegatePerIteration"/>: the outermost loop before which the delegate can be
    /// created once (nothing captured changes in it and the lambda calls no local function declared in it); null when
    /// some captured variable changes in <see cref="Loop"/>.</summary>
    public ILoopOperation? HoistBefore { get; private set; }

    /// <summary>For <see cref="LoopClosureKind.DelegatePerIteration"/> without <see cref="HoistBefore"/>: a captured
    /// variable the loop (or a lambda) writes.</summary>
    public ISymbol? ChangedInLoop { get; private set; }

    /// <summary>
    /// The allocation per iteration of a capturing lambda converted to a delegate at <paramref name="creation"/>, or null
    /// when there is none to report: the lambda captures no local or parameter, is not on a loop cycle, the compiler
    /// caches its delegate where its display class lives (outside every loop that repeats it), it calls a local
    /// function (whose captures it then shares, unseen here), or a captured variable's place cannot be told (a
    /// <c>for</c> header or <c>while</c> condition variable).
    /// </summary>
    public static LoopClosure? Analyze(IDelegateCreationOperation creation)
    {
        if (creation.Target is not IAnonymousFunctionOperation lambda || lambda.Symbol.IsStatic)
            return null;
        var facts = BodyFacts.Of(creation);
        var captures = facts.CapturedBy(lambda);
        if (captures.Count == 0)
            return null;

        // The loops that repeat the creation, innermost first.
        var loops = new List<ILoopOperation>();
        for (var loop = LoopCycles.RepeatingLoop(creation); loop is not null; loop = LoopCycles.RepeatingLoop(loop))
            loops.Add(loop);
        if (loops.Count == 0 || CallsLocalFunction(lambda))
            return null;

        // The display classes the lambda uses (outer to inner); the innermost holds it and, perhaps, its delegate.
        var environments = ClosureFacts.Of(creation).EnvironmentsOf(lambda);
        if (environments.Count == 0)
            return null;
        var holder = environments[environments.Count - 1];
        var innermostLoopWithEnvironment = -1;
        foreach (var environment in environments)
        {
            for (var i = 0; i < loops.Count; i++)
            {
                switch (Place(environment.Scope, loops[i]))
                {
                    case Placement.Unknown:
                        return null;
                    case Placement.InsideIteration when innermostLoopWithEnvironment < 0 || i < innermostLoopWithEnvironment:
                        innermostLoopWithEnvironment = i;
                        break;
                }
            }
        }

        var capturesThis = facts.CapturesThis(lambda);
        if (innermostLoopWithEnvironment != 0 && DelegateCaching.IsCreatedOnEachEvaluation(creation, holder.Scope))
        {
            var result = new LoopClosure(LoopClosureKind.DelegatePerIteration, loops[0], captures, capturesThis, holder);
            var outermost = innermostLoopWithEnvironment < 0 ? loops.Count : innermostLoopWithEnvironment;
            for (var i = 0; i < outermost && IsInvariant(captures, loops[i], lambda); i++)
                result.HoistBefore = loops[i];
            if (result.HoistBefore is null)
                result.ChangedInLoop = FirstChanged(captures, loops[0]);
            return result;
        }

        if (innermostLoopWithEnvironment < 0)
            return null;

        // A display class is allocated on every iteration of that loop, and the delegate with it (cached in the display
        // class or not, there is one per display class at least).
        var loopWithEnvironment = loops[innermostLoopWithEnvironment];
        DisplayClass? perIterationClass = null;
        var perIteration = new List<ISymbol>();
        foreach (var environment in environments)
        {
            if (Place(environment.Scope, loopWithEnvironment) != Placement.InsideIteration)
                continue;
            perIterationClass ??= environment;
            foreach (var variable in environment.Variables)
            {
                if (Contains(captures, variable) && !perIteration.ContainsSymbol(variable))
                    perIteration.Add(variable);
            }
        }

        return new LoopClosure(LoopClosureKind.DisplayClassPerIteration, loopWithEnvironment, captures, capturesThis, perIterationClass!)
        {
            PerIterationVariables = perIteration,
        };
    }

    /// <summary>Whether any lambda or local function other than this one (and those nested in it) uses the display class
    /// allocated per iteration: then avoiding this lambda's allocations would not remove it.</summary>
    public bool SharesIterationDisplayClass(IOperation lambda)
    {
        foreach (var function in DisplayClass.Functions)
        {
            if (function != lambda && !function.IsWithin(lambda))
                return true;
        }

        return false;
    }

    private enum Placement { Outside, InsideIteration, Unknown }

    /// <summary>Where a display class's scope lies against a loop: outside it (or in the part that runs once, the foreach
    /// collection or for initializer), inside what repeats (the body, a foreach variable), or unknown (a for statement's
    /// variables, shared by the iterations but written by them; a condition variable of while).</summary>
    private static Placement Place(IOperation variableScope, ILoopOperation loop)
    {
        if (variableScope == loop)
        {
            return loop is IForEachLoopOperation ? Placement.InsideIteration : Placement.Unknown;
        }

        if (!variableScope.IsWithin(loop))
            return Placement.Outside;
        for (IOperation? current = variableScope; current is not null && current != loop; current = current.Parent)
        {
            if (loop is IForEachLoopOperation forEach && current == forEach.Collection
                || loop is IForLoopOperation forLoop && forLoop.Before.Contains(current))
            {
                return Placement.Outside;
            }
        }

        return Placement.InsideIteration;
    }

    private static bool Contains(IReadOnlyList<ISymbol> symbols, ISymbol symbol)
    {
        for (var i = 0; i < symbols.Count; i++)
        {
            if (SymbolEqualityComparer.Default.Equals(symbols[i], symbol))
                return true;
        }

        return false;
    }

    private static bool IsInvariant(IReadOnlyList<ISymbol> captures, ILoopOperation loop, IAnonymousFunctionOperation lambda)
    {
        foreach (var variable in captures)
        {
            if (LocalWrites.MayChange(loop, variable))
                return false;
        }

        return !CallsLocalFunctionDeclaredIn(lambda, loop);
    }

    private static ISymbol? FirstChanged(IReadOnlyList<ISymbol> captures, ILoopOperation loop)
    {
        foreach (var variable in captures)
        {
            if (LocalWrites.MayChange(loop, variable))
                return variable;
        }

        return null;
    }

    /// <summary>A call of (or delegate to) a local function that is not static: the lambda then captures what the local
    /// function captures, which the body's facts do not list as its own captures.</summary>
    internal static bool CallsLocalFunction(IAnonymousFunctionOperation lambda)
    {
        foreach (var operation in lambda.Body.Descendants())
        {
            if (LocalFunctionTarget(operation) is { IsStatic: false })
                return true;
        }

        return false;
    }

    private static bool CallsLocalFunctionDeclaredIn(IAnonymousFunctionOperation lambda, ILoopOperation loop)
    {
        foreach (var operation in lambda.Body.Descendants())
        {
            if (LocalFunctionTarget(operation) is { } localFunction)
            {
                foreach (var declaration in localFunction.DeclaringSyntaxReferences)
                {
                    if (loop.Syntax.Span.Contains(declaration.Span))
                        return true;
                }
            }
        }

        return false;
    }

    private static IMethodSymbol? LocalFunctionTarget(IOperation operation) => operation switch
    {
        IInvocationOperation { TargetMethod.MethodKind: MethodKind.LocalFunction } invocation => invocation.TargetMethod,
        IMethodReferenceOperation { Method.MethodKind: MethodKind.LocalFunction } reference => reference.Method,
        _ => null,
    };
}
