using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Testing;
using Microsoft.CodeAnalysis.Text;

namespace MemSafety.Analyzers.Tests.Verification;

/// <summary>
/// Our test API over Microsoft.CodeAnalysis.Testing (1.1.4, <see cref="DefaultVerifier"/>, run offline: see
/// <see cref="MicrosoftTesting"/>). <see cref="RunAsync"/> hands the marked-up sources to the library's
/// <see cref="CodeFixTest{TVerifier}"/>, which requires the reported diagnostics to be exactly the marked ones (id,
/// span, severity, message when given, additional locations when given), checks that a <c>#pragma warning disable</c>
/// of each expected id silences it, and with a code fix applies the fix one diagnostic at a time and through Fix All
/// in document, project and solution scope, each route reaching the expected source within the expected number of
/// iterations, with the fixed syntax tree equal to the one the compiler parses from the fixed text. Around it we
/// check what the library does not: an analyzer that throws (AD0001) fails with its exception, a fix must have a Fix
/// All provider and give its actions equivalence keys, and the fixed code must compile with no compiler error or
/// warning that the original did not have.
/// </summary>
public sealed class AnalyzerTest
{
    private const string ProjectName = "TestProject";
    private const string OtherProjectName = "OtherProject";

    public AnalyzerTest(params DiagnosticAnalyzer[] analyzers)
    {
        if (analyzers.Length == 0)
            throw new ArgumentException("At least one analyzer is needed", nameof(analyzers));
        Analyzers = analyzers.ToImmutableArray();
    }

    public ImmutableArray<DiagnosticAnalyzer> Analyzers { get; }

    /// <summary>Marked-up sources of the project under test (Test0.cs, Test1.cs, …).</summary>
    public List<string> Sources { get; } = new();

    /// <summary>Sources of a second project that references the first (for solution-scope Fix All).</summary>
    public List<string> OtherProjectSources { get; } = new();

    /// <summary>The id that <c>[|…|]</c> stands for; by default the first analyzer's only supported id.</summary>
    public string? RuleId { get; set; }

    public List<ExpectedDiagnostic> ExpectedDiagnostics { get; } = new();

    public LanguageVersion LanguageVersion { get; set; } = LanguageVersion.Latest;

    public ReferenceSet ReferenceSet { get; set; } = ReferenceSet.Net80;

    public NullableContextOptions NullableContextOptions { get; set; } = NullableContextOptions.Enable;

    public OptimizationLevel OptimizationLevel { get; set; } = OptimizationLevel.Debug;

    /// <summary>The platform the project is built for (<c>&lt;PlatformTarget&gt;</c>); AnyCPU unless a test is about it.</summary>
    public Platform Platform { get; set; } = Platform.AnyCpu;

    public List<string> PreprocessorSymbols { get; } = new();

    /// <summary><c>memsafety.*</c> and other .editorconfig keys, applied to every file.</summary>
    public Dictionary<string, string> AnalyzerOptions { get; } = new();

    /// <summary>Per-id severities, as <c>dotnet_diagnostic.ID.severity</c> would set them. A marked diagnostic is
    /// expected at the severity set here, otherwise at its descriptor's default severity.</summary>
    public Dictionary<string, ReportDiagnostic> DiagnosticSeverities { get; } = new();

    /// <summary>Let the test source contain compiler errors (code as typed in an editor).</summary>
    public bool AllowCompilerErrors { get; set; }

    public CodeFixProvider? CodeFix { get; set; }

    /// <summary>Expected sources after fixing (markup marks diagnostics that must remain); empty: no fix check.</summary>
    public List<string> FixedSources { get; } = new();

    public List<string> FixedOtherProjectSources { get; } = new();

    /// <summary>Assert that the fix changes nothing: no diagnostic gets a fix.</summary>
    public bool ExpectNoFix { get; set; }

    public string? CodeActionEquivalenceKey { get; set; }

    /// <summary>Exactly how many Fix All runs (in each scope) reach the expected source; each run re-analyzes. Unset:
    /// the library's default, at most one per project (per document in document scope), as in the IDE and
    /// <c>dotnet format</c>, which run Fix All once.</summary>
    public int? FixAllPasses { get; set; }

    /// <summary>Exactly how many single fixes reach the expected source. Unset: at most one per fixable
    /// diagnostic of the test source.</summary>
    public int? IncrementalFixes { get; set; }

