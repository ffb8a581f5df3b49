using System;
using System.Collections.Immutable;
using System.Linq;
using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.Finalizers;
using MemSafety.CodeFixes.Finalizers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;
using Xunit.Sdk;

namespace MemSafety.Analyzers.Tests.Verification;

/// <summary>The harness must fail a test for each way a rule or fix can be wrong; otherwise every rule
/// test built on it proves nothing.</summary>
public sealed class VerifierTests
{
    private const string EmptyFinalizer = "class C { ~C() { } }";

    /// <summary>Runs the test, which must fail with a message containing <paramref name="expected"/>.</summary>
    private static async Task FailsWith(AnalyzerTest test, string expected)
    {
        var exception = await Assert.ThrowsAnyAsync<XunitException>(test.RunAsync);
        Assert.True(exception.Message.Contains(expected, StringComparison.Ordinal), $"Expected a failure about '{expected}', got:{Environment.NewLine}{exception.Message}");
    }

    [Fact]
    public async Task MissingExpectedDiagnostic_FailsTheTest()
    {
        await FailsWith(Verify<EmptyFinalizerAnalyzer>.Test("class [|C|] { }"), "expected \"1\" actual \"0\"");
    }

    [Fact]
    public async Task UnexpectedDiagnostic_FailsTheTest()
    {
        await FailsWith(Verify<EmptyFinalizerAnalyzer>.Test(EmptyFinalizer), "expected \"0\" actual \"1\"");
    }

    [Fact]
    public async Task DiagnosticOnAnotherSpan_FailsTheTest()
    {
        await FailsWith(Verify<EmptyFinalizerAnalyzer>.Test("class C { [|~C|]() { } }"), "was actually at column");
    }

    [Fact]
    public async Task WrongMessage_FailsTheTest()
    {
        var test = Verify<EmptyFinalizerAnalyzer>.Test("class C { ~{|#0:C|}() { } }");
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4001", 0).WithMessage("something else"));
        await FailsWith(test, "Expected diagnostic message to be \"something else\"");
    }

    [Fact]
    public async Task AnalyzerException_FailsTheTest()
    {
        var test = new AnalyzerTest(new ThrowingAnalyzer());
        test.Sources.Add("class C { }");
        await FailsWith(test, "AD0001");
    }

    [Fact]
    public async Task SourceWithCompileErrors_FailsUnlessAllowed()
    {
        var test = Verify<EmptyFinalizerAnalyzer>.Test("class C { int M() { } }");
        await FailsWith(test, "error CS0161");

        test.AllowCompilerErrors = true;
        await test.RunAsync();
    }

    [Fact]
    public async Task FixThatBreaksCompilation_FailsTheTest()
    {
        var test = new AnalyzerTest(new EmptyFinalizerAnalyzer()) { CodeFix = new BreakingFix() };
        test.Sources.Add("class C { ~[|C|]() { } }");
        test.FixedSources.Add("class C { int Broken() { } }");
        await FailsWith(test, "error CS0161");
    }

    [Fact]
    public async Task FixThatAddsACompilerWarning_FailsTheTest()
    {
        // The library fails a fix that adds a compiler error; a new warning is our own check.
        var test = new AnalyzerTest(new EmptyFinalizerAnalyzer()) { CodeFix = new WarningFix() };
        test.Sources.Add("class C { ~[|C|]() { } }");
        test.FixedSources.Add("class C { void Unused() { int x; } }");
        await FailsWith(test, "new compiler diagnostics");
    }

    [Fact]
    public async Task FixedSourceMismatch_FailsTheTest()
    {
        var test = Verify<EmptyFinalizerAnalyzer, EmptyFinalizerFix>.Test("class C { ~[|C|]() { } }", "class C { /* not what the fix writes */ }");
        await FailsWith(test, "did not match. Diff shown");
    }

    [Fact]
    public async Task FixThatNeverRemovesTheDiagnostic_FailsTheTest()
    {
        var test = new AnalyzerTest(new EmptyFinalizerAnalyzer()) { CodeFix = new CommentingFix() };
        test.Sources.Add("class C { ~[|C|]() { } }");
        test.FixedSources.Add("class C { ~C() { } }");
        await FailsWith(test, "+class C { /* looked at */~C() { } }");
    }

