using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;

namespace MemSafety.CodeFixes.Core;

/// <summary>
/// The batch Fix All of every MemSafety fix that does not need its own: Roslyn's
/// <see cref="WellKnownFixAllProviders.BatchFixer"/>, which applies the actions whose equivalence key is the one the
/// user chose, with one addition for callers that choose none. <c>dotnet format analyzers</c> asks the fixer for the
/// actions of one diagnostic, the first its analysis happened to list, and passes that action's key; when that
/// diagnostic is one the rule reports without a fix (the rewrite could not be shown to keep behaviour there), the key
/// is null, the batch fixer matches no action, and dotnet format fixes none of the rule's findings ("didn't return a
/// Fix All action"), or some of them on another run, since the order of the list varies. Here a missing key is taken
/// from the first diagnostic in the scope, in file and position order, that the fixer offers an action for.
/// </summary>
internal sealed class BatchFixAll : FixAllProvider
{
    public static readonly BatchFixAll Instance = new();

    private static readonly FixAllProvider Batch = WellKnownFixAllProviders.BatchFixer;

    private BatchFixAll()
    {
    }

    public override IEnumerable<FixAllScope> GetSupportedFixAllScopes() => Batch.GetSupportedFixAllScopes();

    public override async Task<CodeAction?> GetFixAsync(FixAllContext fixAllContext)
    {
        if (fixAllContext.CodeActionEquivalenceKey is null
            && await FirstOfferedKeyAsync(fixAllContext).ConfigureAwait(false) is { } key)
        {
            fixAllContext = WithKey(fixAllContext, key);
        }

        return await Batch.GetFixAsync(fixAllContext).ConfigureAwait(false);
    }

    private static async Task<string?> FirstOfferedKeyAsync(FixAllContext context)
    {
        var diagnostics = new List<Diagnostic>();
        switch (context.Scope)
        {
            case FixAllScope.Document when context.Document is { } document:
                diagnostics.AddRange(await context.GetDocumentDiagnosticsAsync(document).ConfigureAwait(false));
                break;
            case FixAllScope.Solution:
                foreach (var project in context.Solution.Projects)
                    diagnostics.AddRange(await context.GetAllDiagnosticsAsync(project).ConfigureAwait(false));
                break;
            default:
                diagnostics.AddRange(await context.GetAllDiagnosticsAsync(context.Project).ConfigureAwait(false));
                break;
        }

        foreach (var diagnostic in diagnostics
                     .Where(d => d.Location.IsInSource)
                     .OrderBy(d => d.Location.SourceTree!.FilePath, System.StringComparer.Ordinal)
                     .ThenBy(d => d.Location.SourceSpan.Start))
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            if (context.Solution.GetDocument(diagnostic.Location.SourceTree) is not { } document)
                continue;
            string? key = null;
            var offered = false;
            var fixContext = new CodeFixContext(
                document,
                diagnostic,
                (action, _) =>
                {
                    if (!offered)
                    {
                        offered = true;
                        key = action.EquivalenceKey;
                    }
                },
                context.CancellationToken);
            await context.CodeFixProvider.RegisterCodeFixesAsync(fixContext).ConfigureAwait(false);
            if (offered)
                return key;
        }

        return null;
    }

    private static FixAllContext WithKey(FixAllContext context, string key)
    {
        var provider = new ForwardingDiagnosticProvider(context);
        return context.Document is { } document
            ? new FixAllContext(document, context.CodeFixProvider, context.Scope, key, context.DiagnosticIds, provider, context.CancellationToken)
            : new FixAllContext(context.Project, context.CodeFixProvider, context.Scope, key, context.DiagnosticIds, provider, context.CancellationToken);
    }

    /// <summary>The diagnostics of the caller's context, unchanged.</summary>
    private sealed class ForwardingDiagnosticProvider : FixAllContext.DiagnosticProvider
    {
        private readonly FixAllContext _context;

        public ForwardingDiagnosticProvider(FixAllContext context) => _context = context;

        public override Task<IEnumerable<Diagnostic>> GetDocumentDiagnosticsAsync(Document document, CancellationToken cancellationToken)
            => Widen(_context.GetDocumentDiagnosticsAsync(document));

        public override Task<IEnumerable<Diagnostic>> GetProjectDiagnosticsAsync(Project project, CancellationToken cancellationToken)
            => Widen(_context.GetProjectDiagnosticsAsync(project));

        public override Task<IEnumerable<Diagnostic>> GetAllDiagnosticsAsync(Project project, CancellationToken cancellationToken)
            => Widen(_context.GetAllDiagnosticsAsync(project));

        private static async Task<IEnumerable<Diagnostic>> Widen(Task<System.Collections.Immutable.ImmutableArray<Diagnostic>> diagnostics)
            => await diagnostics.ConfigureAwait(false);
    }
}
