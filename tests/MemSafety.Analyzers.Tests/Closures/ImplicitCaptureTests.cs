using System.Linq;
using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.Closures;
using MemSafety.Analyzers.Tests.Verification;

namespace MemSafety.Analyzers.Tests.Closures;

/// <summary>MSA3006: a delegate that outlives the method keeps alive what another closure of the same display class
/// captures. The last test shows it at run time (.NET 10): the object is still reachable through the stored delegate.</summary>
public sealed class ImplicitCaptureTests
{
    private const string Header = """
        using System;
        using System.Collections.Generic;
        using System.IO;
        using System.Linq.Expressions;

        """;

    private static Task Analyze(string source) => Verify<ImplicitCaptureAnalyzer>.AnalyzerAsync(Header + source);

    // ------------------------------------------------------------------ reported

    [Fact]
    public Task StoredInAField_KeepsTheArrayOfAnotherLambdaAlive()
    {
        var test = Verify<ImplicitCaptureAnalyzer>.Test(Header + """
            class C
            {
                Func<int>? _count;
                static void Use(Action a) => a();

                void M(int count)
                {
                    var {|#1:buffer|} = new byte[1024];
                    Use(() => Console.WriteLine(buffer.Length + count));
                    _count = {|#0:() =>|} count;
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA3006", 0).WithAdditionalLocation(1).WithMessage(
            "This delegate escapes (stored into field '_count') and keeps 'buffer' (byte[]) reachable as long as it lives: it does not use it, " +
            "but it shares a display class with the lambda at line 13, which captures it"));
        return test.RunAsync();
    }

    [Fact]
    public Task Returned_KeepsTheListAlive() => Analyze(
        """
        class C
        {
            static void Use(Action a) => a();

            static Func<int> Make(int n)
            {
                var list = new List<int>();
                Use(() => list.Add(n));
                return [|() =>|] n;
            }
        }
        """);

    [Fact]
    public Task SubscribedToAnEvent_KeepsTheStreamAlive() => Analyze(
        """
        class Source { public event EventHandler? Changed; }

        class C
        {
            static void Use(Action a) => a();

            static void M(Source source, int id)
            {
                using var stream = new MemoryStream();
                Use(() => stream.WriteByte((byte)id));
                source.Changed += [|(sender, e) =>|] Console.WriteLine(id);
            }
        }
        """);

    [Fact]
    public Task ConvertedLocalFunctionStoredInAField_Reported() => Analyze(
        """
        class C
        {
            Action? _log;
            static void Use(Action a) => a();

            void M(int id)
            {
                var items = new int[100];
                Use(() => Console.WriteLine(items[0] + id));
                _log = [|Log|];
                void Log() => Console.WriteLine(id);
            }
        }
        """);

    [Fact]
    public Task StoredInAStaticProperty_Reported() => Analyze(
        """
        class C
        {
            static Func<int>? Handler { get; set; }
            static void Use(Action a) => a();

            static void M(int count)
            {
                var lookup = new Dictionary<int, string>();
                Use(() => lookup[count] = "x");
                Handler = [|() =>|] count;
            }
        }
        """);

    [Fact]
    public Task NestedLambda_Escaping_Reported() => Analyze(
        """
        class C
        {
            Func<Func<int>>? _factory;
            static void Use(Action a) => a();

            void M(int count)
            {
                var buffer = new byte[64];
                Use(() => Console.WriteLine(buffer.Length + count));
                _factory = [|() =>|] () => count;
            }
        }
        """);

    // ------------------------------------------------------------------ not reported

    [Fact]
    public Task EscapingDelegateUsesTheObjectItself_NoDiagnostic() => Analyze(
        """
        class C
        {
            Func<int>? _length;
            static void Use(Action a) => a();

            void M(int count)
            {
                var buffer = new byte[1024];
                Use(() => Console.WriteLine(count));
                _length = () => buffer.Length + count;
            }
        }
        """);

    [Fact]
    public Task NoDelegateOutlivesTheMethod_NoDiagnostic() => Analyze(
        """
        class C
        {
            static void Use(Action a) => a();

            static int M(int count)
            {
                var buffer = new byte[1024];
                Use(() => Console.WriteLine(buffer.Length + count));
                Func<int> get = () => count;
                return get();
            }
        }
        """);

    [Fact]
    public Task PassedToAMethod_LifetimeUnknown_NoDiagnostic() => Analyze(
        """
        class C
        {
            static void Use(Action a) => a();
            static void Keep(Func<int> f) { }

            static void M(int count)
            {
                var buffer = new byte[1024];
                Use(() => Console.WriteLine(buffer.Length + count));
                Keep(() => count);
            }
        }
        """);

    [Fact]
    public Task ObjectNotCreatedByTheMethod_NoDiagnostic() => Analyze(
        """
        class C
        {
            Func<int>? _count;
            static void Use(Action a) => a();

            void M(byte[] buffer, int count)
            {
                var alias = buffer;
                Use(() => Console.WriteLine(buffer.Length + alias.Length + count));
                _count = () => count;
            }
        }
        """);

    [Fact]
    public Task ReleasedByWritingNull_NoDiagnostic() => Analyze(
        """
        class C
        {
            Func<int>? _count;
            static void Use(Action a) => a();

            void M(int count)
            {
                byte[]? buffer = new byte[1024];
                Use(() => Console.WriteLine(buffer!.Length + count));
                buffer = null;
                _count = () => count;
            }
        }
        """);

    [Fact]
    public Task OnlySmallValuesShared_NoDiagnostic() => Analyze(
        """
        class C
        {
            Func<int>? _count;
            static void Use(Action a) => a();

            void M(int count, string name)
            {
                var total = count * 2;
                Use(() => Console.WriteLine(name + total));
                _count = () => count;
            }
        }
        """);

    [Fact]
    public Task ObjectDeclaredInAnInnerBlock_OwnDisplayClass_NoDiagnostic() => Analyze(
        """
        class C
        {
            Func<int>? _count;
            static void Use(Action a) => a();

            void M(int count)
            {
                {
                    var buffer = new byte[1024];
                    Use(() => Console.WriteLine(buffer.Length + count));
                }
                _count = () => count;
            }
        }
        """);

    [Fact]
    public Task ExpressionTreeStoredInAField_NoDiagnostic() => Analyze(
        """
        class C
        {
            Expression<Func<int>>? _count;
            static void Use(Action a) => a();

            void M(int count)
            {
                var buffer = new byte[1024];
                Use(() => Console.WriteLine(buffer.Length + count));
                _count = () => count;
            }
        }
        """);

    [Fact]
    public Task GeneratedCode_NoDiagnostic() => Verify<ImplicitCaptureAnalyzer>.AnalyzerAsync("// <auto-generated/>\n" + Header + """
        class C
        {
            Func<int>? _count;
            static void Use(Action a) => a();

            void M(int count)
            {
                var buffer = new byte[1024];
                Use(() => Console.WriteLine(buffer.Length + count));
                _count = () => count;
            }
        }
        """);

    // ------------------------------------------------------------------ run-time evidence (.NET 10)

    [Fact]
    public void Runtime_TheStoredDelegateKeepsTheArrayOfTheOtherLambdaReachable()
    {
        var result = Behaviour.Run("""
            using System;
            using System.Runtime.CompilerServices;

            public static class Program
            {
                static Func<int>? _count;
                static WeakReference? _buffer;

                [MethodImpl(MethodImplOptions.NoInlining)] static void Use(Action a) => a();

                [MethodImpl(MethodImplOptions.NoInlining)]
                static void Shared(int count)
                {
                    var buffer = new byte[1 << 20];
                    _buffer = new WeakReference(buffer);
                    Use(() => GC.KeepAlive(buffer.Length + count));
                    _count = () => count;
                }

                [MethodImpl(MethodImplOptions.NoInlining)]
                static void Narrowed(int count)
                {
                    {
                        var buffer = new byte[1 << 20];
                        _buffer = new WeakReference(buffer);
                        Use(() => GC.KeepAlive(buffer.Length + count));
                    }
                    _count = () => count;
                }

                static bool AliveAfterCollect()
                {
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    GC.Collect();
                    return _buffer!.IsAlive;
                }

                public static string Run()
                {
                    Shared(3);
                    var shared = AliveAfterCollect();
                    Narrowed(3);
                    var narrowed = AliveAfterCollect();
                    return shared + " " + narrowed + " " + _count!();
                }
            }
            """);
        Assert.Equal("True False 3", result);
    }
}
