using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using System.IO;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace MemSafety.Analyzers.Corpus;

/// <summary>What a consumer's build gives the analyzers: the shipped preset (build/MemSafety.&lt;preset&gt;.globalconfig)
/// parsed by Roslyn's own <see cref="AnalyzerConfigSet"/> and handed to the compilation the way the compiler
/// does it (severities through a <see cref="SyntaxTreeOptionsProvider"/>, <c>memsafety.*</c> keys through an
/// <see cref="AnalyzerConfigOptionsProvider"/>), then the tool's <c>--option</c> and <c>--enable</c> on top, as
/// lines of the project's own .editorconfig would be: per-file settings, which outrank a global config. (A
/// specific diagnostic option, as a ruleset or /nowarn gives, would not: the compiler lets analyzer configs
/// override those.)</summary>
internal sealed class AnalyzerConfiguration
{
    private readonly AnalyzerConfigSet? _set;
    private readonly ImmutableDictionary<string, string> _overrides;
    private readonly ImmutableDictionary<string, ReportDiagnostic> _specific;

    public AnalyzerConfiguration(string? presetPath, IReadOnlyDictionary<string, string> options, ImmutableDictionary<string, ReportDiagnostic> specific)
    {
        PresetPath = presetPath;
        // The compiler hands analyzers lower-cased keys.
        var overrides = ImmutableDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        foreach (var pair in options)
            overrides[pair.Key.ToLowerInvariant()] = pair.Value;
        _overrides = overrides.ToImmutable();
        _specific = specific;
        if (presetPath is null)
            return;

        var text = File.ReadAllText(presetPath);
        var config = AnalyzerConfig.Parse(text, presetPath);
        if (!System.Text.RegularExpressions.Regex.IsMatch(text, @"^\s*is_global\s*=\s*true\s*$", System.Text.RegularExpressions.RegexOptions.Multiline | System.Text.RegularExpressions.RegexOptions.IgnoreCase))
            throw new UsageException(presetPath + " is not a global analyzer config (is_global = true)");
        _set = AnalyzerConfigSet.Create(ImmutableArray.Create(config), out var diagnostics);
        foreach (var diagnostic in diagnostics)
            Console.Error.WriteLine("preset: " + diagnostic);
        GlobalSeverities = _set.GlobalConfigOptions.TreeOptions;
    }

    public string? PresetPath { get; }

    /// <summary>The preset's <c>dotnet_diagnostic.ID.severity</c> lines, as the compiler reads them.</summary>
    public ImmutableDictionary<string, ReportDiagnostic> GlobalSeverities { get; } = ImmutableDictionary<string, ReportDiagnostic>.Empty;

    /// <summary>The analyzer options every file sees (preset keys, then <c>--option</c>).</summary>
    public ImmutableDictionary<string, string> GlobalOptions
        => (_set?.GlobalConfigOptions.AnalyzerOptions ?? ImmutableDictionary<string, string>.Empty).SetItems(_overrides);

    /// <summary>The compilation options with the preset's severities (per tree and global) and <c>--enable</c>.</summary>
    public CSharpCompilationOptions Apply(CSharpCompilationOptions options, IReadOnlyList<SyntaxTree> trees)
    {
        // The unit's own (NoWarn), then --enable.
        options = options.WithSpecificDiagnosticOptions(options.SpecificDiagnosticOptions.SetItems(_specific));
        if (_set is null)
            return options;
        var perTree = new Dictionary<SyntaxTree, AnalyzerConfigOptionsResult>(trees.Count);
        foreach (var tree in trees)
            perTree[tree] = _set.GetOptionsForSourcePath(tree.FilePath);
        return options.WithSyntaxTreeOptionsProvider(new TreeOptionsProvider(perTree, _set.GlobalConfigOptions, _specific));
    }

