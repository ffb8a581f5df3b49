using System.Linq;
using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.Closures;
using MemSafety.Analyzers.Tests.Verification;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace MemSafety.Analyzers.Tests.Closures;

/// <summary>MSA3005: a capturing local function converted to a delegate moves its environment from a struct on the
/// stack to a class on the heap. The IL tests at the end are the compiler facts the rule relies on (Roslyn 4.14).</summary>
public sealed class CapturingLocalFunctionAsDelegateTests
{
    private const string Header = """
        using System;
        using System.Collections.Generic;
        using System.Linq;
        using System.Linq.Expressions;
        using System.Threading.Tasks;

        """;

    private static Task Analyze(string source) => Verify<CapturingLocalFunctionAsDelegateAnalyzer>.AnalyzerAsync(Header + source);

    private static Task AnalyzeWithMessage(string source, string message, int? additionalLocation = null, OptimizationLevel optimization = OptimizationLevel.Debug)
    {
        var test = Verify<CapturingLocalFunctionAsDelegateAnalyzer>.Test(Header + source);
        test.OptimizationLevel = optimization;
        var expected = ExpectedDiagnostic.At("MSA3005", 0).WithMessage(message);
        test.ExpectedDiagnostics.Add(additionalLocation is int index ? expected.WithAdditionalLocation(index) : expected);
        return test.RunAsync();
    }

    // ------------------------------------------------------------------ reported

    [Fact]
    public Task PassedAsArgument_ReportedWithWhatMovesAndWhere() => AnalyzeWithMessage(
        """
        class C
        {
            static void Use(Action a) => a();

            static int M(int {|#1:x|})
            {
                int y = 2;
                Use({|#0:Print|});
                return Add(1);
                int Add(int z) => x + y + z;
                void Print() => Console.WriteLine(x);
            }
        }
        """,
        "Converting local function 'Print' to a delegate allocates the delegate and moves captured variables from a struct on the stack " +
        "to the heap: 'x' and 'y' into a display class allocated at method entry (line 11), on every call",
        additionalLocation: 1);

    [Fact]
    public Task MethodGroupAssignedToALocal_Reported() => Analyze(
        """
        class C
        {
            static int M(int x)
            {
                Func<int, int> f = [|Scale|];
                return f(2);
                int Scale(int v) => v * x;
            }
        }
        """);

    [Fact]
    public Task NewDelegateOfTheLocalFunction_Reported() => Analyze(
        """
        class C
        {
            static void M(string name)
            {
                var action = [|new Action(Greet)|];
                action();
                void Greet() => Console.WriteLine(name);
            }
        }
        """);

    [Fact]
    public Task StoredInAFieldOrAnEvent_Reported() => Analyze(
        """
        class C
        {
            Action? _callback;
            event EventHandler? Changed;

            void M(int id)
            {
                _callback = [|Log|];
                Changed += [|OnChanged|];
                void Log() => Console.WriteLine(id);
                void OnChanged(object? sender, EventArgs e) => Console.WriteLine(id);
            }
        }
        """);

    [Fact]
    public Task Returned_Reported() => Analyze(
        """
        class C
        {
            static Func<int> Counter(int start)
            {
                return [|Next|];
                int Next() => start++;
            }
        }
        """);

    [Fact]
    public Task PassedToLinq_Reported() => Analyze(
        """
        class C
        {
            static int CountAbove(List<int> values, int threshold)
            {
                return values.Count([|IsAbove|]);
                bool IsAbove(int v) => v > threshold;
            }
        }
        """);

    [Fact]
    public Task NaturalTypeAndCast_Reported() => Analyze(
        """
        class C
        {
            static object M(int x)
            {
                var f = [|Get|];
                Delegate d = [|Get|];
                var g = [|(Func<int>)Get|];
                return f() + g() + d.GetHashCode();
                int Get() => x;
            }
        }
        """);

    [Fact]
    public Task ConvertedFunctionOnlyCallsACapturingOne_Reported() => AnalyzeWithMessage(
        """
        class C
        {
            static void Use(Action a) => a();

            static void M(int {|#1:x|})
            {
                Use({|#0:Outer|});
                void Outer() => Inner();
                void Inner() => Console.WriteLine(x);
            }
        }
        """,
        "Converting local function 'Outer' to a delegate allocates the delegate and moves captured variables from a struct on the stack " +
        "to the heap: 'x' into a display class allocated at method entry (line 11), on every call",
        additionalLocation: 1);

    [Fact]
    public Task CapturesThisAndAParameter_ListsThis() => AnalyzeWithMessage(
        """
        class C
        {
            int _total;
            static void Use(Action a) => a();

            void M(int {|#1:amount|})
            {
                Use({|#0:Add|});
                void Add() => _total += amount;
            }
        }
        """,
        "Converting local function 'Add' to a delegate allocates the delegate and moves captured variables from a struct on the stack " +
        "to the heap: 'amount' and 'this' into a display class allocated at method entry (line 12), on every call",
        additionalLocation: 1);

