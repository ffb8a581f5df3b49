using System.Threading;
using System.Threading.Tasks;

namespace MemSafety.Samples.SharedState;

public sealed class NonAtomicUpdateBefore
{
    private volatile int _requests;
    private long _bytes;

    // MSA6002: volatile orders each read and each write, but two threads can both read 5 and both write 6.
    public void OnRequest() => _requests++;

    public void OnResponse(int size) => Interlocked.Add(ref _bytes, size);

    // MSA6002: OnResponse updates _bytes with Interlocked; this read-modify-write can overwrite its update.
    public void Rewind(long size) { _bytes -= size; }

    public int Requests => _requests;

    public long Bytes => Interlocked.Read(ref _bytes);

    public static long Sum(int[] values)
    {
        long total = 0;
        // MSA6002: Parallel.For runs the body on several threads at once; their '+=' overwrite each other.
        Parallel.For(0, values.Length, i => { total += values[i]; });
        return total;
    }
}
