using System.Collections.Generic;
using System.Composition;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Bodies;
using MemSafety.Analyzers.Engines.Closures;
using MemSafety.Analyzers.Rules.Closures;
using MemSafety.CodeFixes.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Formatting;
using Microsoft.CodeAnalysis.Operations;
using Microsoft.CodeAnalysis.Text;
using static Microsoft.CodeAnalysis.CSharp.SyntaxFactory;

namespace MemSafety.CodeFixes.Closures;

/// <summary>
/// MSA3003: copies each captured variable into a new local declared at the start of the <c>if</c>/<c>else</c> branch
/// and makes the branch's lambdas capture the copies. The copies belong to the branch's scope, so the compiler
/// allocates their display class when the branch runs; the original variables are no longer captured. Offered only
/// where <see cref="UnusedPathDisplayClass.CanCopyIntoBranch"/> holds (nothing writes the variables from the branch
/// on, so every read sees the same value).
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(DisplayClassOnUnusedPathsFix)), Shared]
public sealed class DisplayClassOnUnusedPathsFix : MemSafetyCodeFix
{
    public DisplayClassOnUnusedPathsFix()
        : base(RuleIdentifiers.DisplayClassOnUnusedPaths)
    {
    }

    private protected override Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
    {
        if (!diagnostic.Properties.ContainsKey(DisplayClassOnUnusedPathsAnalyzer.FixableProperty)
            || !CaptureCopies.TryParseSpan(diagnostic.Properties, DisplayClassOnUnusedPathsAnalyzer.RegionProperty, out var region))
            return Task.CompletedTask;
        var document = request.Document;
        var location = diagnostic.Location.SourceSpan;
        request.Register("Capture copies made inside the branch", ct => FixAsync(document, location, region, ct), diagnostic);
        return Task.CompletedTask;
    }

    private static async Task<Document> FixAsync(Document document, TextSpan location, TextSpan region, CancellationToken cancellationToken)
    {
        var (root, model) = await FixDocument.ReadAsync(document, cancellationToken).ConfigureAwait(false);
        if (root.FindNode(region, getInnermostNodeForTie: true) is not StatementSyntax branch || branch.Span != region
            || model.GetOperation(branch, cancellationToken) is not { } branchOperation)
            return document;

        // The analyzer's decision again, on this document: the display class reported at this location, for this branch.
        var body = BodyFacts.Of(branchOperation);
        UnusedPathDisplayClass? plan = null;
        foreach (var displayClass in ClosureFacts.Of(branchOperation).DisplayClasses)
        {
            if (displayClass.Variables.Count == 0 || displayClass.Variables[0].Locations.Length == 0
                || displayClass.Variables[0].Locations[0].SourceSpan != location)
                continue;
            plan = UnusedPathDisplayClass.For(displayClass, body);
            break;
        }

        if (plan is null || !plan.CanCopyIntoBranch || plan.Region.Syntax != branch)
            return document;

        var rewritten = CaptureCopies.Rewrite(branch, model, body, plan.DisplayClass.Variables, plan.DisplayClass.Functions, out var copies);
        var block = CaptureCopies.Block(copies, rewritten);
        return document.WithSyntaxRoot(root.ReplaceNode(branch, block));
    }
}
