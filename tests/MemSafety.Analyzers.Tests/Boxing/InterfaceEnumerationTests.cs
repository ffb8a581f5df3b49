using System;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Runtime.Loader;
using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.Boxing;
using MemSafety.Analyzers.Tests.Verification;
using MemSafety.CodeFixes.Boxing;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace MemSafety.Analyzers.Tests.Boxing;

/// <summary>MSA2006. Every case is backed by the IL of the loop (an interface <c>GetEnumerator</c> call versus
/// the struct enumerator or an index loop) and, where it matters, by what .NET 10 allocates per call.</summary>
public sealed class InterfaceEnumerationTests
{
    private const string Usings = "using System;\nusing System.Collections.Generic;\nusing System.Linq;\n";
    private const string InterfaceGetEnumerator = "System.Collections.Generic.IEnumerable<System.Int32>::GetEnumerator()";

    private static AnalyzerTest Test(string source, string? fixedSource = null)
    {
        var test = fixedSource is null
            ? Verify<InterfaceEnumerationAnalyzer>.Test(Usings + source)
            : Verify<InterfaceEnumerationAnalyzer, InterfaceEnumerationFix>.Test(Usings + source, Usings + fixedSource);
        test.AnalyzerOptions["memsafety.scope"] = "everywhere";
        return test;
    }

    private static AnalyzerTest NoFixTest(string source)
    {
        var test = new AnalyzerTest(new InterfaceEnumerationAnalyzer()) { CodeFix = new InterfaceEnumerationFix(), ExpectNoFix = true };
        test.Sources.Add(Usings + source);
        test.AnalyzerOptions["memsafety.scope"] = "everywhere";
        return test;
    }

    private static IlAssembly Il(string source, LanguageVersion version = LanguageVersion.Latest, ReferenceSet references = ReferenceSet.Net80)
        => IlInspection.Compile(Usings + source, version, references);

    /// <summary>The loop's enumerator comes from an interface call (where the allocation happens).</summary>
    private static void AssertInterfaceEnumeration(string source, string getEnumerator = InterfaceGetEnumerator, ReferenceSet references = ReferenceSet.Net80)
    {
        var il = Il(source, references: references);
        Assert.Contains(il.Methods.SelectMany(m => m.Instructions), i => i.OpCode == System.Reflection.Metadata.ILOpCode.Callvirt && i.Token == getEnumerator);
    }

    /// <summary>No interface GetEnumerator call at all: a struct enumerator or an index loop.</summary>
    private static void AssertNoInterfaceEnumeration(string source)
        => Assert.DoesNotContain(Il(source).Methods.SelectMany(m => m.Calls), c => c.EndsWith("::GetEnumerator()", StringComparison.Ordinal) && c.StartsWith("System.Collections.Generic.IEnumerable", StringComparison.Ordinal));

    private static void AssertCalls(string source, string call)
        => Assert.Contains(call, Il(source).Methods.SelectMany(m => m.Calls));

    private static double Allocated(string members, string method = "Run")
        => IlInspection.Compile(Usings + "using System.Runtime.CompilerServices;\npublic static class M { static int n;\n" + members + "\n}").AllocatedBytesPerCall("M", method);

    // ------------------------------------------------------------------ reported, with fixes

    [Fact]
    public async Task LocalList_InNestedLoop_LoopScope_FixedToList()
    {
        const string source = "public static class C { public static int Sum(int[][] rows) { int n = 0; foreach (var row in rows) { IEnumerable<int> items = new List<int>(row); foreach (var x in [|items|]) n += x; } return n; } }";
        const string fixedSource = "public static class C { public static int Sum(int[][] rows) { int n = 0; foreach (var row in rows) { List<int> items = new List<int>(row); foreach (var x in items) n += x; } return n; } }";
        var test = Verify<InterfaceEnumerationAnalyzer, InterfaceEnumerationFix>.Test(Usings + source, Usings + fixedSource);
        test.AnalyzerOptions["memsafety.MSA2006.scope"] = "hot_paths_and_loops";
        await test.RunAsync();
        // The default scope is hot paths only: the same loop in an unmarked method is not reported.
        await Verify<InterfaceEnumerationAnalyzer>.AnalyzerAsync(Usings + source.Replace("[|", "").Replace("|]", ""));
        AssertInterfaceEnumeration(source);
        AssertNoInterfaceEnumeration(fixedSource);
        AssertCalls(fixedSource, "System.Collections.Generic.List+Enumerator<System.Int32>::MoveNext()");
    }

