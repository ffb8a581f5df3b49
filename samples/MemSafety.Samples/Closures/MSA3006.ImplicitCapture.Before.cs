using System;

namespace MemSafety.Samples.Closures.Before;

public sealed class Meter
{
    private Func<int>? _reading;

    public int Read() => _reading?.Invoke() ?? 0;

    // MSA3006: the delegate stored in _reading shares one display class with the lambda that fills 'samples',
    // so the 64 KB array stays reachable for as long as the Meter keeps _reading.
    public void Calibrate(int offset, Action<Action> run)
    {
        var samples = new double[8192];
        run(() => Fill(samples, offset));
        _reading = () => offset;
    }

    private static void Fill(double[] samples, int offset)
    {
        for (var i = 0; i < samples.Length; i++)
            samples[i] = i + offset;
    }
}
