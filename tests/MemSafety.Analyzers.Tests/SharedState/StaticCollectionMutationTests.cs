using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.SharedState;
using MemSafety.Analyzers.Tests.Verification;

namespace MemSafety.Analyzers.Tests.SharedState;

public sealed class StaticCollectionMutationTests
{
    // ------------------------------------------------------------------ reported

    [Fact]
    public Task PublicStaticCacheFilledWithoutALock_MessageNamesTheMember()
    {
        var test = Verify<StaticCollectionMutationAnalyzer>.Test("""
            using System.Collections.Generic;
            public static class Names
            {
                private static readonly Dictionary<int, string> s_cache = new();
                public static string Of(int id)
                {
                    if (!s_cache.TryGetValue(id, out var name))
                    {
                        name = id.ToString();
                        {|#0:s_cache[id] = name|};
                    }
                    return name;
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA6007", 0).WithMessage(
            "Static 's_cache' (Dictionary, not thread-safe) is changed here through its indexer without a lock: 'Of' is public and static, and public static members may be called from any thread; two threads changing it at once can lose entries, throw, or corrupt it for good"));
        return test.RunAsync();
    }

    [Fact]
    public Task InstanceMemberOfATypeThatStartsTasks_MessageSaysConcurrentType()
    {
        var test = Verify<StaticCollectionMutationAnalyzer>.Test("""
            using System.Collections.Generic;
            using System.Threading.Tasks;
            class Crawler
            {
                private static readonly HashSet<string> s_seen = new();
                public Task CrawlAsync(string url) => Task.Run(() => Visit(url));
                private void Visit(string url) { {|#0:s_seen.Add(url)|}; }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA6007", 0).WithMessage(
            "Static 's_seen' (HashSet, not thread-safe) is changed here through Add() without a lock: 'Crawler' runs code on other threads or synchronises, so its members may run at the same time; two threads changing it at once can lose entries, throw, or corrupt it for good"));
        return test.RunAsync();
    }

    [Fact]
    public Task ListQueueStackInPublicStaticMethodsAndProperty_Reported() => Verify<StaticCollectionMutationAnalyzer>.AnalyzerAsync("""
        using System.Collections.Generic;
        public class Registry
        {
            private static List<string> s_names = new();
            private static readonly Queue<int> s_pending = new();
            private static readonly Stack<int> s_free = new();
            public static void Register(string name) => [|s_names.Add(name)|];
            public static void Post(int id) { [|s_pending.Enqueue(id)|]; }
            public static int Rent => [|s_free.Pop()|];
            public static void Reset() { [|s_names.Clear()|]; }
        }
        """);

    [Fact]
    public Task TypeWithALockElsewhere_UnlockedChangeReported() => Verify<StaticCollectionMutationAnalyzer>.AnalyzerAsync("""
        using System.Collections.Generic;
        class Pool
        {
            private static readonly object s_gate = new();
            private static readonly List<byte[]> s_buffers = new();
            internal static byte[] Rent() { lock (s_gate) { if (s_buffers.Count > 0) { var b = s_buffers[0]; s_buffers.RemoveAt(0); return b; } } return new byte[64]; }
            internal static void Return(byte[] b) => [|s_buffers.Add(b)|];
        }
        """);

    [Fact]
    public Task PartialClassAndNestedType_Reported()
    {
        var test = Verify<StaticCollectionMutationAnalyzer>.Test("""
            using System.Collections.Generic;
            public partial class Events
            {
                private static readonly List<string> s_log = new();
                public class Sink
                {
                    private static readonly Dictionary<string, int> s_counts = new();
                    public static void Count(string name) { [|s_counts[name] = 1|]; }
                }
            }
            """);
        test.Sources.Add("""
            public partial class Events
            {
                public static void Log(string line) { [|s_log.Add(line)|]; }
            }
            """);
        return test.RunAsync();
    }

    [Fact]
    public Task SortedAndLinkedCollections_Reported() => Verify<StaticCollectionMutationAnalyzer>.AnalyzerAsync("""
        using System.Collections.Generic;
        public static class Tables
        {
            private static readonly SortedDictionary<int, int> s_sorted = new();
            private static readonly LinkedList<int> s_recent = new();
            public static void Touch(int key) { [|s_sorted.Remove(key)|]; [|s_recent.AddFirst(key)|]; }
        }
        """);

    // ------------------------------------------------------------------ not reported

    [Fact]
    public Task FilledInTheStaticConstructorAndInitializers_ThenOnlyRead_NoDiagnostic() => Verify<StaticCollectionMutationAnalyzer>.AnalyzerAsync("""
        using System.Collections.Generic;
        public static class Keywords
        {
            private static readonly HashSet<string> s_words = new() { "if", "else" };
            private static readonly Dictionary<string, int> s_ids = Build();
            static Keywords() { s_words.Add("while"); }
            private static Dictionary<string, int> Build() { var d = new Dictionary<string, int>(); d.Add("a", 1); return d; }
            public static bool IsKeyword(string s) => s_words.Contains(s) && s_ids.ContainsKey(s);
        }
        """);

    [Fact]
    public Task ChangesUnderLocks_NoDiagnostic()
    {
        var test = Verify<StaticCollectionMutationAnalyzer>.Test("""
            using System.Collections.Generic;
            using System.Runtime.CompilerServices;
            using System.Threading;
            public static class Caches
            {
                private static readonly Lock s_gate = new();
                private static readonly object s_other = new();
                private static readonly ReaderWriterLockSlim s_rw = new();
                private static readonly List<int> s_items = new();
                public static void A(int x) { lock (s_gate) { s_items.Add(x); } }
                public static void B(int x) { lock (s_other) s_items.Add(x); }
                public static void C(int x) { s_rw.EnterWriteLock(); try { s_items.Add(x); } finally { s_rw.ExitWriteLock(); } }
                [MethodImpl(MethodImplOptions.Synchronized)]
                public static void D(int x) { s_items.Add(x); }
            }
            """);
        test.ReferenceSet = ReferenceSet.Net100;
        return test.RunAsync();
    }

    /// <summary>The same internal static as InternalStaticInATypeWithoutConcurrency_NoDiagnostic: [ThreadSafe] opens the gate.</summary>
    [Fact]
    public Task InternalStaticInAThreadSafeType_MessageSaysTheContract()
    {
        var test = Verify<StaticCollectionMutationAnalyzer>.Test("using My.Annotations;\n" + """
            using System.Collections.Generic;
            [ThreadSafe]
            class Registry
            {
                private static readonly List<string> s_args = new();
                internal void Remember(string a) => {|#0:s_args.Add(a)|};
            }
            """ + LockAnnotationTests.ThreadSafetyAttributes);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA6007", 0).WithMessage(
            "Static 's_args' (List, not thread-safe) is changed here through Add() without a lock: 'Registry' is [ThreadSafe], so its members may run at the same time; two threads changing it at once can lose entries, throw, or corrupt it for good"));
        return test.RunAsync();
    }

