#nullable disable
using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Core;
using MemSafety.CodeFixes.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace MemSafety.Analyzers.Lanes.Tests;

/// <summary>
/// One older Roslyn lane, loaded into exactly its own Roslyn (this project references
/// Microsoft.CodeAnalysis.CSharp.Workspaces of the lane's version and nothing newer): every analyzer of the lane runs
/// over every sample of samples/, and every fix of the lane is applied to the first diagnostic of its rule there. A sample
/// that the lane's compiler accepts (C# of that Roslyn, after turning file-scoped namespaces into blocks) reports what
/// the 4.14 lane reports (tests/MemSafety.Analyzers.Tests SamplesTests): a Before file exactly its rule, an After file
/// nothing. A sample in newer C# cannot occur in that compiler; the analyzers must still not crash on it.
/// </summary>
public sealed class LaneSamplesTests
{
#if ROSLYN_3_7
    private static readonly Version LaneVersion = new(3, 7, 0, 0);
#else
    private static readonly Version LaneVersion = new(4, 8, 0, 0);
#endif

    /// <summary>Samples whose rule this lane reports less of than the 4.14 lane, and why (README, "Supported hosts").</summary>
    private static readonly Dictionary<string, string> Reduced = new()
    {
#if ROSLYN_3_7
        ["samples/MemSafety.Samples/UnsafePointers/MSA5002.StackAddressEscape.Before.cs"] =
            "Roslyn 3.7 gives a stackalloc converted to a pointer no operation of its own (OperationKind.None), so MSA5002 sees no stack memory there",
#endif
    };

    private readonly Xunit.Abstractions.ITestOutputHelper _output;

    public LaneSamplesTests(Xunit.Abstractions.ITestOutputHelper output) => _output = output;

    private static readonly Assembly AnalyzerAssembly = typeof(RuleCatalogue).Assembly;
    private static readonly Assembly FixAssembly = typeof(MemSafetyCodeFix).Assembly;

    private static readonly ImmutableArray<DiagnosticAnalyzer> Analyzers = AnalyzerAssembly.GetTypes()
        .Where(t => !t.IsAbstract && typeof(DiagnosticAnalyzer).IsAssignableFrom(t) && t.GetCustomAttributes(typeof(DiagnosticAnalyzerAttribute), false).Length > 0)
        .Select(t => (DiagnosticAnalyzer)Activator.CreateInstance(t))
        .ToImmutableArray();

    private static readonly ImmutableArray<CodeFixProvider> Fixes = FixAssembly.GetTypes()
        .Where(t => !t.IsAbstract && typeof(CodeFixProvider).IsAssignableFrom(t) && t.GetCustomAttributes(typeof(ExportCodeFixProviderAttribute), false).Length > 0)
        .Select(t => (CodeFixProvider)Activator.CreateInstance(t))
        .ToImmutableArray();

    private static readonly ImmutableArray<MetadataReference> References = RuntimeReferences();

    public static string Root { get; } = FindRoot();

    [Fact]
    public void LaneAssemblies_ReferenceExactlyTheirRoslyn_AndRunInIt()
    {
        Assert.Equal(LaneVersion, typeof(Compilation).Assembly.GetName().Version);
        foreach (var assembly in new[] { AnalyzerAssembly, FixAssembly })
        {
            var roslyn = assembly.GetReferencedAssemblies().Where(r => r.Name.StartsWith("Microsoft.CodeAnalysis", StringComparison.Ordinal)).ToList();
            Assert.NotEmpty(roslyn);
            Assert.All(roslyn, r => Assert.Equal(LaneVersion, r.Version));
        }

        // Every rule of the catalogue has its analyzer in this lane.
        var supported = Analyzers.SelectMany(a => a.SupportedDiagnostics).Select(d => d.Id).ToHashSet();
        Assert.All(RuleCatalogue.All, d => Assert.Contains(d.Id, supported));
        Assert.NotEmpty(Fixes);
    }

