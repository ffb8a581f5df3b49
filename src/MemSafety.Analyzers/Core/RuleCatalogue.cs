using System.Collections.Immutable;
using Microsoft.CodeAnalysis;

namespace MemSafety.Analyzers.Core;

/// <summary>Rule ids. Ids are grouped by family: MSA1xxx heap escapes, MSA2xxx boxing, MSA3xxx closures,
/// MSA4xxx finalizers and disposal, MSA5xxx unsafe pointers, MSA6xxx shared state.</summary>
public static class RuleIdentifiers
{
    public const string EscapeReport = "MSA1000";
    public const string StackallocCandidate = "MSA1001";
    public const string ScratchBuffer = "MSA1002";
    public const string LargeTemporaryArray = "MSA1003";
    public const string SubstringAsSpan = "MSA1004";
    public const string ConstantArrayRebuiltPerCall = "MSA1005";
    public const string StringConcatInLoop = "MSA1006";
    public const string MaterializedOnce = "MSA1007";
    public const string ZeroLengthArrayAllocation = "MSA1008";
    public const string LoopInvariantAllocation = "MSA1009";
    public const string ValueTypeBoxing = "MSA2001";
    public const string CompositeFormatting = "MSA2002";
    public const string StructDefaultEquality = "MSA2003";
    public const string StructMissingOverride = "MSA2004";
    public const string ObjectEqualsOfValues = "MSA2005";
    public const string InterfaceEnumeration = "MSA2006";
    public const string TargetDependentEnumBoxing = "MSA2007";
    public const string StatePassingOverload = "MSA3001";
    public const string CapturingDelegateInLoop = "MSA3002";
    public const string DisplayClassOnUnusedPaths = "MSA3003";
    public const string UncachedDelegate = "MSA3004";
    public const string CapturingLocalFunctionAsDelegate = "MSA3005";
    public const string ImplicitCaptureKeepsAlive = "MSA3006";
    public const string EmptyFinalizer = "MSA4001";
    public const string MissingSuppressFinalize = "MSA4002";
    public const string FinalizerTouchesManagedObject = "MSA4003";
    public const string RawHandleField = "MSA4004";
    public const string ManagedStateFinalizer = "MSA4005";
    public const string UndisposedLocal = "MSA4006";
    public const string UndisposedOwnedField = "MSA4007";
    public const string DisposableDroppedInLoop = "MSA4008";
    public const string FinalizerResurrection = "MSA4009";
    public const string PinnedPointerEscape = "MSA5001";
    public const string StackAddressEscape = "MSA5002";
    public const string UnpinnedManagedAddress = "MSA5003";
    public const string ReleasedPinAddress = "MSA5004";
    public const string StackViewEscape = "MSA5005";
    public const string UnsafeContextHidesRefSafetyError = "MSA5006";
    public const string GCHandleLifetime = "MSA5007";
    public const string MismatchedNativeFree = "MSA5008";
    public const string SafeHandleEscapeHatch = "MSA5009";
    public const string InconsistentlyGuardedField = "MSA6001";
    public const string NonAtomicUpdate = "MSA6002";
    public const string MixedAtomicAccess = "MSA6003";
    public const string ExposedLockTarget = "MSA6004";
    public const string LockWithoutFinally = "MSA6005";
    public const string CheckThenActOnConcurrentCollection = "MSA6006";
    public const string StaticCollectionMutation = "MSA6007";
    public const string NonVolatileFlagPoll = "MSA6008";
    public const string GuardedCollectionEscape = "MSA6009";
    public const string GuardedFieldWithoutLock = "MSA6100";
    public const string CallWithoutRequiredLock = "MSA6101";
    public const string InvalidLockGuard = "MSA6102";
}

/// <summary>Diagnostic categories, one per rule family (the category is what
/// <c>dotnet_analyzer_diagnostic.category-…</c> keys in .editorconfig select).</summary>
public static class RuleCategories
{
    public const string HeapEscapes = "MemSafety.HeapEscapes";
    public const string Boxing = "MemSafety.Boxing";
    public const string Closures = "MemSafety.Closures";
    public const string Finalizers = "MemSafety.Finalizers";
    public const string UnsafePointers = "MemSafety.UnsafePointers";
    public const string SharedState = "MemSafety.SharedState";
}

/// <summary>Every descriptor the package reports. A test keeps this list, the docs pages, the README
/// table, the presets and the release-tracking files in agreement.</summary>
public static class RuleCatalogue
{
    /// <summary>Where the project lives; mirrored from MemSafetyRepositoryUrl in Directory.Build.props.</summary>
    public const string RepositoryUrl = "https://github.com/memsafety/MemSafety.Analyzers";

    public static string HelpLink(string id) => RepositoryUrl + "/blob/main/docs/rules/" + id + ".md";

    public static readonly DiagnosticDescriptor EscapeReport = new(
        RuleIdentifiers.EscapeReport,
        title: "Escape report: where each allocation in a hot path goes",
        messageFormat: "'{0}' {1}",
        RuleCategories.HeapEscapes,
        DiagnosticSeverity.Info,
        isEnabledByDefault: false,
        description: "The escape engine's verdict on each heap allocation in hot code, like 'go build -gcflags=-m': " +
                     "whether it escapes the method and why (returned, stored into a field, captured, passed to code that keeps it, " +
                     "with the locals it went through on the way), " +
                     "or that it never escapes and could be avoided. Off by default; turn it on with a severity.",
        helpLinkUri: HelpLink(RuleIdentifiers.EscapeReport));

    public static readonly DiagnosticDescriptor StackallocCandidate = new(
        RuleIdentifiers.StackallocCandidate,
        title: "Allocate a small array that never escapes on the stack",
        messageFormat: "Array '{0}' ({1} × {2}, {3} bytes) never escapes '{4}' and every use works on a span; stackalloc it instead of allocating on the heap",
        RuleCategories.HeapEscapes,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "A small array of unmanaged values that is created, used and dropped within one method costs a heap allocation and " +
                     "later GC work on every call. When the escape analysis proves it never leaves the method (not returned, stored, " +
                     "captured, passed to code that may keep it, or live across await/yield) and every use has a span equivalent, " +
                     "'Span<T> x = stackalloc T[N]' gives the same behaviour with no allocation.",
        helpLinkUri: HelpLink(RuleIdentifiers.StackallocCandidate));

    public static readonly DiagnosticDescriptor ScratchBuffer = new(
        RuleIdentifiers.ScratchBuffer,
        title: "Use stackalloc or ArrayPool for a variable-size scratch buffer",
        messageFormat: "Array '{0}' of '{1}' × {2} is scratch space that never escapes '{3}'; stackalloc it when small and rent it from ArrayPool<{2}>.Shared otherwise",
        RuleCategories.HeapEscapes,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "A buffer whose size is only known at run time, used within one method and then dropped, costs a heap allocation " +
                     "per call. The standard pattern uses a stack buffer below a size threshold and a pooled array above it, returned in a finally block.",
        helpLinkUri: HelpLink(RuleIdentifiers.ScratchBuffer));

    public static readonly DiagnosticDescriptor LargeTemporaryArray = new(
        RuleIdentifiers.LargeTemporaryArray,
        title: "Rent a large temporary array from ArrayPool",
        messageFormat: "Array '{0}' ({1} × {2}, {3} bytes) lands on the Large Object Heap on every call to '{4}' and never escapes; rent it from ArrayPool<{2}>.Shared and return it when done",
        RuleCategories.HeapEscapes,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "Objects of 85,000 bytes or more are allocated on the Large Object Heap, which is only collected with generation 2 " +
                     "and is not compacted by default. A large array allocated per call and then dropped drives full collections and fragmentation; " +
                     "a pooled array is allocated once.",
        helpLinkUri: HelpLink(RuleIdentifiers.LargeTemporaryArray));

