using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.HeapEscapes;
using MemSafety.Analyzers.Tests.Verification;
using MemSafety.CodeFixes.HeapEscapes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using VerifyCS = MemSafety.Analyzers.Tests.Verification.Verify<MemSafety.Analyzers.Rules.HeapEscapes.ConstantArrayRebuiltPerCallAnalyzer, MemSafety.CodeFixes.HeapEscapes.ConstantArrayRebuiltPerCallFix>;

namespace MemSafety.Analyzers.Tests.HeapEscapes;

public sealed class ConstantArrayRebuiltPerCallTests
{
    private static AnalyzerTest Everywhere(AnalyzerTest test)
    {
        test.AnalyzerOptions["memsafety.scope"] = "everywhere";
        return test;
    }

    private static Task FixAsync(string source, string fixedSource, string? key = null)
    {
        var test = Everywhere(VerifyCS.Test(source, fixedSource));
        test.CodeActionEquivalenceKey = key;
        return test.RunAsync();
    }

    private static Task NoDiagnosticAsync(string source)
        => Everywhere(Verify<ConstantArrayRebuiltPerCallAnalyzer>.Test(source)).RunAsync();

    // ------------------------------------------------------------------ reported, with the fix

    [Fact]
    public Task SplitSeparators_HoistedIntoField() => FixAsync(
        """
        class Parser
        {
            private int _count;

            public string[] Parse(string text)
            {
                _count++;
                return text.Split([|new[] { ',', ';' }|]);
            }
        }
        """,
        """
        class Parser
        {
            private int _count;
            private static readonly char[] ParseSeparator = new[] { ',', ';' };

            public string[] Parse(string text)
            {
                _count++;
                return text.Split(ParseSeparator);
            }
        }
        """);

