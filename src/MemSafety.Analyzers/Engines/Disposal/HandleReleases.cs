using System.Collections.Generic;
using System.Collections.Immutable;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Engines.Disposal;

/// <summary>A field that holds a native handle and the call on the finalizer's path that gives it back.</summary>
public sealed class HandleRelease
{
    internal HandleRelease(NativeField acquisition, IInvocationOperation release, string via, bool passesField)
    {
        Acquisition = acquisition;
        Release = release;
        Via = via;
        PassesField = passesField;
    }

    public IFieldSymbol Field => Acquisition.Field;

    /// <summary>Where the field is assigned the handle, and by which call.</summary>
    public NativeField Acquisition { get; }

    /// <summary>The release call (in the finalizer or in a method it runs).</summary>
    public IInvocationOperation Release { get; }

    /// <summary>The calls from the finalizer that lead to it (<c>"Dispose(false)"</c>), empty in the finalizer itself.</summary>
    public string Via { get; }

    /// <summary>The release call is given the field itself; false when it gets a copy (a local that read the field,
    /// <c>Interlocked.Exchange(ref _handle, …)</c>).</summary>
    public bool PassesField { get; }
}

/// <summary>
/// Which fields of a type hold native handles that its own finalizer releases: fields assigned the result (or an
/// <c>out</c> argument) of a call that produces a handle (<see cref="NativeMembers.ProducesHandle"/>: a platform
/// invoke, the HGlobal/CoTaskMem/NativeMemory allocators, <c>NativeLibrary.Load</c>) and passed, on the path the
/// finalizer runs (<see cref="FinalizationPath"/>), to a call that gives handles back
/// (<see cref="NativeMembers.ReleasesHandle"/>). A field of an integer type (a POSIX descriptor) counts only when
/// both calls are platform invokes; when one release call takes several such fields, those of handle types
/// (<c>IntPtr</c>, <c>UIntPtr</c>) are the handles and the integers their sizes.
/// </summary>
public static class HandleReleases
{
    public static ImmutableArray<HandleRelease> InFinalizer(DisposableType facts, CancellationToken cancellationToken)
    {
        if (facts.Type.TypeKind != TypeKind.Class || facts.IsSafeHandle || facts.IsCriticalFinalizable || !facts.HasOwnFinalizer)
            return ImmutableArray<HandleRelease>.Empty;
        var path = facts.GetFinalizationPath(cancellationToken);
        if (path is null || !path.Has(FinalizerEffectKind.NativeCall))
            return ImmutableArray<HandleRelease>.Empty;
        var natives = facts.GetNativeFields(cancellationToken);
        if (natives.IsEmpty)
            return ImmutableArray<HandleRelease>.Empty;

        var found = ImmutableArray.CreateBuilder<HandleRelease>();
        var candidates = new List<(NativeField Native, bool PassesField)>();
        foreach (var effect in path.Effects)
        {
            if (effect.Kind != FinalizerEffectKind.NativeCall || effect.Operation is not IInvocationOperation release
                || !NativeMembers.ReleasesHandle(release.TargetMethod))
            {
                continue;
            }

            candidates.Clear();
            foreach (var argument in release.Arguments)
            {
                if (FieldOf(argument.Value, out var passesField) is not { } field || Find(natives, field) is not { } native)
                    continue;
                if (native.Source is not { } source || !NativeMembers.ProducesHandle(source))
                    continue;
                if (!NativeMembers.IsHandleType(field.Type)
                    && (NativeMembers.Classify(source) != NativeCallKind.PlatformInvoke || NativeMembers.Classify(release.TargetMethod) != NativeCallKind.PlatformInvoke))
                {
                    continue;
                }

                candidates.Add((native, passesField));
            }

            var anyHandleTyped = false;
            foreach (var candidate in candidates)
                anyHandleTyped |= NativeMembers.IsHandleType(candidate.Native.Field.Type);
            foreach (var candidate in candidates)
            {
                if (anyHandleTyped && !NativeMembers.IsHandleType(candidate.Native.Field.Type))
                    continue;
                if (!Contains(found, candidate.Native.Field))
                    found.Add(new HandleRelease(candidate.Native, release, effect.Via, candidate.PassesField));
            }
        }

        return found.ToImmutable();
    }

    /// <summary>The field of <c>this</c> the value is: the field itself (through conversions), or a copy of it
    /// (<c>Interlocked.Exchange(ref _field, …)</c>, a local initialized from the field).</summary>
    public static IFieldSymbol? FieldOf(IOperation? value, out bool passesField)
    {
        passesField = true;
        for (var depth = 0; depth < 4; depth++)
        {
            switch (value)
            {
                case IConversionOperation conversion:
                    value = conversion.Operand;
                    continue;
                case IFieldReferenceOperation { Field.IsStatic: false } field when DisposableTypes.IsThis(field.Instance):
                    return field.Field.OriginalDefinition;
                case IInvocationOperation { TargetMethod: { Name: "Exchange" or "CompareExchange", ContainingType.Name: "Interlocked" } } exchange
                    when exchange.Arguments.Length > 0:
                    passesField = false;
                    value = exchange.Arguments[0].Value;
                    continue;
                case ILocalReferenceOperation local:
                {
                    var facts = Bodies.BodyFacts.Of(local);
                    if (facts.DeclaratorOf(local.Local)?.GetVariableInitializer() is not { } initializer)
                        return null;
                    passesField = false;
                    value = initializer.Value;
                    continue;
                }

                default:
                    return null;
            }
        }

        return null;
    }

    private static NativeField? Find(ImmutableArray<NativeField> natives, IFieldSymbol field)
    {
        foreach (var native in natives)
        {
            if (SymbolEqualityComparer.Default.Equals(native.Field, field))
                return native;
        }

        return null;
    }

    private static bool Contains(ImmutableArray<HandleRelease>.Builder found, IFieldSymbol field)
    {
        foreach (var existing in found)
        {
            if (SymbolEqualityComparer.Default.Equals(existing.Field, field))
                return true;
        }

        return false;
    }
}
