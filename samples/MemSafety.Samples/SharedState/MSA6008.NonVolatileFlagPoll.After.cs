using System.Threading;

namespace MemSafety.Samples.SharedState;

public sealed class NonVolatileFlagPollAfter
{
    private volatile bool _stop;

    public void Stop() => _stop = true;

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
        var worker = new NonVolatileFlagPollAfter();
        long result = 0;
        var thread = new Thread(() => result = worker.SpinUntilStopped());
        thread.Start();
        worker.Stop();
        thread.Join();
        return result;
    }
}
