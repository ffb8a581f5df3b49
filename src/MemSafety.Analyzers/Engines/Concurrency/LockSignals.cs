using System.Collections.Concurrent;
using System.Collections.Generic;
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

    /// <summary>Whether the type's own code (nested types aside) takes a lock of some kind.</summary>
    public static bool TakesLocks(INamedTypeSymbol type, CancellationToken cancellationToken)
    {
        foreach (var reference in type.DeclaringSyntaxReferences)
        {
            var root = reference.GetSyntax(cancellationToken);
            foreach (var node in root.DescendantNodes(n => n == root || n is not BaseTypeDeclarationSyntax))
            {
                if (node is LockStatementSyntax
                    || node is IdentifierNameSyntax { Identifier.ValueText: "Monitor" or "Lock" or "EnterScope" or "ReaderWriterLockSlim" or "SemaphoreSlim" or "SpinLock" or "Mutex" or "Synchronized" })
                {
                    return true;
                }
            }
        }

        return false;
    }

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
