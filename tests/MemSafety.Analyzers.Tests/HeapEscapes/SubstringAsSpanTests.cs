using System.Linq;
using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.HeapEscapes;
using MemSafety.Analyzers.Tests.Infrastructure;
using MemSafety.Analyzers.Tests.Verification;
using MemSafety.CodeFixes.HeapEscapes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace MemSafety.Analyzers.Tests.HeapEscapes;

public sealed class SubstringAsSpanTests
{
    private static AnalyzerTest Test(string source, string fixedSource)
    {
        var test = Verify<SubstringAsSpanAnalyzer, SubstringAsSpanFix>.Test(source, fixedSource);
        test.AnalyzerOptions["memsafety.scope"] = "everywhere";
        return test;
    }

    private static Task FixAsync(string source, string fixedSource) => Test(source, fixedSource).RunAsync();

    private static Task NoDiagnosticAsync(string source)
    {
        var test = Verify<SubstringAsSpanAnalyzer>.Test(source);
        test.AnalyzerOptions["memsafety.scope"] = "everywhere";
        return test.RunAsync();
    }

    // ------------------------------------------------------------------ reported, with the fix

    [Fact]
    public Task SubstringComparedWithLiteral_BecomesSequenceEqual() => FixAsync(
        """
        using System;

        class C
        {
            static bool IsAbc(string s, int i) => [|s.Substring(i, 3)|] == "abc";
            static bool IsNotAbc(string s) => "abc" != [|s.Substring(1)|];
        }
        """,
        """
        using System;

        class C
        {
            static bool IsAbc(string s, int i) => s.AsSpan(i, 3).SequenceEqual("abc");
            static bool IsNotAbc(string s) => !s.AsSpan(1).SequenceEqual("abc");
        }
        """);

