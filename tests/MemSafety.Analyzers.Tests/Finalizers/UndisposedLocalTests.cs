using System.IO;
using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.Finalizers;
using MemSafety.Analyzers.Tests.Verification;
using MemSafety.CodeFixes.Finalizers;
using Microsoft.CodeAnalysis.CSharp;
using VerifyCS = MemSafety.Analyzers.Tests.Verification.Verify<MemSafety.Analyzers.Rules.Finalizers.UndisposedLocalAnalyzer, MemSafety.CodeFixes.Finalizers.UndisposedLocalFix>;

namespace MemSafety.Analyzers.Tests.Finalizers;

/// <summary>MSA4006 (a created disposable not disposed on some path) and MSA4008 (the same, once per loop iteration).</summary>
public sealed class UndisposedLocalTests
{
    // ------------------------------------------------------------------ MSA4006 reported

    [Fact]
    public Task EarlyReturnSkipsDispose_ReportedWithThePath()
    {
        var test = Verify<UndisposedLocalAnalyzer>.Test("""
            using System.IO;
            class C
            {
                static long M(string path, bool skip)
                {
                    var stream = {|#0:new FileStream(path, FileMode.Open)|};
                    if (skip)
                        return 0;
                    var length = stream.Length;
                    stream.Dispose();
                    return length;
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4006", 0).WithMessage(
            "'stream' (FileStream) is created here and not disposed on the path that returns at line 8: its file handle stays open until the finalizer runs"));
        return test.RunAsync();
    }

    [Fact]
    public Task NeverDisposed_ReportedAtTheEnd()
    {
        var test = Verify<UndisposedLocalAnalyzer>.Test("""
            using System.IO;
            class C
            {
                static void M(string path)
                {
                    var reader = {|#0:File.OpenText(path)|};
                    System.Console.WriteLine(reader.ReadLine());
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4006", 0).WithMessage(
            "'reader' (StreamReader) is created here and not disposed on the path that reaches the end of 'M': its file handle stays open until the finalizer runs"));
        return test.RunAsync();
    }

    // U+00A0 is white space to the compiler: the text prefilter must still see the `new` after it as a word (it took any
    // character above 127 for part of an identifier, and the creation went unreported).
    [Fact]
    public Task CreationAfterANoBreakSpace_Reported()
    {
        var test = Verify<UndisposedLocalAnalyzer>.Test(
            "using System.IO;\nclass C\n{\n    static void M(string path)\n    {\n        var reader =\u00A0{|#0:new StreamReader(path)|};\n"
            + "        System.Console.WriteLine(reader.ReadLine());\n    }\n}\n");
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4006", 0).WithMessage(
            "'reader' (StreamReader) is created here and not disposed on the path that reaches the end of 'M': its file handle stays open until the finalizer runs"));
        return test.RunAsync();
    }

