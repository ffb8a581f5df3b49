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

    /// <summary>The rule is census-style (hot paths by default); the tests about what it finds use ordinary methods
    /// with the rule's scope widened, and DefaultScope_* check the default.</summary>
    private static AnalyzerTest Test(string source)
    {
        var test = Verify<CapturingLocalFunctionAsDelegateAnalyzer>.Test(source);
        test.AnalyzerOptions["memsafety.MSA3005.scope"] = "everywhere";
        return test;
    }

    private static Task Analyze(string source) => Test(Header + source).RunAsync();

    /// <param name="additionalLocation">The first captured variable's declaration ({|#1:…|}); a second one is {|#2:…|}.</param>
    private static Task AnalyzeWithMessage(string source, string message, int? additionalLocation = null, OptimizationLevel optimization = OptimizationLevel.Debug, bool secondVariable = false)
    {
        var test = Test(Header + source);
        test.OptimizationLevel = optimization;
        var expected = ExpectedDiagnostic.At("MSA3005", 0).WithMessage(message);
        if (additionalLocation is int index)
            expected = expected.WithAdditionalLocation(index);
        if (secondVariable)
            expected = expected.WithAdditionalLocation(2);
        test.ExpectedDiagnostics.Add(expected);
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
                int {|#2:y|} = 2;
                Use({|#0:Print|});
                return Add(1);
                int Add(int z) => x + y + z;
                void Print() => Console.WriteLine(x);
            }
        }
        """,
        "Converting local function 'Print' to a delegate allocates the delegate and moves captured variables from a struct on the stack " +
        "to the heap: 'x' and 'y' into a display class allocated at method entry (line 11), on every call",
        additionalLocation: 1,
        secondVariable: true);

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
        "to the heap: 'doubled' into a display class allocated at the start of the loop body (line 13), on every iteration",
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
        "to the heap: 'value' into a display class allocated at the start of the loop body (line 13), on every iteration",
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
        "to the heap: 'n' into a display class allocated at the start of the lambda (line 10), on every call of it",
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
        "to the heap: 'y' into a display class allocated at the start of the block (line 13), each time it runs");

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
        var test = Test(Header + """
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
        var test = Test(Header + """
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
    public Task GeneratedCode_NoDiagnostic() => Test(
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
        """).RunAsync();

    // ------------------------------------------------------------------ default scope: hot paths

    private const string ColdAndHot = """
        class HotPathAttribute : Attribute { }

        class C
        {
            static void Use(Action a) => a();

            static void Cold(int x)
            {
                Use({|#1:Print|});
                void Print() => Console.WriteLine(x);
            }

            [HotPath]
            static void Hot(int x)
            {
                Use({|#0:Print|});
                void Print() => Console.WriteLine(x);
            }
        }
        """;

    [Fact]
    public Task DefaultScope_ColdMethodNotReported_HotMethodReported()
    {
        var test = Verify<CapturingLocalFunctionAsDelegateAnalyzer>.Test(Header + ColdAndHot);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA3005", 0));
        return test.RunAsync();
    }

    [Fact]
    public Task DefaultScope_LoopOfAnUnmarkedMethod_NotReported() => Verify<CapturingLocalFunctionAsDelegateAnalyzer>.AnalyzerAsync(Header + """
        class C
        {
            static void Use(Action a) => a();

            static void M(int[] items)
            {
                foreach (var item in items)
                {
                    Use(Print);
                    void Print() => Console.WriteLine(item);
                }
            }
        }
        """);

    [Fact]
    public Task ScopeEverywhere_TheStrictSetting_ReportsColdMethods()
    {
        var test = Verify<CapturingLocalFunctionAsDelegateAnalyzer>.Test(Header + ColdAndHot);
        test.AnalyzerOptions["memsafety.scope"] = "everywhere";
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA3005", 1));
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA3005", 0));
        return test.RunAsync();
    }

    // ------------------------------------------------------------------ compiler facts (IL, Roslyn 4.14) and run-time cost (.NET 10)

    private const string IlSource = """
        using System;
        using System.Linq.Expressions;
        using System.Runtime.CompilerServices;
        using System.Threading.Tasks;

        public class C
        {
            int _field;
            static int _sink;

            [MethodImpl(MethodImplOptions.NoInlining)] static void Use(Action a) => a();

            static int DirectOnly(int x) { int y = 2; return Add(1); int Add(int z) => x + y + z; }

            static int Converted(int x) { int y = 2; Use(Print); return Add(1); int Add(int z) => x + y + z; void Print() => _sink += x; }

            static void NonCapturing() { Use(Hello); void Hello() => _sink++; }

            static void StaticLocal() { Use(Hello); static void Hello() => _sink++; }

            void ThisOnly() { Use(Show); void Show() => _sink += _field; }

            void ThisOnlyLambdaBeside(int x) { Use(() => _sink += _field); Add(); void Add() => _sink += x; }

            static void InBlock(int x, bool c) { if (c) { int y = 2; Use(Print); void Print() => _sink += x + y; } }

            static async Task AsyncLocal(int x) { await Run(); async Task Run() { await Task.Yield(); _sink += x; } }

            static Expression<Func<int>> Tree(int x) { Add(); return () => x; void Add() => _sink += x; }

            [MethodImpl(MethodImplOptions.AggressiveOptimization)] public static void RunDirectOnly() => _sink += DirectOnly(3);

            [MethodImpl(MethodImplOptions.AggressiveOptimization)] public static void RunConverted() => _sink += Converted(3);
        }
        """;

    private static string[] NewObjects(IlAssembly il, string method)
        => il.Method("C", method).Instructions.Where(i => i.OpCode == System.Reflection.Metadata.ILOpCode.Newobj).Select(i => i.Token!).ToArray();

    private static bool IsDisplayClass(string constructor) => constructor.Contains("<>c__DisplayClass");

    private static bool IsDelegate(string constructor) => constructor.StartsWith("System.Action::") || constructor.StartsWith("System.Func");

    [Fact]
    public void Il_OnlyCalledDirectly_CapturesLiveInAStructPassedByRef()
    {
        var il = IlInspection.Compile(IlSource);
        Assert.Empty(NewObjects(il, "DirectOnly"));
        var call = Assert.Single(il.Method("C", "DirectOnly").Calls);
        Assert.Contains("<>c__DisplayClass", call);
        Assert.EndsWith("&)", call);
    }

    [Fact]
    public void Il_Converted_OneHeapDisplayClassForTheScope_ADelegate_AndDirectCallsUseTheClass()
    {
        var il = IlInspection.Compile(IlSource);
        var created = NewObjects(il, "Converted");
        Assert.Equal(2, created.Length);
        Assert.True(IsDisplayClass(created[0]), il.Method("C", "Converted").Dump());
        Assert.True(IsDelegate(created[1]), il.Method("C", "Converted").Dump());

        // 'Add' is only called directly, yet it became an instance method of the heap display class.
        Assert.Contains(il.Method("C", "Converted").Instructions, i => i.OpCode == System.Reflection.Metadata.ILOpCode.Callvirt && i.Token!.Contains("g__Add"));
    }

    [Fact]
    public void Allocation_DirectCallsAllocateNothing_ConversionAllocatesTheDisplayClassAndTheDelegate()
    {
        var il = IlInspection.Compile(IlSource);
        Assert.Equal(0, il.AllocatedBytesPerCall("C", "RunDirectOnly"));

        // .NET 10, x64: the display class (header, method table, two ints: 24 bytes) and the Action (64 bytes).
        Assert.Equal(88, il.AllocatedBytesPerCall("C", "RunConverted"));
    }

    [Theory]
    [InlineData(LanguageVersion.CSharp10)]
    [InlineData(LanguageVersion.CSharp11)]
    [InlineData(LanguageVersion.Latest)]
    public void Il_NonCapturingLocalFunction_NoDisplayClass_ButANewDelegateOnEveryConversion(LanguageVersion version)
    {
        var il = IlInspection.Compile(IlSource, version);
        var created = Assert.Single(NewObjects(il, "NonCapturing"));
        Assert.True(IsDelegate(created));
        Assert.DoesNotContain(il.Method("C", "NonCapturing").Instructions, i => i.OpCode == System.Reflection.Metadata.ILOpCode.Ldsfld);
    }

    [Theory]
    [InlineData(LanguageVersion.CSharp10, false)]
    [InlineData(LanguageVersion.CSharp11, true)]
    public void Il_StaticLocalFunction_DelegateCachedSinceCSharp11(LanguageVersion version, bool cached)
    {
        var il = IlInspection.Compile(IlSource, version);
        Assert.Equal(cached, il.Method("C", "StaticLocal").Instructions.Any(i => i.OpCode == System.Reflection.Metadata.ILOpCode.Ldsfld && i.Token!.Contains("<>O")));
    }

    [Fact]
    public void Il_CapturesOnlyThis_NoDisplayClass_ButANewDelegate()
    {
        var il = IlInspection.Compile(IlSource);
        var created = Assert.Single(NewObjects(il, "ThisOnly"));
        Assert.True(IsDelegate(created));
    }

    [Fact]
    public void Il_AThisOnlyLambdaMakesTheMethodScopeAClass_WithNoLocalFunctionConverted()
    {
        var il = IlInspection.Compile(IlSource);
        Assert.Contains(NewObjects(il, "ThisOnlyLambdaBeside"), IsDisplayClass);
    }

    [Fact]
    public void Il_AsyncLocalFunction_UsesAClassEvenWhenOnlyCalledDirectly()
    {
        var il = IlInspection.Compile(IlSource);
        Assert.Contains(il.Methods.Where(m => m.Type.StartsWith("C+<AsyncLocal>")).SelectMany(m => m.Calls), IsDisplayClass);
    }

    [Fact]
    public void Il_AnExpressionTreeCapture_MakesTheScopeAClass()
    {
        var il = IlInspection.Compile(IlSource);
        Assert.Contains(NewObjects(il, "Tree"), IsDisplayClass);
    }

    [Theory]
    [InlineData(OptimizationLevel.Release, 1)]
    [InlineData(OptimizationLevel.Debug, 2)]
    public void Il_NestedBlock_ReleaseMergesItsDisplayClassIntoTheMethodEntryOne(OptimizationLevel optimization, int displayClasses)
    {
        var il = IlInspection.Compile(IlSource, optimization: optimization);
        var method = il.Method("C", "InBlock");
        var creations = method.Instructions.Where(i => i.OpCode == System.Reflection.Metadata.ILOpCode.Newobj && IsDisplayClass(i.Token!)).ToList();
        Assert.Equal(displayClasses, creations.Count);
        if (optimization == OptimizationLevel.Release)
            Assert.Equal(0, creations[0].Offset);
    }
}