    public static readonly DiagnosticDescriptor SubstringAsSpan = new(
        RuleIdentifiers.SubstringAsSpan,
        title: "Read a span of the string instead of a substring copy",
        messageFormat: "{0} copies {1} into a new {2} that is only {3}; {4} a span of {5} instead",
        RuleCategories.HeapEscapes,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "Substring, Remove, Trim, TrimStart, TrimEnd, ToCharArray and range indexers allocate a new string (or array) and " +
                     "copy characters into it. When the copy is only parsed, compared, searched, appended or written, by APIs that have a " +
                     "ReadOnlySpan<char> form with the same meaning, a span over the original string gives the same result without the " +
                     "allocation. While the SDK's CA1846 is on, a Substring passed directly to a method that has a span overload is left to it.",
        helpLinkUri: HelpLink(RuleIdentifiers.SubstringAsSpan));

    public static readonly DiagnosticDescriptor LoopInvariantAllocation = new(
        RuleIdentifiers.LoopInvariantAllocation,
        title: "Hoist a loop-invariant allocation out of the loop",
        messageFormat: "'{0}' allocates a new {1} on every iteration of this loop, and it never outlives the iteration; create it once before the loop and {2} it each time",
        RuleCategories.HeapEscapes,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "An array or collection whose size does not change between iterations, created in a loop body and dropped at the end of " +
                     "the iteration, is allocated once per iteration. Creating it once before the loop and resetting it each iteration keeps the behaviour " +
                     "and leaves one allocation.",
        helpLinkUri: HelpLink(RuleIdentifiers.LoopInvariantAllocation));
    public static readonly DiagnosticDescriptor ConstantArrayRebuiltPerCall = new(
        RuleIdentifiers.ConstantArrayRebuiltPerCall,
        title: "Hoist the constant array out of the method",
        messageFormat: "Array of {0} is rebuilt on every call {1}; it is never modified, so one static readonly instance can serve every call",
        RuleCategories.HeapEscapes,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "An array creation with an initializer allocates a new array and copies the initial values into it each time " +
                     "it runs. When every element is a compile-time constant and the array is provably neither modified nor kept " +
                     "beyond the call, one array created once (a static readonly field) behaves the same and costs nothing per call. " +
                     "While the SDK's CA1861 is on, the arrays it reports are left to it (its fix can break code that modifies the array).",
        helpLinkUri: HelpLink(RuleIdentifiers.ConstantArrayRebuiltPerCall));

    public static readonly DiagnosticDescriptor ZeroLengthArrayAllocation = new(
        RuleIdentifiers.ZeroLengthArrayAllocation,
        title: "Use Array.Empty instead of allocating an empty array",
        messageFormat: "'{0}' allocates a new empty array {2}; Array.Empty<{1}>() returns one shared instance",
        RuleCategories.HeapEscapes,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "A zero-length array holds nothing and cannot be modified, yet 'new T[0]' allocates a fresh object (an array " +
                     "header on the heap) every time it runs. Array.Empty<T>() returns one cached instance per element type. " +
                     "The rule stays silent where the identity of the array can matter (locks, reference comparisons). " +
                     "While the SDK's CA1825 is on, which reports every such array, they are left to it.",
        helpLinkUri: HelpLink(RuleIdentifiers.ZeroLengthArrayAllocation));

    public static readonly DiagnosticDescriptor ValueTypeBoxing = new(
        RuleIdentifiers.ValueTypeBoxing,
        title: "Do not box value types on hot paths",
        messageFormat: "{0} {1}: {2}",
        RuleCategories.Boxing,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "Converting a value type to object, System.ValueType, System.Enum or an interface copies it into a new heap " +
                     "object (a box) every time the conversion runs, and so does turning a struct's instance method into a delegate. " +
                     "A call to a params object[] method allocates the array and boxes its value-type elements before the callee runs; " +
                     "it is reported once, naming every boxed argument. " +
                     "Reported in hot paths by default (loops too with memsafety.scope = hot_paths_and_loops), and only where the box is real: string concatenation, " +
                     "type and null tests, (T)(object)x, GetType() and Enum.HasFlag are left alone (the compiler or the JIT removes those boxes), " +
                     "as are type parameters, [Conditional] calls such as Debug.Assert, error paths (throw, catch, building an exception) " +
                     "and static initialization.",
        helpLinkUri: HelpLink(RuleIdentifiers.ValueTypeBoxing));

    public static readonly DiagnosticDescriptor CompositeFormatting = new(
        RuleIdentifiers.CompositeFormatting,
        title: "Use an interpolated string instead of composite formatting of value types",
        messageFormat: "'{0}' ({1}) is boxed to 'object' {3}: '{2}' takes object arguments; an interpolated string formats it without boxing",
        RuleCategories.Boxing,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "string.Format, Console.Write/WriteLine, TextWriter.Write/WriteLine, StringBuilder.AppendFormat and string.Concat(object, ...) " +
                     "take their values as object, so every value-type argument is boxed (and more than three also allocate an object array). " +
                     "Where System.Runtime.CompilerServices.DefaultInterpolatedStringHandler exists (.NET 6 and later), an interpolated string " +
                     "formats the same values through a generic method with no box, with the same format specifiers, alignment and culture.",
        helpLinkUri: HelpLink(RuleIdentifiers.CompositeFormatting));

    public static readonly DiagnosticDescriptor StructDefaultEquality = new(
        RuleIdentifiers.StructDefaultEquality,
        title: "Implement IEquatable<T> on a struct that is hashed or compared by the default comparer",
        messageFormat: "'{0}' {1}: {2} boxes {3} on every {4}{5}",
        RuleCategories.Boxing,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "Dictionary, HashSet, ConcurrentDictionary, List<T>.Contains/IndexOf/Remove, Array.IndexOf and the LINQ set and grouping " +
                     "operators compare through EqualityComparer<T>.Default. For a struct that does not implement IEquatable<T> of itself that is " +
                     "ObjectEqualityComparer<T>, which boxes the values to call Equals(object) and GetHashCode(); without overrides these run " +
                     "ValueType.Equals, which may compare the fields through reflection. The boxes happen inside the comparer, on every lookup " +
                     "(only on hits when the struct overrides GetHashCode), so they never show in the caller's IL. Implementing IEquatable<T> " +
                     "(with Equals(object) and GetHashCode overrides) removes them; for a struct of another assembly, such as KeyValuePair, pass " +
                     "a comparer or search with a predicate. " +
                     "A struct with IEquatable<T> but no GetHashCode override still boxes once per hash in hashing collections and grouping operators.",
        helpLinkUri: HelpLink(RuleIdentifiers.StructDefaultEquality));

    public static readonly DiagnosticDescriptor ObjectEqualsOfValues = new(
        RuleIdentifiers.ObjectEqualsOfValues,
        title: "Do not compare two values with object.Equals",
        messageFormat: "'object.Equals' boxes both '{0}' operands on every call; {1}",
        RuleCategories.Boxing,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "The static object.Equals(object, object) takes its operands as object, so two values of a value type are boxed " +
                     "(two heap allocations) before the virtual Equals(object) compares them. Comparing them as their own type does the same work without allocating.",
        helpLinkUri: HelpLink(RuleIdentifiers.ObjectEqualsOfValues));

