using System.Collections.Generic;
using MemSafety.Analyzers.Engines.Dataflow;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.FlowAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Engines.Concurrency;

/// <summary>
/// Forward must-analysis over one function's graph: which locks are definitely held before each operation.
/// <para>
/// Roslyn's graph already lowers <c>lock (o)</c> to <c>Monitor.Enter(o, ref taken)</c> in a try and
/// <c>Monitor.Exit(o)</c> in its finally, and <c>lock</c> on a <c>System.Threading.Lock</c> (C# 13) to
/// <c>o.EnterScope()</c> with <c>Scope.Dispose()</c> in the finally, so one set of call transfers covers the
/// statement and manual locking alike: <c>Monitor.Enter/TryEnter/Exit</c>, <c>Lock.Enter/TryEnter/Exit/EnterScope</c>
/// (and the scope's <c>Dispose</c>, also through <c>using</c>), <c>ReaderWriterLockSlim</c>
/// <c>Enter/TryEnter/Exit{Read,UpgradeableRead,Write}Lock</c> (read and upgradeable-read are shared, write exclusive),
/// <c>SemaphoreSlim.Wait/WaitAsync/Release</c> on a binary semaphore (the only one of these that may be held across
/// <c>await</c>), <c>SpinLock.Enter/TryEnter/Exit</c> and <c>Mutex.WaitOne/ReleaseMutex</c>. A <c>TryEnter</c> counts
/// as taking the lock (the usual code goes on only when it succeeded). The exception edges of the solver make a
/// lock taken inside a try not held in its handlers.
/// </para>
/// </summary>
internal sealed class LocksetAnalysis : DataflowAnalysis<Lockset>
{
    private readonly ConcurrencyTypes _types;
    private readonly INamedTypeSymbol _owner;
    private readonly Dictionary<CaptureId, IOperation?> _captures = new();
    private readonly Dictionary<ILocalSymbol, IOperation?> _scopeLocals = new(SymbolEqualityComparer.Default);
    private readonly System.Func<IFieldSymbol, bool> _isBinarySemaphore;

    public LocksetAnalysis(ControlFlowGraph graph, INamedTypeSymbol owner, ConcurrencyTypes types, Lockset boundary, System.Func<IFieldSymbol, bool> isBinarySemaphore)
    {
        _types = types;
        _owner = owner;
        Boundary = boundary;
        _isBinarySemaphore = isBinarySemaphore;
        foreach (var block in graph.Blocks)
        {
            foreach (var operation in block.Operations)
                Record(operation);
            if (block.BranchValue is { } branch)
                Record(branch);
        }
    }

    public override DataflowDirection Direction => DataflowDirection.Forward;

    public override Lockset Boundary { get; }

    public override Lockset Bottom => Lockset.Empty;

    public override Lockset Join(Lockset left, Lockset right) => left.Intersect(right);

    public override bool Same(Lockset left, Lockset right) => left.Equals(right);

    public override Lockset Transfer(IOperation operation, Lockset state)
    {
        if (operation is IInvocationOperation direct)
            return Apply(direct, state);
        foreach (var descendant in operation.Descendants())
        {
            if (descendant is IInvocationOperation invocation)
                state = Apply(invocation, state);
        }

        return state;
    }

    /// <summary>Flow captures (the lowered <c>lock</c> holds its object in one) and locals that hold a
    /// <c>Lock.Scope</c>, so that an exit names the lock its enter took.</summary>
    private void Record(IOperation operation)
    {
        foreach (var node in operation.DescendantsAndSelf())
        {
            switch (node)
            {
                case IFlowCaptureOperation capture:
                    _captures[capture.Id] = _captures.TryGetValue(capture.Id, out var known) && known is not null && known.Syntax != capture.Value.Syntax
                        ? null
                        : capture.Value;
                    break;
                case ISimpleAssignmentOperation { Target: ILocalReferenceOperation local, Value: var value } when IsEnterScope(Unwrap(value)):
                    _scopeLocals[local.Local] = _scopeLocals.ContainsKey(local.Local) ? null : Unwrap(value);
                    break;
            }
        }
    }

