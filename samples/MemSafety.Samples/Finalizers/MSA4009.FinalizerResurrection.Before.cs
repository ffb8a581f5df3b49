using System;
using System.Collections.Concurrent;

namespace MemSafety.Samples.Finalizers.Before;

// MSA4009: the finalizer puts a forgotten buffer back into the pool, resurrecting an object the runtime has
// finalized; whoever rents it next gets it in that state.
public sealed class PooledBuffer
{
    private static readonly ConcurrentBag<PooledBuffer> s_pool = new();

    public byte[] Bytes { get; } = new byte[4096];

    public static PooledBuffer Rent() => s_pool.TryTake(out var buffer) ? buffer : new PooledBuffer();

    ~PooledBuffer()
    {
        s_pool.Add(this);
        GC.ReRegisterForFinalize(this);
    }
}
