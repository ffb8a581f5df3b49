using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using MemSafety.Analyzers.Core;
using Microsoft.CodeAnalysis;

namespace MemSafety.Analyzers.Engines.Disposal;

/// <summary>
/// Disposable types whose instances hold nothing that needs releasing, so that leaving one undisposed costs nothing
/// (<c>memsafety.disposal.ignored_types</c>). The default list: <c>MemoryStream</c>, <c>StringReader</c> and
/// <c>StringWriter</c> (their Dispose only marks them closed: the buffer is managed memory), <c>Task</c> and
/// <c>Task&lt;T&gt;</c> (a task allocates a wait handle only when one is asked of it; Microsoft's guidance is not to
/// dispose tasks). <c>ValueTask</c> is not disposable. <c>CancellationTokenSource</c> is not on the list: a linked or
/// timed source does hold something (a registration on each parent token, which keeps it reachable as long as the
/// parent lives; a timer); <see cref="Ownership"/> skips only <c>new CancellationTokenSource()</c> without a delay on
/// which the method never calls <c>CancelAfter</c>. <c>UnmanagedMemoryStream</c> is not on it either: over native
/// memory its owner frees the memory, and whether a given instance covers managed memory is not known statically.
/// <para>Entries match a type's fully-qualified metadata name (<c>System.Threading.Tasks.Task`1</c>) exactly, not its
/// derived types: a class derived from <c>MemoryStream</c> may hold more. A user's entries are added to the default
/// list; <c>-Name</c> takes one off. The parsed names are shared by every file with the same option text; the answers
/// per type are cached per instance, and the analyzers get one instance per compilation and option text
/// (<see cref="Ownership.IgnoredTypesIn"/>), so no symbol outlives its compilation in a static cache.</para>
/// </summary>
public sealed class IgnoredTypes
{
    private static readonly ConcurrentDictionary<string, HashSet<string>> NamesByText = new(StringComparer.Ordinal);
    private static readonly HashSet<string> DefaultNames = ParseNames(null);

    private static readonly SymbolDisplayFormat MetadataNameFormat = new(
        typeQualificationStyle: SymbolDisplayTypeQualificationStyle.NameAndContainingTypesAndNamespaces,
        genericsOptions: SymbolDisplayGenericsOptions.None);

    private readonly HashSet<string> _names;
    private readonly ConcurrentDictionary<ITypeSymbol, bool> _answers = new(SymbolEqualityComparer.Default);

    private IgnoredTypes(HashSet<string> names) => _names = names;

    /// <summary>The default list alone (for code without options: tests, engines asked directly).</summary>
    public static IgnoredTypes Default { get; } = new(DefaultNames);

    /// <summary>A new instance for one option text (null: the default list); the names are parsed once per text.</summary>
    public static IgnoredTypes Create(string? text)
        => new(text is null ? DefaultNames : NamesByText.GetOrAdd(text, static t => ParseNames(t)));

    /// <summary>Per-compilation answers for each type (see <see cref="Ownership.IgnoredTypesIn"/>), and the
    /// ownership engine's per-type answers that depend on the list.</summary>
    internal ConcurrentDictionary<ITypeSymbol, bool> CreatableAnswers { get; } = new(SymbolEqualityComparer.Default);

    internal static IgnoredTypes Parse(string? text) => new(ParseNames(text));

    private static HashSet<string> ParseNames(string? text)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in Split(MemSafetyOptions.DisposalIgnoredTypes.DefaultText))
            names.Add(entry);
        if (text is not null)
        {
            foreach (var entry in Split(text))
            {
                if (entry.StartsWith("-", StringComparison.Ordinal))
                    names.Remove(entry.Substring(1).Trim());
                else
                    names.Add(entry);
            }
        }

        return names;
    }

    private static IEnumerable<string> Split(string text)
    {
        foreach (var part in text.Split(',', ';'))
        {
            var entry = part.Trim();
            if (entry.Length > 0)
                yield return entry.StartsWith("global::", StringComparison.Ordinal) ? entry.Substring(8) : entry;
        }
    }

    /// <summary>Whether instances of exactly this type (its generic definition) are on the list.</summary>
    public bool Contains(ITypeSymbol type)
    {
        type = type.OriginalDefinition;
        if (_answers.TryGetValue(type, out var known))
            return known;
        var name = type.ToDisplayString(MetadataNameFormat);
        if (type is INamedTypeSymbol { Arity: > 0 } generic)
            name += "`" + generic.Arity.ToString(System.Globalization.CultureInfo.InvariantCulture);
        known = _names.Contains(name);
        _answers.TryAdd(type, known);
        return known;
    }
}
