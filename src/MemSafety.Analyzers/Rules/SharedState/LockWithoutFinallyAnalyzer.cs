using System.Collections.Immutable;
using MemSafety.Analyzers.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.SharedState;

/// <summary>
/// MSA6005. A lock taken by a call (<c>Monitor.Enter</c>, <c>Lock.Enter</c>, <c>ReaderWriterLockSlim.Enter*Lock</c>,
/// <c>SemaphoreSlim.Wait/WaitAsync</c>, <c>SpinLock.Enter</c>, <c>Mutex.WaitOne</c>) and released later in the same body,
/// but not from a <c>finally</c>: an exception between the two skips the release, the lock stays held, and every later
/// attempt to take it blocks forever. <c>lock</c> and <c>using (x.EnterScope())</c> release in a finally by
/// construction. See <see cref="ManualLockRegions"/> for what counts as protected.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class LockWithoutFinallyAnalyzer : MemSafetyAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.LockWithoutFinally);

    protected override void Register(AnalysisContext context) => context.RegisterOperationAction(Analyze, OperationKind.Invocation);

    private static void Analyze(OperationAnalysisContext context)
    {
        var invocation = (IInvocationOperation)context.Operation;
        if (!ManualLockRegions.IsAcquireName(invocation.TargetMethod.Name)
            || ManualLockRegions.Check(invocation, context.CancellationToken) is not { } unprotected)
        {
            return;
        }

        var line = unprotected.Release.GetLocation().GetLineSpan().StartLinePosition.Line + 1;
        context.ReportDiagnostic(Diagnostic.Create(
            RuleCatalogue.LockWithoutFinally,
            unprotected.Acquire.GetLocation(),
            Shorten(unprotected.Acquire.ToString()),
            Shorten(unprotected.Release.ToString()),
            line,
            Consequence(unprotected.Kind)));
    }

    private static string Shorten(string text) => text.Length <= 60 ? text : text.Substring(0, 57) + "...";

    private static string Consequence(ManualLockKind kind) => kind switch
    {
        ManualLockKind.ReadLock => "an exception thrown between them leaves the read lock held, so every writer waits forever",
        ManualLockKind.UpgradeableReadLock => "an exception thrown between them leaves the upgradeable lock held, so every writer and upgrader waits forever",
        ManualLockKind.Semaphore => "an exception thrown between them keeps the semaphore's count, so once the count is used up every later wait blocks forever",
        ManualLockKind.Mutex => "an exception thrown between them leaves the mutex owned until the thread ends (then other waiters get AbandonedMutexException)",
        _ => "an exception thrown between them leaves the lock held, so every later attempt to take it waits forever",
    };
}
