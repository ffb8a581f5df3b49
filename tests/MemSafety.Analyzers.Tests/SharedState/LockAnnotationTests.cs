using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.SharedState;
using MemSafety.Analyzers.Tests.Verification;
using MemSafety.CodeFixes.SharedState;

namespace MemSafety.Analyzers.Tests.SharedState;

/// <summary>MSA6100 (access without the declared guard), MSA6101 (call without the required lock), MSA6102 (invalid guard).
/// The attributes are declared in a namespace of the test's own: the rules match them by name.</summary>
public sealed class LockAnnotationTests
{
    private const string Attributes = """

        namespace My.Annotations
        {
            [System.AttributeUsage(System.AttributeTargets.Field | System.AttributeTargets.Property)] sealed class GuardedByAttribute : System.Attribute { public GuardedByAttribute(string name) { } }
            [System.AttributeUsage(System.AttributeTargets.Method)] sealed class RequiresLockAttribute : System.Attribute { public RequiresLockAttribute(string name) { } }
            sealed class ThreadConfinedAttribute : System.Attribute { }
        }
        """;

    /// <summary>[ThreadSafe] and [NotThreadSafe], matched by name like the others; used by the tests of the rules whose
    /// concurrency gate they force (MSA6002, MSA6007) or close for instance state (MSA6001, MSA6002, MSA6003, MSA6009).</summary>
    internal const string ThreadSafetyAttributes = """

        namespace My.Annotations
        {
            [System.AttributeUsage(System.AttributeTargets.Class | System.AttributeTargets.Struct)] sealed class ThreadSafeAttribute : System.Attribute { }
            [System.AttributeUsage(System.AttributeTargets.Class | System.AttributeTargets.Struct)] sealed class NotThreadSafeAttribute : System.Attribute { }
            [System.AttributeUsage(System.AttributeTargets.Method)] sealed class ThreadConfinedAttribute : System.Attribute { }
        }
        """;

    private static Task Check(string source) => Verify<LockAnnotationAnalyzer>.Test("using My.Annotations;\n" + source + Attributes).RunAsync();

    private static Task CheckWithLock(string source)
        => Verify<LockAnnotationAnalyzer>.Test("using My.Annotations;\n" + source + Attributes + InconsistentlyGuardedFieldTests.LockType).RunAsync();

    // ------------------------------------------------------------------ MSA6100 reported

    [Fact]
    public Task GuardedFieldWrittenWithoutTheLock_MessageNamesFieldAndLock()
    {
        var test = Verify<LockAnnotationAnalyzer>.Test("using My.Annotations;\n" + """
            class Counter
            {
                private readonly object _gate = new();
                [GuardedBy(nameof(_gate))] private int _count;
                public void Add() { lock (_gate) { _count++; } }
                public void Reset() { {|#0:_count|} = 0; }
            }
            """ + Attributes);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA6100", 0).WithMessage("'_count' is [GuardedBy(\"_gate\")], but this code writes it without holding '_gate'"));
        return test.RunAsync();
    }

    [Fact]
    public Task GuardedFieldReadWithoutTheLock() => Check("""
        class Counter
        {
            private readonly object _gate = new();
            [GuardedBy("_gate")] private int _count;
            public int Peek() => {|MSA6100:_count|};
        }
        """);

    [Fact]
    public Task WriteUnderAReadLock_NeedsTheWriteLock() => Check("""
        using System.Threading;
        class Table
        {
            private readonly ReaderWriterLockSlim _rw = new();
            [GuardedBy(nameof(_rw))] private int _size;
            public void Grow()
            {
                _rw.EnterReadLock();
                try { {|MSA6100:_size|} = 2; } finally { _rw.ExitReadLock(); }
            }
        }
        """);

    [Fact]
    public Task LambdaInsideTheLock_StartsWithNoLock() => Check("""
        using System.Threading.Tasks;
        class Worker
        {
            private readonly object _gate = new();
            [GuardedBy(nameof(_gate))] private int _done;
            public Task Start() { lock (_gate) { return Task.Run(() => { }).ContinueWith(_ => {|MSA6100:_done|}++); } }
        }
        """);

    [Fact]
    public Task CollectionChangedAfterTheLockEnds() => Check("""
        using System.Collections.Generic;
        class Registry
        {
            private readonly object _gate = new();
            [GuardedBy(nameof(_gate))] private readonly List<string> _names = new();
            public void Add(string n) { lock (_gate) { } {|MSA6100:_names|}.Add(n); }
        }
        """);

    [Fact]
    public Task StaticFieldGuardedByStaticLock_SystemThreadingLock() => CheckWithLock("""
        using System.Threading;
        static class Ids
        {
            private static readonly Lock s_gate = new();
            [GuardedBy(nameof(s_gate))] private static long s_next;
            public static long Next() { lock (s_gate) { return ++s_next; } }
            public static long Last() => {|MSA6100:s_next|};
        }
        """);

    [Fact]
    public Task AnotherInstancesLock_DoesNotGuardThisOne() => Check("""
        class Node
        {
            private readonly object _gate = new();
            [GuardedBy(nameof(_gate))] private int _value;
            public void CopyFrom(Node other) { lock (other._gate) { {|MSA6100:_value|} = 1; } }
        }
        """);

    // ------------------------------------------------------------------ MSA6100 not reported

