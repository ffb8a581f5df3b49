using System;
using System.IO;

namespace MemSafety.Samples.Closures.After;

public sealed class ConfigWatcher
{
    public event Action? Changed;

    public void Raise() => Changed?.Invoke();
}

public static class HeaderLogger
{
    // The lambda that reads the stream captures a copy declared in the using block: a display class of its own,
    // which the subscribed handler does not reference.
    public static void Watch(ConfigWatcher watcher, string path, int id)
    {
        int header;
        using (var stream = File.OpenRead(path))
        {
            var streamCopy = stream;
            header = Read(() => streamCopy.ReadByte());
        }
        watcher.Changed += () => Console.WriteLine(id + header);
    }

    private static int Read(Func<int> next) => next();
}
