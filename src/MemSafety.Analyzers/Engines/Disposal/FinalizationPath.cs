using System.Collections.Generic;
using System.Collections.Immutable;
using System.Text;
using System.Threading;
using MemSafety.Analyzers.Compat;
using MemSafety.Analyzers.Engines.Escape;
using KnownMembers = MemSafety.Analyzers.Engines.Effects.KnownMembers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Engines.Disposal;

/// <summary>What one operation on a finalizer's path does beyond reading and writing the object's own fields.</summary>
public enum FinalizerEffectKind
{
    /// <summary>Calls native code: a platform invoke, an unmanaged function pointer, or a native release/allocation
    /// helper (<see cref="NativeMembers"/>). What finalizers are for.</summary>
    NativeCall,
    /// <summary>Calls a member of, reads a property of, or passes on a field of the object whose type is finalizable
    /// or disposable (and not a <c>CriticalFinalizerObject</c>): that object may already have been finalized.</summary>
    ManagedTouch,
    /// <summary>Stores <c>this</c> where other code can reach it (a static or another object's field, an array
    /// element, a collection), resurrecting the object being finalized.</summary>
    Publication,
    /// <summary><c>GC.ReRegisterForFinalize(this)</c>: the object will be finalized again.</summary>
    ReRegistration,
    /// <summary>Anything else that changes state beyond the object or whose effect is unknown: static fields,
    /// other objects, calls to code not followed or not seen, allocations with constructors, throws.</summary>
    OutsideEffect,
}

/// <summary>One operation of a finalizer's path and what it does.</summary>
public sealed class FinalizerEffect
{
    internal FinalizerEffect(FinalizerEffectKind kind, IOperation operation, IFieldSymbol? field, string via, IMethodSymbol? callee)
    {
        Kind = kind;
        Operation = operation;
        Field = field;
        Via = via;
        Callee = callee;
    }

    public FinalizerEffectKind Kind { get; }

    /// <summary>The operation (in the finalizer or in a method it runs).</summary>
    public IOperation Operation { get; }

    /// <summary>For <see cref="FinalizerEffectKind.ManagedTouch"/>: the field touched.</summary>
    public IFieldSymbol? Field { get; }

    /// <summary>The calls from the finalizer that lead to it (<c>"Dispose(false)"</c>), empty in the finalizer itself.</summary>
    public string Via { get; }

    /// <summary>The method called, where the operation is a call.</summary>
    public IMethodSymbol? Callee { get; }
}

/// <summary>
/// What a type's finalizer runs, followed through the methods it calls on <c>this</c> (a virtual one through every
/// override this compilation has for the type and its derived types), with known <c>bool</c> arguments carried into
/// the callee: <c>Dispose(false)</c> skips the branches of <c>if (disposing)</c> and what follows
/// <c>if (!disposing) return;</c>. Each operation that does more than read or write the object's own fields is an
/// <see cref="FinalizerEffect"/>. The path is <see cref="IsComplete"/> when every body it may run was seen.
/// <para>Bounded: calls are followed 6 deep (deeper: incomplete); lambdas are not entered (creating one runs
/// nothing); a local function called is an unknown effect.</para>
/// </summary>
public sealed class FinalizationPath
{
    private const int MaxDepth = 6;

    private FinalizationPath(INamedTypeSymbol type, IMethodSymbol finalizer, IOperation body, bool isComplete, ImmutableArray<FinalizerEffect> effects)
    {
        Type = type;
        Finalizer = finalizer;
        Body = body;
        IsComplete = isComplete;
        Effects = effects;
    }

    public INamedTypeSymbol Type { get; }

    public IMethodSymbol Finalizer { get; }

    /// <summary>The finalizer's own body.</summary>
    public IOperation Body { get; }

    /// <summary>Every method the finalizer may run was seen: no override may come from another assembly, no
    /// library method with unknown behaviour was called on <c>this</c>, no depth cut.</summary>
    public bool IsComplete { get; }

    /// <summary>The effects in the order the walk met them.</summary>
    public ImmutableArray<FinalizerEffect> Effects { get; }

    /// <summary>Complete and without effects: the finalizer only reads and writes the object being finalized, so
    /// removing it changes nothing anyone can observe.</summary>
    public bool OnlyTouchesItself => IsComplete && Effects.IsEmpty;

