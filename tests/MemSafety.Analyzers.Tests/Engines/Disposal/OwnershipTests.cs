using System.Collections.Generic;
using System.Linq;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Disposal;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Tests.Engines.Disposal;

/// <summary>Ownership: which expressions create an owned disposable, what each use of a local does with it, the
/// annotations, the ignore list; and DisposedOnAllPaths: the dataflow verdict per creation site.</summary>
public sealed class OwnershipTests
{
    private sealed class Body
    {
        public Body(DisposalTestCode code)
        {
            Code = code;
            Ownership = new Ownership(code.Types);
            var tree = code.Compilation.SyntaxTrees[0];
            var model = code.Compilation.GetSemanticModel(tree);
            var method = tree.GetRoot().DescendantNodes().OfType<MethodDeclarationSyntax>().Single(m => m.Identifier.Text == "M");
            Root = model.GetOperation(method)!;
        }

        public DisposalTestCode Code { get; }
        public Ownership Ownership { get; }
        public IOperation Root { get; }

        public ILocalSymbol Local(string name)
            => Root.Descendants().OfType<IVariableDeclaratorOperation>().Single(d => d.Symbol.Name == name).Symbol;

        public DisposedOnAllPaths? Paths(string name, IgnoredTypes? ignored = null)
            => DisposedOnAllPaths.Analyze(Local(name), Root, Ownership, ignored ?? IgnoredTypes.Default, default);

        /// <summary>Each read of the local as "syntax: use".</summary>
        public string Uses(string name)
        {
            var local = Local(name);
            var lines = new List<string>();
            foreach (var reference in Root.Descendants().OfType<ILocalReferenceOperation>().Where(r => SymbolEqualityComparer.Default.Equals(r.Local, local)))
            {
                if (reference.Parent is ISimpleAssignmentOperation a && a.Target == reference)
                    continue;
                var consumer = reference.Parent!;
                while (consumer is IConversionOperation)
                    consumer = consumer.Parent!;
                lines.Add(consumer.Syntax + ": " + Ownership.ClassifyUse(reference, local.ContainingSymbol, default));
            }

            return string.Join("\n", lines);
        }
    }

    private static Body Compile(string members) => new(DisposalTestCode.Compile("""
        using System;
        using System.Collections.Generic;
        using System.IO;
        using System.IO.Compression;
        using System.Threading;
        using System.Threading.Tasks;
        sealed class ReturnsOwnedAttribute : Attribute { }
        sealed class NotOwnedAttribute : Attribute { }
        sealed class TransfersOwnershipAttribute : Attribute { }
        class C
        {
            Stream _field;
            List<Stream> _list = new();
            [ReturnsOwned] static Stream Owned() => null;
            [ReturnsOwned, NotOwned] static Stream Contradictory() => null;
            static Stream Unknown() => null;
            static void Adopt([TransfersOwnership] Stream s) { }
            static int Read(Stream s) => s.ReadByte();
            static void Close(Stream s) => s.Dispose();
            static void Keep(Stream s, List<Stream> into) => into.Add(s);
        """ + "\n" + members + "\n}"));

    [Fact]
    public void Creations_NewFileFactoriesAndReturnsOwned_NotParametersOrUnknownFactoriesOrIgnoredTypes()
    {
        var body = Compile("""
            void M(Stream parameter, string p, CancellationToken token)
            {
                var a = new FileStream(p, FileMode.Open);
                var b = File.OpenRead(p);
                var c = new FileInfo(p).AppendText();
                var d = Owned();
                var e = Contradictory();
                var f = Unknown();
                var g = parameter;
                var h = _field;
                var i = new MemoryStream();
                var j = Task.CompletedTask;
                var k = new CancellationTokenSource();
                var l = CancellationTokenSource.CreateLinkedTokenSource(token);
                var m = new Microsoft.Win32.SafeHandles.SafeFileHandle(IntPtr.Zero, true);
            }
            """);
        var created = body.Root.Descendants().OfType<IVariableDeclaratorOperation>()
            .Where(d => body.Ownership.IsCreation(d.Initializer!.Value, IgnoredTypes.Default, out _))
            .Select(d => d.Symbol.Name);
        Assert.Equal("a b c d l", string.Join(" ", created));
    }

    [Fact]
    public void Uses_DisposeTransferNeutralUnknown()
    {
        var body = Compile("""
            object M(string p, bool flag)
            {
                var s = File.OpenRead(p);
                s.ReadByte();
                var n = s.Length;
                if (s == null) { }
                s?.Dispose();
                s.Close();
                using (s) { }
                Read(s);
                Close(s);
                Adopt(s);
                Keep(s, _list);
                _list.Add(s);
                _field = s;
                new StreamReader(s);
                new StreamReader(s, leaveOpen: true);
                new GZipStream(s, CompressionMode.Compress, flag);
                var copy = s;
                Func<int> f = () => s.ReadByte();
                return s;
            }
            """);
        Assert.Equal("""
            s.ReadByte(): Neutral
            s.Length: Neutral
            s == null: Neutral
            s?.Dispose(): Disposes
            s.Close(): Disposes
            using (s) { }: Disposes
            s: Neutral
            s: Transfers
            s: Transfers
            s: Transfers
            s: Transfers
            _field = s: Transfers
            s: Transfers
            s: Neutral
            s: Neutral
            = s: Unknown
            s.ReadByte(): Unknown
            return s;: Transfers
            """.Replace("\r", string.Empty), body.Uses("s"));
    }

