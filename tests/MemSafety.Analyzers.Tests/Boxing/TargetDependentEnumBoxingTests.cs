using System.Linq;
using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.Boxing;
using MemSafety.Analyzers.Tests.Verification;
using MemSafety.CodeFixes.Boxing;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace MemSafety.Analyzers.Tests.Boxing;

/// <summary>MSA2007. Each analyzer case is paired with the IL its source compiles to against the same references.</summary>
public sealed class TargetDependentEnumBoxingTests
{
    private const string Types = "using System;\n[Flags] public enum Mode { None = 0, Read = 1, Write = 2 }\n";

    /// <summary>These tests are about which calls box and how they are rewritten; most sit in a plain method, which the
    /// default scope (hot paths and loops) does not reach, so they widen it. <see cref="DefaultScope_HotPathsAndLoops"/>
    /// checks the default itself.</summary>
    private const string ScopeKey = "memsafety.MSA2007.scope";

    private static AnalyzerTest Test(string source, ReferenceSet references, string? fixedSource = null)
    {
        var test = fixedSource is null
            ? Verify<TargetDependentEnumBoxingAnalyzer>.Test(source)
            : Verify<TargetDependentEnumBoxingAnalyzer, TargetDependentEnumBoxingFix>.Test(source, fixedSource);
        test.ReferenceSet = references;
        test.NullableContextOptions = NullableContextOptions.Disable;
        test.AnalyzerOptions[ScopeKey] = "everywhere";
        return test;
    }

    private static void AssertRealBoxes(string source, ReferenceSet references, int count, string type)
    {
        var il = IlInspection.Compile(source, LanguageVersion.Latest, references);
        foreach (var span in il.MarkedSpans)
        {
            var boxes = il.BoxesOverlapping(span);
            Assert.Equal(count, boxes.Length);
            Assert.All(boxes, b => Assert.Equal(type, b.Type));
        }
    }

    // ------------------------------------------------------------------ reported, with fixes