    [Fact]
    public Task LoopBodyVariable_AllocatedOnEveryIteration() => AnalyzeWithMessage(
        """
        class C
        {
            static void Use(Action a) => a();

            static void M(List<int> values)
            {
                foreach (var value in values)
                {
                    var {|#1:doubled|} = value * 2;
                    Use({|#0:Print|});
                    void Print() => Console.WriteLine(doubled);
                }
            }
        }
        """,
        "Converting local function 'Print' to a delegate allocates the delegate and moves captured variables from a struct on the stack " +
        "to the heap: 'doubled' into a display class allocated at the start of every iteration of the loop at line 12",
        additionalLocation: 1);

    [Fact]
    public Task ForeachVariable_AllocatedOnEveryIteration() => AnalyzeWithMessage(
        """
        class C
        {
            static void Use(Action a) => a();

            static void M(List<int> values)
            {
                foreach (var {|#1:value|} in values)
                {
                    Use({|#0:Print|});
                    void Print() => Console.WriteLine(value);
                }
            }
        }
        """,
        "Converting local function 'Print' to a delegate allocates the delegate and moves captured variables from a struct on the stack " +
        "to the heap: 'value' into a display class allocated at the start of every iteration of the loop at line 12",
        additionalLocation: 1);

    [Fact]
    public Task LocalFunctionInALambda_AllocatedOnEveryCallOfTheLambda() => AnalyzeWithMessage(
        """
        class C
        {
            static void Use(Action a) => a();

            static Func<int, int> M() => {|#1:n|} =>
            {
                Use({|#0:Print|});
                return n;
                void Print() => Console.WriteLine(n);
            };
        }
        """,
        "Converting local function 'Print' to a delegate allocates the delegate and moves captured variables from a struct on the stack " +
        "to the heap: 'n' into a display class allocated at the start of the lambda at line 10, on every call of it",
        additionalLocation: 1);

    [Fact]
    public Task NestedBlock_InRelease_MergedIntoTheMethodEntry() => AnalyzeWithMessage(
        """
        class C
        {
            static void Use(Action a) => a();

            static void M(int x, bool verbose)
            {
                if (verbose)
                {
                    int y = 2;
                    Use({|#0:Print|});
                    void Print() => Console.WriteLine(x + y);
                }
            }
        }
        """,
        "Converting local function 'Print' to a delegate allocates the delegate and moves captured variables from a struct on the stack " +
        "to the heap: 'x' and 'y' into a display class allocated at method entry (line 11), on every call",
        optimization: OptimizationLevel.Release);

    [Fact]
    public Task NestedBlock_InDebug_AllocatedWhereTheBlockBegins() => AnalyzeWithMessage(
        """
        class C
        {
            static void Use(Action a) => a();

            static void M(bool verbose)
            {
                if (verbose)
                {
                    int y = 2;
                    Use({|#0:Print|});
                    void Print() => Console.WriteLine(y);
                }
            }
        }
        """,
        "Converting local function 'Print' to a delegate allocates the delegate and moves captured variables from a struct on the stack " +
        "to the heap: 'y' into a display class allocated where the block at line 13 begins");

    [Fact]
    public Task InAnAsyncMethod_Reported() => Analyze(
        """
        class C
        {
            static void Use(Action a) => a();

            static async Task<int> M(int x)
            {
                await Task.Yield();
                Use([|Print|]);
                return x;
                void Print() => Console.WriteLine(x);
            }
        }
        """);

    [Fact]
    public async Task EveryMovedVariable_IsAnAdditionalLocation()
    {
        var test = Verify<CapturingLocalFunctionAsDelegateAnalyzer>.Test(Header + """
            class C
            {
                static void Use(Action a) => a();

                static void M(int x)
                {
                    int y = 2;
                    Use(Print);
                    void Print() => Console.WriteLine(x + y);
                }
            }
            """);
        var diagnostic = Assert.Single(await test.AnalyzeAsync());
        Assert.Equal(new[] { "x", "y" }, diagnostic.AdditionalLocations.Select(l => l.SourceTree!.GetText().ToString(l.SourceSpan)).OrderBy(n => n));
    }

    // ------------------------------------------------------------------ not reported

    [Fact]
    public Task OnlyCalledDirectly_NoDiagnostic() => Analyze(
        """
        class C
        {
            static int M(int x)
            {
                int y = 2;
                return Add(1) + Add(2);
                int Add(int z) => x + y + z;
            }
        }
        """);

