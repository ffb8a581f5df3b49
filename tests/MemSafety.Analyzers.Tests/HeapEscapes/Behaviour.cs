using System;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace MemSafety.Analyzers.Tests.HeapEscapes;

/// <summary>Compiles a program (against .NET 8 reference assemblies), runs one static method in a
/// collectible load context and returns what it returned as a string: the same call on the code before
/// and after a fix must give the same answer.</summary>
internal static class Behaviour
{
    public static string Run(string source, string typeName = "Program", string methodName = "Run")
    {
        var tree = CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Latest));
        var compilation = CSharpCompilation.Create(
            "Behaviour" + Guid.NewGuid().ToString("N"),
            new[] { tree },
            Basic.Reference.Assemblies.Net80.References.All,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        using var stream = new MemoryStream();
        var result = compilation.Emit(stream);
        if (!result.Success)
            throw new InvalidOperationException("Does not compile:" + Environment.NewLine + string.Join(Environment.NewLine, result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)));
        stream.Position = 0;
        var context = new AssemblyLoadContext("behaviour", isCollectible: true);
        try
        {
            var assembly = context.LoadFromStream(stream);
            var method = assembly.GetType(typeName)!.GetMethod(methodName, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)!;
            return Convert.ToString(method.Invoke(null, null), System.Globalization.CultureInfo.InvariantCulture) ?? "null";
        }
        finally
        {
            context.Unload();
        }
    }
}