    [Fact]
    public Task GuardedAutoPropertyUsedWithoutTheLock_MessageNamesTheProperty()
    {
        var test = Verify<LockAnnotationAnalyzer>.Test("using My.Annotations;\n" + """
            class Counter
            {
                private readonly object _gate = new();
                [GuardedBy(nameof(_gate))] private int Pending { get; set; }
                public Counter() { Pending = 1; }
                public void Add() { lock (_gate) { Pending++; } }
                public void Reset() { {|#0:Pending|} = 0; }
                public int Peek() => {|#1:Pending|};
            }
            """ + Attributes);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA6100", 0).WithMessage("'Pending' is [GuardedBy(\"_gate\")], but this code writes it without holding '_gate'"));
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA6100", 1).WithMessage("'Pending' is [GuardedBy(\"_gate\")], but this code reads it without holding '_gate'"));
        return test.RunAsync();
    }

    /// <summary>The accessors of a [GuardedBy] property run under their caller's lock (a getter's read lock is enough
    /// for the guarded field it reads); a write of the property needs the write lock, as a write of the field does.</summary>
    [Fact]
    public Task GuardedPropertyWithBackingField_AccessorsHoldTheLock_WriteUnderTheReadLockReported() => Check("""
        using System.Threading;
        class Table
        {
            private readonly ReaderWriterLockSlim _rw = new();
            [GuardedBy(nameof(_rw))] private int _size;
            [GuardedBy(nameof(_rw))] private int Size { get => _size; set => _size = value; }
            public int Read()
            {
                _rw.EnterReadLock();
                try { return Size; } finally { _rw.ExitReadLock(); }
            }
            public void Grow()
            {
                _rw.EnterReadLock();
                try { {|MSA6100:Size|} = 2; } finally { _rw.ExitReadLock(); }
            }
            public void Shrink()
            {
                _rw.EnterWriteLock();
                try { Size--; } finally { _rw.ExitWriteLock(); }
            }
        }
        """);

    [Fact]
    public Task GuardedPropertyOfAnotherInstanceOrUnannotated_NoDiagnostic() => Check("""
        class Node
        {
            private readonly object _gate = new();
            [GuardedBy(nameof(_gate))] private int Count { get; set; }
            private int Plain { get; set; }
            public void Copy(Node other) { Plain = 1; lock (other._gate) { other.Count = 2; } }
        }
        """);

    [Fact]
    public Task EveryAccessUnderTheLock_NoDiagnostic() => Check("""
        class Counter
        {
            private readonly object _gate = new();
            [GuardedBy(nameof(_gate))] private int _count;
            public void Add() { lock (_gate) { _count++; } }
            public int Get() { lock (_gate) return _count; }
        }
        """);

    [Fact]
    public Task Constructor_NoDiagnostic() => Check("""
        class Counter
        {
            private readonly object _gate = new();
            [GuardedBy(nameof(_gate))] private int _count = 1;
            public Counter(int start) { _count = start; }
        }
        """);

    [Fact]
    public Task ReadUnderAReadLock_WriteUnderTheWriteLock_NoDiagnostic() => Check("""
        using System.Threading;
        class Table
        {
            private readonly ReaderWriterLockSlim _rw = new();
            [GuardedBy(nameof(_rw))] private int _size;
            public int Size() { _rw.EnterReadLock(); try { return _size; } finally { _rw.ExitReadLock(); } }
            public void Grow() { _rw.EnterWriteLock(); try { _size++; } finally { _rw.ExitWriteLock(); } }
        }
        """);

    [Fact]
    public Task HelperAnnotatedRequiresLock_NoDiagnostic() => Check("""
        class Counter
        {
            private readonly object _gate = new();
            [GuardedBy(nameof(_gate))] private int _count;
            public void Add() { lock (_gate) { Bump(); } }
            [RequiresLock(nameof(_gate))] private void Bump() { _count++; }
        }
        """);

    [Fact]
    public Task ThreadConfinedMemberAndType_NoDiagnostic() => Check("""
        class View
        {
            private readonly object _gate = new();
            [GuardedBy(nameof(_gate))] private int _frames;
            [ThreadConfined] public void Render() { _frames++; }
        }
        [ThreadConfined]
        class Ui
        {
            private readonly object _gate = new();
            [GuardedBy(nameof(_gate))] private int _clicks;
            public void Click() { _clicks++; }
        }
        """);

    [Fact]
    public Task SemaphoreSlimHeldAcrossAwait_AndUnannotatedFields_NoDiagnostic() => Check("""
        using System.Threading;
        using System.Threading.Tasks;
        class Store
        {
            private readonly SemaphoreSlim _gate = new(1, 1);
            [GuardedBy(nameof(_gate))] private int _writes;
            private int _free;
            public async Task Save()
            {
                await _gate.WaitAsync();
                try { await Task.Yield(); _writes++; } finally { _gate.Release(); }
                _free++;
            }
        }
        """);

    [Fact]
    public Task GuardedByThis_LockThis_PartialClass_NoDiagnostic() => Check("""
        partial class Book
        {
            [GuardedBy("this")] private int _pages;
        }
        partial class Book
        {
            public void Add() { lock (this) { _pages++; } }
        }
        """);

    /// <summary>A nested type's guards are its own: its field written without its lock is reported, in the nested type.</summary>
    [Fact]
    public Task GuardedFieldOfANestedType_WrittenWithoutItsLock() => Check("""
        class Outer
        {
            private sealed class Slot
            {
                private readonly object _gate = new();
                [GuardedBy(nameof(_gate))] private int _value;
                public void Set(int v) { lock (_gate) { _value = v; } }
                public void Reset() { {|MSA6100:_value|} = 0; }
            }
        }
        """);

