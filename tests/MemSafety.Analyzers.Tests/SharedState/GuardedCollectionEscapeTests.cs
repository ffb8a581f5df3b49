using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.SharedState;
using MemSafety.Analyzers.Tests.Verification;
using Microsoft.CodeAnalysis;

namespace MemSafety.Analyzers.Tests.SharedState;

/// <summary>MSA6009: a collection changed under a lock, handed out from inside a lock on the same object.</summary>
public sealed class GuardedCollectionEscapeTests
{
    /// <summary>MSA6009 is off by default (a suggestion in the Strict preset): every test turns it on at its own severity.</summary>
    private static AnalyzerTest On(string source)
    {
        var test = Verify<GuardedCollectionEscapeAnalyzer>.Test(source);
        test.DiagnosticSeverities["MSA6009"] = ReportDiagnostic.Info;
        return test;
    }

    private static Task OnAsync(string source) => On(source).RunAsync();

    // ------------------------------------------------------------------ reported

    [Fact]
    public Task GetterReturnsTheListFromInsideTheLock_MessageNamesLockAndChange()
    {
        var test = On("""
            using System.Collections.Generic;
            public class Registry
            {
                private readonly object _gate = new();
                private readonly List<string> _names = new();
                public void Add(string name) { lock (_gate) { _names.Add(name); } }
                public List<string> Names { get { lock (_gate) { return {|#0:_names|}; } } }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA6009", 0).WithMessage(
            "'_names' (List) is changed under lock '_gate' in 'Add', but this code returns it from inside the lock: whoever gets the reference uses it after the lock is released, while another thread may be changing it under '_gate'"));
        return test.RunAsync();
    }

    [Fact]
    public Task DictionaryReturnedAsReadOnlyInterface() => OnAsync("""
        using System.Collections.Generic;
        public class Cache
        {
            private readonly object _gate = new();
            private readonly Dictionary<int, string> _map = new();
            public void Put(int k, string v) { lock (_gate) _map[k] = v; }
            public IReadOnlyDictionary<int, string> All() { lock (_gate) return [|_map|]; }
        }
        """);

    [Fact]
    public Task StoredIntoAnOutParameter() => OnAsync("""
        using System.Collections.Generic;
        public class Queue
        {
            private readonly object _gate = new();
            private readonly Queue<int> _pending = new();
            public void Post(int item) { lock (_gate) _pending.Enqueue(item); }
            public void Peek(out Queue<int> items) { lock (_gate) { items = [|_pending|]; } }
        }
        """);

    [Fact]
    public Task CopiedToALocalThatIsReturnedAfterTheLock() => OnAsync("""
        using System.Collections.Generic;
        public class Tags
        {
            private readonly object _gate = new();
            private readonly HashSet<string> _tags = new();
            public void Tag(string t) { lock (_gate) _tags.Add(t); }
            public ISet<string> Snapshot()
            {
                HashSet<string> result;
                lock (_gate) { result = [|_tags|]; }
                return result;
            }
        }
        """);

    [Fact]
    public Task StoredIntoAnotherObjectsProperty() => OnAsync("""
        using System.Collections.Generic;
        public class Report { public List<int> Items { get; set; } = new(); }
        public class Collector
        {
            private readonly object _gate = new();
            private readonly List<int> _items = new();
            public void Add(int i) { lock (_gate) _items.Add(i); }
            public void Fill(Report report) { lock (_gate) { report.Items = [|_items|]; } }
        }
        """);

    [Fact]
    public Task SystemThreadingLock_AndStaticState() => OnAsync("""
        using System.Collections.Generic;
        using System.Threading;
        public static class Registry
        {
            private static readonly Lock s_gate = new();
            private static readonly List<string> s_names = new();
            public static void Add(string name) { lock (s_gate) { s_names.Add(name); } }
            public static IEnumerable<string> Names() { lock (s_gate) return [|s_names|]; }
        }
        """ + InconsistentlyGuardedFieldTests.LockType);

    [Fact]
    public Task LockOnThis_NestedType_RemovedByRemoveAt() => OnAsync("""
        using System.Collections.Generic;
        public class Outer
        {
            public class Inner
            {
                private readonly List<int> _items = new();
                public void Drop() { lock (this) { _items.RemoveAt(0); } }
                internal List<int> Items() { lock (this) { return [|_items|]; } }
            }
        }
        """);

    /// <summary>One file of a partial class: a sorted dictionary changed under <c>_gate</c>; the other file returns it.</summary>
    private const string BookChangedUnderTheLock = """
        using System.Collections.Generic;
        public partial class Book
        {
            private readonly object _gate = new();
            private readonly SortedDictionary<string, int> _pages = new();
            public void Set(string k, int v) { lock (_gate) _pages[k] = v; }
        }
        """;

    [Fact]
    public Task PartialClass_ChangeAndEscapeInDifferentFiles()
    {
        var test = On(BookChangedUnderTheLock);
        test.Sources.Add("""
            using System.Collections.Generic;
            public partial class Book
            {
                public SortedDictionary<string, int> Pages() { lock (_gate) return [|_pages|]; }
            }
            """);
        return test.RunAsync();
    }

    // ------------------------------------------------------------------ not reported

    [Fact]
    public Task OffByDefault_SilentUntilTurnedOn() => Verify<GuardedCollectionEscapeAnalyzer>.AnalyzerAsync("""
        using System.Collections.Generic;
        public class Registry
        {
            private readonly object _gate = new();
            private readonly List<string> _names = new();
            public void Add(string name) { lock (_gate) { _names.Add(name); } }
            public List<string> Names { get { lock (_gate) { return _names; } } }
        }
        """);

    [Fact]
    public Task CopyMadeUnderTheLock_NoDiagnostic() => OnAsync("""
        using System.Collections.Generic;
        using System.Linq;
        public class Registry
        {
            private readonly object _gate = new();
            private readonly List<string> _names = new();
            public void Add(string name) { lock (_gate) { _names.Add(name); } }
            public List<string> Names() { lock (_gate) return _names.ToList(); }
            public List<string> Copy() { lock (_gate) return new List<string>(_names); }
            public string[] Array() { lock (_gate) return _names.ToArray(); }
        }
        """);

    [Fact]
    public Task NeverChangedUnderALock_NoDiagnostic() => OnAsync("""
        using System.Collections.Generic;
        public class Table
        {
            private readonly object _gate = new();
            private readonly List<int> _fixed;
            private int _reads;
            public Table(List<int> items) { _fixed = items; _fixed.Add(0); }
            public List<int> Items() { lock (_gate) { _reads++; return _fixed; } }
        }
        """);

    /// <summary>The Registry of GetterReturnsTheListFromInsideTheLock_MessageNamesLockAndChange, declared [NotThreadSafe]:
    /// one thread uses an instance at a time, so nothing changes the list while the caller holds it.</summary>
    [Fact]
    public Task NotThreadSafeType_NoDiagnostic() => OnAsync("using My.Annotations;\n" + """
        using System.Collections.Generic;
        [NotThreadSafe]
        public class Registry
        {
            private readonly object _gate = new();
            private readonly List<string> _names = new();
            public void Add(string name) { lock (_gate) { _names.Add(name); } }
            public List<string> Names { get { lock (_gate) { return _names; } } }
        }
        """ + LockAnnotationTests.ThreadSafetyAttributes);

    [Fact]
    public Task ChangedUnderAnotherLock_NoDiagnostic() => OnAsync("""
        using System.Collections.Generic;
        public class TwoLocks
        {
            private readonly object _write = new();
            private readonly object _read = new();
            private readonly List<int> _items = new();
            public void Add(int i) { lock (_write) _items.Add(i); }
            public List<int> Items() { lock (_read) return _items; }
        }
        """);

    [Fact]
    public Task PrivateHelperForLockedCallers_NoDiagnostic() => OnAsync("""
        using System.Collections.Generic;
        public class Buckets
        {
            private readonly object _gate = new();
            private readonly Dictionary<int, int> _map = new();
            private Dictionary<int, int> Map() { lock (_gate) return _map; }
            public void Put(int k) { lock (_gate) { Map()[k] = k; _map.Remove(-k); } }
        }
        """);

    [Fact]
    public Task ThreadSafeCollections_NoDiagnostic() => OnAsync("""
        using System.Collections.Concurrent;
        using System.Collections.Immutable;
        public class Safe
        {
            private readonly object _gate = new();
            private readonly ConcurrentDictionary<int, int> _map = new();
            private ImmutableList<int> _list = ImmutableList<int>.Empty;
            public void Put(int k) { lock (_gate) { _map.TryAdd(k, k); _list = _list.Add(k); } }
            public ConcurrentDictionary<int, int> Map() { lock (_gate) return _map; }
            public ImmutableList<int> List() { lock (_gate) return _list; }
        }
        """);

    [Fact]
    public Task LambdaInsideTheLock_ElementsAndCount_NoDiagnostic() => OnAsync("""
        using System;
        using System.Collections.Generic;
        public class Items
        {
            private readonly object _gate = new();
            private readonly List<int> _items = new();
            public void Add(int i) { lock (_gate) _items.Add(i); }
            public int First() { lock (_gate) return _items[0]; }
            public int Count() { lock (_gate) return _items.Count; }
            public Func<List<int>> Later() { lock (_gate) { Func<List<int>> f = () => _items; return f; } }
        }
        """);

    [Fact]
    public Task StoredIntoOwnFieldOrLocalNotReturned_NoDiagnostic() => OnAsync("""
        using System.Collections.Generic;
        public class Holder
        {
            private readonly object _gate = new();
            private readonly List<int> _items = new();
            private List<int> _alias = new();
            public void Add(int i) { lock (_gate) _items.Add(i); }
            public int Alias()
            {
                List<int> local;
                lock (_gate) { _alias = _items; local = _items; }
                return local.Count;
            }
        }
        """);

    [Fact]
    public Task ReturnedWithoutAnyLock_NoDiagnostic() => OnAsync("""
        using System.Collections.Generic;
        public class Open
        {
            private readonly object _gate = new();
            private readonly List<int> _items = new();
            public void Add(int i) { lock (_gate) _items.Add(i); }
            public List<int> Items => _items;
        }
        """);

    [Fact]
    public Task AnotherObjectsLockAndCollection_NoDiagnostic() => OnAsync("""
        using System.Collections.Generic;
        public class Node
        {
            internal readonly object Gate = new();
            internal readonly List<int> Children = new();
            public void Add(int i) { lock (Gate) Children.Add(i); }
            public static List<int> ChildrenOf(Node other) { lock (other.Gate) return other.Children; }
        }
        """);

    // ------------------------------------------------------------------ evidence

    /// <summary>.NET 10, own process (threads): the caller enumerates the list a getter returned from inside the lock
    /// while another thread adds under the lock; List's enumerator sees the version change and throws. The same getter
    /// returning a copy made under the lock never throws.</summary>
    [Fact]
    public void Behaviour_EnumeratingTheEscapedListWhileItIsChangedThrows_CopyDoesNot()
    {
        const string Program = """
            using System;
            using System.Collections.Generic;
            using System.Threading;
            public sealed class Registry
            {
                private readonly object _gate = new object();
                private readonly List<int> _items = new List<int>();
                public void Add(int i) { lock (_gate) { _items.Add(i); if (_items.Count > 20_000) _items.RemoveRange(0, 10_000); } }
                public List<int> Live { get { lock (_gate) { return _items; } } }
                public List<int> Copy { get { lock (_gate) { return new List<int>(_items); } } }
            }
            static class Program
            {
                // The adder runs until the reader is done; the reader enumerates up to 2,000 times and stops at the first exception.
                static string Rounds(bool copy)
                {
                    var registry = new Registry();
                    for (var i = 0; i < 10_000; i++) registry.Add(i);
                    var stop = 0;
                    var adder = new Thread(() => { var i = 0; while (Volatile.Read(ref stop) == 0) { registry.Add(i++); if ((i & 63) == 0) Thread.Yield(); } });
                    adder.Start();
                    var result = "no exception";
                    try
                    {
                        for (var round = 0; round < 2_000; round++)
                        {
                            long sum = 0;
                            foreach (var item in copy ? registry.Copy : registry.Live) { sum += item; if ((item & 1023) == 0) Thread.Yield(); }
                        }
                    }
                    catch (InvalidOperationException) { result = "InvalidOperationException"; }
                    Volatile.Write(ref stop, 1);
                    adder.Join();
                    return result;
                }
                public static string Run() => Rounds(copy: false) + ";" + Rounds(copy: true);
            }
            """;
        Assert.Equal("InvalidOperationException;no exception", Behaviour.RunInOwnProcess(Program));
    }

    // ------------------------------------------------------------------ test matrix (issue 12): events

    private const string BusWithLockedEventAccessors = """
        using System;
        using System.Collections.Generic;
        public class Bus
        {
            private readonly object _gate = new();
            private readonly List<Action> _handlers = new();
            public event Action Published
            {
                add { lock (_gate) { _handlers.Add(value); } }
                remove { lock (_gate) { _handlers.Remove(value); } }
            }
            HANDLERS
        }
        """;

    /// <summary>The handler list an event's accessors change under the lock, returned from inside it.</summary>
    [Fact]
    public Task HandlerListChangedByEventAccessorsUnderTheLock_Returned()
        => OnAsync(BusWithLockedEventAccessors.Replace("HANDLERS", "public List<Action> Handlers() { lock (_gate) { return {|MSA6009:_handlers|}; } }"));

    /// <summary>The same accessors, and a copy made under the lock (what the raising code should use).</summary>
    [Fact]
    public Task HandlerListCopiedUnderTheLock_NoDiagnostic()
        => OnAsync(BusWithLockedEventAccessors.Replace("HANDLERS", "public Action[] Handlers() { lock (_gate) { return _handlers.ToArray(); } }"));

    /// <summary>The change under the lock in one file of a partial class, a copy returned under it in the other.</summary>
    [Fact]
    public Task PartialClass_CopyReturnedInTheOtherFile_NoDiagnostic()
    {
        var test = On(BookChangedUnderTheLock);
        test.Sources.Add("""
            using System.Collections.Generic;
            public partial class Book
            {
                public Dictionary<string, int> Pages() { lock (_gate) return new Dictionary<string, int>(_pages); }
            }
            """);
        return test.RunAsync();
    }
}
