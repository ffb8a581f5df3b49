using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace MemSafety.Analyzers.Corpus;

/// <summary>Generated code at the sizes where an analyzer that is not linear shows it: one huge file, one huge method,
/// deep lambda nesting, one lock guarding thousands of fields, a deep expression. Each case is written at a scale
/// (1 = the size issue 13 names) so the benchmark can check that time grows linearly.</summary>
internal static class StressSet
{
    public static readonly string[] Cases =
    {
        "10,000-line file",
        "3,000-statement method",
        "200 nested lambdas",
        "2,000 fields under one lock",
        "500-deep expression",
    };

    public static string Source(string stressCase, double scale)
    {
        int N(int full) => Math.Max(1, (int)Math.Round(full * scale));
        return stressCase switch
        {
            "10,000-line file" => LargeFile(N(1000)),
            "3,000-statement method" => LongMethod(N(3000)),
            "200 nested lambdas" => NestedLambdas(N(200)),
            "2,000 fields under one lock" => FieldsUnderLock(N(2000)),
            "500-deep expression" => DeepExpression(N(500)),
            _ => throw new ArgumentException("no stress case " + stressCase, nameof(stressCase)),
        };
    }

    private const string Usings = "using System;\nusing System.Collections.Generic;\nusing System.IO;\nusing System.Linq;\nusing System.Text;\nusing System.Threading;\n";

    /// <summary>Ten-line methods (arrays, a loop with string concatenation, a lambda, a stream, a lock, boxing): ~10 lines each.</summary>
    private static string LargeFile(int methods)
    {
        var sb = new StringBuilder(Usings).Append("public class Large\n{\n    private readonly object _gate = new object();\n    private int _count;\n");
        for (var i = 0; i < methods; i++)
        {
            sb.Append(CultureInfo.InvariantCulture, $"    public string M{i}(int n, List<int> items)\n    {{\n");
            sb.Append(CultureInfo.InvariantCulture, $"        var a = new int[] {{ 1, 2, {i} }}; string s = \"\";\n");
            sb.Append("        for (var k = 0; k < n; k++) { s += k; }\n");
            sb.Append("        Func<int, int> f = x => x + n + a.Length;\n");
            sb.Append("        var stream = new MemoryStream(); stream.WriteByte((byte)f(1));\n");
            sb.Append("        lock (_gate) { _count++; }\n");
            sb.Append("        object boxed = n; return s + boxed + items.Where(x => x > n).Count();\n");
            sb.Append("    }\n\n");
        }

        return sb.Append("}\n").ToString();
    }

    private static string LongMethod(int statements)
    {
        var sb = new StringBuilder(Usings).Append("public class LongMethod\n{\n    private int _total;\n    public int Run(int n, string text)\n    {\n        var sum = 0;\n");
        for (var i = 0; i < statements; i++)
        {
            sb.Append((i % 6) switch
            {
                0 => $"        var v{i} = n + {i};\n",
                1 => $"        if (sum > {i}) sum -= {i}; else sum += n;\n",
                2 => $"        var arr{i} = new int[{i % 7 + 1}]; sum += arr{i}.Length;\n",
                3 => $"        using (var s{i} = new MemoryStream()) {{ sum += (int)s{i}.Length; }}\n",
                4 => $"        _total += sum; sum ^= text.Length;\n",
                _ => $"        for (var j{i} = 0; j{i} < 2; j{i}++) sum += j{i};\n",
            });
        }

        return sb.Append("        return sum;\n    }\n}\n").ToString();
    }

    private static string NestedLambdas(int depth)
    {
        var sb = new StringBuilder(Usings).Append("public class Nested\n{\n    public int Run(int seed)\n    {\n        Func<int, int> f0 = a0 =>\n");
        for (var i = 1; i < depth; i++)
            sb.Append(' ', 8 + i % 40).Append(CultureInfo.InvariantCulture, $"((Func<int, int>)(a{i} =>\n");
        sb.Append(' ', 8).Append("seed");
        for (var i = 0; i < depth; i++)
            sb.Append(CultureInfo.InvariantCulture, $" + a{i}");
        sb.Append('\n');
        for (var i = depth - 1; i >= 1; i--)
            sb.Append(' ', 8 + i % 40).Append(CultureInfo.InvariantCulture, $"))(a{i - 1} + 1)\n");
        return sb.Append("        ;\n        return f0(seed);\n    }\n}\n").ToString();
    }

