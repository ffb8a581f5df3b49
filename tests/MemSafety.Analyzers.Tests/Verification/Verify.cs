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
