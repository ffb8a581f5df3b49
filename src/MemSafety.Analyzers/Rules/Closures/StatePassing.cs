using System.Collections.Generic;
using System.Collections.Immutable;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Bodies;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.Closures;

/// <summary>One lambda argument of a call that will receive the state, with the slot it fills.</summary>
public readonly struct StateLambda
{
    public StateLambda(IAnonymousFunctionOperation lambda, StateSlot slot)
    {
        Lambda = lambda;
        Slot = slot;
    }

    public IAnonymousFunctionOperation Lambda { get; }

    public StateSlot Slot { get; }

    /// <summary>The lambda's existing parameter that receives the state (<see cref="StateOverloadKind.OwnState"/>,
    /// <see cref="StateOverloadKind.ThreadPoolGeneric"/>); null when a parameter is added.</summary>
    public IParameterSymbol? ExistingStateParameter(StateOverloadKind kind)
        => kind == StateOverloadKind.Sibling || Slot.StateIndex >= Lambda.Symbol.Parameters.Length ? null : Lambda.Symbol.Parameters[Slot.StateIndex];
}

/// <summary>
/// MSA3001's decision, shared by the analyzer and its fix: a call whose lambda argument captures locals, parameters
/// or <c>this</c>, where the called method has a state-passing form (<see cref="StateOverloads"/>), and where passing
/// the captured values as state keeps what the lambda sees. A lambda reads a captured variable when it runs, the
/// state is read at the call: the two agree only if nothing writes the variable after the call (or inside a lambda,
/// or, for a mutable struct, through a member), so such captures make the plan fail and nothing is reported.
/// </summary>
public sealed class StatePassingPlan
{
    private StatePassingPlan(IOperation call, IMethodSymbol calledMethod, StateOverload overload, ImmutableArray<StateLambda> lambdas,
        ImmutableArray<ISymbol> captures, bool capturesThis, IArgumentOperation? oldState, bool keepsOldState)
    {
        Call = call;
        CalledMethod = calledMethod;
        Overload = overload;
        Lambdas = lambdas;
        Captures = captures;
        CapturesThis = capturesThis;
        OldState = oldState;
        KeepsOldState = keepsOldState;
    }

    /// <summary>The <see cref="IInvocationOperation"/> or <see cref="IObjectCreationOperation"/>.</summary>
    public IOperation Call { get; }

    public IMethodSymbol CalledMethod { get; }

    public StateOverload Overload { get; }

    /// <summary>Every lambda argument that receives the state (two for <c>AddOrUpdate</c>), in parameter order.</summary>
    public ImmutableArray<StateLambda> Lambdas { get; }

    /// <summary>Captured locals and parameters of all <see cref="Lambdas"/>, in order of first use.</summary>
    public ImmutableArray<ISymbol> Captures { get; }

    public bool CapturesThis { get; }

    /// <summary>The method's own state argument (<see cref="StateOverloadKind.OwnState"/>).</summary>
    public IArgumentOperation? OldState { get; }

    /// <summary>The old state stays in the new state, as its first tuple element: a lambda reads it, or evaluating it
    /// has side effects.</summary>
    public bool KeepsOldState { get; }

    /// <summary>How many values the state carries: one is passed as itself, several as a tuple.</summary>
    public int StateElementCount => Captures.Length + (CapturesThis ? 1 : 0) + (KeepsOldState ? 1 : 0);

    /// <summary>The overload stores the state in the returned task's <c>AsyncState</c> (null before) and the task is
    /// used for more than awaiting it: a fix would change what that property returns.</summary>
    public bool ChangesVisibleAsyncState
        => Overload.StoresAsyncState && !IsDiscardedOrAwaited(Call);

    /// <summary>The first lambda of <see cref="Lambdas"/> that captures something: where the diagnostic goes.</summary>
    public IAnonymousFunctionOperation Reported { get; private set; } = null!;

