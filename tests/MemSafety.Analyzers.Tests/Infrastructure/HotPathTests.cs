using System.Collections.Immutable;
using System.Threading.Tasks;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Tests.Verification;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Tests.Infrastructure;

/// <summary>The hot-path and loop questions, asked through a test rule that reports every call made
/// where a census-style rule with the configured scope would report.</summary>
public sealed class HotPathTests
{
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    private sealed class CallCensusAnalyzer : MemSafetyAnalyzer
    {
        private static readonly DiagnosticDescriptor Rule = new("TEST0002", "call", "call", "Test", DiagnosticSeverity.Warning, true);

        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(Rule);

        protected override void Register(AnalysisContext context) => context.RegisterCompilationStartAction(start =>
        {
            var oracle = new HotPathOracle(start.Compilation, start.Options.AnalyzerConfigOptionsProvider);
            start.RegisterOperationAction(op =>
            {
                var scope = new MemSafetyOptions(op.Options.AnalyzerConfigOptionsProvider.GetOptions(op.Operation.Syntax.SyntaxTree))
                    .GetScope("TEST0002", RuleScope.HotPathsAndLoops);
                if (oracle.IsInScope(scope, op.Operation, op.ContainingSymbol))
                    op.ReportDiagnostic(Diagnostic.Create(Rule, op.Operation.Syntax.GetLocation()));
            }, OperationKind.Invocation);
        });
    }

    private static Task Run(string source, params (string Key, string Value)[] options)
    {
        var test = new AnalyzerTest(new CallCensusAnalyzer());
        test.Sources.Add(source);
        test.Sources.Add(Attributes);
        foreach (var (key, value) in options)
            test.AnalyzerOptions[key] = value;
        return test.RunAsync();
    }

    private const string Attributes = """
        namespace Any.Where { class HotPathAttribute : System.Attribute { } }
        namespace Roslyn.Utilities { class PerformanceSensitiveAttribute : System.Attribute { public PerformanceSensitiveAttribute(string uri) { } } }

        """;

    [Fact]
    public Task AttributeOnMethodOrType_MakesItsCallsHot() => Run("""
        using Any.Where;
        class Parser
        {
            static void F() { }
            [HotPath] void Hot() { [|F()|]; }
            [Roslyn.Utilities.PerformanceSensitive("https://example.org")] void AlsoHot() { [|F()|]; }
            void Cold_NoDiagnostic() { F(); }
        }
        [HotPath]
        class Lexer
        {
            static void F() { }
            void Any() { [|F()|]; }
            class Nested { void Inner() { [|F()|]; } }
        }
        """);

    [Fact]
    public Task AttributeOnProperty_MakesItsAccessorsHot() => Run("""
        class C
        {
            static int F() => 1;
            [Any.Where.HotPath] int P { get { return [|F()|]; } }
            int Q_NoDiagnostic => F();
        }
        """);

    [Fact]
    public Task AssemblyAttribute_MakesEverythingHot() => Run("""
        [assembly: Any.Where.HotPath]
        class C { static void F() { } void M() { [|F()|]; } }
        """);

    [Fact]
    public Task AssemblyAttributeThroughAnAliasOfAnotherFile_MakesEverythingHot()
    {
        // The oracle binds the assembly's attributes only when some file spells HotPath or PerformanceSensitive: here the
        // file with the attribute does not, the alias's file does.
        var test = new AnalyzerTest(new CallCensusAnalyzer());
        test.Sources.Add("[assembly: Fast]\nclass C { static void F() { } void M() { [|F()|]; } }\n");
        test.Sources.Add("global using Fast = Any.Where.HotPathAttribute;\n");
        test.Sources.Add(Attributes);
        return test.RunAsync();
    }

    [Fact]
    public Task LambdasAndLocalFunctions_InheritTheirMembersHotness() => Run("""
        class C
        {
            static void F() { }
            [Any.Where.HotPath] void Hot()
            {
                System.Action a = () => [|F()|];
                [|Local()|];
                void Local() { [|F()|]; }
            }
            void Cold_NoDiagnostic()
            {
                System.Action a = () => F();
                Local();
                void Local() { F(); }
            }
        }
        """);

