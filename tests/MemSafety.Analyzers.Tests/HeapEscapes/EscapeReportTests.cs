using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.HeapEscapes;
using MemSafety.Analyzers.Tests.Verification;
using Microsoft.CodeAnalysis;

namespace MemSafety.Analyzers.Tests.HeapEscapes;

public sealed class EscapeReportTests
{
    private const string HotPath = "\nsealed class HotPathAttribute : System.Attribute { }\n";

    private static AnalyzerTest Enabled(string source)
    {
        var test = Verify<EscapeReportAnalyzer>.Test(source + HotPath);
        test.DiagnosticSeverities["MSA1000"] = ReportDiagnostic.Info;
        return test;
    }

    [Fact]
    public Task StoredIntoField_ReportsTheReasonAndTheSink()
    {
        var test = Enabled("""
            class Cache
            {
                byte[]? _last;
                [HotPath] void Fill() { var b = {|#0:new byte[16]|}; {|#1:_last = b|}; }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA1000", 0)
            .WithMessage("'new byte[16]' escapes: stored into field '_last'")
            .WithAdditionalLocation(1));
        return test.RunAsync();
    }

    /// <summary>Like <c>go build -gcflags=-m=2</c>: when the value reaches its sink through other locals, the
    /// message names them in order, so the reader can follow it without hunting through the method.</summary>
    [Fact]
    public Task EscapesThroughOtherLocals_MessageShowsThePath()
    {
        var test = Enabled("""
            class Cache
            {
                object? _last;
                [HotPath] void Fill(bool wide)
                {
                    var b = {|#0:new byte[16]|};
                    var chosen = b;
                    if (chosen is byte[] bytes)
                        {|#1:_last = bytes|};
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA1000", 0)
            .WithMessage("'new byte[16]' escapes: assigned to 'chosen' (line 7), matched as 'bytes' (line 8), stored into field '_last'")
            .WithAdditionalLocation(1));
        return test.RunAsync();
    }

    [Fact]
    public Task NonEscaping_SaysItCouldBeAvoided()
    {
        var test = Enabled("class C { [HotPath] int Sum() { var b = {|#0:new int[4]|}; b[0] = 1; return b[0]; } }");
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA1000", 0).WithMessage("'new int[4]' does not escape: it could be avoided or live on the stack"));
        return test.RunAsync();
    }

    [Fact]
    public Task LiveAcrossAwait_SaysTheStateMachineKeepsIt()
    {
        var test = Enabled("""
            using System.Threading.Tasks;
            class C
            {
                [HotPath] async Task<int> Read()
                {
                    var b = {|#0:new byte[8]|};
                    await Task.Yield();
                    return b.Length;
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA1000", 0).WithMessage(
            "'new byte[8]' does not escape, but it is live across 'await' at line 7, so the state machine keeps it on the heap"));
        return test.RunAsync();
    }

    [Fact]
    public Task ObjectsAnonymousObjectsAndReturns_AllReported() => Enabled("""
        using System.Collections.Generic;
        class C
        {
            [HotPath]
            object Build(List<object> sink)
            {
                var list = [|new List<int>()|];
                list.Add(1);
                sink.Add([|new { Count = list.Count }|]);
                return [|new object()|];
            }
        }
        """).RunAsync();

    [Fact]
    public Task LongAllocationText_IsShortened()
    {
        var test = Enabled("class C { [HotPath] int M() { var b = {|#0:new int[] { 1000000, 2000000, 3000000, 4000000, 5000000, 6000000 }|}; return b[0]; } }");
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA1000", 0).WithMessage(
            "'new int[] { 1000000, 2000000, 3000000, 4000000,…' does not escape: it could be avoided or live on the stack"));
        return test.RunAsync();
    }

    [Fact]
    public Task AllocationLongerThanTheReadWindow_ShownFromItsStart()
    {
        // Over 256 characters on one line, then a line break: only the start of the source is read.
        var elements = string.Join(", ", System.Linq.Enumerable.Range(1_000_000, 60));
        var test = Enabled("class C { [HotPath] int M() { var b = {|#0:new int[] { " + elements + ",\n 7 }|}; return b[0]; } }");
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA1000", 0).WithMessage(
            "'new int[] { 1000000, 1000001, 1000002, 1000003,…' does not escape: it could be avoided or live on the stack"));
        return test.RunAsync();
    }

    [Fact]
    public Task AllocationWithABlankRunPastTheReadWindow_ShownAsRendered()
    {
        // The first line ends in more blanks than the read window holds: the whole node decides the text.
        var test = Enabled("class C { [HotPath] object M() { return {|#0:new object(" + new string(' ', 300) + "\n)|}; } }");
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA1000", 0).WithMessage(
            "'new object( …' escapes: returned"));
        return test.RunAsync();
    }

    [Fact]
    public Task GlobConfiguredHotPath_Reported()
    {
        var test = Enabled("namespace App { class Parser { int M() { var b = [|new int[2]|]; return b[1]; } } }");
        test.AnalyzerOptions["memsafety.hot_paths"] = "App.Parser.*";
        return test.RunAsync();
    }

    [Fact]
    public Task ScopeEverywhere_ReportsColdMethodsToo()
    {
        var test = Enabled("class C { int M() { var b = [|new int[2]|]; return b[1]; } }");
        test.AnalyzerOptions["memsafety.MSA1000.scope"] = "everywhere";
        return test.RunAsync();
    }

    /// <summary>The Strict preset sets <c>memsafety.scope = everywhere</c> for census-style rules; the escape
    /// report lists every allocation, so only its own key widens it (45 notes in a 250-line app otherwise).</summary>
    [Fact]
    public Task GeneralScopeEverywhere_ColdMethod_NoDiagnostic()
    {
        var test = Enabled("class C { int M() { var b = new int[2]; return b[1]; } }");
        test.AnalyzerOptions["memsafety.scope"] = "everywhere";
        return test.RunAsync();
    }

    [Fact]
    public Task ColdMethod_NoDiagnostic() => Enabled("class C { int M() { var b = new int[2]; return b[1]; } }").RunAsync();

    [Fact]
    public Task StructCreation_IsNotAHeapAllocation_NoDiagnostic() => Enabled(
        "struct P { public int X; public P(int x) { X = x; } } class C { [HotPath] int M() { var p = new P(1); return p.X; } }").RunAsync();

    [Fact]
    public Task DisabledByDefault_NoDiagnostic() => Verify<EscapeReportAnalyzer>.AnalyzerAsync(
        "class C { [HotPath] int M() { var b = new int[2]; return b[1]; } }" + HotPath);

    [Fact]
    public Task LoopsAreNotHotByThemselves_NoDiagnostic() => Enabled(
        "class C { int M() { var t = 0; for (var i = 0; i < 3; i++) { var b = new int[2]; t += b.Length; } return t; } }").RunAsync();

    [Fact]
    public Task AttributeApplications_NoDiagnostic() => Enabled(
        "[HotPath] class C { [System.Obsolete(\"old\")] [HotPath] int M() => 1; }").RunAsync();

    [Fact]
    public Task GeneratedCode_NoDiagnostic() => Enabled("// <auto-generated/>\nclass C { [HotPath] int M() { var b = new int[2]; return b[1]; } }").RunAsync();

    [Fact]
    public Task IncompleteCode_NoDiagnosticAndNoCrash()
    {
        var test = Enabled("class C { [HotPath] int M() { var b = new int[; return b. } }");
        test.AllowCompilerErrors = true;
        return test.RunAsync();
    }
}
