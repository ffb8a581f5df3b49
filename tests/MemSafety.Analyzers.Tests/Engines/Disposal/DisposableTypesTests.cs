using System.Linq;
using MemSafety.Analyzers.Engines.Disposal;
using Microsoft.CodeAnalysis;

namespace MemSafety.Analyzers.Tests.Engines.Disposal;

/// <summary>Type-level facts: disposable, SafeHandle, finalizable (and whether the finalizer does anything), the
/// dispose methods, handle-typed fields and the fields assigned native resources, SuppressFinalize summaries.</summary>
public sealed class DisposableTypesTests
{
    [Fact]
    public void DisposableAsyncDisposableAndSafeHandle_BySourceMetadataInterfaceAndConstraint()
    {
        var code = DisposalTestCode.Compile("""
            using System;
            using System.IO;
            using System.Threading.Tasks;
            using Microsoft.Win32.SafeHandles;
            class Plain { }
            class Resource : IDisposable { public void Dispose() { } }
            class AsyncResource : IAsyncDisposable { public ValueTask DisposeAsync() => default; }
            interface IChannel : IDisposable { }
            class MyHandle : SafeHandleZeroOrMinusOneIsInvalid { public MyHandle() : base(true) { } protected override bool ReleaseHandle() => true; }
            class Holder<T> where T : IDisposable { public T Value = default!; }
            """);
        var types = code.Types;
        Assert.False(types.IsDisposable(code.Type("Plain")));
        Assert.True(types.IsDisposable(code.Type("Resource")));
        Assert.False(types.IsAsyncDisposable(code.Type("Resource")));
        Assert.True(types.IsAsyncDisposable(code.Type("AsyncResource")));
        Assert.True(types.IsDisposable(code.Type("IChannel")));
        Assert.True(types.IsDisposable(code.Type("System.IO.Stream")));
        Assert.True(types.IsDisposable(code.Type("Holder`1").TypeParameters[0]));
        Assert.True(types.IsSafeHandle(code.Type("MyHandle")));
        Assert.True(types.IsSafeHandle(code.Type("Microsoft.Win32.SafeHandles.SafeFileHandle")));
        Assert.False(types.IsSafeHandle(code.Type("System.IO.Stream")));
        Assert.True(code.Of("MyHandle").IsCriticalFinalizable);
        Assert.False(code.Of("Resource").IsCriticalFinalizable);
    }

    [Fact]
    public void Finalizer_OwnOrInheritedFromTheNearestBase()
    {
        var code = DisposalTestCode.Compile("""
            class Base { ~Base() { System.Console.WriteLine("released"); } }
            class Middle : Base { }
            class Leaf : Middle { ~Leaf() { System.Console.WriteLine("leaf"); } }
            class None { }
            """);
        Assert.True(code.Of("Base").HasOwnFinalizer);
        Assert.Equal("Base", code.Of("Middle").Finalizer!.ContainingType.Name);
        Assert.False(code.Of("Middle").HasOwnFinalizer);
        Assert.Equal(FinalizerKind.NonTrivial, code.Of("Middle").GetFinalizerKind(default));
        Assert.Equal("Leaf", code.Of("Leaf").Finalizer!.ContainingType.Name);
        Assert.Null(code.Of("None").Finalizer);
        Assert.Equal(FinalizerKind.None, code.Of("None").GetFinalizerKind(default));
    }

    [Fact]
    public void TrivialFinalizers_EmptyOrOnlyCallsTheBuildLeavesOut()
    {
        const string Source = """
            using System.Diagnostics;
            class Empty { ~Empty() { ; { } return; } }
            class DebugOnly { ~DebugOnly() => Debug.Fail("leak"); }
            class Base { ~Base() { System.Console.WriteLine("released"); } }
            class EmptyOverNonTrivial : Base { ~EmptyOverNonTrivial() { } }
            class EmptyBase { ~EmptyBase() { } }
            class EmptyChain : EmptyBase { ~EmptyChain() { } }
            """;
        var release = DisposalTestCode.Compile(Source);
        Assert.Equal(FinalizerKind.Trivial, release.Of("Empty").GetFinalizerKind(default));
        Assert.Equal(FinalizerKind.Trivial, release.Of("DebugOnly").GetFinalizerKind(default));
        Assert.Equal(FinalizerKind.Trivial, release.Of("EmptyChain").GetFinalizerKind(default));
        // An empty override still runs the base type's finalizer (the compiler calls base.Finalize()).
        Assert.Equal(FinalizerKind.NonTrivial, release.Of("EmptyOverNonTrivial").GetFinalizerKind(default));
        Assert.Equal("Base", release.Of("EmptyOverNonTrivial").GetNonTrivialFinalizer(default)!.ContainingType.Name);

        var debug = DisposalTestCode.Compile(Source, new[] { "DEBUG" });
        Assert.Equal(FinalizerKind.NonTrivial, debug.Of("DebugOnly").GetFinalizerKind(default));
    }

