using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Core;

/// <summary>
/// Answers "is this code hot?" for rules that report only where allocations matter. A member is hot
/// when it, a type containing it, or its assembly/module carries an attribute named
/// <c>PerformanceSensitiveAttribute</c> or <c>HotPathAttribute</c> (matched by name in any namespace,
/// so users need no runtime dependency), or when its fully-qualified name matches a glob of
/// <c>memsafety.hot_paths</c>, or when it is a game engine's per-frame method by convention
/// (<see cref="EngineConventions"/>; <c>memsafety.hot_paths.engine_conventions = false</c> turns that off). Rules share the compilation's one instance (<see cref="CompilationServices.HotPaths"/>); answers are cached per member.
/// </summary>
public sealed class HotPathOracle
{
    private const string PerformanceSensitiveName = "PerformanceSensitiveAttribute";
    private const string HotPathName = "HotPathAttribute";

    private static readonly SymbolDisplayFormat TypeNameFormat = new(
        typeQualificationStyle: SymbolDisplayTypeQualificationStyle.NameAndContainingTypesAndNamespaces,
        genericsOptions: SymbolDisplayGenericsOptions.None);

    /// <summary>Lock stripes of the member cache. Every body's first question adds its member, from as many threads
    /// as the driver runs: with the default (one stripe per core, and resizes that take them all) the adds queued
    /// behind each other: in a profile of the runtime corpus on a loaded machine, three quarters of MSA1000's
    /// per-body start was spent waiting in <c>TryAdd</c>.</summary>
    private const int CacheStripes = 64;

    private readonly Compilation _compilation;
    private readonly AnalyzerConfigOptionsProvider _optionsProvider;
    private readonly ConcurrentDictionary<ISymbol, bool> _members = new(CacheStripes, 1024, SymbolEqualityComparer.Default);
    private readonly ConcurrentDictionary<string, string[]> _globs = new(StringComparer.Ordinal);
    private int _assemblyIsHot; // 0: not yet known, 1: no, 2: yes

    public HotPathOracle(Compilation compilation, AnalyzerConfigOptionsProvider optionsProvider)
    {
        _compilation = compilation;
        _optionsProvider = optionsProvider;
        CreationCounts.Record(compilation, nameof(HotPathOracle));
    }

    /// <summary>Whether the assembly or module carries the attribute. Asked on the first question, not when a rule
    /// takes the oracle at compilation start: binding the assembly's attributes there was paid by whichever rule
    /// started first (before the compiler had bound them itself), also in compilations where no rule ever asks.</summary>
    private bool AssemblyIsHot
    {
        get
        {
            var known = Volatile.Read(ref _assemblyIsHot);
            if (known == 0)
            {
                known = MayNameHotAttribute(_compilation) && (HasHotAttribute(_compilation.Assembly) || HasHotAttribute(_compilation.SourceModule)) ? 2 : 1;
                Volatile.Write(ref _assemblyIsHot, known);
            }

            return known == 2;
        }
    }

    /// <summary>Whether <paramref name="operation"/>, found in <paramref name="containingSymbol"/>, is in
    /// a place where a rule of the given scope reports.</summary>
    public bool IsInScope(RuleScope scope, IOperation operation, ISymbol containingSymbol) => scope switch
    {
        RuleScope.Everywhere => true,
        RuleScope.HotPaths => IsHot(containingSymbol),
        _ => IsHot(containingSymbol) || operation.IsExecutedPerLoopIteration(),
    };

    /// <summary>Whether the member (or local function/lambda's containing member) is hot.</summary>
    public bool IsHot(ISymbol symbol)
    {
        var member = OwningMember(symbol);
        if (member is null)
            return AssemblyIsHot;
        if (_members.TryGetValue(member, out var hot))
            return hot;
        hot = Compute(member);
        _members.TryAdd(member, hot);
        return hot;
    }