    /// <summary>Whether any effect is of <paramref name="kind"/>.</summary>
    public bool Has(FinalizerEffectKind kind)
    {
        foreach (var effect in Effects)
        {
            if (effect.Kind == kind)
                return true;
        }

        return false;
    }

    internal static FinalizationPath? Compute(DisposableTypes owner, INamedTypeSymbol type, IMethodSymbol finalizer, CancellationToken cancellationToken)
    {
        var body = owner.BodyOf(finalizer, cancellationToken);
        if (body is null)
            return null;
        var walker = new Walker(owner, type, cancellationToken);
        walker.Walk(finalizer, body);
        return new FinalizationPath(type, finalizer, body, walker.Complete, walker.Effects.ToImmutableArray());
    }

    private sealed class Frame
    {
        public Frame(IMethodSymbol method, bool?[] known, string via, IEnumerable<string> symbols)
        {
            Method = method;
            Known = known;
            Via = via;
            Symbols = symbols;
        }

        public IMethodSymbol Method { get; }

        /// <summary>The known values of the method's <c>bool</c> parameters, by ordinal.</summary>
        public bool?[] Known { get; }

        public string Via { get; }

        /// <summary>The preprocessor symbols of the method's file (for <c>[Conditional]</c> calls).</summary>
        public IEnumerable<string> Symbols { get; }

        /// <summary>Locals that hold the value of one of the object's fields (<c>var s = _stream;</c>).</summary>
        public Dictionary<ILocalSymbol, IFieldSymbol> Aliases { get; } = new(SymbolEqualityComparer.Default);

        /// <summary>The receivers of the conditional accesses being visited (<c>_stream?.Dispose()</c>).</summary>
        public List<IOperation> ConditionalReceivers { get; } = new();
    }

    private sealed class Walker
    {
        private static readonly bool?[] NoKnowns = new bool?[0];

        private readonly DisposableTypes _owner;
        private readonly INamedTypeSymbol _type;
        private readonly CancellationToken _cancellationToken;
        private readonly HashSet<(IMethodSymbol Method, string Known)> _visited = new(new VisitComparer());
        private int _depth;

        public Walker(DisposableTypes owner, INamedTypeSymbol type, CancellationToken cancellationToken)
        {
            _owner = owner;
            _type = type;
            _cancellationToken = cancellationToken;
        }

        public bool Complete { get; private set; } = true;

        public List<FinalizerEffect> Effects { get; } = new();

        public void Walk(IMethodSymbol finalizer, IOperation body)
        {
            _visited.Add(Key(finalizer, NoKnowns));
            Visit(body, new Frame(finalizer, NoKnowns, string.Empty, Symbols(body)));
        }

        private static IEnumerable<string> Symbols(IOperation body) => ((CSharpParseOptions)body.Syntax.SyntaxTree.Options).PreprocessorSymbolNames;

        private void Add(FinalizerEffectKind kind, IOperation operation, Frame frame, IFieldSymbol? field = null, IMethodSymbol? callee = null)
            => Effects.Add(new FinalizerEffect(kind, operation, field, frame.Via, callee));

