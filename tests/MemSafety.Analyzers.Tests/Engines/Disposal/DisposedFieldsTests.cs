using System.Linq;
using MemSafety.Analyzers.Engines.Disposal;
using Microsoft.CodeAnalysis;

namespace MemSafety.Analyzers.Tests.Engines.Disposal;

/// <summary>Field-level facts: created here or received, handed on or kept, disposed where; the dispose methods a
/// type declares and what its disposal runs.</summary>
public sealed class DisposedFieldsTests
{
    private static FieldLifetime Lifetime(DisposalTestCode code, string type, string field)
    {
        var symbol = code.Type(type);
        var fields = symbol.GetMembers().OfType<IFieldSymbol>().Where(f => !f.IsImplicitlyDeclared).ToList();
        return DisposedFields.Scan(code.Types, symbol, fields, default).Single(l => l.Field.Name == field);
    }

    [Fact]
    public void Creation_NewFactoryLazyConditional_AreOwned()
    {
        var code = DisposalTestCode.Compile("""
            using System.IO;
            using System.Threading;
            class Owner
            {
                private FileStream _initialized = new FileStream("a", FileMode.Create);
                private Stream _factory;
                private Timer? _lazy;
                private Stream _either;
                private Stream? _nulled = null;
                public Owner(bool flag)
                {
                    _factory = File.OpenRead("b");
                    _either = flag ? new FileStream("c", FileMode.Create) : File.Create("d");
                }
                public void Start() => _lazy ??= new Timer(_ => { });
                public void Reset() => _nulled = null;
            }
            """);
        foreach (var name in new[] { "_initialized", "_factory", "_lazy", "_either" })
        {
            var lifetime = Lifetime(code, "Owner", name);
            Assert.True(lifetime.IsOwned, name);
            Assert.NotNull(lifetime.Creation);
        }

        Assert.Equal("FileStream", Lifetime(code, "Owner", "_factory").CreatedType!.Name);
        Assert.Equal("Timer", Lifetime(code, "Owner", "_lazy").CreatedType!.Name);
        var nulled = Lifetime(code, "Owner", "_nulled");
        Assert.Null(nulled.Creation);
        Assert.False(nulled.Received);
    }

    [Fact]
    public void Received_ParameterCoalesceCallResultOutArgument()
    {
        var code = DisposalTestCode.Compile("""
            using System.IO;
            class Owner
            {
                private Stream _given;
                private Stream _maybe;
                private Stream _fromCall;
                private Stream? _out;
                public Owner(Stream given, Stream? maybe)
                {
                    _given = given;
                    _maybe = maybe ?? new FileStream("m", FileMode.Create);
                    _fromCall = Open();
                    Create(out _out);
                }
                private static Stream Open() => new MemoryStream();
                private static void Create(out Stream? s) => s = null;
            }
            """);
        foreach (var name in new[] { "_given", "_maybe", "_fromCall", "_out" })
        {
            Assert.True(Lifetime(code, "Owner", name).Received, name);
            Assert.False(Lifetime(code, "Owner", name).IsOwned, name);
        }
    }

    [Fact]
    public void IgnoredTypes_CreatedButNothingToOwn()
    {
        var code = DisposalTestCode.Compile("""
            using System.IO;
            using System.Threading;
            class Owner
            {
                private MemoryStream _memory = new MemoryStream();
                private CancellationTokenSource _plain = new CancellationTokenSource();
                private CancellationTokenSource _timed = new CancellationTokenSource(1000);
                private SemaphoreSlim _gate = new SemaphoreSlim(1);
            }
            """);
        Assert.Null(Lifetime(code, "Owner", "_gate").Creation);
        Assert.Null(Lifetime(code, "Owner", "_memory").Creation);
        Assert.False(Lifetime(code, "Owner", "_memory").Received);
        Assert.Null(Lifetime(code, "Owner", "_plain").Creation);
        Assert.True(Lifetime(code, "Owner", "_timed").IsOwned);
    }

    [Fact]
    public void HandedAway_ArgumentReturnStoreDelegatePattern_ButNotReceiversOrNonRetainingCalls()
    {
        var code = DisposalTestCode.Compile("""
            using System;
            using System.IO;
            using System.Collections.Generic;
            class Owner
            {
                private Stream _wrapped = new FileStream("a", FileMode.Create);
                private Stream _returned = new FileStream("b", FileMode.Create);
                private Stream _stored = new FileStream("c", FileMode.Create);
                private Stream _bound = new FileStream("d", FileMode.Create);
                private Stream _matched = new FileStream("e", FileMode.Create);
                private Stream _used = new FileStream("f", FileMode.Create);
                private Stream _helped = new FileStream("g", FileMode.Create);
                private readonly List<Stream> _all = new();
                private StreamReader? _reader;
                private Action? _action;
                public Stream Returned => _returned;
                public void Run()
                {
                    _reader = new StreamReader(_wrapped);
                    _all.Add(_stored);
                    _action = _bound.Flush;
                    if (_matched is FileStream file) file.Flush();
                    if (_used != null) { _used.Flush(); var length = _used.Length; lock (_used) { } }
                    Measure(_helped);
                }
                private static long Measure(Stream stream) => stream.Length;
            }
            """);
        foreach (var name in new[] { "_wrapped", "_returned", "_stored", "_bound", "_matched" })
            Assert.True(Lifetime(code, "Owner", name).HandedAway, name);
        Assert.False(Lifetime(code, "Owner", "_used").HandedAway);
        // A method of the compilation that only reads its parameter uses the argument during the call.
        Assert.False(Lifetime(code, "Owner", "_helped").HandedAway);
        Assert.True(Lifetime(code, "Owner", "_used").IsOwned);
    }

