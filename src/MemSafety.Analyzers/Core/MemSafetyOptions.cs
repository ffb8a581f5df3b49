using System;
using System.Collections.Immutable;
using System.Globalization;
using System.Threading;
using Microsoft.CodeAnalysis.Diagnostics;

namespace MemSafety.Analyzers.Core;

/// <summary>Where a rule that counts allocations (rather than proving a defect) reports.</summary>
public enum RuleScope
{
    /// <summary>Every method.</summary>
    Everywhere,
    /// <summary>Hot methods (see <see cref="HotPathOracle"/>) and the bodies of loops anywhere.</summary>
    HotPathsAndLoops,
    /// <summary>Hot methods only.</summary>
    HotPaths,
}

/// <summary>One <c>memsafety.*</c> key of .editorconfig/.globalconfig. Every option is declared in
/// <see cref="MemSafetyOptions.All"/>; a test checks that docs/configuration.md documents each one.</summary>
public abstract class MemSafetyOption
{
    protected MemSafetyOption(string key, string defaultText, string summary)
    {
        Key = key;
        DefaultText = defaultText;
        Summary = summary;
    }

    /// <summary>The full key, e.g. <c>memsafety.hot_paths</c>.</summary>
    public string Key { get; }
    public string DefaultText { get; }
    public string Summary { get; }
}

public sealed class Int32Option : MemSafetyOption
{
    public Int32Option(string key, int defaultValue, int minimum, int maximum, string summary)
        : base(key, defaultValue.ToString(CultureInfo.InvariantCulture), summary)
    {
        Default = defaultValue;
        Minimum = minimum;
        Maximum = maximum;
    }

    public int Default { get; }
    public int Minimum { get; }
    public int Maximum { get; }
}

public sealed class BooleanOption : MemSafetyOption
{
    public BooleanOption(string key, bool defaultValue, string summary)
        : base(key, defaultValue ? "true" : "false", summary) => Default = defaultValue;

    public bool Default { get; }
}

public sealed class StringListOption : MemSafetyOption
{
    public StringListOption(string key, string summary, string defaultText = "(empty)") : base(key, defaultText, summary) { }
}

public sealed class ScopeOption : MemSafetyOption
{
    public ScopeOption(string key, string summary) : base(key, "(the rule's own default)", summary) { }
}

