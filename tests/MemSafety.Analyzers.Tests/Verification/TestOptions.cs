using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace MemSafety.Analyzers.Tests.Verification;

/// <summary>.editorconfig-style options applied to every file of a test compilation.</summary>
internal sealed class TestAnalyzerConfigOptionsProvider : AnalyzerConfigOptionsProvider
{
    private readonly DictionaryOptions _options;

    public TestAnalyzerConfigOptionsProvider(IReadOnlyDictionary<string, string> values)
        => _options = new DictionaryOptions(values);

    public override AnalyzerConfigOptions GlobalOptions => _options;

    public override AnalyzerConfigOptions GetOptions(SyntaxTree tree) => _options;

    public override AnalyzerConfigOptions GetOptions(AdditionalText textFile) => _options;

    private sealed class DictionaryOptions : AnalyzerConfigOptions
    {
        private readonly ImmutableDictionary<string, string> _values;

        public DictionaryOptions(IReadOnlyDictionary<string, string> values)
        {
            // .editorconfig keys are case-insensitive; the compiler hands analyzers lower-cased keys.
            var builder = ImmutableDictionary.CreateBuilder<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var pair in values)
                builder[pair.Key] = pair.Value;
            _values = builder.ToImmutable();
        }

        public override bool TryGetValue(string key, [NotNullWhen(true)] out string? value) => _values.TryGetValue(key, out value);

        public override IEnumerable<string> Keys => _values.Keys;
    }
}
