using System.Composition;
using System.Threading.Tasks;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Rules.SharedState;
using MemSafety.CodeFixes.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;

namespace MemSafety.CodeFixes.SharedState;

/// <summary>
/// MSA6100 and MSA6101: takes the declared lock around the access or the call, with MSA6001's rewrite
/// (<see cref="InconsistentlyGuardedFieldFix"/>: the statement becomes the body of <c>lock (guard) { … }</c>, an
/// expression-bodied method or accessor a block body that does the same). The analyzer offers it only where
/// <c>lock</c> takes the declared lock (a guard field typed <c>object</c> or <c>System.Threading.Lock</c>, or
/// <c>this</c>) and the statement may move into a block: no <c>await</c> (C# forbids it in a lock), no <c>yield</c>,
/// no local declaration whose variable the code after it uses.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(LockAnnotationFix)), Shared]
public sealed class LockAnnotationFix : MemSafetyCodeFix
{
    public LockAnnotationFix()
        : base(RuleIdentifiers.GuardedFieldWithoutLock, RuleIdentifiers.CallWithoutRequiredLock)
    {
    }

    public override FixAllProvider GetFixAllProvider() => InconsistentlyGuardedFieldFix.WrapAll;

    private protected override Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
    {
        if (InconsistentlyGuardedFieldFix.Target(request.Root, diagnostic) is not { } target)
            return Task.CompletedTask;
        var document = request.Document;
        var lockText = diagnostic.Properties[InconsistentlyGuardedFieldAnalyzer.LockProperty]!;
        var owner = InconsistentlyGuardedFieldFix.Owner(diagnostic);
        var what = diagnostic.Id == RuleIdentifiers.CallWithoutRequiredLock ? "call" : "access";
        request.Register($"Take lock '{lockText}' around the {what}",
            ct => InconsistentlyGuardedFieldFix.WrapAsync(document, new[] { (target.Span, lockText, owner) }, ct), diagnostic);
        return Task.CompletedTask;
    }
}