/// <summary>Typed reads of the <c>memsafety.*</c> keys that apply to one syntax tree. Values that do
/// not parse or are out of range fall back to the default: a typo in .editorconfig must never make
/// an analyzer throw.</summary>
public readonly struct MemSafetyOptions
{
    public static readonly StringListOption HotPaths = new(
        "memsafety.hot_paths",
        "Comma- or semicolon-separated globs of fully-qualified member names (`*` any run of characters, `?` one) " +
        "that count as hot paths, e.g. `MyApp.Parsing.*, *.TryFormat`.");

    public static readonly BooleanOption EngineConventions = new(
        "memsafety.hot_paths.engine_conventions",
        defaultValue: true,
        "Whether game engines' per-frame methods are hot paths by convention: Unity's `Update`, `LateUpdate`, `FixedUpdate`, " +
        "`OnGUI` (and the other per-frame messages) of `UnityEngine.MonoBehaviour` subclasses, `Execute` of Unity jobs, " +
        "`OnUpdate` of Unity ECS systems, Godot's `_Process`, `_PhysicsProcess` and input callbacks of `Godot.Node` subclasses. " +
        "`false` turns the conventions off.");

    public static readonly ScopeOption Scope = new(
        "memsafety.scope",
        "Where census-style rules report: `everywhere`, `hot_paths_and_loops` or `hot_paths`. " +
        "`memsafety.<RULE ID>.scope` (e.g. `memsafety.MSA2001.scope`) overrides it for one rule. " +
        "The escape report MSA1000 does not follow it: only `memsafety.MSA1000.scope` widens it.");

    public static readonly Int32Option StackallocMaxBytes = new(
        "memsafety.stackalloc_max_bytes",
        defaultValue: 1024,
        minimum: 0,
        maximum: 65536,
        "The most bytes MSA1001 moves to the stack in one method (all its suggested stackallocs together with the ones already there).");

    public static readonly StringListOption DisposalIgnoredTypes = new(
        "memsafety.disposal.ignored_types",
        "Comma- or semicolon-separated fully-qualified type names whose instances MSA4006/MSA4007/MSA4008 never report, added to the " +
        "default list of types with nothing to release; an entry starting with `-` takes a type off the default list.",
        "System.IO.MemoryStream, System.IO.StringReader, System.IO.StringWriter, System.Threading.Tasks.Task, System.Threading.Tasks.Task`1, " +
        "System.Threading.SemaphoreSlim, System.Threading.ManualResetEventSlim");

    public static readonly BooleanOption LockThisInPublicTypes = new(
        "memsafety.MSA6004.lock_this",
        defaultValue: false,
        "Whether MSA6004 reports `lock (this)` in a type code outside the assembly can name (`true` in the Strict preset). " +
        "Off by default: on real code most such locks are taken once per object or request, true but not worth changing; " +
        "the other exposed or changing lock objects are reported either way.");

    public static readonly BooleanOption TearingOnAnyPlatform = new(
        "memsafety.MSA6003.tearing",
        defaultValue: false,
        "Whether MSA6003 reports a plain store of a `long`/`ulong`/`double` beside atomic accesses, which can tear only in a " +
        "32-bit process, when the assembly is built for any platform (`true` in the Strict preset). By default such stores " +
        "are reported only when the assembly targets a 32-bit platform (x86, ARM): on real code the others were true but " +
        "not worth changing (configuration-time or single-writer stores in processes that run 64-bit).");

    public static ImmutableArray<MemSafetyOption> All { get; } = ImmutableArray.Create<MemSafetyOption>(HotPaths, EngineConventions, Scope, StackallocMaxBytes, DisposalIgnoredTypes, LockThisInPublicTypes, TearingOnAnyPlatform);

    private readonly AnalyzerConfigOptions? _options;

    public MemSafetyOptions(AnalyzerConfigOptions options) => _options = options;

    public int Get(Int32Option option)
    {
        if (TryGetRaw(option.Key, out var raw)
            && int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            && value >= option.Minimum && value <= option.Maximum)
        {
            return value;
        }

        return option.Default;
    }

    public bool Get(BooleanOption option)
    {
        if (TryGetRaw(option.Key, out var raw) && bool.TryParse(raw, out var value))
            return value;
        return option.Default;
    }

    /// <summary>The raw text of a list option, or null when unset.</summary>
    public string? GetRaw(StringListOption option) => TryGetRaw(option.Key, out var raw) ? raw : null;

    /// <summary>The scope of one rule: <c>memsafety.&lt;id&gt;.scope</c>, else <c>memsafety.scope</c>, else the rule's default.</summary>
    public RuleScope GetScope(string ruleId, RuleScope ruleDefault)
        => ResolveScope(RuleScopeOption.KeyOf(ruleId), followsGlobalScope: true, ruleDefault);

    /// <summary>The scope of a rule that only its own key may change (<c>memsafety.&lt;id&gt;.scope</c>), not
    /// <c>memsafety.scope</c>: the escape report lists every allocation it sees, so widening every census
    /// rule (as the <c>Strict</c> preset does) must not turn it into a note per allocation everywhere.</summary>
    public RuleScope GetOwnScope(string ruleId, RuleScope ruleDefault)
        => ResolveScope(RuleScopeOption.KeyOf(ruleId), followsGlobalScope: false, ruleDefault);

    internal RuleScope ResolveScope(string ruleKey, bool followsGlobalScope, RuleScope ruleDefault)
    {
        if (TryGetRaw(ruleKey, out var raw) && TryParseScope(raw, out var scope))
            return scope;
        if (followsGlobalScope && TryGetRaw(Scope.Key, out raw) && TryParseScope(raw, out scope))
            return scope;
        return ruleDefault;
    }

    internal static bool TryParseScope(string raw, out RuleScope scope)
    {
        switch (raw.ToLowerInvariant())
        {
            case "everywhere":
                scope = RuleScope.Everywhere;
                return true;
            case "hot_paths_and_loops":
                scope = RuleScope.HotPathsAndLoops;
                return true;
            case "hot_paths":
                scope = RuleScope.HotPaths;
                return true;
            default:
                scope = default;
                return false;
        }
    }

    private bool TryGetRaw(string key, out string value)
    {
        if (_options is not null && _options.TryGetValue(key, out var raw) && raw is not null)
        {
            value = raw.Trim();
            return value.Length > 0;
        }

        value = string.Empty;
        return false;
    }
}

/// <summary>
/// One rule's scope declaration: its key (<c>memsafety.&lt;id&gt;.scope</c>, built once here rather than per node)
/// and its default. Each rule declares one as a static field, naming its id and default literally (the catalogue
/// test reads these declarations to check the README's "Default scope" column);
/// <see cref="CompilationServices.ScopeOf"/> resolves it once per file.
/// </summary>
public sealed class RuleScopeOption
{
    private static int s_count;

    private RuleScopeOption(string ruleId, RuleScope ruleDefault, bool followsGlobalScope)
    {
        RuleId = ruleId;
        Key = KeyOf(ruleId);
        Default = ruleDefault;
        FollowsGlobalScope = followsGlobalScope;
        Index = Interlocked.Increment(ref s_count) - 1;
    }

    /// <summary>A census rule's scope: <c>memsafety.&lt;id&gt;.scope</c>, else <c>memsafety.scope</c>, else <paramref name="ruleDefault"/>.</summary>
    public static RuleScopeOption For(string ruleId, RuleScope ruleDefault) => new(ruleId, ruleDefault, followsGlobalScope: true);

    /// <summary>A scope only the rule's own key changes (see <see cref="MemSafetyOptions.GetOwnScope"/>).</summary>
    public static RuleScopeOption OwnKeyOnly(string ruleId, RuleScope ruleDefault) => new(ruleId, ruleDefault, followsGlobalScope: false);

    public string RuleId { get; }

    /// <summary><c>memsafety.&lt;id&gt;.scope</c>.</summary>
    public string Key { get; }

    public RuleScope Default { get; }

    /// <summary>Whether <c>memsafety.scope</c> applies when the rule's own key is not set.</summary>
    public bool FollowsGlobalScope { get; }

    /// <summary>A dense number per declaration, for per-file caches.</summary>
    internal int Index { get; }

    /// <summary>How many declarations exist so far.</summary>
    internal static int Count => Volatile.Read(ref s_count);

    internal static string KeyOf(string ruleId) => "memsafety." + ruleId + ".scope";

    /// <summary>The scope under <paramref name="options"/> (a file's options).</summary>
    public RuleScope Resolve(MemSafetyOptions options) => options.ResolveScope(Key, FollowsGlobalScope, Default);
}
