using System.Linq;
using System.Reflection.Metadata;
using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.Closures;
using MemSafety.Analyzers.Tests.Verification;
using MemSafety.CodeFixes.Closures;
using Microsoft.CodeAnalysis.CSharp;

namespace MemSafety.Analyzers.Tests.Closures;

/// <summary>MSA3001: a capturing lambda passed where the method has a state-passing form.</summary>
public sealed class StatePassingOverloadTests
{
    private const string Usings = "using System;\nusing System.Collections.Concurrent;\nusing System.Collections.Immutable;\nusing System.Linq;\nusing System.Threading;\nusing System.Threading.Tasks;\n";

    /// <summary>Most tests are about which calls have a state-passing form and what the fix writes, in ordinary methods
    /// outside loops, which the default scope (hot paths and loops) does not reach: they widen it to everywhere.
    /// DefaultScope_* check the default.</summary>
    private static readonly VerifyWithOptions<StatePassingOverloadAnalyzer, StatePassingOverloadFix> VerifyCS = new(("memsafety.MSA3001.scope", "everywhere"));

    private static Task Analyze(string source, LanguageVersion languageVersion = LanguageVersion.Latest)
    {
        var test = VerifyCS.AnalyzerTest(Usings + source);
        test.LanguageVersion = languageVersion;
        return test.RunAsync();
    }

    private static AnalyzerTest Fix(string source, string fixedSource, LanguageVersion languageVersion = LanguageVersion.Latest)
    {
        var test = VerifyCS.Test(Usings + source, Usings + fixedSource);
        test.LanguageVersion = languageVersion;
        return test;
    }

    // ------------------------------------------------------------------ reported

    [Fact]
    public Task GetOrAdd_CapturedParameter()
        => Analyze("""
            public class Cache
            {
                private readonly ConcurrentDictionary<string, int> _map = new();
                public int Get(string key, int offset) => _map.GetOrAdd(key, [|k =>|] k.Length + offset);
            }
            """);

