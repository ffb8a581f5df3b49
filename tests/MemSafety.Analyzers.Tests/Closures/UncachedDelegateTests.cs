using System.Linq;
using System.Reflection.Metadata;
using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.Closures;
using MemSafety.Analyzers.Tests.Verification;
using MemSafety.CodeFixes.Closures;
using Microsoft.CodeAnalysis.CSharp;

namespace MemSafety.Analyzers.Tests.Closures;

public sealed class UncachedDelegateTests
{
    /// <summary>These tests are about which delegates the compiler cannot cache; they use loops of ordinary methods, which
    /// the default scope (hot paths only) does not reach, so they widen it to loops. DefaultScope_* checks the default.</summary>
    private static readonly VerifyWithOptions<UncachedDelegateAnalyzer, UncachedDelegateFix> VerifyCS = new(("memsafety.MSA3004.scope", "hot_paths_and_loops"));

    private static Task NoDiagnostic(string source) => VerifyCS.AnalyzerAsync(source);

    private static AnalyzerTest FixTest(string source, string fixedSource, string equivalenceKey, LanguageVersion version = LanguageVersion.Latest)
    {
        var test = VerifyCS.Test(source, fixedSource);
        test.CodeActionEquivalenceKey = equivalenceKey;
        test.LanguageVersion = version;
        if (version < LanguageVersion.CSharp8)
            test.NullableContextOptions = Microsoft.CodeAnalysis.NullableContextOptions.Disable;
        return test;
    }

    // ------------------------------------------------------------------ reported

    [Fact]
    public Task InstanceMethodGroupInLoop_CachedInAField() => FixTest(
        """
        using System.Collections.Generic;

        class Sorter
        {
            private int _direction = 1;

            public void SortAll(List<List<int>> lists)
            {
                foreach (var list in lists)
                    list.Sort([|Compare|]);
            }

            private int Compare(int a, int b) => _direction * a.CompareTo(b);
        }
        """,
        """
        using System.Collections.Generic;

        class Sorter
        {
            private int _direction = 1;
            private System.Comparison<int>? _compareDelegate;

            public void SortAll(List<List<int>> lists)
            {
                foreach (var list in lists)
                    list.Sort(_compareDelegate ??= Compare);
            }

            private int Compare(int a, int b) => _direction * a.CompareTo(b);
        }
        """,
        "MSA3004.CacheInField").RunAsync();

    [Fact]
    public Task MethodUsesNoInstanceState_MadeStatic_AndThisQualifiedUsesUnqualified() => FixTest(
        """
        using System.Collections.Generic;

        class Sorter
        {
            public void SortAll(List<List<int>> lists)
            {
                foreach (var list in lists)
                    list.Sort([|this.Compare|]);
                var first = this.Compare(1, 2);
            }

            private int Compare(int a, int b) => a.CompareTo(b);
        }
        """,
        """
        using System.Collections.Generic;

        class Sorter
        {
            public void SortAll(List<List<int>> lists)
            {
                foreach (var list in lists)
                    list.Sort(Compare);
                var first = Compare(1, 2);
            }

            private static int Compare(int a, int b) => a.CompareTo(b);
        }
        """,
        "MSA3004.MakeStatic").RunAsync();

    [Fact]
    public Task ThisOnlyLambdaInLoop_CachedInAField_SharedNameForEachLambda() => FixTest(
        """
        using System.Collections.Generic;
        using System.Linq;

        class Filter
        {
            private int _limit;

            public int CountAbove(List<int[]> rows)
            {
                var t = 0;
                foreach (var row in rows)
                    t += row.Count([|x => x > _limit|]) + row.Count([|x => x < -_limit|]);
                return t;
            }
        }
        """,
        """
        using System.Collections.Generic;
        using System.Linq;

        class Filter
        {
            private int _limit;
            private System.Func<int, bool>? _predicate;
            private System.Func<int, bool>? _predicate2;

            public int CountAbove(List<int[]> rows)
            {
                var t = 0;
                foreach (var row in rows)
                    t += row.Count(_predicate ??= x => x > _limit) + row.Count(_predicate2 ??= x => x < -_limit);
                return t;
            }
        }
        """,
        "MSA3004.CacheInField").RunAsync();

