using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;

namespace MemSafety.Analyzers.Corpus;

/// <summary>The command line of the corpus tool.</summary>
internal sealed class CorpusOptions
{
    /// <summary>Runtime assemblies that decompile into almost error-free C# full of arrays, loops, spans,
    /// locks and unsafe code, chosen from 43 measured assemblies for the number of MSA1xxx findings they
    /// yield (the runtime is allocation-tuned, so most yield none). See docs/design/architecture.md.</summary>
    public static readonly string[] DefaultAssemblies =
    {
        "System.Collections.Immutable",
        "System.Text.Json",
        "System.Private.Uri",
        "System.Reflection.Metadata",
        "System.Data.Common",
        "System.Private.DataContractSerialization",
        "Microsoft.CSharp",
        "Microsoft.VisualBasic.Core",
    };

    public const string Usage =
        """
        MemSafety.Analyzers.Corpus: runs every MemSafety analyzer on decompiled .NET runtime assemblies.

        Usage: dotnet run --project tests/MemSafety.Analyzers.Corpus -c Release -- [options]

          --assemblies A,B,...   Simple names of assemblies of the running shared framework
                                 (default: System.Collections.Immutable, System.Text.Json, System.Private.Uri,
                                 System.Reflection.Metadata, System.Data.Common,
                                 System.Private.DataContractSerialization, Microsoft.CSharp,
                                 Microsoft.VisualBasic.Core). 'all': every assembly that defines types,
                                 except System.Private.CoreLib (add it by name)
          --cache DIR            Where decompiled sources are kept and reused (default: $TMPDIR/memsafety-corpus).
                                 Must be outside the repository.
          --ids P1,P2,...        Id prefixes to sample, e.g. MSA1 or MSA1001,MSA4 (default: every id)
          --sample N             Diagnostics sampled per prefix of --ids (per id with --per-id or without --ids); default 30
          --per-id               Sample N per diagnostic id instead of per prefix
          --seed N               Seed of the sample (default 1)
          --option key=value     An .editorconfig option for every file, e.g. memsafety.scope=everywhere (repeatable)
          --enable ID            Turn on a rule that is off by default, at its default severity (repeatable, or ID,ID)
          --nullable on|off      Nullable context of the compilations (default on, as the runtime is built)
          --repeat N             Compile and analyse each assembly N times and keep the fastest times (default 1)
          --report FILE          Write the Markdown report there (default: only the summary on stdout)
          --help                 This text

        Exit code: 0, or 2 when any analyzer threw (AD0001), 1 on a usage or setup error.
        """;

    public List<string> Assemblies { get; } = new();
    public string CacheDirectory { get; private set; } = Path.Combine(Path.GetTempPath(), "memsafety-corpus");
    public List<string> IdPrefixes { get; } = new();
    public int Sample { get; private set; } = 30;
    public bool PerId { get; private set; }
    public int Seed { get; private set; } = 1;
    public SortedDictionary<string, string> AnalyzerOptions { get; } = new(StringComparer.OrdinalIgnoreCase);
    public SortedSet<string> Enable { get; } = new(StringComparer.OrdinalIgnoreCase);
    public bool Nullable { get; private set; } = true;
    public int Repeat { get; private set; } = 1;
    public string? ReportPath { get; private set; }
    public bool Help { get; private set; }
    public string CommandLine { get; private set; } = string.Empty;

    public static CorpusOptions Parse(string[] args)
    {
        var options = new CorpusOptions();
        var commandLine = new StringBuilder();
        foreach (var arg in args)
            commandLine.Append(' ').Append(arg.Contains(' ', StringComparison.Ordinal) ? "\"" + arg + "\"" : arg);
        options.CommandLine = commandLine.ToString().Trim();

        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            switch (arg)
            {
                case "--help":
                case "-h":
                    options.Help = true;
                    break;
                case "--assemblies":
                    options.Assemblies.AddRange(SplitList(Value(args, ref i)));
                    break;
                case "--cache":
                    options.CacheDirectory = Path.GetFullPath(Value(args, ref i));
                    break;
                case "--ids":
                    options.IdPrefixes.AddRange(SplitList(Value(args, ref i)));
                    break;
                case "--sample":
                    options.Sample = ParseInt(arg, Value(args, ref i), minimum: 0);
                    break;
                case "--per-id":
                    options.PerId = true;
                    break;
                case "--seed":
                    options.Seed = ParseInt(arg, Value(args, ref i), minimum: int.MinValue);
                    break;
                case "--option":
                {
                    var pair = Value(args, ref i);
                    var equals = pair.IndexOf('=', StringComparison.Ordinal);
                    if (equals <= 0)
                        throw new UsageException("--option expects key=value, got '" + pair + "'");
                    options.AnalyzerOptions[pair.Substring(0, equals).Trim()] = pair.Substring(equals + 1).Trim();
                    break;
                }
                case "--enable":
                    foreach (var id in SplitList(Value(args, ref i)))
                        options.Enable.Add(id);
                    break;
                case "--nullable":
                {
                    var value = Value(args, ref i);
                    options.Nullable = value switch
                    {
                        "on" or "enable" or "true" => true,
                        "off" or "disable" or "false" => false,
                        _ => throw new UsageException("--nullable expects on or off, got '" + value + "'"),
                    };
                    break;
                }
                case "--repeat":
                    options.Repeat = ParseInt(arg, Value(args, ref i), minimum: 1);
                    break;
                case "--report":
                    options.ReportPath = Path.GetFullPath(Value(args, ref i));
                    break;
                default:
                    throw new UsageException("unknown argument '" + arg + "'");
            }
        }

        if (options.Assemblies.Count == 0)
            options.Assemblies.AddRange(DefaultAssemblies);
        return options;
    }

    private static string Value(string[] args, ref int i)
    {
        if (i + 1 >= args.Length)
            throw new UsageException(args[i] + " needs a value");
        return args[++i];
    }

    private static int ParseInt(string name, string text, int minimum)
    {
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < minimum)
            throw new UsageException(name + " expects an integer, got '" + text + "'");
        return value;
    }

    private static IEnumerable<string> SplitList(string text)
    {
        foreach (var part in text.Split(new[] { ',', ';' }, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            yield return part;
    }
}

internal sealed class UsageException : Exception
{
    public UsageException(string message) : base(message) { }
}