    private Lockset Apply(IInvocationOperation invocation, Lockset state)
    {
        var call = LockCalls.Classify(invocation.TargetMethod, Unwrap(invocation.Instance)?.Type, _types);
        if (call.Effect == LockCallEffect.None)
            return state;
        LockKey key;
        if (call.LocksArgument)
        {
            if (invocation.Arguments.Length == 0)
                return state;
            key = KeyOf(invocation.Arguments[0].Value);
        }
        else if (call.Scope && call.IsRelease)
        {
            var scope = ScopeOrigin(invocation.Instance);
            key = scope is IInvocationOperation enter ? KeyOf(enter.Instance) : LockKey.Unknown;
        }
        else
        {
            // Only a semaphore that admits one holder is a lock; a counting one lets several threads in.
            if (call.Flavor == LockFlavor.Semaphore
                && (Unwrap(invocation.Instance) is not IFieldReferenceOperation { Field: var field } || !_isBinarySemaphore(field)))
            {
                return state;
            }

            key = KeyOf(invocation.Instance);
        }

        return call.IsAcquire ? state.Acquire(key, call.Mode, call.Flavor) : state.Release(key, call.Mode);
    }

    private bool IsEnterScope(IOperation? operation)
        => operation is IInvocationOperation { TargetMethod.Name: "EnterScope" } invocation && LockCalls.Classify(invocation.TargetMethod, null, _types).Scope;

    private IOperation? ScopeOrigin(IOperation? instance)
    {
        for (var depth = 0; depth < 8; depth++)
        {
            instance = Unwrap(instance);
            switch (instance)
            {
                case IFlowCaptureReferenceOperation reference when _captures.TryGetValue(reference.Id, out var value):
                    instance = value;
                    continue;
                case ILocalReferenceOperation local when _scopeLocals.TryGetValue(local.Local, out var value):
                    return value;
                default:
                    return IsEnterScope(instance) ? instance : null;
            }
        }

        return null;
    }

    /// <summary>The lock an expression denotes: a field of this type read through <c>this</c> or static, <c>this</c>,
    /// <c>typeof(T)</c>, through the flow captures of the lowered statement; otherwise unknown.</summary>
    public LockKey KeyOf(IOperation? operation)
    {
        for (var depth = 0; depth < 8; depth++)
        {
            operation = Unwrap(operation);
            switch (operation)
            {
                case IFlowCaptureReferenceOperation reference when _captures.TryGetValue(reference.Id, out var value):
                    operation = value;
                    continue;
                case IFieldReferenceOperation field when field.Field.IsStatic || Unwrap(field.Instance) is IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance }:
                    return new LockKey(LockKind.Field, field.Field.OriginalDefinition);
                case IFieldReferenceOperation field when ReceiverOf(field.Instance) is { } receiver:
                    return LockKey.OfReceiver(receiver, field.Field);
                case ILocalReferenceOperation or IParameterReferenceOperation:
                    return LockKey.OfReceiver(ReceiverOf(operation)!, null);
                case IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance }:
                    return new LockKey(LockKind.This, _owner);
                case ITypeOfOperation typeOf:
                    return new LockKey(LockKind.Type, typeOf.TypeOperand.OriginalDefinition);
                default:
                    return LockKey.Unknown;
            }
        }

        return LockKey.Unknown;
    }

    /// <summary>The local, parameter, or field of this object (or static field) an expression reads: another object,
    /// named in the body so that <c>lock (other._gate)</c> and <c>other.M()</c>, or <c>lock (_inner._gate)</c> and
    /// <c>_inner.M()</c>, name the same lock; or null. Like Clang's lock expressions, a name is not followed through
    /// assignments between the lock and its use.</summary>
    internal static ISymbol? ReceiverOf(IOperation? operation) => Unwrap(operation) switch
    {
        ILocalReferenceOperation local => local.Local,
        IParameterReferenceOperation parameter => parameter.Parameter,
        IFieldReferenceOperation field when field.Field.IsStatic || Unwrap(field.Instance) is IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance }
            => field.Field.OriginalDefinition,
        _ => null,
    };

    internal static IOperation? Unwrap(IOperation? operation)
    {
        while (operation is IConversionOperation { IsImplicit: true } or IConversionOperation { Type.SpecialType: SpecialType.System_Object } or IParenthesizedOperation)
            operation = operation is IConversionOperation conversion ? conversion.Operand : ((IParenthesizedOperation)operation).Operand;
        return operation;
    }
}