    [Fact]
    public void DisposedIn_EveryFormAndTheMemberThatDoesIt()
    {
        var code = DisposalTestCode.Compile("""
            using System;
            using System.IO;
            using System.Threading.Tasks;
            class Owner
            {
                private Stream _direct = new FileStream("a", FileMode.Create);
                private Stream? _conditional = new FileStream("b", FileMode.Create);
                private Stream _using = new FileStream("c", FileMode.Create);
                private Stream _copy = new FileStream("d", FileMode.Create);
                private Stream _cast = new FileStream("e", FileMode.Create);
                private Stream _async = new FileStream("f", FileMode.Create);
                private Stream _closed = new FileStream("g", FileMode.Create);
                private Stream _helper = new FileStream("h", FileMode.Create);
                private Stream _never = new FileStream("i", FileMode.Create);
                public void A() => _direct.Dispose();
                public void B() => _conditional?.Dispose();
                public void C() { using (_using) { } }
                public void D() { var copy = _copy; copy?.Dispose(); }
                public void E() => ((IDisposable)_cast).Dispose();
                public async Task F() => await _async.DisposeAsync();
                public void G() => _closed.Close();
                public void H() => Release(_helper);
                private static void Release(Stream stream) => stream.Dispose();
                public long I() => _never.Length;
            }
            """);
        foreach (var (field, member) in new[] { ("_direct", "A"), ("_conditional", "B"), ("_using", "C"), ("_copy", "D"), ("_cast", "E"), ("_async", "F"), ("_closed", "G"), ("_helper", "H") })
        {
            var lifetime = Lifetime(code, "Owner", field);
            Assert.Equal(member, Assert.Single(lifetime.DisposedIn).Name);
            Assert.True(lifetime.IsDisposedBeyondReplacement, field);
        }

        Assert.Empty(Lifetime(code, "Owner", "_never").DisposedIn);
    }

    [Fact]
    public void Replacement_DisposeThenCreateInOneMember_IsNotTheEndOfTheField()
    {
        var code = DisposalTestCode.Compile("""
            using System.IO;
            class Owner
            {
                private StreamWriter _current = new StreamWriter("0");
                private StreamWriter _closed = new StreamWriter("1");
                private StreamWriter? _scoped;
                public void Roll() { _current.Dispose(); _current = new StreamWriter("2"); }
                public void Close() { _closed.Dispose(); }
                public void Run()
                {
                    _scoped = new StreamWriter("3");
                    try { _scoped.Write('x'); }
                    finally { _scoped.Dispose(); _scoped = null; }
                }
            }
            """);
        // Created, used and disposed within one method: that disposal ends the value's life.
        Assert.True(Lifetime(code, "Owner", "_scoped").IsDisposedBeyondReplacement);
        Assert.Empty(Lifetime(code, "Owner", "_scoped").ReplacedIn);
        var current = Lifetime(code, "Owner", "_current");
        Assert.Equal("Roll", Assert.Single(current.ReplacedIn).Name);
        Assert.False(current.IsDisposedBeyondReplacement);
        Assert.True(Lifetime(code, "Owner", "_closed").IsDisposedBeyondReplacement);
    }

    [Fact]
    public void FieldNamedOutsideABindableBody_IsHandedAway()
    {
        var code = DisposalTestCode.Compile("""
            using System.IO;
            class Owner
            {
                private Stream _file = new FileStream("a", FileMode.Create);
                [System.Obsolete(nameof(_file))] public void M() { }
            }
            """);
        Assert.True(Lifetime(code, "Owner", "_file").HandedAway);
    }

    [Fact]
    public void DisposePath_DeclaredDisposeMethodsAndWhatTheyCallOnThis()
    {
        var code = DisposalTestCode.Compile("""
            using System;
            using System.IO;
            using System.Threading.Tasks;
            class Owner : IDisposable, IAsyncDisposable
            {
                private Stream _a = new FileStream("a", FileMode.Create);
                private Stream _b = new FileStream("b", FileMode.Create);
                public void Dispose() { Dispose(true); }
                protected virtual void Dispose(bool disposing) { if (disposing) Release(); }
                public ValueTask DisposeAsync() => default;
                private void Release() => _a.Dispose();
                public void Close() => _b.Dispose();
            }
            class Derived : Owner
            {
                protected override void Dispose(bool disposing) { base.Dispose(disposing); }
            }
            """);
        var owner = code.Type("Owner");
        Assert.Equal(new[] { "Dispose", "DisposeAsync", "Dispose" }, DisposedFields.DisposeMethodsDeclaredBy(code.Types, owner).Select(m => m.Name));
        var path = DisposedFields.DisposePath(code.Types, owner, default);
        Assert.Contains(path, m => m.Name == "Release");
        Assert.Contains(path, m => m.ContainingType.Name == "Derived");
        Assert.DoesNotContain(path, m => m.Name == "Close");
        var fields = owner.GetMembers().OfType<IFieldSymbol>().ToList();
        var lifetimes = DisposedFields.Scan(code.Types, owner, fields, default);
        Assert.True(lifetimes.Single(l => l.Field.Name == "_a").IsDisposedByAnyOf(path));
        Assert.False(lifetimes.Single(l => l.Field.Name == "_b").IsDisposedByAnyOf(path));
        Assert.NotNull(DisposedFields.DeclaredDisposeBool(code.Type("System.IO.Stream")));
        Assert.Null(DisposedFields.DeclaredDisposeBool(code.Type("System.Threading.Timer")));
    }
}