    /// <summary>An event's accessors are members like any other: a remove accessor that changes the guarded handler list
    /// without the lock its add accessor takes is reported.</summary>
    [Fact]
    public Task GuardedHandlerListChangedByAnEventAccessorWithoutTheLock() => Check("""
        using System;
        class Hub
        {
            private readonly object _gate = new();
            [GuardedBy(nameof(_gate))] private Action _handlers;
            public event Action Changed
            {
                add { lock (_gate) { _handlers += value; } }
                remove { {|MSA6100:_handlers|} -= value; }
            }
        }
        """);

    [Fact]
    public Task NestedTypeAndEventAccessorsUnderTheLock_NoDiagnostic() => Check("""
        using System;
        class Outer
        {
            private sealed class Slot
            {
                private readonly object _gate = new();
                [GuardedBy(nameof(_gate))] private int _value;
                [GuardedBy(nameof(_gate))] private Action _handlers;
                public void Set(int v) { lock (_gate) { _value = v; Notify(); } }
                public event Action Changed
                {
                    add { lock (_gate) { _handlers += value; } }
                    remove { lock (_gate) { _handlers -= value; } }
                }
                [RequiresLock(nameof(_gate))] private void Notify() { _handlers?.Invoke(); }
            }
        }
        """);

    // ------------------------------------------------------------------ MSA6101 reported

    [Fact]
    public Task CallWithoutTheRequiredLock_MessageNamesMethodAndLock()
    {
        var test = Verify<LockAnnotationAnalyzer>.Test("using My.Annotations;\n" + """
            class Counter
            {
                private readonly object _gate = new();
                public void Add() { {|#0:Bump()|}; }
                [RequiresLock(nameof(_gate))] private void Bump() { }
            }
            """ + Attributes);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA6101", 0).WithMessage("'Bump' is [RequiresLock(\"_gate\")], but it is called here without holding '_gate'"));
        return test.RunAsync();
    }

    [Fact]
    public Task CallAfterTheLockIsReleased() => Check("""
        using System.Threading;
        class Counter
        {
            private readonly object _gate = new();
            public void Add() { Monitor.Enter(_gate); Monitor.Exit(_gate); {|MSA6101:Bump()|}; }
            [RequiresLock(nameof(_gate))] private void Bump() { }
        }
        """);

    [Fact]
    public Task CallUnderADifferentLock() => Check("""
        class Counter
        {
            private readonly object _gate = new();
            private readonly object _other = new();
            public void Add() { lock (_other) { {|MSA6101:Bump()|}; } }
            [RequiresLock(nameof(_gate))] private void Bump() { }
        }
        """);

    [Fact]
    public Task CallUnderAReadLock_NeedsExclusive() => Check("""
        using System.Threading;
        class Counter
        {
            private readonly ReaderWriterLockSlim _rw = new();
            public void Add() { _rw.EnterReadLock(); try { {|MSA6101:Bump()|}; } finally { _rw.ExitReadLock(); } }
            [RequiresLock(nameof(_rw))] private void Bump() { }
        }
        """);

    [Fact]
    public Task CallFromALocalFunction_StartsWithNoLock() => Check("""
        using System;
        class Counter
        {
            private readonly object _gate = new();
            public Action Later() { lock (_gate) { } return Run; void Run() { {|MSA6101:Bump()|}; } }
            [RequiresLock(nameof(_gate))] private void Bump() { }
        }
        """);

    [Fact]
    public Task StaticMethodCalledWithoutItsStaticLock() => Check("""
        static class Ids
        {
            private static readonly object s_gate = new();
            public static void Reset() { {|MSA6101:Clear()|}; }
            [RequiresLock(nameof(s_gate))] private static void Clear() { }
        }
        """);

    [Fact]
    public Task CallOnAnotherInstance_WithoutItsLock_MessageNamesItsLock()
    {
        var test = Verify<LockAnnotationAnalyzer>.Test("using My.Annotations;\n" + """
            class Account
            {
                private readonly object _gate = new();
                public void Merge(Account other) { {|#0:other.Drain()|}; }
                [RequiresLock(nameof(_gate))] private void Drain() { }
            }
            """ + Attributes);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA6101", 0).WithMessage("'Drain' is [RequiresLock(\"_gate\")], but it is called here without holding 'other._gate'"));
        return test.RunAsync();
    }

    /// <summary>Holding the wrong instance's lock: this one's for other.Drain(), another's for this.Drain(), or this
    /// one's in a [RequiresLock] method that calls the method on another instance.</summary>
    [Fact]
    public Task CallHoldingTheWrongInstancesLock() => Check("""
        class Account
        {
            private readonly object _gate = new();
            public void Merge(Account other) { lock (_gate) { {|MSA6101:other.Drain()|}; } }
            public void Pull(Account other) { lock (other._gate) { {|MSA6101:Drain()|}; } }
            public void Swap(Account a, Account b) { lock (a._gate) { {|MSA6101:b.Drain()|}; } }
            [RequiresLock(nameof(_gate))] private void Transfer(Account other) { Drain(); {|MSA6101:other.Drain()|}; }
            [RequiresLock(nameof(_gate))] private void Drain() { }
        }
        """);

    [Fact]
    public Task CallOnAnotherInstance_GuardedByThis_NeedsThatInstance() => Check("""
        class Node
        {
            public void Link(Node next) { lock (this) { {|MSA6101:next.Touch()|}; } }
            [RequiresLock("this")] private void Touch() { }
        }
        """);

    [Fact]
    public Task CallOnAnotherInstance_UnderItsReadLock_NeedsExclusive() => Check("""
        using System.Threading;
        class Table
        {
            private readonly ReaderWriterLockSlim _rw = new();
            public void Copy(Table other)
            {
                other._rw.EnterReadLock();
                try { {|MSA6101:other.Grow()|}; } finally { other._rw.ExitReadLock(); }
            }
            [RequiresLock(nameof(_rw))] private void Grow() { }
        }
        """);

