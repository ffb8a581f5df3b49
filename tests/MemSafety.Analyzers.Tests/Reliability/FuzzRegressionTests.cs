using System;
using System.Threading.Tasks;

namespace MemSafety.Analyzers.Tests.Reliability;

/// <summary>Mutants the fuzzer found failing (docs/reliability.md), kept as they were found: every analyzer and fix
/// runs over each without an exception, and no fix makes it stop parsing.</summary>
public sealed class FuzzRegressionTests
{
    public static TheoryData<string, string> Found() => new()
    {
        {
            // Seed 2, mutant 861 (a statement wrapped in a one-line lambda): MSA1003's ArrayPool fix wrote code that did
            // not parse.
            "seed 2, mutant 861",
            """
            class Program
            {
                static int Run()
                {
                    var junk = new int[100_000];
                    System.Action fuzzWrapped = () => { var values = new int[100_000]; };
                    return junk.Length;
                }
            }
            """
        },
        {
            // Seed 2, mutant 2680 (the MSA1003 sample's declaration wrapped in a one-line loop): the same cause.
            "seed 2, mutant 2680",
            """
            using System.IO;
            class Program
            {
                static void Copy(Stream from, Stream to)
                {
                    for (var fuzzI = 0; fuzzI < 2; fuzzI++) { var buffer = new byte[128 * 1024]; }
                    from.CopyTo(to);
                }
            }
            """
        },
        {
            // Seed 3, mutant 745 (a GCHandle's Free wrapped in a loop): MSA5004's provenance analysis never ended.
            "seed 3, mutant 745",
            """
            using System;
            using System.Runtime.InteropServices;
            class C
            {
                static IntPtr Address(int[] values)
                {
                    var handle = GCHandle.Alloc(values, GCHandleType.Pinned);
                    IntPtr address = handle.AddrOfPinnedObject();
                    for (var fuzzI = 0; fuzzI < 2; fuzzI++) { handle.Free(); }
                    return address;
                }
            }
            """
        },
        {
            // Seed 4, mutant 21235 (a '[' inserted into a foreach header): MSA3004's "cache the delegate in a field" edit
            // made Roslyn's formatter fail on the broken method (IndentBlockOperation: Unexpected false).
            "seed 4, mutant 21235",
            """
            using System;
            using System.Collections.Generic;
            using System.Threading.Tasks;
            class C
            {
                int _delay;
                static void Run(Func<Task> work) => work().Wait();
                void M(List<int> xs)
                {
                    Each(xs);
                    void Each(List<int> items) { foreach (var x [in items) Run(async () => await Task.Delay(_delay)); }
                }
            }
            """
        },
        {
            // Seed 5, mutant 30908 (a '[' inserted after 'lock', in the MSA6101 sample): the fix that takes the required
            // lock around a call (MSA6001's rewrite, shared) made Roslyn's formatter fail on the broken method.
            "seed 5, mutant 30908",
            """
            ]using System.Collections.Generic;

            namespace MemSafety.Samples.SharedState;

            public sealed class CallWithoutRequiredLockAfter
            {
                private readonly object _gate = new();
                private readonly List<int> _items = new();

                public void Add(int item)
                {
                    lock [(_gate)
                    {
                        System.Func<System.Threading.Tasks.Task> fuzzWrapped = async () => { await System.Threading.Tasks.Task.Yield(); _items.Add(item); };
                        TrimLocked();
                    }
                }

                [MemSafety.RequiresLock(nameof(_gate))]
                private void TrimLocked()
                {
                    if (_items.Count > 100)
                        _items.RemoveRange(0, 50);
                }
            }
            """
        },
    };

    [Theory]
    [MemberData(nameof(Found))]
    public async Task FoundMutant_NoAnalyzerOrFixFails(string found, string source)
    {
        var outcome = await FuzzHarness.RunAsync(source, TimeSpan.FromMinutes(2));
        Assert.True(outcome.Failures.Count == 0, found + ":\n" + string.Join("\n", outcome.Failures));
    }
}
