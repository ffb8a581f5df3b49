using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.SharedState;
using MemSafety.Analyzers.Tests.Verification;
using MemSafety.Analyzers.Tests.Infrastructure;
using MemSafety.CodeFixes.SharedState;

namespace MemSafety.Analyzers.Tests.SharedState;

public sealed class NonAtomicUpdateTests
{
    /// <summary>MSA6002 is off by default (a suggestion in the Strict preset): every test turns it on, as a user would;
    /// <see cref="OffByDefault_NoDiagnostic"/> checks the default.</summary>
    private static readonly VerifyWithOptions<NonAtomicUpdateAnalyzer, NonAtomicUpdateFix> On = new() { Enabled = new[] { "MSA6002" } };

    private static Task Analyze(string source) => On.AnalyzerAsync(source);

    private static Task Fix(string source, string fixedSource) => On.CodeFixAsync(source, fixedSource);

    private static Task NoFix(string source) => On.NoFixAsync(source);

    /// <summary>Off by default (session 9: none of its findings hand-checked on real code was worth changing): the
    /// racy accumulator of <see cref="CapturedAccumulatorInParallelFor"/> is silent without the rule turned on, and the
    /// Strict preset turns it on.</summary>
    [Fact]
    public async Task OffByDefault_NoDiagnostic_StrictPresetReports()
    {
        const string source = """
            using System.Threading.Tasks;
            static class Sum
            {
                public static long Of(int[] values)
                {
                    long total = 0;
                    Parallel.For(0, values.Length, i => { {|#0:total += values[i]|}; });
                    return total;
                }
            }
            """;
        await Verify<NonAtomicUpdateAnalyzer>.Test(source).RunAsync();
        var strict = Verify<NonAtomicUpdateAnalyzer>.Test(source);
        foreach (var (key, value) in RepositoryFiles.PresetOptions("Strict"))
            strict.AnalyzerOptions[key] = value;
        strict.DiagnosticSeverities["MSA6002"] = RepositoryFiles.PresetSeverity("Strict", "MSA6002");
        strict.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA6002", 0));
        await strict.RunAsync();
    }

    // ------------------------------------------------------------------ reported: captured locals

    [Fact]
    public Task CapturedAccumulatorInParallelFor() => Fix("""
        using System.Threading.Tasks;
        static class Sum
        {
            public static long Of(int[] values)
            {
                long total = 0;
                Parallel.For(0, values.Length, i => { [|total += values[i]|]; });
                return total;
            }
        }
        """, """
        using System.Threading;
        using System.Threading.Tasks;
        static class Sum
        {
            public static long Of(int[] values)
            {
                long total = 0;
                Parallel.For(0, values.Length, i => { Interlocked.Add(ref total, values[i]); });
                return total;
            }
        }
        """);

    [Fact]
    public Task CapturedCounterInParallelForEach_ExpressionLambda() => Fix("""
        using System.Collections.Generic;
        using System.Threading;
        using System.Threading.Tasks;
        static class Count
        {
            public static int Matches(List<string> items)
            {
                var n = 0;
                Parallel.ForEach(items, item =>
                {
                    if (item.Length > 3)
                        [|n++|];
                });
                return n;
            }
        }
        """, """
        using System.Collections.Generic;
        using System.Threading;
        using System.Threading.Tasks;
        static class Count
        {
            public static int Matches(List<string> items)
            {
                var n = 0;
                Parallel.ForEach(items, item =>
                {
                    if (item.Length > 3)
                        Interlocked.Increment(ref n);
                });
                return n;
            }
        }
        """);

