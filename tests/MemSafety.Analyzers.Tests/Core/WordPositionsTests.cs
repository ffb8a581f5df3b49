using System.Collections.Generic;
using System.Text;
using System.Threading;
using MemSafety.Analyzers.Core;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;
using Xunit;

namespace MemSafety.Analyzers.Tests.Core;

/// <summary>The text prefilter rules run before they register per-node actions for a type (MSA2006): it must find
/// every occurrence, also one cut by the chunks it reads the text in, and answer "anywhere" for a file with an escape.</summary>
public sealed class WordPositionsTests
{
    private static List<int> Naive(string text, string word)
    {
        var found = new List<int>();
        for (var at = text.IndexOf(word, System.StringComparison.Ordinal); at >= 0; at = text.IndexOf(word, at + 1, System.StringComparison.Ordinal))
            found.Add(at);
        return found;
    }

    [Fact]
    public void OccurrencesAcrossChunkBoundaries_AllFoundOnce()
    {
        // Occurrences at every offset around the 4096-character chunk boundaries, and two that overlap the next.
        var sb = new StringBuilder();
        for (var i = 0; i < 3; i++)
        {
            sb.Append('x', 4096 - 9 - (i * 3)).Append("foreach");
        }

        sb.Append("foreachforeach").Append(' ', 4090).Append("foreach");
        var text = sb.ToString();
        Assert.Equal(Naive(text, "foreach"), WordPositions.Find(SourceText.From(text), "foreach", CancellationToken.None));
    }

    [Theory]
    [InlineData(4095)]
    [InlineData(4096)]
    [InlineData(4097)]
    [InlineData(10)]
    public void EscapeAnywhere_EveryWordMentioned(int at)
    {
        var text = new string(' ', at) + "\\u0066" + new string(' ', 5000);
        var tree = CSharpSyntaxTree.ParseText(text);
        Assert.True(WordPositions.Mentions(tree, new TextSpan(0, 3), "foreach", CancellationToken.None));
    }

    [Fact]
    public void Mentions_OnlyWhenTheWholeWordIsInsideTheSpan()
    {
        var tree = CSharpSyntaxTree.ParseText("class A { } class B { void M(int[] a) { foreach (var x in a) { } } } class C { }");
        var text = tree.GetText().ToString();
        var at = text.IndexOf("foreach", System.StringComparison.Ordinal);
        Assert.True(WordPositions.Mentions(tree, new TextSpan(at, 7), "foreach", CancellationToken.None));
        Assert.False(WordPositions.Mentions(tree, new TextSpan(at, 6), "foreach", CancellationToken.None));
        Assert.False(WordPositions.Mentions(tree, new TextSpan(at + 1, 20), "foreach", CancellationToken.None));
        Assert.False(WordPositions.Mentions(tree, new TextSpan(0, 11), "foreach", CancellationToken.None));
        Assert.False(WordPositions.Mentions(tree, TextSpan.FromBounds(at + 7, text.Length), "foreach", CancellationToken.None));
    }
}
