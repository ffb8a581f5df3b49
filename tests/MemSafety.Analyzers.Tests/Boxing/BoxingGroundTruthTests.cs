using System;
using System.Collections.Generic;
using System.Linq;
using MemSafety.Analyzers.Tests.Verification;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace MemSafety.Analyzers.Tests.Boxing;

/// <summary>
/// What really boxes, established on the IL that Roslyn 4.14 emits in Release and, where the IL is not
/// the whole story, on what the test host's runtime (.NET 10, optimized code) allocates. Every row of
/// docs/design/boxing.md names the test here that backs it. Snippets mark the construct with [|…|];
/// "real boxes" are the box instructions in its statement that no JIT idiom removes.
/// </summary>
public sealed class BoxingGroundTruthTests
{
    private const string Types = """
        using System;
        using System.Collections.Generic;
        using System.Diagnostics;
        using System.Runtime.CompilerServices;
        public struct Plain { public int A; }
        public struct Overrides
        {
            public int A;
            public override string ToString() => "o";
            public override int GetHashCode() => A;
            public override bool Equals(object o) => o is Overrides other && other.A == A;
        }
        public interface IShape { int Area(); }
        public struct Square : IShape { public int Side; public int Area() => Side * Side; }
        [Flags] public enum Mode { Read = 1, Write = 2 }
        public struct Key { public int A; }
        public struct TypedKey : IEquatable<TypedKey> { public int A; public bool Equals(TypedKey o) => o.A == A; }
        public struct GoodKey : IEquatable<GoodKey> { public int A; public bool Equals(GoodKey o) => o.A == A; public override int GetHashCode() => A; }
        static class Opt
        {
            // AggressiveOptimization (netstandard2.0 and net472 lack the enum member); Alone adds NoInlining.
            public const MethodImplOptions Fast = (MethodImplOptions)512;
            public const MethodImplOptions Alone = (MethodImplOptions)(512 | 8);
        }

        """;

    private static readonly LanguageVersion[] Versions =
    {
        LanguageVersion.CSharp7_3, LanguageVersion.CSharp10, LanguageVersion.CSharp11, LanguageVersion.CSharp12, LanguageVersion.CSharp13,
    };

    private static readonly ReferenceSet[] Targets = { ReferenceSet.Net80, ReferenceSet.NetStandard20, ReferenceSet.Net472 };

    public static TheoryData<LanguageVersion, ReferenceSet> Everywhere => Matrix(Versions, Targets);

    public static TheoryData<LanguageVersion, ReferenceSet> OnNet80 => Matrix(Versions, new[] { ReferenceSet.Net80 });

    public static TheoryData<LanguageVersion, ReferenceSet> OnNetStandard20AndNet472 => Matrix(Versions, new[] { ReferenceSet.NetStandard20, ReferenceSet.Net472 });

    public static TheoryData<LanguageVersion, ReferenceSet> FromCSharp9 => Matrix(Versions.Where(v => v >= LanguageVersion.CSharp9), Targets);

    private static TheoryData<LanguageVersion, ReferenceSet> Matrix(IEnumerable<LanguageVersion> versions, IEnumerable<ReferenceSet> targets)
    {
        var data = new TheoryData<LanguageVersion, ReferenceSet>();
        foreach (var version in versions)
        {
            foreach (var target in targets)
                data.Add(version, target);
        }

        return data;
    }

    private static IlAssembly Compile(string members, LanguageVersion version = LanguageVersion.CSharp13, ReferenceSet target = ReferenceSet.Net80, params string[] symbols)
        => IlInspection.Compile(Types + "public static class C\n{\n" + members + "\n}\n", version, target, OptimizationLevel.Release, symbols);

    /// <summary>Bytes allocated per call of <c>C.Run</c> on the test host (.NET 10).</summary>
    private static double Allocated(string members, ReferenceSet target = ReferenceSet.Net80, LanguageVersion version = LanguageVersion.CSharp13, params string[] symbols)
        => Compile(members, version, target, symbols).AllocatedBytesPerCall("C", "Run");

    private static void AssertRealBoxes(IlAssembly assembly, params string[] types)
    {
        var boxes = assembly.RealBoxesInMarkedSpan();
        Assert.True(types.SequenceEqual(boxes.Select(b => b.Type)),
            $"Expected boxes [{string.Join(", ", types)}] in the marked statement, found [{string.Join("; ", boxes)}]{Environment.NewLine}{assembly.Dump()}");
    }

    private static void AssertNoBox(IlAssembly assembly)
    {
        var boxes = assembly.Boxes.ToList();
        Assert.True(boxes.Count == 0, $"Expected no box instruction, found [{string.Join("; ", boxes)}]{Environment.NewLine}{assembly.Dump()}");
    }

    private static void AssertCalls(IlAssembly assembly, string callee)
        => Assert.True(assembly.Methods.SelectMany(m => m.Calls).Contains(callee), $"Expected a call to {callee}{Environment.NewLine}{assembly.Dump()}");

