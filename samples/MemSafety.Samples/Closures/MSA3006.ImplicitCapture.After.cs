using System;

namespace MemSafety.Samples.Closures.After;

public sealed class Meter
{
    private Func<int>? _reading;

    public int Read() => _reading?.Invoke() ?? 0;

    // 'samples' is declared in a block of its own: its display class is not the one _reading's delegate points to,
    // so the array is garbage once the block ends.
    public void Calibrate(int offset, Action<Action> run)
    {
        {
            var samples = new double[8192];
            run(() => Fill(samples, offset));
        }

        _reading = () => offset;
    }

    private static void Fill(double[] samples, int offset)
    {
        for (var i = 0; i < samples.Length; i++)
            samples[i] = i + offset;
    }
}
