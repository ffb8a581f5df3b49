using System.Collections.Generic;
using System.Linq;
using System.Threading;
using MemSafety.Analyzers.Engines.Concurrency;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.FlowAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Tests.Engines.Concurrency;

/// <summary>
/// The syntactic and operation-tree answers MSA6001 asks before it builds a body's graph, checked against the lockset
/// analysis of the same body: a body <see cref="BodyMentions.Relevant"/> calls irrelevant records nothing; one without
/// <see cref="LockSignals.MayTakeLock"/> (and no entry lock) holds no lock anywhere; one where
/// <see cref="BodyLocks.MayHold"/> says no holds no lock the question accepts. Each case also states the answers, so
/// that the checks are not vacuous.
/// </summary>
public sealed class BodyPrefilterTests
{
    private sealed record BodyAnswers(string Name, bool Relevant, bool MayTakeLock, bool MayHoldKnownExclusive, BodyLocks Locks);

    private static Dictionary<string, BodyAnswers> Bodies(string source)
    {
        var (compilation, tree) = LocksetTests.Compile(source);
        var model = compilation.GetSemanticModel(tree);
        var type = compilation.GetTypeByMetadataName("C")!;
        var types = ConcurrencyTypes.Of(compilation);
        var signals = new LockSignals();
        var mentions = new BodyMentions(type);
        var answers = new Dictionary<string, BodyAnswers>();
        foreach (var declaration in tree.GetRoot().DescendantNodes().OfType<MethodDeclarationSyntax>())
        {
            if (model.GetDeclaredSymbol(declaration) is not { } method || !SymbolEqualityComparer.Default.Equals(method.ContainingType, type))
                continue;
            var body = (IMethodBodyOperation)model.GetOperation(declaration)!;
            var locks = BodyLocks.Analyze(ControlFlowGraph.Create(body), type, method, BodyLocks.EntryLocks(method, type, types), types, signals.IsBinarySemaphore,
                CancellationToken.None);
            var answer = new BodyAnswers(method.Name, mentions.Relevant(body.Syntax, CancellationToken.None), LockSignals.MayTakeLock(body.Syntax, CancellationToken.None),
                BodyLocks.MayHold(body, types, signals.IsBinarySemaphore, KnownExclusive), locks);
            Check(answer);
            answers[method.Name] = answer;
        }

        return answers;
    }

    private static bool KnownExclusive(HeldLock held) => held.Key.Kind != LockKind.Unknown && held.Mode == LockMode.Exclusive;

    private static void Check(BodyAnswers answer)
    {
        var held = answer.Locks.Accesses.Select(a => a.Held).Concat(answer.Locks.Calls.Select(c => c.Held)).ToList();
        if (!answer.Relevant)
            Assert.True(answer.Locks.Accesses.Count == 0 && answer.Locks.Calls.Count == 0, answer.Name + " records facts");
        if (!answer.MayTakeLock)
            Assert.True(held.All(h => h.IsEmpty), answer.Name + " holds a lock");
        if (!answer.MayHoldKnownExclusive)
            Assert.True(held.All(h => Enumerable.Range(0, h.Count).All(i => !KnownExclusive(h[i]))), answer.Name + " holds a known exclusive lock");
    }

    private static void AssertAnswers(Dictionary<string, BodyAnswers> bodies, string name, bool relevant, bool mayTakeLock, bool mayHold)
    {
        var answer = bodies[name];
        Assert.Equal((name, relevant, mayTakeLock, mayHold), (name, answer.Relevant, answer.MayTakeLock, answer.MayHoldKnownExclusive));
    }

