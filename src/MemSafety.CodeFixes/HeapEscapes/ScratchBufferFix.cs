using System.Composition;
using System.Threading.Tasks;
using MemSafety.Analyzers.Core;
using MemSafety.CodeFixes.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;

namespace MemSafety.CodeFixes.HeapEscapes;

/// <summary>MSA1002: the buffer goes on the stack when its size is small and is rented from ArrayPool
/// otherwise, returned in a finally (<see cref="PooledBufferRewrite"/>).</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(ScratchBufferFix)), Shared]
public sealed class ScratchBufferFix : MemSafetyCodeFix
{
    public ScratchBufferFix()
        : base(RuleIdentifiers.ScratchBuffer)
    {
    }

    private protected override Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
        => PooledBufferRewrite.RegisterAsync(request, diagnostic, node, "Use stackalloc or a pooled array for the buffer");
}
