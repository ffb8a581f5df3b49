using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Rules.UnsafePointers;
using Microsoft.CodeAnalysis;

namespace MemSafety.Analyzers.Tests.Infrastructure;

/// <summary>Keeps the catalogue, the analyzers, the docs, the README, the presets, release tracking,
/// tests and samples in agreement: adding a rule without its companions fails here.</summary>
public sealed class CatalogueConsistencyTests
{
    public static TheoryData<string> RuleIds()
    {
        var data = new TheoryData<string>();
        foreach (var descriptor in RuleCatalogue.All)
            data.Add(descriptor.Id);
        return data;
    }

    private static DiagnosticDescriptor Descriptor(string id) => RuleCatalogue.All.Single(d => d.Id == id);

    private static readonly Dictionary<char, string> FamilyByDigit = new()
    {
        ['1'] = RuleCategories.HeapEscapes,
        ['2'] = RuleCategories.Boxing,
        ['3'] = RuleCategories.Closures,
        ['4'] = RuleCategories.Finalizers,
        ['5'] = RuleCategories.UnsafePointers,
        ['6'] = RuleCategories.SharedState,
    };

    [Fact]
    public void Ids_AreUniqueAndFollowTheFamilyScheme()
    {
        Assert.NotEmpty(RuleCatalogue.All);
        Assert.Equal(RuleCatalogue.All.Length, RuleCatalogue.All.Select(d => d.Id).Distinct().Count());
        foreach (var d in RuleCatalogue.All)
        {
            Assert.Matches("^MSA[1-6][0-9]{3}$", d.Id);
            Assert.Equal(FamilyByDigit[d.Id[3]], d.Category);
            Assert.Equal(RuleCatalogue.HelpLink(d.Id), d.HelpLinkUri);
            Assert.False(string.IsNullOrWhiteSpace(d.Description.ToString()), d.Id + " needs a description");
        }
    }

    [Fact]
    public void RepositoryUrl_MatchesDirectoryBuildProps()
        => Assert.Contains($"<MemSafetyRepositoryUrl>{RuleCatalogue.RepositoryUrl}</MemSafetyRepositoryUrl>", RepositoryFiles.Read("Directory.Build.props"));

    [Fact]
    public void Analyzers_DeriveFromTheBaseAndReportOnlyCatalogueDescriptors()
    {
        Assert.NotEmpty(RepositoryFiles.Analyzers);
        var supported = new HashSet<string>();
        foreach (var analyzer in RepositoryFiles.Analyzers)
        {
            // The base class is what enables concurrent execution and skips generated code.
            Assert.True(analyzer is MemSafetyAnalyzer, analyzer.GetType().Name + " must derive from MemSafetyAnalyzer");
            foreach (var d in analyzer.SupportedDiagnostics)
            {
                Assert.Contains(d, RuleCatalogue.All);
                supported.Add(d.Id);
            }
        }

        foreach (var d in RuleCatalogue.All)
            Assert.True(supported.Contains(d.Id), d.Id + " is in the catalogue but no analyzer reports it");
    }

    [Fact]
    public void CodeFixes_FixOnlyCatalogueIds()
    {
        foreach (var fix in RepositoryFiles.CodeFixes)
        {
            foreach (var id in fix.FixableDiagnosticIds)
                Assert.Contains(RuleCatalogue.All, d => d.Id == id);
            Assert.NotNull(fix.GetFixAllProvider());
        }
    }

    [Theory]
    [MemberData(nameof(RuleIds))]
    public void EveryRule_HasADocsPageWithTheRequiredSections(string id)
    {
        var path = Path.Combine(RepositoryFiles.Root, "docs", "rules", id + ".md");
        Assert.True(File.Exists(path), $"docs/rules/{id}.md is missing");
        var text = File.ReadAllText(path);
        Assert.StartsWith($"# {id}: {Descriptor(id).Title}", text);
        foreach (var section in new[] { "## Why it matters", "## When it reports", "## When it does not report", "## Bad", "## Good", "## Code fix", "## Configuration", "## When to suppress" })
            Assert.True(text.Contains(section, StringComparison.Ordinal), $"docs/rules/{id}.md lacks '{section}'");
    }

