using System.Collections.Generic;
using System.Threading;
using MemSafety.Analyzers.Engines.Bodies;
using MemSafety.Analyzers.Engines.Concurrency;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.SharedState;

/// <summary>A lock taken by a call, and how it is released (MSA6005).</summary>
public enum ManualLockKind
{
    Monitor,
    Lock,
    ReadLock,
    WriteLock,
    UpgradeableReadLock,
    Semaphore,
    SpinLock,
    Mutex,
}

/// <summary>One acquire call whose release in the same body is not in a <c>finally</c> that covers it.</summary>
public sealed class UnprotectedAcquire
{
    public UnprotectedAcquire(InvocationExpressionSyntax acquire, ExpressionSyntax lockObject, ManualLockKind kind, InvocationExpressionSyntax release)
    {
        Acquire = acquire;
        LockObject = lockObject;
        Kind = kind;
        Release = release;
    }

    public InvocationExpressionSyntax Acquire { get; }

    /// <summary>The object locked: Monitor's argument, or the receiver of the other kinds.</summary>
    public ExpressionSyntax LockObject { get; }

    public ManualLockKind Kind { get; }

    /// <summary>The first release of the same object after the acquire.</summary>
    public InvocationExpressionSyntax Release { get; }
}

/// <summary>
/// Finds lock acquisitions by call — <c>Monitor.Enter/TryEnter</c>, <c>Lock.Enter/TryEnter</c>,
/// <c>ReaderWriterLockSlim.Enter*Lock/TryEnter*Lock</c>, <c>SemaphoreSlim.Wait/WaitAsync</c>, <c>SpinLock.Enter/TryEnter</c>,
/// <c>Mutex.WaitOne</c> — whose release in the same body is not protected by a <c>finally</c>: an exception between them
/// leaves the lock held. An acquire is protected when a release of the same object (syntactically the same expression)
/// sits in the <c>finally</c> of a <c>try</c> that contains the acquire, that follows the acquire's statement directly,
/// or that opens the block the acquire's condition guards (<c>if (Monitor.TryEnter(x)) { try … finally … }</c>). Bodies
/// that release the lock elsewhere (another method) are not judged. Code between acquire and release that cannot throw
/// (assignments and arithmetic on locals, parameters and this object's fields) needs no <c>finally</c>.
/// </summary>
public static class ManualLockRegions
{
    /// <summary>Names of calls that may take a lock (the engine's <see cref="LockCalls.IsAcquireName"/>).</summary>
    public static bool IsAcquireName(string name) => LockCalls.IsAcquireName(name);

    /// <summary>The kind of lock <paramref name="method"/> acquires and the object it locks, or null, as
    /// <see cref="LockCalls"/> classifies the call. <c>Lock.EnterScope</c> is left out: its release is the scope's
    /// <c>Dispose</c>, which <c>using</c> puts in a finally.</summary>
    internal static (ManualLockKind Kind, ExpressionSyntax LockObject)? Acquire(IMethodSymbol method, ITypeSymbol? receiverType, InvocationExpressionSyntax call, ConcurrencyTypes types)
    {
        var classified = LockCalls.Classify(method, receiverType, types);
        if (!classified.IsAcquire || classified.Scope)
            return null;
        ExpressionSyntax? lockObject = classified.LocksArgument
            ? call.ArgumentList.Arguments.Count > 0 ? call.ArgumentList.Arguments[0].Expression : null
            : call.Expression is MemberAccessExpressionSyntax access ? access.Expression : null;
        if (lockObject is null)
            return null;
        return (KindOf(classified), lockObject);
    }

    private static ManualLockKind KindOf(LockCall call) => call.Flavor switch
    {
        LockFlavor.Monitor => ManualLockKind.Monitor,
        LockFlavor.Lock => ManualLockKind.Lock,
        LockFlavor.ReaderWriter => call.Upgradeable ? ManualLockKind.UpgradeableReadLock : call.Mode == LockMode.Shared ? ManualLockKind.ReadLock : ManualLockKind.WriteLock,
        LockFlavor.Semaphore => ManualLockKind.Semaphore,
        LockFlavor.SpinLock => ManualLockKind.SpinLock,
        _ => ManualLockKind.Mutex,
    };

    public static string ReleaseName(ManualLockKind kind) => LockCalls.ReleaseName(kind switch
    {
        ManualLockKind.Monitor => new LockCall(LockCallEffect.Acquire, LockFlavor.Monitor, LockMode.Exclusive),
        ManualLockKind.Lock => new LockCall(LockCallEffect.Acquire, LockFlavor.Lock, LockMode.Exclusive),
        ManualLockKind.ReadLock => new LockCall(LockCallEffect.Acquire, LockFlavor.ReaderWriter, LockMode.Shared),
        ManualLockKind.WriteLock => new LockCall(LockCallEffect.Acquire, LockFlavor.ReaderWriter, LockMode.Exclusive),
        ManualLockKind.UpgradeableReadLock => new LockCall(LockCallEffect.Acquire, LockFlavor.ReaderWriter, LockMode.Shared, upgradeable: true),
        ManualLockKind.Semaphore => new LockCall(LockCallEffect.Acquire, LockFlavor.Semaphore, LockMode.Exclusive),
        ManualLockKind.SpinLock => new LockCall(LockCallEffect.Acquire, LockFlavor.SpinLock, LockMode.Exclusive),
        _ => new LockCall(LockCallEffect.Acquire, LockFlavor.Mutex, LockMode.Exclusive),
    });

