using System;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading;
using MemSafety.Analyzers.Engines.Disposal;
using MemSafety.Analyzers.Engines.Escape;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace MemSafety.Analyzers.Core;

/// <summary>
/// What every rule asks about one compilation, built once and shared by all the package's analyzers: the
/// driver creates one instance of each analyzer type per compilation, so anything a rule builds at compilation
/// start is built once per rule; here it is built once in all. Rules get it with <see cref="Get(Compilation, AnalyzerOptions)"/>.
/// <para>Instances live in a weak table keyed on the <see cref="Compilation"/> (nothing here holds a compilation
/// strongly from a static), then on the <see cref="AnalyzerConfigOptionsProvider"/>: the same compilation analysed
/// with other options gets its own instance. Each service is created on first request, under a lock of its own (a
/// request for one service never waits for the build of another), exactly once; a constructor that throws leaves nothing
/// cached. Services that do work for a request take that request's
/// cancellation token (<see cref="ParameterSummaries"/> through its summary context), never one captured here.</para>
/// </summary>
public sealed class CompilationServices
{
    private static readonly ConditionalWeakTable<Compilation, PerCompilation> Instances = new();

    private readonly AnalyzerConfigOptionsProvider _optionsProvider;
    private readonly ConcurrentDictionary<SyntaxTree, TreeOptions> _trees = new();
    private readonly Func<SyntaxTree, TreeOptions> _createTreeOptions;
    private HotPathOracle? _hotPaths;
    private ColdPaths? _coldPaths;
    private SdkRules? _sdkRules;
    private ParameterSummaries? _summaries;
    private Rules.Closures.StateOverloads? _stateOverloads;
    private DisposableTypes? _disposal;
    private Ownership? _ownership;

    // One lock per service, made on first need: a callback waits only for the service it asks for while that one is
    // built, never behind the build of another (ColdPaths' lookups no longer hold up HotPaths).
    private object? _hotPathsGate;
    private object? _coldPathsGate;
    private object? _sdkRulesGate;
    private object? _summariesGate;
    private object? _stateOverloadsGate;
    private object? _disposalGate;
    private object? _ownershipGate;

    private CompilationServices(Compilation compilation, AnalyzerConfigOptionsProvider optionsProvider)
    {
        Compilation = compilation;
        _optionsProvider = optionsProvider;
        _createTreeOptions = tree => new TreeOptions(_optionsProvider.GetOptions(tree));
        CreationCounts.Record(compilation, nameof(CompilationServices));
    }

    /// <summary>The services of <paramref name="compilation"/> under <paramref name="options"/>: what a rule asks at
    /// compilation start (<c>CompilationServices.Get(start.Compilation, start.Options)</c>).</summary>
    public static CompilationServices Get(Compilation compilation, AnalyzerOptions options)
        => Get(compilation, options.AnalyzerConfigOptionsProvider);

    /// <summary>The services of <paramref name="compilation"/> under <paramref name="optionsProvider"/>.</summary>
    public static CompilationServices Get(Compilation compilation, AnalyzerConfigOptionsProvider optionsProvider)
        => Instances.GetValue(compilation, static _ => new PerCompilation()).Get(compilation, optionsProvider);

    public Compilation Compilation { get; }

    /// <summary>Types looked up by metadata name (the compilation's one <see cref="WellKnownTypes"/>).</summary>
    public WellKnownTypes Types => WellKnownTypes.Of(Compilation);

    /// <summary>"Is this member hot?" (attributes and <c>memsafety.hot_paths</c> of these options).</summary>
    public HotPathOracle HotPaths => GetOrCreate(ref _hotPaths, ref _hotPathsGate, static s => new HotPathOracle(s.Compilation, s._optionsProvider));

    /// <summary>"Is this operation on an error path, or not run at all?"</summary>
    public ColdPaths ColdPaths => GetOrCreate(ref _coldPaths, ref _coldPathsGate, static s => new ColdPaths(s.Compilation));

    /// <summary>"Does this SDK rule report in this file?" (see <see cref="Core.SdkRules"/>).</summary>
    public SdkRules SdkRules => GetOrCreate(ref _sdkRules, ref _sdkRulesGate, static s => new SdkRules(s.Compilation, s._optionsProvider));

    /// <summary>The escape engine's parameter summaries; each request passes its own cancellation token.</summary>
    public ParameterSummaries Summaries => GetOrCreate(ref _summaries, ref _summariesGate, static s => new ParameterSummaries(s.Compilation));