    public static TheoryData<string> SampleFiles()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Path.Combine(Root, "samples", "MemSafety.Samples"), "*.cs", SearchOption.AllDirectories).OrderBy(f => f, StringComparer.Ordinal))
        {
            if (file.EndsWith(".Before.cs", StringComparison.Ordinal) || file.EndsWith(".After.cs", StringComparison.Ordinal))
                data.Add(Path.GetRelativePath(Root, file).Replace('\\', '/'));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(SampleFiles))]
    public async Task Sample_ReportsAsInTheNewestLane_WhereThisCompilerAcceptsIt(string relativePath)
    {
        var name = Path.GetFileName(relativePath);
        var id = name.Substring(0, name.IndexOf('.'));
        var before = name.EndsWith(".Before.cs", StringComparison.Ordinal);
        var unity = relativePath.Contains("/Unity/", StringComparison.Ordinal);

        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        var sources = new List<string> { BlockNamespaces(File.ReadAllText(Path.Combine(Root, relativePath))) };
        sources.Add(File.ReadAllText(Path.Combine(Root, "build", "MemSafety.HotPathAttribute.cs")));
        sources.Add(File.ReadAllText(Path.Combine(Root, "build", "MemSafety.OwnershipAttributes.cs")));
        foreach (var support in Directory.GetFiles(Path.GetDirectoryName(Path.Combine(Root, relativePath)), "*.cs"))
        {
            if (!support.EndsWith(".Before.cs", StringComparison.Ordinal) && !support.EndsWith(".After.cs", StringComparison.Ordinal))
                sources.Add(BlockNamespaces(File.ReadAllText(support)));
        }

        var specific = new Dictionary<string, ReportDiagnostic>();
        if (before && RuleCatalogue.All.Single(d => d.Id == id) is { IsEnabledByDefault: false })
            specific[id] = ReportDiagnostic.Warn;
        var options = new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable)
            .WithSpecificDiagnosticOptions(specific);

        using var workspace = new AdhocWorkspace();
        var project = workspace.AddProject(ProjectInfo.Create(ProjectId.CreateNewId(), VersionStamp.Default, "Sample", "Sample", LanguageNames.CSharp,
            compilationOptions: options, parseOptions: parse, metadataReferences: References));
        var documents = new List<Document>();
        for (var i = 0; i < sources.Count; i++)
        {
            var document = workspace.AddDocument(project.Id, $"File{i}.cs", Microsoft.CodeAnalysis.Text.SourceText.From(sources[i]));
            documents.Add(document);
            project = document.Project;
        }

        var sample = project.GetDocument(documents[0].Id);
        var compilation = await project.GetCompilationAsync();
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        var globalOptions = new Dictionary<string, string>();
        if (!unity)
            globalOptions["memsafety.scope"] = "everywhere";
        var diagnostics = await Analyze(compilation, globalOptions);

        Assert.DoesNotContain(diagnostics, d => d.Id == "AD0001");
        _output.WriteLine($"Roslyn {LaneVersion}: {relativePath}: {(errors.Count > 0 ? "not accepted by this compiler (" + errors[0] + ")" : "compiles")}; reports [{string.Join(", ", diagnostics.Select(d => d.Id))}]");
        if (errors.Count > 0)
            return; // C# this lane's compiler does not accept: no analyzer crashed on it, nothing more to expect.

        var ids = diagnostics.Select(d => d.Id).ToList();
        if (!before)
        {
            Assert.Empty(ids);
            return;
        }

        if (Reduced.TryGetValue(relativePath, out _))
        {
            Assert.All(ids, actual => Assert.Equal(id, actual));
            return;
        }

        Assert.NotEmpty(ids);
        Assert.All(ids, actual => Assert.Equal(id, actual));

        // The lane's fix for the rule, if it has one, rewrites one of the sample's diagnostics (the first it offers a
        // fix for: some cases are reported without a fix) into code that still compiles.
        var provider = Fixes.FirstOrDefault(f => f.FixableDiagnosticIds.Contains(id));
        if (provider is null)
            return;
        var tree = compilation.SyntaxTrees.First();
        foreach (var diagnostic in diagnostics.Where(d => d.Location.SourceTree == tree).OrderBy(d => d.Location.SourceSpan.Start))
        {
            var actions = new List<CodeAction>();
            var context = new CodeFixContext(sample, diagnostic, (action, _) => actions.Add(action), CancellationToken.None);
            await provider.RegisterCodeFixesAsync(context);
            if (actions.Count == 0)
                continue;
            var operations = await actions[0].GetOperationsAsync(CancellationToken.None);
            var changed = operations.OfType<ApplyChangesOperation>().Single().ChangedSolution;
            var fixedText = (await changed.GetDocument(sample.Id).GetTextAsync()).ToString();
            Assert.NotEqual(sources[0], fixedText);
            var fixedCompilation = await changed.GetProject(project.Id).GetCompilationAsync();
            Assert.Empty(fixedCompilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
            _output.WriteLine($"fixed by {provider.GetType().Name}: {diagnostic}");

            // Fix All over the document (in Roslyn 3.7 through the lane's own document-based Fix All provider).
            var fixAll = provider.GetFixAllProvider();
            if (fixAll is not null)
            {
                var ofRule = diagnostics.Where(d => d.Id == id && d.Location.SourceTree == tree).ToImmutableArray();
                var fixAllContext = new FixAllContext(sample, provider, FixAllScope.Document, actions[0].EquivalenceKey, new[] { id }, new FixedDiagnostics(ofRule), CancellationToken.None);
                var all = await fixAll.GetFixAsync(fixAllContext);
                Assert.NotNull(all);
                var allChanged = (await all.GetOperationsAsync(CancellationToken.None)).OfType<ApplyChangesOperation>().Single().ChangedSolution;
                Assert.NotEqual(sources[0], (await allChanged.GetDocument(sample.Id).GetTextAsync()).ToString());
                var allCompilation = await allChanged.GetProject(project.Id).GetCompilationAsync();
                Assert.Empty(allCompilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
                _output.WriteLine($"Fix All by {fixAll.GetType().Name}: {ofRule.Length} diagnostics");
            }

            return;
        }

        Assert.Fail($"{provider.GetType().Name} offered no fix for any {id} of the sample");
    }

    private static async Task<ImmutableArray<Diagnostic>> Analyze(Compilation compilation, Dictionary<string, string> globalOptions)
    {
        var analyzerOptions = new AnalyzerOptions(ImmutableArray<AdditionalText>.Empty, new OptionsProvider(globalOptions));
        var withAnalyzers = compilation.WithAnalyzers(Analyzers, new CompilationWithAnalyzersOptions(analyzerOptions, onAnalyzerException: null, concurrentAnalysis: true, logAnalyzerExecutionTime: false));
        return await withAnalyzers.GetAnalyzerDiagnosticsAsync();
    }

    /// <summary>C# 10's file-scoped namespace (every sample has one) as the block that any compiler accepts.</summary>
    private static string BlockNamespaces(string source)
    {
        var match = Regex.Match(source, @"^namespace ([\w.]+);[ \t]*\r?$", RegexOptions.Multiline);
        return match.Success
            ? source.Substring(0, match.Index) + "namespace " + match.Groups[1].Value + " {" + source.Substring(match.Index + match.Length) + "\n}\n"
            : source;
    }

    /// <summary>The running .NET's own assemblies (no reference-assembly package: those depend on a newer Roslyn).</summary>
    private static ImmutableArray<MetadataReference> RuntimeReferences()
    {
        var runtime = Path.GetDirectoryName(typeof(object).Assembly.Location);
        return ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")).Split(Path.PathSeparator)
            .Where(p => string.Equals(Path.GetDirectoryName(p), runtime, StringComparison.Ordinal) && Path.GetFileName(p) is var f
                && (f.StartsWith("System.", StringComparison.Ordinal) || f is "netstandard.dll" or "mscorlib.dll" or "Microsoft.Win32.Primitives.dll"))
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .ToImmutableArray();
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MemSafety.Analyzers.sln")))
                return dir.FullName;
        }

        throw new InvalidOperationException("repository root not found");
    }

    private sealed class FixedDiagnostics : FixAllContext.DiagnosticProvider
    {
        private readonly ImmutableArray<Diagnostic> _diagnostics;

        public FixedDiagnostics(ImmutableArray<Diagnostic> diagnostics) => _diagnostics = diagnostics;

        public override Task<IEnumerable<Diagnostic>> GetDocumentDiagnosticsAsync(Document document, CancellationToken cancellationToken)
            => Task.FromResult<IEnumerable<Diagnostic>>(_diagnostics);

        public override Task<IEnumerable<Diagnostic>> GetProjectDiagnosticsAsync(Project project, CancellationToken cancellationToken)
            => Task.FromResult<IEnumerable<Diagnostic>>(ImmutableArray<Diagnostic>.Empty);

        public override Task<IEnumerable<Diagnostic>> GetAllDiagnosticsAsync(Project project, CancellationToken cancellationToken)
            => Task.FromResult<IEnumerable<Diagnostic>>(_diagnostics);
    }

    private sealed class OptionsProvider : AnalyzerConfigOptionsProvider
    {
        private readonly Options _options;

        public OptionsProvider(Dictionary<string, string> values) => _options = new Options(values);

        public override AnalyzerConfigOptions GlobalOptions => _options;

        public override AnalyzerConfigOptions GetOptions(SyntaxTree tree) => _options;

        public override AnalyzerConfigOptions GetOptions(AdditionalText textFile) => _options;
    }

    private sealed class Options : AnalyzerConfigOptions
    {
        private readonly Dictionary<string, string> _values;

        public Options(Dictionary<string, string> values) => _values = values;

        public override bool TryGetValue(string key, out string value) => _values.TryGetValue(key, out value);
    }
}