    // ------------------------------------------------------------ value type to object or interface

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void ValueToObject_Assignment_Boxes(LanguageVersion version, ReferenceSet target)
        => AssertRealBoxes(Compile("static object sink; static void M(int x) { sink = [|x|]; }", version, target), "System.Int32");

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void ValueToObject_Argument_Boxes(LanguageVersion version, ReferenceSet target)
        => AssertRealBoxes(Compile("static void Take(object o) { } static void M(int x) { Take([|x|]); }", version, target), "System.Int32");

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void ValueToObject_Return_Boxes(LanguageVersion version, ReferenceSet target)
        => AssertRealBoxes(Compile("static object M(int x) { return [|x|]; }", version, target), "System.Int32");

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void ValueToObject_ConditionalOperator_Boxes(LanguageVersion version, ReferenceSet target)
        => AssertRealBoxes(Compile("static object M(int x, bool b) { return b ? [|(object)x|] : null; }", version, target), "System.Int32");

    [Theory]
    [MemberData(nameof(FromCSharp9))]
    public void ValueToObject_TargetTypedConditional_Boxes(LanguageVersion version, ReferenceSet target)
        => AssertRealBoxes(Compile("static object M(int x, bool b) { return b ? [|x|] : \"none\"; }", version, target), "System.Int32");

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void ValueToObject_NullCoalescing_Boxes(LanguageVersion version, ReferenceSet target)
        => AssertRealBoxes(Compile("static object M(object o, int x) { return o ?? [|x|]; }", version, target), "System.Int32");

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void ValueToObject_CollectionInitializerOfListOfObject_BoxesEachElement(LanguageVersion version, ReferenceSet target)
        => AssertRealBoxes(Compile("static List<object> M(int x) { return [|new List<object> { x, 2 }|]; }", version, target), "System.Int32", "System.Int32");

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void ValueToObject_ParamsObjectArray_BoxesEachArgument(LanguageVersion version, ReferenceSet target)
        => AssertRealBoxes(Compile("static void P(params object[] a) { } static void M(int x, long y) { [|P(x, y)|]; }", version, target), "System.Int32", "System.Int64");

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void StructToItsInterface_Boxes(LanguageVersion version, ReferenceSet target)
        => AssertRealBoxes(Compile("static IShape M(Square s) { return [|s|]; }", version, target), "Square");

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void ValueToIEquatable_Boxes(LanguageVersion version, ReferenceSet target)
        => AssertRealBoxes(Compile("static IEquatable<int> M(int x) { return [|x|]; }", version, target), "System.Int32");

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void NullableToObject_BoxesTheNullable(LanguageVersion version, ReferenceSet target)
        => AssertRealBoxes(Compile("static object M(int? x) { return [|x|]; }", version, target), "System.Nullable<System.Int32>");

    [Fact]
    public void NullableToObject_AllocatesOnlyWhenItHasAValue()
    {
        const string Members = """
            static object sink; static int? value = 5; static int? none;
            [MethodImpl(Opt.Fast)] public static void Run() { sink = value; }
            [MethodImpl(Opt.Fast)] public static void RunNull() { sink = none; }
            """;
        var assembly = Compile(Members);

        Assert.Equal(24, assembly.AllocatedBytesPerCall("C", "Run"));
        Assert.Equal(0, assembly.AllocatedBytesPerCall("C", "RunNull"));
    }

    [Fact]
    public void EscapingBox_AllocatesAtRunTime()
    {
        Assert.Equal(24, Allocated("static object sink; static int v = 5; [MethodImpl(Opt.Fast)] public static void Run() { sink = v; }"));
        Assert.Equal(24, Allocated("static int v = 5; [MethodImpl(Opt.Alone)] static void Take(object o) { } [MethodImpl(Opt.Fast)] public static void Run() { Take(v); }"));
    }

    // Stack allocation of boxes (.NET 9+) is opportunistic: it needs the consumer inlined or devirtualized,
    // which dynamic PGO decides per process. In isolation these measured 0 bytes; inside a full test run
    // the same code measured the full box cost. So the stable fact is "at most the boxes' cost", and
    // rules must treat these boxes as allocations.
    [Fact]
    public void NonEscapingBox_MayBeStackAllocatedOnDotNet10()
    {
        const string Members = """
            static int v = 5; static int n; static Square square;
            [MethodImpl(Opt.Fast)] public static void Run() { object o = v; n = o.GetHashCode(); }
            [MethodImpl(Opt.Fast)] public static void RunInterface() { IShape s = square; n = s.Area(); }
            """;
        var assembly = Compile(Members);

        Assert.Equal(new[] { "System.Int32" }, assembly.Method("C", "Run").Boxes.Select(b => b.Type));
        Assert.Equal(new[] { "Square" }, assembly.Method("C", "RunInterface").Boxes.Select(b => b.Type));
        Assert.InRange(assembly.AllocatedBytesPerCall("C", "Run"), 0, 24);
        Assert.InRange(assembly.AllocatedBytesPerCall("C", "RunInterface"), 0, 24);
    }

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void ObjectEqualsOfTwoValues_BoxesBoth(LanguageVersion version, ReferenceSet target)
        => AssertRealBoxes(Compile("static bool M(int x, int y) { return [|Equals(x, y)|]; }", version, target), "System.Int32", "System.Int32");

