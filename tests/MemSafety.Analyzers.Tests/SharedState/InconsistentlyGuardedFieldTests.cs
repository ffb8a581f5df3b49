using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.SharedState;
using MemSafety.Analyzers.Tests.Verification;
using VerifyCS = MemSafety.Analyzers.Tests.Verification.Verify<MemSafety.Analyzers.Rules.SharedState.InconsistentlyGuardedFieldAnalyzer, MemSafety.CodeFixes.SharedState.InconsistentlyGuardedFieldFix>;

namespace MemSafety.Analyzers.Tests.SharedState;

public sealed class InconsistentlyGuardedFieldTests
{
    /// <summary>System.Threading.Lock as .NET 9+ declares it (the test references are .NET 8's): the C# 13 compiler
    /// recognises the type by name and lowers <c>lock</c> on it to <c>EnterScope()</c> and <c>Scope.Dispose()</c>.</summary>
    internal const string LockType = """

        namespace System.Threading
        {
            public sealed class Lock
            {
                public void Enter() { }
                public void Exit() { }
                public Scope EnterScope() => default;
                public ref struct Scope { public void Dispose() { } }
            }
        }
        """;

    // ------------------------------------------------------------------ reported

    [Fact]
    public Task IncrementOutsideTheLock() => VerifyCS.CodeFixAsync("""
        class Counter
        {
            private readonly object _gate = new();
            private int _count;

            public void Add()
            {
                lock (_gate)
                {
                    _count++;
                }
            }

            public void Reset()
            {
                [|_count|] = 0;
            }
        }
        """, """
        class Counter
        {
            private readonly object _gate = new();
            private int _count;

            public void Add()
            {
                lock (_gate)
                {
                    _count++;
                }
            }

            public void Reset()
            {
                lock (_gate)
                {
                    _count = 0;
                }
            }
        }
        """);

    [Fact]
    public Task MessageNamesTheLockTheGuardedMemberAndWhy()
    {
        var test = Verify<InconsistentlyGuardedFieldAnalyzer>.Test("""
            class Counter
            {
                private readonly object _gate = new();
                private int _count;

                public void Add()
                {
                    lock (_gate) _count = _count + 1;
                }

                public void Bump() => {|#0:_count|}++;
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA6001", 0).WithMessage(
            "'_count' is written under lock '_gate' in 'Add' but updated by '++' here without it: the read, the computation and the write are separate steps, so an update made concurrently under the lock can be lost"));
        return test.RunAsync();
    }

    [Fact]
    public Task ListReadOutsideTheLock() => VerifyCS.CodeFixAsync("""
        using System.Collections.Generic;
        class Registry
        {
            private readonly object _gate = new();
            private readonly List<string> _names = new();

            public void Register(string name)
            {
                lock (_gate)
                    _names.Add(name);
            }

            public bool Has(string name)
            {
                return [|_names|].Contains(name);
            }
        }
        """, """
        using System.Collections.Generic;
        class Registry
        {
            private readonly object _gate = new();
            private readonly List<string> _names = new();

            public void Register(string name)
            {
                lock (_gate)
                    _names.Add(name);
            }

            public bool Has(string name)
            {
                lock (_gate)
                {
                    return _names.Contains(name);
                }
            }
        }
        """);
}