    [Fact]
    public Task SameMethodGroupTwice_OneFieldServesBoth() => FixTest(
        """
        using System;
        using System.Collections.Generic;

        class Sorter
        {
            private int _direction = 1;

            public void SortAll(List<List<int>> lists, List<int[]> arrays)
            {
                foreach (var list in lists)
                    list.Sort([|Compare|]);
                foreach (var array in arrays)
                    Array.Sort(array, [|Compare|]);
            }

            private int Compare(int a, int b) => _direction * a.CompareTo(b);
        }
        """,
        """
        using System;
        using System.Collections.Generic;

        class Sorter
        {
            private int _direction = 1;
            private Comparison<int>? _compareDelegate;

            public void SortAll(List<List<int>> lists, List<int[]> arrays)
            {
                foreach (var list in lists)
                    list.Sort(_compareDelegate ??= Compare);
                foreach (var array in arrays)
                    Array.Sort(array, _compareDelegate ??= Compare);
            }

            private int Compare(int a, int b) => _direction * a.CompareTo(b);
        }
        """,
        "MSA3004.CacheInField").RunAsync();

    [Fact]
    public Task StaticMethodGroup_CSharp10_CachedInAStaticReadonlyField() => FixTest(
        """
        using System.Collections.Generic;
        using System.Linq;

        class Parser
        {
            public int Total(List<string[]> rows)
            {
                var t = 0;
                foreach (var row in rows)
                    t += row.Sum([|Parse|]);
                return t;
            }

            private static int Parse(string s) => int.Parse(s);
        }
        """,
        """
        using System.Collections.Generic;
        using System.Linq;

        class Parser
        {
            private static readonly System.Func<string, int> s_parseDelegate = Parse;

            public int Total(List<string[]> rows)
            {
                var t = 0;
                foreach (var row in rows)
                    t += row.Sum(s_parseDelegate);
                return t;
            }

            private static int Parse(string s) => int.Parse(s);
        }
        """,
        "MSA3004.CacheInField", LanguageVersion.CSharp10).RunAsync();

    [Fact]
    public Task CSharp7_LazyFieldWithoutCoalesceAssignment() => FixTest(
        """
        using System.Collections.Generic;

        class C
        {
            void M(List<List<int>> lists)
            {
                foreach (var list in lists)
                    list.Sort([|Compare|]);
            }

            int _direction = 1;
            int Compare(int a, int b) => _direction * a.CompareTo(b);
        }
        """,
        """
        using System.Collections.Generic;

        class C
        {
            void M(List<List<int>> lists)
            {
                foreach (var list in lists)
                    list.Sort(_compareDelegate ?? (_compareDelegate = Compare));
            }

            int _direction = 1;
            private System.Comparison<int> _compareDelegate;
            int Compare(int a, int b) => _direction * a.CompareTo(b);
        }
        """,
        "MSA3004.CacheInField", LanguageVersion.CSharp7_3).RunAsync();