    [Fact]
    public void ObjectEqualsOfTwoValues_MayBeStackAllocatedOnDotNet10()
        => Assert.InRange(Allocated("static int v = 5; static bool r; [MethodImpl(Opt.Fast)] public static void Run() { r = Equals(v, 5); }"), 0, 48);

    // ------------------------------------------------------------ formatting

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void StringFormat_WithInt_Boxes(LanguageVersion version, ReferenceSet target)
        => AssertRealBoxes(Compile("static string M(int x) { return [|string.Format(\"{0}\", x)|]; }", version, target), "System.Int32");

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void ConsoleWriteLine_FormatWithInt_Boxes(LanguageVersion version, ReferenceSet target)
        => AssertRealBoxes(Compile("static void M(int x) { [|Console.WriteLine(\"{0}\", x)|]; }", version, target), "System.Int32");

    // ------------------------------------------------------------ string concatenation

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void Concat_StringPlusIntLiteral_CallsToString_NoBox(LanguageVersion version, ReferenceSet target)
    {
        var assembly = Compile("static string M() { return [|\"a\" + 5|]; }", version, target);
        AssertNoBox(assembly);
        AssertCalls(assembly, "System.Int32::ToString()");
        AssertCalls(assembly, "System.String::Concat(System.String, System.String)");
    }

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void Concat_StringPlusSeveralPrimitives_CallsToString_NoBox(LanguageVersion version, ReferenceSet target)
    {
        var assembly = Compile("static string M(int x, long y, double z, bool b) { return [|\"a\" + x + y + z + b|]; }", version, target);
        AssertNoBox(assembly);
        AssertCalls(assembly, "System.Int64::ToString()");
        AssertCalls(assembly, "System.Double::ToString()");
        AssertCalls(assembly, "System.Boolean::ToString()");
    }

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void Concat_Char_NoBox(LanguageVersion version, ReferenceSet target)
    {
        var assembly = Compile("static string M(char c) { return [|\"a\" + c|]; }", version, target);
        AssertNoBox(assembly);
        // net8.0 has string.Concat(ReadOnlySpan<char>, …): the char is not even turned into a string.
        AssertCalls(assembly, target == ReferenceSet.Net80
            ? "System.String::Concat(System.ReadOnlySpan<System.Char>, System.ReadOnlySpan<System.Char>)"
            : "System.Char::ToString()");
    }

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void Concat_StructWithoutToString_ConstrainedCallBoxesAtRunTime(LanguageVersion version, ReferenceSet target)
    {
        var assembly = Compile("static string M(Plain p) { return [|\"a\" + p|]; }", version, target);
        AssertNoBox(assembly);
        var call = Assert.Single(assembly.ConstrainedCallsOverlapping(assembly.MarkedSpan));
        Assert.Equal("System.Object::ToString()", call.Callee);
        Assert.True(call.BoxesAtRunTime);
    }

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void Concat_StructWithToString_NoBox(LanguageVersion version, ReferenceSet target)
    {
        var assembly = Compile("static string M(Overrides o) { return [|\"a\" + o|]; }", version, target);
        AssertNoBox(assembly);
        Assert.False(Assert.Single(assembly.ConstrainedCalls).BoxesAtRunTime);
    }

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void Concat_Enum_ConstrainedCallBoxesAtRunTime(LanguageVersion version, ReferenceSet target)
    {
        var assembly = Compile("static string M(Mode m) { return [|\"a\" + m|]; }", version, target);
        AssertNoBox(assembly);
        var call = Assert.Single(assembly.ConstrainedCalls);
        Assert.Equal("Mode", call.Type);
        Assert.True(call.BoxesAtRunTime);
    }

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void Concat_Nullable_CallsNullableToString_NoBox(LanguageVersion version, ReferenceSet target)
    {
        var assembly = Compile("static string M(int? x) { return [|\"a\" + x|]; }", version, target);
        AssertNoBox(assembly);
        Assert.Equal("System.Nullable<System.Int32>", Assert.Single(assembly.ConstrainedCalls).Type);
    }

    [Fact]
    public void Concat_Nullable_AllocatesTheSameAsTheUnderlyingValue()
    {
        // Nullable<T> overrides ToString, so the constrained call does not box: only the string allocates.
        var nullable = Allocated("static int? v = 5; static string s; [MethodImpl(Opt.Fast)] public static void Run() { s = \"a\" + v; }");
        var plain = Allocated("static int v = 5; static string s; [MethodImpl(Opt.Fast)] public static void Run() { s = \"a\" + v; }");
        Assert.Equal(plain, nullable);
    }

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void Concat_TypeParameter_NullCheckBoxIsElided(LanguageVersion version, ReferenceSet target)
    {
        var assembly = Compile("static string M<T>(T t) { return [|\"a\" + t|]; }", version, target);
        var box = Assert.Single(assembly.BoxesInMarkedSpan());
        Assert.Equal(BoxIdiom.NullCheck, box.Idiom);
        Assert.True(box.ElidedByJit);
        Assert.Null(Assert.Single(assembly.ConstrainedCalls).BoxesAtRunTime);
    }