    [Fact]
    public void LibraryFinalizers_AssumedToWorkExceptCriticalFinalizerObjects()
    {
        var code = DisposalTestCode.Compile("""
            class Part : System.ComponentModel.Component { }
            class Critical : System.Runtime.ConstrainedExecution.CriticalFinalizerObject { }
            class Plain : System.IO.MemoryStream { }
            """);
        Assert.Equal("Component", code.Of("Part").Finalizer!.ContainingType.Name);
        Assert.Equal(FinalizerKind.NonTrivial, code.Of("Part").GetFinalizerKind(default));
        Assert.Equal(FinalizerKind.Trivial, code.Of("Critical").GetFinalizerKind(default));
        Assert.Null(code.Of("Plain").Finalizer);
    }

    [Fact]
    public void DisposeMethods_DeclaredHereImplicitOrExplicit_AndTheNearestDisposeBool()
    {
        var code = DisposalTestCode.Compile("""
            using System;
            using System.Threading.Tasks;
            class Implicit : IDisposable
            {
                public void Dispose() => Dispose(true);
                protected virtual void Dispose(bool disposing) { }
            }
            class Derived : Implicit { protected override void Dispose(bool disposing) { } }
            class Explicit : IDisposable, IAsyncDisposable
            {
                void IDisposable.Dispose() { }
                public ValueTask DisposeAsync() => default;
            }
            class FromStream : System.IO.Stream
            {
                public override bool CanRead => false; public override bool CanSeek => false; public override bool CanWrite => false;
                public override long Length => 0; public override long Position { get => 0; set { } }
                public override void Flush() { } public override int Read(byte[] b, int o, int c) => 0;
                public override long Seek(long o, System.IO.SeekOrigin s) => 0; public override void SetLength(long v) { } public override void Write(byte[] b, int o, int c) { }
            }
            """);
        Assert.Equal("Dispose", code.Of("Implicit").DisposeMethod!.Name);
        Assert.Equal("Implicit", code.Of("Implicit").DisposeBoolMethod!.ContainingType.Name);
        Assert.Null(code.Of("Derived").DisposeMethod);
        Assert.Equal("Derived", code.Of("Derived").DisposeBoolMethod!.ContainingType.Name);
        Assert.Equal("System.IDisposable.Dispose", code.Of("Explicit").DisposeMethod!.Name);
        Assert.Equal("DisposeAsync", code.Of("Explicit").DisposeAsyncMethod!.Name);
        Assert.Null(code.Of("FromStream").DisposeMethod);
        Assert.Equal("Stream", code.Of("FromStream").DisposeBoolMethod!.ContainingType.Name);
    }

    [Fact]
    public void HandleFields_ByTypeAlone()
    {
        var code = DisposalTestCode.Compile("""
            using System;
            using System.Runtime.InteropServices;
            unsafe class Fields
            {
                IntPtr _a; nint _b; UIntPtr _c; void* _d; delegate* unmanaged<void> _e; GCHandle _f; HandleRef _g;
                int _h; object? _i; static IntPtr s_j; const int K = 1;
            }
            """);
        Assert.Equal("_a _b _c _d _e _f _g", string.Join(" ", code.Of("Fields").HandleFields.Select(f => f.Name)));
    }

    [Fact]
    public void NativeFields_AssignedFromPlatformInvokesAndAllocators_DirectlyThroughLocalsOrOut()
    {
        var code = DisposalTestCode.Compile("""
            using System;
            using System.Runtime.InteropServices;
            unsafe partial class Native
            {
                [DllImport("kernel32")] static extern IntPtr CreateEvent(IntPtr a, bool b, bool c, string? d);
                [DllImport("libc")] static extern int open(string path, int flags);
                [DllImport("lib")] static extern int Create(out IntPtr handle);
                [LibraryImport("lib")] private static partial nint Open();
                static int Helper() => 3;

                IntPtr _event = CreateEvent(IntPtr.Zero, false, false, null);
                int _fd;
                IntPtr _viaLocal;
                IntPtr _out;
                nint _library;
                void* _memory;
                IntPtr _hglobal;
                GCHandle _pin;
                IntPtr _fromParameter;
                IntPtr _offset;
                int _count;

                Native(IntPtr handle, object target)
                {
                    _fd = open("/tmp/x", 0);
                    var created = CreateEvent(IntPtr.Zero, true, false, null);
                    _viaLocal = created;
                    Create(out _out);
                    _library = Open();
                    _memory = NativeMemory.Alloc(16);
                    _hglobal = Marshal.AllocHGlobal(8);
                    _pin = GCHandle.Alloc(target, GCHandleType.Pinned);
                    _fromParameter = handle;
                    _offset = _hglobal + 4;
                    _count = Helper();
                }
            }
            """, null, "CS8795");
        var fields = code.Of("Native").GetNativeFields(default);
        Assert.Equal("_event _fd _viaLocal _out _library _memory _hglobal _pin",
            string.Join(" ", fields.OrderBy(f => f.Assignment.Syntax.SpanStart).Select(f => f.Field.Name)));
        Assert.Equal("CreateEvent", fields.Single(f => f.Field.Name == "_viaLocal").Source!.Name);
        Assert.Equal("Open", fields.Single(f => f.Field.Name == "_library").Source!.Name);
    }

