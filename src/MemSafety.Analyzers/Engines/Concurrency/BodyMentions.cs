using System.Collections.Generic;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace MemSafety.Analyzers.Engines.Concurrency;

/// <summary>
/// Whether one member body of a type can give the per-type lockset summary (<see cref="TypeLocks"/>) anything, read from
/// its tokens before a control-flow graph is built (the graph was most of MSA6001's cost). <see cref="BodyLocks"/> records
/// only references to fields of the type and calls of its private methods, and each is written in the body with the
/// member's name (pattern-bound calls aside, see <see cref="PatternNames"/>); a body that names neither records nothing,
/// whatever its locks. One instance per type; thread-safe.
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

    /// <summary>Field (and field-like event) names of the type.</summary>
    private readonly HashSet<string> _fields = new(System.StringComparer.Ordinal);

    /// <summary>Private ordinary method names of the type; null: any body may call one.</summary>
    private readonly HashSet<string>? _helpers = new(System.StringComparer.Ordinal);

    public BodyMentions(INamedTypeSymbol type)
    {
        foreach (var member in type.GetMembers())
        {
            switch (member)
            {
                case IFieldSymbol { IsConst: false } field:
                    _fields.Add(field.Name);
                    break;
                case IEventSymbol @event:
                    // A field-like event is read through its backing field, which has the event's name.
                    _fields.Add(@event.Name);
                    break;
                case IMethodSymbol method when IsHelper(method) && _helpers is not null:
                    if (PatternNames.Contains(method.Name))
                        _helpers = null;
                    else
                        _helpers.Add(method.Name);
                    break;
            }
        }
    }

    /// <summary>A method whose calls <see cref="BodyLocks"/> records (it may run with its callers' locks).</summary>
    public static bool IsHelper(IMethodSymbol method) => method is { MethodKind: MethodKind.Ordinary, DeclaredAccessibility: Accessibility.Private };

    /// <summary>Whether <paramref name="body"/> names a field or a private method of the type.</summary>
    public bool Relevant(SyntaxNode body, CancellationToken cancellationToken)
        => _helpers is null || Mentions(body, _fields, _helpers, cancellationToken);

    /// <summary>Whether <paramref name="body"/> may call a private method of the type.</summary>
    public bool MayCallHelper(SyntaxNode body, CancellationToken cancellationToken)
        => _helpers is null || Mentions(body, null, _helpers, cancellationToken);

    /// <summary>Whether <paramref name="body"/> names one of <paramref name="fields"/>.</summary>
    public static bool MentionsField(SyntaxNode body, HashSet<string> fields, CancellationToken cancellationToken)
        => Mentions(body, fields, null, cancellationToken);

    private static bool Mentions(SyntaxNode body, HashSet<string>? fields, HashSet<string>? methods, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        foreach (var token in body.DescendantTokens())
        {
            switch (token.Kind())
            {
                case SyntaxKind.IdentifierToken:
                    var name = token.ValueText;
                    // 'field' in an accessor (C# 14) reads the property's backing field, which has no name of its own here.
                    if (fields is not null && (fields.Contains(name) || name == "field") || methods is not null && methods.Contains(name))
                        return true;
                    break;
                case SyntaxKind.FieldKeyword when fields is not null:
                    return true;
            }
        }

        return false;
    }
}
