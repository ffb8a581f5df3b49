using System;
using System.Globalization;
using System.Linq;
using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.Boxing;
using MemSafety.Analyzers.Tests.Verification;
using MemSafety.CodeFixes.Boxing;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace MemSafety.Analyzers.Tests.Boxing;

/// <summary>MSA2002. Every positive test asserts a real <c>box</c> in the original's IL and none in the fixed
/// code's (net8.0, Release); every negative test asserts why nothing is reported (no box, or no box-free rewrite).</summary>
public sealed class CompositeFormattingTests
{
    private static AnalyzerTest Test(string source, string? fixedSource = null)
    {
        var test = fixedSource is null
            ? Verify<CompositeFormattingAnalyzer>.Test(source)
            : Verify<CompositeFormattingAnalyzer, CompositeFormattingFix>.Test(source, fixedSource);
        test.AnalyzerOptions["memsafety.scope"] = "everywhere";
        return test;
    }

    private static int RealBoxes(string source, ReferenceSet target = ReferenceSet.Net80, LanguageVersion version = LanguageVersion.Latest)
        => IlInspection.Compile(source, version, target).Boxes.Count(b => !b.ElidedByJit);

    /// <summary>The original boxes, the fixed code does not, and the diagnostics and fix are as written.</summary>
    private static async Task FixAsync(string source, string fixedSource, LanguageVersion version = LanguageVersion.Latest)
    {
        Assert.True(RealBoxes(source, version: version) > 0, "the original should box");
        Assert.Equal(0, RealBoxes(fixedSource, version: version));
        var test = Test(source, fixedSource);
        test.LanguageVersion = version;
        if (version < LanguageVersion.CSharp8)
            test.NullableContextOptions = NullableContextOptions.Disable;
        await test.RunAsync();
    }

    // ------------------------------------------------------------------ reported, with the fix

    [Fact]
    public Task StringFormat_IntAndDouble_BecomesInterpolation() => FixAsync(
        """
        class C
        {
            static string M(int count, double total) => string.Format("{0} items, {1:N2} total", [|count|], [|total|]);
        }
        """,
        """
        class C
        {
            static string M(int count, double total) => $"{count} items, {total:N2} total";
        }
        """);

    /// <summary>Comments between the arguments are the author's; the rewrite keeps them, ahead of the new call.</summary>
    [Fact]
    public Task CommentsBetweenTheArguments_Kept() => FixAsync(
        """
        using System.Text;

        class C
        {
            static string M(int count, double total, StringBuilder sb)
            {
                sb.AppendFormat(/* format */ "{0}", /* the count */ [|count|]);
                return string.Format("{0} items, {1:N2} total", // how many
                    [|count|], /* sum */ [|total|]);
            }
        }
        """,
        """
        using System.Text;

        class C
        {
            static string M(int count, double total, StringBuilder sb)
            {
                /* format */ /* the count */ sb.Append($"{count}");
                return // how many
                    /* sum */ $"{count} items, {total:N2} total";
            }
        }
        """);

    [Fact]
    public Task StringFormat_AlignmentEscapedBracesAndRepeatedLocal() => FixAsync(
        """
        class C
        {
            static string M(int id, string name) => string.Format("{{{0,-8}|{1,5}}} {0:D4} \"q\"\t", [|id|], name);
        }
        """,
        """
        class C
        {
            static string M(int id, string name) => $"{{{id,-8}|{name,5}}} {id:D4} \"q\"\t";
        }
        """);

    [Fact]
    public Task StringFormat_WithProvider_BecomesStringCreate() => FixAsync(
        """
        using System.Globalization;
        class C
        {
            static string M(decimal price) => string.Format(CultureInfo.InvariantCulture, "{0:C}", [|price|]);
        }
        """,
        """
        using System.Globalization;
        class C
        {
            static string M(decimal price) => string.Create(CultureInfo.InvariantCulture, $"{price:C}");
        }
        """);

    [Fact]
    public Task AppendFormat_BecomesAppendWithHandler_ProviderKept() => FixAsync(
        """
        using System;
        using System.Text;
        class C
        {
            static void M(StringBuilder sb, int x, DateTime when, IFormatProvider p)
            {
                sb.AppendFormat("{0:X} at {1:yyyy-MM-dd}", [|x|], [|when|]);
                sb.AppendFormat(p, "{0}", [|x|]);
            }
        }
        """,
        """
        using System;
        using System.Text;
        class C
        {
            static void M(StringBuilder sb, int x, DateTime when, IFormatProvider p)
            {
                sb.Append($"{x:X} at {when:yyyy-MM-dd}");
                sb.Append(p, $"{x}");
            }
        }
        """);