    [Fact]
    public async Task IsDefined_WithTheEnumValue_OnNet80_FixedToGeneric()
    {
        var source = Types + "public static class C { public static bool M(Mode m) { return {|#0:Enum.IsDefined(typeof(Mode), m)|}; } }";
        var test = Test(source, ReferenceSet.Net80, Types + "public static class C { public static bool M(Mode m) { return Enum.IsDefined<Mode>(m); } }");
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA2007", 0).WithMessage(
            "'Enum.IsDefined(Type, object)' boxes the 'Mode' value: this target has 'Enum.IsDefined<Mode>(Mode)', which does not box"));
        await test.RunAsync();
        AssertRealBoxes(source, ReferenceSet.Net80, 1, "Mode");
        Assert.Empty(IlInspection.Compile(Types + "public static class C { public static bool M(Mode m) { return Enum.IsDefined<Mode>(m); } }").Boxes);
    }

    [Fact]
    public async Task GetName_WithTheEnumValue_FixedToGeneric()
    {
        var source = Types + "public static class C { public static string M(Mode m) { return [|System.Enum.GetName(typeof(Mode), m)|]; } }";
        await Test(source, ReferenceSet.Net80, Types + "public static class C { public static string M(Mode m) { return System.Enum.GetName<Mode>(m); } }").RunAsync();
        AssertRealBoxes(source, ReferenceSet.Net80, 1, "Mode");
    }

    [Fact]
    public async Task UsingStaticAndNamedArguments_FixedToGeneric()
    {
        var source = "using static System.Enum;\npublic enum E { A, B }\npublic static class C { public static bool M(E e) { return [|IsDefined(value: e, enumType: typeof(E))|]; } }";
        await Test(source, ReferenceSet.Net80,
            "using static System.Enum;\npublic enum E { A, B }\npublic static class C { public static bool M(E e) { return IsDefined<E>(e); } }").RunAsync();
        AssertRealBoxes(source, ReferenceSet.Net80, 1, "E");
    }

    [Fact]
    public async Task HasFlag_OnNet472_FixedToBitTest()
    {
        var source = Types + "public static class C { public static bool M(Mode m) { return {|#0:m.HasFlag(Mode.Read)|}; } }";
        var test = Test(source, ReferenceSet.Net472, Types + "public static class C { public static bool M(Mode m) { return (m & Mode.Read) == Mode.Read; } }");
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA2007", 0).WithMessage(
            "'HasFlag' boxes the 'Mode' value and the flag: this project targets .NET Framework (mscorlib), where the JIT does not remove these boxes; '(value & flag) == flag' does not box"));
        await test.RunAsync();
        AssertRealBoxes(source, ReferenceSet.Net472, 2, "Mode");
        Assert.Empty(IlInspection.Compile(Types + "public static class C { public static bool M(Mode m) { return (m & Mode.Read) == Mode.Read; } }", LanguageVersion.Latest, ReferenceSet.Net472).Boxes);
    }

    [Fact]
    public async Task HasFlag_InNegationAndWithComplexOperands_Parenthesized()
    {
        var source = Types + """
            public static class C
            {
                static Mode s_flag = Mode.Write;
                public static bool M(Mode m, bool b, Mode f) { return ![|(b ? m : Mode.None).HasFlag(Mode.Read | Mode.Write)|] && [|m.HasFlag(s_flag)|] || [|Get().HasFlag(f)|]; }
                static Mode Get() => Mode.Read;
            }
            """;
        var fixedSource = Types + """
            public static class C
            {
                static Mode s_flag = Mode.Write;
                public static bool M(Mode m, bool b, Mode f) { return !(((b ? m : Mode.None) & (Mode.Read | Mode.Write)) == (Mode.Read | Mode.Write)) && (m & s_flag) == s_flag || (Get() & f) == f; }
                static Mode Get() => Mode.Read;
            }
            """;
        await Test(source, ReferenceSet.Net472, fixedSource).RunAsync();
        var il = IlInspection.Compile(source, LanguageVersion.Latest, ReferenceSet.Net472);
        Assert.Equal(6, il.Boxes.Count(b => b.Type == "Mode"));
    }

    [Fact]
    public async Task HasFlag_WithSideEffectingFlag_ReportedWithoutFix()
    {
        var source = Types + "public static class C { static int s_n; static Mode Next() { s_n++; return Mode.Read; } public static bool M(Mode m) { return [|m.HasFlag(Next())|]; } }";
        var test = Test(source, ReferenceSet.Net472);
        test.ExpectNoFix = true;
        await test.RunAsync();
        AssertRealBoxes(source, ReferenceSet.Net472, 2, "Mode");
    }

    [Theory]
    [InlineData(LanguageVersion.CSharp7_3)]
    [InlineData(LanguageVersion.CSharp10)]
    public async Task HasFlag_OldLanguageVersions_OnNet472(LanguageVersion version)
    {
        var source = Types + "public static class C { public static bool M(Mode m, Mode f) { return [|m.HasFlag(f)|]; } }";
        var test = Test(source, ReferenceSet.Net472, Types + "public static class C { public static bool M(Mode m, Mode f) { return (m & f) == f; } }");
        test.LanguageVersion = version;
        await test.RunAsync();
        Assert.Equal(2, IlInspection.Compile(source, version, ReferenceSet.Net472).BoxesInMarkedSpan().Length);
    }

    [Fact]
    public void HasFlagRewrite_BehavesTheSame_ForEveryUnderlyingTypeAndValue()
    {
        const string Template = """
            using System;
            using System.Text;
            [Flags] public enum S8 : sbyte { None = 0, A = 1, B = 2, Neg = -128, All = -1 }
            [Flags] public enum U64 : ulong { None = 0, A = 1, High = 0x8000000000000000, All = ulong.MaxValue }
            [Flags] public enum I64 : long { None = 0, A = 1, Neg = long.MinValue, All = -1 }
            [Flags] public enum U16 : ushort { None = 0, A = 1, B = 0x8000 }
            public static class Program
            {
                static string Test<T>(T[] values, Func<T, T, bool> has) { var sb = new StringBuilder(); foreach (var v in values) foreach (var f in values) sb.Append(has(v, f) ? '1' : '0'); return sb.ToString(); }
                public static string Run() =>
                    Test(new[] { S8.None, S8.A, S8.B, S8.Neg, S8.All, (S8)3, (S8)(-127) }, (v, f) => BODY_S8) + "|" +
                    Test(new[] { U64.None, U64.A, U64.High, U64.All, (U64)3 }, (v, f) => BODY_U64) + "|" +
                    Test(new[] { I64.None, I64.A, I64.Neg, I64.All, (I64)(-2) }, (v, f) => BODY_I64) + "|" +
                    Test(new[] { U16.None, U16.A, U16.B, (U16)0x8001 }, (v, f) => BODY_U16);
            }
            """;
        string With(string body) => Template.Replace("BODY_S8", body).Replace("BODY_U64", body).Replace("BODY_I64", body).Replace("BODY_U16", body);
        var before = Behaviour.Run(With("v.HasFlag(f)"));
        var after = Behaviour.Run(With("(v & f) == f"));
        Assert.Equal(before, after);
        Assert.Contains('1', before);
        Assert.Contains('0', before);
    }

    [Fact]
    public void GenericOverloads_BehaveTheSame()
    {
        const string Template = """
            using System;
            public enum E { A, B = 5 }
            public static class Program
            {
                public static string Run() { var s = ""; foreach (var e in new[] { E.A, E.B, (E)3, (E)(-1) }) s += IS(e) + ":" + (NAME(e) ?? "null") + ";"; return s; }
            }
            """;
        var before = Behaviour.Run(Template.Replace("IS(e)", "Enum.IsDefined(typeof(E), e)").Replace("NAME(e)", "Enum.GetName(typeof(E), e)"));
        var after = Behaviour.Run(Template.Replace("IS(e)", "Enum.IsDefined<E>(e)").Replace("NAME(e)", "Enum.GetName<E>(e)"));
        Assert.Equal(before, after);
    }

    // ------------------------------------------------------------------ not reported

    [Theory]
    [InlineData(ReferenceSet.Net80)]
    [InlineData(ReferenceSet.NetStandard20)]
    public async Task HasFlag_OnCoreClrOrNetStandard_NoDiagnostic(ReferenceSet references)
    {
        // netstandard2.0 libraries usually run on CoreCLR, where the boxes are removed (design doc, finding 6).
        var source = Types + "public static class C { public static bool M(Mode m) { return [|m.HasFlag(Mode.Read)|]; } }";
        await Test(source.Replace("[|", "").Replace("|]", ""), references).RunAsync();
        var boxes = IlInspection.Compile(source, LanguageVersion.Latest, references).BoxesInMarkedSpan();
        Assert.Equal(2, boxes.Length);
        Assert.All(boxes, b => Assert.Equal(BoxIdiom.EnumHasFlag, b.Idiom)); // removed by CoreCLR (HasFlag_AllocatesNothingOnDotNet10)
    }

    [Fact]
    public async Task IsDefined_OnTargetsWithoutTheGenericOverload_NoDiagnostic()
    {
        var source = Types + "public static class C { public static bool M(Mode m) { return [|Enum.IsDefined(typeof(Mode), m)|]; } }";
        await Test(source.Replace("[|", "").Replace("|]", ""), ReferenceSet.Net472).RunAsync();
        await Test(source.Replace("[|", "").Replace("|]", ""), ReferenceSet.NetStandard20).RunAsync();
        AssertRealBoxes(source, ReferenceSet.Net472, 1, "Mode"); // it boxes, but there is nothing better to call
    }

    [Fact]
    public async Task IsDefined_WithAnIntegerOrString_NoDiagnostic()
    {
        // The generic overload takes the enum type; an int would need a cast whose behaviour differs for other underlying types.
        var source = Types + "public static class C { public static bool M(int i, string s) { return [|Enum.IsDefined(typeof(Mode), i)|] | Enum.IsDefined(typeof(Mode), s); } }";
        await Test(source.Replace("[|", "").Replace("|]", ""), ReferenceSet.Net80).RunAsync();
        var il = IlInspection.Compile(source);
        Assert.All(il.Boxes, b => Assert.Equal("System.Int32", b.Type));
    }

    [Fact]
    public async Task GenericOverloadsAlreadyUsed_NoDiagnostic()
    {
        var source = Types + "public static class C { public static string M(Mode m) { return Enum.IsDefined(m) + Enum.GetName(m); } }";
        await Test(source, ReferenceSet.Net80).RunAsync();
        Assert.DoesNotContain(IlInspection.Compile(source).Boxes, b => b.Type == "Mode");
    }

    [Fact]
    public async Task HasFlag_WithAnotherEnumType_OrTypeParameter_NoDiagnostic()
    {
        // Another enum type throws at run time; a type parameter is not a concrete enum.
        var source = Types + "public enum Other { X = 1 }\npublic static class C { public static bool M(Mode m) { return m.HasFlag(Other.X); } public static bool G<T>(T t, T f) where T : struct, Enum { return t.HasFlag(f); } public static bool N(Type t, object o) { return Enum.IsDefined(t, o); } }";
        await Test(source, ReferenceSet.Net472).RunAsync();
        Assert.NotEmpty(IlInspection.Compile(source, LanguageVersion.Latest, ReferenceSet.Net472).Boxes);
    }

    [Fact]
    public async Task GeneratedCode_NoDiagnostic()
    {
        var source = "// <auto-generated/>\n" + Types + "public static class C { public static bool M(Mode m) { return m.HasFlag(Mode.Read) && Enum.IsDefined(typeof(Mode), m); } }";
        await Test(source, ReferenceSet.Net472).RunAsync();
        Assert.Equal(3, IlInspection.Compile(source, LanguageVersion.Latest, ReferenceSet.Net472).Boxes.Count());
    }

    [Fact]
    public Task IncompleteCode_NoDiagnostic_NoCrash()
    {
        var test = Test(
            Types + """
            public static class C
            {
                public static bool M(Mode m) { return m.HasFlag(; }
                public static bool N(Mode m) { return Enum.IsDefined(typeof(Missing), m); }
                public static bool O(Mode m) { return Enum.IsDefined(typeof(Mode), m
            }
            """, ReferenceSet.Net472);
        test.AllowCompilerErrors = true;
        return test.RunAsync();
    }

    /// <summary>The default scope is hot paths and loops: one box per call of an ordinary method (a schema writer's
    /// once-per-type IsDefined) was not worth a warning on third-party libraries; per iteration it is.</summary>
    [Fact]
    public async Task DefaultScope_HotPathsAndLoops()
    {
        const string source = Types + """
            static class C
            {
                static bool Once(Mode m) => Enum.IsDefined(typeof(Mode), m);
                static int Many(Mode[] modes) { var n = 0; foreach (var m in modes) if ([|Enum.IsDefined(typeof(Mode), m)|]) n++; return n; }
            }
            """;
        var test = Verify<TargetDependentEnumBoxingAnalyzer>.Test(source);
        test.ReferenceSet = ReferenceSet.Net80;
        await test.RunAsync();
    }
}
