using System.Collections.Concurrent;
using System.Globalization;

namespace MemSafety.Samples.SharedState;

public static class StaticCollectionMutationAfter
{
    private static readonly ConcurrentDictionary<int, string> s_names = new ConcurrentDictionary<int, string>();

    public static string NameOf(int id) => s_names.GetOrAdd(id, static i => i.ToString(CultureInfo.InvariantCulture));
}