    [Fact]
    public void EveryDocsPage_BelongsToARule()
    {
        foreach (var file in Directory.GetFiles(Path.Combine(RepositoryFiles.Root, "docs", "rules"), "*.md"))
            Assert.Contains(RuleCatalogue.All, d => d.Id == Path.GetFileNameWithoutExtension(file));
    }

    [Theory]
    [MemberData(nameof(RuleIds))]
    public void EveryRule_HasAnAccurateReadmeRow(string id)
    {
        var d = Descriptor(id);
        var hasFix = RepositoryFiles.CodeFixes.Any(f => f.FixableDiagnosticIds.Contains(id));
        var expected = $"| [{id}](docs/rules/{id}.md) | {d.Title} | {RepositoryFiles.Family(d.Category)} | {SeverityText(d)} | {ScopeText(DefaultScopes()[id])} | {(hasFix ? "Yes" : "No")} |";
        Assert.Contains(expected, RepositoryFiles.Read("README.md").ReplaceLineEndings("\n").Split('\n'));
    }

    private static string ScopeText(RuleScope scope) => scope switch
    {
        RuleScope.Everywhere => "Everywhere",
        RuleScope.HotPathsAndLoops => "Hot paths and loops",
        _ => "Hot paths",
    };

    /// <summary>Where each rule reports when no <c>memsafety.*scope</c> key is set, read from the analyzers' source:
    /// the default each rule's <c>RuleScopeOption.For(…)</c>/<c>RuleScopeOption.OwnKeyOnly(…)</c> declaration names;
    /// a rule without one reports everywhere. Every declaration must name its rule id and default literally, a rule
    /// declares at most one, and no analyzer reads a scope by id (<c>GetScope</c>/<c>GetOwnScope</c>) around them.</summary>
    private static Dictionary<string, RuleScope> DefaultScopes()
    {
        var idByName = typeof(RuleIdentifiers).GetFields().ToDictionary(f => f.Name, f => (string)f.GetValue(null)!);
        var scopes = RuleCatalogue.All.ToDictionary(d => d.Id, _ => RuleScope.Everywhere);
        var declared = new HashSet<string>();
        foreach (var file in Directory.GetFiles(Path.Combine(RepositoryFiles.Root, "src", "MemSafety.Analyzers"), "*.cs", SearchOption.AllDirectories))
        {
            if (file.Contains(Path.DirectorySeparatorChar + "obj" + Path.DirectorySeparatorChar, StringComparison.Ordinal) || Path.GetFileName(file) == "MemSafetyOptions.cs")
                continue;
            var text = File.ReadAllText(file);
            Assert.True(!Regex.IsMatch(text, @"\.Get(Own)?Scope\("), $"{file}: a rule declares its scope as a RuleScopeOption (built once) instead of reading it by id");
            var declarations = Regex.Matches(text, @"\bRuleScopeOption\.\w+\(|\bnew\s+RuleScopeOption\b");
            var parsed = Regex.Matches(text, @"\bRuleScopeOption\.(?:For|OwnKeyOnly)\(\s*RuleIdentifiers\.(\w+)\s*,\s*RuleScope\.(\w+)\s*\)");
            Assert.True(declarations.Count == parsed.Count, $"{file}: every RuleScopeOption must name its rule and its default literally, so the README's scope column can be checked");
            foreach (Match m in parsed)
            {
                var id = idByName[m.Groups[1].Value];
                Assert.True(declared.Add(id), $"{id} declares its scope twice");
                scopes[id] = Enum.Parse<RuleScope>(m.Groups[2].Value);
            }
        }

        return scopes;
    }

    // ------------------------------------------------------------------ dotnet format commands

