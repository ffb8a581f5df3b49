using System.Collections.Concurrent;
using System.Collections.Generic;
using Microsoft.CodeAnalysis;

namespace MemSafety.Analyzers.Engines.Concurrency;

/// <summary>What a type declares of its thread safety.</summary>
internal enum DeclaredThreadSafety
{
    Unstated,

    /// <summary><c>[ThreadSafe]</c>: every member may run on several threads at once (the concurrency gate is open).</summary>
    ThreadSafe,

    /// <summary><c>[NotThreadSafe]</c>: an instance is used by one thread at a time; callers synchronize (the gate is closed
    /// for instance state).</summary>
    NotThreadSafe,
}

/// <summary>One declared guard: <c>[GuardedBy("_gate")]</c> on a field or property, or <c>[RequiresLock("_gate")]</c> on a method.</summary>
internal sealed class DeclaredGuard
{
    public DeclaredGuard(ISymbol member, string attributeName, string lockName, Location location, LockKey key, string? invalid)
    {
        Member = member;
        AttributeName = attributeName;
        LockName = lockName;
        Location = location;
        Key = key;
        Invalid = invalid;
    }

    /// <summary>The field, property or method the attribute is on (original definition).</summary>
    public ISymbol Member { get; }

    /// <summary><c>GuardedBy</c> or <c>RequiresLock</c>.</summary>
    public string AttributeName { get; }

    public string LockName { get; }

    /// <summary>The attribute's argument (or the attribute), where MSA6102 reports.</summary>
    public Location Location { get; }

    /// <summary>The lock the name denotes (a field of the type, or <c>this</c>).</summary>
    public LockKey Key { get; }

    /// <summary>Why the guard is not valid (MSA6102), or null.</summary>
    public string? Invalid { get; }
}

/// <summary>
/// The opt-in lock annotations of a type, matched by name in any namespace (like the hot-path attribute):
/// <c>GuardedByAttribute(string)</c> on fields and properties, <c>RequiresLockAttribute(string)</c> on methods and
/// <c>ThreadConfinedAttribute</c> on members or types. Semantics of Clang's Thread Safety Analysis and Error Prone's
/// <c>@GuardedBy</c>: the name denotes a field of the same type (or <c>this</c>); a guard is valid when that field is
/// <c>readonly</c> (a reassigned lock object guards nothing; a <c>SpinLock</c>, a struct that must not be copied, is
/// exempt), not a value type other than <c>SpinLock</c> (locking a value locks a boxed copy), static when the guarded
/// member is static (one lock per instance cannot guard state shared by all instances), and at least as visible as the
/// guarded member (code that can reach the member must be able to take its lock).
/// </summary>
internal static class LockAnnotations
{
    public const string GuardedBy = "GuardedByAttribute";
    public const string RequiresLock = "RequiresLockAttribute";
    public const string ThreadConfined = "ThreadConfinedAttribute";
    public const string ThreadSafe = "ThreadSafeAttribute";
    public const string NotThreadSafe = "NotThreadSafeAttribute";

    /// <summary>The guards declared on the type's own fields and methods (empty for almost every type: a name test per attribute).</summary>
    public static List<DeclaredGuard>? Of(INamedTypeSymbol type, ConcurrencyTypes types)
    {
        List<DeclaredGuard>? guards = null;
        foreach (var member in type.GetMembers())
        {
            if (member is not (IFieldSymbol or IMethodSymbol or IPropertySymbol))
                continue;
            foreach (var attribute in member.GetAttributes())
            {
                var name = attribute.AttributeClass?.Name;
                if (name is not (GuardedBy or RequiresLock))
                    continue;
                if ((name == GuardedBy) != (member is IFieldSymbol or IPropertySymbol))
                    continue;
                var lockName = attribute.ConstructorArguments.Length == 1 ? attribute.ConstructorArguments[0].Value as string : null;
                var syntax = attribute.ApplicationSyntaxReference?.GetSyntax();
                var location = syntax is Microsoft.CodeAnalysis.CSharp.Syntax.AttributeSyntax { ArgumentList.Arguments: { Count: > 0 } arguments }
                    ? arguments[0].GetLocation()
                    : syntax?.GetLocation() ?? member.Locations[0];
                var shortName = name.Substring(0, name.Length - "Attribute".Length);
                (guards ??= new()).Add(Resolve(type, member, shortName, lockName, location, types));
            }
        }

        return guards;
    }

