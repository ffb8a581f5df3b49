using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.SharedState;
using MemSafety.Analyzers.Tests.Verification;
using MemSafety.CodeFixes.SharedState;

namespace MemSafety.Analyzers.Tests.SharedState;

public sealed class CheckThenActTests
{
    // ------------------------------------------------------------------ reported

    [Fact]
    public Task ContainsKeyThenIndexerSet_MessageNamesBothCalls()
    {
        var test = Verify<CheckThenActAnalyzer>.Test("""
            using System.Collections.Concurrent;
            class Registry
            {
                private readonly ConcurrentDictionary<string, int> _ids = new();
                public void Register(string name, int id)
                {
                    if (!{|#0:_ids.ContainsKey(name)|}) _ids[name] = id;
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA6006", 0).WithMessage(
            "'_ids.ContainsKey(name)' and then '_ids[name] = id' are two operations on '_ids', not one: another thread can add the key between them, and this write then replaces the value it added; use TryAdd (or GetOrAdd), which checks and adds in one atomic call"));
        return test.RunAsync();
    }

    [Fact]
    public Task TryGetValueThenIgnoredTryAdd_MessageSaysGetOrAdd()
    {
        var test = Verify<CheckThenActAnalyzer>.Test("""
            using System.Collections.Concurrent;
            using System.Threading;
            class KeyedLocks
            {
                private static readonly ConcurrentDictionary<string, SemaphoreSlim> s_locks = new();
                public static SemaphoreSlim For(string key)
                {
                    if (!{|#0:s_locks.TryGetValue(key, out var gate)|})
                    {
                        gate = new SemaphoreSlim(1, 1);
                        s_locks.TryAdd(key, gate);
                    }
                    return gate;
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA6006", 0).WithMessage(
            "'s_locks.TryGetValue(key, out var gate)' and then 's_locks.TryAdd(key, gate)' are two operations on 's_locks', not one: when another thread adds the key between them, TryAdd adds nothing and this code goes on with a value that is not the one in the dictionary; use GetOrAdd, which returns the value the dictionary holds"));
        return test.RunAsync();
    }

    [Fact]
    public Task CountThenIgnoredTryDequeue_InIfAndWhile()
    {
        var test = Verify<CheckThenActAnalyzer>.Test("""
            using System.Collections.Concurrent;
            class Inbox
            {
                private readonly ConcurrentQueue<string> _queue = new();
                public int Drain()
                {
                    var n = 0;
                    while ({|#0:_queue.Count > 0|})
                    {
                        _queue.TryDequeue(out var message);
                        n += message.Length;
                    }
                    return n;
                }
                public string Next()
                {
                    string item = null;
                    if ([|!_queue.IsEmpty|]) { _queue.TryDequeue(out item); }
                    return item;
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA6006", 0).WithMessage(
            "'_queue.Count > 0' and then '_queue.TryDequeue(out var message)' are two operations on '_queue', not one: another thread can take the last item between them, and then TryDequeue returns false and leaves its out value at the default, which this code ignores; test the result of TryDequeue instead"));
        return test.RunAsync();
    }

    [Fact]
    public Task StackAndBag_Reported() => Verify<CheckThenActAnalyzer>.AnalyzerAsync("""
        using System.Collections.Concurrent;
        class Pools
        {
            private readonly ConcurrentStack<byte[]> _buffers = new();
            private readonly ConcurrentBag<object> _items = new();
            public byte[] Rent() { byte[] b = null; if ([|_buffers.Count != 0|]) _buffers.TryPop(out b); return b ?? new byte[16]; }
            public object Take() { object o = null; if ([|0 < _items.Count|]) { _items.TryTake(out o); } return o; }
        }
        """);

    [Fact]
    public Task IfElseWithTheSetInTheElse_Reported() => Verify<CheckThenActAnalyzer>.AnalyzerAsync("""
        using System.Collections.Concurrent;
        class Counter
        {
            private readonly ConcurrentDictionary<int, int> _hits = new();
            public void Hit(int page)
            {
                if ([|_hits.ContainsKey(page)|]) { return; }
                else { _hits[page] = 1; }
            }
        }
        """);

    [Fact]
    public Task PartialClassAndNestedType_Reported()
    {
        var test = Verify<CheckThenActAnalyzer>.Test("""
            using System.Collections.Concurrent;
            partial class Cache
            {
                private readonly ConcurrentDictionary<string, object> _map = new();
                public class Sub
                {
                    private static readonly ConcurrentDictionary<int, string> s_names = new();
                    public static void Name(int id, string name) { if (![|s_names.ContainsKey(id)|]) s_names[id] = name; }
                }
            }
            """);
        test.Sources.Add("""
            partial class Cache
            {
                public void Put(string key, object value) { if (![|_map.ContainsKey(key)|]) { _map[key] = value; } }
            }
            """);
        return test.RunAsync();
    }

    // ------------------------------------------------------------------ not reported

    /// <summary>Quartz's RAMJobStore.AddJobNoLock (session 9, reported wrongly): a private helper called only inside the
    /// region of a binary semaphore (<c>await s.WaitAsync(); try { … } finally { s.Release(); }</c>) that every writer of
    /// the dictionary takes; the same region in the function itself, and a Monitor region, count too.</summary>
    [Fact]
    public Task PairInAHelperCalledOnlyUnderASemaphoreOrInAMonitorRegion_NoDiagnostic() => Verify<CheckThenActAnalyzer>.AnalyzerAsync("""
        using System.Collections.Concurrent;
        using System.Threading;
        using System.Threading.Tasks;
        class Store
        {
            private readonly SemaphoreSlim _gate = new(1, 1);
            private readonly object _sync = new();
            private readonly ConcurrentDictionary<string, object> _jobs = new();
            public async Task Add(string key, object job)
            {
                await _gate.WaitAsync().ConfigureAwait(false);
                try { AddNoLock(key, job); }
                finally { _gate.Release(); }
            }
            public async Task AddMany(string[] keys)
            {
                await _gate.WaitAsync();
                try
                {
                    foreach (var key in keys)
                        AddNoLock(key, new object());
                }
                finally { _gate.Release(); }
            }
            private void AddNoLock(string key, object job)
            {
                if (!_jobs.TryGetValue(key, out _))
                    _jobs[key] = job;
            }
            public async Task Put(string key)
            {
                await _gate.WaitAsync();
                try { if (!_jobs.ContainsKey(key)) _jobs[key] = new object(); }
                finally { _gate.Release(); }
            }
            public void Set(string key)
            {
                Monitor.Enter(_sync);
                try { if (!_jobs.ContainsKey(key)) _jobs[key] = new object(); }
                finally { Monitor.Exit(_sync); }
            }
        }
        """);

    /// <summary>A helper that one caller calls without the region, a pair after the region's try, or a try whose finally
    /// releases nothing stays reported.</summary>
    [Fact]
    public Task HelperCalledOnceWithoutTheLockOrPairOutsideTheRegion_Reported() => Verify<CheckThenActAnalyzer>.AnalyzerAsync("""
        using System.Collections.Concurrent;
        using System.Threading;
        using System.Threading.Tasks;
        class Store
        {
            private readonly SemaphoreSlim _gate = new(1, 1);
            private readonly ConcurrentDictionary<string, object> _jobs = new();
            public async Task Add(string key, object job)
            {
                await _gate.WaitAsync();
                try { AddNoLock(key, job); }
                finally { _gate.Release(); }
            }
            public void AddFast(string key) => AddNoLock(key, new object());
            private void AddNoLock(string key, object job)
            {
                if (![|_jobs.ContainsKey(key)|])
                    _jobs[key] = job;
            }
            public async Task Put(string key, System.Action log)
            {
                await _gate.WaitAsync();
                try { log(); }
                finally { _gate.Release(); }
                if (![|_jobs.ContainsKey(key)|]) _jobs[key] = new object();
            }
            public void Set(string key, System.Action log)
            {
                log();
                try { if (![|_jobs.ContainsKey(key)|]) _jobs[key] = new object(); }
                finally { log(); }
            }
        }
        """);

    [Fact]
    public Task SingleAtomicCalls_NoDiagnostic() => Verify<CheckThenActAnalyzer>.AnalyzerAsync("""
        using System.Collections.Concurrent;
        class Registry
        {
            private readonly ConcurrentDictionary<string, int> _ids = new();
            private readonly ConcurrentQueue<int> _queue = new();
            public int Get(string name) => _ids.GetOrAdd(name, n => n.Length);
            public void Put(string name, int id) { _ids.TryAdd(name, id); _ids.AddOrUpdate(name, id, (_, old) => old + id); }
            public int Next() => _queue.TryDequeue(out var x) ? x : -1;
        }
        """);

    [Fact]
    public Task ContainsKeyThenTryAdd_OrTryAddWhoseResultIsTested_NoDiagnostic() => Verify<CheckThenActAnalyzer>.AnalyzerAsync("""
        using System.Collections.Concurrent;
        class Registry
        {
            private readonly ConcurrentDictionary<string, object> _map = new();
            // TryAdd is atomic itself: the check before it is redundant, not a race.
            public void Put(string key, object value) { if (!_map.ContainsKey(key)) _map.TryAdd(key, value); }
            public object Get(string key)
            {
                if (!_map.TryGetValue(key, out var v))
                {
                    var created = new object();
                    v = _map.TryAdd(key, created) ? created : _map[key];
                }
                return v;
            }
        }
        """);

    /// <summary>A drain loop that throws the items away: a take that finds the queue emptied by another thread changes
    /// nothing, and the loop tests again (NLog's ConcurrentRequestQueue.Clear, reported wrongly in session 8).</summary>
    [Fact]
    public Task DrainLoopDiscardingTheItems_NoDiagnostic() => Verify<CheckThenActAnalyzer>.AnalyzerAsync("""
        using System.Collections.Concurrent;
        class Queue
        {
            private readonly ConcurrentQueue<string> _queue = new();
            private readonly ConcurrentBag<int> _bag = new();
            public void Clear()
            {
                while (!_queue.IsEmpty)
                    _queue.TryDequeue(out var _);
                while (_bag.Count > 0)
                    _bag.TryTake(out _);
            }
        }
        """);

    [Fact]
    public Task CountThenTestedTryDequeue_NoDiagnostic() => Verify<CheckThenActAnalyzer>.AnalyzerAsync("""
        using System.Collections.Concurrent;
        class Inbox
        {
            private readonly ConcurrentQueue<string> _queue = new();
            public int Drain()
            {
                var n = 0;
                while (_queue.Count > 0)
                {
                    if (_queue.TryDequeue(out var message)) n += message.Length;
                }
                return n;
            }
        }
        """);

    [Fact]
    public Task LocalConcurrentCollection_NoDiagnostic() => Verify<CheckThenActAnalyzer>.AnalyzerAsync("""
        using System.Collections.Concurrent;
        using System.Threading.Tasks;
        class Batch
        {
            // Filled in parallel, drained after the loop by this thread alone.
            public static int Sum(int[] data)
            {
                var results = new ConcurrentQueue<int>();
                Parallel.For(0, data.Length, i => results.Enqueue(data[i] * 2));
                var sum = 0;
                while (results.Count > 0) { results.TryDequeue(out var x); sum += x; }
                return sum;
            }
        }
        """);

    [Fact]
    public Task DifferentKeyOrDifferentCollection_NoDiagnostic() => Verify<CheckThenActAnalyzer>.AnalyzerAsync("""
        using System.Collections.Concurrent;
        class Two
        {
            private readonly ConcurrentDictionary<string, int> _a = new();
            private readonly ConcurrentDictionary<string, int> _b = new();
            public void Copy(string key, string other)
            {
                if (!_a.ContainsKey(key)) _b[key] = 1;
                if (!_a.ContainsKey(key)) _a[other] = 1;
            }
        }
        """);

    [Fact]
    public Task NonConcurrentDictionaryAndAnotherInstancesField_NoDiagnostic() => Verify<CheckThenActAnalyzer>.AnalyzerAsync("""
        using System.Collections.Concurrent;
        using System.Collections.Generic;
        class Plain
        {
            private readonly Dictionary<string, int> _map = new();
            private readonly ConcurrentDictionary<string, int> _shared = new();
            public void Put(string key) { if (!_map.ContainsKey(key)) _map[key] = 1; }
            public static void Put(Plain other, string key) { if (!other._shared.ContainsKey(key)) other._shared[key] = 1; }
        }
        """);

    // ------------------------------------------------------------------ fix

    [Fact]
    public Task Fix_ContainsKeyThenSet_BecomesTryAdd() => Verify<CheckThenActAnalyzer, CheckThenActFix>.CodeFixAsync("""
        using System.Collections.Concurrent;
        class Registry
        {
            private readonly ConcurrentDictionary<string, int> _ids = new();
            public void Register(string name, int id)
            {
                // first one wins
                if (![|_ids.ContainsKey(name)|])
                {
                    _ids[name] = id;
                }
            }
        }
        """, """
        using System.Collections.Concurrent;
        class Registry
        {
            private readonly ConcurrentDictionary<string, int> _ids = new();
            public void Register(string name, int id)
            {
                // first one wins
                _ids.TryAdd(name, id);
            }
        }
        """);

    [Fact]
    public Task Fix_TryGetValueThenAdd_BecomesGetOrAdd() => Verify<CheckThenActAnalyzer, CheckThenActFix>.CodeFixAsync("""
        using System.Collections.Concurrent;
        using System.Threading;
        class KeyedLocks
        {
            private static readonly ConcurrentDictionary<string, SemaphoreSlim> s_locks = new();
            public static SemaphoreSlim For(string key)
            {
                if (![|s_locks.TryGetValue(key, out var gate)|])
                {
                    gate = new SemaphoreSlim(1, 1);
                    s_locks.TryAdd(key, gate);
                }
                return gate;
            }
            public static SemaphoreSlim ForSet(string key)
            {
                SemaphoreSlim gate;
                if (![|s_locks.TryGetValue(key, out gate)|])
                {
                    gate = new SemaphoreSlim(1, 1);
                    s_locks[key] = gate;
                }
                return gate;
            }
        }
        """, """
        using System.Collections.Concurrent;
        using System.Threading;
        class KeyedLocks
        {
            private static readonly ConcurrentDictionary<string, SemaphoreSlim> s_locks = new();
            public static SemaphoreSlim For(string key)
            {
                var gate = s_locks.GetOrAdd(key, _ => new SemaphoreSlim(1, 1));
                return gate;
            }
            public static SemaphoreSlim ForSet(string key)
            {
                SemaphoreSlim gate;
                gate = s_locks.GetOrAdd(key, _ => new SemaphoreSlim(1, 1));
                return gate;
            }
        }
        """);

    [Fact]
    public Task Fix_CountThenTake_TestsTheTakesResult() => Verify<CheckThenActAnalyzer, CheckThenActFix>.CodeFixAsync("""
        using System.Collections.Concurrent;
        class Inbox
        {
            private readonly ConcurrentQueue<string> _queue = new();
            public int Drain()
            {
                var n = 0;
                while ([|_queue.Count > 0|])
                {
                    _queue.TryDequeue(out var message);
                    n += message.Length;
                }
                if ([|!_queue.IsEmpty|])
                {
                    _queue.TryDequeue(out var last);
                    n += last.Length;
                }
                return n;
            }
        }
        """, """
        using System.Collections.Concurrent;
        class Inbox
        {
            private readonly ConcurrentQueue<string> _queue = new();
            public int Drain()
            {
                var n = 0;
                while (_queue.TryDequeue(out var message))
                {
                    n += message.Length;
                }
                if (_queue.TryDequeue(out var last))
                {
                    n += last.Length;
                }
                return n;
            }
        }
        """);

    [Fact]
    public async Task NoFix_WhereThePairDoesNotMapExactly()
    {
        // A value with effects (TryAdd would create it even when the key exists), an else branch, more statements, an
        // out variable whose name the if's block declares again.
        var test = new AnalyzerTest(new CheckThenActAnalyzer()) { CodeFix = new CheckThenActFix(), ExpectNoFix = true };
        test.Sources.Add("""
            using System.Collections.Concurrent;
            class Registry
            {
                private readonly ConcurrentDictionary<string, object> _map = new();
                private readonly ConcurrentQueue<string> _queue = new();
                public void A(string k) { if (![|_map.ContainsKey(k)|]) _map[k] = new object(); }
                public void B(string k, object v) { if (![|_map.ContainsKey(k)|]) _map[k] = v; else System.Console.WriteLine(k); }
                public void C(string k, object v) { if (![|_map.ContainsKey(k)|]) { System.Console.WriteLine(k); _map[k] = v; } }
                public int D()
                {
                    var n = 0;
                    if ([|_queue.Count > 0|]) { _queue.TryDequeue(out var s); n += s.Length; }
                    foreach (var s in new[] { "a" }) n += s.Length;
                    return n;
                }
            }
            """);
        await test.RunAsync();
    }

    // ------------------------------------------------------------------ evidence

    private const string KeyedLocksProgram = """
        using System.Collections.Concurrent;
        using System.Threading;
        class KeyedLocks
        {
            private readonly ConcurrentDictionary<string, object> _locks = new();
            public object For(string key)
            {
                if (!_locks.TryGetValue(key, out var gate))
                {
                    gate = Create();
                    _locks.TryAdd(key, gate);
                }
                return gate;
            }

            // The thread gives up the processor between the lookup and the add, so the other thread's lookup falls in between.
            private static object Create() { Thread.Sleep(1); return new object(); }
        }
        static class Program
        {
            // Two threads ask for one key at once; rounds go on until they get different objects (at most 200).
            public static string Run()
            {
                var single = new KeyedLocks();
                var same = ReferenceEquals(single.For("a"), single.For("a")) ? "same" : "different";
                for (var round = 0; round < 200; round++)
                {
                    var locks = new KeyedLocks();
                    object first = null, second = null;
                    using var start = new Barrier(2);
                    var a = new Thread(() => { start.SignalAndWait(); first = locks.For("k"); });
                    var b = new Thread(() => { start.SignalAndWait(); second = locks.For("k"); });
                    a.Start(); b.Start(); a.Join(); b.Join();
                    if (!ReferenceEquals(first, second))
                        return same + ";split";
                }
                return same + ";one";
            }
        }
        """;

    [Fact]
    public void Behaviour_TryGetValueThenTryAdd_HandsTwoThreadsTwoObjects_GetOrAddOne()
    {
        var fixedProgram = KeyedLocksProgram.Replace("""
                    if (!_locks.TryGetValue(key, out var gate))
                    {
                        gate = Create();
                        _locks.TryAdd(key, gate);
                    }
            """, """
                    var gate = _locks.GetOrAdd(key, _ => Create());
            """);
        Assert.NotEqual(KeyedLocksProgram, fixedProgram);
        Assert.Equal("same;split", Behaviour.RunInOwnProcess(KeyedLocksProgram));
        Assert.Equal("same;one", Behaviour.RunInOwnProcess(fixedProgram));
    }

    [Fact]
    public void Behaviour_Fixes_SameResultsOnOneThread()
    {
        const string Before = """
            using System.Collections.Concurrent;
            static class Program
            {
                static readonly ConcurrentDictionary<string, int> s_ids = new();
                static readonly ConcurrentQueue<int> s_queue = new();
                static void Register(string name, int id) { if (!s_ids.ContainsKey(name)) s_ids[name] = id; }
                static int Drain() { var n = 0; while (s_queue.Count > 0) { s_queue.TryDequeue(out var x); n += x; } return n; }
                public static string Run()
                {
                    Register("a", 1); Register("a", 2); Register("b", 3);
                    for (var i = 1; i <= 4; i++) s_queue.Enqueue(i);
                    return s_ids["a"] + "," + s_ids["b"] + "," + Drain() + "," + s_queue.Count;
                }
            }
            """;
        var after = Before
            .Replace("if (!s_ids.ContainsKey(name)) s_ids[name] = id;", "s_ids.TryAdd(name, id);")
            .Replace("while (s_queue.Count > 0) { s_queue.TryDequeue(out var x); n += x; }", "while (s_queue.TryDequeue(out var x)) { n += x; }");
        Assert.NotEqual(Before, after);
        Assert.Equal("1,3,10,0", Behaviour.Run(Before));
        Assert.Equal("1,3,10,0", Behaviour.Run(after));
    }

    /// <summary>ReflectTypeDescriptionProvider.RegisterType (System.ComponentModel.TypeConverter, runtime corpus; a first
    /// version reported it, wrongly): a lock-free fast path, then the check and the write again under the lock every
    /// writer of the dictionary takes.</summary>
    [Fact]
    public Task PairInsideALock_NoDiagnostic() => Verify<CheckThenActAnalyzer>.AnalyzerAsync("""
        using System;
        using System.Collections.Concurrent;
        class Provider
        {
            private static readonly object s_sync = new();
            private readonly ConcurrentDictionary<Type, object> _typeData = new();
            public void Register(Type type)
            {
                if (_typeData.ContainsKey(type))
                    return;
                lock (s_sync)
                {
                    if (!_typeData.ContainsKey(type))
                        _typeData[type] = new object();
                }
            }
        }
        """);

    // ------------------------------------------------------------------ test matrix (issue 12): Lock, RWLS, SemaphoreSlim, events, properties

    /// <summary>Inside a System.Threading.Lock statement (C# 13), as inside any lock statement: the author serialises the pair.</summary>
    [Fact]
    public Task PairInsideASystemThreadingLock_NoDiagnostic() => Verify<CheckThenActAnalyzer>.AnalyzerAsync("""
        using System.Collections.Concurrent;
        using System.Threading;
        class Registry
        {
            private readonly Lock _gate = new();
            private readonly ConcurrentDictionary<string, int> _ids = new();
            public void Register(string name, int id) { lock (_gate) { if (!_ids.ContainsKey(name)) _ids[name] = id; } }
        }
        """ + InconsistentlyGuardedFieldTests.LockType);

    /// <summary>A write lock or a binary semaphore held across await serialises the pair as a lock statement does.</summary>
    [Fact]
    public Task PairUnderAWriteLockOrASemaphoreAcrossAwait_NoDiagnostic() => Verify<CheckThenActAnalyzer>.AnalyzerAsync("""
        using System.Collections.Concurrent;
        using System.Threading;
        using System.Threading.Tasks;
        class Registry
        {
            private readonly ReaderWriterLockSlim _rw = new();
            private readonly SemaphoreSlim _io = new(1, 1);
            private readonly ConcurrentDictionary<string, int> _ids = new();
            public void Register(string name, int id)
            {
                _rw.EnterWriteLock();
                try { if (!_ids.ContainsKey(name)) _ids[name] = id; } finally { _rw.ExitWriteLock(); }
            }
            public async Task RegisterAsync(string name)
            {
                await _io.WaitAsync();
                try { var id = await Task.FromResult(name.Length); if (!_ids.ContainsKey(name)) _ids[name] = id; } finally { _io.Release(); }
            }
        }
        """);

    /// <summary>Under a read lock the pair is not serialised (readers hold it together); a System.Threading.Lock elsewhere
    /// in the type does not cover a method that does not take it.</summary>
    [Fact]
    public Task PairUnderAReadLockOrOutsideTheTypesLock_Reported() => Verify<CheckThenActAnalyzer>.AnalyzerAsync("""
        using System.Collections.Concurrent;
        using System.Threading;
        class Registry
        {
            private readonly ReaderWriterLockSlim _rw = new();
            private readonly Lock _gate = new();
            private readonly ConcurrentDictionary<string, int> _ids = new();
            public void Register(string name, int id)
            {
                _rw.EnterReadLock();
                try { if (![|_ids.ContainsKey(name)|]) _ids[name] = id; } finally { _rw.ExitReadLock(); }
            }
            public void Locked(string name) { lock (_gate) { _ids.TryAdd(name, 0); } }
            public void Put(string name, int id) { if (![|_ids.ContainsKey(name)|]) _ids[name] = id; }
        }
        """ + InconsistentlyGuardedFieldTests.LockType);

    private const string HubWithEventAndProperty = """
        using System;
        using System.Collections.Concurrent;
        class Hub
        {
            private readonly ConcurrentDictionary<string, Action> _handlers = new();
            private readonly ConcurrentDictionary<string, int> _limits = new();
            public event Action Opened
            {
                add { ADD }
                remove { _handlers.TryRemove("open", out _); }
            }
            public int Limit
            {
                get => _limits.TryGetValue("limit", out var v) ? v : 0;
                set { SET }
            }
        }
        """;

    /// <summary>In an event's add accessor and a property setter: the pair is as racy as in a method.</summary>
    [Fact]
    public Task PairInAnEventAccessorAndAPropertySetter_Reported() => Verify<CheckThenActAnalyzer>.AnalyzerAsync(HubWithEventAndProperty
        .Replace("ADD", "if (![|_handlers.ContainsKey(\"open\")|]) _handlers[\"open\"] = value;")
        .Replace("SET", "if (![|_limits.ContainsKey(\"limit\")|]) _limits[\"limit\"] = value;"));

    /// <summary>Single atomic calls in the same event accessor and property setter.</summary>
    [Fact]
    public Task SingleCallsInEventAccessorsAndProperties_NoDiagnostic() => Verify<CheckThenActAnalyzer>.AnalyzerAsync(HubWithEventAndProperty
        .Replace("ADD", "_handlers.TryAdd(\"open\", value);")
        .Replace("SET", "_limits[\"limit\"] = value;"));
}