    // ------------------------------------------------------------------ building the plan

    /// <summary>The plan for the call that <paramref name="lambda"/> is an argument of; null when MSA3001 does not apply
    /// (see the class), or when <paramref name="lambda"/> is not the call's first capturing lambda and
    /// <paramref name="anyLambda"/> is false (the analyzer reports each call once).</summary>
    public static StatePassingPlan? For(IAnonymousFunctionOperation lambda, StateOverloads overloads, bool anyLambda = false)
    {
        // Shape first: a lambda converted to a delegate, passed straight to a method or constructor.
        if (lambda.Parent is not IDelegateCreationOperation { Type.TypeKind: TypeKind.Delegate, Parent: IArgumentOperation { Parameter: { } parameter } argument })
            return null;
        IMethodSymbol? method;
        ImmutableArray<IArgumentOperation> arguments;
        switch (argument.Parent)
        {
            case IInvocationOperation invocation:
                method = invocation.TargetMethod;
                arguments = invocation.Arguments;
                break;
            case IObjectCreationOperation { Constructor: { } constructor } creation:
                method = constructor;
                arguments = creation.Arguments;
                break;
            default:
                return null;
        }

        // The overload first: one table lookup, and most calls that take a lambda (LINQ) have no state-passing form.
        var overload = overloads.Of(method);
        if (overload is null)
            return null;
        var facts = BodyFacts.Of(lambda);
        if (facts.CapturedBy(lambda).Count == 0 && !facts.CapturesThis(lambda))
            return null;

        var slotFound = false;
        foreach (var slot in overload.Slots)
            slotFound |= slot.Parameter == parameter.Ordinal;
        if (!slotFound)
            return null;

        // Every lambda that receives the state: a delegate parameter that changes type needs a lambda to rewrite.
        var lambdas = ImmutableArray.CreateBuilder<StateLambda>(overload.Slots.Length);
        foreach (var slot in overload.Slots)
        {
            // A query clause's lambda is implicit: there is no lambda in the source to rewrite.
            if (ArgumentFor(arguments, slot.Parameter) is not { ArgumentKind: ArgumentKind.Explicit, Value: IDelegateCreationOperation { Target: IAnonymousFunctionOperation { IsImplicit: false, Syntax: AnonymousFunctionExpressionSyntax } target } })
                return null;
            lambdas.Add(new StateLambda(target, slot));
        }

        var captures = new List<ISymbol>();
        var capturesThis = false;
        IAnonymousFunctionOperation? reported = null;
        foreach (var each in lambdas)
        {
            var captured = facts.CapturedBy(each.Lambda);
            var usesThis = facts.CapturesThis(each.Lambda);
            if (reported is null && usesThis)
                reported = each.Lambda;
            capturesThis |= usesThis;
            foreach (var symbol in captured)
            {
                // A constant is compiled into the lambda, not captured.
                if (symbol is ILocalSymbol { IsConst: true })
                    continue;
                if (!captures.ContainsSymbol(symbol))
                    captures.Add(symbol);
                if (reported is null)
                    reported = each.Lambda;
            }
        }

        if (reported is null || !anyLambda && reported != lambda)
            return null;

        foreach (var symbol in captures)
        {
            // Ref locals and ref-like values cannot be captured (code with errors); pointers cannot be type arguments; a
            // dynamic argument would make the call dynamically bound, where lambdas are not allowed.
            if (symbol is ILocalSymbol { IsRef: true } or IParameterSymbol { RefKind: not RefKind.None }
                || TypeOf(symbol) is null or { IsRefLikeType: true } or { TypeKind: TypeKind.Pointer or TypeKind.FunctionPointer or TypeKind.Dynamic })
            {
                return null;
            }
        }

        // A sibling overload the calling code cannot see (a private one of another type) is no alternative.
        if (overload.Kind != StateOverloadKind.OwnState && lambda.Symbol.ContainingType is { } caller
            && lambda.SemanticModel?.Compilation.IsSymbolAccessibleWithin(overload.Method, caller) == false)
        {
            return null;
        }

        // The old state argument: does it stay in the state? A lambda that reads it needs it; an argument with side
        // effects must still be evaluated, where it was.
        IArgumentOperation? oldState = null;
        var keepsOldState = false;
        if (overload.Kind != StateOverloadKind.Sibling)
        {
            foreach (var each in lambdas)
            {
                var existing = each.ExistingStateParameter(overload.Kind);
                if (existing is null)
                    return null;
                keepsOldState |= facts.ReferencesTo(existing).Count > 0;
            }

            if (overload.Kind == StateOverloadKind.OwnState)
            {
                oldState = ArgumentFor(arguments, overload.StateParameter);
                if (oldState is null || oldState.ArgumentKind != ArgumentKind.Explicit)
                    return null;
                keepsOldState |= !IsFreeToDrop(oldState.Value);
            }
            else if (keepsOldState)
            {
                // QueueUserWorkItem(WaitCallback) passes null to the callback: a callback that reads it keeps its meaning only as it is.
                return null;
            }
        }

        var plan = new StatePassingPlan(argument.Parent, method, overload, lambdas.ToImmutable(), captures.ToImmutableArray(), capturesThis, oldState, keepsOldState)
        {
            Reported = reported,
        };

        // An object-typed state carries one reference without allocating; a value or a tuple would be boxed, trading the
        // closure for a box.
        if (overload.ObjectState && (plan.StateElementCount != 1 || !(capturesThis ? ThisIsReference(lambda) : TypeOf(captures[0])!.IsReferenceType)))
            return null;
        if (!plan.LambdasCanBecomeStatic() || !plan.CapturesAreReadOnlyAfterTheCall(facts))
            return null;
        return plan;
    }

