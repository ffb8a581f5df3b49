using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace MemSafety.Analyzers.Engines.Concurrency;

/// <summary>
/// The gate of the lockset rules (RacerD's idea: analyse only code that shows it is concurrent), read from the
/// type's syntax (every part of it) before anything is bound: does it lock at all (a <c>lock</c> statement, a
/// mention of <c>Monitor</c>, <c>Lock</c>/<c>EnterScope</c>, <c>ReaderWriterLockSlim</c>, <c>SemaphoreSlim</c>,
/// <c>SpinLock</c>, <c>Mutex</c>, <c>MethodImplOptions.Synchronized</c>). Also collects what a summary needs
/// from the syntax: which binary semaphores the type creates and which names its nested types use.
/// </summary>
internal sealed class LockSignals
{
    private readonly ConcurrentDictionary<IFieldSymbol, bool> _binary = new(SymbolEqualityComparer.Default);

    private static readonly ConditionalWeakTable<INamedTypeSymbol, object> s_typeAnswers = new();
    private static readonly ConditionalWeakTable<SyntaxTree, object> s_treeAnswers = new();
    private static readonly object Yes = true;
    private static readonly object No = false;

    /// <summary>The identifiers whose mention makes a type take locks (see <see cref="TakesLocks"/>), and the keyword.</summary>
    private static readonly string[] Words = { "lock", "Monitor", "Lock", "EnterScope", "ReaderWriterLockSlim", "SemaphoreSlim", "SpinLock", "Mutex", "Synchronized" };

    /// <summary>The names <see cref="LockCalls.IsAcquireName"/> accepts.</summary>
    private static readonly string[] AcquireWords = { "Enter", "TryEnter", "EnterScope", "EnterReadLock", "EnterWriteLock", "EnterUpgradeableReadLock", "TryEnterReadLock",
        "TryEnterWriteLock", "TryEnterUpgradeableReadLock", "Wait", "WaitAsync", "WaitOne" };

    /// <summary>Whether the type's own code (nested types aside) takes a lock of some kind. Asked by several rules per
    /// type (MSA6001 for every class): answered once per type, and a file whose text holds none of the words is not
    /// walked at all (most files: the syntax walk was most of MSA6001's cost on code without locks).</summary>
    public static bool TakesLocks(INamedTypeSymbol type, CancellationToken cancellationToken)
    {
        if (s_typeAnswers.TryGetValue(type, out var known))
            return (bool)known;
        // A type whose files spell none of the words (most types) is answered from the files' words, which are kept
        // per file, without an entry of its own: an entry of the weak table costs a handle and the table's lock, more
        // than the answer, and with thousands of types the adds queued behind each other (a 200 ms document in a
        // latency run of System.Collections.Immutable).
        var takesLocks = ComputeTakesLocks(type, cancellationToken, out var walked);
        return walked ? (bool)Remember(s_typeAnswers, type, takesLocks ? Yes : No) : takesLocks;
    }

    /// <summary>Stores a computed answer unless another thread stored one first, and returns the stored one. Apart from
    /// the callers so that the closure is allocated only when an answer is computed, not on every cache hit.</summary>
    private static object Remember<TKey>(ConditionalWeakTable<TKey, object> table, TKey key, object answer)
        where TKey : class
        => table.GetValue(key, _ => answer);

    /// <param name="walked">Whether a declaration's syntax was read (false: the files' words alone answered).</param>
    private static bool ComputeTakesLocks(INamedTypeSymbol type, CancellationToken cancellationToken, out bool walked)
    {
        walked = false;
        foreach (var reference in type.DeclaringSyntaxReferences)
        {
            var words = WordsOf(reference.SyntaxTree, cancellationToken);
            if (words.Signals.Length == 0 && !words.Hidden)
                continue;
            walked = true;
            var root = reference.GetSyntax(cancellationToken);
            if (words.Hidden ? MentionsLocksWalk(root) : MentionsLocksAt(root, words.Signals))
                return true;
        }

        return false;
    }

    /// <summary>Whether <paramref name="body"/> may take a lock the lockset analysis sees: a <c>lock</c> statement, or a
    /// call named as an acquire (<see cref="LockCalls.IsAcquireName"/>). From the positions of those words in the file's
    /// text, so a body without them is not read at all; a superset (a word in a comment or string counts).</summary>
    public static bool MayTakeLock(SyntaxNode body, CancellationToken cancellationToken)
    {
        var words = WordsOf(body.SyntaxTree, cancellationToken);
        if (words.Hidden)
        {
            foreach (var token in body.DescendantTokens())
            {
                if (token.IsKind(SyntaxKind.LockKeyword) || token.IsKind(SyntaxKind.IdentifierToken) && LockCalls.IsAcquireName(token.ValueText))
                    return true;
            }

            return false;
        }

        return AnyWithin(words.Acquires, body.Span) || AnyWithin(words.LockKeywords, body.Span);
    }

