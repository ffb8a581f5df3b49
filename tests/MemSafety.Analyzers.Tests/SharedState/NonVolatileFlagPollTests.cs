using System.Linq;
using System.Reflection.Metadata;
using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.SharedState;
using MemSafety.Analyzers.Tests.Verification;
using MemSafety.CodeFixes.SharedState;

namespace MemSafety.Analyzers.Tests.SharedState;

public sealed class NonVolatileFlagPollTests
{
    // ------------------------------------------------------------------ reported

    [Fact]
    public Task EmptyLoopOnBool_SetInStop_MessageNamesTheWriter()
    {
        var test = Verify<NonVolatileFlagPollAnalyzer>.Test("""
            class Worker
            {
                private bool _stop;
                public void Stop() { _stop = true; }
                public void Wait()
                {
                    while (!{|#0:_stop|}) { }
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA6008", 0).WithMessage(
            "'_stop' is polled by this loop and set in Stop(), but it is not volatile and not read with Volatile.Read: nothing in the loop is an acquire or a fence, so the .NET memory model lets the JIT read it once before the loop, and the loop may never see the write"));
        return test.RunAsync();
    }

    [Fact]
    public Task LoopThatOnlyCountsLocals_Reported() => Verify<NonVolatileFlagPollAnalyzer>.AnalyzerAsync("""
        class Worker
        {
            private bool _stop;
            public void Stop() => _stop = true;
            public long Spin()
            {
                long n = 0;
                while (![|_stop|]) { n++; }
                return n;
            }
        }
        """);

    [Fact]
    public Task IfBreakInWhileTrue_Reported() => Verify<NonVolatileFlagPollAnalyzer>.AnalyzerAsync("""
        class Worker
        {
            private bool _cancelled;
            public void Cancel() => _cancelled = true;
            public int Run(int[] data)
            {
                var sum = 0;
                var i = 0;
                while (true)
                {
                    if ([|_cancelled|]) break;
                    sum += data[i % data.Length];
                    i++;
                }
                return sum;
            }
        }
        """);

    [Fact]
    public Task StaticFieldSetByALambdaInTheSameMethod_MessageSaysLambda()
    {
        var test = Verify<NonVolatileFlagPollAnalyzer>.Test("""
            using System.Threading.Tasks;
            static class Program
            {
                private static bool s_done;
                public static void Main()
                {
                    Task.Run(() => s_done = true);
                    while (!{|#0:s_done|}) { }
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA6008", 0).WithMessage(
            "'s_done' is polled by this loop and set in a lambda in Main(), but it is not volatile and not read with Volatile.Read: nothing in the loop is an acquire or a fence, so the .NET memory model lets the JIT read it once before the loop, and the loop may never see the write"));
        return test.RunAsync();
    }

    [Fact]
    public Task ForLoopConditionAndDoWhile_Reported() => Verify<NonVolatileFlagPollAnalyzer>.AnalyzerAsync("""
        class Scanner
        {
            private bool _cancelled;
            private int _state;
            public void Cancel() { _cancelled = true; }
            public void Advance() { _state = 2; }
            public int Sum(int[] data)
            {
                var sum = 0;
                for (var i = 0; i < data.Length && ![|_cancelled|]; i++)
                    sum += data[i];
                return sum;
            }
            public void AwaitState()
            {
                var spins = 0;
                do { spins++; } while ([|_state|] != 2);
            }
        }
        """);

    [Fact]
    public Task PartialClassWriterInAnotherFile_Reported()
    {
        var test = Verify<NonVolatileFlagPollAnalyzer>.Test("""
            partial class Pump
            {
                private bool _running = true;
                public void Spin() { while ([|_running|]) { } }
            }
            """);
        test.Sources.Add("""
            partial class Pump
            {
                public void Halt() { _running = false; }
            }
            """);
        return test.RunAsync();
    }

    [Fact]
    public Task NestedTypePollsOuterStaticField_SetByPropertySetter()
    {
        var test = Verify<NonVolatileFlagPollAnalyzer>.Test("""
            class Outer
            {
                private static object s_result;
                public static object Result { get => s_result; set => s_result = value; }
                public class Waiter
                {
                    public object Take()
                    {
                        while ({|#0:s_result|} == null) { }
                        return s_result;
                    }
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA6008", 0).WithMessage(
            "'s_result' is polled by this loop and set in the set accessor of Result, but it is not volatile and not read with Volatile.Read: nothing in the loop is an acquire or a fence, so the .NET memory model lets the JIT read it once before the loop, and the loop may never see the write"));
        return test.RunAsync();
    }

    [Fact]
    public Task SetWithInterlockedElsewhere_PlainReadStillReported() => Verify<NonVolatileFlagPollAnalyzer>.AnalyzerAsync("""
        using System.Threading;
        class Latch
        {
            private int _open;
            public void Open() => Interlocked.Exchange(ref _open, 1);
            public void Wait() { while ([|_open|] == 0) { } }
        }
        """);

    [Fact]
    public Task EnumStateSetFromATimerCallbackInTheConstructor_Reported() => Verify<NonVolatileFlagPollAnalyzer>.AnalyzerAsync("""
        using System.Threading;
        enum Phase { Starting, Running }
        class Service
        {
            private Phase _phase;
            private readonly Timer _timer;
            // The constructor is single-threaded, but the callback it creates runs later on a pool thread.
            public Service() { _timer = new Timer(_ => _phase = Phase.Running, null, 10, Timeout.Infinite); }
            public void WaitUntilRunning() { while ([|_phase|] != Phase.Running) { } }
        }
        """);

    // ------------------------------------------------------------------ not reported

    [Fact]
    public Task VolatileField_NoDiagnostic() => Verify<NonVolatileFlagPollAnalyzer>.AnalyzerAsync("""
        class Worker
        {
            private volatile bool _stop;
            public void Stop() => _stop = true;
            public void Wait() { while (!_stop) { } }
        }
        """);

    [Fact]
    public Task VolatileRead_NoDiagnostic() => Verify<NonVolatileFlagPollAnalyzer>.AnalyzerAsync("""
        using System.Threading;
        class Worker
        {
            private bool _stop;
            public void Stop() => Volatile.Write(ref _stop, true);
            public void Wait() { while (!Volatile.Read(ref _stop)) { } }
        }
        """);

    // Measured on .NET 10 (docs/rules/MSA6008.md): with a call in the loop the JIT re-reads the field each time.
    [Fact]
    public Task LoopWithACall_NoDiagnostic() => Verify<NonVolatileFlagPollAnalyzer>.AnalyzerAsync("""
        using System.Threading;
        class Worker
        {
            private bool _stop;
            private int _done;
            public void Stop() => _stop = true;
            public void Run() { while (!_stop) { Work(); } }
            public void Spin() { while (!_stop) { Thread.SpinWait(20); } }
            public void Count() { while (!_stop) { _done = _done + Length; } }
            private void Work() { }
            private int Length => 1;
        }
        """);

    [Fact]
    public Task LockInTheLoop_NoDiagnostic()
    {
        // Taking a lock is an acquire: the next iteration's read cannot move above it.
        var test = Verify<NonVolatileFlagPollAnalyzer>.Test("""
            using System.Threading;
            class Worker
            {
                private readonly Lock _gate = new();
                private readonly object _other = new();
                private bool _stop;
                private int _n;
                public void Stop() { lock (_gate) _stop = true; }
                public void Wait() { while (!_stop) { lock (_gate) { _n++; } } }
                public void WaitOther() { while (!_stop) { lock (_other) { _n++; } } }
            }
            """);
        test.ReferenceSet = ReferenceSet.Net100;
        return test.RunAsync();
    }

    [Fact]
    public Task WrittenOnlyInTheConstructorOrTheLoopsOwnMethod_NoDiagnostic() => Verify<NonVolatileFlagPollAnalyzer>.AnalyzerAsync("""
        class Parser
        {
            private bool _ready;
            private bool _eof;
            private static bool s_ready;
            static Parser() { s_ready = true; }
            public Parser() { _ready = true; }
            public void Wait() { while (!_ready) { } while (!s_ready) { } }
            public int Skip(int[] data)
            {
                _eof = false;
                var i = 0;
                while (!_eof) { i++; if (i >= data.Length) break; }
                return i;
            }
        }
        """);

    [Fact]
    public Task LoopWritesTheFieldItself_NoDiagnostic() => Verify<NonVolatileFlagPollAnalyzer>.AnalyzerAsync("""
        class Stepper
        {
            private bool _done;
            private int _position;
            public void Reset() { _done = false; _position = 0; }
            public void Run(int[] data)
            {
                while (!_done) { _position++; _done = _position >= data.Length; }
            }
        }
        """);

    [Fact]
    public Task AnotherInstancesField_OrAReadThatDoesNotEndTheLoop_NoDiagnostic() => Verify<NonVolatileFlagPollAnalyzer>.AnalyzerAsync("""
        class Node
        {
            private bool _stop;
            private int _scale;
            public void Stop() => _stop = true;
            public void Rescale(int s) => _scale = s;
            public static void WaitFor(Node other) { while (!other._stop) { } }
            public int Sum(int[] data)
            {
                var sum = 0;
                for (var i = 0; i < data.Length; i++) sum += data[i] * _scale;
                return sum;
            }
        }
        """);

    // Third-party corpus, first version: 20 findings like these (SharpZipLib's BZip2 and Huffman coders, MessagePack's
    // AutomataDictionary, Newtonsoft.Json's DateTimeParser), all wrong: the loop ends through its own counter.
    [Fact]
    public Task FieldIsTheBoundOfACounterTheLoopAdvances_NoDiagnostic() => Verify<NonVolatileFlagPollAnalyzer>.AnalyzerAsync("""
        class Coder
        {
            private int _count;
            private int _pos;
            private int _end;
            private int[] _codes;
            public void Add(int c) { _codes[_count] = c; _count++; }
            public void Parse(int end) { _pos = 0; _end = end; }
            public int Sum()
            {
                var sum = 0;
                for (var i = 0; i < _count; i++) sum += _codes[i];
                while (_pos < _end && _codes[_pos] != 0) { sum += _codes[_pos]; _pos++; }
                var j = 0;
                while (true) { if (j >= _count) break; j++; }
                return sum + j;
            }
        }
        """);

    // System.Private.Xml (XmlSqlBinaryReader.CheckTextIsWS), first runtime run: the if picks the result of a loop that
    // ends either way, so the field does not decide whether it goes on.
    [Fact]
    public Task IfWhoseBothOutcomesLeaveTheLoop_NoDiagnostic() => Verify<NonVolatileFlagPollAnalyzer>.AnalyzerAsync("""
        class Reader
        {
            private bool _preserve;
            private int _pos;
            public void Scan() { _preserve = true; }
            public int Kind(byte[] data)
            {
                var i = 0;
                while (true)
                {
                    if (i < data.Length) { if (data[i] != 32) break; i++; continue; }
                    if (_preserve) return 1;
                    return 2;
                }
                while (true)
                {
                    if (_preserve) { return 3; } else { throw new System.InvalidOperationException(); }
                }
            }
        }
        """);

    [Fact]
    public Task AwaitOrYieldInTheLoop_NoDiagnostic() => Verify<NonVolatileFlagPollAnalyzer>.AnalyzerAsync("""
        using System.Collections.Generic;
        using System.Threading.Tasks;
        class Feed
        {
            private bool _closed;
            public void Close() => _closed = true;
            public IEnumerable<int> Items() { var i = 0; while (!_closed) { yield return i++; } }
            public async Task DrainAsync(Task next) { while (!_closed) { await next; } }
        }
        """);

    [Fact]
    public Task ReadonlyConstAndLocalFlags_NoDiagnostic() => Verify<NonVolatileFlagPollAnalyzer>.AnalyzerAsync("""
        class Config
        {
            private readonly bool _enabled = true;
            private const bool Debug = false;
            public int Run(int n)
            {
                var stop = false;
                var i = 0;
                while (_enabled && !Debug && !stop) { i++; stop = i > n; }
                return i;
            }
        }
        """);

    // ------------------------------------------------------------------ fix

    [Fact]
    public Task Fix_DeclaresTheFieldVolatile() => Verify<NonVolatileFlagPollAnalyzer, NonVolatileFlagPollFix>.CodeFixAsync("""
        class Worker
        {
            private bool _stop;
            public void Stop() => _stop = true;
            public void Wait() { while (![|_stop|]) { } }
        }
        """, """
        class Worker
        {
            private volatile bool _stop;
            public void Stop() => _stop = true;
            public void Wait() { while (!_stop) { } }
        }
        """);

    [Fact]
    public Task FixAll_TwoLoopsOnOneFieldAndAStaticEnumField() => Verify<NonVolatileFlagPollAnalyzer, NonVolatileFlagPollFix>.CodeFixAsync("""
        enum Phase { Starting, Running }
        class Worker
        {
            private bool _stop;
            static Phase s_phase;
            public void Stop() => _stop = true;
            public static void Start() => s_phase = Phase.Running;
            public void Wait() { while (![|_stop|]) { } }
            public int Spin() { var n = 0; while (true) { if ([|_stop|]) return n; n++; } }
            public void AwaitStart() { while ([|s_phase|] == Phase.Starting) { } }
        }
        """, """
        enum Phase { Starting, Running }
        class Worker
        {
            private volatile bool _stop;
            static volatile Phase s_phase;
            public void Stop() => _stop = true;
            public static void Start() => s_phase = Phase.Running;
            public void Wait() { while (!_stop) { } }
            public int Spin() { var n = 0; while (true) { if (_stop) return n; n++; } }
            public void AwaitStart() { while (s_phase == Phase.Starting) { } }
        }
        """);

    [Fact]
    public Task Fix_DeclarationInAnotherFileOfThePartialClass()
    {
        var test = Verify<NonVolatileFlagPollAnalyzer, NonVolatileFlagPollFix>.Test("""
            partial class Pump
            {
                public void Spin() { while ([|_running|]) { } }
            }
            """, """
            partial class Pump
            {
                public void Spin() { while (_running) { } }
            }
            """);
        test.Sources.Add("""
            partial class Pump
            {
                private bool _running = true;
                public void Halt() { _running = false; }
            }
            """);
        test.FixedSources.Add("""
            partial class Pump
            {
                private volatile bool _running = true;
                public void Halt() { _running = false; }
            }
            """);
        return test.RunAsync();
    }

    [Fact]
    public Task NoFix_WhereVolatileIsNotAllowedOrWouldChangeMore()
    {
        // long cannot be volatile (CS0677); a ref to a volatile field draws CS0420; 'volatile' on '_a, _b' would cover
        // both; a public field may be passed by ref in code the fix does not see.
        var test = new AnalyzerTest(new NonVolatileFlagPollAnalyzer()) { CodeFix = new NonVolatileFlagPollFix(), ExpectNoFix = true };
        test.Sources.Add("""
            using System.Threading;
            class Worker
            {
                private long _ticks;
                private int _open;
                private bool _a, _b;
                public bool Stopped;
                public void Set() { _ticks = 1; Interlocked.Exchange(ref _open, 1); _a = true; _b = true; Stopped = true; }
                public void Wait()
                {
                    while ([|_ticks|] == 0) { }
                    while ([|_open|] == 0) { }
                    while (![|_a|]) { }
                    while (![|Stopped|]) { }
                }
            }
            """);
        return test.RunAsync();
    }

    // ------------------------------------------------------------------ evidence

    private const string Probe = """
        using System.Runtime.CompilerServices;
        using System.Threading;
        class Worker
        {
            private bool _stop;
            public void Stop() => _stop = true;

            // AggressiveOptimization compiles the method with the optimizing JIT on its first call: the same code the
            // tiered JIT installs once the loop has run a few thousand times (OSR), without waiting for it.
            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            public long Spin(ManualResetEventSlim started)
            {
                started.Set();
                long n = 0;
                while (!_stop) { n++; }
                return n;
            }
        }
        static class Program
        {
            // Each round: the spinner starts, the main thread lets it reach the loop, sets the flag and gives the loop 2 s
            // to end. Rounds go on until one loop does not end (at most 5).
            public static string Run()
            {
                for (var round = 0; round < 5; round++)
                {
                    var worker = new Worker();
                    using var started = new ManualResetEventSlim();
                    var spinner = new Thread(() => worker.Spin(started)) { IsBackground = true };
                    spinner.Start();
                    started.Wait();
                    Thread.Sleep(100);
                    worker.Stop();
                    if (!spinner.Join(2000))
                        return "stuck";
                }
                return "ended";
            }
        }
        """;

    [Fact]
    public void Behaviour_PlainFlagLoopNeverSeesTheWrite_VolatileOneEnds()
    {
        // .NET 10 x64, Release: the JIT keeps '_stop' in a register for the whole loop; with 'volatile' it reads it
        // every iteration. Own process: the stuck thread spins until the process exits, and a race must not share a host.
        Assert.Equal("stuck", Behaviour.RunInOwnProcess(Probe));
        Assert.Equal("ended", Behaviour.RunInOwnProcess(Probe.Replace("private bool _stop;", "private volatile bool _stop;")));
    }

    [Fact]
    public void Il_PlainReadHasNoVolatilePrefix_TheFixAddsIt()
    {
        static bool VolatileLoad(IlAssembly assembly)
        {
            var spin = assembly.Method("Worker", "Spin").Instructions;
            var load = spin.Single(i => i.OpCode == ILOpCode.Ldfld && i.Token!.Contains("_stop", System.StringComparison.Ordinal));
            return spin.Any(i => i.OpCode == ILOpCode.Volatile && i.Offset + i.Size == load.Offset);
        }

        Assert.False(VolatileLoad(IlInspection.Compile(Probe)));
        Assert.True(VolatileLoad(IlInspection.Compile(Probe.Replace("private bool _stop;", "private volatile bool _stop;"))));
    }

    // ------------------------------------------------------------------ test matrix (issue 12): RWLS, SemaphoreSlim, events, nested types

    private const string WorkerStoppedUnderAWriteLockOrASemaphore = """
        using System.Threading;
        using System.Threading.Tasks;
        class Worker
        {
            private readonly ReaderWriterLockSlim _rw = new();
            private readonly SemaphoreSlim _io = new(1, 1);
            private bool _stop;
            public void Stop() { _rw.EnterWriteLock(); try { _stop = true; } finally { _rw.ExitWriteLock(); } }
            public async Task StopAsync()
            {
                await _io.WaitAsync();
                try { await Task.Yield(); _stop = true; } finally { _io.Release(); }
            }
            LOOPS
        }
        """;

    /// <summary>The writers set the flag under a write lock or after awaiting a semaphore, but the loop reads it without
    /// either: nothing in the loop is an acquire, so the JIT may still hoist the read.</summary>
    [Fact]
    public Task FlagSetUnderAWriteLockOrASemaphoreAcrossAwait_PolledWithoutOne_Reported() => Verify<NonVolatileFlagPollAnalyzer>.AnalyzerAsync(
        WorkerStoppedUnderAWriteLockOrASemaphore.Replace("LOOPS", "public void Wait() { while (![|_stop|]) { } }"));

    /// <summary>Loops that take the read lock or await the semaphore in each iteration: an acquire (a call, an await)
    /// every time round, so the read is not hoisted.</summary>
    [Fact]
    public Task LoopTakesAReadLockOrAwaitsASemaphore_NoDiagnostic() => Verify<NonVolatileFlagPollAnalyzer>.AnalyzerAsync(
        WorkerStoppedUnderAWriteLockOrASemaphore.Replace("LOOPS", """
            public void Wait() { while (!_stop) { _rw.EnterReadLock(); _rw.ExitReadLock(); } }
            public async Task WaitAsync() { while (!_stop) { await _io.WaitAsync(); _io.Release(); } }
            """));

    /// <summary>The flag set by an event handler (a lambda subscribed to another object's event) and by an event accessor,
    /// polled in a nested type's loop and in the type's own.</summary>
    [Fact]
    public Task FlagSetByAnEventHandlerOrAccessor_Reported() => Verify<NonVolatileFlagPollAnalyzer>.AnalyzerAsync("""
        using System;
        class Download
        {
            private static bool s_cancelled;
            private bool _done;
            public event Action Cancelled { add { s_cancelled = true; } remove { } }
            public void Watch(IProgress<int> progress, Source source) { source.Completed += () => _done = true; }
            public void Wait() { while (![|_done|]) { } }
            public sealed class Waiter
            {
                public void Wait() { while (![|s_cancelled|]) { } }
            }
        }
        class Source { public event Action Completed; public void Done() => Completed?.Invoke(); }
        """);

    /// <summary>A loop that raises an event each time round: the call may hide a fence or a write of the flag.</summary>
    [Fact]
    public Task LoopRaisesAnEvent_NoDiagnostic() => Verify<NonVolatileFlagPollAnalyzer>.AnalyzerAsync("""
        using System;
        class Pump
        {
            private bool _stop;
            public event Action Tick;
            public void Stop() => _stop = true;
            public void Run() { while (!_stop) { Tick?.Invoke(); } }
        }
        """);

    /// <summary>The flag declared volatile in one file of a partial class, polled and set in the other.</summary>
    [Fact]
    public Task PartialClassVolatileFlagDeclaredInAnotherFile_NoDiagnostic()
    {
        var test = Verify<NonVolatileFlagPollAnalyzer>.Test("""
            partial class Pump
            {
                private volatile bool _running = true;
            }
            """);
        test.Sources.Add("""
            partial class Pump
            {
                public void Spin() { while (_running) { } }
                public void Halt() { _running = false; }
            }
            """);
        return test.RunAsync();
    }
}
