using System.Linq;
using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.Boxing;
using MemSafety.Analyzers.Tests.Verification;
using Microsoft.CodeAnalysis.CSharp;

namespace MemSafety.Analyzers.Tests.Boxing;

/// <summary>MSA2004. Every case is checked twice: by the analyzer and by the IL the same source compiles to
/// (a <c>constrained.</c> call that the harness proves boxes at run time for positives; none for negatives).</summary>
public sealed class StructMissingOverrideTests
{
    private static async Task Reported(string source, LanguageVersion version = LanguageVersion.Latest, ReferenceSet references = ReferenceSet.Net80, params ExpectedDiagnostic[] expected)
    {
        var test = Verify<StructMissingOverrideAnalyzer>.Test(source);
        test.LanguageVersion = version;
        test.ReferenceSet = references;
        test.NullableContextOptions = Microsoft.CodeAnalysis.NullableContextOptions.Disable;
        test.ExpectedDiagnostics.AddRange(expected);
        await test.RunAsync();

        var il = IlInspection.Compile(source, version, references);
        Assert.NotEmpty(il.MarkedSpans);
        foreach (var span in il.MarkedSpans)
            Assert.Contains(il.ConstrainedCallsOverlapping(span), c => c.BoxesAtRunTime == true);
    }

    private static async Task<IlAssembly> NotReported(string source, LanguageVersion version = LanguageVersion.Latest, ReferenceSet references = ReferenceSet.Net80)
    {
        var test = Verify<StructMissingOverrideAnalyzer>.Test(source);
        test.LanguageVersion = version;
        test.ReferenceSet = references;
        test.NullableContextOptions = Microsoft.CodeAnalysis.NullableContextOptions.Disable;
        await test.RunAsync();
        return IlInspection.Compile(source, version, references);
    }

    private const string Plain = "public struct Plain { public int A; public string B; }\n";

    // ------------------------------------------------------------------ reported

    [Fact]
    public Task ToString_OnStructWithoutOverride_MessageSaysWhatBoxes() => Reported(
        Plain + "public static class C { public static string M(Plain p) { return {|#0:p.ToString()|}; } }",
        expected: ExpectedDiagnostic.At("MSA2004", 0).WithMessage(
            "'Plain' does not override ToString(): this call boxes the receiver to run ValueType.ToString(), which only returns the type name"));

    [Fact]
    public Task GetHashCode_OnStructWithoutOverride() => Reported(
        Plain + "public static class C { public static int M(Plain p) { return {|#0:p.GetHashCode()|}; } }",
        expected: ExpectedDiagnostic.At("MSA2004", 0).WithMessage(
            "'Plain' does not override GetHashCode(): this call boxes the receiver to run ValueType.GetHashCode(), which may read the fields through reflection and hash only the first one"));

    [Fact]
    public async Task Equals_OnStructWithoutOverride_BoxesBoth()
    {
        var source = Plain + "public static class C { public static bool M(Plain a, Plain b) { return {|#0:a.Equals(b)|}; } }";
        await Reported(source, expected: ExpectedDiagnostic.At("MSA2004", 0).WithMessage(
            "'Plain' does not override Equals(object): this call boxes the receiver (and the argument) to run ValueType.Equals(object), which may compare the fields through reflection"));
        Assert.Single(IlInspection.Compile(source).RealBoxesInMarkedSpan()); // the argument; the receiver is boxed by the runtime
    }

    [Fact]
    public Task OverridesOnlyToString_GetHashCodeStillReported() => Reported(
        "public struct Half { public int A; public override string ToString() => \"h\"; }\n" +
        "public static class C { public static string S(Half h) { return h.ToString(); } public static int M(Half h) { return [|h.GetHashCode()|]; } }");

    [Fact]
    public Task ImplementsIEquatableButNotEqualsObject_ObjectCallReported() => Reported(
        "using System;\npublic struct Key : IEquatable<Key> { public int A; public bool Equals(Key o) => o.A == A; public override int GetHashCode() => A; }\n" +
        "public static class C { public static bool M(Key a, object b) { return [|a.Equals(b)|]; } }");

    [Fact]
    public Task ThisCallInsideTheStruct_Reported() => Reported(
        "public struct Point { public int X; public string Describe() { return \"P\" + [|this.ToString()|]; } }");

    [Fact]
    public Task InLambdaAndLocalFunction_Reported() => Reported(
        """
        using System;
        public struct Plain { public int A; }
        public static class C
        {
            public static int M(Plain p)
            {
                Func<int> f = () => [|p.GetHashCode()|];
                int Local() { return [|p.GetHashCode()|]; }
                return f() + Local();
            }
        }
        """);

    [Theory]
    [InlineData(LanguageVersion.CSharp7_3, ReferenceSet.Net80)]
    [InlineData(LanguageVersion.CSharp7_3, ReferenceSet.Net472)]
    [InlineData(LanguageVersion.Latest, ReferenceSet.NetStandard20)]
    [InlineData(LanguageVersion.Latest, ReferenceSet.Net472)]
    public Task EveryLanguageVersionAndTarget_Reported(LanguageVersion version, ReferenceSet references) => Reported(
        Plain + "public static class C { public static int M(Plain p) { return [|p.GetHashCode()|]; } }", version, references);

