using System;
using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace MemSafety.Analyzers.Core;

/// <summary>
/// A rule of the .NET SDK's code analysis (Microsoft.CodeAnalysis.NetAnalyzers) that reports some of the
/// nodes a MemSafety rule would report. Installing the package must never take a finding away from the
/// user nor report one node twice, so our rule leaves exactly the nodes the SDK rule reports to it, and
/// only while that rule is on in the file (<see cref="SdkRules.Reports"/>).
/// </summary>
public sealed class SdkRule
{
    private SdkRule(string id, string category, ReportDiagnostic defaultSeverity, bool isEnabledByDefault = true)
    {
        Id = id;
        Category = category;
        DefaultSeverity = defaultSeverity;
        IsEnabledByDefault = isEnabledByDefault;
    }

    /// <summary>CA1825 "Avoid zero-length array allocations"; MSA1008 defers to it.</summary>
    public static SdkRule AvoidZeroLengthArrayAllocations { get; } = new("CA1825", "Performance", ReportDiagnostic.Info);

    /// <summary>CA1861 "Avoid constant arrays as arguments"; MSA1005 defers to it.</summary>
    public static SdkRule AvoidConstantArraysAsArguments { get; } = new("CA1861", "Performance", ReportDiagnostic.Info);

    /// <summary>CA1846 "Prefer AsSpan over Substring"; MSA1004 defers to it.</summary>
    public static SdkRule PreferAsSpanOverSubstring { get; } = new("CA1846", "Performance", ReportDiagnostic.Info);

    /// <summary>CA1821 "Remove empty finalizers"; MSA4001 defers to it.</summary>
    public static SdkRule RemoveEmptyFinalizers { get; } = new("CA1821", "Performance", ReportDiagnostic.Info);

    /// <summary>CA2002 "Do not lock on objects with weak identity"; MSA6004 defers to it. Off by default (on under
    /// <c>AnalysisMode=All</c>, or when set by id).</summary>
    public static SdkRule DoNotLockOnObjectsWithWeakIdentity { get; } = new("CA2002", "Reliability", ReportDiagnostic.Warn, isEnabledByDefault: false);

    /// <summary>Every SDK rule a MemSafety rule defers to (a test checks ids, categories and defaults against
    /// the real NetAnalyzers descriptors).</summary>
    public static ImmutableArray<SdkRule> All { get; } = ImmutableArray.Create(
        AvoidZeroLengthArrayAllocations, AvoidConstantArraysAsArguments, PreferAsSpanOverSubstring, RemoveEmptyFinalizers,
        DoNotLockOnObjectsWithWeakIdentity);

    public string Id { get; }

    /// <summary>The descriptor's category, which <c>dotnet_analyzer_diagnostic.category-…</c> keys select.</summary>
    public string Category { get; }

    /// <summary>The descriptor's default severity (what the rule reports at once enabled).</summary>
    public ReportDiagnostic DefaultSeverity { get; }

    /// <summary>The descriptor's <c>IsEnabledByDefault</c>. A rule off by default reports only when set by id:
    /// bulk keys (<c>dotnet_analyzer_diagnostic.…</c>) do not turn it on (Roslyn applies them to enabled rules only).</summary>
    public bool IsEnabledByDefault { get; }

    public override string ToString() => Id;
}

/// <summary>
/// Whether an SDK rule reports in a given file: its analyzers are part of the compilation (the package's
/// targets pass <c>build_property.MemSafetyNetAnalyzers</c>, true when an analyzer named
/// Microsoft.CodeAnalysis.NetAnalyzers is among the compiler's analyzers: .NET 5+ projects by default,
/// <c>EnableNETAnalyzers</c>, or the NuGet package), and the rule's effective severity there is at least a
/// suggestion. The severity is resolved as the compiler resolves it: command-line options
/// (<c>/nowarn</c>, <c>/warnaserror:</c>, rule sets), then <c>dotnet_diagnostic.ID.severity</c> from
/// .editorconfig and global configs (where the SDK's <c>AnalysisMode</c> configs live), then the bulk keys
/// <c>dotnet_analyzer_diagnostic.category-Performance.severity</c> and <c>dotnet_analyzer_diagnostic.severity</c>,
/// then the rule's default. Without the property (no package targets, as in our unit tests) the SDK
/// analyzers are taken to be absent. Rules share the compilation's one instance (<see cref="CompilationServices.SdkRules"/>); answers are cached per rule and tree.
/// </summary>
public sealed class SdkRules
{
    /// <summary>The analyzer config key the package's targets write (CompilerVisibleProperty MemSafetyNetAnalyzers).</summary>
    public const string NetAnalyzersProperty = "build_property.MemSafetyNetAnalyzers";

