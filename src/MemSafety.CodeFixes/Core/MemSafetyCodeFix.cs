using System;
using System.Collections.Immutable;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;

namespace MemSafety.CodeFixes.Core;

/// <summary>
/// Base of every MemSafety code fix. It declares the ids the fix serves, offers the batch Fix All
/// (<see cref="BatchFixAll"/>; a fix that must see all its diagnostics at once overrides
/// <see cref="GetFixAllProvider"/>), and runs the registration
/// loop: the document's syntax root is read once, each diagnostic's reported node found, and
/// <see cref="RegisterAsync"/> called with them; the semantic model is read only when a fix asks for it
/// (<see cref="FixRequest.GetSemanticModelAsync"/>), at most once per call. The rewrite itself reads the
/// document it edits with <see cref="FixDocument.ReadAsync"/>.
/// </summary>
public abstract class MemSafetyCodeFix : CodeFixProvider
{
    private protected MemSafetyCodeFix(params string[] fixableDiagnosticIds)
        => FixableDiagnosticIds = ImmutableArray.Create(fixableDiagnosticIds);

    public sealed override ImmutableArray<string> FixableDiagnosticIds { get; }

    public override FixAllProvider? GetFixAllProvider() => BatchFixAll.Instance;

    public sealed override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null)
            return;
        var request = new FixRequest(context, root);
        foreach (var diagnostic in context.Diagnostics)
        {
            var span = diagnostic.Location.SourceSpan;
            if (!root.FullSpan.Contains(span))
                continue;
            await RegisterAsync(request, diagnostic, root.FindNode(span, getInnermostNodeForTie: true)).ConfigureAwait(false);
        }
    }

    /// <summary>Registers the actions for one diagnostic (none where no safe rewrite exists).
    /// <paramref name="node"/> is the innermost node at the diagnostic's location.</summary>
    private protected abstract Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node);
}

/// <summary>One <see cref="CodeFixProvider.RegisterCodeFixesAsync"/> call, as a fix sees it.</summary>
internal sealed class FixRequest
{
    private readonly CodeFixContext _context;
    private Task<SemanticModel>? _model;

    public FixRequest(CodeFixContext context, SyntaxNode root)
    {
        _context = context;
        Root = root;
    }

    public Document Document => _context.Document;

    public SyntaxNode Root { get; }

    public CancellationToken CancellationToken => _context.CancellationToken;

    /// <summary>The document's semantic model, read on the first call.</summary>
    public Task<SemanticModel> GetSemanticModelAsync() => _model ??= ReadModelAsync();

    /// <summary>Offers an action that changes the document, under the equivalence key <paramref name="equivalenceKey"/>,
    /// by default the diagnostic's id (the rule's key).</summary>
    public void Register(string title, Func<CancellationToken, Task<Document>> fix, Diagnostic diagnostic, string? equivalenceKey = null)
        => _context.RegisterCodeFix(CodeAction.Create(title, fix, equivalenceKey ?? diagnostic.Id), diagnostic);

    /// <summary>Offers an action that changes the solution (several documents); the key as above.</summary>
    public void Register(string title, Func<CancellationToken, Task<Solution>> fix, Diagnostic diagnostic, string? equivalenceKey = null)
        => _context.RegisterCodeFix(CodeAction.Create(title, fix, equivalenceKey ?? diagnostic.Id), diagnostic);

    private async Task<SemanticModel> ReadModelAsync()
        => (await Document.GetSemanticModelAsync(CancellationToken).ConfigureAwait(false))!;
}

/// <summary>What a fix action reads of the document it edits: its syntax root and semantic model, read together.</summary>
internal sealed class FixDocument
{
    private FixDocument(Document document, SyntaxNode root, SemanticModel model)
    {
        Document = document;
        Root = root;
        Model = model;
    }

    public Document Document { get; }

    public SyntaxNode Root { get; }

    public SemanticModel Model { get; }

    public static async Task<FixDocument> ReadAsync(Document document, CancellationToken cancellationToken)
    {
        var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        var model = await document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false);
        return new FixDocument(document, root!, model!);
    }

    /// <summary>The innermost node at <paramref name="span"/>, as the diagnostic reported it.</summary>
    public SyntaxNode FindNode(Microsoft.CodeAnalysis.Text.TextSpan span) => Root.FindNode(span, getInnermostNodeForTie: true);

    /// <summary>The line break the document uses (<see cref="TriviaEditing.LineBreak"/>).</summary>
    public async Task<string> LineBreakAsync(CancellationToken cancellationToken)
        => TriviaEditing.LineBreak(await Document.GetTextAsync(cancellationToken).ConfigureAwait(false));

    public Document WithRoot(SyntaxNode newRoot) => Document.WithSyntaxRoot(newRoot);

    public void Deconstruct(out SyntaxNode root, out SemanticModel model)
    {
        root = Root;
        model = Model;
    }
}
