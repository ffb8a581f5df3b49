using System.Threading.Tasks;
using MemSafety.Analyzers.HeapEscapes;
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
}
