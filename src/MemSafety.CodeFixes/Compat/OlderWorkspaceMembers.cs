#if ROSLYN_3_7
using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Reflection;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

// Workspace and syntax members that Roslyn 3.7 does not have, as C# 14 extension members under the same names, so
// that fixes call them unchanged (see src/MemSafety.Analyzers/Compat for the analyzers' shims).
namespace Microsoft.CodeAnalysis.CodeFixes
{
    internal static class OlderWorkspaceMembers
    {
        private static readonly PropertyInfo? s_globalKeyword = typeof(UsingDirectiveSyntax).GetProperty("GlobalKeyword");

        extension(FixAllProvider)
        {
            /// <summary>Roslyn 4.0's document-based Fix All provider: the fix runs once per document with all of
            /// that document's diagnostics in the Fix All scope.</summary>
            public static FixAllProvider Create(Func<FixAllContext, Document, ImmutableArray<Diagnostic>, Task<Document?>> fixAllAsync)
                => new DocumentBasedFixAll(fixAllAsync);
        }

        extension(Solution solution)
        {
            /// <summary>What <c>SyntaxEditor</c>'s constructor takes in Roslyn 3.7: the workspace.</summary>
            public Workspace Services => solution.Workspace;
        }

        extension(UsingDirectiveSyntax directive)
        {
            /// <summary>The <c>global</c> keyword of a C# 10 global using, where the loaded Roslyn has it.</summary>
            public SyntaxToken GlobalKeyword => s_globalKeyword?.GetValue(directive) is SyntaxToken token ? token : default;
        }
    }

    internal sealed class DocumentBasedFixAll : FixAllProvider
    {
        private readonly Func<FixAllContext, Document, ImmutableArray<Diagnostic>, Task<Document?>> _fixAllAsync;

        public DocumentBasedFixAll(Func<FixAllContext, Document, ImmutableArray<Diagnostic>, Task<Document?>> fixAllAsync)
            => _fixAllAsync = fixAllAsync;

        public override Task<CodeAction?> GetFixAsync(FixAllContext fixAllContext)
        {
            var documents = new List<Document>();
            switch (fixAllContext.Scope)
            {
                case FixAllScope.Document when fixAllContext.Document is { } document:
                    documents.Add(document);
                    break;
                case FixAllScope.Project:
                    documents.AddRange(fixAllContext.Project.Documents);
                    break;
                case FixAllScope.Solution:
                    foreach (var project in fixAllContext.Solution.Projects)
                        documents.AddRange(project.Documents);
                    break;
            }

            var action = CodeAction.Create(
                "Fix all",
                async cancellationToken =>
                {
                    var solution = fixAllContext.Solution;
                    foreach (var document in documents)
                    {
                        var diagnostics = await fixAllContext.GetDocumentDiagnosticsAsync(document).ConfigureAwait(false);
                        if (diagnostics.IsEmpty)
                            continue;
                        var fixedDocument = await _fixAllAsync(fixAllContext, document, diagnostics).ConfigureAwait(false);
                        if (fixedDocument is not null && await fixedDocument.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false) is { } root)
                            solution = solution.WithDocumentSyntaxRoot(document.Id, root);
                    }

                    return solution;
                },
                fixAllContext.CodeActionEquivalenceKey);
            return Task.FromResult<CodeAction?>(action);
        }
    }
}
#endif