    [Fact]
    public async Task MetadataStructWithoutOverride_Reported_AndAllocates()
    {
        // KeyValuePair<K, V> overrides ToString but not GetHashCode: decided from the referenced symbols.
        const string Source = """
            using System.Collections.Generic;
            using System.Runtime.CompilerServices;
            public static class C
            {
                static KeyValuePair<int, int> s_pair = new KeyValuePair<int, int>(1, 2);
                static int s_hash;
                [MethodImpl((MethodImplOptions)512)] public static void Run() { s_hash = [|s_pair.GetHashCode()|]; }
                [MethodImpl((MethodImplOptions)512)] public static void Overridden() { s_text = s_pair.ToString(); }
                static string s_text;
            }
            """;
        var test = Verify<StructMissingOverrideAnalyzer>.Test(Source);
        await test.RunAsync();
        var il = IlInspection.Compile(Source);
        Assert.Null(Assert.Single(il.ConstrainedCallsOverlapping(il.MarkedSpan)).BoxesAtRunTime); // the harness cannot tell for BCL structs
        Assert.True(il.AllocatedBytesPerCall("C", "Run") >= 24);
    }

    // ------------------------------------------------------------------ not reported

    [Fact]
    public async Task StructWithOverrides_NoDiagnostic()
    {
        var il = await NotReported(
            """
            public struct Full
            {
                public int A;
                public override string ToString() => "f";
                public override int GetHashCode() => A;
                public override bool Equals(object o) => o is Full f && f.A == A;
            }
            public static class C { public static string M(Full a, Full b) { return a.ToString() + a.GetHashCode() + a.Equals(b); } }
            """);
        Assert.NotEmpty(il.ConstrainedCalls);
        Assert.All(il.ConstrainedCalls, c => Assert.False(c.BoxesAtRunTime));
    }

    [Fact]
    public async Task RecordStruct_SynthesizesOverrides_NoDiagnostic()
    {
        var il = await NotReported(
            "public record struct R(int A, string B);\npublic static class C { public static string M(R a, R b) { return a.ToString() + a.GetHashCode() + a.Equals((object)b); } }",
            LanguageVersion.CSharp10);
        Assert.Contains(il.ConstrainedCalls, c => c.Type == "R" && c.BoxesAtRunTime == false);
        Assert.DoesNotContain(il.ConstrainedCalls, c => c.BoxesAtRunTime == true);
    }

    [Fact]
    public async Task PrimitivesAndNullable_NoDiagnostic()
    {
        var il = await NotReported(
            "public static class C { public static string M(int x, int? n, double d) { return x.ToString() + x.GetHashCode() + x.Equals(3) + n.ToString() + n.GetHashCode() + d.Equals(1.0); } }");
        Assert.DoesNotContain(il.ConstrainedCalls, c => c.BoxesAtRunTime == true);
        Assert.Empty(il.Boxes);
    }

    [Fact]
    public async Task TypedEquatableEquals_NoDiagnostic()
    {
        var il = await NotReported(
            "using System;\npublic struct Key : IEquatable<Key> { public int A; public bool Equals(Key o) => o.A == A; }\n" +
            "public static class C { public static bool M(Key a, Key b) { return a.Equals(b); } }");
        Assert.Empty(il.Boxes);
        Assert.Empty(il.ConstrainedCalls);
    }

    [Fact]
    public async Task TypeParameter_NoDiagnostic()
    {
        // Whether it boxes depends on the type argument: the harness itself cannot tell.
        var il = await NotReported("public static class C { public static string M<T>(T t) where T : struct { return t.ToString() + t.GetHashCode(); } }");
        Assert.All(il.ConstrainedCalls, c => Assert.Null(c.BoxesAtRunTime));
    }

    [Fact]
    public async Task EnumToString_OutOfScope_NoDiagnostic()
    {
        // Enum.ToString boxes (docs/design/boxing.md) but an enum cannot override it; out of scope for this rule.
        var il = await NotReported("public enum Mode { A, B }\npublic static class C { public static string M(Mode m) { return m.ToString(); } }");
        Assert.Contains(il.ConstrainedCalls, c => c.Type == "Mode");
    }

    [Fact]
    public async Task BaseCallInsideOverride_NoDiagnostic()
    {
        // The author explicitly asks for ValueType's implementation; the IL boxes `this` for it.
        var il = await NotReported("public struct S { public int A; public override string ToString() => \"S:\" + base.ToString(); }");
        Assert.Single(il.Boxes);
    }

    [Fact]
    public async Task ClassReceiver_NoDiagnostic()
    {
        var il = await NotReported("public class K { } public static class C { public static string M(K k) { return k.ToString() + k.GetHashCode(); } }");
        Assert.Empty(il.Boxes);
        Assert.Empty(il.ConstrainedCalls);
    }

    [Fact]
    public async Task GeneratedCode_NoDiagnostic()
    {
        var il = await NotReported("// <auto-generated/>\n" + Plain + "public static class C { public static int M(Plain p) { return p.GetHashCode(); } }");
        Assert.Contains(il.ConstrainedCalls, c => c.BoxesAtRunTime == true);
    }

    [Fact]
    public Task IncompleteCode_NoDiagnostic_NoCrash()
    {
        var test = Verify<StructMissingOverrideAnalyzer>.Test(
            """
            public struct Plain { public int A; }
            public static class C
            {
                public static string M(Plain p) { return p.ToString(; }
                public static int N(Missing m) { return m.GetHashCode(); }
                public static bool O(Plain p) { return p.Equals(); }
                public static int P(Plain p) { return p.GetHashCode(
            }
            """);
        test.AllowCompilerErrors = true;
        return test.RunAsync();
    }
}
