using System.Linq;
using System.Threading;
using MemSafety.Analyzers.Engines.Concurrency;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace MemSafety.Analyzers.Tests.Engines.Concurrency;

/// <summary>
/// The gate of the lockset rules (<see cref="LockSignals.TakesLocks"/>): whether a type's own code takes a lock. The
/// answer is read from the syntax, after a text check of the file that skips files where no lock word stands alone;
/// these cases pin the spellings that check must not lose.
/// </summary>
public sealed class LockSignalsTests
{
    private static bool TakesLocks(string source, string typeName = "C", params string[] otherFiles)
    {
        var options = new CSharpParseOptions(LanguageVersion.Latest);
        var trees = new[] { CSharpSyntaxTree.ParseText(source, options) }.Concat(otherFiles.Select(f => CSharpSyntaxTree.ParseText(f, options))).ToArray();
        var compilation = CSharpCompilation.Create("t", trees, Basic.Reference.Assemblies.Net80.References.All,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        var type = compilation.GetTypeByMetadataName(typeName)!;
        return LockSignals.TakesLocks(type, CancellationToken.None);
    }

    [Fact]
    public void LockStatement_TakesLocks()
        => Assert.True(TakesLocks("class C { object _g = new(); void M() { lock (_g) { } } }"));

    [Fact]
    public void MonitorCall_TakesLocks()
        => Assert.True(TakesLocks("using System.Threading; class C { object _g = new(); void M() { Monitor.Enter(_g); Monitor.Exit(_g); } }"));

    [Fact]
    public void LockWordsOnlyInsideOtherWords_DoesNotTakeLocks()
        // "block", "Locked", "MonitorState" and "lockCount" hold the words but are other identifiers.
        => Assert.False(TakesLocks("class C { int block, lockCount; bool Locked; object MonitorState; void M() { block++; } }"));

    [Fact]
    public void LockWordInCommentOnly_DoesNotTakeLocks()
        // The text check lets the file through; the syntax decides.
        => Assert.False(TakesLocks("class C { // lock (x) would be needed here\n void M() { } }"));

    [Fact]
    public void IdentifierSpelledWithUnicodeEscape_TakesLocks()
        // '\u004Donitor' is the identifier Monitor: the text holds no "Monitor", so a file with an escape is always walked.
        => Assert.True(TakesLocks("using System.Threading; class C { object _g = new(); void M() { \\u004Donitor.Enter(_g); } }"));

    [Fact]
    public void IdentifierWithFormattingCharacter_TakesLocks()
        // A formatting character (U+00AD, soft hyphen, category Cf) inside an identifier is ignored (C# spec, identifiers): it is Monitor.
        => Assert.True(TakesLocks("using System.Threading; class C { object _g = new(); void M() { Mon\u00ADitor.Enter(_g); } }"));

    [Fact]
    public void PartialTypeLockingInAnotherFile_TakesLocks()
        => Assert.True(TakesLocks("partial class C { int _n; }", "C", "partial class C { object _g = new(); void M() { lock (_g) { _n++; } } }"));

    [Fact]
    public void LockOnlyInNestedType_OuterDoesNotTakeLocks()
        => Assert.False(TakesLocks("class C { class D { object _g = new(); void M() { lock (_g) { } } } }"));
}
