using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.Finalizers;
using MemSafety.Analyzers.Rules.HeapEscapes;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Tests.Verification;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace MemSafety.Analyzers.Tests.Infrastructure;

/// <summary>
/// Installing the package must never take a finding away from the user, nor report one node twice. MSA1008, MSA1005,
/// MSA1004 and MSA4001 overlap the SDK's CA1825, CA1861, CA1846 and CA1821; they leave to the SDK rule exactly the
/// nodes it reports, while it is on. These tests run the real SDK analyzers (Microsoft.CodeAnalysis.NetAnalyzers
/// 10.0.111) next to ours on the same code, three ways: SDK analyzers absent, present with the rule at its default,
/// present with the rule turned off.
/// </summary>
public sealed class SdkRuleDeferenceTests
{
    private static readonly Lazy<ImmutableArray<DiagnosticAnalyzer>> NetAnalyzers = new(LoadNetAnalyzers);

    private static ImmutableArray<DiagnosticAnalyzer> LoadNetAnalyzers()
    {
        var directory = Path.Combine(AppContext.BaseDirectory, "NetAnalyzers");
        var result = ImmutableArray.CreateBuilder<DiagnosticAnalyzer>();
        foreach (var name in new[] { "Microsoft.CodeAnalysis.NetAnalyzers.dll", "Microsoft.CodeAnalysis.CSharp.NetAnalyzers.dll" })
        {
            var assembly = AssemblyLoadContext.Default.LoadFromAssemblyPath(Path.Combine(directory, name));
            Type?[] types;
            try
            {
                types = assembly.GetTypes();
            }
            catch (ReflectionTypeLoadException e)
            {
                types = e.Types; // Visual Basic analyzers need an assembly we do not load
            }

            foreach (var type in types)
            {
                if (type is null || type.IsAbstract || !typeof(DiagnosticAnalyzer).IsAssignableFrom(type)
                    || type.GetCustomAttribute<DiagnosticAnalyzerAttribute>() is not { } attribute || !attribute.Languages.Contains(LanguageNames.CSharp)
                    || type.GetConstructor(Type.EmptyTypes) is null)
                {
                    continue;
                }

                result.Add((DiagnosticAnalyzer)Activator.CreateInstance(type)!);
            }
        }

        return result.ToImmutable();
    }

    private static DiagnosticAnalyzer Sdk(string id)
        => NetAnalyzers.Value.Single(a => a.SupportedDiagnostics.Any(d => d.Id == id));

    public static TheoryData<string> SdkRuleIds()
    {
        var data = new TheoryData<string>();
        foreach (var rule in SdkRule.All)
            data.Add(rule.Id);
        return data;
    }

    /// <summary>What <see cref="SdkRules"/> assumes about each rule (category for bulk keys, default severity)
    /// is what the SDK's descriptors say.</summary>
    [Theory]
    [MemberData(nameof(SdkRuleIds))]
    public void SdkRule_MatchesTheNetAnalyzersDescriptor(string id)
    {
        var rule = SdkRule.All.Single(r => r.Id == id);
        var descriptor = Sdk(id).SupportedDiagnostics.Single(d => d.Id == id);
        Assert.Equal(rule.IsEnabledByDefault, descriptor.IsEnabledByDefault);
        Assert.Equal(rule.Category, descriptor.Category);
        Assert.Equal(descriptor.DefaultSeverity switch
        {
            DiagnosticSeverity.Info => ReportDiagnostic.Info,
            DiagnosticSeverity.Warning => ReportDiagnostic.Warn,
            DiagnosticSeverity.Error => ReportDiagnostic.Error,
            _ => ReportDiagnostic.Hidden,
        }, rule.DefaultSeverity);
    }

    // ------------------------------------------------------------------ the overlapping pairs, side by side

