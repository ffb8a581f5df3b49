using System;
using System.IO;
using System.Linq;
using System.Runtime.Loader;
using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.HeapEscapes;
using MemSafety.Analyzers.Tests.Verification;
using MemSafety.CodeFixes.HeapEscapes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using VerifyCS = MemSafety.Analyzers.Tests.Verification.Verify<MemSafety.Analyzers.Rules.HeapEscapes.MaterializedOnceAnalyzer, MemSafety.CodeFixes.HeapEscapes.MaterializedOnceFix>;

namespace MemSafety.Analyzers.Tests.HeapEscapes;

public sealed class MaterializedOnceTests
{
    private static Task NoDiagnosticAsync(string source) => Verify<MaterializedOnceAnalyzer>.AnalyzerAsync(source);

    // ================================================================== reported and fixed

    [Fact]
    public Task ForEachOverCopyOfListParameter_ReportedAndFixed() => VerifyCS.CodeFixAsync(
        """
        using System;
        using System.Collections.Generic;
        using System.Linq;

        class C
        {
            void Print(List<string> names)
            {
                foreach (var name in names.[|ToList|]())
                {
                    Console.WriteLine(name);
                }
            }
        }
        """,
        """
        using System;
        using System.Collections.Generic;
        using System.Linq;

        class C
        {
            void Print(List<string> names)
            {
                foreach (var name in names)
                {
                    Console.WriteLine(name);
                }
            }
        }
        """);

    [Fact]
    public Task ForEachOverPureWhereChain_SumIntoLocal_ReportedAndFixed() => VerifyCS.CodeFixAsync(
        """
        using System.Collections.Generic;
        using System.Linq;

        class C
        {
            int SumLarge(IEnumerable<int> values, int min)
            {
                var total = 0;
                foreach (var v in values
                    .Where(x => x > min && x % 2 == 0)
                    .Select(x => x * 2)
                    .[|ToArray|]())
                {
                    total += v;
                }

                return total;
            }
        }
        """,
        """
        using System.Collections.Generic;
        using System.Linq;

        class C
        {
            int SumLarge(IEnumerable<int> values, int min)
            {
                var total = 0;
                foreach (var v in values
                    .Where(x => x > min && x % 2 == 0)
                    .Select(x => x * 2))
                {
                    total += v;
                }

                return total;
            }
        }
        """);

    [Fact]
    public Task CountOfCopiedQuery_BecomesCountCall() => VerifyCS.CodeFixAsync(
        """
        using System.Collections.Generic;
        using System.Linq;

        class C
        {
            int Adults(IEnumerable<int> ages) => ages.Where(a => a >= 18).[|ToList|]().Count;

            int Words(string[] words) => words.Where(w => w.Length > 3).[|ToArray|]().Length;
        }
        """,
        """
        using System.Collections.Generic;
        using System.Linq;

        class C
        {
            int Adults(IEnumerable<int> ages) => ages.Where(a => a >= 18).Count();

            int Words(string[] words) => words.Where(w => w.Length > 3).Count();
        }
        """);

    [Fact]
    public Task CountOfCopiedCollection_BecomesItsOwnCountOrLength() => VerifyCS.CodeFixAsync(
        """
        using System.Collections.Generic;
        using System.Collections.Immutable;
        using System.Linq;

        class C
        {
            int I(ImmutableArray<int> values) => values.[|ToList|]().Count;
            int A(List<int> list) => list.[|ToList|]().Count;
            int B(int[] array) => array.[|ToList|]().Count;
            int D(HashSet<string> set) => set.[|ToArray|]().Length;
            int E(Dictionary<int, string> map) => map.Keys.[|ToList|]().Count;
            int F(IReadOnlyList<int> items) => items.[|ToArray|]().Length;
            int G(string text) => text.[|ToList|]().Count;
            int H(List<int> list) => list.[|ToArray|]().Length;
        }
        """,
        """
        using System.Collections.Generic;
        using System.Collections.Immutable;
        using System.Linq;

        class C
        {
            int I(ImmutableArray<int> values) => values.Length;
            int A(List<int> list) => list.Count;
            int B(int[] array) => array.Length;
            int D(HashSet<string> set) => set.Count;
            int E(Dictionary<int, string> map) => map.Keys.Count;
            int F(IReadOnlyList<int> items) => items.Count;
            int G(string text) => text.Length;
            int H(List<int> list) => list.Count;
        }
        """);

    [Fact]
    public Task AnyAndCountCallsOnCopy_CalledOnSource() => VerifyCS.CodeFixAsync(
        """
        using System.Collections.Generic;
        using System.Linq;

        class C
        {
            bool HasAny(IEnumerable<string> names) => names.Where(n => n.StartsWith("a")).[|ToList|]().Any();

            int Count(List<int> values) => values.Distinct().[|ToArray|]().Count();

            bool HasNegative(int[] values) => values.[|ToList|]().Any(v => v < 0);
        }
        """,
        """
        using System.Collections.Generic;
        using System.Linq;

        class C
        {
            bool HasAny(IEnumerable<string> names) => names.Where(n => n.StartsWith("a")).Any();

            int Count(List<int> values) => values.Distinct().Count();

            bool HasNegative(int[] values) => values.Any(v => v < 0);
        }
        """);