    [Fact]
    public Task CallInANestedTypeAndFromAnEventAccessorWithoutTheLock() => Check("""
        using System;
        class Outer
        {
            private sealed class Slot
            {
                private readonly object _gate = new();
                public event Action Changed { add { {|MSA6101:Touch()|}; } remove { lock (_gate) { Touch(); } } }
                public void Set() { {|MSA6101:Touch()|}; }
                [RequiresLock(nameof(_gate))] private void Touch() { }
            }
        }
        """);

    [Fact]
    public Task CallOnAFieldWithoutItsLock_MessageNamesTheFieldsLock()
    {
        var test = Verify<LockAnnotationAnalyzer>.Test("using My.Annotations;\n" + """
            class Node
            {
                private readonly object _gate = new();
                private readonly Node _next;
                public Node(Node next) { _next = next; }
                public void Link() { {|#0:_next.Drain()|}; }
                public void Wrong() { lock (_gate) { {|#1:this._next.Drain()|}; } }
                [RequiresLock(nameof(_gate))] private void Drain() { }
            }
            """ + Attributes);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA6101", 0).WithMessage("'Drain' is [RequiresLock(\"_gate\")], but it is called here without holding '_next._gate'"));
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA6101", 1).WithMessage("'Drain' is [RequiresLock(\"_gate\")], but it is called here without holding '_next._gate'"));
        return test.RunAsync();
    }

    /// <summary>A call's or property's result: no lock statement names that object, so the call is reported wherever no
    /// lock the analysis cannot name is held, even under this instance's lock, and the message says what to do.</summary>
    [Fact]
    public Task CallOnACallOrPropertyResult_MessageSaysToUseALocal()
    {
        var test = Verify<LockAnnotationAnalyzer>.Test("using My.Annotations;\n" + """
            class Node
            {
                private readonly object _gate = new();
                private Node Next => this;
                private Node Find(int key) => this;
                public void Link() { {|#0:Find(1).Drain()|}; }
                public void Pick() { lock (_gate) { {|#1:Next.Drain()|}; } }
                [RequiresLock(nameof(_gate))] private void Drain() { }
            }
            """ + Attributes);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA6101", 0).WithMessage("'Drain' is [RequiresLock(\"_gate\")], but it is called here without holding '_gate' of the object 'Find(…)' returns, which no lock taken here can be shown to be (store the object in a local, and lock the local's '_gate' around the call of 'Drain' on it)"));
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA6101", 1).WithMessage("'Drain' is [RequiresLock(\"_gate\")], but it is called here without holding '_gate' of the object 'Next' returns, which no lock taken here can be shown to be (store the object in a local, and lock the local's '_gate' around the call of 'Drain' on it)"));
        return test.RunAsync();
    }

    /// <summary>The annotated type of the tests of calls from other types; <c>LEDGER</c> is the body of its nested type's
    /// method, the other types follow it.</summary>
    private const string AccountForOtherTypes = """
        class Account
        {
            internal readonly object Gate = new();
            internal static readonly object s_all = new();
            protected readonly object _own = new();
            [RequiresLock(nameof(Gate))] internal void Drain() { }
            [RequiresLock(nameof(s_all))] internal static void Audit() { }
            [RequiresLock("this")] internal void Touch() { }
            [RequiresLock(nameof(_own))] protected void Settle() { }
            private sealed class Ledger
            {
                private readonly Account _account = new();
                public void Close() { LEDGER }
            }
        }

        """;

    /// <summary>Calls from other types: a class of the assembly (on a parameter, on its own field, a static method), a
    /// nested type, a derived class; holding the caller's own lock does not count.</summary>
    [Fact]
    public Task CallFromAnotherTypeWithoutTheLock() => Check(AccountForOtherTypes.Replace("LEDGER", "{|MSA6101:_account.Drain()|};") + """
        class Savings : Account
        {
            private readonly object _gate = new();
            public void Close() { lock (_gate) { {|MSA6101:Settle()|}; } }
        }
        class Bank
        {
            private readonly object _gate = new();
            private readonly Account _main = new();
            public void Move(Account a)
            {
                lock (_gate) { {|MSA6101:a.Drain()|}; }
                {|MSA6101:_main.Drain()|};
                {|MSA6101:Account.Audit()|};
                lock (a.Gate) { {|MSA6101:a.Touch()|}; }
            }
        }
        """);

    /// <summary>The caller cannot take the lock (protected in the annotated type, the method internal): still reported, as
    /// Clang does, with a message that says so; no fix.</summary>
    [Fact]
    public Task CallFromAnotherType_LockNotAccessible_MessageSaysItCannotBeTakenThere()
    {
        var test = Verify<LockAnnotationAnalyzer>.Test("using My.Annotations;\n" + """
            class Account
            {
                protected readonly object _gate = new();
                [RequiresLock(nameof(_gate))] internal void Drain() { }
            }
            class Bank
            {
                public void Move(Account a)
                {
                    {|#0:a.Drain()|};
                }
            }
            """ + Attributes);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA6101", 0).WithMessage("'Drain' is [RequiresLock(\"_gate\")], but it is called here without holding 'a._gate', which cannot be taken here: '_gate' is protected in 'Account' (call 'Drain' from a member of 'Account' that takes the lock)"));
        return test.RunAsync();
    }

