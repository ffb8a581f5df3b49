using System;
using System.Collections.Immutable;
using System.Linq;
using System.Reflection.Metadata;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace MemSafety.Analyzers.Tests.Verification;

/// <summary>The IL inspector is the evidence behind every boxing rule, so it is tested on its own:
/// the decoder byte by byte, the source mapping, the JIT idioms and the run-time measurement.</summary>
public sealed class IlInspectionTests
{
    private static string Token(int token) => $"token {token:x8}";

    private static string UserString(int token) => $"string {token:x8}";

    [Fact]
    public void Decode_HandAssembledBody_ReadsEveryOperandSize()
    {
        byte[] il =
        {
            0x20, 0xA0, 0x86, 0x01, 0x00,                         // 0x00 ldc.i4 100000
            0x1F, 0xF6,                                           // 0x05 ldc.i4.s -10
            0x21, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, // 0x07 ldc.i8 1L << 40
            0x22, 0x00, 0x00, 0xC0, 0x3F,                         // 0x10 ldc.r4 1.5
            0x23, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x40, // 0x15 ldc.r8 2.25
            0xFE, 0x09, 0x2C, 0x01,                               // 0x1E ldarg 300 (two-byte opcode, uint16)
            0x45, 0x02, 0x00, 0x00, 0x00,                         // 0x22 switch, 2 targets relative to 0x2F
            0x1F, 0x00, 0x00, 0x00,                               //      -> 0x4E
            0x00, 0x00, 0x00, 0x00,                               //      -> 0x2F
            0x38, 0x02, 0x00, 0x00, 0x00,                         // 0x2F br (int32) -> 0x36
            0x2B, 0xCA,                                           // 0x34 br.s (int8, backwards) -> 0x00
            0xFE, 0x16, 0x01, 0x00, 0x00, 0x02,                   // 0x36 constrained. 0x02000001
            0x6F, 0x0A, 0x00, 0x00, 0x0A,                         // 0x3C callvirt 0x0A00000A
            0xFE, 0x12, 0x04,                                     // 0x41 unaligned. 4
            0xFE, 0x13,                                           // 0x44 volatile.
            0x72, 0x01, 0x00, 0x00, 0x70,                         // 0x46 ldstr 0x70000001
            0xFE, 0x19, 0x01,                                     // 0x4B no. 1
            0x2A,                                                 // 0x4E ret
        };

        var code = IlInspection.Decode(il, Token, UserString);

        Assert.Equal(
            new (int, ILOpCode, object?)[]
            {
                (0x00, ILOpCode.Ldc_i4, 100000),
                (0x05, ILOpCode.Ldc_i4_s, -10),
                (0x07, ILOpCode.Ldc_i8, 1L << 40),
                (0x10, ILOpCode.Ldc_r4, 1.5f),
                (0x15, ILOpCode.Ldc_r8, 2.25),
                (0x1E, ILOpCode.Ldarg, 300),
                (0x22, ILOpCode.Switch, null),
                (0x2F, ILOpCode.Br, 0x36),
                (0x34, ILOpCode.Br_s, 0x00),
                (0x36, ILOpCode.Constrained, "token 02000001"),
                (0x3C, ILOpCode.Callvirt, "token 0a00000a"),
                (0x41, ILOpCode.Unaligned, 4),
                (0x44, ILOpCode.Volatile, null),
                (0x46, ILOpCode.Ldstr, "string 70000001"),
                (0x4B, (ILOpCode)0xFE19, 1),
                (0x4E, ILOpCode.Ret, null),
            },
            code.Select(i => (i.Offset, i.OpCode, i.Operand is ImmutableArray<int> ? null : i.Operand)).ToArray());
        Assert.Equal(new[] { 0x4E, 0x2F }, (ImmutableArray<int>)code[6].Operand!);
        Assert.Equal(il.Length, code[^1].Offset + code[^1].Size);
        Assert.Equal("IL_0036: constrained. token 02000001", code[9].ToString());
        Assert.Equal("IL_004b: no.", code[14].ToString().Substring(0, 12));
        Assert.Equal(0x02000001, code[9].MetadataToken);
    }