    [Fact]
    public Task CollectionOnlyThisMethodHolds_BodyMayCallAnything_Reported() => VerifyCS.CodeFixAsync(
        """
        using System.Collections.Generic;
        using System.Linq;

        class Node
        {
            public void Detach() { }
        }

        class C
        {
            List<Node> Build(Node a, Node b)
            {
                var nodes = new List<Node> { a, b };
                foreach (var node in nodes.[|ToList|]())
                {
                    node.Detach();
                }

                return nodes;
            }
        }
        """,
        """
        using System.Collections.Generic;
        using System.Linq;

        class Node
        {
            public void Detach() { }
        }

        class C
        {
            List<Node> Build(Node a, Node b)
            {
                var nodes = new List<Node> { a, b };
                foreach (var node in nodes)
                {
                    node.Detach();
                }

                return nodes;
            }
        }
        """);

    [Fact]
    public Task LocalCopyEnumeratedByTheNextForEach_Inlined() => VerifyCS.CodeFixAsync(
        """
        using System.Collections.Generic;
        using System.Linq;
        using System.Text;

        class C
        {
            string Join(IEnumerable<string> parts)
            {
                var builder = new StringBuilder();
                // Only the non-empty parts.
                var nonEmpty = parts.Where(p => p.Length > 0).[|ToList|]();
                foreach (var part in nonEmpty)
                {
                    builder.Append(part).Append(';');
                }

                return builder.ToString();
            }
        }
        """,
        """
        using System.Collections.Generic;
        using System.Linq;
        using System.Text;

        class C
        {
            string Join(IEnumerable<string> parts)
            {
                var builder = new StringBuilder();
                // Only the non-empty parts.
                foreach (var part in parts.Where(p => p.Length > 0))
                {
                    builder.Append(part).Append(';');
                }

                return builder.ToString();
            }
        }
        """);

    [Fact]
    public Task ListToArrayInForEach_AddingToAResultList_ReportedAndFixed() => VerifyCS.CodeFixAsync(
        """
        using System.Collections.Generic;

        class C
        {
            private readonly List<int> _values = new List<int>();

            public List<int> Doubled()
            {
                var result = new List<int>();
                foreach (var v in _values.[|ToArray|]())
                    result.Add(v * 2);
                return result;
            }
        }
        """,
        """
        using System.Collections.Generic;

        class C
        {
            private readonly List<int> _values = new List<int>();

            public List<int> Doubled()
            {
                var result = new List<int>();
                foreach (var v in _values)
                    result.Add(v * 2);
                return result;
            }
        }
        """);

    [Fact]
    public Task StaticFormWithoutUsing_StaysStatic() => VerifyCS.CodeFixAsync(
        """
        class C
        {
            int Count(System.Collections.Generic.IEnumerable<int> xs, int[] a, int[] b)
                => System.Linq.Enumerable.[|ToList|](xs).Count + System.Linq.Enumerable.[|ToArray|](a ?? b).Length;

            void Print(int[] a, int[] b)
            {
                foreach (var x in System.Linq.Enumerable.[|ToList|](a ?? b))
                    System.Console.WriteLine(x);
            }
        }
        """,
        """
        class C
        {
            int Count(System.Collections.Generic.IEnumerable<int> xs, int[] a, int[] b)
                => System.Linq.Enumerable.Count(xs) + (a ?? b).Length;

            void Print(int[] a, int[] b)
            {
                foreach (var x in a ?? b)
                    System.Console.WriteLine(x);
            }
        }
        """);

    [Fact]
    public Task ImmutableAndStringSources_Reported() => VerifyCS.CodeFixAsync(
        """
        using System;
        using System.Collections.Immutable;
        using System.Linq;

        class C
        {
            void M(ImmutableArray<int> values, string text)
            {
                foreach (var v in values.[|ToList|]())
                    Console.WriteLine(v);
                foreach (var c in text.[|ToArray|]())
                    Console.Write(c);
            }
        }
        """,
        """
        using System;
        using System.Collections.Immutable;
        using System.Linq;

        class C
        {
            void M(ImmutableArray<int> values, string text)
            {
                foreach (var v in values)
                    Console.WriteLine(v);
                foreach (var c in text)
                    Console.Write(c);
            }
        }
        """);

    [Fact]
    public Task InstanceFieldOfTypeWithoutLocking_BodyWritesOwnFields_Reported() => VerifyCS.CodeFixAsync(
        """
        using System.Collections.Generic;
        using System.Linq;

        class Stats
        {
            private readonly List<double> _samples = new List<double>();
            private double _sum;
            private int _count;

            public void Recompute()
            {
                _sum = 0;
                _count = 0;
                foreach (var s in _samples.Where(s => s >= 0).[|ToList|]())
                {
                    _sum += s;
                    _count++;
                }
            }
        }
        """,
        """
        using System.Collections.Generic;
        using System.Linq;

        class Stats
        {
            private readonly List<double> _samples = new List<double>();
            private double _sum;
            private int _count;

            public void Recompute()
            {
                _sum = 0;
                _count = 0;
                foreach (var s in _samples.Where(s => s >= 0))
                {
                    _sum += s;
                    _count++;
                }
            }
        }
        """);

    [Fact]
    public Task CountOfCopiedIteratorResult_Reported() => VerifyCS.CodeFixAsync(
        """
        using System.Collections.Generic;
        using System.Linq;

        class C
        {
            IEnumerable<int> Numbers() { yield return 1; yield return 2; }

            int M() => Numbers().[|ToList|]().Count;
        }
        """,
        """
        using System.Collections.Generic;
        using System.Linq;

        class C
        {
            IEnumerable<int> Numbers() { yield return 1; yield return 2; }

            int M() => Numbers().Count();
        }
        """);

