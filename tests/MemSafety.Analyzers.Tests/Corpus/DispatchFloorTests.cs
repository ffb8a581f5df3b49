using System;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Corpus;
using MemSafety.Analyzers.Rules.SharedState;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace MemSafety.Analyzers.Tests.Corpus;

/// <summary>The corpus tool's <c>--floor</c> wrapper: an analyzer's start actions run for real (they decide what is
/// registered), every other callback is replaced by an empty one, so nothing is reported.</summary>
public sealed class DispatchFloorTests
{
    private const string Source = """
        using System.Threading;
        class Cache
        {
            private readonly object _gate = new object();
            private readonly System.Collections.Generic.List<int> _items = new();
            public void Put(int x) { Monitor.Enter(_gate); _items.Add(x); Monitor.Exit(_gate); }
        }
        """;

    [Fact]
    public async Task Floor_StartActionsRunLeafCallbacksDoNot()
    {
        var counting = new CountingAnalyzer();

        var diagnostics = await RunAsync(DispatchFloor.Wrap(ImmutableArray.Create<DiagnosticAnalyzer>(counting)));

        Assert.Empty(diagnostics);
        Assert.Equal(1, counting.CompilationStarts);
        Assert.True(counting.SymbolStarts > 0 && counting.BlockStarts > 0, $"{counting.SymbolStarts} symbol starts, {counting.BlockStarts} block starts");
        Assert.Equal(0, counting.Leaves);
    }

    [Fact]
    public async Task Floor_OfAReportingRule_ReportsNothing()
    {
        var real = await RunAsync(ImmutableArray.Create<DiagnosticAnalyzer>(new LockWithoutFinallyAnalyzer()));
        var floor = await RunAsync(DispatchFloor.Wrap(ImmutableArray.Create<DiagnosticAnalyzer>(new LockWithoutFinallyAnalyzer())));

        Assert.Equal(new[] { "MSA6005" }, real.Select(d => d.Id));
        Assert.Empty(floor);
        Assert.Equal(nameof(LockWithoutFinallyAnalyzer), DispatchFloor.NameOf(DispatchFloor.Wrap(ImmutableArray.Create<DiagnosticAnalyzer>(new LockWithoutFinallyAnalyzer()))[0]));
    }

    /// <summary>Every diagnostic, analyzer exceptions (AD0001) included.</summary>
    private static async Task<ImmutableArray<Diagnostic>> RunAsync(ImmutableArray<DiagnosticAnalyzer> analyzers)
    {
        var references = AppDomain.CurrentDomain.GetAssemblies()
            .Where(a => !a.IsDynamic && a.Location.Length > 0 && (a.GetName().Name is "System.Runtime" or "System.Private.CoreLib" or "System.Threading" or "System.Collections"))
            .Select(a => MetadataReference.CreateFromFile(a.Location));
        var compilation = CSharpCompilation.Create("Floor", new[] { CSharpSyntaxTree.ParseText(Source) }, references, new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        var options = new CompilationWithAnalyzersOptions(new AnalyzerOptions(ImmutableArray<AdditionalText>.Empty), onAnalyzerException: null, concurrentAnalysis: false, logAnalyzerExecutionTime: false);
        return await compilation.WithAnalyzers(analyzers, options).GetAnalyzerDiagnosticsAsync(CancellationToken.None);
    }

#pragma warning disable RS1001, RS1025, RS1026 // a test analyzer, run directly
    private sealed class CountingAnalyzer : DiagnosticAnalyzer
    {
        private static readonly DiagnosticDescriptor Rule = new("FLOOR0001", "t", "t", "t", DiagnosticSeverity.Warning, isEnabledByDefault: true);
        public int CompilationStarts;
        public int SymbolStarts;
        public int BlockStarts;
        public int Leaves;

        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(Rule);

        public override void Initialize(AnalysisContext context)
        {
            context.RegisterCompilationStartAction(start =>
            {
                Interlocked.Increment(ref CompilationStarts);
                start.RegisterSymbolStartAction(symbol =>
                {
                    Interlocked.Increment(ref SymbolStarts);
                    symbol.RegisterOperationBlockStartAction(block =>
                    {
                        Interlocked.Increment(ref BlockStarts);
                        block.RegisterOperationAction(Leaf, OperationKind.Invocation);
                        block.RegisterOperationBlockEndAction(Leaf);
                    });
                    symbol.RegisterSymbolEndAction(Leaf);
                }, SymbolKind.NamedType);
                start.RegisterOperationAction(Leaf, OperationKind.Invocation);
                start.RegisterCompilationEndAction(Leaf);
            });
            context.RegisterSyntaxNodeAction(Leaf, SyntaxKind.InvocationExpression);
        }

        private void Leaf<T>(T context)
        {
            Interlocked.Increment(ref Leaves);
            if (context is OperationAnalysisContext operation)
                operation.ReportDiagnostic(Diagnostic.Create(Rule, operation.Operation.Syntax.GetLocation()));
        }
    }
#pragma warning restore RS1001, RS1025, RS1026
}
