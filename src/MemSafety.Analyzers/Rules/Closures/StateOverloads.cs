using System;
using System.Collections.Concurrent;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;

namespace MemSafety.Analyzers.Rules.Closures;

/// <summary>How a state-passing call is reached from the method the user called.</summary>
public enum StateOverloadKind
{
    /// <summary>A sibling overload of the same name takes one more argument, the state, and every delegate parameter
    /// that differs gains one parameter of the state's type (<c>GetOrAdd(key, factory)</c> →
    /// <c>GetOrAdd&lt;TArg&gt;(key, factory, factoryArgument)</c>).</summary>
    Sibling,

    /// <summary>The method itself already passes one of its arguments to its delegates (<c>string.Create(length, state,
    /// action)</c>, <c>new Timer(callback, state, …)</c>): the captured values can travel in that argument.</summary>
    OwnState,

    /// <summary><c>ThreadPool.QueueUserWorkItem(WaitCallback)</c> → <c>QueueUserWorkItem&lt;TState&gt;(Action&lt;TState&gt;,
    /// TState, preferLocal: false)</c>: the callback's own (null) state parameter becomes the state.</summary>
    ThreadPoolGeneric,
}

/// <summary>One delegate parameter of the called method whose lambda receives the state.</summary>
public readonly struct StateSlot
{
    public StateSlot(int parameter, int stateIndex)
    {
        Parameter = parameter;
        StateIndex = stateIndex;
    }

    /// <summary>Ordinal of the delegate parameter in the method the user called.</summary>
    public int Parameter { get; }

    /// <summary>Index of the state among the lambda's parameters once it takes the state: for
    /// <see cref="StateOverloadKind.Sibling"/> a new parameter inserted there, otherwise the existing one.</summary>
    public int StateIndex { get; }
}

/// <summary>The state-passing form of one method definition (see <see cref="StateOverloads"/>).</summary>
public sealed class StateOverload
{
    internal static readonly StateOverload None = new(StateOverloadKind.Sibling, null!, -1, false, -1, ImmutableArray<StateSlot>.Empty);

    public StateOverload(StateOverloadKind kind, IMethodSymbol method, int stateParameter, bool objectState, int stateTypeParameter, ImmutableArray<StateSlot> slots)
    {
        Kind = kind;
        Method = method;
        StateParameter = stateParameter;
        ObjectState = objectState;
        StateTypeParameter = stateTypeParameter;
        Slots = slots;
    }

    public StateOverloadKind Kind { get; }

    /// <summary>The method to call (a definition): the sibling, or the called method itself for <see cref="StateOverloadKind.OwnState"/>.</summary>
    public IMethodSymbol Method { get; }

    /// <summary>Ordinal of the state parameter in <see cref="Method"/>.</summary>
    public int StateParameter { get; }

    /// <summary>The state is typed <c>object</c> (a value type would be boxed); otherwise it is a type parameter of
    /// <see cref="Method"/> (ordinal <see cref="StateTypeParameter"/>), inferred from the argument.</summary>
    public bool ObjectState { get; }

    public int StateTypeParameter { get; }

    /// <summary>The delegate parameters whose lambdas receive the state, in parameter order.</summary>
    public ImmutableArray<StateSlot> Slots { get; }

    /// <summary>The method belongs to Task or TaskFactory: its state overloads also store the state in the returned
    /// task's <c>AsyncState</c>.</summary>
    public bool StoresAsyncState => Method.ContainingType is { ContainingNamespace: { Name: "Tasks", ContainingNamespace: { Name: "Threading", ContainingNamespace: { Name: "System", ContainingNamespace.IsGlobalNamespace: true } } } } type
                                    && type.Name is "Task" or "TaskFactory";
}