    public static readonly DiagnosticDescriptor InterfaceEnumeration = new(
        RuleIdentifiers.InterfaceEnumeration,
        title: "Declare the concrete collection type of a variable that foreach enumerates",
        messageFormat: "'{0}' is declared '{1}' but is only ever assigned '{2}': this foreach {3} (one allocation per loop over a non-empty collection) and calls MoveNext/Current through the interface; declare it as '{2}'",
        RuleCategories.Boxing,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "foreach over an expression typed as an interface calls IEnumerable<T>.GetEnumerator. The base library's collections " +
                     "(List<T>, HashSet<T>, Dictionary<TKey, TValue>, Queue<T>, Stack<T>, ...) implement it by returning their struct " +
                     "enumerator boxed, a heap allocation per loop, and arrays return a heap enumerator object; MoveNext and Current are " +
                     "then interface calls. When a local or private field only ever holds one such type, declaring it as that type lets " +
                     "foreach use the struct enumerator directly (or index an array), with no allocation.",
        helpLinkUri: HelpLink(RuleIdentifiers.InterfaceEnumeration));

    public static readonly DiagnosticDescriptor CapturingDelegateInLoop = new(
        RuleIdentifiers.CapturingDelegateInLoop,
        title: "Do not create a capturing lambda anew on every iteration of a loop",
        messageFormat: "Lambda capturing {0} allocates {1} on every iteration of this '{2}' loop; {3}",
        RuleCategories.Closures,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "A lambda that captures locals or parameters runs as a method of a compiler-generated display class, allocated at the start " +
                     "of the scope that declares them, and each evaluation of the lambda creates a delegate over it. The compiler caches that " +
                     "delegate in the display class when a scope lies between the lambda and its variables, so a loop alone does not make it " +
                     "repeat. Reported are the lambdas in a loop that really allocate per iteration: those whose captured variables live in the " +
                     "loop body (a new display class and delegate each iteration; reported when the delegate does not outlive the call that " +
                     "receives it, so a plain loop could do without), and those the compiler creates anew each time although their display " +
                     "class lives outside the loop (no scope in between); when nothing they capture changes in the loop, the fix creates " +
                     "the delegate once before it.",
        helpLinkUri: HelpLink(RuleIdentifiers.CapturingDelegateInLoop));

    public static readonly DiagnosticDescriptor UncachedDelegate = new(
        RuleIdentifiers.UncachedDelegate,
        title: "Cache the delegate of an instance method group or a lambda that captures only this",
        messageFormat: "{0} allocates a new '{1}' delegate {2}: {3}; {4}",
        RuleCategories.Closures,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "The compiler caches the delegate of a lambda that captures nothing (in a static field) and, since C# 11, of a static " +
                     "method group. It cannot cache a delegate bound to an object: converting an instance method group (M, this.M, other.M) " +
                     "or a lambda that uses only 'this' to a delegate allocates a new delegate each time it runs (before C# 11, a static " +
                     "method group too). In a loop or a hot path, cache the delegate in a field of the instance, or make the method static " +
                     "when it uses no instance state.",
        helpLinkUri: HelpLink(RuleIdentifiers.UncachedDelegate));

    public static readonly DiagnosticDescriptor EmptyFinalizer = new(
        RuleIdentifiers.EmptyFinalizer,
        title: "Remove the empty finalizer",
        messageFormat: "Finalizer of '{0}' {1}",
        RuleCategories.Finalizers,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "A type that declares a finalizer has every instance registered for finalization when it is allocated. " +
                     "The garbage collector cannot reclaim such an object in the collection that finds it dead: it moves it to the " +
                     "finalization queue, the finalizer thread runs the finalizer, and only a later collection frees the memory. " +
                     "A finalizer that does nothing pays all of that for nothing. While the SDK's CA1821 is on, which reports every such finalizer, they are left to it.",
        helpLinkUri: HelpLink(RuleIdentifiers.EmptyFinalizer));

    public static readonly DiagnosticDescriptor MissingSuppressFinalize = new(
        RuleIdentifiers.MissingSuppressFinalize,
        title: "Call GC.SuppressFinalize(this) when disposing an object that has a finalizer",
        messageFormat: "'{0}' does not call GC.SuppressFinalize(this){1}: '{2}' has a finalizer{3}, so every disposed instance is still queued for finalization, survives one more garbage collection and runs its finalizer",
        RuleCategories.Finalizers,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "An object whose type has a finalizer is registered for finalization when it is allocated. Dispose releases what the " +
                     "finalizer would; without GC.SuppressFinalize(this) the disposed object stays registered, so the collection that finds it " +
                     "dead cannot free it: it is queued for the finalizer thread, promoted a generation with everything it references, and its " +
                     "finalizer runs anyway. Reported only for types whose hierarchy has a finalizer that does work and whose Dispose reaches " +
                     "what that finalizer releases.",
        helpLinkUri: HelpLink(RuleIdentifiers.MissingSuppressFinalize));

    public static readonly DiagnosticDescriptor RawHandleField = new(
        RuleIdentifiers.RawHandleField,
        title: "Use a SafeHandle for a native handle that a finalizer releases",
        messageFormat: "Field '{0}' holds a native handle from '{1}' that the finalizer of '{2}' releases with '{3}'{4}: a SafeHandle releases it in a critical finalizer and keeps it open while a native call still uses it{5}",
        RuleCategories.Finalizers,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "An object that keeps a native handle in an IntPtr (or descriptor int) field and closes it in its own finalizer has " +
                     "three defects a SafeHandle does not: the finalizer may run while a native call that was given the raw handle is " +
                     "still running (the object is unreachable once its last field was read), so the handle is closed, and possibly reused " +
                     "by the operating system for another file, under that call; ordinary finalizers run in no order, and not at all in " +
                     "some shutdown and out-of-memory paths, where a SafeHandle's critical finalizer still runs; and the whole object, with " +
                     "everything it references, is finalizable instead of a small handle object. Marshalling a SafeHandle adds a " +
                     "reference count for the duration of each call, so Dispose or finalization waits for in-flight calls.",
        helpLinkUri: HelpLink(RuleIdentifiers.RawHandleField));

    public static readonly DiagnosticDescriptor ManagedStateFinalizer = new(
        RuleIdentifiers.ManagedStateFinalizer,
        title: "Remove the finalizer of a type that holds only managed state",
        messageFormat: "Finalizer of '{0}' releases nothing unmanaged: {1}; every instance is still registered for finalization when allocated and survives one more garbage collection",
        RuleCategories.Finalizers,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "A finalizer exists to release what the garbage collector cannot: native handles and memory. One that only reads and " +
                     "writes the fields of the object being finalized (typically ~T() { Dispose(false); } over a Dispose(bool) that does " +
                     "everything under 'if (disposing)') releases nothing, yet every instance is registered for finalization when it is " +
                     "allocated, cannot be reclaimed by the collection that finds it dead, and is promoted with everything it references " +
                     "until the finalizer thread has run it. Removing the finalizer changes nothing anyone can observe.",
        helpLinkUri: HelpLink(RuleIdentifiers.ManagedStateFinalizer));

