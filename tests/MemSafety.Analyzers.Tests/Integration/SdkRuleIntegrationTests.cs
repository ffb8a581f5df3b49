using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace MemSafety.Analyzers.Tests.Integration;

/// <summary>
/// Installing the package must never take a finding away from the user and never report one node twice. The SDK's
/// CA1825, CA1861, CA1846 and CA1821 report some of the nodes MSA1008, MSA1005, MSA1004 and MSA4001 report (and
/// CA1859 sits next to MSA2006). The same project is built without the package (what the user had) and with it,
/// at the SDK's default analysis mode (those rules are suggestions) and with <c>AnalysisMode=All</c> (warnings),
/// and the SARIF 2.1 logs, which list suggestions too, are compared.
/// </summary>
[Trait("Category", "Integration")]
[Collection(PackageCollection.Name)]
public sealed class SdkRuleIntegrationTests
{
    private const string Source = """
        using System;
        using System.Collections.Generic;

        namespace App
        {
            public static class Cold
            {
                public static bool IsVowel(char c) => Array.IndexOf(new[] { 'a', 'e', 'i', 'o', 'u' }, c) >= 0;
            }

            // The census rules (MSA1004, MSA1005, MSA2006) report in hot paths by default: an attribute named
            // HotPathAttribute marks one.
            [AttributeUsage(AttributeTargets.All)]
            public sealed class HotPathAttribute : Attribute { }

            [HotPath]
            public static class Text
            {

                public static int CountSeparators(string s)
                {
                    var n = 0;
                    foreach (var c in s)
                    {
                        if (Array.IndexOf(new[] { ',', ';' }, c) >= 0)
                            n++;
                    }

                    return n;
                }

                public static int SumDigits(string s)
                {
                    var total = 0;
                    for (var i = 0; i < s.Length; i++)
                    {
                        if (int.TryParse(s.Substring(i, 1), out var digit))
                            total += digit;
                    }

                    return total;
                }

                public static int CountPairs(string s)
                {
                    var n = 0;
                    for (var i = 0; i + 2 <= s.Length; i++)
                    {
                        if (s.Substring(i, 2) == "ab")
                            n++;
                    }

                    return n;
                }

                public static int Total()
                {
                    var t = 0;
                    for (var i = 0; i < 3; i++)
                    {
                        foreach (var x in new[] { 1, 2, 3 })
                            t += x;
                    }

                    return t;
                }

                public static int[] None() => new int[0];

                public static int Items()
                {
                    IList<int> items = new List<int> { 1, 2 };
                    items.Add(3);
                    var n = 0;
                    for (var i = 0; i < 2; i++)
                    {
                        foreach (var x in items)
                            n += x;
                    }

                    return n;
                }
            }

            public sealed class Handle
            {
                ~Handle()
                {
                }
            }
        }
        """;

    private static readonly (string Sdk, string Ours)[] Pairs =
    {
        ("CA1825", "MSA1008"), ("CA1861", "MSA1005"), ("CA1846", "MSA1004"), ("CA1821", "MSA4001"), ("CA1859", "MSA2006"),
    };

    private readonly PackageFixture _package;

    public SdkRuleIntegrationTests(PackageFixture package) => _package = package;

    /// <summary>1-based line of the first source line containing <paramref name="text"/>.</summary>
    private static int Line(string text)
        => Source.ReplaceLineEndings("\n").Split('\n').Select((line, index) => (line, index)).First(l => l.line.Contains(text, StringComparison.Ordinal)).index + 1;

    private List<Finding> Findings(string dir)
    {
        var log = Path.Combine(dir, "build.sarif");
        var build = _package.Build(dir, SarifLog.Argument(log));
        Assert.True(build.ExitCode == 0, build.ToString());
        return SarifLog.Read(log).Where(f => f.File == "Code.cs").ToList();
    }

    [Theory]
    [InlineData("Default", "")]
    [InlineData("AnalysisModeAll", "<AnalysisMode>All</AnalysisMode>")]
    public void InstallingThePackage_KeepsEveryFinding_AndReportsNoNodeTwice(string name, string properties)
    {
        var before = Findings(_package.CreateConsumer("Sdk" + name + "Without", Source, properties, withPackage: false));
        var after = Findings(_package.CreateConsumer("Sdk" + name + "With", Source, properties));
        var report = $"without the package:\n  {string.Join("\n  ", before)}\nwith it:\n  {string.Join("\n  ", after)}";

        // The SDK's rules run and report the overlapping code.
        foreach (var (sdk, _) in Pairs)
            Assert.True(before.Any(f => f.RuleId == sdk), $"{sdk} does not report here\n{report}");

        // Nothing the user had is gone or changed: same rule, same place, same level.
        foreach (var finding in before)
            Assert.True(after.Any(f => f.SameAs(finding) && f.Level == finding.Level), $"lost: {finding}\n{report}");

        // No node is reported by both rules of a pair.
        foreach (var (sdk, ours) in Pairs)
        {
            foreach (var mine in after.Where(f => f.RuleId == ours))
                Assert.False(after.Any(f => f.RuleId == sdk && (f.Covers(mine) || mine.Covers(f))), $"reported twice: {mine}\n{report}");
        }

        // MemSafety keeps what the SDK's rules do not see.
        Assert.True(after.Any(f => f.RuleId == "MSA1005" && f.StartLine == Line("new[] { 1, 2, 3 }")), report);
        Assert.True(after.Any(f => f.RuleId == "MSA1004" && f.StartLine == Line("s.Substring(i, 2)")), report);
        Assert.True(after.Any(f => f.RuleId == "MSA2006" && f.StartLine == Line("foreach (var x in items)")), report);
        if (name == "AnalysisModeAll")
            Assert.True(after.Any(f => f.RuleId == "CA1861" && f.Level == "warning" && f.StartLine == Line("'a', 'e'")), report);
    }

    /// <summary>The documented way to prefer a MemSafety rule: turn the SDK rule off, and the MemSafety rule
    /// reports its nodes.</summary>
    [Fact]
    public void SdkRulesTurnedOff_TheMemSafetyRulesReportTheirNodes()
    {
        var dir = _package.CreateConsumer("SdkRulesOff", Source, editorConfig: """
            dotnet_diagnostic.CA1825.severity = none
            dotnet_diagnostic.CA1861.severity = none
            dotnet_diagnostic.CA1846.severity = none
            dotnet_diagnostic.CA1821.severity = none
            """);
        var findings = Findings(dir);
        var report = string.Join("\n  ", findings);
        Assert.DoesNotContain(findings, f => f.RuleId is "CA1825" or "CA1861" or "CA1846" or "CA1821");
        Assert.True(findings.Any(f => f.RuleId == "MSA1008" && f.Level == "warning" && f.StartLine == Line("new int[0]")), report);
        Assert.True(findings.Any(f => f.RuleId == "MSA1005" && f.StartLine == Line("new[] { ',', ';' }")), report);
        Assert.True(findings.Any(f => f.RuleId == "MSA1004" && f.StartLine == Line("s.Substring(i, 1)")), report);
        Assert.True(findings.Any(f => f.RuleId == "MSA4001" && f.StartLine == Line("~Handle()")), report);
        // Cold code stays out of MSA1005's default scope (hot paths).
        Assert.False(findings.Any(f => f.RuleId == "MSA1005" && f.StartLine == Line("'a', 'e'")), report);
    }
}