    [Fact]
    public Task DeconstructingForEachAndLambdaInsideLoopBody_Reported() => VerifyCS.CodeFixAsync(
        """
        using System;
        using System.Collections.Generic;
        using System.Linq;

        class C
        {
            void M(Dictionary<string, List<int>> groups)
            {
                foreach (var (key, values) in groups.[|ToList|]())
                {
                    Console.WriteLine($"{key}: {values.Where(v => v > 0).Sum()}");
                }
            }
        }
        """,
        """
        using System;
        using System.Collections.Generic;
        using System.Linq;

        class C
        {
            void M(Dictionary<string, List<int>> groups)
            {
                foreach (var (key, values) in groups)
                {
                    Console.WriteLine($"{key}: {values.Where(v => v > 0).Sum()}");
                }
            }
        }
        """);

    [Fact]
    public Task LambdaReadsStateTheBodyLeavesAlone_Reported() => VerifyCS.CodeFixAsync(
        """
        using System.Collections.Generic;
        using System.Linq;

        class C
        {
            int M(List<int> xs, int limit)
            {
                var total = 0;
                var seen = new HashSet<int>();
                foreach (var x in xs.Where(x => x < limit).[|ToList|]())
                {
                    total += x;
                    seen.Add(x);
                }

                return total + seen.Count;
            }
        }
        """,
        """
        using System.Collections.Generic;
        using System.Linq;

        class C
        {
            int M(List<int> xs, int limit)
            {
                var total = 0;
                var seen = new HashSet<int>();
                foreach (var x in xs.Where(x => x < limit))
                {
                    total += x;
                    seen.Add(x);
                }

                return total + seen.Count;
            }
        }
        """);

    [Fact]
    public Task UnknownSequenceAndBodyWritesOnlyLocals_Reported() => VerifyCS.CodeFixAsync(
        """
        using System.Collections.Generic;
        using System.Linq;

        class C
        {
            private int _limit = 3;

            IEnumerable<int> Numbers { get { for (var i = 0; i < _limit; i++) yield return i; } }

            int M()
            {
                var max = 0;
                foreach (var x in Numbers.[|ToList|]())
                {
                    if (x > max)
                        max = x;
                }

                return max;
            }
        }
        """,
        """
        using System.Collections.Generic;
        using System.Linq;

        class C
        {
            private int _limit = 3;

            IEnumerable<int> Numbers { get { for (var i = 0; i < _limit; i++) yield return i; } }

            int M()
            {
                var max = 0;
                foreach (var x in Numbers)
                {
                    if (x > max)
                        max = x;
                }

                return max;
            }
        }
        """);

    [Fact]
    public Task QuerySyntaxStaticConsumerAndCollectionReturningMethods_Reported() => VerifyCS.CodeFixAsync(
        """
        using System;
        using System.Collections.Generic;
        using System.Linq;

        class C
        {
            private readonly List<int> _items = new List<int>();

            List<int> Items() => _items;

            void M(int[] xs, string csv)
            {
                foreach (var x in (from x in xs where x > 0 select x * 2).[|ToList|]())
                    Console.WriteLine(x);
                Console.WriteLine(Enumerable.Any(xs.[|ToList|]()));
                foreach (var i in Items().[|ToArray|]())
                    Console.WriteLine(i);
                foreach (var part in csv.Split(',').[|ToList|]())
                    Console.WriteLine(part.Trim());
            }
        }
        """,
        """
        using System;
        using System.Collections.Generic;
        using System.Linq;

        class C
        {
            private readonly List<int> _items = new List<int>();

            List<int> Items() => _items;

            void M(int[] xs, string csv)
            {
                foreach (var x in from x in xs where x > 0 select x * 2)
                    Console.WriteLine(x);
                Console.WriteLine(Enumerable.Any(xs));
                foreach (var i in Items())
                    Console.WriteLine(i);
                foreach (var part in csv.Split(','))
                    Console.WriteLine(part.Trim());
            }
        }
        """);

    [Fact]
    public Task CommentsOnTheRemovedCall_Kept() => VerifyCS.CodeFixAsync(
        """
        using System.Collections.Generic;
        using System.Linq;

        class C
        {
            int M(IEnumerable<int> xs)
            {
                var sum = 0;
                foreach (var x in xs.Where(v => v > 0) // positive only
                    .[|ToList|]() /* snapshot */)
                    sum += x;
                return sum + (xs /* all */.[|ToArray|]().Any() ? 1 : 0);
            }
        }
        """,
        """
        using System.Collections.Generic;
        using System.Linq;

        class C
        {
            int M(IEnumerable<int> xs)
            {
                var sum = 0;
                foreach (var x in xs.Where(v => v > 0) // positive only
                    /* snapshot */)
                    sum += x;
                return sum + (xs /* all */.Any() ? 1 : 0);
            }
        }
        """);

    [Fact]
    public Task PredicatesGeneratorsAndTrivia_Reported() => VerifyCS.CodeFixAsync(
        """
        using System;
        using System.Collections.Generic;
        using System.Linq;

        class C
        {
            int M(List<int>? maybe, IEnumerable<string> words)
            {
                var n = maybe!.[|ToList|]().Count(x => x > 1);
                foreach (int i in Enumerable.Range(0, 3).[|ToArray|]())
                    n += i;
                List<int> fresh = [1, 2, 3];
                foreach (var f in fresh.[|ToList|]())
                    Log(f);
                var lengths = words.Select(w => w.Length).[|ToList|](); // one number per word
                foreach (var length in lengths)
                    n += length;
                return n;
            }

            static void Log(int value) => Console.WriteLine(value);
        }
        """,
        """
        using System;
        using System.Collections.Generic;
        using System.Linq;

        class C
        {
            int M(List<int>? maybe, IEnumerable<string> words)
            {
                var n = maybe!.Count(x => x > 1);
                foreach (int i in Enumerable.Range(0, 3))
                    n += i;
                List<int> fresh = [1, 2, 3];
                foreach (var f in fresh)
                    Log(f);
                // one number per word
                foreach (var length in words.Select(w => w.Length))
                    n += length;
                return n;
            }

            static void Log(int value) => Console.WriteLine(value);
        }
        """);