    [Fact]
    public Task ConsoleAndTextWriter_KeepTheWritersFormatProvider() => FixAsync(
        """
        using System;
        using System.IO;
        class C
        {
            static void M(TextWriter writer, long n, bool ok)
            {
                Console.WriteLine("n={0}", [|n|]);
                writer.Write("{0} {1}", [|n|], [|ok|]);
            }
        }
        """,
        """
        using System;
        using System.IO;
        class C
        {
            static void M(TextWriter writer, long n, bool ok)
            {
                Console.WriteLine(string.Create(Console.Out.FormatProvider, $"n={n}"));
                writer.Write(string.Create(writer.FormatProvider, $"{n} {ok}"));
            }
        }
        """);

    [Fact]
    public Task ParamsArray_FourValues_AndStringConcatOfObjects() => FixAsync(
        """
        class C
        {
            static string M(int a, int b, int c, int d) => string.Format("{0}-{1}-{2}-{3}", [|a|], [|b|], [|c|], [|d|]);
            static string N(int a, char c) => string.Concat([|a|], [|c|]);
        }
        """,
        """
        class C
        {
            static string M(int a, int b, int c, int d) => $"{a}-{b}-{c}-{d}";
            static string N(int a, char c) => $"{a}{c}";
        }
        """);

    [Fact]
    public Task StructWithToStringOverride_AndInOrderCallArguments_Fixed() => FixAsync(
        """
        struct Money { public int Cents; public override string ToString() => Cents.ToString(); }
        class C
        {
            static int Next() => 4;
            static string M(Money m) => string.Format("{0} {1}", [|m|], [|Next()|]);
        }
        """,
        """
        struct Money { public int Cents; public override string ToString() => Cents.ToString(); }
        class C
        {
            static int Next() => 4;
            static string M(Money m) => $"{m} {Next()}";
        }
        """);

    [Fact]
    public Task CSharp7_3_StringFormat_IsFixed_TheHandlerIsUsedForStringTargets() => FixAsync(
        """
        class C
        {
            static string M(int x) => string.Format("{0:D4}", [|x|]);
        }
        """,
        """
        class C
        {
            static string M(int x) => $"{x:D4}";
        }
        """,
        LanguageVersion.CSharp7_3);

