using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.SharedState;
using MemSafety.Analyzers.Tests.Verification;
using MemSafety.CodeFixes.SharedState;

namespace MemSafety.Analyzers.Tests.SharedState;

public sealed class LockWithoutFinallyTests
{
    // ------------------------------------------------------------------ reported

    [Fact]
    public Task MonitorEnterThenExitWithACallBetween_MessageNamesTheRelease()
    {
        var test = Verify<LockWithoutFinallyAnalyzer>.Test("""
            using System.Collections.Generic;
            using System.Threading;
            class Cache
            {
                private readonly object _gate = new object();
                private readonly Dictionary<string, int> _map = new();
                public void Put(string key, int value)
                {
                    {|#0:Monitor.Enter(_gate)|};
                    _map.Add(key, value);
                    Monitor.Exit(_gate);
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA6005", 0).WithMessage(
            "'Monitor.Enter(_gate)' is released by 'Monitor.Exit(_gate)' on line 11, but not in a finally: an exception thrown between them leaves the lock held, so every later attempt to take it waits forever"));
        return test.RunAsync();
    }

    /// <summary>In a property getter and in a nested type's event accessor, as in a method.</summary>
    [Fact]
    public Task InAPropertyGetterAndANestedTypesEventAccessor_Reported() => Verify<LockWithoutFinallyAnalyzer>.AnalyzerAsync("""
        using System;
        using System.Collections.Generic;
        using System.Threading;
        class Outer
        {
            private readonly object _gate = new object();
            private readonly List<int> _items = new();
            public int First { get { [|Monitor.Enter(_gate)|]; var x = _items[0]; Monitor.Exit(_gate); return x; } }

            private sealed class Hub
            {
                private readonly ReaderWriterLockSlim _rw = new();
                private Action _handlers;
                public event Action Changed
                {
                    add { [|_rw.EnterWriteLock()|]; _handlers = (Action)Delegate.Combine(_handlers, value); _rw.ExitWriteLock(); }
                    remove { _rw.EnterWriteLock(); try { _handlers = (Action)Delegate.Remove(_handlers, value); } finally { _rw.ExitWriteLock(); } }
                }
            }
        }
        """);

    [Fact]
    public Task ReaderWriterLockSlimReadAndWrite_Reported()
    {
        var test = Verify<LockWithoutFinallyAnalyzer>.Test("""
            using System.Collections.Generic;
            using System.Threading;
            class Table
            {
                private readonly ReaderWriterLockSlim _rw = new();
                private readonly List<int> _rows = new();
                public int Get(int i) { {|#0:_rw.EnterReadLock()|}; var x = _rows[i]; _rw.ExitReadLock(); return x; }
                public void Add(int x) { [|_rw.EnterWriteLock()|]; _rows.Add(x); _rw.ExitWriteLock(); }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA6005", 0).WithMessage(
            "'_rw.EnterReadLock()' is released by '_rw.ExitReadLock()' on line 7, but not in a finally: an exception thrown between them leaves the read lock held, so every writer waits forever"));
        return test.RunAsync();
    }

    [Fact]
    public Task SemaphoreSlimWaitAsyncAcrossAwait_Reported()
    {
        var test = Verify<LockWithoutFinallyAnalyzer>.Test("""
            using System.IO;
            using System.Threading;
            using System.Threading.Tasks;
            class Writer
            {
                private readonly SemaphoreSlim _gate = new(1, 1);
                public async Task WriteAsync(Stream s, byte[] data)
                {
                    await {|#0:_gate.WaitAsync()|};
                    await s.WriteAsync(data, 0, data.Length);
                    _gate.Release();
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA6005", 0).WithMessage(
            "'_gate.WaitAsync()' is released by '_gate.Release()' on line 11, but not in a finally: an exception thrown between them keeps the semaphore's count, so once the count is used up every later wait blocks forever"));
        return test.RunAsync();
    }

    [Fact]
    public Task SystemThreadingLockEnterExit_Reported()
    {
        var test = Verify<LockWithoutFinallyAnalyzer>.Test("""
            using System.Threading;
            class Counter
            {
                private readonly Lock _gate = new();
                private int[] _slots = new int[4];
                public void Bump(int i) { [|_gate.Enter()|]; _slots[i]++; _gate.Exit(); }
            }
            """);
        test.ReferenceSet = ReferenceSet.Net100;
        return test.RunAsync();
    }

    [Fact]
    public Task TryEnterThenExitOutsideFinally_Reported() => Verify<LockWithoutFinallyAnalyzer>.AnalyzerAsync("""
        using System.Threading;
        class Poller
        {
            private readonly object _gate = new object();
            public bool Poll(System.Action work)
            {
                if (![|Monitor.TryEnter(_gate)|]) return false;
                work();
                Monitor.Exit(_gate);
                return true;
            }
        }
        """);

    [Fact]
    public Task SpinLockAndMutex_Reported() => Verify<LockWithoutFinallyAnalyzer>.AnalyzerAsync("""
        using System.Threading;
        class Native
        {
            private SpinLock _spin = new SpinLock(false);
            private readonly Mutex _mutex = new Mutex();
            public void A(System.Action work) { var taken = false; [|_spin.Enter(ref taken)|]; work(); _spin.Exit(); }
            public void B(System.Action work) { [|_mutex.WaitOne()|]; work(); _mutex.ReleaseMutex(); }
        }
        """);

    [Fact]
    public Task ReleaseOnAnEarlyReturnPath_Reported() => Verify<LockWithoutFinallyAnalyzer>.AnalyzerAsync("""
        using System.Threading;
        class Early
        {
            private readonly ReaderWriterLockSlim _rw = new();
            private readonly System.Collections.Generic.Dictionary<int, string> _names = new();
            public string Find(int id)
            {
                [|_rw.EnterReadLock()|];
                if (!_names.TryGetValue(id, out var name)) { _rw.ExitReadLock(); return ""; }
                _rw.ExitReadLock();
                return name;
            }
        }
        """);

    // ------------------------------------------------------------------ not reported

    /// <summary>A mutex kept on success for a later call to release, given back in a catch that rethrows on failure
    /// (LiteDB's SharedEngine.OpenDatabase/CloseDatabase, reported wrongly in session 8).</summary>
    [Fact]
    public Task ReleasedInARethrowingCatch_KeptOnSuccess_NoDiagnostic() => Verify<LockWithoutFinallyAnalyzer>.AnalyzerAsync("""
        using System.Threading;
        class Shared
        {
            private readonly Mutex _mutex = new Mutex();
            private object _engine;
            private bool _busy;
            public bool Open()
            {
                _mutex.WaitOne();
                if (!_busy && _engine == null)
                {
                    try { _engine = Create(); return true; }
                    catch { _mutex.ReleaseMutex(); throw; }
                }

                return false;
            }
            public void Close() { _engine = null; _mutex.ReleaseMutex(); }
            private static object Create() => new object();
        }
        """);

    [Fact]
    public Task ReleaseInFinallyRightAfterTheAcquire_NoDiagnostic() => Verify<LockWithoutFinallyAnalyzer>.AnalyzerAsync("""
        using System.Threading;
        using System.Threading.Tasks;
        class Good
        {
            private readonly object _gate = new object();
            private readonly ReaderWriterLockSlim _rw = new();
            private readonly SemaphoreSlim _sem = new(1, 1);
            private int _n;
            public void A(System.Action work) { Monitor.Enter(_gate); try { work(); } finally { Monitor.Exit(_gate); } }
            public void B(System.Action work) { _rw.EnterWriteLock(); try { work(); } finally { _rw.ExitWriteLock(); } }
            public async Task C(System.Func<Task> work) { await _sem.WaitAsync(); try { await work(); } finally { _sem.Release(); } }
            public void D(System.Action work)
            {
                var taken = false;
                try { Monitor.Enter(_gate, ref taken); work(); }
                finally { if (taken) Monitor.Exit(_gate); }
            }
        }
        """);

    [Fact]
    public Task TryEnterGuardingATryFinally_NoDiagnostic() => Verify<LockWithoutFinallyAnalyzer>.AnalyzerAsync("""
        using System.Threading;
        class Poller
        {
            private readonly object _gate = new object();
            public bool A(System.Action work)
            {
                if (Monitor.TryEnter(_gate))
                {
                    try { work(); } finally { Monitor.Exit(_gate); }
                    return true;
                }
                return false;
            }
            public bool B(System.Action work)
            {
                if (!Monitor.TryEnter(_gate)) return false;
                try { work(); } finally { Monitor.Exit(_gate); }
                return true;
            }
        }
        """);

    [Fact]
    public Task CountingSemaphoreGivenBackInAFinallyOnFailure_NoDiagnostic() => Verify<LockWithoutFinallyAnalyzer>.AnalyzerAsync("""
        using System.Collections.Concurrent;
        using System.Threading;
        class Blocking
        {
            private readonly SemaphoreSlim _occupied = new(0);
            private readonly ConcurrentQueue<int> _items = new();
            // BlockingCollection.TryTake's shape: the count is given back only when taking the item fails.
            public bool TryTake(out int item, int timeout)
            {
                item = 0;
                var acquired = false;
                try { acquired = _occupied.Wait(timeout); }
                catch (System.OperationCanceledException) { return false; }
                if (acquired)
                {
                    var taken = false;
                    try { taken = _items.TryDequeue(out item); }
                    finally { if (!taken) _occupied.Release(); }
                }
                return acquired;
            }
        }
        """);

    [Fact]
    public Task TryEnterResultStoredInAFlag_NoDiagnostic() => Verify<LockWithoutFinallyAnalyzer>.AnalyzerAsync("""
        using System.Threading;
        class Flagged
        {
            private readonly object _gate = new object();
            public void M(System.Action work)
            {
                var held = Monitor.TryEnter(_gate, 100);
                work();
                if (held) Monitor.Exit(_gate);
            }
        }
        """);

    [Fact]
    public Task NothingBetweenCanThrow_NoDiagnostic() => Verify<LockWithoutFinallyAnalyzer>.AnalyzerAsync("""
        using System.Threading;
        class Tiny
        {
            private readonly object _gate = new object();
            private long _total;
            private int _count;
            public void Add(int x)
            {
                Monitor.Enter(_gate);
                _total += x;
                _count++;
                Monitor.Exit(_gate);
            }
        }
        """);

    /// <summary>An awaited wait released in the very next statement, inside a return: nothing between can throw
    /// (Quartz's TaskSchedulingThreadPool.WaitForAvailableThreads, reported wrongly in session 9).</summary>
    [Fact]
    public Task AwaitedWaitReleasedInTheNextReturn_NoDiagnostic() => Verify<LockWithoutFinallyAnalyzer>.AnalyzerAsync("""
        using System.Threading;
        using System.Threading.Tasks;
        class Pool
        {
            private readonly SemaphoreSlim _slots = new(4);
            public async Task<int> Available(CancellationToken token)
            {
                await _slots.WaitAsync(token).ConfigureAwait(false);
                return 1 + _slots.Release();
            }
            public async Task Probe() { await _slots.WaitAsync(); _slots.Release(); }
        }
        """);

    /// <summary>The same shapes with a call between the wait and the release stay reported.</summary>
    [Fact]
    public Task AwaitedWaitReleasedInAReturnAfterACall_Reported() => Verify<LockWithoutFinallyAnalyzer>.AnalyzerAsync("""
        using System.Threading;
        using System.Threading.Tasks;
        class Pool
        {
            private readonly SemaphoreSlim _slots = new(4);
            public async Task<int> Run(System.Func<Task<int>> work)
            {
                await [|_slots.WaitAsync()|].ConfigureAwait(false);
                var n = await work();
                return n + _slots.Release();
            }
            public async Task<int> Run2(System.Func<int> work)
            {
                await [|_slots.WaitAsync()|];
                return work() + _slots.Release();
            }
        }
        """);

    /// <summary>Taken on the main path for a later call to release, given back only on an early exit: the lock is handed
    /// to the caller (log4net's FileAppender.InterProcessLock.AcquireLock/ReleaseLock) or a permit to a task that releases
    /// it when done (Quartz's TaskSchedulingThreadPool.TryRun); a finally would release it on the main path too. Both were
    /// reported wrongly in session 9.</summary>
    [Fact]
    public Task KeptOnTheMainPathReleasedOnlyOnEarlyExits_NoDiagnostic() => Verify<LockWithoutFinallyAnalyzer>.AnalyzerAsync("""
        using System.IO;
        using System.Threading;
        using System.Threading.Tasks;
        class InterProcessLock
        {
            private readonly Mutex _mutex = new Mutex();
            private Stream _stream;
            private int _depth;
            public Stream Acquire()
            {
                _mutex.WaitOne();
                _depth++;
                if (_stream != null)
                {
                    if (_stream.CanSeek) _stream.Seek(0, SeekOrigin.End);
                }
                else
                {
                    _depth--;
                    _mutex.ReleaseMutex();
                    return null;
                }
                return _stream;
            }
            public void Release() { if (_depth > 0) { _depth--; _mutex.ReleaseMutex(); } }
        }
        class Pool
        {
            private readonly SemaphoreSlim _slots = new(4);
            private readonly CancellationTokenSource _shutdown = new();
            private readonly object _gate = new object();
            public async Task<bool> TryRun(System.Func<Task> action)
            {
                try { await _slots.WaitAsync(_shutdown.Token); }
                catch (System.OperationCanceledException) { return false; }
                var task = new Task<Task>(action);
                lock (_gate)
                {
                    if (_shutdown.IsCancellationRequested) { _slots.Release(); return false; }
                }
                _ = task.Unwrap().ContinueWith(_ => _slots.Release());
                task.Start();
                return true;
            }
        }
        """);

    /// <summary>A lock released at the end of the main path and on an early exit is judged as before, and so is one whose
    /// early return leaves it held while the main path releases it.</summary>
    [Fact]
    public Task ReleasedOnTheMainPathToo_Reported() => Verify<LockWithoutFinallyAnalyzer>.AnalyzerAsync("""
        using System.Threading;
        class Table
        {
            private readonly Mutex _mutex = new Mutex();
            private int[] _rows = new int[4];
            public int Get(int i)
            {
                [|_mutex.WaitOne()|];
                if (i < 0) { _mutex.ReleaseMutex(); return -1; }
                var x = _rows[i];
                _mutex.ReleaseMutex();
                return x;
            }
            public void Put(int i, int v)
            {
                [|_mutex.WaitOne()|];
                if (i < 0) return;
                _rows[i] = v;
                _mutex.ReleaseMutex();
            }
        }
        """);

    [Fact]
    public Task ReleasedInAnotherMethod_NoDiagnostic() => Verify<LockWithoutFinallyAnalyzer>.AnalyzerAsync("""
        using System.Threading;
        class Scope
        {
            private readonly ReaderWriterLockSlim _rw = new();
            public void Begin(System.Action work) { _rw.EnterReadLock(); work(); }
            public void End() { _rw.ExitReadLock(); }
        }
        """);

    [Fact]
    public Task SignalsAndOtherObjects_NoDiagnostic() => Verify<LockWithoutFinallyAnalyzer>.AnalyzerAsync("""
        using System.Threading;
        class Signals
        {
            private readonly AutoResetEvent _ready = new(false);
            private readonly SemaphoreSlim _a = new(1, 1), _b = new(1, 1);
            private readonly object _x = new object(), _y = new object();
            public void M(System.Action work)
            {
                _ready.WaitOne(); work();
                _a.Wait(); work(); _b.Release();
                Monitor.Enter(_x); work(); Monitor.Exit(_y);
                Monitor.Wait(_x); work();
            }
        }
        """);

    [Fact]
    public Task LockStatementAndEnterScope_NoDiagnostic()
    {
        var test = Verify<LockWithoutFinallyAnalyzer>.Test("""
            using System.Threading;
            class Modern
            {
                private readonly Lock _gate = new();
                private readonly object _old = new object();
                public void A(System.Action work) { lock (_gate) { work(); } }
                public void B(System.Action work) { using (_gate.EnterScope()) { work(); } }
                public void C(System.Action work) { lock (_old) { work(); } }
            }
            """);
        test.ReferenceSet = ReferenceSet.Net100;
        return test.RunAsync();
    }

    [Fact]
    public Task IncompleteCode_NoCrash()
    {
        var test = Verify<LockWithoutFinallyAnalyzer>.Test("""
            using System.Threading;
            class Broken
            {
                private readonly object _g = new object();
                public void M() { Monitor.Enter(); Monitor.Exit(_g) Monitor.Enter(_g; }
                public void N() { _g.Wait
            }
            """);
        test.AllowCompilerErrors = true;
        return test.RunAsync();
    }

    // ------------------------------------------------------------------ fix

    [Fact]
    public Task MonitorPair_BecomesALockStatement() => Verify<LockWithoutFinallyAnalyzer, LockWithoutFinallyFix>.CodeFixAsync("""
        using System.Collections.Generic;
        using System.Threading;
        class Cache
        {
            private readonly object _gate = new object();
            private readonly Dictionary<string, int> _map = new();
            public void Put(string key, int value)
            {
                // Take the gate.
                [|Monitor.Enter(_gate)|];
                _map.Add(key, value);
                _map.Remove(key + "-old");
                Monitor.Exit(_gate);
            }
        }
        """, """
        using System.Collections.Generic;
        using System.Threading;
        class Cache
        {
            private readonly object _gate = new object();
            private readonly Dictionary<string, int> _map = new();
            public void Put(string key, int value)
            {
                // Take the gate.
                lock (_gate)
                {
                    _map.Add(key, value);
                    _map.Remove(key + "-old");
                }
            }
        }
        """);

    [Fact]
    public Task ReaderWriterLockAndSemaphore_TryFinally() => Verify<LockWithoutFinallyAnalyzer, LockWithoutFinallyFix>.CodeFixAsync("""
        using System.Collections.Generic;
        using System.IO;
        using System.Threading;
        using System.Threading.Tasks;
        class Table
        {
            private readonly ReaderWriterLockSlim _rw = new();
            private readonly SemaphoreSlim _gate = new(1, 1);
            private readonly List<int> _rows = new();
            public void Add(int x)
            {
                [|_rw.EnterWriteLock()|];
                _rows.Add(x);
                _rw.ExitWriteLock();
            }
            public async Task WriteAsync(Stream s, byte[] data)
            {
                await [|_gate.WaitAsync()|];
                await s.WriteAsync(data, 0, data.Length);
                _gate.Release();
            }
        }
        """, """
        using System.Collections.Generic;
        using System.IO;
        using System.Threading;
        using System.Threading.Tasks;
        class Table
        {
            private readonly ReaderWriterLockSlim _rw = new();
            private readonly SemaphoreSlim _gate = new(1, 1);
            private readonly List<int> _rows = new();
            public void Add(int x)
            {
                _rw.EnterWriteLock();
                try
                {
                    _rows.Add(x);
                }
                finally
                {
                    _rw.ExitWriteLock();
                }
            }
            public async Task WriteAsync(Stream s, byte[] data)
            {
                await _gate.WaitAsync();
                try
                {
                    await s.WriteAsync(data, 0, data.Length);
                }
                finally
                {
                    _gate.Release();
                }
            }
        }
        """);

    [Fact]
    public Task TryEnterLocalUsedAfterOrEarlyRelease_NoFix() => Verify<LockWithoutFinallyAnalyzer, LockWithoutFinallyFix>.NoFixAsync("""
        using System.Threading;
        class Awkward
        {
            private readonly object _gate = new object();
            private readonly SemaphoreSlim _sem = new(1, 1);
            public bool A(System.Action work) { if (![|Monitor.TryEnter(_gate)|]) return false; work(); Monitor.Exit(_gate); return true; }
            public int B(System.Func<int> work) { [|Monitor.Enter(_gate)|]; var x = work(); Monitor.Exit(_gate); return x; }
            public void C(System.Func<bool> work) { [|_sem.Wait()|]; if (work()) { _sem.Release(); return; } _sem.Release(); }
            public void D(System.Action work) { if (![|_sem.Wait(100)|]) return; work(); _sem.Release(); }
        }
        """);

    // ------------------------------------------------------------------ what the finally changes, run

    private const string Before = """
        using System;
        using System.Threading;
        public static class Program
        {
            private static readonly object s_gate = new object();
            private static int s_count;
            public static void Put(int x)
            {
                Monitor.Enter(s_gate);
                if (x < 0) throw new ArgumentOutOfRangeException(nameof(x));
                s_count += x;
                Monitor.Exit(s_gate);
            }
            public static string Run()
            {
                Put(1); Put(2);
                var failed = false;
                try { Put(-1); } catch (ArgumentOutOfRangeException) { failed = true; }
                // Another thread now tries to take the lock, as the next caller would.
                var free = false;
                var other = new Thread(() => { free = Monitor.TryEnter(s_gate, 1000); if (free) Monitor.Exit(s_gate); });
                other.Start();
                other.Join();
                return $"count {s_count}; bad call failed: {failed}; another thread could take the lock: {free}";
            }
        }
        """;

    [Fact]
    public void Behaviour_ExceptionBetweenEnterAndExit_LeavesTheLockHeld_NotWithLock()
    {
        var after = Before.Replace("""
                    Monitor.Enter(s_gate);
                    if (x < 0) throw new ArgumentOutOfRangeException(nameof(x));
                    s_count += x;
                    Monitor.Exit(s_gate);
            """, """
                    lock (s_gate)
                    {
                        if (x < 0) throw new ArgumentOutOfRangeException(nameof(x));
                        s_count += x;
                    }
            """);
        Assert.NotEqual(Before, after);
        Assert.Equal("count 3; bad call failed: True; another thread could take the lock: False", Behaviour.RunInOwnProcess(Before));
        Assert.Equal("count 3; bad call failed: True; another thread could take the lock: True", Behaviour.RunInOwnProcess(after));
    }

    // ------------------------------------------------------------------ test matrix (issue 12): partial classes

    /// <summary>Each part of a partial class is checked on its own bodies: the unprotected region in the second file.</summary>
    [Fact]
    public Task PartialClassAcrossFiles_RegionInTheSecondFile_Reported()
    {
        var test = Verify<LockWithoutFinallyAnalyzer>.Test("""
            using System.Threading;
            partial class Journal
            {
                private readonly object _gate = new();
                private int _count;
                public void Add() { lock (_gate) { _count++; } }
            }
            """);
        test.Sources.Add("""
            using System.Threading;
            partial class Journal
            {
                public void Flush()
                {
                    [|Monitor.Enter(_gate)|];
                    Write(_count);
                    Monitor.Exit(_gate);
                }
                private static void Write(int n) => System.Console.WriteLine(n);
            }
            """);
        return test.RunAsync();
    }

    [Fact]
    public Task PartialClassAcrossFiles_ReleaseInFinally_NoDiagnostic()
    {
        var test = Verify<LockWithoutFinallyAnalyzer>.Test("""
            partial class Journal
            {
                private readonly System.Threading.ReaderWriterLockSlim _rw = new();
                private int _count;
            }
            """);
        test.Sources.Add("""
            partial class Journal
            {
                public int Count()
                {
                    _rw.EnterReadLock();
                    try { return _count; } finally { _rw.ExitReadLock(); }
                }
            }
            """);
        return test.RunAsync();
    }
}