    private const string ZeroLengthArrays = """
        class C
        {
            static readonly int[] Shared = new int[0];
            readonly object _gate = new object[0];
            int[] A() => new int[0];
            int[] B() => new int[] { };
            long[] L() => new long[0L];
            int[] U() => new int[0u];
            static void P(params int[] values) { }
            void Q() { P(new int[0]); P(); }
            bool Same(int[] x) => x == new int[0];
            string[][] J() => new string[0][];
        }
        """;

    private const string ConstantArrays = """
        using System;
        using System.Linq;

        class C
        {
            static string[] s_parts = Array.Empty<string>();
            static bool IsVowel(char c) => Array.IndexOf(new[] { 'a', 'e', 'i', 'o', 'u' }, c) >= 0;
            static int InLoop(string s) { var n = 0; foreach (var c in s) if (new[] { 'x', 'y' }.Contains(c)) n++; return n; }
            static int Enumerated() { var t = 0; foreach (var x in new[] { 1, 2, 3 }) t += x; return t; }
            static int Indexed(int i) { var table = new[] { 10, 20, 30 }; return table[i]; }
            static int Longs(long x) => Array.IndexOf(new long[] { 1, 2 }, x);
            static int Negative(int x) => Array.IndexOf(new[] { -1, 1 }, x);
            static string[] Split(string s) => s.Split(new[] { ',', ';' });
            static void Assign(string s) { s_parts = s.Split(new[] { ',' }); }
            static string Names(string[] names) => string.Join(", ", names.Where(n => new[] { "a", "b" }.Contains(n)));
            static bool Decimals(decimal d) => new[] { 1.5m, 2m }.Contains(d);
        }
        """;

    private const string EmptyFinalizers = """
        using System.Diagnostics;

        class A { ~A() { } }
        class B { ~B() { ; } }
        class D { ~D() { Debug.WriteLine("x"); Debug.Assert(true); } }
        class E { ~E() => Debug.WriteLine("x"); }
        class F { ~F() { throw new System.Exception(); } }
        class G { ~G() { return; } }
        class H { int _x; ~H() { _x = 0; } }
        """;

    private const string Substrings = """
        using System;
        using System.IO;
        using System.Text;

        class C
        {
            static int Count(ReadOnlySpan<char> text) => text.Length;

            void M(string s, StringBuilder sb, StringWriter writer)
            {
                int.TryParse(s.Substring(1), out var n);
                Guid.Parse(s.Substring(1));
                sb.Append(s.Substring(1));
                writer.Write(s.Substring(1));
                Count(s.Substring(1));
                var equal = s.Substring(1, 2) == "ab";
                var head = s.Substring(0, 3);
                if (head == "abc") sb.Append(head);
                var trimmed = int.Parse(s.Trim());
            }
        }
        """;

    private const string WeakIdentityLocks = """
        using System.Reflection;
        using System.Threading;

        public class C
        {
            private const string Name = "c";
            private readonly MethodInfo _method = typeof(C).GetMethod(nameof(M))!;
            private readonly Thread _thread = new Thread(() => { });
            private readonly MemberInfo _member = typeof(C);
            private readonly System.Type _type = typeof(string);
            private object _reassigned = new object();
            public readonly int[] Numbers = new int[4];
            public readonly System.Collections.Generic.List<int> Items = new();
            public void M()
            {
                lock ("literal") { }
                lock (Name) { }
                lock (typeof(C)) { }
                lock (GetType()) { }
                lock (_method) { }
                lock (_thread) { }
                lock (_member) { }
                lock (_type) { }
                lock (Thread.CurrentThread) { }
                lock (Numbers) { }
                lock (this) { }
                lock (Items) { }
                lock (_reassigned) { }
                Monitor.Enter(typeof(C));
            }
            public void Reset() { _reassigned = new object(); }
        }
        """;

    public static TheoryData<string, string, string> Pairs() => new()
    {
        { "CA2002", "MSA6004", WeakIdentityLocks },
        { "CA1825", "MSA1008", ZeroLengthArrays },
        { "CA1861", "MSA1005", ConstantArrays },
        { "CA1821", "MSA4001", EmptyFinalizers },
        { "CA1846", "MSA1004", Substrings },
    };