    [Fact]
    public void Decode_TruncatedOperand_Throws()
    {
        var error = Assert.Throws<InvalidOperationException>(() => IlInspection.Decode(new byte[] { 0x20, 0x01 }, Token, UserString));
        Assert.Contains("offset 1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_CompiledMethodWithSwitchAndLongBranches_EveryTargetAndSequencePointIsAnInstructionStart()
    {
        var body = string.Concat(Enumerable.Range(0, 20).Select(k => $"total += s.Length * {k + 3} + i;\n"));
        var assembly = IlInspection.Compile($$"""
            public static class C
            {
                public static int M(int x, string s)
                {
                    int total = 0;
                    for (int i = 0; i < x; i++)
                    {
                        switch (i % 6)
                        {
                            case 0: total += s.Length; break;
                            case 1: total -= 3; break;
                            case 2: total *= 7; break;
                            case 3: total ^= i; break;
                            case 4: total += s.IndexOf('a'); break;
                            case 5: total = total * 31 + i; break;
                        }
                        {{body}}
                    }
                    try { total += int.Parse(s); } catch (System.FormatException) { total = -1; }
                    return total;
                }
            }
            """);

        var method = assembly.Method("C", "M");
        var code = method.Instructions;
        var starts = code.Select(i => i.Offset).ToHashSet();

        Assert.Equal(method.CodeSize, code[^1].Offset + code[^1].Size);
        Assert.All(code, i => Assert.True(Enum.IsDefined(i.OpCode), $"undefined opcode at IL_{i.Offset:x4}"));
        Assert.Contains(code, i => i.OpCode == ILOpCode.Switch && ((ImmutableArray<int>)i.Operand!).Length == 6);
        Assert.Contains(code, i => i.OpCode.IsBranch() && i.OpCode.GetBranchOperandSize() == 4);
        foreach (var instruction in code)
        {
            if (instruction.Operand is ImmutableArray<int> targets)
                Assert.All(targets, t => Assert.Contains(t, starts));
            else if (instruction.OpCode.IsBranch())
                Assert.Contains((int)instruction.Operand!, starts);
        }

        Assert.All(method.SequencePoints, p => Assert.Contains(p.Offset, starts));
        Assert.Contains(method.SequencePoints, p => p.Text == "total += s.Length * 22 + i;");
    }

    [Fact]
    public void Box_HasItsTypeAndStatement()
    {
        var assembly = IlInspection.Compile("""
            public struct P { public int X; }
            public static class C
            {
                static object a;
                public static object M(int x, P p)
                {
                    a = x;
                    return [|p|];
                }
            }
            """);

        var boxes = assembly.Method("C", "M").Boxes;
        Assert.Equal(new[] { "System.Int32", "P" }, boxes.Select(b => b.Type));
        Assert.Equal("a = x;", boxes[0].Statement!.Text);
        Assert.Equal("return p;", boxes[1].Statement!.Text);
        Assert.Equal("P", Assert.Single(assembly.BoxesInMarkedSpan()).Type);
        Assert.All(boxes, b => Assert.Equal(BoxIdiom.None, b.Idiom));
    }

    [Fact]
    public void BoxesByStatement_GroupsEachStatementsBoxesInIlOrder()
    {
        var assembly = IlInspection.Compile("""
            public static class C
            {
                static object s1, s2;
                public static void M(int x, long y)
                {
                    s1 = x;
                    System.Console.WriteLine("{0} {1}", x, y);
                    s2 = y;
                }
            }
            """);

        var groups = assembly.Method("C", "M").BoxesByStatement().ToList();
        Assert.Equal(new[] { "s1 = x;", "System.Console.WriteLine(\"{0} {1}\", x, y);", "s2 = y;" }, groups.Select(g => g.Statement!.Text));
        Assert.Equal(new[] { "System.Int32", "System.Int64" }, groups[1].Boxes.Select(b => b.Type));
    }

    [Fact]
    public void BoxInLambda_IsFoundThroughTheMarkedSpanInTheGeneratedMethod()
    {
        var assembly = IlInspection.Compile("""
            using System;
            public static class C
            {
                public static Func<object> M(int x)
                {
                    int unrelated = x * 2;
                    return () => [|x|];
                }
            }
            """);

        Assert.Empty(assembly.Method("C", "M").Boxes);
        var box = Assert.Single(assembly.BoxesInMarkedSpan());
        Assert.Equal("C+<>c__DisplayClass0_0::<M>b__0", box.Method);
        Assert.Equal("x", box.Statement!.Text);
    }

    [Theory]
    [InlineData("if (t == null) return 1; return 2;", BoxIdiom.NullCheck)]
    [InlineData("return t == null ? 1 : 2;", BoxIdiom.NullCheck)]
    [InlineData("flag = t == null; return 0;", BoxIdiom.NullComparison)]
    [InlineData("if (t is int) return 1; return 2;", BoxIdiom.IsInstBranch)]
    [InlineData("flag = t is IDisposable; return 0;", BoxIdiom.IsInstBranch)]
    [InlineData("return (int)(object)t;", BoxIdiom.UnboxAny)]
    public void GenericTypeTests_AreIdiomsTheJitRemoves(string body, BoxIdiom idiom)
    {
        var assembly = IlInspection.Compile("using System; public static class C { static bool flag; public static int M<T>(T t) { " + body + " } }");

        var box = Assert.Single(assembly.Method("C", "M").Boxes);
        Assert.Equal("T", box.Type);
        Assert.Equal(idiom, box.Idiom);
        Assert.True(box.ElidedByJit);
    }

    [Fact]
    public void ValueCastToTypeParameterThroughObject_IsTheUnboxAnyIdiom()
    {
        var assembly = IlInspection.Compile("public static class C { public static T M<T>(int v) { if (typeof(T) == typeof(int)) return (T)(object)v; return default; } }");

        var method = assembly.Method("C", "M");
        var box = Assert.Single(method.Boxes);
        Assert.Equal("System.Int32", box.Type);
        var next = method.Instructions[method.Instructions.IndexOf(method.Instructions.Single(i => i.Offset == box.Offset)) + 1];
        Assert.Equal("unbox.any T", next.Mnemonic + " " + next.Token);
        Assert.Equal(BoxIdiom.UnboxAny, box.Idiom);
        Assert.True(box.ElidedByJit);
    }

    [Fact]
    public void PatternOnTypeParameter_TestAndReadAreBothIdioms()
    {
        var assembly = IlInspection.Compile("public static class C { public static int M<T>(T t) { if (t is int i) return i; return 0; } }");

        Assert.Equal(new[] { BoxIdiom.IsInstBranch, BoxIdiom.IsInstUnboxAny }, assembly.Method("C", "M").Boxes.Select(b => b.Idiom));
    }

    [Fact]
    public void NullableBoxBeforeBranch_IsNotAnIdiom()
    {
        var assembly = IlInspection.Compile("public static class C { public static int M(int? t) { if ((object)t == null) return 1; return 2; } }");

        var box = Assert.Single(assembly.Method("C", "M").Boxes);
        Assert.Equal("System.Nullable<System.Int32>", box.Type);
        Assert.Equal(BoxIdiom.None, box.Idiom);
    }

    [Theory]
    [InlineData(ReferenceSet.Net80, true)]
    [InlineData(ReferenceSet.NetStandard20, false)]
    [InlineData(ReferenceSet.Net472, false)]
    public void HasFlag_BothBoxesAreTheIdiom_ElidedOnlyWhenTheTargetRunsOnCoreClr(ReferenceSet references, bool elided)
    {
        var assembly = IlInspection.Compile("""
            [System.Flags] public enum E { A = 1, B = 2 }
            public static class C
            {
                static E field = E.B;
                public static bool M(E e, E local) => e.HasFlag(E.A) && e.HasFlag(local) && e.HasFlag(field);
            }
            """, references: references);

        var boxes = assembly.Method("C", "M").Boxes;
        Assert.Equal(6, boxes.Length);
        Assert.All(boxes, b => Assert.Equal(BoxIdiom.EnumHasFlag, b.Idiom));
        Assert.All(boxes, b => Assert.Equal(elided, b.ElidedByJit));
    }

    [Fact]
    public void HasFlag_WithAnArgumentThatIsNotABox_IsNotTheIdiom()
    {
        var assembly = IlInspection.Compile("""
            [System.Flags] public enum E { A = 1 }
            public static class C { public static bool M(E e, System.Enum other) => e.HasFlag(other); }
            """);

        Assert.Equal(BoxIdiom.None, Assert.Single(assembly.Method("C", "M").Boxes).Idiom);
    }

    [Fact]
    public void ConstrainedCalls_TellWhetherTheRuntimeBoxesTheReceiver()
    {
        var assembly = IlInspection.Compile("""
            using System;
            public interface IShape { int Area(); int Sides() => 4; }
            public struct Plain { public int X; }
            public struct Overrides { public int X; public override string ToString() => "o"; public override int GetHashCode() => X; }
            public struct Square : IShape { public int X; public int Area() => X * X; }
            public struct OnlyTyped : IEquatable<OnlyTyped> { public bool Equals(OnlyTyped o) => true; }
            public static class C
            {
                public static string PlainToString(Plain p) => p.ToString();
                public static int PlainHash(Plain p) => p.GetHashCode();
                public static string OverridesToString(Overrides o) => o.ToString();
                public static int OverridesHash(Overrides o) => o.GetHashCode();
                public static int Area<T>(T t) where T : IShape => t.Area();
                public static int Sides<T>(T t) where T : IShape => t.Sides();
                public static int SquareArea() => Area(new Square());
                public static bool UntypedEquals(OnlyTyped a, object b) => a.Equals(b);
            }
            """);

        bool? Boxes(string method) => Assert.Single(assembly.Method("C", method).ConstrainedCalls).BoxesAtRunTime;
        Assert.True(Boxes("PlainToString"));
        Assert.True(Boxes("PlainHash"));
        Assert.False(Boxes("OverridesToString"));
        Assert.False(Boxes("OverridesHash"));
        Assert.Null(Boxes("Area"));
        Assert.Null(Boxes("Sides"));
        Assert.True(Boxes("UntypedEquals"));
        var call = Assert.Single(assembly.Method("C", "PlainToString").ConstrainedCalls);
        Assert.Equal("Plain", call.Type);
        Assert.Equal("System.Object::ToString()", call.Callee);
        Assert.Empty(assembly.Method("C", "PlainToString").Boxes);
    }

    [Fact]
    public void Net472References_Compile()
    {
        var assembly = IlInspection.Compile("public static class C { public static object M(int x) => x; }", LanguageVersion.CSharp7_3, ReferenceSet.Net472);

        Assert.Equal("System.Int32", Assert.Single(assembly.Method("C", "M").Boxes).Type);
    }

    [Fact]
    public void SourceThatDoesNotCompile_Throws()
    {
        var error = Assert.Throws<InvalidOperationException>(() => IlInspection.Compile("public static class C { public static int M() => \"\"; }"));
        Assert.Contains("CS0029", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LanguageVersionAndPreprocessorSymbols_ReachTheCompiler()
    {
        const string Source = """
            public static class C
            {
                public static object M(int x)
                {
            #if DEBUG
                    return x;
            #else
                    return null;
            #endif
                }
            }
            """;

        Assert.Single(IlInspection.Compile(Source, preprocessorSymbols: new[] { "DEBUG" }).Boxes);
        Assert.Empty(IlInspection.Compile(Source).Boxes);
        Assert.Throws<InvalidOperationException>(() => IlInspection.Compile("public record R;", LanguageVersion.CSharp7_3));
    }

    [Fact]
    public void AllocatedBytesPerCall_CountsAnEscapingBox_AndNothingWithoutOne()
    {
        var assembly = IlInspection.Compile("""
            using System.Runtime.CompilerServices;
            public static class C
            {
                static object sink;
                static int value = 42;
                static int other;
                [MethodImpl(MethodImplOptions.AggressiveOptimization)] public static void Boxes() { sink = value; }
                [MethodImpl(MethodImplOptions.AggressiveOptimization)] public static void DoesNot() { other = value; }
                public static void Tier0() { sink = value; }
            }
            """);

        Assert.Equal(24, assembly.AllocatedBytesPerCall("C", "Boxes"));
        Assert.Equal(0, assembly.AllocatedBytesPerCall("C", "DoesNot"));
        Assert.Throws<InvalidOperationException>(() => assembly.AllocatedBytesPerCall("C", "Tier0"));
    }

    [Fact]
    public void Dump_ShowsStatementsAndInstructions()
    {
        var dump = IlInspection.Compile("public static class C { public static object M(int x) { return x; } }").Method("C", "M").Dump();

        Assert.Contains("// return x;", dump, StringComparison.Ordinal);
        Assert.Contains("IL_0001: box System.Int32", dump, StringComparison.Ordinal);
    }
}