    // ------------------------------------------------------------ interpolated strings

    [Theory]
    [MemberData(nameof(OnNet80))]
    public void Interpolation_ToString_OnNet80_UsesTheHandlerInEveryLanguageVersion_NoBox(LanguageVersion version, ReferenceSet target)
    {
        var assembly = Compile("static string M(int x) { return [|$\"v={x}\"|]; }", version, target);
        AssertNoBox(assembly);
        AssertCalls(assembly, "System.Runtime.CompilerServices.DefaultInterpolatedStringHandler::AppendFormatted<System.Int32>(!!0)");
    }

    [Theory]
    [MemberData(nameof(OnNet80))]
    public void Interpolation_UserStruct_OnNet80_HandlerIsGeneric_NoBox(LanguageVersion version, ReferenceSet target)
    {
        var assembly = Compile("static string M(Plain p) { return [|$\"v={p}\"|]; }", version, target);
        AssertNoBox(assembly);
        AssertCalls(assembly, "System.Runtime.CompilerServices.DefaultInterpolatedStringHandler::AppendFormatted<Plain>(!!0)");
    }

    [Fact]
    public void Interpolation_StructWithoutToString_OnNet80_BoxesInsideTheHandler()
    {
        // AppendFormatted<T> calls value.ToString(); without an override that is ValueType.ToString on a box.
        // Named formats to the same text without boxing, so the difference is the box alone.
        const string Members = """
            public struct Named { public int A; public override string ToString() => "Plain"; }
            static Plain p; static Named named; static string s;
            [MethodImpl(Opt.Fast)] public static void Run() { s = $"{p}"; }
            [MethodImpl(Opt.Fast)] public static void RunNamed() { s = $"{named}"; }
            """;
        var assembly = Compile(Members);
        AssertNoBox(assembly);
        Assert.Equal(24, assembly.AllocatedBytesPerCall("C", "Run") - assembly.AllocatedBytesPerCall("C", "RunNamed"));
    }

    [Theory]
    [MemberData(nameof(OnNetStandard20AndNet472))]
    public void Interpolation_ToString_OnNetStandard20AndNet472_CallsStringFormat_Boxes(LanguageVersion version, ReferenceSet target)
    {
        var assembly = Compile("static string M(int x) { return [|$\"v={x}\"|]; }", version, target);
        AssertRealBoxes(assembly, "System.Int32");
        AssertCalls(assembly, "System.String::Format(System.String, System.Object)");
    }

    [Theory]
    [MemberData(nameof(OnNetStandard20AndNet472))]
    public void Interpolation_FourValues_OnNetStandard20AndNet472_BoxesEachIntoAnArray(LanguageVersion version, ReferenceSet target)
    {
        var assembly = Compile("static string M(int a, long b, Plain c, Mode d) { return [|$\"{a}{b}{c}{d}\"|]; }", version, target);
        AssertRealBoxes(assembly, "System.Int32", "System.Int64", "Plain", "Mode");
        AssertCalls(assembly, "System.String::Format(System.String, System.Object[])");
    }

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void Interpolation_ToFormattableStringOrIFormattable_Boxes(LanguageVersion version, ReferenceSet target)
    {
        AssertRealBoxes(Compile("static FormattableString M(int x) { return [|$\"v={x}\"|]; }", version, target), "System.Int32");
        AssertRealBoxes(Compile("static IFormattable M(int x) { return [|$\"v={x}\"|]; }", version, target), "System.Int32");
    }

    [Fact]
    public void Interpolation_AllocatesABoxOnlyWhenBuiltAgainstNetStandard20()
    {
        const string Members = "static int v = 5; static string s; [MethodImpl(Opt.Fast)] public static void Run() { s = $\"{v}\"; }";
        var handler = Allocated(Members, ReferenceSet.Net80);
        var format = Allocated(Members, ReferenceSet.NetStandard20);
        Assert.Equal(24, format - handler);
    }

    // ------------------------------------------------------------ enums

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void HasFlag_IlBoxesBoth_TheJitRemovesThemOnCoreClr(LanguageVersion version, ReferenceSet target)
    {
        var assembly = Compile("static bool M(Mode m) { return [|m.HasFlag(Mode.Read)|]; }", version, target);
        var boxes = assembly.BoxesInMarkedSpan();
        Assert.Equal(new[] { "Mode", "Mode" }, boxes.Select(b => b.Type));
        Assert.All(boxes, b => Assert.Equal(BoxIdiom.EnumHasFlag, b.Idiom));
        Assert.All(boxes, b => Assert.Equal(target == ReferenceSet.Net80, b.ElidedByJit));
    }