    /// <summary>[NotThreadSafe] speaks of one instance: two instances on two threads still share the static list.</summary>
    [Fact]
    public Task StaticInANotThreadSafeTypeThatStartsTasks_StillReported() => Verify<StaticCollectionMutationAnalyzer>.AnalyzerAsync("using My.Annotations;\n" + """
        using System.Collections.Generic;
        using System.Threading.Tasks;
        [NotThreadSafe]
        class Crawler
        {
            private static readonly HashSet<string> s_seen = new();
            public Task CrawlAsync(string url) => Task.Run(() => [|s_seen.Add(url)|]);
        }
        """ + LockAnnotationTests.ThreadSafetyAttributes);

    /// <summary>HttpListener's HttpEndPointManager (decompiled runtime): GetEPListener fills the static table, called only by
    /// private helpers that the public members call inside lock (SyncRoot). A first version reported the change.</summary>
    [Fact]
    public Task PrivateHelpersCalledOnlyUnderALock_NoDiagnostic() => Verify<StaticCollectionMutationAnalyzer>.AnalyzerAsync(Registry(""));

    [Fact]
    public Task PrivateHelperAlsoCalledWithoutTheLock_Reported() => Verify<StaticCollectionMutationAnalyzer>.AnalyzerAsync(
        Registry("    public static void Guess(string name) => Slot(name);\n").Replace("s_ids[name] = s_ids.Count", "[|s_ids[name] = s_ids.Count|]"));

    private static string Registry(string extra) => """
        using System.Collections;
        using System.Collections.Generic;
        public static class Registry
        {
            private static readonly Dictionary<string, int> s_ids = new();
            public static void Add(string name) { lock (((ICollection)s_ids).SyncRoot) { AddInternal(name); } }
            public static void AddAll(string[] names) { lock (((ICollection)s_ids).SyncRoot) { foreach (var n in names) AddInternal(n); } }
            private static void AddInternal(string name) { if (name.Length > 0) Slot(name); }
            private static void Slot(string name) { if (!s_ids.ContainsKey(name)) s_ids[name] = s_ids.Count; }
        """ + extra + "}\n";

