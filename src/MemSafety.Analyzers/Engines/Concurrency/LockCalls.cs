using Microsoft.CodeAnalysis;

namespace MemSafety.Analyzers.Engines.Concurrency;

/// <summary>What a call does to a lock.</summary>
internal enum LockCallEffect : byte
{
    None,
    Acquire,
    Release,
}

/// <summary>
/// One call classified by <see cref="LockCalls.Classify"/>: whether it takes or gives back a lock, which kind of lock
/// (<see cref="LockFlavor"/>), in which mode, and where the locked object is (Monitor's first argument, otherwise the
/// receiver; a <c>Lock.Scope</c> names its lock through the <c>EnterScope</c> call that made it).
/// </summary>
internal readonly struct LockCall
{
    public LockCall(LockCallEffect effect, LockFlavor flavor, LockMode mode, bool upgradeable = false, bool scope = false)
    {
        Effect = effect;
        Flavor = flavor;
        Mode = mode;
        Upgradeable = upgradeable;
        Scope = scope;
    }

    public static LockCall None => default;

    public LockCallEffect Effect { get; }

    public LockFlavor Flavor { get; }

    public LockMode Mode { get; }

    /// <summary>A <c>ReaderWriterLockSlim</c> upgradeable read lock (shared with readers, exclusive among upgraders and writers).</summary>
    public bool Upgradeable { get; }

    /// <summary><c>Lock.EnterScope()</c> (acquire) or <c>Lock.Scope.Dispose()</c> (release): the lock is the one the scope came from.</summary>
    public bool Scope { get; }

    public bool IsAcquire => Effect == LockCallEffect.Acquire;

    public bool IsRelease => Effect == LockCallEffect.Release;

    /// <summary>Monitor's calls take the locked object as their first argument; every other kind is called on it.</summary>
    public bool LocksArgument => Effect != LockCallEffect.None && Flavor == LockFlavor.Monitor;
}

/// <summary>
/// The one place that knows which calls take and release locks: <c>Monitor.Enter/TryEnter/Exit</c>,
/// <c>Lock.Enter/TryEnter/EnterScope/Exit</c> and <c>Lock.Scope.Dispose</c>, <c>ReaderWriterLockSlim</c>
/// <c>[Try]Enter{Read,UpgradeableRead,Write}Lock</c>/<c>Exit…Lock</c> (read and upgradeable-read shared, write exclusive),
/// <c>SemaphoreSlim.Wait/WaitAsync/Release</c>, <c>SpinLock.Enter/TryEnter/Exit</c> and, on a <c>Mutex</c> receiver,
/// <c>WaitOne/ReleaseMutex</c> (<c>WaitOne</c> is declared on <c>WaitHandle</c>: events are signals, not locks).
/// The lockset engine (MSA6001), MSA6005's manual-lock regions and the syntactic "may this code lock by hand" prefilters
/// of MSA6002 and MSA6007 all ask it. Whether a semaphore admits one holder is the caller's question (it needs the
/// field's creations).
/// </summary>
internal static class LockCalls
{
    /// <summary>Names of calls that may take a lock (a cheap prefilter before binding).</summary>
    public static bool IsAcquireName(string name)
        => name is "Enter" or "TryEnter" or "EnterScope" or "EnterReadLock" or "EnterWriteLock" or "EnterUpgradeableReadLock" or "TryEnterReadLock"
            or "TryEnterWriteLock" or "TryEnterUpgradeableReadLock" or "Wait" or "WaitAsync" or "WaitOne";

    /// <summary>Names of calls that may take a lock that excludes every other writer (all but a read lock).</summary>
    public static bool IsExclusiveAcquireName(string name)
        => IsAcquireName(name) && name is not ("EnterReadLock" or "TryEnterReadLock");

    /// <summary>Whether source text that mentions <paramref name="identifier"/> may take a lock by a call
    /// (<c>Monitor</c> itself, or the name of an acquire; with <paramref name="exclusiveOnly"/>, read locks do not count).</summary>
    public static bool MayTakeLockByCall(string identifier, bool exclusiveOnly)
        => identifier == "Monitor" || (exclusiveOnly ? IsExclusiveAcquireName(identifier) : IsAcquireName(identifier));

    /// <summary>Whether <paramref name="code"/> mentions a call that may take a lock excluding every other writer
    /// (<c>Monitor</c>, <c>Lock</c>, a write or upgradeable lock, a semaphore, <c>SpinLock</c>, <c>Mutex</c>; a read lock
    /// does not count: readers hold it together). Rules that build no control-flow graph take such a function as possibly
    /// running their operation in a manually locked region, as inside a <c>lock</c> statement (the lockset engine could
    /// tell; staying silent is the precise choice without it).</summary>
    public static bool MentionsExclusiveAcquire(SyntaxNode code)
    {
        foreach (var node in code.DescendantNodes())
        {
            if (node is Microsoft.CodeAnalysis.CSharp.Syntax.IdentifierNameSyntax { Identifier.ValueText: var name } && MayTakeLockByCall(name, exclusiveOnly: true))
                return true;
        }

        return false;
    }