    public static readonly DiagnosticDescriptor UndisposedLocal = new(
        RuleIdentifiers.UndisposedLocal,
        title: "Dispose the disposable object this method creates",
        messageFormat: "{0} is created here and not disposed {1}: {2}",
        RuleCategories.Finalizers,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "A method that creates a disposable object (new, File.Open/Create, a [ReturnsOwned] factory) and neither disposes it " +
                     "nor hands it on (returns it, stores it, passes it to an owner) on some path that leaves the method leaves its " +
                     "resources to the finalizer: a file handle, socket or native buffer stays held until a garbage collection happens " +
                     "to find the object and the finalizer thread runs, at an unknown time or never; a writer's buffered data is lost. " +
                     "Declare it with 'using' (or 'await using'), or dispose it on every path.",
        helpLinkUri: HelpLink(RuleIdentifiers.UndisposedLocal));

    public static readonly DiagnosticDescriptor UndisposedOwnedField = new(
        RuleIdentifiers.UndisposedOwnedField,
        title: "Dispose the disposable objects a type creates into its fields",
        messageFormat: "Field '{0}' holds a {1} that '{2}' creates, but nothing in '{2}' disposes it ({3}): {4}",
        RuleCategories.Finalizers,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "A disposable type that creates a disposable object into a private field owns it: nothing else can reach it to " +
                     "dispose it. If none of its members disposes the field, disposing the owner leaves the field's file, socket, timer or " +
                     "handle open until the garbage collector finalizes it, or for good when its type has no finalizer. Reported only " +
                     "when the type creates every value it stores in the field, never hands the value on, and declares its own Dispose. " +
                     "Dispose the field in Dispose (under 'if (disposing)' in Dispose(bool)).",
        helpLinkUri: HelpLink(RuleIdentifiers.UndisposedOwnedField));

    public static readonly DiagnosticDescriptor DisposableDroppedInLoop = new(
        RuleIdentifiers.DisposableDroppedInLoop,
        title: "Dispose the disposable object a loop creates before the next iteration",
        messageFormat: "{0} is created here, in the loop at line {1}, and not disposed {2}: {3}",
        RuleCategories.Finalizers,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "A disposable object created on every iteration of a loop and dropped without Dispose leaks one resource per " +
                     "iteration: a loop over a thousand files holds a thousand file handles until garbage collections and the finalizer " +
                     "thread catch up, and can run out of handles or keep files locked before that. Declare it with 'using' inside the " +
                     "loop body, or dispose it before the iteration ends.",
        helpLinkUri: HelpLink(RuleIdentifiers.DisposableDroppedInLoop));

    public static readonly DiagnosticDescriptor FinalizerResurrection = new(
        RuleIdentifiers.FinalizerResurrection,
        title: "Do not make the object reachable again from its finalizer",
        messageFormat: "Finalizer of '{0}' {1}: {2}",
        RuleCategories.Finalizers,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "A finalizer runs once the object is unreachable, on the finalizer thread, in no particular order with the finalizers " +
                     "of the objects it references. Storing 'this' into a static, a collection or another object's field from there " +
                     "resurrects the object: other code then uses an object whose finalizable fields may already have been finalized, " +
                     "and whose own finalizer will not run again unless it calls GC.ReRegisterForFinalize. Return objects to a pool " +
                     "from Dispose instead.",
        helpLinkUri: HelpLink(RuleIdentifiers.FinalizerResurrection));

    public static readonly DiagnosticDescriptor FinalizerTouchesManagedObject = new(
        RuleIdentifiers.FinalizerTouchesManagedObject,
        title: "Do not use finalizable or disposable fields from a finalizer",
        messageFormat: "Finalizer of '{0}' {1}: {2}",
        RuleCategories.Finalizers,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: false,
        description: "When an object becomes unreachable, so do the objects only it references, and the runtime runs all their finalizers " +
                     "in no particular order. A finalizer (or the Dispose(false) it runs) that calls, reads or passes on a field whose object " +
                     "may already have been finalized works on a dead object, and an exception that escapes a finalizer ends the " +
                     "process. Release only unmanaged resources when not disposing: managed objects clean up after themselves. " +
                     "Off by default (a suggestion in the Strict preset): most such uses in real code are deliberate and harmless.",
        helpLinkUri: HelpLink(RuleIdentifiers.FinalizerTouchesManagedObject));

    public static readonly DiagnosticDescriptor MaterializedOnce = new(
        RuleIdentifiers.MaterializedOnce,
        title: "Do not copy a sequence only to enumerate it once",
        messageFormat: "'{0}' copies the sequence into a new {1} {2}; {3}",
        RuleCategories.HeapEscapes,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "ToList() and ToArray() allocate a new buffer and copy every element into it (for a sequence of unknown length, " +
                     "several buffers, doubling each time). When the copy is then enumerated by one foreach, or only asked its Count, " +
                     "Length or Any(), the allocation and the copy buy nothing: the source can be enumerated or counted directly. " +
                     "The rule stays silent where the copy is a snapshot the code needs: the loop changes the source, the source is " +
                     "shared or queried lazily with side effects, or it is an IQueryable.",
        helpLinkUri: HelpLink(RuleIdentifiers.MaterializedOnce));

    public static readonly DiagnosticDescriptor StringConcatInLoop = new(
        RuleIdentifiers.StringConcatInLoop,
        title: "Build strings in loops with a StringBuilder, not concatenation",
        messageFormat: "String '{0}' is rebuilt by '{1}' on every iteration of this '{2}' loop: each append copies all the characters so far, so the loop takes quadratic time and leaves a dead string per iteration; use a StringBuilder",
        RuleCategories.HeapEscapes,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "Strings are immutable: 's += x' allocates a new string and copies every character of 's' and 'x' into it. " +
                     "Appending n pieces in a loop therefore copies O(n\u00b2) characters and leaves n garbage strings for the " +
                     "collector (large ones on the large object heap). A StringBuilder appends into a growing buffer: O(n) copies " +
                     "and one final string.",
        helpLinkUri: HelpLink(RuleIdentifiers.StringConcatInLoop));

    public static readonly DiagnosticDescriptor StructMissingOverride = new(
        RuleIdentifiers.StructMissingOverride,
        title: "Do not call an inherited ToString, GetHashCode or Equals on a struct",
        messageFormat: "'{0}' does not override {1}: this call {2} to run ValueType.{1}, {3}",
        RuleCategories.Boxing,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "C# calls ToString, GetHashCode and Equals(object) on a struct through a constrained call. When the struct " +
                     "implements the member, the call is direct; when it inherits it from System.ValueType, the runtime boxes the " +
                     "receiver (Equals boxes its argument too) and runs ValueType's version: ToString returns the type name, " +
                     "Equals may compare the fields through reflection and GetHashCode may hash only the first field. " +
                     "Override the member in the struct (a record struct does it for you).",
        helpLinkUri: HelpLink(RuleIdentifiers.StructMissingOverride));

    public static readonly DiagnosticDescriptor TargetDependentEnumBoxing = new(
        RuleIdentifiers.TargetDependentEnumBoxing,
        title: "Use the enum helper that does not box on this target",
        messageFormat: "'{0}' boxes {1}: {2}",
        RuleCategories.Boxing,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "Enum.HasFlag boxes its receiver and argument in IL; CoreCLR removes both boxes, .NET Framework does not, so it is " +
                     "reported only when the project targets .NET Framework. Enum.IsDefined(Type, object) and Enum.GetName(Type, object) " +
                     "box the value; they are reported only on targets that have the generic overloads (.NET 5 and later), which do not.",
        helpLinkUri: HelpLink(RuleIdentifiers.TargetDependentEnumBoxing));

