using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;

namespace MemSafety.Analyzers.Tests.Integration;

/// <summary>One diagnostic of a build's SARIF 2.1 log (<c>-p:ErrorLog=file%2Cversion=2.1</c>): unlike the console
/// output, the log lists suggestions too, which is what most of the SDK's rules are by default.</summary>
public sealed record Finding(string RuleId, string Level, string File, int StartLine, int StartColumn, int EndLine, int EndColumn)
{
    /// <summary>Whether this finding's source range contains the other's (same file).</summary>
    public bool Covers(Finding other)
        => File == other.File
           && (StartLine, StartColumn).CompareTo((other.StartLine, other.StartColumn)) <= 0
           && (EndLine, EndColumn).CompareTo((other.EndLine, other.EndColumn)) >= 0;

    /// <summary>The same place and rule, whatever the severity.</summary>
    public bool SameAs(Finding other) => RuleId == other.RuleId && Covers(other) && other.Covers(this);

    public override string ToString() => $"{RuleId} ({Level}) {Path.GetFileName(File)}({StartLine},{StartColumn})-({EndLine},{EndColumn})";
}

public static class SarifLog
{
    /// <summary>The command-line argument that writes a SARIF 2.1 log: MSBuild splits <c>-p:</c> values at commas,
    /// so the comma before <c>version=2.1</c> is escaped as <c>%2C</c> (an unescaped one gives SARIF 1.0).</summary>
    public static string Argument(string path) => "-p:ErrorLog=" + path + "%2Cversion=2.1";

    /// <summary>Every shown (not suppressed) diagnostic in the log, at note, warning or error level.</summary>
    public static List<Finding> Read(string path)
    {
        using var document = JsonDocument.Parse(System.IO.File.ReadAllText(path));
        var root = document.RootElement;
        if (root.GetProperty("version").GetString() != "2.1.0")
            throw new InvalidOperationException($"{path} is SARIF {root.GetProperty("version").GetString()}, not 2.1.0");
        var findings = new List<Finding>();
        foreach (var run in root.GetProperty("runs").EnumerateArray())
        {
            if (!run.TryGetProperty("results", out var results))
                continue;
            foreach (var result in results.EnumerateArray())
            {
                var level = result.TryGetProperty("level", out var l) ? l.GetString()! : "warning";
                if (level is not ("note" or "warning" or "error")
                    || result.TryGetProperty("suppressions", out var suppressions) && suppressions.GetArrayLength() > 0
                    || !result.TryGetProperty("locations", out var locations) || locations.GetArrayLength() == 0)
                {
                    continue;
                }

                var physical = locations[0].GetProperty("physicalLocation");
                var region = physical.GetProperty("region");
                var startLine = region.GetProperty("startLine").GetInt32();
                var startColumn = region.TryGetProperty("startColumn", out var sc) ? sc.GetInt32() : 1;
                findings.Add(new Finding(
                    result.GetProperty("ruleId").GetString()!,
                    level,
                    // By file name: a baseline project and the same project with the package live in different folders.
                    Path.GetFileName(new Uri(physical.GetProperty("artifactLocation").GetProperty("uri").GetString()!).LocalPath),
                    startLine,
                    startColumn,
                    region.TryGetProperty("endLine", out var el) ? el.GetInt32() : startLine,
                    region.TryGetProperty("endColumn", out var ec) ? ec.GetInt32() : startColumn));
            }
        }

        return findings;
    }
}