/// <summary>
/// Finds, once per method definition and compilation, the form of a method that passes state to its delegate:
/// the method itself when it already takes a state argument that its delegates receive, else a sibling overload of
/// the same name in the same type (source or metadata) with one more parameter, the state (a new type parameter, or
/// <c>object</c>), whose delegate parameters each gain one parameter of that type. Nothing else is assumed about
/// the sibling: overloads with another name (<c>UnsafeRegister</c>) are never proposed.
/// </summary>
public sealed class StateOverloads
{
    private readonly ConcurrentDictionary<IMethodSymbol, StateOverload> _byMethod = new(SymbolEqualityComparer.Default);
    private readonly Func<IMethodSymbol, StateOverload> _find;

    public StateOverloads() => _find = static method => Find(method) ?? StateOverload.None;

    /// <summary>The state-passing form of <paramref name="method"/> (any construction of it), or null.</summary>
    public StateOverload? Of(IMethodSymbol method)
    {
        var found = _byMethod.GetOrAdd(method.OriginalDefinition, _find);
        return ReferenceEquals(found, StateOverload.None) ? null : found;
    }

    private static StateOverload? Find(IMethodSymbol method)
    {
        if (method.MethodKind is not (MethodKind.Ordinary or MethodKind.Constructor) || method.Parameters.IsEmpty)
            return null;
        return OwnState(method) ?? Sibling(method) ?? ThreadPoolGeneric(method);
    }

    // ------------------------------------------------------------------ the method's own state argument

    /// <summary>A parameter typed by a method type parameter T that occurs nowhere else in the signature but as exactly
    /// one parameter of delegate parameters; or an <c>object</c> parameter named <c>state</c> and exactly one delegate
    /// parameter with exactly one <c>object</c> parameter (Timer, Register, StartNew, QueueUserWorkItem's convention).</summary>
    private static StateOverload? OwnState(IMethodSymbol method)
    {
        for (var s = 0; s < method.Parameters.Length; s++)
        {
            var state = method.Parameters[s];
            if (state.RefKind != RefKind.None)
                continue;
            if (state.Type is ITypeParameterSymbol { TypeParameterKind: TypeParameterKind.Method } typeParameter && IsUnconstrained(typeParameter)
                && (NamesState(state.Name) || NamesState(typeParameter.Name)))
            {
                if (ContainsType(method.ReturnType, typeParameter))
                    continue;
                var slots = ImmutableArray.CreateBuilder<StateSlot>();
                var valid = true;
                for (var p = 0; p < method.Parameters.Length && valid; p++)
                {
                    if (p == s)
                        continue;
                    var type = method.Parameters[p].Type;
                    if (!ContainsType(type, typeParameter))
                        continue;
                    var index = type is INamedTypeSymbol { DelegateInvokeMethod: { } invoke } && !ContainsType(invoke.ReturnType, typeParameter)
                        ? SingleParameterOfType(invoke, typeParameter)
                        : -1;
                    if (index < 0)
                        valid = false;
                    else
                        slots.Add(new StateSlot(p, index));
                }

                if (valid && slots.Count > 0)
                    return new StateOverload(StateOverloadKind.OwnState, method, s, objectState: false, typeParameter.Ordinal, slots.ToImmutable());
            }
            else if (state.Type.SpecialType == SpecialType.System_Object && state.Name == "state")
            {
                StateSlot? slot = null;
                for (var p = 0; p < method.Parameters.Length; p++)
                {
                    if (method.Parameters[p].Type is not INamedTypeSymbol { DelegateInvokeMethod: { } invoke })
                        continue;
                    var index = SingleParameterOfType(invoke, null);
                    if (index < 0)
                        continue;
                    if (slot is not null)
                        return null;
                    slot = new StateSlot(p, index);
                }

                if (slot is { } found)
                    return new StateOverload(StateOverloadKind.OwnState, method, s, objectState: true, -1, ImmutableArray.Create(found));
            }
        }

        return null;
    }