    [Fact]
    public Task Message_InstanceMethodGroupThatCouldBeStatic()
    {
        var test = VerifyCS.AnalyzerTest(
            """
            using System.Collections.Generic;
            class Sorter
            {
                public void SortAll(List<List<int>> lists)
                {
                    foreach (var list in lists)
                        list.Sort({|#0:Compare|});
                }
                private int Compare(int a, int b) => a.CompareTo(b);
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA3004", 0).WithMessage(
            "Method group 'Compare' allocates a new 'Comparison<int>' delegate on every iteration: 'Compare' is an instance method, so the delegate is bound to 'this' " +
            "and the compiler cannot cache it; 'Compare' uses no instance state: make it static (the compiler caches delegates of static methods), or cache the delegate in a field"));
        return test.RunAsync();
    }

    [Fact]
    public Task InstanceMethodWithoutState_CSharp10_NoMakeStaticAdvice()
    {
        // Before C# 11 a static method group is not cached either: making the method static would not help.
        const string source = """
            using System.Collections.Generic;
            class Sorter
            {
                public void SortAll(List<List<int>> lists)
                {
                    foreach (var list in lists)
                        list.Sort({|#0:Compare|});
                }
                private int Compare(int a, int b) => a.CompareTo(b);
            }
            """;
        var test = VerifyCS.AnalyzerTest(source);
        test.LanguageVersion = LanguageVersion.CSharp10;
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA3004", 0).WithMessage(
            "Method group 'Compare' allocates a new 'Comparison<int>' delegate on every iteration: 'Compare' is an instance method, so the delegate is bound to 'this' " +
            "and the compiler cannot cache it; cache the delegate in a field of this object"));
        return test.RunAsync();
    }

    [Theory]
    [InlineData("private int Compare(int a, int b) => a.CompareTo(b); int Other(Sorter other) => other.Compare(1, 2);")]
    [InlineData("public int Compare(int a, int b) => a.CompareTo(b);")]
    [InlineData("private virtual int Compare(int a, int b) => a.CompareTo(b);")]
    public Task MethodReachedThroughAnotherInstanceOrPartOfTheApi_NotMadeStatic(string members)
    {
        // The make-static action changes nothing (it is not offered); the cache-in-field action still is.
        var source = "using System.Collections.Generic;\nclass Sorter\n{\n    public void SortAll(List<List<int>> lists)\n    {\n        foreach (var list in lists)\n            list.Sort([|Compare|]);\n    }\n    " + members + "\n}\n";
        if (members.Contains("virtual"))
            source = source.Replace("private virtual", "protected virtual");
        return FixTest(source, source, "MSA3004.MakeStatic").RunAsync();
    }

    [Fact]
    public Task DelegateTypeUsesAMethodTypeParameter_NoFix() => VerifyCS.NoFixAsync(
        """
        using System.Collections.Generic;
        class Sorter
        {
            int _direction = 1;
            public void SortAll<T>(List<List<T>> lists) where T : System.IComparable<T>
            {
                foreach (var list in lists)
                    list.Sort([|Compare<T>|]);
            }
            private int Compare<T>(T a, T b) where T : System.IComparable<T> => _direction * a.CompareTo(b);
        }
        """);

    // A field cannot hold a delegate whose type uses a type parameter of a generic method: the message gives the option
    // that exists (the fix above is not offered).

    [Fact]
    public Task Message_DelegateTypeUsesAMethodTypeParameter_InALoop_CreateItBeforeTheLoop()
    {
        var test = VerifyCS.AnalyzerTest(
            """
            using System.Collections.Generic;
            class Sorter
            {
                int _direction = 1;
                public void SortAll<T>(List<List<T>> lists) where T : System.IComparable<T>
                {
                    foreach (var list in lists)
                        list.Sort({|#0:Compare<T>|});
                }
                private int Compare<T>(T a, T b) where T : System.IComparable<T> => _direction * a.CompareTo(b);
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA3004", 0).WithMessage(
            "Method group 'Compare<T>' allocates a new 'Comparison<T>' delegate on every iteration: 'Compare' is an instance method, so the delegate is bound to 'this' " +
            "and the compiler cannot cache it; its type uses 'T', a type parameter of 'SortAll', so no field can hold it: create it once before the loop and reuse it"));
        return test.RunAsync();
    }

    // An anonymous type has no name a field declaration could use: the advice must not be "cache it in a field".
    [Fact]
    public Task Message_DelegateTypeUsesAnAnonymousType_HotPath_NameTheType()
    {
        var test = Verify<UncachedDelegateAnalyzer>.Test(
            """
            using System.Collections.Generic;
            sealed class HotPathAttribute : System.Attribute { }
            class C
            {
                int _limit;
                [HotPath] public int First(int n)
                {
                    var xs = new List<int>();
                    for (var i = 0; i < n; i++) xs.Add(i);
                    var pairs = xs.ConvertAll(x => new { Value = x });
                    return pairs.FindIndex({|#0:p => p.Value > _limit|});
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA3004", 0).WithMessage(
            "Lambda allocates a new 'Predicate<<anonymous type: int Value>>' delegate on every call of this hot path: it uses only 'this', so it becomes an instance method of the type and the compiler " +
            "cannot cache its delegate; its type uses an anonymous type, so no field can hold it: name the type (a record or a tuple) to cache it in a field"));
        return test.RunAsync();
    }

    [Fact]
    public Task Message_DelegateTypeUsesAMethodTypeParameter_HotPath_NoFieldAdvice()
    {
        var test = Verify<UncachedDelegateAnalyzer>.Test(
            """
            using System.Collections.Generic;
            sealed class HotPathAttribute : System.Attribute { }
            class C
            {
                int _limit;
                [HotPath] public int First<T>(List<T> xs) => xs.FindIndex({|#0:x => x!.GetHashCode() > _limit|});
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA3004", 0).WithMessage(
            "Lambda allocates a new 'Predicate<T>' delegate on every call of this hot path: it uses only 'this', so it becomes an instance method of the type and the compiler " +
            "cannot cache its delegate; its type uses 'T', a type parameter of 'First', so no field can hold it: only a cache of this object keyed by the type argument could keep it"));
        return test.RunAsync();
    }

    [Fact]
    public Task Message_DelegateTypeUsesAMethodTypeParameter_StaticMethodGroupBeforeCSharp11_GenericHolder()
    {
        var test = VerifyCS.AnalyzerTest(
            """
            using System.Collections.Generic;
            class Sorter
            {
                public void SortAll<T>(List<List<T>> lists) where T : System.IComparable<T>
                {
                    foreach (var list in lists)
                        list.Sort({|#0:Compare<T>|});
                }
                private static int Compare<T>(T a, T b) where T : System.IComparable<T> => a.CompareTo(b);
            }
            """);
        test.LanguageVersion = LanguageVersion.CSharp10;
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA3004", 0).WithMessage(
            "Method group 'Compare<T>' allocates a new 'Comparison<T>' delegate on every iteration: before C# 11 the compiler does not cache delegates of static methods " +
            "(this code is compiled as C# 10.0); its type uses 'T', a type parameter of 'SortAll', so cache it in a static readonly field of a generic static class " +
            "(one per type argument), or compile with C# 11 or later"));
        return test.RunAsync();
    }

    [Fact]
    public Task MethodGroupOfAnotherObject_ReportedWithoutFix()
    {
        const string source = """
            using System.Collections.Generic;
            class C
            {
                void M(List<int[]> rows, HashSet<int> seen, List<int> sink)
                {
                    foreach (var row in rows)
                    {
                        System.Array.ForEach(row, {|#0:sink.Add|});
                        System.Array.FindAll(row, {|#1:seen.Contains|});
                    }
                }
            }
            """;
        var test = VerifyCS.AnalyzerTest(source);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA3004", 0).WithMessage(
            "Method group 'sink.Add' allocates a new 'Action<int>' delegate on every iteration: the delegate is bound to 'sink', so the compiler cannot cache it; create it once, where its target is known, and reuse it"));
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA3004", 1));
        return Task.WhenAll(test.RunAsync(), VerifyCS.NoFixAsync(source.Replace("{|#0:", "[|").Replace("{|#1:", "[|").Replace("Add|}", "Add|]").Replace("Contains|}", "Contains|]")));
    }

    [Fact]
    public Task MethodGroupOfAnObjectThatChanges_NoDiagnostic() => NoDiagnostic(
        // Each iteration or call binds a different object: a new delegate is needed each time.
        """
        using System;
        using System.Collections.Generic;
        using System.Linq;
        class C
        {
            void M(List<List<int>> lists, List<int[]> rows, List<int> sink, string[] prefixes)
            {
                foreach (var list in lists)
                    rows.ForEach(r => Array.ForEach(r, list.Add));
                foreach (var row in rows)
                    Array.ForEach(row, new List<int>().Add);
                var i = 0;
                while (i < lists.Count)
                    Array.ForEach(rows[i], lists[i++].Add);
                var matches = prefixes.Where(p => prefixes.Any(p.StartsWith)).ToList();
            }
        }
        """);

    [Fact]
    public Task MethodGroupOfAReadonlyField_InAHotPath_Reported()
    {
        var test = Verify<UncachedDelegateAnalyzer>.Test(
            """
            using System.Collections.Generic;
            sealed class HotPathAttribute : System.Attribute { }
            class C
            {
                readonly HashSet<int> _seen = new();
                [HotPath] public int[] M(int[] row) => System.Array.FindAll(row, [|_seen.Contains|]);
            }
            """);
        return test.RunAsync();
    }

    [Fact]
    public Task ThisOnlyLambda_Message()
    {
        var test = VerifyCS.AnalyzerTest(
            "using System.Collections.Generic; using System.Linq; class C { int _limit; int M(List<int[]> rows) { var t = 0; foreach (var row in rows) t += row.Count({|#0:x => x > _limit|}); return t; } }");
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA3004", 0).WithMessage(
            "Lambda allocates a new 'Func<int, bool>' delegate on every iteration: it uses only 'this', so it becomes an instance method of the type and the compiler cannot cache its delegate; cache the delegate in a field of this object"));
        return test.RunAsync();
    }

