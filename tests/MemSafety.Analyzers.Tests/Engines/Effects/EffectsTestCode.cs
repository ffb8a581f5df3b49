using System.Linq;
using MemSafety.Analyzers.Engines.Effects;
using MemSafety.Analyzers.Tests.Verification;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Tests.Engines.Effects;

/// <summary>Members of a class <c>C</c> compiled against .NET 8, and the operation marked <c>[|…|]</c> in them.</summary>
internal sealed class EffectsTestCode
{
    private EffectsTestCode(Compilation compilation, IOperation marked)
    {
        Compilation = compilation;
        Marked = marked;
    }

    public Compilation Compilation { get; }

    /// <summary>The operation of the marked syntax (a statement, an expression, a lambda).</summary>
    public IOperation Marked { get; }

    public KnownMembers Members => new(Compilation.GetTypeByMetadataName("System.Linq.Enumerable"), Compilation.GetTypeByMetadataName("System.Collections.Generic.List`1"));

    public static EffectsTestCode Compile(string members, bool allowErrors = false)
    {
        var parsed = Markup.Parse($$"""
            using System;
            using System.Collections.Generic;
            using System.Linq;
            using System.Text;
            using System.Threading;
            #pragma warning disable CS0162, CS0168, CS0219, CS0169, CS0414, CS0649, CS8321
            class C
            {
                int _field;
                static int s_total;
                int[] _array = new int[4];
                static void Use(object o) { }
                static void Out(out int v) => v = 1;
                static void Ref(ref int v) => v++;
                static void In(in int v) { }
                static void Fill(out int a) => a = 1;
                static int Helper(int v) => v;
                public virtual int Virt() => 1;
            {{members}}
            }
            struct Point { public int X; public void Deconstruct(out int x, out int y) { x = X; y = 0; } }
            """);
        var tree = CSharpSyntaxTree.ParseText(parsed.Source, new CSharpParseOptions(LanguageVersion.Latest));
        var compilation = CSharpCompilation.Create("t", new[] { tree }, Basic.Reference.Assemblies.Net80.References.All,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true));
        if (!allowErrors)
        {
            var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
            Assert.True(errors.Count == 0, string.Join("\n", errors));
        }

        var node = tree.GetRoot().FindNode(parsed.Spans.Single().Span, getInnermostNodeForTie: true);
        var operation = compilation.GetSemanticModel(tree).GetOperation(node);
        Assert.NotNull(operation);
        return new EffectsTestCode(compilation, operation!);
    }

    /// <summary>The local or parameter of that name in the marked operation's body.</summary>
    public ISymbol Symbol(string name)
    {
        var root = Marked;
        while (root.Parent is not null)
            root = root.Parent;
        foreach (var operation in root.DescendantsAndSelf())
        {
            switch (operation)
            {
                case IVariableDeclaratorOperation declarator when declarator.Symbol.Name == name:
                    return declarator.Symbol;
                case ILocalReferenceOperation local when local.Local.Name == name:
                    return local.Local;
                case IParameterReferenceOperation parameter when parameter.Parameter.Name == name:
                    return parameter.Parameter;
                case IFieldReferenceOperation field when field.Field.Name == name:
                    return field.Field;
            }
        }

        throw new System.InvalidOperationException("no symbol " + name);
    }
}
