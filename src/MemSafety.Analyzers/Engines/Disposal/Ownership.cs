using System.Collections.Concurrent;
using System.Threading;
using MemSafety.Analyzers.Engines.Bodies;
using MemSafety.Analyzers.Engines.Escape;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Engines.Disposal;

/// <summary>What a value stored into a field is, for the field's owner (<see cref="Ownership.ClassifyStored"/>).</summary>
public enum StoredValue
{
    /// <summary>null or <c>default</c>: stores nothing.</summary>
    Nothing,
    /// <summary>A value created here with nothing to release (an ignored type, <c>new CancellationTokenSource()</c>).</summary>
    NothingToRelease,
    /// <summary>A value created here that its creator must dispose.</summary>
    Created,
    /// <summary>Anything else: a value received from elsewhere.</summary>
    Received,
}

/// <summary>What one use of a local that holds an owned disposable does with the ownership.</summary>
public enum OwnedUse
{
    /// <summary>Reads or calls it and leaves the ownership where it is (<c>x.Read()</c>, <c>x == null</c>, <c>foreach</c> over it).</summary>
    Neutral,
    /// <summary>Disposes it: <c>x.Dispose()</c>, <c>x?.Dispose()</c>, <c>x.Close()</c>, <c>DisposeAsync</c>, <c>using (x)</c>, <c>using var y = x</c>.</summary>
    Disposes,
    /// <summary>Hands it to someone who may dispose it or keep it: returned, thrown, stored into a field, property, array,
    /// <c>ref</c>/<c>out</c> parameter or collection, passed to an owning wrapper's constructor (without <c>leaveOpen: true</c>),
    /// to a <c>[TransfersOwnership]</c> parameter, or to a method that keeps or may dispose it.</summary>
    Transfers,
    /// <summary>A use the analysis does not follow (copied to another local, captured by a lambda, a <c>?:</c> operand…):
    /// nothing can be said about the local.</summary>
    Unknown,
}

/// <summary>
/// Who owns a disposable value, shared by the disposal rules (MSA4006, MSA4008; MSA4007 asks the same of fields):
/// which expressions create a value the caller owns, what each use of a local does with that ownership, and the
/// ownership annotations. One instance per compilation (<see cref="Core.CompilationServices.Ownership"/>).
/// <para>Creating means: a constructor (<c>new</c>) of a disposable class, <c>File.Open*</c>/<c>Create*</c>/
/// <c>AppendText</c> and the same of <c>FileInfo</c>, and any method or property marked <c>[ReturnsOwned]</c>. Anything
/// else (a parameter, a field, a factory we cannot see into) is not known to be owned here, so nothing is reported
/// about it. Not created here either, for these rules: value types, <c>SafeHandle</c>s (MSA4004's subject), types on
/// the ignore list (<see cref="IgnoredTypes"/>), and <c>new CancellationTokenSource()</c> without a delay.</para>
/// <para>Annotations are matched by name in any namespace, like the hot-path attribute: <c>TransfersOwnershipAttribute</c>
/// on a parameter (the callee takes the argument over), <c>ReturnsOwnedAttribute</c> on a method or property (the caller
/// owns the result), <c>NotOwnedAttribute</c> on a method or property (the caller does not own the result; it wins over
/// everything the analysis would infer).</para>
/// </summary>
public sealed class Ownership
{
    internal const string TransfersOwnershipName = "TransfersOwnershipAttribute";
    internal const string ReturnsOwnedName = "ReturnsOwnedAttribute";
    internal const string NotOwnedName = "NotOwnedAttribute";

    // Constructors that take over a stream/handler passed to them (they dispose it when they are disposed), and the
    // bool parameter that, when true, leaves it to the caller instead ("disposeHandler" means the opposite).
    private static readonly (string Namespace, string Type, string? KeepParameter)[] OwningWrappers =
    {
        ("System.IO", "StreamReader", "leaveOpen"),
        ("System.IO", "StreamWriter", "leaveOpen"),
        ("System.IO", "BinaryReader", "leaveOpen"),
        ("System.IO", "BinaryWriter", "leaveOpen"),
        ("System.IO", "BufferedStream", null),
        ("System.IO.Compression", "GZipStream", "leaveOpen"),
        ("System.IO.Compression", "DeflateStream", "leaveOpen"),
        ("System.IO.Compression", "BrotliStream", "leaveOpen"),
        ("System.IO.Compression", "ZLibStream", "leaveOpen"),
        ("System.IO.Compression", "ZipArchive", "leaveOpen"),
        ("System.Security.Cryptography", "CryptoStream", "leaveOpen"),
        ("System.Net.Security", "SslStream", "leaveInnerStreamOpen"),
        ("System.Net.Security", "NegotiateStream", "leaveInnerStreamOpen"),
        ("System.Net.Http", "HttpClient", "!disposeHandler"),
        ("System.Net.Http", "HttpMessageInvoker", "!disposeHandler"),
    };