    [Theory]
    [InlineData(ReferenceSet.Net80)]
    [InlineData(ReferenceSet.NetStandard20)]
    public void HasFlag_AllocatesNothingOnDotNet10(ReferenceSet target)
    {
        Assert.Equal(0, Allocated("static Mode m = Mode.Read | Mode.Write; static bool r; [MethodImpl(Opt.Fast)] public static void Run() { r = m.HasFlag(Mode.Read); }", target));
        Assert.Equal(0, Allocated("static Mode m = Mode.Read, f = Mode.Write; static bool r; [MethodImpl(Opt.Fast)] public static void Run() { r = m.HasFlag(f); }", target));
    }

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void EnumToString_ConstrainedCall_BoxesAtRunTime(LanguageVersion version, ReferenceSet target)
    {
        var assembly = Compile("static string M(Mode m) { return [|m.ToString()|]; }", version, target);
        AssertNoBox(assembly);
        Assert.True(Assert.Single(assembly.ConstrainedCalls).BoxesAtRunTime);
    }

    [Fact]
    public void EnumToString_AllocatesTheBox()
        => Assert.Equal(24, Allocated("static Mode m = Mode.Write; static string s; [MethodImpl(Opt.Fast)] public static void Run() { s = m.ToString(); }"));

    // ------------------------------------------------------------ GetType

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void GetTypeOnStruct_IlBoxes(LanguageVersion version, ReferenceSet target)
    {
        var assembly = Compile("static Type M(Plain p) { return [|p.GetType()|]; }", version, target);
        AssertRealBoxes(assembly, "Plain");
        AssertCalls(assembly, "System.Object::GetType()");
    }

    [Fact]
    public void GetTypeOnStruct_AllocatesNothingOnDotNet10()
        => Assert.Equal(0, Allocated("static Plain p; static Type t; [MethodImpl(Opt.Fast)] public static void Run() { t = p.GetType(); }"));

    // ------------------------------------------------------------ ToString/GetHashCode/Equals on structs

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void StructWithoutOverride_ToStringAndGetHashCode_NoIlBox_ConstrainedCallBoxesAtRunTime(LanguageVersion version, ReferenceSet target)
    {
        var assembly = Compile("static string M(Plain p) { return [|p.ToString()|]; } static int H(Plain p) { return p.GetHashCode(); }", version, target);
        AssertNoBox(assembly);
        Assert.All(assembly.ConstrainedCalls, c => Assert.True(c.BoxesAtRunTime));
        Assert.Equal(new[] { "System.Object::ToString()", "System.Object::GetHashCode()" }, assembly.ConstrainedCalls.Select(c => c.Callee));
    }

    [Fact]
    public void StructWithoutOverride_ToStringAndGetHashCode_AllocateABoxPerCall()
    {
        const string Members = """
            static Plain p; static string s; static int n;
            [MethodImpl(Opt.Fast)] public static void Run() { s = p.ToString(); }
            [MethodImpl(Opt.Fast)] public static void RunHash() { n = p.GetHashCode(); }
            """;
        var assembly = Compile(Members);
        Assert.Equal(24, assembly.AllocatedBytesPerCall("C", "Run"));
        Assert.Equal(24, assembly.AllocatedBytesPerCall("C", "RunHash"));
    }

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void StructWithoutOverride_Equals_BoxesTheArgumentInIl_AndTheReceiverAtRunTime(LanguageVersion version, ReferenceSet target)
    {
        var assembly = Compile("static bool M(Plain a, Plain b) { return [|a.Equals(b)|]; }", version, target);
        AssertRealBoxes(assembly, "Plain");
        Assert.True(Assert.Single(assembly.ConstrainedCalls).BoxesAtRunTime);
    }

    [Fact]
    public void StructWithoutOverride_Equals_AllocatesTwoBoxes()
        => Assert.Equal(48, Allocated("static Plain a, b; static bool r; [MethodImpl(Opt.Fast)] public static void Run() { r = a.Equals(b); }"));

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void StructWithOverrides_ConstrainedCalls_DoNotBox(LanguageVersion version, ReferenceSet target)
    {
        var assembly = Compile("static string M(Overrides o) { return [|o.ToString()|]; } static int H(Overrides o) { return o.GetHashCode(); }", version, target);
        AssertNoBox(assembly);
        Assert.All(assembly.ConstrainedCalls, c => Assert.False(c.BoxesAtRunTime));
    }

