using System.Composition;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Disposal;
using MemSafety.Analyzers.Rules.UnsafePointers;
using MemSafety.CodeFixes.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Formatting;

namespace MemSafety.CodeFixes.UnsafePointers;

/// <summary>
/// MSA5008, a mismatched free: calls the free of the allocation's family that takes the same parameters instead
/// (<c>Marshal.FreeHGlobal</c> ↔ <c>FreeCoTaskMem</c> ↔ <c>FreeBSTR</c>, the matching <c>ZeroFree…</c>,
/// <c>NativeMemory.Free</c> ↔ <c>AlignedFree</c>): only the method name changes, so the argument and its type stay.
/// Not offered across <c>Marshal</c> and <c>NativeMemory</c> (<c>IntPtr</c> against <c>void*</c>) nor for a realloc
/// (the two families' reallocs take different size types).
/// <para>A leak: where the allocation (<c>var p = Marshal.AllocHGlobal(…);</c>, <c>p = (byte*)NativeMemory.Alloc(…);</c>)
/// and the member's only free of the local are statements of one block, the statements between become
/// <c>try { … } finally { free; }</c>; where the member has no free of it and every use of the local follows the
/// allocation in that block, the rest of the block becomes the <c>try</c> and the finally calls the free that matches the
/// allocator (<c>Marshal.FreeHGlobal</c>, <c>FreeCoTaskMem</c>, <c>NativeMemory.Free</c>, <c>AlignedFree</c>). Every
/// path that reached the free behaves the same; the others (an exception, an early return) now free the block, which is
/// the leak the rule reports. The pointer cannot outlive the finally: the rule reports only a local whose uses read or
/// write through it during the method. A local declared between and used after is declared before the try. Not offered
/// when the free would need a cast the code may not compile with (an <c>IntPtr</c> local given to <c>NativeMemory</c>),
/// when the local is assigned between, or when the free is in a branch or there are several. Its own equivalence key.</para>
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
        if (diagnostic.Properties.TryGetValue(MismatchedNativeFreeAnalyzer.KindProperty, out var kind) && kind == "Leak")
            return RegisterLeakAsync(request, diagnostic, node);
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

    private const string LeakKey = "MSA5008.FreeInFinally";

    private static async Task RegisterLeakAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
    {
        if (!diagnostic.Properties.TryGetValue(MismatchedNativeFreeAnalyzer.FreeProperty, out var free) || free is null
            || node.FirstAncestorOrSelf<InvocationExpressionSyntax>() is not { } call)
        {
            return;
        }

        var model = await request.GetSemanticModelAsync().ConfigureAwait(false);
        var document = request.Document;
        var span = call.Span;
        if (Plan(call, model, request.CancellationToken) is { Local: { } local } plan && (!plan.WritesRelease || Release(call, local, free) is not null))
            request.Register("Free the native memory with " + free + " in a finally block", ct => ApplyAsync(document, span, free, ct), diagnostic, LeakKey);
        if (NativeBlockOnStack.PlanFor(call, model, request.CancellationToken) is not null)
            request.Register("Allocate the block on the stack with stackalloc", ct => ApplyStackallocAsync(document, span, ct), diagnostic, NativeBlockOnStack.Key);
    }

    private static async Task<Document> ApplyStackallocAsync(Document document, Microsoft.CodeAnalysis.Text.TextSpan span, CancellationToken cancellationToken)
    {
        var read = await FixDocument.ReadAsync(document, cancellationToken).ConfigureAwait(false);
        if (read.FindNode(span).FirstAncestorOrSelf<InvocationExpressionSyntax>() is not { } call || NativeBlockOnStack.PlanFor(call, read.Model, cancellationToken) is not { } plan)
            return document;
        return document.WithSyntaxRoot(NativeBlockOnStack.Rewrite(read.Root, plan));
    }

    private static ReleaseInFinally.Plan? Plan(InvocationExpressionSyntax call, SemanticModel model, CancellationToken cancellationToken)
        => ReleaseInFinally.PlanFor(call, model, (invocation, local) => IsFree(invocation, local, model, cancellationToken),
            releaseAtEnd: true, refuseValueReturns: false, cancellationToken, hoistDeclarations: true);

    /// <summary>A <c>Marshal</c> or <c>NativeMemory</c> free whose first argument is the local (casts looked through).</summary>
    private static bool IsFree(InvocationExpressionSyntax invocation, ILocalSymbol local, SemanticModel model, CancellationToken cancellationToken)
    {
        if (invocation.ArgumentList.Arguments.Count == 0)
            return false;
        var argument = invocation.ArgumentList.Arguments[0].Expression;
        while (argument is CastExpressionSyntax or ParenthesizedExpressionSyntax)
            argument = argument is CastExpressionSyntax cast ? cast.Expression : ((ParenthesizedExpressionSyntax)argument).Expression;
        return argument is IdentifierNameSyntax name && name.Identifier.ValueText == local.Name
               && SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(name, cancellationToken).Symbol, local)
               && model.GetSymbolInfo(invocation, cancellationToken).Symbol is IMethodSymbol method
               && NativeMemoryFamilies.Releases(method) != NativeMemoryFamily.None;
    }

    /// <summary><c>Marshal.FreeHGlobal(p);</c> written with the allocation's own qualifier (so it binds where the
    /// allocation did), the local cast to <c>IntPtr</c> when it is a pointer; null when the free takes a pointer and
    /// the local is an integer (the cast needs an unsafe context).</summary>
    private static StatementSyntax? Release(InvocationExpressionSyntax call, ILocalSymbol local, string free)
    {
        if (call.Expression is not MemberAccessExpressionSyntax { Expression: { } qualifier })
            return null;
        var method = free.Substring(free.IndexOf('.') + 1);
        var marshal = free.StartsWith("Marshal.", System.StringComparison.Ordinal);
        ExpressionSyntax argument = SyntaxFactory.IdentifierName(local.Name);
        if (local.Type.TypeKind == TypeKind.Pointer && marshal)
            argument = SyntaxFactory.CastExpression(SyntaxFactory.ParseTypeName("System.IntPtr"), argument);
        else if (local.Type.TypeKind != TypeKind.Pointer && !marshal)
            return null;
        return SyntaxFactory.ExpressionStatement(SyntaxFactory.InvocationExpression(
            SyntaxFactory.MemberAccessExpression(SyntaxKind.SimpleMemberAccessExpression, qualifier.WithoutTrivia(), SyntaxFactory.IdentifierName(method)),
            SyntaxFactory.ArgumentList(SyntaxFactory.SingletonSeparatedList(SyntaxFactory.Argument(argument)))));
    }

    private static async Task<Document> ApplyAsync(Document document, Microsoft.CodeAnalysis.Text.TextSpan span, string free, CancellationToken cancellationToken)
    {
        var read = await FixDocument.ReadAsync(document, cancellationToken).ConfigureAwait(false);
        if (read.FindNode(span).FirstAncestorOrSelf<InvocationExpressionSyntax>() is not { } call || Plan(call, read.Model, cancellationToken) is not { Local: { } local } plan)
            return document;
        var release = plan.WritesRelease ? Release(call, local, free) : plan.Block.Statements[plan.ReleaseIndex];
        if (release is null)
            return document;
        var root = read.Root.ReplaceNode(plan.Block, ReleaseInFinally.Rewrite(plan, release, read.Model));
        return await Formatter.FormatAsync(document.WithSyntaxRoot(root), Formatter.Annotation, cancellationToken: cancellationToken).ConfigureAwait(false);
    }
}