    [Fact]
    public Task Loops_OnlyPerIterationCodeIsInTheLoop() => Run("""
        using System.Collections.Generic;
        class C
        {
            static int F() => 1;
            static List<int> Items() => new List<int>();
            void M()
            {
                F();
                foreach (var i in Items()) { [|F()|]; }
                for (var i = F(); i < [|F()|]; i += [|F()|]) { [|F()|]; }
                while ([|F()|] > 0) { [|F()|]; }
                do { [|F()|]; } while ([|F()|] > 0);
                do { F(); } while (false);
                for (;;)
                {
                    System.Action a = () => F();
                    break;
                }
            }
        }
        """);

    [Fact]
    public Task LoopBodyThatEveryPathLeaves_NotInTheLoop() => Run("""
        class C
        {
            static int F() => 1;
            int M(int[] items)
            {
                foreach (var i in items)
                {
                    if (i > 0) { F(); return i; }
                    if (i < -5) { F(); break; }
                    [|F()|];
                }
                while (true)
                {
                    switch ([|F()|])
                    {
                        case 0: F(); return 0;
                        case 1: [|F()|]; continue;
                        default: F(); throw new System.InvalidOperationException();
                    }
                }
            }
        }
        """);

    [Fact]
    public Task NestedLoops_CollectionOfInnerForeachRunsPerOuterIteration() => Run("""
        class C
        {
            static int[] Items() => new int[0];
            void M()
            {
                foreach (var i in Items())
                    foreach (var j in [|Items()|]) { }
            }
        }
        """);

    [Fact]
    public Task HotPathGlobs_MatchFullyQualifiedMemberNames() => Run("""
        namespace App.Parsing
        {
            class Parser
            {
                static void F() { }
                public Parser() { [|F()|]; }
                void Parse() { [|F()|]; }
                int Length { get { [|F()|]; return 0; } }
            }
            class Writer
            {
                static void F() { }
                void TryFormat() { [|F()|]; }
                void Write_NoDiagnostic() { F(); }
            }
        }
        namespace App.Other { class Parser { static void F() { } void Parse_NoDiagnostic() { F(); } } }
        """, ("memsafety.hot_paths", "App.Parsing.Parser.* ; *.TryFormat"));

    [Fact]
    public Task ConstructorGlob_UsesMetadataName() => Run("""
        namespace App { class Parser { static void F() { } public Parser() { [|F()|]; } void M_NoDiagnostic() { F(); } } }
        """, ("memsafety.hot_paths", "App.Parser..ctor"));

    [Fact]
    public Task ScopeEverywhere_ReportsAllCalls() => Run("""
        class C { static void F() { } void M() { [|F()|]; } }
        """, ("memsafety.scope", "everywhere"));

    [Fact]
    public Task ScopeHotPaths_IgnoresLoops_NoDiagnostic() => Run("""
        class C { static void F() { } void M() { while (true) { F(); } } }
        """, ("memsafety.TEST0002.scope", "hot_paths"));

    [Fact]
    public void GlobName_NamesMembersAsDocumented()
    {
        var compilation = Microsoft.CodeAnalysis.CSharp.CSharpCompilation.Create("t",
            new[] { Microsoft.CodeAnalysis.CSharp.CSharpSyntaxTree.ParseText("namespace N { class P<T> { public P() { } int X { get => 1; } class In { void Q() { } } public static P<T> operator +(P<T> a, P<T> b) => a; } }") });
        var type = compilation.GetTypeByMetadataName("N.P`1")!;
        Assert.Equal("N.P..ctor", HotPathOracle.GlobName(type.InstanceConstructors[0]));
        Assert.Equal("N.P.X", HotPathOracle.GlobName(((IPropertySymbol)type.GetMembers("X")[0]).GetMethod!));
        Assert.Equal("N.P.op_Addition", HotPathOracle.GlobName(type.GetMembers("op_Addition")[0]));
        Assert.Equal("N.P.In.Q", HotPathOracle.GlobName(type.GetTypeMembers("In")[0].GetMembers("Q")[0]));
        Assert.Equal("N.P", HotPathOracle.GlobName(type));
    }
}