    [Fact]
    public async Task FixIterationCount_IsChecked()
    {
        var test = Verify<EmptyFinalizerAnalyzer, EmptyFinalizerFix>.Test("class C\n{\n    ~[|C|]() { }\n\n    int M() => 1;\n}\n", "class C\n{\n    int M() => 1;\n}\n");
        await test.RunAsync();

        test.IncrementalFixes = 2;
        await FailsWith(test, "Expected '2' iterations but found '1' iterations");
    }

    [Fact]
    public async Task WrongSeverity_FailsTheTest()
    {
        var test = new AnalyzerTest(new InfoReportingAnalyzer());
        test.Sources.Add("class [|C|] { }");
        await FailsWith(test, "Expected diagnostic severity to be \"Warning\" was \"Info\"");
    }

    [Fact]
    public async Task ConfiguredSeverity_IsTheExpectedSeverity()
    {
        var test = Verify<EmptyFinalizerAnalyzer>.Test("class C { ~[|C|]() { } }");
        test.DiagnosticSeverities["MSA4001"] = ReportDiagnostic.Error;
        await test.RunAsync();
    }

    [Fact]
    public async Task AnalyzerThatFailsOnAPragma_FailsTheTest()
    {
        // The library analyzes each source again behind '#pragma warning disable <expected ids>' and expects those
        // diagnostics silenced; an analyzer that trips over the directive is caught there.
        var test = new AnalyzerTest(new PragmaThrowingAnalyzer());
        test.Sources.Add("class [|C|] { }");
        await FailsWith(test, "AD0001");

        // Without that pass the same test passes: the failure came from the #pragma variant.
        test.TestBehaviors = Microsoft.CodeAnalysis.Testing.TestBehaviors.SkipSuppressionCheck;
        await test.RunAsync();
    }

    [Fact]
    public async Task CodeActionWithoutEquivalenceKey_FailsTheTest()
    {
        var test = new AnalyzerTest(new EmptyFinalizerAnalyzer()) { CodeFix = new NoKeyFix() };
        test.Sources.Add("class C { ~[|C|]() { } }");
        test.FixedSources.Add("class C { public int X = 1; }");
        await FailsWith(test, "has no equivalence key");
    }

    [Fact]
    public async Task DiagnosticLeftAfterFix_MustBeMarkedInTheFixedSource()
    {
        var test = new AnalyzerTest(new EmptyFinalizerAnalyzer()) { CodeFix = new OnlyFirstTypeFix() };
        test.Sources.Add("class A { ~[|A|]() { } }\nclass B { ~[|B|]() { } }\n");
        test.FixedSources.Add("class A { public int X = 1; }\nclass B { ~B() { } }\n");
        await FailsWith(test, "expected \"0\" actual \"1\"");

        test.FixedSources[0] = "class A { public int X = 1; }\nclass B { ~[|B|]() { } }\n";
        await test.RunAsync();
    }

    [Fact]
    public async Task FixOfferedWhenNoneExpected_FailsTheTest()
    {
        var test = new AnalyzerTest(new EmptyFinalizerAnalyzer()) { CodeFix = new EmptyFinalizerFix(), ExpectNoFix = true };
        test.Sources.Add("class C { ~[|C|]() { } }");
        await FailsWith(test, "did not match. Diff shown");
    }

    [Fact]
    public async Task FixWithoutFixAllProvider_FailsTheTest()
    {
        var test = new AnalyzerTest(new EmptyFinalizerAnalyzer()) { CodeFix = new NoFixAllFix() };
        test.Sources.Add("class C { ~[|C|]() { } }");
        test.FixedSources.Add("class C { public int X = 1; }");
        await FailsWith(test, "no Fix All provider");
    }

    [Fact]
    public async Task NetStandard20WithSystemMemory_HasSpansAndArrayPoolButNoStringToSpanConversion()
    {
        // What the fixes must cope with there: Span, stackalloc into a span, ArrayPool, MemoryExtensions and
        // Vector<T> exist; string converts to ReadOnlySpan<char> only on .NET Core (the operator is on String).
        const string available = """
            using System;
            using System.Buffers;
            using System.Numerics;
            class C
            {
                int M(string s)
                {
                    Span<byte> b = stackalloc byte[4];
                    var rented = ArrayPool<byte>.Shared.Rent(4);
                    ArrayPool<byte>.Shared.Return(rented);
                    return b.Length + Vector<int>.Count + (s.AsSpan(0, 2).SequenceEqual("0x".AsSpan()) ? 1 : 0);
                }
            }
            """;
        var test = Verify<EmptyFinalizerAnalyzer>.Test(available);
        test.ReferenceSet = ReferenceSet.NetStandard20WithSystemMemory;
        test.LanguageVersion = LanguageVersion.CSharp7_3;
        test.NullableContextOptions = NullableContextOptions.Disable;
        await test.RunAsync();

        var conversion = Verify<EmptyFinalizerAnalyzer>.Test("using System; class C { bool M(string s) => s.AsSpan(0, 2).SequenceEqual(\"0x\"); }");
        conversion.ReferenceSet = ReferenceSet.NetStandard20WithSystemMemory;
        conversion.LanguageVersion = LanguageVersion.CSharp7_3;
        conversion.NullableContextOptions = NullableContextOptions.Disable;
        await FailsWith(conversion, "CS1503");
    }

