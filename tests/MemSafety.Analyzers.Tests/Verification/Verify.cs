using System.Threading.Tasks;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.Diagnostics;

namespace MemSafety.Analyzers.Tests.Verification;

/// <summary>Short forms for the common cases; build an <see cref="AnalyzerTest"/> for anything else.</summary>
public static class Verify<TAnalyzer>
    where TAnalyzer : DiagnosticAnalyzer, new()
{
    public static AnalyzerTest Test(string source)
    {
        var test = new AnalyzerTest(new TAnalyzer());
        test.Sources.Add(source);
        return test;
    }

    public static Task AnalyzerAsync(string source) => Test(source).RunAsync();
}

public static class Verify<TAnalyzer, TCodeFix>
    where TAnalyzer : DiagnosticAnalyzer, new()
    where TCodeFix : CodeFixProvider, new()
{
    public static AnalyzerTest Test(string source, string fixedSource)
    {
        var test = new AnalyzerTest(new TAnalyzer()) { CodeFix = new TCodeFix() };
        test.Sources.Add(source);
        test.FixedSources.Add(fixedSource);
        return test;
    }

    public static Task CodeFixAsync(string source, string fixedSource) => Test(source, fixedSource).RunAsync();

    public static Task NoFixAsync(string source)
    {
        var test = new AnalyzerTest(new TAnalyzer()) { CodeFix = new TCodeFix(), ExpectNoFix = true };
        test.Sources.Add(source);
        return test.RunAsync();
    }
}

/// <summary>
/// <see cref="Verify{TAnalyzer, TCodeFix}"/> with analyzer options that every test of a class shares, such as a rule's
/// scope widened past its default so that tests about what the rule finds can use ordinary methods; the class then
/// checks the default scope in a test of its own.
/// </summary>
public sealed class VerifyWithOptions<TAnalyzer, TCodeFix>
    where TAnalyzer : DiagnosticAnalyzer, new()
    where TCodeFix : CodeFixProvider, new()
{
    private readonly (string Key, string Value)[] _options;

    public VerifyWithOptions(params (string Key, string Value)[] options) => _options = options;

    /// <summary>Checks of the testing library that a class of tests leaves out; the class says why.</summary>
    public Microsoft.CodeAnalysis.Testing.CodeFixTestBehaviors CodeFixTestBehaviors { get; init; }

    /// <summary>Rules off by default that every test of the class turns on as warnings, as a user (or the Strict preset)
    /// would; the class checks the default in a test of its own.</summary>
    public string[] Enabled { get; init; } = System.Array.Empty<string>();

    public AnalyzerTest AnalyzerTest(string source) => WithOptions(Verify<TAnalyzer>.Test(source));

    public Task AnalyzerAsync(string source) => AnalyzerTest(source).RunAsync();

    public AnalyzerTest Test(string source, string fixedSource) => WithOptions(Verify<TAnalyzer, TCodeFix>.Test(source, fixedSource));

    public Task CodeFixAsync(string source, string fixedSource) => Test(source, fixedSource).RunAsync();

    public Task NoFixAsync(string source)
    {
        var test = WithOptions(new AnalyzerTest(new TAnalyzer()) { CodeFix = new TCodeFix(), ExpectNoFix = true });
        test.Sources.Add(source);
        return test.RunAsync();
    }

    private AnalyzerTest WithOptions(AnalyzerTest test)
    {
        foreach (var (key, value) in _options)
            test.AnalyzerOptions[key] = value;
        foreach (var id in Enabled)
            test.DiagnosticSeverities[id] = Microsoft.CodeAnalysis.ReportDiagnostic.Warn;
        test.CodeFixTestBehaviors |= CodeFixTestBehaviors;
        return test;
    }
}
