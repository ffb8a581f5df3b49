using System.Linq;
using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.Boxing;
using MemSafety.Analyzers.Tests.Verification;
using MemSafety.CodeFixes.Boxing;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace MemSafety.Analyzers.Tests.Boxing;

/// <summary>MSA2005. Every case also asserts what the IL does: the reported call boxes both operands,
/// the fixed code boxes nothing, and the negatives either do not box or are not this rule's shape.</summary>
public sealed class ObjectEqualsOfValuesTests
{
    private const string Types = "using System;\npublic enum Color { Red, Green }\npublic struct Point { public int X, Y; }\n";

    private static AnalyzerTest Test(string source, string? fixedSource = null)
    {
        var test = fixedSource is null
            ? Verify<ObjectEqualsOfValuesAnalyzer>.Test(Types + source)
            : Verify<ObjectEqualsOfValuesAnalyzer, ObjectEqualsOfValuesFix>.Test(Types + source, Types + fixedSource);
        test.AnalyzerOptions["memsafety.scope"] = "everywhere";
        return test;
    }

    private static void AssertBoxes(string source, params string[] types)
    {
        var il = IlInspection.Compile(Types + source, LanguageVersion.Latest, ReferenceSet.Net80);
        Assert.Equal(types, il.Boxes.Select(b => b.Type).OrderBy(t => t, System.StringComparer.Ordinal).ToArray());
    }

    [Fact]
    public async Task Ints_CallEqualsOnTheFirst()
    {
        const string source = "public static class C { public static bool M(int a, int b) => [|object.Equals(a, b)|]; }";
        const string fixedSource = "public static class C { public static bool M(int a, int b) => a.Equals(b); }";
        await Test(source, fixedSource).RunAsync();
        AssertBoxes(source, "System.Int32", "System.Int32");
        AssertBoxes(fixedSource);
    }

    [Fact]
    public async Task Enums_CompareWithOperator_NegationKeepsItsMeaning()
    {
        const string source = "public static class C { public static bool M(Color a, Color b) => ![|Equals(a, b)|]; }";
        const string fixedSource = "public static class C { public static bool M(Color a, Color b) => !(a == b); }";
        await Test(source, fixedSource).RunAsync();
        AssertBoxes(source, "Color", "Color");
        AssertBoxes(fixedSource);
    }

    [Fact]
    public async Task BclStructsAndExpressions_Parenthesized()
    {
        const string source = "public static class C { public static bool M(DateTime a, TimeSpan d, Guid g) => [|object.Equals(a + d, a)|] && [|object.Equals(g, Guid.Empty)|]; }";
        const string fixedSource = "public static class C { public static bool M(DateTime a, TimeSpan d, Guid g) => (a + d).Equals(a) && g.Equals(Guid.Empty); }";
        await Test(source, fixedSource).RunAsync();
        AssertBoxes(source, "System.DateTime", "System.DateTime", "System.Guid", "System.Guid");
        AssertBoxes(fixedSource);
    }

    [Fact]
    public async Task CommentsInsideTheCall_Kept()
    {
        // Comments between the arguments are the author's; the rewrite keeps them, ahead of the comparison.
        const string source = "public static class C\n{\n    public static bool M(int a, Color b, Color c)\n        => [|object.Equals(/* first */ a, // the other\n            a)|]\n        && [|Equals(b /* before comma */, /* second */ c)|];\n}";
        const string fixedSource = "public static class C\n{\n    public static bool M(int a, Color b, Color c)\n        => /* first */ // the other\n            a.Equals(a)\n        && /* before comma */ /* second */ b == c;\n}";
        await Test(source, fixedSource).RunAsync();
    }