    public static readonly DiagnosticDescriptor StatePassingOverload = new(
        RuleIdentifiers.StatePassingOverload,
        title: "Pass captured values as state where the method takes state for its delegate",
        messageFormat: "Lambda passed to '{0}' captures {1}, so {2}; pass {3} as state to a static lambda through {4}",
        RuleCategories.Closures,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "A lambda that captures locals or parameters makes the compiler keep them in a display class, a heap object allocated " +
                     "when their scope is entered, and allocate a new delegate each time the lambda expression is evaluated; a lambda that " +
                     "captures only 'this' still allocates a new delegate each time. Methods such as ConcurrentDictionary.GetOrAdd and " +
                     "AddOrUpdate, ImmutableInterlocked.GetOrAdd, ThreadPool.QueueUserWorkItem, CancellationToken.Register, " +
                     "TaskFactory.StartNew, Task.ContinueWith, string.Create and Timer take a state argument (or have an overload that does) " +
                     "and hand it to their delegate: a static lambda that receives the captured values as that state captures nothing, so " +
                     "the compiler creates its delegate once and caches it. Reported only where passing the values keeps what the lambda " +
                     "sees (no captured variable is written after the call or by the lambda) and, when the state is typed object, where it is " +
                     "one reference (a value type or a tuple would be boxed).",
        helpLinkUri: HelpLink(RuleIdentifiers.StatePassingOverload));

    public static readonly DiagnosticDescriptor DisplayClassOnUnusedPaths = new(
        RuleIdentifiers.DisplayClassOnUnusedPaths,
        title: "Do not allocate a display class on paths that never use it",
        messageFormat: "{0} captured only by {1} {2}, but the display class holding {3} is allocated {4}, also when {5}",
        RuleCategories.Closures,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "The C# compiler puts the captured variables of a scope into one display-class object, which it allocates when the " +
                     "scope is entered, not where the lambda is created. A captured parameter therefore costs an allocation at method " +
                     "entry on every call, even when the only lambda that captures it sits in a branch that rarely runs or after an " +
                     "early return. Copying the captured variables into locals declared inside the branch, and capturing those, moves " +
                     "the allocation into the branch.",
        helpLinkUri: HelpLink(RuleIdentifiers.DisplayClassOnUnusedPaths));

    public static readonly DiagnosticDescriptor CapturingLocalFunctionAsDelegate = new(
        RuleIdentifiers.CapturingLocalFunctionAsDelegate,
        title: "Call a capturing local function directly instead of converting it to a delegate",
        messageFormat: "Converting local function '{0}' to a delegate allocates the delegate and moves captured variables from a struct on the stack to the heap: {1}",
        RuleCategories.Closures,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "A local function that is only called directly keeps the variables it captures in a struct on the stack, passed to it by " +
                     "reference: no allocation. Converting it to a delegate anywhere in the method (passing it as an argument, assigning it, " +
                     "returning it, 'new Action(Local)') makes the compiler put those variables, and every other variable of their scope " +
                     "that a local function captures, into a display class on the heap, allocated where the scope begins, on every call or " +
                     "every iteration, whether or not the conversion runs; each conversion also allocates a delegate. Direct calls then use " +
                     "the heap object too.",
        helpLinkUri: HelpLink(RuleIdentifiers.CapturingLocalFunctionAsDelegate));

    public static readonly DiagnosticDescriptor ImplicitCaptureKeepsAlive = new(
        RuleIdentifiers.ImplicitCaptureKeepsAlive,
        title: "Do not let a long-lived delegate keep another lambda's captures alive",
        messageFormat: "This {0} is {1}, and it keeps {2} alive as long as it lives, though it does not use {3}: it shares with {5}, which captures {3}, the display class allocated {4}",
        RuleCategories.Closures,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "The C# compiler puts all the captured variables of a scope into one display-class object, shared by every lambda " +
                     "of that scope, and each delegate references the whole object. When one of those delegates outlives the method " +
                     "(stored in a field, subscribed to an event, returned), it keeps every variable of the display class reachable, " +
                     "including an array, collection or disposable object that only another, short-lived lambda captured: memory that " +
                     "no compiler warning shows is retained until the delegate dies. Capture a copy of the large variable in an inner " +
                     "block for the short-lived lambda, so it moves to a display class of its own.",
        helpLinkUri: HelpLink(RuleIdentifiers.ImplicitCaptureKeepsAlive));

    public static readonly DiagnosticDescriptor PinnedPointerEscape = new(
        RuleIdentifiers.PinnedPointerEscape,
        title: "Do not let a pointer from a fixed statement outlive its block",
        messageFormat: "The pointer to {0} pinned by the fixed statement at line {1} {2}: once the block ends the garbage collector can move the {3}, and the pointer then reads and writes whatever occupies the old address",
        RuleCategories.UnsafePointers,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "A fixed statement pins an array, a string or a field of a class only while its block runs. After it, a compacting " +
                     "garbage collection may move the object, so a pointer kept from the block (returned, stored into a field or a ref " +
                     "parameter, captured by a delegate that outlives the method, or dereferenced or made into a span after the block, " +
                     "also through IntPtr or nint) points to memory that may belong to another object: a GC hole that reads wrong data " +
                     "or corrupts the heap, only when a collection happens to move the object. The compiler checks nothing of the kind " +
                     "for pointers. Widen the fixed block over the later uses, or keep the object pinned with a pinned GCHandle for as " +
                     "long as the pointer is stored.",
        helpLinkUri: HelpLink(RuleIdentifiers.PinnedPointerEscape));

    public static readonly DiagnosticDescriptor StackAddressEscape = new(
        RuleIdentifiers.StackAddressEscape,
        title: "Do not let the address of stack memory outlive the method",
        messageFormat: "The pointer to {0} (line {1}) {2}: that memory is this call's stack frame, which the next call reuses once this one returns, so the pointer then reads and writes another call's data",
        RuleCategories.UnsafePointers,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "A pointer stackalloc, &local or &parameter points into the current call's stack frame. The compiler checks how " +
                     "far a Span<T> over stack memory may go (CS8352, CS8353) but not a pointer: returning it, storing it into a field, " +
                     "a static or a ref/out parameter, or capturing it in a delegate that is returned or stored compiles silently, and " +
                     "after the method returns the pointer addresses memory the next call overwrites (use after return). Keep stack " +
                     "memory inside the method (a Span<T> lets the compiler check it), or allocate what must outlive the call.",
        helpLinkUri: HelpLink(RuleIdentifiers.StackAddressEscape));

    public static readonly DiagnosticDescriptor UnpinnedManagedAddress = new(
        RuleIdentifiers.UnpinnedManagedAddress,
        title: "Pin the array or object before keeping a pointer from Unsafe.AsPointer",
        messageFormat: "The pointer to {0} from Unsafe.AsPointer {1}, but nothing pins the {2}: a garbage collection can move the {2} before the pointer is used, and the pointer then reads and writes whatever occupies the old address",
        RuleCategories.UnsafePointers,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "Unsafe.AsPointer(ref x) turns a managed reference, which the garbage collector updates when it moves the object, " +
                     "into a pointer, which it does not. For an element of an array or a field of a class (also through " +
                     "MemoryMarshal.GetArrayDataReference, GetReference of a span over an array or Unsafe.Add) nothing pins the " +
                     "object, so once the pointer is kept beyond the expression that made it (used in a later statement, passed to a " +
                     "call that may allocate or block, returned, stored or captured) a compacting collection can move the object and " +
                     "leave the pointer at the old address: a GC hole that reads wrong data or corrupts the heap, only when a " +
                     "collection happens to run there. Take the pointer with a fixed statement around all its uses, or keep the ref " +
                     "(ref T, Span<T>) instead of a pointer.",
        helpLinkUri: HelpLink(RuleIdentifiers.UnpinnedManagedAddress));