        /// <summary>Visits an operation; true when it certainly leaves the method (return or throw on every path,
        /// given the known parameter values), so the statements after it in a block are not run.</summary>
        private bool Visit(IOperation? operation, Frame frame)
        {
            if (operation is null)
                return false;
            _cancellationToken.ThrowIfCancellationRequested();
            switch (operation)
            {
                case IBlockOperation block:
                    foreach (var statement in block.Operations)
                    {
                        if (Visit(statement, frame))
                            return true;
                    }

                    return false;
                case IConditionalOperation conditional:
                {
                    Visit(conditional.Condition, frame);
                    var value = Evaluate(conditional.Condition, frame);
                    if (value == true)
                        return Visit(conditional.WhenTrue, frame);
                    if (value == false)
                        return Visit(conditional.WhenFalse, frame);
                    var whenTrue = Visit(conditional.WhenTrue, frame);
                    var whenFalse = Visit(conditional.WhenFalse, frame);
                    return whenTrue && whenFalse && conditional.WhenFalse is not null;
                }

                case IReturnOperation { Kind: OperationKind.Return } ret:
                    Visit(ret.ReturnedValue, frame);
                    return true;
                case IExpressionStatementOperation statement:
                    return Visit(statement.Operation, frame);
                case IThrowOperation thrown:
                    Visit(thrown.Exception, frame);
                    Add(FinalizerEffectKind.OutsideEffect, thrown, frame);
                    return true;
                case IAnonymousFunctionOperation:
                case ILocalFunctionOperation:
                case IDelegateCreationOperation { Target: IAnonymousFunctionOperation }:
                    // Creating a lambda runs nothing; a local function's declaration neither.
                    return false;
                case IVariableDeclaratorOperation declarator:
                    if (declarator.Initializer is { } initializer)
                    {
                        Visit(initializer.Value, frame);
                        Alias(frame, declarator.Symbol, initializer.Value);
                    }

                    return false;
                case IInvocationOperation invocation:
                    Invocation(invocation, frame);
                    return false;
                case IConditionalAccessOperation access:
                    Visit(access.Operation, frame);
                    frame.ConditionalReceivers.Add(access.Operation);
                    Visit(access.WhenNotNull, frame);
                    frame.ConditionalReceivers.RemoveAt(frame.ConditionalReceivers.Count - 1);
                    return false;
                case ISimpleAssignmentOperation assignment:
                    Visit(assignment.Value, frame);
                    Write(assignment, assignment.Target, assignment.Value, frame);
                    return false;
                case ICoalesceAssignmentOperation coalesce:
                    Visit(coalesce.Value, frame);
                    Write(coalesce, coalesce.Target, coalesce.Value, frame);
                    return false;
                case ICompoundAssignmentOperation compound:
                    Visit(compound.Value, frame);
                    if (compound.OperatorMethod is { } compoundOperator && !KnownMembers.IsLibraryOperator(compoundOperator))
                        Add(FinalizerEffectKind.OutsideEffect, compound, frame, callee: compoundOperator);
                    Write(compound, compound.Target, null, frame);
                    return false;
                case IIncrementOrDecrementOperation increment:
                    Write(increment, increment.Target, null, frame);
                    return false;
                case IDeconstructionAssignmentOperation deconstruction:
                    Visit(deconstruction.Value, frame);
                    foreach (var target in deconstruction.Target.DescendantsAndSelf())
                    {
                        if (target is IFieldReferenceOperation or IPropertyReferenceOperation or IArrayElementReferenceOperation)
                            Write(deconstruction, target, null, frame);
                    }

                    return false;
                case IEventAssignmentOperation eventAssignment:
                    Visit(eventAssignment.HandlerValue, frame);
                    EventAssignment(eventAssignment, frame);
                    return false;
                case IPropertyReferenceOperation property:
                    PropertyRead(property, frame);
                    return false;
                case IObjectCreationOperation creation:
                    foreach (var argument in creation.Arguments)
                        Visit(argument.Value, frame);
                    Visit(creation.Initializer, frame);
                    if (!IsException(creation.Type) && !KnownMembers.IsSideEffectFreeCreation(creation.Type))
                        Add(FinalizerEffectKind.OutsideEffect, creation, frame, callee: creation.Constructor);
                    return false;
                case IFunctionPointerInvocationOperation pointerCall:
                    foreach (var child in pointerCall.ChildOperations)
                        Visit(child, frame);
                    Add(NativeMembers.IsNativeCall(pointerCall) ? FinalizerEffectKind.NativeCall : FinalizerEffectKind.OutsideEffect, pointerCall, frame);
                    return false;
                case IInvalidOperation:
                    // Code that does not bind (being typed): nothing can be said about it.
                    foreach (var child in operation.ChildOperations)
                        Visit(child, frame);
                    Complete = false;
                    Add(FinalizerEffectKind.OutsideEffect, operation, frame);
                    return false;
                case IUsingOperation:
                case IUsingDeclarationOperation:
                case IAwaitOperation:
                case IDynamicInvocationOperation:
                case IDynamicMemberReferenceOperation:
                case IDynamicObjectCreationOperation:
                case IDynamicIndexerAccessOperation:
                    foreach (var child in operation.ChildOperations)
                        Visit(child, frame);
                    Add(FinalizerEffectKind.OutsideEffect, operation, frame);
                    return false;
                default:
                    foreach (var child in operation.ChildOperations)
                        Visit(child, frame);
                    return false;
            }
        }

