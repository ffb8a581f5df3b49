using System.Collections.Generic;

namespace MemSafety.Samples.Boxing.After.InterfaceEnumeration;

public sealed class Roster
{
    // The fix: the field is declared as what it holds.
    private readonly HashSet<string> _names = new HashSet<string> { "ada", "grace" };

    // foreach now uses the struct HashSet<string>.Enumerator: no allocation.
    public int TotalLength()
    {
        var total = 0;
        foreach (var name in _names)
            total += name.Length;
        return total;
    }
}