    private static DiagnosticAnalyzer Ours(string id) => RepositoryFiles.Analyzers.Single(a => a.SupportedDiagnostics.Any(d => d.Id == id));

    private sealed record Reported(string Id, Microsoft.CodeAnalysis.Text.TextSpan Span, string Text)
    {
        /// <summary>The same finding: CA1846 reports the call that receives the Substring, MSA1004 the Substring
        /// inside it; the other pairs report the same span.</summary>
        public bool Covers(Reported other) => Span.Contains(other.Span);

        public override string ToString() => $"{Id} {Span} '{Text}'";
    }

    private static async Task<List<Reported>> RunAsync(string source, string sdkId, string ourId, bool sdkLoaded, bool sdkOff)
    {
        var analyzers = sdkLoaded ? new[] { Ours(ourId), Sdk(sdkId) } : new[] { Ours(ourId) };
        var test = new AnalyzerTest(analyzers);
        test.Sources.Add(source);
        // Everywhere: the census-style rules look at every method, so every overlap shows.
        test.AnalyzerOptions["memsafety.scope"] = "everywhere";
        // lock (this) in a public type too (MSA6004 reports it under Strict), so the overlap with CA2002 shows.
        test.AnalyzerOptions["memsafety.MSA6004.lock_this"] = "true";
        // What the package's targets write when the SDK's analyzers are passed to the compiler.
        if (sdkLoaded)
            test.AnalyzerOptions[SdkRules.NetAnalyzersProperty] = "true";
        if (sdkOff)
            test.DiagnosticSeverities[sdkId] = ReportDiagnostic.Suppress;
        else if (sdkLoaded && !SdkRule.All.Single(r => r.Id == sdkId).IsEnabledByDefault)
            test.DiagnosticSeverities[sdkId] = ReportDiagnostic.Warn; // as AnalysisMode=All or a user's own key sets it
        
        var diagnostics = await test.AnalyzeAsync();
        return diagnostics
            .Where(d => d.Id == sdkId || d.Id == ourId)
            .Select(d => new Reported(d.Id, d.Location.SourceSpan, d.Location.SourceTree!.GetText().ToString(d.Location.SourceSpan)))
            .ToList();
    }

    /// <summary>With the SDK rule on, no node is reported by both, and every node our rule reports on its own (SDK
    /// analyzers absent or the rule off) is still reported by one of the two: nothing is lost.</summary>
    [Theory]
    [MemberData(nameof(Pairs))]
    public async Task SdkRuleOn_EachNodeReportedOnce_AndNoneLost(string sdkId, string ourId, string source)
    {
        var alone = await RunAsync(source, sdkId, ourId, sdkLoaded: false, sdkOff: false);
        var sdkOff = await RunAsync(source, sdkId, ourId, sdkLoaded: true, sdkOff: true);
        var both = await RunAsync(source, sdkId, ourId, sdkLoaded: true, sdkOff: false);
        var sdkNodes = both.Where(d => d.Id == sdkId).ToList();
        var ourNodes = both.Where(d => d.Id == ourId).ToList();

        Assert.NotEmpty(alone);
        Assert.NotEmpty(sdkNodes);
        Assert.True(!ourNodes.Any(o => sdkNodes.Any(c => c.Covers(o) || o.Covers(c))), string.Join("; ", sdkNodes));
        Assert.Equal(alone.OrderBy(d => d.Span.Start), sdkOff.OrderBy(d => d.Span.Start));
        Assert.DoesNotContain(alone, a => !ourNodes.Contains(a) && !sdkNodes.Any(c => c.Covers(a)));
    }

    /// <summary>The overlap is real: without deference, these sources would have nodes reported twice.</summary>
    [Theory]
    [MemberData(nameof(Pairs))]
    public async Task WithoutDeference_TheRulesWouldOverlap(string sdkId, string ourId, string source)
    {
        var alone = await RunAsync(source, sdkId, ourId, sdkLoaded: false, sdkOff: false);
        var sdkNodes = (await RunAsync(source, sdkId, ourId, sdkLoaded: true, sdkOff: false)).Where(d => d.Id == sdkId).ToList();
        Assert.Contains(alone, a => sdkNodes.Any(c => c.Covers(a)));
    }

