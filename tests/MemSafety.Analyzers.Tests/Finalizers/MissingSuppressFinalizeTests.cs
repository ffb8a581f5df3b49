using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.Finalizers;
using MemSafety.Analyzers.Tests.Verification;
using MemSafety.CodeFixes.Finalizers;
using Microsoft.CodeAnalysis.CSharp;
using VerifyCS = MemSafety.Analyzers.Tests.Verification.Verify<MemSafety.Analyzers.Rules.Finalizers.MissingSuppressFinalizeAnalyzer, MemSafety.CodeFixes.Finalizers.MissingSuppressFinalizeFix>;

namespace MemSafety.Analyzers.Tests.Finalizers;

public sealed class MissingSuppressFinalizeTests
{
    // A file descriptor released by close(2): a real unmanaged resource, so the finalizers below are not the
    // managed-only kind that MSA4005 asks to remove.
    private const string Native = """
        using System;
        using System.Runtime.InteropServices;
        using System.Threading.Tasks;

        static class Native
        {
            [DllImport("libc")] public static extern int open(string path, int flags);
            [DllImport("libc")] public static extern int close(int fd);
        }

        """;

    // ------------------------------------------------------------------ reported

    [Fact]
    public Task DisposePattern_WithoutSuppressFinalize_ReportedAndAppended() => VerifyCS.CodeFixAsync(Native + """
        sealed class Descriptor : IDisposable
        {
            private int _fd = Native.open("/dev/null", 0);

            public void [|Dispose|]()
            {
                Dispose(true);
            }

            private void Dispose(bool disposing)
            {
                if (_fd >= 0)
                {
                    Native.close(_fd);
                    _fd = -1;
                }
            }

            ~Descriptor() => Dispose(false);
        }
        """, Native + """
        sealed class Descriptor : IDisposable
        {
            private int _fd = Native.open("/dev/null", 0);

            public void Dispose()
            {
                Dispose(true);
                GC.SuppressFinalize(this);
            }

            private void Dispose(bool disposing)
            {
                if (_fd >= 0)
                {
                    Native.close(_fd);
                    _fd = -1;
                }
            }

            ~Descriptor() => Dispose(false);
        }
        """);

