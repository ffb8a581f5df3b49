using System.Collections.Generic;
using System.Linq;
using MemSafety.Analyzers.Engines.Bodies;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Tests.Engines.Bodies;

/// <summary>The per-body facts asked directly about the body of <c>C.M</c>.</summary>
public sealed class BodyFactsTests
{
    private sealed record Body(BodyFacts Facts, IMethodSymbol Method, IOperation Root, SemanticModel Model);

    private static Body Compile(string body, string members = "", bool allowErrors = false)
    {
        var source = $$"""
            using System;
            using System.Collections.Generic;
            using System.Threading.Tasks;
            #pragma warning disable CS0162, CS0168, CS0219, CS8321, CS1998
            class C
            {
                int _field;
                static void Use(object o) { }
                static void Out(out int v) => v = 1;
                static void Ref(ref int v) => v++;
                static void In(in int v) { }
                {{members}}
                async Task<int> M(int x, string s, List<int> list)
                {
            {{body}}
                }
            }
            """;
        var tree = CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Latest));
        var compilation = CSharpCompilation.Create("t", new[] { tree }, Basic.Reference.Assemblies.Net80.References.All,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true));
        if (!allowErrors)
        {
            var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
            Assert.True(errors.Count == 0, string.Join("\n", errors));
        }

        var model = compilation.GetSemanticModel(tree);
        var declaration = tree.GetRoot().DescendantNodes().OfType<MethodDeclarationSyntax>().Single(m => m.Identifier.ValueText == "M");
        var root = model.GetOperation(declaration)!;
        return new Body(BodyFacts.Of(root), model.GetDeclaredSymbol(declaration)!, root, model);
    }

    private static ISymbol Local(Body body, string name)
        => body.Root.Descendants().OfType<IVariableDeclaratorOperation>().Select(d => (ISymbol)d.Symbol)
            .Concat(body.Method.Parameters)
            .First(s => s.Name == name);

    private static string Lines(Body body, IEnumerable<IOperation> operations)
        => string.Join(",", operations.Select(o => o.Syntax.GetLocation().GetLineSpan().StartLinePosition.Line - 14));

    private static IOperation Function(Body body, int index) => body.Facts.Functions[index];

    [Fact]
    public void OneInstancePerBody_WhicheverOperationAsks()
    {
        var body = Compile("var a = 1; Use(a); return a;");
        var inner = body.Root.Descendants().OfType<ILocalReferenceOperation>().Last();
        Assert.Same(body.Facts, BodyFacts.Of(inner));
        Assert.Same(body.Root, body.Facts.Root);
    }

    [Fact]
    public void References_InSourceOrder_IncludingNestedFunctions()
    {
        var body = Compile("""
            var a = 1;
            Use(a);
            Func<int> f = () => a + 1;
            Use(a);
            return a;
            """);
        var references = body.Facts.ReferencesTo(Local(body, "a"));
        Assert.Equal("1,2,3,4", Lines(body, references));
        Assert.Empty(body.Facts.ReferencesTo(Local(body, "s")));
    }

    [Theory]
    [InlineData("a = 2;")]
    [InlineData("a += 2;")]
    [InlineData("a++;")]
    [InlineData("--a;")]
    [InlineData("Out(out a);")]
    [InlineData("Ref(ref a);")]
    [InlineData("(a, var b) = (1, 2);")]
    [InlineData("(x, (a, _)) = (1, (2, 3));")]
    [InlineData("ref int r = ref a; r = 3;")]
    [InlineData("unsafe { int* p = &a; *p = 3; }")]
    [InlineData("Action w = () => a = 5;")]
    public void Written(string statement)
    {
        var body = Compile("int a = 1;\n" + statement + "\nreturn a;");
        Assert.True(body.Facts.IsWritten(Local(body, "a")));
        Assert.Single(body.Facts.WritesTo(Local(body, "a")));
    }

    [Theory]
    [InlineData("Use(a);")]
    [InlineData("In(in a);")]
    [InlineData("In(a);")]
    [InlineData("var b = a + 1; b = 2;")]
    [InlineData("ref readonly int r = ref a;")]
    [InlineData("Func<int> f = () => a;")]
    public void NotWritten(string statement)
    {
        var body = Compile("int a = 1;\n" + statement + "\nreturn a;");
        Assert.False(body.Facts.IsWritten(Local(body, "a")));
        Assert.Empty(body.Facts.WritesTo(Local(body, "a")));
    }

    [Fact]
    public void NullCoalescingAssignment_Writes()
    {
        var body = Compile("string? t = null; t ??= s; return t.Length;");
        Assert.True(body.Facts.IsWritten(Local(body, "t")));
    }

    [Fact]
    public void Captures_PerFunction_OnlyWhatIsDeclaredOutside()
    {
        var body = Compile("""
            var a = 1;
            Func<int, int> f = p =>
            {
                var inner = p + a;
                Func<int> g = () => inner + x;
                return g();
            };
            return f(2);
            """);
        var f = Function(body, 0);
        var g = Function(body, 1);
        Assert.Equal(new[] { "a", "x" }, body.Facts.CapturedBy(f).Select(s => s.Name).OrderBy(n => n));
        Assert.Equal(new[] { "inner", "x" }, body.Facts.CapturedBy(g).Select(s => s.Name).OrderBy(n => n));
        Assert.False(body.Facts.CapturesThis(f));
    }

    [Fact]
    public void CapturesThis_ThroughAMemberAccess_AndOuterFunctionsToo()
    {
        var body = Compile("""
            Func<Func<int>> f = () => () => _field;
            Func<int> h = static () => 1;
            return f()();
            """);
        Assert.True(body.Facts.CapturesThis(Function(body, 0)));
        Assert.True(body.Facts.CapturesThis(Function(body, 1)));
        Assert.False(body.Facts.CapturesThis(Function(body, 2)));
        Assert.Empty(body.Facts.CapturedBy(Function(body, 2)));
    }

    [Fact]
    public void LocalFunction_CapturesAndDelegateConversion()
    {
        var body = Compile("""
            int Add(int y) => x + y;
            int Twice(int y) => y * 2;
            Func<int, int> d = Add;
            return Twice(d(1));
            """);
        var add = (ILocalFunctionOperation)Function(body, 0);
        var twice = (ILocalFunctionOperation)Function(body, 1);
        Assert.True(body.Facts.IsConvertedToDelegate(add.Symbol));
        Assert.False(body.Facts.IsConvertedToDelegate(twice.Symbol));
        Assert.Equal(new[] { "x" }, body.Facts.CapturedBy(add).Select(s => s.Name));
        Assert.Empty(body.Facts.CapturedBy(twice));
    }

    [Fact]
    public void Suspensions_InSourceOrder_AndPerFunctionAwaitAndYield()
    {
        var body = Compile("""
            await Task.Yield();
            IEnumerable<int> Iterate() { yield return 1; }
            Func<Task> later = async () => await Task.Delay(1);
            await foreach (var item in Items()) { }
            await using (var d = (IAsyncDisposable?)null) { }
            return 1;
            """, members: "static async IAsyncEnumerable<int> Items() { yield break; }");
        Assert.Equal("0,1,2,3,4", Lines(body, body.Facts.Suspensions));
        Assert.True(body.Facts.ContainsAwait(null));
        Assert.False(body.Facts.IsIterator(null));
        Assert.True(body.Facts.IsIterator(Function(body, 0)));
        Assert.False(body.Facts.ContainsAwait(Function(body, 0)));
        Assert.True(body.Facts.ContainsAwait(Function(body, 1)));
    }

    [Fact]
    public void Regions_LoopsTriesLocksUsings()
    {
        var body = Compile("""
            for (var i = 0; i < 2; i++) { while (x > 0) x--; }
            foreach (var v in list) { do { } while (false); }
            try { lock (list) { } } catch { } finally { }
            using (var d = (IDisposable?)null) { }
            using var e = (IDisposable?)null;
            return 0;
            """);
        Assert.Equal("0,0,1,1", Lines(body, body.Facts.Loops));
        Assert.Equal("2", Lines(body, body.Facts.TryStatements));
        Assert.Equal("2", Lines(body, body.Facts.LockStatements));
        Assert.Equal("3,4", Lines(body, body.Facts.UsingStatements));
    }

    [Fact]
    public void DeclaratorOf_DeclaredLocals_NotDesignations()
    {
        var body = Compile("""
            int a = 1, b;
            Func<int> f = () => { var inner = 2; return inner; };
            if (s is { Length: var n }) { }
            Out(out var o);
            foreach (var v in list) { }
            return a;
            """);
        Assert.Equal(1, body.Facts.DeclaratorOf((ILocalSymbol)Local(body, "a"))!.Initializer!.Value.ConstantValue.Value);
        Assert.Null(body.Facts.DeclaratorOf((ILocalSymbol)Local(body, "b"))!.Initializer);
        Assert.NotNull(body.Facts.DeclaratorOf((ILocalSymbol)Local(body, "inner")));
        var designated = body.Root.Descendants().OfType<IDeclarationPatternOperation>().Select(p => (ILocalSymbol)p.DeclaredSymbol!)
            .Concat(body.Root.Descendants().OfType<ILocalReferenceOperation>().Where(r => r.IsDeclaration).Select(r => r.Local)).ToList();
        Assert.Equal(2, designated.Count);
        Assert.All(designated, l => Assert.Null(body.Facts.DeclaratorOf(l)));
        // A foreach variable is declared by the loop, with no initializer (the loop assigns it each iteration).
        Assert.Null(body.Facts.DeclaratorOf((ILocalSymbol)Local(body, "v"))!.Initializer);
    }

    [Fact]
    public void GoToStatements_GotoLabelCaseAndDefault_NotOtherBranches()
    {
        var body = Compile("""
            switch (x) { case 1: goto case 2; case 2: goto default; default: break; }
            while (x > 0) { x--; if (x == 3) continue; if (x == 5) goto done; }
            done:
            return 0;
            """);
        Assert.Equal("0,0,1", Lines(body, body.Facts.GoToStatements));
    }

    [Fact]
    public void IncompleteCode_NoCrash_FactsOfWhatBinds()
    {
        var body = Compile("""
            var a = 1;
            a = Missing(a;
            Out(out a
            """, allowErrors: true);
        var a = Local(body, "a");
        Assert.NotEmpty(body.Facts.ReferencesTo(a));
        Assert.True(body.Facts.IsWritten(a));
    }

    [Fact]
    public void DeclaratorOf_DeclaredLocals_IncludingLoopsAndNestedFunctions_NotPatternsOrOutVars()
    {
        var body = Compile("""
            var a = new List<int>();
            int b;
            foreach (var v in list) { }
            Func<int> f = () => { var inner = 2; return inner; };
            if (s is { Length: var n }) Out(out var o);
            return a.Count;
            """);
        var a = (ILocalSymbol)Local(body, "a");
        Assert.IsAssignableFrom<IObjectCreationOperation>(body.Facts.DeclaratorOf(a)!.Initializer!.Value);
        Assert.Null(body.Facts.DeclaratorOf((ILocalSymbol)Local(body, "b"))!.Initializer);
        Assert.NotNull(body.Facts.DeclaratorOf((ILocalSymbol)Local(body, "v")));
        Assert.NotNull(body.Facts.DeclaratorOf((ILocalSymbol)Local(body, "inner")));
        var declared = body.Root.Descendants().OfType<ILocalReferenceOperation>().Where(r => r.IsDeclaration).Select(r => r.Local).ToList();
        Assert.Equal(new[] { "o" }, declared.Select(l => l.Name));
        Assert.Null(body.Facts.DeclaratorOf(declared[0]));
        var n = body.Root.Descendants().OfType<IDeclarationPatternOperation>().Single().DeclaredSymbol;
        Assert.Null(body.Facts.DeclaratorOf((ILocalSymbol)n!));
    }

    [Fact]
    public void LocalFunctionsUsedBy_CallsAndConversionsOfOuterLocalFunctions_PropagatedOutward_RecursionExcluded()
    {
        var body = Compile("""
            Func<int> f = () => Twice() + Call(() => Thrice());
            Action a = Twice2;
            return f();
            int Twice() => x * 2 + Twice();
            int Thrice() => x * 3;
            void Twice2() { }
            static int Call(Func<int> g) => g();
            """);
        var lambda = Function(body, 0);
        var inner = Function(body, 1);
        var twice = body.Facts.Functions.OfType<ILocalFunctionOperation>().Single(l => l.Symbol.Name == "Twice");
        Assert.Equal(new[] { "Call", "Thrice", "Twice" }, body.Facts.LocalFunctionsUsedBy(lambda).Select(s => s.Name).OrderBy(n => n));
        Assert.Equal(new[] { "Thrice" }, body.Facts.LocalFunctionsUsedBy(inner).Select(s => s.Name));
        Assert.Empty(body.Facts.LocalFunctionsUsedBy(twice));
    }

    [Fact]
    public void DeclaringScopeOf_TheOperationWhoseLocalsDeclareIt()
    {
        var body = Compile("""
            var top = 1;
            foreach (var item in list) { var inner = item; }
            for (var i = 0; i < 2; i++) { }
            try { } catch (Exception e) { Use(e); }
            if (s is string t) Use(t);
            return top;
            """);
        ILocalSymbol L(string name) => (ILocalSymbol)body.Root.Descendants().Select(o => o switch
        {
            IVariableDeclaratorOperation d => (ISymbol)d.Symbol,
            IDeclarationPatternOperation p => p.DeclaredSymbol!,
            ICatchClauseOperation c => c.Locals.FirstOrDefault()!,
            _ => null!,
        }).First(x => x?.Name == name);

        Assert.Same(((IMethodBodyOperation)body.Root).BlockBody, body.Facts.DeclaringScopeOf(L("top")));
        Assert.IsAssignableFrom<IForEachLoopOperation>(body.Facts.DeclaringScopeOf(L("item")));
        Assert.IsAssignableFrom<IBlockOperation>(body.Facts.DeclaringScopeOf(L("inner")));
        Assert.IsAssignableFrom<IForLoopOperation>(body.Facts.DeclaringScopeOf(L("i")));
        Assert.IsAssignableFrom<ICatchClauseOperation>(body.Facts.DeclaringScopeOf(L("e")));
        Assert.Same(((IMethodBodyOperation)body.Root).BlockBody, body.Facts.DeclaringScopeOf(L("t")));
    }
}
