using System;
using System.Collections.Immutable;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace MemSafety.Analyzers.Core;

/// <summary>
/// Registers a rule's per-operation action only where its text can matter. An operation action on a common kind
/// (every invocation, every property reference) costs the driver a call per such operation of every body before the
/// rule's first test runs; measured with the corpus tool's <c>--floor</c>, that dispatch was most of what several rules
/// cost. A rule whose callback returns at once unless the called member has one of a few names registers instead, per
/// body, only when the body's text spells one of them (<see cref="WordPositions"/>: each word's positions are found
/// once per file, a body asks by binary search). An explicit call or member access spells the member's name in the
/// body, whatever <c>using static</c>, alias or derived receiver it goes through; a file with a <c>\u</c> escape counts
/// as spelling every word. Words are matched as substrings, so one word may stand for several names
/// (<c>Enter</c> for <c>TryEnterReadLock</c>). Not for names the compiler calls without spelling them (a collection
/// initializer's <c>Add</c>, an interpolated-string handler's <c>AppendFormatted</c>, a delegate's <c>Invoke</c>).
/// </summary>
internal static class MentionGate
{
    /// <summary>An operation-block start action that registers <paramref name="action"/> for <paramref name="kinds"/> in
    /// the bodies that spell one of <paramref name="words"/> (two characters or more each).</summary>
    public static Action<OperationBlockStartAnalysisContext> InBodiesSpelling(
        Action<OperationAnalysisContext> action, ImmutableArray<string> words, params OperationKind[] kinds)
    {
        var operationKinds = ImmutableArray.Create(kinds);
        return block =>
        {
            if (Spells(block.OperationBlocks, words, block.CancellationToken))
                block.RegisterOperationAction(action, operationKinds);
        };
    }

    /// <summary>Whether the text of one of the blocks spells one of the words.</summary>
    public static bool Spells(ImmutableArray<IOperation> blocks, ImmutableArray<string> words, CancellationToken cancellationToken)
    {
        foreach (var block in blocks)
        {
            var syntax = block.Syntax;
            foreach (var word in words)
            {
                if (WordPositions.Mentions(syntax.SyntaxTree, syntax.Span, word, cancellationToken))
                    return true;
            }
        }

        return false;
    }

    /// <summary>Whether the text of one of the symbol's declarations (every part of a partial type, nested types
    /// included) spells one of the words.</summary>
    public static bool Spells(ISymbol symbol, ImmutableArray<string> words, CancellationToken cancellationToken)
    {
        foreach (var reference in symbol.DeclaringSyntaxReferences)
        {
            foreach (var word in words)
            {
                if (WordPositions.Mentions(reference.SyntaxTree, reference.Span, word, cancellationToken))
                    return true;
            }
        }

        return false;
    }
}