    public static readonly DiagnosticDescriptor ReleasedPinAddress = new(
        RuleIdentifiers.ReleasedPinAddress,
        title: "Do not use the address of a pinned object after its GCHandle or MemoryHandle is released",
        messageFormat: "The address of {0} from '{1}' {2} after '{3}' on line {4} ended the pin: the garbage collector may move the object from then on, and the address then reads and writes whatever occupies the old location",
        RuleCategories.UnsafePointers,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "GCHandle.AddrOfPinnedObject returns the address of the pinned object as an IntPtr, and a MemoryHandle's " +
                     "Pointer the address of the pinned memory; both are valid only until the handle's Free or Dispose. An integer " +
                     "does not keep the object in place: cast back to a pointer and dereferenced, passed to a call or made into a " +
                     "span after the release, returned after it, or still held in a field, the address points where the object " +
                     "was before the next compacting collection moved it (a GC hole: reads see another object's bytes, writes " +
                     "corrupt the heap). Free the handle after the last use of the address.",
        helpLinkUri: HelpLink(RuleIdentifiers.ReleasedPinAddress));

    public static readonly DiagnosticDescriptor StackViewEscape = new(
        RuleIdentifiers.StackViewEscape,
        title: "Do not let a span or reference that MemoryMarshal or Unsafe makes over a local outlive the method",
        messageFormat: "The {0} that {1} makes over {2} {3}: the method's ref parameter is scoped, so the compiler does not check where the result goes, and {2} lives in this call's stack frame, which the next call reuses once this one returns",
        RuleCategories.UnsafePointers,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "MemoryMarshal.CreateSpan, MemoryMarshal.CreateReadOnlySpan and Unsafe.AsRef take their ref argument as scoped, " +
                     "so the compiler lets the span or reference they return go anywhere, whatever the argument refers to. Made over a " +
                     "local or a by-value parameter and then returned, stored into an out/ref parameter or a field of a ref struct, " +
                     "it refers to this call's stack frame after the call has returned (use after return): the next call overwrites " +
                     "it. new Span<T>(ref x) (and a plain ref) would have been refused by the compiler (CS8347, CS8352). Keep the span " +
                     "inside the method, or take the memory from the caller (a Span<T> parameter) or the heap.",
        helpLinkUri: HelpLink(RuleIdentifiers.StackViewEscape));

    public static readonly DiagnosticDescriptor UnsafeContextHidesRefSafetyError = new(
        RuleIdentifiers.UnsafeContextHidesRefSafetyError,
        title: "Do not let an unsafe context turn a ref-safety error into a warning",
        messageFormat: "{0} turns the compiler's ref-safety error on line {2} into warning {1} ('{3}'){4}: outside an unsafe context the compiler refuses this code, because the reference or span can outlive the memory it points to and be read after that memory is reused; fix what {1} names, and keep 'unsafe' to the statements that need pointers",
        RuleCategories.UnsafePointers,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "Since C# 11 the compiler refuses a reference or span that can outlive the memory it refers to (a local, a " +
                     "by-value parameter, stackalloc memory, a struct's this) with an error in safe code (CS8352, CS8353, " +
                     "CS8166-CS8170, CS8374 ...), but only warns inside an unsafe context (CS9080-CS9095, CS9097). The warning " +
                     "is easy to read as noise in pointer code, yet the code returns or stores a reference into a stack frame " +
                     "that the next call reuses (use after return). This rule points at the unsafe modifier or block that did " +
                     "the downgrading. Fix what the compiler's warning names (copy the data, take the memory from the caller), " +
                     "and keep the unsafe context to the statements that use pointers, so the compiler checks the rest.",
        helpLinkUri: HelpLink(RuleIdentifiers.UnsafeContextHidesRefSafetyError));

    public static readonly DiagnosticDescriptor GCHandleLifetime = new(
        RuleIdentifiers.GCHandleLifetime,
        title: "Free a GCHandle exactly once on every path, and use it only while it is allocated",
        messageFormat: "GCHandle '{0}' {1}",
        RuleCategories.UnsafePointers,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "A GCHandle from GCHandle.Alloc lives until Free is called: the garbage collector never reclaims it. Held in a " +
                     "local that nothing else receives, a handle not freed on some path (a return, the end of the method, an " +
                     "exception from a call before the Free) leaks for the life of the process, and with it the object it holds " +
                     "(a Pinned handle also keeps the object where it is, fragmenting the heap). Free zeroes the local, so " +
                     "AddrOfPinnedObject, Target or a second Free after it throws InvalidOperationException, as does " +
                     "AddrOfPinnedObject on a handle not allocated GCHandleType.Pinned. Free the handle in a finally, exactly once.",
        helpLinkUri: HelpLink(RuleIdentifiers.GCHandleLifetime));

    public static readonly DiagnosticDescriptor MismatchedNativeFree = new(
        RuleIdentifiers.MismatchedNativeFree,
        title: "Free native memory on every path, with the function that matches its allocator",
        messageFormat: "{0}: {1}",
        RuleCategories.UnsafePointers,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "Each native allocator has its own free: Marshal.AllocHGlobal and StringToHGlobal* pair with FreeHGlobal, " +
                     "AllocCoTaskMem and StringToCoTaskMem* with FreeCoTaskMem, AllocBSTR and StringToBSTR with FreeBSTR, " +
                     "NativeMemory.Alloc with NativeMemory.Free and NativeMemory.AlignedAlloc with NativeMemory.AlignedFree " +
                     "(realloc likewise). On Windows they are different heaps (LocalAlloc, CoTaskMemAlloc, malloc, " +
                     "_aligned_malloc), so the wrong free corrupts the heap; a BSTR's pointer is past its length prefix, so any " +
                     "other free is wrong on every platform. Reported where every value the freed local can hold comes from " +
                     "one other family. Native memory is never reclaimed by the garbage collector: a block held in a local that " +
                     "nothing else receives and that some path (a return, the end of the method, an exception from a call before " +
                     "the free) leaves unfreed is lost until the process exits. Call the free that matches the allocation, in a finally.",
        helpLinkUri: HelpLink(RuleIdentifiers.MismatchedNativeFree));

    public static readonly DiagnosticDescriptor SafeHandleEscapeHatch = new(
        RuleIdentifiers.SafeHandleEscapeHatch,
        title: "Release DangerousAddRef in a finally and keep DangerousGetHandle's raw handle where the SafeHandle is counted",
        messageFormat: "{0}: {1}",
        RuleCategories.UnsafePointers,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "A SafeHandle counts its users: Dispose and the finalizer drop only its own count, and the native handle is " +
                     "released when the count drops to zero. DangerousAddRef raises the count by hand; a DangerousRelease that is " +
                     "not in a finally is skipped by an exception or early exit, and the handle then stays open for the rest of the " +
                     "process (a leak). DangerousGetHandle returns the raw value without counting: returned or stored into a field, " +
                     "it outlives the code that keeps the SafeHandle alive, and once the SafeHandle is released the OS reuses the " +
                     "value for the next handle it opens (handle recycling), so the copy names another file, socket or event. " +
                     "Release in the finally of a try that covers the DangerousAddRef; pass the SafeHandle itself instead of its raw value.",
        helpLinkUri: HelpLink(RuleIdentifiers.SafeHandleEscapeHatch));