        private void Invocation(IInvocationOperation invocation, Frame frame)
        {
            var target = invocation.TargetMethod;
            // The compiler drops the call and the evaluation of its arguments.
            if (DisposableTypes.IsCompiledOut(target, frame.Symbols))
                return;
            Visit(invocation.Instance, frame);
            foreach (var argument in invocation.Arguments)
                Visit(argument.Value, frame);

            if (SymbolEqualityComparer.Default.Equals(target.ContainingType, _owner.Types.GC))
            {
                if (_owner.IsReRegisterForFinalizeOfThis(invocation))
                    Add(FinalizerEffectKind.ReRegistration, invocation, frame, callee: target);
                else if (target.Name is not ("SuppressFinalize" or "KeepAlive" or "GetGeneration"))
                    Add(FinalizerEffectKind.OutsideEffect, invocation, frame, callee: target);
                return;
            }

            if (NativeMembers.Classify(target) != NativeCallKind.None)
            {
                Add(FinalizerEffectKind.NativeCall, invocation, frame, callee: target);
                return;
            }

            if (target.MethodKind == MethodKind.LocalFunction)
            {
                Add(FinalizerEffectKind.OutsideEffect, invocation, frame, callee: target);
                return;
            }

            if (IsThisInstance(invocation.Instance) || (target.IsStatic && InHierarchy(target.ContainingType)))
            {
                Follow(invocation, target, invocation.Arguments, frame);
                return;
            }

            // A call that stores `this` is a publication, whatever else it does.
            foreach (var argument in invocation.Arguments)
            {
                if (DisposableTypes.IsThis(argument.Value) && Publishes(invocation, argument))
                {
                    Add(FinalizerEffectKind.Publication, invocation, frame, callee: target);
                    return;
                }
            }

            var receiverField = OwnField(invocation.Instance, frame);
            var pure = _owner.Known.IsPure(target) || IsOwnFieldAtomic(invocation, frame);
            if (receiverField is not null)
            {
                // A member known to have no side effects (GetHashCode, Equals, ToString) works on a finalized object too.
                if (pure)
                    return;
                if (receiverField.Type.IsReferenceType && IsTouchable(receiverField.Type))
                    Add(FinalizerEffectKind.ManagedTouch, invocation, frame, receiverField, target);
                else
                    Add(FinalizerEffectKind.OutsideEffect, invocation, frame, receiverField, target);
            }
            else if (!pure)
            {
                Add(FinalizerEffectKind.OutsideEffect, invocation, frame, callee: target);
            }

            if (pure)
                return;
            foreach (var argument in invocation.Arguments)
            {
                if (OwnField(argument.Value, frame) is { } passed && passed.Type.IsReferenceType && IsTouchable(passed.Type)
                    && (receiverField is null || !SymbolEqualityComparer.Default.Equals(passed, receiverField)))
                {
                    Add(FinalizerEffectKind.ManagedTouch, invocation, frame, passed, target);
                }
            }
        }

        /// <summary><c>Interlocked.*</c> / <c>Volatile.*</c> on one of the object's own fields: own state.</summary>
        private bool IsOwnFieldAtomic(IInvocationOperation invocation, Frame frame)
            => invocation.TargetMethod.ContainingType is { Name: "Interlocked" or "Volatile" } type
               && NonRetainingMembers.IsNamespace(type.ContainingNamespace, "System.Threading")
               && invocation.Arguments.Length > 0
               && invocation.Arguments[0].Parameter?.RefKind is RefKind.Ref or RefKind.In or RoslynEnums.RefReadOnlyParameter
               && OwnField(invocation.Arguments[0].Value, frame) is not null
               && !(invocation.Arguments.Length > 1 && DisposableTypes.IsThis(invocation.Arguments[1].Value));

        /// <summary>Whether a call that receives <c>this</c> keeps it where others reach it: a collection's add
        /// (<c>s_pool.Add(this)</c>), an atomic store (<c>Interlocked.Exchange(ref s_last, this)</c>), or a method of
        /// this compilation that the escape engine's summary shows storing its parameter.</summary>
        private bool Publishes(IInvocationOperation invocation, IArgumentOperation argument)
        {
            var target = invocation.TargetMethod;
            if (target.ContainingType is { Name: "Interlocked" or "Volatile" })
                return true;
            if (target.Name is "Add" or "AddFirst" or "AddLast" or "Push" or "Enqueue" or "TryAdd" or "Insert" or "TryPush" or "TryEnqueue"
                or "Post" or "Return" or "Set" or "SetValue" or "TryWrite" or "Write" or "GetOrAdd" or "AddOrUpdate" or "TryUpdate")
            {
                return true;
            }

            if (_owner.Summaries is { } summaries && argument.Parameter is { } parameter && target.DeclaringSyntaxReferences.Length > 0)
            {
                var summary = summaries.Get(target, parameter.Ordinal, _cancellationToken);
                return summary.Verdict == ParameterVerdict.Retains && summary.Callee is { Kind: EscapeKind.StoredInField or EscapeKind.StoredInProperty or EscapeKind.StoredInArrayElement };
            }

            return false;
        }

