using System.Collections.Generic;
using System.Collections.Immutable;
using MemSafety.Analyzers.Engines.Dataflow;
using MemSafety.Analyzers.Engines.Bodies;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.FlowAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Engines.Provenance;

/// <summary>
/// Forward, "may" analysis over one function's graph: which pointer origins each local, parameter, flow capture and
/// followed member (<see cref="MemberKey"/>) may hold. Transfer walks a top-level operation in evaluation order
/// (children before the parent, the value before the store); with a <see cref="EscapeSink"/> the same walk records
/// escapes, which is how <see cref="PointerProvenance"/> replays each block from its fixed-point start state.
/// Origins are created once per site (reference identity), so states compare cheaply.
/// </summary>
internal sealed class ProvenanceAnalysis : DataflowAnalysis<ProvenanceState>
{
    private readonly Dictionary<object, PointerOrigin> _origins = new();
    private readonly Dictionary<(PointerOrigin, SyntaxNode?), Held> _held = new();
    private readonly Dictionary<CaptureId, IOperation> _captured = new();
    private readonly Dictionary<ISymbol, bool> _pinnedArrays = new(SymbolEqualityComparer.Default);
    private readonly HashSet<PointerOrigin> _pinnedByCaller = new();
    private readonly Dictionary<(PointerOrigin, SyntaxNode), PointerOrigin> _released = new();

    public override DataflowDirection Direction => DataflowDirection.Forward;

    public override ProvenanceState Boundary => ProvenanceState.Empty;

    public override ProvenanceState Bottom => ProvenanceState.Empty;

    public override ProvenanceState Join(ProvenanceState left, ProvenanceState right) => left.Join(right);

    public override bool Same(ProvenanceState left, ProvenanceState right) => left.Same(right);

    public override ProvenanceState Transfer(IOperation operation, ProvenanceState state) => Visit(operation, state, null);

    /// <summary>Receives what the walk finds when replaying a block for escapes.</summary>
    internal interface EscapeSink
    {
        void Use(IOperation use, ImmutableArray<Held> pointer);

        void StoredToHeap(IOperation store, ImmutableArray<Held> value, string target);

        void DelegateCreated(IDelegateCreationOperation creation, ProvenanceState state);
    }

    internal ProvenanceState Visit(IOperation operation, ProvenanceState state, EscapeSink? sink)
    {
        switch (operation)
        {
            case ISimpleAssignmentOperation assignment:
                state = VisitTarget(assignment.Target, state, sink);
                state = Visit(assignment.Value, state, sink);
                if (assignment.IsRef)
                    return Forget(assignment.Target, state);
                return Assign(assignment.Target, FixedOrEval(assignment, state), assignment, state, sink);

            case IFlowCaptureOperation capture:
                state = Visit(capture.Value, state, sink);
                _captured[capture.Id] = capture.Value;
                return state.Set(capture.Id, Eval(capture.Value, state));

            case IDelegateCreationOperation creation:
                sink?.DelegateCreated(creation, state);
                return state;

            case IFlowAnonymousFunctionOperation:
                return state;

            case IDeconstructionAssignmentOperation deconstruction:
                state = VisitChildren(deconstruction, state, sink);
                return ForgetAll(deconstruction.Target, state);

            case IArgumentOperation { Parameter.RefKind: RefKind.Ref or RefKind.Out } argument:
                state = VisitChildren(argument, state, sink);
                return Forget(argument.Value, state);

            case IDeclarationExpressionOperation or IPatternOperation:
                return ForgetAll(operation, VisitChildren(operation, state, sink));

            case IBinaryOperation { OperatorKind: BinaryOperatorKind.Subtract, LeftOperand.Type: IPointerTypeSymbol, RightOperand.Type: IPointerTypeSymbol } difference:
                state = VisitChildren(difference, state, sink);
                NoteCallerPointerDifference(difference.LeftOperand, difference.RightOperand, state);
                NoteCallerPointerDifference(difference.RightOperand, difference.LeftOperand, state);
                return state;
        }

        state = VisitChildren(operation, state, sink);
        if (sink is not null)
            ReportUses(operation, state, sink);
        if (operation is IInvocationOperation release && PinReleasedBy(release) is { } owner)
            state = Release(state, owner, release.Syntax);
        return state;
    }

    /// <summary>The pin-owning local that <paramref name="call"/> releases: <c>h.Free()</c> on a <c>GCHandle</c>,
    /// <c>m.Dispose()</c> on a <c>MemoryHandle</c> (also the implicit one of <c>using</c>).</summary>
    private static ILocalSymbol? PinReleasedBy(IInvocationOperation call)
    {
        var instance = call.Instance;
        while (instance is IConversionOperation conversion)
            instance = conversion.Operand;
        if (instance is not ILocalReferenceOperation { Local: { IsRef: false } local })
            return null;
        return call.TargetMethod.Name switch
        {
            "Free" when IsPinType(local.Type, "GCHandle", "InteropServices") => local,
            "Dispose" when IsPinType(local.Type, "MemoryHandle", "Buffers") => local,
            _ => null,
        };
    }

    private static bool IsPinType(ITypeSymbol? type, string name, string innerNamespace) => type is INamedTypeSymbol
    {
        Name: var typeName, Arity: 0,
        ContainingNamespace: { Name: var ns, ContainingNamespace: var outer },
    } && typeName == name && ns == innerNamespace
        && (innerNamespace == "Buffers"
            ? outer is { Name: "System", ContainingNamespace.IsGlobalNamespace: true }
            : outer is { Name: "Runtime", ContainingNamespace: { Name: "System", ContainingNamespace.IsGlobalNamespace: true } });

