using System.Threading.Tasks;
using MemSafety.Analyzers.Tests.Verification;
using VerifyCS = MemSafety.Analyzers.Tests.Verification.Verify<MemSafety.Analyzers.Rules.Closures.ImplicitCaptureKeepsAliveAnalyzer, MemSafety.CodeFixes.Closures.ImplicitCaptureKeepsAliveFix>;

namespace MemSafety.Analyzers.Tests.Closures;

public sealed class ImplicitCaptureKeepsAliveTests
{
    private const string Helpers = """

        static class H
        {
            public static void Run(System.Action a) => a();
            public static int Call(System.Func<int> f) => f();
        }
        """;

    private static Task Fixed(string source, string fixedSource) => VerifyCS.CodeFixAsync(source + Helpers, fixedSource + Helpers);

    private static Task ReportedWithoutFix(string source) => VerifyCS.NoFixAsync(source + Helpers);

    /// <summary>Reported; the fix (checked by the tests above) is not under test here.</summary>
    private static Task Reported(string source) => Verify<MemSafety.Analyzers.Rules.Closures.ImplicitCaptureKeepsAliveAnalyzer>.AnalyzerAsync(source + Helpers);

    private static Task NoDiagnostic(string source) => Verify<MemSafety.Analyzers.Rules.Closures.ImplicitCaptureKeepsAliveAnalyzer>.AnalyzerAsync(source + Helpers);

    // ------------------------------------------------------------------ reported

    [Fact]
    public Task LambdaStoredInAField_KeepsAnArrayOnlyAnotherLambdaCaptured_GetsCopiesOfItsOwn() => Fixed(
        """
        using System;
        class C
        {
            Func<int>? _size;
            void M(int n)
            {
                var buffer = new byte[1 << 20];
                var count = H.Call(() => buffer.Length);
                _size = [|() => n + count|];
            }
        }
        """,
        """
        using System;
        class C
        {
            Func<int>? _size;
            void M(int n)
            {
                var buffer = new byte[1 << 20];
                var count = H.Call(() => buffer.Length);
                {
                    var nCopy = n;
                    var countCopy = count;
                    _size = () => nCopy + countCopy;
                }
            }
        }
        """);

    [Fact]
    public Task LambdaSubscribedToAnEvent_KeepsAStream() => Fixed(
        """
        using System;
        using System.IO;
        class Source { public event Action? Changed; }
        class C
        {
            void M(Source source, string path, int id)
            {
                using var stream = File.OpenRead(path);
                H.Run(() => stream.ReadByte());
                source.Changed += [|() => Console.WriteLine(id)|];
            }
        }
        """,
        """
        using System;
        using System.IO;
        class Source { public event Action? Changed; }
        class C
        {
            void M(Source source, string path, int id)
            {
                using var stream = File.OpenRead(path);
                H.Run(() => stream.ReadByte());
                {
                    var idCopy = id;
                    source.Changed += () => Console.WriteLine(idCopy);
                }
            }
        }
        """);

    [Fact]
    public Task LambdaReturned_KeepsAList() => Fixed(
        """
        using System;
        using System.Collections.Generic;
        class C
        {
            Func<int> M(List<string> lines, int offset)
            {
                var total = H.Call(() => lines.Count);
                return [|() => total + offset|];
            }
        }
        """,
        """
        using System;
        using System.Collections.Generic;
        class C
        {
            Func<int> M(List<string> lines, int offset)
            {
                var total = H.Call(() => lines.Count);
                {
                    var totalCopy = total;
                    var offsetCopy = offset;
                    return () => totalCopy + offsetCopy;
                }
            }
        }
        """);

    [Fact]
    public Task LocalFunctionConvertedAndStored_ReportedWithoutFix() => ReportedWithoutFix(
        """
        using System;
        class C
        {
            Action? _log;
            void M(int[] data, int id)
            {
                H.Run(() => Array.Sort(data));
                _log = [|Log|];
                void Log() => Console.WriteLine(id);
            }
        }
        """);

    [Fact]
    public Task AsyncLambdaStoredInAProperty_Reported() => Reported(
        """
        using System;
        using System.Threading.Tasks;
        class Options { public Func<Task>? OnDone { get; set; } }
        class C
        {
            void M(Options options, int[] data, int id)
            {
                H.Run(() => Array.Reverse(data));
                options.OnDone = [|async () => { await Task.Yield(); Console.WriteLine(id); }|];
            }
        }
        """);

    [Fact]
    public Task LoopBodyLocals_OneDisplayClassPerIteration_Reported() => Reported(
        """
        using System;
        using System.Collections.Generic;
        class C
        {
            Func<int>? _last;
            void M(List<int[]> chunks)
            {
                foreach (var chunk in chunks)
                {
                    var copy = chunk;
                    var length = H.Call(() => copy.Length);
                    _last = [|() => length|];
                }
            }
        }
        """);

