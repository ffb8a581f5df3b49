using System.Collections.Generic;
using System.Globalization;

namespace MemSafety.Samples.SharedState;

public static class StaticCollectionMutationBefore
{
    private static readonly Dictionary<int, string> s_names = new Dictionary<int, string>();

    // MSA6007: a public static member may be called from any thread; two calls at once can corrupt s_names.
    public static string NameOf(int id)
    {
        if (!s_names.TryGetValue(id, out var name))
        {
            name = id.ToString(CultureInfo.InvariantCulture);
            s_names[id] = name;
        }

        return name;
    }
}