    /// <summary>Our rule keeps the nodes the SDK rule does not report (else it would be no use next to it).</summary>
    [Theory]
    [InlineData("CA1861", "MSA1005", ConstantArrays, "Enumerated")]
    [InlineData("CA1861", "MSA1005", ConstantArrays, "Indexed")]
    [InlineData("CA1861", "MSA1005", ConstantArrays, "Longs")]
    [InlineData("CA1846", "MSA1004", Substrings, "equal")]
    [InlineData("CA1846", "MSA1004", Substrings, "trimmed")]
    [InlineData("CA2002", "MSA6004", WeakIdentityLocks, "lock (Items)")]
    [InlineData("CA2002", "MSA6004", WeakIdentityLocks, "lock (_reassigned)")]
    public async Task SdkRuleOn_OurRuleKeepsWhatItAloneSees(string sdkId, string ourId, string source, string member)
    {
        var line = source.ReplaceLineEndings("\n").Split('\n').Select((text, index) => (text, index)).First(l => l.text.Contains(member, StringComparison.Ordinal)).index;
        var tree = CSharpSyntaxTree.ParseText(source);
        var both = await RunAsync(source, sdkId, ourId, sdkLoaded: true, sdkOff: false);
        Assert.Contains(both, d => d.Id == ourId && tree.GetLineSpan(d.Span).StartLinePosition.Line == line);
    }

    // ------------------------------------------------------------------ effective severity, resolved as the compiler does

    private sealed class TreeOptions : SyntaxTreeOptionsProvider
    {
        public Dictionary<string, ReportDiagnostic> File { get; } = new();

        public Dictionary<string, ReportDiagnostic> Global { get; } = new();

        public override GeneratedKind IsGenerated(SyntaxTree tree, CancellationToken cancellationToken) => GeneratedKind.NotGenerated;

        public override bool TryGetDiagnosticValue(SyntaxTree tree, string diagnosticId, CancellationToken cancellationToken, out ReportDiagnostic severity)
            => File.TryGetValue(diagnosticId, out severity);

        public override bool TryGetGlobalDiagnosticValue(string diagnosticId, CancellationToken cancellationToken, out ReportDiagnostic severity)
            => Global.TryGetValue(diagnosticId, out severity);
    }