    private bool Compute(ISymbol member)
    {
        if (AssemblyIsHot)
            return true;

        // The member, then every containing type: an attribute on a class makes all its members hot.
        for (ISymbol? s = member; s is not null && s.Kind != SymbolKind.Namespace; s = s.ContainingSymbol)
        {
            if (HasHotAttribute(s))
                return true;
            if (s is IMethodSymbol { AssociatedSymbol: { } property } && HasHotAttribute(property))
                return true;
        }

        var references = member.DeclaringSyntaxReferences;
        if (references.IsEmpty)
            return false;
        var options = new MemSafetyOptions(_optionsProvider.GetOptions(references[0].SyntaxTree));
        if (EngineConventions.IsPerFrame(member) && options.Get(MemSafetyOptions.EngineConventions))
            return true;
        return MatchesConfiguredGlob(member, options);
    }

    private bool MatchesConfiguredGlob(ISymbol member, MemSafetyOptions options)
    {
        var raw = options.GetRaw(MemSafetyOptions.HotPaths);
        if (raw is null)
            return false;

        var patterns = _globs.GetOrAdd(raw, static r => r.Split(new[] { ',', ';' }, StringSplitOptions.RemoveEmptyEntries));
        var name = GlobName(member);
        foreach (var pattern in patterns)
        {
            if (Glob.IsMatch(pattern.Trim(), name))
                return true;
        }

        return false;
    }

    /// <summary>The name <c>memsafety.hot_paths</c> globs match: <c>Namespace.Type.Member</c> with the
    /// member's metadata name (<c>.ctor</c>, <c>op_Addition</c>), accessors by their property's name,
    /// types by their own name.</summary>
    public static string GlobName(ISymbol member)
    {
        var named = member is IMethodSymbol { AssociatedSymbol: { } associated } ? associated : member;
        if (named is INamedTypeSymbol || named.ContainingType is null)
            return named.ToDisplayString(TypeNameFormat);
        return named.ContainingType.ToDisplayString(TypeNameFormat) + "." + named.MetadataName;
    }

    /// <summary>Local functions and lambdas belong to the member that declares them.</summary>
    private static ISymbol? OwningMember(ISymbol symbol)
    {
        ISymbol? s = symbol;
        while (s is IMethodSymbol { MethodKind: MethodKind.LocalFunction or MethodKind.AnonymousFunction })
            s = s.ContainingSymbol;
        return s is null || s.Kind is SymbolKind.Namespace or SymbolKind.Assembly or SymbolKind.NetModule ? null : s;
    }

    /// <summary>Whether some file of the compilation spells <c>HotPath</c> or <c>PerformanceSensitive</c>: an assembly or
    /// module attribute of those classes cannot be applied otherwise (its name, or an alias's target, is written in some
    /// file; a file with a <c>\u</c> escape counts as spelling every word, see <see cref="WordPositions"/>). Without it
    /// the assembly's attributes are not bound: binding them was the compilation's first namespace lookups, paid by the
    /// first rule to ask (the compiler binds them anyway, outside our callbacks).</summary>
    private static bool MayNameHotAttribute(Compilation compilation)
    {
        foreach (var tree in compilation.SyntaxTrees)
        {
            var whole = new Microsoft.CodeAnalysis.Text.TextSpan(0, tree.Length);
            if (WordPositions.Mentions(tree, whole, "HotPath", CancellationToken.None)
                || WordPositions.Mentions(tree, whole, "PerformanceSensitive", CancellationToken.None))
            {
                return true;
            }
        }

        return false;
    }

    private static bool HasHotAttribute(ISymbol symbol)
    {
        foreach (var attribute in symbol.GetAttributes())
        {
            var name = attribute.AttributeClass?.Name;
            if (name is PerformanceSensitiveName or HotPathName)
                return true;
        }

        return false;
    }
}

/// <summary>Shell-style wildcard match over a whole string (<c>*</c> any run, <c>?</c> one character),
/// ordinal and allocation-free.</summary>
public static class Glob
{
    public static bool IsMatch(string pattern, string text)
    {
        int p = 0, t = 0, starP = -1, starT = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || pattern[p] == text[t]))
            {
                p++;
                t++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                starP = p++;
                starT = t;
            }
            else if (starP >= 0)
            {
                p = starP + 1;
                t = ++starT;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
            p++;
        return p == pattern.Length;
    }
}
