using System.Runtime.CompilerServices;
using Microsoft.CodeAnalysis;

namespace MemSafety.Analyzers.Engines.Concurrency;

/// <summary>The synchronisation types the lockset engine recognises, resolved once per compilation (null when the
/// compilation does not have the type: <c>System.Threading.Lock</c> exists from .NET 9).</summary>
internal sealed class ConcurrencyTypes
{
    private static readonly ConditionalWeakTable<Compilation, ConcurrencyTypes> Instances = new();

    private ConcurrencyTypes(Compilation compilation)
    {
        Monitor = compilation.GetTypeByMetadataName("System.Threading.Monitor");
        Lock = compilation.GetTypeByMetadataName("System.Threading.Lock");
        LockScope = compilation.GetTypeByMetadataName("System.Threading.Lock+Scope");
        ReaderWriterLockSlim = compilation.GetTypeByMetadataName("System.Threading.ReaderWriterLockSlim");
        SemaphoreSlim = compilation.GetTypeByMetadataName("System.Threading.SemaphoreSlim");
        SpinLock = compilation.GetTypeByMetadataName("System.Threading.SpinLock");
        Mutex = compilation.GetTypeByMetadataName("System.Threading.Mutex");
        Interlocked = compilation.GetTypeByMetadataName("System.Threading.Interlocked");
        Volatile = compilation.GetTypeByMetadataName("System.Threading.Volatile");
        ThreadStaticAttribute = compilation.GetTypeByMetadataName("System.ThreadStaticAttribute");
        MethodImplAttribute = compilation.GetTypeByMetadataName("System.Runtime.CompilerServices.MethodImplAttribute");
    }

    public static ConcurrencyTypes Of(Compilation compilation) => Instances.GetValue(compilation, static c => new ConcurrencyTypes(c));

    public INamedTypeSymbol? Monitor { get; }
    public INamedTypeSymbol? Lock { get; }
    public INamedTypeSymbol? LockScope { get; }
    public INamedTypeSymbol? ReaderWriterLockSlim { get; }
    public INamedTypeSymbol? SemaphoreSlim { get; }
    public INamedTypeSymbol? SpinLock { get; }
    public INamedTypeSymbol? Mutex { get; }
    public INamedTypeSymbol? Interlocked { get; }
    public INamedTypeSymbol? Volatile { get; }
    public INamedTypeSymbol? ThreadStaticAttribute { get; }
    public INamedTypeSymbol? MethodImplAttribute { get; }

    public static bool Is(ITypeSymbol? type, INamedTypeSymbol? wellKnown)
        => type is not null && wellKnown is not null && SymbolEqualityComparer.Default.Equals(type.OriginalDefinition, wellKnown);
}