    [Fact]
    public Task ForeachVariableAndBodyLocal_SeparateDisplayClasses_NoDiagnostic() => NoDiagnostic(
        """
        using System;
        using System.Collections.Generic;
        class C
        {
            Func<int>? _last;
            void M(List<int[]> chunks)
            {
                foreach (var chunk in chunks)
                {
                    var length = H.Call(() => chunk.Length);
                    _last = () => length;
                }
            }
        }
        """);

    [Fact]
    public Task NestedDisplayClass_KeepsTheOuterOneItPointsTo() => Reported(
        """
        using System;
        class C
        {
            Func<int>? _kept;
            void M(int[] big, bool flag)
            {
                if (flag)
                {
                    var x = 1;
                    H.Run(() => Console.WriteLine(big.Length + x));
                    _kept = [|() => x|];
                }
            }
        }
        """);

    [Fact]
    public Task Message_NamesTheSinkTheVariableAndTheOtherLambda()
    {
        var test = Verify<MemSafety.Analyzers.Rules.Closures.ImplicitCaptureKeepsAliveAnalyzer>.Test(
            """
            using System;
            class C
            {
                Func<int>? _size;
                void M(int n)
                {
                    var {|#1:buffer|} = new byte[1 << 20];
                    var count = H.Call({|#2:() => buffer.Length|});
                    {|#3:_size = {|#0:() => n + count|}|};
                }
            }
            """ + Helpers);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA3006", 0).WithMessage(
            "This lambda is stored into field '_size', and it keeps 'buffer' (byte[]) alive as long as it lives, though it does not use 'buffer': it shares with the lambda at line 8, which captures 'buffer', the display class allocated at method entry (line 6), on every call"));
        return test.RunAsync();
    }

    [Fact]
    public Task CapturedVariableReassigned_NoFix() => ReportedWithoutFix(
        """
        using System;
        class C
        {
            Func<int>? _size;
            void M(int n)
            {
                var buffer = new byte[16];
                var count = H.Call(() => buffer.Length);
                _size = [|() => n + count|];
                count++;
            }
        }
        """);

    [Fact]
    public Task CapturesThisToo_NoFix() => ReportedWithoutFix(
        """
        using System;
        class C
        {
            int _offset;
            Func<int>? _size;
            void M(int n)
            {
                var buffer = new byte[16];
                H.Run(() => Console.WriteLine(buffer.Length + _offset));
                _size = [|() => n + _offset|];
            }
        }
        """);

    /// <summary>The display class holds 'this' because the short-lived lambda reads '_offset'; the handler does not use
    /// 'this', yet keeps the disposable connection alive as long as the source it subscribed to.</summary>
    [Fact]
    public Task ThisOfADisposableType_KeptBySubscriptionToAParametersEvent_GetsCopiesOfItsOwn() => Fixed(
        """
        using System;
        class Source { public event Action? Changed; }
        class Connection : IDisposable
        {
            int _offset;
            public void Dispose() { }
            void Watch(Source source, int id)
            {
                var count = H.Call(() => id + _offset);
                source.Changed += [|() => Console.WriteLine(id + count)|];
            }
        }
        """,
        """
        using System;
        class Source { public event Action? Changed; }
        class Connection : IDisposable
        {
            int _offset;
            public void Dispose() { }
            void Watch(Source source, int id)
            {
                var count = H.Call(() => id + _offset);
                {
                    var idCopy = id;
                    var countCopy = count;
                    source.Changed += () => Console.WriteLine(idCopy + countCopy);
                }
            }
        }
        """);

    [Fact]
    public Task ThisOfACollectionType_StoredInAStaticField_Message()
    {
        var test = Verify<MemSafety.Analyzers.Rules.Closures.ImplicitCaptureKeepsAliveAnalyzer>.Test(
            """
            using System;
            using System.Collections.Generic;
            class Bag : List<int>
            {
                static Func<int>? s_last;
                void M(int n)
                {
                    var total = H.Call({|#1:() => n + Count|});
                    s_last = {|#0:() => n + total|};
                }
            }
            """ + Helpers);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA3006", 0).WithMessage(
            "This lambda is stored into static field 's_last', and it keeps 'this' (Bag) alive as long as it lives, though it does not use 'this': it shares with the lambda at line 8, which captures 'this', the display class allocated at method entry (line 7), on every call"));
        return test.RunAsync();
    }

    // ------------------------------------------------------------------ not reported

    [Fact]
    public Task TheLongLivedLambdaUsesTheLargeVariableItself_NoDiagnostic() => NoDiagnostic(
        """
        using System;
        class C
        {
            Func<int>? _size;
            void M(int n)
            {
                var buffer = new byte[16];
                H.Run(() => buffer[0] = 1);
                _size = () => n + buffer.Length;
            }
        }
        """);

    [Fact]
    public Task DelegatePassedToAMethod_NoDiagnostic() => NoDiagnostic(
        """
        using System;
        class C
        {
            void M(int n)
            {
                var buffer = new byte[16];
                H.Run(() => buffer[0] = 1);
                H.Run(() => Console.WriteLine(n));
            }
        }
        """);

    [Fact]
    public Task OnlySmallValuesShared_NoDiagnostic() => NoDiagnostic(
        """
        using System;
        class C
        {
            Func<int>? _f;
            void M(int n, string name)
            {
                H.Run(() => Console.WriteLine(name));
                _f = () => n;
            }
        }
        """);

    [Fact]
    public Task LargeVariableInItsOwnBlock_NoDiagnostic() => NoDiagnostic(
        """
        using System;
        class C
        {
            Func<int>? _f;
            void M(int n)
            {
                {
                    var buffer = new byte[16];
                    H.Run(() => buffer[0] = 1);
                }
                _f = () => n;
            }
        }
        """);

    [Fact]
    public Task LocalFunctionsCalledDirectly_NoDiagnostic() => NoDiagnostic(
        """
        using System;
        class C
        {
            int M(int n)
            {
                var buffer = new byte[16];
                return Size() + Twice();
                int Size() => buffer.Length;
                int Twice() => n * 2;
            }
        }
        """);

    [Fact]
    public Task ExpressionTree_NoDiagnostic() => NoDiagnostic(
        """
        using System;
        using System.Linq.Expressions;
        class C
        {
            Expression<Func<int>>? _e;
            void M(int n)
            {
                var buffer = new byte[16];
                H.Run(() => buffer[0] = 1);
                _e = () => n;
            }
        }
        """);

    [Fact]
    public Task StaticLambdaStored_NoDiagnostic() => NoDiagnostic(
        """
        using System;
        class C
        {
            Func<int>? _f;
            void M(int n)
            {
                var buffer = new byte[16];
                H.Run(() => buffer[0] = 1);
                _f = static () => 1;
            }
        }
        """);

    [Fact]
    public Task StoredLambdaNestedInTheCapturingOne_NoDiagnostic() => NoDiagnostic(
        """
        using System;
        class C
        {
            Func<int>? _f;
            void M(int n)
            {
                var buffer = new byte[16];
                H.Run(() => { buffer[0] = 1; _f = () => n; });
            }
        }
        """);

    [Fact]
    public Task ReturnedFromALambda_NoDiagnostic() => NoDiagnostic(
        """
        using System;
        using System.Collections.Generic;
        class C
        {
            void M(Dictionary<int, string> lookup, int id)
            {
                H.Run(() => Console.WriteLine(lookup.Count));
                Func<Func<int>> make = () => () => id;
                Console.WriteLine(make()());
            }
        }
        """);

    [Fact]
    public Task GeneratedCode_NoDiagnostic() => NoDiagnostic(
        """
        // <auto-generated/>
        using System;
        class C
        {
            Func<int>? _size;
            void M(int n)
            {
                var buffer = new byte[1 << 20];
                var count = H.Call(() => buffer.Length);
                _size = () => n + count;
            }
        }
        """);

    /// <summary>YamlDotNet's CollectionNodeDeserializer: the handler goes to an event of a promise held in a local, which
    /// is resolved (and dropped) before the caller is done with the list: the handler lives as long as the promise,
    /// not certainly longer than the method.</summary>
    [Fact]
    public Task SubscribedToAnEventOfAnObjectInALocal_NoDiagnostic() => NoDiagnostic(
        """
        using System;
        using System.Collections;
        interface IPromise { event Action<object?> ValueAvailable; }
        class C
        {
            static void Read(Func<object?> next, IList result, Action<int, object?>? handler)
            {
                for (var i = 0; i < 3; i++)
                {
                    var value = next();
                    if (value is IPromise promise)
                    {
                        var index = result.Add(null);
                        if (handler != null)
                            promise.ValueAvailable += v => handler(index, v);
                        else
                            promise.ValueAvailable += v => result[index] = v;
                    }
                }
            }
        }
        """);

    [Fact]
    public Task StoredInAPropertyOfANewObject_NoDiagnostic() => NoDiagnostic(
        """
        using System;
        class Options { public Func<int>? OnDone { get; set; } }
        class C
        {
            static int Use(Options options) => options.OnDone!();
            int M(int n)
            {
                var buffer = new byte[16];
                var count = H.Call(() => buffer.Length);
                var options = new Options();
                options.OnDone = () => n + count;
                return Use(options);
            }
        }
        """);

    [Fact]
    public Task ThisKeptByItsOwnField_NoDiagnostic() => NoDiagnostic(
        """
        using System;
        class Connection : IDisposable
        {
            int _offset;
            Func<int>? _size;
            public void Dispose() { }
            void M(int n)
            {
                var count = H.Call(() => n + _offset);
                _size = () => n + count;
            }
        }
        """);

    [Fact]
    public Task ThisOfASmallType_NoDiagnostic() => NoDiagnostic(
        """
        using System;
        class Counter
        {
            int _offset;
            static Func<int>? s_size;
            void M(int n)
            {
                var count = H.Call(() => n + _offset);
                s_size = () => n + count;
            }
        }
        """);

    [Fact]
    public Task ThisUsedByTheLongLivedLambdaItself_NoDiagnostic() => NoDiagnostic(
        """
        using System;
        using System.Collections.Generic;
        class Bag : List<int>
        {
            static Func<int>? s_last;
            void M(int n)
            {
                var total = H.Call(() => n + Count);
                s_last = () => n + total + Count;
            }
        }
        """);

    // ------------------------------------------------------------------ evidence

    /// <summary>The object really stays reachable through the stored delegate (.NET 10, the test host): after a full
    /// collection, a weak reference to the array is alive while the delegate is; with the array captured from a copy in
    /// an inner block (the docs page's advice), or with the stored lambda given copies of its own in a block (the fix),
    /// it is collected.</summary>
    [Fact]
    public void TheStoredDelegateKeepsTheArrayReachable_NeitherTheAdviceNorTheFixDoes()
    {
        const string Template = """
            using System;
            using System.Runtime.CompilerServices;
            public static class Program
            {
                static Func<int>? s_kept;
                static int Call(Func<int> f) => f();

                [MethodImpl(MethodImplOptions.NoInlining)]
                static WeakReference M(int n)
                {
                    var buffer = new byte[1 << 20];
                    var weak = new WeakReference(buffer);
                    BODY
                    return weak;
                }

                public static string Run()
                {
                    var weak = M(3);
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    GC.Collect();
                    var result = (weak.IsAlive ? "alive" : "collected") + "," + s_kept!();
                    GC.KeepAlive(s_kept);
                    return result;
                }
            }
            """;
        var before = Template.Replace("BODY", "var count = Call(() => buffer.Length);\n        s_kept = () => n + count;", System.StringComparison.Ordinal);
        var advised = Template.Replace("BODY", "int count;\n        { var bufferCopy = buffer; count = Call(() => bufferCopy.Length); }\n        s_kept = () => n + count;", System.StringComparison.Ordinal);
        var fixedByTheFix = Template.Replace("BODY", "var count = Call(() => buffer.Length);\n        { var nCopy = n; var countCopy = count; s_kept = () => nCopy + countCopy; }", System.StringComparison.Ordinal);

        // The stored delegate returns the same value in every version (behaviour kept); only the retention differs.
        Assert.Equal("alive,1048579", Behaviour.RunInOwnProcess(before));
        Assert.Equal("collected,1048579", Behaviour.RunInOwnProcess(advised));
        Assert.Equal("collected,1048579", Behaviour.RunInOwnProcess(fixedByTheFix));
    }

    /// <summary>The same for 'this' (.NET 10): the display class holds 'this' because the short-lived lambda uses a
    /// field, so the delegate stored in a static field keeps the object reachable although it never uses it; with the
    /// fix's copies it is collected.</summary>
    [Fact]
    public void TheStoredDelegateKeepsThisReachable_TheFixDoesNot()
    {
        const string Template = """
            using System;
            using System.Runtime.CompilerServices;
            public sealed class Connection : IDisposable
            {
                static Func<int>? s_kept;
                static int Call(Func<int> f) => f();
                readonly int _offset = 2;
                public void Dispose() { }

                [MethodImpl(MethodImplOptions.NoInlining)]
                void Watch(int n)
                {
                    BODY
                }

                [MethodImpl(MethodImplOptions.NoInlining)]
                static WeakReference Make()
                {
                    var connection = new Connection();
                    connection.Watch(3);
                    return new WeakReference(connection);
                }

                public static string Run()
                {
                    var weak = Make();
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    GC.Collect();
                    var result = (weak.IsAlive ? "alive" : "collected") + "," + s_kept!();
                    GC.KeepAlive(s_kept);
                    return result;
                }
            }
            public static class Program
            {
                public static string Run() => Connection.Run();
            }
            """;
        var before = Template.Replace("BODY", "var count = Call(() => n + _offset);\n        s_kept = () => n + count;", System.StringComparison.Ordinal);
        var fixedByTheFix = Template.Replace("BODY", "var count = Call(() => n + _offset);\n        { var nCopy = n; var countCopy = count; s_kept = () => nCopy + countCopy; }", System.StringComparison.Ordinal);

        Assert.Equal("alive,8", Behaviour.RunInOwnProcess(before));
        Assert.Equal("collected,8", Behaviour.RunInOwnProcess(fixedByTheFix));
    }
}