        private void Follow(IOperation call, IMethodSymbol target, ImmutableArray<IArgumentOperation> arguments, Frame frame)
        {
            var known = NoKnowns;
            foreach (var argument in arguments)
            {
                if (argument.Parameter is not { } parameter || Evaluate(argument.Value, frame) is not { } value)
                    continue;
                if (known.Length == 0)
                    known = new bool?[target.Parameters.Length];
                if (parameter.Ordinal < known.Length)
                    known[parameter.Ordinal] = value;
            }

            IReadOnlyList<IMethodSymbol> targets;
            if (call is IInvocationOperation invocation && IsThisInstance(invocation.Instance))
            {
                targets = _owner.DispatchTargets(invocation, _type, out var open);
                if (open)
                    Complete = false;
            }
            else
            {
                targets = new[] { target };
            }

            foreach (var implementation in targets)
                WalkMethod(call, implementation, known, frame);
        }

        private void WalkMethod(IOperation call, IMethodSymbol method, bool?[] known, Frame caller)
        {
            if (method.IsAbstract)
                return;
            if (method.DeclaringSyntaxReferences.Length == 0)
            {
                if (!IsKnownManagedDispose(method, known))
                {
                    Complete = false;
                    Add(FinalizerEffectKind.OutsideEffect, call, caller, callee: method);
                }

                return;
            }

            if (_depth >= MaxDepth)
            {
                Complete = false;
                return;
            }

            if (!_visited.Add(Key(method, known)))
                return;
            var body = _owner.BodyOf(method, _cancellationToken);
            if (body is null)
            {
                // An auto-property accessor reads or writes its own backing field; anything else without a body
                // here (an instance extern) is unknown.
                if (method.AssociatedSymbol is not IPropertySymbol)
                {
                    Complete = false;
                    Add(FinalizerEffectKind.OutsideEffect, call, caller, callee: method);
                }

                return;
            }

            var via = Describe(method, known);
            var frame = new Frame(method, known, caller.Via.Length == 0 ? via : caller.Via + ", then " + via, Symbols(body));
            _depth++;
            Visit(body, frame);
            _depth--;
        }

        private string Describe(IMethodSymbol method, bool?[] known)
        {
            var text = new StringBuilder();
            if (!SymbolEqualityComparer.Default.Equals(method.ContainingType.OriginalDefinition, _type))
                text.Append(method.ContainingType.Name).Append('.');
            if (method.AssociatedSymbol is IPropertySymbol property)
                return text.Append(property.Name).ToString();
            text.Append(method.Name).Append('(');
            for (var i = 0; i < method.Parameters.Length; i++)
            {
                if (i > 0)
                    text.Append(", ");
                text.Append(i < known.Length && known[i] is { } value ? (value ? "true" : "false") : "…");
            }

            return text.Append(')').ToString();
        }

        private static (IMethodSymbol, string) Key(IMethodSymbol method, bool?[] known)
        {
            var text = new StringBuilder(known.Length);
            foreach (var value in known)
                text.Append(value is null ? '?' : value.Value ? 't' : 'f');
            return (method.OriginalDefinition, text.ToString());
        }

        private sealed class VisitComparer : IEqualityComparer<(IMethodSymbol Method, string Known)>
        {
            public bool Equals((IMethodSymbol Method, string Known) x, (IMethodSymbol Method, string Known) y)
                => x.Known == y.Known && SymbolEqualityComparer.Default.Equals(x.Method, y.Method);

            public int GetHashCode((IMethodSymbol Method, string Known) obj)
                => SymbolEqualityComparer.Default.GetHashCode(obj.Method) * 31 + obj.Known.GetHashCode();
        }

