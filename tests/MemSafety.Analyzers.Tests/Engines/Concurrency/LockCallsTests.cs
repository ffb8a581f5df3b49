using System.Collections.Generic;
using System.Linq;
using MemSafety.Analyzers.Engines.Concurrency;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Tests.Engines.Concurrency;

/// <summary>
/// The acquire/release classifier every lock-aware rule asks (<see cref="LockCalls"/>): each call of a method body is
/// listed as <c>Name:Effect/Flavor/Mode</c> (plus <c>+up</c> for an upgradeable read lock, <c>+scope</c> for
/// <c>Lock.EnterScope</c> and its scope's <c>Dispose</c>, <c>+arg</c> when the lock is the first argument).
/// </summary>
public sealed class LockCallsTests
{
    private static List<string> Calls(string body)
    {
        var source = "using System; using System.Threading; using System.Threading.Tasks;\nclass C\n{\n" + body + "\n}";
        var tree = CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Latest));
        var compilation = CSharpCompilation.Create("t", new[] { tree }, Basic.Reference.Assemblies.Net100.References.All,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        var model = compilation.GetSemanticModel(tree);
        var types = ConcurrencyTypes.Of(compilation);
        var result = new List<string>();
        foreach (var node in tree.GetRoot().DescendantNodes().OfType<Microsoft.CodeAnalysis.CSharp.Syntax.InvocationExpressionSyntax>())
        {
            if (model.GetOperation(node) is not IInvocationOperation invocation)
                continue;
            var call = LockCalls.Classify(invocation.TargetMethod, invocation.Instance?.Type, types);
            var text = invocation.TargetMethod.Name + ":" + call.Effect;
            if (call.Effect != LockCallEffect.None)
                text += "/" + call.Flavor + "/" + call.Mode + (call.Upgradeable ? "+up" : "") + (call.Scope ? "+scope" : "") + (call.LocksArgument ? "+arg" : "");
            result.Add(text);
        }

        return result;
    }

    [Fact]
    public void MonitorAndLock_ExclusiveAndNamedByArgumentOrReceiver()
    {
        Assert.Equal(new[]
        {
            "Enter:Acquire/Monitor/Exclusive+arg", "TryEnter:Acquire/Monitor/Exclusive+arg", "Exit:Release/Monitor/Exclusive+arg", "Wait:None",
            "Enter:Acquire/Lock/Exclusive", "Exit:Release/Lock/Exclusive", "EnterScope:Acquire/Lock/Exclusive+scope", "Dispose:Release/Lock/Exclusive+scope",
        }, Calls("""
            object _o = new(); Lock _l = new();
            void M()
            {
                Monitor.Enter(_o); Monitor.TryEnter(_o); Monitor.Exit(_o); Monitor.Wait(_o);
                _l.Enter(); _l.Exit(); var s = _l.EnterScope(); s.Dispose();
            }
            """));
    }

    [Fact]
    public void ReaderWriterLockSlim_ReadAndUpgradeableShared_WriteExclusive()
    {
        Assert.Equal(new[]
        {
            "EnterReadLock:Acquire/ReaderWriter/Shared", "ExitReadLock:Release/ReaderWriter/Shared",
            "TryEnterUpgradeableReadLock:Acquire/ReaderWriter/Shared+up", "ExitUpgradeableReadLock:Release/ReaderWriter/Shared+up",
            "EnterWriteLock:Acquire/ReaderWriter/Exclusive", "ExitWriteLock:Release/ReaderWriter/Exclusive", "Dispose:None",
        }, Calls("""
            ReaderWriterLockSlim _rw = new();
            void M()
            {
                _rw.EnterReadLock(); _rw.ExitReadLock();
                _rw.TryEnterUpgradeableReadLock(0); _rw.ExitUpgradeableReadLock();
                _rw.EnterWriteLock(); _rw.ExitWriteLock(); _rw.Dispose();
            }
            """));
    }

    [Fact]
    public void SemaphoreSpinLockMutex_AndWaitOneOnAnEvent_IsNoLock()
    {
        Assert.Equal(new[]
        {
            "Wait:Acquire/Semaphore/Exclusive", "WaitAsync:Acquire/Semaphore/Exclusive", "Release:Release/Semaphore/Exclusive",
            "Enter:Acquire/SpinLock/Exclusive", "Exit:Release/SpinLock/Exclusive",
            "WaitOne:Acquire/Mutex/Exclusive", "ReleaseMutex:Release/Mutex/Exclusive", "WaitOne:None", "Wait:None",
        }, Calls("""
            SemaphoreSlim _s = new(1, 1); SpinLock _spin; Mutex _m = new(); ManualResetEvent _e = new(false);
            async Task M(Task t)
            {
                _s.Wait(); await _s.WaitAsync(); _s.Release();
                bool taken = false; _spin.Enter(ref taken); _spin.Exit();
                _m.WaitOne(); _m.ReleaseMutex(); _e.WaitOne(); t.Wait();
            }
            """));
    }

    [Fact]
    public void ReleaseName_PairsEachAcquire()
    {
        Assert.Equal("Exit", LockCalls.ReleaseName(new LockCall(LockCallEffect.Acquire, LockFlavor.Monitor, LockMode.Exclusive)));
        Assert.Equal("Dispose", LockCalls.ReleaseName(new LockCall(LockCallEffect.Acquire, LockFlavor.Lock, LockMode.Exclusive, scope: true)));
        Assert.Equal("ExitReadLock", LockCalls.ReleaseName(new LockCall(LockCallEffect.Acquire, LockFlavor.ReaderWriter, LockMode.Shared)));
        Assert.Equal("ExitUpgradeableReadLock", LockCalls.ReleaseName(new LockCall(LockCallEffect.Acquire, LockFlavor.ReaderWriter, LockMode.Shared, upgradeable: true)));
        Assert.Equal("ExitWriteLock", LockCalls.ReleaseName(new LockCall(LockCallEffect.Acquire, LockFlavor.ReaderWriter, LockMode.Exclusive)));
        Assert.Equal("Release", LockCalls.ReleaseName(new LockCall(LockCallEffect.Acquire, LockFlavor.Semaphore, LockMode.Exclusive)));
        Assert.Equal("ReleaseMutex", LockCalls.ReleaseName(new LockCall(LockCallEffect.Acquire, LockFlavor.Mutex, LockMode.Exclusive)));
    }

    [Fact]
    public void Prefilter_ExclusiveNamesLeaveOutReadLocks()
    {
        Assert.True(LockCalls.MayTakeLockByCall("Monitor", exclusiveOnly: true));
        Assert.True(LockCalls.MayTakeLockByCall("EnterWriteLock", exclusiveOnly: true));
        Assert.False(LockCalls.MayTakeLockByCall("EnterReadLock", exclusiveOnly: true));
        Assert.True(LockCalls.MayTakeLockByCall("EnterReadLock", exclusiveOnly: false));
        Assert.False(LockCalls.MayTakeLockByCall("Release", exclusiveOnly: false));
    }
}
