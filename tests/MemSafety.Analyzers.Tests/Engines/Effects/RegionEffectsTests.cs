using System.Collections.Generic;
using System.Linq;
using MemSafety.Analyzers.Engines.Effects;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Tests.Engines.Effects;

/// <summary><see cref="RegionEffects"/>: what one iteration of a foreach (its variable and body) may write and call.</summary>
public sealed class RegionEffectsTests
{
    private static (RegionEffects Effects, EffectsTestCode Code) Iteration(string body, string watched = "", bool allowErrors = false)
    {
        var code = EffectsTestCode.Compile($$"""
            List<int> Run(List<int> list, int[] arr, StringBuilder shared, IEnumerable<int> sequence)
            {
                var t = 0;
                var result = new List<int>();
                var own = new int[4];
                var sb = new StringBuilder();
                var p = new Point();
                [|foreach (var v in list) { {{body}} }|]
                Use(t); Use(sb.ToString()); Use(own[0]); Use(p.X);
                return result;
            }
            """, allowErrors);
        var set = new HashSet<ISymbol>(SymbolEqualityComparer.Default);
        if (watched.Length > 0)
            set.Add(code.Symbol(watched));
        var loop = (IForEachLoopOperation)code.Marked;
        return (RegionEffects.OfIteration(loop, new FrameOwnership(loop, code.Members), set), code);
    }

    private static string Written(RegionEffects effects) => string.Join(",", effects.Written.Select(s => s.Name).OrderBy(n => n));

    [Fact]
    public void LocalCompoundAssignment_WritesTheLocalOnly()
    {
        var (effects, _) = Iteration("t += v; t++;");
        Assert.Equal("t", Written(effects));
        Assert.True(effects.CallsOnlyKnownCode);
        Assert.False(effects.WritesSharedMemory);
    }

    [Theory]
    [InlineData("_field = v;", "_field")]
    [InlineData("s_total += v;", "s_total")]
    [InlineData("_array[0] = v;", "_array")]
    public void FieldOrStaticOrFieldArrayWrite_WritesSharedMemory(string statement, string written)
    {
        var (effects, _) = Iteration(statement);
        Assert.True(effects.WritesSharedMemory);
        Assert.Contains(written, Written(effects).Split(','));
    }

    [Fact]
    public void ParameterArrayElement_IsAnUnownedArray_OwnArrayIsNot()
    {
        Assert.True(Iteration("arr[0] = v;").Effects.WritesUnownedArrayElement);
        var own = Iteration("own[v & 3] = v;").Effects;
        Assert.False(own.WritesUnownedArrayElement);
        Assert.False(own.WritesSharedMemory);
        Assert.Equal("own", Written(own));
    }

    [Fact]
    public void FieldOfAStructLocal_IsThisFramesMemory()
    {
        var (effects, _) = Iteration("p.X = v;");
        Assert.False(effects.WritesSharedMemory);
        Assert.Equal("p,X", Written(effects));
    }

    [Fact]
    public void AddToAListOnlyThisFrameHolds_WritesThatLocal()
    {
        var (effects, _) = Iteration("result.Add(v);");
        Assert.True(effects.CallsOnlyKnownCode);
        Assert.Equal("result", Written(effects));
    }

    [Fact]
    public void AddToAParameterList_IsUnknownCode() => Assert.False(Iteration("list.Add(v);").Effects.CallsOnlyKnownCode);

    [Fact]
    public void StringBuilder_OwnedWritesTheLocal_SharedWritesSharedMemory()
    {
        var owned = Iteration("sb.Append(v).Append(',');").Effects;
        Assert.True(owned.CallsOnlyKnownCode);
        Assert.False(owned.WritesSharedMemory);
        Assert.Equal("sb", Written(owned));

        var shared = Iteration("shared.Append(v);").Effects;
        Assert.True(shared.CallsOnlyKnownCode);
        Assert.True(shared.WritesSharedMemory);
        Assert.Equal("shared", Written(shared));
    }

    [Theory]
    [InlineData("t = Math.Max(t, v);")]
    [InlineData("t += v.ToString().ToUpperInvariant().Length;")]
    [InlineData("Console.WriteLine(v);")]
    [InlineData("t += int.TryParse(\"1\", out var n) ? n : 0;")]
    [InlineData("foreach (var w in arr) t += w;")]
    [InlineData("var (a, b) = (v, 1); t += a + b;")]
    [InlineData("t += new List<int> { v }.Count;")]
    [InlineData("if (v > 0) continue; else break;")]
    public void KnownCode(string statement) => Assert.True(Iteration(statement).Effects.CallsOnlyKnownCode);

    [Theory]
    [InlineData("t += Helper(v);")]
    [InlineData("t += Virt();")]
    [InlineData("t += int.Parse(\"1\");")]
    [InlineData("foreach (var w in sequence) t += w;")]
    [InlineData("var (a, b) = p; t += a;")]
    [InlineData("Func<int> f = () => v; t += f();")]
    [InlineData("Interlocked.Increment(ref t);")]
    public void UnknownCode(string statement) => Assert.False(Iteration(statement).Effects.CallsOnlyKnownCode);

    [Fact]
    public void OutArgument_WritesItsTarget()
        => Assert.Equal("t", Written(Iteration("Out(out t);").Effects));

    [Fact]
    public void MentionOfAWatchedSymbol_StopsTheWalk()
    {
        Assert.True(Iteration("t += list.Count;", watched: "list").Effects.MentionsWatched);
        Assert.False(Iteration("t += v;", watched: "list").Effects.MentionsWatched);
    }

    [Fact]
    public void OfAnyRegion_AStatement()
    {
        var code = EffectsTestCode.Compile("void M(int[] arr) { var t = 0; [|t += arr[0];|] Use(t); }");
        var effects = RegionEffects.Of(code.Marked, new FrameOwnership(code.Marked, code.Members));
        Assert.Equal("t", Written(effects));
        Assert.True(effects.CallsOnlyKnownCode);
    }

    [Fact]
    public void IncompleteCode_NoCrash_UnknownCode()
        => Assert.False(Iteration("t += Missing(v;", allowErrors: true).Effects.CallsOnlyKnownCode);
}
