using System.Linq;
using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.Boxing;
using MemSafety.Analyzers.Tests.Verification;
using MemSafety.CodeFixes.Boxing;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace MemSafety.Analyzers.Tests.Boxing;

/// <summary>
/// MSA2003. The boxing this rule is about happens inside the BCL's <c>ObjectEqualityComparer&lt;T&gt;</c>, not in
/// the caller: the caller's IL has no <c>box</c> (asserted below), so the ground truth for every case is what the
/// test host (.NET 10, optimized code) allocates per call of <c>Probe.Run</c>
/// (<see cref="IlAssembly.AllocatedBytesPerCall"/>): more than zero for the reported struct, zero (or, where the
/// operation allocates anyway, less) for the same code with an IEquatable struct or the fixed code.
/// Measurements assert bounds, not exact byte counts, because .NET 9+ may stack-allocate some boxes when it
/// inlines the comparer (docs/design/boxing.md).
/// </summary>
public sealed class StructDefaultEqualityTests
{
    private const string Usings = "using System;\nusing System.Collections.Generic;\nusing System.Linq;\nusing System.Runtime.CompilerServices;\n";

    private const string PlainPoint = "public struct Point { public int X; public int Y; }\n";

    private const string EquatablePoint =
        "public struct Point : IEquatable<Point> { public int X; public int Y; public bool Equals(Point o) => X == o.X && Y == o.Y; " +
        "public override bool Equals(object o) => o is Point p && Equals(p); public override int GetHashCode() => X * 31 + Y; }\n";

    private static AnalyzerTest Analyze(string source, LanguageVersion version = LanguageVersion.Latest, ReferenceSet references = ReferenceSet.Net80)
    {
        var test = Verify<StructDefaultEqualityAnalyzer>.Test(source);
        test.LanguageVersion = version;
        test.ReferenceSet = references;
        if (version < LanguageVersion.CSharp8)
            test.NullableContextOptions = NullableContextOptions.Disable;
        return test;
    }

    private static AnalyzerTest Fix(string source, string fixedSource, LanguageVersion version = LanguageVersion.Latest, ReferenceSet references = ReferenceSet.Net80)
    {
        var test = Verify<StructDefaultEqualityAnalyzer, StructDefaultEqualityFix>.Test(source, fixedSource);
        test.LanguageVersion = version;
        test.ReferenceSet = references;
        if (version < LanguageVersion.CSharp8)
            test.NullableContextOptions = NullableContextOptions.Disable;
        return test;
    }

    private static AnalyzerTest NoFix(string source)
    {
        var test = new AnalyzerTest(new StructDefaultEqualityAnalyzer()) { CodeFix = new StructDefaultEqualityFix(), ExpectNoFix = true };
        test.Sources.Add(source);
        return test;
    }

    /// <summary>Bytes per call of Probe.Run on the test host.</summary>
    private static double Allocated(string source, LanguageVersion version = LanguageVersion.Latest, ReferenceSet references = ReferenceSet.Net80)
        => IlInspection.Compile(source, version, references).AllocatedBytesPerCall("Probe", "Run");

    /// <summary>The runtime evidence for a reported site: the struct key allocates (boxes in the comparer) and the
    /// same code with an IEquatable Point allocates less (nothing, when the operation allocates nothing else).</summary>
    private static void AssertBoxesUnlessEquatable(string source, bool otherwiseAllocationFree = true, string plainDeclaration = PlainPoint, string equatableDeclaration = EquatablePoint)
    {
        Assert.Contains(plainDeclaration, source);
        var plain = Allocated(source);
        var equatable = Allocated(source.Replace(plainDeclaration, equatableDeclaration));
        Assert.True(plain >= equatable + 24, $"Point: {plain} B per call; IEquatable Point: {equatable} B");
        if (otherwiseAllocationFree)
            Assert.Equal(0, equatable);
    }

    // ================================================================== reported

    private const string DictionarySource = Usings + """
        public struct Point
        {
            public int X;
            public int Y;
        }

        public static class Probe
        {
            static readonly Dictionary<Point, int> map = {|#0:new Dictionary<Point, int>()|};
            static int sink;
            static Probe() { map[new Point { X = 1, Y = 2 }] = 3; }
            [MethodImpl((MethodImplOptions)512)] public static void Run() { sink = map[new Point { X = 1, Y = 2 }]; }
        }
        """;

    private const string DictionaryFixed = Usings + """
        public struct Point : IEquatable<Point>
        {
            public int X;
            public int Y;

            public bool Equals(Point other) => X == other.X && Y == other.Y;

            public override bool Equals(object? obj) => obj is Point other && Equals(other);

            public override int GetHashCode() => HashCode.Combine(X, Y);

            public static bool operator ==(Point left, Point right) => left.Equals(right);

            public static bool operator !=(Point left, Point right) => !left.Equals(right);
        }

        public static class Probe
        {
            static readonly Dictionary<Point, int> map = new Dictionary<Point, int>();
            static int sink;
            static Probe() { map[new Point { X = 1, Y = 2 }] = 3; }
            [MethodImpl((MethodImplOptions)512)] public static void Run() { sink = map[new Point { X = 1, Y = 2 }]; }
        }
        """;

