using System.Composition;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Rules.UnsafePointers;
using MemSafety.CodeFixes.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace MemSafety.CodeFixes.UnsafePointers;

/// <summary>
/// MSA5008, a mismatched free: calls the free of the allocation's family that takes the same parameters instead
/// (<c>Marshal.FreeHGlobal</c> ↔ <c>FreeCoTaskMem</c> ↔ <c>FreeBSTR</c>, the matching <c>ZeroFree…</c>,
/// <c>NativeMemory.Free</c> ↔ <c>AlignedFree</c>): only the method name changes, so the argument and its type stay.
/// Not offered across <c>Marshal</c> and <c>NativeMemory</c> (<c>IntPtr</c> against <c>void*</c>) nor for a realloc
/// (the two families' reallocs take different size types).
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(MismatchedNativeFreeFix)), Shared]
public sealed class MismatchedNativeFreeFix : MemSafetyCodeFix
{
    public MismatchedNativeFreeFix()
        : base(RuleIdentifiers.MismatchedNativeFree)
    {
    }

    private protected override Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
    {
        if (!diagnostic.Properties.TryGetValue(MismatchedNativeFreeAnalyzer.MatchingProperty, out var matching) || matching is null
            || node.FirstAncestorOrSelf<InvocationExpressionSyntax>() is not { } call || NameOf(call) is not { } name)
        {
            return Task.CompletedTask;
        }

        var document = request.Document;
        var root = request.Root;
        request.Register("Call " + matching, _ => Task.FromResult(document.WithSyntaxRoot(
            root.ReplaceNode(name, SyntaxFactory.IdentifierName(matching).WithTriviaFrom(name)))), diagnostic);
        return Task.CompletedTask;
    }

    private static SimpleNameSyntax? NameOf(InvocationExpressionSyntax call) => call.Expression switch
    {
        MemberAccessExpressionSyntax { Name: IdentifierNameSyntax name } => name,
        IdentifierNameSyntax name => name,
        _ => null,
    };
}