    /// <summary>The state-passing forms of methods that take a delegate (MSA3001; MSA3004 defers to it), found once per method.</summary>
    public Rules.Closures.StateOverloads StateOverloads => GetOrCreate(ref _stateOverloads, ref _stateOverloadsGate, static _ => new Rules.Closures.StateOverloads());

    /// <summary>Type-level disposal facts: disposable, finalizable, <c>SafeHandle</c>, native fields, what a
    /// finalizer runs (Engines/Disposal).</summary>
    public DisposableTypes Disposal => GetOrCreate(ref _disposal, ref _disposalGate, static s => new DisposableTypes(s.Compilation, s.Summaries));

    /// <summary>Who owns a disposable value: creations, what each use does with the ownership, the ownership
    /// annotations (Engines/Disposal).</summary>
    public Ownership Ownership => GetOrCreate(ref _ownership, ref _ownershipGate, static s => new Ownership(s.Disposal, s.OptionsFor));

    /// <summary>The <c>memsafety.*</c> options of one file.</summary>
    public MemSafetyOptions OptionsFor(SyntaxTree tree) => _trees.GetOrAdd(tree, _createTreeOptions).Options;

    /// <summary>Where the rule of <paramref name="option"/> reports in <paramref name="tree"/>, resolved once per file
    /// (a file's options are the same for every node in it).</summary>
    public RuleScope ScopeOf(RuleScopeOption option, SyntaxTree tree) => _trees.GetOrAdd(tree, _createTreeOptions).ScopeOf(option);

    private T GetOrCreate<T>(ref T? field, ref object? gate, Func<CompilationServices, T> create)
        where T : class
    {
        var value = Volatile.Read(ref field);
        if (value is not null)
            return value;
        var lockObject = Volatile.Read(ref gate);
        if (lockObject is null)
        {
            var made = new object();
            lockObject = Interlocked.CompareExchange(ref gate, made, null) ?? made;
        }

        lock (lockObject)
        {
            value = field;
            if (value is null)
            {
                value = create(this);
                Volatile.Write(ref field, value);
            }

            return value;
        }
    }

    /// <summary>One compilation's services, one per options provider (almost always exactly one).</summary>
    private sealed class PerCompilation
    {
        private readonly ConditionalWeakTable<AnalyzerConfigOptionsProvider, CompilationServices> _byOptions = new();

        public CompilationServices Get(Compilation compilation, AnalyzerConfigOptionsProvider optionsProvider)
        {
            if (_byOptions.TryGetValue(optionsProvider, out var services))
                return services;
            lock (_byOptions)
            {
                if (!_byOptions.TryGetValue(optionsProvider, out services))
                {
                    services = new CompilationServices(compilation, optionsProvider);
                    _byOptions.Add(optionsProvider, services);
                }

                return services;
            }
        }
    }

    /// <summary>One file's options and the scopes resolved in it so far (0: not yet; else the scope + 1). Two
    /// threads may both resolve a scope; they compute the same value.</summary>
    private sealed class TreeOptions
    {
        private readonly int[] _scopes = new int[RuleScopeOption.Count];

        public TreeOptions(AnalyzerConfigOptions options) => Options = new MemSafetyOptions(options);

        public MemSafetyOptions Options { get; }

        public RuleScope ScopeOf(RuleScopeOption option)
        {
            // An option declared after this file's table was made (none in the package) is resolved each time.
            if (option.Index >= _scopes.Length)
                return option.Resolve(Options);
            var known = Volatile.Read(ref _scopes[option.Index]);
            if (known != 0)
                return (RuleScope)(known - 1);
            var scope = option.Resolve(Options);
            Volatile.Write(ref _scopes[option.Index], (int)scope + 1);
            return scope;
        }
    }
}

/// <summary>How many times each shared service was built for a compilation: tests check that every analyzer of
/// the package together builds each one once. Weakly keyed, so it keeps no compilation alive.</summary>
internal static class CreationCounts
{
    private static readonly ConditionalWeakTable<Compilation, ConcurrentDictionary<string, int>> Counts = new();

    internal static void Record(Compilation compilation, string service)
        => Counts.GetValue(compilation, static _ => new ConcurrentDictionary<string, int>(StringComparer.Ordinal))
            .AddOrUpdate(service, 1, static (_, n) => n + 1);

    internal static int Of(Compilation compilation, string service)
        => Counts.TryGetValue(compilation, out var counts) && counts.TryGetValue(service, out var n) ? n : 0;
}
