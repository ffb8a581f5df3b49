using System.Collections.Concurrent;
using System.Threading;

namespace MemSafety.Samples.SharedState;

public sealed class CheckThenActOnConcurrentCollectionBefore
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new ConcurrentDictionary<string, SemaphoreSlim>();
    private readonly ConcurrentQueue<string> _inbox = new ConcurrentQueue<string>();

    // MSA6006: another thread can add the key after TryGetValue; TryAdd then adds nothing, and this caller keeps a
    // semaphore no one else has.
    public SemaphoreSlim LockFor(string key)
    {
        if (!_locks.TryGetValue(key, out var gate))
        {
            gate = new SemaphoreSlim(1, 1);
            _locks.TryAdd(key, gate);
        }

        return gate;
    }

    // MSA6006: another thread can take the last message after the Count check; TryDequeue then leaves message null.
    public int Drain()
    {
        var length = 0;
        while (_inbox.Count > 0)
        {
            _inbox.TryDequeue(out var message);
            length += message.Length;
        }

        return length;
    }

    public void Post(string message) => _inbox.Enqueue(message);
}