    [Fact]
    public Task MessageSaysWhatIsRebuiltAndWhere()
    {
        var test = Everywhere(Verify<ConstantArrayRebuiltPerCallAnalyzer>.Test(
            """
            class C
            {
                int Parse(string s) => s.IndexOfAny({|#0:new char[] { 'a', 'b', 'c' }|});
            }
            """));
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA1005", 0).WithMessage(
            "Array of 3 constant chars is rebuilt on every call to 'Parse'; it is never modified, so one static readonly instance can serve every call"));
        return test.RunAsync();
    }

    /// <summary>In a lambda the array is built per call of the lambda, not of the method around it: the message says
    /// so.</summary>
    [Fact]
    public Task InALambda_MessageNamesTheLambda()
    {
        var test = Everywhere(Verify<ConstantArrayRebuiltPerCallAnalyzer>.Test(
            """
            using System;
            using System.Linq;
            class C
            {
                int Count(string[] lines) => lines.Count(line => line.IndexOfAny({|#0:new[] { ',', ';' }|}) >= 0);
            }
            """));
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA1005", 0).WithMessage(
            "Array of 2 constant chars is rebuilt on every call of the lambda in 'Count'; it is never modified, so one static readonly instance can serve every call"));
        return test.RunAsync();
    }

    /// <summary>A lambda a cache calls once per key (or once at all) builds its array that often, not per call of the
    /// method: found on our own source (HotPathOracle's glob cache), where the message claimed "every call".</summary>
    [Fact]
    public Task InACacheValueFactory_NoDiagnostic() => Everywhere(Verify<ConstantArrayRebuiltPerCallAnalyzer>.Test(
        """
        using System;
        using System.Collections.Concurrent;
        using System.Runtime.CompilerServices;
        using System.Threading;
        class C
        {
            private readonly ConcurrentDictionary<string, string[]> _split = new();
            private readonly ConditionalWeakTable<object, string[]> _table = new();
            private string[]? _lazy;

            string[] Split(string raw) => _split.GetOrAdd(raw, static r => r.Split(new[] { ',', ';' }, StringSplitOptions.RemoveEmptyEntries));
            string[] Table(object key, string raw) => _table.GetValue(key, _ => raw.Split(new[] { ',', ';' }));
            string[] Once(string raw) => LazyInitializer.EnsureInitialized(ref _lazy, () => raw.Split(new[] { ',', ';' }))!;
            Lazy<string[]> Later(string raw) => new Lazy<string[]>(() => raw.Split(new[] { ',', ';' }));
        }
        """)).RunAsync();

    [Fact]
    public Task ReadOnlyLocal_IndexedAndCounted_HoistedKeepingTheLocal() => FixAsync(
        """
        static class Primes
        {
            public static int Nth(int i)
            {
                var primes = [|new int[] { 2, 3, 5, 7, 11 }|];
                if (i >= primes.Length)
                    return -1;
                foreach (var p in primes)
                    if (p == i) return 0;
                return primes[i];
            }
        }
        """,
        """
        static class Primes
        {
            private static readonly int[] Primes2 = new int[] { 2, 3, 5, 7, 11 };

            public static int Nth(int i)
            {
                var primes = Primes2;
                if (i >= primes.Length)
                    return -1;
                foreach (var p in primes)
                    if (p == i) return 0;
                return primes[i];
            }
        }
        """);

    [Fact]
    public Task ByteLocal_SpanFix_NoAllocationAtAll() => FixAsync(
        """
        using System;

        class Crc
        {
            public int Lookup(int i)
            {
                var table = [|new byte[] { 0x00, 0x07, 0x0E, 0x09 }|];
                var sum = 0;
                foreach (var b in table)
                    sum += b;
                return table[i & 3] + sum + table.Length;
            }
        }
        """,
        """
        using System;

        class Crc
        {
            public int Lookup(int i)
            {
                ReadOnlySpan<byte> table = new byte[] { 0x00, 0x07, 0x0E, 0x09 };
                var sum = 0;
                foreach (var b in table)
                    sum += b;
                return table[i & 3] + sum + table.Length;
            }
        }
        """,
        ConstantArrayRebuiltPerCallFix.SpanKey);

    [Fact]
    public Task ForeachAndElementReadAndLinqContains_Reported() => FixAsync(
        """
        using System.Linq;

        class Keywords
        {
            public bool IsKeyword(string word)
            {
                foreach (var k in [|new[] { "if", "else" }|])
                    if (k == word) return true;
                return [|new[] { "for", "while" }|].Contains(word) || word == [|new[] { "do", "goto" }|][0];
            }
        }
        """,
        """
        using System.Linq;

        class Keywords
        {
            private static readonly string[] IsKeywordValues = new[] { "if", "else" };
            private static readonly string[] IsKeywordValues2 = new[] { "for", "while" };
            private static readonly string[] IsKeywordValues3 = new[] { "do", "goto" };

            public bool IsKeyword(string word)
            {
                foreach (var k in IsKeywordValues)
                    if (k == word) return true;
                return IsKeywordValues2.Contains(word) || word == IsKeywordValues3[0];
            }
        }
        """);

    [Fact]
    public Task ReadOnlySpanOfStrings_StillAllocates_Reported() => FixAsync(
        """
        using System;

        class C
        {
            static int Count(ReadOnlySpan<string> names) => names.Length;
            static int Sum(ReadOnlySpan<decimal> values) => values.Length;

            int M() => Count([|new[] { "a", "b" }|]) + Sum([|new[] { 1m, 2m }|]);
        }
        """,
        """
        using System;

        class C
        {
            private static readonly string[] MNames = new[] { "a", "b" };
            private static readonly decimal[] MValues = new[] { 1m, 2m };

            static int Count(ReadOnlySpan<string> names) => names.Length;
            static int Sum(ReadOnlySpan<decimal> values) => values.Length;

            int M() => Count(MNames) + Sum(MValues);
        }
        """);

    [Fact]
    public Task NestedGenericStruct_FieldGoesIntoTheInnermostType() => FixAsync(
        """
        using System.Collections.Generic;

        class Outer
        {
            public struct Inner<T>
            {
                public T Value;

                public HashSet<int> Codes() => new HashSet<int>([|new[] { 200, 204 }|]);

                public string Trim(string s)
                {
                    string Local() => s.TrimEnd([|new[] { '\r', '\n' }|]);
                    return Local();
                }
            }
        }
        """,
        """
        using System.Collections.Generic;

        class Outer
        {
            public struct Inner<T>
            {
                public T Value;
                private static readonly int[] CodesCollection = new[] { 200, 204 };
                private static readonly char[] TrimTrimChars = new[] { '\r', '\n' };

                public HashSet<int> Codes() => new HashSet<int>(CodesCollection);

                public string Trim(string s)
                {
                    string Local() => s.TrimEnd(TrimTrimChars);
                    return Local();
                }
            }
        }
        """);

    [Fact]
    public Task DefaultScope_HotPathsOnly_NotLoopsOfUnmarkedMethods() => Verify<ConstantArrayRebuiltPerCallAnalyzer>.AnalyzerAsync(
        """
        class HotPathAttribute : System.Attribute { }

        class C
        {
            [HotPath]
            string[] Hot(string s) => s.Split([|new[] { ',' }|]);

            string[] Cold(string s) => s.Split(new[] { ',' });

            int Loop(string[] lines)
            {
                var n = 0;
                foreach (var line in lines)
                    n += line.Split(new[] { ',' }).Length;
                return n;
            }
        }
        """);

    [Fact]
    public Task CSharp73_AndNetStandard20()
    {
        var test = Everywhere(VerifyCS.Test(
            """
            class C
            {
                string M(string s) { return s.Trim([|new char[] { ' ', '\t' }|]); }
            }
            """,
            """
            class C
            {
                private static readonly char[] MTrimChars = new char[] { ' ', '\t' };

                string M(string s) { return s.Trim(MTrimChars); }
            }
            """));
        test.LanguageVersion = LanguageVersion.CSharp7_3;
        test.ReferenceSet = ReferenceSet.NetStandard20;
        test.NullableContextOptions = NullableContextOptions.Disable;
        return test.RunAsync();
    }

    [Fact]
    public async Task NetStandard20WithSystemMemory_CSharp73_ByteSpanLocalIsStaticData()
    {
        // System.Memory's ReadOnlySpan<T> has the (void*, int) constructor the compiler needs to point a
        // ReadOnlySpan<byte> at static data, so the span fix is offered there too and allocates nothing.
        const string after = """
            using System;

            static class Table
            {
                public static int Lookup(int i)
                {
                    ReadOnlySpan<byte> table = new byte[] { 0x00, 0x07, 0x0E, 0x09 };
                    return table[i & 3] + table.Length;
                }
            }
            """;
        var test = Everywhere(VerifyCS.Test(
            """
            using System;

            static class Table
            {
                public static int Lookup(int i)
                {
                    var table = [|new byte[] { 0x00, 0x07, 0x0E, 0x09 }|];
                    return table[i & 3] + table.Length;
                }
            }
            """,
            after));
        test.CodeActionEquivalenceKey = ConstantArrayRebuiltPerCallFix.SpanKey;
        await test.OnNetStandard20WithSystemMemory().RunAsync();

        var il = IlInspection.Compile(after, LanguageVersion.CSharp7_3, ReferenceSet.NetStandard20WithSystemMemory);
        Assert.DoesNotContain(il.Method("Table", "Lookup").Instructions, i => i.OpCode == System.Reflection.Metadata.ILOpCode.Newarr);
    }

    [Fact]
    public async Task NetStandard20WithSystemMemory_CSharp73_CharArrayHoistedNoSpanOffered()
    {
        // RuntimeHelpers.CreateSpan (static data for element types wider than a byte) is .NET 7+: a ReadOnlySpan<char>
        // local would still allocate there, so the only fix is the static readonly field.
        const string source = """
            using System;

            static class Table
            {
                public static int Lookup(string s)
                {
                    var separators = [|new char[] { ',', ';' }|];
                    return separators.Length + s.IndexOfAny(separators);
                }
            }
            """;
        var spanOnly = Everywhere(VerifyCS.Test(source, source));
        spanOnly.CodeActionEquivalenceKey = ConstantArrayRebuiltPerCallFix.SpanKey;
        await spanOnly.OnNetStandard20WithSystemMemory().RunAsync();

        var test = Everywhere(VerifyCS.Test(
            source,
            """
            using System;

            static class Table
            {
                private static readonly char[] Separators = new char[] { ',', ';' };

                public static int Lookup(string s)
                {
                    var separators = Separators;
                    return separators.Length + s.IndexOfAny(separators);
                }
            }
            """));
        await test.OnNetStandard20WithSystemMemory().RunAsync();
    }

    [Fact]
    public Task FixAll_UniqueNamesAcrossMethodsDocumentsAndProjects()
    {
        var test = Everywhere(VerifyCS.Test(
            """
            class A
            {
                private static readonly char[] ParseSeparator = { '|' };

                string[] Parse(string s) => s.Split([|new[] { ',' }|]);
                string[] Parse(string s, int n) => s.Split([|new[] { ',' }|], n);
            }
            """,
            """
            class A
            {
                private static readonly char[] ParseSeparator = { '|' };
                private static readonly char[] ParseSeparator2 = new[] { ',' };
                private static readonly char[] ParseSeparator3 = new[] { ',' };

                string[] Parse(string s) => s.Split(ParseSeparator2);
                string[] Parse(string s, int n) => s.Split(ParseSeparator3, n);
            }
            """));
        test.Sources.Add("class B { int F(string s) => s.IndexOfAny([|new[] { 'x' }|]); }");
        test.FixedSources.Add("class B { private static readonly char[] FAnyOf = new[] { 'x' }; int F(string s) => s.IndexOfAny(FAnyOf); }");
        test.OtherProjectSources.Add("class D { string G(string s) => s.TrimStart([|new[] { '0' }|]); }");
        test.FixedOtherProjectSources.Add("class D { private static readonly char[] GTrimChars = new[] { '0' }; string G(string s) => s.TrimStart(GTrimChars); }");
        return test.RunAsync();
    }

    [Fact]
    public async Task Behaviour_SameResultsBeforeAndAfterTheFix()
    {
        const string before = """
            using System.Linq;

            static class Program
            {
                static int Score(string word)
                {
                    var weights = new int[] { 3, 1, 4, 1, 5 };
                    var total = 0;
                    foreach (var part in word.Split(new[] { '-', '_' }))
                        total += weights[part.Length % weights.Length];
                    return new[] { "x", "y" }.Contains(word) ? -total : total;
                }

                public static string Run() => Score("ab-cde_f") + "," + Score("x") + "," + Score("hello-world") + "," + Score("ab-cde_f");
            }
            """;
        const string after = """
            using System.Linq;

            static class Program
            {
                private static readonly int[] Weights = new int[] { 3, 1, 4, 1, 5 };
                private static readonly char[] ScoreSeparator = new[] { '-', '_' };
                private static readonly string[] ScoreValues = new[] { "x", "y" };

                static int Score(string word)
                {
                    var weights = Weights;
                    var total = 0;
                    foreach (var part in word.Split(ScoreSeparator))
                        total += weights[part.Length % weights.Length];
                    return ScoreValues.Contains(word) ? -total : total;
                }

                public static string Run() => Score("ab-cde_f") + "," + Score("x") + "," + Score("hello-world") + "," + Score("ab-cde_f");
            }
            """;
        var marked = before
            .Replace("new int[] { 3, 1, 4, 1, 5 }", "[|new int[] { 3, 1, 4, 1, 5 }|]")
            .Replace("new[] { '-', '_' }", "[|new[] { '-', '_' }|]")
            .Replace("new[] { \"x\", \"y\" }", "[|new[] { \"x\", \"y\" }|]");
        await FixAsync(marked, after);
        Assert.Equal("6,-1,6,6", Behaviour.Run(before));
        Assert.Equal(Behaviour.Run(before), Behaviour.Run(after));
    }

    [Fact]
    public Task LocalConstantElement_ReportedWithoutFix()
    {
        var test = Everywhere(new AnalyzerTest(new ConstantArrayRebuiltPerCallAnalyzer()) { CodeFix = new ConstantArrayRebuiltPerCallFix(), ExpectNoFix = true });
        test.Sources.Add(
            """
            using System.Linq;

            class C
            {
                string[] M(string s, string name)
                {
                    const char Separator = ';';
                    return s.Split([|new[] { ',', Separator }|]).Concat(new[] { string.Join(",", [|new[] { nameof(name) }|]) }).ToArray();
                }
            }
            """);
        return test.RunAsync();
    }

    [Fact]
    public Task SpanLocalNotOffered_WhenCapturedAsyncOrPassedAsArray()
    {
        // Only the field fix applies: a span cannot live in an async method or be passed where an array is
        // expected. Asking for the span fix changes nothing.
        var test = Everywhere(VerifyCS.Test(
            """
            using System;
            using System.Threading.Tasks;

            class C
            {
                int Captured(int i)
                {
                    // Not reported at all: the escape engine counts the capture as an escape.
                    var bits = new byte[] { 1, 2, 4, 8 };
                    Func<int> f = () => bits[i];
                    return f();
                }

                async Task<int> Later(int i)
                {
                    var bits = [|new byte[] { 1, 2, 4, 8 }|];
                    await Task.Yield();
                    return bits[i];
                }

                string Joined()
                {
                    var names = [|new[] { "a", "b" }|];
                    return string.Join(",", names);
                }
            }
            """,
            """
            using System;
            using System.Threading.Tasks;

            class C
            {
                int Captured(int i)
                {
                    // Not reported at all: the escape engine counts the capture as an escape.
                    var bits = new byte[] { 1, 2, 4, 8 };
                    Func<int> f = () => bits[i];
                    return f();
                }

                async Task<int> Later(int i)
                {
                    var bits = new byte[] { 1, 2, 4, 8 };
                    await Task.Yield();
                    return bits[i];
                }

                string Joined()
                {
                    var names = new[] { "a", "b" };
                    return string.Join(",", names);
                }
            }
            """));
        test.FixedSources[0] = test.Sources[0];
        test.CodeActionEquivalenceKey = ConstantArrayRebuiltPerCallFix.SpanKey;
        return test.RunAsync();
    }

    [Fact]
    public async Task SpanLocal_Behaviour_SameResults()
    {
        const string before = """
            using System;

            static class Program
            {
                static int Weight(int i)
                {
                    var table = new int[] { 5, 7, 11, 13 };
                    var sum = 0;
                    foreach (var t in table)
                        sum += t;
                    return table[i % table.Length] * sum;
                }

                public static string Run() => Weight(1) + "," + Weight(6);
            }
            """;
        const string after = """
            using System;

            static class Program
            {
                static int Weight(int i)
                {
                    ReadOnlySpan<int> table = new int[] { 5, 7, 11, 13 };
                    var sum = 0;
                    foreach (var t in table)
                        sum += t;
                    return table[i % table.Length] * sum;
                }

                public static string Run() => Weight(1) + "," + Weight(6);
            }
            """;
        await FixAsync(before.Replace("new int[] { 5, 7, 11, 13 }", "[|new int[] { 5, 7, 11, 13 }|]"), after, ConstantArrayRebuiltPerCallFix.SpanKey);
        Assert.Equal("252,396", Behaviour.Run(before));
        Assert.Equal(Behaviour.Run(before), Behaviour.Run(after));
    }

    [Fact]
    public Task InterfaceAndBracelessPrimaryConstructorType_ReportedWithoutFix()
    {
        var test = Everywhere(new AnalyzerTest(new ConstantArrayRebuiltPerCallAnalyzer()) { CodeFix = new ConstantArrayRebuiltPerCallFix(), ExpectNoFix = true });
        test.Sources.Add(
            """
            interface IParser
            {
                string[] Parse(string s) => s.Split([|new[] { ',' }|]);
            }

            class Names(string s) : Base(s.Split([|new[] { ',' }|]));

            class Base(string[] parts) { public string[] Parts { get; } = parts; }
            """);
        return test.RunAsync();
    }

    // ------------------------------------------------------------------ not reported

    [Fact]
    public Task NonConstantOrBoxedElements_NoDiagnostic() => NoDiagnosticAsync(
        """
        class C
        {
            string[] M(string s, char c) => s.Split(new[] { ',', c });
            string F(int x) => string.Format("{0}{1}", new object[] { 1, 2 });
            int G(string s) => s.IndexOfAny(new char[0]);
        }
        """);

    [Fact]
    public Task ArrayModified_NoDiagnostic() => NoDiagnosticAsync(
        """
        using System;

        class C
        {
            int A(int i)
            {
                var a = new[] { 3, 1, 2 };
                a[0] = i;
                return a[1];
            }

            int B()
            {
                var b = new[] { 3, 1, 2 };
                Array.Sort(b);
                return b[0];
            }

            int C2(int i)
            {
                var c = new[] { 3, 1, 2 };
                c[i]++;
                ref var first = ref c[0];
                first = 9;
                Bump(ref c[1]);
                return c[2];
            }

            void D() => Shuffle(new[] { 1, 2, 3 });

            int E(Span<int> s) => s.Length;
            int F() => E(new[] { 1, 2 });

            static void Bump(ref int x) => x++;
            static void Shuffle(int[] values) { }
        }
        """);

    [Fact]
    public Task ArrayEscapes_NoDiagnostic() => NoDiagnosticAsync(
        """
        using System;
        using System.Collections.Generic;

        class C
        {
            private int[] _last = new int[0];
            private readonly List<int[]> _all = new();

            int[] Returned() => new[] { 1, 2 };
            void Stored() { _last = new[] { 1, 2 }; }
            void Added() { var a = new[] { 1, 2 }; _all.Add(a); }
            Func<int> Captured() { var a = new[] { 1, 2 }; return () => a[0]; }
            IEnumerable<int> AsSequence() { IEnumerable<int> a = new[] { 1, 2 }; return a; }
            int Reassigned(bool b) { var a = new[] { 1, 2 }; if (b) a = _last; return a[0]; }
        }
        """);

    [Fact]
    public Task RunsOnceAlready_NoDiagnostic() => NoDiagnosticAsync(
        """
        using System;

        class NamesAttribute : Attribute { public NamesAttribute(string[] names) { } }

        [Names(new[] { "a", "b" })]
        class C
        {
            private static readonly char[] s_separators = new[] { ',', ';' };
            private readonly int[] _perInstance = new[] { 1, 2 };
            private static readonly string[] s_split;
            public char[] Chars { get; } = new[] { 'x' };

            static C()
            {
                s_split = "a,b".Split(new[] { ',' });
            }
        }
        """);

    [Fact]
    public Task ReadOnlySpanBackedByStaticData_NoDiagnostic() => NoDiagnosticAsync(
        """
        using System;

        class C
        {
            static int Sum(ReadOnlySpan<byte> b) => b.Length;
            static int Find(ReadOnlySpan<char> s) => s.Length;
            enum Kind { A, B }
            static int Kinds(ReadOnlySpan<Kind> k) => k.Length;

            int M()
            {
                ReadOnlySpan<int> local = new[] { 1, 2, 3 };
                return Sum(new byte[] { 1, 2 }) + Find(new[] { 'a', 'b' }) + Kinds(new[] { Kind.A }) + local.Length
                       + "abc".AsSpan().IndexOfAny(new[] { 'a', 'b' });
            }
        }
        """);

    [Fact]
    public Task ParamsExpansionAndExpressionTrees_NoDiagnostic() => NoDiagnosticAsync(
        """
        using System;
        using System.Linq;
        using System.Linq.Expressions;

        class C
        {
            string[] Expanded(string s) => s.Split(',', ';');
            Expression<Func<string, bool>> Query() => s => new[] { "a", "b" }.Contains(s);
        }
        """);

    [Fact]
    public async Task TopLevelStatements_NoDiagnostic()
    {
        // They run once, and there is no type of ours to hold a field.
        var tree = CSharpSyntaxTree.ParseText(
            """
            using System;

            var parts = "a,b;c".Split(new[] { ',', ';' });
            Console.WriteLine(parts.Length);
            """);
        var compilation = CSharpCompilation.Create("TopLevel", new[] { tree }, Basic.Reference.Assemblies.Net80.References.All, new CSharpCompilationOptions(OutputKind.ConsoleApplication));
        Assert.Empty(compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
        var options = new AnalyzerOptions(ImmutableArray<AdditionalText>.Empty, new TestAnalyzerConfigOptionsProvider(new Dictionary<string, string> { ["memsafety.scope"] = "everywhere" }));
        var diagnostics = await compilation.WithAnalyzers(ImmutableArray.Create<DiagnosticAnalyzer>(new ConstantArrayRebuiltPerCallAnalyzer()), options).GetAllDiagnosticsAsync();
        Assert.DoesNotContain(diagnostics, d => d.Id is "MSA1005" or "AD0001");
    }

    [Fact]
    public Task ColdMethodByDefault_NoDiagnostic() => Verify<ConstantArrayRebuiltPerCallAnalyzer>.AnalyzerAsync(
        """
        class C
        {
            string[] Cold(string s) => s.Split(new[] { ',' });
        }
        """);

    [Fact]
    public Task IncompleteCode_NoDiagnostic_NoCrash()
    {
        var test = Everywhere(Verify<ConstantArrayRebuiltPerCallAnalyzer>.Test(
            """
            class C
            {
                string[] A(string s) => s.Split(new[] { ',', ';' 
                int B() => new[] { 1, 2 }[
                string[] D(string s) => s.Split(new Missing[] { 1 });
                void E() { var x = new[] { 1, 2 }; x. }
            }
            """));
        test.AllowCompilerErrors = true;
        return test.RunAsync();
    }
}
