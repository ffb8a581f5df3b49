using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.Finalizers;
using MemSafety.Analyzers.Tests.Verification;

namespace MemSafety.Analyzers.Tests.Finalizers;

public sealed class FinalizerResurrectionTests
{
    // ------------------------------------------------------------------ reported

    [Fact]
    public Task AddedToAStaticPool_MessageSaysWhatHappensNext()
    {
        var test = Verify<FinalizerResurrectionAnalyzer>.Test("""
            using System.Collections.Generic;
            sealed class Buffer
            {
                private static readonly Stack<Buffer> s_pool = new();
                public byte[] Bytes = new byte[4096];
                ~Buffer() { {|#0:s_pool.Push(this)|}; }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4009", 0).WithMessage(
            "Finalizer of 'Buffer' passes 'this' to 's_pool.Push': the object becomes reachable again after finalization, while objects it references may already have been finalized, and its finalizer will not run again"));
        return test.RunAsync();
    }

    [Fact]
    public Task StoredIntoAStaticFieldAndReRegistered_MessageSaysItIsFinalizedAgain()
    {
        var test = Verify<FinalizerResurrectionAnalyzer>.Test("""
            sealed class Phoenix
            {
                public static Phoenix? Last;
                ~Phoenix()
                {
                    {|#0:Last = this|};
                    System.GC.ReRegisterForFinalize(this);
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4009", 0).WithMessage(
            "Finalizer of 'Phoenix' stores 'this' into static field 'Last': the object becomes reachable again after finalization, while objects it references may already have been finalized, and it is re-registered to be finalized again"));
        return test.RunAsync();
    }

    [Fact]
    public Task InterlockedStoreIntoAStatic_Reported() => Verify<FinalizerResurrectionAnalyzer>.AnalyzerAsync("""
        sealed class Cached
        {
            private static Cached? s_spare;
            ~Cached() { [|System.Threading.Interlocked.CompareExchange(ref s_spare, this, null)|]; }
        }
        """);

    [Fact]
    public Task StoredIntoAnotherObjectsFieldOrAnArray_Reported() => Verify<FinalizerResurrectionAnalyzer>.AnalyzerAsync("""
        sealed class Registry { public object? Orphan; public object?[] Slots = new object?[4]; }
        sealed class Child
        {
            private readonly Registry _registry = new Registry();
            ~Child()
            {
                [|_registry.Orphan = this|];
                [|_registry.Slots[0] = this|];
            }
        }
        """);

    [Fact]
    public Task StoredOnTheDisposeFalsePath_MessageSaysWhere()
    {
        var test = Verify<FinalizerResurrectionAnalyzer>.Test("""
            using System.Collections.Concurrent;
            sealed class Connection
            {
                private static readonly ConcurrentQueue<Connection> s_idle = new();
                private void Dispose(bool disposing)
                {
                    if (!disposing)
                        {|#0:s_idle.Enqueue(this)|};
                }
                ~Connection() { Dispose(false); }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4009", 0).WithMessage(
            "Finalizer of 'Connection' passes 'this' to 's_idle.Enqueue' (in Dispose(false)): the object becomes reachable again after finalization, while objects it references may already have been finalized, and its finalizer will not run again"));
        return test.RunAsync();
    }

    [Fact]
    public Task PassedToASourceMethodThatStoresIt_Reported()
    {
        var test = Verify<FinalizerResurrectionAnalyzer>.Test("""
            static class Leaks
            {
                private static object? s_kept;
                public static void Keep(object value) { s_kept = value; }
            }
            sealed class Tracked
            {
                ~Tracked() { {|#0:Leaks.Keep(this)|}; }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4009", 0).WithMessage(
            "Finalizer of 'Tracked' passes 'this' to 'Leaks.Keep', which stores it: the object becomes reachable again after finalization, while objects it references may already have been finalized, and its finalizer will not run again"));
        return test.RunAsync();
    }

    [Fact]
    public Task StoredByAnOverrideOfADerivedType_ReportedOnce() => Verify<FinalizerResurrectionAnalyzer>.AnalyzerAsync("""
        using System.Collections.Generic;
        internal class Base
        {
            protected virtual void Release(bool disposing) { }
            ~Base() { Release(false); }
        }
        internal sealed class Pooled : Base
        {
            internal static readonly List<Pooled> Pool = new();
            protected override void Release(bool disposing) { [|Pool.Add(this)|]; }
            ~Pooled() { Release(false); }
        }
        """);

    // ------------------------------------------------------------------ not reported

    [Fact]
    public Task ReRegisterAlone_TheGcCallbackPattern_NoDiagnostic() => Verify<FinalizerResurrectionAnalyzer>.AnalyzerAsync("""
        sealed class GcWatcher
        {
            private readonly System.Action _onGen2;
            public GcWatcher(System.Action onGen2) => _onGen2 = onGen2;
            ~GcWatcher()
            {
                if (System.GC.GetGeneration(this) == System.GC.MaxGeneration)
                    _onGen2();
                System.GC.ReRegisterForFinalize(this);
            }
        }
        """);

    [Fact]
    public Task StoredIntoItsOwnField_NoDiagnostic() => Verify<FinalizerResurrectionAnalyzer>.AnalyzerAsync("""
        sealed class Self
        {
            private Self? _self;
            public Self? Peek() => _self;
            ~Self() { _self = this; }
        }
        """);

    [Fact]
    public Task PassedToCodeThatDoesNotKeepIt_NoDiagnostic() => Verify<FinalizerResurrectionAnalyzer>.AnalyzerAsync("""
        static class Log
        {
            public static void Leaked(object value) => System.Console.WriteLine(value.GetType().Name);
        }
        sealed class Tracked
        {
            ~Tracked() { Log.Leaked(this); System.Console.WriteLine(this); }
        }
        """);

    [Fact]
    public Task WeakReferenceToThis_DoesNotResurrect_NoDiagnostic() => Verify<FinalizerResurrectionAnalyzer>.AnalyzerAsync("""
        sealed class Observed
        {
            public static System.WeakReference? LastSeen;
            ~Observed() { LastSeen = new System.WeakReference(this, trackResurrection: false); }
        }
        """);

    [Fact]
    public Task PublishedOutsideTheFinalizer_NoDiagnostic() => Verify<FinalizerResurrectionAnalyzer>.AnalyzerAsync("""
        using System.Collections.Generic;
        sealed class Registered
        {
            private static readonly List<Registered> s_all = new();
            private bool _finalized;
            public Registered() { s_all.Add(this); }
            public void Return() { s_all.Add(this); }
            public bool Finalized => _finalized;
            ~Registered() { _finalized = true; }
        }
        """);

    [Fact]
    public Task GeneratedCode_NoDiagnostic() => Verify<FinalizerResurrectionAnalyzer>.AnalyzerAsync("""
        // <auto-generated/>
        sealed class Generated
        {
            public static Generated? Last;
            ~Generated() { Last = this; }
        }
        """);

    [Fact]
    public Task IncompleteCode_NoDiagnosticAndNoCrash()
    {
        var test = Verify<FinalizerResurrectionAnalyzer>.Test("""
            sealed class A { public static A? Last; ~A( { Last = this; } }
            sealed class B { ~B() { Missing.Add(this); } }
            """);
        test.AllowCompilerErrors = true;
        return test.RunAsync();
    }

    // ------------------------------------------------------------------ run-time evidence (.NET 10, the test host)

    [Fact]
    public void Runtime_TheResurrectedObjectHoldsAFinalizedObject_AndIsNotFinalizedAgain()
    {
        var result = Behaviour.RunInOwnProcess("""
            using System;
            using System.Collections.Generic;
            using System.Runtime.CompilerServices;

            public sealed class Inner
            {
                public bool Finalized;
                ~Inner() { Finalized = true; }
            }

            public sealed class Pooled
            {
                public static readonly List<Pooled> Pool = new();
                public static int FinalizerRuns;
                public readonly Inner Inner = new Inner();
                ~Pooled()
                {
                    FinalizerRuns++;
                    lock (Pool) Pool.Add(this);
                }
            }

            public static class Program
            {
                [MethodImpl(MethodImplOptions.NoInlining)]
                static void Drop() => _ = new Pooled();

                static void Collect()
                {
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    GC.Collect();
                }

                public static string Run()
                {
                    Drop();
                    Collect();
                    var resurrected = Pool.Count;
                    var innerFinalized = Pooled.Pool[0].Inner.Finalized;
                    Pooled.Pool.Clear();
                    Collect();
                    return $"resurrected {resurrected}, its field's object finalized {innerFinalized}, finalizer runs after it died again {Pooled.FinalizerRuns}";
                }
            }
            """.Replace("Pool.Count", "Pooled.Pool.Count"));
        Assert.Equal("resurrected 1, its field's object finalized True, finalizer runs after it died again 1", result);
    }
}