    [Fact]
    public async Task DictionaryKey_ReportedAtTheCreation_FixImplementsIEquatable_AndTheLookupStopsAllocating()
    {
        var test = Fix(DictionarySource, DictionaryFixed);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA2003", 0).WithMessage(
            "'Point' has no IEquatable<Point>: 'Dictionary<Point, int>' boxes its keys on every lookup and ValueType.Equals may compare the fields through reflection"));
        await test.RunAsync();

        // No box in the caller's IL: the boxing is inside ObjectEqualityComparer<Point>.
        Assert.Empty(IlInspection.Compile(DictionarySource).Boxes);
        Assert.True(Allocated(DictionarySource) >= 48, "GetHashCode and Equals box the key");
        Assert.Equal(0, Allocated(DictionaryFixed));
    }

    [Fact]
    public async Task HashSetConcurrentDictionaryAndTargetTypedNew_ReportedOncePerCreation()
    {
        const string source = Usings + "using System.Collections.Concurrent;\n" + PlainPoint + """
            public static class Probe
            {
                static readonly HashSet<Point> set = [|new HashSet<Point>()|];
                static readonly ConcurrentDictionary<Point, int> concurrent = [|new ConcurrentDictionary<Point, int>()|];
                static readonly Dictionary<Point, string> names = [|new()|];
                static bool sink;
                static Probe() { set.Add(new Point { X = 1 }); set.Add(new Point { X = 2 }); concurrent[new Point()] = 1; names.Add(new Point(), "origin"); }
                [MethodImpl((MethodImplOptions)512)] public static void Run() { sink = set.Contains(new Point { X = 2 }); }
                [MethodImpl((MethodImplOptions)512)] public static void RunConcurrent() { sink = concurrent.ContainsKey(new Point()); }
            }
            """;
        await Analyze(source).RunAsync();
        AssertBoxesUnlessEquatable(source);
        var il = IlInspection.Compile(source);
        Assert.True(il.AllocatedBytesPerCall("Probe", "RunConcurrent") >= 24);
        Assert.Equal(0, IlInspection.Compile(source.Replace(PlainPoint, EquatablePoint)).AllocatedBytesPerCall("Probe", "RunConcurrent"));
    }

    private const string PlainSlot = "public struct Slot { public int Id; public string Name; }\n";

    private const string EquatableSlot =
        "public struct Slot : IEquatable<Slot> { public int Id; public string Name; public bool Equals(Slot o) => Id == o.Id && Name == o.Name; " +
        "public override bool Equals(object o) => o is Slot s && Equals(s); public override int GetHashCode() => Id; }\n";

    [Fact]
    public async Task ListSearchesAndArrayIndexOf_Reported()
    {
        const string source = Usings + PlainSlot + """
            public static class Probe
            {
                static readonly List<Slot> list = new List<Slot> { new Slot { Id = 1 }, new Slot { Id = 2 }, new Slot { Id = 3 } };
                static readonly Slot[] array = list.ToArray();
                static int sink;
                [MethodImpl((MethodImplOptions)512)] public static void Run() { sink = list.{|#0:IndexOf(new Slot { Id = 3 })|}; }
                public static void Others(Slot p)
                {
                    if (list.[|Contains(p)|]) sink++;
                    sink += list.[|LastIndexOf(p)|];
                    if (list.[|Remove(p)|]) sink++;
                    sink += Array.[|IndexOf(array, p)|] + Array.[|LastIndexOf(array, p)|];
                    if (array.[|Contains(p)|]) sink++;
                }
            }
            """;
        var test = Analyze(source);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA2003", 0).WithMessage(
            "'Slot' has no IEquatable<Slot>: 'List<Slot>.IndexOf' boxes the items on every comparison and ValueType.Equals may compare the fields through reflection"));
        await test.RunAsync();
        AssertBoxesUnlessEquatable(source, plainDeclaration: PlainSlot, equatableDeclaration: EquatableSlot);
    }

    [Fact]
    public async Task BitComparableStructSearches_NoDiagnosticOnDotNetCore_ReportedOnNetFramework()
    {
        // .NET Core searches an array of a padding-free struct of primitives by comparing bits
        // (RuntimeHelpers.IsBitwiseEquatable): 0 B on .NET 10, while a Dictionary of the same struct still boxes.
        // .NET Framework's Array.IndexOf<T> always goes through EqualityComparer<T>.Default, so there it is reported
        // (not measurable here: the test host is .NET 10; the IL shows the plain call, with no box in the caller).
        const string body = PlainPoint + """
            public static class Probe
            {
                static readonly List<Point> list = new List<Point> { new Point { X = 1 }, new Point { X = 2 }, new Point { X = 3 } };
                static readonly Point[] array = list.ToArray();
                static int sink;
                [MethodImpl((MethodImplOptions)512)] public static void Run() { sink = list.IndexOf(new Point { X = 3 }) + Array.IndexOf(array, new Point { X = 2 }) + (array.Contains(new Point()) ? 1 : 0); }
            }
            """;
        await Analyze(Usings + body).RunAsync();
        await Analyze(Usings + body, references: ReferenceSet.NetStandard20).RunAsync();
        Assert.Equal(0, Allocated(Usings + body));

        var framework = Usings + body.Replace("sink = list.IndexOf(new Point { X = 3 }) + Array.IndexOf(array, new Point { X = 2 }) + (array.Contains(new Point()) ? 1 : 0);",
            "sink = list.[|IndexOf(new Point { X = 3 })|] + Array.[|IndexOf(array, new Point { X = 2 })|] + (array.[|Contains(new Point())|] ? 1 : 0);");
        await Analyze(framework, LanguageVersion.CSharp7_3, ReferenceSet.Net472).RunAsync();
        Assert.Empty(IlInspection.Compile(framework, LanguageVersion.CSharp7_3, ReferenceSet.Net472).Boxes);
    }

    [Fact]
    public async Task LinqOperatorsWithoutComparer_Reported_WithComparer_NotReported()
    {
        const string source = Usings + PlainPoint + """
            public sealed class PointComparer : IEqualityComparer<Point>
            {
                public bool Equals(Point a, Point b) => a.X == b.X && a.Y == b.Y;
                public int GetHashCode(Point p) => p.X * 31 + p.Y;
            }
            public static class Probe
            {
                static readonly Point[] points = { new Point { X = 1 }, new Point { X = 2 }, new Point { X = 1 } };
                static int sink;
                [MethodImpl((MethodImplOptions)512)] public static void Run() { sink = points.[|Distinct()|].Count(); }
                public static void Others(int[] ids)
                {
                    sink += points.[|GroupBy(p => p)|].Count() + points.[|ToDictionary(p => p, p => p.X)|].Count + points.[|ToLookup(p => p)|].Count;
                    sink += points.[|ToHashSet()|].Count + (points.Contains(new Point()) ? 1 : 0) + points.[|Except(points)|].Count() + points.[|Intersect(points)|].Count();
                    sink += points.[|Union(points)|].Count() + points.[|Join(points, p => p, q => q, (p, q) => 1)|].Count();
                    sink += ids.[|GroupBy(i => new Point { X = i })|].Count();
                    sink += points.Distinct(new PointComparer()).Count() + points.GroupBy(p => p, new PointComparer()).Count() + (points.Contains(new Point(), new PointComparer()) ? 1 : 0);
                    sink += ids.GroupBy(i => i).Count() + points.GroupBy(p => p.X).Count();
                }
            }
            """;
        await Analyze(source).RunAsync();
        AssertBoxesUnlessEquatable(source, otherwiseAllocationFree: false);
    }

    [Fact]
    public async Task EqualityComparerDefault_Reported()
    {
        const string source = Usings + PlainPoint + """
            public static class Probe
            {
                static Point a = new Point { X = 1 }, b = new Point { X = 1 };
                static bool sink;
                [MethodImpl((MethodImplOptions)512)] public static void Run() { sink = {|#0:EqualityComparer<Point>.Default|}.Equals(a, b); }
            }
            """;
        var test = Analyze(source);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA2003", 0).WithMessage(
            "'Point' has no IEquatable<Point>: 'EqualityComparer<Point>.Default' boxes the values on every comparison and ValueType.Equals may compare the fields through reflection"));
        await test.RunAsync();
        AssertBoxesUnlessEquatable(source);
    }

    [Fact]
    public async Task TupleAnonymousAndNullableKeys_ReportTheStructInside()
    {
        const string source = Usings + PlainPoint + """
            public static class Probe
            {
                static readonly Dictionary<(Point, int), string> byTuple = {|#0:new Dictionary<(Point, int), string>()|};
                static readonly HashSet<Point?> maybe = [|new HashSet<Point?>()|];
                static readonly Dictionary<(int, (string, Point)), int> nested = [|new Dictionary<(int, (string, Point)), int>()|];
                static readonly Dictionary<(int, string), int> fine = new Dictionary<(int, string), int>();
                static string sink;
                static Probe() { byTuple[(new Point { X = 1 }, 2)] = "a"; }
                [MethodImpl((MethodImplOptions)512)] public static void Run() { sink = byTuple[(new Point { X = 1 }, 2)]; }
                public static int Groups(Point[] points) => points.[|GroupBy(p => new { p, Tag = 1 })|].Count();
            }
            """;
        var test = Analyze(source);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA2003", 0).WithMessage(
            "'Point' has no IEquatable<Point>: 'Dictionary<(Point, int), string>' boxes the 'Point' in its keys on every lookup and ValueType.Equals may compare the fields through reflection"));
        await test.RunAsync();
        // ValueTuple is IEquatable, but it compares Item1 with EqualityComparer<Point>.Default, which boxes.
        AssertBoxesUnlessEquatable(source);
    }

    [Fact]
    public async Task OverridesEqualsButNoIEquatable_ReportedWithItsOwnReason_NoFix()
    {
        const string source = Usings + """
            public struct Cell
            {
                public int Row, Column;
                public override bool Equals(object obj) => obj is Cell c && c.Row == Row && c.Column == Column;
                public override int GetHashCode() => Row * 31 + Column;
            }
            public static class Probe
            {
                static readonly Dictionary<Cell, int> map = {|#0:new Dictionary<Cell, int>()|};
                static int sink;
                static Probe() { map[new Cell { Row = 1 }] = 1; }
                [MethodImpl((MethodImplOptions)512)] public static void Run() { sink = map[new Cell { Row = 1 }]; }
                [MethodImpl((MethodImplOptions)512)] public static void Miss() { sink = map.TryGetValue(new Cell { Row = 2 }, out var v) ? v : 0; }
                public static int Unique(Cell[] cells) => cells.{|#1:Distinct()|}.Count();
            }
            """;
        var test = NoFix(source);
        test.NullableContextOptions = NullableContextOptions.Disable;
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA2003", 0).WithMessage(
            "'Cell' has no IEquatable<Cell>: 'Dictionary<Cell, int>' boxes its keys on every hit (a lookup that finds an equal hash code) to call its Equals(object) override"));
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA2003", 1).WithMessage(
            "'Cell' has no IEquatable<Cell>: 'Distinct' boxes the items on every hash match to call its Equals(object) override"));
        await test.RunAsync();
        // The override avoids ValueType's reflection and the receiver box, not the box of the argument; and since the
        // GetHashCode override hashes without a box, Equals(object) (and its box) runs only when a hash code matches.
        Assert.True(Allocated(source) >= 24);
        Assert.Equal(0, IlInspection.Compile(source).AllocatedBytesPerCall("Probe", "Miss"));
    }

    [Fact]
    public async Task FloatingPointOrDecimalFields_ReportedWithoutFix()
    {
        // ValueType.Equals compares bits on .NET Framework when the struct has no references (0.0 vs -0.0 differ,
        // NaN equals itself only with the same bits; decimal 1.0m vs 1.00m differ): a field-wise Equals is not
        // provably the same answer, so no fix.
        const string source = Usings + """
            public struct Vector { public double X, Y; }
            public struct Money { public decimal Amount; public int Currency; }
            public struct Stamp { public DateTime When; public int Id; }
            public static class Probe
            {
                static readonly Dictionary<Vector, int> vectors = [|new Dictionary<Vector, int>()|];
                static readonly HashSet<Money> money = [|new HashSet<Money>()|];
                static readonly HashSet<Stamp> stamps = [|new HashSet<Stamp>()|];
                static int sink;
                static Probe() { vectors[new Vector { X = 1 }] = 1; }
                [MethodImpl((MethodImplOptions)512)] public static void Run() { sink = vectors[new Vector { X = 1 }]; }
            }
            """;
        await NoFix(source).RunAsync();
        Assert.True(Allocated(source) >= 24);
    }

    [Fact]
    public async Task MetadataStructKey_Reported_NoFix()
    {
        // KeyValuePair<K, V> implements neither IEquatable nor Equals: decided from the referenced symbols.
        const string source = Usings + """
            public static class Probe
            {
                static readonly HashSet<KeyValuePair<int, int>> pairs = {|#0:new HashSet<KeyValuePair<int, int>>()|};
                static bool sink;
                static Probe() { pairs.Add(new KeyValuePair<int, int>(1, 2)); }
                [MethodImpl((MethodImplOptions)512)] public static void Run() { sink = pairs.Contains(new KeyValuePair<int, int>(1, 2)); }
            }
            """;
        var test = NoFix(source);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA2003", 0).WithMessage(
            "'KeyValuePair<int, int>' has no IEquatable<KeyValuePair<int, int>>: 'HashSet<KeyValuePair<int, int>>' boxes its items on every lookup " +
            "and ValueType.Equals may compare the fields through reflection; pass an IEqualityComparer<KeyValuePair<int, int>> to the constructor"));
        await test.RunAsync();
        Assert.True(Allocated(source) >= 24);
    }

    /// <summary>
    /// <c>Contains(pair)</c> on a dictionary, through the interface or <c>Enumerable.Contains</c>: every BCL dictionary
    /// implements <c>ICollection&lt;KeyValuePair&lt;K, V&gt;&gt;.Contains</c> as a key lookup plus the value's comparer, so no
    /// KeyValuePair is compared or boxed: 0 B per call of all seven, measured on .NET 10. Where the static type is an
    /// interface (<c>IEnumerable&lt;KeyValuePair&lt;K, V&gt;&gt;</c>) the runtime type could be a list that does box: unknown,
    /// so the rule says nothing either way.
    /// </summary>
    [Fact]
    public async Task KeyValuePairContainsOnADictionary_KeyLookupNoPairEquality_NoDiagnostic()
    {
        const string source = Usings + """
            using System.Collections.Concurrent;
            using System.Collections.ObjectModel;
            public static class Probe
            {
                static readonly Dictionary<int, string> map = new Dictionary<int, string> { [1] = "a", [2] = "b" };
                static readonly IDictionary<int, string> asInterface = map;
                static readonly ICollection<KeyValuePair<int, string>> asCollection = map;
                static readonly IEnumerable<KeyValuePair<int, string>> asSequence = map;
                static readonly ConcurrentDictionary<int, string> concurrent = new ConcurrentDictionary<int, string>(map);
                static readonly SortedDictionary<int, string> sorted = new SortedDictionary<int, string>(map);
                static readonly ReadOnlyDictionary<int, string> readOnly = new ReadOnlyDictionary<int, string>(map);
                static int sink;
                [MethodImpl((MethodImplOptions)512)]
                public static void Run()
                {
                    var pair = new KeyValuePair<int, string>(1, "a");
                    if (map.Contains(pair)) sink++;
                    if (asInterface.Contains(pair)) sink++;
                    if (asCollection.Contains(pair)) sink++;
                    if (asSequence.Contains(pair)) sink++;
                    if (concurrent.Contains(pair)) sink++;
                    if (sorted.Contains(pair)) sink++;
                    if (Enumerable.Contains(readOnly, pair)) sink++;
                }
            }
            """;
        await Analyze(source).RunAsync();
        Assert.Equal(0, Allocated(source));
        Assert.Equal(7, int.Parse(Behaviour.Run(source.Replace("static int sink;", "static int sink; public static int Count() { Run(); return sink; }"), "Probe", "Count")));
    }

    /// <summary>A list or array of pairs does compare KeyValuePairs with the default comparer (ValueType.Equals through
    /// reflection: the pair holds a string). KeyValuePair is not the caller's to change, so the message says what the
    /// caller can do instead of implementing IEquatable, and no fix is offered.</summary>
    [Fact]
    public async Task KeyValuePairSearchInAListOrArray_Reported_SuggestsAPredicateNotIEquatable_NoFix()
    {
        const string source = Usings + """
            public static class Probe
            {
                static readonly List<KeyValuePair<int, string>> list = new List<KeyValuePair<int, string>> { new KeyValuePair<int, string>(2, "b"), new KeyValuePair<int, string>(1, "a") };
                static readonly KeyValuePair<int, string>[] array = list.ToArray();
                static bool sink;
                [MethodImpl((MethodImplOptions)512)] public static void Run() { sink = list.{|#0:Contains(new KeyValuePair<int, string>(1, "a"))|}; }
                public static bool Other(KeyValuePair<int, string> pair) => array.{|#1:Contains(pair)|};
            }
            """;
        var test = NoFix(source);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA2003", 0).WithMessage(
            "'KeyValuePair<int, string>' has no IEquatable<KeyValuePair<int, string>>: 'List<KeyValuePair<int, string>>.Contains' boxes the items " +
            "on every comparison and ValueType.Equals may compare the fields through reflection; search with a predicate instead (Exists)"));
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA2003", 1).WithMessage(
            "'KeyValuePair<int, string>' has no IEquatable<KeyValuePair<int, string>>: 'Contains' boxes the items on every comparison and " +
            "ValueType.Equals may compare the fields through reflection; pass an IEqualityComparer<KeyValuePair<int, string>> or search with a predicate (Any)"));
        await test.RunAsync();
        Assert.True(Allocated(source) >= 48, "two pairs compared, each boxed twice");
    }

    /// <summary>A dictionary's pair Contains compares the value with EqualityComparer&lt;V&gt;.Default, only when the key is
    /// found: a struct value without IEquatable boxes on hits (measured), nothing on misses.</summary>
    [Fact]
    public async Task PairContainsOnADictionaryOfStructValues_ReportsTheValueOnEveryHit()
    {
        const string source = Usings + PlainPoint + """
            public static class Probe
            {
                static readonly Dictionary<int, Point> map = new Dictionary<int, Point> { [1] = new Point { X = 1 } };
                static bool sink;
                [MethodImpl((MethodImplOptions)512)] public static void Run() { sink = map.{|#0:Contains(new KeyValuePair<int, Point>(1, new Point { X = 1 }))|}; }
                [MethodImpl((MethodImplOptions)512)] public static void Miss() { sink = map.{|#1:Contains(new KeyValuePair<int, Point>(2, new Point { X = 1 }))|}; }
            }
            """;
        const string message = "'Point' has no IEquatable<Point>: 'Contains' on a 'Dictionary<int, Point>' boxes the values on every hit " +
                               "(a lookup that finds the key) and ValueType.Equals may compare the fields through reflection";
        var test = Analyze(source);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA2003", 0).WithMessage(message));
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA2003", 1).WithMessage(message));
        await test.RunAsync();
        AssertBoxesUnlessEquatable(source);
        Assert.Equal(0, IlInspection.Compile(source).AllocatedBytesPerCall("Probe", "Miss"));
    }

    /// <summary>ImmutableDictionary compares values with a comparer WithComparers can replace, ReadOnlyDictionary forwards
    /// to the dictionary it wraps: what their pair Contains does is not known from the type, so nothing is claimed.</summary>
    [Fact]
    public async Task PairContainsOnADictionaryWhoseValueComparerIsNotKnown_NoDiagnostic()
    {
        const string source = Usings + "using System.Collections.Immutable;\nusing System.Collections.ObjectModel;\n" + PlainPoint + """
            public static class Probe
            {
                static readonly ImmutableDictionary<int, Point> immutable = ImmutableDictionary<int, Point>.Empty;
                static readonly ReadOnlyDictionary<int, Point> readOnly = new ReadOnlyDictionary<int, Point>(new Dictionary<int, Point>());
                public static bool Run(KeyValuePair<int, Point> pair) => immutable.Contains(pair) || readOnly.Contains(pair);
            }
            """;
        await Analyze(source).RunAsync();
    }

    /// <summary>Named arguments can put the source after the value; the source is still the collection judged.</summary>
    [Fact]
    public async Task EnumerableContainsWithNamedArguments_JudgesTheSource()
    {
        const string source = Usings + PlainPoint + """
            public static class Probe
            {
                static readonly Dictionary<int, Point> map = new Dictionary<int, Point>();
                public static bool Run(KeyValuePair<int, Point> pair) => Enumerable.{|#0:Contains(value: pair, source: map)|};
            }
            """;
        var test = Analyze(source);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA2003", 0).WithMessage(
            "'Point' has no IEquatable<Point>: 'Contains' on a 'Dictionary<int, Point>' boxes the values on every hit " +
            "(a lookup that finds the key) and ValueType.Equals may compare the fields through reflection"));
        await test.RunAsync();
    }

    [Theory]
    [InlineData(LanguageVersion.CSharp7_3, ReferenceSet.Net80)]
    [InlineData(LanguageVersion.CSharp7_3, ReferenceSet.Net472)]
    [InlineData(LanguageVersion.Latest, ReferenceSet.NetStandard20)]
    public async Task OlderLanguageVersionsAndTargetsWithoutHashCode_FixCombinesByHand(LanguageVersion version, ReferenceSet references)
    {
        const string source = """
            using System;
            using System.Collections.Generic;
            using System.Runtime.CompilerServices;

            public enum Kind { A, B }

            public struct Key
            {
                public int Id;
                public string Name;
                public Kind Kind;
                public double Weight;
            }

            public static class Probe
            {
                static readonly Dictionary<Key, int> map = [|new Dictionary<Key, int>()|];
                static int sink;
                static Probe() { map[new Key { Id = 1, Name = "a" }] = 3; }
                [MethodImpl((MethodImplOptions)512)] public static void Run() { sink = map[new Key { Id = 1, Name = "a" }]; }
            }
            """;
        var hashCode = references == ReferenceSet.Net80
            ? "    public override int GetHashCode() => HashCode.Combine(Id, Name, Kind, Weight);\n"
            : """
                  public override int GetHashCode()
                  {
                      unchecked
                      {
                          int hash = 17;
                          hash = hash * 31 + Id.GetHashCode();
                          hash = hash * 31 + EqualityComparer<string>.Default.GetHashCode(Name);
                          hash = hash * 31 + EqualityComparer<Kind>.Default.GetHashCode(Kind);
                          hash = hash * 31 + EqualityComparer<double>.Default.GetHashCode(Weight);
                          return hash;
                      }
                  }

              """;
        var fixedSource = """
            using System;
            using System.Collections.Generic;
            using System.Runtime.CompilerServices;

            public enum Kind { A, B }

            public struct Key : IEquatable<Key>
            {
                public int Id;
                public string Name;
                public Kind Kind;
                public double Weight;

                public bool Equals(Key other) => Id == other.Id && Name == other.Name && Kind == other.Kind && EqualityComparer<double>.Default.Equals(Weight, other.Weight);

                public override bool Equals(object obj) => obj is Key other && Equals(other);

            """ + "\n" + hashCode + """

                public static bool operator ==(Key left, Key right) => left.Equals(right);

                public static bool operator !=(Key left, Key right) => !left.Equals(right);
            }

            public static class Probe
            {
                static readonly Dictionary<Key, int> map = new Dictionary<Key, int>();
                static int sink;
                static Probe() { map[new Key { Id = 1, Name = "a" }] = 3; }
                [MethodImpl((MethodImplOptions)512)] public static void Run() { sink = map[new Key { Id = 1, Name = "a" }]; }
            }
            """;
        var test = Fix(source, fixedSource, version, references);
        test.NullableContextOptions = NullableContextOptions.Disable;
        await test.RunAsync();
        Assert.True(Allocated(source, version, references) >= 24);
        Assert.Equal(0, Allocated(fixedSource, version, references));
    }

    [Fact]
    public async Task ReadonlyStructAutoPropertiesGenericAndExistingMembers_FixKeepsWhatExists()
    {
        const string source = """
            using System;
            using System.Collections.Generic;

            public readonly struct Id
            {
                public Id(int value) { Value = value; }
                public int Value { get; }
                public override int GetHashCode() => Value;
                public override string ToString() => "#" + Value;
            }

            public struct Tagged<T> : IComparable<Tagged<T>>
            {
                public string Tag;
                public T Item;
                public int CompareTo(Tagged<T> other) => string.CompareOrdinal(Tag, other.Tag);
            }

            public static class Use
            {
                public static HashSet<Id> Ids() => [|new HashSet<Id>()|];
                public static HashSet<Tagged<long>> Tags() => [|new HashSet<Tagged<long>>()|];
            }
            """;
        const string fixedSource = """
            using System;
            using System.Collections.Generic;

            public readonly struct Id : IEquatable<Id>
            {
                public Id(int value) { Value = value; }
                public int Value { get; }
                public override int GetHashCode() => Value;
                public override string ToString() => "#" + Value;

                public bool Equals(Id other) => Value == other.Value;

                public override bool Equals(object? obj) => obj is Id other && Equals(other);

                public static bool operator ==(Id left, Id right) => left.Equals(right);

                public static bool operator !=(Id left, Id right) => !left.Equals(right);
            }

            public struct Tagged<T> : IComparable<Tagged<T>>, IEquatable<Tagged<T>>
            {
                public string Tag;
                public T Item;
                public int CompareTo(Tagged<T> other) => string.CompareOrdinal(Tag, other.Tag);

                public bool Equals(Tagged<T> other) => Tag == other.Tag && EqualityComparer<T>.Default.Equals(Item, other.Item);

                public override bool Equals(object? obj) => obj is Tagged<T> other && Equals(other);

                public override int GetHashCode() => HashCode.Combine(Tag, Item);

                public static bool operator ==(Tagged<T> left, Tagged<T> right) => left.Equals(right);

                public static bool operator !=(Tagged<T> left, Tagged<T> right) => !left.Equals(right);
            }

            public static class Use
            {
                public static HashSet<Id> Ids() => new HashSet<Id>();
                public static HashSet<Tagged<long>> Tags() => new HashSet<Tagged<long>>();
            }
            """;
        var test = Fix(source, fixedSource);
        test.NullableContextOptions = NullableContextOptions.Annotations;
        await test.RunAsync();
    }

    [Fact]
    public async Task GenericStructWithoutReferenceFields_NoFix()
    {
        // Pair<double> has no references, so .NET Framework compares its bits: no provably equal fix.
        const string source = Usings + """
            public struct Pair<T> { public T First; public T Second; }
            public static class Probe
            {
                static readonly HashSet<Pair<double>> set = [|new HashSet<Pair<double>>()|];
                static bool sink;
                static Probe() { set.Add(new Pair<double> { First = 1 }); }
                [MethodImpl((MethodImplOptions)512)] public static void Run() { sink = set.Contains(new Pair<double> { First = 1 }); }
            }
            """;
        await NoFix(source).RunAsync();
        Assert.True(Allocated(source) >= 24);
    }

    [Fact]
    public async Task ManySitesOfOneStructInSeveralDocuments_FixAllEditsTheStructOnce()
    {
        const string point = "using System;\n\npublic struct Point\n{\n    public int X;\n    public int Y;\n}\n";
        const string fixedPoint = """
            using System;

            public struct Point : IEquatable<Point>
            {
                public int X;
                public int Y;

                public bool Equals(Point other) => X == other.X && Y == other.Y;

                public override bool Equals(object? obj) => obj is Point other && Equals(other);

                public override int GetHashCode() => HashCode.Combine(X, Y);

                public static bool operator ==(Point left, Point right) => left.Equals(right);

                public static bool operator !=(Point left, Point right) => !left.Equals(right);
            }

            """;
        const string cell = "using System;\n\npublic struct Cell\n{\n    public byte Row;\n}\n";
        const string fixedCell = """
            using System;

            public struct Cell : IEquatable<Cell>
            {
                public byte Row;

                public bool Equals(Cell other) => Row == other.Row;

                public override bool Equals(object? obj) => obj is Cell other && Equals(other);

                public override int GetHashCode() => HashCode.Combine(Row);

                public static bool operator ==(Cell left, Cell right) => left.Equals(right);

                public static bool operator !=(Cell left, Cell right) => !left.Equals(right);
            }

            """;
        const string uses = """
            using System.Collections.Generic;
            using System.Linq;
            public static class Uses
            {
                public static Dictionary<Point, int> A() => [|new Dictionary<Point, int>()|];
                public static HashSet<Point> B() => [|new HashSet<Point>()|];
                public static bool C(Point p) => [|EqualityComparer<Point>.Default|].Equals(p, p);
                public static int D(Cell[] cells) => cells.[|Distinct()|].Count() + new HashSet<(Cell, Point)>().Count;
            }
            """;
        const string fixedUses = """
            using System.Collections.Generic;
            using System.Linq;
            public static class Uses
            {
                public static Dictionary<Point, int> A() => new Dictionary<Point, int>();
                public static HashSet<Point> B() => new HashSet<Point>();
                public static bool C(Point p) => EqualityComparer<Point>.Default.Equals(p, p);
                public static int D(Cell[] cells) => cells.Distinct().Count() + new HashSet<(Cell, Point)>().Count;
            }
            """;
        var test = new AnalyzerTest(new StructDefaultEqualityAnalyzer()) { CodeFix = new StructDefaultEqualityFix() };
        test.Sources.Add(point);
        test.Sources.Add(uses.Replace("new HashSet<(Cell, Point)>()", "[|new HashSet<(Cell, Point)>()|]"));
        test.Sources.Add(cell);
        test.FixedSources.Add(fixedPoint);
        test.FixedSources.Add(fixedUses);
        test.FixedSources.Add(fixedCell);
        await test.RunAsync();
    }

    [Fact]
    public async Task StructInAnotherProject_ReportedWithoutFix()
    {
        var test = new AnalyzerTest(new StructDefaultEqualityAnalyzer()) { CodeFix = new StructDefaultEqualityFix(), ExpectNoFix = true };
        test.Sources.Add("public struct Point { public int X; }");
        test.OtherProjectSources.Add("using System.Collections.Generic;\npublic static class Uses { public static HashSet<Point> A() => [|new HashSet<Point>()|]; }");
        await test.RunAsync();
    }

    [Fact]
    public void Fix_KeepsBehaviour_EqualityAndLookups()
    {
        const string program = """
            public static class Program
            {
                public static string Run()
                {
                    var a = new Key { Id = 1, Name = "n", Mode = Mode.On };
                    var b = new Key { Id = 1, Name = string.Concat("n", ""), Mode = Mode.On };
                    var c = new Key { Id = 1, Name = null, Mode = Mode.On };
                    var d = new Key { Id = 2, Name = "n", Mode = Mode.On, Weight = -0.0 };
                    var e = new Key { Id = 2, Name = "n", Mode = Mode.On, Weight = 0.0 };
                    var f = new Key { Id = 3, Name = "n", Weight = double.NaN };
                    var g = new Key { Id = 3, Name = "n", Weight = double.NaN };
                    var map = new Dictionary<Key, int> { [a] = 1, [c] = 2, [d] = 3, [f] = 4 };
                    var bits = new Small { A = 1, B = -1, C = 'x' };
                    var same = new Small { A = 1, B = -1, C = 'x' };
                    var set = new HashSet<Small> { bits };
                    return string.Join(",", a.Equals(b), a.Equals(c), c.Equals(new Key { Id = 1, Mode = Mode.On }), d.Equals(e), f.Equals(g),
                        a.Equals((object)b), a.Equals(null), map[b], map[e], map[g], map.ContainsKey(new Key()), bits.Equals(same), set.Contains(same),
                        new[] { a, c }.Distinct().Count(), new List<Key> { c, a }.IndexOf(b));
                }
            }
            """;
        const string before = "using System;\nusing System.Collections.Generic;\nusing System.Linq;\npublic enum Mode { Off, On }\n" +
            "public struct Key { public int Id; public string Name; public Mode Mode; public double Weight; }\n" +
            "public struct Small { public byte A; public sbyte B; public char C; }\n" + program;
        const string after = "using System;\nusing System.Collections.Generic;\nusing System.Linq;\npublic enum Mode { Off, On }\n" +
            "public struct Key : IEquatable<Key> { public int Id; public string Name; public Mode Mode; public double Weight;\n" +
            "public bool Equals(Key other) => Id == other.Id && Name == other.Name && Mode == other.Mode && EqualityComparer<double>.Default.Equals(Weight, other.Weight);\n" +
            "public override bool Equals(object obj) => obj is Key other && Equals(other);\n" +
            "public override int GetHashCode() => HashCode.Combine(Id, Name, Mode, Weight);\n" +
            "public static bool operator ==(Key left, Key right) => left.Equals(right);\npublic static bool operator !=(Key left, Key right) => !left.Equals(right); }\n" +
            "public struct Small : IEquatable<Small> { public byte A; public sbyte B; public char C;\n" +
            "public bool Equals(Small other) => A == other.A && B == other.B && C == other.C;\n" +
            "public override bool Equals(object obj) => obj is Small other && Equals(other);\n" +
            "public override int GetHashCode() => HashCode.Combine(A, B, C); }\n" + program;
        Assert.Equal("True,False,True,True,True,True,False,1,3,4,False,True,True,2,1", Behaviour.Run(before));
        Assert.Equal(Behaviour.Run(before), Behaviour.Run(after));
    }

    // ================================================================== not reported

    [Fact]
    public async Task EquatableStruct_NoDiagnostic()
    {
        const string source = Usings + EquatablePoint + """
            public static class Probe
            {
                static readonly Dictionary<Point, int> map = new Dictionary<Point, int> { [new Point { X = 1 }] = 1 };
                static readonly List<Point> list = new List<Point> { new Point(), new Point { X = 1 } };
                static int sink;
                [MethodImpl((MethodImplOptions)512)] public static void Run() { sink = map[new Point { X = 1 }] + list.IndexOf(new Point { X = 1 }); }
                public static bool Other(Point p) => EqualityComparer<Point>.Default.Equals(p, p) && new[] { p }.Distinct().Any();
            }
            """;
        await Analyze(source).RunAsync();
        Assert.Equal(0, Allocated(source));
    }

    [Fact]
    public async Task RecordStruct_NoDiagnostic()
    {
        const string source = Usings + """
            public record struct Point(int X, int Y);
            public static class Probe
            {
                static readonly HashSet<Point> set = new HashSet<Point> { new Point(1, 2) };
                static bool sink;
                [MethodImpl((MethodImplOptions)512)] public static void Run() { sink = set.Contains(new Point(1, 2)); }
            }
            """;
        await Analyze(source, LanguageVersion.CSharp10).RunAsync();
        Assert.Equal(0, Allocated(source, LanguageVersion.CSharp10));
    }

    [Fact]
    public async Task EnumsPrimitivesStringsAndEquatableTuples_NoDiagnostic()
    {
        const string source = Usings + """
            public enum Color { Red, Green }
            public static class Probe
            {
                static readonly Dictionary<Color, int> byColor = new Dictionary<Color, int> { [Color.Green] = 1 };
                static readonly Dictionary<(int, string, Color), int> byTuple = new Dictionary<(int, string, Color), int> { [(1, "a", Color.Red)] = 2 };
                static readonly HashSet<Guid> guids = new HashSet<Guid>();
                static readonly List<DateTime> days = new List<DateTime>();
                static int sink;
                [MethodImpl((MethodImplOptions)512)] public static void Run() { sink = byColor[Color.Green] + byTuple[(1, "a", Color.Red)]; }
                public static bool Other(int[] xs, string[] s, int? n) => xs.Distinct().Contains(3) && s.ToHashSet().Count > 0 && days.Contains(DateTime.Now) && EqualityComparer<int?>.Default.Equals(n, 1);
            }
            """;
        await Analyze(source).RunAsync();
        Assert.Equal(0, Allocated(source));
    }

    [Fact]
    public async Task ComparerPassed_NoDiagnostic()
    {
        const string source = Usings + PlainPoint + """
            public sealed class PointComparer : IEqualityComparer<Point>
            {
                public static readonly PointComparer Instance = new PointComparer();
                public bool Equals(Point a, Point b) => a.X == b.X && a.Y == b.Y;
                public int GetHashCode(Point p) => p.X * 31 + p.Y;
            }
            public static class Probe
            {
                static readonly Dictionary<Point, int> map = new Dictionary<Point, int>(PointComparer.Instance) { [new Point { X = 1 }] = 1 };
                static readonly HashSet<Point> set = new HashSet<Point>(4, PointComparer.Instance);
                static int sink;
                [MethodImpl((MethodImplOptions)512)] public static void Run() { sink = map[new Point { X = 1 }]; }
                public static int Other(Point[] points) => points.ToDictionary(p => p, p => 1, PointComparer.Instance).Count + points.ToHashSet(PointComparer.Instance).Count;
            }
            """;
        await Analyze(source).RunAsync();
        Assert.Equal(0, Allocated(source));
    }

    [Fact]
    public async Task NullableOfEquatableStruct_NoDiagnostic()
    {
        const string source = Usings + EquatablePoint + """
            public static class Probe
            {
                static readonly HashSet<Point?> set = new HashSet<Point?> { new Point { X = 1 }, null };
                static bool sink;
                [MethodImpl((MethodImplOptions)512)] public static void Run() { sink = set.Contains(new Point { X = 1 }); }
            }
            """;
        await Analyze(source).RunAsync();
        Assert.Equal(0, Allocated(source));
    }

    [Fact]
    public async Task TypeParameterKey_NoDiagnostic()
    {
        // Whether it boxes depends on the type argument: allocation-free for an IEquatable one, boxing for a plain struct.
        const string source = Usings + PlainPoint + """
            public struct Good : IEquatable<Good> { public int X; public bool Equals(Good o) => o.X == X; public override int GetHashCode() => X; }
            public static class Cache<T> where T : struct
            {
                public static readonly HashSet<T> Set = new HashSet<T>();
                public static bool Has(T key) => Set.Contains(key) && EqualityComparer<T>.Default.Equals(key, key);
            }
            public static class Probe
            {
                static bool sink;
                static Probe() { Cache<Good>.Set.Add(new Good()); Cache<{|MSA2003:Point|}>.Set.Add(new Point()); }
                [MethodImpl((MethodImplOptions)512)] public static void Run() { sink = Cache<Good>.Has(new Good()); }
                [MethodImpl((MethodImplOptions)512)] public static void RunPlain() { sink = Cache<Point>.Has(new Point()); }
            }
            """;
        await Analyze(source.Replace("{|MSA2003:Point|}", "Point")).RunAsync();
        var il = IlInspection.Compile(source);
        Assert.Equal(0, il.AllocatedBytesPerCall("Probe", "Run"));
        Assert.True(il.AllocatedBytesPerCall("Probe", "RunPlain") >= 24);
    }

    [Fact]
    public async Task SortedCollections_NoDiagnostic()
    {
        // Sorted collections use IComparer<T>, not the equality comparer.
        const string source = Usings + """
            public struct Rank : IComparable<Rank> { public int Value; public int CompareTo(Rank o) => Value.CompareTo(o.Value); }
            public static class Probe
            {
                static readonly SortedSet<Rank> set = new SortedSet<Rank> { new Rank { Value = 1 }, new Rank { Value = 2 } };
                static readonly SortedDictionary<Rank, int> map = new SortedDictionary<Rank, int> { [new Rank { Value = 1 }] = 1 };
                static bool sink;
                [MethodImpl((MethodImplOptions)512)] public static void Run() { sink = set.Contains(new Rank { Value = 2 }) && map.ContainsKey(new Rank { Value = 1 }); }
            }
            """;
        await Analyze(source).RunAsync();
        Assert.Equal(0, Allocated(source));
    }

    [Fact]
    public async Task UserTypesNamedLikeTheBclSites_NoDiagnostic()
    {
        // The sites are recognised by name, arity and namespace (no lookup at compilation start): a user's own types of
        // the same names and arities in another namespace are not the BCL's, and their callers are not reported.
        const string source = "using System;\n" + PlainPoint + """
            namespace Shop
            {
                public class Dictionary<TKey, TValue> { public bool ContainsKey(TKey key) => false; }
                public class HashSet<T> { }
                public class List<T> { public bool Contains(T item) => false; public int IndexOf(T item) => -1; }
                public abstract class EqualityComparer<T> { public static EqualityComparer<T> Default => null; }
                public interface IEqualityComparer<T> { }
                public static class Enumerable
                {
                    public static T[] Distinct<T>(this T[] source) => source;
                    public static bool Contains<T>(this T[] source, T value) => false;
                }

                public static class Probe
                {
                    public static bool Run(Point p, Point[] points)
                    {
                        var map = new Dictionary<Point, int>();
                        var set = new HashSet<Point>();
                        var list = new List<Point>();
                        var comparer = EqualityComparer<Point>.Default;
                        return map.ContainsKey(p) && set != null && list.Contains(p) && list.IndexOf(p) >= 0 && comparer != null
                            && Enumerable.Distinct(points).Length > 0 && points.Contains(p);
                    }
                }
            }
            """;
        await Analyze(source).RunAsync();
    }

    [Fact]
    public async Task ClassKey_NoDiagnostic()
    {
        const string source = Usings + """
            public sealed class Name { public string Value; }
            public static class Probe
            {
                static readonly Name key = new Name { Value = "a" };
                static readonly Dictionary<Name, int> map = new Dictionary<Name, int> { [key] = 1 };
                static int sink;
                [MethodImpl((MethodImplOptions)512)] public static void Run() { sink = map[key]; }
            }
            """;
        await Analyze(source).RunAsync();
        Assert.Equal(0, Allocated(source));
    }

    [Fact]
    public async Task EquatableWithoutGetHashCodeOverride_HashingSitesReported_NoFix()
    {
        // Comparisons call Equals(Key) without boxing, but the default comparer hashes through the inherited
        // GetHashCode, which boxes the key once per hash (24 B per lookup on .NET 10) and may disagree with
        // Equals(Key). Hashing sites are reported (no fix: only the author knows which fields Equals uses).
        const string declaration = "public struct Key : IEquatable<Key> { public int A; public bool Equals(Key o) => o.A == A; }";
        const string withHash = "public struct Key : IEquatable<Key> { public int A; public bool Equals(Key o) => o.A == A; public override int GetHashCode() => A; }";
        const string source = Usings + declaration + """

            public static class Probe
            {
                static readonly Dictionary<Key, int> map = {|#0:new Dictionary<Key, int>|} { [new Key { A = 1 }] = 1 };
                static readonly Key[] keys = { new Key { A = 1 } };
                static int sink;
                [MethodImpl((MethodImplOptions)512)] public static void Run() { sink = map[new Key { A = 1 }]; }
                public static int Groups() => keys.{|#1:GroupBy(k => k)|}.Count() + (keys.Contains(new Key()) ? 1 : 0);
            }
            """;
        var test = NoFix(source);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA2003", 0).WithMessage(
            "'Key' implements IEquatable<Key> but does not override GetHashCode(): 'Dictionary<Key, int>' boxes its keys on every lookup to run ValueType.GetHashCode(), which may not agree with Equals(Key)"));
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA2003", 1));
        await test.RunAsync();
        Assert.InRange(Allocated(source), 24, 48);
        Assert.Equal(0, Allocated(source.Replace(declaration, withHash)));
    }

    [Fact]
    public async Task EquatableWithoutGetHashCodeOverride_SearchesOnlyCompare_NoDiagnostic()
    {
        // List<T>.Contains and Enumerable.Contains only call Equals(Key): no hash, no box.
        const string source = Usings + """
            public struct Key : IEquatable<Key> { public int A; public bool Equals(Key o) => o.A == A; }
            public static class Probe
            {
                static readonly List<Key> list = new List<Key> { new Key { A = 1 }, new Key { A = 2 } };
                static bool sink;
                [MethodImpl((MethodImplOptions)512)] public static void Run() { sink = list.Contains(new Key { A = 2 }) && Enumerable.Contains(list, new Key { A = 1 }); }
            }
            """;
        await Analyze(source).RunAsync();
        Assert.Equal(0, Allocated(source));
    }

    [Fact]
    public async Task LookupsOnAReportedCollection_NoDiagnosticPerCall()
    {
        // One report per site that picks the comparer (the creation), not one per Add/ContainsKey/indexer.
        const string source = Usings + PlainPoint + """
            public static class Probe
            {
                public static int M(Dictionary<Point, int> given, Point p)
                {
                    given[p] = 1;
                    given.Add(new Point(), 2);
                    return given.ContainsKey(p) && given.TryGetValue(p, out var v) ? v : given.Count;
                }
            }
            """;
        await Analyze(source).RunAsync();
        Assert.Empty(IlInspection.Compile(source).Boxes);
    }

    [Fact]
    public async Task GeneratedCode_NoDiagnostic()
    {
        const string source = "// <auto-generated/>\n" + Usings + PlainPoint + """
            public static class Probe
            {
                static readonly HashSet<Point> set = new HashSet<Point> { new Point() };
                static bool sink;
                [MethodImpl((MethodImplOptions)512)] public static void Run() { sink = set.Contains(new Point()); }
            }
            """;
        await Analyze(source).RunAsync();
        Assert.True(Allocated(source) >= 24); // it boxes; generated code is not ours to report
    }

    [Fact]
    public async Task IncompleteCode_NoDiagnosticAndNoCrash()
    {
        var test = Analyze(Usings + PlainPoint + """
            public struct Broken : Missing { public Unknown U; }
            public static class C
            {
                public static object A() => new Dictionary<Point, >();
                public static object B() => new HashSet<Missing>();
                public static object D(List<Point> l) => l.Contains(;
                public static object E() => EqualityComparer<Broken>.Default;
                public static object F() => new Dictionary<Point, int>(
            }
            """);
        test.AllowCompilerErrors = true;
        await test.RunAsync();
    }
}