    [Fact]
    public Task Message_NamesCapturesOverloadAndDeclarations()
    {
        var test = VerifyCS.AnalyzerTest(Usings + """
            public class Cache
            {
                private readonly ConcurrentDictionary<string, int> _map = new();
                private int _bias;
                public int Get(string key, int {|#1:offset|}) => _map.GetOrAdd(key, {|#0:k =>|} k.Length + offset + _bias);
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA3001", 0).WithAdditionalLocation(1).WithMessage(
            "Lambda passed to 'ConcurrentDictionary.GetOrAdd' captures 'offset' and 'this', so they live in a display class allocated at method entry (line 11), on every call, and each evaluation of the lambda creates a new delegate; " +
            "pass them as state to a static lambda through the overload 'GetOrAdd<TArg>(TKey, Func<TKey, TArg, TValue>, TArg)'"));
        return test.RunAsync();
    }

    [Fact]
    public Task Message_ThisOnly_NoDisplayClass()
    {
        var test = VerifyCS.AnalyzerTest(Usings + """
            public class Watcher
            {
                private int _count;
                public void Watch(CancellationToken token) => token.Register({|#0:() =>|} _count++);
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA3001", 0).WithMessage(
            "Lambda passed to 'CancellationToken.Register' captures 'this', so each evaluation of the lambda creates a new delegate; " +
            "pass it as state to a static lambda through the overload 'Register(Action<object?>, object?)'"));
        return test.RunAsync();
    }

    [Fact]
    public Task AddOrUpdate_TwoLambdas_ReportedOnce()
        => Analyze("""
            public static class Counter
            {
                public static int Add(ConcurrentDictionary<string, int> map, string key, int step)
                    => map.AddOrUpdate(key, [|_ =>|] step, (_, old) => old + step);
            }
            """);

    [Fact]
    public Task AddOrUpdate_OnlyTheUpdateCaptures_ReportedThere()
        => Analyze("""
            public static class Counter
            {
                public static int Add(ConcurrentDictionary<string, int> map, string key, int step)
                    => map.AddOrUpdate(key, _ => 1, [|(_, old) =>|] old + step);
            }
            """);

    [Fact]
    public Task ImmutableInterlockedGetOrAdd()
        => Analyze("""
            public class Registry
            {
                private ImmutableDictionary<int, string> _names = ImmutableDictionary<int, string>.Empty;
                public string Name(int id, string prefix) => ImmutableInterlocked.GetOrAdd(ref _names, id, [|i =>|] prefix + i);
            }
            """);

    [Fact]
    public Task CancellationTokenRegister_OneReference()
        => Analyze("""
            public static class Waits
            {
                public static Task<int> Wait(CancellationToken token)
                {
                    var source = new TaskCompletionSource<int>();
                    token.Register([|() =>|] source.TrySetCanceled());
                    return source.Task;
                }
            }
            """);

    [Fact]
    public Task ContinueWith_CapturesThis()
        => Analyze("""
            public class Logger
            {
                private int _failures;
                public Task Watch(Task task) => task.ContinueWith([|t =>|] { if (t.IsFaulted) _failures++; });
            }
            """);

    [Fact]
    public Task StringCreate_UnusedState()
        => Analyze("""
            public static class Text
            {
                public static string Repeat(char c, int count) => string.Create(count, 0, [|(span, _) =>|] span.Fill(c));
            }
            """);

    [Fact]
    public Task StringCreate_UsedStatePlusCapture()
        => Analyze("""
            public static class Text
            {
                public static string Pad(string s, char c, int width) => string.Create(width, s, [|(span, value) =>|] { span.Fill(c); value.AsSpan().CopyTo(span); });
            }
            """);

    [Fact]
    public Task Timer_NullState()
        => Analyze("""
            public sealed class Poller
            {
                public static Timer Start(Action work) => new Timer([|_ =>|] work(), null, 1000, 1000);
            }
            """);

    [Fact]
    public Task ThreadPoolQueueUserWorkItem()
        => Analyze("""
            public static class Work
            {
                public static void Run(int[] items, int factor) => ThreadPool.QueueUserWorkItem([|_ =>|] { for (var i = 0; i < items.Length; i++) items[i] *= factor; });
            }
            """);

    [Fact]
    public Task ImmutableInterlockedUpdate_ExecutionContextRun_QueueUserWorkItemWithState()
        => Analyze("""
            public class Registry
            {
                private ImmutableList<string> _names = ImmutableList<string>.Empty;
                public void Add(string name) => ImmutableInterlocked.Update(ref _names, [|list =>|] list.Add(name));
                public static void Run(ExecutionContext context, Action work) => ExecutionContext.Run(context, [|_ =>|] work(), null);
                public static void Queue(Action work) => ThreadPool.QueueUserWorkItem([|_ =>|] work(), null);
            }
            """);

    [Fact]
    public Task SourceSiblingOverload()
        => Analyze("""
            public static class Scheduler
            {
                public static void Post(Action action) => action();
                public static void Post<TState>(Action<TState> action, TState state) => action(state);
                public static void Use(string name) => Post([|() =>|] Console.WriteLine(name));
            }
            """);

    [Fact]
    public Task NestedLambda_InnerCapturesOuterParameter()
        => Analyze("""
            public static class Names
            {
                public static string[] All(ConcurrentDictionary<int, string> map, int[] ids, string prefix)
                    => ids.Select(id => map.GetOrAdd(id, [|i =>|] prefix + i)).ToArray();
            }
            """);

    [Fact]
    public Task LambdaInLocalFunction()
        => Analyze("""
            public static class Names
            {
                public static string Get(ConcurrentDictionary<int, string> map, int id)
                {
                    return Lookup("n");
                    string Lookup(string prefix) => map.GetOrAdd(id, [|i =>|] prefix + i);
                }
            }
            """);

    [Fact]
    public Task AsyncLambda()
        => Analyze("""
            public static class Jobs
            {
                public static Task Start(TaskFactory factory, Func<Task> step) => factory.StartNew([|async () =>|] await step()).Unwrap();
            }
            """);

    [Fact]
    public Task ForeachVariable_DisplayClassPerIteration()
    {
        var test = VerifyCS.AnalyzerTest(Usings + """
            public static class Names
            {
                public static void Warm(ConcurrentDictionary<string, int> map, string[] keys, int seed)
                {
                    foreach (var {|#1:key|} in keys)
                    {
                        map.GetOrAdd(key + "!", {|#0:k =>|} k.Length + key.Length);
                    }
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA3001", 0).WithAdditionalLocation(1).WithMessage(
            "Lambda passed to 'ConcurrentDictionary.GetOrAdd' captures 'key', so it lives in a display class allocated at the start of the loop body (line 12), on every iteration, and each evaluation of the lambda creates a new delegate; " +
            "pass it as state to a static lambda through the overload 'GetOrAdd<TArg>(TKey, Func<TKey, TArg, TValue>, TArg)'"));
        return test.RunAsync();
    }

    [Fact]
    public Task LinqQuerySyntax()
        => Analyze("""
            public static class Names
            {
                public static int[] Lengths(ConcurrentDictionary<string, int> map, string[] keys, int bias)
                    => (from key in keys select map.GetOrAdd(key, [|k =>|] k.Length + bias)).ToArray();
            }
            """);

    // ------------------------------------------------------------------ default scope: hot paths and loops

    /// <summary>The same call in three places: an ordinary method, a loop of an ordinary method, a method marked hot.
    /// COLD, LOOP and HOT stand for the lambda's head, marked where a diagnostic is expected.</summary>
    private static AnalyzerTest ScopeTest(bool cold, bool loop, bool hot)
    {
        static string Head(bool reported) => reported ? "[|k =>|]" : "k =>";
        var source = """
            sealed class HotPathAttribute : Attribute { }
            public class Cache
            {
                private readonly ConcurrentDictionary<string, int> _map = new();
                public int Cold(string key, int offset) => _map.GetOrAdd(key, COLD k.Length + offset);
                public int Loop(string[] keys, int offset)
                {
                    var total = 0;
                    foreach (var key in keys)
                        total += _map.GetOrAdd(key, LOOP k.Length + offset);
                    return total;
                }
                [HotPath] public int Hot(string key, int offset) => _map.GetOrAdd(key, HOT k.Length + offset);
            }
            """.Replace("COLD", Head(cold)).Replace("LOOP", Head(loop)).Replace("HOT", Head(hot));
        return Verify<StatePassingOverloadAnalyzer>.Test(Usings + source);
    }

    [Fact]
    public Task DefaultScope_ColdMethod_NoDiagnostic_LoopAndHotPath_Reported()
        => ScopeTest(cold: false, loop: true, hot: true).RunAsync();

    [Fact]
    public Task ScopeEverywhere_ColdMethodReportedToo()
    {
        var test = ScopeTest(cold: true, loop: true, hot: true);
        test.AnalyzerOptions["memsafety.MSA3001.scope"] = "everywhere";
        return test.RunAsync();
    }

    [Fact]
    public Task StrictScope_ColdMethodReportedToo()
    {
        // The Strict preset widens every census-style rule with the family-wide key.
        var test = ScopeTest(cold: true, loop: true, hot: true);
        test.AnalyzerOptions["memsafety.scope"] = "everywhere";
        return test.RunAsync();
    }

    [Fact]
    public Task ScopeHotPaths_OnlyTheHotPath()
    {
        var test = ScopeTest(cold: false, loop: false, hot: true);
        test.AnalyzerOptions["memsafety.MSA3001.scope"] = "hot_paths";
        return test.RunAsync();
    }

    // ------------------------------------------------------------------ fix

    [Fact]
    public Task Fix_OneCapture_PassedUnderItsOwnName()
        => Fix("""
            public class Cache
            {
                private readonly ConcurrentDictionary<string, int> _map = new();
                public int Get(string key, int offset) => _map.GetOrAdd(key, [|k =>|] k.Length + offset);
            }
            """, """
            public class Cache
            {
                private readonly ConcurrentDictionary<string, int> _map = new();
                public int Get(string key, int offset) => _map.GetOrAdd(key, static (k, offset) => k.Length + offset, offset);
            }
            """).RunAsync();

    [Fact]
    public Task Fix_CaptureAndThis_TupleDeconstructed()
        => Fix("""
            public class Cache
            {
                private readonly ConcurrentDictionary<string, int> _map = new();
                private int _bias;
                private int Scale(int n) => n * 2;
                public int Get(string key, int offset) => _map.GetOrAdd(key, [|k =>|] Scale(k.Length) + offset + this._bias);
            }
            """, """
            public class Cache
            {
                private readonly ConcurrentDictionary<string, int> _map = new();
                private int _bias;
                private int Scale(int n) => n * 2;
                public int Get(string key, int offset) => _map.GetOrAdd(key, static (k, state) =>
                {
                    var (offset, self) = state;
                    return self.Scale(k.Length) + offset + self._bias;
                }, (offset, this));
            }
            """).RunAsync();

    [Fact]
    public Task Fix_ThisOnly_ObjectStateCastBack()
        => Fix("""
            public class Watcher
            {
                private int _count;
                public void Watch(CancellationToken token) => token.Register([|() =>|] _count++);
            }
            """, """
            public class Watcher
            {
                private int _count;
                public void Watch(CancellationToken token) => token.Register(static state =>
                {
                    var self = (Watcher)state!;
                    self._count++;
                }, this);
            }
            """).RunAsync();

    [Fact]
    public Task Fix_AddOrUpdate_BothLambdasTakeTheState()
        => Fix("""
            public static class Counter
            {
                public static int Add(ConcurrentDictionary<string, int> map, string key, int step)
                    => map.AddOrUpdate(key, [|_ =>|] step, (_, old) => old + step);
            }
            """, """
            public static class Counter
            {
                public static int Add(ConcurrentDictionary<string, int> map, string key, int step)
                    => map.AddOrUpdate(key, static (_, step) => step, static (_, old, step) => old + step, step);
            }
            """).RunAsync();

    [Fact]
    public Task Fix_StringCreate_UnusedStateReplaced()
        => Fix("""
            public static class Text
            {
                public static string Repeat(char c, int count) => string.Create(count, 0, [|(span, _) =>|] span.Fill(c));
            }
            """, """
            public static class Text
            {
                public static string Repeat(char c, int count) => string.Create(count, c, static (span, c) => span.Fill(c));
            }
            """).RunAsync();

    [Fact]
    public Task Fix_StringCreate_UsedStateJoinsTheTuple()
        => Fix("""
            public static class Text
            {
                public static string Pad(string s, char c, int width) => string.Create(width, s, [|(span, value) =>|]
                {
                    span.Fill(c);
                    value.AsSpan().CopyTo(span);
                });
            }
            """, """
            public static class Text
            {
                public static string Pad(string s, char c, int width) => string.Create(width, (s, c), static (span, state) =>
                {
                    var (value, c) = state;
                    span.Fill(c);
                    value.AsSpan().CopyTo(span);
                });
            }
            """).RunAsync();

    [Fact]
    public Task Fix_Timer_NullStateReplacedByTheReference()
        => Fix("""
            public sealed class Poller
            {
                public static Timer Start(Action work) => new Timer([|_ =>|] work(), null, 1000, 1000);
            }
            """, """
            public sealed class Poller
            {
                public static Timer Start(Action work) => new Timer(static state =>
                {
                    var work = (Action)state!;
                    work();
                }, work, 1000, 1000);
            }
            """).RunAsync();

    [Fact]
    public Task Fix_ThreadPool_GenericOverloadOnTheGlobalQueue()
        => Fix("""
            public static class Work
            {
                public static void Run(int[] items, int factor) => ThreadPool.QueueUserWorkItem([|_ =>|] { for (var i = 0; i < items.Length; i++) items[i] *= factor; });
            }
            """, """
            public static class Work
            {
                public static void Run(int[] items, int factor) => ThreadPool.QueueUserWorkItem(static state => { var (items, factor) = state; for (var i = 0; i < items.Length; i++) items[i] *= factor; }, (items, factor), preferLocal: false);
            }
            """).RunAsync();

    [Fact]
    public Task Fix_ImmutableInterlocked_StateAfterTheFactory()
        => Fix("""
            public class Registry
            {
                private ImmutableDictionary<int, string> _names = ImmutableDictionary<int, string>.Empty;
                public string Name(int id, string prefix) => ImmutableInterlocked.GetOrAdd(ref _names, id, [|i =>|] prefix + i);
            }
            """, """
            public class Registry
            {
                private ImmutableDictionary<int, string> _names = ImmutableDictionary<int, string>.Empty;
                public string Name(int id, string prefix) => ImmutableInterlocked.GetOrAdd(ref _names, id, static (i, prefix) => prefix + i, prefix);
            }
            """).RunAsync();

    [Fact]
    public Task Fix_SourceSiblingOverload_AndExtensionMethodForm()
        => Fix("""
            public static class Scheduler
            {
                public static void Post(this SynchronizationContext context, Action action) => action();
                public static void Post<TState>(this SynchronizationContext context, Action<TState> action, TState state) => action(state);
                public static void Use(SynchronizationContext context, string name) => context.Post([|() =>|] Console.WriteLine(name));
            }
            """, """
            public static class Scheduler
            {
                public static void Post(this SynchronizationContext context, Action action) => action();
                public static void Post<TState>(this SynchronizationContext context, Action<TState> action, TState state) => action(state);
                public static void Use(SynchronizationContext context, string name) => context.Post(static name => Console.WriteLine(name), name);
            }
            """).RunAsync();

    [Fact]
    public Task Fix_ExplicitParameterTypesAndAnonymousMethod()
        => Fix("""
            public static class Cache
            {
                public static int Get(ConcurrentDictionary<string, int> map, string key, int? offset)
                    => map.GetOrAdd(key, [|(string k) =>|] k.Length + offset ?? 0) + map.GetOrAdd(key + "!", [|delegate (string k)|] { return k.Length + offset ?? 1; });
            }
            """, """
            public static class Cache
            {
                public static int Get(ConcurrentDictionary<string, int> map, string key, int? offset)
                    => map.GetOrAdd(key, static (string k, int? offset) => k.Length + offset ?? 0, offset) + map.GetOrAdd(key + "!", static delegate (string k, int? offset) { return k.Length + offset ?? 1; }, offset);
            }
            """).RunAsync();

    [Fact]
    public Task Fix_ExplicitParameterTypes_ObjectStateIsNullable()
        => Fix("""
            public class Logger
            {
                public async Task Watch(Task task, Action<Exception> log) => await task.ContinueWith([|(Task t) =>|] log(t.Exception!));
            }
            """, """
            public class Logger
            {
                public async Task Watch(Task task, Action<Exception> log) => await task.ContinueWith(static (Task t, object? state) =>
                {
                    var log = (Action<Exception>)state!;
                    log(t.Exception!);
                }, log);
            }
            """).RunAsync();

    [Fact]
    public Task Fix_NamedArguments_StateNamedToo()
        => Fix("""
            public static class Cache
            {
                public static int Get(ConcurrentDictionary<string, int> map, string key, int offset)
                    => map.GetOrAdd(key, valueFactory: [|k =>|] k.Length + offset);
            }
            """, """
            public static class Cache
            {
                public static int Get(ConcurrentDictionary<string, int> map, string key, int offset)
                    => map.GetOrAdd(key, valueFactory: static (k, offset) => k.Length + offset, factoryArgument: offset);
            }
            """).RunAsync();

    [Fact]
    public Task Fix_KeywordNameAndBlockBody()
        => Fix("""
            public static class Cache
            {
                public static int Get(ConcurrentDictionary<string, int> map, string key, string @event, int limit)
                {
                    return map.GetOrAdd(key, [|k =>|]
                    {
                        var n = k.Length + @event.Length;
                        return n > limit ? limit : n;
                    });
                }
            }
            """, """
            public static class Cache
            {
                public static int Get(ConcurrentDictionary<string, int> map, string key, string @event, int limit)
                {
                    return map.GetOrAdd(key, static (k, state) =>
                    {
                        var (@event, limit) = state;
                        var n = k.Length + @event.Length;
                        return n > limit ? limit : n;
                    }, (@event, limit));
                }
            }
            """).RunAsync();

    [Fact]
    public Task FixAll_EveryCallInTheDocument()
        => Fix("""
            public class Cache
            {
                private readonly ConcurrentDictionary<string, int> _map = new();
                public int Get(string key, int offset) => _map.GetOrAdd(key, [|k =>|] k.Length + offset);
                public int Other(string key, int scale) => _map.GetOrAdd(key, [|k =>|] k.Length * scale);
                public void Watch(CancellationToken token, TaskCompletionSource<int> source) => token.Register([|() =>|] source.TrySetCanceled());
            }
            """, """
            public class Cache
            {
                private readonly ConcurrentDictionary<string, int> _map = new();
                public int Get(string key, int offset) => _map.GetOrAdd(key, static (k, offset) => k.Length + offset, offset);
                public int Other(string key, int scale) => _map.GetOrAdd(key, static (k, scale) => k.Length * scale, scale);
                public void Watch(CancellationToken token, TaskCompletionSource<int> source) => token.Register(static state =>
                {
                    var source = (TaskCompletionSource<int>)state!;
                    source.TrySetCanceled();
                }, source);
            }
            """).RunAsync();

    /// <summary>The outer call's rewrite replaces the inner lambda's text too: a batch of text edits keeps only one
    /// of two overlapping edits, so Fix All applies the inner fix first and plans the outer one on the result.</summary>
    [Fact]
    public Task FixAll_NestedLambdasBothNeedingTheFix_OnePassAppliesBoth()
    {
        var test = Fix("""
            public static class Names
            {
                public static string Get(ConcurrentDictionary<string, string> outer, ConcurrentDictionary<int, string> inner, string key, int id, string prefix)
                    => outer.GetOrAdd(key, [|k =>|] inner.GetOrAdd(id, [|i =>|] prefix + i) + k);
            }
            """, """
            public static class Names
            {
                public static string Get(ConcurrentDictionary<string, string> outer, ConcurrentDictionary<int, string> inner, string key, int id, string prefix)
                    => outer.GetOrAdd(key, static (k, state) =>
                    {
                        var (inner, id, prefix) = state;
                        return inner.GetOrAdd(id, static (i, prefix) => prefix + i, prefix) + k;
                    }, (inner, id, prefix));
            }
            """);
        test.FixAllPasses = 1;
        return test.RunAsync();
    }

    [Fact]
    public Task Fix_CSharp8_NotStatic()
        => Fix("""
            public class Cache
            {
                private readonly ConcurrentDictionary<string, int> _map = new ConcurrentDictionary<string, int>();
                public int Get(string key, int offset) => _map.GetOrAdd(key, [|k =>|] k.Length + offset);
            }
            """, """
            public class Cache
            {
                private readonly ConcurrentDictionary<string, int> _map = new ConcurrentDictionary<string, int>();
                public int Get(string key, int offset) => _map.GetOrAdd(key, (k, offset) => k.Length + offset, offset);
            }
            """, LanguageVersion.CSharp8).RunAsync();

    [Fact]
    public Task CSharp73_ReportedWithoutFix()
    {
        var test = new AnalyzerTest(new StatePassingOverloadAnalyzer()) { CodeFix = new StatePassingOverloadFix(), ExpectNoFix = true, LanguageVersion = LanguageVersion.CSharp7_3, NullableContextOptions = Microsoft.CodeAnalysis.NullableContextOptions.Disable };
        test.AnalyzerOptions["memsafety.MSA3001.scope"] = "everywhere";
        test.Sources.Add(Usings + """
            public class Cache
            {
                private readonly ConcurrentDictionary<string, int> _map = new ConcurrentDictionary<string, int>();
                public int Get(string key, int offset) { return _map.GetOrAdd(key, [|k =>|] k.Length + offset); }
            }
            """);
        return test.RunAsync();
    }

    [Fact]
    public Task TaskWhoseAsyncStateMayBeRead_ReportedWithoutFix()
    {
        // ContinueWith(…, state) stores the state in the continuation's AsyncState: a returned task may be asked for it.
        var test = new AnalyzerTest(new StatePassingOverloadAnalyzer()) { CodeFix = new StatePassingOverloadFix(), ExpectNoFix = true };
        test.AnalyzerOptions["memsafety.MSA3001.scope"] = "everywhere";
        test.Sources.Add(Usings + """
            public class Logger
            {
                public Task Watch(Task task, Action<Exception> log) => task.ContinueWith([|t =>|] log(t.Exception!));
            }
            """);
        return test.RunAsync();
    }

    [Fact]
    public Task Fix_TaskAwaited_AsyncStateNeverSeen()
        => Fix("""
            public class Logger
            {
                public async Task Watch(Task task, Action<Exception> log) => await task.ContinueWith([|t =>|] log(t.Exception!)).ConfigureAwait(false);
            }
            """, """
            public class Logger
            {
                public async Task Watch(Task task, Action<Exception> log) => await task.ContinueWith(static (t, state) =>
                {
                    var log = (Action<Exception>)state!;
                    log(t.Exception!);
                }, log).ConfigureAwait(false);
            }
            """).RunAsync();

    // ------------------------------------------------------------------ evidence: behaviour, IL, allocations

    /// <summary>Every shape of the fix in one program: one capture, a tuple with 'this', object state, string.Create
    /// with its own state kept, the thread pool's generic overload, two lambdas of AddOrUpdate.</summary>
    private const string Program = """
        public class Program
        {
            private readonly ConcurrentDictionary<string, int> _map = new();
            private int _bias = 100;
            public int Get(string key, int offset) => _map.GetOrAdd(key, [|k =>|] k.Length + offset);
            public int GetBiased(string key, int offset) => _map.GetOrAdd(key + "?", [|k =>|] k.Length + offset + _bias);
            public static int Add(ConcurrentDictionary<string, int> map, string key, int step) => map.AddOrUpdate(key, [|_ =>|] step, (_, old) => old + step);
            public static string Pad(string s, char c, int width) => string.Create(width, s, [|(span, value) =>|]
            {
                span.Fill(c);
                value.AsSpan().CopyTo(span);
            });
            public static void Watch(CancellationToken token, TaskCompletionSource<int> source) => token.Register([|() =>|] source.TrySetResult(42));
            public static void Queue(int[] items, int factor, ManualResetEventSlim done) => ThreadPool.QueueUserWorkItem([|_ =>|] { for (var i = 0; i < items.Length; i++) items[i] *= factor; done.Set(); });

            public static string Run()
            {
                var p = new Program();
                var a = p.Get("abc", 1) + "," + p.Get("abc", 50) + "," + p.GetBiased("abc", 2);
                var map = new ConcurrentDictionary<string, int>();
                var b = Add(map, "x", 5) + "," + Add(map, "x", 7);
                var c = Pad("ab", '.', 5);
                var cts = new CancellationTokenSource();
                var source = new TaskCompletionSource<int>();
                Watch(cts.Token, source);
                cts.Cancel();
                var items = new[] { 1, 2, 3 };
                using var done = new ManualResetEventSlim();
                Queue(items, 10, done);
                done.Wait(10_000);
                return a + ";" + b + ";" + c + ";" + source.Task.Result + ";" + string.Join("|", items);
            }

            [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
            public static void Lookup() => Shared.Get("key", 3);

            private static readonly Program Shared = new();
        }
        """;

    private const string FixedProgram = """
        public class Program
        {
            private readonly ConcurrentDictionary<string, int> _map = new();
            private int _bias = 100;
            public int Get(string key, int offset) => _map.GetOrAdd(key, static (k, offset) => k.Length + offset, offset);
            public int GetBiased(string key, int offset) => _map.GetOrAdd(key + "?", static (k, state) =>
            {
                var (offset, self) = state;
                return k.Length + offset + self._bias;
            }, (offset, this));
            public static int Add(ConcurrentDictionary<string, int> map, string key, int step) => map.AddOrUpdate(key, static (_, step) => step, static (_, old, step) => old + step, step);
            public static string Pad(string s, char c, int width) => string.Create(width, (s, c), static (span, state) =>
            {
                var (value, c) = state;
                span.Fill(c);
                value.AsSpan().CopyTo(span);
            });
            public static void Watch(CancellationToken token, TaskCompletionSource<int> source) => token.Register(static state =>
            {
                var source = (TaskCompletionSource<int>)state!;
                source.TrySetResult(42);
            }, source);
            public static void Queue(int[] items, int factor, ManualResetEventSlim done) => ThreadPool.QueueUserWorkItem(static state => { var (items, factor, done) = state; for (var i = 0; i < items.Length; i++) items[i] *= factor; done.Set(); }, (items, factor, done), preferLocal: false);

            public static string Run()
            {
                var p = new Program();
                var a = p.Get("abc", 1) + "," + p.Get("abc", 50) + "," + p.GetBiased("abc", 2);
                var map = new ConcurrentDictionary<string, int>();
                var b = Add(map, "x", 5) + "," + Add(map, "x", 7);
                var c = Pad("ab", '.', 5);
                var cts = new CancellationTokenSource();
                var source = new TaskCompletionSource<int>();
                Watch(cts.Token, source);
                cts.Cancel();
                var items = new[] { 1, 2, 3 };
                using var done = new ManualResetEventSlim();
                Queue(items, 10, done);
                done.Wait(10_000);
                return a + ";" + b + ";" + c + ";" + source.Task.Result + ";" + string.Join("|", items);
            }

            [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
            public static void Lookup() => Shared.Get("key", 3);

            private static readonly Program Shared = new();
        }
        """;

    [Fact]
    public Task Program_FixAllGivesTheFixedProgram() => Fix(Program, FixedProgram).RunAsync();

    [Fact]
    public void Fix_KeepsBehaviour()
    {
        var before = Behaviour.Run(Usings + Program);
        // GetOrAdd keeps the first value; AddOrUpdate adds then updates; the token's callback and the work item run.
        Assert.Equal("4,4,106;5,12;ab...;42;10|20|30", before);
        Assert.Equal(before, Behaviour.Run(Usings + FixedProgram));
    }

    /// <summary>The original allocates a display class in every method whose parameters a lambda captures, and a
    /// delegate that is created each time; the fixed code allocates no display class, and each delegate is created once
    /// and stored in the compiler's cache field (<c>newobj</c> followed by <c>dup; stsfld &lt;&gt;9__…</c>).</summary>
    [Fact]
    public void Fix_RemovesDisplayClassesAndUncachedDelegates()
    {
        var before = IlInspection.Compile(Usings + Program);
        var after = IlInspection.Compile(Usings + FixedProgram);
        foreach (var method in new[] { "Get", "GetBiased", "Add", "Pad", "Watch", "Queue" })
        {
            var original = before.Method("Program", method);
            var fixedMethod = after.Method("Program", method);
            Assert.True(DelegateCreations(original, cached: false) > 0, original.Dump());
            Assert.Equal(0, DelegateCreations(fixedMethod, cached: false));
            Assert.Equal(0, DisplayClassCreations(fixedMethod));
            if (method != "GetBiased")
                Assert.True(DisplayClassCreations(original) == 1, original.Dump());
        }

        // GetBiased captures 'this' and a parameter: one display class holding both.
        Assert.Equal(1, DisplayClassCreations(before.Method("Program", "GetBiased")));
        Assert.Empty(after.Methods.Where(m => m.Type.Contains("DisplayClass")));
    }

    [Fact]
    public void Fix_GetOrAddOfAnExistingKey_AllocatesNothing()
    {
        var before = IlInspection.Compile(Usings + Program);
        var after = IlInspection.Compile(Usings + FixedProgram);
        // .NET 10 (the test host): the display class (24 bytes) on every call. Its JIT puts the Func on the stack here,
        // since GetOrAdd is inlined and the delegate does not escape on the path that finds the key.
        Assert.Equal(24, before.AllocatedBytesPerCall("Program", "Lookup"));
        Assert.Equal(0, after.AllocatedBytesPerCall("Program", "Lookup"));
        // Without object stack allocation (what runtimes before .NET 10 do with delegates) the Func costs 64 bytes more.
        var noStackAllocation = new System.Collections.Generic.Dictionary<string, string> { ["DOTNET_JitObjectStackAllocation"] = "0" };
        Assert.Equal(88, before.AllocatedBytesPerCallInChildProcess("Program", "Lookup", noStackAllocation));
        Assert.Equal(0, after.AllocatedBytesPerCallInChildProcess("Program", "Lookup", noStackAllocation));
    }

    private static int DisplayClassCreations(IlMethod method)
        => method.Instructions.Count(i => i.OpCode == ILOpCode.Newobj && i.Token!.Contains("<>c__DisplayClass"));

    /// <summary>Delegate constructions (<c>newobj</c> of a <c>::.ctor(System.Object, System.IntPtr)</c>), counting those the
    /// compiler caches in a static field (<paramref name="cached"/>) or those created on every evaluation.</summary>
    private static int DelegateCreations(IlMethod method, bool cached)
    {
        var count = 0;
        var instructions = method.Instructions;
        for (var i = 0; i < instructions.Length; i++)
        {
            if (instructions[i].OpCode != ILOpCode.Newobj || !instructions[i].Token!.Contains("(System.Object, System.IntPtr)"))
                continue;
            var isCached = i + 2 < instructions.Length && instructions[i + 1].OpCode == ILOpCode.Dup
                           && instructions[i + 2].OpCode == ILOpCode.Stsfld && instructions[i + 2].Token!.Contains("<>9__");
            if (isCached == cached)
                count++;
        }

        return count;
    }

    // ------------------------------------------------------------------ not reported

    [Fact]
    public Task NonCapturingLambda_NoDiagnostic()
        => Analyze("""
            public static class Cache
            {
                public static int Get(ConcurrentDictionary<string, int> map, string key) => map.GetOrAdd(key, k => k.Length);
            }
            """);

    [Fact]
    public async Task ConstantLocal_NotACapture_NoDiagnostic()
    {
        const string source = """
            public static class Cache
            {
                public static int Get(ConcurrentDictionary<string, int> map, string key)
                {
                    const int Offset = 3;
                    return map.GetOrAdd(key, k => k.Length + Offset);
                }
            }
            """;
        await Analyze(source);
        // The compiler folds the constant into the lambda: no display class, one cached delegate.
        var method = IlInspection.Compile(Usings + source).Method("Cache", "Get");
        Assert.Equal(0, DisplayClassCreations(method));
        Assert.Equal(0, DelegateCreations(method, cached: false));
    }

    [Fact]
    public Task StaticLambdaAlreadyPassingState_NoDiagnostic()
        => Analyze("""
            public static class Cache
            {
                public static int Get(ConcurrentDictionary<string, int> map, string key, int offset) => map.GetOrAdd(key, static (k, o) => k.Length + o, offset);
            }
            """);

    [Fact]
    public Task MethodGroup_NoDiagnostic()
        => Analyze("""
            public class Cache
            {
                private int _offset;
                private int Compute(string k) => k.Length + _offset;
                public int Get(ConcurrentDictionary<string, int> map, string key) => map.GetOrAdd(key, Compute);
            }
            """);

    [Fact]
    public Task ExpressionTree_NoDiagnostic()
        => Analyze("""
            using System.Linq.Expressions;
            public static class Queries
            {
                public static void Where(Expression<Func<int, bool>> predicate) { }
                public static void Where<TState>(Expression<Func<int, TState, bool>> predicate, TState state) { }
                public static void Use(int limit) => Where(x => x < limit);
            }
            """);

    [Fact]
    public Task NoStateOverload_TaskRun_NoDiagnostic()
        => Analyze("""
            public static class Jobs
            {
                public static Task Start(int[] items) => Task.Run(() => Array.Sort(items));
            }
            """);

    [Fact]
    public Task LambdaWritesCapturedVariable_NoDiagnostic()
        => Analyze("""
            public static class Cache
            {
                public static int Get(ConcurrentDictionary<string, int> map, string key)
                {
                    var created = 0;
                    var value = map.GetOrAdd(key, k => { created++; return k.Length; });
                    return value + created;
                }
            }
            """);

    [Fact]
    public Task CapturedVariableWrittenAfterTheCall_NoDiagnostic()
        => Analyze("""
            public static class Waits
            {
                public static void Watch(CancellationToken token, Action<string> log)
                {
                    var state = "waiting";
                    token.Register(() => log(state));
                    state = "done";
                }
            }
            """);

    [Fact]
    public Task ForLoopVariable_SharedAcrossIterations_NoDiagnostic()
        => Analyze("""
            public static class Work
            {
                public static void Run(Action<int> body, int count)
                {
                    for (var i = 0; i < count; i++)
                        ThreadPool.QueueUserWorkItem(_ => body(i));
                }
            }
            """);

    [Fact]
    public Task ObjectStateWouldBoxAValue_NoDiagnostic()
        => Analyze("""
            public static class Waits
            {
                public static void Watch(CancellationToken token, int id) => token.Register(() => Console.WriteLine(id));
            }
            """);

    [Fact]
    public Task ObjectStateWouldNeedATuple_NoDiagnostic()
        => Analyze("""
            public static class Waits
            {
                public static void Watch(CancellationToken token, TaskCompletionSource<int> source, Exception error)
                    => token.Register(() => source.TrySetException(error));
            }
            """);

    [Fact]
    public Task CapturingLocalFunctionCalled_NoDiagnostic()
        => Analyze("""
            public static class Cache
            {
                public static int Get(ConcurrentDictionary<string, int> map, string key, int offset)
                {
                    // A static lambda cannot call a local function that captures: no rewrite exists.
                    return map.GetOrAdd(key, k => Length(k) * offset);
                    int Length(string k) => k.Length + offset;
                }
            }
            """);

    [Fact]
    public Task BaseAccess_NoDiagnostic()
        => Analyze("""
            public class Base { public virtual int Size(string k) => k.Length; }
            public class Derived : Base
            {
                public override int Size(string k) => 0;
                public int Get(ConcurrentDictionary<string, int> map, string key) => map.GetOrAdd(key, k => base.Size(k));
            }
            """);

    [Fact]
    public Task MutableStructMutatedAfterTheCall_NoDiagnostic()
        => Analyze("""
            public struct Tally { public int Count; public void Add() => Count++; }
            public static class Cache
            {
                public static int Get(ConcurrentDictionary<string, int> map, string key)
                {
                    var tally = new Tally();
                    var value = map.GetOrAdd(key, k => k.Length + tally.Count);
                    tally.Add();
                    return value + tally.Count;
                }
            }
            """);

    [Fact]
    public Task StaticInitialization_NoDiagnostic()
        => Analyze("""
            public static class Names
            {
                private static readonly ConcurrentDictionary<string, int> Map = new();
                private static readonly int Seed = 3;
                static Names() { var seed = Seed; Map.GetOrAdd("b", k => k.Length + seed); }
                // A lambda created in a static initializer runs on every call of that lambda: reported.
                private static readonly Func<int, int> Lookup = n => Map.GetOrAdd("c", [|k =>|] k.Length + n);
            }
            """);

    [Fact]
    public Task Constructor_NoDiagnosticUnlessHot()
        => Analyze("""
            public sealed class Poller
            {
                private readonly Timer _timer;
                private readonly Timer _hot;
                private void Tick() { }
                // Once per object: registration code.
                public Poller() => _timer = new Timer(_ => Tick(), null, 1000, 1000);
                [HotPath]
                public Poller(int period) => _hot = new Timer([|_ =>|] Tick(), null, period, period);
            }
            [AttributeUsage(AttributeTargets.All)] public sealed class HotPathAttribute : Attribute { }
            """);

    [Fact]
    public Task DynamicCapture_NoDiagnostic()
        => Analyze("""
            public static class Cache
            {
                // A dynamic state argument would bind the call at run time, where a lambda argument is an error.
                public static int Get(ConcurrentDictionary<string, int> map, string key, dynamic offset) => map.GetOrAdd(key, k => k.Length + (int)offset);
            }
            """);

    [Fact]
    public Task InaccessibleSibling_NoDiagnostic()
        => Analyze("""
            public class Scheduler
            {
                public void Post(Action action) => action();
                private void Post<TState>(Action<TState> action, TState state) => action(state);
            }
            public static class User
            {
                public static void Use(Scheduler scheduler, string name) => scheduler.Post(() => Console.WriteLine(name));
            }
            """);

    [Fact]
    public Task ConstrainedTypeParameter_IsAnArgumentNotState_NoDiagnostic()
        => Analyze("""
            public abstract class Binder { public abstract string Name { get; } }
            public static class Dispatch
            {
                // TBinder is constrained: the method uses the binder itself, and a tuple would not satisfy the constraint.
                public static string Call<TBinder>(TBinder binder, Func<TBinder, string> fallback) where TBinder : Binder => binder.Name + fallback(binder);
                public static void Call(Action action) => action();
                public static void Call<TState>(Action<TState> action, TState state) where TState : class => action(state);
                public static string Use(Binder binder, string suffix)
                {
                    Call(() => Console.WriteLine(suffix));
                    return Call(binder, b => b.Name + suffix);
                }
            }
            """);

    [Fact]
    public Task OwnArgumentNotNamedAsState_NoDiagnostic()
        => Analyze("""
            public static class Log
            {
                // 'value' reaches the delegate, but the method may use it itself (here: its type): not state.
                public static string Write<T>(T value, Func<T, string> format) => typeof(T).Name + ": " + format(value);
                public static string Use(int n, string unit) => Write(n, v => v + " " + unit);
            }
            """);

    [Fact]
    public Task GeneratedCode_NoDiagnostic()
        => VerifyCS.AnalyzerAsync("// <auto-generated/>\n" + Usings + """
            public static class Cache
            {
                public static int Get(ConcurrentDictionary<string, int> map, string key, int offset) => map.GetOrAdd(key, k => k.Length + offset);
            }
            """);

    [Fact]
    public Task RefLocalCannotBeCaptured_NoDiagnosticAndNoCrash()
    {
        var test = VerifyCS.AnalyzerTest(Usings + """
            public static class Cache
            {
                public static int Get(ConcurrentDictionary<string, int> map, string key, int[] values)
                {
                    ref int first = ref values[0];
                    return map.GetOrAdd(key, k => k.Length + first);
                }
            }
            """);
        test.AllowCompilerErrors = true;
        return test.RunAsync();
    }

    [Fact]
    public Task IncompleteCode_NoDiagnosticAndNoCrash()
    {
        var test = VerifyCS.AnalyzerTest(Usings + """
            public static class Cache
            {
                public static int Get(ConcurrentDictionary<string, int> map, string key, int offset) => map.GetOrAdd(key, k => k.Length + offset
            }
            """);
        test.AllowCompilerErrors = true;
        return test.RunAsync();
    }
}
