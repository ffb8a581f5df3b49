using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.Finalizers;
using MemSafety.Analyzers.Tests.Verification;

namespace MemSafety.Analyzers.Tests.Finalizers;

public sealed class FinalizerTouchesManagedObjectTests
{
    // The rule is off by default (a suggestion in the Strict preset): each test turns it on, as a user would.
    private static AnalyzerTest On(string source)
    {
        var test = Verify<FinalizerTouchesManagedObjectAnalyzer>.Test(source);
        test.DiagnosticSeverities["MSA4003"] = Microsoft.CodeAnalysis.ReportDiagnostic.Warn;
        return test;
    }

    private static Task OnAsync(string source) => On(source).RunAsync();

    [Fact]
    public Task OffByDefault_NoDiagnostic() => Verify<FinalizerTouchesManagedObjectAnalyzer>.AnalyzerAsync("""
        sealed class Log
        {
            private readonly System.IO.StreamWriter _writer = new System.IO.StreamWriter(new System.IO.MemoryStream());
            ~Log() { _writer.Flush(); }
        }
        """);

    [Fact]
    public Task PureMembersOfTheField_NoDiagnostic() => OnAsync("""
        sealed class Traced
        {
            private readonly System.IO.Stream _stream = new System.IO.MemoryStream();
            public static int Last;
            ~Traced() { Last = _stream.GetHashCode(); }
        }
        """);

    [Fact]
    public Task SealedDisposableHoldingOnlyOpenDisposables_NoDiagnostic() => OnAsync("""
        using System;
        using System.Threading.Tasks;
        sealed class WaitState : IDisposable
        {
            private Task _pending = Task.CompletedTask;
            public void Release() { }
            public void Dispose() => _pending = Task.CompletedTask;
        }
        sealed class Holder
        {
            private readonly WaitState _state = new WaitState();
            ~Holder() { _state.Release(); }
        }
        """);

    // ------------------------------------------------------------------ reported