        /// <summary><c>Dispose(false)</c> of the base library's disposable bases, which releases nothing when not
        /// disposing (Stream, TextReader, TextWriter, Component, MarshalByValueComponent).</summary>
        private static bool IsKnownManagedDispose(IMethodSymbol method, bool?[] known)
        {
            if (method.Name != "Dispose" || method.Parameters.Length != 1 || known.Length != 1 || known[0] != false)
                return false;
            var type = method.ContainingType;
            return (type.Name is "Stream" or "TextReader" or "TextWriter" && NonRetainingMembers.IsNamespace(type.ContainingNamespace, "System.IO"))
                   || (type.Name is "Component" or "MarshalByValueComponent" && NonRetainingMembers.IsNamespace(type.ContainingNamespace, "System.ComponentModel"));
        }

        private void Write(IOperation write, IOperation target, IOperation? value, Frame frame)
        {
            var publishes = value is not null && DisposableTypes.IsThis(value);
            switch (target)
            {
                case ILocalReferenceOperation local:
                    if (value is not null)
                        Alias(frame, local.Local, value);
                    else
                        frame.Aliases.Remove(local.Local);
                    return;
                case IParameterReferenceOperation:
                case IDiscardOperation:
                    return;
                case IFieldReferenceOperation field:
                    if (!field.Field.IsStatic && IsThisInstance(field.Instance))
                        return;
                    Visit(field.Instance, frame);
                    Add(publishes ? FinalizerEffectKind.Publication : FinalizerEffectKind.OutsideEffect, write, frame, OwnField(field.Instance, frame));
                    return;
                case IPropertyReferenceOperation property:
                    foreach (var argument in property.Arguments)
                        Visit(argument.Value, frame);
                    if (!property.Property.IsStatic && IsThisInstance(property.Instance))
                    {
                        if (property.Property.SetMethod is { } setter)
                            WalkMethod(write, setter, NoKnowns, frame);
                        return;
                    }

                    Visit(property.Instance, frame);
                    if (publishes)
                        Add(FinalizerEffectKind.Publication, write, frame);
                    else if (OwnField(property.Instance, frame) is { } owner && owner.Type.IsReferenceType && IsTouchable(owner.Type))
                        Add(FinalizerEffectKind.ManagedTouch, write, frame, owner, property.Property.SetMethod);
                    else
                        Add(FinalizerEffectKind.OutsideEffect, write, frame, callee: property.Property.SetMethod);
                    return;
                case IArrayElementReferenceOperation element:
                    Visit(element.ArrayReference, frame);
                    foreach (var index in element.Indices)
                        Visit(index, frame);
                    if (publishes)
                        Add(FinalizerEffectKind.Publication, write, frame);
                    else if (OwnField(element.ArrayReference, frame) is null)
                        Add(FinalizerEffectKind.OutsideEffect, write, frame);
                    return;
                default:
                    Visit(target, frame);
                    Add(publishes ? FinalizerEffectKind.Publication : FinalizerEffectKind.OutsideEffect, write, frame);
                    return;
            }
        }

        private void EventAssignment(IEventAssignmentOperation assignment, Frame frame)
        {
            if (assignment.EventReference is not IEventReferenceOperation reference)
            {
                Add(FinalizerEffectKind.OutsideEffect, assignment, frame);
                return;
            }

            if (!reference.Event.IsStatic && IsThisInstance(reference.Instance))
                return;
            Visit(reference.Instance, frame);
            if (OwnField(reference.Instance, frame) is { } owner && owner.Type.IsReferenceType && IsTouchable(owner.Type))
                Add(FinalizerEffectKind.ManagedTouch, assignment, frame, owner);
            else
                Add(FinalizerEffectKind.OutsideEffect, assignment, frame);
        }

        private void PropertyRead(IPropertyReferenceOperation property, Frame frame)
        {
            foreach (var argument in property.Arguments)
                Visit(argument.Value, frame);
            if (!property.Property.IsStatic && IsThisInstance(property.Instance))
            {
                if (property.Property.GetMethod is { } getter)
                    WalkMethod(property, getter, NoKnowns, frame);
                return;
            }

            Visit(property.Instance, frame);
            if (OwnField(property.Instance, frame) is { } owner && owner.Type.IsReferenceType && IsTouchable(owner.Type))
                Add(FinalizerEffectKind.ManagedTouch, property, frame, owner, property.Property.GetMethod);
        }

        private void Alias(Frame frame, ILocalSymbol local, IOperation value)
        {
            if (OwnField(value, frame) is { } field)
                frame.Aliases[local] = field;
            else
                frame.Aliases.Remove(local);
        }