    /// <summary>After <paramref name="at"/> releases <paramref name="owner"/>'s pin, every value that carries one of its
    /// addresses carries the released copy of that origin instead (kept where it is stored, for the escape).</summary>
    private ProvenanceState Release(ProvenanceState state, ISymbol owner, SyntaxNode at)
    {
        foreach (var pair in state.Map)
        {
            ImmutableArray<Held>.Builder? builder = null;
            for (var i = 0; i < pair.Value.Length; i++)
            {
                var h = pair.Value[i];
                if (h.Origin.ReleasedAt is null && SymbolEqualityComparer.Default.Equals(h.Origin.PinOwner, owner))
                {
                    if (builder is null)
                    {
                        builder = ImmutableArray.CreateBuilder<Held>(pair.Value.Length);
                        for (var j = 0; j < i; j++)
                            builder.Add(pair.Value[j]);
                    }

                    AddOnce(builder, ReleasedHeld(h, at));
                }
                else if (builder is not null)
                {
                    AddOnce(builder, h);
                }
            }

            // A value that already carried the released copy (a loop that frees again, joined at its head) keeps one:
            // a value holding the same origin twice would never compare equal to the state before, and the solver
            // would not stop (found by the fuzzer: a Free inside a loop).
            if (builder is not null)
                state = state.Set(pair.Key, builder.ToImmutable());
        }

        return state;
    }

    private static void AddOnce(ImmutableArray<Held>.Builder builder, Held held)
    {
        for (var i = 0; i < builder.Count; i++)
        {
            if (ReferenceEquals(builder[i], held))
                return;
        }

        builder.Add(held);
    }

    private Held ReleasedHeld(Held h, SyntaxNode at)
    {
        var originKey = (h.Origin, at);
        if (!_released.TryGetValue(originKey, out var released))
        {
            _released[originKey] = released = new PointerOrigin(h.Origin.Kind, h.Origin.Site, h.Origin.Scope, h.Origin.What, h.Origin.Movable,
                h.Origin.PinOwner, at, h.Origin);
        }

        var key = (released, h.StoredAt);
        if (!_held.TryGetValue(key, out var held))
            _held[key] = held = new Held(released, h.StoredAt, h.Target);
        return held;
    }

    /// <summary>The address a pin object held in a local gives: <c>h.AddrOfPinnedObject()</c> of a <c>GCHandle</c>,
    /// <c>m.Pointer</c> of a <c>MemoryHandle</c>.</summary>
    private PointerOrigin? PinObjectOrigin(IOperation value, IOperation? instance, string typeName, string innerNamespace)
    {
        while (instance is IConversionOperation conversion)
            instance = conversion.Operand;
        if (instance is not ILocalReferenceOperation { Local: { IsRef: false } local } || !IsPinType(local.Type, typeName, innerNamespace))
            return null;
        if (!_origins.TryGetValue(value.Syntax, out var origin))
        {
            _origins[value.Syntax] = origin = new PointerOrigin(ProvenanceKind.Pinned, value.Syntax, null,
                "the object pinned by '" + local.Name + "'", "object", local);
        }

        return origin;
    }

    private ProvenanceState VisitChildren(IOperation operation, ProvenanceState state, EscapeSink? sink)
    {
        foreach (var child in operation.ChildOperations)
            state = Visit(child, state, sink);
        return state;
    }

    /// <summary>The parts of an assignment's target evaluated before its value (instance, indices), not the target itself.</summary>
    private ProvenanceState VisitTarget(IOperation target, ProvenanceState state, EscapeSink? sink)
    {
        switch (target)
        {
            case ILocalReferenceOperation or IParameterReferenceOperation or IFlowCaptureReferenceOperation or IInstanceReferenceOperation:
                return state;
            case IMemberReferenceOperation member:
                state = member.Instance is { } instance ? VisitTarget(instance, state, sink) : state;
                if (member is IPropertyReferenceOperation property)
                {
                    foreach (var argument in property.Arguments)
                        state = Visit(argument, state, sink);
                    // span[i] = v writes through the span's pointer.
                    if (sink is not null)
                        ReportUses(property, state, sink);
                }

                return state;
            case IArrayElementReferenceOperation element:
                state = Visit(element.ArrayReference, state, sink);
                foreach (var index in element.Indices)
                    state = Visit(index, state, sink);
                return state;
            default:
                // A pointer indirection or element access as target: its pointer operand is read (and, after the
                // block, used), which the generic walk reports.
                state = VisitChildren(target, state, sink);
                if (sink is not null)
                    ReportUses(target, state, sink);
                return state;
        }
    }

    private ImmutableArray<Held> FixedOrEval(ISimpleAssignmentOperation assignment, ProvenanceState state)
    {
        if (assignment.Target is ILocalReferenceOperation { Local.IsFixed: true }
            && assignment.Syntax is VariableDeclaratorSyntax { Parent.Parent: FixedStatementSyntax fixedStatement } declarator)
        {
            return FixedOrigin(assignment.Value, declarator, fixedStatement) is { } origin ? One(origin) : ImmutableArray<Held>.Empty;
        }

        return Eval(assignment.Value, state);
    }

