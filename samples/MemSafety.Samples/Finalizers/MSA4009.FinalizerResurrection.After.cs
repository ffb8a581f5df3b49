using System;
using System.Collections.Concurrent;

namespace MemSafety.Samples.Finalizers.After;

// Buffers go back to the pool when their user is done with them; nothing is resurrected.
public sealed class PooledBuffer : IDisposable
{
    private static readonly ConcurrentBag<PooledBuffer> s_pool = new();

    public byte[] Bytes { get; } = new byte[4096];

    public static PooledBuffer Rent() => s_pool.TryTake(out var buffer) ? buffer : new PooledBuffer();

    public void Dispose() => s_pool.Add(this);
}