    private const string StoreWithASemaphore = """
        using System.Threading;
        using System.Threading.Tasks;
        class Store
        {
            private readonly SemaphoreSlim _io = new(1, 1);
            MEMBERS
            [RequiresLock(nameof(_io))] private void Write() { }
            [RequiresLock(nameof(_io))] private int Measure() => 0;
        }
        """;

    /// <summary>After the binary semaphore held across await is released, and from a property accessor that does not take it.</summary>
    [Fact]
    public Task CallAfterTheSemaphoreIsReleasedAndFromAPropertyAccessorWithoutIt() => Check(StoreWithASemaphore.Replace("MEMBERS", """
            public async Task SaveAsync() { await _io.WaitAsync(); try { await Task.Yield(); } finally { _io.Release(); } {|MSA6101:Write()|}; }
            public int Size => {|MSA6101:Measure()|};
            """));

    // ------------------------------------------------------------------ MSA6101 not reported

    [Fact]
    public Task CallUnderTheLock_NoDiagnostic() => Check("""
        class Counter
        {
            private readonly object _gate = new();
            public void Add() { lock (_gate) { Bump(); } }
            [RequiresLock(nameof(_gate))] private void Bump() { }
        }
        """);

    [Fact]
    public Task CallFromAnotherRequiresLockMethod_NoDiagnostic() => Check("""
        class Counter
        {
            private readonly object _gate = new();
            [RequiresLock(nameof(_gate))] private void Outer() { Bump(); }
            [RequiresLock(nameof(_gate))] private void Bump() { }
        }
        """);

    [Fact]
    public Task CallFromTheConstructor_NoDiagnostic() => Check("""
        class Counter
        {
            private readonly object _gate = new();
            public Counter() { Bump(); }
            [RequiresLock(nameof(_gate))] private void Bump() { }
        }
        """);

    [Fact]
    public Task CallUnderTheWriteLockAndUnderSystemThreadingLock_NoDiagnostic() => CheckWithLock("""
        using System.Threading;
        class Counter
        {
            private readonly ReaderWriterLockSlim _rw = new();
            private readonly Lock _lock = new();
            public void Add() { _rw.EnterWriteLock(); try { Bump(); } finally { _rw.ExitWriteLock(); } }
            public void Other() { lock (_lock) { Tick(); } }
            [RequiresLock(nameof(_rw))] private void Bump() { }
            [RequiresLock(nameof(_lock))] private void Tick() { }
        }
        """);

    [Fact]
    public Task CallFromAThreadConfinedMember_NoDiagnostic() => Check("""
        class Counter
        {
            private readonly object _gate = new();
            [ThreadConfined] public void OnUiThread() { Bump(); }
            [RequiresLock(nameof(_gate))] private void Bump() { }
        }
        """);

    [Fact]
    public Task CallWithAnInvalidGuard_NoDiagnostic() => Check("""
        class Counter
        {
            internal readonly object _gate = new();
            public void Add() { Broken(); }
            [RequiresLock({|MSA6102:"_missing"|})] private void Broken() { }
        }
        """);

    [Fact]
    public Task CallOnAnotherInstance_UnderItsLock_NoDiagnostic() => Check("""
        using System.Threading;
        class Account
        {
            private readonly object _gate = new();
            public void Merge(Account other) { lock (other._gate) { other.Drain(); } }
            public void MergeEntered(Account other)
            {
                Monitor.Enter(other._gate);
                try { other.Drain(); } finally { Monitor.Exit(other._gate); }
            }
            public void Both(Account other) { lock (_gate) { lock (other._gate) { Drain(); other.Drain(); } } }
            [RequiresLock(nameof(_gate))] private void Drain() { }
        }
        """);

    [Fact]
    public Task CallOnAnotherInstance_GuardedByThisOrAStaticLock_NoDiagnostic() => Check("""
        class Node
        {
            private static readonly object s_gate = new();
            public void Link(Node next) { lock (next) { next.Touch(); } }
            public void Count(Node next) { lock (s_gate) { next.Tally(); } }
            [RequiresLock("this")] private void Touch() { }
            [RequiresLock(nameof(s_gate))] private void Tally() { }
        }
        """);

    /// <summary>Under the binary semaphore held across await, and in a property accessor that takes it.</summary>
    [Fact]
    public Task CallUnderASemaphoreAcrossAwaitAndInAPropertyAccessorThatTakesIt_NoDiagnostic() => Check(StoreWithASemaphore.Replace("MEMBERS", """
            public async Task SaveAsync() { await _io.WaitAsync(); try { await Task.Yield(); Write(); } finally { _io.Release(); } }
            public int Size { get { _io.Wait(); try { return Measure(); } finally { _io.Release(); } } }
            """));

    /// <summary>A field of this object names its object as a local does: lock (_next._gate) holds what _next.Drain() needs,
    /// through the lock statement, Monitor and a static field alike.</summary>
    [Fact]
    public Task CallOnAFieldUnderItsLock_NoDiagnostic() => Check("""
        using System.Threading;
        class Node
        {
            private static readonly Node s_root = new();
            private readonly object _gate = new();
            private readonly Node _next;
            public Node() { _next = this; }
            public void Link() { lock (_next._gate) { _next.Drain(); } }
            public void LinkEntered()
            {
                Monitor.Enter(this._next._gate);
                try { _next.Drain(); } finally { Monitor.Exit(_next._gate); }
            }
            public static void Root() { lock (s_root._gate) { s_root.Drain(); } }
            [RequiresLock(nameof(_gate))] private void Drain() { }
        }
        """);

