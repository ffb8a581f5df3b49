using System;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace MemSafety.Analyzers.Tests.Verification;

/// <summary>Compiles a source and runs one of its static methods, so a test can show that a fix keeps
/// behaviour: the original and the fixed code must return the same value.</summary>
public static class Behaviour
{
    /// <param name="references">What to compile against; the test host (.NET 10) runs the result, which for
    /// netstandard2.0 (with System.Memory) is what a .NET Core application using such a library does.</param>
    public static string Run(string source, string typeName = "Program", string methodName = "Run", bool optimize = true,
        ReferenceSet references = ReferenceSet.Net80, LanguageVersion languageVersion = LanguageVersion.Latest)
    {
        var compilation = CSharpCompilation.Create(
            "Behaviour" + Guid.NewGuid().ToString("N"),
            new[] { CSharpSyntaxTree.ParseText(Markup.Parse(source).Source, new CSharpParseOptions(languageVersion)) },
            ReferenceSets.References(references),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true,
                optimizationLevel: optimize ? OptimizationLevel.Release : OptimizationLevel.Debug));
        using var stream = new MemoryStream();
        var emitted = compilation.Emit(stream);
        Assert.True(emitted.Success, string.Join(Environment.NewLine, emitted.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)));
        stream.Position = 0;
        var context = new AssemblyLoadContext(null, isCollectible: true);
        try
        {
            var assembly = context.LoadFromStream(stream);
            var method = assembly.GetType(typeName, throwOnError: true)!.GetMethod(methodName, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)!;
            return Convert.ToString(method.Invoke(null, null), System.Globalization.CultureInfo.InvariantCulture) ?? "(null)";
        }
        finally
        {
            context.Unload();
        }
    }
}