    [Fact]
    public void LocksAndMentions()
    {
        var bodies = Bodies("""
            using System.IO;
            using System.Threading;
            class C
            {
                private readonly object _gate = new();
                private readonly object[] _locks = { new object() };
                private readonly Stream _stream = Stream.Null;
                private readonly ReaderWriterLockSlim _rw = new();
                private readonly SemaphoreSlim _one = new(1, 1);
                private readonly SemaphoreSlim _many = new(4);
                private readonly Lock _lock = new();
                private int _n;
                public int Pure(int x) => x + 1;                      // names nothing of C
                public void Plain() { _n++; }
                public void Statement() { lock (_gate) _n++; }
                public void Striped(int i) { lock (_locks[i]) _n++; }
                public void OnStream() { lock (_stream) _n++; }
                public void Monitor2() { Monitor.Enter(_gate); try { _n++; } finally { Monitor.Exit(_gate); } }
                public void ReadLock() { _rw.EnterReadLock(); try { _n++; } finally { _rw.ExitReadLock(); } }
                public void WriteLock() { _rw.EnterWriteLock(); try { _n++; } finally { _rw.ExitWriteLock(); } }
                public void Binary() { _one.Wait(); try { _n++; } finally { _one.Release(); } }
                public void Counting() { _many.Wait(); try { _n++; } finally { _many.Release(); } }
                public void OnLock() { lock (_lock) _n++; }
                public void InLambda() { System.Action a = () => { lock (this) _n++; }; a(); }
                public void CallsHelper() { Helper(); }
                public void CommentOnly() { /* lock (_gate) */ _n++; }
                private void Helper() { }
            }
            """);
        AssertAnswers(bodies, "Pure", relevant: false, mayTakeLock: false, mayHold: false);
        AssertAnswers(bodies, "Plain", relevant: true, mayTakeLock: false, mayHold: false);
        AssertAnswers(bodies, "Statement", relevant: true, mayTakeLock: true, mayHold: true);
        AssertAnswers(bodies, "Striped", relevant: true, mayTakeLock: true, mayHold: false);
        AssertAnswers(bodies, "OnStream", relevant: true, mayTakeLock: true, mayHold: true);
        AssertAnswers(bodies, "Monitor2", relevant: true, mayTakeLock: true, mayHold: true);
        AssertAnswers(bodies, "ReadLock", relevant: true, mayTakeLock: true, mayHold: false);
        AssertAnswers(bodies, "WriteLock", relevant: true, mayTakeLock: true, mayHold: true);
        AssertAnswers(bodies, "Binary", relevant: true, mayTakeLock: true, mayHold: true);
        AssertAnswers(bodies, "Counting", relevant: true, mayTakeLock: true, mayHold: false);
        AssertAnswers(bodies, "OnLock", relevant: true, mayTakeLock: true, mayHold: true);
        AssertAnswers(bodies, "InLambda", relevant: true, mayTakeLock: true, mayHold: true);
        AssertAnswers(bodies, "CallsHelper", relevant: true, mayTakeLock: false, mayHold: false);
        AssertAnswers(bodies, "CommentOnly", relevant: true, mayTakeLock: true, mayHold: false);
    }

    [Fact]
    public void PatternNamedHelper_EveryBodyIsRelevant()
    {
        // foreach calls the private extension GetEnumerator without its name in the body.
        var bodies = Bodies("""
            using System.Collections.Generic;
            static class C
            {
                public static void Scan(Box box) { foreach (var x in box) { } }
                private static IEnumerator<int> GetEnumerator(this Box box) { yield break; }
            }
            class Box { }
            """);
        AssertAnswers(bodies, "Scan", relevant: true, mayTakeLock: false, mayHold: false);
        Assert.Single(bodies["Scan"].Locks.Calls);
    }

    [Fact]
    public void UnicodeEscapeInTheFile_ReadsTheTokens()
    {
        var bodies = Bodies("""
            using System.Threading;
            class C
            {
                private readonly object _gate = new();
                private int _n;
                public void Escaped() { Monitor.\u0045nter(_gate); try { _n++; } finally { Monitor.Exit(_gate); } }
                public void Plain() { _n++; }
            }
            """);
        AssertAnswers(bodies, "Escaped", relevant: true, mayTakeLock: true, mayHold: true);
        AssertAnswers(bodies, "Plain", relevant: true, mayTakeLock: false, mayHold: false);
    }
}