        /// <summary>The field of the object being finalized that the value is (through conversions, locals that
        /// copied it, <c>?.</c>, and <c>Interlocked.Exchange(ref _field, …)</c> / <c>Volatile.Read(ref _field)</c>).</summary>
        private static IFieldSymbol? OwnField(IOperation? value, Frame frame)
        {
            while (true)
            {
                switch (value)
                {
                    case IConversionOperation conversion:
                        value = conversion.Operand;
                        continue;
                    case IFieldReferenceOperation field when !field.Field.IsStatic && IsThisInstance(field.Instance):
                        return field.Field;
                    case ILocalReferenceOperation local:
                        return frame.Aliases.TryGetValue(local.Local, out var aliased) ? aliased : null;
                    case IConditionalAccessInstanceOperation when frame.ConditionalReceivers.Count > 0:
                        value = frame.ConditionalReceivers[frame.ConditionalReceivers.Count - 1];
                        continue;
                    case IInvocationOperation { TargetMethod: { Name: "Exchange" or "CompareExchange" or "Read", ContainingType.Name: "Interlocked" or "Volatile" } } atomic
                        when atomic.Arguments.Length > 0:
                        value = atomic.Arguments[0].Value;
                        continue;
                    default:
                        return null;
                }
            }
        }

        private static bool IsThisInstance(IOperation? instance)
            => instance is IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance };

        private bool InHierarchy(INamedTypeSymbol? type)
        {
            for (var t = _type; t is not null; t = t.BaseType)
            {
                if (SymbolEqualityComparer.Default.Equals(t.OriginalDefinition, type?.OriginalDefinition))
                    return t.DeclaringSyntaxReferences.Length > 0;
            }

            return false;
        }

        /// <summary>Finalizable (an ordinary, non-trivial finalizer in its hierarchy) or disposable, and not a
        /// <c>CriticalFinalizerObject</c> (a <c>SafeHandle</c> is finalized after every ordinary finalizer).</summary>
        private bool IsTouchable(ITypeSymbol type)
        {
            if (type.SpecialType == SpecialType.System_String || type.TypeKind is TypeKind.Delegate or TypeKind.Array || _owner.IsCriticalFinalizable(type))
                return false;
            if (_owner.IsDisposable(type) || _owner.IsAsyncDisposable(type))
                return true;
            return type is INamedTypeSymbol named && _owner.Of(named).GetFinalizerKind(_cancellationToken) == FinalizerKind.NonTrivial;
        }

        private static bool IsException(ITypeSymbol? type)
        {
            for (var t = type; t is not null; t = t.BaseType)
            {
                if (t.Name == "Exception" && NonRetainingMembers.IsNamespace(t.ContainingNamespace, "System"))
                    return true;
            }

            return false;
        }

        /// <summary>The value of a <c>bool</c> condition given the known parameter values, or null.</summary>
        private static bool? Evaluate(IOperation? operation, Frame frame)
        {
            if (operation is null)
                return null;
            if (operation.ConstantValue is { HasValue: true, Value: bool constant })
                return constant;
            switch (operation)
            {
                case IConversionOperation conversion:
                    return Evaluate(conversion.Operand, frame);
                case IParameterReferenceOperation parameter
                    when SymbolEqualityComparer.Default.Equals(parameter.Parameter.ContainingSymbol, frame.Method)
                         && parameter.Parameter.Ordinal < frame.Known.Length:
                    return frame.Known[parameter.Parameter.Ordinal];
                case IUnaryOperation { OperatorKind: UnaryOperatorKind.Not } not:
                    return !Evaluate(not.Operand, frame);
                case IBinaryOperation binary:
                {
                    var left = Evaluate(binary.LeftOperand, frame);
                    var right = Evaluate(binary.RightOperand, frame);
                    switch (binary.OperatorKind)
                    {
                        case BinaryOperatorKind.ConditionalAnd:
                        case BinaryOperatorKind.And:
                            if (left == false || right == false)
                                return false;
                            return left == true && right == true ? true : null;
                        case BinaryOperatorKind.ConditionalOr:
                        case BinaryOperatorKind.Or:
                            if (left == true || right == true)
                                return true;
                            return left == false && right == false ? false : null;
                        case BinaryOperatorKind.Equals:
                            return left is { } l && right is { } r ? l == r : null;
                        case BinaryOperatorKind.NotEquals:
                            return left is { } l2 && right is { } r2 ? l2 != r2 : null;
                        default:
                            return null;
                    }
                }

                default:
                    return null;
            }
        }
    }
}
