using System.Collections.Generic;
using System.Linq;
using System.Threading;
using MemSafety.Analyzers.Engines.Concurrency;
using MemSafety.Analyzers.Tests.SharedState;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.FlowAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Tests.Engines.Concurrency;

/// <summary>
/// The lockset engine: which locks are definitely held at each field access (<see cref="BodyLocks"/>), and the
/// per-type summary that gives private helpers their callers' locks (<see cref="TypeLocks"/>). Each test lists the
/// accesses of the fields of class <c>C</c> as <c>field:kind{locks}</c> in source order.
/// </summary>
public sealed class LocksetTests
{
    private static List<string> Accesses(string source) => Analyze(source, shortcut: true).Accesses;

    /// <summary>The source with <c>System.Threading.Lock</c>, compiled against .NET 8 with unsafe code and nullable on; no errors.</summary>
    internal static (CSharpCompilation Compilation, SyntaxTree Tree) Compile(string source)
    {
        var tree = CSharpSyntaxTree.ParseText(source + InconsistentlyGuardedFieldTests.LockType, new CSharpParseOptions(LanguageVersion.Latest));
        var compilation = CSharpCompilation.Create("t", new[] { tree }, Basic.Reference.Assemblies.Net80.References.All,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable));
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        return (compilation, tree);
    }

    /// <summary>Every fact the engine gives for class <c>C</c> (accesses with all their properties, helper calls), and
    /// how many functions it analysed without the lockset dataflow.</summary>
    private static (List<string> Accesses, List<string> Facts, int WithoutLocks) Analyze(string source, bool shortcut)
    {
        var (compilation, tree) = Compile(source);
        var model = compilation.GetSemanticModel(tree);
        var type = compilation.GetTypeByMetadataName("C")!;
        var types = ConcurrencyTypes.Of(compilation);
        var signals = new LockSignals();
        var summary = new TypeLocks(LockSignals.NamesUsedByNestedTypes(type, CancellationToken.None));
        var facts = new List<string>();
        var withoutLocks = 0;
        foreach (var declaration in tree.GetRoot().DescendantNodes().Where(n => n is BaseMethodDeclarationSyntax or AccessorDeclarationSyntax))
        {
            if (model.GetDeclaredSymbol(declaration) is not IMethodSymbol method || !SymbolEqualityComparer.Default.Equals(method.ContainingType, type))
                continue;
            if (model.GetOperation(declaration) is not IMethodBodyBaseOperation body)
                continue;
            var graph = body is IMethodBodyOperation m ? ControlFlowGraph.Create(m) : ControlFlowGraph.Create((IConstructorBodyOperation)body);
            var locks = BodyLocks.Analyze(graph, type, method, BodyLocks.EntryLocks(method, type, types), types, signals.IsBinarySemaphore, CancellationToken.None,
                shortcut: shortcut);
            summary.Add(locks);
            withoutLocks += locks.FunctionsWithoutLocks;
            facts.AddRange(locks.Accesses.Select(a => $"{a.Field.Name}:{a.Kind}:{a.Member}{a.Held}@{a.Operation.Syntax.SpanStart} in {a.Function?.Name} nested={a.InNestedFunction} lockFree={a.InLockFreeCode}"));
            facts.AddRange(locks.Calls.Select(c => $"call {c.Callee.Name}{c.Held} from {c.Caller?.Name} nested={c.InNestedFunction} ctor={c.FromConstructor} delegate={c.AsDelegate}"));
        }

        return (summary.Resolve().Select(r => $"{r.Access.Field.Name}:{r.Access.Kind}{r.Held}").ToList(), facts, withoutLocks);
    }

    [Fact]
    public void LockStatement_HeldInsideOnly()
    {
        Assert.Equal(new[] { "_n:Update{}", "_gate:Read{}", "_n:Update{_gate}", "_n:Update{}" }, Accesses("""
            class C
            {
                private readonly object _gate = new();
                private int _n;
                void M()
                {
                    _n++;
                    lock (_gate) { _n++; }
                    _n++;
                }
            }
            """));
    }

    [Fact]
    public void ThisAndTypeof_AreLocksOfTheirOwn()
    {
        Assert.Equal(new[] { "_n:Write{this}", "_n:Write{typeof(C)}", "_n:Write{this, typeof(C)}" }, Accesses("""
            class C
            {
                private int _n;
                void M()
                {
                    lock (this) _n = 1;
                    lock (typeof(C)) _n = 2;
                    lock (this) lock (typeof(C)) _n = 3;
                }
            }
            """));
    }

    [Fact]
    public void Reentrant_InnerExitKeepsTheLockHeld()
    {
        Assert.Equal(new[] { "_n:Write{_gate×2}", "_n:Write{_gate}", "_n:Write{}" }, Accesses("""
            class C
            {
                private static readonly object _gate = new();
                private int _n;
                void M()
                {
                    lock (_gate)
                    {
                        lock (_gate) { _n = 1; }
                        _n = 2;
                    }
                    _n = 3;
                }
            }
            """).Where(a => !a.StartsWith("_gate")));
    }

    [Fact]
    public void SystemThreadingLock_LockStatementEnterScopeAndEnterExit()
    {
        Assert.Equal(new[] { "_n:Write{_lock}", "_n:Write{_lock}", "_n:Write{_lock}", "_n:Write{}" }, Accesses("""
            using System.Threading;
            class C
            {
                private readonly Lock _lock = new();
                private int _n;
                void M()
                {
                    lock (_lock) { _n = 1; }
                    using (_lock.EnterScope()) { _n = 2; }
                    _lock.Enter();
                    try { _n = 3; } finally { _lock.Exit(); }
                    _n = 4;
                }
            }
            """).Where(a => !a.StartsWith("_lock")));
    }

    [Fact]
    public void MonitorEnterWithLockTaken_HeldUntilExitInFinally()
    {
        Assert.Equal(new[] { "_n:Write{_gate}", "_n:Write{}" }, Accesses("""
            using System.Threading;
            class C
            {
                private readonly object _gate = new();
                private int _n;
                void M()
                {
                    bool taken = false;
                    try
                    {
                        Monitor.Enter(_gate, ref taken);
                        _n = 1;
                    }
                    finally
                    {
                        if (taken) Monitor.Exit(_gate);
                    }
                    _n = 2;
                }
            }
            """).Where(a => !a.StartsWith("_gate")));
    }

    [Fact]
    public void LockTakenInTry_NotHeldInItsCatch()
    {
        Assert.Equal(new[] { "_n:Write{_gate}", "_n:Write{}" }, Accesses("""
            class C
            {
                private readonly object _gate = new();
                private int _n;
                void M()
                {
                    try
                    {
                        lock (_gate) { _n = 1; }
                    }
                    catch
                    {
                        _n = 2;
                    }
                }
            }
            """).Where(a => !a.StartsWith("_gate")));
    }

    [Fact]
    public void ReaderWriterLockSlim_ReadIsSharedWriteIsExclusive()
    {
        Assert.Equal(new[] { "_n:Read{_rw(read)}", "_n:Write{_rw}", "_n:Read{_rw(read)}", "_n:Write{}" }, Accesses("""
            using System.Threading;
            class C
            {
                private readonly ReaderWriterLockSlim _rw = new();
                private int _n;
                int Get()
                {
                    _rw.EnterReadLock();
                    try { return _n; } finally { _rw.ExitReadLock(); }
                }
                void Set(int v)
                {
                    _rw.EnterWriteLock();
                    try { _n = v; } finally { _rw.ExitWriteLock(); }
                }
                void Upgrade()
                {
                    _rw.EnterUpgradeableReadLock();
                    try { _ = _n; } finally { _rw.ExitUpgradeableReadLock(); }
                    _n = 0;
                }
            }
            """).Where(a => !a.StartsWith("_rw")));
    }

    [Fact]
    public void BinarySemaphore_HeldAcrossAwait_CountingSemaphoreIsNoLock()
    {
        Assert.Equal(new[] { "_n:Update{_mutex}", "_n:Update{}", "_n:Update{}" }, Accesses("""
            using System.Threading;
            using System.Threading.Tasks;
            class C
            {
                private readonly SemaphoreSlim _mutex = new SemaphoreSlim(1, 1);
                private readonly SemaphoreSlim _pool = new(4);
                private int _n;
                async Task M()
                {
                    await _mutex.WaitAsync();
                    try
                    {
                        await Task.Yield();
                        _n++;
                    }
                    finally
                    {
                        _mutex.Release();
                    }
                    _n++;
                    await _pool.WaitAsync();
                    try { _n++; } finally { _pool.Release(); }
                }
            }
            """).Where(a => !a.StartsWith("_mutex") && !a.StartsWith("_pool")));
    }

    [Fact]
    public void MethodImplSynchronized_HoldsThisOrTheType()
    {
        Assert.Equal(new[] { "_n:Write{this}", "s_n:Write{typeof(C)}" }, Accesses("""
            using System.Runtime.CompilerServices;
            class C
            {
                private int _n;
                private static int s_n;
                [MethodImpl(MethodImplOptions.Synchronized)]
                void M() => _n = 1;
                [MethodImpl(MethodImplOptions.Synchronized)]
                static void S() => s_n = 1;
            }
            """));
    }

    [Fact]
    public void LockOfAnotherObject_IsUnknown_AndItsFieldsAreNotOurs()
    {
        Assert.Equal(new[] { "_n:Write{?}" }, Accesses("""
            class C
            {
                private readonly object _gate = new();
                private int _n;
                void M(C other)
                {
                    lock (other._gate)
                    {
                        _n = 1;
                        other._n = 2;
                    }
                }
            }
            """));
    }

    [Fact]
    public void Lambda_StartsWithNoLock_UnlessCreatedUnderOne()
    {
        Assert.Equal(new[] { "_n:Update{}" }, Accesses("""
            using System;
            using System.Threading.Tasks;
            class C
            {
                private readonly object _gate = new();
                private int _n;
                void M(Action<Action> run)
                {
                    lock (_gate)
                    {
                        run(() => _n++); // may run here, under the lock, or later: not counted
                    }
                    Task.Run(() => _n++);
                }
            }
            """).Where(a => !a.StartsWith("_gate")));
    }

    [Fact]
    public void ConstructorAccesses_Exempt_ButNotItsLambdas()
    {
        Assert.Equal(new[] { "_n:Update{}" }, Accesses("""
            using System.Threading;
            class C
            {
                private int _n;
                private readonly Timer _timer;
                C()
                {
                    _n = 1;
                    _timer = new Timer(_ => _n++, null, 0, 10);
                }
            }
            """));
    }

    [Fact]
    public void PrivateHelper_GetsTheLocksEveryCallerHolds()
    {
        Assert.Equal(new[] { "_a:Write{_gate}", "_b:Write{}", "_c:Write{_gate}" }, Accesses("""
            class C
            {
                private readonly object _gate = new();
                private int _a, _b, _c;
                public void P() { lock (_gate) { SetA(); SetB(); } }
                public void Q() { SetB(); }
                private void SetA() => _a = 1;
                private void SetB() => _b = 1;
                public void R() { lock (_gate) Outer(); }
                private void Outer() => Inner();
                private void Inner() => _c = 1;
            }
            """).Where(a => !a.StartsWith("_gate")));
    }

    [Fact]
    public void PrivateHelperUsedAsDelegate_RunsWithNoLock()
    {
        Assert.Equal(new[] { "_a:Write{}" }, Accesses("""
            using System.Threading.Tasks;
            class C
            {
                private readonly object _gate = new();
                private int _a;
                public void P() { lock (_gate) SetA(); }
                public void Q() { Task.Run(SetA); }
                private void SetA() => _a = 1;
            }
            """).Where(a => !a.StartsWith("_gate")));
    }

    [Fact]
    public void PrivateHelperCalledOnlyFromConstructor_Exempt()
    {
        Assert.Empty(Accesses("""
            class C
            {
                private int _a;
                C() { Init(); }
                private void Init() => _a = 1;
            }
            """));
    }

    [Fact]
    public void CollectionAccesses_ClassifiedAsChangesOrReads()
    {
        Assert.Equal(new[] { "_list:CollectionWrite{}", "_list:CollectionRead{}", "_list:CollectionRead{}", "_map:CollectionWrite{}", "_map:CollectionRead{}", "_list:CollectionRead{}", "_list:Write{}" }, Accesses("""
            using System.Collections.Generic;
            using System.Linq;
            class C
            {
                private List<int> _list = new();
                private readonly Dictionary<string, int> _map = new();
                int M()
                {
                    _list.Add(1);
                    var n = _list.Count;
                    foreach (var x in _list) n += x;
                    _map["a"] = 1;
                    _map.TryGetValue("a", out var v);
                    n += _list.Sum();
                    _list = new List<int>();
                    return n + v;
                }
            }
            """));
    }

    [Fact]
    public void AtomicAndTearingAccesses()
    {
        Assert.Equal(new[] { "_n:Atomic{}", "_n:Atomic{}", "_total:TearingRead{}", "_price:TearingRead{}", "_n:Read{}" }, Accesses("""
            using System.Threading;
            class C
            {
                private int _n;
                private long _total;
                private decimal _price;
                long M()
                {
                    Interlocked.Increment(ref _n);
                    Volatile.Read(ref _n);
                    var t = _total;
                    var p = _price;
                    return t + (long)p + _n;
                }
            }
            """));
    }

    /// <summary>Regression (System.Net.Http's HttpConnectionPoolManager): a lambda's graph inside a try of its
    /// enclosing function has a root region whose enclosing region is that try; the dataflow base used to follow it
    /// into the outer graph's finally and index blocks the lambda's graph does not have.</summary>
    [Fact]
    public void LambdaInsideUsingOfConstructor_AnalysedWithoutTheOuterTry()
    {
        Assert.Equal(new[] { "_gate:Read{}", "_n:Update{_gate}" }, Accesses("""
            using System;
            using System.Threading;
            class C
            {
                private readonly object _gate = new();
                private Timer? _t;
                private int _n;
                void M() { lock (_gate) _n++; }
                C(bool b)
                {
                    if (b)
                    {
                        using (ExecutionContext.SuppressFlow())
                        {
                            WeakReference<C> state = new WeakReference<C>(this);
                            _t = new Timer((object? s) =>
                            {
                                if (((WeakReference<C>)s!).TryGetTarget(out var target))
                                {
                                    target.M();
                                }
                            }, state, 1, 1);
                        }
                    }
                }
            }
            """));
    }

    /// <summary>A function that takes no lock and starts with none (most functions of a type that locks) is analysed
    /// without the lockset dataflow: only which of its blocks the solver reaches matters, since no lock is held anywhere.
    /// Here M, its lambda, its local function and Get; not P, which locks, nor S, synchronized (held on entry).</summary>
    [Fact]
    public void FunctionsThatTakeNoLock_SkipTheLocksetDataflow()
    {
        var (accesses, _, withoutLocks) = Analyze("""
            using System;
            using System.Runtime.CompilerServices;
            class C
            {
                private readonly object _gate = new();
                private long _n;
                void M()
                {
                    _n++;
                    Action a = () => _n++;
                    void Local() => _n++;
                    Local();
                }
                long Get() => _n;
                void P() { lock (_gate) _n++; }
                [MethodImpl(MethodImplOptions.Synchronized)] void S() => _n++;
            }
            """, shortcut: true);
        Assert.Equal(4, withoutLocks);
        Assert.Equal(new[] { "_n:Update{}", "_n:Update{}", "_n:Update{}", "_n:TearingRead{}", "_gate:Read{}", "_n:Update{_gate}", "_n:Update{this}" }, accesses);
    }

    public static TheoryData<string> ShortcutCases => new()
    {
        // Unreachable code: the solver never reaches it, with or without locks.
        """
        using System;
        class C
        {
            private readonly object _gate = new();
            private long _n;
            void P() { lock (_gate) _n = 1; }
            long M(bool b)
            {
                if (b) throw new InvalidOperationException();
                return _n;
                _n = 2;
            }
            void W() { while (true) { _n++; } _n = 3; }
        }
        """,
        // Handlers and finally blocks (reached through exception edges), a filter, await, using, foreach.
        """
        using System;
        using System.Collections.Generic;
        using System.Threading.Tasks;
        class C
        {
            private readonly object _gate = new();
            private readonly List<int> _list = new();
            private long _n;
            private volatile bool _stop;
            void P() { lock (_gate) { _list.Add(1); _n++; } }
            async Task M(IDisposable d)
            {
                try { _n++; await Task.Yield(); }
                catch (Exception e) when (_n > 0) { _list.Clear(); }
                finally { _n--; }
                using (d) { foreach (var x in _list) _n += x; }
                while (!_stop) _list.Add(2);
            }
            int Count => _list.Count;
        }
        """,
        // Helpers called under a lock and not, as a delegate, from a constructor, lambdas and local functions inside them.
        """
        using System;
        using System.Threading;
        using System.Threading.Tasks;
        class C
        {
            private readonly object _gate = new();
            private long _n;
            private int _m;
            C() { Helper(); Func<long> f = () => _n; }
            void P() { lock (_gate) { Helper(); Other(); } }
            void Q() { Other(); Task.Run(Helper); Interlocked.Increment(ref _m); }
            private void Helper() { _n++; Action a = () => { _n = 4; Other(); }; Local(); void Local() => _m++; }
            private void Other() => _n--;
            void E() { Monitor.Exit(_gate); _n++; }
        }
        """,
    };

    /// <summary>The shortcut of <see cref="FunctionsThatTakeNoLock_SkipTheLocksetDataflow"/> gives every fact the full
    /// analysis gives: the same accesses (kind, locks, function, lock-free code) and the same helper calls.</summary>
    [Theory]
    [MemberData(nameof(ShortcutCases))]
    public void Shortcut_GivesTheSameFactsAsTheFullAnalysis(string source)
    {
        var fast = Analyze(source, shortcut: true);
        var full = Analyze(source, shortcut: false);
        Assert.True(fast.WithoutLocks > 0);
        Assert.Equal(0, full.WithoutLocks);
        Assert.Equal(full.Facts, fast.Facts);
        Assert.Equal(full.Accesses, fast.Accesses);
    }
}