    /// <summary>A call's or property's result under a lock the analysis cannot name (lock (Next._gate)): that lock may be
    /// the object's, so the call is not reported.</summary>
    [Fact]
    public Task CallOnACallResultUnderAnUnnamedLock_NoDiagnostic() => Check("""
        class Node
        {
            private readonly object _gate = new();
            private Node Next => this;
            private Node Find(int key) => this;
            public void Link() { lock (Next._gate) { Next.Drain(); } }
            public void Pick(int key) { lock (Find(key)._gate) { Find(key).Drain(); } }
            [RequiresLock(nameof(_gate))] private void Drain() { }
        }
        """);

    /// <summary>Calls from another type (a class of the assembly, a nested type, a derived class) under the lock of the
    /// instance they are on; a static lock of the other type; [RequiresLock("this")] taken with lock (account).</summary>
    [Fact]
    public Task CallFromAnotherTypeUnderTheLock_NoDiagnostic() => Check(AccountForOtherTypes.Replace("LEDGER", "lock (_account.Gate) { _account.Drain(); }") + """
        class Savings : Account
        {
            public void Close() { lock (_own) { Settle(); } }
        }
        class Bank
        {
            private readonly Account _main = new();
            public void Move(Account a)
            {
                lock (a.Gate) { a.Drain(); }
                lock (_main.Gate) { _main.Drain(); }
                lock (Account.s_all) { Account.Audit(); }
                lock (a) { a.Touch(); }
            }
        }
        """);

    /// <summary>Constructors and [ThreadConfined] members of the calling type are exempt, as in the annotated type.</summary>
    [Fact]
    public Task CallFromAnotherTypesConstructorOrThreadConfinedMember_NoDiagnostic() => Check("""
        class Account
        {
            internal readonly object Gate = new();
            [RequiresLock(nameof(Gate))] internal void Drain() { }
        }
        class Bank
        {
            public Bank(Account a) { a.Drain(); }
            [ThreadConfined] public void Close(Account a) { a.Drain(); }
        }
        """);

    // ------------------------------------------------------------------ fix (MSA6001's rewrite: lock (guard) around the statement)

    private static Task CheckFix(string source, string fixedSource)
        => Verify<LockAnnotationAnalyzer, LockAnnotationFix>.CodeFixAsync("using My.Annotations;\n" + source + Attributes, "using My.Annotations;\n" + fixedSource + Attributes);

    private static Task CheckNoFix(string source)
        => Verify<LockAnnotationAnalyzer, LockAnnotationFix>.NoFixAsync("using My.Annotations;\n" + source + Attributes);

    private const string CounterBefore = """
        class Counter
        {
            private readonly object _gate = new();
            private static readonly object s_gate = new();
            [GuardedBy(nameof(_gate))] private int _count;
            [GuardedBy(nameof(s_gate))] private static int s_total;
            public void Add() { lock (_gate) { _count++; Flush(); } }
            [RequiresLock(nameof(_gate))] private void Flush() { lock (s_gate) { s_total += _count; } }
            public void Reset()
            {
                {|MSA6100:_count|} = 0;
                {|MSA6101:Flush()|};
            }
            public int Peek() => {|MSA6100:_count|};
            public static int Total => {|MSA6100:s_total|};
        }
        """;

    private const string CounterAfter = """
        class Counter
        {
            private readonly object _gate = new();
            private static readonly object s_gate = new();
            [GuardedBy(nameof(_gate))] private int _count;
            [GuardedBy(nameof(s_gate))] private static int s_total;
            public void Add() { lock (_gate) { _count++; Flush(); } }
            [RequiresLock(nameof(_gate))] private void Flush() { lock (s_gate) { s_total += _count; } }
            public void Reset()
            {
                lock (_gate)
                {
                    _count = 0;
                }
                lock (_gate)
                {
                    Flush();
                }
            }
            public int Peek()
            {
                lock (_gate)
                {
                    return _count;
                }
            }

            public static int Total
            {
                get
                {
                    lock (s_gate)
                    {
                        return s_total;
                    }
                }
            }
        }
        """;

    /// <summary>Each fix, and Fix All, takes the declared lock around the statement; expression bodies become blocks.</summary>
    [Fact]
    public Task Fix_WrapsTheAccessTheCallAndExpressionBodies() => CheckFix(CounterBefore, CounterAfter);

    /// <summary>A call on another instance takes that instance's lock; no fix where the statement names the receiver
    /// again (it might assign it) or the guard is 'this' (the fix writes a field's lock).</summary>
    [Fact]
    public Task Fix_CallOnAnotherInstance_TakesItsLock() => CheckFix("""
        class Account
        {
            private readonly object _gate = new();
            public void Merge(Account other)
            {
                {|MSA6101:other.Drain()|};
            }
            [RequiresLock(nameof(_gate))] private void Drain() { }
        }
        """, """
        class Account
        {
            private readonly object _gate = new();
            public void Merge(Account other)
            {
                lock (other._gate)
                {
                    other.Drain();
                }
            }
            [RequiresLock(nameof(_gate))] private void Drain() { }
        }
        """);

    [Fact]
    public Task NoFix_CallOnAnotherInstance_ReceiverNamedAgainOrGuardedByThis() => CheckNoFix("""
        class Account
        {
            private readonly object _gate = new();
            public int Merge(Account other, Account next) => Use(other = next, {|MSA6101:other.Drain()|});
            public void Link(Account next) { {|MSA6101:next.Touch()|}; }
            private static int Use(Account a, int b) => b;
            [RequiresLock(nameof(_gate))] private int Drain() => 0;
            [RequiresLock("this")] private void Touch() { }
        }
        """);