    [Fact]
    public Task Message_NamesVariableTypesAndTheBoxedEnumerator()
    {
        var test = Test("public static class C { public static int Sum() { IEnumerable<int> items = new List<int> { 1, 2 }; int n = 0; foreach (var x in {|#0:items|}) n += x; return n; } }");
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA2006", 0).WithMessage(
            "'items' is declared 'IEnumerable<int>' but is only ever assigned 'List<int>': this foreach boxes its 'List<int>.Enumerator' " +
            "(one allocation per loop over a non-empty collection) and calls MoveNext/Current through the interface; declare it as 'List<int>'"));
        return test.RunAsync();
    }

    [Fact]
    public void LocalList_AllocatesTheBoxedEnumerator_TheConcreteTypeDoesNot()
    {
        // .NET 10 with the exact type in sight (newobj in the same method) still boxes: 40 bytes per loop.
        var before = Allocated("[MethodImpl((MethodImplOptions)512)] public static void Run() { IEnumerable<int> xs = new List<int> { 1, 2, 3 }; int m = 0; foreach (var x in xs) m += x; n = m; }");
        var after = Allocated("[MethodImpl((MethodImplOptions)512)] public static void Run() { List<int> xs = new List<int> { 1, 2, 3 }; int m = 0; foreach (var x in xs) m += x; n = m; }");
        Assert.Equal(40, before - after);
    }

    [Fact]
    public async Task LocalArray_MessageSaysAllocatesAnEnumerator_FixedToArray()
    {
        const string source = "public static class C { public static int Sum() { IReadOnlyList<int> items = new[] { 1, 2, 3 }; int n = 0; foreach (var x in {|#0:items|}) n += x; return n + items.Count + items[0]; } }";
        const string fixedSource = "public static class C { public static int Sum() { int[] items = new[] { 1, 2, 3 }; int n = 0; foreach (var x in items) n += x; return n + items.Count + items[0]; } }";
        // items.Count on int[] does not exist: the compiler check withholds the fix, so use a fixable variant below.
        var test = NoFixTest(source);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA2006", 0).WithMessage(
            "'items' is declared 'IReadOnlyList<int>' but is only ever assigned 'int[]': this foreach allocates an enumerator object where the array type is looped by index " +
            "(one allocation per loop over a non-empty collection) and calls MoveNext/Current through the interface; declare it as 'int[]'"));
        await test.RunAsync();
        Assert.Throws<InvalidOperationException>(() => Il(fixedSource));

        const string fixable = "public static class C { public static int Sum() { IEnumerable<int> items = new[] { 1, 2, 3 }; int n = 0; foreach (var x in [|items|]) n += x; return n; } }";
        const string fixedArray = "public static class C { public static int Sum() { int[] items = new[] { 1, 2, 3 }; int n = 0; foreach (var x in items) n += x; return n; } }";
        await Test(fixable, fixedArray).RunAsync();
        AssertInterfaceEnumeration(fixable);
        AssertNoInterfaceEnumeration(fixedArray);
    }

    [Fact]
    public void Arrays_AllocateAnEnumeratorThroughTheInterface_ExceptWhenEmpty()
    {
        const string Fields = "static readonly IEnumerable<int> full = new int[] { 1, 2, 3 }; static readonly IEnumerable<int> empty = new int[0]; static readonly int[] array = new int[] { 1, 2, 3 };\n";
        Assert.Equal(32, Allocated(Fields + "[MethodImpl((MethodImplOptions)512)] public static void Run() { int m = 0; foreach (var x in full) m += x; n = m; }"));
        Assert.Equal(0, Allocated(Fields + "[MethodImpl((MethodImplOptions)512)] public static void Run() { int m = 0; foreach (var x in empty) m += x; n = m; }"));
        Assert.Equal(0, Allocated(Fields + "[MethodImpl((MethodImplOptions)512)] public static void Run() { int m = 0; foreach (var x in array) m += x; n = m; }"));
    }

    [Fact]
    public void QueueAndEmptyCollections_Measured()
    {
        const string Fields = "static readonly IEnumerable<int> queue = new Queue<int>(new[] { 1, 2 }); static readonly IEnumerable<int> emptySet = new HashSet<int>(); " +
            "static readonly IEnumerable<KeyValuePair<int, int>> emptyMap = new Dictionary<int, int>();\n";
        Assert.Equal(40, Allocated(Fields + "[MethodImpl((MethodImplOptions)512)] public static void Run() { int m = 0; foreach (var x in queue) m += x; n = m; }"));
        // .NET 10 hands out a shared enumerator for an empty collection.
        Assert.Equal(0, Allocated(Fields + "[MethodImpl((MethodImplOptions)512)] public static void Run() { int m = 0; foreach (var x in emptySet) m += x; n = m; }"));
        Assert.Equal(0, Allocated(Fields + "[MethodImpl((MethodImplOptions)512)] public static void Run() { int m = 0; foreach (var x in emptyMap) m += x.Key; n = m; }"));
        // Declared as the interface, even an empty list created in the method stays on the heap (32 B, the list);
        // declared as List<int>, .NET 10 allocated nothing at all.
        Assert.Equal(32, Allocated("[MethodImpl((MethodImplOptions)512)] public static void Run() { IEnumerable<int> xs = new List<int>(); int m = 0; foreach (var x in xs) m += x; n = m; }"));
        Assert.Equal(0, Allocated("[MethodImpl((MethodImplOptions)512)] public static void Run() { List<int> xs = new List<int>(); int m = 0; foreach (var x in xs) m += x; n = m; }"));
    }

    [Fact]
    public async Task PrivateFields_HashSetAndDictionary_FixedWithInterfaceMembersMappedToTheirImplementations()
    {
        const string source = @"public sealed class Index
{
    private readonly IReadOnlyDictionary<string, int> _counts = new Dictionary<string, int>();
    private IEnumerable<int> _ids;
    public Index() { _ids = new HashSet<int> { 1, 2 }; }
    public int Total(string key)
    {
        int n = _counts.TryGetValue(key, out var c) ? c : 0;
        foreach (var pair in [|_counts|]) n += pair.Value;
        foreach (var id in [|this._ids|]) n += id;
        return n;
    }
}";
        const string fixedSource = @"public sealed class Index
{
    private readonly Dictionary<string, int> _counts = new Dictionary<string, int>();
    private HashSet<int> _ids;
    public Index() { _ids = new HashSet<int> { 1, 2 }; }
    public int Total(string key)
    {
        int n = _counts.TryGetValue(key, out var c) ? c : 0;
        foreach (var pair in _counts) n += pair.Value;
        foreach (var id in this._ids) n += id;
        return n;
    }
}";
        await Test(source, fixedSource).RunAsync();
        AssertInterfaceEnumeration(source, "System.Collections.Generic.IEnumerable<System.Collections.Generic.KeyValuePair<System.String, System.Int32>>::GetEnumerator()");
        AssertInterfaceEnumeration(source);
        AssertNoInterfaceEnumeration(fixedSource);
        AssertCalls(fixedSource, "System.Collections.Generic.HashSet+Enumerator<System.Int32>::MoveNext()");
        AssertCalls(fixedSource, "System.Collections.Generic.Dictionary+Enumerator<System.String, System.Int32>::MoveNext()");
        Assert.Equal(40, Allocated("static readonly IEnumerable<int> s = new HashSet<int> { 1, 2, 3 };\n[MethodImpl((MethodImplOptions)512)] public static void Run() { int m = 0; foreach (var x in s) m += x; n = m; }"));
        Assert.Equal(48, Allocated("static readonly IEnumerable<KeyValuePair<int, int>> d = new Dictionary<int, int> { [1] = 1 };\n[MethodImpl((MethodImplOptions)512)] public static void Run() { int m = 0; foreach (var x in d) m += x.Key; n = m; }"));
        Assert.Equal(0, Allocated("static readonly Dictionary<int, int> d = new Dictionary<int, int> { [1] = 1 };\n[MethodImpl((MethodImplOptions)512)] public static void Run() { int m = 0; foreach (var x in d) m += x.Key; n = m; }"));
    }

    [Fact]
    public async Task TwoLoopsOverOneVariable_OneDeclarationChange_FixAll()
    {
        const string source = "public static class C { public static int M() { ICollection<int> items = new List<int>(); items.Add(1); int n = 0; foreach (var x in [|items|]) n += x; foreach (var x in [|items|]) n -= x; return n + items.Count; } }";
        const string fixedSource = "public static class C { public static int M() { List<int> items = new List<int>(); items.Add(1); int n = 0; foreach (var x in items) n += x; foreach (var x in items) n -= x; return n + items.Count; } }";
        await Test(source, fixedSource).RunAsync();
        AssertInterfaceEnumeration(source);
        AssertNoInterfaceEnumeration(fixedSource);
    }

    [Fact]
    public async Task SeveralWritesOfOneTypeAndNull_Reported()
    {
        const string source = "public static class C { public static int M(bool b, int[] a) { IEnumerable<int>? items = null; if (b) items = new List<int>(a); else items = b ? new List<int>() : null; items ??= new List<int>(); int n = 0; foreach (var x in [|items|]) n += x; return n; } }";
        const string fixedSource = "public static class C { public static int M(bool b, int[] a) { List<int>? items = null; if (b) items = new List<int>(a); else items = b ? new List<int>() : null; items ??= new List<int>(); int n = 0; foreach (var x in items) n += x; return n; } }";
        await Test(source, fixedSource).RunAsync();
        AssertInterfaceEnumeration(source);
        AssertNoInterfaceEnumeration(fixedSource);
    }

    [Fact]
    public async Task CSharp73_NetStandard20_FieldAndLocal()
    {
        const string source = "public class C { private static IEnumerable<string> s_names = new Queue<string>(); public static int M() { int n = 0; foreach (var s in [|s_names|]) n += s.Length; IList<int> xs = new List<int>(); foreach (var x in [|xs|]) n += x; return n; } }";
        const string fixedSource = "public class C { private static Queue<string> s_names = new Queue<string>(); public static int M() { int n = 0; foreach (var s in s_names) n += s.Length; List<int> xs = new List<int>(); foreach (var x in xs) n += x; return n; } }";
        var test = Test(source, fixedSource);
        test.LanguageVersion = LanguageVersion.CSharp7_3;
        test.ReferenceSet = ReferenceSet.NetStandard20;
        test.NullableContextOptions = NullableContextOptions.Disable;
        await test.RunAsync();
        var il = IlInspection.Compile(Usings + source, LanguageVersion.CSharp7_3, ReferenceSet.NetStandard20);
        Assert.Contains("System.Collections.Generic.IEnumerable<System.String>::GetEnumerator()", il.Methods.SelectMany(m => m.Calls));
        AssertInterfaceEnumeration(source, references: ReferenceSet.NetStandard20);
        Assert.Contains("System.Collections.Generic.Queue+Enumerator<System.String>::MoveNext()", IlInspection.Compile(Usings + fixedSource, LanguageVersion.CSharp7_3, ReferenceSet.NetStandard20).Methods.SelectMany(m => m.Calls));
    }

    [Fact]
    public async Task ReverseWouldBecomeInPlace_ReportedWithoutFix()
    {
        const string source = "public static class C { public static string M() { IEnumerable<int> items = new List<int> { 1, 2, 3 }; var s = string.Join(\",\", items.Reverse()); foreach (var x in [|items|]) s += x; return s; } }";
        await NoFixTest(source).RunAsync();
        AssertInterfaceEnumeration(source);
        // Why no fix: declared List<int>, items.Reverse() binds to List<T>.Reverse (void, in place); the same
        // code written with Enumerable.Reverse explicitly keeps the original result.
        Assert.Equal("3,2,1123", Behaviour.Run(Usings + source.Replace("class C", "class Program").Replace(" M()", " Run()")));
        Assert.Equal("3,2,1123", Behaviour.Run(Usings + "public static class Program { public static string Run() { List<int> items = new List<int> { 1, 2, 3 }; var s = string.Join(\",\", Enumerable.Reverse(items)); foreach (var x in items) s += x; return s; } }"));
    }

    [Fact]
    public async Task OverloadWouldChange_ReportedWithoutFix()
    {
        const string source = "public static class C { static int F(IEnumerable<int> e) => 1; static int F(List<int> l) => 2; public static int M() { IEnumerable<int> items = new List<int>(); int n = F(items); foreach (var x in [|items|]) n += x; return n; } }";
        await NoFixTest(source).RunAsync();
        AssertInterfaceEnumeration(source);
        Assert.Equal("1", Behaviour.Run(Usings + source.Replace("class C", "class Program").Replace(" M()", " Run()")));
        Assert.Equal("2", Behaviour.Run(Usings + source.Replace("class C", "class Program").Replace(" M()", " Run()").Replace("IEnumerable<int> items", "List<int> items")));
    }

    [Fact]
    public async Task VarCopyOrExplicitlyImplementedMember_ReportedWithoutFix()
    {
        // 'var copy = items' would change copy's type; HashSet<T> implements ICollection<T>.Add explicitly,
        // so 'set.Add(1)' would bind to HashSet<T>.Add (bool) instead: the compiler check withholds both.
        const string source = "public static class C { public static int M() { IEnumerable<int> items = new List<int>(); var copy = items; ICollection<int> set = new HashSet<int>(); set.Add(1); int n = 0; foreach (var x in [|items|]) n += x; foreach (var x in [|set|]) n += x; return n + copy.Count(); } }";
        await NoFixTest(source).RunAsync();
        AssertInterfaceEnumeration(source);
    }

    [Fact]
    public async Task PartialTypeFieldUsedInAnotherFile_ReportedWithoutFix()
    {
        // The loop and the declaration are in one file, but the other part calls `_items.Reverse()`, which
        // would bind to the in-place List<T>.Reverse if the field became a List<int>.
        var test = new AnalyzerTest(new InterfaceEnumerationAnalyzer()) { CodeFix = new InterfaceEnumerationFix(), ExpectNoFix = true };
        test.Sources.Add(Usings + "public partial class C { private IEnumerable<int> _items = new List<int> { 1, 2 }; public int M() { int n = 0; foreach (var x in [|_items|]) n += x; return n; } }");
        test.Sources.Add(Usings + "public partial class C { public int First() => _items.Reverse().First(); }");
        test.AnalyzerOptions["memsafety.scope"] = "everywhere";
        await test.RunAsync();
        AssertInterfaceEnumeration("public partial class C { private IEnumerable<int> _items = new List<int>(); public int M() { int n = 0; foreach (var x in _items) n += x; return n; } }");
    }

    [Fact]
    public async Task PartialTypeFieldDeclaredInAnotherFile_ReportedWithoutFix()
    {
        var test = new AnalyzerTest(new InterfaceEnumerationAnalyzer()) { CodeFix = new InterfaceEnumerationFix(), ExpectNoFix = true };
        test.Sources.Add(Usings + "public partial class C { private IEnumerable<int> _items = new List<int>(); }");
        test.Sources.Add(Usings + "public partial class C { public int M() { _items = new List<int> { 1 }; int n = 0; foreach (var x in [|_items|]) n += x; return n; } }");
        test.AnalyzerOptions["memsafety.scope"] = "everywhere";
        await test.RunAsync();
        AssertInterfaceEnumeration("public partial class C { private IEnumerable<int> _items = new List<int>(); public int M() { int n = 0; foreach (var x in _items) n += x; return n; } }");
    }

    [Fact]
    public async Task PartialTypeWriteInAnotherFile_OfAnotherType_NoDiagnostic()
    {
        var test = Verify<InterfaceEnumerationAnalyzer>.Test(Usings + "public partial class C { private IEnumerable<int> _items = new List<int>(); public int M() { int n = 0; foreach (var x in _items) n += x; return n; } }");
        test.Sources.Add(Usings + "public partial class C { public void Reset() { _items = Enumerable.Empty<int>(); } }");
        test.AnalyzerOptions["memsafety.scope"] = "everywhere";
        await test.RunAsync();
        AssertInterfaceEnumeration("public partial class C { private IEnumerable<int> _items = new List<int>(); public int M() { int n = 0; foreach (var x in _items) n += x; return n; } }");
    }

    [Fact]
    public void Fix_KeepsBehaviour()
    {
        const string before = "public static class Program { public static string Run() { ICollection<int> items = new List<int> { 3, 1 }; items.Add(2); IEnumerable<int> arr = new[] { 7, 8 }; var s = string.Join(\",\", items.OrderBy(x => x)) + items.Count; foreach (var x in items) s += x; foreach (var y in arr) s += y; return s + arr.Count(); } }";
        const string after = "public static class Program { public static string Run() { List<int> items = new List<int> { 3, 1 }; items.Add(2); int[] arr = new[] { 7, 8 }; var s = string.Join(\",\", items.OrderBy(x => x)) + items.Count; foreach (var x in items) s += x; foreach (var y in arr) s += y; return s + arr.Count(); } }";
        Assert.Equal("1,2,33312782", Behaviour.Run(Usings + before));
        Assert.Equal(Behaviour.Run(Usings + before), Behaviour.Run(Usings + after));
    }

    [Fact]
    public async Task Fix_OfTheBehaviourSource_ProducesExactlyTheComparedCode()
    {
        const string source = "public static class Program { public static string Run() { ICollection<int> items = new List<int> { 3, 1 }; items.Add(2); IEnumerable<int> arr = new[] { 7, 8 }; var s = string.Join(\",\", items.OrderBy(x => x)) + items.Count; foreach (var x in [|items|]) s += x; foreach (var y in [|arr|]) s += y; return s + arr.Count(); } }";
        const string fixedSource = "public static class Program { public static string Run() { List<int> items = new List<int> { 3, 1 }; items.Add(2); int[] arr = new[] { 7, 8 }; var s = string.Join(\",\", items.OrderBy(x => x)) + items.Count; foreach (var x in items) s += x; foreach (var y in arr) s += y; return s + arr.Count(); } }";
        await Test(source, fixedSource).RunAsync();
        AssertInterfaceEnumeration(source);
        AssertNoInterfaceEnumeration(fixedSource);
    }

    // ------------------------------------------------------------------ not reported

    [Fact]
    public async Task ValueOfUnknownRuntimeType_NoDiagnostic()
    {
        // List<int> is not sealed: a parameter or method result of that type may be a subclass, and a method
        // typed as the interface may return anything. The loop still enumerates through the interface.
        const string source = "public static class C { static IEnumerable<int> Get() => new List<int>(); public static int M(List<int> list) { IEnumerable<int> a = list; IEnumerable<int> b = Get(); int n = 0; foreach (var x in a) n += x; foreach (var x in b) n += x; return n; } }";
        await Test(source).RunAsync();
        AssertInterfaceEnumeration(source);
    }

    [Fact]
    public async Task TwoDifferentTypes_NoDiagnostic()
    {
        const string source = "public static class C { public static int M(bool b) { IEnumerable<int> items = new List<int>(); if (b) items = new int[3]; int n = 0; foreach (var x in items) n += x; return n; } }";
        await Test(source).RunAsync();
        AssertInterfaceEnumeration(source);
    }

    [Fact]
    public async Task PassedByRefOrOut_OrWrittenInALambda_NoDiagnostic()
    {
        const string source = @"public static class C
{
    static void Swap(ref IEnumerable<int> e) { e = new int[1]; }
    static void Make(out IEnumerable<int> e) { e = new int[1]; }
    public static int M()
    {
        IEnumerable<int> a = new List<int>(); Swap(ref a);
        IEnumerable<int> b = new List<int>(); Make(out b);
        IEnumerable<int> c = new List<int>(); Action reset = () => c = Enumerable.Range(0, 3);
        reset();
        int n = 0;
        foreach (var x in a) n += x;
        foreach (var x in b) n += x;
        foreach (var x in c) n += x;
        return n;
    }
}";
        await Test(source).RunAsync();
        AssertInterfaceEnumeration(source);
    }

    [Fact]
    public async Task NonPrivateFieldsAndProperties_NoDiagnostic()
    {
        const string source = @"public class C
{
    public IEnumerable<int> Public = new List<int>();
    protected IEnumerable<int> Protected = new List<int>();
    internal IEnumerable<int> Internal = new List<int>();
    private IEnumerable<int> Property { get; } = new List<int>();
    public int M() { int n = 0; foreach (var x in Public) n += x; foreach (var x in Protected) n += x; foreach (var x in Internal) n += x; foreach (var x in Property) n += x; return n; }
}";
        await Test(source).RunAsync();
        AssertInterfaceEnumeration(source);
    }

    [Fact]
    public async Task PrivateFieldOfATypeWithNestedTypes_NoDiagnostic()
    {
        // A nested type may write the field; its code is not visible when the containing type is analyzed.
        const string source = "public class C { private IEnumerable<int> _items = new List<int>(); public int M() { int n = 0; foreach (var x in _items) n += x; return n; } public class Nested { public void Reset(C c) { c._items = Enumerable.Empty<int>(); } } }";
        await Test(source).RunAsync();
        AssertInterfaceEnumeration(source);
    }

    [Fact]
    public async Task ConcreteDeclaredTypeOrVar_NoDiagnostic()
    {
        const string source = "public static class C { public static int M() { List<int> a = new List<int>(); var b = new HashSet<int>(); int[] c = new int[2]; int n = 0; foreach (var x in a) n += x; foreach (var x in b) n += x; foreach (var x in c) n += x; return n; } }";
        await Test(source).RunAsync();
        AssertNoInterfaceEnumeration(source);
    }

    [Fact]
    public async Task ClassEnumerator_NoDiagnostic()
    {
        // ConcurrentQueue<T>.GetEnumerator returns IEnumerator<T>: the concrete type allocates the same object.
        const string source = "using System.Collections.Concurrent; public static class C { public static int M() { IEnumerable<int> items = new ConcurrentQueue<int>(); int n = 0; foreach (var x in items) n += x; return n; } }";
        await Test(source).RunAsync();
        AssertInterfaceEnumeration(source);
        AssertCalls(source.Replace("IEnumerable<int> items", "ConcurrentQueue<int> items"), "System.Collections.Concurrent.ConcurrentQueue<System.Int32>::GetEnumerator()");
        Assert.DoesNotContain(Il(source.Replace("IEnumerable<int> items", "ConcurrentQueue<int> items")).Methods.SelectMany(m => m.Calls), c => c.Contains("+Enumerator", StringComparison.Ordinal));
    }

    [Fact]
    public async Task OwnCollectionTypeAndCollectionExpression_NoDiagnostic()
    {
        // A collection declared in source may implement IEnumerable<T> without boxing (we do not read its body);
        // a collection expression's runtime type is the compiler's choice.
        const string source = @"public sealed class Bag : IEnumerable<int>
{
    public struct Enumerator { public int Current => 0; public bool MoveNext() => false; }
    public Enumerator GetEnumerator() => default;
    IEnumerator<int> IEnumerable<int>.GetEnumerator() => Enumerable.Empty<int>().GetEnumerator();
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => Enumerable.Empty<int>().GetEnumerator();
}
public static class C { public static int M() { IEnumerable<int> a = new Bag(); IEnumerable<int> b = [1, 2]; int n = 0; foreach (var x in a) n += x; foreach (var x in b) n += x; return n; } }";
        await Test(source).RunAsync();
        AssertInterfaceEnumeration(source);
    }

    [Fact]
    public async Task ColdCodeUnderDefaultScope_NoDiagnostic()
    {
        const string source = "public static class C { public static int M() { IEnumerable<int> items = new List<int>(); int n = 0; foreach (var x in items) n += x; return n; } }";
        await Verify<InterfaceEnumerationAnalyzer>.Test(Usings + source).RunAsync();
        AssertInterfaceEnumeration(source);
    }

    [Fact]
    public async Task AwaitForeach_NoDiagnostic()
    {
        const string source = "using System.Threading.Tasks; public static class C { static async IAsyncEnumerable<int> Gen() { yield return 1; await Task.Yield(); } public static async Task<int> M() { IAsyncEnumerable<int> items = Gen(); int n = 0; await foreach (var x in items) n += x; return n; } }";
        await Test(source).RunAsync();
        Assert.Contains("System.Collections.Generic.IAsyncEnumerable<System.Int32>::GetAsyncEnumerator(System.Threading.CancellationToken)", Il(source).Methods.SelectMany(m => m.Calls));
    }

    [Fact]
    public Task GeneratedCode_NoDiagnostic()
    {
        var test = Verify<InterfaceEnumerationAnalyzer>.Test("// <auto-generated/>\n" + Usings + "public static class C { public static int M() { IEnumerable<int> items = new List<int>(); int n = 0; foreach (var x in items) n += x; return n; } }");
        test.AnalyzerOptions["memsafety.scope"] = "everywhere";
        return test.RunAsync();
    }

    [Fact]
    public Task IncompleteCode_NoDiagnosticAndNoCrash()
    {
        var test = Test("public static class C { public static int M() { IEnumerable<int> items = new List<int>(; int n = 0; foreach (var x in items n += x; IList<int> other = ; foreach (var y in other) { } return n; } }");
        test.AllowCompilerErrors = true;
        return test.RunAsync();
    }

    // ------------------------------------------------------------------ CA1859 side by side

    private static DiagnosticAnalyzer LoadCa1859()
    {
        var directory = Path.Combine(AppContext.BaseDirectory, "NetAnalyzers");
        var assembly = AssemblyLoadContext.Default.LoadFromAssemblyPath(Path.Combine(directory, "Microsoft.CodeAnalysis.NetAnalyzers.dll"));
        var type = assembly.GetType("Microsoft.NetCore.Analyzers.Performance.UseConcreteTypeAnalyzer", throwOnError: true)!;
        return (DiagnosticAnalyzer)Activator.CreateInstance(type)!;
    }

    [Fact]
    public void Ca1859_IsASuggestionByDefault()
    {
        var descriptors = LoadCa1859().SupportedDiagnostics;
        Assert.NotEmpty(descriptors);
        Assert.All(descriptors, d =>
        {
            Assert.Equal("CA1859", d.Id);
            Assert.Equal(DiagnosticSeverity.Info, d.DefaultSeverity);
            Assert.True(d.IsEnabledByDefault);
        });
    }

    [Fact]
    public async Task Ca1859_ReportsTheDeclaration_Msa2006TheLoop_NeverTheSameNode()
    {
        var sources = new[]
        {
            // An interface call on the variable: CA1859 reports the declaration, MSA2006 the loop.
            "public static class C { public static int M() { IList<int> items = new List<int>(); items.Add(1); int n = 0; foreach (var x in items) n += x; return n; } }",
            "public class C { private ICollection<int> _items = new List<int>(); public int M() { _items.Add(1); int n = 0; foreach (var x in _items) n += x; return n; } }",
            // Only enumerated: CA1859 does not count foreach as a virtual call; MSA2006 alone.
            "public static class C { public static int M() { IEnumerable<int> items = new List<int>(); int n = 0; foreach (var x in items) n += x; return n; } }",
            // Arrays too (NetAnalyzers 10.0.111), when there is an interface call.
            "public static class C { public static int M() { IList<int> items = new int[2]; int n = items.IndexOf(0); foreach (var x in items) n += x; return n; } }",
        };
        var ca1859 = LoadCa1859();
        int both = 0, msaOnly = 0;
        foreach (var source in sources)
        {
            var test = new AnalyzerTest(new InterfaceEnumerationAnalyzer(), ca1859);
            test.Sources.Add(Usings + source);
            test.AnalyzerOptions["memsafety.scope"] = "everywhere";
            var diagnostics = await test.AnalyzeAsync();
            var msa = diagnostics.Where(d => d.Id == "MSA2006").ToList();
            var ca = diagnostics.Where(d => d.Id == "CA1859").ToList();
            Assert.Single(msa);
            Assert.All(ca, c => Assert.DoesNotContain(msa, m => m.Location.SourceSpan.OverlapsWith(c.Location.SourceSpan)));
            // CA1859 is on the declared name, MSA2006 on the loop's collection expression.
            Assert.All(ca, c => Assert.Contains(c.Location.SourceTree!.GetRoot().FindToken(c.Location.SourceSpan.Start).Parent!.AncestorsAndSelf(),
                n => n is Microsoft.CodeAnalysis.CSharp.Syntax.VariableDeclaratorSyntax));
            Assert.All(msa, m => Assert.IsAssignableFrom<Microsoft.CodeAnalysis.CSharp.Syntax.ForEachStatementSyntax>(m.Location.SourceTree!.GetRoot().FindNode(m.Location.SourceSpan).Parent));
            if (ca.Count > 0)
                both++;
            else
                msaOnly++;
        }

        Assert.Equal(3, both);
        Assert.Equal(1, msaOnly);
    }
}
