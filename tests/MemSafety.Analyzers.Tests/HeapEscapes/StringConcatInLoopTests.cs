using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.Loader;
using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.HeapEscapes;
using MemSafety.Analyzers.Tests.Infrastructure;
using MemSafety.Analyzers.Tests.Verification;
using MemSafety.CodeFixes.HeapEscapes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using VerifyCS = MemSafety.Analyzers.Tests.Verification.Verify<MemSafety.Analyzers.Rules.HeapEscapes.StringConcatInLoopAnalyzer, MemSafety.CodeFixes.HeapEscapes.StringConcatInLoopFix>;

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
                var csvBuilder = new StringBuilder();
                foreach (var item in items)
                {
                    csvBuilder.Append(item).Append(","); // one field
                }

                return csvBuilder.ToString();
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
                var rowBuilder = new StringBuilder("[");
                for (var i = 0; i < values.Length; i++)
                {
                    rowBuilder.Append(values[i]).Append(separator);
                }

                return rowBuilder.ToString() + "]";
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
                var textBuilder = new StringBuilder();
                string? line;
                while ((line = reader.ReadLine()) != null)
                    textBuilder.Append(line);
                return textBuilder.ToString();
            }

            static string Repeat(string unit, int times)
            {
                var resultBuilder = new StringBuilder();
                do
                {
                    resultBuilder.Append(unit);
                    times--;
                }
                while (times > 0);
                return resultBuilder.ToString();
            }
        }
        """);

    [Fact]
    public Task NestedLoops_OneDiagnosticOneBuilder() => VerifyCS.CodeFixAsync(
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
                var textBuilder = new StringBuilder();
                foreach (var row in rows)
                {
                    foreach (var cell in row)
                        textBuilder.Append(cell).Append(" ");
                    textBuilder.Append("\n");
                }

                return textBuilder.ToString();
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
                    var lineBuilder = new StringBuilder();
                    foreach (var cell in row)
                    {
                        lineBuilder.Append(cell);
                    }

                    Console.WriteLine(lineBuilder.ToString());
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
                return messageBuilder.ToString();
            }
        }
        """);

    [Fact]
    public Task ReadOnlyByTheForeachCollection_Reported() => VerifyCS.CodeFixAsync(
        """
        class C
        {
            static string Expand(string text)
            {
                // The collection is evaluated once, before the first append.
                foreach (var part in text.Split(','))
                    [|text += part|];
                return text;
            }
        }
        """,
        """
        using System.Text;

        class C
        {
            static string Expand(string text)
            {
                // The collection is evaluated once, before the first append.
                var textBuilder = new StringBuilder(text);
                foreach (var part in text.Split(','))
                    textBuilder.Append(part);
                return textBuilder.ToString();
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
                var lettersBuilder = new StringBuilder();
                var othersBuilder = new StringBuilder();
                foreach (var c in text)
                {
                    if (char.IsLetter(c))
                        lettersBuilder.Append(c);
                    else
                        othersBuilder.Append(c);
                }

                return lettersBuilder.ToString() + "|" + othersBuilder.ToString();
            }
        }
        """);

    [Fact]
    public Task TwoLoopsAppendingTheSameString_SecondLoopKeepsAppendingToTheFirstBuilder() => VerifyCS.CodeFixAsync(
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
                var sBuilder = new StringBuilder();
                foreach (var x in a) sBuilder.Append(x);
                foreach (var y in b) sBuilder.Append(y);
                return sBuilder.ToString();
            }
        }
        """);

    [Fact]
    public Task AppendInForIncrementor_Rewritten() => VerifyCS.CodeFixAsync(
        """
        class C
        {
            static string Dashes(int n)
            {
                var text = "";
                for (var i = 0; i < n; i++, [|text += "-"|])
                {
                }

                return text;
            }
        }
        """,
        """
        using System.Text;

        class C
        {
            static string Dashes(int n)
            {
                var textBuilder = new StringBuilder();
                for (var i = 0; i < n; i++, textBuilder.Append("-"))
                {
                }

                return textBuilder.ToString();
            }
        }
        """);

    [Fact]
    public async Task DeclarationBecomesTheBuilder_OnlyWhereNothingElseNeedsTheString()
    {
        const string before = """
            using System.Text;

            public static class Program
            {
                static string Commented(string[] items)
                {
                    // The report, one item per line.
                    string report = /* none yet */ ""; // filled below
                    foreach (var item in items)
                        [|report += item + "\n"|];
                    return report.Trim() + report.Length;
                }

                static int ReadInALaterLoop(string[] items)
                {
                    var s = "";
                    foreach (var item in items)
                        [|s += item|];
                    var total = 0;
                    for (var i = 0; i < 3; i++)
                        total += s.Length;
                    return total;
                }

                static string ContinuesTheBuilder(string[] items)
                {
                    var header = new StringBuilder();
                    header.Append("items:");
                    var text = header.ToString();
                    foreach (var item in items)
                        [|text += " " + item|];
                    return text;
                }

                static string BuilderUsedAgain(string[] items)
                {
                    var header = new StringBuilder("items:");
                    var text = header.ToString();
                    foreach (var item in items)
                        [|text += " " + item|];
                    header.Append('!');
                    return text + header;
                }

                static string InitializerWithSideEffects(string[] items)
                {
                    string a = Log("a"), b = Log("b");
                    foreach (var item in items)
                        [|a += item|];
                    return a + b;
                }

                static string Log(string name)
                {
                    s_log += name;
                    return name;
                }

                static string s_log = "";

                public static string Run()
                {
                    var items = new[] { "x", "yy", "zzz" };
                    return Commented(items) + "|" + ReadInALaterLoop(items) + "|" + ContinuesTheBuilder(items) + "|"
                        + BuilderUsedAgain(items) + "|" + InitializerWithSideEffects(items) + "|" + s_log;
                }
            }
            """;
        const string after = """
            using System.Text;

            public static class Program
            {
                static string Commented(string[] items)
                {
                    // The report, one item per line.
                    var reportBuilder = new StringBuilder(); /* none yet */ // filled below
                    foreach (var item in items)
                        reportBuilder.Append(item).Append("\n");
                    string report = reportBuilder.ToString();
                    return report.Trim() + report.Length;
                }

                static int ReadInALaterLoop(string[] items)
                {
                    var sBuilder = new StringBuilder();
                    foreach (var item in items)
                        sBuilder.Append(item);
                    var s = sBuilder.ToString();
                    var total = 0;
                    for (var i = 0; i < 3; i++)
                        total += s.Length;
                    return total;
                }

                static string ContinuesTheBuilder(string[] items)
                {
                    var header = new StringBuilder();
                    header.Append("items:");
                    foreach (var item in items)
                        header.Append(" ").Append(item);
                    return header.ToString();
                }

                static string BuilderUsedAgain(string[] items)
                {
                    var header = new StringBuilder("items:");
                    var textBuilder = new StringBuilder(header.ToString());
                    foreach (var item in items)
                        textBuilder.Append(" ").Append(item);
                    header.Append('!');
                    return textBuilder.ToString() + header;
                }

                static string InitializerWithSideEffects(string[] items)
                {
                    string a = Log("a"), b = Log("b");
                    var aBuilder = new StringBuilder(a);
                    foreach (var item in items)
                        aBuilder.Append(item);
                    return aBuilder.ToString() + b;
                }

                static string Log(string name)
                {
                    s_log += name;
                    return name;
                }

                static string s_log = "";

                public static string Run()
                {
                    var items = new[] { "x", "yy", "zzz" };
                    return Commented(items) + "|" + ReadInALaterLoop(items) + "|" + ContinuesTheBuilder(items) + "|"
                        + BuilderUsedAgain(items) + "|" + InitializerWithSideEffects(items) + "|" + s_log;
                }
            }
            """;
        await VerifyCS.CodeFixAsync(before, after);
        var expected = Behaviour.Run(before);
        Assert.Equal("x\nyy\nzzz9|18|items: x yy zzz|items: x yy zzzitems:!|axyyzzzb|ab", expected);
        Assert.Equal(expected, Behaviour.Run(after));
    }

    [Fact]
    public Task MentionedInAnInactiveBranch_StringKept() => VerifyCS.CodeFixAsync(
        """
        class C
        {
            static string Join(string[] items)
            {
                var s = "";
                foreach (var item in items)
                    [|s += item|];
        #if NEVER
                System.Console.WriteLine(s);
        #endif
                return s;
            }
        }
        """,
        """
        using System.Text;

        class C
        {
            static string Join(string[] items)
            {
                var s = "";
                var sBuilder = new StringBuilder();
                foreach (var item in items)
                    sBuilder.Append(item);
                s = sBuilder.ToString();
        #if NEVER
                System.Console.WriteLine(s);
        #endif
                return s;
            }
        }
        """);

    [Fact]
    public Task NineConstantIterations_AboveTheTinyLimit_Reported() => AnalyzerAsync(
        """
        class C
        {
            static string Nine(string[] parts)
            {
                var text = "";
                for (int i = 0; i < 9; i++)
                    [|text += parts[i]|];
                return text;
            }

            static string TinyTimesUnbounded(string[][] rows)
            {
                var text = "";
                for (int r = 0; r < 2; r++)
                    foreach (var cell in rows[r])
                        [|text += cell|];
                return text;
            }
        }
        """);

    [Fact]
    public Task ColdCodeWithHotPathsOnlyScope_StillReported()
    {
        // A defect, not allocation advice: memsafety.scope does not restrict it.
        var test = Verify<StringConcatInLoopAnalyzer>.Test(
            """
            class C
            {
                static string Join(string[] words)
                {
                    var text = "";
                    foreach (var word in words)
                        [|text += word|];
                    return text;
                }
            }
            """);
        test.AnalyzerOptions["memsafety.scope"] = "hot_paths";
        test.AnalyzerOptions["memsafety.MSA1006.scope"] = "hot_paths";
        return test.RunAsync();
    }

    [Fact]
    public Task LoopsInLambdasLocalFunctionsAccessorsAndConstructors_Reported() => AnalyzerAsync(
        """
        using System;
        using System.Threading.Tasks;

        class C
        {
            private readonly string _joined;
            private readonly string[] _words = new string[0];

            public C(string[] words)
            {
                var joined = "";
                foreach (var word in words)
                    [|joined += word|];
                _joined = joined;
            }

            public string Joined
            {
                get
                {
                    var text = "";
                    foreach (var word in _words)
                        [|text += word|];
                    return text;
                }
            }

            Func<string[], string> Maker = words =>
            {
                var text = "";
                foreach (var word in words)
                    [|text += word|];
                return text;
            };

            string Local(string[] words)
            {
                return Build();

                string Build()
                {
                    var text = "";
                    foreach (var word in words)
                        [|text += word|];
                    return text;
                }
            }

            async Task<string> ReadAsync(Func<Task<string?>> next)
            {
                var text = "";
                string? chunk;
                while ((chunk = await next()) != null)
                    [|text += chunk|];
                return text;
            }
        }
        """);

    [Fact]
    public Task LanguageVersion73_NullableDisabled_Fixed()
    {
        var test = VerifyCS.Test(
            """
            class C
            {
                static string Join(string[] words, string separator)
                {
                    string text = string.Empty;
                    for (int i = 0; i < words.Length; i++)
                    {
                        [|text += words[i] + separator|];
                    }
                    return text;
                }
            }
            """,
            """
            using System.Text;

            class C
            {
                static string Join(string[] words, string separator)
                {
                    var textBuilder = new StringBuilder();
                    for (int i = 0; i < words.Length; i++)
                    {
                        textBuilder.Append(words[i]).Append(separator);
                    }
                    return textBuilder.ToString();
                }
            }
            """);
        test.LanguageVersion = LanguageVersion.CSharp7_3;
        test.NullableContextOptions = NullableContextOptions.Disable;
        test.ReferenceSet = ReferenceSet.NetStandard20;
        return test.RunAsync();
    }

    [Fact]
    public Task ManyLoopsAcrossDocumentsAndProjects_FixAllInEveryScope()
    {
        var test = new AnalyzerTest(new StringConcatInLoopAnalyzer()) { CodeFix = new StringConcatInLoopFix() };
        test.Sources.Add(
            """
            public static class A
            {
                public static string One(string[] xs)
                {
                    var s = "";
                    foreach (var x in xs) [|s += x|];
                    return s;
                }

                public static string Two(int n)
                {
                    var t = "";
                    for (var i = 0; i < n; i++) [|t = t + i|];
                    return t;
                }
            }
            """);
        test.Sources.Add(
            """
            using System.Text;

            static class B
            {
                static string Three(string[] xs)
                {
                    var u = "";
                    var i = 0;
                    while (i < xs.Length) { [|u += xs[i++]|]; }
                    return u;
                }
            }
            """);
        test.OtherProjectSources.Add(
            """
            namespace Other
            {
                static class D
                {
                    static string Four(string[] xs)
                    {
                        var v = A.One(xs);
                        foreach (var x in xs)
                            [|v += x.Length|];
                        return v;
                    }
                }
            }
            """);
        test.FixedSources.Add(
            """
            using System.Text;

            public static class A
            {
                public static string One(string[] xs)
                {
                    var sBuilder = new StringBuilder();
                    foreach (var x in xs) sBuilder.Append(x);
                    return sBuilder.ToString();
                }

                public static string Two(int n)
                {
                    var tBuilder = new StringBuilder();
                    for (var i = 0; i < n; i++) tBuilder.Append(i);
                    return tBuilder.ToString();
                }
            }
            """);
        test.FixedSources.Add(
            """
            using System.Text;

            static class B
            {
                static string Three(string[] xs)
                {
                    var uBuilder = new StringBuilder();
                    var i = 0;
                    while (i < xs.Length) { uBuilder.Append(xs[i++]); }
                    return uBuilder.ToString();
                }
            }
            """);
        test.FixedOtherProjectSources.Add(
            """
            using System.Text;

            namespace Other
            {
                static class D
                {
                    static string Four(string[] xs)
                    {
                        var vBuilder = new StringBuilder(A.One(xs));
                        foreach (var x in xs)
                            vBuilder.Append(x.Length);
                        return vBuilder.ToString();
                    }
                }
            }
            """);
        return test.RunAsync();
    }

    [Fact]
    public Task BuilderNameTaken_NextFreeNameUsed() => VerifyCS.CodeFixAsync(
        """
        using System.Text;

        class C
        {
            private int csvBuilder2;

            static string Join(string[] items)
            {
                var csv = "";
                foreach (var item in items)
                    [|csv += item|];
                var csvBuilder = csv.Length;
                return csv + csvBuilder;
            }
        }
        """,
        """
        using System.Text;

        class C
        {
            private int csvBuilder2;

            static string Join(string[] items)
            {
                var csvBuilder3 = new StringBuilder();
                foreach (var item in items)
                    csvBuilder3.Append(item);
                var csv = csvBuilder3.ToString();
                var csvBuilder = csv.Length;
                return csv + csvBuilder;
            }
        }
        """);

    [Fact]
    public Task OwnStringBuilderTypeInScope_FullyQualifiedBuilder() => VerifyCS.CodeFixAsync(
        """
        namespace App
        {
            class StringBuilder { }

            class C
            {
                static string Join(string[] items)
                {
                    var csv = "";
                    foreach (var item in items)
                        [|csv += item|];
                    return csv;
                }
            }
        }
        """,
        """
        namespace App
        {
            class StringBuilder { }

            class C
            {
                static string Join(string[] items)
                {
                    var csvBuilder = new System.Text.StringBuilder();
                    foreach (var item in items)
                        csvBuilder.Append(item);
                    return csvBuilder.ToString();
                }
            }
        }
        """);

    [Fact]
    public Task UsingsInsideTheNamespace_UsingAddedThere() => VerifyCS.CodeFixAsync(
        """
        namespace App
        {
            using System.Collections.Generic;

            static class C
            {
                static string Join(List<string> items)
                {
                    var csv = "";
                    foreach (var item in items)
                        [|csv += item|];
                    return csv;
                }
            }
        }
        """,
        """
        namespace App
        {
            using System.Collections.Generic;
            using System.Text;

            static class C
            {
                static string Join(List<string> items)
                {
                    var csvBuilder = new StringBuilder();
                    foreach (var item in items)
                        csvBuilder.Append(item);
                    return csvBuilder.ToString();
                }
            }
        }
        """);

    [Fact]
    public Task GlobalUsingElsewhereAndFileScopedNamespace_NoUsingAdded()
    {
        var test = VerifyCS.Test(
            """
            namespace App;

            static class C
            {
                static string Join(string[] items)
                {
                    var csv = "";
                    foreach (var item in items)
                        [|csv += item|];
                    return csv;
                }
            }
            """,
            """
            namespace App;

            static class C
            {
                static string Join(string[] items)
                {
                    var csvBuilder = new StringBuilder();
                    foreach (var item in items)
                        csvBuilder.Append(item);
                    return csvBuilder.ToString();
                }
            }
            """);
        test.Sources.Add("global using System.Text;\n");
        test.FixedSources.Add("global using System.Text;\n");
        return test.RunAsync();
    }

    [Fact]
    public Task CommentsDirectivesAndOneLiners_TriviaKept() => VerifyCS.CodeFixAsync(
        """
        class C
        {
            static string Commented(string[] items)
            {
                var csv = "";

                // Every item, comma-terminated.
                foreach (var item in items)
                {
                    // the item
                    [|csv += /* value */ item|]; // trailing
                    csv += ",";
                } // end of loop

                return csv;
            }

            static string OneLine(string[] items) { var s = ""; foreach (var i in items) [|s += i|]; return s; }

            static string Conditional(string[] items)
            {
                var s = "";
        #if !NEVER
                foreach (var item in items)
                    [|s += item|];
        #endif
                return s;
            }
        }
        """,
        """
        using System.Text;

        class C
        {
            static string Commented(string[] items)
            {
                var csvBuilder = new StringBuilder();

                // Every item, comma-terminated.
                foreach (var item in items)
                {
                    // the item
                    csvBuilder.Append(/* value */ item); // trailing
                    csvBuilder.Append(",");
                } // end of loop

                return csvBuilder.ToString();
            }

            static string OneLine(string[] items) { var sBuilder = new StringBuilder(); foreach (var i in items) sBuilder.Append(i); return sBuilder.ToString(); }

            static string Conditional(string[] items)
            {
                var sBuilder = new StringBuilder();
        #if !NEVER
                foreach (var item in items)
                    sBuilder.Append(item);
        #endif
                return sBuilder.ToString();
            }
        }
        """);

    [Fact]
    public Task SwitchSection_Rewritten() => VerifyCS.CodeFixAsync(
        """
        class C
        {
            static string Render(int mode, string[] items)
            {
                var text = "";
                switch (mode)
                {
                    case 1:
                        foreach (var item in items)
                            [|text += item|];
                        break;
                    default:
                        text = "none";
                        break;
                }

                return text;
            }
        }
        """,
        """
        using System.Text;

        class C
        {
            static string Render(int mode, string[] items)
            {
                var text = "";
                switch (mode)
                {
                    case 1:
                        var textBuilder = new StringBuilder(text);
                        foreach (var item in items)
                            textBuilder.Append(item);
                        text = textBuilder.ToString();
                        break;
                    default:
                        text = "none";
                        break;
                }

                return text;
            }
        }
        """);

    [Fact]
    public Task TopLevelStatements_Rewritten()
    {
        var test = VerifyCS.Test(
            """
            using System;

            var report = "";
            foreach (var arg in args)
                [|report += arg + Environment.NewLine|];
            Console.Write(report);
            """,
            """
            using System;
            using System.Text;

            var reportBuilder = new StringBuilder();
            foreach (var arg in args)
                reportBuilder.Append(arg).Append(Environment.NewLine);
            Console.Write(reportBuilder.ToString());
            """);
        // The verifier compiles a library, where top-level statements are an error (CS8805) before and after.
        test.AllowCompilerErrors = true;
        return test.RunAsync();
    }

    // ------------------------------------------------------------------ behaviour

    private const string BehaviourOriginal = """
        using System;
        using System.Collections.Generic;

        public enum Color { Red, Green }

        public static class Program
        {
            public static string Run()
            {
                var results = new List<string>
                {
                    Numbers(new[] { -1, 2, -30 }, new[] { 1.5, -2.25 }, new[] { 7.5m }),
                    Objects(new object?[] { "a", null, 3, Color.Green, 'c', true }),
                    Generic(new[] { Color.Red, Color.Green }),
                    Nullables(new int?[] { 1, null, -3 }),
                    Grid(new[] { new[] { "a", "b" }, new string[0], new[] { "c" } }),
                    Interpolated(new[] { 0.5, -1.25 }),
                    Chars("abc"),
                    Empty(new string[0]),
                    Prefixed("start:", new[] { "x", null, "y" }),
                    Long(new long[] { long.MinValue, 42 }, new float[] { -0.5f }),
                };
                return string.Join(" | ", results);
            }

            static string Numbers(int[] ints, double[] doubles, decimal[] decimals)
            {
                var s = "";
                foreach (var i in ints)
                    [|s += i + ";"|];
                for (var k = 0; k < doubles.Length; k++)
                    [|s = s + doubles[k] + 'x' + k|];
                foreach (var m in decimals)
                    [|s += m|];
                return s;
            }

            static string Objects(object?[] values)
            {
                var s = "<";
                foreach (var v in values)
                    [|s += v|];
                return s + ">";
            }

            static string Generic<T>(T[] items)
            {
                var s = "";
                foreach (var x in items)
                    [|s = s + x + ","|];
                return s;
            }

            static string Nullables(int?[] items)
            {
                string s = "";
                for (var i = 0; i < items.Length; i++)
                    [|s = s + items[i] + ','|];
                return s;
            }

            static string Grid(string[][] rows)
            {
                var s = "";
                foreach (var row in rows)
                {
                    foreach (var cell in row)
                        [|s += cell|];
                    s += "/";
                }

                return s;
            }

            static string Interpolated(double[] values)
            {
                var s = "";
                foreach (var v in values)
                    [|s += $"[{v:F2}|{v,6}]"|];
                return s;
            }

            static string Chars(string text)
            {
                var s = "";
                foreach (var c in text)
                    [|s += (char)(c + 1) + "" + (c + 1)|];
                return s;
            }

            static string Empty(string[] none)
            {
                var s = "";
                foreach (var x in none)
                    [|s += x|];
                return "(" + s + ")" + s.Length;
            }

            static string Prefixed(string prefix, string?[] parts)
            {
                foreach (var p in parts)
                    [|prefix += p|];
                return prefix;
            }

            static string Long(long[] longs, float[] floats)
            {
                var s = "";
                foreach (var l in longs)
                    [|s += l|];
                foreach (var f in floats)
                    [|s += f|];
                return s;
            }
        }
        """;

    private const string BehaviourFixed = """
        using System;
        using System.Collections.Generic;
        using System.Text;

        public enum Color { Red, Green }

        public static class Program
        {
            public static string Run()
            {
                var results = new List<string>
                {
                    Numbers(new[] { -1, 2, -30 }, new[] { 1.5, -2.25 }, new[] { 7.5m }),
                    Objects(new object?[] { "a", null, 3, Color.Green, 'c', true }),
                    Generic(new[] { Color.Red, Color.Green }),
                    Nullables(new int?[] { 1, null, -3 }),
                    Grid(new[] { new[] { "a", "b" }, new string[0], new[] { "c" } }),
                    Interpolated(new[] { 0.5, -1.25 }),
                    Chars("abc"),
                    Empty(new string[0]),
                    Prefixed("start:", new[] { "x", null, "y" }),
                    Long(new long[] { long.MinValue, 42 }, new float[] { -0.5f }),
                };
                return string.Join(" | ", results);
            }

            static string Numbers(int[] ints, double[] doubles, decimal[] decimals)
            {
                var sBuilder = new StringBuilder();
                foreach (var i in ints)
                    sBuilder.Append(i).Append(";");
                for (var k = 0; k < doubles.Length; k++)
                    sBuilder.Append(doubles[k]).Append('x').Append(k);
                foreach (var m in decimals)
                    sBuilder.Append(m);
                return sBuilder.ToString();
            }

            static string Objects(object?[] values)
            {
                var sBuilder = new StringBuilder("<");
                foreach (var v in values)
                    sBuilder.Append(v);
                return sBuilder.ToString() + ">";
            }

            static string Generic<T>(T[] items)
            {
                var sBuilder = new StringBuilder();
                foreach (var x in items)
                    sBuilder.Append(x).Append(",");
                return sBuilder.ToString();
            }

            static string Nullables(int?[] items)
            {
                var sBuilder = new StringBuilder();
                for (var i = 0; i < items.Length; i++)
                    sBuilder.Append(items[i]).Append(',');
                return sBuilder.ToString();
            }

            static string Grid(string[][] rows)
            {
                var sBuilder = new StringBuilder();
                foreach (var row in rows)
                {
                    foreach (var cell in row)
                        sBuilder.Append(cell);
                    sBuilder.Append("/");
                }

                return sBuilder.ToString();
            }

            static string Interpolated(double[] values)
            {
                var sBuilder = new StringBuilder();
                foreach (var v in values)
                    sBuilder.Append($"[{v:F2}|{v,6}]");
                return sBuilder.ToString();
            }

            static string Chars(string text)
            {
                var sBuilder = new StringBuilder();
                foreach (var c in text)
                    sBuilder.Append((char)(c + 1)).Append("").Append(c + 1);
                return sBuilder.ToString();
            }

            static string Empty(string[] none)
            {
                var sBuilder = new StringBuilder();
                foreach (var x in none)
                    sBuilder.Append(x);
                var s = sBuilder.ToString();
                return "(" + s + ")" + s.Length;
            }

            static string Prefixed(string prefix, string?[] parts)
            {
                var prefixBuilder = new StringBuilder(prefix);
                foreach (var p in parts)
                    prefixBuilder.Append(p);
                return prefixBuilder.ToString();
            }

            static string Long(long[] longs, float[] floats)
            {
                var sBuilder = new StringBuilder();
                foreach (var l in longs)
                    sBuilder.Append(l);
                foreach (var f in floats)
                    sBuilder.Append(f);
                return sBuilder.ToString();
            }
        }
        """;

    [Fact]
    public async Task FixedCode_BuildsTheSameStrings_UnderACustomCulture()
    {
        // The fix is what the verifier says it is…
        await VerifyCS.CodeFixAsync(BehaviourOriginal, BehaviourFixed);

        // …and it computes the same strings, with a culture whose minus sign and decimal separator
        // differ from the invariant ones (concatenation and Append both format with the current culture).
        var culture = (CultureInfo)CultureInfo.InvariantCulture.Clone();
        culture.NumberFormat.NegativeSign = "~";
        culture.NumberFormat.NumberDecimalSeparator = ",";
        var saved = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = culture;
        try
        {
            var before = Run(Markup.Parse(BehaviourOriginal).Source);
            var after = Run(BehaviourFixed);
            Assert.Contains("~1;", before);
            Assert.Contains("1,5x0", before);
            Assert.Equal(before, after);
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
        }
    }

    private static string Run(string source)
    {
        var compilation = CSharpCompilation.Create(
            "Behaviour" + Guid.NewGuid().ToString("N"),
            new[] { CSharpSyntaxTree.ParseText(source) },
            Basic.Reference.Assemblies.Net80.References.All,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        using var stream = new MemoryStream();
        var emitted = compilation.Emit(stream);
        Assert.True(emitted.Success, string.Join(Environment.NewLine, emitted.Diagnostics));
        stream.Position = 0;
        var context = new AssemblyLoadContext("MSA1006 behaviour", isCollectible: true);
        try
        {
            var assembly = context.LoadFromStream(stream);
            return (string)assembly.GetType("Program")!.GetMethod("Run")!.Invoke(null, null)!;
        }
        finally
        {
            context.Unload();
        }
    }

    [Fact]
    public Task Sample_FixTurnsBeforeIntoAfter()
    {
        // The After sample is exactly what the fix makes of the Before sample (namespace and the
        // explanatory comments aside).
        var folder = Path.Combine(RepositoryFiles.Root, "samples", "MemSafety.Samples", "HeapEscapes");
        var before = File.ReadAllText(Path.Combine(folder, "MSA1006.StringConcatInLoop.Before.cs"))
            .Replace("line += \",\";", "[|line += \",\"|];")
            .Replace("text = text + ToCsvLine(row) + \"\\n\";", "[|text = text + ToCsvLine(row) + \"\\n\"|];");
        var after = File.ReadAllText(Path.Combine(folder, "MSA1006.StringConcatInLoop.After.cs"))
            .Replace(".After.", ".Before.")
            .Replace("    // The fix turns the string's declaration into a builder's and reads the text once, after the loop.", "    // MSA1006: each `+=` copies the whole line built so far into a new string.")
            .Replace("    // Each concatenated piece became its own Append call.", "    // MSA1006: the same with `text = text + …`; the table is copied once per row.");
        Assert.Equal(2, before.Split("[|").Length - 1);
        return VerifyCS.CodeFixAsync(before, after);
    }

    // ------------------------------------------------------------------ reported without a fix

    [Fact]
    public Task ExceptionCaughtAroundTheLoop_NoFix() => VerifyCS.NoFixAsync(
        """
        using System;

        class C
        {
            static string Partial(Func<int, string> read, int n)
            {
                var text = "";
                try
                {
                    for (var i = 0; i < n; i++)
                        [|text += read(i)|];
                }
                catch (InvalidOperationException)
                {
                    // keep what was read so far
                }

                return text;
            }

            static string PartialInside(Func<int, string> read, int n)
            {
                var text = "";
                for (var i = 0; i < n; i++)
                {
                    try { [|text += "<" + read(i)|]; }
                    catch (InvalidOperationException) { }
                }

                return text;
            }
        }
        """);

    [Fact]
    public Task PiecesWithOtherAppendMeaning_NoFix() => VerifyCS.NoFixAsync(
        """
        class Name
        {
            public static implicit operator string(Name n) => "name";
        }

        class C
        {
            static string Arrays(char[][] chunks)
            {
                var text = "";
                foreach (var chunk in chunks)
                    [|text += chunk|]; // "System.Char[]", where Append(char[]) would append the characters
                return text;
            }

            static string Converted(Name[] names)
            {
                var text = "";
                foreach (var name in names)
                    [|text += name|];
                return text;
            }

            static string Nulls(int n)
            {
                var text = "";
                for (var i = 0; i < n; i++)
                    [|text = text + null|];
                return text;
            }
        }
        """);

    [Fact]
    public Task MaybeNullStartOrGotoOrEmbeddedLoop_NoFix() => VerifyCS.NoFixAsync(
        """
        class C
        {
            static string? MaybeNull(string? start, string[] words)
            {
                var text = start;
                foreach (var word in words)
                    [|text += word|];
                return text;
            }

            static string Jumps(string[] words)
            {
                var text = "";
                foreach (var word in words)
                {
                    if (word.Length == 0)
                        goto done;
                    [|text += word|];
                }

            done:
                return text;
            }

            static string Embedded(string[][] groups)
            {
                var text = "";
                while (text.Length < 100)
                    foreach (var word in groups[text.Length % groups.Length])
                        [|text += word|];
                return text;
            }
        }
        """);

    /// <summary>The block-start prefilter (a body must spell <c>for</c>, <c>while</c> or <c>goto</c>) keeps a body whose
    /// only loop keyword is the <c>while</c> closing a <c>do</c>, and skips one without a loop (no report either way).</summary>
    [Fact]
    public Task DoWhileOnlyLoopKeyword_KeptByThePrefilter() => AnalyzerAsync(
        """
        class C
        {
            static string Repeat(string unit, int times)
            {
                var text = "";
                do
                {
                    {|MSA1006:text += unit|};
                }
                while (--times > 0);
                return text;
            }

            static string Once(string unit)
            {
                var text = "";
                text += unit;
                return text;
            }
        }
        """);

    [Fact]
    public Task NullableDisabledParameter_NoFix()
    {
        var test = new AnalyzerTest(new StringConcatInLoopAnalyzer()) { CodeFix = new StringConcatInLoopFix(), ExpectNoFix = true };
        test.Sources.Add(
            """
            class C
            {
                static string Decorate(string message, string[] tags)
                {
                    foreach (var tag in tags)
                        [|message += tag|];
                    return message;
                }
            }
            """);
        test.NullableContextOptions = NullableContextOptions.Disable;
        test.LanguageVersion = LanguageVersion.CSharp7_3;
        return test.RunAsync();
    }

    [Fact]
    public Task AppendBeforeBreakAndRepeatedAppend_ReportedAtTheRepeatedOne_BothRewritten() => VerifyCS.CodeFixAsync(
        """
        class C
        {
            static string Words(string[] words)
            {
                var text = "";
                foreach (var word in words)
                {
                    if (word.Length == 0)
                    {
                        text += ".";
                        break;
                    }

                    [|text += word|];
                }

                return text;
            }
        }
        """,
        """
        using System.Text;

        class C
        {
            static string Words(string[] words)
            {
                var textBuilder = new StringBuilder();
                foreach (var word in words)
                {
                    if (word.Length == 0)
                    {
                        textBuilder.Append(".");
                        break;
                    }

                    textBuilder.Append(word);
                }

                return textBuilder.ToString();
            }
        }
        """);

    // ------------------------------------------------------------------ not reported

    [Fact]
    public Task ReadInsideTheLoop_NoDiagnostic() => AnalyzerAsync(
        """
        class C
        {
            static string Truncated(string[] words)
            {
                var text = "";
                foreach (var word in words)
                {
                    if (text.Length > 80)
                        break;
                    text += word;
                }

                return text;
            }

            static string Logged(string[] words)
            {
                var text = "";
                foreach (var word in words)
                {
                    text += word;
                    System.Console.WriteLine(text);
                }

                return text;
            }

            static string Doubled(int n)
            {
                var text = "x";
                for (var i = 0; i < n; i++)
                    text = text + text;
                return text;
            }

            static string WhileShort(string pad)
            {
                var text = "";
                while (text.Length < 40)
                    text += pad;
                return text;
            }
        }
        """);

    [Fact]
    public Task AppendsThatEndTheLoop_NoDiagnostic() => AnalyzerAsync(
        // Each append is followed by break, return or throw: it runs once per call, so nothing is quadratic.
        """
        class C
        {
            static string FirstLong(string[] words)
            {
                var found = "none";
                foreach (var word in words)
                {
                    if (word.Length > 5)
                    {
                        found += ": " + word;
                        break;
                    }
                }

                return found;
            }

            static string Dispatch(int[] codes, string prefix)
            {
                var i = 0;
                while (true)
                {
                    switch (codes[i++])
                    {
                        case 0:
                            prefix += "zero";
                            return prefix;
                        case 1:
                            continue;
                        default:
                            prefix += "other";
                            throw new System.InvalidOperationException(prefix);
                    }
                }
            }
        }
        """);

    [Fact]
    public Task AppendEndsOnlyTheInnerLoop_ReportedAtTheOuterLoop()
    {
        var test = Verify<StringConcatInLoopAnalyzer>.Test(
            """
            class C
            {
                static string FirstOfEachRow(string[][] rows)
                {
                    var text = "";
                    for (var i = 0; i < rows.Length; i++)
                    {
                        foreach (var cell in rows[i])
                        {
                            if (cell.Length == 0) continue;
                            {|#0:text += cell|};
                            break;
                        }
                    }

                    return text;
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA1006", 0).WithMessage(
            "String 'text' is rebuilt by '+=' on every iteration of this 'for' loop: each append copies all the characters so far, " +
            "so the loop takes quadratic time and leaves a dead string per iteration; use a StringBuilder"));
        return test.RunAsync();
    }

    [Fact]
    public Task FieldPropertyAndRefParameter_NoDiagnostic() => AnalyzerAsync(
        """
        class C
        {
            private string _log = "";
            public string Text { get; set; } = "";

            void Append(string[] lines, ref string target)
            {
                foreach (var line in lines)
                {
                    _log += line;
                    Text += line;
                    target += line;
                }
            }
        }
        """);

    [Fact]
    public Task ConstantTinyLoops_NoDiagnostic() => AnalyzerAsync(
        """
        class C
        {
            static string Tiny(string[] parts)
            {
                var a = "";
                for (int i = 0; i < 3; i++)
                    a += parts[i];

                var b = "";
                foreach (var part in new[] { "x", "y", "z" })
                    b += part + ",";

                var c = "";
                foreach (var ch in "abcd")
                    c += ch;

                var d = "";
                for (var i = 8; i >= 1; i -= 2)
                    d = d + i;

                var e = "";
                do { e += "once"; } while (false);

                return a + b + c + d + e;
            }
        }
        """);

    [Fact]
    public Task ConcatenationOutsideAnyLoop_NoDiagnostic() => AnalyzerAsync(
        """
        class C
        {
            static string Greeting(string name)
            {
                var text = "Hello, ";
                text += name;
                text = text + "!";
                return text;
            }
        }
        """);

    [Fact]
    public Task NotReadAfterTheLoop_NoDiagnostic() => AnalyzerAsync(
        """
        class C
        {
            static void Discarded(string[] words)
            {
                var text = "";
                foreach (var word in words)
                    text += word;
            }

            static string DeclaredInTheLoop(string[] words)
            {
                var last = "";
                foreach (var word in words)
                {
                    var item = "<";
                    item += word;
                    last = item;
                }

                return last;
            }
        }
        """);

    [Fact]
    public Task CapturedByALambda_NoDiagnostic() => AnalyzerAsync(
        """
        using System;

        class C
        {
            static string Captured(string[] words)
            {
                var text = "";
                Func<int> length = () => text.Length;
                foreach (var word in words)
                    text += word;
                return text + length();
            }

            static string AppendedInLocalFunction(string[] words)
            {
                var text = "";
                foreach (var word in words)
                    Add(word);
                return text;

                void Add(string w) => text += w;
            }
        }
        """);

    [Fact]
    public Task PrimaryConstructorParameter_NoDiagnostic() => AnalyzerAsync(
        """
        class Log(string text)
        {
            public string Add(string[] lines)
            {
                foreach (var line in lines)
                    text += line;
                return text;
            }
        }
        """);

    [Fact]
    public Task AppendInALambdaInsideTheLoop_NoDiagnostic() => AnalyzerAsync(
        """
        using System;
        using System.Collections.Generic;

        class C
        {
            static List<Func<string>> Makers(string[] words)
            {
                var makers = new List<Func<string>>();
                foreach (var word in words)
                {
                    makers.Add(() =>
                    {
                        var text = "<";
                        text += word;
                        return text;
                    });
                }

                return makers;
            }
        }
        """);

    [Fact]
    public Task AssignmentNotInvolvingTheString_NoDiagnostic() => AnalyzerAsync(
        """
        class C
        {
            static string Last(string[] first, string[] second)
            {
                var text = "";
                for (var i = 0; i < first.Length; i++)
                    text = first[i] + second[i];
                return text;
            }
        }
        """);

    [Fact]
    public Task Prepending_NoDiagnostic() => AnalyzerAsync(
        """
        class C
        {
            static string Reverse(string[] words)
            {
                var text = "";
                foreach (var word in words)
                    text = word + text;
                return text;
            }
        }
        """);

    [Fact]
    public Task UserDefinedPlusOperator_NoDiagnostic() => AnalyzerAsync(
        """
        class Tag
        {
            public string Name = "";
            public static string operator +(string left, Tag right) => left + "<" + right.Name + ">";
        }

        class C
        {
            static string Tags(Tag[] tags)
            {
                var text = "";
                foreach (var tag in tags)
                    text += tag;
                return text;
            }
        }
        """);

    [Fact]
    public Task AliasedByRefOrUsedAsValue_NoDiagnostic() => AnalyzerAsync(
        """
        class C
        {
            static string Aliased(string[] words)
            {
                var text = "";
                ref string alias = ref text;
                foreach (var word in words)
                {
                    text += word;
                    alias = alias.Trim();
                }

                return text;
            }

            static string AsValue(string[] words)
            {
                var text = "";
                var lengths = 0;
                foreach (var word in words)
                    lengths += (text += word).Length;
                return text + lengths;
            }
        }
        """);

    [Fact]
    public Task GeneratedCode_NoDiagnostic() => AnalyzerAsync(
        """
        // <auto-generated/>
        class C
        {
            static string Join(string[] words)
            {
                var text = "";
                foreach (var word in words)
                    text += word;
                return text;
            }
        }
        """);

    [Fact]
    public Task AppendThatDoesNotBind_NoDiagnostic()
    {
        var test = Verify<StringConcatInLoopAnalyzer>.Test(
            """
            class C
            {
                static string Unbound(string[] words)
                {
                    var text = "";
                    foreach (var word in words)
                        text += Missing(word);
                    foreach (var word in words)
                        text = text + word.Missing + "";
                    return text;
                }
            }
            """);
        test.AllowCompilerErrors = true;
        return test.RunAsync();
    }

    [Fact]
    public Task IncompleteCode_NoCrash_NoDiagnostic()
    {
        var test = Verify<StringConcatInLoopAnalyzer>.Test(
            """
            class C
            {
                static string Broken(string[] words)
                {
                    var text = "";
                    foreach (var word in words)
                        text += Missing(word) + ;
                    foreach (var word in words)
                        text += Missing(word);
                    foreach (var word in words)
                        text = text + word.Missing;
                    foreach (var word in words)
                        text += default;
                    foreach (var word in words)
                        undeclared += word;
                    text += default;
                    for (var i = 0; i < words.Length; i++
                        text +=
                    return text
                }
            }
            """);
        test.AllowCompilerErrors = true;
        return test.RunAsync();
    }
}