    /// <summary>Whether the member, or the type that declares it (or any type around it), is <c>[ThreadConfined]</c>.</summary>
    public static bool IsThreadConfined(ISymbol? member)
    {
        for (var symbol = member; symbol is not null; symbol = symbol.ContainingType)
        {
            if (HasAttribute(symbol, ThreadConfined))
                return true;
            if (symbol is IMethodSymbol { AssociatedSymbol: { } property } && HasAttribute(property, ThreadConfined))
                return true;
        }

        return false;
    }

    /// <summary>What the type itself says of its thread safety (<c>[ThreadSafe]</c> or <c>[NotThreadSafe]</c> on any of
    /// its parts; neither, or both, is <see cref="DeclaredThreadSafety.Unstated"/>). Only the type's own attribute counts:
    /// a nested type is a separate contract (a private helper of a thread-safe type is often used only under its lock).</summary>
    public static DeclaredThreadSafety ThreadSafetyOf(INamedTypeSymbol type)
    {
        var safe = false;
        var notSafe = false;
        foreach (var attribute in type.GetAttributes())
        {
            var name = attribute.AttributeClass?.Name;
            safe |= name == ThreadSafe;
            notSafe |= name == NotThreadSafe;
        }

        return safe == notSafe ? DeclaredThreadSafety.Unstated : safe ? DeclaredThreadSafety.ThreadSafe : DeclaredThreadSafety.NotThreadSafe;
    }

    /// <summary>Whether the rules that infer sharing leave this field alone: an instance field of a <c>[NotThreadSafe]</c>
    /// type, whose instances are used by one thread at a time by contract (its static fields are shared by every instance,
    /// and stay checked).</summary>
    public static bool InNotThreadSafeInstance(IFieldSymbol field)
        => !field.IsStatic && field.ContainingType is { } type && ThreadSafetyOf(type) == DeclaredThreadSafety.NotThreadSafe;

    private static bool HasAttribute(ISymbol symbol, string name)
    {
        foreach (var attribute in symbol.GetAttributes())
        {
            if (attribute.AttributeClass?.Name == name)
                return true;
        }

        return false;
    }

    private static DeclaredGuard Resolve(INamedTypeSymbol type, ISymbol member, string attributeName, string? lockName, Location location, ConcurrencyTypes types)
    {
        if (string.IsNullOrEmpty(lockName))
            return new DeclaredGuard(member, attributeName, lockName ?? string.Empty, location, LockKey.Unknown, "it names no lock");
        if (lockName == "this")
        {
            return member.IsStatic
                ? new DeclaredGuard(member, attributeName, lockName, location, LockKey.Unknown, "'this' is one lock per instance, and '" + member.Name + "' is static, shared by all instances")
                : new DeclaredGuard(member, attributeName, lockName, location, new LockKey(LockKind.This, type.OriginalDefinition), null);
        }

        IFieldSymbol? guard = null;
        foreach (var candidate in type.GetMembers(lockName!))
        {
            if (candidate is IFieldSymbol field)
                guard = field;
        }

        string? invalid = null;
        if (guard is null)
            invalid = "'" + type.Name + "' has no field named '" + lockName + "'";
        else if (guard.Type.IsValueType && !ConcurrencyTypes.Is(guard.Type, types.SpinLock))
            invalid = "'" + lockName + "' is a value type, so a lock on it would lock a boxed copy";
        else if (!guard.IsReadOnly && !ConcurrencyTypes.Is(guard.Type, types.SpinLock))
            invalid = "'" + lockName + "' is not readonly, and a lock object that is replaced stops excluding the code that still holds the old one";
        else if (member.IsStatic && !guard.IsStatic)
            invalid = "'" + lockName + "' is one lock per instance, and '" + member.Name + "' is static, shared by all instances";
        else if (Rank(member.DeclaredAccessibility) > Rank(guard.DeclaredAccessibility))
            invalid = "'" + member.Name + "' is " + Text(member.DeclaredAccessibility) + " but '" + lockName + "' is " + Text(guard.DeclaredAccessibility) + ", so code that can reach the member cannot take its lock";
        var key = guard is null || invalid is not null ? LockKey.Unknown : new LockKey(LockKind.Field, guard.OriginalDefinition);
        return new DeclaredGuard(member, attributeName, lockName!, location, key, invalid);
    }

