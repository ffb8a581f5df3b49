using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.Finalizers;
using MemSafety.Analyzers.Tests.Verification;
using MemSafety.CodeFixes.Finalizers;
using Microsoft.CodeAnalysis.CSharp;
using VerifyCS = MemSafety.Analyzers.Tests.Verification.Verify<MemSafety.Analyzers.Rules.Finalizers.UndisposedOwnedFieldAnalyzer, MemSafety.CodeFixes.Finalizers.UndisposedOwnedFieldFix>;

namespace MemSafety.Analyzers.Tests.Finalizers;

public sealed class UndisposedOwnedFieldTests
{
    private const string Usings = """
        using System;
        using System.IO;
        using System.Threading;
        using System.Threading.Tasks;

        """;

    // ------------------------------------------------------------------ reported

    [Fact]
    public Task FieldInitializerCreatesAFileStream_DisposeDoesNotDisposeIt_ReportedAndAppended() => VerifyCS.CodeFixAsync(Usings + """
        sealed class Log : IDisposable
        {
            private readonly FileStream [|_file|] = new FileStream("log.txt", FileMode.Append);
            private bool _disposed;

            public void Dispose()
            {
                if (_disposed)
                    return;
                _disposed = true;
            }
        }
        """, Usings + """
        sealed class Log : IDisposable
        {
            private readonly FileStream _file = new FileStream("log.txt", FileMode.Append);
            private bool _disposed;

            public void Dispose()
            {
                if (_disposed)
                    return;
                _disposed = true;
                _file?.Dispose();
            }
        }
        """);

    /// <summary>LiteDB's AesStream: CryptoStreams over the type's own stream and transforms, which its Dispose disposes
    /// itself; nothing the wrappers hold stays held.</summary>
    [Fact]
    public Task WrapperOverFieldsTheTypeDisposes_NoDiagnostic() => Verify<UndisposedOwnedFieldAnalyzer>.AnalyzerAsync(Usings + """
        using System.Security.Cryptography;
        sealed class Encrypted : IDisposable
        {
            private readonly Stream _stream;
            private readonly Aes _aes = Aes.Create();
            private readonly ICryptoTransform _decryptor;
            private readonly CryptoStream _reader;

            public Encrypted(Stream stream)
            {
                _stream = stream;
                _decryptor = _aes.CreateDecryptor();
                _reader = _stream.CanRead ? new CryptoStream(_stream, _decryptor, CryptoStreamMode.Read) : null;
            }

            public int Read(byte[] buffer) => _reader.Read(buffer, 0, buffer.Length);

            public void Dispose()
            {
                _stream?.Dispose();
                _decryptor.Dispose();
                _aes.Dispose();
            }
        }
        """);

    /// <summary>One wrapped field the type does not dispose: the wrapper is the only way to release it, still reported.</summary>
    [Fact]
    public Task WrapperOverAFieldTheTypeDoesNotDispose_Reported() => Verify<UndisposedOwnedFieldAnalyzer>.AnalyzerAsync(Usings + """
        using System.Security.Cryptography;
        sealed class Encrypted : IDisposable
        {
            private readonly Stream _stream = new MemoryStream();
            private readonly Aes _aes = Aes.Create();
            private readonly ICryptoTransform _decryptor;
            private readonly CryptoStream [|_reader|];

            public Encrypted()
            {
                _decryptor = _aes.CreateDecryptor();
                _reader = new CryptoStream(_stream, _decryptor, CryptoStreamMode.Read);
            }

            public int Read(byte[] buffer) => _reader.Read(buffer, 0, buffer.Length);

            public void Dispose()
            {
                _decryptor.Dispose();
                _aes.Dispose();
            }
        }
        """);

    /// <summary>A wrapper over a stream it opens inline holds that stream: still reported.</summary>
    [Fact]
    public Task WrapperOverAnInlineCreation_Reported() => Verify<UndisposedOwnedFieldAnalyzer>.AnalyzerAsync(Usings + """
        sealed class Reader : IDisposable
        {
            private readonly StreamReader [|_reader|] = new StreamReader(File.OpenRead("data.txt"));

            public string Next() => _reader.ReadLine();

            public void Dispose() { }
        }
        """);