    [Fact]
    public async Task Message_NamesValueTypeAndApi()
    {
        var source = """
            class C
            {
                static string M(int count) => string.Format("{0}", {|#0:count|});
            }
            """;
        Assert.Equal(1, RealBoxes(source));
        var test = Test(source);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA2002", 0).WithMessage(
            "'count' (int) is boxed to 'object' each time this runs: 'string.Format' takes object arguments; an interpolated string formats it without boxing"));
        await test.RunAsync();
    }

    /// <summary>The message says how often the box happens, as MSA2001's does: per iteration only on a cycle of the
    /// control flow, per call in a hot path (it said "on every call" for a format call in a loop body).</summary>
    [Theory]
    [InlineData("static void M(int[] widths, System.Text.StringBuilder sb) { foreach (var w in widths) sb.AppendFormat(\"{0};\", {|#0:w|}); }", "on every iteration")]
    [InlineData("[HotPath] static string M(int w) => string.Format(\"{0}\", {|#0:w|});", "on every call of this hot path")]
    [InlineData("[HotPath] static string M(int[] widths) { foreach (var w in widths) if (w < 0) return string.Format(\"{0}\", {|#0:w|}); return null; }", "on every call of this hot path")]
    public async Task Message_SaysHowOftenTheBoxHappens(string member, string frequency)
    {
        var source = "sealed class HotPathAttribute : System.Attribute { }\nclass C\n{\n    " + member + "\n}\n";
        var test = Verify<CompositeFormattingAnalyzer>.Test(source);
        test.AnalyzerOptions["memsafety.MSA2002.scope"] = "hot_paths_and_loops";
        var api = member.Contains("AppendFormat", StringComparison.Ordinal) ? "StringBuilder.AppendFormat" : "string.Format";
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA2002", 0).WithMessage(
            $"'w' (int) is boxed to 'object' {frequency}: '{api}' takes object arguments; an interpolated string formats it without boxing"));
        await test.RunAsync();
    }

    // ------------------------------------------------------------------ reported, no fix

    [Fact]
    public async Task OutOfOrderArgumentsWithSideEffects_ReportedWithoutFix()
    {
        var source = """
            class C
            {
                static int Next() => 4;
                static string M(int x) => string.Format("{1} {0}", [|x|], [|Next()|]);
            }
            """;
        Assert.Equal(2, RealBoxes(source));
        var test = Test(source, source);
        test.ExpectNoFix = true;
        await test.RunAsync();
    }

    [Fact]
    public async Task NonConstantFormat_ReportedWithoutFix()
    {
        var source = """
            class C
            {
                static string M(string format, int x) => string.Format(format, [|x|]);
            }
            """;
        Assert.Equal(1, RealBoxes(source));
        var test = Test(source, source);
        test.ExpectNoFix = true;
        await test.RunAsync();
    }

    [Fact]
    public async Task ProviderFormInCSharp9_ReportedWithoutFix()
    {
        var source = """
            using System.Globalization;
            class C
            {
                static string M(int x) => string.Format(CultureInfo.InvariantCulture, "{0}", [|x|]);
            }
            """;
        Assert.Equal(1, RealBoxes(source, version: LanguageVersion.CSharp9));
        var test = Test(source, source);
        test.LanguageVersion = LanguageVersion.CSharp9;
        test.ExpectNoFix = true;
        await test.RunAsync();
    }

    // ------------------------------------------------------------------ not reported

    [Fact]
    public async Task LoopScope_InLoopReportedButNotOnTheWayOutOfIt()
    {
        // With the loop scope (the default is hot paths only), the first Format is followed by return on every
        // path: it runs once per call, in a method nobody marked hot. The second runs on every iteration.
        var source = """
            using System.Collections.Generic;
            class C
            {
                static string Describe(int[] ids, int wanted, List<string> log)
                {
                    foreach (var id in ids)
                    {
                        if (id == wanted)
                            return string.Format("found {0}", id);
                        log.Add(string.Format("skipped {0}", [|id|]));
                    }
                    return "none";
                }
            }
            """;
        Assert.Equal(2, RealBoxes(source));
        var test = Verify<CompositeFormattingAnalyzer>.Test(source);
        test.AnalyzerOptions["memsafety.MSA2002.scope"] = "hot_paths_and_loops";
        await test.RunAsync();
        await Verify<CompositeFormattingAnalyzer>.AnalyzerAsync(source.Replace("[|", "").Replace("|]", ""));
    }

    [Fact]
    public async Task ReferenceTypeArguments_NoDiagnostic()
    {
        var source = "class C { static string M(string a, object b) => string.Format(\"{0} {1}\", a, b); }";
        Assert.Equal(0, RealBoxes(source));
        await Test(source).RunAsync();
    }

    [Fact]
    public async Task NetStandard20_InterpolationWouldBoxToo_NoDiagnostic()
    {
        var source = "class C { static string M(int x) => string.Format(\"{0}\", x); }";
        Assert.Equal(1, RealBoxes(source, ReferenceSet.NetStandard20));
        Assert.Equal(1, RealBoxes("class C { static string M(int x) => $\"{x}\"; }", ReferenceSet.NetStandard20));
        var test = Test(source);
        test.ReferenceSet = ReferenceSet.NetStandard20;
        await test.RunAsync();
    }

    [Fact]
    public async Task Net472_InterpolationWouldBoxToo_NoDiagnostic()
    {
        var source = "using System.Text; class C { static void M(StringBuilder sb, int x) => sb.AppendFormat(\"{0}\", x); }";
        Assert.Equal(1, RealBoxes(source, ReferenceSet.Net472));
        Assert.Equal(1, RealBoxes("class C { static string M(int x) => $\"{x}\"; }", ReferenceSet.Net472));
        var test = Test(source);
        test.ReferenceSet = ReferenceSet.Net472;
        await test.RunAsync();
    }

    [Fact]
    public async Task StructWithoutToString_BoxesInsideTheHandlerToo_NoDiagnostic()
    {
        var source = "struct P { public int A; } class C { static string M(P p) => string.Format(\"{0}\", p); }";
        Assert.Equal(1, RealBoxes(source));
        // The interpolated form has no box in IL but the handler boxes at run time (docs/design/boxing.md): nothing to gain.
        var assembly = IlInspection.Compile("struct P { public int A; } class C { static string M(P p) => $\"{p}\"; }");
        Assert.Empty(assembly.Boxes);
        await Test(source).RunAsync();
    }

    [Fact]
    public async Task EnumAndNullable_NoDiagnostic()
    {
        var source = """
            enum Mode { A }
            class C
            {
                static string M(Mode m, int? n) => string.Format("{0} {1}", m, n);
            }
            """;
        Assert.Equal(2, RealBoxes(source));
        await Test(source).RunAsync();
    }

    [Fact]
    public async Task FormatThatThrowsAtRunTime_NoDiagnostic()
    {
        var source = "class C { static string M(int x) => string.Format(\"{0} {1}\", x); }";
        Assert.Equal(1, RealBoxes(source));
        await Test(source).RunAsync();
    }

    [Fact]
    public async Task DebugWriteLineWithoutDebugSymbol_NoDiagnostic()
    {
        var source = "using System.Diagnostics; class C { static void M(int x) => Debug.WriteLine(\"{0}\", x); }";
        Assert.Equal(0, RealBoxes(source));
        await Test(source).RunAsync();
    }

    [Fact]
    public async Task ExplicitObjectArrayAndConcatenation_NoDiagnostic()
    {
        var source = """
            class C
            {
                static string M(object[] values, int x) => string.Format("{0}", values) + "a" + x;
            }
            """;
        Assert.Equal(0, RealBoxes(source));
        await Test(source).RunAsync();
    }

    [Fact]
    public async Task OutsideHotPathsByDefault_NoDiagnostic()
    {
        var source = "class C { static string M(int x) => string.Format(\"{0}\", x); }";
        Assert.Equal(1, RealBoxes(source));
        await Verify<CompositeFormattingAnalyzer>.Test(source).RunAsync();
    }

    /// <summary>An error message is formatted once per failure, in the default scope (a loop) and with
    /// <c>memsafety.scope = everywhere</c> alike; each case boxes in IL. The shared <c>ColdPaths</c> decides.</summary>
    [Theory]
    [InlineData("if (x < 0) throw new ArgumentException(string.Format(\"bad {0}\", x));")]
    [InlineData("if (x < 0) throw Error(string.Format(\"bad {0}\", x));")]
    [InlineData("if (x < 0) Fail(string.Format(\"bad {0}\", x));")]
    [InlineData("if (x < 0) { var message = string.Format(\"bad {0}\", x); throw new InvalidOperationException(message); }")]
    [InlineData("if (x < 0) { Last = new InvalidOperationException(string.Format(\"bad {0}\", x)); }")]
    [InlineData("try { Check(x); } catch (Exception e) { Console.WriteLine(\"{0}: {1}\", x, e.Message); }")]
    public async Task ErrorPath_NoDiagnostic(string statement)
    {
        var source = """
            using System;
            class C
            {
                static Exception Last;
                static Exception Error(string message) => new InvalidOperationException(message);
                static void Fail(string message) => throw new InvalidOperationException(message);
                static void Check(int x) { }
                static void M(int[] values)
                {
                    foreach (var x in values)
                    {
                        STATEMENT
                    }
                }
            }
            """.Replace("STATEMENT", statement);
        Assert.True(RealBoxes(source) > 0);
        await Test(source).RunAsync();
        await Verify<CompositeFormattingAnalyzer>.Test(source).RunAsync();
    }

    [Fact]
    public async Task FormattedInALoop_NotOnAnErrorPath_ReportedInTheLoopScope()
    {
        var test = Verify<CompositeFormattingAnalyzer>.Test("""
            using System;
            class C
            {
                static string Last;
                static void M(int[] values)
                {
                    foreach (var x in values)
                    {
                        Last = string.Format("at {0}", [|x|]);
                        if (x < 0) throw new InvalidOperationException(Last);
                    }
                }
            }
            """);
        test.AnalyzerOptions["memsafety.MSA2002.scope"] = "hot_paths_and_loops";
        await test.RunAsync();
    }

    [Fact]
    public async Task IncompleteCode_DoesNotCrash_NoDiagnostic()
    {
        var test = Test("class C { static string M(int x) => string.Format(\"{0}\", x, ; }");
        test.AllowCompilerErrors = true;
        await test.RunAsync();
    }

    [Fact]
    public async Task UsingStaticConsole_RepeatedCall_ReportedWithoutFix()
    {
        var source = """
            using static System.Console;
            class C
            {
                static int Next() => 4;
                static void M(int x) => WriteLine("{0}", [|x|]);
                static string N() => string.Format("{0} {0}", [|Next()|]);
            }
            """;
        Assert.Equal(2, RealBoxes(source));
        var test = Test(source, source);
        test.ExpectNoFix = true;
        await test.RunAsync();
    }

    [Fact]
    public async Task SpacesInsideHoles_AsTheRuntimeAcceptsThem_AreNormalised()
    {
        const string Original = "public static class Program { public static string Run() { int x = 7; return string.Format(\"[{0 , 4}] [{0,-3 }]\", x); } }";
        const string Fixed = "public static class Program { public static string Run() { int x = 7; return $\"[{x,4}] [{x,-3}]\"; } }";
        Assert.Equal(Behaviour.Run(Original), Behaviour.Run(Fixed));
        Assert.Equal(1, RealBoxes(Original));
        Assert.Equal(0, RealBoxes(Fixed));
        await Test(
            "public static class Program { public static string Run() { int x = 7; return string.Format(\"[{0 , 4}] [{0,-3 }]\", [|x|]); } }",
            Fixed).RunAsync();
    }

    [Fact]
    public async Task LeadingSpaceInHole_ThrowsAtRunTime_NoDiagnostic()
    {
        const string Source = "public static class Program { public static string Run() { int x = 7; return string.Format(\"{ 0}\", x); } }";
        Assert.Equal(1, RealBoxes(Source));
        Assert.ThrowsAny<System.Exception>(() => Behaviour.Run(Source));
        await Test(Source).RunAsync();
    }

    // ------------------------------------------------------------------ behaviour under several cultures

    [Theory]
    [InlineData("")]
    [InlineData("de-DE")]
    [InlineData("tr-TR")]
    [InlineData("fr-FR")]
    public void FixedCode_FormatsExactlyLikeTheOriginal(string culture)
    {
        const string Original = """
            using System;
            using System.Globalization;
            using System.IO;
            using System.Text;
            public static class Program
            {
                public static string Run()
                {
                    CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("CULTURE");
                    int i = 1234567; double d = -1234.5678; decimal m = 12.5m; var when = new DateTime(2024, 3, 9, 14, 5, 6);
                    bool ok = true; char c = 'I';
                    var sb = new StringBuilder();
                    sb.Append(string.Format("{0:N2}|{1:D9}|{1:X}|{2,-10:0.00}|{3,12}|{{x}}|{4:dddd d MMMM yyyy HH:mm}", d, i, m, i, when));
                    sb.AppendFormat("[{0}|{1}|{2}|{3:#,##0.###}]", ok, c, d, d);
                    sb.AppendFormat(CultureInfo.InvariantCulture, "<{0:N1}>", d);
                    sb.Append(string.Format(CultureInfo.GetCultureInfo("de-DE"), "{0:C}", m));
                    var w = new StringWriter(CultureInfo.GetCultureInfo("fr-FR"));
                    w.Write("{0:N3} {1}", d, i);
                    sb.Append(w.ToString());
                    sb.Append(string.Concat(i, c));
                    return sb.ToString();
                }
            }
            """;
        const string Fixed = """
            using System;
            using System.Globalization;
            using System.IO;
            using System.Text;
            public static class Program
            {
                public static string Run()
                {
                    CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("CULTURE");
                    int i = 1234567; double d = -1234.5678; decimal m = 12.5m; var when = new DateTime(2024, 3, 9, 14, 5, 6);
                    bool ok = true; char c = 'I';
                    var sb = new StringBuilder();
                    sb.Append($"{d:N2}|{i:D9}|{i:X}|{m,-10:0.00}|{i,12}|{{x}}|{when:dddd d MMMM yyyy HH:mm}");
                    sb.Append($"[{ok}|{c}|{d}|{d:#,##0.###}]");
                    sb.Append(CultureInfo.InvariantCulture, $"<{d:N1}>");
                    sb.Append(string.Create(CultureInfo.GetCultureInfo("de-DE"), $"{m:C}"));
                    var w = new StringWriter(CultureInfo.GetCultureInfo("fr-FR"));
                    w.Write(string.Create(w.FormatProvider, $"{d:N3} {i}"));
                    sb.Append(w.ToString());
                    sb.Append($"{i}{c}");
                    return sb.ToString();
                }
            }
            """;
        var saved = CultureInfo.CurrentCulture;
        try
        {
            var original = Behaviour.Run(Original.Replace("CULTURE", culture));
            var fixedResult = Behaviour.Run(Fixed.Replace("CULTURE", culture));
            Assert.Equal(original, fixedResult);
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
        }
    }
}
