using System.Collections.Generic;
using System.Linq;
using MemSafety.Analyzers.Engines.Effects;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Tests.Engines.Effects;

/// <summary><see cref="FunctionEffects.IsPure"/>: whether a lambda may run later, or interleaved, without anyone noticing.</summary>
public sealed class FunctionEffectsTests
{
    private static (bool Pure, string Reads) Judge(string lambda, bool allowErrors = false)
    {
        var code = EffectsTestCode.Compile($$"""
            void M(IEnumerable<string> items, int captured)
            {
                var local = 0;
                var q = items.Select([|{{lambda}}|]);
                Use(q); Use(local);
            }
            """, allowErrors);
        var function = (IAnonymousFunctionOperation)code.Marked;
        var reads = new HashSet<ISymbol>(SymbolEqualityComparer.Default);
        var pure = FunctionEffects.IsPure(function.Body, function.Symbol, code.Members, reads);
        return (pure, string.Join(",", reads.Select(s => s.Name).OrderBy(n => n)));
    }

    [Fact]
    public void ReadsAndOperators_Pure_ReadsListed()
    {
        var (pure, reads) = Judge("x => x.Length * captured + _field");
        Assert.True(pure);
        Assert.Equal("_field,captured,Length,x", reads);
    }

    [Theory]
    [InlineData("x => x.Trim().ToUpperInvariant()")]
    [InlineData("x => int.TryParse(x, out var n) ? n : Math.Abs(x.Length)")]
    [InlineData("x => new { x.Length, Name = x }")]
    [InlineData("x => new List<string> { x }")]
    [InlineData("x => x switch { \"a\" => 1, { Length: > 3 } => 2, _ => 3 }")]
    [InlineData("x => $\"{x}:{x.Length}\"")]
    [InlineData("x => x ?? throw new ArgumentNullException()")]
    public void Pure(string lambda) => Assert.True(Judge(lambda).Pure);

    [Theory]
    [InlineData("x => { _field = x.Length; return x; }")]
    [InlineData("x => { local++; return x; }")]
    [InlineData("x => Helper(x.Length)")]
    [InlineData("x => Virt() + x.Length")]
    [InlineData("x => int.Parse(x)")]
    [InlineData("x => DateTime.Now.Ticks + x.Length")]
    [InlineData("x => { Fill(out local); return x; }")]
    [InlineData("x => new Random().Next()")]
    public void Impure(string lambda) => Assert.False(Judge(lambda).Pure);

    [Fact]
    public void IncompleteCode_NoCrash_Impure() => Assert.False(Judge("x => Missing(x", allowErrors: true).Pure);
}
