using System.Threading;

namespace MemSafety.Samples.SharedState;

public sealed class NonVolatileFlagPollBefore
{
    private bool _stop;

    public void Stop() => _stop = true;

    // MSA6008: nothing in the loop orders its reads, so the JIT reads _stop once and the loop never sees Stop().
    public long SpinUntilStopped()
    {
        long spins = 0;
        while (!_stop)
        {
            spins++;
        }

        return spins;
    }

    public static long Demo()
    {
        var worker = new NonVolatileFlagPollBefore();
        long result = 0;
        var thread = new Thread(() => result = worker.SpinUntilStopped());
        thread.Start();
        worker.Stop();
        thread.Join();
        return result;
    }
}