    public static readonly DiagnosticDescriptor ExposedLockTarget = new(
        RuleIdentifiers.ExposedLockTarget,
        title: "Lock on a private object that never changes",
        messageFormat: "Locking {0}: {1}; lock a private readonly object instead",
        RuleCategories.SharedState,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "A lock excludes only code that locks the same object. 'this' of a public type, typeof(T) and GetType() " +
                     "(one Type object per type, process-wide), string literals (interned), reflection objects, Thread objects " +
                     "and public fields can all be locked by code the type does not control, which then blocks or deadlocks " +
                     "the type's critical sections. A field that a member other than a constructor assigns a new object " +
                     "changes the lock itself: two threads can hold the old and the new object's locks at once. Lock a " +
                     "private readonly object (or System.Threading.Lock) that only the type can reach.",
        helpLinkUri: HelpLink(RuleIdentifiers.ExposedLockTarget));

    public static readonly DiagnosticDescriptor LockWithoutFinally = new(
        RuleIdentifiers.LockWithoutFinally,
        title: "Release a lock taken by a call in a finally block",
        messageFormat: "'{0}' is released by '{1}' on line {2}, but not in a finally: {3}",
        RuleCategories.SharedState,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "Monitor.Enter, Lock.Enter, ReaderWriterLockSlim.Enter*Lock, SemaphoreSlim.Wait/WaitAsync, SpinLock.Enter " +
                     "and Mutex.WaitOne take a lock that only a matching call releases. When that call is not in a finally " +
                     "block, an exception thrown in between skips it: the lock stays held and every later attempt to take it " +
                     "blocks forever. Use a lock statement (or using (x.EnterScope()) for System.Threading.Lock), or put the " +
                     "release in the finally of a try that starts right after the acquire.",
        helpLinkUri: HelpLink(RuleIdentifiers.LockWithoutFinally));

    public static readonly DiagnosticDescriptor CheckThenActOnConcurrentCollection = new(
        RuleIdentifiers.CheckThenActOnConcurrentCollection,
        title: "Do not check a concurrent collection and then act on what the check said",
        messageFormat: "'{0}' and then '{1}' are two operations on '{2}', not one: {3}; {4}",
        RuleCategories.SharedState,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "Each method of ConcurrentDictionary, ConcurrentQueue, ConcurrentStack and ConcurrentBag is atomic; two calls " +
                     "in a row are not. Between 'if (!d.ContainsKey(k))' and 'd[k] = v' another thread can add k, and the write " +
                     "replaces its value; between 'TryGetValue' and an ignored 'TryAdd' it can add k, and the code goes on with " +
                     "a value that is not in the dictionary (two callers, two different objects for one key); between a Count " +
                     "or IsEmpty check and an ignored TryDequeue/TryTake/TryPop it can take the last item, and the out value is " +
                     "the default. Use the single call that does both: TryAdd, GetOrAdd, AddOrUpdate, or test the Try method's result.",
        helpLinkUri: HelpLink(RuleIdentifiers.CheckThenActOnConcurrentCollection));

    public static readonly DiagnosticDescriptor StaticCollectionMutation = new(
        RuleIdentifiers.StaticCollectionMutation,
        title: "Do not change a static collection that is not thread-safe without a lock",
        messageFormat: "Static '{0}' ({1}, not thread-safe) is changed here through {2} without a lock: {3}; two threads changing it at once can lose entries, throw, or corrupt it for good",
        RuleCategories.SharedState,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "List, Dictionary, HashSet, Queue, Stack and the sorted and linked collections of System.Collections.Generic are safe " +
                     "for concurrent reads only. A static one is shared by every thread of the process; changed by two threads at once " +
                     "it can lose entries, throw, or corrupt its internal arrays (a corrupted Dictionary can make later lookups loop " +
                     "forever). Reported where such a field is changed outside the static constructor and initializers, with no lock, " +
                     "in a public static member (public static members must be thread-safe) or in a type that runs code on other " +
                     "threads. Use ConcurrentDictionary (GetOrAdd for a cache) or take one lock around every access.",
        helpLinkUri: HelpLink(RuleIdentifiers.StaticCollectionMutation));

    public static readonly DiagnosticDescriptor NonVolatileFlagPoll = new(
        RuleIdentifiers.NonVolatileFlagPoll,
        title: "Do not poll a field that another thread sets in a loop without Volatile.Read or volatile",
        messageFormat: "'{0}' is polled by this loop and set in {1}, but it is not volatile and not read with Volatile.Read: nothing in the loop is an acquire or a fence, so the .NET memory model lets the JIT read it once before the loop, and the loop may never see the write",
        RuleCategories.SharedState,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "The .NET memory model lets adjacent non-volatile reads of one location be coalesced. In a loop that only " +
                     "reads and writes locals, fields and array elements (no call, lock, volatile access or Interlocked operation), " +
                     "the JIT's optimizing tiers read a non-volatile field once and keep the value in a register: a loop waiting for " +
                     "another thread to set the field spins forever. Read it with Volatile.Read (and write it with Volatile.Write), " +
                     "or declare it volatile.",
        helpLinkUri: HelpLink(RuleIdentifiers.NonVolatileFlagPoll));

    public static readonly DiagnosticDescriptor GuardedCollectionEscape = new(
        RuleIdentifiers.GuardedCollectionEscape,
        title: "Do not hand a collection that a lock guards out of the lock",
        messageFormat: "'{0}' ({1}) is changed under lock '{2}' in {3}, but this code {4}: whoever gets the reference uses it after the lock is released, while another thread may be changing it under '{2}'",
        RuleCategories.SharedState,
        DiagnosticSeverity.Info,
        // Off by default: handing out the live collection is sometimes the documented contract (callers lock the same
        // object), and the change that removes it (a copy) changes what callers see. The Strict preset turns it on as a suggestion.
        isEnabledByDefault: false,
        description: "List, Dictionary, HashSet, Queue, Stack and the sorted and linked collections are safe for concurrent reads only. " +
                     "When a type changes such a field inside lock (L), L is what keeps readers away from a change in progress. A " +
                     "reference to the collection returned or stored from inside the lock carries no lock with it: the caller reads " +
                     "or enumerates it after the lock statement ends, while another thread changes it under L, and the enumerator " +
                     "throws InvalidOperationException ('Collection was modified') or a lookup sees a half-made change. Return a " +
                     "copy or an immutable snapshot made under the lock, or expose operations that take the lock instead of the collection.",
        helpLinkUri: HelpLink(RuleIdentifiers.GuardedCollectionEscape));

    // The annotation rules report only on code whose author declared a lock contract ([GuardedBy], [RequiresLock]):
    // a finding breaks that contract, so they are errors, as Clang's -Wthread-safety is with -Werror.
    public static readonly DiagnosticDescriptor GuardedFieldWithoutLock = new(
        RuleIdentifiers.GuardedFieldWithoutLock,
        title: "Hold the lock a [GuardedBy] field declares whenever it is accessed",
        messageFormat: "'{0}' is [GuardedBy(\"{1}\")], but this code {2} it without holding {3}",
        RuleCategories.SharedState,
        DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "[GuardedBy(nameof(_gate))] on a field or property says every access outside constructors holds _gate: reads in shared or " +
                     "exclusive mode, writes (assignments, ++, collection changes) exclusively, so a ReaderWriterLockSlim read lock " +
                     "covers reads only. Lambdas and local functions start with no lock held (they may run later, on another thread); " +
                     "a helper that runs under its caller's lock says so with [RequiresLock]. Members marked [ThreadConfined] are not " +
                     "checked. Take the lock around the access, or annotate the method [RequiresLock].",
        helpLinkUri: HelpLink(RuleIdentifiers.GuardedFieldWithoutLock));

