using System.IO;
using System.Linq;
using MemSafety.Analyzers.Tests.Infrastructure;

namespace MemSafety.Analyzers.Tests.Integration;

/// <summary>What the README and docs/configuration.md promise about configuration, in real builds and a real
/// <c>dotnet format</c> of the packed package.</summary>
[Trait("Category", "Integration")]
[Collection(PackageCollection.Name)]
public sealed class ConfigurationIntegrationTests
{
    private const string ThreeFamilies = """
        using System.Collections.Generic;

        namespace App
        {
            public struct Cell
            {
                public int Row;
                public int Column;
            }

            // MSA1001 is census-style (hot paths by default): an attribute named HotPathAttribute marks one.
            public sealed class HotPathAttribute : System.Attribute { }

            public sealed class Catalog
            {
                private readonly Dictionary<Cell, int> _index = new Dictionary<Cell, int>();

                public int Count => _index.Count;

                [HotPath]
                public static int Checksum(int n)
                {
                    int[] buffer = new int[4];
                    for (var i = 0; i < buffer.Length; i++)
                        buffer[i] = i * n;
                    var total = 0;
                    foreach (var x in buffer)
                        total += x;
                    return total;
                }

                ~Catalog()
                {
                }
            }
        }
        """;

    private readonly PackageFixture _package;

    public ConfigurationIntegrationTests(PackageFixture package) => _package = package;

    /// <summary>Family keys (<c>dotnet_analyzer_diagnostic.category-MemSafety.*.severity</c>) turn a family off, on
    /// or into errors under every preset. The compiler applies them only to rules that no key sets by id, so the
    /// presets must not set rules by id.</summary>
    [Theory]
    [InlineData("Recommended")]
    [InlineData("Strict")]
    [InlineData("None")]
    public void FamilySwitches_WorkUnderEveryPreset(string preset)
    {
        var dir = _package.CreateConsumer("Families" + preset, ThreeFamilies, $"<MemSafetyMode>{preset}</MemSafetyMode>", editorConfig: """
            dotnet_diagnostic.CA1821.severity = none
            dotnet_analyzer_diagnostic.category-MemSafety.HeapEscapes.severity = warning
            dotnet_analyzer_diagnostic.category-MemSafety.Boxing.severity = none
            dotnet_analyzer_diagnostic.category-MemSafety.Finalizers.severity = error
            """);
        var build = _package.Build(dir);
        Assert.Contains("warning MSA1001", build.Output);
        Assert.DoesNotContain("MSA2003", build.Output);
        Assert.Contains("error MSA4001", build.Output);
        Assert.True(build.ExitCode != 0, build.ToString());
    }

    private const string FixableBySdkAndUs = """
        using System;
        using System.Collections.Generic;

        namespace App
        {
            public struct Cell
            {
                public int Row;
                public int Column;
            }

            // MSA1001 is census-style (hot paths by default): an attribute named HotPathAttribute marks one.
            public sealed class HotPathAttribute : Attribute { }

            public sealed class Catalog
            {
                private readonly Dictionary<Cell, int> _index = new Dictionary<Cell, int>();

                public int Count => _index.Count;

                [HotPath]
                public int Checksum(int n)
                {
                    int[] buffer = new int[4];
                    for (var i = 0; i < buffer.Length; i++)
                        buffer[i] = i * n;
                    var total = 0;
                    foreach (var x in buffer)
                        total += x;
                    return total;
                }

                public bool HasComma(string s) => s.IndexOf(",") >= 0;

                public static int[] Nothing() => new int[0];
            }
        }
        """;

