using System.Linq;
using MemSafety.Analyzers.Engines.Disposal;

namespace MemSafety.Analyzers.Tests.Engines.Disposal;

/// <summary>What a finalizer runs: followed through calls on <c>this</c> with known <c>bool</c> arguments (the
/// <c>Dispose(false)</c> path), every override the compilation has, and each effect beyond the object's own fields.</summary>
public sealed class FinalizationPathTests
{
    private const string Usings = """
        using System;
        using System.Collections.Generic;
        using System.Diagnostics;
        using System.IO;
        using System.Runtime.InteropServices;
        using System.Threading;

        """;

    [Fact]
    public void DisposeFalse_SkipsTheDisposingBranch_OnlyTouchesItself()
    {
        var code = DisposalTestCode.Compile(Usings + """
            sealed class Cargo : IDisposable
            {
                private Stream? _stream = new MemoryStream();
                private bool _disposed;
                public void Dispose() { Dispose(true); GC.SuppressFinalize(this); }
                private void Dispose(bool disposing)
                {
                    if (_disposed) return;
                    if (disposing)
                    {
                        _stream?.Dispose();
                        _stream = null;
                    }
                    _disposed = true;
                }
                ~Cargo() { Dispose(false); }
            }
            """);
        var path = code.Path("Cargo");
        Assert.True(path.IsComplete);
        Assert.Empty(path.Effects);
        Assert.True(path.OnlyTouchesItself);
    }

    [Fact]
    public void EarlyReturnWhenNotDisposing_SkipsTheRest()
    {
        var code = DisposalTestCode.Compile(Usings + """
            sealed class Guarded
            {
                private Stream _stream = new MemoryStream();
                private void Release(bool disposing, bool log)
                {
                    if (!disposing || _stream == null)
                        return;
                    _stream.Dispose();
                }
                ~Guarded() => Release(disposing: false, log: true);
            }
            """);
        Assert.True(code.Path("Guarded").OnlyTouchesItself);
    }

    [Fact]
    public void ManagedFieldTouchedWhenNotDisposing_ReportedWithThePathThatLeadsThere()
    {
        var code = DisposalTestCode.Compile(Usings + """
            sealed class Writer
            {
                private StreamWriter _writer = new StreamWriter(new MemoryStream());
                private FileStream? _file;
                private void Dispose(bool disposing)
                {
                    _writer.Flush();
                    var file = _file;
                    file?.Dispose();
                    if (disposing) _writer.Dispose();
                }
                ~Writer() { Dispose(false); }
            }
            """);
        Assert.Equal("""
            ManagedTouch _writer via Dispose(false) at '_writer.Flush()'
            ManagedTouch _file via Dispose(false) at '.Dispose()'
            """.ReplaceLineEndings("\n"), code.Effects("Writer"));
    }

    [Fact]
    public void SafeHandleAndStringFields_AreNotManagedTouches()
    {
        var code = DisposalTestCode.Compile(Usings + """
            sealed class Holder
            {
                private Microsoft.Win32.SafeHandles.SafeFileHandle? _handle;
                private string _name = "";
                ~Holder() { _ = _name.Length; _handle?.Dispose(); }
            }
            """);
        Assert.DoesNotContain(code.Path("Holder").Effects, e => e.Kind == FinalizerEffectKind.ManagedTouch);
        Assert.Equal(FinalizerEffectKind.OutsideEffect, code.Path("Holder").Effects.Single().Kind);
    }

    [Fact]
    public void NativeCalls_PlatformInvokesAndReleaseHelpers()
    {
        var code = DisposalTestCode.Compile(Usings + """
            sealed class Native
            {
                [DllImport("kernel32")] static extern bool CloseHandle(IntPtr handle);
                private IntPtr _handle;
                private IntPtr _memory;
                private void Release() { CloseHandle(_handle); Marshal.FreeHGlobal(_memory); }
                ~Native() { Release(); }
            }
            """);
        var path = code.Path("Native");
        Assert.True(path.IsComplete);
        Assert.Equal(2, path.Effects.Count(e => e.Kind == FinalizerEffectKind.NativeCall));
        Assert.Equal("Release()", path.Effects[0].Via);
    }

    [Fact]
    public void Publication_StaticFieldCollectionAndInterlocked_AndReRegistration()
    {
        var code = DisposalTestCode.Compile(Usings + """
            sealed class Pooled
            {
                static readonly List<Pooled> s_pool = new();
                static Pooled? s_last;
                Pooled? _self;
                ~Pooled()
                {
                    s_pool.Add(this);
                    s_last = this;
                    Interlocked.Exchange(ref s_last, this);
                    _self = this;
                    GC.ReRegisterForFinalize(this);
                }
            }
            """);
        Assert.Equal("""
            Publication at 's_pool.Add(this)'
            Publication at 's_last = this'
            Publication at 'Interlocked.Exchange(ref s_last, this)'
            ReRegistration at 'GC.ReRegisterForFinalize(this)'
            """.ReplaceLineEndings("\n"), code.Effects("Pooled"));
    }