    /// <summary>A call on a readonly field of this object takes that object's lock; a call from another type takes the lock
    /// of the instance it is on, or the other type's static lock, qualified.</summary>
    [Fact]
    public Task Fix_CallOnAFieldAndFromAnotherType_TakesThatInstancesLock() => CheckFix("""
        class Account
        {
            internal readonly object Gate = new();
            internal static readonly object s_all = new();
            private readonly Account _next;
            public Account(Account next) { _next = next; }
            public void Link()
            {
                {|MSA6101:_next.Drain()|};
            }
            [RequiresLock(nameof(Gate))] internal void Drain() { }
            [RequiresLock(nameof(s_all))] internal static void Audit() { }
        }
        class Bank
        {
            public void Move(Account a)
            {
                {|MSA6101:a.Drain()|};
                {|MSA6101:Account.Audit()|};
            }
        }
        """, """
        class Account
        {
            internal readonly object Gate = new();
            internal static readonly object s_all = new();
            private readonly Account _next;
            public Account(Account next) { _next = next; }
            public void Link()
            {
                lock (_next.Gate)
                {
                    _next.Drain();
                }
            }
            [RequiresLock(nameof(Gate))] internal void Drain() { }
            [RequiresLock(nameof(s_all))] internal static void Audit() { }
        }
        class Bank
        {
            public void Move(Account a)
            {
                lock (a.Gate)
                {
                    a.Drain();
                }
                lock (Account.s_all)
                {
                    Account.Audit();
                }
            }
        }
        """);

    /// <summary>No fix on a call's result (each evaluation may return another object), on a field that can be replaced
    /// between the lock and the call, or where the caller cannot take the lock.</summary>
    [Fact]
    public Task NoFix_CallResultReassignableFieldOrInaccessibleLock() => CheckNoFix("""
        class Account
        {
            internal readonly object Gate = new();
            protected readonly object _own = new();
            private Account _next = new();
            public void Link()
            {
                {|MSA6101:Self().Drain()|};
                {|MSA6101:_next.Drain()|};
            }
            public void Replace(Account next) { _next = next; }
            private Account Self() => this;
            [RequiresLock(nameof(Gate))] internal void Drain() { }
            [RequiresLock(nameof(_own))] internal void Settle() { }
        }
        class Bank
        {
            public void Move(Account a)
            {
                {|MSA6101:a.Settle()|};
            }
        }
        """);

    [Fact]
    public Task NoFix_AwaitLocalDeclarationReadLockAndSemaphore() => CheckNoFix("""
        using System.Threading;
        using System.Threading.Tasks;
        class Store
        {
            private readonly object _gate = new();
            private readonly ReaderWriterLockSlim _rw = new();
            private readonly SemaphoreSlim _io = new(1, 1);
            [GuardedBy(nameof(_gate))] private int _count;
            [GuardedBy(nameof(_rw))] private int _size;
            [GuardedBy(nameof(_io))] private int _written;
            public async Task SaveAsync() { {|MSA6100:_count|} += await Task.FromResult(1); }
            public int Twice() { var n = {|MSA6100:_count|}; return n * 2; }
            public void Grow() { _rw.EnterReadLock(); try { {|MSA6100:_size|} = 2; } finally { _rw.ExitReadLock(); } }
            public void Write() { {|MSA6100:_written|}++; }
        }
        """);

    /// <summary>The fixed code does what the original did on one thread (.NET 10); that the lock removes lost updates
    /// under contention is MSA6001's race test (the same rewrite, Fix_RemovesLostUpdates_AndKeepsSingleThreadedResults).</summary>
    [Fact]
    public void Fix_KeepsSingleThreadedResults()
    {
        const string Program = """

            static class Program
            {
                public static string Run()
                {
                    var c = new Counter();
                    c.Add(); c.Add(); var peek = c.Peek(); c.Reset(); c.Add();
                    return peek + ";" + c.Peek() + ";" + Counter.Total;
                }
            }
            namespace My.Annotations
            {
                sealed class GuardedByAttribute : System.Attribute { public GuardedByAttribute(string name) { } }
                sealed class RequiresLockAttribute : System.Attribute { public RequiresLockAttribute(string name) { } }
            }
            """;
        var before = CounterBefore.Replace("{|MSA6100:", "").Replace("{|MSA6101:", "").Replace("|}", "");
        Assert.Equal("2;1;4", Behaviour.Run("using My.Annotations;\n" + before + Program));
        Assert.Equal("2;1;4", Behaviour.Run("using My.Annotations;\n" + CounterAfter + Program));
    }

    // ------------------------------------------------------------------ MSA6102 reported

    [Fact]
    public Task GuardNamesNoField_MessageSaysWhy()
    {
        var test = Verify<LockAnnotationAnalyzer>.Test("using My.Annotations;\n" + """
            class Counter
            {
                [GuardedBy({|#0:"_gate"|})] private int _count;
                public void Add() { _count++; }
            }
            """ + Attributes);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA6102", 0).WithMessage("[GuardedBy(\"_gate\")] on '_count' does not name a usable lock: 'Counter' has no field named '_gate'"));
        return test.RunAsync();
    }

    [Fact]
    public Task GuardedPropertyMoreVisibleThanItsLock() => Check("""
        class Counter
        {
            private readonly object _gate = new();
            [GuardedBy({|MSA6102:nameof(_gate)|})] public int Count { get; set; }
        }
        """);

    [Fact]
    public Task GuardNotReadonly() => Check("""
        class Counter
        {
            private object _gate = new();
            [GuardedBy({|MSA6102:nameof(_gate)|})] private int _count;
        }
        """);

