using System;
using System.IO;

namespace MemSafety.Samples.Closures.Before;

public sealed class ConfigWatcher
{
    public event Action? Changed;

    public void Raise() => Changed?.Invoke();
}

public static class HeaderLogger
{
    // MSA3006: the handler only prints 'id' and 'header', but it shares the display class holding 'stream'
    // with the lambda that reads the header, so the subscription keeps the stream reachable.
    public static void Watch(ConfigWatcher watcher, string path, int id)
    {
        using var stream = File.OpenRead(path);
        var header = Read(() => stream.ReadByte());
        watcher.Changed += () => Console.WriteLine(id + header);
    }

    private static int Read(Func<int> next) => next();
}