    private static IArgumentOperation? ArgumentFor(ImmutableArray<IArgumentOperation> arguments, int ordinal)
    {
        foreach (var argument in arguments)
        {
            if (argument.Parameter?.Ordinal == ordinal)
                return argument;
        }

        return null;
    }

    internal static ITypeSymbol? TypeOf(ISymbol symbol) => symbol switch
    {
        ILocalSymbol local => local.Type,
        IParameterSymbol parameter => parameter.Type,
        _ => null,
    };

    private static bool ThisIsReference(IAnonymousFunctionOperation lambda) => lambda.Symbol.ContainingType is { IsReferenceType: true };

    /// <summary>A value whose evaluation can be dropped: a constant, <c>default</c>, a local or parameter read.</summary>
    private static bool IsFreeToDrop(IOperation value)
    {
        value = value.WithoutImplicitConversions();
        if (value is IConversionOperation { Operand: var operand } && (operand.ConstantValue.HasValue || operand is IDefaultValueOperation))
            return true;
        return value.ConstantValue.HasValue || value is IDefaultValueOperation or ILocalReferenceOperation or IParameterReferenceOperation;
    }

    /// <summary>The lambdas use nothing a static lambda cannot: no <c>base</c> access (a call through the state would
    /// be virtual) and no local function that captures (its environment would be captured too).</summary>
    private bool LambdasCanBecomeStatic()
    {
        foreach (var each in Lambdas)
        {
            foreach (var operation in each.Lambda.Body.DescendantsAndSelf())
            {
                switch (operation)
                {
                    case IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance } reference
                        when reference.Syntax.IsKind(SyntaxKind.BaseExpression):
                        return false;
                    case IInvocationOperation { TargetMethod: { MethodKind: MethodKind.LocalFunction, IsStatic: false } }:
                    case IMethodReferenceOperation { Method: { MethodKind: MethodKind.LocalFunction, IsStatic: false } }:
                        return false;
                }
            }
        }

