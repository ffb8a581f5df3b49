using System.Collections.Generic;
using System.Linq;
using MemSafety.Analyzers.Engines.Concurrency;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Tests.Engines.Concurrency;

/// <summary>
/// The concurrency entry points engine (<see cref="ConcurrentEntryPoints"/>): for each lambda of the source in order,
/// what it is handed to (<c>kind:entry</c>, with <c>+loop</c> when each iteration of a loop around the call starts another
/// copy), or <c>-</c>.
/// </summary>
public sealed class ConcurrentEntryPointsTests
{
    private static List<string> Entries(string body)
    {
        var source = """
            using System;
            using System.Collections.Generic;
            using System.Threading;
            using System.Threading.Tasks;
            class C
            {
                static void Work(int i) { }
                static async Task M(int[] items, List<Task> tasks)
                {
            """ + body + """

                }
            }
            """;
        var tree = CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Latest));
        var compilation = CSharpCompilation.Create("t", new[] { tree }, Basic.Reference.Assemblies.Net80.References.All,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        var model = compilation.GetSemanticModel(tree);
        var result = new List<string>();
        foreach (var lambda in tree.GetRoot().DescendantNodes().OfType<AnonymousFunctionExpressionSyntax>())
        {
            var operation = model.GetOperation(lambda)!;
            var entry = ConcurrentEntryPoints.Classify(operation);
            result.Add(entry.IsEntry ? $"{entry.Kind}:{entry.EntryName}{(entry.Loop is null ? "" : "+loop")}" : "-");
        }

        return result;
    }

    [Fact]
    public void ParallelLoopsAndInvoke()
        => Assert.Equal(
            new[] { "ParallelLoop:Parallel.For", "ParallelLoop:Parallel.ForEach", "ParallelInvoke:Parallel.Invoke", "ParallelInvoke:Parallel.Invoke" },
            Entries("""
                Parallel.For(0, 10, i => Work(i));
                Parallel.ForEach(items, x => Work(x));
                Parallel.Invoke(() => Work(1), () => Work(2));
                """));

    [Fact]
    public void StartedOnAnotherThread_AndInALoopWhenNotAwaitedThere()
        => Assert.Equal(
            new[] { "Started:Task.Run", "Started:Task.Factory.StartNew", "Started:new Thread", "Started:ThreadPool.QueueUserWorkItem", "Started:new Timer", "Started:Task.Run+loop", "Started:Task.Run" },
            Entries("""
                await Task.Run(() => Work(0));
                await Task.Factory.StartNew(() => Work(1));
                new Thread(() => Work(2)).Start();
                ThreadPool.QueueUserWorkItem(_ => Work(3));
                using var timer = new Timer(_ => Work(4), null, 0, 100);
                foreach (var item in items)
                    tasks.Add(Task.Run(() => Work(item)));
                foreach (var item in items)
                    await Task.Run(() => Work(item));
                """));

    [Fact]
    public void OrdinaryDelegates_AreNoEntry()
        => Assert.Equal(
            new[] { "-", "-", "-" },
            Entries("""
                Action a = () => Work(0);
                Array.ForEach(items, x => Work(x));
                var selected = System.Linq.Enumerable.Select(items, x => x + 1);
                a();
                """));

    [Fact]
    public void Enclosing_FindsTheNearestEntryAroundAnOperation()
    {
        var source = """
            using System.Threading.Tasks;
            class C
            {
                int _count;
                void M() => Parallel.For(0, 10, i => { System.Func<int> f = () => _count++; f(); });
            }
            """;
        var tree = CSharpSyntaxTree.ParseText(source);
        var compilation = CSharpCompilation.Create("t", new[] { tree }, Basic.Reference.Assemblies.Net80.References.All,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        var model = compilation.GetSemanticModel(tree);
        var increment = tree.GetRoot().DescendantNodes().OfType<PostfixUnaryExpressionSyntax>().Single();
        var (function, entry) = ConcurrentEntryPoints.Enclosing(model.GetOperation(increment)!);
        Assert.Equal(EntryKind.ParallelLoop, entry.Kind);
        Assert.StartsWith("i =>", function!.Syntax.ToString());
    }
}
