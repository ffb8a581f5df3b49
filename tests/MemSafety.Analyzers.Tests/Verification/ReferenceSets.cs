using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace MemSafety.Analyzers.Tests.Verification;

public enum ReferenceSet
{
    Net80,
    NetStandard20,
    Net472,

    /// <summary>netstandard2.0 plus the System.Memory package (4.5.5, with System.Buffers,
    /// System.Runtime.CompilerServices.Unsafe and System.Numerics.Vectors): the usual way spans and
    /// ArrayPool reach a library that also runs on .NET Framework. Its <c>string</c> has no implicit conversion
    /// to <c>ReadOnlySpan&lt;char&gt;</c> and its BCL has none of .NET Core's span overloads
    /// (<c>Stream.Read(Span&lt;byte&gt;)</c>, <c>int.Parse(ReadOnlySpan&lt;char&gt;)</c>, …).</summary>
    NetStandard20WithSystemMemory,

    /// <summary>.NET 10: what only newer targets have, such as <c>System.Threading.Lock</c> (.NET 9+), which C# 13
    /// lowers <c>lock</c> statements on to <c>Lock.EnterScope()</c>.</summary>
    Net100,
}

/// <summary>The metadata references of each <see cref="ReferenceSet"/>, shared by the verifier, IL inspection
/// and behaviour runs.</summary>
public static class ReferenceSets
{
    /// <summary>The System.Memory package's netstandard2.0 assemblies, copied next to the test assembly by the
    /// test project (no network at test time).</summary>
    private static readonly Lazy<ImmutableArray<MetadataReference>> SystemMemory = new(() =>
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "NetStandard20WithSystemMemory");
        var names = new[] { "System.Memory.dll", "System.Buffers.dll", "System.Runtime.CompilerServices.Unsafe.dll", "System.Numerics.Vectors.dll" };
        return names.Select(name =>
        {
            var path = Path.Combine(folder, name);
            if (!File.Exists(path))
                throw new FileNotFoundException($"{path} is missing: the test project copies it from the System.Memory package and its dependencies", path);
            return (MetadataReference)MetadataReference.CreateFromFile(path);
        }).ToImmutableArray();
    });

    public static IEnumerable<MetadataReference> References(ReferenceSet set) => set switch
    {
        ReferenceSet.NetStandard20 => Basic.Reference.Assemblies.NetStandard20.References.All,
        ReferenceSet.NetStandard20WithSystemMemory => Basic.Reference.Assemblies.NetStandard20.References.All.Cast<MetadataReference>()
            .Where(r => !IsNamed(r, "System.Numerics.Vectors.dll"))
            .Concat(SystemMemory.Value),
        ReferenceSet.Net472 => Basic.Reference.Assemblies.Net472.References.All,
        ReferenceSet.Net100 => Basic.Reference.Assemblies.Net100.References.All,
        _ => Basic.Reference.Assemblies.Net80.References.All,
    };

    private static bool IsNamed(MetadataReference reference, string fileName)
        => reference is PortableExecutableReference { FilePath: { } path } && string.Equals(Path.GetFileName(path), fileName, StringComparison.OrdinalIgnoreCase)
           || string.Equals(reference.Display, fileName, StringComparison.OrdinalIgnoreCase);
}