    [Fact]
    public void StructWithOverrides_AllocateNothing()
    {
        const string Members = """
            static Overrides o; static string s; static int n; static bool r;
            [MethodImpl(Opt.Fast)] public static void Run() { s = o.ToString(); n = o.GetHashCode(); }
            [MethodImpl(Opt.Fast)] public static void RunEquals() { r = o.Equals(o); }
            """;
        var assembly = Compile(Members);
        Assert.Equal(0, assembly.AllocatedBytesPerCall("C", "Run"));
        // Equals(object) still boxes the argument in IL; .NET 10 inlines the override and keeps the box on the stack.
        Assert.Equal(new[] { "Overrides" }, assembly.Method("C", "RunEquals").Boxes.Select(b => b.Type));
        Assert.Equal(0, assembly.AllocatedBytesPerCall("C", "RunEquals"));
    }

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void IEquatableEquals_CallsTheTypedOverload_NoBox(LanguageVersion version, ReferenceSet target)
    {
        var assembly = Compile("static bool M(TypedKey a, TypedKey b) { return [|a.Equals(b)|]; }", version, target);
        AssertNoBox(assembly);
        AssertCalls(assembly, "TypedKey::Equals(TypedKey)");
    }

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void PrimitiveToString_CallsItsOwnOverride_NoBox(LanguageVersion version, ReferenceSet target)
    {
        var assembly = Compile("static string M(int x) { return [|x.ToString()|]; }", version, target);
        AssertNoBox(assembly);
        Assert.Empty(assembly.ConstrainedCalls);
        AssertCalls(assembly, "System.Int32::ToString()");
    }

    // ------------------------------------------------------------ generics

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void ConstrainedInterfaceCallOnTypeParameter_NoBox(LanguageVersion version, ReferenceSet target)
    {
        var assembly = Compile("static int M<T>(T t) where T : IShape { return [|t.Area()|]; }", version, target);
        AssertNoBox(assembly);
        var call = Assert.Single(assembly.ConstrainedCalls);
        Assert.Equal("T", call.Type);
        Assert.Equal("IShape::Area()", call.Callee);
    }

    [Fact]
    public void TypeParameterCalls_BoxOnlyForStructsThatDoNotImplementTheMember()
    {
        const string Members = """
            static Square sq; static Plain p; static Overrides o; static int n; static string s;
            [MethodImpl(Opt.Alone)] static int Area<T>(T t) where T : IShape => t.Area();
            [MethodImpl(Opt.Alone)] static string Text<T>(T t) => t.ToString();
            [MethodImpl(Opt.Fast)] public static void Run() { n = Area(sq); }
            [MethodImpl(Opt.Fast)] public static void RunPlain() { s = Text(p); }
            [MethodImpl(Opt.Fast)] public static void RunOverrides() { s = Text(o); }
            """;
        var assembly = Compile(Members);
        Assert.Equal(0, assembly.AllocatedBytesPerCall("C", "Run"));
        Assert.Equal(24, assembly.AllocatedBytesPerCall("C", "RunPlain"));
        Assert.Equal(0, assembly.AllocatedBytesPerCall("C", "RunOverrides"));
    }

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void TypeParameterNullChecks_AreIdioms(LanguageVersion version, ReferenceSet target)
    {
        var assembly = Compile("static bool flag; static int M<T>(T t) { [|if (t == null) return 1;|] return 2; } static void V<T>(T t) { flag = t == null; }", version, target);
        var branch = Assert.Single(assembly.Method("C", "M").Boxes);
        Assert.Equal(BoxIdiom.NullCheck, branch.Idiom);
        Assert.True(branch.ElidedByJit);
        var value = Assert.Single(assembly.Method("C", "V").Boxes);
        Assert.Equal(BoxIdiom.NullComparison, value.Idiom);
        Assert.Equal(target == ReferenceSet.Net80, value.ElidedByJit);
    }

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void TypeParameterTypeTests_AreIdioms(LanguageVersion version, ReferenceSet target)
    {
        const string Members = """
            static bool flag;
            static int Branch<T>(T t) { if (t is int) return 1; return 2; }
            static void Value<T>(T t) { flag = t is IShape; }
            static int Read<T>(T t) { if (t is int i) return i; return 0; }
            static int Cast<T>(T t) { return (int)(object)t; }
            """;
        var assembly = Compile(Members, version, target);
        Assert.Equal(BoxIdiom.IsInstBranch, Assert.Single(assembly.Method("C", "Branch").Boxes).Idiom);
        Assert.Equal(BoxIdiom.IsInstBranch, Assert.Single(assembly.Method("C", "Value").Boxes).Idiom);
        Assert.Equal(new[] { BoxIdiom.IsInstBranch, BoxIdiom.IsInstUnboxAny }, assembly.Method("C", "Read").Boxes.Select(b => b.Idiom));
        Assert.Equal(BoxIdiom.UnboxAny, Assert.Single(assembly.Method("C", "Cast").Boxes).Idiom);
        Assert.All(assembly.Boxes, b => Assert.True(b.ElidedByJit));
    }

    [Fact]
    public void TypeParameterIdioms_AllocateNothing()
    {
        const string Members = """
            static int v = 5; static Square sq; static bool r; static int n;
            [MethodImpl(Opt.Alone)] static int IfNull<T>(T t) { if (t == null) return 1; return 2; }
            [MethodImpl(Opt.Alone)] static bool IsNull<T>(T t) => t == null;
            [MethodImpl(Opt.Alone)] static int Branch<T>(T t) { if (t is int) return 1; return 2; }
            [MethodImpl(Opt.Alone)] static bool IsShape<T>(T t) => t is IShape;
            [MethodImpl(Opt.Alone)] static int Read<T>(T t) { if (t is int i) return i; return 0; }
            [MethodImpl(Opt.Alone)] static int Cast<T>(T t) => (int)(object)t;
            [MethodImpl(Opt.Fast)] public static void Run() { n = IfNull(v) + Branch(v) + Read(v) + Cast(v); r = IsNull(v) | IsShape(sq); }
            """;
        Assert.Equal(0, Allocated(Members));
    }

