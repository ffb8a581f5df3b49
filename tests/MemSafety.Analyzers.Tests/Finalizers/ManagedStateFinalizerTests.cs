using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.Finalizers;
using MemSafety.Analyzers.Tests.Verification;
using MemSafety.CodeFixes.Finalizers;
using VerifyCS = MemSafety.Analyzers.Tests.Verification.Verify<MemSafety.Analyzers.Rules.Finalizers.ManagedStateFinalizerAnalyzer, MemSafety.CodeFixes.Finalizers.ManagedStateFinalizerFix>;

namespace MemSafety.Analyzers.Tests.Finalizers;

public sealed class ManagedStateFinalizerTests
{
    // ------------------------------------------------------------------ reported

    [Fact]
    public Task SealedDisposePattern_FinalizerAndSuppressFinalizeRemoved() => VerifyCS.CodeFixAsync("""
        using System;
        using System.IO;

        sealed class Cargo : IDisposable
        {
            private Stream? _stream = new MemoryStream();
            private bool _disposed;

            public void Dispose()
            {
                Dispose(true);
                GC.SuppressFinalize(this);
            }

            private void Dispose(bool disposing)
            {
                if (_disposed)
                    return;
                if (disposing)
                {
                    _stream?.Dispose();
                    _stream = null;
                }

                _disposed = true;
            }

            ~[|Cargo|]()
            {
                Dispose(false);
            }
        }
        """, """
        using System;
        using System.IO;

        sealed class Cargo : IDisposable
        {
            private Stream? _stream = new MemoryStream();
            private bool _disposed;

            public void Dispose()
            {
                Dispose(true);
            }

            private void Dispose(bool disposing)
            {
                if (_disposed)
                    return;
                if (disposing)
                {
                    _stream?.Dispose();
                    _stream = null;
                }

                _disposed = true;
            }
        }
        """);

