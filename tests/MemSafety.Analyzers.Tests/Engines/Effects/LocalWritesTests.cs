using MemSafety.Analyzers.Engines.Effects;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Tests.Engines.Effects;

/// <summary><see cref="LocalWrites.MayChange"/>: whether a loop (or any region) may change a local or parameter.</summary>
public sealed class LocalWritesTests
{
    private static bool MayChange(string statement, string name = "a", string before = "", string after = "")
        => MayChangeIn($"void M(int x, int[] arr) {{ int a = 1; int i = 0; {before} [|for (var k = 0; k < 3; k++) {{ {statement} }}|] {after} Use(a); }}", name);

    private static bool MayChangeIn(string members, string name, bool allowErrors = false)
    {
        var code = EffectsTestCode.Compile(members, allowErrors);
        return LocalWrites.MayChange(code.Marked, code.Symbol(name));
    }

    [Theory]
    [InlineData("a = 2;")]
    [InlineData("a += 2;")]
    [InlineData("a *= 2;")]
    [InlineData("a++;")]
    [InlineData("--a;")]
    [InlineData("Out(out a);")]
    [InlineData("Ref(ref a);")]
    [InlineData("(a, var b) = (1, 2);")]
    [InlineData("(i, (a, _)) = (1, (2, 3));")]
    [InlineData("ref int r = ref a; r = 3;")]
    [InlineData("Action w = () => a = 5; w();")]
    [InlineData("if (k > 1) { while (a < 10) a <<= 1; }")]
    public void WrittenInTheLoop_MayChange(string statement) => Assert.True(MayChange(statement));

    [Theory]
    [InlineData("Use(a);")]
    [InlineData("In(in a);")]
    [InlineData("var b = a + 1; b = 2;")]
    [InlineData("Func<int> f = () => a;")]
    [InlineData("arr[0] = a;")]
    public void OnlyRead_DoesNotChange(string statement) => Assert.False(MayChange(statement));

    [Fact]
    public void WrittenBeforeOrAfterTheLoop_DoesNotChange()
        => Assert.False(MayChange("Use(a);", before: "a = 2;", after: "a = 3;"));

    [Fact]
    public void ParameterWritten_MayChange() => Assert.True(MayChange("x = k;", "x"));

    [Theory]
    [InlineData("arr[a] = 1;")]
    [InlineData("arr[Helper(a)]++;")]
    [InlineData("Fill(out arr[a]);")]
    public void MentionedInAWrittenTarget_CountsAsChanged_Conservatively(string statement)
        => Assert.True(MayChange(statement));

    [Fact]
    public void ArrayWhoseElementIsWritten_CountsAsChanged_Conservatively()
        => Assert.True(MayChange("arr[0] = 1;", "arr"));

    [Fact]
    public void ForHeaderVariable_ChangesEveryIteration() => Assert.True(MayChange("Use(k);", "k"));

    [Fact]
    public void ForEachVariable_ChangesEveryIteration()
        => Assert.True(MayChangeIn("void M(int[] arr) { [|foreach (var v in arr) Use(v);|] }", "v"));

    [Fact]
    public void RegionIsAnyStatement()
    {
        Assert.True(MayChangeIn("void M(int x) { var a = 0; [|if (x > 0) a = x;|] Use(a); }", "a"));
        Assert.False(MayChangeIn("void M(int x) { var a = 0; [|if (x > 0) Use(a);|] a = x; }", "a"));
    }

    [Theory]
    [InlineData("var row = arr; Use(row);")]
    [InlineData("if (arr is int[] row) Use(row);")]
    public void DeclaredInTheLoop_ChangesEveryIteration(string statement) => Assert.True(MayChange(statement, "row"));

    [Fact]
    public void LocalOfALambda_WrittenInThatLambdaBeforeTheLoop_DoesNotChange()
        => Assert.False(MayChangeIn("void M(int x) { Func<int> f = () => { var b = 0; b = 5; [|while (x > 0) Use(b);|] return b; }; }", "b"));

    [Fact]
    public void WrittenByALambdaOutsideTheLoop_MayChange()
    {
        Assert.True(MayChange("Use(a);", before: "Action grow = () => a = 2;"));
        Assert.True(MayChange("Use(a);", before: "void Grow() => a++;"));
        Assert.True(MayChange("Use(x);", "x", after: "Action later = () => x = 0;"));
        Assert.False(MayChange("Use(a);", before: "Func<int> read = () => a;"));
    }

    [Fact]
    public void IncompleteCode_NoCrash()
        => Assert.True(MayChangeIn("void M(int x) { var a = 0; [|while (x > 0) { a = Missing(; }|] }", "a", allowErrors: true));
}