    /// <summary>What <paramref name="method"/> does to a lock; <paramref name="receiverType"/> is the type of the object
    /// it is called on (conversions removed), which decides <c>WaitOne</c>.</summary>
    public static LockCall Classify(IMethodSymbol method, ITypeSymbol? receiverType, ConcurrencyTypes types)
    {
        var type = method.ContainingType;
        if (type is null)
            return LockCall.None;
        var name = method.Name;
        if (ConcurrencyTypes.Is(type, types.Monitor))
        {
            return name switch
            {
                "Enter" or "TryEnter" => new LockCall(LockCallEffect.Acquire, LockFlavor.Monitor, LockMode.Exclusive),
                "Exit" => new LockCall(LockCallEffect.Release, LockFlavor.Monitor, LockMode.Exclusive),
                _ => LockCall.None,
            };
        }

        if (ConcurrencyTypes.Is(type, types.Lock))
        {
            return name switch
            {
                "Enter" or "TryEnter" => new LockCall(LockCallEffect.Acquire, LockFlavor.Lock, LockMode.Exclusive),
                "EnterScope" => new LockCall(LockCallEffect.Acquire, LockFlavor.Lock, LockMode.Exclusive, scope: true),
                "Exit" => new LockCall(LockCallEffect.Release, LockFlavor.Lock, LockMode.Exclusive),
                _ => LockCall.None,
            };
        }

        if (ConcurrencyTypes.Is(type, types.LockScope))
            return name == "Dispose" ? new LockCall(LockCallEffect.Release, LockFlavor.Lock, LockMode.Exclusive, scope: true) : LockCall.None;

        if (ConcurrencyTypes.Is(type, types.ReaderWriterLockSlim))
        {
            return name switch
            {
                "EnterReadLock" or "TryEnterReadLock" => new LockCall(LockCallEffect.Acquire, LockFlavor.ReaderWriter, LockMode.Shared),
                "EnterUpgradeableReadLock" or "TryEnterUpgradeableReadLock" => new LockCall(LockCallEffect.Acquire, LockFlavor.ReaderWriter, LockMode.Shared, upgradeable: true),
                "EnterWriteLock" or "TryEnterWriteLock" => new LockCall(LockCallEffect.Acquire, LockFlavor.ReaderWriter, LockMode.Exclusive),
                "ExitReadLock" => new LockCall(LockCallEffect.Release, LockFlavor.ReaderWriter, LockMode.Shared),
                "ExitUpgradeableReadLock" => new LockCall(LockCallEffect.Release, LockFlavor.ReaderWriter, LockMode.Shared, upgradeable: true),
                "ExitWriteLock" => new LockCall(LockCallEffect.Release, LockFlavor.ReaderWriter, LockMode.Exclusive),
                _ => LockCall.None,
            };
        }

        if (ConcurrencyTypes.Is(type, types.SemaphoreSlim))
        {
            return name switch
            {
                "Wait" or "WaitAsync" => new LockCall(LockCallEffect.Acquire, LockFlavor.Semaphore, LockMode.Exclusive),
                "Release" => new LockCall(LockCallEffect.Release, LockFlavor.Semaphore, LockMode.Exclusive),
                _ => LockCall.None,
            };
        }

        if (ConcurrencyTypes.Is(type, types.SpinLock))
        {
            return name switch
            {
                "Enter" or "TryEnter" => new LockCall(LockCallEffect.Acquire, LockFlavor.SpinLock, LockMode.Exclusive),
                "Exit" => new LockCall(LockCallEffect.Release, LockFlavor.SpinLock, LockMode.Exclusive),
                _ => LockCall.None,
            };
        }

        if (types.Mutex is not null && ConcurrencyTypes.Is(receiverType, types.Mutex))
        {
            return name switch
            {
                "WaitOne" => new LockCall(LockCallEffect.Acquire, LockFlavor.Mutex, LockMode.Exclusive),
                "ReleaseMutex" => new LockCall(LockCallEffect.Release, LockFlavor.Mutex, LockMode.Exclusive),
                _ => LockCall.None,
            };
        }

        return LockCall.None;
    }

    /// <summary>The name of the call that releases what <paramref name="acquire"/> took.</summary>
    public static string ReleaseName(LockCall acquire) => acquire.Flavor switch
    {
        LockFlavor.Monitor or LockFlavor.Lock or LockFlavor.SpinLock => acquire.Scope ? "Dispose" : "Exit",
        LockFlavor.ReaderWriter => acquire.Upgradeable ? "ExitUpgradeableReadLock" : acquire.Mode == LockMode.Shared ? "ExitReadLock" : "ExitWriteLock",
        LockFlavor.Semaphore => "Release",
        _ => "ReleaseMutex",
    };
}
