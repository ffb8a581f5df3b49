using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Diagnostics;
using System.IO;
using System.Linq;
using Analyzer.Utilities;
using MemSafety.Analyzers.Engines.Dataflow;
using MemSafety.Analyzers.Tests.Engines.Dataflow;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.FlowAnalysis;
using Microsoft.CodeAnalysis.FlowAnalysis.DataFlow;
using Microsoft.CodeAnalysis.FlowAnalysis.DataFlow.DisposeAnalysis;
using Microsoft.CodeAnalysis.FlowAnalysis.DataFlow.PointsToAnalysis;
using Microsoft.CodeAnalysis.Operations;

// usage: DataflowBench [--corpus DIR] [--repeat N] Assembly...
var corpus = Path.Combine(Path.GetTempPath(), "memsafety-corpus");
var repeat = 3;
var names = new List<string>();
for (var i = 0; i < args.Length; i++)
{
    if (args[i] == "--corpus") corpus = args[++i];
    else if (args[i] == "--repeat") repeat = int.Parse(args[++i]);
    else names.Add(args[i]);
}

if (names.Count == 0)
    names.AddRange(new[] { "Microsoft.CSharp", "System.Private.Uri", "System.Collections.Immutable", "System.Text.Json" });

var framework = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
var rule = new DiagnosticDescriptor("BENCH", "bench", "bench", "bench", DiagnosticSeverity.Warning, true);
var options = new AnalyzerOptions(ImmutableArray<AdditionalText>.Empty);
Console.WriteLine($"Roslyn {typeof(Compilation).Assembly.GetName().Version}, AnalyzerUtilities {typeof(WellKnownTypeProvider).Assembly.GetName().Version}, .NET {Environment.Version}, best of {repeat}");
Console.WriteLine("assembly | bodies | blocks | CFG build | ours: definite assignment + liveness | AU PointsTo | AU Dispose (CA2000's) | AU failed/unknown | ours unknown");
foreach (var name in names)
{
    var files = Directory.GetFiles(Path.Combine(corpus, name), "*.cs", SearchOption.AllDirectories);
    var trees = files.Select(f => CSharpSyntaxTree.ParseText(File.ReadAllText(f), new CSharpParseOptions(LanguageVersion.Latest), f)).ToList();
    var references = Directory.GetFiles(framework, "*.dll")
        .Where(p => !string.Equals(Path.GetFileNameWithoutExtension(p), name, StringComparison.OrdinalIgnoreCase))
        .Select(p => { try { return (MetadataReference?)MetadataReference.CreateFromFile(p); } catch { return null; } })
        .Where(r => r is not null).Select(r => r!).ToList();
    var compilation = CSharpCompilation.Create(name, trees, references,
        new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable));
    var bodies = new List<(IOperation Root, ISymbol Owner)>();
    foreach (var tree in trees)
    {
        var model = compilation.GetSemanticModel(tree);
        foreach (var node in tree.GetRoot().DescendantNodes())
        {
            if (node is not (BaseMethodDeclarationSyntax or AccessorDeclarationSyntax))
                continue;
            if (model.GetOperation(node) is { } root and (IMethodBodyOperation or IConstructorBodyOperation) && model.GetDeclaredSymbol(node) is { } owner)
                bodies.Add((root, owner));
        }
    }

    var wellKnown = WellKnownTypeProvider.GetOrCreate(compilation);
    double best(Func<ControlFlowGraph[], int> run, out int failures)
    {
        var times = new List<double>();
        failures = 0;
        for (var r = 0; r < repeat; r++)
        {
            // Fresh graphs each time: both frameworks cache per graph.
            var graphs = bodies.Select(b => b.Root switch
            {
                IMethodBodyOperation m => ControlFlowGraph.Create(m),
                IConstructorBodyOperation c => ControlFlowGraph.Create(c),
                _ => throw new InvalidOperationException(),
            }).ToArray();
            var watch = Stopwatch.StartNew();
            failures = run(graphs);
            times.Add(watch.Elapsed.TotalMilliseconds);
        }

        return times.Min();
    }

    var blocks = 0;
    var cfgBuild = new List<double>();
    for (var r = 0; r < repeat; r++)
    {
        var watch = Stopwatch.StartNew();
        foreach (var (root, _) in bodies)
            blocks += (root is IMethodBodyOperation m ? ControlFlowGraph.Create(m) : ControlFlowGraph.Create((IConstructorBodyOperation)root)).Blocks.Length;
        cfgBuild.Add(watch.Elapsed.TotalMilliseconds);
        if (r < repeat - 1)
            blocks = 0;
    }

    var ours = best(graphs =>
    {
        var unknown = 0;
        foreach (var graph in graphs)
        {
            var assigned = Dataflow.Analyze(graph, new DefiniteAssignment(graph), default);
            var live = Dataflow.Analyze(graph, new Liveness(graph), default);
            if (assigned is null || live is null)
                unknown++;
        }

        return unknown;
    }, out var oursUnknown);

    var pointsTo = best(graphs =>
    {
        var failed = 0;
        for (var i = 0; i < graphs.Length; i++)
        {
            var config = InterproceduralAnalysisConfiguration.Create(options, rule, graphs[i], compilation, InterproceduralAnalysisKind.None);
            try
            {
                if (PointsToAnalysis.TryGetOrComputeResult(graphs[i], bodies[i].Owner, options, wellKnown, PointsToAnalysisKind.PartialWithoutTrackingFieldsAndProperties, config, null) is null)
                    failed++;
            }
            catch (Exception) { failed++; }
        }

        return failed;
    }, out var pointsToFailed);

    var dispose = best(graphs =>
    {
        var failed = 0;
        for (var i = 0; i < graphs.Length; i++)
        {
            try
            {
                if (DisposeAnalysis.TryGetOrComputeResult(graphs[i], bodies[i].Owner, wellKnown, options, rule, ImmutableHashSet<INamedTypeSymbol>.Empty,
                    PointsToAnalysisKind.PartialWithoutTrackingFieldsAndProperties, trackInstanceFields: false, exceptionPathsAnalysis: false, out _,
                    InterproceduralAnalysisKind.None) is null)
                {
                    failed++;
                }
            }
            catch (Exception) { failed++; }
        }

        return failed;
    }, out var disposeFailed);

    Console.WriteLine($"{name} | {bodies.Count} | {blocks} | {cfgBuild.Min():F0} ms | {ours:F0} ms | {pointsTo:F0} ms | {dispose:F0} ms | {pointsToFailed}/{disposeFailed} | {oursUnknown}");
}
