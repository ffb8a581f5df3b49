using System.Linq;
using MemSafety.Analyzers.Engines.Escape;
using MemSafety.Analyzers.Tests.Verification;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace MemSafety.Analyzers.Tests.Engines.Escape;

/// <summary>The escape engine asked directly about the value marked <c>[|…|]</c> in each source.</summary>
public sealed class EscapeEngineTests
{
    private static EscapeResult Analyze(string markup)
    {
        var parsed = Markup.Parse(markup);
        var tree = CSharpSyntaxTree.ParseText(parsed.Source, new CSharpParseOptions(LanguageVersion.Latest));
        var compilation = CSharpCompilation.Create("t", new[] { tree }, Basic.Reference.Assemblies.Net80.References.All,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable));
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        var node = tree.GetRoot().FindNode(parsed.Spans.Single().Span, getInnermostNodeForTie: true);
        var operation = compilation.GetSemanticModel(tree).GetOperation(node);
        Assert.NotNull(operation);
        return EscapeEngine.ForBodyOf(operation!).Analyze(operation!);
    }

    private static void NoEscape(string body, string members = "")
    {
        var result = Analyze(Wrap(body, members));
        Assert.True(result.CanLiveOnStack, result.ToString());
        Assert.Equal("does not escape", result.ToString());
    }

    private static void Escapes(string body, EscapeKind kind, string reason, string members = "")
    {
        var result = Analyze(Wrap(body, members));
        Assert.True(result.Escapes, "expected an escape, got: " + result);
        Assert.True(kind == result.Kind, $"expected {kind}, got {result.Kind}: {result}");
        Assert.Equal(reason, result.Reason);
        Assert.NotNull(result.Sink);
    }

    private static string Wrap(string body, string members) => $$"""
        using System;
        using System.Collections.Generic;
        using System.IO;
        using System.Linq;
        using System.Text;
        using System.Threading.Tasks;
        #pragma warning disable CS0168, CS0219, CS8321, CS0649, CS0169, CS1998, CS0162
        class C
        {
            int[]? _field;
            static object? s_static;
            byte[]? Prop { get; set; }
            static void Use(int x) { }
            static void Keep(object o) { }
            static int SumSpan(ReadOnlySpan<int> s) => s.Length;
            static Span<int> Identity(Span<int> s) => s;
        {{members}}
            unsafe object? M(int n, Stream stream, string text, List<int[]> list)
            {
        {{body}}
                return null;
            }
        }
        """;

    // ----------------------------------------------------------------------------- does not escape

    [Fact] public void LocalOnlyIndexed_NoEscape() => NoEscape("var a = [|new int[4]|]; a[0] = 1; Use(a[0] + a.Length);");
    [Fact] public void ForeachOverLocal_NoEscape() => NoEscape("var a = [|new int[4]|]; foreach (var x in a) Use(x);");
    [Fact] public void SimpleCopyToLocal_NoEscape() => NoEscape("var a = [|new int[4]|]; var b = a; Use(b[0]);");
    [Fact] public void PassedAsSpan_NoEscape() => NoEscape("var a = [|new int[4]|]; Use(SumSpan(a));");
    [Fact] public void ArrayCopyAndFill_NoEscape() => NoEscape("var a = [|new int[4]|]; Array.Fill(a, 1); Array.Copy(a, new int[4], 4); Array.Sort(a);");
    [Fact] public void StreamRead_NoEscape() => NoEscape("var b = [|new byte[16]|]; stream.Read(b, 0, b.Length); stream.Write(b, 0, 4);");
    [Fact] public void EncodingAndStringCtor_NoEscape() => NoEscape("var b = [|new char[8]|]; var s = new string(b); Use(Encoding.UTF8.GetByteCount(b) + s.Length);");
    [Fact] public void BitConverter_NoEscape() => NoEscape("var b = [|new byte[8]|]; Use(BitConverter.ToInt32(b, 0));");
    [Fact] public void StringBuilderAppendCharArray_NoEscape() => NoEscape("var b = [|new char[8]|]; var sb = new StringBuilder(); sb.Append(b); Use(sb.Length);");
    [Fact] public void LocalFunctionCalledDirectly_NoEscape() => NoEscape("var a = [|new int[4]|]; Local(); void Local() { a[0] = 1; }");
    /// <summary>List's searches, RemoveAll, ForEach and Sort call the delegate during the call and keep nothing (MSA3002
    /// asks this of a lambda in a loop); Enumerable.Where keeps it in the iterator it returns.</summary>
    [Fact] public void DelegatePassedToListSearchOrEnumerableAny_NoEscape() => NoEscape(
        "var p = [|new Predicate<int[]>(x => x.Length > n)|]; Use(list.FindIndex(p) + list.RemoveAll(p) + (list.Exists(p) ? 1 : 0) + list.Count(new Func<int[], bool>(p)));");
    [Fact] public void DelegatePassedToEnumerableWhere_Escapes() => Escapes(
        "var p = [|new Func<int[], bool>(x => x.Length > n)|]; Keep(list.Where(p));", EscapeKind.PassedToMethod, "passed to 'Enumerable.Where', which may keep it");

    [Fact] public void NullCheckAndComparison_NoEscape() => NoEscape("var a = [|new int[4]|]; if (a != null && a.Length > 0) Use(1);");
    [Fact] public void IsPatternVariableUsedLocally_NoEscape() => NoEscape("object o = [|new int[4]|]; if (o is int[] arr) Use(arr[0]);");
    [Fact] public void UsingAndTryFinally_NoEscape() => NoEscape("var ms = [|new MemoryStream()|]; try { using (ms) { Use((int)ms.Length); } } finally { Use(1); }");
    [Fact] public void UnknownInstanceMethodOnValue_Escapes() => Escapes("var ms = [|new MemoryStream()|]; ms.WriteByte(1);", EscapeKind.PassedToMethod, "'WriteByte' is called on it and may keep a reference to it");
    [Fact] public void RefLocalToElementReturnedByRef_Escapes() => Escapes("", EscapeKind.ElementReferenceEscapes, "a reference to its element is returned",
        "static ref int Slot() { var a = [|new int[4]|]; ref int e = ref a[1]; return ref e; }");
    [Fact] public void GotoLoop_NoEscape() => NoEscape("var a = [|new int[4]|]; int i = 0; again: a[i] = i; if (++i < 4) goto again;");
    [Fact] public void RefLocalToElementUsedLocally_NoEscape() => NoEscape("var a = [|new int[4]|]; ref int first = ref a[0]; first = 5; Use(first);");
    [Fact] public void DiscardedAndReassigned_NoEscape() => NoEscape("var a = [|new int[4]|]; _ = a; Use(a.Length);");
    [Fact] public void TupleLocalReadLocally_NoEscape() => NoEscape("var t = ([|new int[4]|], 1); Use(t.Item1.Length + t.Item2);");
    [Fact] public void DeconstructedIntoLocals_NoEscape() => NoEscape("var (a, b) = ([|new int[4]|], 2); Use(a[0] + b);");
    [Fact] public void SwitchExpressionOnValue_NoEscape() => NoEscape("object o = [|new int[4]|]; var len = o switch { int[] x => x.Length, _ => 0 }; Use(len);");
    [Fact] public void ListLocalAddAndCount_NoEscape() => NoEscape("var l = [|new List<int>()|]; l.Add(1); Use(l.Count);");
    [Fact] public void StringBuilderChainedAppend_NoEscape() => NoEscape("var sb = [|new StringBuilder()|]; sb.Append(1).Append('x'); Use(sb.ToString().Length);");
    [Fact] public void LinqTerminalOperator_NoEscape() => NoEscape("var a = [|new int[4]|]; Use(a.Sum() + a.Count());");
    [Fact] public void SpanOverloadResultUsedLocally_NoEscape() => NoEscape("var a = [|new int[4]|]; var s = Identity(a); s[0] = 1;");
    [Fact] public void ConditionalAccessToOwnState_NoEscape() => NoEscape("var l = (List<int>?)[|new List<int>()|]; Use(l?.Count ?? 0);");
    [Fact] public void CompoundArithmeticOnElement_NoEscape() => NoEscape("var a = [|new int[4]|]; a[1] += 3; Use(a[1]);");

    [Fact] public void SpreadIntoReturnedCollection_NoEscape() => NoEscape("var a = [|new int[4]|]; int[] copy = [.. a]; s_static = copy;");

    // ----------------------------------------------------------------------------- escapes

    [Fact] public void ElementOfStoredCollectionExpression_Escapes() => Escapes("var a = [|new int[4]|]; object[] all = [a]; s_static = all;", EscapeKind.StoredInField, "stored into static field 's_static'");

    [Fact] public void Returned_Escapes() => Escapes("var a = [|new int[4]|]; return a;", EscapeKind.Returned, "returned");
    [Fact] public void ReturnedInTuple_Escapes() => Escapes("var a = [|new int[4]|]; return (a, 1);", EscapeKind.Returned, "returned");
    [Fact] public void ReturnedInAnonymousObject_Escapes() => Escapes("var a = [|new int[4]|]; return new { Data = a };", EscapeKind.Returned, "returned");
    [Fact] public void ReturnedThroughConditional_Escapes() => Escapes("var a = [|new int[4]|]; return n > 0 ? a : null;", EscapeKind.Returned, "returned");
    [Fact] public void StoredIntoField_Escapes() => Escapes("var a = [|new int[4]|]; _field = a;", EscapeKind.StoredInField, "stored into field '_field'");
    [Fact] public void StoredIntoStaticViaBoxingConversion_Escapes() => Escapes("var a = [|new int[4]|]; s_static = a;", EscapeKind.StoredInField, "stored into static field 's_static'");
    [Fact] public void StoredIntoProperty_Escapes() => Escapes("Prop = [|new byte[4]|];", EscapeKind.StoredInProperty, "stored into property 'Prop'");
    [Fact] public void StoredIntoArrayElement_Escapes() => Escapes("var a = [|new int[4]|]; var all = new object[1]; all[0] = a;", EscapeKind.StoredInArrayElement, "stored into an array element");
    [Fact] public void AddedToCollection_Escapes() => Escapes("var a = [|new int[4]|]; list.Add(a);", EscapeKind.PassedToMethod, "passed to 'List<int[]>.Add', which may keep it");
    [Fact] public void StoredThroughIndexer_Escapes() => Escapes("var d = new Dictionary<int, int[]>(); var a = [|new int[4]|]; d[1] = a;", EscapeKind.StoredInProperty, "stored through the indexer of 'Dictionary', which keeps it");
    [Fact] public void StoredIntoOutParameter_Escapes() => Escapes("", EscapeKind.StoredInRefParameter, "stored into out parameter 'result'",
        "static void Make(out int[] result) { result = [|new int[4]|]; }");
    [Fact] public void CapturedByLambda_Escapes() => Escapes("var a = [|new int[4]|];\nFunc<int> f = () => a.Length; Use(f());", EscapeKind.CapturedByDelegate, "captured by a lambda at line 21");
    [Fact] public void CapturedByLocalFunctionConvertedToDelegate_Escapes() => Escapes("var a = [|new int[4]|]; Func<int> f = Local; int Local() => a.Length;", EscapeKind.CapturedByDelegate, "captured by local function 'Local', which is converted to a delegate");
    [Fact] public void PassedToUnknownMethod_Escapes() => Escapes("var a = [|new int[4]|]; Keep(a);", EscapeKind.PassedToMethod, "passed to 'C.Keep', which may keep it");
    [Fact] public void PassedToConstructor_Escapes() => Escapes("var a = [|new byte[4]|]; var ms = new MemoryStream(a); Use((int)ms.Length);", EscapeKind.PassedToMethod, "passed to the constructor of 'MemoryStream', which may keep it");
    [Fact] public void CopiedThenCopyReturned_Escapes() => Escapes("var a = [|new int[4]|]; var b = a; var c = b; return c;", EscapeKind.Returned, "returned");
    [Fact] public void PatternVariableStored_Escapes() => Escapes("object o = [|new int[4]|]; if (o is int[] arr) _field = arr;", EscapeKind.StoredInField, "stored into field '_field'");
    [Fact] public void ConvertedToDynamic_Escapes() => Escapes("dynamic d = [|new int[4]|]; d.Foo();", EscapeKind.PassedToDynamic, "passed to a dynamic operation");
    [Fact] public void Thrown_Escapes() => Escapes("var e = [|new InvalidOperationException()|]; throw e;", EscapeKind.Thrown, "thrown");
    [Fact] public void ElementRefReturned_Escapes() => Escapes("", EscapeKind.ElementReferenceEscapes, "a reference to its element is returned",
        "static ref int First() { var a = [|new int[4]|]; return ref a[0]; }");
    [Fact] public void IteratorYield_Escapes() => Escapes("", EscapeKind.Returned, "yielded by an iterator",
        "static IEnumerable<int[]> Items() { var a = [|new int[4]|]; yield return a; }");
    [Fact] public void ReturnedFromLambda_Escapes() => Escapes("Func<int[]> f = () => [|new int[4]|]; Use(f().Length);", EscapeKind.Returned, "returned from a lambda or local function");
    [Fact] public void AsSpanResultReturned_Escapes() => Escapes("", EscapeKind.Returned, "returned",
        "static Span<int> View() { var a = [|new int[4]|]; return a.AsSpan(); }");
    [Fact] public void AsMemoryStored_Escapes() => Escapes("var a = [|new int[4]|]; s_static = a.AsMemory();", EscapeKind.StoredInField, "stored into static field 's_static'");
    [Fact] public void SpanReturningCallResultReturned_Escapes() => Escapes("", EscapeKind.Returned, "returned",
        "static Span<int> Wrap() { var a = [|new int[4]|]; return Identity(a); }");
    [Fact] public void CoalescedIntoField_Escapes() => Escapes("var a = [|new int[4]|]; _field ??= a;", EscapeKind.StoredInField, "stored into field '_field'");
    [Fact] public void DeconstructedIntoField_Escapes() => Escapes("(_field, var b) = ([|new int[4]|], 1);", EscapeKind.StoredInField, "stored into field '_field'");
    [Fact] public void EnumeratorStoredInField_Escapes() => Escapes("var l = [|new List<int>()|]; s_static = l.GetEnumerator();", EscapeKind.StoredInField, "stored into static field 's_static'");
    // Roslyn exposes a fixed statement's initializer as an OperationKind.None node: unmodelled uses count as escapes.
    [Fact] public void PinnedWithFixed_CountsAsEscape() => Escapes("var a = [|new int[4]|]; fixed (int* p = a) { s_static = (IntPtr)p; }", EscapeKind.Unknown, "used in a way the analysis does not follow (None)");
    [Fact] public void ConditionalAccessCallOnUnknownMethod_Escapes() => Escapes("var o = (Action?)[|new Action(() => { })|]; o?.Invoke();", EscapeKind.PassedToMethod, "'Invoke' is called on it and may keep a reference to it");

    // ----------------------------------------------------------------------------- await / yield

    [Fact]
    public void UsedAfterAwait_DoesNotEscapeButCannotLiveOnStack()
    {
        var result = Analyze(Wrap("", """
                static async Task<int> Read(Stream s)
                {
                    var b = [|new byte[16]|];
                    await Task.Yield();
                    return s.Read(b, 0, b.Length);
                }
            """));
        Assert.False(result.Escapes, result.ToString());
        Assert.False(result.CanLiveOnStack);
        Assert.Equal("it is live across 'await' at line 20", result.Suspension);
    }

    [Fact]
    public void OnlyUsedBeforeAwait_CanLiveOnStack()
    {
        var result = Analyze(Wrap("", """
                static async Task<int> Read(Stream s)
                {
                    var b = [|new byte[16]|];
                    var n = s.Read(b, 0, b.Length);
                    await Task.Yield();
                    return n;
                }
            """));
        Assert.True(result.CanLiveOnStack, result.ToString());
    }

    [Fact]
    public void UsedOnlyInsideTheAwaitedCall_CanLiveOnStack()
    {
        var result = Analyze(Wrap("", """
                static async Task<int> Send(Stream s)
                {
                    var b = [|new byte[16]|];
                    await s.FlushAsync(new System.Threading.CancellationToken(b[0] == 0));
                    return 0;
                }
            """));
        Assert.True(result.CanLiveOnStack, result.ToString());
    }

    [Fact]
    public void AwaitInLoopWithUse_IsLiveAcrossIt()
    {
        var result = Analyze(Wrap("", """
                static async Task Pump(Stream s)
                {
                    var b = [|new byte[16]|];
                    for (var i = 0; i < 3; i++)
                    {
                        s.Read(b, 0, b.Length);
                        await Task.Yield();
                    }
                }
            """));
        Assert.True(result.IsLiveAcrossSuspension, result.ToString());
    }

    [Fact]
    public void UsedAcrossYield_IsLiveAcrossIt()
    {
        var result = Analyze(Wrap("", """
                static IEnumerable<int> Numbers()
                {
                    var b = [|new int[2]|];
                    yield return 1;
                    yield return b[0];
                }
            """));
        Assert.False(result.Escapes);
        Assert.Equal("it is live across 'yield return' at line 20", result.Suspension);
    }
}
