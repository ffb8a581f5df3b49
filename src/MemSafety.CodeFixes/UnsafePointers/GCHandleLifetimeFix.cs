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

namespace MemSafety.CodeFixes.UnsafePointers;

/// <summary>
/// MSA5007, a handle not freed on some path: where the allocation (<c>var h = GCHandle.Alloc(…);</c> or
/// <c>h = GCHandle.Alloc(…);</c>) and the method's only <c>h.Free();</c> are statements of one block, the statements
/// between become <c>try { … } finally { h.Free(); }</c>. Behaviour is the same on every path that reached the Free; on
/// those that did not (an exception, an early <c>return</c>, <c>break</c>) the handle is now freed — the leak the rule
/// reports. Not offered when no Free exists (where the handle should end is the author's choice), when a statement
/// between returns a value other than a constant (the value may be the pinned address, which the earlier Free would
/// leave dangling), when the local is assigned between them, or when a local declared between them is used after the Free.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(GCHandleLifetimeFix)), Shared]
public sealed class GCHandleLifetimeFix : MemSafetyCodeFix
{
    private const string Title = "Free the GCHandle in a finally block";

    public GCHandleLifetimeFix()
        : base(RuleIdentifiers.GCHandleLifetime)
    {
    }

    private protected override Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
        => diagnostic.Properties.TryGetValue(GCHandleLifetimeAnalyzer.KindProperty, out var kind)
           && kind is nameof(LifetimeDefectKind.NotFreed) or nameof(LifetimeDefectKind.NotFreedOnException)
           && node.FirstAncestorOrSelf<InvocationExpressionSyntax>() is { } call
            ? ReleaseInFinally.RegisterAsync(request, diagnostic, call, Title, Plan)
            : Task.CompletedTask;

    private static ReleaseInFinally.Plan? Plan(InvocationExpressionSyntax call, SemanticModel model, CancellationToken cancellationToken)
        => ReleaseInFinally.PlanFor(call, model, (invocation, local) => IsFree(invocation, local, model, cancellationToken),
            releaseAtEnd: false, refuseValueReturns: true, cancellationToken);

    private static bool IsFree(InvocationExpressionSyntax invocation, ILocalSymbol local, SemanticModel model, CancellationToken cancellationToken)
        => invocation.Expression is MemberAccessExpressionSyntax { Name.Identifier.ValueText: "Free", Expression: IdentifierNameSyntax receiver }
           && receiver.Identifier.ValueText == local.Name
           && SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(receiver, cancellationToken).Symbol, local);
}
