using System.Collections.Generic;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Tests.Verification;

namespace MemSafety.Analyzers.Tests.Infrastructure;

public sealed class OptionsTests
{
    private static readonly Int32Option Budget = new("memsafety.test_budget", 1024, 0, 4096, "test");
    private static readonly BooleanOption Flag = new("memsafety.test_flag", false, "test");

    private static MemSafetyOptions With(params (string Key, string Value)[] values)
    {
        var dictionary = new Dictionary<string, string>();
        foreach (var (key, value) in values)
            dictionary[key] = value;
        return new MemSafetyOptions(new TestAnalyzerConfigOptionsProvider(dictionary).GlobalOptions);
    }

    [Theory]
    [InlineData("2048", 2048)]
    [InlineData(" 512 ", 512)]
    [InlineData("0", 0)]
    [InlineData("4097", 1024)]
    [InlineData("-1", 1024)]
    [InlineData("lots", 1024)]
    [InlineData("", 1024)]
    [InlineData("1e3", 1024)]
    public void Int32Option_ParsesInRangeValuesElseDefault(string raw, int expected)
        => Assert.Equal(expected, With(("memsafety.test_budget", raw)).Get(Budget));

    [Fact]
    public void UnsetOptions_ReturnDefaults()
    {
        var options = With();
        Assert.Equal(1024, options.Get(Budget));
        Assert.False(options.Get(Flag));
        Assert.Null(options.GetRaw(MemSafetyOptions.HotPaths));
        Assert.Equal(RuleScope.HotPaths, options.GetScope("MSA2001", RuleScope.HotPaths));
        Assert.Equal(1024, default(MemSafetyOptions).Get(Budget));
    }

    [Theory]
    [InlineData("true", true)]
    [InlineData("True", true)]
    [InlineData("false", false)]
    [InlineData("yes", false)]
    public void BooleanOption_ParsesOrDefaults(string raw, bool expected)
        => Assert.Equal(expected, With(("memsafety.test_flag", raw)).Get(Flag));

    [Fact]
    public void Scope_RuleKeyBeatsGlobalKeyBeatsRuleDefault()
    {
        Assert.Equal(RuleScope.Everywhere, With(("memsafety.scope", "everywhere")).GetScope("MSA2001", RuleScope.HotPaths));
        Assert.Equal(RuleScope.HotPathsAndLoops,
            With(("memsafety.scope", "everywhere"), ("memsafety.MSA2001.scope", "hot_paths_and_loops")).GetScope("MSA2001", RuleScope.HotPaths));
        Assert.Equal(RuleScope.Everywhere,
            With(("memsafety.scope", "everywhere"), ("memsafety.MSA2002.scope", "hot_paths")).GetScope("MSA2001", RuleScope.HotPaths));
    }

    [Fact]
    public void Scope_InvalidValuesFallBack()
    {
        Assert.Equal(RuleScope.HotPaths, With(("memsafety.scope", "sometimes")).GetScope("MSA2001", RuleScope.HotPaths));
        Assert.Equal(RuleScope.Everywhere,
            With(("memsafety.scope", "everywhere"), ("memsafety.MSA2001.scope", "nowhere")).GetScope("MSA2001", RuleScope.HotPaths));
        Assert.Equal(RuleScope.HotPaths, With(("memsafety.scope", "HOT_PATHS")).GetScope("MSA2001", RuleScope.Everywhere));
    }

    [Theory]
    [InlineData("*", "A.B.C", true)]
    [InlineData("A.B.*", "A.B.C", true)]
    [InlineData("A.B.*", "A.BC.D", false)]
    [InlineData("*.Parse*", "App.Json.Parser.ParseValue", true)]
    [InlineData("*.Parse", "App.Json.Parser.ParseValue", false)]
    [InlineData("App.?arser.M", "App.Parser.M", true)]
    [InlineData("App.?arser.M", "App.arser.M", false)]
    [InlineData("App.Parser..ctor", "App.Parser..ctor", true)]
    [InlineData("", "", true)]
    [InlineData("", "A", false)]
    [InlineData("a*b*c", "aXXbYYc", true)]
    [InlineData("a*b*c", "aXXbYY", false)]
    [InlineData("App.*", "app.X", false)]
    public void Glob_MatchesWholeNamesOrdinally(string pattern, string text, bool expected)
        => Assert.Equal(expected, Glob.IsMatch(pattern, text));
}
