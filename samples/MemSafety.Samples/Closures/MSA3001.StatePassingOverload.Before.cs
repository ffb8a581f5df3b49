using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;

namespace MemSafety.Samples.Closures.Before.StatePassingOverload;

public sealed class PatternCache
{
    private readonly ConcurrentDictionary<string, Regex> _cache = new();
    private int _pendingCancellations;

    // MSA3001: 'options' lives in a display class allocated at method entry, and every call creates a new Func.
    public Regex For(string pattern, RegexOptions options)
        => _cache.GetOrAdd(pattern, p => new Regex(p, options));

    // MSA3001: the lambda uses only 'this', yet every call creates a new Action.
    public void OnCancel(CancellationToken token)
        => token.Register(() => Interlocked.Increment(ref _pendingCancellations));

    // MSA3001: string.Create already passes state; the lambda ignores it and captures 'fill' instead.
    public static string Line(char fill, int width)
        => string.Create(width, 0, (span, _) => span.Fill(fill));

    public static Task<int> WhenCancelled(CancellationToken token)
    {
        var source = new TaskCompletionSource<int>();
        // MSA3001: one reference fits Register's object state without boxing.
        token.Register(() => source.TrySetResult(0));
        return source.Task;
    }
}