    [Fact]
    public Task Message_NamesTypeAndAdvice()
    {
        var test = Test("public static class C { public static bool M(double a, double b) => {|#0:object.Equals(a, b)|}; }");
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA2005", 0).WithMessage(
            "'object.Equals' boxes both 'double' operands on every call; call 'Equals(double)' on the first one"));
        return test.RunAsync();
    }

    [Fact]
    public async Task UserStruct_ReportedWithoutFix()
    {
        const string source = "public static class C { public static bool M(Point a, Point b) => [|object.Equals(a, b)|]; }";
        var test = new AnalyzerTest(new ObjectEqualsOfValuesAnalyzer()) { CodeFix = new ObjectEqualsOfValuesFix(), ExpectNoFix = true };
        test.Sources.Add(Types + source);
        test.AnalyzerOptions["memsafety.scope"] = "everywhere";
        await test.RunAsync();
        AssertBoxes(source, "Point", "Point");
    }

    [Fact]
    public async Task InLoopWithLoopScope_ReportedAndFixAll()
    {
        const string source = "public static class C { public static int M(int[] xs, long l) { var n = 0; foreach (var x in xs) { if ([|Equals(x, 3)|]) n++; if ([|Equals(l, 4L)|]) n++; } return n; } }";
        const string fixedSource = "public static class C { public static int M(int[] xs, long l) { var n = 0; foreach (var x in xs) { if (x.Equals(3)) n++; if (l.Equals(4L)) n++; } return n; } }";
        var test = Verify<ObjectEqualsOfValuesAnalyzer, ObjectEqualsOfValuesFix>.Test(Types + source, Types + fixedSource);
        test.AnalyzerOptions["memsafety.MSA2005.scope"] = "hot_paths_and_loops";
        await test.RunAsync();
        // The default scope is hot paths only: the same loop in an unmarked method is not reported.
        await Verify<ObjectEqualsOfValuesAnalyzer>.AnalyzerAsync(Types + source.Replace("[|", "").Replace("|]", ""));
        AssertBoxes(source, "System.Int32", "System.Int32", "System.Int64", "System.Int64");
        AssertBoxes(fixedSource);
    }

    [Fact]
    public void Fix_KeepsBehaviour_IncludingNaN()
    {
        const string before = Types + "public static class Program { public static string Run() { double n = double.NaN; return object.Equals(n, n) + \",\" + object.Equals(0.0, -0.0) + \",\" + object.Equals(Color.Red, Color.Green) + \",\" + object.Equals(3, 3); } }";
        const string after = Types + "public static class Program { public static string Run() { double n = double.NaN; return n.Equals(n) + \",\" + 0.0.Equals(-0.0) + \",\" + (Color.Red == Color.Green) + \",\" + 3.Equals(3); } }";
        Assert.Equal("True,True,False,True", Behaviour.Run(before));
        Assert.Equal(Behaviour.Run(before), Behaviour.Run(after));
    }

    // ------------------------------------------------------------------ not reported

    [Fact]
    public async Task ReferenceTypes_NoDiagnostic()
    {
        const string source = "public static class C { public static bool M(string a, string b) => object.Equals(a, b); }";
        await Test(source).RunAsync();
        AssertBoxes(source);
    }

    [Fact]
    public async Task DifferentValueTypes_NoDiagnostic()
    {
        // Boxes too, but int vs long is never equal through Equals(object): a different question (likely a bug).
        const string source = "public static class C { public static bool M(int a, long b) => object.Equals(a, b); }";
        await Test(source).RunAsync();
        AssertBoxes(source, "System.Int32", "System.Int64");
    }

    [Fact]
    public async Task NullableValues_NoDiagnostic()
    {
        const string source = "public static class C { public static bool M(int? a, int? b) => object.Equals(a, b); }";
        await Test(source).RunAsync();
        AssertBoxes(source, "System.Nullable<System.Int32>", "System.Nullable<System.Int32>");
    }

    [Fact]
    public async Task TypeParameters_NoDiagnostic()
    {
        const string source = "public static class C { public static bool M<T>(T a, T b) where T : struct => object.Equals(a, b); }";
        await Test(source).RunAsync();
        Assert.NotEmpty(IlInspection.Compile(Types + source, LanguageVersion.Latest, ReferenceSet.Net80).Boxes);
    }

    [Fact]
    public async Task OneSideAlreadyObject_NoDiagnostic()
    {
        const string source = "public static class C { public static bool M(int a, object b) => object.Equals(a, b); }";
        await Test(source).RunAsync();
        AssertBoxes(source, "System.Int32");
    }

    [Fact]
    public async Task InstanceEqualsWithTypedArgument_NoDiagnostic()
    {
        const string source = "public static class C { public static bool M(int a, int b) => a.Equals(b); }";
        await Test(source).RunAsync();
        AssertBoxes(source);
    }

    [Fact]
    public async Task ColdCodeUnderDefaultScope_NoDiagnostic()
    {
        const string source = "public static class C { public static bool M(int a, int b) => object.Equals(a, b); }";
        await Verify<ObjectEqualsOfValuesAnalyzer>.Test(Types + source).RunAsync();
        AssertBoxes(source, "System.Int32", "System.Int32");
    }

    [Fact]
    public Task GeneratedCode_NoDiagnostic()
    {
        var test = Verify<ObjectEqualsOfValuesAnalyzer>.Test("// <auto-generated/>\n" + Types + "public static class C { public static bool M(int a, int b) => object.Equals(a, b); }");
        test.AnalyzerOptions["memsafety.scope"] = "everywhere";
        return test.RunAsync();
    }

    [Fact]
    public Task IncompleteCode_NoDiagnosticAndNoCrash()
    {
        var test = Test("public static class C { public static bool M(int a, int b) => object.Equals(a, ; }");
        test.AllowCompilerErrors = true;
        return test.RunAsync();
    }
}