    public AnalyzerConfigOptionsProvider ProviderFor(IReadOnlyList<SyntaxTree> trees)
    {
        var global = new DictionaryConfigOptions(GlobalOptions);
        var perTree = new Dictionary<SyntaxTree, AnalyzerConfigOptions>(trees.Count);
        if (_set is not null)
        {
            foreach (var tree in trees)
            {
                // The compiler's per-file options already hold the global section's keys; adding them first
                // again costs nothing and does not depend on that detail.
                var options = _set.GlobalConfigOptions.AnalyzerOptions
                    .SetItems(_set.GetOptionsForSourcePath(tree.FilePath).AnalyzerOptions)
                    .SetItems(_overrides);
                perTree[tree] = new DictionaryConfigOptions(options);
            }
        }

        return new OptionsProvider(global, perTree);
    }

    /// <summary>Mirrors the compiler's own provider: per-file severities from the sections that match the
    /// file, global severities from the global section, and <c>generated_code</c> for IsGenerated.</summary>
    private sealed class TreeOptionsProvider : SyntaxTreeOptionsProvider
    {
        private readonly Dictionary<SyntaxTree, AnalyzerConfigOptionsResult> _perTree;
        private readonly AnalyzerConfigOptionsResult _global;
        private readonly ImmutableDictionary<string, ReportDiagnostic> _editorConfig;

        public TreeOptionsProvider(Dictionary<SyntaxTree, AnalyzerConfigOptionsResult> perTree, AnalyzerConfigOptionsResult global, ImmutableDictionary<string, ReportDiagnostic> editorConfig)
        {
            _perTree = perTree;
            _global = global;
            _editorConfig = editorConfig;
        }

        public override GeneratedKind IsGenerated(SyntaxTree tree, CancellationToken cancellationToken)
        {
            if (_perTree.TryGetValue(tree, out var result) && result.AnalyzerOptions.TryGetValue("generated_code", out var value))
            {
                if (string.Equals(value, "true", StringComparison.OrdinalIgnoreCase))
                    return GeneratedKind.MarkedGenerated;
                if (string.Equals(value, "false", StringComparison.OrdinalIgnoreCase))
                    return GeneratedKind.NotGenerated;
            }

            return GeneratedKind.Unknown;
        }

        public override bool TryGetDiagnosticValue(SyntaxTree tree, string diagnosticId, CancellationToken cancellationToken, out ReportDiagnostic severity)
        {
            // --enable: a '[*.cs] dotnet_diagnostic.ID.severity' line of the project, for every file (generated ones too).
            if (_editorConfig.TryGetValue(diagnosticId, out severity))
                return true;
            if (_perTree.TryGetValue(tree, out var result) && result.TreeOptions.TryGetValue(diagnosticId, out severity))
                return true;
            severity = ReportDiagnostic.Default;
            return false;
        }

        public override bool TryGetGlobalDiagnosticValue(string diagnosticId, CancellationToken cancellationToken, out ReportDiagnostic severity)
            => _global.TreeOptions.TryGetValue(diagnosticId, out severity);
    }

    private sealed class OptionsProvider : AnalyzerConfigOptionsProvider
    {
        private readonly AnalyzerConfigOptions _global;
        private readonly Dictionary<SyntaxTree, AnalyzerConfigOptions> _perTree;

        public OptionsProvider(AnalyzerConfigOptions global, Dictionary<SyntaxTree, AnalyzerConfigOptions> perTree)
        {
            _global = global;
            _perTree = perTree;
        }

        public override AnalyzerConfigOptions GlobalOptions => _global;

        public override AnalyzerConfigOptions GetOptions(SyntaxTree tree) => _perTree.TryGetValue(tree, out var options) ? options : _global;

        public override AnalyzerConfigOptions GetOptions(AdditionalText textFile) => _global;
    }

    private sealed class DictionaryConfigOptions : AnalyzerConfigOptions
    {
        private readonly ImmutableDictionary<string, string> _values;

        public DictionaryConfigOptions(ImmutableDictionary<string, string> values)
            => _values = values.WithComparers(StringComparer.OrdinalIgnoreCase);

        public override bool TryGetValue(string key, [NotNullWhen(true)] out string? value) => _values.TryGetValue(key, out value);

        public override IEnumerable<string> Keys => _values.Keys;
    }
}
