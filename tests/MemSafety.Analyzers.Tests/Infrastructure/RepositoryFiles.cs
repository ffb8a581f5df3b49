using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Tests.Integration;
using MemSafety.CodeFixes.Finalizers;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.Diagnostics;

namespace MemSafety.Analyzers.Tests.Infrastructure;

/// <summary>The shipped analyzers and fixes, found by reflection, and the repository's files.</summary>
internal static class RepositoryFiles
{
    public static string Root { get; } = DotNetCli.RepositoryRoot();

    public static string Read(params string[] parts) => File.ReadAllText(Path.Combine(new[] { Root }.Concat(parts).ToArray()));

    /// <summary>The <c>memsafety.*</c> keys a shipped preset (<c>build/MemSafety.{name}.globalconfig</c>) sets, for tests that
    /// check what the preset turns on.</summary>
    public static List<(string Key, string Value)> PresetOptions(string name)
    {
        var options = new List<(string Key, string Value)>();
        foreach (var line in Read("build", $"MemSafety.{name}.globalconfig").Split('\n'))
        {
            var text = line.Trim();
            if (!text.StartsWith("memsafety.", System.StringComparison.Ordinal))
                continue;
            var equals = text.IndexOf('=');
            options.Add((text.Substring(0, equals).Trim(), text.Substring(equals + 1).Trim()));
        }

        return options;
    }

    /// <summary>The severity a shipped preset sets for a rule (<c>dotnet_diagnostic.{id}.severity</c>); the rule's own
    /// default (<see cref="Microsoft.CodeAnalysis.ReportDiagnostic.Default"/>) when the preset has no line for it.</summary>
    public static Microsoft.CodeAnalysis.ReportDiagnostic PresetSeverity(string name, string id)
    {
        var prefix = $"dotnet_diagnostic.{id}.severity";
        foreach (var line in Read("build", $"MemSafety.{name}.globalconfig").Split('\n'))
        {
            var text = line.Trim();
            if (!text.StartsWith(prefix, System.StringComparison.Ordinal))
                continue;
            return text.Substring(text.IndexOf('=') + 1).Trim() switch
            {
                "error" => Microsoft.CodeAnalysis.ReportDiagnostic.Error,
                "warning" => Microsoft.CodeAnalysis.ReportDiagnostic.Warn,
                "suggestion" => Microsoft.CodeAnalysis.ReportDiagnostic.Info,
                "silent" => Microsoft.CodeAnalysis.ReportDiagnostic.Hidden,
                "none" => Microsoft.CodeAnalysis.ReportDiagnostic.Suppress,
                var other => throw new InvalidOperationException($"unknown severity '{other}' for {id} in the {name} preset"),
            };
        }

        return Microsoft.CodeAnalysis.ReportDiagnostic.Default;
    }

    public static IReadOnlyList<DiagnosticAnalyzer> Analyzers { get; } = typeof(MemSafetyAnalyzer).Assembly.GetTypes()
        .Where(t => !t.IsAbstract && typeof(DiagnosticAnalyzer).IsAssignableFrom(t) && t.GetCustomAttribute<DiagnosticAnalyzerAttribute>() is not null)
        .Select(t => (DiagnosticAnalyzer)Activator.CreateInstance(t)!)
        .ToList();

    public static IReadOnlyList<CodeFixProvider> CodeFixes { get; } = typeof(EmptyFinalizerFix).Assembly.GetTypes()
        .Where(t => !t.IsAbstract && typeof(CodeFixProvider).IsAssignableFrom(t) && t.GetCustomAttribute<ExportCodeFixProviderAttribute>() is not null)
        .Select(t => (CodeFixProvider)Activator.CreateInstance(t)!)
        .ToList();

    /// <summary>Family folder of a rule, from its category (<c>MemSafety.Finalizers</c> → <c>Finalizers</c>).</summary>
    public static string Family(string category) => category.Substring("MemSafety.".Length);
}
