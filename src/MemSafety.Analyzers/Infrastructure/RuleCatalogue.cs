using System.Collections.Immutable;
using Microsoft.CodeAnalysis;

namespace MemSafety.Analyzers.Infrastructure;

/// <summary>Rule ids. Ids are grouped by family: MSA1xxx heap escapes, MSA2xxx boxing, MSA3xxx closures,
/// MSA4xxx finalizers and disposal, MSA5xxx unsafe pointers, MSA6xxx shared state.</summary>
public static class RuleIdentifiers
{
    public const string StringConcatInLoop = "MSA1006";
    public const string EmptyFinalizer = "MSA4001";
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

    public static readonly DiagnosticDescriptor StringConcatInLoop = new(
        RuleIdentifiers.StringConcatInLoop,
        title: "Build strings in loops with a StringBuilder, not concatenation",
        messageFormat: "String '{0}' is rebuilt by '{1}' on every iteration of this '{2}' loop: each append copies all the characters so far, so the loop takes quadratic time and leaves a dead string per iteration; use a StringBuilder",
        RuleCategories.HeapEscapes,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "Strings are immutable: 's += x' allocates a new string and copies every character of 's' and 'x' into it. " +
                     "Appending n pieces in a loop therefore copies O(n\u00b2) characters and leaves n garbage strings for the " +
                     "collector (large ones on the large object heap). A StringBuilder appends into a growing buffer: O(n) copies " +
                     "and one final string.",
        helpLinkUri: HelpLink(RuleIdentifiers.StringConcatInLoop));

    public static ImmutableArray<DiagnosticDescriptor> All { get; } = ImmutableArray.Create(
        StringConcatInLoop,
        EmptyFinalizer);
}