    [Fact]
    public Task WriterFlushedInTheFinalizer_MessageSaysWhy()
    {
        var test = On("""
            using System.IO;
            sealed class Log
            {
                private readonly StreamWriter _writer = new StreamWriter(new MemoryStream());
                ~Log() { {|#0:_writer.Flush()|}; }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4003", 0).WithMessage(
            "Finalizer of 'Log' calls '_writer.Flush': '_writer' is a disposable StreamWriter (not sealed): the object behind it may have a finalizer that has already run, since finalizers run in no particular order"));
        return test.RunAsync();
    }

    [Fact]
    public Task OutsideIfDisposingInDisposeFalse_MessageSaysWhere()
    {
        var test = On("""
            using System;
            using System.IO;
            sealed class Archive : IDisposable
            {
                private Stream _stream = new MemoryStream();
                private byte[]? _buffer = new byte[16];
                public void Dispose() { Dispose(true); GC.SuppressFinalize(this); }
                private void Dispose(bool disposing)
                {
                    if (disposing)
                        _buffer = null;
                    {|#0:_stream.Dispose()|};
                }
                ~Archive() { Dispose(false); }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4003", 0).WithMessage(
            "Finalizer of 'Archive' calls '_stream.Dispose' (in Dispose(false)): '_stream' is a disposable Stream (not sealed): the object behind it may have a finalizer that has already run, since finalizers run in no particular order"));
        return test.RunAsync();
    }

    [Fact]
    public Task FieldWhoseTypeHasAFinalizer_MessageSaysItMayBeFinalized()
    {
        var test = On("""
            using System;
            using System.Runtime.InteropServices;
            sealed class Block
            {
                private IntPtr _memory = Marshal.AllocHGlobal(16);
                public void Free() { Marshal.FreeHGlobal(_memory); _memory = IntPtr.Zero; }
                ~Block() { Free(); }
            }
            sealed class Owner
            {
                private readonly Block _block = new Block();
                ~Owner() { {|#0:_block.Free()|}; }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4003", 0).WithMessage(
            "Finalizer of 'Owner' calls '_block.Free': '_block' is a Block, which has a finalizer of its own; finalizers run in no particular order, so it may already have been finalized"));
        return test.RunAsync();
    }

    [Fact]
    public Task PassedToAHelperOrReadThroughAProperty_Reported()
    {
        var test = On("""
            using System.IO;
            static class Streams { public static void Close(Stream stream) => stream.Dispose(); }
            sealed class Passing
            {
                private readonly Stream _stream = new MemoryStream();
                ~Passing() { {|#0:Streams.Close(_stream)|}; }
            }
            sealed class Reading
            {
                private readonly Stream _stream = new MemoryStream();
                private long _length;
                ~Reading() { _length = {|#1:_stream.Length|}; }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4003", 0).WithMessage(
            "Finalizer of 'Passing' passes '_stream' to 'Streams.Close': '_stream' is a disposable Stream (not sealed): the object behind it may have a finalizer that has already run, since finalizers run in no particular order"));
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4003", 1).WithMessage(
            "Finalizer of 'Reading' reads '_stream.Length': '_stream' is a disposable Stream (not sealed): the object behind it may have a finalizer that has already run, since finalizers run in no particular order"));
        return test.RunAsync();
    }

    [Fact]
    public Task ThroughALocalCopyOrConditionalAccess_ReportedOncePerField() => OnAsync("""
        using System;
        sealed class Wrapper
        {
            private IDisposable? _inner = new System.IO.MemoryStream();
            ~Wrapper()
            {
                var inner = _inner;
                inner?[|.Dispose()|];
                _inner?.Dispose();
            }
        }
        """);

    [Fact]
    public Task SealedDisposableOfTheCompilationHoldingAStream_Reported()
    {
        var test = On("""
            using System;
            using System.IO;
            sealed class Journal : IDisposable
            {
                private readonly FileStream _file = new FileStream("/tmp/journal", FileMode.Append);
                public void Append(byte b) => _file.WriteByte(b);
                public void Dispose() => _file.Dispose();
            }
            sealed class Recorder
            {
                private readonly Journal _journal = new Journal();
                ~Recorder() { {|#0:_journal.Append(0)|}; }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4003", 0).WithMessage(
            "Finalizer of 'Recorder' calls '_journal.Append': '_journal' is a Journal, which holds finalizable objects of its own that may already have been finalized, since finalizers run in no particular order"));
        return test.RunAsync();
    }

    [Fact]
    public Task TouchedByAnOverrideOfADerivedType_Reported() => OnAsync("""
        using System.IO;
        internal abstract class Base
        {
            protected abstract void Dispose(bool disposing);
            ~Base() { Dispose(false); }
        }
        internal sealed class Derived : Base
        {
            private readonly TextWriter _log = new StringWriter();
            protected override void Dispose(bool disposing) { [|_log.Flush()|]; }
        }
        """);

    // ------------------------------------------------------------------ not reported

    [Fact]
    public Task TouchedOnlyWhenDisposing_NoDiagnostic() => OnAsync("""
        using System;
        using System.IO;
        sealed class Archive : IDisposable
        {
            private Stream? _stream = new MemoryStream();
            public void Dispose() { Dispose(true); GC.SuppressFinalize(this); }
            private void Dispose(bool disposing)
            {
                if (!disposing)
                    return;
                _stream?.Dispose();
                _stream = null;
            }
            ~Archive() { Dispose(false); }
        }
        """);

    [Fact]
    public Task SafeHandleField_FinalizedAfterOrdinaryFinalizers_NoDiagnostic() => OnAsync("""
        using Microsoft.Win32.SafeHandles;
        sealed class Holder
        {
            private readonly SafeFileHandle _handle = new SafeFileHandle(System.IntPtr.Zero, ownsHandle: false);
            ~Holder() { if (!_handle.IsInvalid) _handle.Dispose(); }
        }
        """);

    [Fact]
    public Task NonDisposableObjectsAndSealedLibraryDisposables_NoDiagnostic() => OnAsync("""
        using System.Collections.Generic;
        using System.Threading;
        sealed class Tracker
        {
            private readonly List<int> _items = new();
            private readonly SynchronizationContext _context = new();
            private readonly ManualResetEvent _done = new(false);
            ~Tracker()
            {
                _items.Clear();
                _context.OperationCompleted();
                _done.Set();
            }
        }
        """);

    [Fact]
    public Task NullChecksAndClearingTheField_NoDiagnostic() => OnAsync("""
        sealed class Clearing
        {
            private System.IO.Stream? _stream = new System.IO.MemoryStream();
            public bool WasOpen;
            ~Clearing()
            {
                WasOpen = _stream != null;
                _stream = null;
                System.GC.KeepAlive(_stream);
            }
        }
        """);

    [Fact]
    public Task StaticFieldsAreNotFinalizedWithTheObject_NoDiagnostic() => OnAsync("""
        sealed class Counter
        {
            private static readonly System.IO.StringWriter s_log = new();
            ~Counter() { s_log.WriteLine("finalized"); }
        }
        """);

    [Fact]
    public Task TouchedOutsideTheFinalizersPath_NoDiagnostic() => OnAsync("""
        using System;
        sealed class Session : IDisposable
        {
            private readonly System.IO.Stream _stream = new System.IO.MemoryStream();
            private bool _finalized;
            public void Dispose() { _stream.Dispose(); GC.SuppressFinalize(this); }
            public bool Finalized => _finalized;
            ~Session() { _finalized = true; }
        }
        """);

    [Fact]
    public Task GeneratedCode_NoDiagnostic() => OnAsync("""
        // <auto-generated/>
        sealed class Generated
        {
            private readonly System.IO.Stream _stream = new System.IO.MemoryStream();
            ~Generated() { _stream.Flush(); }
        }
        """);

    [Fact]
    public Task IncompleteCode_NoDiagnosticAndNoCrash()
    {
        var test = On("""
            sealed class A { System.IO.Stream _s = null!; ~A( { _s.Flush(); } }
            sealed class B { System.IO.Stream _s = null!; ~B() { _s.Missing(); } }
            """);
        test.AllowCompilerErrors = true;
        return test.RunAsync();
    }

    // ------------------------------------------------------------------ run-time evidence (.NET 10, the test host)

    [Fact]
    public void Runtime_AFinalizerSeesItsFieldsObjectAlreadyFinalized()
    {
        var result = Behaviour.RunInOwnProcess("""
            using System;
            using System.Runtime.CompilerServices;

            public sealed class Inner
            {
                public bool Finalized;
                ~Inner() { Finalized = true; }
            }

            public sealed class Outer
            {
                public static int SawFinalized;
                public static int Ran;
                private readonly Inner _inner;
                public Outer(Inner inner) => _inner = inner;
                ~Outer()
                {
                    System.Threading.Interlocked.Increment(ref Ran);
                    if (_inner.Finalized)
                        System.Threading.Interlocked.Increment(ref SawFinalized);
                }
            }

            public static class Program
            {
                [MethodImpl(MethodImplOptions.NoInlining)]
                static void Drop(int count)
                {
                    // Half the pairs allocate the field's object first, half after its owner.
                    for (var i = 0; i < count; i++)
                    {
                        if (i % 2 == 0)
                        {
                            _ = new Outer(new Inner());
                        }
                        else
                        {
                            var holder = new Outer[1];
                            var inner = new Inner();
                            holder[0] = new Outer(inner);
                        }
                    }
                }

                public static string Run()
                {
                    Drop(1000);
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    return $"{Outer.Ran} finalizers ran; {(Outer.SawFinalized > 0 ? "some" : "none")} saw their field's object already finalized";
                }
            }
            """);
        Assert.Equal("1000 finalizers ran; some saw their field's object already finalized", result);
    }
}
