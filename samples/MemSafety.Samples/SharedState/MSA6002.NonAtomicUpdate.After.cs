using System.Threading;
using System.Threading.Tasks;

namespace MemSafety.Samples.SharedState;

public sealed class NonAtomicUpdateAfter
{
    private volatile int _requests;
    private long _bytes;

    public void OnRequest() => Interlocked.Increment(ref _requests);

    public void OnResponse(int size) => Interlocked.Add(ref _bytes, size);

    public void Rewind(long size) { Interlocked.Add(ref _bytes, -size); }

    public int Requests => _requests;

    public long Bytes => Interlocked.Read(ref _bytes);

    public static long Sum(int[] values)
    {
        long total = 0;
        Parallel.For(0, values.Length, i => { Interlocked.Add(ref total, values[i]); });
        return total;
    }
}
