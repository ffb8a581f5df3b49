using System.Linq;
using MemSafety.Analyzers.Engines.Disposal;
using Microsoft.CodeAnalysis;

namespace MemSafety.Analyzers.Tests.Engines.Disposal;

/// <summary>Which native handle fields a type's finalizer releases, and which calls produce and release handles.</summary>
public sealed class HandleReleasesTests
{
    private static string Released(DisposalTestCode code, string type)
        => string.Join(", ", HandleReleases.InFinalizer(code.Of(type), default).Select(r =>
            r.Field.Name + " from " + r.Acquisition.Source!.Name + " by " + r.Release.TargetMethod.Name
            + (r.Via.Length == 0 ? string.Empty : " via " + r.Via) + (r.PassesField ? string.Empty : " (copy)")));

    [Fact]
    public void ReleasedDirectlyThroughDisposeFalseOrAsACopy()
    {
        var code = DisposalTestCode.Compile("""
            using System;
            using System.Threading;
            using System.Runtime.InteropServices;
            class Direct
            {
                [DllImport("k")] static extern IntPtr Create();
                [DllImport("k")] static extern bool CloseHandle(IntPtr h);
                IntPtr _h = Create();
                ~Direct() { CloseHandle(_h); }
            }
            class Pattern : IDisposable
            {
                [DllImport("libc")] static extern int open(string p, int f);
                [DllImport("libc")] static extern int close(int fd);
                int _fd = open("/tmp", 0);
                public void Dispose() { Dispose(true); GC.SuppressFinalize(this); }
                void Dispose(bool disposing) { if (_fd >= 0) close(_fd); }
                ~Pattern() { Dispose(false); }
            }
            class Copies
            {
                IntPtr _a = Marshal.AllocHGlobal(8);
                IntPtr _b = Marshal.AllocCoTaskMem(8);
                ~Copies()
                {
                    Marshal.FreeHGlobal(Interlocked.Exchange(ref _a, IntPtr.Zero));
                    var b = _b;
                    Marshal.FreeCoTaskMem(b);
                }
            }
            """);
        Assert.Equal("_h from Create by CloseHandle", Released(code, "Direct"));
        Assert.Equal("_fd from open by close via Dispose(false)", Released(code, "Pattern"));
        Assert.Equal("_a from AllocHGlobal by FreeHGlobal (copy), _b from AllocCoTaskMem by FreeCoTaskMem (copy)", Released(code, "Copies"));
    }

    [Fact]
    public void NotHandles_SizesBorrowedHandlesGCHandlesComPointersAndIntegersFreedByHelpers()
    {
        var code = DisposalTestCode.Compile("""
            using System;
            using System.Runtime.InteropServices;
            class Sized
            {
                [DllImport("libc")] static extern IntPtr mmap(IntPtr a, IntPtr l, int p, int f, int fd, IntPtr o);
                [DllImport("libc")] static extern int munmap(IntPtr a, IntPtr l);
                [DllImport("libc")] static extern int getpagesize();
                int _pages = getpagesize();
                IntPtr _address;
                Sized() { _address = mmap(IntPtr.Zero, (IntPtr)_pages, 1, 0x22, -1, IntPtr.Zero); }
                ~Sized() { munmap(_address, (IntPtr)_pages); }
            }
            class Borrowed
            {
                [DllImport("k")] static extern IntPtr GetStdHandle(int n);
                [DllImport("k")] static extern bool SetConsoleMode(IntPtr h, int m);
                IntPtr _out = GetStdHandle(-11);
                ~Borrowed() { SetConsoleMode(_out, 0); }
            }
            class Managed
            {
                IntPtr _self = GCHandle.ToIntPtr(GCHandle.Alloc(new object()));
                IntPtr _unknown = Marshal.GetIUnknownForObject(new object());
                ~Managed() { GCHandle.FromIntPtr(_self).Free(); Marshal.Release(_unknown); }
            }
            class NotOwnFinalizer : Direct2 { }
            class Direct2
            {
                [DllImport("k")] static extern IntPtr Create();
                [DllImport("k")] static extern bool CloseHandle(IntPtr h);
                IntPtr _h = Create();
                ~Direct2() { CloseHandle(_h); }
            }
            """);
        // The size passed with the handle is not a handle of its own: the IntPtr argument is.
        Assert.Equal("_address from mmap by munmap", Released(code, "Sized"));
        Assert.Equal(string.Empty, Released(code, "Borrowed"));
        Assert.Equal(string.Empty, Released(code, "Managed"));
        Assert.Equal(string.Empty, Released(code, "NotOwnFinalizer"));
    }

    [Fact]
    public void NativeMembers_ProducersReleasersAndNullTolerantFrees()
    {
        var code = DisposalTestCode.Compile("""
            using System;
            using System.Runtime.InteropServices;
            static class N
            {
                [DllImport("k")] public static extern IntPtr CreateEvent();
                [DllImport("k")] public static extern bool CloseHandle(IntPtr h);
                [DllImport("k")] public static extern bool SetEvent(IntPtr h);
                [DllImport("k")] public static extern int sqlite3_finalize(IntPtr s);
            }
            """);
        IMethodSymbol Method(string type, string name) => code.Type(type).GetMembers(name).OfType<IMethodSymbol>().First();
        const string Marshal = "System.Runtime.InteropServices.Marshal";
        const string NativeMemory = "System.Runtime.InteropServices.NativeMemory";
        Assert.True(NativeMembers.ProducesHandle(Method("N", "CreateEvent")));
        Assert.True(NativeMembers.ProducesHandle(Method(Marshal, "AllocHGlobal")));
        Assert.True(NativeMembers.ProducesHandle(Method(NativeMemory, "Alloc")));
        Assert.False(NativeMembers.ProducesHandle(Method(Marshal, "GetIUnknownForObject")));
        Assert.False(NativeMembers.ProducesHandle(Method("System.Runtime.InteropServices.GCHandle", "ToIntPtr")));

        Assert.True(NativeMembers.ReleasesHandle(Method("N", "CloseHandle")));
        Assert.True(NativeMembers.ReleasesHandle(Method("N", "sqlite3_finalize")));
        Assert.False(NativeMembers.ReleasesHandle(Method("N", "SetEvent")));
        Assert.True(NativeMembers.ReleasesHandle(Method(Marshal, "FreeHGlobal")));
        Assert.False(NativeMembers.ReleasesHandle(Method(Marshal, "Release")));

        Assert.True(NativeMembers.IsNullTolerantFree(Method(Marshal, "FreeHGlobal")));
        Assert.True(NativeMembers.IsNullTolerantFree(Method(NativeMemory, "Free")));
        Assert.False(NativeMembers.IsNullTolerantFree(Method("N", "CloseHandle")));
    }
}
