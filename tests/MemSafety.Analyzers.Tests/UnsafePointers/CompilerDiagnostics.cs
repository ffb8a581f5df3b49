using System.Linq;
using MemSafety.Analyzers.Tests.Verification;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace MemSafety.Analyzers.Tests.UnsafePointers;

/// <summary>Shows that the compiler itself reports a source, so a test that our rule stays silent on it is about
/// not repeating the compiler, not about code nobody flags.</summary>
internal static class CompilerDiagnostics
{
    public static void AssertCompilerReports(string source, string id)
    {
        var compilation = CSharpCompilation.Create(
            "Compiler",
            new[] { CSharpSyntaxTree.ParseText(Markup.Parse(source).Source) },
            ReferenceSets.References(ReferenceSet.Net80),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true));
        var ids = compilation.GetDiagnostics().Select(d => d.Id).ToList();
        Assert.True(ids.Contains(id), $"expected the compiler to report {id}; it reported: {string.Join(", ", ids)}");
    }
}