    private static int Rank(Accessibility accessibility) => accessibility switch
    {
        Accessibility.Public => 5,
        Accessibility.ProtectedOrInternal => 4,
        Accessibility.Internal or Accessibility.Protected => 3,
        Accessibility.ProtectedAndInternal => 2,
        _ => 1,
    };

    internal static string Text(Accessibility accessibility) => accessibility switch
    {
        Accessibility.Public => "public",
        Accessibility.ProtectedOrInternal => "protected internal",
        Accessibility.Internal => "internal",
        Accessibility.Protected => "protected",
        Accessibility.ProtectedAndInternal => "private protected",
        _ => "private",
    };
}

/// <summary>
/// The valid <c>[RequiresLock]</c> methods of the compilation's own types, looked up by callee from the bodies of any type
/// (MSA6101 checks calls from other types too, as Clang checks every caller of a <c>REQUIRES</c> function). Made only
/// when the compilation can see a type named <c>RequiresLockAttribute</c>, so that other compilations pay nothing;
/// each annotated type's guards are resolved once.
/// </summary>
internal sealed class RequiredLocks
{
    private readonly IAssemblySymbol _assembly;
    private readonly ConcurrencyTypes _types;
    private readonly ConcurrentDictionary<INamedTypeSymbol, Dictionary<IMethodSymbol, DeclaredGuard>?> _byType = new(SymbolEqualityComparer.Default);
    private readonly System.Func<INamedTypeSymbol, Dictionary<IMethodSymbol, DeclaredGuard>?> _resolve;

    private RequiredLocks(IAssemblySymbol assembly, ConcurrencyTypes types)
    {
        _assembly = assembly;
        _types = types;
        _resolve = Resolve;
    }

    /// <summary>The lookup, or null when no type named <c>RequiresLockAttribute</c> is declared in the compilation or an
    /// assembly it references (then no method can carry the annotation).</summary>
    public static RequiredLocks? For(Compilation compilation, ConcurrencyTypes types)
    {
        // The declaration table answers for source without building the assembly's set of type names.
        if (compilation.ContainsSymbolsWithName(LockAnnotations.RequiresLock, SymbolFilter.Type))
            return new RequiredLocks(compilation.Assembly, types);
        foreach (var assembly in compilation.SourceModule.ReferencedAssemblySymbols)
        {
            if (assembly.TypeNames.Contains(LockAnnotations.RequiresLock))
                return new RequiredLocks(compilation.Assembly, types);
        }

        return null;
    }

    /// <summary>The valid guard the method (an original definition) declares, when it is a method of this compilation with
    /// <c>[RequiresLock]</c>; otherwise null.</summary>
    public DeclaredGuard? Of(IMethodSymbol method)
    {
        if (!SymbolEqualityComparer.Default.Equals(method.ContainingAssembly, _assembly) || method.ContainingType is not { } type)
            return null;
        var annotated = false;
        foreach (var attribute in method.GetAttributes())
        {
            if (attribute.AttributeClass?.Name == LockAnnotations.RequiresLock)
            {
                annotated = true;
                break;
            }
        }

        return annotated && _byType.GetOrAdd(type.OriginalDefinition, _resolve) is { } methods && methods.TryGetValue(method, out var guard) ? guard : null;
    }

    private Dictionary<IMethodSymbol, DeclaredGuard>? Resolve(INamedTypeSymbol type)
    {
        Dictionary<IMethodSymbol, DeclaredGuard>? methods = null;
        if (LockAnnotations.Of(type, _types) is { } guards)
        {
            foreach (var guard in guards)
            {
                if (guard.Invalid is null && guard.Member is IMethodSymbol method)
                    (methods ??= new(SymbolEqualityComparer.Default))[(IMethodSymbol)method.OriginalDefinition] = guard;
            }
        }

        return methods;
    }
}