    [Fact]
    public Task MessageNamesTheCopyTheConsumerAndTheString()
    {
        var test = Verify<SubstringAsSpanAnalyzer>.Test(
            """
            class C
            {
                bool M(string s, int i) => {|#0:s.Substring(i, 3)|} == "abc";
                int N(string line) => int.Parse({|#1:line[2..]|});
                bool O(string line)
                {
                    var key = {|#2:line.Trim()|};
                    return key.Length > 2 && key.StartsWith("k", System.StringComparison.Ordinal) && key != "key";
                }
            }
            """);
        test.AnalyzerOptions["memsafety.scope"] = "everywhere";
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA1004", 0).WithMessage(
            "'Substring' copies 3 characters into a new string that is only compared with '=='; compare a span of 's' instead"));
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA1004", 1).WithMessage(
            "The range '[2..]' copies characters into a new string that is only parsed by 'int.Parse'; parse a span of 'line' instead"));
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA1004", 2).WithMessage(
            "'Trim' copies the trimmed characters into a new string 'key' that is only measured with 'Length', tested with 'StartsWith' and compared with '!='; use a span of 'line' instead"));
        return test.RunAsync();
    }

    [Fact]
    public Task ParseOfCopies_UsesSpanOverloads() => FixAsync(
        """
        using System;
        using System.Globalization;

        class C
        {
            static int A(string s) => int.Parse([|s.Substring(2)|]);
            static double B(string s) => double.Parse([|s[1..^1]|], CultureInfo.InvariantCulture);
            static long D(string s) => long.Parse([|s.Trim()|], NumberStyles.AllowLeadingSign);
            static Guid E(string s) => Guid.Parse([|s.TrimEnd('}')|]);
            static DateTime F(string s) => DateTime.ParseExact([|s.Remove(10)|], "yyyy-MM-dd", CultureInfo.InvariantCulture);
        }
        """,
        """
        using System;
        using System.Globalization;

        class C
        {
            static int A(string s) => int.Parse(s.AsSpan(2));
            static double B(string s) => double.Parse(s.AsSpan(1..^1), CultureInfo.InvariantCulture);
            static long D(string s) => long.Parse(s.AsSpan().Trim(), NumberStyles.AllowLeadingSign);
            static Guid E(string s) => Guid.Parse(s.AsSpan().TrimEnd('}'));
            static DateTime F(string s) => DateTime.ParseExact(s.AsSpan(0, 10), "yyyy-MM-dd", CultureInfo.InvariantCulture);
        }
        """);

    [Fact]
    public Task ComparisonsWithTheSameMeaning_Reported() => FixAsync(
        """
        using System;

        class C
        {
            static bool A(string s) => [|s.Substring(1)|].StartsWith("ab", StringComparison.OrdinalIgnoreCase);
            static bool B(string s) => [|s.Substring(1)|].EndsWith("ab", StringComparison.CurrentCulture);
            static bool D(string s) => [|s.Substring(1)|].Equals("x");
            static bool E(string s, string other) => [|s.Trim()|].Equals(other, StringComparison.InvariantCultureIgnoreCase);
            static bool F(string s) => [|s.Substring(1)|].Contains("x");
            static bool G(string s) => [|s.Substring(1)|].Contains('x');
            static bool H(string s) => string.Equals([|s.Substring(1)|], "x");
            static bool I(string s, string other) => string.Equals(other, [|s.TrimStart()|], StringComparison.Ordinal);
        }
        """,
        """
        using System;

        class C
        {
            static bool A(string s) => s.AsSpan(1).StartsWith("ab", StringComparison.OrdinalIgnoreCase);
            static bool B(string s) => s.AsSpan(1).EndsWith("ab", StringComparison.CurrentCulture);
            static bool D(string s) => s.AsSpan(1).SequenceEqual("x");
            static bool E(string s, string other) => s.AsSpan().Trim().Equals(other, StringComparison.InvariantCultureIgnoreCase);
            static bool F(string s) => s.AsSpan(1).Contains("x", StringComparison.Ordinal);
            static bool G(string s) => s.AsSpan(1).Contains('x');
            static bool H(string s) => s.AsSpan(1).SequenceEqual("x");
            static bool I(string s, string other) => s.AsSpan().TrimStart().Equals(other, StringComparison.Ordinal);
        }
        """);

    [Fact]
    public Task AppendedOrWrittenCopies_UseSpanOverloads() => FixAsync(
        """
        using System;
        using System.IO;
        using System.Text;

        class C
        {
            static void A(StringBuilder sb, string s)
            {
                sb.Append([|s.Trim()|]).Append([|s[1..]|]);
                sb.Append([|s.ToCharArray(1, 2)|]);
                sb.Insert(0, [|s.Remove(3)|]);
            }

            static void B(StringWriter writer, StreamWriter stream, string s)
            {
                writer.Write([|s.TrimEnd()|]);
                stream.WriteLine([|s.ToCharArray()|]);
            }
        }
        """,
        """
        using System;
        using System.IO;
        using System.Text;

        class C
        {
            static void A(StringBuilder sb, string s)
            {
                sb.Append(s.AsSpan().Trim()).Append(s.AsSpan(1..));
                sb.Append(s.AsSpan(1, 2));
                sb.Insert(0, s.AsSpan(0, 3));
            }

            static void B(StringWriter writer, StreamWriter stream, string s)
            {
                writer.Write(s.AsSpan().TrimEnd());
                stream.WriteLine(s.AsSpan());
            }
        }
        """);

    [Fact]
    public Task LocalUsedOnlyInSpanForms_BecomesSpanLocal() => FixAsync(
        """
        using System;

        class C
        {
            static int Parse(string line)
            {
                string digits = [|line.Substring(line.IndexOf(':') + 1)|];
                if (digits.Length == 0 || digits[0] == '-' || digits == "none")
                    return 0;
                return int.Parse(digits);
            }

            static bool Key(string line)
            {
                var key = [|line.Trim()|];
                return key.Equals("a") || key.Contains("b") || key.StartsWith("c", StringComparison.Ordinal);
            }
        }
        """,
        """
        using System;

        class C
        {
            static int Parse(string line)
            {
                ReadOnlySpan<char> digits = line.AsSpan(line.IndexOf(':') + 1);
                if (digits.Length == 0 || digits[0] == '-' || digits.SequenceEqual("none"))
                    return 0;
                return int.Parse(digits);
            }

            static bool Key(string line)
            {
                var key = line.AsSpan().Trim();
                return key.SequenceEqual("a") || key.Contains("b", StringComparison.Ordinal) || key.StartsWith("c", StringComparison.Ordinal);
            }
        }
        """);

    [Fact]
    public Task WithoutUsingSystem_AddsIt() => FixAsync(
        """
        namespace App
        {
            class C
            {
                static bool M(string s) => [|s.Substring(0, 2)|] == "0x";
            }
        }
        """,
        """
        using System;

        namespace App
        {
            class C
            {
                static bool M(string s) => s.AsSpan(0, 2).SequenceEqual("0x");
            }
        }
        """);

    [Fact]
    public Task CopyAlreadyPassedAsSpanOrTurnedIntoSpan_Reported() => FixAsync(
        """
        using System;

        class C
        {
            static int Count(ReadOnlySpan<char> text) => text.Length;

            static int A(string s) => Count([|s.Trim()|]);
            static int B(string s) => [|s.TrimStart('0')|].AsSpan().Length;
            static int D(string s)
            {
                ReadOnlySpan<char> span = [|s.Remove(2)|];
                return span.Length;
            }
        }
        """,
        """
        using System;

        class C
        {
            static int Count(ReadOnlySpan<char> text) => text.Length;

            static int A(string s) => Count(s.AsSpan().Trim());
            static int B(string s) => s.AsSpan().TrimStart('0').Length;
            static int D(string s)
            {
                ReadOnlySpan<char> span = s.AsSpan(0, 2);
                return span.Length;
            }
        }
        """);

    [Fact]
    public Task CopiesOnBothSidesOfAComparison_BothBecomeSpans()
    {
        // The left copy is reported first; once it is a span, the right copy is an argument converted to a
        // span and is reported in turn (Fix All reaches the same code in its next pass).
        var test = Test(
            """
            using System;

            class C
            {
                static bool M(string a, string b) => [|a.Substring(1)|] == b.Trim();
            }
            """,
            """
            using System;

            class C
            {
                static bool M(string a, string b) => a.AsSpan(1).SequenceEqual(b.AsSpan().Trim());
            }
            """);
        test.IncrementalFixes = 2;
        test.FixAllPasses = 2;
        return test.RunAsync();
    }

    [Fact]
    public Task NestedCopies_FixedFromTheOutside()
    {
        // The outer copy is reported; once it is a span, the inner one feeds a span method and is reported in turn.
        var test = Test(
        """
        using System;

        class C
        {
            static int M(string s) => int.Parse([|s.Substring(1).Trim()|]);
        }
        """,
        """
        using System;

        class C
        {
            static int M(string s) => int.Parse(s.AsSpan(1).Trim());
        }
        """);
        test.IncrementalFixes = 2;
        test.FixAllPasses = 2;
        return test.RunAsync();
    }

    [Fact]
    public Task LocalComparedOnBothSidesAndInParentheses_Rewritten() => FixAsync(
        """
        using System;

        class C
        {
            static int M(string s, string prefix)
            {
                string head = [|s.Substring(0, 2)|];
                if ("0x" == head || (head) != prefix)
                    return 16;
                return string.Equals(prefix, head, StringComparison.OrdinalIgnoreCase) ? 8 : 10;
            }
        }
        """,
        """
        using System;

        class C
        {
            static int M(string s, string prefix)
            {
                ReadOnlySpan<char> head = s.AsSpan(0, 2);
                if (head.SequenceEqual("0x") || !head.SequenceEqual(prefix))
                    return 16;
                return head.Equals(prefix, StringComparison.OrdinalIgnoreCase) ? 8 : 10;
            }
        }
        """);

    [Fact]
    public Task CharArrayLocal_BecomesSpanLocal() => FixAsync(
        """
        using System;
        using System.Text;

        class C
        {
            static void M(StringBuilder sb, string s)
            {
                var chars = [|s.ToCharArray(1, 3)|];
                if (chars.Length > 0 && chars[0] != ' ')
                    sb.Append(chars);
            }
        }
        """,
        """
        using System;
        using System.Text;

        class C
        {
            static void M(StringBuilder sb, string s)
            {
                var chars = s.AsSpan(1, 3);
                if (chars.Length > 0 && chars[0] != ' ')
                    sb.Append(chars);
            }
        }
        """);

    [Fact]
    public Task CSharp73_NullableDisabled_ConstantsCompared()
    {
        var test = Test(
            """
            using System;

            class C
            {
                bool M(string s, string other)
                {
                    const string Prefix = "ab";
                    return [|s.Substring(0, 2)|] == Prefix || s.Substring(2) == other;
                }
            }
            """,
            """
            using System;

            class C
            {
                bool M(string s, string other)
                {
                    const string Prefix = "ab";
                    return s.AsSpan(0, 2).SequenceEqual(Prefix) || s.Substring(2) == other;
                }
            }
            """);
        test.LanguageVersion = LanguageVersion.CSharp7_3;
        test.NullableContextOptions = NullableContextOptions.Disable;
        return test.RunAsync();
    }

    [Fact]
    public Task DefaultScope_HotPathsOnly_NotLoopsOfUnmarkedMethods()
    {
        var test = Verify<SubstringAsSpanAnalyzer, SubstringAsSpanFix>.Test(
            """
            using System;

            class HotPathAttribute : Attribute { }

            class C
            {
                static bool Cold(string s) => s.Substring(1) == "x";

                [HotPath]
                static bool Hot(string s) => [|s.Substring(1)|] == "x";

                static int Loop(string[] lines)
                {
                    var n = 0;
                    foreach (var line in lines)
                        n += int.Parse(line.Substring(2));
                    return n;
                }
            }
            """,
            """
            using System;

            class HotPathAttribute : Attribute { }

            class C
            {
                static bool Cold(string s) => s.Substring(1) == "x";

                [HotPath]
                static bool Hot(string s) => s.AsSpan(1).SequenceEqual("x");

                static int Loop(string[] lines)
                {
                    var n = 0;
                    foreach (var line in lines)
                        n += int.Parse(line.Substring(2));
                    return n;
                }
            }
            """);
        return test.RunAsync();
    }

    [Fact]
    public Task FixAll_AcrossDocumentsAndProjects()
    {
        var test = Test(
            """
            using System;

            class A
            {
                static bool X(string s) => [|s.Substring(1)|] == "a" && [|s.Trim()|] != "b";
                static int Y(string s)
                {
                    var part = [|s.Substring(2)|];
                    return part == "c" ? 0 : int.Parse(part) + int.Parse([|s[..1]|]);
                }
            }
            """,
            """
            using System;

            class A
            {
                static bool X(string s) => s.AsSpan(1).SequenceEqual("a") && !s.AsSpan().Trim().SequenceEqual("b");
                static int Y(string s)
                {
                    var part = s.AsSpan(2);
                    return part.SequenceEqual("c") ? 0 : int.Parse(part) + int.Parse(s.AsSpan(..1));
                }
            }
            """);
        test.Sources.Add("class B { static bool Z(string s) => [|s.Remove(1)|] == \"z\"; }");
        test.FixedSources.Add("using System;\n\nclass B { static bool Z(string s) => s.AsSpan(0, 1).SequenceEqual(\"z\"); }");
        test.OtherProjectSources.Add("using System;\nclass D { static bool W(string s) => [|s.TrimEnd()|].EndsWith(\"w\", StringComparison.Ordinal); }");
        test.FixedOtherProjectSources.Add("using System;\nclass D { static bool W(string s) => s.AsSpan().TrimEnd().EndsWith(\"w\", StringComparison.Ordinal); }");
        return test.RunAsync();
    }

    [Fact]
    public Task Sample_FixTurnsBeforeIntoAfter()
    {
        var before = RepositoryFiles.Read("samples", "MemSafety.Samples", "HeapEscapes", "MSA1004.SubstringAsSpan.Before.cs")
            .Replace("literal.Substring(0, 2)", "[|literal.Substring(0, 2)|]")
            .Replace("line.Substring(line.IndexOf('=') + 1).Trim()", "[|line.Substring(line.IndexOf('=') + 1).Trim()|]")
            .Replace("qualified[(qualified.LastIndexOf('.') + 1)..]", "[|qualified[(qualified.LastIndexOf('.') + 1)..]|]");
        var after = RepositoryFiles.Read("samples", "MemSafety.Samples", "HeapEscapes", "MSA1004.SubstringAsSpan.After.cs")
            .Replace(".After.", ".Before.")
            .Replace("// The fix reads spans of the original string: no copies.", "// MSA1004: each method copies part of a string into a new one only to compare, parse or append it.");
        var test = Test(before, after);
        test.AnalyzerOptions.Remove("memsafety.scope");
        test.Sources.Add(RepositoryFiles.Read("build", "MemSafety.HotPathAttribute.cs"));
        test.FixedSources.Add(RepositoryFiles.Read("build", "MemSafety.HotPathAttribute.cs"));

        // Three copies are reported; the nested Substring(…).Trim() is fixed from the outside in two steps.
        test.IncrementalFixes = 4;
        test.FixAllPasses = 2;
        return test.RunAsync();
    }

    [Fact]
    public Task NestedUsesOfTheLocalAndComments_RewrittenInsideOut() => FixAsync(
        """
        using System;

        class C
        {
            static bool M(string s)
            {
                var x = [|s.Trim()|];
                return /* first */ x == (x.Equals("a") ? "b" : "c") /* last */ && (x) != "d";
            }
        }
        """,
        """
        using System;

        class C
        {
            static bool M(string s)
            {
                var x = s.AsSpan().Trim();
                return /* first */ x.SequenceEqual(x.SequenceEqual("a") ? "b" : "c") /* last */ && !x.SequenceEqual("d");
            }
        }
        """);

    [Fact]
    public Task CommentsAndLineBreaksInRewrittenComparisons_Kept() => FixAsync(
        """
        using System;

        class C
        {
            static bool M(string s)
            {
                // leading
                var head = /* init */ [|s.Substring(0, 2)|] /* after */; // trailing
                return /* a */ head /* b */ == /* c */ "0x" /* d */ // e
                    || [|s.Substring(1)|] // f
                       == "x" // g
                    || [|s.Substring(2)|].Equals(/* h */ "y") // i
                    || string.Equals(/* j */ [|s.Substring(3)|], /* k */ "z"); // l
            }
        }
        """,
        """
        using System;

        class C
        {
            static bool M(string s)
            {
                // leading
                var head = /* init */ s.AsSpan(0, 2) /* after */; // trailing
                return /* a */ head.SequenceEqual(/* b */ /* c */ "0x") /* d */ // e
                    || s.AsSpan(1).SequenceEqual(// f
                       "x") // g
                    || s.AsSpan(2).SequenceEqual(/* h */ "y") // i
                    || s.AsSpan(3).SequenceEqual(/* j */ /* k */ "z"); // l
            }
        }
        """);

    [Fact]
    public Task CSharp73_LocalsBecomeSpanLocals()
    {
        var test = Test(
            """
            using System;
            using System.Text;

            class C
            {
                int M(string s, StringBuilder sb)
                {
                    string digits = [|s.Trim()|];
                    sb.Append([|s.TrimEnd(';')|]);
                    return digits.Length == 0 || digits == "-" ? 0 : int.Parse(digits);
                }
            }
            """,
            """
            using System;
            using System.Text;

            class C
            {
                int M(string s, StringBuilder sb)
                {
                    ReadOnlySpan<char> digits = s.AsSpan().Trim();
                    sb.Append(s.AsSpan().TrimEnd(';'));
                    return digits.Length == 0 || digits.SequenceEqual("-") ? 0 : int.Parse(digits);
                }
            }
            """);
        test.LanguageVersion = LanguageVersion.CSharp7_3;
        test.NullableContextOptions = NullableContextOptions.Disable;
        return test.RunAsync();
    }

    [Fact]
    public Task LocalInsideLambdaAndRangeVariable_Reported() => FixAsync(
        """
        using System;
        using System.Globalization;

        class C
        {
            static Func<string, int> Parser() => s =>
            {
                var part = [|s.Substring(1)|];
                return int.Parse(part, CultureInfo.InvariantCulture);
            };

            static DateTime When(string s, Range r) => DateTime.Parse([|s[r]|], CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal);
        }
        """,
        """
        using System;
        using System.Globalization;

        class C
        {
            static Func<string, int> Parser() => s =>
            {
                var part = s.AsSpan(1);
                return int.Parse(part, CultureInfo.InvariantCulture);
            };

            static DateTime When(string s, Range r) => DateTime.Parse(s.AsSpan(r), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal);
        }
        """);

    // ------------------------------------------------------------------ behaviour

    [Fact]
    public async Task Behaviour_ComparisonsAndParsing_SameUnderTurkishCulture()
    {
        const string before = """
            using System;
            using System.Globalization;
            using System.Text;

            static class Program
            {
                static string Check(string s)
                {
                    var sb = new StringBuilder();
                    sb.Append(s.Substring(1, 4) == "ıIiİ").Append(',');
                    sb.Append(s.Substring(1).StartsWith("ii", StringComparison.CurrentCultureIgnoreCase)).Append(',');
                    sb.Append(s.Substring(1).EndsWith("\u00AD", StringComparison.CurrentCulture)).Append(',');
                    sb.Append(s.Trim().Equals("ıiii", StringComparison.CurrentCultureIgnoreCase)).Append(',');
                    sb.Append(string.Equals(s.Substring(1), "IIII", StringComparison.InvariantCultureIgnoreCase)).Append(',');
                    sb.Append(s.Substring(1).Contains("İ")).Append(',');
                    sb.Append(s.Substring(1).Equals("ıIiİ")).Append(',');
                    return sb.ToString();
                }

                static string Try(Func<object> f)
                {
                    try { return f().ToString(); }
                    catch (Exception e) { return e.GetType().Name; }
                }

                static string Numbers(string s)
                {
                    var sb = new StringBuilder();
                    sb.Append(Try(() => double.Parse(s.Substring(2)))).Append('|');
                    sb.Append(Try(() => decimal.Parse(s[2..]))).Append('|');
                    var t = s.Substring(2);
                    try { sb.Append(double.Parse(t, NumberStyles.Float)); } catch (FormatException) { sb.Append("FormatException"); }
                    sb.Append('|');
                    sb.Append(Try(() => DateTime.Parse(s.Trim().Substring(2)).Ticks));
                    return sb.ToString();
                }

                public static string Run()
                {
                    var saved = CultureInfo.CurrentCulture;
                    try
                    {
                        CultureInfo.CurrentCulture = new CultureInfo("tr-TR");
                        return Check(" ıIiİ") + Check("xıiii") + Check(" ıIiİ\u00AD") + Check("\t ıiii \u00A0")
                            + Numbers("x 1,5") + Numbers("x 1.234,5") + Numbers("x 1.5") + Numbers("x 31.12.2024");
                    }
                    finally
                    {
                        CultureInfo.CurrentCulture = saved;
                    }
                }
            }
            """;
        const string after = """
            using System;
            using System.Globalization;
            using System.Text;

            static class Program
            {
                static string Check(string s)
                {
                    var sb = new StringBuilder();
                    sb.Append(s.AsSpan(1, 4).SequenceEqual("ıIiİ")).Append(',');
                    sb.Append(s.AsSpan(1).StartsWith("ii", StringComparison.CurrentCultureIgnoreCase)).Append(',');
                    sb.Append(s.AsSpan(1).EndsWith("\u00AD", StringComparison.CurrentCulture)).Append(',');
                    sb.Append(s.AsSpan().Trim().Equals("ıiii", StringComparison.CurrentCultureIgnoreCase)).Append(',');
                    sb.Append(s.AsSpan(1).Equals("IIII", StringComparison.InvariantCultureIgnoreCase)).Append(',');
                    sb.Append(s.AsSpan(1).Contains("İ", StringComparison.Ordinal)).Append(',');
                    sb.Append(s.AsSpan(1).SequenceEqual("ıIiİ")).Append(',');
                    return sb.ToString();
                }

                static string Try(Func<object> f)
                {
                    try { return f().ToString(); }
                    catch (Exception e) { return e.GetType().Name; }
                }

                static string Numbers(string s)
                {
                    var sb = new StringBuilder();
                    sb.Append(Try(() => double.Parse(s.AsSpan(2)))).Append('|');
                    sb.Append(Try(() => decimal.Parse(s.AsSpan(2..)))).Append('|');
                    var t = s.AsSpan(2);
                    try { sb.Append(double.Parse(t, NumberStyles.Float)); } catch (FormatException) { sb.Append("FormatException"); }
                    sb.Append('|');
                    sb.Append(Try(() => DateTime.Parse(s.Trim().AsSpan(2)).Ticks));
                    return sb.ToString();
                }

                public static string Run()
                {
                    var saved = CultureInfo.CurrentCulture;
                    try
                    {
                        CultureInfo.CurrentCulture = new CultureInfo("tr-TR");
                        return Check(" ıIiİ") + Check("xıiii") + Check(" ıIiİ\u00AD") + Check("\t ıiii \u00A0")
                            + Numbers("x 1,5") + Numbers("x 1.234,5") + Numbers("x 1.5") + Numbers("x 31.12.2024");
                    }
                    finally
                    {
                        CultureInfo.CurrentCulture = saved;
                    }
                }
            }
            """;
        var test = Test(before, after);
        test.Sources[0] = before
            .Replace("s.Substring(1, 4) ==", "[|s.Substring(1, 4)|] ==")
            .Replace("Append(s.Substring(1).", "Append([|s.Substring(1)|].")
            .Replace("Append(s.Trim().Equals", "Append([|s.Trim()|].Equals")
            .Replace("string.Equals(s.Substring(1),", "string.Equals([|s.Substring(1)|],")
            .Replace("double.Parse(s.Substring(2))", "double.Parse([|s.Substring(2)|])")
            .Replace("decimal.Parse(s[2..])", "decimal.Parse([|s[2..]|])")
            .Replace("var t = s.Substring(2);", "var t = [|s.Substring(2)|];")
            .Replace("DateTime.Parse(s.Trim().Substring(2))", "DateTime.Parse([|s.Trim().Substring(2)|])");
        await test.RunAsync();
        var expected = Behaviour.Run(before);
        Assert.Contains("True", expected);
        Assert.Equal(expected, Behaviour.Run(after));
    }

    [Fact]
    public async Task Behaviour_TrimRemoveAndExceptions_Same()
    {
        const string template = """
            using System;
            using System.Text;

            static class Program
            {
                static string Try(Func<object> f)
                {
                    try { return f().ToString(); }
                    catch (Exception e) { return e.GetType().Name; }
                }

                public static string Run()
                {
                    var sb = new StringBuilder();
                    var inputs = new[] { "", " ", "\u00A0a\u2028", "\u200Bb\u200B", "\u0085c\u3000", "\t-x-\r\n", "abcdef" };
                    foreach (var s in inputs)
                    {
                        sb.Append('[').Append(TRIM).Append(']');
                        sb.Append('[').Append(TRIMSTART).Append(']');
                        sb.Append('[').Append(TRIMEND).Append(']');
                        sb.Append('[').Append(TRIMCHAR).Append(']');
                        sb.Append(Try(() => REMOVE)).Append(Try(() => SUBSTRING)).Append(Try(() => RANGE)).Append(Try(() => CHARS)).Append(';');
                    }

                    return sb.ToString();
                }
            }
            """;
        var before = template
            .Replace("TRIM)", "s.Trim())").Replace("TRIMSTART", "s.TrimStart()").Replace("TRIMEND", "s.TrimEnd()").Replace("TRIMCHAR", "s.Trim('-')")
            .Replace("REMOVE", "s.Remove(3) == \"abc\"").Replace("SUBSTRING", "s.Substring(2, 3) == \"cde\"")
            .Replace("RANGE", "s[1..^1] == \"bcde\"").Replace("CHARS", "new StringBuilder().Append(s.ToCharArray(1, 2)).ToString()");
        var after = template
            .Replace("TRIM)", "s.AsSpan().Trim())").Replace("TRIMSTART", "s.AsSpan().TrimStart()").Replace("TRIMEND", "s.AsSpan().TrimEnd()").Replace("TRIMCHAR", "s.AsSpan().Trim('-')")
            .Replace("REMOVE", "s.AsSpan(0, 3).SequenceEqual(\"abc\")").Replace("SUBSTRING", "s.AsSpan(2, 3).SequenceEqual(\"cde\")")
            .Replace("RANGE", "s.AsSpan(1..^1).SequenceEqual(\"bcde\")").Replace("CHARS", "new StringBuilder().Append(s.AsSpan(1, 2)).ToString()");
        var marked = before
            .Replace("Append(s.Trim())", "Append([|s.Trim()|])").Replace("Append(s.TrimStart())", "Append([|s.TrimStart()|])")
            .Replace("Append(s.TrimEnd())", "Append([|s.TrimEnd()|])").Replace("Append(s.Trim('-'))", "Append([|s.Trim('-')|])")
            .Replace("s.Remove(3) ==", "[|s.Remove(3)|] ==").Replace("s.Substring(2, 3) ==", "[|s.Substring(2, 3)|] ==")
            .Replace("s[1..^1] ==", "[|s[1..^1]|] ==").Replace("Append(s.ToCharArray(1, 2))", "Append([|s.ToCharArray(1, 2)|])");
        await Test(marked, after).RunAsync();
        var expected = Behaviour.Run(before);
        Assert.Contains("ArgumentOutOfRangeException", expected);
        Assert.Equal(expected, Behaviour.Run(after));
    }

    // ------------------------------------------------------------------ not reported

    [Fact]
    public Task Returned_NoDiagnostic() => NoDiagnosticAsync(
        """
        class C
        {
            static string M(string s) => s.Substring(1);
            static string N(string s) { var t = s.Trim(); return t; }
        }
        """);

    [Fact]
    public Task StoredInFieldCollectionOrPassedToApiWithoutSpanOverload_NoDiagnostic() => NoDiagnosticAsync(
        """
        using System;
        using System.Collections.Generic;
        using System.IO;

        class C
        {
            private string _last = "";
            private readonly List<string> _names = new();
            private readonly Dictionary<string, int> _counts = new();

            void M(string s)
            {
                _last = s.Substring(1);
                _names.Add(s.Trim());
                _counts[s.Substring(2)] = 1;
                Console.WriteLine(s.Substring(3));
                var path = Path.Combine(s.Substring(1), "x");
                object boxed = s.Trim();
                var parts = s.Substring(1).Split(',');
                var upper = s.Substring(1).ToUpperInvariant();
                var joined = s.Substring(1) + "!";
                Func<string> later = () => s.Substring(1);
            }
        }
        """);

    [Fact]
    public Task LocalUsedWithoutSpanForm_NoDiagnostic() => NoDiagnosticAsync(
        """
        using System;
        using System.Collections.Generic;

        class C
        {
            int A(string s, List<string> list)
            {
                var part = s.Substring(1);
                list.Add(part);
                return int.Parse(part);
            }

            bool B(string s)
            {
                var part = s.Trim();
                switch (part) { case "x": return true; }
                return part == "y";
            }

            int D(string s)
            {
                var part = s.Substring(1);
                part = part.Trim();
                return int.Parse(part);
            }

            bool E(string s)
            {
                var part = s.Substring(1);
                Func<bool> f = () => part == "x";
                return f();
            }

            bool F(string s)
            {
                var part = s.Substring(1);
                return part == part.ToUpperInvariant() || string.Equals(part, part);
            }

            string G(string s)
            {
                var part = s.Substring(1);
                return part == "x" ? part : "";
            }

            bool H(string s, ref string target)
            {
                var part = s.Substring(1);
                target = part;
                return part == "x";
            }

            char I(string s)
            {
                var chars = s.ToCharArray();
                chars[0] = 'x';
                return chars[1];
            }

            int J(string s)
            {
                var part = s.Substring(1);
                return nameof(part).Length + int.Parse(part);
            }
        }
        """);

    [Fact]
    public Task AsyncMethodsAndIterators_NoDiagnostic() => NoDiagnosticAsync(
        """
        using System.Collections.Generic;
        using System.Threading.Tasks;

        class C
        {
            async Task<int> A(string s)
            {
                var part = s.Substring(1);
                await Task.Yield();
                return int.Parse(part);
            }

            async Task<bool> B(string s, Task<string> other) => s.Substring(1).Equals(await other);

            IEnumerable<int> D(string s)
            {
                var part = s.Substring(1);
                yield return int.Parse(part);
            }

            async Task<int> E(string s)
            {
                await Task.Yield();
                return int.Parse(s.Substring(1)) + await Task.FromResult(1);
            }

            // The statement's whole expression is the await itself.
            async Task<bool> G(string s)
            {
                return await Task.FromResult(s.Substring(1) == "x");
            }

            System.Func<string, Task<int>> F() => async s =>
            {
                var part = s.Trim();
                await Task.Yield();
                return int.Parse(part);
            };
        }
        """);

    [Fact]
    public Task AsyncMethodAndIterator_DirectUseWithoutAwait_Reported() => FixAsync(
        """
        using System;
        using System.Collections.Generic;
        using System.Threading.Tasks;

        class C
        {
            async Task<int> A(string s)
            {
                await Task.Yield();
                return int.Parse([|s.Substring(1)|]);
            }

            IEnumerable<bool> B(string s)
            {
                yield return [|s.Trim()|] == "x";
            }
        }
        """,
        """
        using System;
        using System.Collections.Generic;
        using System.Threading.Tasks;

        class C
        {
            async Task<int> A(string s)
            {
                await Task.Yield();
                return int.Parse(s.AsSpan(1));
            }

            IEnumerable<bool> B(string s)
            {
                yield return s.AsSpan().Trim().SequenceEqual("x");
            }
        }
        """);

    [Fact]
    public Task CultureSensitiveComparisons_NoDiagnostic() => NoDiagnosticAsync(
        """
        using System;
        using System.Globalization;

        class C
        {
            bool M(string s, CultureInfo culture)
            {
                return s.Substring(1).StartsWith("ab")
                    || s.Substring(1).EndsWith("ab")
                    || s.Trim().StartsWith("ab", true, culture)
                    || string.Compare(s.Substring(1), "ab") == 0
                    || s.Substring(1).CompareTo("ab") == 0
                    || s.Substring(1).StartsWith('a')
                    || s.Trim().Contains('a', StringComparison.OrdinalIgnoreCase);
            }
        }
        """);

    [Fact]
    public Task ComparandMayBeNull_NoDiagnostic() => NoDiagnosticAsync(
        """
        #nullable enable
        using System;

        class C
        {
            bool A(string s, string? other) => s.Substring(1) == other;
            bool B(string s, string? other) => s.Substring(1).Equals(other);
            bool D(string s, string? other) => string.Equals(s.Trim(), other, StringComparison.Ordinal);
            bool E(string s, string? other) => s.Substring(1).StartsWith(other!, StringComparison.Ordinal) && s.Substring(1).Contains(other!);
            bool F(string s) => s.Substring(1) == null;
        #nullable disable
            bool G(string s, string other) => s.Substring(1) == other || s.Trim().EndsWith(other, StringComparison.Ordinal);
        }
        """);

    [Fact]
    public Task ReceiverMayBeNull_NoDiagnostic() => NoDiagnosticAsync(
        """
        #nullable enable
        class C
        {
            bool A(string? s) => s.Substring(1) == "x";
            bool B(string? s) => s?.Substring(1) == "x";
            int D(string? s) => int.Parse(s?.Trim() ?? "0");
        }
        """);

    [Fact]
    public Task TrimWithSeveralCharsOrAnArray_NoDiagnostic() => NoDiagnosticAsync(
        """
        class C
        {
            bool M(string s, char[] chars) => s.Trim(',', ';') == "x" || s.Trim(chars) == "y" || s.TrimEnd(new char[0]) == "z" || s.Remove(1, 2) == "w";
        }
        """);

    private const string SubstringsPassedToSpanOverloads = """
        using System;
        using System.IO;
        using System.Text;

        class C
        {
            static int Count(ReadOnlySpan<char> text) => text.Length;
            static void Log(string text) { }
            static void Log(ReadOnlySpan<char> text) { }

            void M(string s, StringBuilder sb, StringWriter writer)
            {
                int.TryParse(s.Substring(1), out var n);
                Guid.Parse(s.Substring(1));
                sb.Append(s.Substring(1));
                writer.Write(s.Substring(1));
                Count(s.Substring(1));
                Log(s.Substring(2, 3));
            }

            void N<T>(T target, string s) where T : Target => target.Take(s.Substring(1));
        }

        class Target
        {
            public void Take(ReadOnlySpan<char> text) { }
        }
        """;

    /// <summary>The SDK's analyzers are in the compilation (the package's targets say so) and CA1846 is at its
    /// default, a suggestion: these calls are its findings.</summary>
    [Fact]
    public Task SubstringPassedToSpanOverload_DeferredToCa1846_NoDiagnostic()
    {
        var test = Verify<SubstringAsSpanAnalyzer>.Test(SubstringsPassedToSpanOverloads);
        test.AnalyzerOptions["memsafety.scope"] = "everywhere";
        test.AnalyzerOptions["build_property.MemSafetyNetAnalyzers"] = "true";
        return test.RunAsync();
    }

    /// <summary>CA1846 turned off (or the SDK's analyzers absent, e.g. a netstandard2.0 project): nothing defers, so
    /// MSA1004 reports the copies whose use it knows. Its fix is not offered there (CA1846's case).</summary>
    [Theory]
    [InlineData("Ca1846Off")]
    [InlineData("NoNetAnalyzers")]
    public async Task SubstringPassedToSpanOverload_Ca1846NotReporting_Reported(string situation)
    {
        var test = Verify<SubstringAsSpanAnalyzer>.Test(SubstringsPassedToSpanOverloads);
        test.AnalyzerOptions["memsafety.scope"] = "everywhere";
        if (situation == "Ca1846Off")
        {
            test.AnalyzerOptions["build_property.MemSafetyNetAnalyzers"] = "true";
            test.DiagnosticSeverities["CA1846"] = ReportDiagnostic.Suppress;
        }

        var diagnostics = await test.AnalyzeAsync();
        // Every call but Log(s.Substring(2, 3)): MSA1004 does not know what a user's Log does with the text.
        Assert.Equal(new[] { 12, 13, 14, 15, 16, 20 }, diagnostics.Select(d => d.Location.GetLineSpan().StartLinePosition.Line).OrderBy(x => x).ToArray());
        Assert.All(diagnostics, d => Assert.Equal("MSA1004", d.Id));
        Assert.All(diagnostics, d => Assert.StartsWith("s.Substring(", d.Location.SourceTree!.GetText().ToString(d.Location.SourceSpan)));

        var noFix = new AnalyzerTest(new SubstringAsSpanAnalyzer()) { CodeFix = new SubstringAsSpanFix(), ExpectNoFix = true };
        noFix.Sources.Add(System.Text.RegularExpressions.Regex.Replace(SubstringsPassedToSpanOverloads, @"s\.Substring\(1\)", "[|$0|]"));
        noFix.AnalyzerOptions["memsafety.scope"] = "everywhere";
        await noFix.RunAsync();
    }

    [Fact]
    public Task TextWriterOfUnknownType_NoDiagnostic() => NoDiagnosticAsync(
        """
        using System.IO;

        class MyWriter : StringWriter
        {
            public override void Write(string? value) => base.Write("[" + value + "]");
        }

        class C
        {
            void M(TextWriter writer, MyWriter mine, string s)
            {
                writer.Write(s.Trim());
                writer.WriteLine(s.ToCharArray());
                mine.Write(s.Trim());
            }
        }
        """);

    [Fact]
    public Task RangeIndexerConvertedToSpan_LeftToCa1831_NoDiagnostic() => NoDiagnosticAsync(
        """
        using System;

        class C
        {
            static int Count(ReadOnlySpan<char> text) => text.Length;
            int M(string s)
            {
                ReadOnlySpan<char> span = s[1..];
                return Count(s[2..]) + span.Length;
            }
        }
        """);

    [Fact]
    public Task ExpressionTree_NoDiagnostic() => NoDiagnosticAsync(
        """
        using System;
        using System.Linq.Expressions;

        class C
        {
            Expression<Func<string, bool>> M() => s => s.Substring(1) == "x" && int.Parse(s.Trim()) > 0;
        }
        """);

    [Fact]
    public Task GeneratedCode_NoDiagnostic() => NoDiagnosticAsync(
        """
        // <auto-generated/>
        class C
        {
            bool M(string s) => s.Substring(1) == "x";
        }
        """);

    [Fact]
    public Task NamedArguments_NoDiagnostic() => NoDiagnosticAsync(
        """
        class C
        {
            bool M(string s) => s.Substring(length: 2, startIndex: 1) == "ab" || string.Equals(b: "x", a: s.Trim());
        }
        """);

    [Fact]
    public Task NetStandard20_NoSpanApis_NoDiagnostic()
    {
        var test = Verify<SubstringAsSpanAnalyzer>.Test(
            """
            using System.Text;

            class C
            {
                int M(string s, StringBuilder sb)
                {
                    sb.Append(s.Trim());
                    var part = s.Substring(1);
                    return s.Substring(1) == "x" ? int.Parse(part) : int.Parse(s.Substring(2));
                }
            }
            """);
        test.AnalyzerOptions["memsafety.scope"] = "everywhere";
        test.ReferenceSet = ReferenceSet.NetStandard20;
        test.LanguageVersion = LanguageVersion.CSharp7_3;
        test.NullableContextOptions = NullableContextOptions.Disable;
        return test.RunAsync();
    }

    [Fact]
    public async Task NetStandard20WithSystemMemory_StringsPassedAsSpansExplicitly_SameResults()
    {
        // That target's string has no implicit conversion to ReadOnlySpan<char> (the operator is .NET Core's),
        // so a string that the rewrite passes where MemoryExtensions takes a span needs AsSpan().
        const string before = """
            using System;

            static class Program
            {
                const string Hex = "0x";

                static bool A(string s) => [|s.Substring(0, 2)|] == Hex;
                static bool B(string s) => string.Equals("x", [|s.Substring(1)|]);
                static bool D(string s) => [|s.Trim()|].StartsWith("ab", StringComparison.OrdinalIgnoreCase);
                static bool E(string s) => [|s.Substring(1)|].Equals("x", StringComparison.Ordinal) || "y" != [|s.Remove(3)|];

                static int F(string line)
                {
                    string key = [|line.Substring(1)|];
                    if (key.Length == 0 || key[0] == '-' || key == "none")
                        return 0;
                    return key.EndsWith("x", StringComparison.Ordinal) || key.Contains(Hex) ? 1 : 2;
                }

                public static string Run()
                {
                    var result = "";
                    foreach (var s in new[] { "0x1f", "xx", " AbC ", "yyyy", "-none", "_none", "a0x", "abcx", "abc" })
                        result += A(s) + "," + B(s) + "," + D(s) + "," + E(s) + "," + F(s) + ";";
                    return result;
                }
            }
            """;
        const string after = """
            using System;

            static class Program
            {
                const string Hex = "0x";

                static bool A(string s) => s.AsSpan(0, 2).SequenceEqual(Hex.AsSpan());
                static bool B(string s) => s.AsSpan(1).SequenceEqual("x".AsSpan());
                static bool D(string s) => s.AsSpan().Trim().StartsWith("ab".AsSpan(), StringComparison.OrdinalIgnoreCase);
                static bool E(string s) => s.AsSpan(1).Equals("x".AsSpan(), StringComparison.Ordinal) || !s.AsSpan(0, 3).SequenceEqual("y".AsSpan());

                static int F(string line)
                {
                    ReadOnlySpan<char> key = line.AsSpan(1);
                    if (key.Length == 0 || key[0] == '-' || key.SequenceEqual("none".AsSpan()))
                        return 0;
                    return key.EndsWith("x".AsSpan(), StringComparison.Ordinal) || key.Contains(Hex.AsSpan(), StringComparison.Ordinal) ? 1 : 2;
                }

                public static string Run()
                {
                    var result = "";
                    foreach (var s in new[] { "0x1f", "xx", " AbC ", "yyyy", "-none", "_none", "a0x", "abcx", "abc" })
                        result += A(s) + "," + B(s) + "," + D(s) + "," + E(s) + "," + F(s) + ";";
                    return result;
                }
            }
            """;
        await Test(before, after).OnNetStandard20WithSystemMemory().RunAsync();
        var expected = Behaviour.Run(before, references: ReferenceSet.NetStandard20WithSystemMemory, languageVersion: LanguageVersion.CSharp7_3);
        Assert.Contains("True", expected);
        Assert.Equal(expected, Behaviour.Run(after, references: ReferenceSet.NetStandard20WithSystemMemory, languageVersion: LanguageVersion.CSharp7_3));
    }

    [Fact]
    public Task NetStandard20WithSystemMemory_NoSpanOverloadsOfTheConsumers_NoDiagnostic()
    {
        // System.Memory adds spans, not span overloads to the BCL: no int.Parse(ReadOnlySpan<char>),
        // StringBuilder.Append(ReadOnlySpan<char>), TextWriter.Write(ReadOnlySpan<char>); and its string has no
        // TrimEnd(char) (TrimEnd(params char[]) is not reported).
        var test = Verify<SubstringAsSpanAnalyzer>.Test(
            """
            using System;
            using System.IO;
            using System.Text;

            class C
            {
                int M(string s, StringBuilder sb, StringWriter writer)
                {
                    sb.Append(s.Trim()).Append(s.ToCharArray(1, 2));
                    writer.Write(s.Substring(1));
                    var part = s.Substring(1);
                    return s.TrimEnd(';') == "x" ? int.Parse(part) : int.Parse(s.Substring(2));
                }
            }
            """);
        test.AnalyzerOptions["memsafety.scope"] = "everywhere";
        return test.OnNetStandard20WithSystemMemory().RunAsync();
    }

    [Fact]
    public Task IncompleteCode_NoCrash_NoDiagnostic()
    {
        var test = Verify<SubstringAsSpanAnalyzer>.Test(
            """
            class C
            {
                bool A(string s) => s.Substring( == "x";
                int B(string s) => int.Parse(s.Substring(1), );
                bool D(string s) { var part = s.Trim(; return part == "x"; }
                bool E(string s) => s.Substring(1) == Missing;
                bool F(string s) => s.Substring("a") == "b";
                bool G(string s) => s[1..] == ;
                void H(string s) { var x = s.Substring(1); x. }
            }
            """);
        test.AnalyzerOptions["memsafety.scope"] = "everywhere";
        test.AllowCompilerErrors = true;
        return test.RunAsync();
    }
}