    private static bool AnyWithin(int[] sorted, Microsoft.CodeAnalysis.Text.TextSpan span)
    {
        var index = System.Array.BinarySearch(sorted, span.Start);
        if (index < 0)
            index = ~index;
        return index < sorted.Length && sorted[index] < span.End;
    }

    private static bool IsLockSignal(SyntaxNode node)
        => node is LockStatementSyntax
           || node is IdentifierNameSyntax { Identifier.ValueText: "Monitor" or "Lock" or "EnterScope" or "ReaderWriterLockSlim" or "SemaphoreSlim" or "SpinLock" or "Mutex" or "Synchronized" };

    /// <summary>Every node of the type's own code (nested types left out).</summary>
    private static bool MentionsLocksWalk(SyntaxNode root)
    {
        foreach (var node in root.DescendantNodes(n => n == root || n is not BaseTypeDeclarationSyntax))
        {
            if (IsLockSignal(node))
                return true;
        }

        return false;
    }

    /// <summary>The same question asked only at the places where the file's text holds one of the words: a token that
    /// starts or spells the word there (a keyword or identifier, not a comment or a string), under the type's
    /// declaration and not in a type nested in it. A lookup per word instead of a walk over the whole type (a lock-taking
    /// type such as Uri is thousands of lines).</summary>
    private static bool MentionsLocksAt(SyntaxNode root, int[] positions)
    {
        var span = root.Span;
        foreach (var position in positions)
        {
            if (position < span.Start)
                continue;
            if (position >= span.End)
                break;
            var token = root.FindToken(position);
            if (!token.Span.Contains(position) || token.Parent is not { } parent)
                continue;
            var signal = token.IsKind(SyntaxKind.LockKeyword)
                ? parent is LockStatementSyntax
                : token.IsKind(SyntaxKind.IdentifierToken) && parent is IdentifierNameSyntax && IsLockSignal(parent);
            if (signal && OwnCode(parent, root))
                return true;
        }

        return false;
    }

    /// <summary>Whether the node belongs to <paramref name="root"/>'s own code, not to a type nested in it.</summary>
    private static bool OwnCode(SyntaxNode node, SyntaxNode root)
    {
        for (var current = node.Parent; current is not null && current != root; current = current.Parent)
        {
            if (current is BaseTypeDeclarationSyntax)
                return false;
        }

        return true;
    }

    /// <summary>Where the file's text holds the words as whole words, each list in order: a superset of the places whose
    /// syntax <see cref="IsLockSignal"/> (or an acquire call) can match (comments, strings and inactive code only add places).
    /// <c>Hidden</c>: the file has a <c>\u</c> escape or a Unicode formatting character (which an identifier may hold,
    /// ignored), so a word can hide from the text: the syntax is read instead.</summary>
    private static TreeWords WordsOf(SyntaxTree tree, CancellationToken cancellationToken)
    {
        if (s_treeAnswers.TryGetValue(tree, out var known))
            return (TreeWords)known;
        var text = tree.GetText(cancellationToken).ToString();
        var answer = text.IndexOf("\\u", System.StringComparison.OrdinalIgnoreCase) >= 0 || HasFormattingCharacter(text)
            ? TreeWords.HiddenWords
            : new TreeWords(Find(text, Words, 0, 1), Find(text, Words, 1, Words.Length), Find(text, AcquireWords, 0, AcquireWords.Length), hidden: false);
        return (TreeWords)Remember(s_treeAnswers, tree, answer);
    }

    private static int[] Find(string text, string[] words, int from, int to)
    {
        List<int>? found = null;
        for (var w = from; w < to; w++)
        {
            var word = words[w];
            for (var at = text.IndexOf(word, System.StringComparison.Ordinal); at >= 0; at = text.IndexOf(word, at + 1, System.StringComparison.Ordinal))
            {
                if ((at == 0 || !IsIdentifierPart(text[at - 1])) && (at + word.Length == text.Length || !IsIdentifierPart(text[at + word.Length])))
                    (found ??= new List<int>()).Add(at);
            }
        }

        if (found is null)
            return System.Array.Empty<int>();
        found.Sort();
        return found.ToArray();
    }

