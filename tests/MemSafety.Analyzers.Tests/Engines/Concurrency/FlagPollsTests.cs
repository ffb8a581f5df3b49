using System.Collections.Generic;
using System.Linq;
using System.Threading;
using MemSafety.Analyzers.Engines.Concurrency;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Tests.Engines.Concurrency;

/// <summary>
/// The flag-poll engine (<see cref="FlagPolls"/>): for each loop of class <c>C</c> in source order, the fields it polls
/// with the function that writes them elsewhere (<c>_stop@Stop()</c>), or <c>-</c> when the loop orders its reads, writes
/// the field, or nothing else writes it.
/// </summary>
public sealed class FlagPollsTests
{
    private static List<string> Polls(string source)
    {
        var tree = CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Latest));
        var compilation = CSharpCompilation.Create("t", new[] { tree }, Basic.Reference.Assemblies.Net80.References.All,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        var model = compilation.GetSemanticModel(tree);
        var result = new List<string>();
        foreach (var node in tree.GetRoot().DescendantNodes())
        {
            if (model.GetOperation(node) is not ILoopOperation loop || loop.Syntax != node)
                continue;
            var polls = FlagPolls.Collect(loop);
            var found = polls?.Select(p => FlagPolls.FindWriterElsewhere(p.Field, loop, compilation, CancellationToken.None) is { } writer ? p.Field.Name + "@" + writer.Description : null)
                .Where(s => s is not null).ToList();
            result.Add(found is { Count: > 0 } ? string.Join(",", found) : "-");
        }

        return result;
    }

    [Fact]
    public void ConditionAndExitIf_PollsNamedWithTheirWriters()
    {
        Assert.Equal(new[] { "_stop@Stop()", "_done@a lambda in Start()", "_stop@Stop(),_phase@Advance()" }, Polls("""
            class C
            {
                private bool _stop, _done;
                private int _phase;
                public void Stop() { _stop = true; }
                public void Advance() { _phase++; }
                public void Start() { System.Threading.Tasks.Task.Run(() => _done = true); }
                public void A() { while (!_stop) { } }
                public void B() { int n = 0; while (true) { if (_done) break; n++; } }
                public void D() { do { } while (!_stop && _phase < 3); }
            }
            """));
    }

    [Fact]
    public void OrderingOrCallsOrOwnWritesOrCounters_NoPoll()
    {
        Assert.Equal(new[] { "-", "-", "-", "-", "-" }, Polls("""
            class C
            {
                private bool _stop;
                private volatile int _v;
                private int _count;
                public void Stop() { _stop = true; _count = 2; }
                public void A() { while (!_stop) { Work(); } }
                public void B() { while (!_stop) { _ = _v; } }
                public void D() { while (!_stop) { _stop = _count > 1; } }
                public void E(int[] a) { for (var i = 0; i < _count; i++) a[i] = 0; }
                public void F() { while (!System.Threading.Volatile.Read(ref _stop)) { } }
                private void Work() { }
            }
            """));
    }
}
