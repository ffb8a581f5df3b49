using System.Collections.Immutable;
using Microsoft.CodeAnalysis;

namespace MemSafety.Analyzers.Infrastructure;

/// <summary>Rule ids. Ids are grouped by family: MSA1xxx heap escapes, MSA2xxx boxing, MSA3xxx closures,
/// MSA4xxx finalizers and disposal, MSA5xxx unsafe pointers, MSA6xxx shared state.</summary>
public static class RuleIdentifiers
{
    public const string ConstantArrayRebuiltPerCall = "MSA1005";
    public const string ZeroLengthArrayAllocation = "MSA1008";
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

    public static readonly DiagnosticDescriptor ConstantArrayRebuiltPerCall = new(
        RuleIdentifiers.ConstantArrayRebuiltPerCall,
        title: "Hoist the constant array out of the method",
        messageFormat: "Array of {0} is rebuilt on every call to '{1}'; it is never modified, so one static readonly instance can serve every call",
        RuleCategories.HeapEscapes,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "An array creation with an initializer allocates a new array and copies the initial values into it each time " +
                     "it runs. When every element is a compile-time constant and the array is provably neither modified nor kept " +
                     "beyond the call, one array created once (a static readonly field) behaves the same and costs nothing per call. " +
                     "Supersedes CA1861, whose fix can break code that modifies the array.",
        helpLinkUri: HelpLink(RuleIdentifiers.ConstantArrayRebuiltPerCall));

    public static readonly DiagnosticDescriptor ZeroLengthArrayAllocation = new(
        RuleIdentifiers.ZeroLengthArrayAllocation,
        title: "Use Array.Empty instead of allocating an empty array",
        messageFormat: "'{0}' allocates a new empty array on every call; Array.Empty<{1}>() returns one shared instance",
        RuleCategories.HeapEscapes,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "A zero-length array holds nothing and cannot be modified, yet 'new T[0]' allocates a fresh object (an array " +
                     "header on the heap) every time it runs. Array.Empty<T>() returns one cached instance per element type. " +
                     "The rule stays silent where the identity of the array can matter (locks, reference comparisons). " +
                     "Supersedes CA1825.",
        helpLinkUri: HelpLink(RuleIdentifiers.ZeroLengthArrayAllocation));

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

    public static ImmutableArray<DiagnosticDescriptor> All { get; } = ImmutableArray.Create(
        ConstantArrayRebuiltPerCall,
        ZeroLengthArrayAllocation,
        EmptyFinalizer);
}
