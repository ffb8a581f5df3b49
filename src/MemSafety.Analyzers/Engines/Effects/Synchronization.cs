using System.Collections.Concurrent;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace MemSafety.Analyzers.Engines.Effects;

/// <summary>
/// Whether a type of the compilation synchronises: a type that locks is a type used from several threads, so a
/// copy of its state may be the snapshot that lets code run outside the lock. One instance per compilation;
/// answers are cached per type (safe under concurrent requests; the cancellation token is per request).
/// <para>Read from the type's syntax, every part of it: a <c>lock</c> statement, a mention of
/// <c>Interlocked</c>, <c>Monitor</c>, <c>Volatile</c>, <c>SemaphoreSlim</c>, <c>ReaderWriterLockSlim</c>,
/// <c>SpinLock</c> or <c>Mutex</c> (a field's type, a call, a <c>new</c>), or a <c>volatile</c> field. This is
/// deliberately not <see cref="Bodies.BodyFacts.LockStatements"/>: a field <c>SemaphoreSlim _gate;</c> or a
/// <c>volatile</c> field has no operation at all, and binding every member body of the type to look for
/// <c>lock</c> would cost far more than this scan of its syntax.</para>
/// </summary>
public sealed class Synchronization
{
    private readonly ConcurrentDictionary<INamedTypeSymbol, bool> _cache = new(SymbolEqualityComparer.Default);

    /// <summary>Whether the type (declared in source) synchronises; false for metadata types.</summary>
    public bool UsesLocking(INamedTypeSymbol type, CancellationToken cancellationToken)
    {
        if (type.DeclaringSyntaxReferences.IsEmpty)
            return false;
        if (_cache.TryGetValue(type, out var known))
            return known;

        var result = false;
        foreach (var reference in type.DeclaringSyntaxReferences)
        {
            foreach (var node in reference.GetSyntax(cancellationToken).DescendantNodes())
            {
                if (node is LockStatementSyntax
                    || (node is IdentifierNameSyntax identifier && identifier.Identifier.ValueText is "Interlocked" or "Monitor" or "Volatile" or "SemaphoreSlim" or "ReaderWriterLockSlim" or "SpinLock" or "Mutex")
                    || (node is FieldDeclarationSyntax field && HasVolatileModifier(field)))
                {
                    result = true;
                    break;
                }
            }

            if (result)
                break;
        }

        _cache.TryAdd(type, result);
        return result;
    }

    private static bool HasVolatileModifier(FieldDeclarationSyntax field)
    {
        foreach (var modifier in field.Modifiers)
        {
            if (modifier.ValueText == "volatile")
                return true;
        }

        return false;
    }
}