    /// <summary>The library's checks to leave out for this test; say why where it is set.</summary>
    public TestBehaviors TestBehaviors { get; set; }

    public CodeFixTestBehaviors CodeFixTestBehaviors { get; set; }

    /// <summary>How the library compares the tree a fix builds with the tree parsed from its text (default: node and
    /// token structure, not trivia).</summary>
    public CodeActionValidationMode CodeActionValidationMode { get; set; } = CodeActionValidationMode.SemanticStructure;

    /// <summary>Compile as a netstandard2.0 library that references System.Memory, at C# 7.3 (the SDK's default
    /// language version for that target) without nullable annotations: where span-producing fixes most easily
    /// write code that only compiles on .NET Core.</summary>
    public AnalyzerTest OnNetStandard20WithSystemMemory()
    {
        ReferenceSet = ReferenceSet.NetStandard20WithSystemMemory;
        LanguageVersion = LanguageVersion.CSharp7_3;
        NullableContextOptions = NullableContextOptions.Disable;
        return this;
    }

    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    public async Task RunAsync()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var parsed = Sources.Select(Markup.Parse).ToList();
        var parsedOther = OtherProjectSources.Select(Markup.Parse).ToList();

        if (CodeFix is not null && !ExpectNoFix && FixedSources.Count == 0)
            Assert.Fail("A code fix test needs FixedSources (or ExpectNoFix)");
        if (CodeFix is not null && !ExpectNoFix && CodeFix.GetFixAllProvider() is null)
            Assert.Fail("The code fix has no Fix All provider");

        var test = new LibraryTest(this)
        {
            ReferenceAssemblies = MicrosoftTesting.NoPackages,
            CompilerDiagnostics = AllowCompilerErrors ? CompilerDiagnostics.None : CompilerDiagnostics.Errors,
            TestBehaviors = TestBehaviors,
            CodeFixTestBehaviors = CodeFixTestBehaviors,
            CodeActionValidationMode = CodeActionValidationMode,
            CodeActionEquivalenceKey = CodeActionEquivalenceKey,
            NumberOfIncrementalIterations = IncrementalFixes,
        };
        if (FixAllPasses is int passes)
        {
            test.NumberOfFixAllIterations = passes;
            test.NumberOfFixAllInProjectIterations = passes;
            test.NumberOfFixAllInDocumentIterations = passes;
        }

        // A fix whose action has no equivalence key cannot take part in Fix All (the key picks the actions to batch).
        test.CodeActionVerifier = (action, verifier) => verifier.True(action.EquivalenceKey is not null, $"Code action '{action.Title}' has no equivalence key");

        var references = ReferenceSets.References(ReferenceSet).ToArray();
        Fill(test.TestState, parsed, parsedOther, references);
        var explicitResults = new List<DiagnosticResult>();
        foreach (var explicitDiagnostic in ExpectedDiagnostics)
        {
            var (file, text, span) = FindLocation(parsed, explicitDiagnostic.LocationIndex);
            var result = Result(explicitDiagnostic.Id, file, text, span);
            foreach (var extra in explicitDiagnostic.AdditionalLocationIndices)
            {
                var (extraFile, extraText, extraSpan) = FindLocation(parsed, extra);
                result = result.WithSpan(LineSpan(extraFile, extraText, extraSpan));
            }

            if (explicitDiagnostic.AdditionalLocationIndices.IsEmpty)
                result = result.WithOptions(DiagnosticOptions.IgnoreAdditionalLocations);

            explicitResults.Add(explicitDiagnostic.Message is null ? result : result.WithMessage(explicitDiagnostic.Message));
        }

        test.TestState.ExpectedDiagnostics.AddRange(explicitResults);

        List<ParsedMarkup>? fixedParsed = null;
        List<ParsedMarkup>? fixedOtherParsed = null;
        if (CodeFix is not null)
        {
            fixedParsed = ExpectNoFix ? parsed : FixedSources.Select(Markup.Parse).ToList();
            fixedOtherParsed = ExpectNoFix || FixedOtherProjectSources.Count == 0 ? parsedOther : FixedOtherProjectSources.Select(Markup.Parse).ToList();
            test.FixedState.InheritanceMode = StateInheritanceMode.Explicit;
            Fill(test.FixedState, fixedParsed, fixedOtherParsed, references);
            if (ExpectNoFix)
                test.FixedState.ExpectedDiagnostics.AddRange(explicitResults);
        }

