using System.Collections.Generic;
using System.Collections.Immutable;
using MemSafety.Analyzers.Engines.Dataflow;
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
        }

        state = VisitChildren(operation, state, sink);
        if (sink is not null)
            ReportUses(operation, state, sink);
        return state;
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
        ILocalReferenceOperation local => state.Set(local.Local, default),
        IParameterReferenceOperation parameter => state.Set(parameter.Parameter, default),
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
                return PointerArgumentOfCarrierConstructor(creation) is { } pointer ? Eval(pointer, state) : ImmutableArray<Held>.Empty;
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
        if (!IsCarrier(method.ReturnType))
            return ImmutableArray<Held>.Empty;
        var type = method.ContainingType;
        switch (method.Name)
        {
            case "ToPointer" or "ToInt64" or "ToUInt64" when type.SpecialType is SpecialType.System_IntPtr or SpecialType.System_UIntPtr:
                return Eval(invocation.Instance, state);
            case "Add" or "Subtract" when type.SpecialType is SpecialType.System_IntPtr or SpecialType.System_UIntPtr && invocation.Arguments.Length == 2:
                return Eval(invocation.Arguments[0].Value, state);
            case "AsPointer" when IsInNamespace(type, "Unsafe", "System.Runtime.CompilerServices") && invocation.Arguments.Length == 1:
                return AsPointerOrigin(invocation) is { } managed ? One(managed) : ImmutableArray<Held>.Empty;
        }

        if (IsNativeAllocator(method))
            return One(Origin(invocation.Syntax, ProvenanceKind.Native, invocation.Syntax, null, "native memory"));
        return ImmutableArray<Held>.Empty;
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

    /// <summary><c>Unsafe.AsPointer(ref x)</c>: of a by-value local or parameter, the frame; of a field of a class, a
    /// static or an array element, a managed location nothing pins.</summary>
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
            case IArrayElementReferenceOperation:
            case IFieldReferenceOperation { Member.IsStatic: true }:
            case IFieldReferenceOperation { Instance.Type.IsReferenceType: true }:
                return Origin(invocation.Syntax, ProvenanceKind.Unpinned, invocation.Syntax, null, "'" + reference.Syntax + "'");
            default:
                return null;
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
        ISymbol? symbol = array switch
        {
            ILocalReferenceOperation local => local.Local,
            IFieldReferenceOperation field => field.Field,
            _ => null,
        };
        if (symbol is null)
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
            case IObjectCreationOperation creation when PointerArgumentOfCarrierConstructor(creation) is null:
                foreach (var argument in creation.Arguments)
                    ReportUse(creation, argument.Value, state, sink);
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