    [Fact]
    public void PublicationThroughASourceMethodThatStoresItsParameter()
    {
        var code = DisposalTestCode.Compile(Usings + """
            static class Registry
            {
                static object? s_kept;
                public static void Keep(object o) { s_kept = o; }
                public static void Log(object o) { _ = o.GetHashCode(); }
            }
            sealed class Registered
            {
                ~Registered() { Registry.Keep(this); Registry.Log(this); }
            }
            """);
        var effects = code.Path("Registered").Effects;
        Assert.Single(effects, e => e.Kind == FinalizerEffectKind.Publication);
        Assert.Equal("Keep", effects.Single(e => e.Kind == FinalizerEffectKind.Publication).Callee!.Name);
    }

    [Fact]
    public void OverridableDisposeBool_OfAPublicUnsealedType_IsIncomplete()
    {
        var code = DisposalTestCode.Compile(Usings + """
            public class Open : IDisposable
            {
                public void Dispose() { Dispose(true); GC.SuppressFinalize(this); }
                protected virtual void Dispose(bool disposing) { }
                ~Open() { Dispose(false); }
            }
            internal class Closed : IDisposable
            {
                public void Dispose() { Dispose(true); GC.SuppressFinalize(this); }
                protected virtual void Dispose(bool disposing) { }
                ~Closed() { Dispose(false); }
            }
            """);
        Assert.False(code.Path("Open").IsComplete);
        Assert.True(code.Path("Closed").OnlyTouchesItself);
    }

    [Fact]
    public void OverridesInDerivedTypesOfTheCompilation_AreFollowed()
    {
        var code = DisposalTestCode.Compile(Usings + """
            internal class Base
            {
                protected virtual void Dispose(bool disposing) { }
                ~Base() { Dispose(false); }
            }
            internal sealed class Derived : Base
            {
                private Stream _stream = new MemoryStream();
                protected override void Dispose(bool disposing)
                {
                    _stream.Flush();
                    base.Dispose(disposing);
                }
            }
            """);
        var path = code.Path("Base");
        Assert.True(path.IsComplete);
        var touch = Assert.Single(path.Effects);
        Assert.Equal(FinalizerEffectKind.ManagedTouch, touch.Kind);
        Assert.Equal("Derived.Dispose(false)", touch.Via);
    }

    [Fact]
    public void OutsideEffects_StaticState_OtherObjects_Output_Throws_UnknownLibraryBase()
    {
        var code = DisposalTestCode.Compile(Usings + """
            sealed class Tracked
            {
                static int s_live;
                private SynchronizationContext _context = new SynchronizationContext();
                ~Tracked()
                {
                    s_live--;
                    _context.OperationCompleted();
                    Console.WriteLine("finalized");
                    Debug.Assert(s_live >= 0);
                }
            }
            sealed class Thrower { ~Thrower() { throw new InvalidOperationException(); } }
            sealed class OverLibrary : System.Net.Http.HttpClientHandler
            {
                ~OverLibrary() { Dispose(false); }
            }
            sealed class OverWriter : TextWriter
            {
                public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;
                ~OverWriter() { Dispose(false); }
            }
            """);
        Assert.Equal(3, code.Path("Tracked").Effects.Count(e => e.Kind == FinalizerEffectKind.OutsideEffect));
        Assert.Equal(FinalizerEffectKind.OutsideEffect, code.Path("Thrower").Effects.Single().Kind);
        Assert.False(code.Path("OverLibrary").IsComplete);
        // TextWriter.Dispose(false) releases nothing (its source in dotnet/runtime).
        Assert.True(code.Path("OverWriter").OnlyTouchesItself);
    }

    [Fact]
    public void ConditionalCalls_CompiledOutInThisBuild_AreNothing()
    {
        const string Source = """
            sealed class LeakCheck
            {
                bool _disposed;
                ~LeakCheck() { System.Diagnostics.Debug.Assert(_disposed, "not disposed"); }
            }
            """;
        Assert.True(DisposalTestCode.Compile(Source).Path("LeakCheck").OnlyTouchesItself);
        Assert.False(DisposalTestCode.Compile(Source, new[] { "DEBUG" }).Path("LeakCheck").OnlyTouchesItself);
    }

    [Fact]
    public void OwnPropertiesAndAtomicFlags_AreTheObjectsOwnState()
    {
        var code = DisposalTestCode.Compile(Usings + """
            sealed class Flags
            {
                private int _disposed;
                public bool IsOpen { get; private set; } = true;
                private int Count { get => _disposed; set => _disposed = value; }
                ~Flags()
                {
                    if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
                    IsOpen = false;
                    Count = Count + 1;
                }
            }
            """);
        Assert.True(code.Path("Flags").OnlyTouchesItself);
    }

    [Fact]
    public void RecursionAndMutualCalls_Terminate()
    {
        var code = DisposalTestCode.Compile(Usings + """
            sealed class Loop
            {
                int _n;
                void A(bool x) { if (_n-- > 0) B(x); }
                void B(bool x) { A(x); A(!x); }
                ~Loop() { A(false); }
            }
            """);
        Assert.True(code.Path("Loop").OnlyTouchesItself);
    }
}