    private static bool Reports(Action<TreeOptions, Dictionary<string, string>, Dictionary<string, ReportDiagnostic>> configure, bool loaded = true)
    {
        var treeOptions = new TreeOptions();
        var config = new Dictionary<string, string>();
        var specific = new Dictionary<string, ReportDiagnostic>();
        if (loaded)
            config[SdkRules.NetAnalyzersProperty] = "true";
        configure(treeOptions, config, specific);
        var tree = CSharpSyntaxTree.ParseText("class C { }");
        var compilation = CSharpCompilation.Create("T", new[] { tree }, options: new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary)
            .WithSpecificDiagnosticOptions(specific)
            .WithSyntaxTreeOptionsProvider(treeOptions));
        var options = new AnalyzerOptions(ImmutableArray<AdditionalText>.Empty, new TestAnalyzerConfigOptionsProvider(config));
        return new SdkRules(compilation, options).Reports(SdkRule.AvoidConstantArraysAsArguments, tree, CancellationToken.None);
    }

    [Fact]
    public void Default_Reports() => Assert.True(Reports((_, _, _) => { }));

    private static bool ReportsWeakIdentity(Action<TreeOptions, Dictionary<string, string>, Dictionary<string, ReportDiagnostic>> configure)
    {
        var treeOptions = new TreeOptions();
        var config = new Dictionary<string, string> { [SdkRules.NetAnalyzersProperty] = "true" };
        var specific = new Dictionary<string, ReportDiagnostic>();
        configure(treeOptions, config, specific);
        var tree = CSharpSyntaxTree.ParseText("class C { }");
        var compilation = CSharpCompilation.Create("T", new[] { tree }, options: new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary)
            .WithSpecificDiagnosticOptions(specific)
            .WithSyntaxTreeOptionsProvider(treeOptions));
        var options = new AnalyzerOptions(ImmutableArray<AdditionalText>.Empty, new TestAnalyzerConfigOptionsProvider(config));
        return new SdkRules(compilation, options).Reports(SdkRule.DoNotLockOnObjectsWithWeakIdentity, tree, CancellationToken.None);
    }

    /// <summary>CA2002 is off by default: only a key that names it turns it on; bulk keys do not (Roslyn applies them
    /// to rules that are on by default), and "default" by id means off.</summary>
    [Fact]
    public void OffByDefaultRule_OnlyAnIdKeyTurnsItOn()
    {
        Assert.False(ReportsWeakIdentity((_, _, _) => { }));
        Assert.False(ReportsWeakIdentity((_, c, _) => c["dotnet_analyzer_diagnostic.category-Reliability.severity"] = "warning"));
        Assert.False(ReportsWeakIdentity((_, c, _) => c["dotnet_analyzer_diagnostic.severity"] = "warning"));
        Assert.False(ReportsWeakIdentity((t, _, _) => t.Global["CA2002"] = ReportDiagnostic.Default));
        Assert.True(ReportsWeakIdentity((t, _, _) => t.Global["CA2002"] = ReportDiagnostic.Warn));
        Assert.True(ReportsWeakIdentity((t, _, _) => t.File["CA2002"] = ReportDiagnostic.Info));
        Assert.True(ReportsWeakIdentity((_, _, s) => s["CA2002"] = ReportDiagnostic.Error));
    }

    [Fact]
    public void AnalyzersAbsent_DoesNotReport() => Assert.False(Reports((_, _, _) => { }, loaded: false));

    [Fact]
    public void EditorConfigNone_DoesNotReport() => Assert.False(Reports((t, _, _) => t.File["CA1861"] = ReportDiagnostic.Suppress));

    [Fact]
    public void Silent_DoesNotShow_SoDoesNotReport() => Assert.False(Reports((t, _, _) => t.File["CA1861"] = ReportDiagnostic.Hidden));

    [Fact]
    public void GlobalConfigWarning_Reports_OverABulkNone() => Assert.True(Reports((t, c, _) =>
    {
        t.Global["CA1861"] = ReportDiagnostic.Warn;
        c["dotnet_analyzer_diagnostic.category-Performance.severity"] = "none";
    }));

    [Fact]
    public void NoWarn_DoesNotReport_OverAnEditorConfigWarning() => Assert.False(Reports((t, _, s) =>
    {
        t.File["CA1861"] = ReportDiagnostic.Warn;
        s["CA1861"] = ReportDiagnostic.Suppress;
    }));

    [Theory]
    [InlineData("dotnet_analyzer_diagnostic.category-Performance.severity", "none", false)]
    [InlineData("dotnet_analyzer_diagnostic.category-Performance.severity", "warning", true)]
    [InlineData("dotnet_analyzer_diagnostic.severity", "none", false)]
    [InlineData("dotnet_analyzer_diagnostic.severity", "silent", false)]
    [InlineData("dotnet_analyzer_diagnostic.category-Design.severity", "none", true)]
    public void BulkKeys_ApplyByCategory(string key, string value, bool expected)
        => Assert.Equal(expected, Reports((_, c, _) => c[key] = value));

    [Fact]
    public void CategoryKey_WinsOverTheAllRulesKey() => Assert.True(Reports((_, c, _) =>
    {
        c["dotnet_analyzer_diagnostic.category-Performance.severity"] = "suggestion";
        c["dotnet_analyzer_diagnostic.severity"] = "none";
    }));
}
