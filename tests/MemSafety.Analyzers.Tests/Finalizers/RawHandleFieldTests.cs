using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.Finalizers;
using MemSafety.Analyzers.Tests.Verification;
using MemSafety.CodeFixes.Finalizers;
using VerifyCS = MemSafety.Analyzers.Tests.Verification.Verify<MemSafety.Analyzers.Rules.Finalizers.RawHandleFieldAnalyzer, MemSafety.CodeFixes.Finalizers.RawHandleFieldFix>;

namespace MemSafety.Analyzers.Tests.Finalizers;

public sealed class RawHandleFieldTests
{
    // ------------------------------------------------------------------ reported, fixed

    [Fact]
    public Task CloseHandleStyle_BoolRelease_ZeroInvalid_PInvokesInTheType_Retyped() => VerifyCS.CodeFixAsync("""
        using System;
        using System.Runtime.InteropServices;

        public sealed class Event : IDisposable
        {
            [DllImport("kernel32", SetLastError = true)]
            private static extern IntPtr CreateEvent(IntPtr attributes, bool manualReset, bool initialState, string? name);

            [DllImport("kernel32", SetLastError = true)]
            private static extern bool SetEvent(IntPtr handle);

            [DllImport("kernel32", SetLastError = true)]
            private static extern bool CloseHandle(IntPtr handle);

            private IntPtr [|_handle|];

            public Event()
            {
                _handle = CreateEvent(IntPtr.Zero, true, false, null);
                if (_handle == IntPtr.Zero)
                    throw new InvalidOperationException("CreateEvent failed");
            }

            public bool Set() => SetEvent(_handle);

            public void Dispose()
            {
                if (_handle != IntPtr.Zero)
                {
                    CloseHandle(_handle);
                    _handle = IntPtr.Zero;
                }

                GC.SuppressFinalize(this);
            }

            ~Event()
            {
                if (_handle != IntPtr.Zero)
                    CloseHandle(_handle);
            }
        }
        """, """
        using System;
        using System.Runtime.InteropServices;

        public sealed class Event : IDisposable
        {
            [DllImport("kernel32", SetLastError = true)]
            private static extern SafeEventHandle CreateEvent(IntPtr attributes, bool manualReset, bool initialState, string? name);

            [DllImport("kernel32", SetLastError = true)]
            private static extern bool SetEvent(SafeEventHandle handle);

            [DllImport("kernel32", SetLastError = true)]
            private static extern bool CloseHandle(IntPtr handle);

            private SafeEventHandle _handle;

            public Event()
            {
                _handle = CreateEvent(IntPtr.Zero, true, false, null);
                if (_handle.IsInvalid)
                    throw new InvalidOperationException("CreateEvent failed");
            }

            public bool Set() => SetEvent(_handle);

            public void Dispose()
            {
                _handle.Dispose();
            }

            private sealed class SafeEventHandle : SafeHandle
            {
                public SafeEventHandle() : base(IntPtr.Zero, true)
                {
                }

                public SafeEventHandle(IntPtr handle) : base(IntPtr.Zero, true)
                {
                    SetHandle(handle);
                }

                public override bool IsInvalid => handle == IntPtr.Zero;

                protected override bool ReleaseHandle() => CloseHandle(handle);
            }
        }
        """);

    /// <summary>The POSIX shape: an <c>int</c> descriptor, <c>close</c> returns 0 on success, every negative value is
    /// invalid. An <c>int</c>-returning function cannot be declared to return a SafeHandle (the marshaller would read
    /// a pointer-sized value whose upper half the callee never wrote), so the result is wrapped, sign-extended.</summary>
    internal const string DescriptorBefore = """
        using System;
        using System.IO;
        using System.Runtime.InteropServices;

        public sealed class Descriptor : IDisposable
        {
            [DllImport("libc", SetLastError = true)]
            private static extern int open(string path, int flags);

            [DllImport("libc", SetLastError = true)]
            private static extern int close(int fd);

            private int [|_fd|];

            public Descriptor(string path)
            {
                _fd = open(path, 0);
                if (_fd < 0)
                    throw new IOException("open failed: " + Marshal.GetLastWin32Error());
            }

            public void Dispose()
            {
                Dispose(true);
                GC.SuppressFinalize(this);
            }

            private void Dispose(bool disposing)
            {
                if (_fd >= 0)
                {
                    close(_fd);
                    _fd = -1;
                }
            }

            ~Descriptor()
            {
                Dispose(false);
            }
        }
        """;

    internal const string DescriptorAfter = """
        using System;
        using System.IO;
        using System.Runtime.InteropServices;

        public sealed class Descriptor : IDisposable
        {
            [DllImport("libc", SetLastError = true)]
            private static extern int open(string path, int flags);

            [DllImport("libc", SetLastError = true)]
            private static extern int close(int fd);

            private SafeDescriptorHandle _fd;

            public Descriptor(string path)
            {
                _fd = new SafeDescriptorHandle((IntPtr)open(path, 0));
                if (_fd.IsInvalid)
                    throw new IOException("open failed: " + Marshal.GetLastWin32Error());
            }

            public void Dispose()
            {
                Dispose(true);
            }

            private void Dispose(bool disposing)
            {
                _fd.Dispose();
            }

            private sealed class SafeDescriptorHandle : SafeHandle
            {
                public SafeDescriptorHandle() : base(new IntPtr(-1), true)
                {
                }

                public SafeDescriptorHandle(IntPtr handle) : base(new IntPtr(-1), true)
                {
                    SetHandle(handle);
                }

                public override bool IsInvalid => handle.ToInt64() < 0;

                protected override bool ReleaseHandle() => close((int)handle) == 0;
            }
        }
        """;