    [Fact]
    public Task AsyncThisOnlyLambdaInALoopOfALocalFunction_Reported() => VerifyCS.AnalyzerAsync(
        """
        using System;
        using System.Collections.Generic;
        using System.Threading.Tasks;
        class C
        {
            int _delay;
            static void Run(Func<Task> work) => work().Wait();
            void M(List<int> xs)
            {
                Each(xs);
                void Each(List<int> items) { foreach (var x in items) Run([|async () => await Task.Delay(_delay)|]); }
            }
        }
        """);

    [Fact]
    public Task LinqQueryClauseUsingThis_ReportedWithoutFix() => VerifyCS.NoFixAsync(
        """
        using System.Collections.Generic;
        using System.Linq;
        class C
        {
            int _limit;
            int M(List<int[]> rows)
            {
                var t = 0;
                foreach (var row in rows)
                    t += (from x in row where [|x > _limit|] select x).Count();
                return t;
            }
        }
        """);

    [Fact]
    public Task HotPathOutsideLoops_ReportedPerCall()
    {
        var test = Verify<UncachedDelegateAnalyzer>.Test(
            """
            using System.Collections.Generic;
            sealed class HotPathAttribute : System.Attribute { }
            class C
            {
                int _limit;
                [HotPath] public int M(List<int> xs) => xs.FindIndex({|#0:IsAbove|});
                bool IsAbove(int x) => x > _limit;
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA3004", 0).WithMessage(
            "Method group 'IsAbove' allocates a new 'Predicate<int>' delegate on every call of this hot path: 'IsAbove' is an instance method, so the delegate is bound to 'this' and the compiler cannot cache it; cache the delegate in a field of this object"));
        return test.RunAsync();
    }

    // ------------------------------------------------------------------ not reported

    [Fact]
    public Task StaticMethodGroup_CSharp11_CachedByTheCompiler_NoDiagnostic() => NoDiagnostic(
        "using System.Collections.Generic; using System.Linq; class C { int M(List<string[]> rows) { var t = 0; foreach (var row in rows) t += row.Sum(Parse); return t; } static int Parse(string s) => s.Length; }");

    [Fact]
    public Task NonCapturingAndStaticLambdas_NoDiagnostic() => NoDiagnostic(
        "using System.Collections.Generic; using System.Linq; class C { int M(List<int[]> rows) { var t = 0; foreach (var row in rows) t += row.Count(x => x > 2) + row.Count(static x => x < 0); return t; } }");

    [Fact]
    public Task CapturingLambda_LeftToMSA3002_NoDiagnostic() => NoDiagnostic(
        "using System.Collections.Generic; using System.Linq; class C { int _b; int M(List<int[]> rows, int limit) { var t = 0; var k = 0; while (k++ < 3) t += rows[0].Count(x => x > limit + _b); return t; } }");

    [Fact]
    public Task ThisOnlyLambdaToAMethodWithStateForm_LeftToMSA3001_NoDiagnostic() => NoDiagnostic(
        // CancellationToken.Register has a state overload: MSA3001 reports it, with a fix that removes the delegate.
        "using System.Collections.Generic; using System.Threading; class C { int _n; void M(List<CancellationToken> tokens) { foreach (var t in tokens) t.Register(() => _n++); } }");

    [Fact]
    public Task ThisOnlyLambdaToAMethodWithStateForm_OutsideMSA3001sScope_Reported()
    {
        // MSA3001 reports in hot paths and loops by default: a cold method that MSA3004 is widened to is not left to it.
        var test = Verify<UncachedDelegateAnalyzer>.Test(
            "using System.Threading; class C { int _n; void M(CancellationToken token) { token.Register([|() => _n++|]); } }");
        test.AnalyzerOptions["memsafety.MSA3004.scope"] = "everywhere";
        return test.RunAsync();
    }

    [Fact]
    public Task StructMethodGroup_LeftToMSA2001_NoDiagnostic() => NoDiagnostic(
        "using System.Collections.Generic; struct S { int _l; bool Above(int x) => x > _l; public int M(List<int> xs) { var t = 0; foreach (var x in xs) t += xs.FindIndex(Above); return t; } }");

    [Fact]
    public Task LocalFunctionMethodGroup_NoDiagnostic() => NoDiagnostic(
        "using System.Collections.Generic; class C { int _l; int M(List<List<int>> ls) { var t = 0; foreach (var l in ls) t += l.FindIndex(Above); return t; bool Above(int x) => x > _l; } }");

    [Fact]
    public Task ThisOnlyLambdaWhereTheMethodHasADisplayClass_CachedByTheCompiler_NoDiagnostic() => NoDiagnostic(
        // 'limit' gives the method a display class, which holds 'this' and the lambda; the foreach variable lies between,
        // so the delegate is cached there: one per call (IL: Il_ThisOnlyLambda_CachedWhenTheMethodHasADisplayClass).
        """
        using System;
        using System.Collections.Generic;
        using System.Linq;
        class C
        {
            int _limit;
            int M(List<int[]> rows, int limit)
            {
                Func<int, bool> f = x => x > limit;
                var t = 0;
                foreach (var row in rows)
                    t += row.Count(x => x > _limit) + (f(1) ? 1 : 0);
                return t;
            }
        }
        """);

    [Fact]
    public Task ThisOnlyLambdaInsideACapturingLambda_CachedByTheCompiler_NoDiagnostic() => NoDiagnostic(
        "using System.Collections.Generic; using System.Linq; class C { int _l; IEnumerable<int> M(List<int[]> rows, int[] ys) => rows.Select(r => ys.Count(y => y > _l)); }");

    [Fact]
    public Task EventSubscriptionOutsideALoop_Registration_NoDiagnostic()
    {
        var test = Verify<UncachedDelegateAnalyzer>.Test(
            """
            using System;
            sealed class HotPathAttribute : System.Attribute { }
            class C
            {
                event EventHandler? Changed;
                [HotPath] public void Attach(C other) { other.Changed += OnChanged; }
                void OnChanged(object? sender, EventArgs e) { }
            }
            """);
        return test.RunAsync();
    }

    [Fact]
    public Task ConstructorAndMain_NoDiagnostic()
    {
        var test = Verify<UncachedDelegateAnalyzer>.Test(
            """
            using System.Collections.Generic;
            class C
            {
                int _l;
                public C(List<List<int>> ls) { foreach (var l in ls) l.Sort(Compare); }
                int Compare(int a, int b) => _l * a.CompareTo(b);
                public static void Main(string[] args) { var c = new C(new()); foreach (var a in args) System.Array.FindIndex(args, c.IsLong); }
                bool IsLong(string s) => s.Length > _l;
            }
            """);
        test.AnalyzerOptions["memsafety.scope"] = "everywhere";
        return test.RunAsync();
    }

    [Fact]
    public Task ExpressionTreeAndThrow_NoDiagnostic() => NoDiagnostic(
        """
        using System;
        using System.Collections.Generic;
        using System.Linq;
        using System.Linq.Expressions;
        class C
        {
            int _l;
            bool Above(int x) => x > _l;
            void M(List<int[]> rows, IQueryable<int> q)
            {
                foreach (var row in rows)
                {
                    Expression<Func<int, bool>> e = x => x > _l;
                    var n = q.Count(x => Above(x));
                    if (row.Length == 0) throw new InvalidOperationException(Array.Find(row, Above).ToString());
                }
            }
        }
        """);

    [Fact]
    public Task GeneratedCode_NoDiagnostic() => NoDiagnostic(
        "// <auto-generated/>\nusing System.Collections.Generic; class C { int _l; int M(List<List<int>> ls) { var t = 0; foreach (var l in ls) t += l.FindIndex(Above); return t; } bool Above(int x) => x > _l; }");

    [Fact]
    public async Task DefaultScope_LoopOfAnUnmarkedMethod_NoDiagnostic()
    {
        const string source = """
            using System.Collections.Generic;
            sealed class HotPathAttribute : System.Attribute { }
            class C
            {
                int _l;
                ATTRIBUTE int M(List<List<int>> ls) { var t = 0; foreach (var l in ls) t += l.FindIndex(MARK); return t; }
                bool Above(int x) => x > _l;
            }
            """;
        await Verify<UncachedDelegateAnalyzer>.AnalyzerAsync(source.Replace("ATTRIBUTE", "").Replace("MARK", "Above"));
        await Verify<UncachedDelegateAnalyzer>.AnalyzerAsync(source.Replace("ATTRIBUTE", "[HotPath]").Replace("MARK", "[|Above|]"));
        var strict = Verify<UncachedDelegateAnalyzer>.Test(source.Replace("ATTRIBUTE", "").Replace("MARK", "[|Above|]"));
        strict.AnalyzerOptions["memsafety.scope"] = "everywhere";
        await strict.RunAsync();
    }

    [Fact]
    public Task IncompleteCode_NoCrash()
    {
        var test = VerifyCS.AnalyzerTest("using System.Collections.Generic; class C { void M(List<List<int>> ls) { foreach (var l in ls) l.Sort([|Compare|]); } int Compare(int a, int b) => a.CompareTo( }");
        test.AllowCompilerErrors = true;
        return test.RunAsync();
    }

    // ------------------------------------------------------------------ evidence: IL and allocations (.NET 10)

    private const string Program = """
        using System.Collections.Generic;
        using System.Linq;
        using System.Runtime.CompilerServices;
        public class Program
        {
            static readonly Program Instance = new();
            static readonly List<int[]> Rows = Enumerable.Range(0, 100).Select(i => new[] { i, i + 1 }).ToList();
            int _limit = 50;
            FIELDS
            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            public static void Measure() => Instance.Count(Rows);
            public static string Run() => Instance.Count(Rows) + "," + new Program { _limit = 10 }.Count(Rows);
            int Count(List<int[]> rows)
            {
                var t = 0;
                foreach (var row in rows)
                    t += System.Array.FindIndex(row, TARGET) + 1;
                return t;
            }
            bool IsAbove(int x) => x > _limit;
            METHOD
        }
        """;

    private static string Source(string target, string fields = "", string method = "")
        => Program.Replace("TARGET", target).Replace("FIELDS", fields).Replace("METHOD", method);

    private static int DelegateConstructions(IlMethod method) => method.Instructions.Count(i => i.OpCode == ILOpCode.Newobj && i.Token!.Contains("::.ctor(System.Object, System.IntPtr)"));

    [Theory]
    [InlineData("IsAbove")]
    [InlineData("x => x > _limit")]
    public void Il_InstanceMethodGroupOrThisOnlyLambda_NewDelegateEveryIteration_FieldCreatesItOnce(string target)
    {
        var before = IlInspection.Compile(Source(target));
        var after = IlInspection.Compile(Source("_cached ??= " + target, "System.Predicate<int>? _cached;"));
        var count = before.Method("Program", "Count");
        // ldftn + newobj in the loop body, no cache of any kind: neither a display class nor a static field holds it.
        Assert.Equal(1, DelegateConstructions(count));
        Assert.DoesNotContain(count.Instructions, i => i.Token?.Contains("<>9") == true || i.Token?.Contains("<>O") == true);
        var perCallBefore = before.AllocatedBytesPerCall("Program", "Measure");
        var perCallAfter = after.AllocatedBytesPerCall("Program", "Measure");
        Assert.True(perCallBefore >= 100 * 64, $"{target}: {perCallBefore} B/call before");
        Assert.True(perCallAfter < 64, $"{target}: {perCallAfter} B/call after");
    }

    /// <summary>Every shape a positive test above reports "on every iteration", compiled: no cache of any kind (no
    /// <c>&lt;&gt;9__</c> field of a display class or of <c>&lt;&gt;c</c>, no <c>&lt;&gt;O</c> field), a delegate newobj in the loop.</summary>
    [Theory]
    [InlineData("int _d = 1; void M(List<List<int>> lists) { foreach (var list in lists) list.Sort(Compare); } int Compare(int a, int b) => _d * a.CompareTo(b);")]
    [InlineData("int _limit; int M(List<int[]> rows) { var t = 0; foreach (var row in rows) t += row.Count(x => x > _limit) + row.Count(x => x < -_limit); return t; }")]
    [InlineData("int _delay; static void Run(Func<Task> work) => work().Wait(); void M(List<int> xs) { Each(xs); void Each(List<int> items) { foreach (var x in items) Run(async () => await Task.Delay(_delay)); } }")]
    [InlineData("int _limit; int M(List<int[]> rows) { var t = 0; foreach (var row in rows) t += (from x in row where x > _limit select x).Count(); return t; }")]
    [InlineData("void M(List<int[]> rows, HashSet<int> seen, List<int> sink) { foreach (var row in rows) { Array.ForEach(row, sink.Add); Array.FindAll(row, seen.Contains); } }")]
    public void Il_ReportedShapes_CreateTheDelegateOnEveryEvaluation(string member)
    {
        var assembly = IlInspection.Compile(
            "using System; using System.Collections.Generic; using System.Linq; using System.Threading.Tasks; class C { " + member + " }", LanguageVersion.CSharp11);
        foreach (var method in assembly.Methods)
            Assert.DoesNotContain(method.Instructions, i => i.Token?.Contains("<>9") == true || i.Token?.Contains("<>O") == true);
        Assert.Contains(assembly.Methods, m => DelegateConstructions(m) > 0);
    }

    [Fact]
    public void CacheInField_KeepsBehaviour()
    {
        foreach (var target in new[] { "IsAbove", "x => x > _limit" })
        {
            var before = Behaviour.Run(Source(target));
            Assert.Equal("51,91", before);
            Assert.Equal(before, Behaviour.Run(Source("_cached ??= " + target, "System.Predicate<int>? _cached;")));
        }
    }

    [Fact]
    public void Il_StaticMethodGroup_NewDelegateBeforeCSharp11_CachedFrom11_AndTheMakeStaticFixGetsThatCache()
    {
        const string staticMethod = "static bool IsPositive(int x) => x > 0;";
        var csharp10 = IlInspection.Compile(Source("IsPositive", method: staticMethod), LanguageVersion.CSharp10);
        var csharp11 = IlInspection.Compile(Source("IsPositive", method: staticMethod), LanguageVersion.CSharp11);
        Assert.DoesNotContain(csharp10.Method("Program", "Count").Instructions, i => i.OpCode == ILOpCode.Ldsfld && i.Token!.Contains("<>O"));
        Assert.Contains(csharp11.Method("Program", "Count").Instructions, i => i.OpCode == ILOpCode.Ldsfld && i.Token!.Contains("<>O"));
        Assert.True(csharp10.AllocatedBytesPerCall("Program", "Measure") >= 100 * 64);
        Assert.True(csharp11.AllocatedBytesPerCall("Program", "Measure") < 64);

        // The make-static fix: an instance method that uses no state, then the same method made static (C# 11).
        var instance = IlInspection.Compile(Source("IsPositive", method: "bool IsPositive(int x) => x > 0;"), LanguageVersion.CSharp11);
        Assert.True(instance.AllocatedBytesPerCall("Program", "Measure") >= 100 * 64);
        Assert.Equal(Behaviour.Run(Source("IsPositive", method: "bool IsPositive(int x) => x > 0;")), Behaviour.Run(Source("IsPositive", method: staticMethod)));

        // A static readonly field (the fix before C# 11) allocates nothing per call either.
        var fieldSource = Source("s_isPositive", "static readonly System.Predicate<int> s_isPositive = IsPositive;", staticMethod);
        var field = IlInspection.Compile(fieldSource, LanguageVersion.CSharp10);
        Assert.True(field.AllocatedBytesPerCall("Program", "Measure") < 64);
        Assert.Equal(Behaviour.Run(Source("IsPositive", method: staticMethod), languageVersion: LanguageVersion.CSharp10), Behaviour.Run(fieldSource, languageVersion: LanguageVersion.CSharp10));
    }

    [Fact]
    public void Il_ThisOnlyLambda_CachedWhenTheMethodHasADisplayClass()
    {
        // A captured parameter gives Count a display class; 'this' joins it, and with it the this-only lambda, whose
        // delegate is then cached there because the foreach variable is a scope between them.
        var assembly = IlInspection.Compile(Source("x => x > _limit").Replace("int Count(List<int[]> rows)\n    {", "int Count(List<int[]> rows, int bias = 0)\n    {\n        System.Func<int> f = () => bias;"));
        Assert.Contains(assembly.Method("Program", "Count").Instructions, i => i.OpCode == ILOpCode.Ldfld && i.Token!.Contains("<>9__"));
    }
}