    // ================================================================== messages

    [Fact]
    public Task ForEachMessage_NamesTheCopyAndTheLoop()
    {
        var test = Verify<MaterializedOnceAnalyzer>.Test(
            """
            using System.Collections.Generic;
            using System.Linq;

            class C
            {
                int M(IEnumerable<int> q)
                {
                    var sum = 0;
                    foreach (var x in q.{|#0:ToList|}()) sum += x;
                    return sum;
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA1007", 0).WithMessage(
            "'ToList()' copies the sequence into a new List<int> that is only enumerated once by this foreach; enumerate the source directly"));
        return test.RunAsync();
    }

    [Fact]
    public Task OtherMessages_SayWhatTheCopyIsUsedFor()
    {
        var test = Verify<MaterializedOnceAnalyzer>.Test(
            """
            using System.Collections.Generic;
            using System.Linq;

            class C
            {
                int A(IEnumerable<string> q) => q.{|#0:ToArray|}().Length;
                int B(List<string> q) => q.{|#1:ToList|}().Count;
                bool D(IEnumerable<string> q) => q.{|#2:ToList|}().Any();
                int E(IEnumerable<string> q)
                {
                    var n = 0;
                    var copy = q.{|#3:ToList|}();
                    foreach (var s in copy) n += s.Length;
                    return n;
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA1007", 0).WithMessage(
            "'ToArray()' copies the sequence into a new string[] only to read its 'Length'; use 'Count()' on the source"));
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA1007", 1).WithMessage(
            "'ToList()' copies the sequence into a new List<string> only to read its 'Count'; use the source's own 'Count'"));
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA1007", 2).WithMessage(
            "'ToList()' copies the sequence into a new List<string> only to call 'Any' on it; call 'Any' on the source"));
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA1007", 3).WithMessage(
            "'ToList()' copies the sequence into a new List<string> that is only enumerated once, by the foreach that follows through 'copy'; enumerate the source directly"));
        return test.RunAsync();
    }

    // ================================================================== fix all, language versions

    [Fact]
    public Task ManyCopiesAcrossDocumentsAndProjects_FixAllInEveryScope()
    {
        var test = new AnalyzerTest(new MaterializedOnceAnalyzer()) { CodeFix = new MaterializedOnceFix() };
        test.Sources.Add(
            """
            using System.Collections.Generic;
            using System.Linq;

            public static class A
            {
                public static int Sum(List<int> xs, List<int> ys)
                {
                    var s = 0;
                    var first = xs.[|ToList|]();
                    foreach (var x in first) s += x;
                    var second = xs.Select(x => x + 1).[|ToArray|]();
                    foreach (var x in second) s += x;
                    foreach (var x in xs.Where(x => x > 1).[|ToList|]())
                    {
                        foreach (var y in ys.[|ToArray|]()) s += x * y;
                    }

                    return s + xs.[|ToList|]().Count;
                }
            }
            """);
        test.Sources.Add(
            """
            using System.Linq;

            static class B
            {
                public static bool Any(int[] xs) => xs.[|ToList|]().Any();
            }
            """);
        test.OtherProjectSources.Add(
            """
            using System.Linq;

            static class D
            {
                static int M(string s) => s.[|ToArray|]().Length + A.Sum(s.Select(c => (int)c).ToList(), null);
            }
            """);
        test.FixedSources.Add(
            """
            using System.Collections.Generic;
            using System.Linq;

            public static class A
            {
                public static int Sum(List<int> xs, List<int> ys)
                {
                    var s = 0;
                    foreach (var x in xs) s += x;
                    foreach (var x in xs.Select(x => x + 1)) s += x;
                    foreach (var x in xs.Where(x => x > 1))
                    {
                        foreach (var y in ys) s += x * y;
                    }

                    return s + xs.Count;
                }
            }
            """);
        test.FixedSources.Add(
            """
            using System.Linq;

            static class B
            {
                public static bool Any(int[] xs) => xs.Any();
            }
            """);
        // Passing the copy to A.Sum (a List<int> parameter) is a real use: only the Length is reported.
        test.FixedOtherProjectSources.Add(
            """
            using System.Linq;

            static class D
            {
                static int M(string s) => s.Length + A.Sum(s.Select(c => (int)c).ToList(), null);
            }
            """);
        return test.RunAsync();
    }

    [Theory]
    [InlineData(LanguageVersion.CSharp7_3)]
    [InlineData(LanguageVersion.CSharp9)]
    [InlineData(LanguageVersion.Latest)]
    public Task EveryLanguageVersion_ReportedAndFixed(LanguageVersion version)
    {
        var test = VerifyCS.Test(
            """
            using System;
            using System.Collections.Generic;
            using System.Linq;

            class C
            {
                int M(List<string> names)
                {
                    foreach (var name in names.Where(name => name != null).[|ToList|]())
                        Console.WriteLine(name);
                    var upper = names.Select(n => n.ToUpperInvariant()).[|ToArray|]();
                    foreach (var u in upper)
                        Console.WriteLine(u);
                    return names.[|ToList|]().Count;
                }
            }
            """,
            """
            using System;
            using System.Collections.Generic;
            using System.Linq;

            class C
            {
                int M(List<string> names)
                {
                    foreach (var name in names.Where(name => name != null))
                        Console.WriteLine(name);
                    foreach (var u in names.Select(n => n.ToUpperInvariant()))
                        Console.WriteLine(u);
                    return names.Count;
                }
            }
            """);
        test.LanguageVersion = version;
        test.NullableContextOptions = version >= LanguageVersion.CSharp8 ? NullableContextOptions.Enable : NullableContextOptions.Disable;
        return test.RunAsync();
    }

    [Fact]
    public Task NetStandard20_Reported() => RunOnNetStandardAsync(
        """
        using System.Collections.Generic;
        using System.Linq;

        class C
        {
            int M(IList<int> xs) => xs.[|ToList|]().Count;
        }
        """);

    private static Task RunOnNetStandardAsync(string source)
    {
        var test = Verify<MaterializedOnceAnalyzer>.Test(source);
        test.ReferenceSet = ReferenceSet.NetStandard20;
        return test.RunAsync();
    }

    // ================================================================== behaviour is preserved

    private const string BehaviourOriginal = """
        using System.Collections.Generic;
        using System.Linq;
        using System.Text;

        public static class Program
        {
            private static int s_produced;

            private static IEnumerable<int> Counted()
            {
                for (var i = 0; i < 3; i++)
                {
                    s_produced++;
                    yield return i;
                }
            }

            private static string Square(int x) => (x * x).ToString();

            public static string Run()
            {
                var log = new StringBuilder();
                var numbers = new List<int> { 5, 3, 8, 1, 9, 2 };
                int[] array = { 4, 4, 7 };
                IEnumerable<string> words = new[] { "alpha", "", "beta", "gamma", "" };

                foreach (var n in numbers.Where(n => n > 2).Select(n => n * 10).[|ToList|]())
                    log.Append(n).Append(',');
                log.Append('|');

                var nonEmpty = words.Where(w => w.Length > 0).[|ToList|]();
                foreach (var w in nonEmpty)
                    log.Append(w.ToUpperInvariant()).Append(',');
                log.Append('|');

                log.Append(numbers.Where(n => n % 2 == 1).[|ToList|]().Count).Append(',');
                log.Append(array.[|ToArray|]().Length).Append(',');
                log.Append(numbers.[|ToList|]().Count).Append(',');
                log.Append(words.[|ToList|]().Any()).Append(',');
                log.Append(array.Distinct().[|ToArray|]().Count()).Append(',');
                log.Append(numbers.[|ToList|]().Any(n => n > 8)).Append(',');
                log.Append(Enumerable.Empty<int>().[|ToList|]().Any()).Append(',');
                log.Append(Counted().[|ToList|]().Count).Append(',').Append(s_produced).Append('|');

                var total = 0;
                foreach (var (key, value) in new Dictionary<string, int> { ["a"] = 1, ["bb"] = 2 }.[|ToList|]())
                    total += key.Length * value;
                log.Append(total).Append('|');

                var owned = new List<int> { 1, 2, 3 };
                foreach (var x in owned.[|ToArray|]())
                    log.Append(Square(x)).Append(';');
                return log.ToString();
            }
        }
        """;

    private const string BehaviourFixed = """
        using System.Collections.Generic;
        using System.Linq;
        using System.Text;

        public static class Program
        {
            private static int s_produced;

            private static IEnumerable<int> Counted()
            {
                for (var i = 0; i < 3; i++)
                {
                    s_produced++;
                    yield return i;
                }
            }

            private static string Square(int x) => (x * x).ToString();

            public static string Run()
            {
                var log = new StringBuilder();
                var numbers = new List<int> { 5, 3, 8, 1, 9, 2 };
                int[] array = { 4, 4, 7 };
                IEnumerable<string> words = new[] { "alpha", "", "beta", "gamma", "" };

                foreach (var n in numbers.Where(n => n > 2).Select(n => n * 10))
                    log.Append(n).Append(',');
                log.Append('|');

                foreach (var w in words.Where(w => w.Length > 0))
                    log.Append(w.ToUpperInvariant()).Append(',');
                log.Append('|');

                log.Append(numbers.Where(n => n % 2 == 1).Count()).Append(',');
                log.Append(array.Length).Append(',');
                log.Append(numbers.Count).Append(',');
                log.Append(words.Any()).Append(',');
                log.Append(array.Distinct().Count()).Append(',');
                log.Append(numbers.Any(n => n > 8)).Append(',');
                log.Append(Enumerable.Empty<int>().Any()).Append(',');
                log.Append(Counted().Count()).Append(',').Append(s_produced).Append('|');

                var total = 0;
                foreach (var (key, value) in new Dictionary<string, int> { ["a"] = 1, ["bb"] = 2 })
                    total += key.Length * value;
                log.Append(total).Append('|');

                var owned = new List<int> { 1, 2, 3 };
                foreach (var x in owned)
                    log.Append(Square(x)).Append(';');
                return log.ToString();
            }
        }
        """;

    [Fact]
    public async Task FixedCode_CompilesAndRunsLikeTheOriginal()
    {
        // The fix produces exactly BehaviourFixed (checked one by one and through Fix All)...
        await VerifyCS.CodeFixAsync(BehaviourOriginal, BehaviourFixed);

        // ...and the two programs print the same thing.
        var before = CompileAndRun(Markup.Parse(BehaviourOriginal).Source);
        var after = CompileAndRun(BehaviourFixed);
        Assert.Equal("50,30,80,90,|ALPHA,BETA,GAMMA,|4,3,6,True,2,True,False,3,3|5|1;4;9;", before);
        Assert.Equal(before, after);
    }

    private static string CompileAndRun(string source)
    {
        var compilation = CSharpCompilation.Create(
            "Behaviour" + Guid.NewGuid().ToString("N"),
            new[] { CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Latest)) },
            Basic.Reference.Assemblies.Net80.References.All,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, optimizationLevel: OptimizationLevel.Release));
        using var stream = new MemoryStream();
        var emitted = compilation.Emit(stream);
        Assert.True(emitted.Success, string.Join(Environment.NewLine, emitted.Diagnostics));
        stream.Position = 0;

        var context = new AssemblyLoadContext("MSA1007 behaviour", isCollectible: true);
        try
        {
            var assembly = context.LoadFromStream(stream);
            var run = assembly.GetType("Program")!.GetMethod("Run")!;
            return (string)run.Invoke(null, null)!;
        }
        finally
        {
            context.Unload();
        }
    }

    // ================================================================== not reported: the snapshot is needed

    [Fact]
    public Task BodyRemovesFromTheSource_NoDiagnostic() => NoDiagnosticAsync(
        """
        using System.Collections.Generic;
        using System.Linq;

        class C
        {
            void RemoveEven(List<int> list)
            {
                foreach (var x in list.ToList())
                {
                    if (x % 2 == 0)
                        list.Remove(x);
                }

                foreach (var x in list.Where(x => x > 10).ToArray())
                    list.Add(x);
            }
        }
        """);

    [Fact]
    public Task BodyOnlyReadsTheSource_NoDiagnostic() => NoDiagnosticAsync(
        """
        using System;
        using System.Collections.Generic;
        using System.Linq;

        class C
        {
            void M(List<int> list)
            {
                foreach (var x in list.ToList())
                    Console.WriteLine(list.Count);
            }
        }
        """);

    [Fact]
    public Task BodyCallsMethodThatMayReachSharedSource_NoDiagnostic() => NoDiagnosticAsync(
        """
        using System.Collections.Generic;
        using System.Linq;

        class Node
        {
            public Node Parent;
            public List<Node> Children = new List<Node>();

            public void Detach() => Parent.Children.Remove(this);

            public void DetachAll()
            {
                foreach (var child in Children.ToList())
                    child.Detach();
            }

            public void Process(List<Node> nodes)
            {
                foreach (var node in nodes.ToArray())
                    Handle(node);
            }

            void Handle(Node node) { }
        }
        """);

    [Fact]
    public Task BodySetsAPropertyOfASharedElement_NoDiagnostic() => NoDiagnosticAsync(
        """
        using System.Collections.Generic;
        using System.Linq;

        class Item
        {
            public Item Owner { get; set; }
        }

        class C
        {
            void M(List<Item> items)
            {
                foreach (var item in items.ToList())
                    item.Owner = null;
            }
        }
        """);

    [Fact]
    public Task CopyStoredReturnedPassedIndexedOrReused_NoDiagnostic() => NoDiagnosticAsync(
        """
        using System.Collections.Generic;
        using System.Linq;

        class C
        {
            private List<int> _kept;

            List<int> Returned(IEnumerable<int> q) => q.ToList();
            void Stored(IEnumerable<int> q) => _kept = q.ToList();
            int Indexed(IEnumerable<int> q) => q.ToList()[0];
            void Passed(IEnumerable<int> q) => Keep(q.ToList());
            void Keep(List<int> list) { }

            int TwoLoops(IEnumerable<int> q)
            {
                var s = 0;
                var copy = q.ToList();
                foreach (var x in copy) s += x;
                foreach (var x in copy) s -= x;
                return s;
            }

            int UsedAfterTheLoop(IEnumerable<int> q)
            {
                var s = 0;
                var copy = q.ToList();
                foreach (var x in copy) s += x;
                return s + copy.Count;
            }

            int NotTheNextStatement(IEnumerable<int> q)
            {
                var s = 0;
                var copy = q.ToList();
                s++;
                foreach (var x in copy) s += x;
                return s;
            }

            int Captured(IEnumerable<int> q)
            {
                var copy = q.ToList();
                System.Func<int> f = () => copy.Count;
                return f();
            }

            int InsideALoop(IEnumerable<int> q)
            {
                var s = 0;
                var copy = q.ToList();
                for (var i = 0; i < 3; i++)
                {
                    foreach (var x in copy) s += x;
                }

                return s;
            }
        }
        """);

    [Fact]
    public Task LambdaWithSideEffects_NoDiagnostic() => NoDiagnosticAsync(
        """
        using System;
        using System.Collections.Generic;
        using System.Linq;

        class C
        {
            int _seen;

            void M(List<int> xs)
            {
                var counter = 0;
                foreach (var x in xs.Select(x => x + counter++).ToList())
                    Console.WriteLine(x);
                foreach (var x in xs.Where(x => { Console.WriteLine(x); return true; }).ToList())
                    Console.WriteLine(x);
                foreach (var x in xs.Select(Transform).ToList())
                    Console.WriteLine(x);
                Func<int, bool> filter = x => x > 0;
                foreach (var x in xs.Where(filter).ToList())
                    Console.WriteLine(x);
                Console.WriteLine(xs.Select(x => _seen = x).ToList().Count);
            }

            int Transform(int x) => x;
        }
        """);

    [Fact]
    public Task BodyWritesStateTheLambdaReads_NoDiagnostic() => NoDiagnosticAsync(
        """
        using System.Collections.Generic;
        using System.Linq;

        class C
        {
            private int _limit = 10;

            int M(List<int> xs)
            {
                var limit = 5;
                var total = 0;
                foreach (var x in xs.Where(x => x < limit).ToList())
                {
                    total += x;
                    limit++;
                }

                foreach (var x in xs.Where(x => x < _limit).ToList())
                    _limit--;

                var seen = new HashSet<int>();
                foreach (var x in xs.Where(x => !seen.Contains(x)).ToList())
                    seen.Add(x + 1);

                return total + seen.Count;
            }
        }
        """);

    [Fact]
    public Task ToHashSet_DeduplicatesSo_NoDiagnostic() => NoDiagnosticAsync(
        """
        using System;
        using System.Collections.Generic;
        using System.Linq;

        class C
        {
            int Distinct(IEnumerable<int> q) => q.ToHashSet().Count;

            void M(IEnumerable<int> q)
            {
                foreach (var x in q.ToHashSet())
                    Console.WriteLine(x);
            }
        }
        """);

    [Fact]
    public Task QueryableSource_NoDiagnostic() => NoDiagnosticAsync(
        """
        using System;
        using System.Linq;

        class C
        {
            void M(IQueryable<string> users)
            {
                foreach (var u in users.Where(u => u.Length > 2).ToList())
                    Console.WriteLine(u);
                Console.WriteLine(users.ToList().Count);
                Console.WriteLine(users.AsEnumerable().Where(u => u.Length > 2).ToArray().Length);
                Console.WriteLine(users.ToArray().Any());
            }
        }
        """);

    [Fact]
    public Task SharedStateAcrossThreads_NoDiagnostic() => NoDiagnosticAsync(
        """
        using System;
        using System.Collections.Concurrent;
        using System.Collections.Generic;
        using System.Linq;

        class Registry
        {
            private static readonly List<string> s_names = new List<string>();
            private readonly ConcurrentDictionary<string, int> _counts = new ConcurrentDictionary<string, int>();

            public void PrintStatic()
            {
                foreach (var name in s_names.ToList())
                    Console.WriteLine(name);
            }

            public void PrintCounts()
            {
                foreach (var pair in _counts.ToArray())
                    Console.WriteLine(pair.Key);
            }
        }

        class Locked
        {
            private readonly object _gate = new object();
            private readonly List<string> _names = new List<string>();

            public void Add(string name)
            {
                lock (_gate) _names.Add(name);
            }

            public void Print()
            {
                foreach (var name in _names.ToList())
                    Console.WriteLine(name);
            }
        }
        """);

    [Fact]
    public Task CopyChangesTheElementType_NoDiagnostic() => NoDiagnosticAsync(
        """
        using System;
        using System.Collections.Generic;
        using System.Linq;

        class C
        {
            void M(IEnumerable<string> names)
            {
                foreach (var o in names.ToList<object>())
                    Console.WriteLine(o);
                IEnumerable<object> objects = names.ToList();
                foreach (var o in objects)
                    Console.WriteLine(o);
            }
        }
        """);

    [Fact]
    public Task BodyYieldsOrAwaits_NoDiagnostic() => NoDiagnosticAsync(
        """
        using System.Collections.Generic;
        using System.Linq;
        using System.Threading.Tasks;

        class C
        {
            IEnumerable<int> Snapshot(List<int> list)
            {
                foreach (var x in list.ToList())
                    yield return x;
            }

            async Task M(List<int> list)
            {
                foreach (var x in list.ToArray())
                    await Task.Delay(x);
            }
        }
        """);

    [Fact]
    public Task IteratorMethodSource_InLoopOrAny_NoDiagnostic() => NoDiagnosticAsync(
        """
        using System;
        using System.Collections.Generic;
        using System.Linq;

        class C
        {
            IEnumerable<int> ReadAndValidate()
            {
                Console.WriteLine("reading");
                yield return 1;
                throw new InvalidOperationException("bad record");
            }

            void M()
            {
                foreach (var x in ReadAndValidate().ToList())
                    Console.WriteLine(x);
                Console.WriteLine(ReadAndValidate().ToList().Any());
            }
        }
        """);

    [Fact]
    public Task ThrowingOrTimeDependentLambdas_NoDiagnostic() => NoDiagnosticAsync(
        """
        using System;
        using System.Collections.Generic;
        using System.Linq;

        class C
        {
            void M(List<string> texts, List<DateTime> deadlines)
            {
                foreach (var n in texts.Select(int.Parse).ToList())
                    Console.WriteLine(n);
                foreach (var n in texts.Select(t => int.Parse(t)).ToArray())
                    Console.WriteLine(n);
                foreach (var d in deadlines.Where(d => d > DateTime.Now).ToList())
                    Console.WriteLine(d);
            }
        }
        """);

    [Fact]
    public Task CustomComparerRunsUserCode_NoDiagnostic() => NoDiagnosticAsync(
        """
        using System;
        using System.Collections.Generic;
        using System.Linq;

        class Loud : IEqualityComparer<int>
        {
            public bool Equals(int a, int b) { Console.WriteLine("eq"); return a == b; }
            public int GetHashCode(int a) => a;
        }

        class C
        {
            void M(List<int> xs)
            {
                foreach (var x in xs.Distinct(new Loud()).ToList())
                    Console.WriteLine(x);
            }
        }
        """);

    [Fact]
    public Task UnknownSequenceAndBodyWritesAField_NoDiagnostic() => NoDiagnosticAsync(
        """
        using System.Collections.Generic;
        using System.Linq;

        class C
        {
            private int _limit = 3;

            IEnumerable<int> Numbers { get { for (var i = 0; i < _limit; i++) yield return i; } }

            void M()
            {
                foreach (var x in Numbers.ToList())
                    _limit = 10;
            }
        }
        """);

    [Fact]
    public Task CollectionCapturedByALambda_IsShared_NoDiagnostic() => NoDiagnosticAsync(
        """
        using System;
        using System.Collections.Generic;
        using System.Linq;
        using System.Threading.Tasks;

        class C
        {
            void M(Node a)
            {
                var nodes = new List<Node> { a };
                Task.Run(() =>
                {
                    foreach (var node in nodes.ToList())
                        node.Detach();
                });
                nodes.Add(new Node());
            }

            List<Node> Shared() => new List<Node>();

            void FromAMethod()
            {
                foreach (var node in Shared().ToList())
                    node.Detach();
            }
        }

        class Node
        {
            public void Detach() { }
        }
        """);

    [Fact]
    public Task PredicateChangesOrMayReachTheSource_NoDiagnostic() => NoDiagnosticAsync(
        """
        using System.Collections.Generic;
        using System.Linq;

        class Item
        {
            public bool Close() => true;
        }

        class C
        {
            bool M(List<int> list, List<Item> items)
            {
                var removed = list.ToList().Any(x => list.Remove(x));
                var closed = items.ToList().Count(i => i.Close());
                return removed || closed > 0;
            }
        }
        """);

    [Fact]
    public Task PrivateCollectionPublishedOrReassigned_IsShared_NoDiagnostic() => NoDiagnosticAsync(
        """
        using System.Collections.Generic;
        using System.Linq;

        class Node
        {
            public void Detach() { }
        }

        class C
        {
            private List<Node> _kept;

            void Published(Node a)
            {
                var nodes = new List<Node> { a };
                _kept = nodes;
                foreach (var node in nodes.ToList())
                    node.Detach();
            }

            void Reassigned(Node a, List<Node> other)
            {
                var nodes = new List<Node> { a };
                nodes = other;
                foreach (var node in nodes.ToList())
                    node.Detach();
            }

            void PassedByRef(Node a)
            {
                var nodes = new List<Node> { a };
                Fill(ref nodes);
                foreach (var node in nodes.ToList())
                    node.Detach();
            }

            void Fill(ref List<Node> nodes) { }
        }
        """);

    [Fact]
    public Task BodyWritesAnArrayThatMayBeTheSource_NoDiagnostic() => NoDiagnosticAsync(
        """
        using System.Linq;

        struct Point { public int X; }

        class C
        {
            void Shift(int[] source, int[] target)
            {
                var i = 0;
                foreach (var x in source.ToArray())
                    target[i++] = x + 1;
            }

            void Move(Point[] source, Point[] target)
            {
                var i = 0;
                foreach (var p in source.ToList())
                    target[i++].X = p.X;
            }
        }
        """);

    [Fact]
    public Task NotAForEachOrCount_NoDiagnostic() => NoDiagnosticAsync(
        """
        using System;
        using System.Collections.Generic;
        using System.Linq;

        class C
        {
            void M(IEnumerable<int> q, List<int> list)
            {
                var first = q.ToList().First();
                var cap = q.ToList().Capacity;
                q.ToList().ForEach(Console.WriteLine);
                var nested = q.ToList().ToArray();
                var maybe = list?.ToArray();
                Console.WriteLine(first + cap + nested.Length + maybe.Length);
            }
        }
        """);

    [Fact]
    public Task GeneratedCode_NoDiagnostic() => NoDiagnosticAsync(
        """
        // <auto-generated/>
        using System.Collections.Generic;
        using System.Linq;

        class C
        {
            int M(List<int> xs) => xs.ToList().Count;
        }
        """);

    [Fact]
    public Task ScopeNarrowedToHotPaths_NotHotMethod_NoDiagnostic()
    {
        var test = Verify<MaterializedOnceAnalyzer>.Test(
            """
            using System.Collections.Generic;
            using System.Linq;

            class HotPathAttribute : System.Attribute { }

            class C
            {
                int Cold(List<int> xs) => xs.ToList().Count;

                [HotPath]
                int Hot(List<int> xs) => xs.[|ToList|]().Count;
            }
            """);
        test.AnalyzerOptions["memsafety.MSA1007.scope"] = "hot_paths";
        return test.RunAsync();
    }

    [Fact]
    public Task IncompleteCode_DoesNotCrash_NoDiagnostic()
    {
        var test = Verify<MaterializedOnceAnalyzer>.Test(
            """
            using System.Collections.Generic;
            using System.Linq;

            class C
            {
                void M(List<int> xs, IEnumerable<Missing> ys)
                {
                    foreach (var x in xs.ToList(
                    var n = ys.ToList().Count;
                    foreach (var y in ys.Where(y => y.).ToArray()) { }
                    var z = Undefined.ToList().Any();
                    foreach (var w in xs.ToList()) w.
                }
            }
            """);
        test.AllowCompilerErrors = true;
        return test.RunAsync();
    }

    [Fact]
    public Task CompilerErrorElsewhere_WellFormedCopyStillReported()
    {
        // Code with errors elsewhere: the rule still reports the well-formed copy and does not crash.
        var test = Verify<MaterializedOnceAnalyzer>.Test(
            """
            using System.Collections.Generic;
            using System.Linq;

            class C
            {
                int M(List<int> xs) => xs.[|ToList|]().Count + Missing();
            }
            """);
        test.AllowCompilerErrors = true;
        return test.RunAsync();
    }
}