    [Fact]
    public Task MessageSaysWhoRunsItConcurrentlyAndWhatToUse()
    {
        var test = On.AnalyzerTest("""
            using System.Threading.Tasks;
            static class Sum
            {
                public static int Of(int[] values)
                {
                    int total = 0;
                    Parallel.For(0, values.Length, i => { {|#0:total += values[i]|}; });
                    return total;
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA6002", 0).WithMessage(
            "'+=' on 'total' is not atomic: Parallel.For runs this body on several threads at once, and the read, the computation and the write of '+=' are separate steps, so an update made in between is lost; update with Interlocked.Add"));
        return test.RunAsync();
    }

    [Fact]
    public Task CapturedLocalInTaskRunStartedInALoop() => Fix("""
        using System.Collections.Generic;
        using System.Threading.Tasks;
        static class Work
        {
            public static async Task<int> RunAll(int n)
            {
                var done = 0;
                var tasks = new List<Task>();
                for (var i = 0; i < n; i++)
                    tasks.Add(Task.Run(() => { [|done++|]; }));
                await Task.WhenAll(tasks);
                return done;
            }
        }
        """, """
        using System.Collections.Generic;
        using System.Threading;
        using System.Threading.Tasks;
        static class Work
        {
            public static async Task<int> RunAll(int n)
            {
                var done = 0;
                var tasks = new List<Task>();
                for (var i = 0; i < n; i++)
                    tasks.Add(Task.Run(() => { Interlocked.Increment(ref done); }));
                await Task.WhenAll(tasks);
                return done;
            }
        }
        """);

    [Fact]
    public Task CapturedLocalInThreadsStartedInALoop_Subtract() => Fix("""
        using System.Threading;
        static class Work
        {
            public static int Run(int[] costs)
            {
                var budget = 1000;
                foreach (var cost in costs)
                    new Thread(() => [|budget -= cost|]).Start();
                return budget;
            }
        }
        """, """
        using System.Threading;
        static class Work
        {
            public static int Run(int[] costs)
            {
                var budget = 1000;
                foreach (var cost in costs)
                    new Thread(() => Interlocked.Add(ref budget, -cost)).Start();
                return budget;
            }
        }
        """);

    [Fact]
    public Task ParallelInvoke_TwoActionsUpdateOneLocal() => Analyze("""
        using System.Threading.Tasks;
        static class Work
        {
            public static int Run()
            {
                var hits = 0;
                Parallel.Invoke(() => { [|hits += 2|]; }, () => { [|hits += 3|]; });
                return hits;
            }
        }
        """);

    [Fact]
    public Task CapturedParameterInParallelFor() => Analyze("""
        using System.Threading.Tasks;
        static class Work
        {
            public static int Run(int start, int n)
            {
                Parallel.For(0, n, i => [|start++|]);
                return start;
            }
        }
        """);

    // ------------------------------------------------------------------ reported: fields

    [Fact]
    public Task VolatileFieldIncremented() => Fix("""
        class Stats
        {
            private volatile int _requests;
            public void OnRequest() => [|_requests++|];
            public int Requests => _requests;
        }
        """, """
        using System.Threading;

        class Stats
        {
            private volatile int _requests;
            public void OnRequest() => Interlocked.Increment(ref _requests);
            public int Requests => _requests;
        }
        """);

    [Fact]
    public Task FieldAlsoUpdatedWithInterlocked_Message()
    {
        var test = On.AnalyzerTest("""
            using System.Threading;
            class Pool
            {
                private int _rented;
                public void Rent() => Interlocked.Increment(ref _rented);
                public void Return() { {|#0:_rented--|}; }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA6002", 0).WithMessage(
            "'--' on '_rented' is not atomic: '_rented' is also used with Interlocked.Increment in 'Rent', so other threads change it concurrently, and the read, the computation and the write of '--' are separate steps, so an update made in between is lost; update with Interlocked.Decrement"));
        return test.RunAsync();
    }

    [Fact]
    public Task StaticFieldUpdatedInParallelBody_PartialClassAcrossFiles()
    {
        var test = On.Test("""
            using System.Threading.Tasks;
            static partial class Metrics
            {
                public static void Scan(int[] data) => Parallel.For(0, data.Length, i => { if (data[i] < 0) [|s_negatives++|]; });
            }
            """, """
            using System.Threading;
            using System.Threading.Tasks;
            static partial class Metrics
            {
                public static void Scan(int[] data) => Parallel.For(0, data.Length, i => { if (data[i] < 0) Interlocked.Increment(ref s_negatives); });
            }
            """);
        test.Sources.Add("""
            static partial class Metrics
            {
                private static long s_negatives;
                public static long Negatives => s_negatives;
            }
            """);
        test.FixedSources.Add("""
            static partial class Metrics
            {
                private static long s_negatives;
                public static long Negatives => s_negatives;
            }
            """);
        return test.RunAsync();
    }

    [Fact]
    public Task InstanceFieldUpdatedByMethodGroupThreadAndAnotherMember() => Analyze("""
        using System.Threading;
        class Downloader
        {
            private long _bytes;
            public void Start() => new Thread(Pump).Start();
            private void Pump() { for (var i = 0; i < 10; i++) [|_bytes += 512|]; }
            public void Add(long n) { [|_bytes += n|]; }
        }
        """);

    [Fact]
    public Task UpdateRacingWithAThreadsUpdate_MessageNamesTheOtherMember()
    {
        var test = On.AnalyzerTest("""
            using System.Threading;
            class Downloader
            {
                private long _bytes;
                public void Start() => new Thread(Pump).Start();
                private void Pump() { {|#1:_bytes += 512|}; }
                public void Reset(long n) { {|#0:_bytes -= n|}; }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA6002", 1));
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA6002", 0).WithMessage(
            "'-=' on '_bytes' is not atomic: '_bytes' is also updated in 'Pump', which runs on another thread (new Thread), and the read, the computation and the write of '-=' are separate steps, so an update made in between is lost; update with Interlocked.Add"));
        return test.RunAsync();
    }

    [Fact]
    public Task NestedTypeFieldInParallelForEach_OrOperator() => Fix("""
        using System.Collections.Generic;
        using System.Threading.Tasks;
        class Outer
        {
            public sealed class Flags
            {
                private int _seen;
                public void Scan(List<int> bits) => Parallel.ForEach(bits, b => { [|_seen |= 1 << b|]; });
                public int Seen => _seen;
            }
        }
        """, """
        using System.Collections.Generic;
        using System.Threading;
        using System.Threading.Tasks;
        class Outer
        {
            public sealed class Flags
            {
                private int _seen;
                public void Scan(List<int> bits) => Parallel.ForEach(bits, b => { Interlocked.Or(ref _seen, 1 << b); });
                public int Seen => _seen;
            }
        }
        """);

    [Fact]
    public Task Net10_VolatileUIntAdd_UsesTheUnsignedOverload()
    {
        var test = On.Test("""
            class Ring
            {
                private volatile uint _head;
                public void Advance(uint n) { [|_head += n|]; }
            }
            """, """
            using System.Threading;

            class Ring
            {
                private volatile uint _head;
                public void Advance(uint n) { Interlocked.Add(ref _head, n); }
            }
            """);
        test.ReferenceSet = ReferenceSet.Net100;
        return test.RunAsync();
    }

    [Fact]
    public Task FixAll_RewritesEveryUpdateOnce()
    {
        var test = On.Test("""
            using System.Threading.Tasks;
            static class Stats
            {
                public static (int, long) Of(int[] values)
                {
                    int count = 0;
                    long sum = 0;
                    Parallel.For(0, values.Length, i =>
                    {
                        [|count++|];
                        [|sum += values[i]|];
                        [|sum -= 1|];
                    });
                    return (count, sum);
                }
            }
            """, """
            using System.Threading;
            using System.Threading.Tasks;
            static class Stats
            {
                public static (int, long) Of(int[] values)
                {
                    int count = 0;
                    long sum = 0;
                    Parallel.For(0, values.Length, i =>
                    {
                        Interlocked.Increment(ref count);
                        Interlocked.Add(ref sum, values[i]);
                        Interlocked.Add(ref sum, -1);
                    });
                    return (count, sum);
                }
            }
            """);
        test.FixAllPasses = 1;
        return test.RunAsync();
    }

    /// <summary>One diagnostic per node: with MSA6001 on, a volatile field updated under the lock in one member and
    /// without it in another is reported once, by this rule (MSA6001 leaves members that touch volatile fields alone),
    /// and a field of a type that locks, updated in a Parallel.For body, once, by MSA6001.</summary>
    [Fact]
    public Task WithMsa6001On_EachNodeReportedOnce()
    {
        var test = new AnalyzerTest(new NonAtomicUpdateAnalyzer(), new InconsistentlyGuardedFieldAnalyzer());
        test.DiagnosticSeverities["MSA6001"] = Microsoft.CodeAnalysis.ReportDiagnostic.Warn;
        test.DiagnosticSeverities["MSA6002"] = Microsoft.CodeAnalysis.ReportDiagnostic.Warn;
        test.Sources.Add("""
            using System.Threading.Tasks;
            class Totals
            {
                private readonly object _gate = new();
                private volatile int _hits;
                private long _sum;
                public void Hit() { lock (_gate) { _hits++; } }
                public void Miss() { {|#0:_hits--|}; }
                public void Add(int[] values) => Parallel.For(0, values.Length, i => { {|#1:_sum|} += values[i]; });
                public void Clear() { lock (_gate) { _sum = 0; } }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA6002", 0));
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA6001", 1));
        return test.RunAsync();
    }

    // ------------------------------------------------------------------ reported, no fix

    [Fact]
    public Task PostfixValueUsed_NoFix() => NoFix("""
        using System.Threading.Tasks;
        static class Ids
        {
            public static int[] Assign(int n)
            {
                var ids = new int[n];
                var next = 0;
                Parallel.For(0, n, i => ids[i] = [|next++|]);
                return ids;
            }
        }
        """);

    [Fact]
    public Task DoubleAccumulator_NoInterlockedOverload_NoFix() => NoFix("""
        using System.Threading.Tasks;
        static class Sum
        {
            public static double Of(double[] values)
            {
                double total = 0;
                Parallel.For(0, values.Length, i => [|total += values[i]|]);
                return total;
            }
        }
        """);

    [Fact]
    public Task CheckedContext_OverflowWouldNoLongerThrow_NoFix() => NoFix("""
        using System.Threading.Tasks;
        static class Sum
        {
            public static int Of(int[] values)
            {
                int total = 0;
                Parallel.For(0, values.Length, i => { checked { [|total += values[i]|]; } });
                return total;
            }
        }
        """);

    [Fact]
    public Task OrWithValueUsed_NoFix() => NoFix("""
        using System.Threading;
        class Flags
        {
            private int _bits;
            public int Set(int bit) => [|_bits |= bit|];
            public void Clear() => Interlocked.And(ref _bits, 0);
        }
        """);

    /// <summary>protobuf-net's MetaType.SetFlag (third-party corpus, judged true but not worth changing): a volatile
    /// flags word set and cleared with '|='/'&=' during model setup by one owner. volatile shows readers on other
    /// threads; a bit set/clear needs evidence of concurrent writers, a counter's '++' does not.</summary>
    [Fact]
    public Task VolatileFlagsWordSetAndCleared_NoDiagnostic() => Analyze("""
        class MetaType
        {
            [System.Flags] private enum Options { None = 0, Frozen = 1, Pending = 2 }
            private volatile Options _flags;
            private bool Has(Options flag) => (_flags & flag) == flag;
            private void Set(Options flag, bool value)
            {
                if (value)
                    _flags |= flag;
                else
                    _flags &= ~flag;
            }
            public bool Pending { get => Has(Options.Pending); set => Set(Options.Pending, value); }
            public void Freeze() => Set(Options.Frozen, true);
        }
        """);

    [Fact]
    public Task VolatileFlagsWordSetInAParallelLoop_StillReported() => Analyze("""
        using System.Collections.Generic;
        using System.Threading.Tasks;
        class Seen
        {
            private volatile int _bits;
            public void Scan(List<int> items) => Parallel.ForEach(items, i => { [|_bits |= 1 << i|]; });
        }
        """);

    // ------------------------------------------------------------------ not reported

    [Fact]
    public Task LocalDeclaredInsideParallelBody_NoDiagnostic() => Analyze("""
        using System.Threading.Tasks;
        static class Work
        {
            public static void Run(int[] values) => Parallel.For(0, values.Length, i =>
            {
                var local = 0;
                for (var j = 0; j < i; j++) local += values[j];
                values[i] = local;
            });
        }
        """);

    [Fact]
    public Task UpdateUnderLockInParallelBody_NoDiagnostic() => Analyze("""
        using System.Threading.Tasks;
        static class Sum
        {
            public static long Of(int[] values)
            {
                long total = 0;
                var gate = new object();
                Parallel.For(0, values.Length, i => { lock (gate) { total += values[i]; } });
                return total;
            }
        }
        """);

    [Fact]
    public Task UpdateUnderSystemThreadingLock_Net10_NoDiagnostic()
    {
        var test = On.AnalyzerTest("""
            using System.Threading;
            using System.Threading.Tasks;
            static class Sum
            {
                private static readonly Lock s_gate = new();
                private static long s_total;
                public static void Add(int[] values) => Parallel.For(0, values.Length, i => { lock (s_gate) s_total += values[i]; });
            }
            """);
        test.ReferenceSet = ReferenceSet.Net100;
        return test.RunAsync();
    }

    [Fact]
    public Task ManualMonitorRegionInParallelBody_NoDiagnostic() => Analyze("""
        using System.Threading;
        using System.Threading.Tasks;
        static class Sum
        {
            public static long Of(int[] values)
            {
                long total = 0;
                var gate = new object();
                Parallel.For(0, values.Length, i =>
                {
                    Monitor.Enter(gate);
                    try { total += values[i]; } finally { Monitor.Exit(gate); }
                });
                return total;
            }
        }
        """);

    [Fact]
    public Task ParallelForLocalInitAccumulator_NoDiagnostic() => Analyze("""
        using System.Threading;
        using System.Threading.Tasks;
        static class Sum
        {
            public static long Of(int[] values)
            {
                long total = 0;
                Parallel.For(0, values.Length, () => 0L, (i, _, subtotal) => subtotal + values[i], subtotal => Interlocked.Add(ref total, subtotal));
                return total;
            }
        }
        """);

    [Fact]
    public Task SingleTaskRun_NotInALoop_NoDiagnostic() => Analyze("""
        using System.Threading.Tasks;
        static class Work
        {
            public static async Task<int> Run()
            {
                var n = 0;
                await Task.Run(() => { for (var i = 0; i < 10; i++) n++; });
                return n;
            }
        }
        """);

    [Fact]
    public Task TaskRunAwaitedInALoop_RunsOneAfterAnother_NoDiagnostic() => Analyze("""
        using System.Threading.Tasks;
        static class Work
        {
            public static async Task<int> Run()
            {
                var n = 0;
                for (var i = 0; i < 10; i++)
                    await Task.Run(() => n++);
                return n;
            }
        }
        """);

    [Fact]
    public Task LocalDeclaredInsideTheLoopThatStartsThreads_NoDiagnostic() => Analyze("""
        using System.Threading;
        static class Work
        {
            public static void Run()
            {
                for (var i = 0; i < 4; i++)
                {
                    var mine = 0;
                    new Thread(() => { mine++; }).Start();
                }
            }
        }
        """);

    // ------------------------------------------------------------------ [ThreadSafe] / [NotThreadSafe]

    private static Task AnalyzeAnnotated(string source) => Analyze("using My.Annotations;\n" + source + LockAnnotationTests.ThreadSafetyAttributes);

    [Fact]
    public Task ThreadSafeType_CounterUpdatedOutsideALock_MessageSaysTheContract()
    {
        // The same counter as PlainInstanceFieldWithoutConcurrencySignal_NoDiagnostic: only the attribute opens the gate.
        var test = On.AnalyzerTest("using My.Annotations;\n" + """
            [ThreadSafe]
            class Counter
            {
                private int _count;
                private static long s_total;
                public void Add() { {|#0:_count++|}; {|#1:s_total += 2|}; }
            }
            """ + LockAnnotationTests.ThreadSafetyAttributes);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA6002", 0).WithMessage(
            "'++' on '_count' is not atomic: 'Counter' is [ThreadSafe], so its members may run on several threads at once, and the read, the computation and the write of '++' are separate steps, so an update made in between is lost; update with Interlocked.Increment"));
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA6002", 1));
        return test.RunAsync();
    }

    /// <summary>The attribute the package generates (MemSafetyGenerateAttributes) is the one matched.</summary>
    [Fact]
    public Task GeneratedThreadSafeAttribute_OpensTheGate()
    {
        var test = On.AnalyzerTest("""
            [MemSafety.ThreadSafe]
            class Counter
            {
                private int _count;
                public void Add() => [|_count++|];
            }
            """);
        test.Sources.Add(RepositoryFiles.Read("build", "MemSafety.ThreadSafetyAttributes.cs"));
        return test.RunAsync();
    }

    [Fact]
    public Task ThreadSafeType_ConstructorAndThreadConfinedMember_NoDiagnostic() => AnalyzeAnnotated("""
        [ThreadSafe]
        class Counter
        {
            private int _count;
            private int _uiTicks;
            public Counter(int start) { _count += start; }
            [ThreadConfined] public void Tick() => _uiTicks++;
        }
        """);

    [Fact]
    public Task NotThreadSafeType_VolatileInstanceCounter_NoDiagnostic() => AnalyzeAnnotated("""
        [NotThreadSafe]
        class Reader
        {
            private volatile int _position;
            public void Advance() => _position++;
        }
        """);

    [Fact]
    public Task NotThreadSafeType_StaticFieldIsSharedByEveryInstance_Reported() => AnalyzeAnnotated("""
        [NotThreadSafe]
        class Reader
        {
            private static volatile int s_opened;
            public void Open() => [|s_opened++|];
        }
        """);

    [Fact]
    public Task PlainInstanceFieldWithoutConcurrencySignal_NoDiagnostic() => Analyze("""
        class Counter
        {
            private int _count;
            public void Add() => _count++;
            public static Counter operator +(Counter c, int n) { c._count += n; return c; }
        }
        """);

    [Fact]
    public Task VolatileFieldInConstructor_NoDiagnostic() => Analyze("""
        class Ring
        {
            private volatile int _head;
            private static volatile int s_instances;
            static Ring() { s_instances++; }
            public Ring(int start) { _head += start; }
        }
        """);

    [Fact]
    public Task ThreadStaticField_NoDiagnostic() => Analyze("""
        using System;
        using System.Threading.Tasks;
        static class Depth
        {
            [ThreadStatic] private static int t_depth;
            public static void Run(int n) => Parallel.For(0, n, i => { t_depth++; });
        }
        """);

    [Fact]
    public Task FieldInTypeThatTakesLocks_IsMsa6001s_NoDiagnostic() => Analyze("""
        using System.Threading.Tasks;
        class Totals
        {
            private readonly object _gate = new();
            private long _sum;
            public void Add(int[] values) => Parallel.For(0, values.Length, i => { _sum += values[i]; });
            public long Sum { get { lock (_gate) return _sum; } }
        }
        """);

    [Fact]
    public Task TaskRunOnceWithFieldUpdatedOnlyThere_NoDiagnostic() => Analyze("""
        using System.Threading.Tasks;
        class Loader
        {
            private int _loaded;
            public Task Load() => Task.Run(() => { for (var i = 0; i < 3; i++) _loaded++; });
            public int Loaded => _loaded;
        }
        """);

    [Fact]
    public Task InterlockedOnAnotherField_NoDiagnostic() => Analyze("""
        using System.Threading;
        class Pool
        {
            private int _rented;
            private int _created;
            public void Rent() => Interlocked.Increment(ref _rented);
            public void Create() => _created++;
        }
        """);

    /// <summary>ConcurrentBag's work-stealing queue (dotnet/runtime): only the owner thread pushes and pops, and each
    /// of its members announces its operation with Interlocked; the owner's '++' on the volatile counter cannot race.</summary>
    [Fact]
    public Task VolatileCounterInALockFreeProtocolMember_NoDiagnostic() => Analyze("""
        using System.Threading;
        class WorkStealingQueue
        {
            private volatile int _addTakeCount;
            private volatile int _headIndex;
            private int _currentOp;
            public void LocalPush()
            {
                Interlocked.Exchange(ref _currentOp, 1);
                _headIndex = _headIndex + 1;
                _addTakeCount++;
                _currentOp = 0;
            }
            public bool TryLocalPop()
            {
                if (_headIndex == 0) return false;
                _addTakeCount--;
                return true;
            }
            public int Count => _addTakeCount;
        }
        """);

    [Fact]
    public Task UpdateAfterACompareExchangeClaim_NoDiagnostic() => Analyze("""
        using System.Threading;
        class Once
        {
            private int _state;
            private volatile int _runs;
            public void Run()
            {
                if (Interlocked.CompareExchange(ref _state, 1, 0) != 0) return;
                _runs++;
                Interlocked.Exchange(ref _state, 0);
            }
        }
        """);

    /// <summary>System.Collections.Concurrent's static range partition (dotnet/runtime, Partitioner.cs): one worker owns
    /// each enumerator, and IEnumerator is not thread-safe by contract, so the volatile offset has one writer.</summary>
    [Fact]
    public Task VolatileOffsetOfAnEnumerator_NoDiagnostic() => Analyze("""
        using System.Collections;
        using System.Collections.Generic;
        abstract class RangePartition : IEnumerator<int>
        {
            protected volatile int _offset;
            protected readonly int _end;
            protected RangePartition(int start, int end) { _offset = start - 1; _end = end; }
            public int Current => _offset;
            object IEnumerator.Current => Current;
            public bool MoveNext()
            {
                if (_offset < _end) { _offset++; return true; }
                _offset = _end + 1;
                return false;
            }
            public void Reset() { }
            public void Dispose() { }
        }
        """);

    /// <summary>CreditManager (System.Net.Http): readers use Volatile.Read, every update runs under the type's lock
    /// (the helper is called under it); a Volatile.Read shows concurrent readers, not concurrent writers.</summary>
    [Fact]
    public Task FieldReadWithVolatileRead_UpdatedInAPrivateHelper_NoDiagnostic() => Analyze("""
        using System;
        using System.Threading;
        class CreditManager
        {
            private int _current;
            public bool IsCreditAvailable => Volatile.Read(ref _current) > 0;
            public int Request(int amount) { lock (this) { return TryRequestNoLock(amount); } }
            private int TryRequestNoLock(int amount)
            {
                if (_current <= 0) return 0;
                var granted = Math.Min(amount, _current);
                _current -= granted;
                return granted;
            }
        }
        """);

    /// <summary>HttpRequestMessage (System.Net.Http): a CompareExchange marks the message sent once; the flag bits set
    /// with '|=' afterwards belong to that one send.</summary>
    [Fact]
    public Task FlagsClaimedWithCompareExchange_SetPlainlyAfterwards_NoDiagnostic() => Analyze("""
        using System.Threading;
        class Request
        {
            private int _status;
            public bool MarkAsSent() => Interlocked.CompareExchange(ref _status, 1, 0) == 0;
            public void DisableAuth() { _status |= 8; }
            public bool IsAuthDisabled => (_status & 8) != 0;
        }
        """);

    [Fact]
    public Task PropertyOfALocalStruct_NoDiagnostic() => Analyze("""
        using System.Threading.Tasks;
        struct Acc { public int N; }
        static class Work
        {
            public static void Run(int n) => Parallel.For(0, n, i => { var a = new Acc(); a.N++; });
        }
        """);

    // ------------------------------------------------------------------ evidence

    /// <summary>Why volatile does not help: the compiler emits '++' on a volatile field as a volatile load, an add and a
    /// volatile store, three instructions another thread's store can fall between (Roslyn, Release); the fixed code is
    /// one call to Interlocked.Increment (on x64 a lock xadd).</summary>
    [Fact]
    public void VolatileIncrement_IsALoadAnAddAndAStore_TheFixOneInterlockedCall()
    {
        const string Source = """
            using System.Threading;
            class C
            {
                private volatile int _n;
                public void Plain() => _n++;
                public void Fixed() => Interlocked.Increment(ref _n);
            }
            """;
        var il = IlInspection.Compile(Source);
        var plain = il.Method("C", "Plain");
        var mnemonics = string.Join(" ", System.Linq.Enumerable.Select(plain.Instructions, i => i.Mnemonic));
        Assert.Contains("volatile. ldfld", mnemonics);
        Assert.Contains("add volatile. stfld", mnemonics);
        Assert.DoesNotContain(plain.Calls, c => c.Contains("Interlocked"));
        Assert.Contains(il.Method("C", "Fixed").Calls, c => c.Contains("Interlocked") && c.Contains("Increment"));

        // A volatile field passed by ref would lose its volatility (CS0420), but the compiler exempts Interlocked, whose
        // operations are full fences: the fix adds no warning.
        var compilation = Microsoft.CodeAnalysis.CSharp.CSharpCompilation.Create("v",
            new[] { Microsoft.CodeAnalysis.CSharp.CSharpSyntaxTree.ParseText(Source) }, IlInspection.References(ReferenceSet.Net80),
            new Microsoft.CodeAnalysis.CSharp.CSharpCompilationOptions(Microsoft.CodeAnalysis.OutputKind.DynamicallyLinkedLibrary));
        Assert.DoesNotContain(compilation.GetDiagnostics(), d => d.Id == "CS0420");
    }

    // ------------------------------------------------------------------ behaviour

    private const string RaceProgram = """
        using System.Threading;
        using System.Threading.Tasks;
        static class Program
        {
            // C# reads total before it evaluates the right operand, so the thread gives up the processor between the read
            // and the write: updates made by the other iterations in between are overwritten, on one core as on many.
            private static long Step(int i) { Thread.Yield(); return i % 7; }

            private static long Sum(int n)
            {
                long total = 0;
                Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
                {
                    total += Step(i);
                });
                return total;
            }

            // Rounds go on until a total is wrong (almost always the first), for at least 20 rounds and 2 seconds when none is.
            public static string Run()
            {
                const int N = 20_000;
                long expected = 0;
                for (var i = 0; i < N; i++) expected += i % 7;
                var verdict = "exact";
                var clock = System.Diagnostics.Stopwatch.StartNew();
                for (var round = 0; (round < 20 || clock.ElapsedMilliseconds < 2000) && verdict == "exact"; round++)
                {
                    if (Sum(N) != expected)
                        verdict = "lost";
                }

                return Sum(1) + ";" + verdict;
            }
        }
        """;

    /// <summary>The race is real and the fix removes it: Parallel.For adding to a captured long loses updates (.NET 10,
    /// 20,000 iterations a round, up to four threads, the body yielding between its read and its write, in a process of
    /// its own); after the fix every round of at least 20 rounds and 2 seconds is exact, and the single-iteration
    /// result is the same.</summary>
    [Fact]
    public async Task Fix_ParallelForAccumulator_TotalBecomesExact()
    {
        const string Racy = "            total += Step(i);";
        Assert.Contains(Racy, RaceProgram);
        var fixedProgram = RaceProgram.Replace(Racy, "            Interlocked.Add(ref total, Step(i));");
        await On.CodeFixAsync(RaceProgram.Replace(Racy, "            [|total += Step(i)|];"), fixedProgram);
        Assert.Equal("0;lost", Behaviour.RunInOwnProcess(RaceProgram));
        Assert.Equal("0;exact", Behaviour.RunInOwnProcess(fixedProgram));
    }

    // ------------------------------------------------------------------ test matrix (issue 12): RWLS, SemaphoreSlim, events

    /// <summary>A read lock does not make the update atomic: readers hold it together (ReaderWriterLockSlim's shared mode).</summary>
    [Fact]
    public Task UpdateUnderAReadLockInParallelBody_Reported() => Analyze("""
        using System.Threading;
        using System.Threading.Tasks;
        static class Sum
        {
            private static readonly ReaderWriterLockSlim s_rw = new();
            public static long Of(int[] values)
            {
                long total = 0;
                Parallel.For(0, values.Length, i =>
                {
                    s_rw.EnterReadLock();
                    try { [|total += values[i]|]; } finally { s_rw.ExitReadLock(); }
                });
                return total;
            }
        }
        """);

    /// <summary>The write lock and a binary SemaphoreSlim held across await serialise the update.</summary>
    [Fact]
    public Task UpdateUnderAWriteLockOrASemaphoreAcrossAwait_NoDiagnostic() => Analyze("""
        using System.Threading;
        using System.Threading.Tasks;
        class Stats
        {
            private readonly ReaderWriterLockSlim _rw = new();
            private readonly SemaphoreSlim _io = new(1, 1);
            private volatile int _requests;
            private volatile int _writes;
            public int Requests => _requests;
            public int Writes => _writes;
            public void OnRequest() { _rw.EnterWriteLock(); try { _requests++; } finally { _rw.ExitWriteLock(); } }
            public async Task WriteAsync()
            {
                await _io.WaitAsync();
                try { await Task.Yield(); _writes++; } finally { _io.Release(); }
            }
        }
        """);

    /// <summary>An event's add and remove accessors run on the subscribers' threads: a volatile count they update is shared.</summary>
    [Fact]
    public Task VolatileCountUpdatedInEventAccessors_Reported() => Analyze("""
        using System;
        class Feed
        {
            private volatile int _subscribers;
            public event Action Changed
            {
                add { [|_subscribers++|]; }
                remove { [|_subscribers--|]; }
            }
            public int Subscribers => _subscribers;
        }
        """);

    /// <summary>Subscribing to a field-like event is not a read-modify-write of the code's own: the compiler's accessors
    /// use an Interlocked.CompareExchange loop.</summary>
    [Fact]
    public Task FieldLikeEventSubscribedInParallelBody_NoDiagnostic() => Analyze("""
        using System;
        using System.Threading.Tasks;
        class Feed
        {
            public event Action Changed;
            public void SubscribeAll(Action[] handlers) => Parallel.For(0, handlers.Length, i => { Changed += handlers[i]; });
            public void Raise() => Changed?.Invoke();
        }
        """);

    // ------------------------------------------------------------------ test matrix (issue 12): partial classes, nested types

    /// <summary>A static total updated with Interlocked in a parallel body in one file of a partial class and read with
    /// Interlocked in the other: every access is atomic.</summary>
    [Fact]
    public Task PartialClassAcrossFiles_EveryUpdateAtomic_NoDiagnostic()
    {
        var test = On.AnalyzerTest("""
            using System.Threading;
            using System.Threading.Tasks;
            static partial class Totals
            {
                private static long s_total;
                public static void Add(int[] values) => Parallel.For(0, values.Length, i => Interlocked.Add(ref s_total, values[i]));
            }
            """);
        test.Sources.Add("""
            using System.Threading;
            static partial class Totals
            {
                public static long Total => Interlocked.Read(ref s_total);
            }
            """);
        return test.RunAsync();
    }

    /// <summary>A nested type's counter: updated atomically in a parallel body, and a plain counter of another nested type
    /// with no concurrency signal at all.</summary>
    [Fact]
    public Task NestedTypes_AtomicUpdateOrNoConcurrencySignal_NoDiagnostic() => Analyze("""
        using System.Threading;
        using System.Threading.Tasks;
        class Outer
        {
            class Counter
            {
                private int _hits;
                public void Run(int[] values) => Parallel.ForEach(values, v => Interlocked.Increment(ref _hits));
            }
            class Plain
            {
                private int _n;
                public void Bump() { _n++; }
            }
        }
        """);
}