    private readonly Compilation _compilation;
    private readonly AnalyzerConfigOptionsProvider _options;
    private readonly bool _loaded;
    private readonly ConcurrentDictionary<(SdkRule Rule, SyntaxTree Tree), bool> _answers = new();

    public SdkRules(Compilation compilation, AnalyzerOptions options)
        : this(compilation, options.AnalyzerConfigOptionsProvider)
    {
    }

    internal SdkRules(Compilation compilation, AnalyzerConfigOptionsProvider options)
    {
        _compilation = compilation;
        _options = options;
        CreationCounts.Record(compilation, nameof(SdkRules));
        _loaded = _options.GlobalOptions.TryGetValue(NetAnalyzersProperty, out var value)
                  && string.Equals(value?.Trim(), "true", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Whether the rule's diagnostics in <paramref name="tree"/> are shown (suggestion, warning or error).</summary>
    public bool Reports(SdkRule rule, SyntaxTree tree, CancellationToken cancellationToken)
    {
        if (!_loaded)
            return false;
        if (_answers.TryGetValue((rule, tree), out var answer))
            return answer;
        answer = EffectiveSeverity(rule, tree, cancellationToken) is ReportDiagnostic.Info or ReportDiagnostic.Warn or ReportDiagnostic.Error;
        _answers.TryAdd((rule, tree), answer);
        return answer;
    }

    internal ReportDiagnostic EffectiveSeverity(SdkRule rule, SyntaxTree tree, CancellationToken cancellationToken)
    {
        var options = _compilation.Options;
        // What "default" means for this rule: its severity, or off when it is off by default.
        var byDefault = rule.IsEnabledByDefault ? rule.DefaultSeverity : ReportDiagnostic.Suppress;
        var hasSpecific = options.SpecificDiagnosticOptions.TryGetValue(rule.Id, out var specific);
        if (hasSpecific && specific != ReportDiagnostic.Default)
            return specific;

        if (options.SyntaxTreeOptionsProvider is { } treeOptions
            && (treeOptions.TryGetDiagnosticValue(tree, rule.Id, cancellationToken, out var configured)
                || treeOptions.TryGetGlobalDiagnosticValue(rule.Id, cancellationToken, out configured)))
        {
            return configured == ReportDiagnostic.Default ? byDefault : configured;
        }

        // Bulk keys apply only to rules that nothing sets by id and that are on by default (Roslyn's
        // TryGetSeverityFromBulkConfiguration).
        if (hasSpecific || !rule.IsEnabledByDefault)
            return byDefault;
        var config = _options.GetOptions(tree);
        if (TryGetSeverity(config, "dotnet_analyzer_diagnostic.category-" + rule.Category + ".severity", out var bulk)
            || TryGetSeverity(config, "dotnet_analyzer_diagnostic.severity", out bulk))
        {
            return bulk;
        }

        return rule.DefaultSeverity;

        bool TryGetSeverity(AnalyzerConfigOptions values, string key, out ReportDiagnostic severity)
        {
            severity = ReportDiagnostic.Default;
            if (!values.TryGetValue(key, out var text) || text is null)
                return false;
            switch (text.Trim().ToLowerInvariant())
            {
                case "default":
                    severity = rule.DefaultSeverity;
                    return true;
                case "none":
                    severity = ReportDiagnostic.Suppress;
                    return true;
                case "silent":
                case "refactoring":
                    severity = ReportDiagnostic.Hidden;
                    return true;
                case "suggestion":
                    severity = ReportDiagnostic.Info;
                    return true;
                case "warning":
                    severity = ReportDiagnostic.Warn;
                    return true;
                case "error":
                    severity = ReportDiagnostic.Error;
                    return true;
                default:
                    return false;
            }
        }
    }
}
