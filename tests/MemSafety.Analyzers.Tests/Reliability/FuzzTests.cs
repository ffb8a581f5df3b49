using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using Xunit.Abstractions;

namespace MemSafety.Analyzers.Tests.Reliability;

/// <summary>
/// Mutation fuzzing of every analyzer and every fix (docs/reliability.md). CI runs a fixed budget of seeded mutants; a
/// campaign runs longer with environment variables:
/// <c>MEMSAFETY_FUZZ_SEED</c> (default 1), <c>MEMSAFETY_FUZZ_MUTANTS</c> (default 200), <c>MEMSAFETY_FUZZ_SECONDS</c>
/// (stop after this long, default no limit), <c>MEMSAFETY_FUZZ_ONLY</c> (run one mutant index, to reproduce a failure).
/// A failure prints the seed, the index, the input, the mutations and the mutant, and writes the mutant to a file.
/// </summary>
public sealed class FuzzTests
{
    private readonly ITestOutputHelper _output;

    public FuzzTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public void Inputs_IncludeSamplesAndTestSources()
    {
        var inputs = FuzzInputs.All;
        Assert.Contains(inputs, i => i.Name.StartsWith("samples/", StringComparison.Ordinal));
        Assert.Contains(inputs, i => i.Name.StartsWith("tests/", StringComparison.Ordinal) && !i.Source.Contains("[|", StringComparison.Ordinal));
        Assert.True(inputs.Count > 1000, $"only {inputs.Count} inputs");
    }

    [Fact]
    public void Mutants_AreReproducibleFromSeedAndIndex()
    {
        var first = Mutator.Create(FuzzInputs.All, 7, 42);
        var again = Mutator.Create(FuzzInputs.All, 7, 42);
        Assert.Equal(first.Source, again.Source);
        Assert.Equal(first.Mutations, again.Mutations);
        Assert.NotEqual(first.Input.Source, first.Source);
        Assert.NotEqual(first.Source, Mutator.Create(FuzzInputs.All, 8, 42).Source);
    }

    [Fact]
    public async Task Harness_OnTheUnmutatedSamples_EveryBeforeSampleReportsItsRuleAndItsFixesRun()
    {
        // The harness turns every rule on: each Before sample reports the rule it is named for, and where the rule has a
        // fix, the fix runs there without failing.
        var samples = FuzzInputs.All.Where(i => i.Name.StartsWith("samples/", StringComparison.Ordinal) && i.Name.EndsWith(".Before.cs", StringComparison.Ordinal)).ToList();
        Assert.True(samples.Count >= 30, $"{samples.Count} samples");
        var fixes = 0;
        foreach (var sample in samples)
        {
            var outcome = await FuzzHarness.RunAsync(sample.Source, TimeSpan.FromMinutes(2));
            Assert.True(outcome.Failures.Count == 0, sample.Name + ": " + string.Join("\n", outcome.Failures));
            var id = Path.GetFileName(sample.Name).Split('.')[0];
            Assert.True(outcome.Ids.Contains(id), $"{sample.Name} does not report {id}: {string.Join(", ", outcome.Ids)}");
            fixes += outcome.FixesApplied;
        }

        Assert.True(fixes >= samples.Count / 2, $"{fixes} fix actions over {samples.Count} samples");
    }

    [Fact]
    public async Task SeededMutants_NoAnalyzerOrFixThrowsHangsOrBreaksParsing()
    {
        var seed = Setting("MEMSAFETY_FUZZ_SEED", 1);
        var count = Setting("MEMSAFETY_FUZZ_MUTANTS", 200);
        var seconds = Setting("MEMSAFETY_FUZZ_SECONDS", 0);
        var only = Setting("MEMSAFETY_FUZZ_ONLY", -1);
        var inputs = FuzzInputs.All;
        var clock = Stopwatch.StartNew();
        var report = new StringBuilder();
        int tried = 0, diagnostics = 0, fixes = 0, failed = 0;
        for (var index = only >= 0 ? only : 0; index < (only >= 0 ? only + 1 : count); index++)
        {
            if (seconds > 0 && clock.Elapsed.TotalSeconds > seconds)
                break;
            var mutant = Mutator.Create(inputs, seed, index);
            var outcome = await FuzzHarness.RunAsync(mutant.Source, TimeSpan.FromSeconds(90));
            tried++;
            diagnostics += outcome.Diagnostics;
            fixes += outcome.FixesApplied;
            if (outcome.Failures.Count == 0)
                continue;
            failed++;
            var file = Path.Combine(Path.GetTempPath(), "memsafety-fuzz", $"seed{seed}-mutant{index}.cs");
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            File.WriteAllText(file, mutant.Source);
            report.AppendLine($"mutant {index} of seed {seed} (reproduce: MEMSAFETY_FUZZ_SEED={seed} MEMSAFETY_FUZZ_ONLY={index}), input {mutant.Input.Name}, "
                + $"mutations: {string.Join("; ", mutant.Mutations)}; written to {file}");
            foreach (var failure in outcome.Failures.Take(3))
                report.AppendLine("  " + failure);
        }

        _output.WriteLine($"seed {seed}: {tried} mutants of {inputs.Count} inputs, {diagnostics} diagnostics, {fixes} fix actions tried, "
            + $"{failed} failed, {clock.Elapsed.TotalSeconds:0} s");
        Assert.True(failed == 0, report.ToString());
    }

    private static int Setting(string name, int fallback)
        => int.TryParse(Environment.GetEnvironmentVariable(name), out var value) ? value : fallback;
}
