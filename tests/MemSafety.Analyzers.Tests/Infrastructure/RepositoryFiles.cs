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
