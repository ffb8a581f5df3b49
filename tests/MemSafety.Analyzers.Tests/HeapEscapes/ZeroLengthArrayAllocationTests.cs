using System.IO;
using System.Linq;
using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.HeapEscapes;
using MemSafety.Analyzers.Tests.Verification;
using MemSafety.CodeFixes.HeapEscapes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace MemSafety.Analyzers.Tests.HeapEscapes;

public sealed class ZeroLengthArrayAllocationTests
{
    /// <summary>These tests are about which empty arrays can be shared and how the fix spells it; they use plain methods, which the default scope (hot paths and loops) does not reach, so they widen it. DefaultScope_HotPathsAndLoops checks the default.</summary>
    private static readonly VerifyWithOptions<MemSafety.Analyzers.Rules.HeapEscapes.ZeroLengthArrayAllocationAnalyzer, MemSafety.CodeFixes.HeapEscapes.ZeroLengthArrayAllocationFix> VerifyCS = new(("memsafety.MSA1008.scope", "everywhere"));

    // ------------------------------------------------------------------ reported, with the fix

    [Fact]
    public Task ReturnedEmptyArray_ReplacedWithArrayEmpty() => VerifyCS.CodeFixAsync(
        """
        using System;

        class C
        {
            public int[] None() => [|new int[0]|];
        }
        """,
        """
        using System;

        class C
        {
            public int[] None() => Array.Empty<int>();
        }
        """);