    [Fact]
    public void DisposedOnAllPaths_FinallyAndNullChecks_NoLeak()
    {
        var body = Compile("""
            void M(string p, bool flag)
            {
                Stream s = null;
                try
                {
                    if (flag) return;
                    s = File.OpenRead(p);
                    s.ReadByte();
                }
                finally
                {
                    if (s != null) s.Dispose();
                }
            }
            """);
        var paths = body.Paths("s")!;
        Assert.Equal(LeakKind.None, Assert.Single(paths.Sites).Leak);
        Assert.True(paths.DisposedSomewhere);
        Assert.Equal(2, paths.WriteCount);
    }

    [Fact]
    public void DisposedOnAllPaths_ExceptionPathsIgnored_NormalPathAfterCatchCounted()
    {
        var body = Compile("""
            void M(string p, bool flag)
            {
                var s = File.OpenRead(p);
                try { s.ReadByte(); }
                catch (IOException) { return; }
                s.Dispose();
                var t = File.OpenRead(p);
                try { t.ReadByte(); t.Dispose(); }
                catch (IOException) { }
            }
            """);
        // s: the catch is entered only by an exception, so its return is an exception path; t: after the catch swallows
        // one, the normal path to the end of the method still holds it, but only an exception leads there.
        Assert.Equal(LeakKind.None, body.Paths("s")!.Sites[0].Leak);
        Assert.Equal(LeakKind.None, body.Paths("t")!.Sites[0].Leak);
    }

    [Fact]
    public void DisposedOnAllPaths_LeakKindsAndTheirPaths()
    {
        var body = Compile("""
            void M(string[] ps, bool flag)
            {
                var exit = File.OpenRead(ps[0]);
                if (flag)
                    return;
                exit.Dispose();
                var twice = File.OpenRead(ps[0]);
                twice = File.OpenRead(ps[1]);
                twice.Dispose();
                foreach (var p in ps)
                {
                    var each = File.OpenRead(p);
                    each.ReadByte();
                }
            }
            """);
        var exit = body.Paths("exit")!.Sites[0];
        Assert.Equal((LeakKind.AtExit, "returns at line 25"), (exit.Leak, exit.Where));
        var twice = body.Paths("twice")!.Sites;
        Assert.Equal((LeakKind.Overwritten, "assigns 'twice' again at line 28"), (twice[0].Leak, twice[0].Where));
        Assert.Equal(LeakKind.None, twice[1].Leak);
        var each = body.Paths("each")!.Sites[0];
        Assert.Equal(LeakKind.NextIteration, each.Leak);
    }

    [Fact]
    public void DisposedOnAllPaths_GivesUpOnUnfollowedUses()
    {
        var body = Compile("""
            void M(string p)
            {
                var copied = File.OpenRead(p);
                var alias = copied;
                Stream outWritten = File.OpenRead(p);
                Open(out outWritten);
                var notCreated = Unknown();
            }
            static void Open(out Stream s) => s = null;
            """);
        Assert.Null(body.Paths("copied"));
        Assert.Null(body.Paths("outWritten"));
        Assert.Null(body.Paths("notCreated"));
    }

    [Fact]
    public void IgnoredTypes_DefaultListOptionAddsAndRemoves()
    {
        var code = DisposalTestCode.Compile("namespace N { class Cheap : System.IDisposable { public void Dispose() { } public class Inner : Cheap { } } }");
        var memory = code.Type("System.IO.MemoryStream");
        var task = code.Type("System.Threading.Tasks.Task`1");
        var cheap = code.Type("N.Cheap");
        Assert.True(IgnoredTypes.Default.Contains(memory));
        Assert.True(IgnoredTypes.Default.Contains(task.Construct(code.Compilation.GetSpecialType(SpecialType.System_Int32))));
        Assert.False(IgnoredTypes.Default.Contains(cheap));
        Assert.False(IgnoredTypes.Default.Contains(code.Type("System.IO.UnmanagedMemoryStream")));
        Assert.False(IgnoredTypes.Default.Contains(code.Type("System.Threading.CancellationTokenSource")));
        var configured = IgnoredTypes.Parse(" global::N.Cheap ; -System.IO.MemoryStream,, ");
        Assert.True(configured.Contains(cheap));
        Assert.False(configured.Contains(code.Type("N.Cheap+Inner")));
        Assert.False(configured.Contains(memory));
        Assert.True(configured.Contains(code.Type("System.IO.StringReader")));
    }
}