    [Fact]
    public Task WriterNeverDisposed_MessageSaysTheBufferIsLost()
    {
        var test = Verify<UndisposedLocalAnalyzer>.Test("""
            using System.IO;
            class C
            {
                static void M(string path)
                {
                    var writer = {|#0:new StreamWriter(path)|};
                    writer.Write("text");
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4006", 0).WithMessage(
            "'writer' (StreamWriter) is created here and not disposed on the path that reaches the end of 'M': its file handle stays open until the finalizer runs, and text still in its buffer is never written"));
        return test.RunAsync();
    }

    [Fact]
    public Task BareReturn_ReportedWithItsLine()
    {
        var test = Verify<UndisposedLocalAnalyzer>.Test("""
            using System.IO;
            class C
            {
                static void M(string path, bool skip)
                {
                    var stream = {|#0:File.OpenRead(path)|};
                    if (skip)
                    {
                        return;
                    }
                    stream.Dispose();
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4006", 0).WithMessage(
            "'stream' (FileStream) is created here and not disposed on the path that returns at line 9: its file handle stays open until the finalizer runs"));
        return test.RunAsync();
    }

    [Fact]
    public Task OverwrittenBeforeDispose_Reported()
    {
        var test = Verify<UndisposedLocalAnalyzer>.Test("""
            using System.IO;
            class C
            {
                static void M(string a, string b)
                {
                    var stream = {|#0:File.OpenRead(a)|};
                    stream = File.OpenRead(b);
                    stream.Dispose();
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4006", 0).WithMessage(
            "'stream' (FileStream) is created here and not disposed on the path that assigns 'stream' again at line 7: its file handle stays open until the finalizer runs"));
        return test.RunAsync();
    }

    [Fact]
    public Task TemporaryUsedOnce_Reported()
    {
        var test = Verify<UndisposedLocalAnalyzer>.Test("""
            using System.IO;
            class C
            {
                static string M(string path) => {|#0:new StreamReader(path)|}.ReadToEnd();
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4006", 0).WithMessage(
            "This 'StreamReader' is created here and not disposed after its use here: its file handle stays open until the finalizer runs"));
        return test.RunAsync();
    }

    [Fact]
    public Task UserTypeWithFinalizer_MessageNamesTheFinalizer()
    {
        var test = Verify<UndisposedLocalAnalyzer>.Test("""
            using System;
            sealed class Handle : IDisposable
            {
                public void Use() { }
                public void Dispose() { GC.SuppressFinalize(this); }
                ~Handle() { }
            }
            class C
            {
                static void M()
                {
                    var handle = {|#0:new Handle()|};
                    handle.Use();
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4006", 0).WithMessage(
            "'handle' (Handle) is created here and not disposed on the path that reaches the end of 'M': only its finalizer releases what it holds, at an unknown time after a garbage collection"));
        return test.RunAsync();
    }

    [Fact]
    public Task ReturnsOwnedFactory_Reported() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System;
        using System.IO;
        sealed class ReturnsOwnedAttribute : Attribute { }
        static class Files
        {
            [ReturnsOwned] public static Stream Open(string path) => File.OpenRead(path);
        }
        class C
        {
            static int M(string path)
            {
                var s = {|MSA4006:Files.Open(path)|};
                return s.ReadByte();
            }
        }
        """);

    [Fact]
    public Task DisposedOnlyInsideTheTry_NormalPathAfterCatchIsStillReported() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System.IO;
        class C
        {
            static void M(string path, bool b)
            {
                var s = {|MSA4006:File.OpenRead(path)|};
                try
                {
                    if (b) return;
                    s.Dispose();
                }
                catch (IOException)
                {
                }
            }
        }
        """);

    [Fact]
    public Task LinkedOrTimedTokenSource_Reported()
    {
        var test = Verify<UndisposedLocalAnalyzer>.Test("""
        using System.Threading;
        class C
        {
            static void M(CancellationToken token)
            {
                var linked = {|#0:CancellationTokenSource.CreateLinkedTokenSource(token)|};
                linked.Cancel();
                var timed = {|MSA4006:new CancellationTokenSource(1000)|};
                timed.Token.WaitHandle.WaitOne();
            }
        }
        """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4006", 0).WithMessage(
            "'linked' (CancellationTokenSource) is created here and not disposed on the path that reaches the end of 'M': it stays registered on the tokens it is linked to (or holds its timer), reachable as long as they are"));
        return test.RunAsync();
    }

    /// <summary>The rule goes from each candidate word (<c>new</c>, a creating method's name) to the operation it starts
    /// instead of walking the body: every shape a creation can take must still be reached — in a lambda and a local
    /// function, target-typed <c>new()</c>, an instance creating method, under <c>using static</c>, with an <c>@</c> name,
    /// one creation inside another (the inner one handed to the wrapper) — and a word in a comment, a string or an
    /// interpolation's text reaches nothing.</summary>
    [Fact]
    public Task CreationsFoundFromTheirWords_Reported() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System;
        using System.IO;
        using static System.Threading.CancellationTokenSource;
        class C
        {
            static void M(string path, FileInfo info, System.Threading.CancellationToken token)
            {
                Action a = () => { var s = {|MSA4006:new FileStream(path, FileMode.Open)|}; s.ReadByte(); };
                a();
                Local();
                FileStream t = {|MSA4006:new(path, FileMode.Open)|};
                t.ReadByte();
                var u = {|MSA4006:info.OpenRead()|};
                u.ReadByte();
                var linked = {|MSA4006:CreateLinkedTokenSource(token)|};
                linked.Cancel();
                var v = {|MSA4006:File.@OpenRead(path)|};
                v.ReadByte();
                var reader = {|MSA4006:new StreamReader(File.OpenRead(path))|};
                reader.Read();
                // new FileStream(path, FileMode.Open) File.OpenRead(path)
                var text = "new File.OpenRead" + $"{path}new Open";
                Console.WriteLine(text);

                void Local()
                {
                    var w = {|MSA4006:File.OpenWrite(path)|};
                    w.WriteByte(1);
                }
            }
        }
        """);

    // ------------------------------------------------------------------ MSA4008 reported

    [Fact]
    public Task CreatedInLoopNeverDisposed_ReportedPerIteration()
    {
        var test = Verify<UndisposedLocalAnalyzer>.Test("""
            using System.IO;
            class C
            {
                static long M(string[] paths)
                {
                    long total = 0;
                    foreach (var path in paths)
                    {
                        var stream = {|#0:new FileStream(path, FileMode.Open)|};
                        total += stream.Length;
                    }
                    return total;
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4008", 0).WithMessage(
            "'stream' (FileStream) is created here, in the loop at line 7, and not disposed before the next iteration creates another: each such iteration leaves one more file handle open until the finalizer runs"));
        return test.RunAsync();
    }

    [Fact]
    public Task TemporaryInLoop_ReportedPerIteration()
    {
        var test = Verify<UndisposedLocalAnalyzer>.Test("""
            using System.IO;
            class C
            {
                static int M(string[] paths)
                {
                    var n = 0;
                    for (var i = 0; i < paths.Length; i++)
                        n += {|#0:File.OpenText(paths[i])|}.ReadToEnd().Length;
                    return n;
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4008", 0).WithMessage(
            "This 'StreamReader' is created here, in the loop at line 7, and not disposed after its use here: each such iteration leaves one more file handle open until the finalizer runs"));
        return test.RunAsync();
    }

    [Fact]
    public Task DisposedOnlyOnSomeIterations_Reported() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System.IO;
        class C
        {
            static void M(string[] paths)
            {
                foreach (var path in paths)
                {
                    var s = {|MSA4008:File.OpenRead(path)|};
                    if (s.Length > 10)
                        s.Dispose();
                }
            }
        }
        """);

    [Fact]
    public Task AssignedInLoopToOuterLocal_Reported() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System.IO;
        class C
        {
            static void M(string[] paths)
            {
                Stream s = null;
                foreach (var path in paths)
                {
                    s = {|MSA4008:File.OpenRead(path)|};
                    s.ReadByte();
                }
                s?.Dispose();
            }
        }
        """);

    /// <summary>LiteDB's SysFileCsv: the stream is created on the first iteration only and disposed after the loop;
    /// "the next iteration creates another" would be false.</summary>
    [Fact]
    public Task CreatedOnFirstIterationOnlyIntoOuterLocal_DisposedAfterLoop_NoDiagnostic() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System.IO;
        class C
        {
            static void M(string path, string[] lines)
            {
                FileStream fs = null;
                var index = 0;
                try
                {
                    foreach (var line in lines)
                    {
                        if (index++ == 0)
                        {
                            fs = new FileStream(path, FileMode.Create);
                        }

                        fs.WriteByte((byte)line.Length);
                    }
                }
                finally
                {
                    fs?.Dispose();
                }
            }
        }
        """);

    /// <summary>The lazy form: created when the local is still null, so at most once.</summary>
    [Fact]
    public Task CreatedWhenNullIntoOuterLocal_DisposedAfterLoop_NoDiagnostic() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System.IO;
        class C
        {
            static void M(string path, string[] lines)
            {
                StreamWriter writer = null;
                foreach (var line in lines)
                {
                    writer ??= new StreamWriter(path);
                    writer.WriteLine(line);
                }

                writer?.Dispose();
            }
        }
        """);

    /// <summary>A local declared inside the loop is a new variable each iteration: a conditional creation that is never
    /// disposed still repeats per iteration.</summary>
    [Fact]
    public Task ConditionalCreationIntoLocalDeclaredInLoop_StillReported() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System.IO;
        class C
        {
            static void M(string[] paths)
            {
                foreach (var path in paths)
                {
                    if (path.Length > 0)
                    {
                        var s = {|MSA4008:File.OpenRead(path)|};
                        s.ReadByte();
                    }
                }
            }
        }
        """);

    [Fact]
    public Task WhileLoopUserType_Reported() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System;
        sealed class Session : IDisposable { private readonly System.IO.Stream _log = System.IO.Stream.Null; public bool Next() => false; public void Dispose() => _log.Dispose(); }
        class C
        {
            static void M()
            {
                var more = true;
                while (more)
                {
                    var session = {|MSA4008:new Session()|};
                    more = session.Next();
                }
            }
        }
        """);

    [Fact]
    public Task BreakPathOnly_IsMSA4006NotPerIteration() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System.IO;
        class C
        {
            static void M(string[] paths)
            {
                foreach (var path in paths)
                {
                    var s = {|MSA4006:File.OpenRead(path)|};
                    if (s.Length == 0)
                        break;
                    s.Dispose();
                }
            }
        }
        """);

    // ------------------------------------------------------------------ not reported

    [Fact]
    public Task UsingDeclaration_NoDiagnostic() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System.IO;
        class C
        {
            static long M(string path)
            {
                using var s = File.OpenRead(path);
                using (var t = File.OpenRead(path)) { }
                return s.Length;
            }
        }
        """);

    [Fact]
    public Task AwaitUsing_NoDiagnostic() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System.IO;
        using System.Threading.Tasks;
        class C
        {
            static async Task<long> M(string path)
            {
                await using var s = File.OpenRead(path);
                await using (var t = File.OpenRead(path)) { }
                return s.Length;
            }
        }
        """);

    [Fact]
    public Task DisposedInFinally_NoDiagnostic() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System.IO;
        class C
        {
            static long M(string path, bool b)
            {
                var s = File.OpenRead(path);
                try
                {
                    if (b) return 0;
                    return s.Length;
                }
                finally
                {
                    s.Dispose();
                }
            }
        }
        """);

    [Fact]
    public Task ConditionalDisposeAndNullCheck_NoDiagnostic() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System.IO;
        class C
        {
            static void M(string path, bool b)
            {
                FileStream s = null;
                FileStream t = null;
                try
                {
                    s = File.OpenRead(path);
                    t = new FileStream(path, FileMode.Open);
                }
                finally
                {
                    s?.Dispose();
                    if (t != null)
                        t.Dispose();
                }
            }
        }
        """);

    [Fact]
    public Task DisposedOnEveryNormalPath_ExceptionPathIgnored_NoDiagnostic() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System.IO;
        class C
        {
            static int M(string path)
            {
                var s = File.OpenRead(path);
                var b = s.ReadByte(); // may throw: the exception path is not this rule's business
                s.Dispose();
                return b;
            }
        }
        """);