    [Fact]
    public Task GuardIsAValueType() => Check("""
        class Counter
        {
            private readonly int _gate;
            [GuardedBy({|MSA6102:nameof(_gate)|})] private int _count;
        }
        """);

    [Fact]
    public Task StaticFieldGuardedByAnInstanceLock() => Check("""
        class Counter
        {
            private readonly object _gate = new();
            [GuardedBy({|MSA6102:nameof(_gate)|})] private static int s_count;
        }
        """);

    [Fact]
    public Task GuardedMemberMoreVisibleThanItsLock() => Check("""
        public class Counter
        {
            private readonly object _gate = new();
            [GuardedBy({|MSA6102:nameof(_gate)|})] public int Count;
            [RequiresLock({|MSA6102:nameof(_gate)|})] public void Bump() { }
        }
        """);

    [Fact]
    public Task StaticMemberGuardedByThis() => Check("""
        class Counter
        {
            [GuardedBy({|MSA6102:"this"|})] private static int s_count;
        }
        """);

    /// <summary>Issue 12 matrix: a nested type's field guarded by the outer type's lock: the guard must be a field of
    /// the guarded member's own type (each Inner has no lock of its own to take).</summary>
    [Fact]
    public Task NestedTypeGuardedByTheOuterTypesLock_Reported()
    {
        var test = Verify<LockAnnotationAnalyzer>.Test("using My.Annotations;\n" + """
            class Outer
            {
                private readonly object _gate = new();
                class Inner
                {
                    [GuardedBy({|#0:nameof(_gate)|})] private int _count;
                }
            }
            """ + Attributes);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA6102", 0).WithMessage("[GuardedBy(\"_gate\")] on '_count' does not name a usable lock: 'Inner' has no field named '_gate'"));
        return test.RunAsync();
    }

    // ------------------------------------------------------------------ MSA6102 not reported

    [Fact]
    public Task ReadonlyObjectAndLockAndRwls_NoDiagnostic() => CheckWithLock("""
        using System.Threading;
        class Counter
        {
            private readonly object _a = new();
            private readonly Lock _b = new();
            private readonly ReaderWriterLockSlim _c = new();
            [GuardedBy(nameof(_a))] private int _x;
            [GuardedBy(nameof(_b))] private int _y;
            [GuardedBy(nameof(_c))] private int _z;
        }
        """);

    [Fact]
    public Task SpinLockNotReadonly_NoDiagnostic() => Check("""
        using System.Threading;
        class Counter
        {
            private SpinLock _spin = new(false);
            [GuardedBy(nameof(_spin))] private int _x;
        }
        """);

    [Fact]
    public Task ThisForAnInstanceField_NoDiagnostic() => Check("""
        class Counter
        {
            [GuardedBy("this")] private int _x;
        }
        """);

    [Fact]
    public Task StaticLockGuardsInstanceAndStaticFields_NoDiagnostic() => Check("""
        class Counter
        {
            private static readonly object s_gate = new();
            [GuardedBy(nameof(s_gate))] private int _x;
            [GuardedBy(nameof(s_gate))] private static int s_y;
        }
        """);

    [Fact]
    public Task LockAsVisibleAsTheMember_NoDiagnostic() => Check("""
        public class Counter
        {
            internal readonly object Gate = new();
            [GuardedBy(nameof(Gate))] internal int Count;
            [RequiresLock(nameof(Gate))] internal void Bump() { }
        }
        """);

    [Fact]
    public Task UnrelatedAttributeWithTheSameArgument_NoDiagnostic() => Check("""
        [System.AttributeUsage(System.AttributeTargets.Field)] sealed class NoteAttribute : System.Attribute { public NoteAttribute(string s) { } }
        class Counter
        {
            [Note("_missing")] private int _x;
            public void Add() { _x++; }
        }
        """);

    // ------------------------------------------------------------------ test matrix (issue 12): partial classes across files

    /// <summary>The guard declared in one file of a partial class, the accesses and calls in another: the type's annotations
    /// hold in all its parts (MSA6100, MSA6101), and a guard naming a field of another part is valid (MSA6102).</summary>
    [Fact]
    public Task PartialClassAcrossFiles_AccessAndCallWithoutTheLockInTheOtherFile()
    {
        var test = Verify<LockAnnotationAnalyzer>.Test("using My.Annotations;\n" + """
            partial class Counter
            {
                private readonly object _gate = new();
                [GuardedBy(nameof(_gate))] private int _count;
                [RequiresLock(nameof(_gate))] private void Flush() { _count = 0; }
            }
            """ + Attributes);
        test.Sources.Add("""
            partial class Counter
            {
                public void Add() { lock (_gate) { _count++; Flush(); } }
                public void Reset() { {|MSA6100:_count|} = 0; {|MSA6101:Flush()|}; }
                [My.Annotations.GuardedBy({|MSA6102:"_missing"|})] private int _other;
            }
            """);
        return test.RunAsync();
    }

    [Fact]
    public Task PartialClassAcrossFiles_EverythingUnderTheLock_NoDiagnostic()
    {
        var test = Verify<LockAnnotationAnalyzer>.Test("using My.Annotations;\n" + """
            partial class Counter
            {
                [GuardedBy(nameof(_gate))] private int _count;
                [RequiresLock(nameof(_gate))] private void Flush() { _count = 0; }
            }
            """ + Attributes);
        test.Sources.Add("""
            partial class Counter
            {
                private readonly object _gate = new();
                public void Add() { lock (_gate) { _count++; Flush(); } }
                public int Peek() { lock (_gate) { return _count; } }
            }
            """);
        return test.RunAsync();
    }
}
