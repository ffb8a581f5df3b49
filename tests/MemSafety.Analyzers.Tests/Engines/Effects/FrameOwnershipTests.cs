using System.Collections.Generic;
using MemSafety.Analyzers.Engines.Effects;
using MemSafety.Analyzers.Engines.Escape;
using Microsoft.CodeAnalysis;

namespace MemSafety.Analyzers.Tests.Engines.Effects;

/// <summary><see cref="FrameOwnership"/>: which locals hold a collection nobody but this frame can reach while the method runs.</summary>
public sealed class FrameOwnershipTests
{
    private static bool Owns(string body, string name = "result", bool allowErrors = false)
    {
        var code = EffectsTestCode.Compile($"static List<int> s_kept;\nList<int> M(List<int> list, int[] arr) {{ [|Use(0);|] {body} }}", allowErrors);
        return new FrameOwnership(code.Marked, code.Members).Owns((ILocalSymbol)code.Symbol(name));
    }

    [Theory]
    [InlineData("var result = new List<int>(); result.Add(1); Use(result.Count); return null;")]
    [InlineData("var result = list.ToList(); foreach (var v in result) Use(v); return null;")]
    [InlineData("var result = new List<int>(); result.Add(1); return result;")]
    [InlineData("var result = new List<int>(); result = new List<int>(arr); return result;")]
    [InlineData("var result = new StringBuilder(); result.Append(1).Append(2); Use(result.ToString()); return null;")]
    [InlineData("var result = new int[4]; result[0] = 1; Use(result.Length); return null;")]
    [InlineData("var result = new List<int>(); list.AddRange(result); return null;")]
    public void OnlyThisFrame_Owned(string body) => Assert.True(Owns(body));

    [Theory]
    [InlineData("var result = list; result.Add(1); return null;")]
    [InlineData("var result = new List<int>(); Func<int> f = () => result.Count; return null;")]
    [InlineData("var result = new List<int>(); Use(result); return null;")]
    [InlineData("var result = new List<int>(); s_kept = result; return null;")]
    [InlineData("var result = new List<int>(); result = list; return null;")]
    [InlineData("var result = new List<int>(); var view = result.AsReadOnly(); return null;")]
    [InlineData("IEnumerable<int> result = new List<int>(); return null;")]
    public void ReachableByOthers_NotOwned(string body) => Assert.False(Owns(body));

    /// <summary>
    /// The escape engine and the effects engine disagree about <c>return</c>, and both are right: the returned
    /// list outlives the frame (it escapes: it cannot live on the stack), but nothing can see it while the
    /// method still runs (it is owned: writing it is a local effect). MSA1007 needs the second answer
    /// (MaterializedOnceTests.ListToArrayInForEach_AddingToAResultList_ReportedAndFixed), MSA1000 the first.
    /// </summary>
    [Fact]
    public void ReturnedList_EscapesButIsOwnedWhileTheMethodRuns()
    {
        var code = EffectsTestCode.Compile("List<int> M() { var result = new List<int>(); result.Add(1); [|return result;|] }");
        var result = code.Symbol("result");
        Assert.True(new FrameOwnership(code.Marked, code.Members).Owns((ILocalSymbol)result));
        var escape = EscapeEngine.ForBodyOf(code.Marked).AnalyzeSymbol(result);
        Assert.Equal(EscapeKind.Returned, escape.Kind);
    }

    [Fact]
    public void ExcludedReferences_AreNotJudged()
    {
        var code = EffectsTestCode.Compile("void M() { var result = new List<int>(); Use([|result|]); }");
        var excluded = new HashSet<Microsoft.CodeAnalysis.IOperation> { code.Marked };
        Assert.False(new FrameOwnership(code.Marked, code.Members).Owns((ILocalSymbol)code.Symbol("result")));
        Assert.True(new FrameOwnership(code.Marked, code.Members, excluded).Owns((ILocalSymbol)code.Symbol("result")));
    }

    [Fact]
    public void IncompleteCode_NoCrash_NotOwned()
        => Assert.False(Owns("var result = new List<int>(); Missing(result; return null;", allowErrors: true));
}