    private ProvenanceState Assign(IOperation target, ImmutableArray<Held> value, IOperation store, ProvenanceState state, EscapeSink? sink)
    {
        switch (target)
        {
            case ILocalReferenceOperation local:
                return local.Local.IsRef ? state : state.Set(local.Local, value);

            case IParameterReferenceOperation parameter when parameter.Parameter.RefKind == RefKind.None:
                return state.Set(parameter.Parameter, value);

            case IParameterReferenceOperation parameter when parameter.Parameter.RefKind is RefKind.Ref or RefKind.Out:
                return state.Set(parameter.Parameter, Stored(value, store, "parameter '" + parameter.Parameter.Name + "'"));

            case IFlowCaptureReferenceOperation capture:
                return _captured.TryGetValue(capture.Id, out var captured) && captured is ILocalReferenceOperation or IParameterReferenceOperation or IMemberReferenceOperation
                    ? Assign(captured, value, store, state, sink)
                    : state;

            case IFieldReferenceOperation or IPropertyReferenceOperation { Arguments.Length: 0 }:
            {
                var member = (IMemberReferenceOperation)target;
                var key = KeyOf(member, elements: false);
                if (key is null)
                {
                    // A store into an object only reachable through an expression (another object's field, a call's
                    // result): the object is on the heap, the store cannot be followed to a later clearing.
                    if (!value.IsDefaultOrEmpty && member.Instance is { Type.IsReferenceType: true } instance && instance is not IInstanceReferenceOperation)
                        sink?.StoredToHeap(store, value, Describe(member));
                    return state;
                }

                return state.Set(key, key.OutlivesFunction ? Stored(value, store, Describe(member)) : value);
            }

            case IArrayElementReferenceOperation element when element.ArrayReference is IFieldReferenceOperation arrayField:
            {
                var key = KeyOf(arrayField, elements: true);
                if (key is null)
                    return state;
                // Elements are one location: a later store of anything else into any element clears it (precision
                // over recall: the array's other elements may still hold the pointer).
                return state.Set(key, Stored(value, store, "an element of " + Describe(arrayField)));
            }

            default:
                return state;
        }
    }

    private static string Describe(IMemberReferenceOperation member)
        => (member is IPropertyReferenceOperation ? "property '" : "field '") + member.Member.Name + "'";