    // ------------------------------------------------------------ nullable

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void NullableLiftedOperators_NoBox(LanguageVersion version, ReferenceSet target)
        => AssertNoBox(Compile("static int? M(int? a, int? b) { return [|a + b|]; } static bool E(int? a) { return a == 3; }", version, target));

    // ------------------------------------------------------------ delegates and closures

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void StructInstanceMethodGroupToDelegate_BoxesTheReceiver(LanguageVersion version, ReferenceSet target)
    {
        var assembly = Compile("static Func<int> M(Square s) { return [|s.Area|]; }", version, target);
        AssertRealBoxes(assembly, "Square");
        AssertCalls(assembly, "System.Func<System.Int32>::.ctor(System.Object, System.IntPtr)");
    }

    [Fact]
    public void StructInstanceMethodGroupToDelegate_AllocatesTheBox()
        => Assert.True(Allocated("static Square sq; static object sink; [MethodImpl(Opt.Fast)] public static void Run() { Func<int> f = sq.Area; sink = f; }") >= 24 + 64);

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void StaticMethodGroup_CachedFromCSharp11_NeverABox(LanguageVersion version, ReferenceSet target)
    {
        var assembly = Compile("static int Twice(int x) => 2 * x; static Func<int, int> M() { return [|Twice|]; }", version, target);
        AssertNoBox(assembly);
        var cached = assembly.Method("C", "M").Instructions.Any(i => i.OpCode == System.Reflection.Metadata.ILOpCode.Ldsfld && i.Token!.StartsWith("C+<>O::", StringComparison.Ordinal));
        Assert.Equal(version >= LanguageVersion.CSharp11, cached);
    }

    [Theory]
    [InlineData(LanguageVersion.CSharp10, 64)]
    [InlineData(LanguageVersion.CSharp11, 0)]
    public void StaticMethodGroup_AllocatesADelegatePerCallBeforeCSharp11(LanguageVersion version, double bytes)
        => Assert.Equal(bytes, Allocated("static int Twice(int x) => 2 * x; static object sink; [MethodImpl(Opt.Fast)] public static void Run() { Func<int, int> f = Twice; sink = f; }", version: version));

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void LambdaCapturingStruct_AllocatesAClosure_NotABox(LanguageVersion version, ReferenceSet target)
    {
        var assembly = Compile("static Func<int> M(Plain p) { return [|() => p.A|]; }", version, target);
        AssertNoBox(assembly);
        AssertCalls(assembly, "C+<>c__DisplayClass0_0::.ctor()");
    }

    // ------------------------------------------------------------ dictionaries

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void DictionaryLookupWithStructKey_NoBoxInTheCaller(LanguageVersion version, ReferenceSet target)
        => AssertNoBox(Compile("static int M(Dictionary<Key, int> d, Key k) { return [|d[k]|]; }", version, target));

    [Fact]
    public void DictionaryLookupWithStructKey_BoxesInTheDefaultComparerUnlessTheKeyImplementsIEquatableAndGetHashCode()
    {
        const string Members = """
            static Dictionary<Key, int> plain = new Dictionary<Key, int> { [new Key()] = 1 };
            static Dictionary<TypedKey, int> typed = new Dictionary<TypedKey, int> { [new TypedKey()] = 1 };
            static Dictionary<GoodKey, int> good = new Dictionary<GoodKey, int> { [new GoodKey()] = 1 };
            static int n;
            [MethodImpl(Opt.Fast)] public static void Run() { n = plain[new Key()]; }
            [MethodImpl(Opt.Fast)] public static void RunTyped() { n = typed[new TypedKey()]; }
            [MethodImpl(Opt.Fast)] public static void RunGood() { n = good[new GoodKey()]; }
            """;
        var assembly = Compile(Members);
        // GetHashCode boxes the key, Equals boxes both keys: three boxes per lookup.
        Assert.Equal(3 * 24, assembly.AllocatedBytesPerCall("C", "Run"));
        // IEquatable<T> removes the Equals boxes; the inherited GetHashCode still boxes.
        Assert.Equal(24, assembly.AllocatedBytesPerCall("C", "RunTyped"));
        Assert.Equal(0, assembly.AllocatedBytesPerCall("C", "RunGood"));
    }

