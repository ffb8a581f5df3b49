using System.Threading.Tasks;
using MemSafety.Analyzers.HeapEscapes;
using MemSafety.Analyzers.Tests.Verification;
using MemSafety.CodeFixes.HeapEscapes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using VerifyCS = MemSafety.Analyzers.Tests.Verification.Verify<MemSafety.Analyzers.HeapEscapes.StringConcatInLoopAnalyzer, MemSafety.CodeFixes.HeapEscapes.StringConcatInLoopFix>;

namespace MemSafety.Analyzers.Tests.HeapEscapes;

public sealed class StringConcatInLoopTests
{
    private static Task AnalyzerAsync(string source) => Verify<StringConcatInLoopAnalyzer>.AnalyzerAsync(source);

    // ------------------------------------------------------------------ reported and fixed

    [Fact]
    public Task CompoundAppendInForeach_Rewritten() => VerifyCS.CodeFixAsync(
        """
        using System.Collections.Generic;

        class C
        {
            static string Join(List<string> items)
            {
                string csv = "";
                foreach (var item in items)
                {
                    [|csv += item + ","|]; // one field
                }

                return csv;
            }
        }
        """,
        """
        using System.Collections.Generic;
        using System.Text;

        class C
        {
            static string Join(List<string> items)
            {
                string csv = "";
                var csvBuilder = new StringBuilder();
                foreach (var item in items)
                {
                    csvBuilder.Append(item).Append(","); // one field
                }
                csv = csvBuilder.ToString();

                return csv;
            }
        }
        """);

