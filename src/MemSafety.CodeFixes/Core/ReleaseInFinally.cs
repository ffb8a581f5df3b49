using System.Collections.Generic;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Formatting;

namespace MemSafety.CodeFixes.Core;

/// <summary>
/// The rewrite shared by fixes that make a release run on every path (MSA5007's <c>GCHandle.Free</c>, MSA6005's lock
/// release): an acquiring statement and its release are statements of one block, and the statements between them
/// become the protected part of <c>try { … } finally { release; }</c> (or of another statement the fix builds from
/// them, such as <c>lock</c>).
/// </summary>
internal static class ReleaseInFinally
{
    /// <summary>Whether a local or local function declared between the acquire and the release (at
    /// <paramref name="acquireIndex"/> and <paramref name="releaseIndex"/> of <paramref name="block"/>) is used after the
    /// release: moving the statements between into a block would take it out of scope there. <paramref name="declared"/>
    /// holds what the caller found declared between them.</summary>
    public static bool DeclaredBetweenUsedAfter(BlockSyntax block, int releaseIndex, HashSet<ISymbol> declared, SemanticModel model, CancellationToken cancellationToken)
    {
        if (declared.Count == 0)
            return false;
        var statements = block.Statements;
        for (var i = releaseIndex + 1; i < statements.Count; i++)
        {
            foreach (var identifier in statements[i].DescendantNodes())
            {
                if (identifier is IdentifierNameSyntax name && model.GetSymbolInfo(name, cancellationToken).Symbol is { } used && declared.Contains(used))
                    return true;
            }
        }

        return false;
    }

    /// <summary>The statements strictly between the acquire and the release.</summary>
    public static List<StatementSyntax> Between(BlockSyntax block, int acquireIndex, int releaseIndex)
    {
        var statements = block.Statements;
        var inner = new List<StatementSyntax>();
        for (var i = acquireIndex + 1; i < releaseIndex; i++)
            inner.Add(statements[i]);
        return inner;
    }

    /// <summary><c>try { <paramref name="inner"/> } finally { <paramref name="release"/> }</c>, the release without its
    /// leading trivia (its comments stay where the formatter puts the finally block).</summary>
    public static TryStatementSyntax TryFinally(List<StatementSyntax> inner, StatementSyntax release)
        => SyntaxFactory.TryStatement(SyntaxFactory.Block(inner), default, SyntaxFactory.FinallyClause(SyntaxFactory.Block(release.WithoutLeadingTrivia())));

    /// <summary>The block with its statements from the acquire to the release replaced by <paramref name="replacement"/>,
    /// the last of which is marked for the formatter.</summary>
    public static BlockSyntax Replace(BlockSyntax block, int acquireIndex, int releaseIndex, List<StatementSyntax> replacement)
    {
        replacement[replacement.Count - 1] = replacement[replacement.Count - 1].WithAdditionalAnnotations(Formatter.Annotation);
        var statements = block.Statements;
        var newStatements = new List<StatementSyntax>();
        for (var i = 0; i < statements.Count; i++)
        {
            if (i == acquireIndex)
                newStatements.AddRange(replacement);
            else if (i < acquireIndex || i > releaseIndex)
                newStatements.Add(statements[i]);
        }

        return block.WithStatements(SyntaxFactory.List(newStatements));
    }
}
