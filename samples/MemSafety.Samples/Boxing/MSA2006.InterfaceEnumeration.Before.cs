using System.Collections.Generic;

namespace MemSafety.Samples.Boxing.Before.InterfaceEnumeration;

public sealed class Roster
{
    // Declared as an interface, but only ever a HashSet<string>.
    private readonly IEnumerable<string> _names = new HashSet<string> { "ada", "grace" };

    // MSA2006: foreach through IEnumerable<string> boxes HashSet<string>.Enumerator on every call.
    public int TotalLength()
    {
        var total = 0;
        foreach (var name in _names)
            total += name.Length;
        return total;
    }
}