    public static readonly DiagnosticDescriptor CallWithoutRequiredLock = new(
        RuleIdentifiers.CallWithoutRequiredLock,
        title: "Hold the lock a [RequiresLock] method declares when calling it",
        messageFormat: "'{0}' is [RequiresLock(\"{1}\")], but it is called here without holding {2}",
        RuleCategories.SharedState,
        DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "[RequiresLock(nameof(_gate))] on a method says its callers hold _gate exclusively, and its body is checked as " +
                     "holding it. A call without the lock breaks that contract, from the same type or another (on another instance, other.M() " +
                     "needs other's lock, other._gate; on a field, _inner.M() needs _inner._gate; on a call's result no lock can be shown " +
                     "held): " +
                     "the method's accesses to guarded state then run unprotected. Lambdas start with no lock held; constructors and " +
                     "[ThreadConfined] members are not checked. Take the lock around the call, or annotate the caller [RequiresLock] too.",
        helpLinkUri: HelpLink(RuleIdentifiers.CallWithoutRequiredLock));

    public static readonly DiagnosticDescriptor InvalidLockGuard = new(
        RuleIdentifiers.InvalidLockGuard,
        title: "Name a lock that can guard the member in [GuardedBy] and [RequiresLock]",
        messageFormat: "[{0}(\"{1}\")] on '{2}' does not name a usable lock: {3}",
        RuleCategories.SharedState,
        DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "A guard names a field of the same type (use nameof) or 'this'. The field must be readonly (a lock object that is " +
                     "replaced no longer excludes code holding the old one; a SpinLock, which must not be copied, is exempt), a reference " +
                     "type or SpinLock (lock on a value locks a boxed copy), static when the guarded member is static, and at least as " +
                     "visible as the guarded member (code that can reach the member must be able to take the lock). An invalid guard " +
                     "checks nothing, so MSA6100 and MSA6101 ignore it.",
        helpLinkUri: HelpLink(RuleIdentifiers.InvalidLockGuard));

    public static readonly DiagnosticDescriptor InconsistentlyGuardedField = new(
        RuleIdentifiers.InconsistentlyGuardedField,
        title: "Do not access a field without the lock that guards its writes elsewhere",
        messageFormat: "'{0}' is written under lock '{1}' in {2} but {3} here {4}: {5}",
        RuleCategories.SharedState,
        DiagnosticSeverity.Warning,
        // Off by default for its precision: of 12 hand-checked findings on real code 3 were worth changing, 8 true but not
        // worth it (docs/rules/MSA6001.md). Its cost (28.5 % of compile time at first) is 2.5 % since session 8. The
        // Strict preset turns it on as a suggestion.
        isEnabledByDefault: false,
        description: "A lock only keeps out code that takes the same lock. When a field is written while holding a lock in one member, " +
                     "the author expects other threads there; an access elsewhere without that lock runs concurrently with the locked code: " +
                     "a '++' or '+=' can be lost, a List or Dictionary that is not thread-safe can be corrupted or throw, and a " +
                     "long, double, decimal or multi-field struct can be read or written half-way. Only compound updates, calls on " +
                     "non-thread-safe collections and reads and writes that can tear are reported; a plain read or store of a reference " +
                     "or an int is not. Constructors, fields used with Interlocked or Volatile, members that use lock-free primitives, " +
                     "and private helpers whose every caller holds the lock are not reported. Take the same lock around the access.",
        helpLinkUri: HelpLink(RuleIdentifiers.InconsistentlyGuardedField));

    public static readonly DiagnosticDescriptor NonAtomicUpdate = new(
        RuleIdentifiers.NonAtomicUpdate,
        title: "Update shared state atomically",
        messageFormat: "'{0}' on '{1}' is not atomic: {2}; {3}",
        RuleCategories.SharedState,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: false,
        description: "'++', '--', '+=' and the other compound assignments read the value, compute and write it back in separate steps; " +
                     "the .NET memory model makes an aligned word-sized read or write atomic, never the pair. When another thread " +
                     "updates the same location in between, one of the updates is lost. Reported where the code shows the location is " +
                     "shared: a volatile field, a field also updated with Interlocked, a field or captured local updated in a " +
                     "Parallel.For/ForEach body, in a Task.Run/new Thread/ThreadPool delegate started in a loop, or on another thread " +
                     "while other code updates it too. Updates under a lock, in constructors and in types that take locks (MSA6001) " +
                     "are not reported. Use Interlocked.Increment/Decrement/Add/Or/And, or a lock.",
        helpLinkUri: HelpLink(RuleIdentifiers.NonAtomicUpdate));

    public static readonly DiagnosticDescriptor MixedAtomicAccess = new(
        RuleIdentifiers.MixedAtomicAccess,
        title: "Store a field that other code accesses atomically with Volatile or Interlocked too",
        messageFormat: "'{0}' is accessed with {1} in {2}, but stored plainly here: {3}; use {4}",
        RuleCategories.SharedState,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: false,
        description: "Interlocked and Volatile give a field atomicity and ordering only where every access uses them. A plain store of a " +
                     "long, ulong or double is two 4-byte writes in a 32-bit process, which an Interlocked operation or Volatile.Read can see " +
                     "half of. A plain store that publishes data written just before it (a flag or an index set after the data, read elsewhere with Volatile.Read) is not a " +
                     "release: on Arm64 a reader that sees the new value with Volatile.Read can still read the old data. Use " +
                     "Volatile.Write (or Interlocked.Exchange for 64-bit values). Reference stores (a release in .NET), constructors and " +
                     "stores under a lock are not reported.",
        helpLinkUri: HelpLink(RuleIdentifiers.MixedAtomicAccess));

    public static ImmutableArray<DiagnosticDescriptor> All { get; } = ImmutableArray.Create(
        EscapeReport,
        StackallocCandidate,
        ScratchBuffer,
        LargeTemporaryArray,
        SubstringAsSpan,
        ConstantArrayRebuiltPerCall,
        StringConcatInLoop,
        MaterializedOnce,
        ZeroLengthArrayAllocation,
        LoopInvariantAllocation,
        ValueTypeBoxing,
        CompositeFormatting,
        StructDefaultEquality,
        StructMissingOverride,
        ObjectEqualsOfValues,
        InterfaceEnumeration,
        TargetDependentEnumBoxing,
        StatePassingOverload,
        CapturingDelegateInLoop,
        DisplayClassOnUnusedPaths,
        UncachedDelegate,
        CapturingLocalFunctionAsDelegate,
        ImplicitCaptureKeepsAlive,
        EmptyFinalizer,
        MissingSuppressFinalize,
        FinalizerTouchesManagedObject,
        RawHandleField,
        ManagedStateFinalizer,
        UndisposedLocal,
        UndisposedOwnedField,
        DisposableDroppedInLoop,
        FinalizerResurrection,
        PinnedPointerEscape,
        StackAddressEscape,
        UnpinnedManagedAddress,
        ReleasedPinAddress,
        StackViewEscape,
        UnsafeContextHidesRefSafetyError,
        GCHandleLifetime,
        MismatchedNativeFree,
        SafeHandleEscapeHatch,
        InconsistentlyGuardedField,
        NonAtomicUpdate,
        MixedAtomicAccess,
        ExposedLockTarget,
        LockWithoutFinally,
        CheckThenActOnConcurrentCollection,
        StaticCollectionMutation,
        NonVolatileFlagPoll,
        GuardedCollectionEscape,
        GuardedFieldWithoutLock,
        CallWithoutRequiredLock,
        InvalidLockGuard);
}
