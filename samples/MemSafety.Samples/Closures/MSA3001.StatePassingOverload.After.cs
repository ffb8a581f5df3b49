using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;

namespace MemSafety.Samples.Closures.After.StatePassingOverload;

public sealed class PatternCache
{
    private readonly ConcurrentDictionary<string, Regex> _cache = new();
    private int _pendingCancellations;

    // The fix: static lambdas given their values as state; each delegate is created once and cached by the compiler.
    public Regex For(string pattern, RegexOptions options)
        => _cache.GetOrAdd(pattern, static (p, options) => new Regex(p, options), options);

    public void OnCancel(CancellationToken token)
        => token.Register(static state =>
        {
            var self = (PatternCache)state!;
            Interlocked.Increment(ref self._pendingCancellations);
        }, this);

    public static string Line(char fill, int width)
        => string.Create(width, fill, static (span, fill) => span.Fill(fill));

    public static Task<int> WhenCancelled(CancellationToken token)
    {
        var source = new TaskCompletionSource<int>();
        token.Register(static state =>
        {
            var source = (TaskCompletionSource<int>)state!;
            source.TrySetResult(0);
        }, source);
        return source.Task;
    }
}