    private readonly DisposableTypes _types;
    private readonly System.Func<SyntaxTree, Core.MemSafetyOptions>? _optionsFor;
    private readonly ConcurrentDictionary<ISymbol, int> _annotations = new(SymbolEqualityComparer.Default);
    private readonly ConcurrentDictionary<(IMethodSymbol, int), OwnedUse> _parameterUses = new();
    private readonly ConcurrentDictionary<string, IgnoredTypes> _ignoredByText = new(System.StringComparer.Ordinal);
    private IgnoredTypes? _defaultIgnored;

    /// <param name="types">The compilation's type-level disposal facts.</param>
    /// <param name="optionsFor">Each file's options (<c>memsafety.disposal.ignored_types</c>); null: the default list everywhere.</param>
    public Ownership(DisposableTypes types, System.Func<SyntaxTree, Core.MemSafetyOptions>? optionsFor = null)
    {
        _types = types;
        _optionsFor = optionsFor;
        AnnotationsPossible = FindAnnotations(types.Compilation);
        Core.CreationCounts.Record(types.Compilation, nameof(Ownership));
    }

    public DisposableTypes Types => _types;

    /// <summary>The ignore list of one file (<c>memsafety.disposal.ignored_types</c>): one instance per option text in
    /// this compilation, so its per-type answers are shared by the files that have the same text.</summary>
    public IgnoredTypes IgnoredTypesIn(SyntaxTree tree)
    {
        var text = _optionsFor?.Invoke(tree).GetRaw(Core.MemSafetyOptions.DisposalIgnoredTypes);
        if (text is null)
            return _defaultIgnored ??= IgnoredTypes.Create(null);
        return _ignoredByText.GetOrAdd(text, static t => IgnoredTypes.Create(t));
    }

    // ------------------------------------------------------------------ annotations

    private const int TransfersFlag = 1, ReturnsOwnedFlag = 2, NotOwnedFlag = 4, Known = 8;

    private int Annotations(ISymbol symbol)
    {
        if (_annotations.TryGetValue(symbol, out var flags))
            return flags;
        flags = Known;
        foreach (var attribute in symbol.GetAttributes())
        {
            switch (attribute.AttributeClass?.Name)
            {
                case TransfersOwnershipName:
                    flags |= TransfersFlag;
                    break;
                case ReturnsOwnedName:
                    flags |= ReturnsOwnedFlag;
                    break;
                case NotOwnedName:
                    flags |= NotOwnedFlag;
                    break;
            }
        }

        _annotations.TryAdd(symbol, flags);
        return flags;
    }

    /// <summary><c>[TransfersOwnership]</c> on the parameter (of the method's original definition).</summary>
    public bool TransfersOwnership(IParameterSymbol parameter) => (Annotations(parameter.OriginalDefinition) & TransfersFlag) != 0;

    /// <summary><c>[ReturnsOwned]</c> on the method or property (not overridden by <c>[NotOwned]</c>).</summary>
    public bool ReturnsOwned(ISymbol methodOrProperty)
    {
        var flags = Annotations(methodOrProperty.OriginalDefinition);
        return (flags & ReturnsOwnedFlag) != 0 && (flags & NotOwnedFlag) == 0;
    }

    /// <summary><c>[NotOwned]</c> on the method or property: its result belongs to someone else.</summary>
    public bool IsNotOwned(ISymbol methodOrProperty) => (Annotations(methodOrProperty.OriginalDefinition) & NotOwnedFlag) != 0;

    // ------------------------------------------------------------------ creation

    /// <summary>
    /// Whether <paramref name="value"/> (conversions looked through) creates a disposable that whoever receives it owns
    /// and must dispose, and of which type (the created type, not the variable's).
    /// </summary>
    public bool IsCreation(IOperation? value, IgnoredTypes ignored, out ITypeSymbol createdType)
        => IsCreation(value, ignored, out createdType, resolving: null, depth: 0);