    [Fact]
    public Task ReturnedOrStored_NoDiagnostic() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System.Collections.Generic;
        using System.IO;
        class C
        {
            private Stream _kept;
            private readonly List<Stream> _all = new();
            static Stream Open(string path)
            {
                var s = File.OpenRead(path);
                return s;
            }
            void Keep(string path)
            {
                var s = File.OpenRead(path);
                _kept = s;
                var t = File.OpenRead(path);
                _all.Add(t);
            }
            static void Out(string path, out Stream result)
            {
                var s = File.OpenRead(path);
                result = s;
            }
        }
        """);

    [Fact]
    public Task PassedToOwningWrapper_NoDiagnostic() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System.IO;
        using System.IO.Compression;
        using System.Net.Http;
        class C
        {
            static string M(string path)
            {
                var file = File.OpenRead(path);
                var zip = new GZipStream(file, CompressionMode.Decompress);
                using var reader = new StreamReader(zip);
                return reader.ReadToEnd();
            }
            static HttpClient Client()
            {
                var handler = new HttpClientHandler();
                return new HttpClient(handler);
            }
        }
        """);

    [Fact]
    public Task WrapperWithLeaveOpen_StreamStillReported() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System.IO;
        class C
        {
            static string M(string path)
            {
                var file = {|MSA4006:File.OpenRead(path)|};
                using var reader = new StreamReader(file, leaveOpen: true);
                return reader.ReadToEnd();
            }
        }
        """);

    [Fact]
    public Task IgnoredTypes_NoDiagnostic() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System.IO;
        using System.Threading;
        using System.Threading.Tasks;
        class C
        {
            static string M()
            {
                var memory = new MemoryStream();
                memory.WriteByte(1);
                var writer = new StringWriter();
                writer.Write("x");
                var reader = new StringReader("x");
                reader.Read();
                var task = new Task(() => { });
                task.Start();
                var cts = new CancellationTokenSource();
                cts.Cancel();
                // The slim primitives create a kernel event only when their WaitHandle is asked for.
                var gate = new SemaphoreSlim(1);
                gate.Wait();
                var signal = new ManualResetEventSlim();
                signal.Set();
                return writer.ToString();
            }
        }
        """);

    [Fact]
    public Task IgnoredTypesOption_AddsAndRemoves_NoDiagnosticForAddedType()
    {
        var test = Verify<UndisposedLocalAnalyzer>.Test("""
            using System;
            using System.IO;
            namespace N { sealed class Cheap : IDisposable { public void Dispose() { } } }
            class C
            {
                static void M()
                {
                    var cheap = new N.Cheap();
                    var memory = {|MSA4006:new MemoryStream()|};
                    memory.WriteByte(1);
                }
            }
            """);
        test.AnalyzerOptions["memsafety.disposal.ignored_types"] = "N.Cheap; -System.IO.MemoryStream";
        return test.RunAsync();
    }

    [Fact]
    public Task WrapperOverAStreamItDidNotCreate_NoDiagnostic() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System.IO;
        using System.Xml;
        class C
        {
            private Stream _stream = new MemoryStream();
            void Fill(Stream parameter, string text)
            {
                // Disposing these would close the field's or the caller's stream; over a MemoryStream or a StringReader
                // they hold nothing of their own.
                var writer = new StreamWriter(_stream);
                writer.Write(text);
                writer.Flush();
                var reader = new StreamReader(parameter);
                reader.ReadLine();
                var xml = new XmlTextReader(new StringReader(text));
                xml.Read();
                var memory = new MemoryStream();
                var overMemory = new BinaryWriter(memory);
                overMemory.Write(1);
            }
        }
        """);

    [Fact]
    public Task ComponentModelDataTypes_NoDiagnostic() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System.Data;
        class C
        {
            static int M()
            {
                var set = new DataSet();
                var table = new DataTable();
                var column = new DataColumn("c");
                table.Columns.Add(column);
                set.Tables.Add(table);
                return set.Tables.Count;
            }
        }
        """);

    [Fact]
    public Task WrapperOverAStreamItCreated_Reported() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System.IO;
        class C
        {
            static string M(string path)
            {
                var file = File.OpenRead(path);
                var reader = {|MSA4006:new StreamReader(file)|};
                return reader.ReadLine();
            }
        }
        """);

    // System.Net.Http's decompiled code: a wrapper assigned to the local it wraps asked "is the local owned here?" of
    // its own write again, without end (a stack overflow that ended the compiler). The local is assumed owned while
    // its writes are checked: the file stream goes to the buffered stream, which is never disposed.
    [Fact]
    public Task WrapperAssignedToTheLocalItWraps_Reported() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System.IO;
        class C
        {
            static int M(string path)
            {
                Stream stream = File.OpenRead(path);
                stream = {|MSA4006:new BufferedStream(stream)|};
                return stream.ReadByte();
            }
        }
        """);

    // System.Collections.Concurrent's BlockingCollection.TryTakeWithNoTimeValidation: the local starts as the caller's
    // source and is replaced by a created one only when there is none; the finally disposes it only when the caller
    // gave none. Which value it holds is decided by another variable, which a path-insensitive analysis cannot follow.
    [Fact]
    public Task OwnershipDecidedByAnotherVariable_NoDiagnostic() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System;
        using System.Threading;
        class C
        {
            static bool M(CancellationToken token, CancellationTokenSource? combined, CancellationToken other)
            {
                var flag = false;
                var source = combined;
                try
                {
                    if (source == null)
                        source = CancellationTokenSource.CreateLinkedTokenSource(token, other);
                    flag = source.Token.WaitHandle.WaitOne(0);
                }
                catch (OperationCanceledException)
                {
                    return false;
                }
                finally
                {
                    if (source != null && combined == null)
                        source.Dispose();
                }
                return flag;
            }
        }
        """);

    // Npgsql's RangeConverter: the graph splits an object initializer into a capture, the member assignments and the
    // store; the value is handed to a ref parameter right after.
    [Fact]
    public Task ObjectInitializerHandedToRefParameter_NoDiagnostic() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System;
        sealed class State : IDisposable { public int A { get; init; } public int B { get; set; } public void Dispose() { } }
        class C
        {
            static int M(bool x, ref object writeState)
            {
                State state = null;
                if (x)
                {
                    state = new State { A = 1 };
                    writeState = state;
                    state.B = 2;
                }
                if (!x)
                {
                    state = new State { A = 2 };
                    writeState = state;
                }
                return 0;
            }
        }
        """);

    // SharpZipLib's ZipFile.UpdateCommentOnly: the stream is disposed unless it is the one a field owns.
    [Fact]
    public Task DisposedUnlessItIsAnotherOwnersStream_NoDiagnostic() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System.IO;
        class C
        {
            private Stream _base;
            void M(string name, bool direct)
            {
                Stream update;
                if (direct)
                    update = _base;
                else
                {
                    _base = null;
                    update = new FileStream(name, FileMode.Open);
                }
                try { update.WriteByte(1); }
                finally
                {
                    if (update != _base)
                        update.Dispose();
                }
            }
        }
        """);

    // SharpZipLib's ZipExtraData: its Dispose disposes a MemoryStream, and it has no finalizer.
    [Fact]
    public Task SourceTypeHoldingNothingVisible_NoDiagnostic() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System;
        using System.IO;
        sealed class ExtraData : IDisposable
        {
            private MemoryStream _entry = new MemoryStream();
            private readonly byte[] _data = new byte[4];
            public bool Find(int id) => _data[0] == id;
            public void Dispose() => _entry.Dispose();
        }
        class C
        {
            static bool M()
            {
                var extra = new ExtraData();
                return extra.Find(1);
            }
        }
        """);

    [Fact]
    public Task ParameterFieldAndUnknownFactory_NoDiagnostic() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System.IO;
        class C
        {
            private Stream _field;
            static Stream Factory() => null;
            int M(Stream parameter)
            {
                var a = parameter;
                var b = _field;
                var c = Factory();
                return a.ReadByte() + b.ReadByte() + c.ReadByte();
            }
        }
        """);

    [Fact]
    public Task CopiedToAnotherLocalOrCaptured_NoDiagnostic() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System;
        using System.IO;
        class C
        {
            static Func<int> M(string path)
            {
                var a = File.OpenRead(path);
                var b = a;
                b.Dispose();
                var c = File.OpenRead(path);
                return () => c.ReadByte();
            }
        }
        """);

    [Fact]
    public Task TransfersOwnershipParameter_NoDiagnostic() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System;
        using System.IO;
        [AttributeUsage(AttributeTargets.Parameter)] sealed class TransfersOwnershipAttribute : Attribute { }
        class Owner
        {
            public static void Adopt([TransfersOwnership] Stream stream) { }
        }
        class C
        {
            static void M(string path)
            {
                var s = File.OpenRead(path);
                Owner.Adopt(s);
            }
        }
        """);

    [Fact]
    public Task PassedToHelperThatDisposesIt_NoDiagnostic() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System.IO;
        class C
        {
            static void Close(Stream s) { using (s) { } }
            static void M(string path)
            {
                var s = File.OpenRead(path);
                Close(s);
            }
        }
        """);

    [Fact]
    public Task PassedToReadOnlyHelper_StillReported() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System.IO;
        class C
        {
            static int Peek(Stream s) => s.ReadByte();
            static int M(string path)
            {
                var s = {|MSA4006:File.OpenRead(path)|};
                return Peek(s);
            }
        }
        """);

    [Fact]
    public Task DerivedValueReturned_NoDiagnostic() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System.Collections.Generic;
        using System.IO;
        using System.Linq;
        class C
        {
            static IEnumerable<string> Lines(string path)
            {
                var reader = File.OpenText(path);
                return Read(reader).Where(l => l.Length > 0);
            }
            static IEnumerable<string> Read(TextReader r) { string l; while ((l = r.ReadLine()) != null) yield return l; }
        }
        """);

    [Fact]
    public Task LocalInLambdaDisposed_NoDiagnostic() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System;
        using System.IO;
        class C
        {
            static Func<string, long> M() => path =>
            {
                var s = File.OpenRead(path);
                try { return s.Length; } finally { s.Dispose(); }
            };
        }
        """);

    [Fact]
    public Task SafeHandleAndStruct_NoDiagnostic() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System;
        using Microsoft.Win32.SafeHandles;
        struct Lease : IDisposable { public void Dispose() { } }
        class C
        {
            static void M()
            {
                var handle = new SafeFileHandle(IntPtr.Zero, true);
                var lease = new Lease();
            }
        }
        """);

    [Fact]
    public Task TokenSourceWithCancelAfter_Reported() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System.Threading;
        class C
        {
            static CancellationToken M()
            {
                var cts = {|MSA4006:new CancellationTokenSource()|};
                cts.CancelAfter(100);
                return cts.Token;
            }
        }
        """);

    // Their Dispose releases only a kernel event that WaitHandle/AvailableWaitHandle creates on demand (the slim types
    // wait on a monitor), or a request's Content.
    [Fact]
    public Task SlimEventsAndRequestWithoutContent_NoDiagnostic() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System.Net.Http;
        using System.Threading;
        sealed class Latch : ManualResetEventSlim { }
        class C
        {
            static CountdownEvent s_kept;
            static void M(int partitions, System.Uri uri)
            {
                var barrier = new CountdownEvent(partitions);
                if (partitions > 0)
                    s_kept = barrier;
                var latch = new Latch();
                latch.Set();
                var gate = new SemaphoreSlim(1, 1);
                gate.Wait();
                gate.Release();
                var phases = new Barrier(2);
                System.Console.WriteLine(phases.ParticipantCount);
                var request = new HttpRequestMessage(HttpMethod.Get, uri) { Version = new System.Version(2, 0) };
                request.Headers.Add("a", "b");
            }
        }
        """);

    [Fact]
    public Task SlimEventsWithAWaitHandleAndRequestWithContent_Reported() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System.Net.Http;
        using System.Threading;
        sealed class Latch : ManualResetEventSlim { }
        class C
        {
            static void M(System.Uri uri)
            {
                var done = {|MSA4006:new Latch()|};
                done.WaitHandle.WaitOne(10);
                var countdown = {|MSA4006:new CountdownEvent(1)|};
                System.Console.WriteLine(countdown.WaitHandle.Handle);
                // On the default ignore list whatever it is asked for (its kernel event has a finalizer of its own).
                var gate = new SemaphoreSlim(0);
                System.Console.WriteLine(gate.AvailableWaitHandle.Handle);
                var post = {|MSA4006:new HttpRequestMessage(HttpMethod.Post, uri) { Content = new StringContent("x") }|};
                System.Console.WriteLine(post.Method);
                var put = {|MSA4006:new HttpRequestMessage(HttpMethod.Put, uri)|};
                put.Content = new StringContent("y");
            }
        }
        """);

    // A later test decided by the creation's own branch: a flag set beside it, a local filled only on the other branch,
    // the same field tested again. The analysis does not follow values, so those paths may not exist.
    [Fact]
    public Task LaterTestCorrelatedWithTheCreationsBranch_NoDiagnostic() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System.IO;
        using System.Threading;
        using System.Threading.Tasks;
        class C
        {
            private Stream _active;
            static void Flag(Task pending, int timeout)
            {
                while (true)
                {
                    var created = false;
                    CancellationTokenSource source = null;
                    if (pending.IsCompleted)
                    {
                        created = true;
                        var token = timeout == -1 ? CancellationToken.None : (source = new CancellationTokenSource(timeout)).Token;
                        System.Console.WriteLine(token.CanBeCanceled);
                    }
                    if (created)
                    {
                        pending.Wait();
                        source?.Dispose();
                    }
                    else if (pending.Wait(timeout))
                        return;
                }
            }
            static Stream OtherBranch(string path, bool direct, byte[] data)
            {
                Stream stream = null;
                var copy = System.Array.Empty<byte>();
                if (direct)
                    stream = new FileStream(path, FileMode.Open);
                else
                    copy = data;
                if (copy.Length > 0)
                    stream = new MemoryStream(copy);
                return stream;
            }
            void SameField(string path)
            {
                FileStream stream = null;
                if (_active == null)
                    stream = new FileStream(path, FileMode.Open);
                if (_active == null)
                    _active = stream;
            }
        }
        """);

    [Fact]
    public Task CreatedInABranch_LaterTestOfSomethingElse_StillReported() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System.IO;
        class C
        {
            static long M(string path, bool open, bool skip)
            {
                if (open)
                {
                    var stream = {|MSA4006:new FileStream(path, FileMode.Open)|};
                    if (skip)
                        return 0;
                    var length = stream.Length;
                    stream.Dispose();
                    return length;
                }
                return -1;
            }
        }
        """);

    // The receiver's method stores `this` in the event args, which own it from then on (Socket.ConnectAsync with
    // userSocket: false); a method that only reads its fields leaves the caller the owner.
    [Fact]
    public Task ReceiverHandedOnByItsMethod_NoDiagnostic_ReadOnlyMethod_Reported() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync("""
        using System;
        sealed class Args { public Connection Owner; }
        sealed class Connection : IDisposable
        {
            private readonly IntPtr _handle = (IntPtr)1;
            ~Connection() { }
            public bool Start(Args e) { e.Owner = this; return true; }
            public bool Register(Args e) => Keep(e, this);
            private static bool Keep(Args e, Connection c) { e.Owner = c; return true; }
            public int Peek() => _handle.ToInt32();
            public void Dispose() => GC.SuppressFinalize(this);
        }
        class C
        {
            static bool Connect(Args e) => new Connection().Start(e);
            static bool Register(Args e) => new Connection().Register(e);
            static int Peek() => {|MSA4006:new Connection()|}.Peek();
            static bool Local(Args e)
            {
                var connection = new Connection();
                return connection.Start(e);
            }
        }
        """);

    [Fact]
    public Task IncompleteCode_NoCrash_NoDiagnostic()
    {
        var test = Verify<UndisposedLocalAnalyzer>.Test("""
            using System.IO;
            class C
            {
                static void M(string path)
                {
                    var s = File.OpenRead(path
                    s.
                    var t = new FileStream(;
                    var u = new Missing();
                    u = 
                }
            }
            """);
        test.AllowCompilerErrors = true;
        return test.RunAsync();
    }

    // ------------------------------------------------------------------ the using fix

    [Fact]
    public Task UsingDeclaration_Added() => VerifyCS.CodeFixAsync("""
        using System.IO;
        class C
        {
            static int M(string path)
            {
                // the file
                var stream = {|MSA4006:File.OpenRead(path)|};
                return stream.ReadByte();
            }
        }
        """, """
        using System.IO;
        class C
        {
            static int M(string path)
            {
                // the file
                using var stream = File.OpenRead(path);
                return stream.ReadByte();
            }
        }
        """);

    [Fact]
    public Task AsyncMethod_AwaitUsingAdded() => VerifyCS.CodeFixAsync("""
        using System.IO;
        using System.Threading.Tasks;
        class C
        {
            static async Task<int> M(string path)
            {
                var stream = {|MSA4006:new FileStream(path, FileMode.Open)|};
                var buffer = new byte[1];
                return await stream.ReadAsync(buffer, 0, 1);
            }
        }
        """, """
        using System.IO;
        using System.Threading.Tasks;
        class C
        {
            static async Task<int> M(string path)
            {
                await using var stream = new FileStream(path, FileMode.Open);
                var buffer = new byte[1];
                return await stream.ReadAsync(buffer, 0, 1);
            }
        }
        """);

    [Fact]
    public Task InLoopBody_UsingDeclarationDisposesEachIteration() => VerifyCS.CodeFixAsync("""
        using System.IO;
        class C
        {
            static long M(string[] paths)
            {
                long total = 0;
                foreach (var path in paths)
                {
                    var stream = {|MSA4008:File.OpenRead(path)|};
                    total += stream.Length;
                }
                return total;
            }
        }
        """, """
        using System.IO;
        class C
        {
            static long M(string[] paths)
            {
                long total = 0;
                foreach (var path in paths)
                {
                    using var stream = File.OpenRead(path);
                    total += stream.Length;
                }
                return total;
            }
        }
        """);

    [Fact]
    public Task CSharp7_UsingStatementTakesTheRestOfTheBlock()
    {
        var test = VerifyCS.Test("""
            using System.IO;
            class C
            {
                static int M(string path)
                {
                    var stream = {|MSA4006:File.OpenRead(path)|};
                    var first = stream.ReadByte();
                    return first + stream.ReadByte();
                }
            }
            """, """
            using System.IO;
            class C
            {
                static int M(string path)
                {
                    using (var stream = File.OpenRead(path))
                    {
                        var first = stream.ReadByte();
                        return first + stream.ReadByte();
                    }
                }
            }
            """);
        test.LanguageVersion = LanguageVersion.CSharp7_3;
        test.NullableContextOptions = Microsoft.CodeAnalysis.NullableContextOptions.Disable;
        return test.RunAsync();
    }

    [Fact]
    public Task CSharp7_FixAllNestsTheUsingStatements()
    {
        var test = VerifyCS.Test("""
            using System.IO;
            class C
            {
                static void M(string a, string b)
                {
                    var source = {|MSA4006:File.OpenRead(a)|};
                    var target = {|MSA4006:File.Create(b)|};
                    source.CopyTo(target);
                }

                static void N(string a)
                {
                    var reader = {|MSA4006:File.OpenText(a)|};
                    System.Console.WriteLine(reader.ReadLine());
                }
            }
            """, """
            using System.IO;
            class C
            {
                static void M(string a, string b)
                {
                    using (var source = File.OpenRead(a))
                    {
                        using (var target = File.Create(b))
                        {
                            source.CopyTo(target);
                        }
                    }
                }

                static void N(string a)
                {
                    using (var reader = File.OpenText(a))
                    {
                        System.Console.WriteLine(reader.ReadLine());
                    }
                }
            }
            """);
        test.LanguageVersion = LanguageVersion.CSharp7_3;
        test.NullableContextOptions = Microsoft.CodeAnalysis.NullableContextOptions.Disable;
        return test.RunAsync();
    }

    [Fact]
    public Task ManyDocuments_FixAllInEveryScope()
    {
        var test = new AnalyzerTest(new UndisposedLocalAnalyzer()) { CodeFix = new UndisposedLocalFix() };
        test.Sources.Add("""
            using System.IO;
            class A
            {
                static int M(string p) { var s = {|MSA4006:File.OpenRead(p)|}; var t = {|MSA4006:File.OpenRead(p)|}; return s.ReadByte() + t.ReadByte(); }
            }
            """);
        test.Sources.Add("""
            using System.IO;
            class B
            {
                static void M(string[] ps) { foreach (var p in ps) { var w = {|MSA4008:new StreamWriter(p)|}; w.Write(1); } }
            }
            """);
        test.FixedSources.Add("""
            using System.IO;
            class A
            {
                static int M(string p) { using var s = File.OpenRead(p); using var t = File.OpenRead(p); return s.ReadByte() + t.ReadByte(); }
            }
            """);
        test.FixedSources.Add("""
            using System.IO;
            class B
            {
                static void M(string[] ps) { foreach (var p in ps) { using var w = new StreamWriter(p); w.Write(1); } }
            }
            """);
        return test.RunAsync();
    }

    [Fact]
    public Task DisposedOnAnotherPath_ReportedWithoutFix() => Verify<UndisposedLocalAnalyzer, UndisposedLocalFix>.NoFixAsync("""
        using System.IO;
        class C
        {
            static long M(string path, bool skip)
            {
                var stream = {|MSA4006:File.OpenRead(path)|};
                if (skip)
                    return 0;
                var length = stream.Length;
                stream.Dispose();
                return length;
            }
        }
        """);

    [Fact]
    public Task ReturnedOnAnotherPath_ReportedWithoutFix() => Verify<UndisposedLocalAnalyzer, UndisposedLocalFix>.NoFixAsync("""
        using System.IO;
        class C
        {
            static Stream M(string path)
            {
                var stream = {|MSA4006:File.OpenRead(path)|};
                if (stream.Length == 0)
                    return null;
                return stream;
            }
        }
        """);

    [Fact]
    public Task AssignedTwice_ReportedWithoutFix() => Verify<UndisposedLocalAnalyzer, UndisposedLocalFix>.NoFixAsync("""
        using System.IO;
        class C
        {
            static void M(string a, string b)
            {
                var stream = {|MSA4006:File.OpenRead(a)|};
                stream.ReadByte();
                stream = {|MSA4006:File.OpenRead(b)|};
                stream.ReadByte();
            }
        }
        """);

    [Fact]
    public Task AsyncDisposableOnlyInSyncMethod_ReportedWithoutFix() => Verify<UndisposedLocalAnalyzer, UndisposedLocalFix>.NoFixAsync("""
        using System;
        using System.Threading.Tasks;
        sealed class Channel : IAsyncDisposable { private System.IO.Stream _s = System.IO.Stream.Null; public void Send() { } public ValueTask DisposeAsync() => _s.DisposeAsync(); }
        class C
        {
            static void M()
            {
                var channel = {|MSA4006:new Channel()|};
                channel.Send();
            }
        }
        """);

    [Fact]
    public Task TemporaryAndSwitchSection_ReportedWithoutFix() => Verify<UndisposedLocalAnalyzer, UndisposedLocalFix>.NoFixAsync("""
        using System.IO;
        class C
        {
            static string M(string path, int k)
            {
                switch (k)
                {
                    case 0:
                        var s = {|MSA4006:File.OpenText(path)|};
                        return s.ReadLine();
                }
                return {|MSA4006:File.OpenText(path)|}.ReadToEnd();
            }
        }
        """);

    // ------------------------------------------------------------------ run-time evidence (.NET 10 on Linux, the test host)

    // Opens a file per iteration, as the reported loop does, and counts the process's file descriptors open on that
    // file (/proc/self/fd) before and after, with no garbage collection in between.
    private const string HandleProbe = """
        using System.IO;
        using System.Linq;
        public static class Program
        {
            static string _path;
            // Only the descriptors open on our file: other tests of the same process open files at the same time.
            static int OpenFds() => Directory.GetFiles("/proc/self/fd").Count(fd => { try { return new FileInfo(fd).LinkTarget == _path; } catch (IOException) { return false; } });
            static long Work(int n)
            {
                long total = 0;
                for (var i = 0; i < n; i++)
                {
                    var stream = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                    total += stream.ReadByte();
                }
                return total;
            }
            public static string Run()
            {
                _path = Path.GetTempFileName();
                File.WriteAllBytes(_path, new byte[] { 7 });
                System.GC.Collect();
                System.GC.WaitForPendingFinalizers();
                var before = OpenFds();
                var result = Work(200);
                var leaked = OpenFds() - before;
                System.GC.Collect();
                System.GC.WaitForPendingFinalizers();
                var afterFinalizers = OpenFds() - before;
                File.Delete(_path);
                return $"result {result}, open after the loop {leaked}, after finalizers {afterFinalizers}";
            }
        }
        """;

    [Fact]
    public void Behaviour_LoopLeaksOneHandlePerIteration_FixedCodeLeaksNone()
    {
        if (!Directory.Exists("/proc/self/fd"))
            return; // the count needs Linux's /proc
        Assert.Equal("result 1400, open after the loop 200, after finalizers 0", Behaviour.RunInOwnProcess(HandleProbe));
        var fixedProbe = HandleProbe.Replace("var stream = new FileStream", "using var stream = new FileStream", System.StringComparison.Ordinal);
        Assert.Equal("result 1400, open after the loop 0, after finalizers 0", Behaviour.RunInOwnProcess(fixedProbe));
    }

    [Fact]
    public Task Behaviour_ProbeIsWhatTheRuleReports() => Verify<UndisposedLocalAnalyzer>.AnalyzerAsync(
        HandleProbe.Replace("var stream = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);",
            "var stream = {|MSA4008:new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite)|};", System.StringComparison.Ordinal));

    // StreamWriter has no finalizer: text in its buffer when it is dropped is never written, even after finalizers run.
    private const string WriterProbe = """
        using System.IO;
        public static class Program
        {
            static void Write(string path)
            {
                var writer = new StreamWriter(path);
                writer.Write("hello");
            }
            public static string Run()
            {
                var path = Path.GetTempFileName();
                Write(path);
                System.GC.Collect();
                System.GC.WaitForPendingFinalizers();
                System.GC.Collect();
                var text = File.ReadAllText(path);
                File.Delete(path);
                return "written: '" + text + "'";
            }
        }
        """;

    [Fact]
    public void Behaviour_DroppedWriterLosesItsBuffer_FixedCodeWritesIt()
    {
        Assert.Equal("written: ''", Behaviour.RunInOwnProcess(WriterProbe));
        Assert.Equal("written: 'hello'", Behaviour.RunInOwnProcess(WriterProbe.Replace("var writer", "using var writer", System.StringComparison.Ordinal)));
    }
}
