using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;

namespace MemSafety.Analyzers.Tests.Reliability;

/// <summary>
/// Bad configuration (docs/reliability.md): every option with values that are invalid, malformed or extreme, unknown
/// keys, and hot-path/ownership attributes used with arguments they do not take. Every analyzer runs over one project
/// made of every Before sample. Invalid values fall back to the documented default, so the diagnostics are those of
/// the same project configured with nothing wrong; extreme but valid values may change what is reported, but no
/// analyzer throws and the run finishes.
/// </summary>
public sealed class BadConfigurationTests
{
    private static IEnumerable<(string, string)> Samples()
        => FuzzInputs.All.Where(i => i.Name.StartsWith("samples/", StringComparison.Ordinal) && i.Name.EndsWith(".Before.cs", StringComparison.Ordinal))
            .Select(i => (i.Name.Replace('/', '_'), i.Source));

    private static async Task<List<string>> Run(IReadOnlyDictionary<string, string> options, IEnumerable<(string, string)>? extraFiles = null)
    {
        using var workspace = new AdhocWorkspace();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var project = FuzzHarness.CreateProject(workspace, Samples().Concat(extraFiles ?? Array.Empty<(string, string)>()));
        var (diagnostics, exceptions) = await FuzzHarness.AnalyzeAsync(project, timeout.Token, editorConfig: options);
        Assert.True(exceptions.Count == 0, string.Join("\n", exceptions));
        return diagnostics.Select(d => $"{d.Id} {d.Location.GetLineSpan()} {d.GetMessage()}").OrderBy(s => s, StringComparer.Ordinal).ToList();
    }

    [Fact]
    public async Task InvalidValuesAndUnknownKeys_SameDiagnosticsAsNoConfiguration()
    {
        var clean = await Run(new Dictionary<string, string>());
        Assert.True(clean.Count > 50, string.Join("\n", clean));

        var invalid = new Dictionary<string, string>
        {
            // Scopes that are not one of the three names fall back to each rule's default scope.
            ["memsafety.scope"] = "hot_paths;everywhere",
            ["memsafety.MSA1001.scope"] = "42",
            ["memsafety.MSA1000.scope"] = "everywhere,",
            ["memsafety.MSA9999.scope"] = "everywhere",
            // Out of range or not a decimal integer: the default, 1024.
            ["memsafety.stackalloc_max_bytes"] = "0x400",
            // Globs that match no member name: brackets and backslashes are literal characters, not classes or escapes.
            ["memsafety.hot_paths"] = "[, \\, *[*, ,,, ;;, \u0000, Ünïcödé.*, App.(Parse|Format)",
            // Type names that name no type: nothing added to the ignored list.
            ["memsafety.disposal.ignored_types"] = "[, T<, ,,, global::, -, -Nope, System.IO.Stream[]",
            ["memsafety.unknown"] = "1",
            ["memsafety."] = "",
            ["memsafety"] = "everywhere",
        };
        Assert.Equal(clean, await Run(invalid));
    }

    [Theory]
    [InlineData("memsafety.stackalloc_max_bytes", "-1")]
    [InlineData("memsafety.stackalloc_max_bytes", "99999999999999999999")]
    [InlineData("memsafety.stackalloc_max_bytes", "65537")]
    [InlineData("memsafety.scope", "")]
    [InlineData("memsafety.scope", "every where")]
    public async Task OutOfRangeOrMisspelledValue_FallsBackToTheDefault(string key, string value)
        => Assert.Equal(await Run(new Dictionary<string, string>()), await Run(new Dictionary<string, string> { [key] = value }));

    /// <summary>Valid but extreme: every member hot, a glob of thousands of stars, a pathological backtracking glob against
    /// every member name, the largest stackalloc budget, every type ignored by the disposal rules.</summary>
    [Fact]
    public async Task ExtremeValidValues_EveryAnalyzerFinishes()
    {
        var extreme = new Dictionary<string, string>
        {
            ["memsafety.scope"] = "everywhere",
            ["memsafety.MSA1000.scope"] = "everywhere",
            ["memsafety.hot_paths"] = "*, " + new string('*', 5000) + ", " + string.Concat(Enumerable.Repeat("a*", 2000)) + "b",
            ["memsafety.stackalloc_max_bytes"] = "65536",
            ["memsafety.disposal.ignored_types"] = string.Join(",", Enumerable.Range(0, 2000).Select(i => "N" + i + ".T" + i)) + ",System.IO.FileStream",
        };
        var result = await Run(extreme);
        Assert.NotEmpty(result);
        Assert.DoesNotContain(result, d => d.StartsWith("MSA4006", StringComparison.Ordinal) && d.Contains("(FileStream)", StringComparison.Ordinal));
    }

    /// <summary>The attributes are matched by name and their arguments are never read: used with arguments no
    /// constructor takes (a compile error the user sees), on targets they are not meant for, or declared generic, they
    /// still mark what they are on, and nothing throws.</summary>
    [Fact]
    public async Task AttributesWithWrongArguments_StillMatchedByName_NothingThrows()
    {
        const string misused = """
            using System;
            using System.IO;

            namespace Misuse
            {
                public sealed class PerformanceSensitiveAttribute<T> : Attribute { }

                public static class Hot
                {
                    [MemSafety.HotPath(42, "loop", typeof(Missing))]
                    public static int WrongArguments(int n)
                    {
                        int[] buffer = new int[4];
                        for (var i = 0; i < buffer.Length; i++)
                            buffer[i] = i * n;
                        return buffer[0] + buffer[3];
                    }

                    [PerformanceSensitive<int>]
                    public static int GenericAttribute(int n)
                    {
                        int[] buffer = new int[4];
                        for (var i = 0; i < buffer.Length; i++)
                            buffer[i] = i * n;
                        return buffer[0] + buffer[3];
                    }
                }

                [MemSafety.ReturnsOwned(true)]
                [MemSafety.NotOwned(Reason = 1)]
                public static class Owners
                {
                    public static void Keep([MemSafety.TransfersOwnership(null, 2)] Stream s) { }

                    [return: MemSafety.TransfersOwnership]
                    public static Stream Make() => new MemoryStream();
                }
            }
            """;
        var result = await Run(new Dictionary<string, string>(), new[] { ("Misuse.cs", misused) });
        Assert.Contains(result, d => d.StartsWith("MSA1001", StringComparison.Ordinal) && d.Contains("'WrongArguments'", StringComparison.Ordinal));
        Assert.Contains(result, d => d.StartsWith("MSA1001", StringComparison.Ordinal) && d.Contains("'GenericAttribute'", StringComparison.Ordinal));
    }
}