        Exception? failure = null;
        try
        {
            await test.RunAsync(cts.Token);
        }
        catch (Exception exception)
        {
            failure = exception;
        }

        // The analyzer's exception explains a failure better than the diagnostics it did not report.
        if (!test.Exceptions.IsEmpty)
            Assert.Fail("An analyzer threw (AD0001):" + Environment.NewLine + string.Join(Environment.NewLine, test.Exceptions.Distinct()));

        // DefaultVerifier reports a failed check as InvalidOperationException; xunit shows it either way, but a test
        // failure is an assertion (and the harness's own tests expect one).
        if (failure is InvalidOperationException)
            throw new Xunit.Sdk.XunitException(failure.Message, failure);
        if (failure is not null)
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();

        if (fixedParsed is not null && !ExpectNoFix)
            CheckFixedCodeCompiles(parsed, parsedOther, fixedParsed, fixedOtherParsed!);
    }

    /// <summary>Compiles the sources (which must compile unless errors are allowed) and returns every
    /// diagnostic the analyzers report, without comparing them to markup.</summary>
    public async Task<IReadOnlyList<Diagnostic>> AnalyzeAsync()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var compilations = Compile(Sources.Select(s => Markup.Parse(s).Source), OtherProjectSources.Select(s => Markup.Parse(s).Source));
        var errors = compilations.SelectMany(c => c.GetDiagnostics(cts.Token)).Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        if (errors.Count > 0 && !AllowCompilerErrors)
            Assert.Fail("The test source does not compile:" + Environment.NewLine + Describe(errors));

        var result = new List<Diagnostic>();
        var exceptions = new ConcurrentQueue<string>();
        foreach (var compilation in compilations)
        {
            var options = new CompilationWithAnalyzersOptions(
                new AnalyzerOptions(ImmutableArray<AdditionalText>.Empty, new TestAnalyzerConfigOptionsProvider(AnalyzerOptions)),
                onAnalyzerException: (exception, analyzer, _) => exceptions.Enqueue($"{analyzer.GetType().Name} threw {exception}"),
                concurrentAnalysis: true,
                logAnalyzerExecutionTime: false,
                reportSuppressedDiagnostics: false);
            result.AddRange(await compilation.WithAnalyzers(Analyzers, options).GetAnalyzerDiagnosticsAsync(cts.Token));
        }

        if (!exceptions.IsEmpty)
            Assert.Fail("An analyzer threw (AD0001):" + Environment.NewLine + string.Join(Environment.NewLine, exceptions));
        return result;
    }

    // ---------------------------------------------------------------- options shared by both routes

    private CSharpParseOptions ParseOptions() => new(LanguageVersion, preprocessorSymbols: PreprocessorSymbols);

    private CSharpCompilationOptions CompilationOptions() => new CSharpCompilationOptions(
            OutputKind.DynamicallyLinkedLibrary,
            allowUnsafe: true,
            nullableContextOptions: NullableContextOptions,
            optimizationLevel: OptimizationLevel,
            platform: Platform)
        .WithSpecificDiagnosticOptions(DiagnosticSeverities);

    private static string FilePath(string project, int index) => $"/{project}/Test{index}.cs";

    /// <summary>The project under test and, when there are other-project sources, a second project that references it.</summary>
    private List<Compilation> Compile(IEnumerable<string> sources, IEnumerable<string> otherSources)
    {
        var references = ReferenceSets.References(ReferenceSet).ToList();
        var main = CSharpCompilation.Create(ProjectName, Trees(ProjectName, sources), references, CompilationOptions());
        var result = new List<Compilation> { main };
        var other = otherSources.ToList();
        if (other.Count > 0)
            result.Add(CSharpCompilation.Create(OtherProjectName, Trees(OtherProjectName, other), references.Append(main.ToMetadataReference()), CompilationOptions()));
        return result;

        IEnumerable<SyntaxTree> Trees(string project, IEnumerable<string> texts)
            => texts.Select((text, i) => CSharpSyntaxTree.ParseText(SourceText.From(text, Encoding.UTF8), ParseOptions(), FilePath(project, i)));
    }

    /// <summary>The fixed code must compile: no error or compiler warning that the original did not have. The library
    /// has already checked that every fix route produced exactly the expected text, so compiling that text is
    /// compiling what the fix wrote.</summary>
    private void CheckFixedCodeCompiles(List<ParsedMarkup> original, List<ParsedMarkup> originalOther, List<ParsedMarkup> fixedParsed, List<ParsedMarkup> fixedOther)
    {
        var before = CompilerWarningsAndErrors(original, originalOther).Select(d => (d.Id, d.GetMessage())).ToList();
        var introduced = new List<Diagnostic>();
        foreach (var d in CompilerWarningsAndErrors(fixedParsed, fixedOther))
        {
            if (!before.Remove((d.Id, d.GetMessage())))
                introduced.Add(d);
        }

        if (introduced.Count > 0)
            Assert.Fail($"After the fix, the code has new compiler diagnostics:{Environment.NewLine}{Describe(introduced)}");

        List<Diagnostic> CompilerWarningsAndErrors(List<ParsedMarkup> sources, List<ParsedMarkup> other)
            => Compile(sources.Select(p => p.Source), other.Select(p => p.Source))
                .SelectMany(c => c.GetDiagnostics())
                .Where(d => d.Severity >= DiagnosticSeverity.Warning)
                .ToList();
    }

    // ---------------------------------------------------------------- expectations

    private void Fill(SolutionState state, List<ParsedMarkup> parsed, List<ParsedMarkup> parsedOther, MetadataReference[] references)
    {
        // Markup is ours (Markup.Parse); the library gets plain text and explicit expectations.
        state.MarkupHandling = MarkupMode.None;
        state.AdditionalReferences.AddRange(references);
        AddSources(state, ProjectName, parsed);
        if (parsedOther.Count > 0)
        {
            var other = new ProjectState(OtherProjectName, LanguageNames.CSharp, $"/{OtherProjectName}/Test", "cs");
            other.AdditionalReferences.AddRange(references);
            other.AdditionalProjectReferences.Add(ProjectName);
            for (var i = 0; i < parsedOther.Count; i++)
                other.Sources.Add((FilePath(OtherProjectName, i), SourceText.From(parsedOther[i].Source, Encoding.UTF8)));
            state.AdditionalProjects.Add(OtherProjectName, other);
            state.ExpectedDiagnostics.AddRange(FromMarkup(OtherProjectName, parsedOther));
        }
    }

    private void AddSources(SolutionState state, string project, List<ParsedMarkup> parsed)
    {
        for (var i = 0; i < parsed.Count; i++)
            state.Sources.Add((FilePath(project, i), SourceText.From(parsed[i].Source, Encoding.UTF8)));
        state.ExpectedDiagnostics.AddRange(FromMarkup(project, parsed));
    }

    private IEnumerable<DiagnosticResult> FromMarkup(string project, List<ParsedMarkup> parsed)
    {
        for (var i = 0; i < parsed.Count; i++)
        {
            foreach (var span in parsed[i].Spans)
            {
                if (span.LocationIndex is not null)
                    continue;

                // Markup marks where a diagnostic is, not every place it points to.
                yield return Result(span.Id ?? DefaultRuleId, FilePath(project, i), parsed[i].Source, span.Span)
                    .WithOptions(DiagnosticOptions.IgnoreAdditionalLocations);
            }
        }
    }

    private DiagnosticResult Result(string id, string file, string text, TextSpan span)
        => new DiagnosticResult(id, ExpectedSeverity(id)).WithSpan(LineSpan(file, text, span));

    private static FileLinePositionSpan LineSpan(string file, string text, TextSpan span)
        => new(file, SourceText.From(text).Lines.GetLinePositionSpan(span));

    /// <summary>What the compiler reports the id at: the test's severity for it, else its descriptor's default.</summary>
    private DiagnosticSeverity ExpectedSeverity(string id)
    {
        if (DiagnosticSeverities.TryGetValue(id, out var configured))
        {
            switch (configured)
            {
                case ReportDiagnostic.Error: return DiagnosticSeverity.Error;
                case ReportDiagnostic.Warn: return DiagnosticSeverity.Warning;
                case ReportDiagnostic.Info: return DiagnosticSeverity.Info;
                case ReportDiagnostic.Hidden: return DiagnosticSeverity.Hidden;
            }
        }

        foreach (var analyzer in Analyzers)
        {
            foreach (var descriptor in analyzer.SupportedDiagnostics)
            {
                if (descriptor.Id == id)
                    return descriptor.DefaultSeverity;
            }
        }

        throw new InvalidOperationException($"Markup names {id}, which none of the test's analyzers reports");
    }

    private string DefaultRuleId
        => RuleId ?? (Analyzers[0].SupportedDiagnostics.Length == 1
            ? Analyzers[0].SupportedDiagnostics[0].Id
            : throw new InvalidOperationException("[|…|] needs RuleId when the analyzer reports several ids"));

    private static (string File, string Text, TextSpan Span) FindLocation(List<ParsedMarkup> parsed, int index)
    {
        for (var i = 0; i < parsed.Count; i++)
        {
            foreach (var span in parsed[i].Spans)
            {
                if (span.LocationIndex == index)
                    return (FilePath(ProjectName, i), parsed[i].Source, span.Span);
            }
        }

        throw new InvalidOperationException($"No markup location {{|#{index}:…|}}");
    }

    private static string Describe(IEnumerable<Diagnostic> diagnostics) => string.Join(Environment.NewLine, diagnostics.Select(d => "  " + Describe(d)));

    private static string Describe(Diagnostic d)
    {
        var text = d.Location.IsInSource ? d.Location.SourceTree!.GetText().ToString(d.Location.SourceSpan) : string.Empty;
        return $"{d.Id} at {d.Location.GetLineSpan()} on '{text}': {d.GetMessage()}";
    }

    // ---------------------------------------------------------------- the library's test, configured from ours

    private sealed class LibraryTest : CodeFixTest<DefaultVerifier>
    {
        private readonly AnalyzerTest _owner;

        public LibraryTest(AnalyzerTest owner)
        {
            _owner = owner;

            // The second project gets the same compilation and parse options as the first (the library gives
            // additional projects the workspace defaults).
            SolutionTransforms.Add((solution, primary) =>
            {
                foreach (var id in solution.ProjectIds)
                {
                    if (id != primary)
                        solution = solution.WithProjectCompilationOptions(id, owner.CompilationOptions()).WithProjectParseOptions(id, owner.ParseOptions());
                }

                return solution;
            });
        }

        public ConcurrentQueue<string> Exceptions { get; } = new();

        public override string Language => LanguageNames.CSharp;

        public override Type SyntaxKindType => typeof(SyntaxKind);

        protected override string DefaultFileExt => "cs";

        protected override string DefaultFilePathPrefix => $"/{ProjectName}/Test";

        protected override CompilationOptions CreateCompilationOptions() => _owner.CompilationOptions();

        protected override ParseOptions CreateParseOptions() => _owner.ParseOptions();

        protected override IEnumerable<DiagnosticAnalyzer> GetDiagnosticAnalyzers() => _owner.Analyzers;

        protected override IEnumerable<CodeFixProvider> GetCodeFixProviders()
            => _owner.CodeFix is null ? Array.Empty<CodeFixProvider>() : new[] { _owner.CodeFix };

        protected override AnalyzerOptions GetAnalyzerOptions(Project project)
            => new(project.AnalyzerOptions.AdditionalFiles, new TestAnalyzerConfigOptionsProvider(_owner.AnalyzerOptions));

        protected override CompilationWithAnalyzers CreateCompilationWithAnalyzers(Compilation compilation, ImmutableArray<DiagnosticAnalyzer> analyzers, AnalyzerOptions options, CancellationToken cancellationToken)
            => compilation.WithAnalyzers(analyzers, new CompilationWithAnalyzersOptions(
                options,
                onAnalyzerException: (exception, analyzer, _) => Exceptions.Enqueue($"{analyzer.GetType().Name} threw {exception}"),
                concurrentAnalysis: true,
                logAnalyzerExecutionTime: false,
                reportSuppressedDiagnostics: true));

        /// <summary>The library turns on every rule of the analyzers under test, including those off by default; we
        /// keep the compiler's (and a user's) view, where such a rule reports only when a severity turns it on, so
        /// that "off by default" stays testable.</summary>
        protected override Project ApplyCompilationOptions(Project project)
        {
            var options = project.CompilationOptions!;
            return project.Solution.WithProjectCompilationOptions(project.Id, options.WithSpecificDiagnosticOptions(options.SpecificDiagnosticOptions.SetItem("AD0001", ReportDiagnostic.Error)))
                .GetProject(project.Id)!;
        }
    }
}
