using System;
using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.UnsafePointers;
using MemSafety.Analyzers.Tests.Verification;
using FixCS = MemSafety.Analyzers.Tests.Verification.Verify<MemSafety.Analyzers.Rules.UnsafePointers.GCHandleLifetimeAnalyzer, MemSafety.CodeFixes.UnsafePointers.GCHandleLifetimeFix>;
using VerifyCS = MemSafety.Analyzers.Tests.Verification.Verify<MemSafety.Analyzers.Rules.UnsafePointers.GCHandleLifetimeAnalyzer>;

namespace MemSafety.Analyzers.Tests.UnsafePointers;

public sealed class GCHandleLifetimeTests
{
    // ------------------------------------------------------------------ reported: not freed

    [Fact]
    public Task NeverFreed_NoFix() => FixCS.NoFixAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static long Address(byte[] buffer)
            {
                var handle = [|GCHandle.Alloc(buffer, GCHandleType.Pinned)|];
                return handle.AddrOfPinnedObject().ToInt64();
            }
        }
        """);

    [Fact]
    public Task EarlyReturnSkipsFree_FreedInFinally() => FixCS.CodeFixAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static void Send(IntPtr p, int n) { }

            static bool Write(byte[] buffer)
            {
                GCHandle handle = [|GCHandle.Alloc(buffer, GCHandleType.Pinned)|];
                if (buffer.Length == 0)
                    return false;
                handle.Free();
                return true;
            }
        }
        """, """
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static void Send(IntPtr p, int n) { }

            static bool Write(byte[] buffer)
            {
                GCHandle handle = GCHandle.Alloc(buffer, GCHandleType.Pinned);
                try
                {
                    if (buffer.Length == 0)
                        return false;
                }
                finally
                {
                    handle.Free();
                }

                return true;
            }
        }
        """);

    [Fact]
    public Task CallBeforeFreeCanThrow_FreedInFinally() => FixCS.CodeFixAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static void Send(IntPtr p, int n) { }

            static void Write(byte[] buffer)
            {
                var handle = [|GCHandle.Alloc(buffer, GCHandleType.Pinned)|];
                // the native side reads the pinned buffer
                Send(handle.AddrOfPinnedObject(), buffer.Length);
                handle.Free();
            }
        }
        """, """
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static void Send(IntPtr p, int n) { }

            static void Write(byte[] buffer)
            {
                var handle = GCHandle.Alloc(buffer, GCHandleType.Pinned);
                try
                {
                    // the native side reads the pinned buffer
                    Send(handle.AddrOfPinnedObject(), buffer.Length);
                }
                finally
                {
                    handle.Free();
                }
            }
        }
        """);

    [Fact]
    public Task AssignedAllocation_FreedInFinally() => FixCS.CodeFixAsync("""
        using System.Runtime.InteropServices;
        class C
        {
            static void Describe(object o)
            {
                GCHandle handle;
                handle = [|GCHandle.Alloc(o)|];
                System.Console.WriteLine(handle.Target);
                handle.Free();
            }
        }
        """, """
        using System.Runtime.InteropServices;
        class C
        {
            static void Describe(object o)
            {
                GCHandle handle;
                handle = GCHandle.Alloc(o);
                try
                {
                    System.Console.WriteLine(handle.Target);
                }
                finally
                {
                    handle.Free();
                }
            }
        }
        """);

    // Moved into the try, 'text' would be out of scope at the return.
    [Fact]
    public Task LocalDeclaredBeforeFreeUsedAfter_NoFix() => FixCS.NoFixAsync("""
        using System.Runtime.InteropServices;
        class C
        {
            static string Describe(object o)
            {
                var handle = [|GCHandle.Alloc(o)|];
                string text = handle.Target.ToString();
                handle.Free();
                return text;
            }
        }
        """);

    [Fact]
    public Task FixAll_TwoMethods() => FixCS.CodeFixAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static void Send(IntPtr p) { }

            static void A(byte[] buffer)
            {
                var handle = [|GCHandle.Alloc(buffer, GCHandleType.Pinned)|];
                Send(handle.AddrOfPinnedObject());
                handle.Free();
            }

            static void B(byte[] buffer)
            {
                var pin = [|GCHandle.Alloc(buffer, GCHandleType.Pinned)|];
                Send(pin.AddrOfPinnedObject());
                Send(pin.AddrOfPinnedObject() + 1);
                pin.Free();
            }
        }
        """, """
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static void Send(IntPtr p) { }

            static void A(byte[] buffer)
            {
                var handle = GCHandle.Alloc(buffer, GCHandleType.Pinned);
                try
                {
                    Send(handle.AddrOfPinnedObject());
                }
                finally
                {
                    handle.Free();
                }
            }

            static void B(byte[] buffer)
            {
                var pin = GCHandle.Alloc(buffer, GCHandleType.Pinned);
                try
                {
                    Send(pin.AddrOfPinnedObject());
                    Send(pin.AddrOfPinnedObject() + 1);
                }
                finally
                {
                    pin.Free();
                }
            }
        }
        """);

    // Freed in the finally, the early return would hand the caller the address of an object no longer pinned.
    [Fact]
    public Task PinnedAddressReturnedOnAPathWithoutFree_NoFix() => FixCS.NoFixAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static void Send(IntPtr p) { }

            static IntPtr M(byte[] buffer, bool keep)
            {
                var handle = [|GCHandle.Alloc(buffer, GCHandleType.Pinned)|];
                IntPtr p = handle.AddrOfPinnedObject();
                if (keep)
                    return p;
                handle.Free();
                return IntPtr.Zero;
            }
        }
        """);

    [Fact]
    public Task MessageNamesTheThrowingCall()
    {
        var test = Verify<GCHandleLifetimeAnalyzer>.Test("""
            using System;
            using System.Runtime.InteropServices;
            class C
            {
                static void Send(IntPtr p, int n) { }

                static void Write(byte[] buffer)
                {
                    var handle = {|#0:GCHandle.Alloc(buffer, GCHandleType.Pinned)|};
                    IntPtr p = handle.AddrOfPinnedObject();
                    {|#1:Send(p, buffer.Length)|};
                    handle.Free();
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA5007", 0).WithAdditionalLocation(1).WithMessage(
            "GCHandle 'handle' from GCHandle.Alloc is not freed if 'Send(p, buffer.Length)' at line 11 throws: the exception leaves the method with the handle allocated, and nothing else can free it: the pinned object stays alive, and where it is (the GC compacts around it), until the process exits; free the handle in a finally"));
        return test.RunAsync();
    }

    [Fact]
    public Task MessageSaysWhereANormalPathLeaves()
    {
        var test = Verify<GCHandleLifetimeAnalyzer>.Test("""
            using System.Runtime.InteropServices;
            class C
            {
                static object Keep(object o)
                {
                    var handle = {|#0:GCHandle.Alloc(o)|};
                    if (o is string)
                        return handle.Target;
                    handle.Free();
                    return o;
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA5007", 0).WithMessage(
            "GCHandle 'handle' from GCHandle.Alloc is still allocated where the method returns at line 8, and nothing else can free it: the object it holds stays alive until the process exits; free the handle in a finally"));
        return test.RunAsync();
    }

    [Fact]
    public Task AllocatedInLoopFreedOnlyAfterIt_NoFix() => FixCS.NoFixAsync("""
        using System.Runtime.InteropServices;
        class C
        {
            static void M(object[] items)
            {
                GCHandle handle = default;
                foreach (var item in items)
                {
                    handle = [|GCHandle.Alloc(item, GCHandleType.Weak)|];
                }

                if (handle.IsAllocated)
                    handle.Free();
            }
        }
        """);

    [Fact]
    public Task FinallyThatDoesNotFreeIt_ReportedForTheNormalPath_NoFix() => FixCS.NoFixAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static int Count;

            static void M(byte[] buffer)
            {
                var handle = [|GCHandle.Alloc(buffer, GCHandleType.Pinned)|];
                try
                {
                    Count += buffer.Length;
                }
                finally
                {
                    Count--;
                }
            }
        }
        """);

    // ------------------------------------------------------------------ reported: freed handle used, unpinned address

    [Fact]
    public Task AddrOfPinnedObjectAfterFree() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static IntPtr M(byte[] buffer)
            {
                var handle = GCHandle.Alloc(buffer, GCHandleType.Pinned);
                handle.Free();
                return [|handle.AddrOfPinnedObject()|];
            }
        }
        """);

    [Fact]
    public Task TargetAfterFreeOnBothBranches() => VerifyCS.AnalyzerAsync("""
        using System.Runtime.InteropServices;
        class C
        {
            static object M(object o, bool early)
            {
                var handle = GCHandle.Alloc(o);
                if (early)
                    handle.Free();
                else
                    handle.Free();
                return [|handle.Target|];
            }
        }
        """);

    [Fact]
    public Task FreedTwice() => VerifyCS.AnalyzerAsync("""
        using System.Runtime.InteropServices;
        class C
        {
            static void M(object o)
            {
                var handle = GCHandle.Alloc(o);
                object target = handle.Target;
                handle.Free();
                if (target is string)
                {
                    [|handle.Free()|];
                }
            }
        }
        """);

    // On the normal path the finally's Free is a second one, but an exception from WriteLine reaches it with the handle
    // allocated: the analysis joins the finally's paths and reports only a Free that every path reaches freed.
    [Fact]
    public Task FreedInTryAndInFinally_NotReportedYet() => VerifyCS.AnalyzerAsync("""
        using System.Runtime.InteropServices;
        class C
        {
            static void M(object o)
            {
                var handle = GCHandle.Alloc(o);
                try
                {
                    System.Console.WriteLine(handle.Target);
                    handle.Free();
                }
                finally
                {
                    handle.Free();
                }
            }
        }
        """);

    [Fact]
    public Task AddrOfPinnedObjectOnNormalHandle()
    {
        var test = Verify<GCHandleLifetimeAnalyzer>.Test("""
            using System;
            using System.Runtime.InteropServices;
            class C
            {
                static long M(int[] values)
                {
                    var handle = {|#1:GCHandle.Alloc(values)|};
                    try
                    {
                        return {|#0:handle.AddrOfPinnedObject()|}.ToInt64();
                    }
                    finally
                    {
                        handle.Free();
                    }
                }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA5007", 0).WithAdditionalLocation(1).WithMessage(
            "GCHandle 'handle' is allocated as GCHandleType.Normal on every path to here ('GCHandle.Alloc(values)' at line 7): AddrOfPinnedObject throws InvalidOperationException for a handle that is not Pinned; allocate it with GCHandleType.Pinned"));
        return test.RunAsync();
    }

    // ------------------------------------------------------------------ not reported

    [Fact]
    public Task FreedInFinally_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static void Send(IntPtr p, int n) { }

            static void Write(byte[] buffer)
            {
                var handle = GCHandle.Alloc(buffer, GCHandleType.Pinned);
                try
                {
                    Send(handle.AddrOfPinnedObject(), buffer.Length);
                }
                finally
                {
                    handle.Free();
                }
            }
        }
        """);

    // CryptoStream.CopyToAsyncInternal (.NET 10) zeroes its rented buffer in the finally before freeing the pin: the Free
    // is in a finally, as the rule asks; the cleanup call before it is not the missing try the rule is about.
    [Fact]
    public Task CleanupCallBeforeFreeInFinally_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static void Send(IntPtr p, int n) { }

            static void Write(byte[] buffer, int count)
            {
                var handle = GCHandle.Alloc(buffer, GCHandleType.Pinned);
                try
                {
                    Send(handle.AddrOfPinnedObject(), count);
                }
                finally
                {
                    buffer.AsSpan(0, count).Clear();
                    handle.Free();
                }
            }
        }
        """);

    [Fact]
    public Task FreedInFinallyUnderIsAllocated_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static void Send(IntPtr p, int n) { }

            static void Write(byte[] buffer)
            {
                GCHandle handle = default;
                try
                {
                    handle = GCHandle.Alloc(buffer, GCHandleType.Pinned);
                    Send(handle.AddrOfPinnedObject(), buffer.Length);
                }
                finally
                {
                    if (handle.IsAllocated)
                        handle.Free();
                }
            }
        }
        """);

    [Fact]
    public Task NoCallBetweenAllocAndFree_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static long M(byte[] buffer)
            {
                var handle = GCHandle.Alloc(buffer, GCHandleType.Pinned);
                long address = handle.AddrOfPinnedObject().ToInt64();
                handle.Free();
                return address;
            }
        }
        """);

    [Fact]
    public Task StoredInField_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System.Runtime.InteropServices;
        class Pin
        {
            private GCHandle _handle;

            void Start(byte[] buffer)
            {
                var handle = GCHandle.Alloc(buffer, GCHandleType.Pinned);
                _handle = handle;
            }

            void Stop() => _handle.Free();
        }
        """);

    [Fact]
    public Task ConvertedToIntPtrForACallback_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static void Register(IntPtr state) { }

            static void M(object state)
            {
                var handle = GCHandle.Alloc(state);
                Register(GCHandle.ToIntPtr(handle));
            }
        }
        """);

    [Fact]
    public Task Returned_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System.Runtime.InteropServices;
        class C
        {
            static GCHandle Pin(byte[] buffer)
            {
                var handle = GCHandle.Alloc(buffer, GCHandleType.Pinned);
                System.Console.WriteLine(buffer.Length);
                return handle;
            }
        }
        """);

    [Fact]
    public Task FreedOnOneBranchOnly_TargetAfter_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System.Runtime.InteropServices;
        class C
        {
            static object M(object o, bool done)
            {
                var handle = GCHandle.Alloc(o);
                if (done)
                    handle.Free();
                object result = handle.IsAllocated ? handle.Target : null;
                if (handle.IsAllocated)
                    handle.Free();
                return result;
            }
        }
        """);

    [Fact]
    public Task PinnedTypeNotConstant_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static long M(int[] values, GCHandleType type)
            {
                var handle = GCHandle.Alloc(values, type);
                try
                {
                    return handle.AddrOfPinnedObject().ToInt64();
                }
                finally
                {
                    handle.Free();
                }
            }
        }
        """);

    [Fact]
    public Task ReallocatedAfterFree_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static long M(byte[] a, byte[] b)
            {
                var handle = GCHandle.Alloc(a, GCHandleType.Pinned);
                long x = handle.AddrOfPinnedObject().ToInt64();
                handle.Free();
                handle = GCHandle.Alloc(b, GCHandleType.Pinned);
                x += handle.AddrOfPinnedObject().ToInt64();
                handle.Free();
                return x;
            }
        }
        """);

    [Fact]
    public Task CatchAllFreesAndRethrows_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static void Send(IntPtr p) { }

            static void M(byte[] buffer)
            {
                var handle = GCHandle.Alloc(buffer, GCHandleType.Pinned);
                try
                {
                    Send(handle.AddrOfPinnedObject());
                }
                catch
                {
                    handle.Free();
                    throw;
                }

                handle.Free();
            }
        }
        """);

    [Fact]
    public Task UsedInLambda_NoDiagnostic() => VerifyCS.AnalyzerAsync("""
        using System;
        using System.Runtime.InteropServices;
        class C
        {
            static Action M(object o)
            {
                var handle = GCHandle.Alloc(o);
                return () => handle.Free();
            }
        }
        """);

    // Why no fix rewrites a pinned GCHandle to .NET 10's PinnedGCHandle<T>: its GetAddressOfObjectData is the address of
    // the object's first field (an array's length, a string's length), not of the data AddrOfPinnedObject gives, so the
    // one-to-one rewrite would hand native code an address 8 bytes (arrays) or 4 bytes (strings) too low (.NET 10 test
    // host, 64-bit).
    [Fact]
    public void PinnedGCHandleAddress_IsNotAddrOfPinnedObject()
    {
        Assert.Equal(8, IntPtr.Size);
        Assert.Equal("8,8,4", Behaviour.Run("""
            using System;
            using System.Runtime.InteropServices;
            static unsafe class Program
            {
                static string Same<T>(T target) where T : class
                {
                    var old = GCHandle.Alloc(target, GCHandleType.Pinned);
                    using var typed = new PinnedGCHandle<T>(target);
                    long same = (long)old.AddrOfPinnedObject() - (long)(nint)typed.GetAddressOfObjectData();
                    old.Free();
                    return same.ToString();
                }

                static string Run() => Same(new byte[] { 1, 2, 3 }) + "," + Same(new int[0]) + "," + Same("text");
            }
            """, references: ReferenceSet.Net100));
    }

    // ------------------------------------------------------------------ run-time evidence (.NET 10 test host)

    private const string LeakProbe = """
        using System;
        using System.Runtime.CompilerServices;
        using System.Runtime.InteropServices;
        static class Program
        {
            static int Sum;

            static void Send(IntPtr p, int n)
            {
                if (n == 3)
                    throw new InvalidOperationException("device busy");
            }

            static void Write(byte[] buffer)
            {
                var handle = GCHandle.Alloc(buffer, GCHandleType.Pinned);
                Send(handle.AddrOfPinnedObject(), buffer.Length);
                Sum += buffer.Length;
                handle.Free();
            }

            [MethodImpl(MethodImplOptions.NoInlining)]
            static WeakReference Attempt(int n, ref int failures)
            {
                var buffer = new byte[n];
                try { Write(buffer); } catch (InvalidOperationException) { failures++; }
                return new WeakReference(buffer);
            }

            static string Run()
            {
                int failures = 0, alive = 0;
                var buffers = new WeakReference[6];
                for (int n = 1; n <= 6; n++)
                    buffers[n - 1] = Attempt(n, ref failures);
                GC.Collect();
                GC.WaitForPendingFinalizers();
                GC.Collect();
                foreach (var buffer in buffers)
                {
                    if (buffer.IsAlive)
                        alive++;
                }

                return Sum + ":" + failures + ":" + alive;
            }
        }
        """;

    // A pinned handle is a strong root: the buffer whose Send threw is still reachable after a full collection in the
    // original (its handle was never freed), and collected like the others once the fix frees it in the finally. Sum and
    // failures are the same. Own process: the result depends on what the collector finds (FLAKY-TEST RULE).
    [Fact]
    public async Task Fix_FreesTheHandleAnExceptionLeaked_SameResults()
    {
        var fixedProbe = LeakProbe.Replace("""
                    var handle = GCHandle.Alloc(buffer, GCHandleType.Pinned);
                    Send(handle.AddrOfPinnedObject(), buffer.Length);
                    Sum += buffer.Length;
                    handle.Free();
            """, """
                    var handle = GCHandle.Alloc(buffer, GCHandleType.Pinned);
                    try
                    {
                        Send(handle.AddrOfPinnedObject(), buffer.Length);
                        Sum += buffer.Length;
                    }
                    finally
                    {
                        handle.Free();
                    }
            """);
        Assert.NotEqual(LeakProbe, fixedProbe);

        // The analyzer reports the probe, and its fix produces exactly the fixed probe.
        await FixCS.CodeFixAsync(LeakProbe.Replace("var handle = GCHandle.Alloc(buffer, GCHandleType.Pinned);", "var handle = [|GCHandle.Alloc(buffer, GCHandleType.Pinned)|];"), fixedProbe);

        Assert.Equal("18:1:1", Behaviour.RunInOwnProcess(LeakProbe));
        Assert.Equal("18:1:0", Behaviour.RunInOwnProcess(fixedProbe));
    }

    // What the messages claim: Free zeroes the local, after which Target, AddrOfPinnedObject and Free throw; so does
    // AddrOfPinnedObject on a Normal handle.
    [Fact]
    public void FreedAndUnpinnedHandles_ThrowInvalidOperationException() => Assert.Equal(
        "Target:InvalidOperationException,Free:InvalidOperationException,AddrOfPinnedObject:InvalidOperationException,Unpinned:InvalidOperationException",
        Behaviour.Run("""
            using System;
            using System.Runtime.InteropServices;
            static class Program
            {
                static string Try(string what, Action action)
                {
                    try { action(); return what + ":none"; }
                    catch (Exception e) { return what + ":" + e.GetType().Name; }
                }

                static string Run()
                {
                    var freed = GCHandle.Alloc(new object());
                    freed.Free();
                    string a = Try("Target", () => { _ = freed.Target; });
                    string b = Try("Free", () => freed.Free());
                    string c = Try("AddrOfPinnedObject", () => freed.AddrOfPinnedObject());
                    var normal = GCHandle.Alloc(new int[4]);
                    string d = Try("Unpinned", () => normal.AddrOfPinnedObject());
                    normal.Free();
                    return a + "," + b + "," + c + "," + d;
                }
            }
            """));
}