    /// <summary>The index of the only parameter of <paramref name="invoke"/> typed <paramref name="type"/> (object when
    /// null), by value; -1 when there is none, several, or the type occurs elsewhere in a parameter.</summary>
    private static int SingleParameterOfType(IMethodSymbol invoke, ITypeParameterSymbol? type)
    {
        var found = -1;
        for (var i = 0; i < invoke.Parameters.Length; i++)
        {
            var parameter = invoke.Parameters[i];
            var matches = type is null ? parameter.Type.SpecialType == SpecialType.System_Object : SymbolEqualityComparer.Default.Equals(parameter.Type, type);
            if (matches && parameter.RefKind == RefKind.None)
            {
                if (found >= 0)
                    return -1;
                found = i;
            }
            else if (type is not null && ContainsType(parameter.Type, type))
            {
                return -1;
            }
        }

        return found;
    }

    // ------------------------------------------------------------------ sibling overloads

    private static StateOverload? Sibling(IMethodSymbol method)
    {
        StateOverload? objectState = null;
        foreach (var member in method.ContainingType.GetMembers(method.Name))
        {
            if (member is not IMethodSymbol candidate || SymbolEqualityComparer.Default.Equals(candidate, method)
                || candidate.MethodKind != method.MethodKind || candidate.IsStatic != method.IsStatic
                || candidate.Parameters.Length != method.Parameters.Length + 1 || IsObsolete(candidate))
            {
                continue;
            }

            if (candidate.TypeParameters.Length == method.TypeParameters.Length + 1)
            {
                // The state's type parameter may be any of the candidate's (TArg is last by convention, not by rule).
                for (var extra = candidate.TypeParameters.Length - 1; extra >= 0; extra--)
                {
                    if (IsUnconstrained(candidate.TypeParameters[extra]) && Match(method, candidate, candidate.TypeParameters[extra]) is { } generic)
                        return generic;
                }
            }
            else if (candidate.TypeParameters.Length == method.TypeParameters.Length && objectState is null)
            {
                objectState = Match(method, candidate, null);
            }
        }

        return objectState;
    }

    /// <summary>Does <paramref name="candidate"/> take <paramref name="method"/>'s parameters in order plus one state
    /// parameter (typed <paramref name="stateType"/>, or object when null), with every delegate parameter that differs
    /// gaining exactly one parameter of the state's type?</summary>
    private static StateOverload? Match(IMethodSymbol method, IMethodSymbol candidate, ITypeParameterSymbol? stateType)
    {
        var map = new TypeMap(method, candidate, stateType);
        if (!map.Same(candidate.ReturnType, method.ReturnType))
            return null;
        for (var s = 0; s < candidate.Parameters.Length; s++)
        {
            var state = candidate.Parameters[s];
            if (state.RefKind != RefKind.None || !IsStateType(state.Type, stateType))
                continue;
            var slots = ImmutableArray.CreateBuilder<StateSlot>();
            var matches = true;
            for (int c = 0, m = 0; c < candidate.Parameters.Length && matches; c++)
            {
                if (c == s)
                    continue;
                var candidateParameter = candidate.Parameters[c];
                var original = method.Parameters[m];
                if (candidateParameter.RefKind != original.RefKind)
                {
                    matches = false;
                }
                else if (!map.Same(candidateParameter.Type, original.Type))
                {
                    var inserted = InsertedStateParameter(candidateParameter.Type, original.Type, stateType, map);
                    if (inserted < 0)
                        matches = false;
                    else
                        slots.Add(new StateSlot(m, inserted));
                }

                m++;
            }

            if (matches && slots.Count > 0)
                return new StateOverload(StateOverloadKind.Sibling, candidate, s, stateType is null, stateType?.Ordinal ?? -1, slots.ToImmutable());
        }

        return null;
    }

    private static bool IsStateType(ITypeSymbol type, ITypeParameterSymbol? stateType)
        => stateType is null ? type.SpecialType == SpecialType.System_Object : SymbolEqualityComparer.Default.Equals(type, stateType);