    [Fact]
    public Task MessageSaysWhatItCosts()
    {
        var test = Verify<MissingSuppressFinalizeAnalyzer>.Test(Native + """
            sealed class Descriptor : IDisposable
            {
                private int _fd = Native.open("/dev/null", 0);
                public void {|#0:Dispose|}() => Native.close(_fd);
                ~Descriptor() { Native.close(_fd); }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4002", 0).WithMessage(
            "'Dispose' does not call GC.SuppressFinalize(this): 'Descriptor' has a finalizer, so every disposed instance is still queued for finalization, survives one more garbage collection and runs its finalizer"));
        return test.RunAsync();
    }

    [Fact]
    public Task ExpressionBodiedDispose_BecomesABlock() => VerifyCS.CodeFixAsync(Native + """
        class Descriptor : IDisposable
        {
            private int _fd = Native.open("/dev/null", 0);
            public void [|Dispose|]() => Native.close(_fd);
            ~Descriptor() { Native.close(_fd); }
        }
        """, Native + """
        class Descriptor : IDisposable
        {
            private int _fd = Native.open("/dev/null", 0);
            public void Dispose()
            {
                Native.close(_fd);
                GC.SuppressFinalize(this);
            }
            ~Descriptor() { Native.close(_fd); }
        }
        """);

    [Fact]
    public Task FinalizerInheritedFromABaseType_MessageNamesIt()
    {
        var test = VerifyCS.Test(Native + """
            class Owner
            {
                protected int Fd = Native.open("/dev/null", 0);
                protected void Release() { if (Fd >= 0) { Native.close(Fd); Fd = -1; } }
                ~Owner() { Release(); }
            }

            sealed class Reader : Owner, IDisposable
            {
                public void {|#0:Dispose|}()
                {
                    Release();
                }
            }
            """, Native + """
            class Owner
            {
                protected int Fd = Native.open("/dev/null", 0);
                protected void Release() { if (Fd >= 0) { Native.close(Fd); Fd = -1; } }
                ~Owner() { Release(); }
            }

            sealed class Reader : Owner, IDisposable
            {
                public void Dispose()
                {
                    Release();
                    GC.SuppressFinalize(this);
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4002", 0).WithMessage(
            "'Dispose' does not call GC.SuppressFinalize(this): 'Reader' has a finalizer (inherited from 'Owner'), so every disposed instance is still queued for finalization, survives one more garbage collection and runs its finalizer"));
        return test.RunAsync();
    }

    [Fact]
    public Task DerivedTypeOfTheCompilationAddsTheFinalizer_ReportedOnTheInheritedDispose()
    {
        var test = VerifyCS.Test(Native + """
            abstract class Handle : IDisposable
            {
                public void {|#0:Dispose|}()
                {
                    Dispose(true);
                }

                protected abstract void Dispose(bool disposing);
            }

            sealed class FileDescriptor : Handle
            {
                private int _fd = Native.open("/dev/null", 0);
                protected override void Dispose(bool disposing) => Native.close(_fd);
                ~FileDescriptor() { Dispose(false); }
            }
            """, Native + """
            abstract class Handle : IDisposable
            {
                public void Dispose()
                {
                    Dispose(true);
                    GC.SuppressFinalize(this);
                }

                protected abstract void Dispose(bool disposing);
            }

            sealed class FileDescriptor : Handle
            {
                private int _fd = Native.open("/dev/null", 0);
                protected override void Dispose(bool disposing) => Native.close(_fd);
                ~FileDescriptor() { Dispose(false); }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4002", 0).WithMessage(
            "'Dispose' does not call GC.SuppressFinalize(this): 'FileDescriptor' has a finalizer and inherits this method, so every disposed instance is still queued for finalization, survives one more garbage collection and runs its finalizer"));
        return test.RunAsync();
    }

    [Fact]
    public Task SuppressedOnOnePathOnly_MessageSaysOnEveryPath()
    {
        var test = VerifyCS.Test(Native + """
            sealed class Descriptor : IDisposable
            {
                private int _fd = Native.open("/dev/null", 0);
                public bool Quiet;
                public void {|#0:Dispose|}()
                {
                    if (Quiet)
                    {
                        Native.close(_fd);
                        GC.SuppressFinalize(this);
                    }
                    else
                    {
                        Native.close(_fd);
                        Console.WriteLine("closed");
                    }
                }
                ~Descriptor() { Native.close(_fd); }
            }
            """, Native + """
            sealed class Descriptor : IDisposable
            {
                private int _fd = Native.open("/dev/null", 0);
                public bool Quiet;
                public void Dispose()
                {
                    if (Quiet)
                    {
                        Native.close(_fd);
                        GC.SuppressFinalize(this);
                    }
                    else
                    {
                        Native.close(_fd);
                        Console.WriteLine("closed");
                    }
                    GC.SuppressFinalize(this);
                }
                ~Descriptor() { Native.close(_fd); }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4002", 0).WithMessage(
            "'Dispose' does not call GC.SuppressFinalize(this) on every path that releases resources: 'Descriptor' has a finalizer, so every disposed instance is still queued for finalization, survives one more garbage collection and runs its finalizer"));
        return test.RunAsync();
    }

    [Fact]
    public Task ExplicitImplementation_Reported()
    {
        var test = VerifyCS.Test(Native + """
            sealed class Descriptor : IDisposable
            {
                private int _fd = Native.open("/dev/null", 0);
                void IDisposable.{|#0:Dispose|}() { Native.close(_fd); }
                ~Descriptor() { Native.close(_fd); }
            }
            """, Native + """
            sealed class Descriptor : IDisposable
            {
                private int _fd = Native.open("/dev/null", 0);
                void IDisposable.Dispose() { Native.close(_fd); GC.SuppressFinalize(this); }
                ~Descriptor() { Native.close(_fd); }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4002", 0).WithMessage(
            "'IDisposable.Dispose' does not call GC.SuppressFinalize(this): 'Descriptor' has a finalizer, so every disposed instance is still queued for finalization, survives one more garbage collection and runs its finalizer"));
        return test.RunAsync();
    }

    [Fact]
    public Task AsyncDisposeAsync_ReportedAndAppendedAfterTheAwait() => VerifyCS.CodeFixAsync(Native + """
        sealed class Channel : IAsyncDisposable
        {
            private int _fd = Native.open("/dev/null", 0);
            private readonly System.IO.Stream _buffer = new System.IO.MemoryStream();

            public async ValueTask [|DisposeAsync|]()
            {
                await _buffer.DisposeAsync();
                Release();
            }

            private void Release() => Native.close(_fd);

            ~Channel() { Release(); }
        }
        """, Native + """
        sealed class Channel : IAsyncDisposable
        {
            private int _fd = Native.open("/dev/null", 0);
            private readonly System.IO.Stream _buffer = new System.IO.MemoryStream();

            public async ValueTask DisposeAsync()
            {
                await _buffer.DisposeAsync();
                Release();
                GC.SuppressFinalize(this);
            }

            private void Release() => Native.close(_fd);

            ~Channel() { Release(); }
        }
        """);

    [Fact]
    public Task EarlyReturnAfterReleasing_ReportedWithoutFix() => VerifyCS.NoFixAsync(Native + """
        sealed class Descriptor : IDisposable
        {
            private int _fd = Native.open("/dev/null", 0);
            public bool Shared;
            public void [|Dispose|]()
            {
                Native.close(_fd);
                if (Shared)
                    return;
                GC.SuppressFinalize(this);
            }
            ~Descriptor() { Native.close(_fd); }
        }
        """);

    [Fact]
    public Task NonAsyncDisposeAsync_ReportedWithoutFix() => VerifyCS.NoFixAsync(Native + """
        sealed class Channel : IAsyncDisposable
        {
            private int _fd = Native.open("/dev/null", 0);
            public ValueTask [|DisposeAsync|]()
            {
                Native.close(_fd);
                return default;
            }
            ~Channel() { Native.close(_fd); }
        }
        """);

    [Fact]
    public Task ManyTypesAcrossProjects_FixAllInEveryScope()
    {
        var test = new AnalyzerTest(new MissingSuppressFinalizeAnalyzer()) { CodeFix = new MissingSuppressFinalizeFix() };
        test.Sources.Add(Native + """
            public class A : IDisposable
            {
                int _fd = Native.open("/dev/null", 0);
                public void [|Dispose|]() { Native.close(_fd); }
                ~A() { Native.close(_fd); }
            }
            """);
        test.Sources.Add("""
            using System;
            sealed class B : IDisposable
            {
                int _fd = Native.open("/dev/null", 0);
                public void [|Dispose|]() => Native.close(_fd);
                ~B() { Native.close(_fd); }
            }
            """);
        test.OtherProjectSources.Add("""
            using System.Runtime.InteropServices;
            sealed class D : A, System.IDisposable
            {
                [DllImport("libc")] static extern int close(int fd);
                int _own = -1;
                void System.IDisposable.[|Dispose|]() { close(_own); }
                ~D() { close(_own); }
            }
            """);
        test.FixedSources.Add(Native + """
            public class A : IDisposable
            {
                int _fd = Native.open("/dev/null", 0);
                public void Dispose() { Native.close(_fd); GC.SuppressFinalize(this); }
                ~A() { Native.close(_fd); }
            }
            """);
        test.FixedSources.Add("""
            using System;
            sealed class B : IDisposable
            {
                int _fd = Native.open("/dev/null", 0);
                public void Dispose()
                {
                    Native.close(_fd);
                    GC.SuppressFinalize(this);
                }
                ~B() { Native.close(_fd); }
            }
            """);
        test.FixedOtherProjectSources.Add("""
            using System.Runtime.InteropServices;
            sealed class D : A, System.IDisposable
            {
                [DllImport("libc")] static extern int close(int fd);
                int _own = -1;
                void System.IDisposable.Dispose() { close(_own); System.GC.SuppressFinalize(this); }
                ~D() { close(_own); }
            }
            """);
        return test.RunAsync();
    }

    // ------------------------------------------------------------------ not reported

    [Fact]
    public Task SuppressFinalizeAtTheEnd_NoDiagnostic() => Verify<MissingSuppressFinalizeAnalyzer>.AnalyzerAsync(Native + """
        sealed class Descriptor : IDisposable
        {
            private int _fd = Native.open("/dev/null", 0);
            public void Dispose() { Native.close(_fd); GC.SuppressFinalize(this); }
            ~Descriptor() { Native.close(_fd); }
        }
        """);

    [Fact]
    public Task SuppressFinalizeInDisposeBoolWhenDisposing_NoDiagnostic() => Verify<MissingSuppressFinalizeAnalyzer>.AnalyzerAsync(Native + """
        sealed class Connection : IDisposable
        {
            private int _fd = Native.open("/dev/null", 0);
            private int _disposed;
            public void Dispose() => Dispose(disposing: true);
            private void Dispose(bool disposing)
            {
                if (System.Threading.Interlocked.Exchange(ref _disposed, 1) == 0)
                {
                    Native.close(_fd);
                    if (disposing)
                        GC.SuppressFinalize(this);
                }
            }
            ~Connection() { Dispose(disposing: false); }
        }
        """);

    [Fact]
    public Task TypeWithoutFinalizer_NoDiagnostic() => Verify<MissingSuppressFinalizeAnalyzer>.AnalyzerAsync(Native + """
        public class Descriptor : IDisposable
        {
            private int _fd = Native.open("/dev/null", 0);
            public void Dispose() { Dispose(true); }
            protected virtual void Dispose(bool disposing) { Native.close(_fd); }
        }
        """);

    [Fact]
    public Task EmptyFinalizer_LeftToMSA4001_NoDiagnostic() => Verify<MissingSuppressFinalizeAnalyzer>.AnalyzerAsync(Native + """
        sealed class Descriptor : IDisposable
        {
            private int _fd = Native.open("/dev/null", 0);
            public void Dispose() { Native.close(_fd); }
            ~Descriptor() { }
        }
        """);

    [Fact]
    public Task GuardPathThatFindsItAlreadyDisposed_NoDiagnostic() => Verify<MissingSuppressFinalizeAnalyzer>.AnalyzerAsync(Native + """
        sealed class Descriptor : IDisposable
        {
            private int _fd = Native.open("/dev/null", 0);
            private bool _disposed;
            private readonly object _gate = new object();
            public void Dispose()
            {
                lock (_gate)
                {
                    if (_disposed)
                        return;
                    _disposed = true;
                }

                System.Diagnostics.Debug.Assert(_fd >= 0);
                Native.close(_fd);
                GC.SuppressFinalize(this);
            }
            ~Descriptor() { Native.close(_fd); }
        }
        """);

    [Fact]
    public Task ThrowingPaths_NeedNothing_NoDiagnostic() => Verify<MissingSuppressFinalizeAnalyzer>.AnalyzerAsync(Native + """
        sealed class Descriptor : IDisposable
        {
            private int _fd = Native.open("/dev/null", 0);
            public void Dispose()
            {
                if (_fd < 0)
                    throw new ObjectDisposedException(nameof(Descriptor));
                if (Native.close(_fd) != 0)
                    throw new InvalidOperationException("close failed");
                GC.SuppressFinalize(this);
            }
            ~Descriptor() { Native.close(_fd); }
        }
        """);

    [Fact]
    public Task DisposeThatDoesNotReleaseWhatTheFinalizerDoes_NoDiagnostic() => Verify<MissingSuppressFinalizeAnalyzer>.AnalyzerAsync(Native + """
        sealed class Leaky : IDisposable
        {
            private int _fd = Native.open("/dev/null", 0);
            private readonly System.IO.Stream _log = new System.IO.MemoryStream();
            // Suppressing finalization here would leave the descriptor to nobody: the fix is to close it in Dispose.
            public void Dispose() { _log.Dispose(); }
            ~Leaky() { Native.close(_fd); }
        }
        """);

    [Fact]
    public Task ManagedOnlyFinalizer_LeftToMSA4005_NoDiagnostic() => Verify<MissingSuppressFinalizeAnalyzer>.AnalyzerAsync("""
        using System;
        sealed class Cargo : IDisposable
        {
            private System.IO.Stream? _stream = new System.IO.MemoryStream();
            public void Dispose() => Dispose(true);
            private void Dispose(bool disposing)
            {
                if (disposing)
                    _stream?.Dispose();
                _stream = null;
            }
            ~Cargo() => Dispose(false);
        }
        """);

    [Fact]
    public Task LibraryBaseDisposeCalled_AssumedToSuppress_NoDiagnostic() => Verify<MissingSuppressFinalizeAnalyzer>.AnalyzerAsync("""
        using System;
        class Part : System.ComponentModel.Component, IDisposable
        {
            void IDisposable.Dispose() { Console.WriteLine("disposing"); base.Dispose(); }
        }
        """);

    [Fact]
    public Task SafeHandleSubclass_NoDiagnostic() => Verify<MissingSuppressFinalizeAnalyzer>.AnalyzerAsync(Native + """
        sealed class FdHandle : Microsoft.Win32.SafeHandles.SafeHandleZeroOrMinusOneIsInvalid, IDisposable
        {
            public FdHandle() : base(true) { }
            protected override bool ReleaseHandle() => Native.close((int)handle) == 0;
            void IDisposable.Dispose() { Native.close((int)handle); }
            ~FdHandle() { Native.close((int)handle); }
        }
        """);

    [Fact]
    public Task GeneratedCode_NoDiagnostic() => Verify<MissingSuppressFinalizeAnalyzer>.AnalyzerAsync("// <auto-generated/>\n" + Native + """
        sealed class Descriptor : IDisposable
        {
            private int _fd = Native.open("/dev/null", 0);
            public void Dispose() => Native.close(_fd);
            ~Descriptor() { Native.close(_fd); }
        }
        """);

    [Fact]
    public Task IncompleteCode_NoDiagnosticAndNoCrash()
    {
        var test = Verify<MissingSuppressFinalizeAnalyzer>.Test("""
            using System;
            class A : IDisposable { public void Dispose() { Release( } ~A() { Release(); } void Release() { } }
            class B : IDisposable { public void Dispose() => Undefined(); ~B() { Undefined(); } }
            class C : IDisposable { public void Dispose(); ~C() { } }
            """);
        test.AllowCompilerErrors = true;
        return test.RunAsync();
    }

    [Theory]
    [InlineData(LanguageVersion.CSharp7_3)]
    [InlineData(LanguageVersion.Latest)]
    public Task EveryLanguageVersionAndNetStandard_ReportedAndFixed(LanguageVersion version)
    {
        var test = VerifyCS.Test("""
            using System;
            using System.Runtime.InteropServices;
            sealed class Memory : IDisposable
            {
                private IntPtr _block = Marshal.AllocHGlobal(64);
                public void [|Dispose|]() { Marshal.FreeHGlobal(_block); }
                ~Memory() { Marshal.FreeHGlobal(_block); }
            }
            """, """
            using System;
            using System.Runtime.InteropServices;
            sealed class Memory : IDisposable
            {
                private IntPtr _block = Marshal.AllocHGlobal(64);
                public void Dispose() { Marshal.FreeHGlobal(_block); GC.SuppressFinalize(this); }
                ~Memory() { Marshal.FreeHGlobal(_block); }
            }
            """);
        test.LanguageVersion = version;
        test.ReferenceSet = ReferenceSet.NetStandard20;
        test.NullableContextOptions = Microsoft.CodeAnalysis.NullableContextOptions.Disable;
        return test.RunAsync();
    }

    // ------------------------------------------------------------------ run-time evidence (.NET 10, the test host)

    private const string FinalizationProbe = """
        using System;
        using System.Runtime.CompilerServices;
        using System.Runtime.InteropServices;

        public sealed class Resource : IDisposable
        {
            public static int Finalized;
            public static int Released;
            private IntPtr _memory = Marshal.AllocHGlobal(16);

            public void Dispose()
            {
                Dispose(true);
        /*SUPPRESS*/
            }

            private void Dispose(bool disposing)
            {
                if (_memory != IntPtr.Zero)
                {
                    Marshal.FreeHGlobal(_memory);
                    _memory = IntPtr.Zero;
                    Released++;
                }
            }

            ~Resource()
            {
                Finalized++;
                Dispose(false);
            }
        }

        public static class Program
        {
            [MethodImpl(MethodImplOptions.NoInlining)]
            static WeakReference[] CreateAndDispose(int count)
            {
                var references = new WeakReference[count];
                for (var i = 0; i < count; i++)
                {
                    var resource = new Resource();
                    resource.Dispose();
                    // A long weak reference follows the object until its memory is reclaimed, finalization included.
                    references[i] = new WeakReference(resource, trackResurrection: true);
                }

                return references;
            }

            static int Alive(WeakReference[] references)
            {
                var alive = 0;
                foreach (var reference in references)
                    alive += reference.IsAlive ? 1 : 0;
                return alive;
            }

            public static string Run()
            {
                var references = CreateAndDispose(100);
                GC.Collect();
                var aliveAfterFirst = Alive(references);
                GC.WaitForPendingFinalizers();
                GC.Collect();
                var aliveAfterSecond = Alive(references);
                return $"released {Resource.Released}, finalizers run {Resource.Finalized}, alive after one GC {aliveAfterFirst}, after two {aliveAfterSecond}";
            }
        }
        """;

    [Fact]
    public void Runtime_WithoutTheCall_DisposedObjectsSurviveAGcAndRunTheirFinalizer()
    {
        // What the analyzer reports: every disposed object is still finalized, and outlives the first collection.
        Assert.Equal("released 100, finalizers run 100, alive after one GC 100, after two 0",
            Behaviour.RunInOwnProcess(FinalizationProbe));
        // What the fix writes: the same resources are released, no finalizer runs, the first collection frees them.
        Assert.Equal("released 100, finalizers run 0, alive after one GC 0, after two 0",
            Behaviour.RunInOwnProcess(FinalizationProbe.Replace("/*SUPPRESS*/", "        GC.SuppressFinalize(this);")));
    }

    [Fact]
    public Task Runtime_TheProbeIsWhatTheRuleReportsAndFixes() => VerifyCS.CodeFixAsync(
        FinalizationProbe.Replace("public void Dispose()", "public void [|Dispose|]()").Replace("/*SUPPRESS*/\n", string.Empty),
        FinalizationProbe.Replace("/*SUPPRESS*/", "        GC.SuppressFinalize(this);"));
}