    [Fact]
    public Task InternalStaticInATypeWithoutConcurrency_NoDiagnostic() => Verify<StaticCollectionMutationAnalyzer>.AnalyzerAsync("""
        using System.Collections.Generic;
        static class Program
        {
            private static readonly List<string> s_args = new();
            internal static void Remember(string a) => s_args.Add(a);
            public static void Main(string[] args) { foreach (var a in args) Remember(a); }
        }
        """);

    [Fact]
    public Task InstanceFieldsThreadStaticAndConcurrentCollections_NoDiagnostic() => Verify<StaticCollectionMutationAnalyzer>.AnalyzerAsync("""
        using System;
        using System.Collections.Concurrent;
        using System.Collections.Generic;
        public class Holder
        {
            private readonly List<int> _own = new();
            [ThreadStatic] private static List<int> t_scratch;
            private static readonly ConcurrentDictionary<int, int> s_map = new();
            public void Add(int x) => _own.Add(x);
            public static void Scratch(int x) { (t_scratch ??= new List<int>()).Add(x); t_scratch.Add(x); }
            public static void Put(int x) { s_map[x] = x; s_map.TryAdd(x, x); }
        }
        """);

    [Fact]
    public Task ReadsAndAReplacedField_NoDiagnostic() => Verify<StaticCollectionMutationAnalyzer>.AnalyzerAsync("""
        using System.Collections.Generic;
        public static class Snapshot
        {
            private static List<int> s_current = new();
            // Copy-on-write: a new list is published, the old one is never changed again.
            public static void Add(int x) { var next = new List<int>(s_current); next.Add(x); s_current = next; }
            public static int Count => s_current.Count;
            public static bool Has(int x) => s_current.Contains(x);
        }
        """);

    [Fact]
    public Task LocalOrParameterCollection_NoDiagnostic() => Verify<StaticCollectionMutationAnalyzer>.AnalyzerAsync("""
        using System.Collections.Generic;
        using System.Threading.Tasks;
        public static class Work
        {
            public static void Fill(List<int> into) { into.Add(1); }
            public static List<int> Make() { var l = new List<int>(); Task.Run(() => 0).Wait(); l.Add(2); return l; }
        }
        """);

    // ------------------------------------------------------------------ evidence

    // Dictionary changed by several threads at once: on .NET 10 it throws, loses entries or corrupts its buckets.
    [Fact]
    public void Behaviour_StaticDictionaryChangedByTwoThreads_IsCorrupted_LockedOneIsExact()
    {
        const string Program = """
            using System;
            using System.Collections.Generic;
            using System.Threading;
            public static class Cache
            {
                private static readonly object s_gate = new object();
                private static Dictionary<int, int> s_map = new Dictionary<int, int>();
                public static void Reset() { s_map = new Dictionary<int, int>(); }
                public static void Put(int key) { s_map[key] = key; }
                public static void PutLocked(int key) { lock (s_gate) { s_map[key] = key; } }
                public static int Count => s_map.Count;
            }
            static class Program
            {
                // Four threads add disjoint keys; rounds go on until the count is wrong or an add throws (at most 200 rounds).
                static string Rounds(bool locked)
                {
                    const int PerThread = 20_000;
                    for (var round = 0; round < 200; round++)
                    {
                        Cache.Reset();
                        var failed = 0;
                        var threads = new Thread[4];
                        using var start = new Barrier(threads.Length);
                        for (var t = 0; t < threads.Length; t++)
                        {
                            var first = t * PerThread;
                            threads[t] = new Thread(() =>
                            {
                                start.SignalAndWait();
                                try { for (var i = 0; i < PerThread; i++) { if (locked) Cache.PutLocked(first + i); else Cache.Put(first + i); } }
                                catch (Exception) { Interlocked.Increment(ref failed); }
                            });
                            threads[t].Start();
                        }
                        foreach (var thread in threads) thread.Join();
                        if (failed > 0 || Cache.Count != threads.Length * PerThread)
                            return "corrupted";
                    }
                    return "exact";
                }
                public static string Run() => Rounds(locked: false) + ";" + Rounds(locked: true);
            }
            """;
        Assert.Equal("corrupted;exact", Behaviour.RunInOwnProcess(Program));
    }