    /// <summary>Where <paramref name="withState"/> (a delegate) has one more parameter than <paramref name="original"/>,
    /// typed as the state, the other parameters and the return type being the same; -1 otherwise.</summary>
    private static int InsertedStateParameter(ITypeSymbol withState, ITypeSymbol original, ITypeParameterSymbol? stateType, TypeMap map)
    {
        if (withState is not INamedTypeSymbol { DelegateInvokeMethod: { } withInvoke } || original is not INamedTypeSymbol { DelegateInvokeMethod: { } invoke }
            || withInvoke.Parameters.Length != invoke.Parameters.Length + 1 || !map.Same(withInvoke.ReturnType, invoke.ReturnType))
        {
            return -1;
        }

        for (var inserted = 0; inserted < withInvoke.Parameters.Length; inserted++)
        {
            if (withInvoke.Parameters[inserted].RefKind != RefKind.None || !IsStateType(withInvoke.Parameters[inserted].Type, stateType))
                continue;
            var same = true;
            for (int w = 0, o = 0; w < withInvoke.Parameters.Length && same; w++)
            {
                if (w == inserted)
                    continue;
                same = withInvoke.Parameters[w].RefKind == invoke.Parameters[o].RefKind && map.Same(withInvoke.Parameters[w].Type, invoke.Parameters[o].Type);
                o++;
            }

            if (same)
                return inserted;
        }

        return -1;
    }

    // ------------------------------------------------------------------ ThreadPool.QueueUserWorkItem(WaitCallback)