    /// <summary>The README's command for every MemSafety fix, run as written in a project where the SDK's fixes
    /// apply too (without --diagnostics, CA1822 makes HasComma static, CA2249 uses Contains, CA1825 Array.Empty):
    /// only the lines MemSafety reports change, and the project still builds.</summary>
    [Fact]
    public void ReadmeFixCommand_AppliesTheMemSafetyFixesAndNothingElse()
    {
        var everything = _package.CreateConsumer("FormatEverything", FixableBySdkAndUs);
        var unrestricted = _package.Dotnet(everything, "format", "analyzers", "--severity", "info");
        Assert.True(unrestricted.ExitCode == 0, unrestricted.ToString());
        var sdkFixed = File.ReadAllText(Path.Combine(everything, "Code.cs"));
        // CA1822 makes a public method static (an API change), CA2249 rewrites IndexOf, CA1825 uses Array.Empty.
        Assert.True(sdkFixed.Contains("public static bool HasComma(string s) => s.Contains(", System.StringComparison.Ordinal)
                    && sdkFixed.Contains("Array.Empty<int>()", System.StringComparison.Ordinal), unrestricted + "\n" + sdkFixed);

        var dir = _package.CreateConsumer("FormatMemSafety", FixableBySdkAndUs);
        var command = CatalogueConsistencyTests.ReadmeFormatAllArguments();
        Assert.Equal("format", command[0]);
        var format = _package.Dotnet(dir, command);
        Assert.True(format.ExitCode == 0, format.ToString());

        var code = File.ReadAllText(Path.Combine(dir, "Code.cs")).ReplaceLineEndings("\n");
        var before = FixableBySdkAndUs.ReplaceLineEndings("\n").Split('\n').Select(l => l.Trim()).ToHashSet();
        var after = code.Split('\n').Select(l => l.Trim()).ToHashSet();
        Assert.Equal(new[] { "int[] buffer = new int[4];", "public struct Cell" }, before.Except(after).OrderBy(l => l, System.StringComparer.Ordinal));
        Assert.Contains("public struct Cell : IEquatable<Cell>", code);
        Assert.Contains("Span<int> buffer = stackalloc int[4];", code);

        var build = _package.Build(dir);
        Assert.True(build.ExitCode == 0, build.ToString() + "\n" + code);
    }

    private const string ManualLocks = """
        using System.Collections.Generic;
        using System.Threading;

        namespace App
        {
            public sealed class Inventory
            {
                private readonly Dictionary<string, int> _counts = new Dictionary<string, int>();
                private int _total;

                // MSA6005 without a fix: 'total' is declared under the lock and read after it.
                public int Total()
                {
                    Monitor.Enter(_counts);
                    var total = _total;
                    Monitor.Exit(_counts);
                    return total;
                }

                public int Sum()
                {
                    Monitor.Enter(_counts);
                    var sum = _total + _counts.Count;
                    Monitor.Exit(_counts);
                    return sum;
                }

                public void Reset()
                {
                    Monitor.Enter(_counts);
                    _counts.Clear();
                    _total = 0;
                    Monitor.Exit(_counts);
                }
            }
        }
        """;

    /// <summary>dotnet format takes the equivalence key of the fix of the first diagnostic it lists, in no fixed order;
    /// where that one has no fix it passes no key, and Roslyn's batch fixer then fixed none of the rule's findings
    /// ("Unable to fix MSA6005 ... didn't return a Fix All action"). The README's command fixes the one that has a fix,
    /// whichever comes first.</summary>
    [Fact]
    public void ReadmeFixCommand_RuleWithFindingsThatHaveNoFix_FixesTheOthers()
    {
        var dir = _package.CreateConsumer("FormatUnfixableFirst", ManualLocks);
        var format = _package.Dotnet(dir, CatalogueConsistencyTests.ReadmeFormatAllArguments());
        Assert.True(format.ExitCode == 0, format.ToString());
        Assert.DoesNotContain("Unable to fix", format.Output);

        var code = File.ReadAllText(Path.Combine(dir, "Code.cs")).ReplaceLineEndings("\n");
        Assert.Contains("lock (_counts)\n            {\n                _counts.Clear();", code);
        Assert.Contains("Monitor.Enter(_counts);\n            var total = _total;", code);
        Assert.Contains("Monitor.Enter(_counts);\n            var sum = _total + _counts.Count;", code);
    }
}