    /// <summary><paramref name="resolving"/>: the locals whose writes are being checked (a wrapper assigned to the
    /// local it wraps, <c>s = new BufferedStream(s)</c>, asks about that local again: it is assumed owned, as its
    /// other writes decide).</summary>
    private bool IsCreation(IOperation? value, IgnoredTypes ignored, out ITypeSymbol createdType, LocalChain? resolving, int depth)
    {
        createdType = null!;
        value = value is null ? null : Variables.WithoutBuiltInConversions(value);
        ITypeSymbol? type;
        switch (value)
        {
            case IObjectCreationOperation creation:
                type = creation.Type;
                if (type is null || IsUnlinkedTokenSource(creation) || (OnDemandMember(type) is { } member && !InitializerSets(creation, member)))
                    return false;
                break;
            case IInvocationOperation invocation:
                if (!IsCreatingMethod(invocation.TargetMethod))
                    return false;
                type = invocation.Type;
                break;
            case IPropertyReferenceOperation property:
                if (!AnnotationsPossible || !ReturnsOwned(property.Property))
                    return false;
                type = property.Type;
                break;
            default:
                return false;
        }

        if (type is null || !IsCreatableType(type, ignored))
            return false;

        // A wrapper built over a disposable it did not get from this method (a parameter, a field, a MemoryStream) holds
        // nothing of its own, and disposing it would dispose what it wraps, which belongs to someone else.
        if (value is IObjectCreationOperation { Arguments: var arguments })
        {
            foreach (var argument in arguments)
            {
                var passed = argument.Value;
                while (passed is IConversionOperation { OperatorMethod: null } inner)
                    passed = inner.Operand;
                if (passed.Type is { } argumentType && (_types.IsDisposable(argumentType) || _types.IsAsyncDisposable(argumentType))
                    && !IsOwnedHere(passed, ignored, resolving, depth))
                {
                    return false;
                }
            }
        }

        createdType = type;
        return true;
    }

    /// <summary>The type-level half of <see cref="IsCreation"/>: a disposable reference type (not a type parameter, not
    /// a <c>SafeHandle</c>, not ignored, not one that holds nothing), cached per type and ignore list.</summary>
    private bool IsCreatableType(ITypeSymbol type, IgnoredTypes ignored)
    {
        if (!type.IsReferenceType || type.TypeKind == TypeKind.TypeParameter)
            return false;
        if (ignored.CreatableAnswers.TryGetValue(type, out var known))
            return known;
        known = (_types.IsDisposable(type) || _types.IsAsyncDisposable(type))
                && !_types.IsSafeHandle(type) && !ignored.Contains(type) && !HoldsNothing(type) && !HoldsNothingVisible(type, ignored);
        ignored.CreatableAnswers.TryAdd(type, known);
        return known;
    }

    /// <summary>A creation, or a local every write of which is a creation.</summary>
    private bool IsOwnedHere(IOperation value, IgnoredTypes ignored, LocalChain? resolving, int depth)
    {
        if (depth > 8)
            return false;
        if (value is not ILocalReferenceOperation reference)
            return IsCreation(value, ignored, out _, resolving, depth + 1);
        for (var chain = resolving; chain is not null; chain = chain.Next)
        {
            if (SymbolEqualityComparer.Default.Equals(chain.Local, reference.Local))
                return true;
        }

        var inner = new LocalChain(reference.Local, resolving);
        var facts = BodyFacts.Of(value);
        if (facts.DeclaratorOf(reference.Local) is not { Initializer: { } initializer } || !IsCreation(initializer.Value, ignored, out _, inner, depth + 1))
            return false;
        foreach (var write in facts.WritesTo(reference.Local))
        {
            if (write.Parent is not ISimpleAssignmentOperation assignment || assignment.Target != write || !IsCreation(assignment.Value, ignored, out _, inner, depth + 1))
                return false;
        }

        return true;
    }

    private sealed class LocalChain
    {
        public LocalChain(ILocalSymbol local, LocalChain? next)
        {
            Local = local;
            Next = next;
        }

        public ILocalSymbol Local { get; }

        public LocalChain? Next { get; }
    }

    /// <summary>Component-model types whose Dispose releases nothing: <c>MarshalByValueComponent</c> (<c>DataSet</c>,
    /// <c>DataTable</c>, <c>DataColumn</c>: their constructors even call <c>GC.SuppressFinalize</c>) and
    /// <c>DataAdapter</c>, whose Dispose only raises the Disposed event and drops references, unless a type between
    /// them and the created type overrides <c>Dispose(bool)</c> (<c>DataView</c> unhooks itself from its table there).</summary>
    private static bool HoldsNothing(ITypeSymbol type)
    {
        for (var t = type; t is not null; t = t.BaseType)
        {
            if ((t.Name == "MarshalByValueComponent" && NonRetainingMembers.IsNamespace(t.ContainingNamespace, "System.ComponentModel"))
                || (t.Name == "DataAdapter" && NonRetainingMembers.IsNamespace(t.ContainingNamespace, "System.Data.Common")))
            {
                return true;
            }

            foreach (var member in t.GetMembers("Dispose"))
            {
                if (member is IMethodSymbol { IsOverride: true, Parameters.Length: 1 } dispose && dispose.Parameters[0].Type.SpecialType == SpecialType.System_Boolean)
                    return false;
            }
        }

        return false;
    }