        return true;
    }

    /// <summary>
    /// Whether every captured variable holds, from the call on, the value it has at the call: nothing writes it (or,
    /// for a mutable struct, mutates it through a member) inside the lambdas, in another function of the body, at or
    /// after the call, or before it on a loop that repeats the call while the variable lives on across iterations.
    /// </summary>
    private bool CapturesAreReadOnlyAfterTheCall(BodyFacts facts)
    {
        var callFunction = Call.EnclosingFunctionOperation();
        var callSpan = Call.Syntax.Span;
        foreach (var symbol in Captures)
        {
            var mutableStruct = IsMutableStruct(TypeOf(symbol)!);
            foreach (var reference in facts.ReferencesTo(symbol))
            {
                if (!IsWrite(reference, facts, symbol) && !(mutableStruct && MayMutateThrough(reference)))
                    continue;
                if (facts.GoToStatements.Count > 0 || reference.Syntax.SpanStart >= callSpan.Start
                    || reference.EnclosingFunctionOperation() != callFunction)
                {
                    return false;
                }

                foreach (var loop in facts.Loops)
                {
                    var loopSpan = loop.Syntax.Span;
                    if (loopSpan.Contains(callSpan) && loopSpan.Contains(reference.Syntax.Span) && !DeclaredWithin(symbol, loop.Body))
                        return false;
                }
            }
        }

        return true;
    }

    private static bool IsWrite(IOperation reference, BodyFacts facts, ISymbol symbol)
    {
        foreach (var write in facts.WritesTo(symbol))
        {
            if (write == reference)
                return true;
        }

        return false;
    }

    private static bool DeclaredWithin(ISymbol symbol, IOperation body)
        => symbol is ILocalSymbol && symbol.DeclaringSyntaxReferences.Length == 1
           && body.Syntax.Span.Contains(symbol.DeclaringSyntaxReferences[0].Span);

    /// <summary>A struct whose members may change it: not readonly, not a primitive or an enum.</summary>
    private static bool IsMutableStruct(ITypeSymbol type)
        => type.IsValueType && !type.IsReadOnly && type.SpecialType == SpecialType.None && type.TypeKind != TypeKind.Enum;

    /// <summary>The reference is the receiver of a member that is not readonly (a call may mutate the struct in place)
    /// or of a field that is written or itself used as such a receiver.</summary>
    private static bool MayMutateThrough(IOperation reference)
    {
        var current = reference;
        while (true)
        {
            switch (current.Parent)
            {
                case IInvocationOperation invocation when invocation.Instance == current:
                    return !invocation.TargetMethod.IsReadOnly;
                case IPropertyReferenceOperation property when property.Instance == current:
                    return property.Property.GetMethod is not { IsReadOnly: true } || IsAssigned(property);
                case IFieldReferenceOperation field when field.Instance == current:
                    if (IsAssigned(field))
                        return true;
                    if (!field.Type!.IsValueType || field.Field.Type.IsReadOnly)
                        return false;
                    current = field;
                    continue;
                case IEventReferenceOperation @event when @event.Instance == current:
                    return true;
                default:
                    return false;
            }
        }
    }

    private static bool IsAssigned(IOperation target)
        => target.Parent switch
        {
            IAssignmentOperation assignment => assignment.Target == target,
            IIncrementOrDecrementOperation => true,
            IArgumentOperation { Parameter.RefKind: RefKind.Ref or RefKind.Out } => true,
            IAddressOfOperation => true,
            _ => false,
        };

    private static bool IsDiscardedOrAwaited(IOperation call)
    {
        var parent = call.Parent;
        if (parent is IInvocationOperation { TargetMethod.Name: "ConfigureAwait" } configure && configure.Instance == call)
            parent = configure.Parent;
        return parent is IExpressionStatementOperation or IAwaitOperation
               || parent is ISimpleAssignmentOperation { Target: IDiscardOperation, Parent: IExpressionStatementOperation } discard && discard.Value == call;
    }
}