    private sealed class TreeWords
    {
        public static readonly TreeWords HiddenWords = new(System.Array.Empty<int>(), System.Array.Empty<int>(), System.Array.Empty<int>(), hidden: true);

        public TreeWords(int[] lockKeywords, int[] identifiers, int[] acquires, bool hidden)
        {
            LockKeywords = lockKeywords;
            Acquires = acquires;
            Hidden = hidden;
            var signals = new int[lockKeywords.Length + identifiers.Length];
            lockKeywords.CopyTo(signals, 0);
            identifiers.CopyTo(signals, lockKeywords.Length);
            System.Array.Sort(signals);
            Signals = signals;
        }

        /// <summary>Positions of the word <c>lock</c>.</summary>
        public int[] LockKeywords { get; }

        /// <summary>Positions of every word of <see cref="Words"/>, <c>lock</c> included.</summary>
        public int[] Signals { get; }

        /// <summary>Positions of the acquire names of <see cref="AcquireWords"/>.</summary>
        public int[] Acquires { get; }

        public bool Hidden { get; }
    }

    private static bool HasFormattingCharacter(string text)
    {
        foreach (var c in text)
        {
            if (c > 127 && char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format)
                return true;
        }

        return false;
    }

    /// <summary>Certainly part of an identifier (letters, digits, '_'): a word next to one is not that word.</summary>
    private static bool IsIdentifierPart(char c) => char.IsLetterOrDigit(c) || c == '_';

    /// <summary>The simple names nested types of <paramref name="type"/> mention (they may call its private methods).</summary>
    public static HashSet<string> NamesUsedByNestedTypes(INamedTypeSymbol type, CancellationToken cancellationToken)
    {
        var names = new HashSet<string>(System.StringComparer.Ordinal);
        foreach (var nested in type.GetTypeMembers())
        {
            foreach (var reference in nested.DeclaringSyntaxReferences)
            {
                foreach (var node in reference.GetSyntax(cancellationToken).DescendantNodes())
                {
                    if (node is SimpleNameSyntax name)
                        names.Add(name.Identifier.ValueText);
                }
            }
        }

        return names;
    }

    /// <summary>Whether the <c>SemaphoreSlim</c> field only ever holds a semaphore created with an initial count of 1
    /// (<c>new SemaphoreSlim(1)</c>, <c>new SemaphoreSlim(1, 1)</c>): one holder at a time, a lock.</summary>
    public bool IsBinarySemaphore(IFieldSymbol field) => _binary.GetOrAdd(field, static f => ComputeBinary(f));

    private static bool ComputeBinary(IFieldSymbol field)
    {
        var creations = 0;
        foreach (var reference in field.DeclaringSyntaxReferences)
        {
            if (reference.GetSyntax() is VariableDeclaratorSyntax { Initializer.Value: var value })
            {
                if (!IsBinaryCreation(value))
                    return false;
                creations++;
            }
        }

        // Assignments elsewhere in the type.
        foreach (var part in field.ContainingType.DeclaringSyntaxReferences)
        {
            foreach (var node in part.GetSyntax().DescendantNodes())
            {
                if (node is AssignmentExpressionSyntax { Left: var left, Right: var right } assignment && assignment.IsKind(SyntaxKind.SimpleAssignmentExpression)
                    && NameOf(left) == field.Name)
                {
                    if (!IsBinaryCreation(right))
                        return false;
                    creations++;
                }
            }
        }

        return creations > 0;
    }

    private static string? NameOf(ExpressionSyntax expression) => expression switch
    {
        IdentifierNameSyntax identifier => identifier.Identifier.ValueText,
        MemberAccessExpressionSyntax { Expression: ThisExpressionSyntax, Name: var name } => name.Identifier.ValueText,
        _ => null,
    };

    private static bool IsBinaryCreation(ExpressionSyntax expression)
    {
        var arguments = expression switch
        {
            ObjectCreationExpressionSyntax creation => creation.ArgumentList,
            ImplicitObjectCreationExpressionSyntax creation => creation.ArgumentList,
            _ => null,
        };
        if (arguments is null || arguments.Arguments.Count is 0 or > 2)
            return false;
        foreach (var argument in arguments.Arguments)
        {
            if (argument.Expression is not LiteralExpressionSyntax { Token.Value: 1 })
                return false;
        }

        return true;
    }
}