    [Fact]
    public Task MessageSaysWhatItRunsAndWhatItCosts()
    {
        var test = Verify<ManagedStateFinalizerAnalyzer>.Test("""
            using System;
            sealed class Cargo : IDisposable
            {
                private System.IO.Stream _stream = new System.IO.MemoryStream();
                public void Dispose() { Dispose(true); GC.SuppressFinalize(this); }
                private void Dispose(bool disposing) { if (disposing) _stream.Dispose(); }
                ~{|#0:Cargo|}() => Dispose(disposing: false);
            }
            sealed class Flag
            {
                private bool _closed;
                ~{|#1:Flag|}() { _closed = true; }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4005", 0).WithMessage(
            "Finalizer of 'Cargo' releases nothing unmanaged: what it runs ('Dispose(disposing: false)') changes nothing outside the object being finalized; every instance is still registered for finalization when allocated and survives one more garbage collection"));
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4005", 1).WithMessage(
            "Finalizer of 'Flag' releases nothing unmanaged: it changes nothing outside the object being finalized; every instance is still registered for finalization when allocated and survives one more garbage collection"));
        return test.RunAsync();
    }

    [Fact]
    public Task InternalTypeWithoutDerivedFinalizers_SuppressFinalizeRemovedToo() => VerifyCS.CodeFixAsync("""
        using System;
        internal class Session : IDisposable
        {
            private System.Collections.Generic.List<string> _log = new();
            public void Dispose() { Dispose(true); GC.SuppressFinalize(this); }
            protected virtual void Dispose(bool disposing) { if (disposing) _log.Clear(); }
            ~[|Session|]() { Dispose(false); }
        }
        internal sealed class NamedSession : Session
        {
            protected override void Dispose(bool disposing) { if (disposing) Console.WriteLine("closed"); base.Dispose(disposing); }
        }
        """, """
        using System;
        internal class Session : IDisposable
        {
            private System.Collections.Generic.List<string> _log = new();
            public void Dispose() { Dispose(true); }
            protected virtual void Dispose(bool disposing) { if (disposing) _log.Clear(); }
        }
        internal sealed class NamedSession : Session
        {
            protected override void Dispose(bool disposing) { if (disposing) Console.WriteLine("closed"); base.Dispose(disposing); }
        }
        """);

    [Fact]
    public Task PublicUnsealedTypeWithPrivateDisposeBool_ReportedButSuppressFinalizeKept() => VerifyCS.CodeFixAsync("""
        using System;
        public class Reader : IDisposable
        {
            private System.IO.TextReader? _reader = new System.IO.StringReader("");
            public void Dispose() { Dispose(true); GC.SuppressFinalize(this); }
            private void Dispose(bool disposing) { if (disposing) { _reader?.Dispose(); } _reader = null; }
            ~[|Reader|]() { Dispose(false); }
        }
        """, """
        using System;
        public class Reader : IDisposable
        {
            private System.IO.TextReader? _reader = new System.IO.StringReader("");
            public void Dispose() { Dispose(true); GC.SuppressFinalize(this); }
            private void Dispose(bool disposing) { if (disposing) { _reader?.Dispose(); } _reader = null; }
        }
        """);

    [Fact]
    public Task InternalBaseWithAFinalizableDerivedType_SuppressFinalizeKept() => VerifyCS.CodeFixAsync("""
        using System;
        using System.Runtime.InteropServices;
        internal class Base : IDisposable
        {
            public void Dispose() { Dispose(true); GC.SuppressFinalize(this); }
            protected virtual void Dispose(bool disposing) { }
            ~[|Base|]() { Dispose(false); }
        }
        internal sealed class Native : Base
        {
            private IntPtr _block = Marshal.AllocHGlobal(8);
            ~Native() { Marshal.FreeHGlobal(_block); }
        }
        """, """
        using System;
        using System.Runtime.InteropServices;
        internal class Base : IDisposable
        {
            public void Dispose() { Dispose(true); GC.SuppressFinalize(this); }
            protected virtual void Dispose(bool disposing) { }
        }
        internal sealed class Native : Base
        {
            private IntPtr _block = Marshal.AllocHGlobal(8);
            ~Native() { Marshal.FreeHGlobal(_block); }
        }
        """);

    [Fact]
    public Task DebugOnlyCheckAfterDisposeFalse_InARelease_Reported() => Verify<ManagedStateFinalizerAnalyzer>.AnalyzerAsync("""
        using System.Diagnostics;
        sealed class Checked
        {
            private bool _released;
            private void Release(bool disposing) { _released = true; }
            ~[|Checked|]() { Release(false); Debug.Assert(_released, "released"); }
        }
        """);

    [Fact]
    public Task LibraryBaseWhoseDisposeFalseReleasesNothing_Reported() => Verify<ManagedStateFinalizerAnalyzer>.AnalyzerAsync("""
        using System.IO;
        using System.Text;
        sealed class Prefixing : TextWriter
        {
            private readonly TextWriter _inner = new StringWriter();
            public override Encoding Encoding => Encoding.UTF8;
            protected override void Dispose(bool disposing)
            {
                if (disposing)
                    _inner.Dispose();
                base.Dispose(disposing);
            }
            ~[|Prefixing|]() { Dispose(false); }
        }
        """);

    [Fact]
    public Task PartialType_SuppressFinalizeInOtherFileRemoved()
    {
        var test = new AnalyzerTest(new ManagedStateFinalizerAnalyzer()) { CodeFix = new ManagedStateFinalizerFix() };
        test.Sources.Add("""
            sealed partial class Handle
            {
                private int _uses;

                ~[|Handle|]()
                {
                    _uses = 0;
                }
            }
            """);
        test.Sources.Add("""
            sealed partial class Handle : System.IDisposable
            {
                public void Dispose()
                {
                    _uses++;
                    System.GC.SuppressFinalize(this);
                }
            }
            """);
        test.FixedSources.Add("""
            sealed partial class Handle
            {
                private int _uses;
            }
            """);
        test.FixedSources.Add("""
            sealed partial class Handle : System.IDisposable
            {
                public void Dispose()
                {
                    _uses++;
                }
            }
            """);
        return test.RunAsync();
    }

    [Fact]
    public Task ManyTypes_FixAllInEveryScope()
    {
        var test = new AnalyzerTest(new ManagedStateFinalizerAnalyzer()) { CodeFix = new ManagedStateFinalizerFix() };
        test.Sources.Add("public sealed class A { public bool F; ~[|A|]() { F = true; } }\npublic sealed class B { public int N; ~[|B|]() => N++; }\n");
        test.OtherProjectSources.Add("public sealed class C { public object? O; ~[|C|]() { O = null; } }\n");
        test.FixedSources.Add("public sealed class A { public bool F; }\npublic sealed class B { public int N; }\n");
        test.FixedOtherProjectSources.Add("public sealed class C { public object? O; }\n");
        return test.RunAsync();
    }

    // ------------------------------------------------------------------ not reported

    [Fact]
    public Task FinalizerCallsNativeCode_NoDiagnostic() => Verify<ManagedStateFinalizerAnalyzer>.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        sealed class Descriptor
        {
            [DllImport("libc")] static extern int close(int fd);
            private int _fd = -1;
            private void Dispose(bool disposing) { if (_fd >= 0) close(_fd); }
            ~Descriptor() { Dispose(false); }
        }
        """);

    [Fact]
    public Task FinalizerTouchesAnotherObject_LeftToMSA4003_NoDiagnostic() => Verify<ManagedStateFinalizerAnalyzer>.AnalyzerAsync("""
        sealed class Writer
        {
            private System.IO.StreamWriter _writer = new System.IO.StreamWriter(new System.IO.MemoryStream());
            ~Writer() { _writer.Flush(); }
        }
        """);

    [Fact]
    public Task OverridableDisposeBoolOfAPublicType_DerivedTypesElsewhereMayRelyOnIt_NoDiagnostic() => Verify<ManagedStateFinalizerAnalyzer>.AnalyzerAsync("""
        using System;
        public class Resource : IDisposable
        {
            public void Dispose() { Dispose(true); GC.SuppressFinalize(this); }
            protected virtual void Dispose(bool disposing) { }
            ~Resource() { Dispose(false); }
        }
        """);

    [Fact]
    public Task NativeFieldsOrPointers_NoDiagnostic() => Verify<ManagedStateFinalizerAnalyzer>.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        sealed class Block
        {
            private IntPtr _memory = Marshal.AllocHGlobal(16);
            private bool _done;
            ~Block() { _done = true; }
        }
        unsafe sealed class Pointer
        {
            private byte* _at;
            private bool _done;
            ~Pointer() { _done = true; }
        }
        sealed class Pinned
        {
            private GCHandle _pin;
            private bool _done;
            ~Pinned() { _done = true; }
        }
        """);

    [Fact]
    public Task BaseTypeHasAFinalizer_NoDiagnostic() => Verify<ManagedStateFinalizerAnalyzer>.AnalyzerAsync("""
        class Base { ~Base() { System.Console.WriteLine("base"); } }
        sealed class Derived : Base
        {
            private bool _done;
            ~Derived() { _done = true; }
        }
        """);

    [Fact]
    public Task StaticStateOrOutput_DeliberateEffects_NoDiagnostic() => Verify<ManagedStateFinalizerAnalyzer>.AnalyzerAsync("""
        sealed class Counted
        {
            public static int Live;
            ~Counted() { System.Threading.Interlocked.Decrement(ref Live); }
        }
        sealed class Logged
        {
            ~Logged() { System.Console.Error.WriteLine("leaked"); }
        }
        sealed class Unsubscribes
        {
            private readonly EventHandler _handler = (s, e) => { };
            ~Unsubscribes() { System.AppDomain.CurrentDomain.ProcessExit -= _handler; }
        }
        delegate void EventHandler(object? s, System.EventArgs e);
        """.Replace("delegate void EventHandler(object? s, System.EventArgs e);", string.Empty).Replace("EventHandler", "System.EventHandler"));

    [Fact]
    public Task EmptyFinalizer_LeftToMSA4001_NoDiagnostic() => Verify<ManagedStateFinalizerAnalyzer>.AnalyzerAsync("""
        sealed class Empty { ~Empty() { } }
        sealed class DebugOnly { ~DebugOnly() => System.Diagnostics.Debug.Fail("leak"); }
        """);

    [Fact]
    public Task DebugCheckInADebugBuild_NoDiagnostic()
    {
        var test = Verify<ManagedStateFinalizerAnalyzer>.Test("""
            sealed class Checked
            {
                private bool _disposed;
                ~Checked() { System.Diagnostics.Debug.Assert(_disposed, "not disposed"); _disposed = true; }
            }
            """);
        test.PreprocessorSymbols.Add("DEBUG");
        return test.RunAsync();
    }

    [Fact]
    public Task ResurrectionOrReRegistration_LeftToMSA4009_NoDiagnostic() => Verify<ManagedStateFinalizerAnalyzer>.AnalyzerAsync("""
        sealed class Pooled
        {
            static readonly System.Collections.Concurrent.ConcurrentBag<Pooled> s_pool = new();
            ~Pooled() { s_pool.Add(this); System.GC.ReRegisterForFinalize(this); }
        }
        """);

    [Fact]
    public Task GeneratedCode_NoDiagnostic() => Verify<ManagedStateFinalizerAnalyzer>.AnalyzerAsync("""
        // <auto-generated/>
        sealed class Generated { bool _f; ~Generated() { _f = true; } }
        """);

    [Fact]
    public Task IncompleteCode_NoDiagnosticAndNoCrash()
    {
        var test = Verify<ManagedStateFinalizerAnalyzer>.Test("""
            sealed class A { bool _f; ~A( { _f = true; } }
            sealed class B { ~B() { Missing(false); } }
            sealed class C { ~D() { } }
            """);
        test.AllowCompilerErrors = true;
        return test.RunAsync();
    }

    // ------------------------------------------------------------------ run-time evidence (.NET 10, the test host)

    [Fact]
    public void Runtime_AFinalizerThatReleasesNothing_KeepsDeadObjectsAliveThroughAGen0Collection()
    {
        const string Probe = """
            using System;
            using System.Runtime.CompilerServices;

            public sealed class Finalizable { private bool _done; ~Finalizable() { _done = true; } }
            public sealed class Plain { private bool _done; public void Touch() => _done = true; }

            public static class Program
            {
                [MethodImpl(MethodImplOptions.NoInlining)]
                static WeakReference[] Allocate(bool finalizable, int count)
                {
                    var references = new WeakReference[count];
                    for (var i = 0; i < count; i++)
                        references[i] = new WeakReference(finalizable ? new Finalizable() : new Plain(), trackResurrection: true);
                    return references;
                }

                static string Survivors(bool finalizable)
                {
                    var references = Allocate(finalizable, 1000);
                    GC.Collect(0, GCCollectionMode.Forced, blocking: true);
                    var alive = 0;
                    var generation = -1;
                    foreach (var reference in references)
                    {
                        if (reference.Target is { } target)
                        {
                            alive++;
                            generation = GC.GetGeneration(target);
                        }
                    }

                    GC.WaitForPendingFinalizers();
                    GC.Collect();
                    return $"{alive} alive after a gen0 collection" + (alive > 0 ? $" (promoted to gen{generation})" : string.Empty);
                }

                public static string Run() => "finalizer: " + Survivors(true) + "; none: " + Survivors(false);
            }
            """;
        Assert.Equal("finalizer: 1000 alive after a gen0 collection (promoted to gen1); none: 0 alive after a gen0 collection", Behaviour.RunInOwnProcess(Probe));
    }

    [Fact]
    public void Behaviour_TheFixedCodeDoesTheSame()
    {
        const string Before = """
            using System;
            using System.IO;

            public sealed class Cargo : IDisposable
            {
                private Stream? _stream = new MemoryStream(new byte[] { 1, 2, 3 });
                public int Read() => _stream!.ReadByte();
                public void Dispose() { Dispose(true); GC.SuppressFinalize(this); }
                private void Dispose(bool disposing) { if (disposing) { _stream?.Dispose(); _stream = null; } }
                ~Cargo() { Dispose(false); }
            }

            public static class Program
            {
                public static string Run()
                {
                    var total = 0;
                    for (var i = 0; i < 100; i++)
                    {
                        var cargo = new Cargo();
                        total += cargo.Read();
                        if (i % 2 == 0)
                            cargo.Dispose();
                    }

                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    return total.ToString();
                }
            }
            """;
        var after = Before.Replace("        ~Cargo() { Dispose(false); }\n", string.Empty).Replace(" GC.SuppressFinalize(this);", string.Empty);
        Assert.NotEqual(Before, after);
        Assert.Equal(Behaviour.RunInOwnProcess(Before), Behaviour.RunInOwnProcess(after));
    }
}