    [Fact]
    public void SuppressesFinalization_DirectlyThroughThisCallsOrALibraryBaseDispose()
    {
        var code = DisposalTestCode.Compile("""
            using System;
            class C : System.IO.MemoryStream
            {
                public void Direct() { GC.SuppressFinalize(this); }
                public void ViaDisposeTrue() => Release(true);
                void Release(bool disposing) { if (disposing) GC.SuppressFinalize(this); }
                public void Other(object o) { GC.SuppressFinalize(o); }
                public void BaseClose() { base.Close(); }
                public void Nothing() { Console.WriteLine(); }
            }
            """);
        bool Suppresses(string name) => code.Types.SuppressesFinalization(code.Type("C").GetMembers(name).OfType<IMethodSymbol>().Single(), default);
        Assert.True(Suppresses("Direct"));
        Assert.True(Suppresses("ViaDisposeTrue"));
        Assert.False(Suppresses("Other"));
        Assert.True(Suppresses("BaseClose"));
        Assert.False(Suppresses("Nothing"));
    }

    [Fact]
    public void DerivedTypesAndExternalDerivation()
    {
        var code = DisposalTestCode.Compile("""
            public class Open { }
            public class OpenChild : Open { }
            internal class Closed : Open { }
            public sealed class Sealed { }
            public class PrivateConstructor { private PrivateConstructor() { } }
            public abstract class Abstract { }
            internal class Internal { ~Internal() { } }
            class Outer { sealed class Nested { ~Nested() { System.Console.WriteLine(); } } }
            """);
        Assert.Equal("Internal Nested", string.Join(" ", code.Types.TypesDeclaringFinalizers.Select(t => t.Name).OrderBy(n => n)));
        Assert.Equal("OpenChild Closed", string.Join(" ", code.Types.DerivedTypesOf(code.Type("Open")).Select(t => t.Name).OrderByDescending(n => n.Length)));
        Assert.True(DisposableTypes.IsExternallyDerivable(code.Type("Open")));
        Assert.True(DisposableTypes.IsExternallyDerivable(code.Type("Abstract")));
        Assert.False(DisposableTypes.IsExternallyDerivable(code.Type("Sealed")));
        Assert.False(DisposableTypes.IsExternallyDerivable(code.Type("PrivateConstructor")));
        Assert.False(DisposableTypes.IsExternallyDerivable(code.Type("Internal")));
    }

    [Fact]
    public void NativeMembers_ClassifyPlatformInvokesAllocatorsAndReleasers()
    {
        var code = DisposalTestCode.Compile("""
            using System;
            using System.Runtime.InteropServices;
            static partial class N
            {
                [DllImport("libc")] public static extern int close(int fd);
                [LibraryImport("libc")] public static partial int dup(int fd);
                public static int Managed() => 0;
            }
            """, null, "CS8795");
        NativeCallKind Of(string type, string name) => NativeMembers.Classify(code.Type(type).GetMembers(name).OfType<IMethodSymbol>().First());
        Assert.Equal(NativeCallKind.PlatformInvoke, Of("N", "close"));
        Assert.Equal(NativeCallKind.PlatformInvoke, Of("N", "dup"));
        Assert.Equal(NativeCallKind.None, Of("N", "Managed"));
        Assert.Equal(NativeCallKind.Allocates, Of("System.Runtime.InteropServices.Marshal", "AllocHGlobal"));
        Assert.Equal(NativeCallKind.Releases, Of("System.Runtime.InteropServices.Marshal", "FreeHGlobal"));
        Assert.Equal(NativeCallKind.Allocates, Of("System.Runtime.InteropServices.NativeMemory", "Alloc"));
        Assert.Equal(NativeCallKind.Releases, Of("System.Runtime.InteropServices.NativeMemory", "Free"));
        Assert.Equal(NativeCallKind.Releases, Of("System.Runtime.InteropServices.GCHandle", "Free"));
        Assert.Equal(NativeCallKind.None, Of("System.Runtime.InteropServices.Marshal", "SizeOf"));
    }
}