    [Fact]
    public async Task Net100_HasSystemThreadingLockWhichNet80Lacks()
    {
        // C# 13 lowers lock on a System.Threading.Lock (.NET 9+) to Lock.EnterScope(); rules about locks test it here.
        const string source = "using System.Threading; class C { private readonly Lock _gate = new(); int _n; void M() { lock (_gate) { _n++; } using (_gate.EnterScope()) { _n--; } } }";
        var test = Verify<EmptyFinalizerAnalyzer>.Test(source);
        test.ReferenceSet = ReferenceSet.Net100;
        await test.RunAsync();

        var onNet80 = Verify<EmptyFinalizerAnalyzer>.Test(source);
        await FailsWith(onNet80, "CS0246");
    }

    [Fact]
    public async Task MicrosoftTestingLibrary_RunsOfflineOnOurReferenceSets()
    {
        // The library's own checks (code-action validation, fix iteration counts, severity) on one of our rules,
        // with no package resolved from the network.
        var test = new Microsoft.CodeAnalysis.CSharp.Testing.CSharpCodeFixTest<EmptyFinalizerAnalyzer, EmptyFinalizerFix, Microsoft.CodeAnalysis.Testing.DefaultVerifier>
        {
            TestCode = "class C\n{\n    ~[|C|]() { }\n\n    int M() => 1;\n}\n",
            FixedCode = "class C\n{\n    int M() => 1;\n}\n",
        }.Offline();
        await test.RunAsync();

        var wrong = new Microsoft.CodeAnalysis.CSharp.Testing.CSharpCodeFixTest<EmptyFinalizerAnalyzer, EmptyFinalizerFix, Microsoft.CodeAnalysis.Testing.DefaultVerifier>
        {
            TestCode = "class C\n{\n    ~[|C|]() { }\n}\n",
            FixedCode = "class C\n{\n    int Other() => 1;\n}\n",
        }.Offline(ReferenceSet.NetStandard20WithSystemMemory);
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => wrong.RunAsync());
        Assert.Contains("did not match", failure.Message, StringComparison.Ordinal);
        Assert.Contains("-    int Other() => 1;", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Markup_ParsesNestedNamedAndPlainSpans()
    {
        var parsed = Markup.Parse("a[|b{|MSA1:c|}d|]e{|#3:f|}");
        Assert.Equal("abcdef", parsed.Source);
        Assert.Equal(3, parsed.Spans.Count);
        Assert.Contains(parsed.Spans, s => s.Id == "MSA1" && s.Span == new TextSpan(2, 1));
        Assert.Contains(parsed.Spans, s => s.Id is null && s.LocationIndex is null && s.Span == new TextSpan(1, 3));
        Assert.Contains(parsed.Spans, s => s.LocationIndex == 3 && s.Span == new TextSpan(5, 1));
    }

    [Theory]
    [InlineData("a[|b")]
    [InlineData("a|]b")]
    [InlineData("{|MSA1 b|}")]
    public void Markup_RejectsMalformedMarkup(string markup) => Assert.Throws<FormatException>(() => Markup.Parse(markup));

    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    private sealed class ThrowingAnalyzer : DiagnosticAnalyzer
    {
        private static readonly DiagnosticDescriptor Rule = new("TEST0001", "t", "m", "Test", DiagnosticSeverity.Warning, true);

        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(Rule);

        public override void Initialize(AnalysisContext context)
        {
            context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
            context.EnableConcurrentExecution();
            context.RegisterSyntaxNodeAction(_ => throw new InvalidOperationException("boom"), SyntaxKind.ClassDeclaration);
        }
    }

    /// <summary>Reports every class name at Info, below its descriptor's default (Warning).</summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    private sealed class InfoReportingAnalyzer : DiagnosticAnalyzer
    {
        private static readonly DiagnosticDescriptor Rule = new("TESTSEVERITY", "t", "m", "Test", DiagnosticSeverity.Warning, true);

        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(Rule);

        public override void Initialize(AnalysisContext context)
        {
            context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
            context.EnableConcurrentExecution();
            context.RegisterSyntaxNodeAction(
                c => c.ReportDiagnostic(Diagnostic.Create(Rule, ((ClassDeclarationSyntax)c.Node).Identifier.GetLocation(), DiagnosticSeverity.Info, null, null)),
                SyntaxKind.ClassDeclaration);
        }
    }

    /// <summary>Reports every class name, and throws where the file has a #pragma directive.</summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    private sealed class PragmaThrowingAnalyzer : DiagnosticAnalyzer
    {
        private static readonly DiagnosticDescriptor Rule = new("TESTPRAGMA", "t", "m", "Test", DiagnosticSeverity.Warning, true);

        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(Rule);

        public override void Initialize(AnalysisContext context)
        {
            context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
            context.EnableConcurrentExecution();
            context.RegisterSyntaxNodeAction(
                c =>
                {
                    if (c.Node.SyntaxTree.GetRoot(c.CancellationToken).ContainsDirectives)
                        throw new InvalidOperationException("a directive");
                    c.ReportDiagnostic(Diagnostic.Create(Rule, ((ClassDeclarationSyntax)c.Node).Identifier.GetLocation()));
                },
                SyntaxKind.ClassDeclaration);
        }
    }

    /// <summary>Base for deliberately wrong fixes of MSA4001: each rewrites the finalizer's declaration.</summary>
    private abstract class TestFix : CodeFixProvider
    {
        public override ImmutableArray<string> FixableDiagnosticIds => ImmutableArray.Create("MSA4001");

        public override FixAllProvider? GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

        public override async Task RegisterCodeFixesAsync(CodeFixContext context)
        {
            var root = (await context.Document.GetSyntaxRootAsync(context.CancellationToken))!;
            var declaration = root.FindToken(context.Span.Start).Parent!.FirstAncestorOrSelf<DestructorDeclarationSyntax>()!;
            var replacement = Rewrite(declaration);
            if (replacement is null)
                return;
            context.RegisterCodeFix(
                CodeAction.Create("test fix", _ => Task.FromResult(context.Document.WithSyntaxRoot(root.ReplaceNode(declaration, replacement))), EquivalenceKey),
                context.Diagnostics);
        }

        protected virtual string? EquivalenceKey => "test";

        protected abstract SyntaxNode? Rewrite(DestructorDeclarationSyntax declaration);
    }

    private sealed class NoKeyFix : TestFix
    {
        protected override string? EquivalenceKey => null;

        protected override SyntaxNode Rewrite(DestructorDeclarationSyntax declaration)
            => SyntaxFactory.ParseMemberDeclaration("public int X = 1;")!.WithTriviaFrom(declaration);
    }

    private sealed class BreakingFix : TestFix
    {
        protected override SyntaxNode Rewrite(DestructorDeclarationSyntax declaration)
            => SyntaxFactory.ParseMemberDeclaration("int Broken() { }")!.WithTriviaFrom(declaration);
    }

    private sealed class WarningFix : TestFix
    {
        protected override SyntaxNode Rewrite(DestructorDeclarationSyntax declaration)
            => SyntaxFactory.ParseMemberDeclaration("void Unused() { int x; }")!.WithTriviaFrom(declaration);
    }

    private sealed class CommentingFix : TestFix
    {
        protected override SyntaxNode Rewrite(DestructorDeclarationSyntax declaration)
            => declaration.WithLeadingTrivia(declaration.GetLeadingTrivia().Add(SyntaxFactory.Comment("/* looked at */")));
    }

    private sealed class OnlyFirstTypeFix : TestFix
    {
        protected override SyntaxNode? Rewrite(DestructorDeclarationSyntax declaration)
            => declaration.Identifier.ValueText == "A"
                ? SyntaxFactory.ParseMemberDeclaration("public int X = 1;")!.WithTriviaFrom(declaration)
                : null;
    }

    private sealed class NoFixAllFix : TestFix
    {
        public override FixAllProvider? GetFixAllProvider() => null;

        protected override SyntaxNode Rewrite(DestructorDeclarationSyntax declaration)
            => SyntaxFactory.ParseMemberDeclaration("public int X = 1;")!.WithTriviaFrom(declaration);
    }
}
