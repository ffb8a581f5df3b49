using Microsoft.CodeAnalysis;

namespace MemSafety.Analyzers.Engines.Escape;

/// <summary>
/// BCL members that only read or write through their arguments during the call and keep no reference
/// to them afterwards. Curated by hand from the members' documented contracts; a member that is not
/// listed is assumed to keep what it is given. Asynchronous members are deliberately absent: they keep
/// the buffer until the returned task completes.
/// </summary>
internal static class NonRetainingMembers
{
    private readonly struct Entry
    {
        public Entry(string ns, string type, bool resultAliases, params string[] members)
        {
            Namespace = ns;
            Type = type;
            ResultAliases = resultAliases;
            Members = members;
        }

        public string Namespace { get; }
        public string Type { get; }
        /// <summary>The result is a view of the argument (AsSpan, AsMemory): it must be followed in turn.</summary>
        public bool ResultAliases { get; }
        /// <summary>Member names; empty means every member of the type.</summary>
        public string[] Members { get; }
    }

    private static readonly Entry[] Entries =
    {
        new("System", "Array", false, "Copy", "ConstrainedCopy", "Fill", "Sort", "Reverse", "IndexOf", "LastIndexOf", "Clear",
            "BinarySearch", "Exists", "Find", "FindIndex", "FindLast", "FindLastIndex", "FindAll", "TrueForAll", "ForEach", "Resize",
            "CopyTo", "GetLength", "GetValue", "SetValue"),
        new("System", "Buffer", false),
        new("System", "BitConverter", false),
        new("System", "Convert", false, "ToBase64String", "ToBase64CharArray", "FromBase64CharArray", "ToHexString", "ToHexStringLower", "TryToBase64Chars"),
        new("System", "String", false, ".ctor", "Join", "Concat", "Equals", "Compare", "CompareOrdinal", "Format", "Split", "IndexOfAny",
            "LastIndexOfAny", "Trim", "TrimStart", "TrimEnd", "CopyTo", "Create"),
        new("System", "Console", false, "Write", "WriteLine", "Read"),
        new("System", "Random", false, "NextBytes", "Shuffle", "GetItems"),
        new("System", "Math", false),
        new("System", "MemoryExtensions", true, "AsSpan", "AsMemory", "Trim", "TrimStart", "TrimEnd"),
        new("System", "MemoryExtensions", false, "IndexOf", "IndexOfAny", "LastIndexOf", "LastIndexOfAny", "SequenceEqual", "SequenceCompareTo",
            "StartsWith", "EndsWith", "Contains", "ContainsAny", "Reverse", "Sort", "CopyTo", "BinarySearch", "Count", "Fill"),
        new("System", "Span`1", true, "Slice"),
        new("System", "Span`1", false, "ToArray", "CopyTo", "TryCopyTo", "Fill", "Clear", "ToString", "GetEnumerator", "get_Length", "get_Item"),
        new("System", "ReadOnlySpan`1", true, "Slice"),
        new("System", "ReadOnlySpan`1", false, "ToArray", "CopyTo", "TryCopyTo", "ToString", "GetEnumerator", "get_Length", "get_Item"),
        new("System", "Object", false, "Equals", "ReferenceEquals", "GetHashCode", "ToString", "GetType"),
        new("System.Buffers.Binary", "BinaryPrimitives", false),
        new("System.Buffers", "ArrayPool`1", false, "Return"),
        new("System.IO", "Stream", false, "Read", "Write", "ReadExactly", "ReadAtLeast"),
        new("System.IO", "TextWriter", false, "Write", "WriteLine"),
        new("System.IO", "TextReader", false, "Read", "ReadBlock"),
        new("System.IO", "BinaryWriter", false, "Write"),
        new("System.IO", "BinaryReader", false, "Read"),
        new("System.Text", "Encoding", false, "GetString", "GetBytes", "GetChars", "GetByteCount", "GetCharCount"),
        new("System.Text", "StringBuilder", false, "Append", "AppendLine", "Insert", "AppendJoin", "AppendFormat", "CopyTo"),
        new("System.Runtime.CompilerServices", "DefaultInterpolatedStringHandler", false, "AppendFormatted", "AppendLiteral"),
        new("System.Runtime.InteropServices", "Marshal", false, "Copy"),
        new("System.Security.Cryptography", "RandomNumberGenerator", false, "GetBytes", "Fill", "GetNonZeroBytes"),
        new("System.Security.Cryptography", "HashAlgorithm", false, "ComputeHash", "TryComputeHash"),
        new("System.Collections.Generic", "List`1", false, "AddRange", "InsertRange", "CopyTo", "Contains", "IndexOf", "Remove",
            "Exists", "Find", "FindAll", "FindIndex", "FindLast", "FindLastIndex", "RemoveAll", "TrueForAll", "ForEach", "ConvertAll", "Sort"),
        new("System.Collections.Generic", "HashSet`1", false, "UnionWith", "IntersectWith", "ExceptWith", "SymmetricExceptWith",
            "IsSubsetOf", "IsSupersetOf", "Overlaps", "SetEquals", "CopyTo"),
        new("System.Linq", "Enumerable", false, "Sum", "Min", "Max", "Average", "Count", "LongCount", "Any", "All", "Contains", "SequenceEqual",
            "First", "FirstOrDefault", "Last", "LastOrDefault", "Single", "SingleOrDefault", "ElementAt", "ElementAtOrDefault", "Aggregate",
            "ToArray", "ToList", "ToHashSet", "ToDictionary", "ToLookup"),
        new("System.Diagnostics", "Debug", false),
    };

    /// <summary>Whether <paramref name="method"/> keeps no reference to its arguments; <paramref name="resultAliases"/>
    /// tells whether its result is a view of them.</summary>
    public static bool IsNonRetaining(IMethodSymbol method, out bool resultAliases)
    {
        // An override (FileStream.Read) has its base's contract (Stream.Read).
        var definition = method.OriginalDefinition;
        while (definition.OverriddenMethod is { } overridden)
            definition = overridden.OriginalDefinition;
        if (definition.ReducedFrom is { } reduced)
            definition = reduced;

        var type = definition.ContainingType;
        // Once per call: a generic type's metadata name is built on each read.
        var typeName = type.MetadataName;
        foreach (var entry in Entries)
        {
            if (typeName != entry.Type || !IsNamespace(type.ContainingNamespace, entry.Namespace))
                continue;
            if (entry.Members.Length == 0 || System.Array.IndexOf(entry.Members, definition.Name) >= 0)
            {
                resultAliases = entry.ResultAliases;
                return true;
            }
        }

        resultAliases = false;
        return false;
    }

    /// <summary>Compares a namespace with a dotted name without building the namespace's string.</summary>
    internal static bool IsNamespace(INamespaceSymbol? ns, string dotted)
    {
        var end = dotted.Length;
        while (ns is { IsGlobalNamespace: false })
        {
            var start = dotted.LastIndexOf('.', end - 1) + 1;
            if (end - start != ns.Name.Length || string.CompareOrdinal(dotted, start, ns.Name, 0, ns.Name.Length) != 0)
                return false;
            end = start - 1;
            ns = ns.ContainingNamespace;
            if (end < 0)
                return ns is null || ns.IsGlobalNamespace;
        }

        return false;
    }
}