    [Fact]
    public Task StaticLocalFunction_NoDiagnostic() => Analyze(
        """
        class C
        {
            static void Use(Action<int> a) => a(1);

            static void M()
            {
                Use(Print);
                static void Print(int v) => Console.WriteLine(v);
            }
        }
        """);

    [Fact]
    public Task NonCapturingLocalFunction_NoDiagnostic() => Analyze(
        """
        class C
        {
            static void Use(Action<int> a) => a(1);

            static void M(int unused)
            {
                const int Offset = 3;
                Use(Print);
                void Print(int v) => Console.WriteLine(v + Offset);
            }
        }
        """);

    [Fact]
    public Task CapturesOnlyThis_NoDiagnostic() => Analyze(
        """
        class C
        {
            int _count;
            static void Use(Action a) => a();

            void M()
            {
                Use(Increment);
                void Increment() => _count++;
            }
        }
        """);

    [Fact]
    public Task ALambdaAlreadyCapturesTheScope_NoDiagnostic() => Analyze(
        """
        class C
        {
            static void Use(Action a) => a();

            static void M(int x)
            {
                Use(() => Console.WriteLine(x));
                Use(Print);
                void Print() => Console.WriteLine(x);
            }
        }
        """);

    [Fact]
    public Task AThisOnlyLambdaAlreadyMakesTheMethodScopeAClass_NoDiagnostic() => Analyze(
        """
        class C
        {
            int _field;
            static void Use(Action a) => a();

            void M(int x)
            {
                Use(() => Console.WriteLine(_field));
                Use(Print);
                void Print() => Console.WriteLine(x);
            }
        }
        """);

    [Fact]
    public Task QuerySyntaxAlreadyCapturesTheScope_NoDiagnostic() => Analyze(
        """
        class C
        {
            static int M(int[] values, int threshold)
            {
                var above = from v in values where v > threshold select v;
                Func<int, bool> isAbove = IsAbove;
                return above.Count(isAbove);
                bool IsAbove(int v) => v > threshold;
            }
        }
        """);

    [Fact]
    public Task AnExpressionTreeAlreadyCapturesTheScope_NoDiagnostic() => Analyze(
        """
        class C
        {
            static void Use(Action a) => a();

            static Expression<Func<int>> M(int x)
            {
                Use(Print);
                return () => x;
                void Print() => Console.WriteLine(x);
            }
        }
        """);

    [Fact]
    public Task AsyncOrIteratorLocalFunction_AlreadyUsesAClass_NoDiagnostic() => Analyze(
        """
        class C
        {
            static void Use(Func<Task> a) => a();
            static void UseAll(Func<IEnumerable<int>> a) => a();

            static void M(int x)
            {
                Use(RunAsync);
                UseAll(Repeat);
                async Task RunAsync() { await Task.Yield(); Console.WriteLine(x); }
                IEnumerable<int> Repeat() { yield return x; }
            }
        }
        """);

    [Fact]
    public Task CalledFromALambda_NotConverted_NoDiagnostic() => Analyze(
        """
        class C
        {
            static void Use(Action a) => a();

            static void M(int x)
            {
                Use(() => Print());
                void Print() => Console.WriteLine(x);
            }
        }
        """);

    [Fact]
    public Task NestedLambdas_CaptureTheScopeAlready_NoDiagnostic() => Analyze(
        """
        class C
        {
            static void Use(Action a) => a();

            static void M(int x)
            {
                Func<Action> make = () => () => Console.WriteLine(x);
                Use(Print);
                void Print() => Console.WriteLine(x);
            }
        }
        """);

    [Fact]
    public Task ConvertedFunctionCapturesOnlyItsOwnLocals_NoDiagnostic() => Analyze(
        """
        class C
        {
            static void Use(Action<int> a) => a(1);

            static void M(int x)
            {
                Use(Print);
                void Print(int v)
                {
                    var doubled = v * 2;
                    Show();
                    void Show() => Console.WriteLine(doubled);
                }
            }
        }
        """);

    [Fact]
    public Task RefLocalCannotBeCaptured_IncompleteCode_NoDiagnostic()
    {
        var test = Verify<CapturingLocalFunctionAsDelegateAnalyzer>.Test(Header + """
            class C
            {
                static void Use(Action a) => a();

                static void M(int[] values)
                {
                    ref int first = ref values[0];
                    Use(Print);
                    void Print() => Console.WriteLine(first);
                }
            }
            """);
        test.AllowCompilerErrors = true;
        return test.RunAsync();
    }

    [Fact]
    public Task GeneratedCode_NoDiagnostic() => Verify<CapturingLocalFunctionAsDelegateAnalyzer>.AnalyzerAsync(
        "// <auto-generated/>\n" + Header + """
        class C
        {
            static void Use(Action a) => a();

            static void M(int x)
            {
                Use(Print);
                void Print() => Console.WriteLine(x);
            }
        }
        """);
}