    [Fact]
    public Task CloseStyle_IntRelease_NegativeInvalid_AcquiredInConstructor_Wrapped() => VerifyCS.CodeFixAsync(DescriptorBefore, DescriptorAfter);

    [Fact]
    public Task MessageSaysWhereTheHandleComesFromAndWhatASafeHandleDoes()
    {
        var test = Verify<RawHandleFieldAnalyzer>.Test(DescriptorBefore.Replace("[|_fd|]", "{|#0:_fd|}"));
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4004", 0).WithMessage(
            "Field '_fd' holds a native handle from 'open' that the finalizer of 'Descriptor' releases with 'close' (through Dispose(false)): a SafeHandle releases it in a critical finalizer and keeps it open while a native call still uses it"));
        return test.RunAsync();
    }

    [Fact]
    public Task MinusOneInvalid_CreateFileStyle_AcquiredInAMethod_NoZeroInvalid_ReportedWithoutFix()
    {
        // Acquired outside the constructor the field starts at 0, which this release would hand to CloseHandle:
        // a SafeHandle standing for that initial 0 would have to be valid, and would be released when replaced.
        var test = Verify<RawHandleFieldAnalyzer>.Test("""
            using System;
            using System.Runtime.InteropServices;

            public sealed class File
            {
                [DllImport("kernel32", SetLastError = true)]
                private static extern IntPtr CreateFileW(string name, uint access, uint share, IntPtr security, uint mode, uint flags, IntPtr template);

                [DllImport("kernel32", SetLastError = true)]
                private static extern bool CloseHandle(IntPtr handle);

                private IntPtr {|#0:_handle|};

                public void Open(string name) => _handle = CreateFileW(name, 0x80000000, 1, IntPtr.Zero, 3, 0, IntPtr.Zero);

                ~File()
                {
                    if (_handle != new IntPtr(-1))
                        CloseHandle(_handle);
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4004", 0).WithMessage(
            "Field '_handle' holds a native handle from 'CreateFileW' that the finalizer of 'File' releases with 'CloseHandle': a SafeHandle releases it in a critical finalizer and keeps it open while a native call still uses it; no automatic fix: it is acquired outside the constructor and 0 is not an invalid value, so no SafeHandle can stand for the field's initial 0"));
        return test.RunAsync();
    }

    [Fact]
    public Task MinusOneInvalid_CreateFileStyle_AcquiredInConstructor_SafeHandleWithMinusOne() => VerifyCS.CodeFixAsync("""
        using System;
        using System.Runtime.InteropServices;

        sealed class File : IDisposable
        {
            [DllImport("kernel32", SetLastError = true)]
            private static extern IntPtr CreateFileW(string name, uint access, uint share, IntPtr security, uint mode, uint flags, IntPtr template);

            [DllImport("kernel32", SetLastError = true)]
            private static extern bool CloseHandle(IntPtr handle);

            [DllImport("kernel32", SetLastError = true)]
            private static extern bool FlushFileBuffers(IntPtr handle);

            private readonly IntPtr [|_handle|];

            public File(string name)
            {
                _handle = CreateFileW(name, 0x40000000, 0, IntPtr.Zero, 2, 0, IntPtr.Zero);
            }

            public bool Flush() => FlushFileBuffers(_handle);

            public void Dispose()
            {
                Release();
                GC.SuppressFinalize(this);
            }

            private void Release()
            {
                if (_handle != new IntPtr(-1))
                    CloseHandle(_handle);
            }

            ~File() => Release();
        }
        """, """
        using System;
        using System.Runtime.InteropServices;

        sealed class File : IDisposable
        {
            [DllImport("kernel32", SetLastError = true)]
            private static extern SafeFileHandle CreateFileW(string name, uint access, uint share, IntPtr security, uint mode, uint flags, IntPtr template);

            [DllImport("kernel32", SetLastError = true)]
            private static extern bool CloseHandle(IntPtr handle);

            [DllImport("kernel32", SetLastError = true)]
            private static extern bool FlushFileBuffers(SafeFileHandle handle);

            private readonly SafeFileHandle _handle;

            public File(string name)
            {
                _handle = CreateFileW(name, 0x40000000, 0, IntPtr.Zero, 2, 0, IntPtr.Zero);
            }

            public bool Flush() => FlushFileBuffers(_handle);

            public void Dispose()
            {
                Release();
            }

            private void Release()
            {
                _handle.Dispose();
            }

            private sealed class SafeFileHandle : SafeHandle
            {
                public SafeFileHandle() : base(new IntPtr(-1), true)
                {
                }

                public SafeFileHandle(IntPtr handle) : base(new IntPtr(-1), true)
                {
                    SetHandle(handle);
                }

                public override bool IsInvalid => handle == new IntPtr(-1);

                protected override bool ReleaseHandle() => CloseHandle(handle);
            }
        }
        """);

    [Fact]
    public Task ZeroAndMinusOneInvalid_AcquiredInAMethod_PlaceholderAndSafeHandleZeroOrMinusOneIsInvalid() => VerifyCS.CodeFixAsync("""
        using System;
        using System.Runtime.InteropServices;

        sealed class Mapping : IDisposable
        {
            [DllImport("kernel32", SetLastError = true)]
            private static extern IntPtr OpenFileMappingW(uint access, bool inherit, string name);

            [DllImport("kernel32", SetLastError = true)]
            private static extern bool CloseHandle(IntPtr handle);

            private IntPtr [|_mapping|];

            public void Open(string name)
            {
                _mapping = OpenFileMappingW(4, false, name);
            }

            public bool IsOpen => _mapping != IntPtr.Zero;

            public void Dispose()
            {
                if (_mapping != IntPtr.Zero && _mapping != new IntPtr(-1))
                    CloseHandle(_mapping);
                GC.SuppressFinalize(this);
            }

            ~Mapping()
            {
                if (_mapping != IntPtr.Zero && _mapping != new IntPtr(-1))
                    CloseHandle(_mapping);
            }
        }
        """, """
        using System;
        using System.Runtime.InteropServices;

        sealed class Mapping : IDisposable
        {
            [DllImport("kernel32", SetLastError = true)]
            private static extern SafeMappingHandle OpenFileMappingW(uint access, bool inherit, string name);

            [DllImport("kernel32", SetLastError = true)]
            private static extern bool CloseHandle(IntPtr handle);

            private SafeMappingHandle _mapping = new SafeMappingHandle();

            public void Open(string name)
            {
                _mapping = OpenFileMappingW(4, false, name);
            }

            public bool IsOpen => _mapping.DangerousGetHandle() != IntPtr.Zero;

            public void Dispose()
            {
                _mapping.Dispose();
            }

            private sealed class SafeMappingHandle : Microsoft.Win32.SafeHandles.SafeHandleZeroOrMinusOneIsInvalid
            {
                public SafeMappingHandle() : base(true)
                {
                }

                public SafeMappingHandle(IntPtr handle) : base(true)
                {
                    SetHandle(handle);
                }

                protected override bool ReleaseHandle() => CloseHandle(handle);
            }
        }
        """);

    [Fact]
    public Task MarshalAllocHGlobal_MetadataAllocatorAndVoidFree_InitializerWrapped_RawUsesReadTheHandle() => VerifyCS.CodeFixAsync("""
        using System;
        using System.Runtime.InteropServices;

        sealed class Block
        {
            private readonly IntPtr [|_memory|] = Marshal.AllocHGlobal(64);

            public void Write(int offset, int value) => Marshal.WriteInt32(_memory, offset, value);

            public int Read(int offset) => Marshal.ReadInt32(_memory, offset);

            ~Block()
            {
                Marshal.FreeHGlobal(_memory);
            }
        }
        """, """
        using System;
        using System.Runtime.InteropServices;

        sealed class Block
        {
            private readonly SafeBlockHandle _memory = new SafeBlockHandle(Marshal.AllocHGlobal(64));

            public void Write(int offset, int value) => Marshal.WriteInt32(_memory.DangerousGetHandle(), offset, value);

            public int Read(int offset) => Marshal.ReadInt32(_memory.DangerousGetHandle(), offset);

            private sealed class SafeBlockHandle : SafeHandle
            {
                public SafeBlockHandle() : base(IntPtr.Zero, true)
                {
                }

                public SafeBlockHandle(IntPtr handle) : base(IntPtr.Zero, true)
                {
                    SetHandle(handle);
                }

                public override bool IsInvalid => handle == IntPtr.Zero;

                protected override bool ReleaseHandle()
                {
                    Marshal.FreeHGlobal(handle);
                    return true;
                }
            }
        }
        """);

    [Fact]
    public Task NativeMemory_PointerCastInTheRelease_HandleClassIsUnsafe() => VerifyCS.CodeFixAsync("""
        using System;
        using System.Runtime.InteropServices;

        sealed class Scratch
        {
            private IntPtr [|_buffer|];

            public unsafe Scratch(int size) => _buffer = (IntPtr)NativeMemory.Alloc((nuint)size);

            public void Fill(int size) => Marshal.WriteByte(_buffer, size - 1, 1);

            ~Scratch()
            {
                unsafe
                {
                    NativeMemory.Free((void*)_buffer);
                }
            }
        }
        """, """
        using System;
        using System.Runtime.InteropServices;

        sealed class Scratch
        {
            private SafeScratchHandle _buffer;

            public unsafe Scratch(int size) => _buffer = new SafeScratchHandle((IntPtr)NativeMemory.Alloc((nuint)size));

            public void Fill(int size) => Marshal.WriteByte(_buffer.DangerousGetHandle(), size - 1, 1);

            private sealed unsafe class SafeScratchHandle : SafeHandle
            {
                public SafeScratchHandle() : base(IntPtr.Zero, true)
                {
                }

                public SafeScratchHandle(IntPtr handle) : base(IntPtr.Zero, true)
                {
                    SetHandle(handle);
                }

                public override bool IsInvalid => handle == IntPtr.Zero;

                protected override bool ReleaseHandle()
                {
                    NativeMemory.Free((void*)handle);
                    return true;
                }
            }
        }
        """);

    [Fact]
    public Task ExpressionBodiedRelease_ReplacedByDispose() => VerifyCS.CodeFixAsync("""
        using System;
        using System.Runtime.InteropServices;

        sealed class Text : IDisposable
        {
            private IntPtr [|_chars|];

            public Text(string value)
            {
                _chars = Marshal.StringToHGlobalUni(value);
            }

            public string? Read() => Marshal.PtrToStringUni(_chars);

            public void Dispose() => Marshal.FreeHGlobal(_chars);

            ~Text() => Marshal.FreeHGlobal(_chars);
        }
        """, """
        using System;
        using System.Runtime.InteropServices;

        sealed class Text : IDisposable
        {
            private SafeTextHandle _chars;

            public Text(string value)
            {
                _chars = new SafeTextHandle(Marshal.StringToHGlobalUni(value));
            }

            public string? Read() => Marshal.PtrToStringUni(_chars.DangerousGetHandle());

            public void Dispose() => _chars.Dispose();

            private sealed class SafeTextHandle : SafeHandle
            {
                public SafeTextHandle() : base(IntPtr.Zero, true)
                {
                }

                public SafeTextHandle(IntPtr handle) : base(IntPtr.Zero, true)
                {
                    SetHandle(handle);
                }

                public override bool IsInvalid => handle == IntPtr.Zero;

                protected override bool ReleaseHandle()
                {
                    Marshal.FreeHGlobal(handle);
                    return true;
                }
            }
        }
        """);

    [Fact]
    public Task EarlyReturnGuard_ReportedWithoutFixAndSaysWhy()
    {
        var test = Verify<RawHandleFieldAnalyzer>.Test("""
            using System;
            using System.Runtime.InteropServices;
            sealed class Library
            {
                [DllImport("libdl")] private static extern IntPtr dlopen(string name, int flags);
                [DllImport("libdl")] private static extern int dlclose(IntPtr handle);
                private readonly IntPtr {|#0:_library|} = dlopen("libm.so.6", 2);
                ~Library()
                {
                    if (_library == IntPtr.Zero)
                        return;
                    dlclose(_library);
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4004", 0).WithMessage(
            "Field '_library' holds a native handle from 'dlopen' that the finalizer of 'Library' releases with 'dlclose': a SafeHandle releases it in a critical finalizer and keeps it open while a native call still uses it; no automatic fix: 'dlclose' is not guarded by an 'if' that only compares the field with 0 or -1, so the invalid value a SafeHandle needs is unknown"));
        return test.RunAsync();
    }

    [Fact]
    public Task PInvokesDeclaredInAnotherType_WrappedAndRawHandlePassed() => VerifyCS.CodeFixAsync("""
        using System;
        using System.Runtime.InteropServices;

        static class NativeMethods
        {
            [DllImport("kernel32", SetLastError = true)]
            internal static extern IntPtr CreateMutexW(IntPtr attributes, bool owned, string? name);

            [DllImport("kernel32", SetLastError = true)]
            internal static extern bool ReleaseMutex(IntPtr handle);

            [DllImport("kernel32", SetLastError = true)]
            internal static extern bool CloseHandle(IntPtr handle);
        }

        sealed class Mutex
        {
            private IntPtr [|_handle|];

            public Mutex()
            {
                _handle = NativeMethods.CreateMutexW(IntPtr.Zero, false, null);
            }

            public bool Release() => NativeMethods.ReleaseMutex(_handle);

            ~Mutex()
            {
                if (_handle != IntPtr.Zero)
                    NativeMethods.CloseHandle(_handle);
            }
        }
        """, """
        using System;
        using System.Runtime.InteropServices;

        static class NativeMethods
        {
            [DllImport("kernel32", SetLastError = true)]
            internal static extern IntPtr CreateMutexW(IntPtr attributes, bool owned, string? name);

            [DllImport("kernel32", SetLastError = true)]
            internal static extern bool ReleaseMutex(IntPtr handle);

            [DllImport("kernel32", SetLastError = true)]
            internal static extern bool CloseHandle(IntPtr handle);
        }

        sealed class Mutex
        {
            private SafeMutexHandle _handle;

            public Mutex()
            {
                _handle = new SafeMutexHandle(NativeMethods.CreateMutexW(IntPtr.Zero, false, null));
            }

            public bool Release() => NativeMethods.ReleaseMutex(_handle.DangerousGetHandle());

            private sealed class SafeMutexHandle : SafeHandle
            {
                public SafeMutexHandle() : base(IntPtr.Zero, true)
                {
                }

                public SafeMutexHandle(IntPtr handle) : base(IntPtr.Zero, true)
                {
                    SetHandle(handle);
                }

                public override bool IsInvalid => handle == IntPtr.Zero;

                protected override bool ReleaseHandle() => NativeMethods.CloseHandle(handle);
            }
        }
        """);

    [Fact]
    public Task PInvokesInAReferencedAssembly_Wrapped()
    {
        // The platform invokes come from another compilation (metadata to this one): they cannot be retyped.
        // (The first project has a finding too: the harness's solution-wide Fix All starts from the first project.)
        var test = new AnalyzerTest(new RawHandleFieldAnalyzer()) { CodeFix = new RawHandleFieldFix() };
        test.Sources.Add("""
            using System;
            using System.Runtime.InteropServices;

            public static class Native
            {
                [DllImport("libz")]
                public static extern IntPtr deflate_open(int level);

                [DllImport("libz")]
                public static extern int deflate_close(IntPtr stream);
            }

            sealed class Scratch
            {
                private IntPtr [|_p|] = Marshal.AllocHGlobal(8);
                ~Scratch() { Marshal.FreeHGlobal(_p); }
            }
            """);
        test.OtherProjectSources.Add("""
            using System;

            sealed class Compressor
            {
                private IntPtr [|_stream|];

                public Compressor(int level) => _stream = Native.deflate_open(level);

                ~Compressor()
                {
                    if (_stream != IntPtr.Zero)
                    {
                        Native.deflate_close(_stream);
                        _stream = IntPtr.Zero;
                    }
                }
            }
            """);
        test.FixedSources.Add("""
            using System;
            using System.Runtime.InteropServices;

            public static class Native
            {
                [DllImport("libz")]
                public static extern IntPtr deflate_open(int level);

                [DllImport("libz")]
                public static extern int deflate_close(IntPtr stream);
            }

            sealed class Scratch
            {
                private SafeScratchHandle _p = new SafeScratchHandle(Marshal.AllocHGlobal(8));

                private sealed class SafeScratchHandle : SafeHandle
                {
                    public SafeScratchHandle() : base(IntPtr.Zero, true)
                    {
                    }

                    public SafeScratchHandle(IntPtr handle) : base(IntPtr.Zero, true)
                    {
                        SetHandle(handle);
                    }

                    public override bool IsInvalid => handle == IntPtr.Zero;

                    protected override bool ReleaseHandle()
                    {
                        Marshal.FreeHGlobal(handle);
                        return true;
                    }
                }
            }
            """);
        test.FixedOtherProjectSources.Add("""
            using System;

            sealed class Compressor
            {
                private SafeCompressorHandle _stream;

                public Compressor(int level) => _stream = new SafeCompressorHandle(Native.deflate_open(level));

                private sealed class SafeCompressorHandle : System.Runtime.InteropServices.SafeHandle
                {
                    public SafeCompressorHandle() : base(IntPtr.Zero, true)
                    {
                    }

                    public SafeCompressorHandle(IntPtr handle) : base(IntPtr.Zero, true)
                    {
                        SetHandle(handle);
                    }

                    public override bool IsInvalid => handle == IntPtr.Zero;

                    protected override bool ReleaseHandle() => Native.deflate_close(handle) == 0;
                }
            }
            """);
        return test.RunAsync();
    }

    [Fact]
    public Task CSharp73OnNetStandard20_FixCompiles()
    {
        var test = new AnalyzerTest(new RawHandleFieldAnalyzer()) { CodeFix = new RawHandleFieldFix() }.OnNetStandard20WithSystemMemory();
        test.Sources.Add("""
            using System;
            using System.Runtime.InteropServices;

            public sealed class Key : IDisposable
            {
                [DllImport("advapi32")]
                private static extern int RegOpenKeyExW(IntPtr root, string name, int options, int access, out IntPtr key);

                [DllImport("advapi32")]
                private static extern int RegCloseKey(IntPtr key);

                [DllImport("advapi32")]
                private static extern IntPtr OpenPolicy(string system);

                private IntPtr [|_policy|];

                public Key(string system)
                {
                    _policy = OpenPolicy(system);
                }

                public void Dispose()
                {
                    if (_policy != IntPtr.Zero && _policy != new IntPtr(-1))
                        RegCloseKey(_policy);
                    GC.SuppressFinalize(this);
                }

                ~Key()
                {
                    if (_policy != IntPtr.Zero && _policy != new IntPtr(-1))
                        RegCloseKey(_policy);
                }
            }
            """);
        test.FixedSources.Add("""
            using System;
            using System.Runtime.InteropServices;

            public sealed class Key : IDisposable
            {
                [DllImport("advapi32")]
                private static extern int RegOpenKeyExW(IntPtr root, string name, int options, int access, out IntPtr key);

                [DllImport("advapi32")]
                private static extern int RegCloseKey(IntPtr key);

                [DllImport("advapi32")]
                private static extern SafeKeyHandle OpenPolicy(string system);

                private SafeKeyHandle _policy;

                public Key(string system)
                {
                    _policy = OpenPolicy(system);
                }

                public void Dispose()
                {
                    _policy.Dispose();
                }

                private sealed class SafeKeyHandle : Microsoft.Win32.SafeHandles.SafeHandleZeroOrMinusOneIsInvalid
                {
                    public SafeKeyHandle() : base(true)
                    {
                    }

                    public SafeKeyHandle(IntPtr handle) : base(true)
                    {
                        SetHandle(handle);
                    }

                    protected override bool ReleaseHandle() => RegCloseKey(handle) == 0;
                }
            }
            """);
        return test.RunAsync();
    }

    [Fact]
    public Task ManyTypes_FixAllInEveryScope()
    {
        var test = new AnalyzerTest(new RawHandleFieldAnalyzer()) { CodeFix = new RawHandleFieldFix() };
        test.Sources.Add("""
            using System;
            using System.Runtime.InteropServices;

            sealed class A
            {
                private IntPtr [|_p|] = Marshal.AllocHGlobal(8);
                ~A() { Marshal.FreeHGlobal(_p); }
            }

            sealed class B
            {
                private IntPtr [|_p|] = Marshal.AllocCoTaskMem(8);
                ~B() { Marshal.FreeCoTaskMem(_p); }
            }
            """);
        test.OtherProjectSources.Add("""
            using System;
            using System.Runtime.InteropServices;

            sealed class C
            {
                private IntPtr [|_p|] = Marshal.AllocHGlobal(16);
                ~C() { Marshal.FreeHGlobal(_p); }
            }
            """);
        const string Fixed = """
            using System;
            using System.Runtime.InteropServices;

            sealed class NAME
            {
                private SafeNAMEHandle _p = new SafeNAMEHandle(Marshal.ALLOC);

                private sealed class SafeNAMEHandle : SafeHandle
                {
                    public SafeNAMEHandle() : base(IntPtr.Zero, true)
                    {
                    }

                    public SafeNAMEHandle(IntPtr handle) : base(IntPtr.Zero, true)
                    {
                        SetHandle(handle);
                    }

                    public override bool IsInvalid => handle == IntPtr.Zero;

                    protected override bool ReleaseHandle()
                    {
                        Marshal.FREE(handle);
                        return true;
                    }
                }
            }
            """;
        static string Type(string name, string alloc, string free) => Fixed.Replace("NAME", name).Replace("ALLOC", alloc).Replace("FREE", free);
        var a = Type("A", "AllocHGlobal(8)", "FreeHGlobal");
        var b = Type("B", "AllocCoTaskMem(8)", "FreeCoTaskMem");
        var c = Type("C", "AllocHGlobal(16)", "FreeHGlobal");
        const string Usings = "using System;\nusing System.Runtime.InteropServices;\n\n";
        test.FixedSources.Add(a + "\n" + b.Substring(Usings.Length - 1));
        test.FixedOtherProjectSources.Add(c);
        return test.RunAsync();
    }

    // ------------------------------------------------------------------ reported, no fix

    [Fact]
    public Task HandleReturnedByAProperty_ReportedWithoutFix()
    {
        var test = Verify<RawHandleFieldAnalyzer>.Test("""
            using System;
            using System.Runtime.InteropServices;
            public sealed class Window
            {
                [DllImport("user32")] private static extern IntPtr CreateWindowExW(int style, string cls, string name);
                [DllImport("user32")] private static extern bool DestroyWindow(IntPtr window);
                private IntPtr {|#0:_window|};
                public Window() { _window = CreateWindowExW(0, "STATIC", "x"); }
                public IntPtr Handle => _window;
                ~Window() { if (_window != IntPtr.Zero) DestroyWindow(_window); }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4004", 0).WithMessage(
            "Field '_window' holds a native handle from 'CreateWindowExW' that the finalizer of 'Window' releases with 'DestroyWindow': a SafeHandle releases it in a critical finalizer and keeps it open while a native call still uses it; no automatic fix: it is returned"));
        return test.RunAsync();
    }

    [Fact]
    public Task NoFix_WhereTheRewriteCannotBeProven() => VerifyCS.NoFixAsync("""
        using System;
        using System.Threading;
        using System.Runtime.InteropServices;

        // The release needs another field.
        sealed class Mapped
        {
            [DllImport("libc")] private static extern IntPtr mmap(IntPtr addr, IntPtr length, int prot, int flags, int fd, IntPtr offset);
            [DllImport("libc")] private static extern int munmap(IntPtr addr, IntPtr length);
            private readonly IntPtr _length = (IntPtr)4096;
            private IntPtr [|_address|];
            public Mapped() { _address = mmap(IntPtr.Zero, _length, 1, 0x22, -1, IntPtr.Zero); }
            ~Mapped() { if (_address != new IntPtr(-1)) munmap(_address, _length); }
        }

        // The finalizer releases a copy taken atomically.
        sealed class Exchanged
        {
            [DllImport("lib")] private static extern IntPtr Create();
            [DllImport("lib")] private static extern void Destroy(IntPtr handle);
            private IntPtr [|_handle|] = Create();
            ~Exchanged() { Destroy(Interlocked.Exchange(ref _handle, IntPtr.Zero)); }
        }

        // Arithmetic on the handle.
        sealed class Offset
        {
            private IntPtr [|_block|] = Marshal.AllocHGlobal(64);
            public IntPtr Second => _block + 32;
            ~Offset() { Marshal.FreeHGlobal(_block); }
        }

        // Visible outside the type.
        public sealed class Exposed
        {
            [DllImport("lib")] private static extern IntPtr Create();
            [DllImport("lib")] private static extern void Destroy(IntPtr handle);
            internal IntPtr [|Handle|] = Create();
            ~Exposed() { if (Handle != IntPtr.Zero) Destroy(Handle); }
        }

        // Others may derive from it and rely on the finalizer.
        public class Open
        {
            [DllImport("lib")] private static extern IntPtr Create();
            [DllImport("lib")] private static extern void Destroy(IntPtr handle);
            private IntPtr [|_handle|] = Create();
            ~Open() { if (_handle != IntPtr.Zero) Destroy(_handle); }
        }

        // An unguarded platform-invoke release: which value is invalid is unknown.
        sealed class Unguarded
        {
            [DllImport("lib")] private static extern IntPtr Create();
            [DllImport("lib")] private static extern void Destroy(IntPtr handle);
            private IntPtr [|_handle|] = Create();
            ~Unguarded() { Destroy(_handle); }
        }

        // The finalizer also releases another handle.
        sealed class Two
        {
            [DllImport("lib")] private static extern IntPtr Create();
            [DllImport("lib")] private static extern void Destroy(IntPtr handle);
            private IntPtr [|_first|] = Create();
            private IntPtr [|_second|] = Create();
            ~Two() { if (_first != IntPtr.Zero) Destroy(_first); if (_second != IntPtr.Zero) Destroy(_second); }
        }

        // Reset on release and compared after it: the original sees the reset value after Dispose.
        sealed class Checked : IDisposable
        {
            [DllImport("lib")] private static extern IntPtr Create();
            [DllImport("lib")] private static extern void Destroy(IntPtr handle);
            private IntPtr [|_handle|] = Create();
            public bool IsClosed => _handle == IntPtr.Zero;
            public void Dispose() { if (_handle != IntPtr.Zero) { Destroy(_handle); _handle = IntPtr.Zero; } GC.SuppressFinalize(this); }
            ~Checked() { if (_handle != IntPtr.Zero) Destroy(_handle); }
        }
        """);

    // ------------------------------------------------------------------ not reported

    [Fact]
    public Task SafeHandleSubclass_NoDiagnostic() => Verify<RawHandleFieldAnalyzer>.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        sealed class Owned : SafeHandle
        {
            [DllImport("lib")] private static extern IntPtr Create();
            [DllImport("lib")] private static extern bool Destroy(IntPtr handle);
            private IntPtr _extra = Create();
            public Owned() : base(IntPtr.Zero, true) { }
            public override bool IsInvalid => handle == IntPtr.Zero;
            protected override bool ReleaseHandle() => Destroy(handle);
            ~Owned() { Destroy(_extra); }
        }
        """);

    [Fact]
    public Task FunctionPointerFromGetProcAddress_NotReleased_NoDiagnostic() => Verify<RawHandleFieldAnalyzer>.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        sealed class Plugin
        {
            [DllImport("kernel32")] private static extern IntPtr LoadLibraryW(string name);
            [DllImport("kernel32")] private static extern IntPtr GetProcAddress(IntPtr module, string name);
            [DllImport("kernel32")] private static extern bool FreeLibrary(IntPtr module);
            private readonly IntPtr _module = LoadLibraryW("x.dll");
            private readonly IntPtr _entry;
            public Plugin() { _entry = GetProcAddress(_module, "Run"); }
            ~Plugin() { Console.WriteLine(_entry); }
        }
        """);

    [Fact]
    public Task SizesOffsetsAndPinnedPointers_NoDiagnostic() => Verify<RawHandleFieldAnalyzer>.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        sealed class Buffer
        {
            [DllImport("lib")] private static extern void Release(IntPtr pointer, IntPtr size);
            private readonly byte[] _data = new byte[16];
            private GCHandle _pin;
            private IntPtr _pointer;
            private IntPtr _size = (IntPtr)16;
            public Buffer() { _pin = GCHandle.Alloc(_data, GCHandleType.Pinned); _pointer = _pin.AddrOfPinnedObject(); }
            ~Buffer() { Release(_pointer, _size); _pin.Free(); }
        }
        """);

    [Fact]
    public Task NeverReleasedOrReleasedOnlyByDispose_NoDiagnostic() => Verify<RawHandleFieldAnalyzer>.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        sealed class Leaks
        {
            private IntPtr _block = Marshal.AllocHGlobal(8);
            ~Leaks() { Console.WriteLine("finalized"); }
        }
        sealed class DisposeOnly : IDisposable
        {
            private IntPtr _block = Marshal.AllocHGlobal(8);
            public void Dispose() => Marshal.FreeHGlobal(_block);
        }
        """);

    [Fact]
    public Task BorrowedHandleUsedButNotReleased_NoDiagnostic() => Verify<RawHandleFieldAnalyzer>.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        sealed class ConsoleMode
        {
            [DllImport("kernel32")] private static extern IntPtr GetStdHandle(int which);
            [DllImport("kernel32")] private static extern bool GetConsoleMode(IntPtr handle, out int mode);
            [DllImport("kernel32")] private static extern bool SetConsoleMode(IntPtr handle, int mode);
            private readonly IntPtr _output = GetStdHandle(-11);
            private readonly int _saved;
            public ConsoleMode() { GetConsoleMode(_output, out _saved); }
            ~ConsoleMode() { SetConsoleMode(_output, _saved); }
        }
        """);

    [Fact]
    public Task GCHandlesAndComPointers_NoDiagnostic() => Verify<RawHandleFieldAnalyzer>.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        sealed class Rooted
        {
            private readonly IntPtr _self;
            public Rooted() { _self = GCHandle.ToIntPtr(GCHandle.Alloc(new object())); }
            ~Rooted() { GCHandle.FromIntPtr(_self).Free(); }
        }
        sealed class Com
        {
            private readonly IntPtr _unknown = Marshal.GetIUnknownForObject(new object());
            ~Com() { Marshal.Release(_unknown); }
        }
        """);

    [Fact]
    public Task DescriptorReleasedByALibraryHelper_NoDiagnostic() => Verify<RawHandleFieldAnalyzer>.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        sealed class Counter
        {
            [DllImport("lib")] private static extern int NextId();
            [DllImport("lib")] private static extern void Log(int id);
            private readonly int _id = NextId();
            ~Counter() { Log(_id); }
        }
        """);

    [Fact]
    public Task GeneratedCode_NoDiagnostic() => Verify<RawHandleFieldAnalyzer>.AnalyzerAsync("""
        // <auto-generated/>
        sealed class Generated
        {
            private System.IntPtr _p = System.Runtime.InteropServices.Marshal.AllocHGlobal(8);
            ~Generated() { System.Runtime.InteropServices.Marshal.FreeHGlobal(_p); }
        }
        """);

    [Fact]
    public Task IncompleteCode_NoDiagnosticAndNoCrash()
    {
        var test = Verify<RawHandleFieldAnalyzer>.Test("""
            using System;
            using System.Runtime.InteropServices;
            sealed class A { IntPtr _p = Marshal.AllocHGlobal(8); ~A() { Marshal.FreeHGlobal(_p }
            sealed class B { IntPtr _p = Missing(); ~B() { Marshal.FreeHGlobal(_p); } }
            sealed class C { IntPtr _p = Marshal.AllocHGlobal(); ~C() { Marshal.FreeHGlobal(_q); } }
            sealed class D { [DllImport("x")] static extern IntPtr Make(); IntPtr _p = Make(); ~D( { Close(_p); } }
            """);
        test.AllowCompilerErrors = true;
        return test.RunAsync();
    }

    // ------------------------------------------------------------------ run-time evidence (Linux, .NET 10, the test host)

    /// <summary>Counts this process's descriptors open on a temporary file (/proc/self/fd) while a <c>Descriptor</c> (libc <c>open</c>/<c>close</c>)
    /// is opened, disposed, disposed twice, dropped undisposed and collected, and fails to open.</summary>
    private const string DescriptorProbe = """

        public static class Program
        {
            static string Target = "";

            // Descriptors of this process open on the probe's file (other tests open files concurrently).
            static int OpenDescriptors()
            {
                var count = 0;
                foreach (var entry in Directory.GetFiles("/proc/self/fd"))
                {
                    try
                    {
                        if (new FileInfo(entry).LinkTarget == Target)
                            count++;
                    }
                    catch (IOException)
                    {
                        // Closed while listed.
                    }
                }

                return count;
            }

            // Created in a frame of their own: no temporary of Run's frame (unoptimized code keeps them) holds one.
            [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
            static Descriptor[] OpenTen(string path)
            {
                var opened = new Descriptor[10];
                for (var i = 0; i < opened.Length; i++)
                    opened[i] = new Descriptor(path);
                return opened;
            }

            public static string Run()
            {
                var path = Path.GetTempFileName();
                Target = path;
                try
                {
                    var baseline = OpenDescriptors();
                    var descriptor = new Descriptor(path);
                    var opened = OpenDescriptors() - baseline;
                    descriptor.Dispose();
                    var disposed = OpenDescriptors() - baseline;
                    descriptor.Dispose();
                    var disposedTwice = OpenDescriptors() - baseline;
                    // Ten left undisposed are held while counted, then dropped and collected.
                    var undisposed = OpenTen(path);
                    var dropped = OpenDescriptors() - baseline;
                    GC.KeepAlive(undisposed);
                    Array.Clear(undisposed, 0, undisposed.Length);
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    var finalized = OpenDescriptors() - baseline;
                    string missing;
                    try
                    {
                        new Descriptor(path + ".missing");
                        missing = "opened";
                    }
                    catch (IOException)
                    {
                        missing = "IOException";
                    }

                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    var afterFailure = OpenDescriptors() - baseline;
                    return $"open +{opened}, disposed +{disposed}, disposed twice +{disposedTwice}, 10 undisposed +{dropped}, collected +{finalized}, missing file: {missing} +{afterFailure}";
                }
                finally
                {
                    File.Delete(path);
                }
            }

            public static bool DescriptorIsFinalizable()
                => typeof(Descriptor).GetMethod("Finalize", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.DeclaredOnly) is not null;
        }
        """;

    [Fact]
    public void Behaviour_LibcOpenClose_ReleasedOnDisposeAndOnFinalization_BeforeAndAfterTheFix()
    {
        Assert.True(System.OperatingSystem.IsLinux(), "the probe counts descriptors in /proc/self/fd and calls libc");
        const string Expected = "open +1, disposed +0, disposed twice +0, 10 undisposed +10, collected +0, missing file: IOException +0";
        // The fixed source is the one CloseStyle_IntRelease_NegativeInvalid_AcquiredInConstructor_Wrapped checks the fix produces.
        Assert.Equal(Expected, Behaviour.RunInOwnProcess(DescriptorBefore + DescriptorProbe));
        Assert.Equal(Expected, Behaviour.RunInOwnProcess(DescriptorAfter + DescriptorProbe));
        // The object itself is no longer finalizable: its SafeHandle (a CriticalFinalizerObject) closed the dropped ones.
        Assert.Equal("True", Behaviour.Run(DescriptorBefore + DescriptorProbe, methodName: "DescriptorIsFinalizable"));
        Assert.Equal("False", Behaviour.Run(DescriptorAfter + DescriptorProbe, methodName: "DescriptorIsFinalizable"));
    }
}