    [Fact]
    public Task MessageQuotesTheAllocationAsWrittenAndNamesTheReplacement()
    {
        var test = VerifyCS.AnalyzerTest(
            """
            class C
            {
                int[] M() { return {|#0:new int[] { }|}; }
                string[][] N() { return {|#1:new string[0]
                    []|}; }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA1008", 0).WithMessage(
            "'new int[] { }' allocates a new empty array each time this runs; Array.Empty<int>() returns one shared instance"));
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA1008", 1).WithMessage(
            "'new string[0] []' allocates a new empty array each time this runs; Array.Empty<string[]>() returns one shared instance"));
        return test.RunAsync();
    }

    [Fact]
    public Task EmptyInitializerAsArgument_WithoutUsingSystem_QualifiesArray() => VerifyCS.CodeFixAsync(
        """
        class C
        {
            static string Join(string[] parts) => string.Join(",", parts);

            string M() => Join([|new string[] { }|]);
        }
        """,
        """
        class C
        {
            static string Join(string[] parts) => string.Join(",", parts);

            string M() => Join(System.Array.Empty<string>());
        }
        """);

    [Fact]
    public Task TypeNamedArrayInScope_FullyQualifiesSystemArray() => VerifyCS.CodeFixAsync(
        """
        using System;

        namespace App
        {
            class Array { }

            class C
            {
                byte[] M() => [|new byte[0]|];
            }
        }
        """,
        """
        using System;

        namespace App
        {
            class Array { }

            class C
            {
                byte[] M() => System.Array.Empty<byte>();
            }
        }
        """);

    [Fact]
    public Task JaggedAndGenericAndNullableElementTypes_SpelledAsWritten() => VerifyCS.CodeFixAsync(
        """
        using System;
        using System.Collections.Generic;

        class C<T>
        {
            int[][] A() => [|new int[0][]|];
            T[] B() => [|new T[0]|];
            string?[] D() => [|new string?[0]|];
            List<(int Key, string Name)>[] E() => [|new List<(int Key, string Name)>[0]|];
        }
        """,
        """
        using System;
        using System.Collections.Generic;

        class C<T>
        {
            int[][] A() => Array.Empty<int[]>();
            T[] B() => Array.Empty<T>();
            string?[] D() => Array.Empty<string?>();
            List<(int Key, string Name)>[] E() => Array.Empty<List<(int Key, string Name)>>();
        }
        """);

    [Fact]
    public Task ConstantZeroSize_AndTriviaKept() => VerifyCS.CodeFixAsync(
        """
        using System;

        class C
        {
            const int None = 0;

            object[] M(bool b)
            {
                var result = b ? /* nothing */ [|new object[None]|] /* yet */ : new object[1];
                return result;
            }
        }
        """,
        """
        using System;

        class C
        {
            const int None = 0;

            object[] M(bool b)
            {
                var result = b ? /* nothing */ Array.Empty<object>() /* yet */ : new object[1];
                return result;
            }
        }
        """);

    // Found on the decompiled BCL: `static readonly ImmutableArray<T> Empty = new ImmutableArray<T>(new T[0]);`
    // runs once per type; "allocates on every call" would be false.
    [Fact]
    public Task StaticInitializersAndStaticConstructor_RunOnce_NoDiagnostic() => VerifyCS.AnalyzerAsync(
        """
        using System.Collections.Generic;
        class C<T>
        {
            public static readonly IReadOnlyList<T> Empty = new List<T>(new T[0]);
            public static IEnumerable<int> None { get; } = new int[0];
            static readonly string[] s_names;
            static C() { s_names = new string[0]; }
        }
        """);

    [Fact]
    public Task LambdaInsideStaticInitializer_RunsPerCall_Reported() => VerifyCS.AnalyzerAsync(
        """
        using System;
        class C
        {
            public static readonly Func<int[]> Make = () => [|new int[0]|];
        }
        """);

    [Fact]
    public Task LocalThatIsReturnedAndFieldWithoutIdentityUses_Reported() => VerifyCS.CodeFixAsync(
        """
        using System;
        using System.Collections.Generic;

        class C
        {
            private static readonly string[] s_noNames = new string[0];
            private IEnumerable<int> _items = [|new int[0]|];

            public string[] Names(int count)
            {
                var names = [|new string[0]|];
                if (count > 0)
                    names = new string[count];
                return names.Length == 0 ? s_noNames : names;
            }

            public int Count() { foreach (var item in _items) return item; return 0; }
        }
        """,
        """
        using System;
        using System.Collections.Generic;

        class C
        {
            private static readonly string[] s_noNames = new string[0];
            private IEnumerable<int> _items = Array.Empty<int>();

            public string[] Names(int count)
            {
                var names = Array.Empty<string>();
                if (count > 0)
                    names = new string[count];
                return names.Length == 0 ? s_noNames : names;
            }

            public int Count() { foreach (var item in _items) return item; return 0; }
        }
        """);

    [Fact]
    public Task ExplicitArrayForParamsParameter_Reported() => VerifyCS.CodeFixAsync(
        """
        using System;

        class C
        {
            static int Sum(params int[] values) => values.Length;

            int M() => Sum([|new int[0]|]);
        }
        """,
        """
        using System;

        class C
        {
            static int Sum(params int[] values) => values.Length;

            int M() => Sum(Array.Empty<int>());
        }
        """);

    [Fact]
    public Task CSharp73_Reported()
    {
        var test = VerifyCS.Test(
            """
            using System;

            class C
            {
                int[] M() { return [|new int[0]|]; }
            }
            """,
            """
            using System;

            class C
            {
                int[] M() { return Array.Empty<int>(); }
            }
            """);
        test.LanguageVersion = LanguageVersion.CSharp7_3;
        test.NullableContextOptions = NullableContextOptions.Disable;
        return test.RunAsync();
    }

    [Fact]
    public Task NetStandard20_HasArrayEmpty_Reported()
    {
        var test = VerifyCS.Test(
            """
            class C
            {
                int[] M() { return [|new int[0]|]; }
            }
            """,
            """
            class C
            {
                int[] M() { return System.Array.Empty<int>(); }
            }
            """);
        test.ReferenceSet = ReferenceSet.NetStandard20;
        test.LanguageVersion = LanguageVersion.CSharp7_3;
        test.NullableContextOptions = NullableContextOptions.Disable;
        return test.RunAsync();
    }

    [Fact]
    public Task CollectionExpressionOffered_WhereItBindsToArrayEmpty()
    {
        var test = VerifyCS.Test(
            """
            using System.Collections.Generic;

            class C
            {
                private int[] _a = [|new int[0]|];
                public IReadOnlyList<string> Names { get; } = [|new string[0]|];

                IEnumerable<int> M()
                {
                    int[] local = [|new int[0]|];
                    _a = [|new int[0]|];
                    return [|new int[0]|];
                }
            }
            """,
            """
            using System.Collections.Generic;

            class C
            {
                private int[] _a = [];
                public IReadOnlyList<string> Names { get; } = [];

                IEnumerable<int> M()
                {
                    int[] local = [];
                    _a = [];
                    return [];
                }
            }
            """);
        test.CodeActionEquivalenceKey = ZeroLengthArrayAllocationFix.CollectionExpressionKey;
        return test.RunAsync();
    }

    [Fact]
    public Task CollectionExpressionNotOffered_WhereItWouldNotCompileOrWouldAllocate()
    {
        // var has no target type; an argument takes part in overload resolution; a List-typed target
        // would allocate; a lambda's return has no target type when the lambda's own type is inferred.
        var test = VerifyCS.Test(
            """
            using System;
            using System.Collections.Generic;

            class C
            {
                static int Count(IEnumerable<int> items) => 0;

                void M()
                {
                    var a = [|new int[0]|];
                    Count([|new int[0]|]);
                    Func<int[]> f = () => [|new int[0]|];
                }
            }
            """,
            """
            using System;
            using System.Collections.Generic;

            class C
            {
                static int Count(IEnumerable<int> items) => 0;

                void M()
                {
                    var a = Array.Empty<int>();
                    Count(Array.Empty<int>());
                    Func<int[]> f = () => Array.Empty<int>();
                }
            }
            """);
        test.CodeActionEquivalenceKey = ZeroLengthArrayAllocationFix.CollectionExpressionKey;
        return RunExpectingOnlyArrayEmptyAsync(test);
    }

    private static async Task RunExpectingOnlyArrayEmptyAsync(AnalyzerTest test)
    {
        // With the collection-expression key nothing is fixed; with the default key, Array.Empty is.
        var fixedSource = test.FixedSources[0];
        test.FixedSources[0] = test.Sources[0];
        await test.RunAsync();
        test.CodeActionEquivalenceKey = null;
        test.FixedSources[0] = fixedSource;
        await test.RunAsync();
    }

    [Fact]
    public Task FixAll_AcrossDocumentsAndProjects()
    {
        var test = VerifyCS.Test(
            """
            using System;

            class A
            {
                int[] X() => [|new int[0]|];
                string[] Y() => [|new string[] { }|];
            }
            """,
            """
            using System;

            class A
            {
                int[] X() => Array.Empty<int>();
                string[] Y() => Array.Empty<string>();
            }
            """);
        test.Sources.Add("class B { char[] Z() => [|new char[0]|]; }");
        test.FixedSources.Add("class B { char[] Z() => System.Array.Empty<char>(); }");
        test.OtherProjectSources.Add("class D { long[] W() => [|new long[0]|]; }");
        test.FixedOtherProjectSources.Add("class D { long[] W() => System.Array.Empty<long>(); }");
        return test.RunAsync();
    }

    [Fact]
    public async Task Behaviour_SameResultsBeforeAndAfterTheFix()
    {
        const string before = """
            using System;
            using System.Linq;

            static class Program
            {
                static int[] Evens(int[] values) => values.Length == 0 ? new int[0] : values.Where(v => v % 2 == 0).ToArray();

                public static string Run()
                {
                    var none = Evens(new int[] { });
                    var some = Evens(new[] { 1, 2, 4 });
                    return none.Length + "|" + string.Join(",", some) + "|" + string.Join(",", new string[0]);
                }
            }
            """;
        const string after = """
            using System;
            using System.Linq;

            static class Program
            {
                static int[] Evens(int[] values) => values.Length == 0 ? Array.Empty<int>() : values.Where(v => v % 2 == 0).ToArray();

                public static string Run()
                {
                    var none = Evens(Array.Empty<int>());
                    var some = Evens(new[] { 1, 2, 4 });
                    return none.Length + "|" + string.Join(",", some) + "|" + string.Join(",", Array.Empty<string>());
                }
            }
            """;
        var test = VerifyCS.Test(
            before.Replace("new int[0]", "[|new int[0]|]").Replace("new int[] { }", "[|new int[] { }|]").Replace("new string[0]", "[|new string[0]|]"),
            after);
        await test.RunAsync();
        Assert.Equal("0|2,4|", Behaviour.Run(before));
        Assert.Equal(Behaviour.Run(before), Behaviour.Run(after));
    }

    // ------------------------------------------------------------------ not reported

    [Fact]
    public Task AttributeArgument_NoDiagnostic() => VerifyCS.NoFixAsync(
        """
        using System;

        class TagsAttribute : Attribute { public TagsAttribute(string[] tags) { } public int[] Codes { get; set; } = Array.Empty<int>(); }

        [Tags(new string[0], Codes = new int[] { })]
        class C { }
        """);

    [Fact]
    public Task ParamsCallWithoutArguments_NoDiagnostic() => VerifyCS.AnalyzerAsync(
        """
        class C
        {
            static int Sum(params int[] values) => values.Length;
            int M() => Sum();
        }
        """);

    [Fact]
    public Task NonZeroOrNonConstantSizeOrMultiDimensional_NoDiagnostic() => VerifyCS.AnalyzerAsync(
        """
        class C
        {
            object M(int n)
            {
                var a = new int[1];
                var b = new int[n];
                var c = new int[0, 0];
                var d = new[] { 1 };
                int[] e = [];
                return (a, b, c, d, e);
            }
        }
        """);

    [Fact]
    public Task LockObjectsAndObjectTypedSentinels_NoDiagnostic() => VerifyCS.AnalyzerAsync(
        """
        using System.Threading;

        class C
        {
            private readonly object _gate = new byte[0];
            private static readonly object s_missing = new object[0];
            private readonly byte[] _sync = new byte[0];

            public object Get(object value) => value ?? s_missing;

            public void M()
            {
                lock (_gate) { }
                lock (_sync) { }
                var local = new int[0];
                lock (local) { }
                Monitor.Enter(new char[0]);
            }
        }
        """);

    [Fact]
    public Task ReferenceComparedSentinels_NoDiagnostic() => VerifyCS.AnalyzerAsync(
        """
        class C
        {
            private static readonly string[] s_unset = new string[0];
            private string[] _values = s_unset;

            public bool IsSet => _values != s_unset;

            public bool Same(int[] other)
            {
                var marker = new int[0];
                return ReferenceEquals(marker, other) || marker == other;
            }
        }
        """);

    [Fact]
    public Task KeysOfReferenceComparedTables_NoDiagnostic() => VerifyCS.AnalyzerAsync(
        """
        using System.Collections.Generic;
        using System.Runtime.CompilerServices;

        class C
        {
            private readonly Dictionary<int[], string> _names = new();
            private readonly ConditionalWeakTable<string[], object> _attached = new();
            private readonly HashSet<byte[]> _seen = new();

            public void M()
            {
                _names.Add(new int[0], "none");
                _attached.Add(new string[0], new object());
                var key = new byte[0];
                _seen.Add(key);
                _names[new int[] { }] = "empty";
                RuntimeHelpers.GetHashCode(new long[0]);
            }
        }
        """);

    [Fact]
    public Task InsideExpressionTree_NoDiagnostic() => VerifyCS.AnalyzerAsync(
        """
        using System;
        using System.Linq;
        using System.Linq.Expressions;

        class C
        {
            Expression<Func<int, bool>> M() => id => new int[0].Contains(id);
            IQueryable<int> Q(IQueryable<int> q) => q.Where(x => new int[] { }.Length == x);
        }
        """);

    [Fact]
    public Task PointerElementType_NoDiagnostic() => VerifyCS.AnalyzerAsync(
        """
        unsafe class C
        {
            int*[] M() => new int*[0];
        }
        """);

    [Fact]
    public Task IncompleteCode_NoDiagnostic_NoCrash()
    {
        var test = VerifyCS.AnalyzerTest(
            """
            class C
            {
                int[] A() => new int[0
                int[] B() => new Missing[0];
                int[] C() => new int[] { ;
                void D() { var x = new [0]; }
            }
            """);
        test.AllowCompilerErrors = true;
        return test.RunAsync();
    }

    [Fact]
    public async Task TargetWithoutArrayEmpty_NoDiagnostic()
    {
        // A corlib from before .NET Framework 4.6: System.Array has no Empty<T>.
        const string corlib = """
            namespace System
            {
                public class Object { }
                public abstract class ValueType { }
                public abstract class Enum : ValueType { }
                public class String { }
                public abstract class Array { }
                public struct Void { }
                public struct Int32 { }
                public struct Boolean { }
                public abstract class Delegate { }
                public abstract class MulticastDelegate : Delegate { }
                public class Type { }
                public struct RuntimeTypeHandle { }
                public struct RuntimeFieldHandle { }
                public struct IntPtr { }
                public interface IDisposable { }
                namespace Collections { public interface IEnumerable { } }
            }
            """;
        var corlibCompilation = CSharpCompilation.Create("mscorlib", new[] { CSharpSyntaxTree.ParseText(corlib, new CSharpParseOptions(LanguageVersion.CSharp7_3)) }, options: new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        using var stream = new MemoryStream();
        var emitted = corlibCompilation.Emit(stream);
        Assert.True(emitted.Success, string.Join("\n", emitted.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)));
        var reference = MetadataReference.CreateFromImage(stream.ToArray());

        var user = CSharpCompilation.Create(
            "User",
            new[] { CSharpSyntaxTree.ParseText("class C { int[] M() { return new int[0]; } }", new CSharpParseOptions(LanguageVersion.CSharp7_3)) },
            new[] { reference },
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        Assert.Empty(user.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
        Assert.False(ZeroLengthArrayAllocationAnalyzer.HasArrayEmpty(user));
        var diagnostics = await user.WithAnalyzers([new ZeroLengthArrayAllocationAnalyzer()]).GetAllDiagnosticsAsync();
        Assert.DoesNotContain(diagnostics, d => d.Id == "MSA1008" || d.Id == "AD0001");
    }

    /// <summary>The default scope is hot paths and loops: 24 bytes once per call of an ordinary method (an attribute
    /// constructor, a reflection helper) was not worth a warning on third-party libraries; per iteration or in a hot
    /// member it is.</summary>
    [Fact]
    public async Task DefaultScope_HotPathsAndLoops()
    {
        await Verify<ZeroLengthArrayAllocationAnalyzer>.AnalyzerAsync("class C { int[] M() => new int[0]; }");
        await Verify<ZeroLengthArrayAllocationAnalyzer>.AnalyzerAsync(
            "class C { static int Use(int[] a) => a.Length; int M(int n) { var t = 0; for (var i = 0; i < n; i++) t += Use([|new int[0]|]); return t; } }");
        await Verify<ZeroLengthArrayAllocationAnalyzer>.AnalyzerAsync(
            "sealed class HotPathAttribute : System.Attribute { } class C { [HotPath] int[] M() => [|new int[0]|]; }");
    }

    /// <summary>The message says how often the array is allocated: per iteration on a loop cycle, per call in a hot path.</summary>
    [Fact]
    public Task Message_SaysHowOftenItAllocates()
    {
        var test = Verify<ZeroLengthArrayAllocationAnalyzer>.Test(
            """
            sealed class HotPathAttribute : System.Attribute { }
            class C
            {
                static int Use(int[] a) => a.Length;
                int Loop(int n) { var t = 0; for (var i = 0; i < n; i++) t += Use({|#0:new int[0]|}); return t; }
                [HotPath] int[] Hot() => {|#1:new int[0]|};
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA1008", 0).WithMessage(
            "'new int[0]' allocates a new empty array on every iteration; Array.Empty<int>() returns one shared instance"));
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA1008", 1).WithMessage(
            "'new int[0]' allocates a new empty array on every call of this hot path; Array.Empty<int>() returns one shared instance"));
        return test.RunAsync();
    }
}