    /// <summary>
    /// <c>QueueUserWorkItem(WaitCallback)</c> queues <c>callBack(null)</c> to the global queue;
    /// <c>QueueUserWorkItem&lt;TState&gt;(Action&lt;TState&gt;, TState, bool preferLocal)</c> with <c>preferLocal: false</c>
    /// does the same with the state (both capture the ExecutionContext; .NET's ThreadPool.cs, both end in
    /// <c>Enqueue(…, forceGlobal: !preferLocal)</c>). The callback's own parameter, always null, becomes the state.
    /// </summary>
    private static StateOverload? ThreadPoolGeneric(IMethodSymbol method)
    {
        if (method is not { Name: "QueueUserWorkItem", IsStatic: true, Parameters.Length: 1, ContainingType: { Name: "ThreadPool", ContainingNamespace: { Name: "Threading", ContainingNamespace: { Name: "System", ContainingNamespace.IsGlobalNamespace: true } } } }
            || method.Parameters[0].Type is not INamedTypeSymbol { Name: "WaitCallback" })
        {
            return null;
        }

        foreach (var member in method.ContainingType.GetMembers(method.Name))
        {
            if (member is IMethodSymbol { TypeParameters.Length: 1, Parameters.Length: 3 } generic
                && generic.Parameters[0].Type is INamedTypeSymbol { Name: "Action", TypeArguments.Length: 1 } action
                && SymbolEqualityComparer.Default.Equals(action.TypeArguments[0], generic.TypeParameters[0])
                && SymbolEqualityComparer.Default.Equals(generic.Parameters[1].Type, generic.TypeParameters[0])
                && generic.Parameters[2] is { Name: "preferLocal", Type.SpecialType: SpecialType.System_Boolean })
            {
                return new StateOverload(StateOverloadKind.ThreadPoolGeneric, generic, 1, objectState: false, 0, ImmutableArray.Create(new StateSlot(0, 0)));
            }
        }

        return null;
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>The method's own argument is only taken for state when its name or its type's says so (<c>state</c>,
    /// <c>factoryArgument</c>, <c>arg1</c>, <c>TState</c>, <c>TArg</c>): a plain <c>Log&lt;T&gt;(T value, Func&lt;T, string&gt;
    /// format)</c> may use the value itself (print it, test it, ask <c>typeof(T)</c>), and a tuple would change that.</summary>
    private static bool NamesState(string name)
        => name.IndexOf("state", StringComparison.OrdinalIgnoreCase) >= 0 || name.IndexOf("arg", StringComparison.OrdinalIgnoreCase) >= 0;

    /// <summary>
    /// A state's type parameter has no constraint (<c>allows ref struct</c> only relaxes): the method can do nothing
    /// with the value but hand it on, which is what makes it state. A constrained one (<c>TBinder : DynamicMetaObjectBinder</c>)
    /// is an argument the method uses itself, and a tuple would not satisfy it.
    /// </summary>
    private static bool IsUnconstrained(ITypeParameterSymbol typeParameter)
        => typeParameter.ConstraintTypes.IsEmpty && !typeParameter.HasReferenceTypeConstraint && !typeParameter.HasValueTypeConstraint
           && !typeParameter.HasUnmanagedTypeConstraint && !typeParameter.HasConstructorConstraint && !typeParameter.HasNotNullConstraint;

    private static bool IsObsolete(ISymbol symbol)
    {
        foreach (var attribute in symbol.GetAttributes())
        {
            if (attribute.AttributeClass is { Name: "ObsoleteAttribute", ContainingNamespace: { Name: "System", ContainingNamespace.IsGlobalNamespace: true } })
                return true;
        }

        return false;
    }

    internal static bool ContainsType(ITypeSymbol type, ITypeSymbol part)
    {
        if (SymbolEqualityComparer.Default.Equals(type, part))
            return true;
        switch (type)
        {
            case IArrayTypeSymbol array:
                return ContainsType(array.ElementType, part);
            case IPointerTypeSymbol pointer:
                return ContainsType(pointer.PointedAtType, part);
            case INamedTypeSymbol { IsGenericType: true } named:
                foreach (var argument in named.TypeArguments)
                {
                    if (ContainsType(argument, part))
                        return true;
                }

                return named.ContainingType is { } outer && ContainsType(outer, part);
            default:
                return false;
        }
    }

    /// <summary>Compares a candidate's types with the method's: the candidate's method type parameters (all but the
    /// state's) stand for the method's of the same position.</summary>
    private readonly struct TypeMap
    {
        private readonly IMethodSymbol _method;
        private readonly IMethodSymbol _candidate;
        private readonly ITypeParameterSymbol? _state;

        public TypeMap(IMethodSymbol method, IMethodSymbol candidate, ITypeParameterSymbol? state)
        {
            _method = method;
            _candidate = candidate;
            _state = state;
        }

        public bool Same(ITypeSymbol candidate, ITypeSymbol original)
        {
            if (candidate is ITypeParameterSymbol { TypeParameterKind: TypeParameterKind.Method } parameter
                && SymbolEqualityComparer.Default.Equals(parameter.DeclaringMethod, _candidate))
            {
                if (SymbolEqualityComparer.Default.Equals(parameter, _state))
                    return false;
                var ordinal = _state is not null && parameter.Ordinal > _state.Ordinal ? parameter.Ordinal - 1 : parameter.Ordinal;
                return ordinal < _method.TypeParameters.Length && SymbolEqualityComparer.Default.Equals(_method.TypeParameters[ordinal], original);
            }

            switch (candidate)
            {
                case IArrayTypeSymbol array:
                    return original is IArrayTypeSymbol other && array.Rank == other.Rank && Same(array.ElementType, other.ElementType);
                case IPointerTypeSymbol pointer:
                    return original is IPointerTypeSymbol otherPointer && Same(pointer.PointedAtType, otherPointer.PointedAtType);
                case INamedTypeSymbol { IsGenericType: true } named:
                    if (original is not INamedTypeSymbol { IsGenericType: true } otherNamed
                        || !SymbolEqualityComparer.Default.Equals(named.OriginalDefinition, otherNamed.OriginalDefinition))
                    {
                        return false;
                    }

                    for (var i = 0; i < named.TypeArguments.Length; i++)
                    {
                        if (!Same(named.TypeArguments[i], otherNamed.TypeArguments[i]))
                            return false;
                    }

                    return named.ContainingType is null || Same(named.ContainingType, otherNamed.ContainingType!);
                default:
                    return SymbolEqualityComparer.Default.Equals(candidate, original);
            }
        }
    }
}
