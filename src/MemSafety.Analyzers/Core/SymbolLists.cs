using System.Collections.Generic;
using Microsoft.CodeAnalysis;

namespace MemSafety.Analyzers.Core;

internal static class SymbolLists
{
    /// <summary>Whether a short list (kept in order, so not a set) holds the symbol, by symbol equality.</summary>
    public static bool ContainsSymbol(this List<ISymbol> list, ISymbol symbol)
    {
        foreach (var item in list)
        {
            if (SymbolEqualityComparer.Default.Equals(item, symbol))
                return true;
        }

        return false;
    }
}