    private static string FieldsUnderLock(int fields)
    {
        var sb = new StringBuilder(Usings).Append("public class Guarded\n{\n    private readonly object _lock = new object();\n");
        for (var i = 0; i < fields; i++)
            sb.Append(CultureInfo.InvariantCulture, $"    private int _f{i};\n");
        sb.Append("    public void Write(int v)\n    {\n        lock (_lock)\n        {\n");
        for (var i = 0; i < fields; i++)
            sb.Append(CultureInfo.InvariantCulture, $"            _f{i} = v + {i};\n");
        sb.Append("        }\n    }\n    public int ReadUnlocked()\n    {\n        var sum = 0;\n");
        for (var i = 0; i < fields; i++)
            sb.Append(CultureInfo.InvariantCulture, $"        sum += _f{i};\n");
        sb.Append("        return sum;\n    }\n    public void Start() => new Thread(() => Write(1)).Start();\n}\n");
        return sb.ToString();
    }

    private static string DeepExpression(int depth)
    {
        var sb = new StringBuilder(Usings).Append("public class Deep\n{\n    public object Run(int x, string s)\n    {\n        var sum = ");
        for (var i = 0; i < depth; i++)
            sb.Append(CultureInfo.InvariantCulture, $"(x * {i % 9 + 1} + ");
        sb.Append('x').Append(')', depth).Append(";\n        var text = s");
        for (var i = 0; i < depth; i++)
            sb.Append(" + x");
        return sb.Append(";\n        return string.Format(\"{0} {1}\", sum, text);\n    }\n}\n").ToString();
    }

    /// <summary>Compiles each case at each scale and runs <paramref name="analyzers"/> on it; compile and analyzer times
    /// (telemetry, summed) and the analyzer exceptions of each.</summary>
    public static async Task<List<StressResult>> RunAsync(
        ImmutableArray<DiagnosticAnalyzer> analyzers,
        AnalyzerConfiguration configuration,
        IReadOnlyList<MetadataReference> references,
        IReadOnlyList<double> scales,
        Action<string>? log = null,
        CancellationToken cancellationToken = default)
    {
        var results = new List<StressResult>();
        var parseOptions = new CSharpParseOptions(LanguageVersion.Latest);
        // Warm-up: every case once at a tiny size, untimed, so JIT compilation does not land on the first measurement.
        var warmUp = scales.Min() / 10;
        foreach (var stressCase in Cases)
        {
            foreach (var scale in scales.Prepend(warmUp))
            {
                var source = Source(stressCase, scale);
                var tree = CSharpSyntaxTree.ParseText(source, parseOptions, path: "Stress.cs", cancellationToken: cancellationToken);
                var trees = new[] { tree };
                var options = configuration.Apply(
                    new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable, concurrentBuild: true),
                    trees);
                var compilation = CSharpCompilation.Create("Stress", trees, references, options);
                var stopwatch = Stopwatch.StartNew();
                var errors = compilation.GetDiagnostics(cancellationToken).Count(d => d.Severity == DiagnosticSeverity.Error);
                var compile = stopwatch.Elapsed.TotalSeconds;
                if (errors > 0)
                    throw new InvalidOperationException($"stress case '{stressCase}' at ×{scale} does not compile: " + compilation.GetDiagnostics(cancellationToken).First(d => d.Severity == DiagnosticSeverity.Error));
                var crashes = 0;
                var withAnalyzers = compilation.WithAnalyzers(analyzers, new CompilationWithAnalyzersOptions(
                    new AnalyzerOptions(ImmutableArray<AdditionalText>.Empty, configuration.ProviderFor(trees)),
                    onAnalyzerException: (_, _, _) => Interlocked.Increment(ref crashes),
                    concurrentAnalysis: true,
                    logAnalyzerExecutionTime: true,
                    reportSuppressedDiagnostics: false));
                var diagnostics = await withAnalyzers.GetAnalyzerDiagnosticsAsync(cancellationToken);
                crashes = Math.Max(crashes, diagnostics.Count(d => d.Id == "AD0001"));
                var ours = 0.0;
                var slowest = (Seconds: -1.0, Name: "");
                foreach (var analyzer in analyzers)
                {
                    var seconds = (await withAnalyzers.GetAnalyzerTelemetryInfoAsync(analyzer, cancellationToken)).ExecutionTime.TotalSeconds;
                    ours += seconds;
                    if (seconds > slowest.Seconds)
                        slowest = (seconds, analyzer.GetType().Name);
                }

                var lines = tree.GetText(cancellationToken).Lines.Count;
                if (scale == warmUp && warmUp < scales.Min())
                    continue;
                log?.Invoke(string.Create(CultureInfo.InvariantCulture, $"   stress {stressCase} ×{scale}: {lines} lines, compile {compile:F2} s, ours {ours:F2} s (slowest {slowest.Name} {slowest.Seconds:F2} s), {crashes} AD0001"));
                results.Add(new StressResult(stressCase, scale, lines, compile, ours, crashes));
            }
        }

        return results;
    }
}