    private static readonly Regex FormatCommand = new(@"^dotnet format analyzers --diagnostics ((?:MSA\d{4} )+)--severity info$", RegexOptions.Multiline);

    private static List<string> FixableIds(string? category = null) => RuleCatalogue.All
        .Where(d => category is null || d.Category == category)
        .Select(d => d.Id)
        .Where(id => RepositoryFiles.CodeFixes.Any(f => f.FixableDiagnosticIds.Contains(id)))
        .OrderBy(id => id, StringComparer.Ordinal)
        .ToList();

    /// <summary>The README's commands to apply fixes: one with every fixable MemSafety id (and nothing else: without
    /// --diagnostics, dotnet format also applies every SDK fix at that severity, such as CA1822's 'make static'), then
    /// one per family that has fixes. The integration tests run the first through the real dotnet format.</summary>
    [Fact]
    public void ReadmeFormatCommands_ListExactlyTheFixableIds()
    {
        var section = RepositoryFiles.Read("README.md").ReplaceLineEndings("\n").Split("## Fixing from the command line")[1].Split("\n## ")[0];
        Assert.DoesNotMatch(new Regex(@"^dotnet format(?! analyzers --diagnostics MSA)", RegexOptions.Multiline), section);
        var commands = FormatCommand.Matches(section).Select(m => m.Groups[1].Value.Trim().Split(' ').ToList()).ToList();
        Assert.NotEmpty(commands);
        Assert.Equal(FixableIds(), commands[0]);
        var families = RuleCatalogue.All.Select(d => d.Category).Distinct().Where(c => FixableIds(c).Count > 0).ToList();
        Assert.Equal(families.Count, commands.Count - 1);
        foreach (var family in families)
            Assert.Contains(FixableIds(family), commands.Skip(1));
    }

    /// <summary>The command the integration test runs: the README's first dotnet format command.</summary>
    internal static string[] ReadmeFormatAllArguments()
    {
        var section = RepositoryFiles.Read("README.md").ReplaceLineEndings("\n").Split("## Fixing from the command line")[1];
        return FormatCommand.Match(section).Value.Split(' ').Skip(1).ToArray();
    }

    /// <summary>How README and release tracking name a rule's default: its severity, or Disabled for
    /// rules that are off until a severity turns them on.</summary>
    private static string SeverityText(DiagnosticDescriptor d) => d.IsEnabledByDefault ? d.DefaultSeverity.ToString() : "Disabled";

    [Fact]
    public void ReadmeTable_ListsNoUnknownRule()
    {
        foreach (Match match in Regex.Matches(RepositoryFiles.Read("README.md"), @"^\| \[(MSA\d{4})\]", RegexOptions.Multiline))
            Assert.Contains(RuleCatalogue.All, d => d.Id == match.Groups[1].Value);
    }