    [Fact]
    public Task MessageSaysWhatAndWhy()
    {
        var test = Verify<StringConcatInLoopAnalyzer>.Test(
            """
            class C
            {
                static string Digits(int n)
                {
                    var digits = "";
                    for (var i = 0; i < n; i++)
                        {|#0:digits = digits + i|};
                    return digits;
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA1006", 0).WithMessage(
            "String 'digits' is rebuilt by '+' on every iteration of this 'for' loop: each append copies all the characters so far, " +
            "so the loop takes quadratic time and leaves a dead string per iteration; use a StringBuilder"));
        return test.RunAsync();
    }

    [Fact]
    public Task SimpleAssignmentWithNumbersAndChars_EachPieceAppended() => VerifyCS.CodeFixAsync(
        """
        class C
        {
            static string Row(int[] values, char separator)
            {
                var row = "[";
                for (var i = 0; i < values.Length; i++)
                {
                    [|row = row + values[i] + separator|];
                }

                return row + "]";
            }
        }
        """,
        """
        using System.Text;

        class C
        {
            static string Row(int[] values, char separator)
            {
                var row = "[";
                var rowBuilder = new StringBuilder(row);
                for (var i = 0; i < values.Length; i++)
                {
                    rowBuilder.Append(values[i]).Append(separator);
                }
                row = rowBuilder.ToString();

                return row + "]";
            }
        }
        """);

    [Fact]
    public Task WhileAndDoLoops_Rewritten() => VerifyCS.CodeFixAsync(
        """
        using System.IO;

        class C
        {
            static string ReadAll(TextReader reader)
            {
                string text = string.Empty;
                string? line;
                while ((line = reader.ReadLine()) != null)
                    [|text += line|];
                return text;
            }

            static string Repeat(string unit, int times)
            {
                string result = "";
                do
                {
                    [|result += unit|];
                    times--;
                }
                while (times > 0);
                return result;
            }
        }
        """,
        """
        using System.IO;
        using System.Text;

        class C
        {
            static string ReadAll(TextReader reader)
            {
                string text = string.Empty;
                string? line;
                var textBuilder = new StringBuilder(text);
                while ((line = reader.ReadLine()) != null)
                    textBuilder.Append(line);
                text = textBuilder.ToString();
                return text;
            }

            static string Repeat(string unit, int times)
            {
                string result = "";
                var resultBuilder = new StringBuilder();
                do
                {
                    resultBuilder.Append(unit);
                    times--;
                }
                while (times > 0);
                result = resultBuilder.ToString();
                return result;
            }
        }
        """);

    [Fact]
    public Task NestedLoops_OneDiagnosticBuilderBeforeOuterLoop() => VerifyCS.CodeFixAsync(
        """
        class C
        {
            static string Grid(string[][] rows)
            {
                string text = "";
                foreach (var row in rows)
                {
                    foreach (var cell in row)
                        [|text += cell + " "|];
                    text += "\n";
                }

                return text;
            }
        }
        """,
        """
        using System.Text;

        class C
        {
            static string Grid(string[][] rows)
            {
                string text = "";
                var textBuilder = new StringBuilder();
                foreach (var row in rows)
                {
                    foreach (var cell in row)
                        textBuilder.Append(cell).Append(" ");
                    textBuilder.Append("\n");
                }
                text = textBuilder.ToString();

                return text;
            }
        }
        """);

    [Fact]
    public Task OuterLoopReadsTheString_BuilderAroundInnerLoop() => VerifyCS.CodeFixAsync(
        """
        using System;

        class C
        {
            static void Print(string[][] rows)
            {
                foreach (var row in rows)
                {
                    var line = "";
                    foreach (var cell in row)
                    {
                        [|line += cell|];
                    }

                    Console.WriteLine(line);
                }
            }
        }
        """,
        """
        using System;
        using System.Text;

        class C
        {
            static void Print(string[][] rows)
            {
                foreach (var row in rows)
                {
                    var line = "";
                    var lineBuilder = new StringBuilder();
                    foreach (var cell in row)
                    {
                        lineBuilder.Append(cell);
                    }
                    line = lineBuilder.ToString();

                    Console.WriteLine(line);
                }
            }
        }
        """);

    [Fact]
    public Task ReadAtTheTopOfAnEnclosingLoop_Reported() => VerifyCS.CodeFixAsync(
        """
        using System;

        class C
        {
            static void Progress(int steps, int width)
            {
                var bar = "";
                for (var step = 0; step < steps; step++)
                {
                    Console.WriteLine(bar);
                    for (var i = 0; i < width; i++)
                        [|bar += '#'|];
                }
            }
        }
        """,
        """
        using System;
        using System.Text;

        class C
        {
            static void Progress(int steps, int width)
            {
                var bar = "";
                for (var step = 0; step < steps; step++)
                {
                    Console.WriteLine(bar);
                    var barBuilder = new StringBuilder(bar);
                    for (var i = 0; i < width; i++)
                        barBuilder.Append('#');
                    bar = barBuilder.ToString();
                }
            }
        }
        """);

    [Fact]
    public Task ByValueParameter_ReportedAndFixedWhenNotNull() => VerifyCS.CodeFixAsync(
        """
        using System.Collections.Generic;

        class C
        {
            static string Decorate(string message, IEnumerable<string> tags)
            {
                foreach (var tag in tags)
                    [|message += $" #{tag}"|];
                return message;
            }
        }
        """,
        """
        using System.Collections.Generic;
        using System.Text;

        class C
        {
            static string Decorate(string message, IEnumerable<string> tags)
            {
                var messageBuilder = new StringBuilder(message);
                foreach (var tag in tags)
                    messageBuilder.Append($" #{tag}");
                message = messageBuilder.ToString();
                return message;
            }
        }
        """);

    [Fact]
    public Task TwoStringsInOneLoop_TwoBuilders() => VerifyCS.CodeFixAsync(
        """
        class C
        {
            static string Split(string text)
            {
                string letters = "", others = "";
                foreach (var c in text)
                {
                    if (char.IsLetter(c))
                        [|letters += c|];
                    else
                        [|others += c|];
                }

                return letters + "|" + others;
            }
        }
        """,
        """
        using System.Text;

        class C
        {
            static string Split(string text)
            {
                string letters = "", others = "";
                var lettersBuilder = new StringBuilder();
                var othersBuilder = new StringBuilder();
                foreach (var c in text)
                {
                    if (char.IsLetter(c))
                        lettersBuilder.Append(c);
                    else
                        othersBuilder.Append(c);
                }
                others = othersBuilder.ToString();
                letters = lettersBuilder.ToString();

                return letters + "|" + others;
            }
        }
        """);

    [Fact]
    public Task TwoLoopsAppendingTheSameString_SecondBuilderGetsAFreshName() => VerifyCS.CodeFixAsync(
        """
        class C
        {
            static string Both(string[] a, string[] b)
            {
                var s = "";
                foreach (var x in a) [|s += x|];
                foreach (var y in b) [|s += y|];
                return s;
            }
        }
        """,
        """
        using System.Text;

        class C
        {
            static string Both(string[] a, string[] b)
            {
                var s = "";
                var sBuilder = new StringBuilder();
                foreach (var x in a) sBuilder.Append(x);
                s = sBuilder.ToString();
                var sBuilder2 = new StringBuilder(s);
                foreach (var y in b) sBuilder2.Append(y);
                s = sBuilder2.ToString();
                return s;
            }
        }
        """);
}