    /// <summary>The followed location of a member: of <c>this</c> (which outlives the function: the object, or for a
    /// struct the caller's variable), static, of a reference-type parameter (the caller's object), or of a by-value
    /// struct local or parameter (dies with the frame). Null for anything else.</summary>
    private static MemberKey? KeyOf(IMemberReferenceOperation member, bool elements)
    {
        if (member.Member.IsStatic)
            return new MemberKey(null, member.Member, elements, outlivesFunction: true);
        switch (member.Instance)
        {
            case IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance }:
                return new MemberKey(null, member.Member, elements, outlivesFunction: true);
            case IParameterReferenceOperation { Parameter: var p }:
                if (p.Type.IsReferenceType || p.RefKind != RefKind.None)
                    return new MemberKey(p, member.Member, elements, outlivesFunction: true);
                return p.Type.IsValueType ? new MemberKey(p, member.Member, elements, outlivesFunction: false) : null;
            case ILocalReferenceOperation { Local: { IsRef: false, Type.IsValueType: true } local }:
                return new MemberKey(local, member.Member, elements, outlivesFunction: false);
            default:
                return null;
        }
    }

    private ImmutableArray<Held> Stored(ImmutableArray<Held> value, IOperation store, string target)
    {
        if (value.IsDefaultOrEmpty)
            return value;
        var builder = ImmutableArray.CreateBuilder<Held>(value.Length);
        foreach (var h in value)
        {
            var key = (h.Origin, store.Syntax);
            if (!_held.TryGetValue(key, out var stored))
                _held[key] = stored = new Held(h.Origin, store.Syntax, target);
            builder.Add(stored);
        }

        return builder.MoveToImmutable();
    }

    private static ProvenanceState Forget(IOperation target, ProvenanceState state) => target switch
    {
        ILocalReferenceOperation or IParameterReferenceOperation => state.Set(Variables.Of(target)!, default),
        IMemberReferenceOperation member when KeyOf(member, elements: false) is { } key => state.Set(key, default),
        _ => state,
    };

    private static ProvenanceState ForgetAll(IOperation operation, ProvenanceState state)
    {
        foreach (var descendant in operation.DescendantsAndSelf())
        {
            if (descendant is ILocalReferenceOperation or IParameterReferenceOperation)
                state = Forget(descendant, state);
            else if (descendant is IDeclarationPatternOperation { DeclaredSymbol: ILocalSymbol declared })
                state = state.Set(declared, default);
        }

        return state;
    }

    /// <summary>Whether a pinned origin's pointer was subtracted from (or was subtracted from) a pointer the caller
    /// passed in: the difference only means something when both point into the same object, so the caller holds a
    /// pointer into it and must have it pinned for the call (System.Private.Xml's <c>byte* WriteNewLine(byte* pDst)</c>
    /// computes <c>pDst - pDstBegin</c> inside its own fixed over the buffer and returns <c>pDstBegin + _bufPos</c>).
    /// A pointer returned to that caller stays valid under its pin.</summary>
    internal bool IsPinnedByCaller(PointerOrigin origin) => _pinnedByCaller.Contains(origin);

    private void NoteCallerPointerDifference(IOperation callers, IOperation pinned, ProvenanceState state)
    {
        var operand = Unconverted(callers);
        if (operand is not IParameterReferenceOperation { Parameter: { RefKind: RefKind.None, Type: IPointerTypeSymbol } parameter }
            || !state.Get(parameter).IsEmpty)
        {
            return;
        }

        foreach (var h in Eval(pinned, state))
        {
            if (h.Origin.Kind == ProvenanceKind.Pinned)
                _pinnedByCaller.Add(h.Origin);
        }
    }

    // ------------------------------------------------------------------ values

    /// <summary>The origins the value may carry: a pointer, a pointer-sized integer cast from one, or a span over one.</summary>
    internal ImmutableArray<Held> Eval(IOperation? value, ProvenanceState state)
    {
        switch (value)
        {
            case null:
                return ImmutableArray<Held>.Empty;
            case ILocalReferenceOperation local:
                return local.Local.IsRef ? ImmutableArray<Held>.Empty : state.Get(local.Local);
            case IParameterReferenceOperation parameter:
            {
                var held = state.Get(parameter.Parameter);
                if (!held.IsEmpty || parameter.Parameter.RefKind != RefKind.None)
                    return held;
                // An IntPtr parameter: by convention a native handle or address (the caller's business to keep valid).
                return parameter.Parameter.Type.SpecialType is SpecialType.System_IntPtr or SpecialType.System_UIntPtr
                    ? One(Origin(parameter.Parameter, ProvenanceKind.Native, parameter.Syntax, null, "parameter '" + parameter.Parameter.Name + "'"))
                    : held;
            }

            case IFlowCaptureReferenceOperation capture:
                return state.Get(capture.Id);
            case IConversionOperation conversion:
                return IsCarrier(conversion.Type) ? Eval(conversion.Operand, state) : ImmutableArray<Held>.Empty;
            case IBinaryOperation binary:
                return BinaryOperand(binary) is { } operand ? Eval(operand, state) : ImmutableArray<Held>.Empty;
            case ISimpleAssignmentOperation assignment:
                return Eval(assignment.Value, state);
            case IIncrementOrDecrementOperation { Type: IPointerTypeSymbol } increment:
                // p++ and ++p move within the same memory.
                return Eval(increment.Target, state);
            case ICompoundAssignmentOperation { Type: IPointerTypeSymbol } compound:
                return Eval(compound.Target, state);
            case IConditionalOperation conditional:
                // Only in an original tree (OriginsOf): the graph splits ?: into flow captures.
                return ProvenanceState.Union(Eval(conditional.WhenTrue, state), Eval(conditional.WhenFalse, state));
            case ICoalesceOperation coalesce:
                return ProvenanceState.Union(Eval(coalesce.Value, state), Eval(coalesce.WhenNull, state));
            case IAddressOfOperation addressOf:
                return AddressOrigin(addressOf) is { } address ? One(address) : ImmutableArray<Held>.Empty;
            case IInvocationOperation invocation:
                return EvalCall(invocation, state);
            case IObjectCreationOperation creation:
                return PointerArgumentOfCarrierConstructor(creation) is { } pointer
                    ? IsSpan(creation.Type) ? SpanOver(Eval(pointer, state)) : Eval(pointer, state)
                    : ImmutableArray<Held>.Empty;
            case IPropertyReferenceOperation { Property.Name: "Pointer", Arguments.Length: 0 } handlePointer
                when PinObjectOrigin(handlePointer, handlePointer.Instance, "MemoryHandle", "Buffers") is { } pinned:
                return One(pinned);
            case IMemberReferenceOperation member when KeyOf(member, elements: false) is { } key:
                return Unstored(state.Get(key));
            default:
                if (value.Kind == OperationKind.None && value.Type is IPointerTypeSymbol
                    && value.Syntax is StackAllocArrayCreationExpressionSyntax or ImplicitStackAllocArrayCreationExpressionSyntax)
                {
                    return One(Origin(value.Syntax, ProvenanceKind.Stack, value.Syntax, null, "the stackalloc buffer"));
                }

                return ImmutableArray<Held>.Empty;
        }
    }

    /// <summary>A value read back from a member: the same origins, no longer tied to the store.</summary>
    private ImmutableArray<Held> Unstored(ImmutableArray<Held> held)
    {
        if (held.IsDefaultOrEmpty)
            return ImmutableArray<Held>.Empty;
        var builder = ImmutableArray.CreateBuilder<Held>(held.Length);
        foreach (var h in held)
            builder.Add(Plain(h.Origin));
        return builder.MoveToImmutable();
    }

    /// <summary>Types that can carry an address: pointers, pointer-sized and 64-bit integers, spans.</summary>
    internal static bool IsCarrier(ITypeSymbol? type) => type is IPointerTypeSymbol
        || type?.SpecialType is SpecialType.System_IntPtr or SpecialType.System_UIntPtr or SpecialType.System_Int64 or SpecialType.System_UInt64
        || IsSpan(type);

    private static bool IsSpan(ITypeSymbol? type) => type is INamedTypeSymbol { Name: "Span" or "ReadOnlySpan", Arity: 1, ContainingNamespace: { Name: "System", ContainingNamespace.IsGlobalNamespace: true } };

    /// <summary>Pointer arithmetic keeps the pointer's origin (<c>p + i</c>, <c>ip + n</c>); a difference of two
    /// pointers or a comparison is a number, not an address.</summary>
    private static IOperation? BinaryOperand(IBinaryOperation binary)
    {
        if (binary.Type is IPointerTypeSymbol)
            return binary.LeftOperand.Type is IPointerTypeSymbol ? binary.LeftOperand : binary.RightOperand.Type is IPointerTypeSymbol ? binary.RightOperand : null;
        if (binary.Type?.SpecialType is SpecialType.System_IntPtr or SpecialType.System_UIntPtr
            && binary.OperatorKind is BinaryOperatorKind.Add or BinaryOperatorKind.Subtract)
        {
            return SymbolEqualityComparer.Default.Equals(binary.LeftOperand.Type, binary.Type) ? binary.LeftOperand
                : binary.OperatorKind == BinaryOperatorKind.Add && SymbolEqualityComparer.Default.Equals(binary.RightOperand.Type, binary.Type) ? binary.RightOperand : null;
        }

        return null;
    }

    /// <summary>A span made from a pointer holds a managed reference, which the collector reports and updates: a
    /// span made while the object is pinned follows it when it moves after the pin (shown on .NET 10: 20 of 20 arrays
    /// moved after their fixed block, their spans followed). So the span keeps only origins that a tracked reference
    /// does not save: stack memory (released on return) and native memory. Making the span from a pointer that is
    /// already stale is a use of the pointer (reported at the creation).</summary>
    private static ImmutableArray<Held> SpanOver(ImmutableArray<Held> pointer)
    {
        if (pointer.IsDefaultOrEmpty)
            return ImmutableArray<Held>.Empty;
        var keep = true;
        foreach (var h in pointer)
            keep &= h.Origin.Kind is not (ProvenanceKind.Pinned or ProvenanceKind.Unpinned);
        if (keep)
            return pointer;
        var builder = ImmutableArray.CreateBuilder<Held>(pointer.Length);
        foreach (var h in pointer)
        {
            if (h.Origin.Kind is not (ProvenanceKind.Pinned or ProvenanceKind.Unpinned))
                builder.Add(h);
        }

        return builder.ToImmutable();
    }

    private static IOperation? PointerArgumentOfCarrierConstructor(IObjectCreationOperation creation)
    {
        if (creation.Constructor is not { } constructor || creation.Arguments.Length == 0 || creation.Arguments[0].Value is not { } first)
            return null;
        var type = constructor.ContainingType;
        if (type.SpecialType is SpecialType.System_IntPtr or SpecialType.System_UIntPtr && creation.Arguments.Length == 1)
            return first;
        // new Span<T>(void* pointer, int length): a view over the pointer's memory.
        if (IsSpan(type) && creation.Arguments.Length == 2 && constructor.Parameters[0].Type is IPointerTypeSymbol)
            return first;
        return null;
    }

    private ImmutableArray<Held> EvalCall(IInvocationOperation invocation, ProvenanceState state)
    {
        var method = invocation.TargetMethod;
        var type = method.ContainingType;
        if (IsScopedRefView(invocation))
            return StackViewOrigin(invocation) is { } stack ? One(stack) : ImmutableArray<Held>.Empty;
        if (!IsCarrier(method.ReturnType))
            return ImmutableArray<Held>.Empty;
        switch (method.Name)
        {
            case "ToPointer" or "ToInt64" or "ToUInt64" when type.SpecialType is SpecialType.System_IntPtr or SpecialType.System_UIntPtr:
                return Eval(invocation.Instance, state);
            case "Add" or "Subtract" when type.SpecialType is SpecialType.System_IntPtr or SpecialType.System_UIntPtr && invocation.Arguments.Length == 2:
                return Eval(invocation.Arguments[0].Value, state);
            case "AsPointer" when IsInNamespace(type, "Unsafe", "System.Runtime.CompilerServices") && invocation.Arguments.Length == 1:
                return AsPointerOrigin(invocation) is { } managed ? One(managed) : ImmutableArray<Held>.Empty;
            case "AddrOfPinnedObject" when invocation.Arguments.Length == 0:
                return PinObjectOrigin(invocation, invocation.Instance, "GCHandle", "InteropServices") is { } pinned ? One(pinned) : ImmutableArray<Held>.Empty;
        }

        if (IsNativeAllocator(method))
            return One(Origin(invocation.Syntax, ProvenanceKind.Native, invocation.Syntax, null, "native memory"));
        return ImmutableArray<Held>.Empty;
    }

    /// <summary>Whether the call is an API whose <c>ref</c> parameter is <c>scoped</c>, so the compiler lets its result (a
    /// span, a reference) go anywhere whatever the argument refers to: <c>MemoryMarshal.CreateSpan</c>,
    /// <c>CreateReadOnlySpan</c> and <c>Unsafe.AsRef(ref readonly T)</c> (scoped since .NET 7/8).</summary>
    internal static bool IsScopedRefView(IInvocationOperation invocation)
    {
        var method = invocation.TargetMethod;
        if (invocation.Arguments.Length == 0 || method.Parameters.Length == 0 || method.Parameters[0].RefKind == RefKind.None)
            return false;
        var type = method.ContainingType;
        return method.Name is "CreateSpan" or "CreateReadOnlySpan" && invocation.Arguments.Length == 2 && IsInNamespace(type, "MemoryMarshal", "System.Runtime.InteropServices")
            // A reference only as a reference (return ref, ref x = ref …): read by value, it is just the value.
            || method.Name == "AsRef" && invocation.Arguments.Length == 1 && method.ReturnsByRef && invocation.Syntax.Parent is RefExpressionSyntax
                && IsInNamespace(type, "Unsafe", "System.Runtime.CompilerServices");
    }

    /// <summary>A span or reference such a call makes over a by-value local or parameter of this frame (or a field of a
    /// struct one): stack memory that the compiler does not follow through the scoped parameter.</summary>
    private PointerOrigin? StackViewOrigin(IInvocationOperation invocation)
    {
        var view = invocation;
        var root = invocation.Arguments[0].Value;
        while (root is IFieldReferenceOperation { Instance: { Type.IsValueType: true } instance, Member.IsStatic: false })
            root = instance;
        return root switch
        {
            ILocalReferenceOperation { Local: { IsRef: false } local } => Origin(view.Syntax, ProvenanceKind.Stack, view.Syntax, null, "local '" + local.Name + "'"),
            IParameterReferenceOperation { Parameter: { RefKind: RefKind.None } parameter } => Origin(view.Syntax, ProvenanceKind.Stack, view.Syntax, null, "parameter '" + parameter.Name + "'"),
            _ => null,
        };
    }

    private static bool IsNativeAllocator(IMethodSymbol method)
    {
        if (method.IsExtern || method.GetDllImportData() is not null)
            return true;
        var type = method.ContainingType;
        if (IsInNamespace(type, "NativeMemory", "System.Runtime.InteropServices"))
            return method.Name is "Alloc" or "AllocZeroed" or "AlignedAlloc" or "Realloc" or "AlignedRealloc";
        if (IsInNamespace(type, "Marshal", "System.Runtime.InteropServices"))
            return method.Name.StartsWith("Alloc", System.StringComparison.Ordinal) || method.Name.StartsWith("ReAlloc", System.StringComparison.Ordinal)
                || method.Name.StartsWith("StringTo", System.StringComparison.Ordinal);
        return false;
    }

    private static bool IsInNamespace(INamedTypeSymbol type, string name, string ns)
        => type.Name == name && type.ContainingNamespace?.ToDisplayString() == ns;

    /// <summary><c>&amp;x</c> outside a fixed initializer: the compiler allows it only for variables that do not move,
    /// which are this frame's by-value locals and parameters (or fields of struct ones).</summary>
    private PointerOrigin? AddressOrigin(IAddressOfOperation addressOf)
    {
        var variable = addressOf.Reference;
        while (variable is IFieldReferenceOperation { Instance: { Type.IsValueType: true } instance, Member.IsStatic: false })
            variable = instance;
        return variable switch
        {
            ILocalReferenceOperation { Local: { IsRef: false, IsFixed: false } local } => Origin(addressOf.Syntax, ProvenanceKind.Stack, addressOf.Syntax, null, "local '" + local.Name + "'"),
            IParameterReferenceOperation { Parameter: { RefKind: RefKind.None } parameter } => Origin(addressOf.Syntax, ProvenanceKind.Stack, addressOf.Syntax, null, "parameter '" + parameter.Name + "'"),
            _ => null,
        };
    }

    /// <summary><c>Unsafe.AsPointer(ref x)</c>: of a by-value local or parameter, the frame; of a field of a class or an
    /// array element (also reached through <c>Unsafe.Add</c>, <c>MemoryMarshal.GetArrayDataReference</c> or
    /// <c>GetReference</c> of a span over an array), a managed location nothing pins, unless the array was allocated
    /// pinned or a fixed statement around the call or a pinned <c>GCHandle</c> of the method holds the same object.
    /// A static field, a <c>ref</c> parameter or local, or a field of a struct reached through <c>this</c> may be
    /// storage that does not move (the caller's stack, native memory): unknown.</summary>
    private PointerOrigin? AsPointerOrigin(IInvocationOperation invocation)
    {
        var reference = invocation.Arguments[0].Value;
        var root = reference;
        while (root is IFieldReferenceOperation { Instance: { Type.IsValueType: true } instance, Member.IsStatic: false })
            root = instance;
        switch (root)
        {
            case ILocalReferenceOperation { Local: { IsRef: false } local }:
                return Origin(invocation.Syntax, ProvenanceKind.Stack, invocation.Syntax, null, "local '" + local.Name + "'");
            case IParameterReferenceOperation { Parameter: { RefKind: RefKind.None } parameter }:
                return Origin(invocation.Syntax, ProvenanceKind.Stack, invocation.Syntax, null, "parameter '" + parameter.Name + "'");
        }

        var movable = MovableOwner(reference, out var owner);
        if (movable is null || owner is null || IsAllocatedPinned(owner) || IsPinnedAround(owner, invocation.Syntax))
            return null;
        return Origin(invocation.Syntax, ProvenanceKind.Unpinned, invocation.Syntax, null, "'" + Shorten(reference.Syntax.ToString()) + "'", movable);
    }

    /// <summary>What a managed reference points into when that is certainly a movable heap object: "array" (with the
    /// array expression) or "object" (with the class instance whose field it is); null otherwise.</summary>
    private static string? MovableOwner(IOperation reference, out IOperation? owner)
    {
        owner = null;
        for (var depth = 0; depth < 16; depth++)
        {
            switch (reference)
            {
                case IFieldReferenceOperation { Member.IsStatic: false, Instance: { Type.IsValueType: true } instance }:
                    reference = instance;
                    continue;
                case IFieldReferenceOperation { Member.IsStatic: false, Instance: { Type.IsReferenceType: true } instance }:
                    owner = instance;
                    return "object";
                case IArrayElementReferenceOperation element:
                    owner = element.ArrayReference;
                    return "array";
                case IInvocationOperation { Arguments.Length: > 0 } call when call.TargetMethod.RefKind != RefKind.None:
                {
                    var method = call.TargetMethod;
                    var first = call.Arguments[0].Value;
                    if (IsInNamespace(method.ContainingType, "Unsafe", "System.Runtime.CompilerServices")
                        && method.Name is "Add" or "AddByteOffset" or "Subtract" or "SubtractByteOffset" or "As" or "AsRef"
                        && method.Parameters[0].RefKind != RefKind.None)
                    {
                        reference = first;
                        continue;
                    }

                    if (IsInNamespace(method.ContainingType, "MemoryMarshal", "System.Runtime.InteropServices"))
                    {
                        if (method.Name == "GetArrayDataReference" && first.Type is IArrayTypeSymbol)
                        {
                            owner = first;
                            return "array";
                        }

                        if (method.Name == "GetReference" && ArrayOfSpan(first) is { } array)
                        {
                            owner = array;
                            return "array";
                        }
                    }

                    return null;
                }

                default:
                    return null;
            }
        }

        return null;
    }

    /// <summary>The array a span is made over: an array converted to a span, <c>array.AsSpan(…)</c>, <c>new Span&lt;T&gt;(array…)</c>.</summary>
    private static IOperation? ArrayOfSpan(IOperation span)
    {
        while (span is IConversionOperation conversion)
        {
            if (conversion.Operand.Type is IArrayTypeSymbol)
                return conversion.Operand;
            span = conversion.Operand;
        }

        return span switch
        {
            IInvocationOperation { TargetMethod.Name: "AsSpan", Arguments.Length: > 0 } asSpan when asSpan.Arguments[0].Value is var a && Unconverted(a).Type is IArrayTypeSymbol => Unconverted(a),
            IObjectCreationOperation { Arguments.Length: > 0 } creation when IsSpan(creation.Type) && creation.Arguments[0].Value.Type is IArrayTypeSymbol => creation.Arguments[0].Value,
            _ => null,
        };
    }

    private static IOperation Unconverted(IOperation value)
    {
        while (value is IConversionOperation { IsImplicit: true } conversion)
            value = conversion.Operand;
        return value;
    }

    /// <summary>Whether a fixed statement around <paramref name="site"/>, or a pinned <c>GCHandle</c> allocated in the same
    /// member, pins the object <paramref name="owner"/> names (matched by name: a local, parameter or field, or
    /// <c>this</c> for a field of the containing object).</summary>
    private static bool IsPinnedAround(IOperation owner, SyntaxNode site)
    {
        // A fixed local of array type holds the array pinned (ILSpy writes the compiler's pinned local this way:
        // 'fixed (byte[] array = bufBytes) { … Unsafe.AsPointer(ref array[0]) … }').
        if (owner is ILocalReferenceOperation { Local.IsFixed: true })
            return true;
        var name = owner switch
        {
            ILocalReferenceOperation local => local.Local.Name,
            IParameterReferenceOperation parameter => parameter.Parameter.Name,
            IFieldReferenceOperation field => field.Field.Name,
            IInstanceReferenceOperation => "this",
            _ => null,
        };
        if (name is null)
            return false;
        for (var node = site.Parent; node is not null; node = node.Parent)
        {
            if (node is FixedStatementSyntax fixedStatement)
            {
                foreach (var declarator in fixedStatement.Declaration.Variables)
                {
                    // For a field of this object, any fixed over an address (&_f, &_s.x, &this.f) may pin it: without
                    // binding, a plain name cannot be told from a local's, and silence is the safe side.
                    if (declarator.Initializer?.Value is { } value
                        && (PinnedName(value) == name || (name == "this" && value.IsKind(SyntaxKind.AddressOfExpression))))
                    {
                        return true;
                    }
                }
            }
            else if (node is MemberDeclarationSyntax member)
            {
                foreach (var call in member.DescendantNodes())
                {
                    if (call is InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax { Name.Identifier.ValueText: "Alloc" }, ArgumentList.Arguments: { Count: 2 } arguments }
                        && arguments[1].Expression.ToString().EndsWith("Pinned", System.StringComparison.Ordinal)
                        && PinnedName(arguments[0].Expression) == name)
                    {
                        return true;
                    }
                }

                break;
            }
        }

        return false;
    }

    /// <summary>The name of the object a fixed initializer or GCHandle.Alloc argument pins: <c>a</c> for <c>a</c>,
    /// <c>&amp;a[0]</c>, <c>this.a</c>; <c>o</c> for <c>&amp;o.f</c>; "this" for <c>&amp;_f</c> or <c>&amp;this.f</c>.</summary>
    private static string? PinnedName(ExpressionSyntax value)
    {
        var addressOf = false;
        while (true)
        {
            switch (value)
            {
                case ParenthesizedExpressionSyntax parenthesized:
                    value = parenthesized.Expression;
                    continue;
                case CastExpressionSyntax cast:
                    value = cast.Expression;
                    continue;
                case PrefixUnaryExpressionSyntax { RawKind: (int)SyntaxKind.AddressOfExpression } address:
                    addressOf = true;
                    value = address.Operand;
                    continue;
                case ElementAccessExpressionSyntax element:
                    return PinnedName(element.Expression);
                case IdentifierNameSyntax identifier:
                    return addressOf ? "this" : identifier.Identifier.ValueText;
                case MemberAccessExpressionSyntax { Expression: ThisExpressionSyntax } member:
                    return addressOf ? "this" : member.Name.Identifier.ValueText;
                case MemberAccessExpressionSyntax member:
                    if (!addressOf)
                        return member.Name.Identifier.ValueText;
                    // &o.f.g pins o (fields of structs inside it included).
                    var inner = member.Expression;
                    while (inner is MemberAccessExpressionSyntax { Expression: not ThisExpressionSyntax } next)
                        inner = next.Expression;
                    return inner switch
                    {
                        IdentifierNameSyntax id => id.Identifier.ValueText,
                        MemberAccessExpressionSyntax { Expression: ThisExpressionSyntax } thisMember => thisMember.Name.Identifier.ValueText,
                        ThisExpressionSyntax => "this",
                        _ => null,
                    };
                default:
                    return null;
            }
        }
    }

    /// <summary>The origin of a fixed local: the object its initializer pins, when that is certainly a movable managed
    /// object (an array, a non-constant string, an element of an array, a field of a class, a static field). Spans,
    /// <c>GetPinnableReference</c> results and <c>ref</c> targets may be stack or native memory: unknown.</summary>
    private PointerOrigin? FixedOrigin(IOperation initializer, VariableDeclaratorSyntax declarator, FixedStatementSyntax fixedStatement)
    {
        var inner = initializer;
        if (inner.Kind == OperationKind.None && inner.ChildOperations.Count == 1)
        {
            foreach (var child in inner.ChildOperations)
                inner = child;
        }

        while (inner is IConversionOperation { IsImplicit: true } conversion)
            inner = conversion.Operand;

        string? movable = null;
        IOperation? pinned = null;
        if (inner is IAddressOfOperation addressOf)
        {
            var variable = addressOf.Reference;
            while (variable is IFieldReferenceOperation { Instance: { Type.IsValueType: true } instance, Member.IsStatic: false })
                variable = instance;
            switch (variable)
            {
                case IArrayElementReferenceOperation element:
                    movable = "array";
                    pinned = element.ArrayReference;
                    break;
                case IFieldReferenceOperation { Member.IsStatic: true }:
                    movable = "static field's storage";
                    break;
                case IFieldReferenceOperation { Instance: { Type.IsReferenceType: true } instance }:
                    movable = "object";
                    pinned = instance;
                    break;
            }
        }
        else if (inner.Type is IArrayTypeSymbol)
        {
            movable = "array";
            pinned = inner;
        }
        else if (inner.Type?.SpecialType == SpecialType.System_String && !inner.ConstantValue.HasValue)
        {
            movable = "string";
        }

        if (movable is null || (pinned is not null && IsAllocatedPinned(pinned)))
            return null;
        var what = declarator.Initializer?.Value is { } value ? Shorten(value.ToString()) : declarator.Identifier.ValueText;
        return Origin(declarator, ProvenanceKind.Pinned, declarator, fixedStatement, "'" + what + "'", movable);
    }

    /// <summary>An array allocated on the pinned object heap (<c>GC.AllocateArray(n, pinned: true)</c>) never moves: a
    /// pointer into it stays valid after the fixed block. Recognised for a local of this body and for a field of the
    /// type that assigns it such an array (its declarations are searched once per field).</summary>
    private bool IsAllocatedPinned(IOperation array)
    {
        var symbol = Variables.Of(array);
        if (symbol is not (ILocalSymbol or IFieldSymbol))
            return false;
        if (_pinnedArrays.TryGetValue(symbol, out var known))
            return known;
        var found = false;
        var declarations = symbol is IFieldSymbol f ? f.ContainingType.DeclaringSyntaxReferences : symbol.DeclaringSyntaxReferences;
        foreach (var reference in declarations)
        {
            var root = reference.GetSyntax();
            if (symbol is ILocalSymbol)
                root = root.FirstAncestorOrSelf<MemberDeclarationSyntax>() ?? root;
            // The text first: a field's search covers its whole type, once per body that pins the field, and a walk
            // over every node of a large type was most of MSA5001's time; the scan of its characters is not.
            if (!Core.SourceWords.MayHoldIdentifier(root, AllocateArrayNames))
                continue;
            foreach (var node in root.DescendantNodes())
            {
                if (node is InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax { Name.Identifier.ValueText: "AllocateArray" or "AllocateUninitializedArray" } } call
                    && HasTrueArgument(call) && AssignsTo(call, symbol.Name))
                {
                    found = true;
                    break;
                }
            }

            if (found)
                break;
        }

        _pinnedArrays[symbol] = found;
        return found;
    }

    private static readonly string[] AllocateArrayNames = { "AllocateArray", "AllocateUninitializedArray" };

    private static bool HasTrueArgument(InvocationExpressionSyntax call)
    {
        foreach (var argument in call.ArgumentList.Arguments)
        {
            if (argument.Expression.IsKind(SyntaxKind.TrueLiteralExpression))
                return true;
        }

        return false;
    }

    private static bool AssignsTo(SyntaxNode value, string name)
    {
        var parent = value.Parent;
        while (parent is CastExpressionSyntax or ParenthesizedExpressionSyntax)
            parent = parent.Parent;
        return parent switch
        {
            AssignmentExpressionSyntax assignment => assignment.Left switch
            {
                IdentifierNameSyntax id => id.Identifier.ValueText == name,
                MemberAccessExpressionSyntax member => member.Name.Identifier.ValueText == name,
                _ => false,
            },
            EqualsValueClauseSyntax { Parent: VariableDeclaratorSyntax declarator } => declarator.Identifier.ValueText == name,
            _ => false,
        };
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text.Substring(0, 37) + "...";

    private PointerOrigin Origin(object key, ProvenanceKind kind, SyntaxNode site, SyntaxNode? scope, string what, string? movable = null)
    {
        if (!_origins.TryGetValue(key, out var origin))
            _origins[key] = origin = new PointerOrigin(kind, site, scope, what, movable);
        return origin;
    }

    private ImmutableArray<Held> One(PointerOrigin origin) => ImmutableArray.Create(Plain(origin));

    private Held Plain(PointerOrigin origin)
    {
        var key = (origin, (SyntaxNode?)null);
        if (!_held.TryGetValue(key, out var held))
            _held[key] = held = new Held(origin, null, null);
        return held;
    }

    // ------------------------------------------------------------------ uses (replay only)

    /// <summary>What reads or writes through a pointer, or hands it to code that may: dereference (<c>*p</c>,
    /// <c>p[i]</c>, <c>p-&gt;f</c>), an argument of a call or constructor, an element of a span over it.
    /// Arithmetic, comparisons and conversions are not uses: they touch the address, not the memory.</summary>
    private void ReportUses(IOperation operation, ProvenanceState state, EscapeSink sink)
    {
        switch (operation)
        {
            case IInvocationOperation invocation:
                if (invocation.Instance is { } instance && IsSpan(instance.Type))
                    ReportUse(invocation, instance, state, sink);
                foreach (var argument in invocation.Arguments)
                    ReportUse(invocation, argument.Value, state, sink);
                break;
            case IObjectCreationOperation creation:
                // new IntPtr(p) only converts; new Span<T>(p, n) turns the pointer into a tracked reference to what
                // it points at now, which is a use (SpanOver).
                if (PointerArgumentOfCarrierConstructor(creation) is null || IsSpan(creation.Type))
                {
                    foreach (var argument in creation.Arguments)
                        ReportUse(creation, argument.Value, state, sink);
                }

                break;
            case IPropertyReferenceOperation { Arguments.Length: > 0, Instance: { } spanInstance } when IsSpan(spanInstance.Type):
                ReportUse(operation, spanInstance, state, sink);
                break;
            default:
                if (operation.Kind == OperationKind.None
                    && operation.Syntax.Kind() is SyntaxKind.PointerIndirectionExpression or SyntaxKind.ElementAccessExpression or SyntaxKind.PointerMemberAccessExpression)
                {
                    foreach (var child in operation.ChildOperations)
                    {
                        if (child.Type is IPointerTypeSymbol)
                        {
                            ReportUse(operation, child, state, sink);
                            break;
                        }
                    }
                }

                break;
        }
    }

    private void ReportUse(IOperation use, IOperation value, ProvenanceState state, EscapeSink sink)
    {
        var held = Eval(value, state);
        if (!held.IsDefaultOrEmpty)
            sink.Use(use, held);
    }
}
