using System.Composition;
using System.Threading.Tasks;
using MemSafety.Analyzers.Core;
using MemSafety.CodeFixes.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;

namespace MemSafety.CodeFixes.HeapEscapes;

/// <summary>MSA1003: the array is rented from ArrayPool and returned in a finally (<see cref="PooledBufferRewrite"/>).</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(LargeTemporaryArrayFix)), Shared]
public sealed class LargeTemporaryArrayFix : MemSafetyCodeFix
{
    public LargeTemporaryArrayFix()
        : base(RuleIdentifiers.LargeTemporaryArray)
    {
    }

    private protected override Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
        => PooledBufferRewrite.RegisterAsync(request, diagnostic, node, "Rent the array from ArrayPool");
}