    /// <summary>The README and the package's description advertise only families that ship a rule.</summary>
    [Fact]
    public void ReadmeAndPackage_AdvertiseOnlyFamiliesThatShip()
    {
        var words = new Dictionary<string, string[]>
        {
            [RuleCategories.Closures] = new[] { "closure", "MSA3", "static lambda" },
            [RuleCategories.UnsafePointers] = new[] { "pointer", "MSA5", "unsafe" },
            [RuleCategories.SharedState] = new[] { "shared state", "MSA6", "Interlocked", "thread" },
        };
        var package = RepositoryFiles.Read("src", "MemSafety.Analyzers.Package", "MemSafety.Analyzers.Package.csproj");
        var advertised = RepositoryFiles.Read("README.md") + Regex.Match(package, "<Description>(.*)</Description>").Groups[1].Value
                         + Regex.Match(package, "<PackageTags>(.*)</PackageTags>").Groups[1].Value;
        foreach (var (family, familyWords) in words)
        {
            if (RuleCatalogue.All.Any(d => d.Category == family))
                continue;
            foreach (var word in familyWords)
                Assert.DoesNotContain(word, advertised, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public void ReadmeOpensWithExactlyTheTwoSetupCommands()
    {
        var readme = RepositoryFiles.Read("README.md").ReplaceLineEndings("\n");
        var firstBlockAfterInstall = readme.Split("## Try it from a clone")[1].Split("```")[1].Trim('\n');
        Assert.Equal(
            "dotnet build samples/MemSafety.Samples -c Release --no-incremental -v:q\ndotnet test MemSafety.Analyzers.sln",
            firstBlockAfterInstall);
        // CI runs the README's test command as written, with no logger of its own: the one Directory.Build.props sets
        // is what shows progress to a reader of the README and prints the summary CI counts.
        Assert.Matches(new Regex(@"^dotnet test MemSafety\.Analyzers\.sln 2>&1 \| tee ""\$log""$", RegexOptions.Multiline), RepositoryFiles.Read(".ci", "run"));
        Assert.Contains("<VSTestLogger Condition=\"'$(VSTestLogger)' == ''\">console%3Bverbosity=normal</VSTestLogger>", RepositoryFiles.Read("Directory.Build.props"));
    }

    [Theory]
    [MemberData(nameof(RuleIds))]
    public void EveryRule_IsReleaseTrackedWithItsCategoryAndSeverity(string id)
    {
        var d = Descriptor(id);
        var tracked = RepositoryFiles.Read("src", "MemSafety.Analyzers", "AnalyzerReleases.Shipped.md")
                      + RepositoryFiles.Read("src", "MemSafety.Analyzers", "AnalyzerReleases.Unshipped.md");
        Assert.Matches(new Regex($@"^{id}\s*\|\s*{Regex.Escape(d.Category)}\s*\|\s*{SeverityText(d)}\s*\|", RegexOptions.Multiline), tracked);
    }

    private static string Preset(string name) => RepositoryFiles.Read("build", $"MemSafety.{name}.globalconfig");

    private static readonly string[] PresetNames = { "Recommended", "Strict", "None" };

    /// <summary>
    /// Recommended is every rule's own default; Strict sets only what differs from it (the escape report, off by
    /// default, on as a suggestion); None turns families off by category. No preset sets a rule that is on by default
    /// by its id: the compiler applies a family switch (<c>dotnet_analyzer_diagnostic.category-MemSafety.Boxing.severity</c>)
    /// only to rules that no key sets by id, so such a line would silently disable the user's family switches.
    /// </summary>
    [Theory]
    [MemberData(nameof(RuleIds))]
    public void EveryRule_IsSetByAPresetOnlyWhereItsDefaultDiffers(string id)
    {
        var d = Descriptor(id);
        // The lock-annotation rules (MSA61xx) report only where the user declared a contract ([GuardedBy], [RequiresLock]),
        // so breaking it is an error; every other rule on by default is a warning.
        Assert.True(!d.IsEnabledByDefault || d.DefaultSeverity == (id.StartsWith("MSA61", StringComparison.Ordinal) ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning),
            $"{id}: Recommended means 'the rule's default', which is a warning for every rule on by default (an error for the lock annotations)");
        var idLine = new Regex($@"^dotnet_diagnostic\.{id}\.severity\s*=\s*(\w+)\s*$", RegexOptions.Multiline);
        Assert.DoesNotMatch(idLine, Preset("Recommended"));
        Assert.DoesNotMatch(idLine, Preset("None"));
        if (d.IsEnabledByDefault)
            Assert.DoesNotMatch(idLine, Preset("Strict"));
        else
            Assert.Equal("suggestion", idLine.Match(Preset("Strict")).Groups[1].Value);
    }

    [Fact]
    public void NonePreset_TurnsOffExactlyTheFamiliesThatShip()
    {
        var families = RuleCatalogue.All.Select(d => d.Category).Distinct().OrderBy(c => c, StringComparer.Ordinal).ToList();
        var off = Regex.Matches(Preset("None"), @"^dotnet_analyzer_diagnostic\.category-(\S+)\.severity = none$", RegexOptions.Multiline)
            .Select(m => m.Groups[1].Value).OrderBy(c => c, StringComparer.Ordinal).ToList();
        Assert.Equal(families, off);
    }

    /// <summary>Installing the package must not change what the .NET SDK's own rules report (the analyzers defer to
    /// them instead), and no preset may set anything but MemSafety keys — except the compiler's ref-safety warnings
    /// that an unsafe context downgraded from errors, which Recommended and Strict raise back to errors (MSA5006):
    /// exactly the ids the rule looks for, in both presets, and nothing in None.</summary>
    [Fact]
    public void Presets_SetOnlyMemSafetyKeys()
    {
        foreach (var name in PresetNames)
        {
            var compilerIds = new List<string>();
            foreach (var line in Preset(name).ReplaceLineEndings("\n").Split('\n'))
            {
                var text = line.Trim();
                if (text.Length == 0 || text.StartsWith('#') || text is "is_global = true" or "global_level = -50")
                    continue;
                var compiler = Regex.Match(text, @"^dotnet_diagnostic\.(CS\d{4})\.severity = error$");
                if (compiler.Success)
                {
                    Assert.True(UnsafeContextHidesRefSafetyErrorAnalyzer.IsDowngradedRefSafetyError(compiler.Groups[1].Value), $"{name}: {text}");
                    compilerIds.Add(compiler.Groups[1].Value);
                    continue;
                }

                Assert.Matches(@"^(dotnet_diagnostic\.MSA\d{4}\.severity|dotnet_analyzer_diagnostic\.category-MemSafety\.\w+\.severity|memsafety\.[\w.]+) = \w+$", text);
            }

            var expected = name == "None"
                ? new List<string>()
                : Enumerable.Range(9000, 200).Select(n => "CS" + n).Where(UnsafeContextHidesRefSafetyErrorAnalyzer.IsDowngradedRefSafetyError).ToList();
            Assert.Equal(expected, compilerIds);
        }
    }

    [Theory]
    [MemberData(nameof(RuleIds))]
    public void EveryRule_HasATestClassWithPositiveAndNegativeCases(string id)
    {
        var d = Descriptor(id);
        var analyzer = RepositoryFiles.Analyzers.Single(a => a.SupportedDiagnostics.Contains(d));
        var ruleName = analyzer.GetType().Name.Replace("Analyzer", string.Empty, StringComparison.Ordinal);
        var path = Path.Combine(RepositoryFiles.Root, "tests", "MemSafety.Analyzers.Tests", RepositoryFiles.Family(d.Category), ruleName + "Tests.cs");
        Assert.True(File.Exists(path), $"{id}: expected tests in {path}");
        var text = File.ReadAllText(path);
        Assert.True(text.Contains("[|", StringComparison.Ordinal) || text.Contains("{|" + id + ":", StringComparison.Ordinal) || text.Contains($"At(\"{id}\"", StringComparison.Ordinal),
            $"{id}: no positive test (markup expecting the diagnostic)");
        Assert.True(Regex.IsMatch(text, @"_NoDiagnostic\w*\("), $"{id}: no negative test (a test named *_NoDiagnostic)");
    }

    [Theory]
    [MemberData(nameof(RuleIds))]
    public void EveryRule_HasASampleBeforeAndAfter(string id)
    {
        var family = RepositoryFiles.Family(Descriptor(id).Category);
        var folder = Path.Combine(RepositoryFiles.Root, "samples", "MemSafety.Samples", family);
        Assert.Single(Directory.Exists(folder) ? Directory.GetFiles(folder, id + ".*.Before.cs") : Array.Empty<string>());
        Assert.Single(Directory.GetFiles(folder, id + ".*.After.cs"));
    }

    [Fact]
    public void EveryOption_IsDocumented()
    {
        var docs = RepositoryFiles.Read("docs", "configuration.md");
        Assert.NotEmpty(MemSafetyOptions.All);
        foreach (var option in MemSafetyOptions.All)
            Assert.Contains($"| `{option.Key}` |", docs);
    }
}
