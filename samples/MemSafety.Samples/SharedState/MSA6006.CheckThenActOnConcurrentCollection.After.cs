using System.Collections.Concurrent;
using System.Threading;

namespace MemSafety.Samples.SharedState;

public sealed class CheckThenActOnConcurrentCollectionAfter
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new ConcurrentDictionary<string, SemaphoreSlim>();
    private readonly ConcurrentQueue<string> _inbox = new ConcurrentQueue<string>();

    public SemaphoreSlim LockFor(string key)
    {
        var gate = _locks.GetOrAdd(key, _ => new SemaphoreSlim(1, 1));
        return gate;
    }

    public int Drain()
    {
        var length = 0;
        while (_inbox.TryDequeue(out var message))
        {
            length += message.Length;
        }

        return length;
    }

    public void Post(string message) => _inbox.Enqueue(message);
}