    [Fact]
    public Task LinkedTokenSourceOrReturnsOwnedFactory_CreatedAsForLocals_Reported() => Verify<UndisposedOwnedFieldAnalyzer>.AnalyzerAsync(Usings + """
        sealed class ReturnsOwnedAttribute : Attribute { }
        static class Factory
        {
            [ReturnsOwned]
            public static Stream Open(string path) => File.OpenRead(path);
        }
        sealed class Job : IDisposable
        {
            // A linked source stays registered on the token it is linked to until it is disposed.
            private readonly CancellationTokenSource {|MSA4007:_linked|};
            private readonly Stream {|MSA4007:_input|} = Factory.Open("in");
            public Job(CancellationToken token) => _linked = CancellationTokenSource.CreateLinkedTokenSource(token);
            public CancellationToken Token => _linked.Token;
            public int Next() => _input.ReadByte();
            public void Dispose() { }
        }
        """);

    [Fact]
    public Task MessageSaysWhoCreatesItAndWhatStaysOpen()
    {
        var test = Verify<UndisposedOwnedFieldAnalyzer>.Test(Usings + """
            sealed class Log : IDisposable
            {
                private readonly FileStream {|#0:_file|} = new FileStream("log.txt", FileMode.Append);
                public void Dispose() { }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4007", 0).WithMessage(
            "Field '_file' holds a FileStream that 'Log' creates, but nothing in 'Log' disposes it ('Dispose' does not): what it holds stays held after 'Log' is disposed, until the garbage collector finalizes it"));
        return test.RunAsync();
    }

    [Fact]
    public Task TypeWithoutAFinalizer_MessageSaysNothingReleasesIt()
    {
        var test = Verify<UndisposedOwnedFieldAnalyzer>.Test(Usings + """
            sealed class Report : IDisposable
            {
                private readonly StreamWriter {|#0:_writer|} = new StreamWriter("report.txt");
                public void Add(string line) => _writer.WriteLine(line);
                public void Dispose() { Console.WriteLine("done"); }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4007", 0).WithMessage(
            "Field '_writer' holds a StreamWriter that 'Report' creates, but nothing in 'Report' disposes it ('Dispose' does not): what it holds stays held after 'Report' is disposed; 'StreamWriter' has no finalizer, so only the finalizers of what it holds, if any, ever release it"));
        return test.RunAsync();
    }

    [Fact]
    public Task SafeHandleFromAFactory_MessageSaysTheHandleWaitsForItsFinalizer()
    {
        var test = Verify<UndisposedOwnedFieldAnalyzer>.Test(Usings + """
            using System.Runtime.InteropServices;
            using Microsoft.Win32.SafeHandles;
            sealed class RawFile : IDisposable
            {
                [DllImport("libc")] private static extern long lseek(SafeFileHandle fd, long offset, int whence);
                private readonly SafeFileHandle {|#0:_handle|};
                public RawFile(string path) { _handle = File.OpenHandle(path); }
                // The marshaller holds the handle for the duration of the call only.
                public long Length => lseek(_handle, 0, 2);
                public void Dispose() { }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4007", 0).WithMessage(
            "Field '_handle' holds a SafeFileHandle that 'RawFile' creates, but nothing in 'RawFile' disposes it ('Dispose' does not): the handle stays open after 'RawFile' is disposed, until the garbage collector runs the SafeHandle's finalizer"));
        return test.RunAsync();
    }

    [Fact]
    public Task DisposePattern_AddedInsideIfDisposing() => VerifyCS.CodeFixAsync(Usings + """
        public class Connection : IDisposable
        {
            private readonly Stream [|_stream|];
            private readonly Timer [|_keepAlive|];
            private bool _disposed;

            public Connection(string path)
            {
                _stream = File.OpenRead(path);
                _keepAlive = new Timer(_ => Console.WriteLine("ping"), null, 1000, 1000);
            }

            public void Dispose()
            {
                Dispose(true);
                GC.SuppressFinalize(this);
            }

            protected virtual void Dispose(bool disposing)
            {
                if (_disposed)
                    return;
                if (disposing)
                {
                    Console.WriteLine("closing");
                }

                _disposed = true;
            }
        }
        """, Usings + """
        public class Connection : IDisposable
        {
            private readonly Stream _stream;
            private readonly Timer _keepAlive;
            private bool _disposed;

            public Connection(string path)
            {
                _stream = File.OpenRead(path);
                _keepAlive = new Timer(_ => Console.WriteLine("ping"), null, 1000, 1000);
            }

            public void Dispose()
            {
                Dispose(true);
                GC.SuppressFinalize(this);
            }

            protected virtual void Dispose(bool disposing)
            {
                if (_disposed)
                    return;
                if (disposing)
                {
                    Console.WriteLine("closing");
                    _stream?.Dispose();
                    _keepAlive?.Dispose();
                }

                _disposed = true;
            }
        }
        """);

    [Fact]
    public Task DisposeBoolWithoutIfDisposing_AGuardedStatementIsAppended() => VerifyCS.CodeFixAsync(Usings + """
        class Channel : IDisposable
        {
            private Stream? [|_input|] = File.OpenRead("in.bin");
            public void Dispose() => Dispose(true);
            protected virtual void Dispose(bool disposing) => Console.WriteLine(disposing);
        }
        """, Usings + """
        class Channel : IDisposable
        {
            private Stream? _input = File.OpenRead("in.bin");
            public void Dispose() => Dispose(true);
            protected virtual void Dispose(bool disposing)
            {
                Console.WriteLine(disposing);
                if (disposing)
                {
                    _input?.Dispose();
                }
            }
        }
        """);

    [Fact]
    public Task ExpressionBodiedDispose_BecomesABlock() => VerifyCS.CodeFixAsync(Usings + """
        sealed class Poller : IDisposable
        {
            private readonly CancellationTokenSource [|_timeout|] = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            public void Dispose() => Console.WriteLine("disposed");
        }
        """, Usings + """
        sealed class Poller : IDisposable
        {
            private readonly CancellationTokenSource _timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            public void Dispose()
            {
                Console.WriteLine("disposed");
                _timeout?.Dispose();
            }
        }
        """);

    [Fact]
    public Task CreatedLazilyInAMethod_Reported() => VerifyCS.CodeFixAsync(Usings + """
        sealed class Heartbeat : IDisposable
        {
            private Timer? [|_timer|];
            public void Start() => _timer ??= new Timer(_ => Console.WriteLine("beat"), null, 0, 1000);
            public void Stop() => _timer?.Change(Timeout.Infinite, Timeout.Infinite);
            public void Dispose() { Stop(); }
        }
        """, Usings + """
        sealed class Heartbeat : IDisposable
        {
            private Timer? _timer;
            public void Start() => _timer ??= new Timer(_ => Console.WriteLine("beat"), null, 0, 1000);
            public void Stop() => _timer?.Change(Timeout.Infinite, Timeout.Infinite);
            public void Dispose() { Stop(); _timer?.Dispose(); }
        }
        """);

    [Fact]
    public Task ReplacedInAMethodButNeverDisposedAtTheEnd_Reported() => VerifyCS.CodeFixAsync(Usings + """
        sealed class RollingLog : IDisposable
        {
            private StreamWriter [|_current|] = new StreamWriter("0.log");
            private int _index;
            public void Roll()
            {
                _current.Dispose();
                _current = new StreamWriter(++_index + ".log");
            }
            public void Dispose() { }
        }
        """, Usings + """
        sealed class RollingLog : IDisposable
        {
            private StreamWriter _current = new StreamWriter("0.log");
            private int _index;
            public void Roll()
            {
                _current.Dispose();
                _current = new StreamWriter(++_index + ".log");
            }
            public void Dispose() { _current?.Dispose(); }
        }
        """);

    [Fact]
    public Task AsyncDisposeAsyncOnly_AwaitsTheFieldsDisposeAsync() => VerifyCS.CodeFixAsync(Usings + """
        sealed class Upload : IAsyncDisposable
        {
            private readonly FileStream [|_target|] = new FileStream("upload.bin", FileMode.Create);
            private Stream? [|_source|];
            public void Open(string path) => _source = File.OpenRead(path);
            public async ValueTask DisposeAsync()
            {
                await _target.FlushAsync().ConfigureAwait(false);
            }
        }
        """, Usings + """
        sealed class Upload : IAsyncDisposable
        {
            private readonly FileStream _target = new FileStream("upload.bin", FileMode.Create);
            private Stream? _source;
            public void Open(string path) => _source = File.OpenRead(path);
            public async ValueTask DisposeAsync()
            {
                await _target.FlushAsync().ConfigureAwait(false);
                await _target.DisposeAsync().ConfigureAwait(false);
                if (_source is not null)
                    await _source.DisposeAsync().ConfigureAwait(false);
            }
        }
        """);

    /// <summary>Three disposal methods, none disposing the field: the message lists them all ("none of 'A', 'B' and
    /// 'C' does"), built once per diagnostic.</summary>
    [Fact]
    public Task ThreeDisposalMethods_NoneDisposesIt_MessageListsAllThree()
    {
        var test = Verify<UndisposedOwnedFieldAnalyzer>.Test(Usings + """
            class Sink : IDisposable, IAsyncDisposable
            {
                private readonly FileStream {|#0:_file|} = new FileStream("sink.bin", FileMode.Create);
                public void Dispose() { Dispose(true); GC.SuppressFinalize(this); }
                protected virtual void Dispose(bool disposing) { Console.WriteLine(disposing); }
                public async ValueTask DisposeAsync() { await Task.Yield(); }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4007", 0).WithMessage(
            "Field '_file' holds a FileStream that 'Sink' creates, but nothing in 'Sink' disposes it (none of 'Dispose', 'DisposeAsync' and 'Dispose(bool)' does): what it holds stays held after 'Sink' is disposed, until the garbage collector finalizes it"));
        return test.RunAsync();
    }

    [Fact]
    public Task DisposeAndDisposeAsyncIndependent_BothDisposeIt()
    {
        var test = VerifyCS.Test(Usings + """
            sealed class Sink : IDisposable, IAsyncDisposable
            {
                private readonly FileStream {|#0:_file|} = new FileStream("sink.bin", FileMode.Create);
                public void Dispose() { Console.WriteLine("sync"); }
                public async ValueTask DisposeAsync() { await Task.Yield(); }
            }
            """, Usings + """
            sealed class Sink : IDisposable, IAsyncDisposable
            {
                private readonly FileStream _file = new FileStream("sink.bin", FileMode.Create);
                public void Dispose() { Console.WriteLine("sync"); _file?.Dispose(); }
                public async ValueTask DisposeAsync() { await Task.Yield(); await _file.DisposeAsync(); }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4007", 0).WithMessage(
            "Field '_file' holds a FileStream that 'Sink' creates, but nothing in 'Sink' disposes it (neither 'Dispose' nor 'DisposeAsync' does): what it holds stays held after 'Sink' is disposed, until the garbage collector finalizes it"));
        return test.RunAsync();
    }

    [Fact]
    public Task DisposeAsyncCallsDispose_OnlyDisposeIsEdited() => VerifyCS.CodeFixAsync(Usings + """
        sealed class Sink : IDisposable, IAsyncDisposable
        {
            private readonly FileStream [|_file|] = new FileStream("sink.bin", FileMode.Create);
            public void Dispose() { Console.WriteLine("sync"); }
            public async ValueTask DisposeAsync() { await Task.Yield(); Dispose(); }
        }
        """, Usings + """
        sealed class Sink : IDisposable, IAsyncDisposable
        {
            private readonly FileStream _file = new FileStream("sink.bin", FileMode.Create);
            public void Dispose() { Console.WriteLine("sync"); _file?.Dispose(); }
            public async ValueTask DisposeAsync() { await Task.Yield(); Dispose(); }
        }
        """);

    [Fact]
    public Task ParameterHidesTheField_QualifiedWithThis() => VerifyCS.CodeFixAsync(Usings + """
        class Owner : IDisposable
        {
            private readonly FileStream [|_log|] = new FileStream("a.log", FileMode.Append);
            public void Dispose() => Dispose(true);
            protected virtual void Dispose(bool _log)
            {
                if (_log)
                {
                    Console.WriteLine("disposing");
                }
            }
        }
        """, Usings + """
        class Owner : IDisposable
        {
            private readonly FileStream _log = new FileStream("a.log", FileMode.Append);
            public void Dispose() => Dispose(true);
            protected virtual void Dispose(bool _log)
            {
                if (_log)
                {
                    Console.WriteLine("disposing");
                    this._log?.Dispose();
                }
            }
        }
        """);

    [Fact]
    public Task LocalCopyThatIsOnlyRead_StillReported() => VerifyCS.CodeFixAsync(Usings + """
        sealed class Reader : IDisposable
        {
            private readonly FileStream [|_file|] = File.OpenRead("data.bin");
            public int Next()
            {
                var file = _file;
                return file.ReadByte();
            }
            public void Dispose() { }
        }
        """, Usings + """
        sealed class Reader : IDisposable
        {
            private readonly FileStream _file = File.OpenRead("data.bin");
            public int Next()
            {
                var file = _file;
                return file.ReadByte();
            }
            public void Dispose() { _file?.Dispose(); }
        }
        """);

    [Fact]
    public Task NonAsyncDisposeAsync_ReportedWithoutFix() => VerifyCS.NoFixAsync(Usings + """
        sealed class Upload : IAsyncDisposable
        {
            private readonly FileStream [|_target|] = new FileStream("upload.bin", FileMode.Create);
            public ValueTask DisposeAsync() => default;
        }
        """);

    [Fact]
    public Task AsyncDisposePatternWithDisposeAsyncCore_ReportedWithoutFix() => VerifyCS.NoFixAsync(Usings + """
        public class Upload : IDisposable, IAsyncDisposable
        {
            private readonly FileStream [|_target|] = new FileStream("upload.bin", FileMode.Create);
            public void Dispose() { Dispose(true); GC.SuppressFinalize(this); }
            public async ValueTask DisposeAsync() { await DisposeAsyncCore(); Dispose(false); GC.SuppressFinalize(this); }
            protected virtual void Dispose(bool disposing) { }
            protected virtual ValueTask DisposeAsyncCore() => default;
        }
        """);

    [Fact]
    public Task SeveralTypesAndFields_FixAllInDeclarationOrder()
    {
        var test = new AnalyzerTest(new UndisposedOwnedFieldAnalyzer()) { CodeFix = new UndisposedOwnedFieldFix() };
        test.Sources.Add(Usings + """
            sealed class A : IDisposable
            {
                private readonly FileStream [|_first|] = new FileStream("1", FileMode.Create);
                private readonly MemoryStream _scratch = new MemoryStream();
                private readonly FileStream [|_second|] = new FileStream("2", FileMode.Create);
                private readonly FileStream [|_third|] = new FileStream("3", FileMode.Create);
                public void Dispose()
                {
                    _scratch.Dispose();
                }
            }
            """);
        test.Sources.Add("""
            using System;
            using System.IO;
            class B : IDisposable
            {
                private StreamReader? [|_reader|];
                public void Open(string path) => _reader = File.OpenText(path);
                public void Dispose() => Dispose(true);
                protected virtual void Dispose(bool disposing)
                {
                    if (disposing)
                        Console.WriteLine("disposing");
                }
            }
            """);
        test.FixedSources.Add(Usings + """
            sealed class A : IDisposable
            {
                private readonly FileStream _first = new FileStream("1", FileMode.Create);
                private readonly MemoryStream _scratch = new MemoryStream();
                private readonly FileStream _second = new FileStream("2", FileMode.Create);
                private readonly FileStream _third = new FileStream("3", FileMode.Create);
                public void Dispose()
                {
                    _scratch.Dispose();
                    _first?.Dispose();
                    _second?.Dispose();
                    _third?.Dispose();
                }
            }
            """);
        test.FixedSources.Add("""
            using System;
            using System.IO;
            class B : IDisposable
            {
                private StreamReader? _reader;
                public void Open(string path) => _reader = File.OpenText(path);
                public void Dispose() => Dispose(true);
                protected virtual void Dispose(bool disposing)
                {
                    if (disposing)
                    {
                        Console.WriteLine("disposing");
                        _reader?.Dispose();
                    }
                }
            }
            """);
        return test.RunAsync();
    }

    [Theory]
    [InlineData(LanguageVersion.CSharp7_3)]
    [InlineData(LanguageVersion.Latest)]
    public Task EveryLanguageVersionAndNetStandard_ReportedAndFixed(LanguageVersion version)
    {
        var test = VerifyCS.Test("""
            using System;
            using System.IO;
            sealed class Log : IDisposable
            {
                private readonly FileStream [|_file|] = new FileStream("log.txt", FileMode.Append);
                public void Dispose() { Console.WriteLine("bye"); }
            }
            """, """
            using System;
            using System.IO;
            sealed class Log : IDisposable
            {
                private readonly FileStream _file = new FileStream("log.txt", FileMode.Append);
                public void Dispose() { Console.WriteLine("bye"); _file?.Dispose(); }
            }
            """);
        test.LanguageVersion = version;
        test.ReferenceSet = ReferenceSet.NetStandard20;
        test.NullableContextOptions = Microsoft.CodeAnalysis.NullableContextOptions.Disable;
        return test.RunAsync();
    }

    // ------------------------------------------------------------------ not reported

    [Fact]
    public Task DisposedInDispose_EveryForm_NoDiagnostic() => Verify<UndisposedOwnedFieldAnalyzer>.AnalyzerAsync(Usings + """
        sealed class Owner : IDisposable, IAsyncDisposable
        {
            private readonly FileStream _a = new FileStream("a", FileMode.Create);
            private FileStream? _b = new FileStream("b", FileMode.Create);
            private readonly FileStream _c = new FileStream("c", FileMode.Create);
            private readonly FileStream _d = new FileStream("d", FileMode.Create);
            private FileStream? _e = new FileStream("e", FileMode.Create);
            private readonly FileStream _f = new FileStream("f", FileMode.Create);
            private readonly Stream _g = new FileStream("g", FileMode.Create);
            private readonly FileStream _h = new FileStream("h", FileMode.Create);
            public void Dispose()
            {
                _a.Dispose();
                _b?.Dispose();
                using (_c) { }
                var d = _d;
                d?.Close();
                Interlocked.Exchange(ref _e, null)?.Dispose();
                ((IDisposable)_f).Dispose();
                using var g = _g;
            }
            public async ValueTask DisposeAsync() => await _h.DisposeAsync();
        }
        """);

    [Fact]
    public Task DisposedInAHelperOrCloseMethod_NoDiagnostic() => Verify<UndisposedOwnedFieldAnalyzer>.AnalyzerAsync(Usings + """
        sealed class Owner : IDisposable
        {
            private readonly FileStream _a = new FileStream("a", FileMode.Create);
            private readonly FileStream _b = new FileStream("b", FileMode.Create);
            private readonly FileStream _c = new FileStream("c", FileMode.Create);
            public void Close() => _a.Dispose();
            private void Release() { _b.Dispose(); }
            public void Dispose() { Release(); DisposeQuietly(_c); }
            private static void DisposeQuietly(IDisposable d) { try { d.Dispose(); } catch (IOException) { } }
        }
        """);

    [Fact]
    public Task CreatedUsedAndDisposedWithinOneMethod_NoDiagnostic() => Verify<UndisposedOwnedFieldAnalyzer>.AnalyzerAsync(Usings + """
        sealed class Replication : IAsyncDisposable
        {
            private Timer? _feedback;
            public async Task RunAsync()
            {
                _feedback = new Timer(_ => Console.WriteLine("feedback"), null, 1000, 1000);
                try
                {
                    await Task.Delay(10);
                }
                finally
                {
                    if (_feedback != null)
                        await _feedback.DisposeAsync();
                    _feedback = null;
                }
            }
            public ValueTask DisposeAsync() => default;
        }
        """);

    [Fact]
    public Task ReceivedFromTheConstructorOrASetter_NotOwned_NoDiagnostic() => Verify<UndisposedOwnedFieldAnalyzer>.AnalyzerAsync(Usings + """
        sealed class Owner : IDisposable
        {
            private readonly Stream _given;
            private Stream _settable = new FileStream("s", FileMode.Create);
            private readonly Stream _maybeOwn;
            public Owner(Stream given, Stream? maybe)
            {
                _given = given;
                _maybeOwn = maybe ?? new FileStream("m", FileMode.Create);
            }
            public Stream Settable { set => _settable = value; }
            public void Dispose() { }
        }
        """);

    [Fact]
    public Task HandedToAWrapperReturnedOrStored_NoDiagnostic() => Verify<UndisposedOwnedFieldAnalyzer>.AnalyzerAsync(Usings + """
        sealed class Owner : IDisposable
        {
            private readonly FileStream _inner = new FileStream("inner", FileMode.Open);
            private readonly StreamReader _reader;
            private readonly FileStream _exposed = new FileStream("exposed", FileMode.Open);
            private readonly FileStream _registered = new FileStream("registered", FileMode.Open);
            private readonly System.Collections.Generic.List<IDisposable> _owned = new();
            public Owner()
            {
                _reader = new StreamReader(_inner);
                _owned.Add(_registered);
            }
            public Stream Exposed => _exposed;
            public void Dispose()
            {
                _reader.Dispose();
                foreach (var item in _owned)
                    item.Dispose();
            }
        }
        """);

    [Fact]
    public Task PatternVariableOrDelegateOfTheField_NoDiagnostic() => Verify<UndisposedOwnedFieldAnalyzer>.AnalyzerAsync(Usings + """
        sealed class Owner : IDisposable
        {
            private readonly Stream _a = new FileStream("a", FileMode.Create);
            private readonly Stream _b = new FileStream("b", FileMode.Create);
            private readonly Action _release;
            public Owner() { _release = _b.Dispose; }
            public void Dispose()
            {
                if (_a is IDisposable disposable)
                    disposable.Dispose();
                _release();
            }
        }
        """);

    [Fact]
    public Task TypesWithNothingToRelease_NoDiagnostic() => Verify<UndisposedOwnedFieldAnalyzer>.AnalyzerAsync(Usings + """
        sealed class Owner : IDisposable
        {
            private readonly MemoryStream _buffer = new MemoryStream();
            private readonly StringWriter _text = new StringWriter();
            private readonly StringReader _input = new StringReader("x");
            private readonly CancellationTokenSource _cancel = new CancellationTokenSource();
            private readonly Task _done = new Task(() => { });
            private readonly SemaphoreSlim _gate = new SemaphoreSlim(1);
            public void Dispose() { }
        }
        """);

    [Fact]
    public Task IgnoredTypesOption_SharedWithTheLocalRules()
    {
        // memsafety.disposal.ignored_types is the one list of MSA4006, MSA4007 and MSA4008.
        var test = Verify<UndisposedOwnedFieldAnalyzer>.Test(Usings + """
            namespace N { sealed class Cheap : IDisposable { public void Dispose() { } } }
            sealed class Owner : IDisposable
            {
                private readonly N.Cheap _cheap = new N.Cheap();
                private readonly MemoryStream {|MSA4007:_buffer|} = new MemoryStream();
                public void Dispose() { }
            }
            """);
        test.AnalyzerOptions["memsafety.disposal.ignored_types"] = "N.Cheap; -System.IO.MemoryStream";
        return test.RunAsync();
    }

    [Fact]
    public Task StaticOrNonPrivateFields_NoDiagnostic() => Verify<UndisposedOwnedFieldAnalyzer>.AnalyzerAsync(Usings + """
        public class Owner : IDisposable
        {
            private static readonly FileStream Shared = new FileStream("shared", FileMode.Create);
            protected FileStream Protected = new FileStream("p", FileMode.Create);
            internal FileStream Internal = new FileStream("i", FileMode.Create);
            public FileStream AutoProperty { get; } = new FileStream("auto", FileMode.Create);
            public void Dispose() { }
        }
        """);

    [Fact]
    public Task OwnerIsNotDisposable_LeftToCA1001_NoDiagnostic() => Verify<UndisposedOwnedFieldAnalyzer>.AnalyzerAsync(Usings + """
        sealed class Cache
        {
            private readonly FileStream _file = new FileStream("cache", FileMode.Create);
            public long Length => _file.Length;
        }
        """);

    [Fact]
    public Task DisposeNotInSourceOrAbstract_NoDiagnostic() => Verify<UndisposedOwnedFieldAnalyzer>.AnalyzerAsync(Usings + """
        sealed class Wrapper : MemoryStream
        {
            private readonly FileStream _log = new FileStream("w", FileMode.Create);
            public override void Flush() { _log.Flush(); base.Flush(); }
        }

        abstract class Resource : IDisposable
        {
            private readonly FileStream _file = new FileStream("r", FileMode.Create);
            protected long Length => _file.Length;
            public abstract void Dispose();
        }
        """);

    [Fact]
    public Task DisposeInGeneratedCode_NoDiagnostic()
    {
        var test = Verify<UndisposedOwnedFieldAnalyzer>.Test(Usings + """
            sealed partial class Form : IDisposable
            {
                private readonly FileStream _file = new FileStream("f", FileMode.Create);
                public long Length => _file.Length;
            }
            """);
        test.Sources.Add("""
            // <auto-generated/>
            sealed partial class Form
            {
                public void Dispose() { }
            }
            """);
        return test.RunAsync();
    }

    [Fact]
    public Task NestedTypeOrGeneratedPartDisposesTheField_NoDiagnostic()
    {
        var test = Verify<UndisposedOwnedFieldAnalyzer>.Test(Usings + """
            sealed partial class Owner : IDisposable
            {
                private readonly FileStream _a = new FileStream("a", FileMode.Create);
                private readonly FileStream _b = new FileStream("b", FileMode.Create);
                public void Dispose() => new Closer(this).Close();

                private sealed class Closer
                {
                    private readonly Owner _owner;
                    public Closer(Owner owner) => _owner = owner;
                    public void Close() { _owner._a.Dispose(); _owner.ReleaseGenerated(); }
                }
            }
            """);
        test.Sources.Add("""
            // <auto-generated/>
            sealed partial class Owner
            {
                private void ReleaseGenerated() => _b.Dispose();
            }
            """);
        return test.RunAsync();
    }

    [Fact]
    public Task OwnerIsASafeHandle_NoDiagnostic() => Verify<UndisposedOwnedFieldAnalyzer>.AnalyzerAsync(Usings + """
        sealed class Handle : Microsoft.Win32.SafeHandles.SafeHandleZeroOrMinusOneIsInvalid
        {
            private readonly FileStream _log = new FileStream("h", FileMode.Create);
            public Handle() : base(true) { }
            protected override bool ReleaseHandle() => true;
        }
        """);

    [Fact]
    public Task GeneratedOwner_NoDiagnostic() => Verify<UndisposedOwnedFieldAnalyzer>.AnalyzerAsync("// <auto-generated/>\n" + Usings + """
        sealed class Log : IDisposable
        {
            private readonly FileStream _file = new FileStream("log.txt", FileMode.Append);
            public void Dispose() { }
        }
        """);

    [Fact]
    public Task IncompleteCode_NoDiagnosticAndNoCrash()
    {
        var test = Verify<UndisposedOwnedFieldAnalyzer>.Test(Usings + """
            class A : IDisposable { private FileStream _f = new FileStream(; public void Dispose() { } }
            class B : IDisposable { private Undefined _u = new Undefined(); public void Dispose() { _u. } }
            class C : IDisposable { private FileStream _f = new FileStream("c", FileMode.Create); public void Dispose(); }
            class D : IDisposable { private FileStream _f = Make(); public void Dispose() => Undefined(_f); }
            """);
        test.AllowCompilerErrors = true;
        return test.RunAsync();
    }

    // ------------------------------------------------------------------ run-time evidence (.NET 10 on Linux, the test host)

    // An owner that appends to a file through a FileStream it creates. The descriptors the process holds on that file
    // are counted in /proc/self/fd (other tests run in parallel, so only links to this file count).
    private const string DescriptorProbe = """
        using System;
        using System.IO;
        using System.Runtime.CompilerServices;

        public sealed class Log : IDisposable
        {
            private readonly FileStream _file;

            public Log(string path) => _file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);

            public void Write(byte value)
            {
                _file.WriteByte(value);
                _file.Flush();
            }

            public void Dispose()
            {
                Console.Out.Flush();
        /*DISPOSE*/
            }
        }

        public static class Program
        {
            static int OpenOn(string path)
            {
                var count = 0;
                foreach (var fd in Directory.GetFiles("/proc/self/fd"))
                {
                    try
                    {
                        if (new FileInfo(fd).LinkTarget == path)
                            count++;
                    }
                    catch (IOException)
                    {
                    }
                }

                return count;
            }

            // The disposed owners are returned and held while counted: the test host runs other tests' collections in
            // parallel, which could finalize the files of dropped owners before the count.
            [MethodImpl(MethodImplOptions.NoInlining)]
            static Log[] WriteAndDispose(string path, int owners)
            {
                var logs = new Log[owners];
                for (var i = 0; i < owners; i++)
                {
                    using var log = new Log(path);
                    log.Write((byte)'a');
                    logs[i] = log;
                }

                return logs;
            }

            public static string Run()
            {
                var path = Path.GetTempFileName();
                try
                {
                    var owners = WriteAndDispose(path, 20);
                    var afterDispose = OpenOn(path);
                    GC.KeepAlive(owners);
                    Array.Clear(owners, 0, owners.Length);
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    GC.Collect();
                    var afterCollection = OpenOn(path);
                    return $"wrote {File.ReadAllBytes(path).Length} bytes; open after Dispose {afterDispose}, after a collection {afterCollection}";
                }
                finally
                {
                    File.Delete(path);
                }
            }
        }
        """;

    [Fact]
    public void Runtime_WithoutTheFix_DescriptorsStayOpenUntilACollection()
    {
        Assert.True(System.OperatingSystem.IsLinux(), "the probe counts descriptors in /proc/self/fd");
        // What the analyzer reports: every disposed owner leaves its file open until the garbage collector finalizes
        // the FileStream.
        Assert.Equal("wrote 20 bytes; open after Dispose 20, after a collection 0", Behaviour.RunInOwnProcess(DescriptorProbe));
        // What the fix writes: the same bytes reach the file, and each descriptor is closed when its owner is disposed.
        Assert.Equal("wrote 20 bytes; open after Dispose 0, after a collection 0",
            Behaviour.RunInOwnProcess(DescriptorProbe.Replace("/*DISPOSE*/", "        _file?.Dispose();")));
    }

    [Fact]
    public Task Runtime_TheProbeIsWhatTheRuleReportsAndFixes() => VerifyCS.CodeFixAsync(
        DescriptorProbe.Replace("private readonly FileStream _file;", "private readonly FileStream [|_file|];").Replace("/*DISPOSE*/\n", string.Empty),
        DescriptorProbe.Replace("/*DISPOSE*/", "        _file?.Dispose();"));
}
