using System.Collections.Immutable;
using Microsoft.CodeAnalysis;

namespace MemSafety.Analyzers.Infrastructure;

/// <summary>Rule ids. Ids are grouped by family: MSA1xxx heap escapes, MSA2xxx boxing, MSA3xxx closures,
/// MSA4xxx finalizers and disposal, MSA5xxx unsafe pointers, MSA6xxx shared state.</summary>
public static class RuleIdentifiers
{
    public const string EmptyFinalizer = "MSA4001";
    public const string MaterializedOnce = "MSA1007";
}

/// <summary>Diagnostic categories, one per rule family (the category is what
/// <c>dotnet_analyzer_diagnostic.category-…</c> keys in .editorconfig select).</summary>
public static class RuleCategories
{
    public const string HeapEscapes = "MemSafety.HeapEscapes";
    public const string Boxing = "MemSafety.Boxing";
    public const string Closures = "MemSafety.Closures";
    public const string Finalizers = "MemSafety.Finalizers";
    public const string UnsafePointers = "MemSafety.UnsafePointers";
    public const string SharedState = "MemSafety.SharedState";
}

/// <summary>Every descriptor the package reports. A test keeps this list, the docs pages, the README
/// table, the presets and the release-tracking files in agreement.</summary>
public static class RuleCatalogue
{
    /// <summary>Where the project lives; mirrored from MemSafetyRepositoryUrl in Directory.Build.props.</summary>
    public const string RepositoryUrl = "https://github.com/memsafety/MemSafety.Analyzers";

    public static string HelpLink(string id) => RepositoryUrl + "/blob/main/docs/rules/" + id + ".md";

    public static readonly DiagnosticDescriptor EmptyFinalizer = new(
        RuleIdentifiers.EmptyFinalizer,
        title: "Remove the empty finalizer",
        messageFormat: "Finalizer of '{0}' {1}",
        RuleCategories.Finalizers,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "A type that declares a finalizer has every instance registered for finalization when it is allocated. " +
                     "The garbage collector cannot reclaim such an object in the collection that finds it dead: it moves it to the " +
                     "finalization queue, the finalizer thread runs the finalizer, and only a later collection frees the memory. " +
                     "A finalizer that does nothing pays all of that for nothing.",
        helpLinkUri: HelpLink(RuleIdentifiers.EmptyFinalizer));

    public static readonly DiagnosticDescriptor MaterializedOnce = new(
        RuleIdentifiers.MaterializedOnce,
        title: "Do not copy a sequence only to enumerate it once",
        messageFormat: "'{0}' copies the sequence into a new {1} {2}; {3}",
        RuleCategories.HeapEscapes,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "ToList() and ToArray() allocate a new buffer and copy every element into it (for a sequence of unknown length, " +
                     "several buffers, doubling each time). When the copy is then enumerated by one foreach, or only asked its Count, " +
                     "Length or Any(), the allocation and the copy buy nothing: the source can be enumerated or counted directly. " +
                     "The rule stays silent where the copy is a snapshot the code needs: the loop changes the source, the source is " +
                     "shared or queried lazily with side effects, or it is an IQueryable.",
        helpLinkUri: HelpLink(RuleIdentifiers.MaterializedOnce));

    public static ImmutableArray<DiagnosticDescriptor> All { get; } = ImmutableArray.Create(
        EmptyFinalizer,
        MaterializedOnce);
}