    // ------------------------------------------------------------ foreach

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void ForeachOverList_StructEnumerator_NoBox(LanguageVersion version, ReferenceSet target)
    {
        var assembly = Compile("static int M(List<int> xs) { int n = 0; foreach (var x in [|xs|]) n += x; return n; }", version, target);
        AssertNoBox(assembly);
        AssertCalls(assembly, "System.Collections.Generic.List+Enumerator<System.Int32>::MoveNext()");
        // Dispose goes through a constrained call in hidden code; List<T>.Enumerator implements it, so no box.
        Assert.Equal("System.IDisposable::Dispose()", Assert.Single(assembly.ConstrainedCalls).Callee);
    }

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void ForeachOverIEnumerable_NoBoxInTheCaller_InterfaceGetEnumerator(LanguageVersion version, ReferenceSet target)
    {
        var assembly = Compile("static int M(List<int> list) { IEnumerable<int> xs = list; int n = 0; foreach (var x in [|xs|]) n += x; return n; }", version, target);
        AssertNoBox(assembly);
        AssertCalls(assembly, "System.Collections.Generic.IEnumerable<System.Int32>::GetEnumerator()");
    }

    [Fact]
    public void ForeachOverIEnumerable_TheListBoxesItsEnumeratorUnlessItIsEmpty()
    {
        const string Members = """
            static IEnumerable<int> full = new List<int> { 1, 2, 3 };
            static IEnumerable<int> empty = new List<int>();
            static List<int> list = new List<int> { 1, 2, 3 };
            static int n;
            [MethodImpl(Opt.Fast)] public static void Run() { int m = 0; foreach (var x in full) m += x; n = m; }
            [MethodImpl(Opt.Fast)] public static void RunEmpty() { int m = 0; foreach (var x in empty) m += x; n = m; }
            [MethodImpl(Opt.Fast)] public static void RunList() { int m = 0; foreach (var x in list) m += x; n = m; }
            """;
        var assembly = Compile(Members);
        // The box of List<int>.Enumerator (16-byte header + list, index, version, current) happens
        // inside List<T>'s explicit IEnumerable<T>.GetEnumerator, not in the caller's IL.
        Assert.Equal(40, assembly.AllocatedBytesPerCall("C", "Run"));
        Assert.Equal(0, assembly.AllocatedBytesPerCall("C", "RunEmpty"));
        Assert.Equal(0, assembly.AllocatedBytesPerCall("C", "RunList"));
    }

    // ------------------------------------------------------------ Debug.Assert

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void DebugAssert_WithoutTheDebugSymbol_CallIsRemoved_NoBox(LanguageVersion version, ReferenceSet target)
    {
        const string Members = "static void M(int x) { Debug.Assert(x > 0, \"bad\", \"{0}\", x); }";
        AssertNoBox(Compile(Members, version, target));
        // It is the symbol, not the optimization level: a Debug build without DEBUG removes it too.
        AssertNoBox(IlInspection.Compile(Types + "public static class C { " + Members + " }", version, target, OptimizationLevel.Debug));
    }

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void DebugAssert_WithTheDebugSymbol_BoxesEvenInARelease(LanguageVersion version, ReferenceSet target)
        => AssertRealBoxes(Compile("static void M(int x) { [|Debug.Assert(x > 0, \"bad\", \"{0}\", x)|]; }", version, target, "DEBUG"), "System.Int32");

    [Fact]
    public void DebugAssert_WithTheDebugSymbol_AllocatesEvenWhenTheAssertionHolds()
    {
        const string Members = "static int v = 5; [MethodImpl(Opt.Fast)] public static void Run() { Debug.Assert(v > 0, \"bad\", \"{0}\", v); }";
        Assert.Equal(0, Allocated(Members));
        Assert.True(Allocated(Members, ReferenceSet.Net80, LanguageVersion.CSharp13, "DEBUG") >= 24 + 32);
    }

    // ------------------------------------------------------------ what a rule can see of the target

    [Theory]
    [InlineData(ReferenceSet.Net80, "System.Runtime", true)]
    [InlineData(ReferenceSet.NetStandard20, "netstandard", false)]
    [InlineData(ReferenceSet.Net472, "mscorlib", false)]
    public void TargetFacts_CoreLibraryNameAndInterpolationHandlerAreVisibleToAnAnalyzer(ReferenceSet target, string coreLibrary, bool hasHandler)
    {
        var compilation = CSharpCompilation.Create("Target", references: IlInspection.References(target));
        Assert.Equal(coreLibrary, compilation.GetSpecialType(SpecialType.System_Object).ContainingAssembly.Name);
        Assert.Equal(hasHandler, compilation.GetTypeByMetadataName("System.Runtime.CompilerServices.DefaultInterpolatedStringHandler") is not null);
    }

    // ------------------------------------------------------------ folklore that no longer holds

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void UnusedBoxedLocal_IsDroppedByTheCompilerInRelease(LanguageVersion version, ReferenceSet target)
    {
        const string Members = "static void M(int x) { object unused = x; }";
        AssertNoBox(Compile(Members, version, target));
        Assert.Single(IlInspection.Compile(Types + "public static class C { " + Members + " }", version, target, OptimizationLevel.Debug).Boxes);
    }

    [Theory]
    [MemberData(nameof(Everywhere))]
    public void ConstantPatternOnInt_NoBox(LanguageVersion version, ReferenceSet target)
        => AssertNoBox(Compile("static bool M(int x) { return [|x is 0|]; }", version, target));
}