    /// <summary>The unprotected acquire at <paramref name="acquire"/>, or null when it is protected, released in no
    /// place of its body, or released only by code that cannot be shown to be a release of the same object.</summary>
    public static UnprotectedAcquire? Check(IInvocationOperation acquire, CancellationToken cancellationToken)
    {
        if (acquire.Syntax is not InvocationExpressionSyntax call || acquire.SemanticModel is not { } model)
            return null;
        var types = ConcurrencyTypes.Of(model.Compilation);
        if (Acquire(acquire.TargetMethod, LocksetAnalysis.Unwrap(acquire.Instance)?.Type, call, types) is not { } found)
            return null;
        // A TryEnter/Wait(timeout) whose result is stored or passed on: whether a lock is held is data the rule does
        // not follow. Judged only as the condition of an if (possibly negated).
        if (IsConditional(acquire.TargetMethod) && !IsIfCondition(call))
            return null;
        var (kind, lockObject) = found;
        var body = ReleaseRegions.Body(call);
        if (body is null)
            return null;

        var releaseName = ReleaseName(kind);
        InvocationExpressionSyntax? firstAfter = null;
        List<SyntaxNode>? releases = null;
        foreach (var node in body.DescendantNodes(n => n == body || !ReleaseRegions.IsFunction(n)))
        {
            if (node is not InvocationExpressionSyntax candidate || candidate == call || ReleaseRegions.Name(candidate) != releaseName)
                continue;
            if (ReleasedObject(candidate, kind) is not { } released || !SyntaxFactory.AreEquivalent(released, lockObject))
                continue;
            // The release is a method of the same synchronisation type (Mutex.ReleaseMutex for a Mutex's WaitOne).
            var releaseType = kind == ManualLockKind.Mutex ? types.Mutex : acquire.TargetMethod.ContainingType;
            if (model.GetSymbolInfo(candidate, cancellationToken).Symbol is not IMethodSymbol releaseMethod
                || !ConcurrencyTypes.Is(releaseMethod.ContainingType, releaseType))
            {
                continue;
            }

            (releases ??= new List<SyntaxNode>()).Add(candidate);
            // A release in any finally: the body handles exceptions on purpose (a compensating release on a failure
            // path, a counting semaphore given back only when the work fails, as BlockingCollection.TryTake does).
            // So does a release in a catch that rethrows: the failure path gives the lock back, and the success path keeps
            // it on purpose for a later call to release (LiteDB's SharedEngine.OpenDatabase, reported wrongly in session 8).
            if (ReleaseRegions.Protects(candidate, call) || ReleaseRegions.InFinally(candidate) || InRethrowingCatch(candidate))
                return null;
            if (firstAfter is null && candidate.SpanStart > call.Span.End)
                firstAfter = candidate;
        }

        if (releases is null || firstAfter is null)
            return null;
        if (ReleaseRegions.NothingBetweenCanThrow(call, firstAfter, model, cancellationToken))
            return null;
        // Released only on early exits, kept on the main path for a later call: a finally would release it there too.
        // (A TryEnter's failed branch holds nothing, so the path where it fails says nothing about hand-off.)
        if (!IsConditional(acquire.TargetMethod) && ReleaseRegions.KeptOnTheMainPath(acquire, releases))
            return null;
        return new UnprotectedAcquire(call, lockObject, kind, firstAfter);
    }

    /// <summary>Inside a catch clause (of its own function) whose block rethrows (<c>throw;</c>).</summary>
    private static bool InRethrowingCatch(SyntaxNode node)
    {
        for (var current = node.Parent; current is not null && !ReleaseRegions.IsFunction(current); current = current.Parent)
        {
            if (current is CatchClauseSyntax { Block: { } block })
            {
                foreach (var statement in block.Statements)
                {
                    if (statement is ThrowStatementSyntax { Expression: null })
                        return true;
                }

                return false;
            }
        }

        return false;
    }

    private static ExpressionSyntax? ReleasedObject(InvocationExpressionSyntax release, ManualLockKind kind)
    {
        if (kind == ManualLockKind.Monitor)
            return release.ArgumentList.Arguments.Count > 0 ? release.ArgumentList.Arguments[0].Expression : null;
        return release.Expression is MemberAccessExpressionSyntax access ? access.Expression : null;
    }

    /// <summary>An acquire that may fail and says so in its result: TryEnter*, or a wait with a timeout.</summary>
    private static bool IsConditional(IMethodSymbol method)
    {
        if (method.Name.StartsWith("Try", System.StringComparison.Ordinal))
            return true;
        if (method.ReturnType.SpecialType != SpecialType.System_Boolean)
            return false;
        foreach (var parameter in method.Parameters)
        {
            if (parameter.Type.Name != "CancellationToken")
                return true;
        }

        return false;
    }

    private static bool IsIfCondition(InvocationExpressionSyntax call)
    {
        SyntaxNode node = call;
        while (node.Parent is PrefixUnaryExpressionSyntax { RawKind: (int)SyntaxKind.LogicalNotExpression } or ParenthesizedExpressionSyntax)
            node = node.Parent;
        return node.Parent is IfStatementSyntax @if && @if.Condition == node;
    }
}
