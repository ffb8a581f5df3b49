using System.Collections.Generic;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace MemSafety.Analyzers.Engines.Concurrency;

/// <summary>
/// What one member body of a type can give the per-type lockset summary (<see cref="TypeLocks"/>), read from its tokens
/// before a control-flow graph is built (the graph was most of MSA6001's cost). <see cref="BodyLocks"/> records only
/// references to fields of the type and calls of its private methods, and each is written in the body with the member's
/// name; a body that names neither records nothing, whatever its locks. Whether the body may take a lock: a <c>lock</c>
/// statement or a call with the name of an acquire (<see cref="LockCalls.IsAcquireName"/>), the only ways the lockset
/// analysis sees a lock taken in a body (its entry locks aside). One instance per type; thread-safe.
/// </summary>
internal sealed class BodyMentions
{
    /// <summary>Names of private methods the compiler may call without the name in source: <c>foreach</c>, <c>await</c>,
    /// deconstruction, query expressions, <c>fixed</c>, ranges, collection initializers and interpolated-string handlers
    /// bind such calls by pattern. A type with a private method of one of these names counts every body.</summary>
    private static readonly HashSet<string> PatternNames = new(System.StringComparer.Ordinal)
    {
        "GetEnumerator", "GetAsyncEnumerator", "MoveNext", "MoveNextAsync", "Dispose", "DisposeAsync", "Deconstruct", "GetAwaiter",
        "GetResult", "OnCompleted", "UnsafeOnCompleted", "Select", "SelectMany", "Where", "Join", "GroupJoin", "OrderBy",
        "OrderByDescending", "ThenBy", "ThenByDescending", "GroupBy", "Cast", "GetPinnableReference", "Slice", "Add", "Create",
        "AppendLiteral", "AppendFormatted",
    };

    /// <summary>Field (and field-like event) names and private method names of the type; null: every body counts.</summary>
    private readonly HashSet<string>? _names;

    public BodyMentions(INamedTypeSymbol type)
    {
        var names = new HashSet<string>(System.StringComparer.Ordinal);
        foreach (var member in type.GetMembers())
        {
            switch (member)
            {
                case IFieldSymbol { IsConst: false } field:
                    names.Add(field.Name);
                    break;
                case IEventSymbol @event:
                    // A field-like event is read through its backing field, which has the event's name.
                    names.Add(@event.Name);
                    break;
                case IMethodSymbol { MethodKind: MethodKind.Ordinary, DeclaredAccessibility: Accessibility.Private } method:
                    if (PatternNames.Contains(method.Name))
                        return;
                    names.Add(method.Name);
                    break;
            }
        }

        _names = names;
    }

    /// <summary>Whether <paramref name="body"/> names a field or private method of the type (<c>Relevant</c>), and whether it
    /// may take a lock.</summary>
    public (bool Relevant, bool MayTakeLock) Read(SyntaxNode body, CancellationToken cancellationToken)
    {
        var relevant = _names is null;
        var mayTakeLock = false;
        foreach (var token in body.DescendantTokens())
        {
            switch (token.Kind())
            {
                case SyntaxKind.LockKeyword:
                    mayTakeLock = true;
                    break;
                case SyntaxKind.IdentifierToken:
                    var name = token.ValueText;
                    mayTakeLock |= LockCalls.IsAcquireName(name);
                    // 'field' in an accessor (C# 14) reads the property's backing field, which has no name of its own here.
                    relevant = relevant || _names!.Contains(name) || name == "field";
                    break;
                case SyntaxKind.FieldKeyword:
                    relevant = true;
                    break;
                default:
                    continue;
            }

            if (relevant && mayTakeLock)
                break;
        }

        cancellationToken.ThrowIfCancellationRequested();
        return (relevant, mayTakeLock);
    }
}