    /// <summary>EnumDataContract (System.Private.DataContractSerialization, runtime corpus; a first version reported both
    /// Adds, wrongly): a private nested helper type whose static constructor fills two static tables through a helper that
    /// nothing else calls; the type also uses Interlocked, its concurrency signal.</summary>
    [Fact]
    public Task HelperCalledOnlyFromTheStaticConstructor_NoDiagnostic() => Verify<StaticCollectionMutationAnalyzer>.AnalyzerAsync("""
        using System.Collections.Generic;
        using System.Threading;
        class EnumContract
        {
            private sealed class Helper
            {
                private static readonly Dictionary<string, int> s_nameToValue;
                static Helper()
                {
                    s_nameToValue = new Dictionary<string, int>();
                    Add("a", 1);
                    Add("b", 2);
                }
                internal static void Add(string name, int value) => s_nameToValue.Add(name, value);
                internal static int Get(string name) { Interlocked.MemoryBarrier(); return s_nameToValue[name]; }
            }
        }
        """);

    [Fact]
    public Task HelperAlsoCalledOutsideTheStaticConstructor_Reported() => Verify<StaticCollectionMutationAnalyzer>.AnalyzerAsync("""
        using System.Collections.Generic;
        using System.Threading;
        class EnumContract
        {
            private sealed class Helper
            {
                private static readonly Dictionary<string, int> s_nameToValue = new();
                static Helper() { Add("a", 1); }
                internal static void Add(string name, int value) => [|s_nameToValue.Add(name, value)|];
                internal static int Get(string name) { Interlocked.MemoryBarrier(); Add(name, 0); return s_nameToValue[name]; }
            }
        }
        """);

    // ------------------------------------------------------------------ test matrix (issue 12): events, Lock, SemaphoreSlim, RWLS

    /// <summary>A static event whose accessors keep the handlers in a static list without a lock: subscribers on two
    /// threads corrupt it.</summary>
    [Fact]
    public Task StaticEventAccessorsChangeAStaticListWithoutALock_Reported() => Verify<StaticCollectionMutationAnalyzer>.AnalyzerAsync("""
        using System;
        using System.Collections.Generic;
        public static class Bus
        {
            private static readonly List<Action> s_handlers = new();
            public static event Action Published
            {
                add { [|s_handlers.Add(value)|]; }
                remove { [|s_handlers.Remove(value)|]; }
            }
        }
        """);

    /// <summary>The same accessors under a System.Threading.Lock, a read-write lock's write lock, and a static Dictionary
    /// changed under a binary semaphore held across await.</summary>
    [Fact]
    public Task StaticEventAccessorsUnderALockAndChangesUnderASemaphoreAcrossAwait_NoDiagnostic()
    {
        var test = Verify<StaticCollectionMutationAnalyzer>.Test("""
            using System;
            using System.Collections.Generic;
            using System.Threading;
            using System.Threading.Tasks;
            public static class Bus
            {
                private static readonly Lock s_gate = new();
                private static readonly ReaderWriterLockSlim s_rw = new();
                private static readonly SemaphoreSlim s_io = new(1, 1);
                private static readonly List<Action> s_handlers = new();
                private static readonly Dictionary<string, string> s_cache = new();
                public static event Action Published
                {
                    add { lock (s_gate) { s_handlers.Add(value); } }
                    remove { s_rw.EnterWriteLock(); try { s_handlers.Remove(value); } finally { s_rw.ExitWriteLock(); } }
                }
                public static async Task<string> LoadAsync(string key)
                {
                    await s_io.WaitAsync();
                    try
                    {
                        var value = await Task.FromResult(key);
                        s_cache[key] = value;
                        return value;
                    }
                    finally { s_io.Release(); }
                }
            }
            """);
        test.ReferenceSet = ReferenceSet.Net100;
        return test.RunAsync();
    }

    /// <summary>A static table filled by the static constructor in one file of a partial class and only read in the other.</summary>
    [Fact]
    public Task PartialClassFilledInTheStaticConstructorReadInTheOtherFile_NoDiagnostic()
    {
        var test = Verify<StaticCollectionMutationAnalyzer>.Test("""
            using System.Collections.Generic;
            public static partial class Names
            {
                private static readonly Dictionary<int, string> s_names = new();
                static Names() { s_names[1] = "one"; s_names.Add(2, "two"); }
            }
            """);
        test.Sources.Add("""
            public static partial class Names
            {
                public static string Of(int id) => s_names.TryGetValue(id, out var name) ? name : "?";
            }
            """);
        return test.RunAsync();
    }
}
