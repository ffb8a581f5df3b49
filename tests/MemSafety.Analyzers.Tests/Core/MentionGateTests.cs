using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.Boxing;
using MemSafety.Analyzers.Rules.SharedState;
using MemSafety.Analyzers.Rules.UnsafePointers;
using MemSafety.Analyzers.Tests.Verification;

namespace MemSafety.Analyzers.Tests.Core;

/// <summary>
/// The per-body gate of <c>MentionGate</c>: a rule registers its invocation or property callback only in bodies whose
/// text spells one of its words. Each case reaches the member in a way that spells as little as possible (a single word
/// of the rule's list, a Unicode escape, a <c>using static</c> import or alias, a field initializer, a lambda); each
/// fails when the gate drops that body (a word removed from the list, escapes not counted, a block kind not covered).
/// The rules' own test classes hold every other case, all of which pass through the gate.
/// </summary>
public sealed class MentionGateTests
{
    [Fact]
    public Task NameSpelledWithAUnicodeEscape_StillReported() => Verify<SafeHandleEscapeHatchAnalyzer>.AnalyzerAsync("""
        using System.Runtime.InteropServices;
        static class Io
        {
            public static void Flush(SafeHandle handle)
            {
                bool added = false;
                [|handle.\u0044angerousAddRef(ref added)|];
                Work();
                handle.DangerousRelease();
            }
            static void Work() { }
        }
        """);

    [Fact]
    public Task ReallocOfAlignedReallocMemory_OnlyLowerCaseAllocSpelled_Reported() => Verify<MismatchedNativeFreeAnalyzer>.AnalyzerAsync("""
        using System.Runtime.InteropServices;
        unsafe class C
        {
            static void* M()
            {
                void* p = NativeMemory.AlignedRealloc(null, 64, 16);
                return [|NativeMemory.Realloc(p, 128)|];
            }
        }
        """);

    [Fact]
    public Task StringToAllocationNeverFreed_ImportedWithUsingStatic_Reported() => Verify<MismatchedNativeFreeAnalyzer>.AnalyzerAsync("""
        using System;
        using static System.Runtime.InteropServices.Marshal;
        class C
        {
            static int First(string text)
            {
                IntPtr s = [|StringToHGlobalAnsi(text)|];
                return ReadByte(s);
            }
        }
        """);

    [Fact]
    public Task MonitorEnterThroughATypeAlias_Reported() => Verify<LockWithoutFinallyAnalyzer>.AnalyzerAsync("""
        using Mon = System.Threading.Monitor;
        class Counter
        {
            private readonly object _gate = new object();
            private readonly System.Collections.Generic.List<int> _items = new();
            public void Add(int x) { [|Mon.Enter(_gate)|]; _items.Add(x); Mon.Exit(_gate); }
        }
        """);

    [Fact]
    public Task WaitThroughATypeAlias_InALambda_Reported() => Verify<LockWithoutFinallyAnalyzer>.AnalyzerAsync("""
        using System;
        using Gate = System.Threading.SemaphoreSlim;
        class Pool
        {
            private readonly Gate _gate = new Gate(1);
            private readonly System.Collections.Generic.List<int> _items = new();
            public Action<int> Adder() => x => { [|_gate.Wait()|]; _items.Add(x); _gate.Release(); };
        }
        """);

    [Fact]
    public Task InheritedGetHashCodeInAFieldInitializer_Reported() => Verify<StructMissingOverrideAnalyzer>.AnalyzerAsync("""
        public struct Plain { public int A; public string B; }
        public static class C
        {
            public static readonly int Hash = [|default(Plain).GetHashCode()|];
        }
        """);
}
