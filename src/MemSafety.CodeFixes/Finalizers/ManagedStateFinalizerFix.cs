using System.Composition;
using System.Threading.Tasks;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Rules.Finalizers;
using MemSafety.CodeFixes.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace MemSafety.CodeFixes.Finalizers;

/// <summary>
/// MSA4005: deletes the finalizer, and the <c>GC.SuppressFinalize(this)</c> calls of the type when the analyzer
/// found nothing left for them to suppress (a sealed type, or one no other assembly can derive from and no derived
/// type of the compilation gives a finalizer). In a type others can derive from they stay: a derived class may add a
/// finalizer that relies on them. The <c>Dispose(bool)</c> the finalizer called is left as it is.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(ManagedStateFinalizerFix)), Shared]
public sealed class ManagedStateFinalizerFix : MemSafetyCodeFix
{
    public ManagedStateFinalizerFix()
        : base(RuleIdentifiers.ManagedStateFinalizer)
    {
    }

    private protected override Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
    {
        if (node.FirstAncestorOrSelf<DestructorDeclarationSyntax>() is not { } declaration)
            return Task.CompletedTask;
        var document = request.Document;
        var removeSuppressFinalize = diagnostic.Properties.ContainsKey(ManagedStateFinalizerAnalyzer.RemoveSuppressFinalizeProperty);
        request.Register("Remove the finalizer", ct => FinalizerRemoval.RemoveAsync(document, declaration, removeSuppressFinalize, ct), diagnostic);
        return Task.CompletedTask;
    }
}
