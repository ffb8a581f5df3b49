using System.Linq;
using MemSafety.Analyzers.Engines.Disposal;
using MemSafety.Analyzers.Engines.Escape;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace MemSafety.Analyzers.Tests.Engines.Disposal;

/// <summary>Compiles a test source against .NET 8 and hands out the disposal facts of its types.</summary>
internal sealed class DisposalTestCode
{
    private DisposalTestCode(CSharpCompilation compilation)
    {
        Compilation = compilation;
        Types = new DisposableTypes(compilation, new ParameterSummaries(compilation));
    }

    public CSharpCompilation Compilation { get; }

    public DisposableTypes Types { get; }

    /// <param name="allowedErrors">Compiler errors the source may have (a [LibraryImport] method without the generator
    /// that implements it is CS8795).</param>
    public static DisposalTestCode Compile(string source, string[]? preprocessorSymbols = null, params string[] allowedErrors)
    {
        var tree = CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Latest, preprocessorSymbols: preprocessorSymbols));
        var compilation = CSharpCompilation.Create("t", new[] { tree }, Basic.Reference.Assemblies.Net80.References.All,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true));
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error && !allowedErrors.Contains(d.Id)).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        return new DisposalTestCode(compilation);
    }

    public INamedTypeSymbol Type(string metadataName)
        => Compilation.GetTypeByMetadataName(metadataName) ?? throw new System.ArgumentException("no type " + metadataName);

    public DisposableType Of(string metadataName) => Types.Of(Type(metadataName));

    public FinalizationPath Path(string metadataName)
        => Of(metadataName).GetFinalizationPath(default) ?? throw new System.ArgumentException(metadataName + " has no finalizer in source");

    /// <summary>The effects of a finalizer's path as "Kind field via" lines, in the order met.</summary>
    public string Effects(string metadataName)
        => string.Join("\n", Path(metadataName).Effects.Select(e =>
            e.Kind + (e.Field is null ? string.Empty : " " + e.Field.Name) + (e.Via.Length == 0 ? string.Empty : " via " + e.Via)
            + " at '" + e.Operation.Syntax + "'"));
}
