using System.Runtime.CompilerServices;
using System.Threading;
using Microsoft.CodeAnalysis;

namespace MemSafety.Analyzers.Core;

/// <summary>
/// The BCL types more than one rule or fix looks up by metadata name, resolved once per compilation on first
/// request (null when the compilation does not have the type). One instance per compilation, shared through a
/// weak table as roslyn-analyzers' <c>WellKnownTypeProvider</c> is: analyzers and fixes alike ask
/// <see cref="Of"/>. A type only one rule needs stays in that rule.
/// </summary>
public sealed class WellKnownTypes
{
    private static readonly ConditionalWeakTable<Compilation, WellKnownTypes> Instances = new();
    private static readonly object Missing = new();
    private static readonly object Gate = new();

    private readonly Compilation _compilation;
    private object? _span;
    private object? _readOnlySpan;
    private object? _memoryExtensions;
    private object? _arrayPool;
    private object? _equatable;
    private object? _list;
    private object? _enumerable;
    private object? _stringBuilder;
    private object? _textWriter;
    private object? _disposable;
    private object? _asyncDisposable;
    private object? _safeHandle;
    private object? _criticalFinalizerObject;
    private object? _gc;

    private WellKnownTypes(Compilation compilation)
    {
        _compilation = compilation;
        CreationCounts.Record(compilation, nameof(WellKnownTypes));
    }

    /// <summary>The instance for <paramref name="compilation"/>; the table holds it only while the compilation lives.</summary>
    public static WellKnownTypes Of(Compilation compilation)
    {
        if (Instances.TryGetValue(compilation, out var types))
            return types;
        // Under the lock so that exactly one instance is ever built per compilation (GetValue may run its
        // callback on several threads and keep one result).
        lock (Gate)
        {
            if (!Instances.TryGetValue(compilation, out types))
            {
                types = new WellKnownTypes(compilation);
                Instances.Add(compilation, types);
            }

            return types;
        }
    }

    /// <summary><c>System.Span&lt;T&gt;</c> (absent on netstandard2.0 without System.Memory).</summary>
    public INamedTypeSymbol? Span => Get(ref _span, "System.Span`1");

    /// <summary><c>System.ReadOnlySpan&lt;T&gt;</c>.</summary>
    public INamedTypeSymbol? ReadOnlySpan => Get(ref _readOnlySpan, "System.ReadOnlySpan`1");

    /// <summary><c>System.MemoryExtensions</c> (<c>AsSpan</c>, <c>SequenceEqual</c>, …).</summary>
    public INamedTypeSymbol? MemoryExtensions => Get(ref _memoryExtensions, "System.MemoryExtensions");

    /// <summary><c>System.Buffers.ArrayPool&lt;T&gt;</c>.</summary>
    public INamedTypeSymbol? ArrayPool => Get(ref _arrayPool, "System.Buffers.ArrayPool`1");

    /// <summary><c>System.IEquatable&lt;T&gt;</c>.</summary>
    public INamedTypeSymbol? IEquatable => Get(ref _equatable, "System.IEquatable`1");

    /// <summary><c>System.Collections.Generic.List&lt;T&gt;</c>.</summary>
    public INamedTypeSymbol? List => Get(ref _list, "System.Collections.Generic.List`1");

    /// <summary><c>System.Linq.Enumerable</c>.</summary>
    public INamedTypeSymbol? Enumerable => Get(ref _enumerable, "System.Linq.Enumerable");

    /// <summary><c>System.Text.StringBuilder</c>.</summary>
    public INamedTypeSymbol? StringBuilder => Get(ref _stringBuilder, "System.Text.StringBuilder");

    /// <summary><c>System.IO.TextWriter</c>.</summary>
    public INamedTypeSymbol? TextWriter => Get(ref _textWriter, "System.IO.TextWriter");

    /// <summary><c>System.IDisposable</c>.</summary>
    public INamedTypeSymbol? IDisposable => Get(ref _disposable, "System.IDisposable");

    /// <summary><c>System.IAsyncDisposable</c> (absent on netstandard2.0 without Microsoft.Bcl.AsyncInterfaces).</summary>
    public INamedTypeSymbol? IAsyncDisposable => Get(ref _asyncDisposable, "System.IAsyncDisposable");

    /// <summary><c>System.Runtime.InteropServices.SafeHandle</c>.</summary>
    public INamedTypeSymbol? SafeHandle => Get(ref _safeHandle, "System.Runtime.InteropServices.SafeHandle");

    /// <summary><c>System.Runtime.ConstrainedExecution.CriticalFinalizerObject</c>: its finalizers run after the ordinary ones.</summary>
    public INamedTypeSymbol? CriticalFinalizerObject => Get(ref _criticalFinalizerObject, "System.Runtime.ConstrainedExecution.CriticalFinalizerObject");

    /// <summary><c>System.GC</c>.</summary>
    public INamedTypeSymbol? GC => Get(ref _gc, "System.GC");

    /// <summary>Resolves on first use. Two threads may both look the name up; Roslyn answers both with the same
    /// symbol, so either write is right. A lookup that throws leaves the slot empty: nothing caches an exception.</summary>
    private INamedTypeSymbol? Get(ref object? slot, string metadataName)
    {
        var value = Volatile.Read(ref slot);
        if (value is null)
        {
            value = (object?)_compilation.GetTypeByMetadataName(metadataName) ?? Missing;
            Volatile.Write(ref slot, value);
        }

        return value as INamedTypeSymbol;
    }
}
