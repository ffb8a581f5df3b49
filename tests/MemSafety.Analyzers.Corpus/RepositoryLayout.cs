using System;
using System.IO;

namespace MemSafety.Analyzers.Corpus;

/// <summary>Where the git checkout this tool was built from is: the presets and the list file are read from
/// it, and no source may be written into it.</summary>
internal static class RepositoryLayout
{
    /// <summary>The folder holding MemSafety.Analyzers.sln above the tool's binaries, or null.</summary>
    public static string? Root { get; } = FindRoot();

    public static string? DefaultProjectsFile
        => Root is null ? null : Path.Combine(Root, "tests", "MemSafety.Analyzers.Corpus", "third-party.json");

    /// <summary>True when <paramref name="path"/> lies in the repository (decompiled or third-party sources
    /// must never land in it).</summary>
    public static bool IsInside(string path)
    {
        if (Root is null)
            return false;
        var root = Root.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        var full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        return full.StartsWith(root, StringComparison.Ordinal);
    }

    private static string? FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MemSafety.Analyzers.sln")))
                return dir.FullName;
        }

        return null;
    }
}