    /// <summary>A class of this compilation without a finalizer in its hierarchy and without an instance field that
    /// could hold a resource (a disposable type not on the ignore list, a <c>SafeHandle</c>, an <c>IntPtr</c>/<c>nint</c>),
    /// up to a base type from a library other than <c>object</c> (which may hold one): its Dispose has nothing we can see
    /// to release (SharpZipLib's <c>ZipExtraData</c> disposes a <c>MemoryStream</c>).</summary>
    private bool HoldsNothingVisible(ITypeSymbol type, IgnoredTypes ignored)
    {
        if (type is not INamedTypeSymbol { TypeKind: TypeKind.Class } named || named.DeclaringSyntaxReferences.Length == 0
            || _types.Of(named).Finalizer is not null)
        {
            return false;
        }

        for (var t = named; t is not null && t.SpecialType != SpecialType.System_Object; t = t.BaseType)
        {
            if (t.DeclaringSyntaxReferences.Length == 0)
                return false;
            foreach (var member in t.GetMembers())
            {
                if (member is not IFieldSymbol { IsStatic: false, IsConst: false } field)
                    continue;
                var fieldType = field.Type;
                if (fieldType.SpecialType is SpecialType.System_IntPtr or SpecialType.System_UIntPtr
                    || ((_types.IsDisposable(fieldType) || _types.IsAsyncDisposable(fieldType)) && !ignored.Contains(fieldType)))
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>Whether the compilation can carry an ownership annotation at all: a type of that name declared in its
    /// source, or <c>MemSafety.*</c> ones in a reference (a library that keeps them with <c>MEMSAFETY_KEEP_ATTRIBUTES</c>).
    /// Without one, property reads need no attribute lookup.</summary>
    public bool AnnotationsPossible { get; }

    private static bool FindAnnotations(Compilation compilation)
    {
        foreach (var name in new[] { ReturnsOwnedName, NotOwnedName, TransfersOwnershipName })
        {
            foreach (var _ in compilation.GetSymbolsWithName(name, SymbolFilter.Type))
                return true;
            if (compilation.GetTypeByMetadataName("MemSafety." + name) is not null)
                return true;
        }

        return false;
    }

    // ------------------------------------------------------------------ stores (MSA4007's fields)

    /// <summary>
    /// What a value stored into a field is, for the field's owner (MSA4007 through <see cref="FieldLifetimeCollector"/>):
    /// <see cref="StoredValue.Created"/> for a <c>new</c> of a disposable type or a call of a creating method
    /// (<see cref="IsCreatingMethod"/>, and <c>File.OpenHandle</c>: a field may own a handle), also through <c>?:</c>;
    /// <see cref="StoredValue.NothingToRelease"/> for a <c>new</c> of an ignored type (<paramref name="ignored"/>) or
    /// <c>new CancellationTokenSource()</c>; <see cref="StoredValue.Nothing"/> for null/default; anything else is
    /// <see cref="StoredValue.Received"/>. Wider than <see cref="IsCreation"/>, which a local's analysis narrows further
    /// (wrappers over what the method did not create, <c>SafeHandle</c>s, types that hold nothing visible): a type
    /// that wraps what it was given in a field it creates owns that wrapper.
    /// </summary>
    public StoredValue ClassifyStored(IOperation value, IgnoredTypes ignored)
    {
        value = UnwrapConversions(value);
        switch (value)
        {
            case ILiteralOperation { ConstantValue: { HasValue: true, Value: null } }:
            case IDefaultValueOperation:
                return StoredValue.Nothing;
            case IObjectCreationOperation creation when creation.Type is { } type && (_types.IsDisposable(type) || _types.IsAsyncDisposable(type)):
                return ignored.Contains(type) || IsUnlinkedTokenSource(creation) || (OnDemandMember(type) is { } member && !InitializerSets(creation, member))
                    ? StoredValue.NothingToRelease
                    : StoredValue.Created;
            case IInvocationOperation invocation when IsCreatingMethod(invocation.TargetMethod) || IsOpenHandle(invocation.TargetMethod):
                return StoredValue.Created;
            case IConditionalOperation { WhenFalse: { } whenFalse } conditional:
            {
                var whenTrue = ClassifyStored(conditional.WhenTrue, ignored);
                var other = ClassifyStored(whenFalse, ignored);
                if (whenTrue == StoredValue.Received || other == StoredValue.Received)
                    return StoredValue.Received;
                return whenTrue == StoredValue.Created || other == StoredValue.Created ? StoredValue.Created
                    : whenTrue == StoredValue.NothingToRelease || other == StoredValue.NothingToRelease ? StoredValue.NothingToRelease : StoredValue.Nothing;
            }

            default:
                return StoredValue.Received;
        }
    }

    /// <summary>The type of the first created value of a store that <see cref="ClassifyStored"/> calls created.</summary>
    public static ITypeSymbol? StoredCreationType(IOperation value)
    {
        value = UnwrapConversions(value);
        return value switch
        {
            IObjectCreationOperation creation => creation.Type,
            IInvocationOperation invocation => invocation.Type,
            IConditionalOperation conditional => StoredCreationType(conditional.WhenTrue) is { } type && !IsNull(conditional.WhenTrue) ? type : StoredCreationType(conditional.WhenFalse!),
            _ => value.Type,
        };

        static bool IsNull(IOperation operation) => UnwrapConversions(operation) is ILiteralOperation or IDefaultValueOperation;
    }

    private static IOperation UnwrapConversions(IOperation value)
    {
        while (value is IConversionOperation conversion)
            value = conversion.Operand;
        return value;
    }

    /// <summary><c>File.OpenHandle</c>: a <c>SafeFileHandle</c> the caller owns (a local one is MSA4004's subject, not a creation for MSA4006).</summary>
    private static bool IsOpenHandle(IMethodSymbol method)
        => method.Name == "OpenHandle" && method.ContainingType is { Name: "File" } type && NonRetainingMembers.IsNamespace(type.ContainingNamespace, "System.IO");

    /// <summary>Whether a call creates a value the caller owns (MSA4006's text prefilter lists these names too): <c>File</c>/<c>FileInfo</c> openers,
    /// <c>CancellationTokenSource.CreateLinkedTokenSource</c>, <c>[ReturnsOwned]</c>. Cheap: a name test first.</summary>
    public bool IsCreatingMethod(IMethodSymbol method)
    {
        var type = method.ContainingType;
        if (type is not null && type.ContainingNamespace is { Name: "IO" } ns && NonRetainingMembers.IsNamespace(ns, "System.IO")
            && type.Name is "File" or "FileInfo")
        {
            return method.Name is "Open" or "OpenRead" or "OpenWrite" or "OpenText" or "Create" or "CreateText" or "AppendText";
        }

        // A linked source registers a callback on every parent token, which keeps it reachable while they live.
        if (method.Name == "CreateLinkedTokenSource" && type is { Name: "CancellationTokenSource" } && NonRetainingMembers.IsNamespace(type.ContainingNamespace, "System.Threading"))
            return true;
        if (!AnnotationsPossible)
            return false;
        if (method.MethodKind == MethodKind.ReducedExtension && method.ReducedFrom is { } reduced)
            method = reduced;
        return ReturnsOwned(method);
    }

    /// <summary><c>new CancellationTokenSource()</c> (no delay): until <c>CancelAfter</c> is called or someone asks its
    /// token for a wait handle, it holds no timer, no registration and no kernel object, and its Dispose has nothing
    /// to release. A method that calls <c>CancelAfter</c> on the local is checked by the caller.</summary>
    private static bool IsUnlinkedTokenSource(IObjectCreationOperation creation)
        => creation.Arguments.Length == 0 && creation.Type is INamedTypeSymbol { Name: "CancellationTokenSource" } type
           && NonRetainingMembers.IsNamespace(type.ContainingNamespace, "System.Threading");

    /// <summary>
    /// Types whose Dispose releases only what one of their members creates on demand, and that member: the slim
    /// synchronisation types (<c>ManualResetEventSlim</c> and types derived from it, <c>CountdownEvent</c>,
    /// <c>SemaphoreSlim</c>, <c>Barrier</c>) block on a monitor and allocate a kernel event only when someone asks for
    /// <c>WaitHandle</c>/<c>AvailableWaitHandle</c> (<c>Barrier</c> exposes none); <c>HttpRequestMessage</c>'s Dispose
    /// disposes its <c>Content</c> and nothing else. Null for any other type. A method that uses that member on the local
    /// is checked by <see cref="DisposedOnAllPaths"/> as for any other creation.
    /// </summary>
    public static string? OnDemandMember(ITypeSymbol? type)
    {
        for (var t = type; t is not null; t = t.BaseType)
        {
            switch (t.Name)
            {
                case "ManualResetEventSlim" or "CountdownEvent" when NonRetainingMembers.IsNamespace(t.ContainingNamespace, "System.Threading"):
                    return "WaitHandle";
                case "SemaphoreSlim" when NonRetainingMembers.IsNamespace(t.ContainingNamespace, "System.Threading"):
                    return "AvailableWaitHandle";
                case "Barrier" when NonRetainingMembers.IsNamespace(t.ContainingNamespace, "System.Threading"):
                    return string.Empty;
                case "HttpRequestMessage" when NonRetainingMembers.IsNamespace(t.ContainingNamespace, "System.Net.Http"):
                    return "Content";
            }
        }

        return null;
    }

    /// <summary>Whether the creation's object initializer sets <paramref name="member"/> (<c>new HttpRequestMessage { Content = … }</c>).</summary>
    private static bool InitializerSets(IObjectCreationOperation creation, string member)
    {
        if (member.Length == 0 || creation.Initializer is null)
            return false;
        foreach (var initializer in creation.Initializer.Initializers)
        {
            if (initializer is ISimpleAssignmentOperation { Target: IPropertyReferenceOperation property } && property.Property.Name == member)
                return true;
        }

        return false;
    }

    // ------------------------------------------------------------------ uses

    /// <summary>What a read of the local at <paramref name="reference"/> does with the ownership of its value.
    /// <paramref name="function"/> is the function (member body, lambda or local function) that declares the local:
    /// a read inside a nested function is a capture (<see cref="OwnedUse.Unknown"/>).</summary>
    public OwnedUse ClassifyUse(IOperation reference, ISymbol? function, CancellationToken cancellationToken)
        => ClassifyUse(reference, function, 0, cancellationToken);

    private OwnedUse ClassifyUse(IOperation reference, ISymbol? function, int callDepth, CancellationToken cancellationToken)
    {
        for (var p = reference.Parent; p is not null; p = p.Parent)
        {
            if (p is IAnonymousFunctionOperation lambda)
            {
                if (!SymbolEqualityComparer.Default.Equals(lambda.Symbol, function))
                    return OwnedUse.Unknown;
                break;
            }

            if (p is ILocalFunctionOperation localFunction)
            {
                if (!SymbolEqualityComparer.Default.Equals(localFunction.Symbol, function))
                    return OwnedUse.Unknown;
                break;
            }
        }

        return Classify(reference, derived: false, depth: 0, callDepth, cancellationToken);
    }

    /// <summary>What the consumer of a value that no local holds (a creation used where it stands) does with it.</summary>
    public OwnedUse ClassifyValue(IOperation value, CancellationToken cancellationToken) => Classify(value, derived: false, depth: 0, callDepth: 0, cancellationToken);

    /// <summary>Follows a value to its consumer. <paramref name="derived"/>: the value is not the local's object but
    /// something obtained from it (a property, a call's result) that may still reach it.</summary>
    private OwnedUse Classify(IOperation value, bool derived, int depth, int callDepth, CancellationToken cancellationToken)
    {
        while (true)
        {
            var parent = value.Parent;
            switch (parent)
            {
                case IConversionOperation { OperatorMethod: null }:
                case IParenthesizedOperation:
                    value = parent;
                    continue;

                case null:
                case IExpressionStatementOperation:
                case IBinaryOperation:
                case IIsTypeOperation:
                case IForEachLoopOperation:
                case ILockOperation:
                case IInterpolationOperation:
                case IDiscardOperation:
                    return OwnedUse.Neutral;

                case IIsPatternOperation isPattern:
                    return DeclaresVariables(isPattern.Pattern) ? OwnedUse.Unknown : OwnedUse.Neutral;

                case IAwaitOperation await:
                    return DerivedResult(await, depth, callDepth, cancellationToken);

                case IInvocationOperation invocation when invocation.Instance == value:
                    if (!derived && IsDisposeCall(invocation.TargetMethod))
                        return OwnedUse.Disposes;
                    // A method of this compilation that hands `this` on (Socket.ConnectAsync(e, userSocket: false)
                    // stores the socket in the event args, which own it from then on).
                    if (!derived && ReceiverUse(invocation.TargetMethod, callDepth, cancellationToken) == OwnedUse.Transfers)
                        return OwnedUse.Transfers;
                    return DerivedResult(invocation, depth, callDepth, cancellationToken);

                case IConditionalAccessOperation access when access.Operation == value:
                    if (!derived && access.WhenNotNull is IInvocationOperation { Instance: IConditionalAccessInstanceOperation } call
                        && IsDisposeCall(call.TargetMethod))
                    {
                        return OwnedUse.Disposes;
                    }

                    return DerivedResult(access, depth, callDepth, cancellationToken);

                case IPropertyReferenceOperation property when property.Instance == value:
                    if (IsAssignmentTarget(property))
                        return OwnedUse.Neutral;
                    return DerivedResult(property, depth, callDepth, cancellationToken);

                case IFieldReferenceOperation field when field.Instance == value:
                    if (IsAssignmentTarget(field))
                        return OwnedUse.Neutral;
                    return DerivedResult(field, depth, callDepth, cancellationToken);

                case IEventReferenceOperation:
                    return OwnedUse.Neutral;

                case IUsingOperation:
                    return derived ? OwnedUse.Unknown : OwnedUse.Disposes;

                case IVariableInitializerOperation { Parent: IVariableDeclaratorOperation { Parent: IVariableDeclarationOperation { Parent: IVariableDeclarationGroupOperation group } } }
                    when group.Parent is IUsingDeclarationOperation or IUsingOperation:
                    return derived ? OwnedUse.Unknown : OwnedUse.Disposes;

                case ISimpleAssignmentOperation assignment when assignment.Value == value:
                    return assignment.Target switch
                    {
                        IDiscardOperation => OwnedUse.Neutral,
                        ILocalReferenceOperation or IParameterReferenceOperation { Parameter.RefKind: RefKind.None } => OwnedUse.Unknown,
                        _ => derived ? OwnedUse.Unknown : OwnedUse.Transfers,
                    };

                case IReturnOperation:
                case IThrowOperation:
                    return derived ? OwnedUse.Unknown : OwnedUse.Transfers;

                case IArgumentOperation argument:
                    var use = Argument(argument, callDepth, cancellationToken);
                    return derived && use != OwnedUse.Neutral ? OwnedUse.Unknown : use;

                default:
                    return OwnedUse.Unknown;
            }
        }
    }

    /// <summary>A value obtained from the local (a call's result, a property): harmless when it cannot hold the local's
    /// object (void, a value type, a string) or when it is only used where it stays in the method; otherwise it may
    /// outlive the local (<c>return reader.Lines()</c>), and disposing the local could break its user.</summary>
    private OwnedUse DerivedResult(IOperation result, int depth, int callDepth, CancellationToken cancellationToken)
    {
        var type = result.Type;
        if (type is null || IsHarmless(type))
            return OwnedUse.Neutral;
        if (depth > 4)
            return OwnedUse.Unknown;
        if (IsTaskLike(type) && result.Parent is IAwaitOperation await)
        {
            if (await.Type is null || IsHarmless(await.Type))
                return OwnedUse.Neutral;
            result = await;
        }

        return Classify(result, derived: true, depth + 1, callDepth, cancellationToken) == OwnedUse.Neutral ? OwnedUse.Neutral : OwnedUse.Unknown;
    }

    /// <summary>A type whose values cannot hold a reference to the local's object: void, string, a non-generic value type.</summary>
    private static bool IsHarmless(ITypeSymbol type)
        => type.SpecialType is SpecialType.System_Void or SpecialType.System_String
           || (type.IsValueType && type is INamedTypeSymbol { IsGenericType: false } && type.SpecialType != SpecialType.System_Object
               && !IsTaskLike(type) && !type.IsRefLikeType);

    private static bool IsTaskLike(ITypeSymbol type)
        => type.Name is "Task" or "ValueTask" && NonRetainingMembers.IsNamespace(type.ContainingNamespace, "System.Threading.Tasks");

    private static bool IsAssignmentTarget(IOperation operation)
        => operation.Parent is IAssignmentOperation assignment && assignment.Target == operation;

    private static bool DeclaresVariables(IPatternOperation pattern)
    {
        foreach (var operation in pattern.DescendantsAndSelf())
        {
            if (operation is IDeclarationPatternOperation { DeclaredSymbol: not null }
                or IRecursivePatternOperation { DeclaredSymbol: not null }
                or IListPatternOperation { DeclaredSymbol: not null })
            {
                return true;
            }
        }

        return false;
    }

    /// <summary><c>Dispose()</c>, <c>DisposeAsync()</c>, <c>Close()</c> (streams, readers, writers, sockets close by disposing).</summary>
    public static bool IsDisposeCall(IMethodSymbol method)
        => method.Parameters.Length == 0 && method.Name is "Dispose" or "DisposeAsync" or "Close";

    private OwnedUse Argument(IArgumentOperation argument, int callDepth, CancellationToken cancellationToken)
    {
        var parameter = argument.Parameter;
        if (parameter is null || parameter.RefKind != RefKind.None)
            return OwnedUse.Unknown;
        if (TransfersOwnership(parameter))
            return OwnedUse.Transfers;
        IMethodSymbol? method;
        switch (argument.Parent)
        {
            case IObjectCreationOperation creation:
                method = creation.Constructor;
                if (method is not null && IsOwningWrapper(method.ContainingType, out var keep))
                    return keep is null || !KeepsOpen(creation.Arguments, keep) ? OwnedUse.Transfers : OwnedUse.Neutral;
                break;
            case IInvocationOperation invocation:
                method = invocation.TargetMethod;
                break;
            default:
                return OwnedUse.Unknown;
        }

        if (method is null)
            return OwnedUse.Unknown;
        if (method.MethodKind == MethodKind.ReducedExtension && method.ReducedFrom is { } reduced)
            method = reduced;
        if (NonRetainingMembers.IsNonRetaining(method, out var aliases))
            return aliases ? OwnedUse.Unknown : OwnedUse.Neutral;
        if (IsCopyDestination(method))
            return OwnedUse.Neutral;
        // An iterator's or async method's state machine keeps its parameters past the call, unless the call is awaited
        // where it stands.
        if (method.IsAsync && !(argument.Parent.Parent is IAwaitOperation || argument.Parent.Parent is IConversionOperation { Parent: IAwaitOperation }))
            return OwnedUse.Transfers;
        return method.MethodKind != MethodKind.LocalFunction && ParameterUse(method, parameter.Ordinal, callDepth + 1, cancellationToken) == OwnedUse.Neutral
            ? OwnedUse.Neutral
            : OwnedUse.Transfers;
    }

    /// <summary><c>source.CopyTo(destination)</c>/<c>CopyToAsync</c>: writes into the destination, keeps nothing.</summary>
    private static bool IsCopyDestination(IMethodSymbol method)
        => method.Name is "CopyTo" or "CopyToAsync" && method.ContainingType is { Name: "Stream" } type
           && NonRetainingMembers.IsNamespace(type.ContainingNamespace, "System.IO");

    /// <summary>What a method of this compilation does with the ownership of its parameter, by the same classification
    /// of every use in its body (flow-insensitive, three calls deep; a parameter that is written is not followed):
    /// <see cref="OwnedUse.Neutral"/> when it only reads or calls it, else <see cref="OwnedUse.Transfers"/> (it disposes
    /// it, stores it, returns it or passes it to code that may). A library method is <see cref="OwnedUse.Transfers"/>.
    /// Cached per parameter; an answer cut by the depth limit is the cautious one.</summary>
    private OwnedUse ParameterUse(IMethodSymbol method, int ordinal, int callDepth, CancellationToken cancellationToken)
    {
        method = method.OriginalDefinition;
        if (_parameterUses.TryGetValue((method, ordinal), out var known))
            return known;
        var result = OwnedUse.Transfers;
        if (callDepth <= 3 && ordinal < method.Parameters.Length && !method.IsAbstract && !method.IsVirtual && !method.IsOverride
            && _types.BodyOf(method, cancellationToken) is { } body)
        {
            result = OwnedUse.Neutral;
            var parameter = method.Parameters[ordinal];
            var facts = BodyFacts.Of(body);
            if (facts.IsWritten(parameter) || facts.IsIterator(null))
            {
                result = OwnedUse.Transfers;
            }
            else
            {
                foreach (var reference in facts.ReferencesTo(parameter))
                {
                    if (ClassifyUse(reference, method, callDepth, cancellationToken) != OwnedUse.Neutral)
                    {
                        result = OwnedUse.Transfers;
                        break;
                    }
                }
            }
        }

        _parameterUses.TryAdd((method, ordinal), result);
        return result;
    }

    /// <summary>What an instance method of this compilation does with <c>this</c>: <see cref="OwnedUse.Transfers"/> when
    /// its body passes <c>this</c> on (as an argument, stored, returned, captured) other than as the receiver of a
    /// member access, by the classification of <see cref="ParameterUse"/>; <see cref="OwnedUse.Neutral"/> otherwise and
    /// for library, abstract and virtual methods (their receivers are read as before). Cached beside the parameters.</summary>
    private OwnedUse ReceiverUse(IMethodSymbol method, int callDepth, CancellationToken cancellationToken)
    {
        method = method.OriginalDefinition;
        // Past the depth limit the answer is not looked for, and not cached: a later, shallower question must not get it.
        if (method.IsStatic || callDepth > 3)
            return OwnedUse.Neutral;
        if (_parameterUses.TryGetValue((method, -1), out var known))
            return known;
        var result = OwnedUse.Neutral;
        if (!method.IsAbstract && !method.IsVirtual && !method.IsOverride && _types.BodyOf(method, cancellationToken) is { } body)
        {
            foreach (var operation in body.DescendantsAndSelf())
            {
                if (operation is not IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance } self
                    || self.Parent is IMemberReferenceOperation { Instance: var instance } && instance == self
                    || self.Parent is IInvocationOperation { Instance: var receiver } && receiver == self)
                {
                    continue;
                }

                if (Classify(self, derived: false, depth: 0, callDepth + 1, cancellationToken) != OwnedUse.Neutral)
                {
                    result = OwnedUse.Transfers;
                    break;
                }
            }
        }

        _parameterUses.TryAdd((method, -1), result);
        return result;
    }

    /// <summary>Whether <paramref name="type"/> is a wrapper that takes over the stream or handler it is constructed
    /// with; <paramref name="keepParameter"/> names the bool parameter that leaves it to the caller (prefixed with
    /// <c>!</c> when <c>false</c> does), null when there is none.</summary>
    public static bool IsOwningWrapper(INamedTypeSymbol? type, out string? keepParameter)
    {
        keepParameter = null;
        if (type is null)
            return false;
        foreach (var (ns, name, keep) in OwningWrappers)
        {
            if (type.Name == name && NonRetainingMembers.IsNamespace(type.ContainingNamespace, ns))
            {
                keepParameter = keep;
                return true;
            }
        }

        return false;
    }

    /// <summary>A <c>leaveOpen: true</c> (or <c>disposeHandler: false</c>) argument that is a constant; any other value
    /// (a variable) counts as open: the wrapper may not dispose it, so neither does the analysis assume it.</summary>
    private static bool KeepsOpen(System.Collections.Immutable.ImmutableArray<IArgumentOperation> arguments, string keep)
    {
        var negated = keep[0] == '!';
        var name = negated ? keep.Substring(1) : keep;
        foreach (var argument in arguments)
        {
            if (argument.Parameter?.Name != name)
                continue;
            if (argument.ArgumentKind == ArgumentKind.DefaultValue)
                return false;
            if (argument.Value.ConstantValue is { HasValue: true, Value: bool value })
                return value != negated;
            return true;
        }

        return false;
    }
}
