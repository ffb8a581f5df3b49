using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Threading;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Effects;
using MemSafety.Analyzers.Engines.Escape;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Engines.Disposal;

/// <summary>Whether a type's instances are finalizable, and whether the finalizer that runs does anything.</summary>
public enum FinalizerKind
{
    /// <summary>No type of the hierarchy but <c>object</c> declares a finalizer: instances are never queued.</summary>
    None,
    /// <summary>Every finalizer of the hierarchy does nothing in this build (empty, or only <c>[Conditional]</c> calls
    /// the build leaves out, as MSA4001 reports; or <c>CriticalFinalizerObject</c>'s empty one). Instances are still
    /// queued for finalization.</summary>
    Trivial,
    /// <summary>Some finalizer of the hierarchy does work (a library type's finalizer is assumed to).</summary>
    NonTrivial,
}

/// <summary>
/// Type-level disposal facts of one compilation, shared by every rule of the finalizers and disposal family
/// (<see cref="CompilationServices.Disposal"/>): is a type disposable, a <c>SafeHandle</c>, finalizable (and does its
/// finalizer do anything), which methods are its <c>Dispose()</c>, <c>DisposeAsync()</c> and <c>Dispose(bool)</c>,
/// which of its fields hold native resources, and what its finalizer runs (<see cref="DisposableType.GetFinalizationPath"/>).
/// <para>Facts are computed on first request and cached per type (weakly, with the compilation: one instance per
/// compilation). Answers that bind method bodies take the request's cancellation token; a cancelled request caches
/// nothing. Bodies of other members are bound through one semantic model per syntax tree, as the escape engine's
/// summaries do.</para>
/// </summary>
public sealed class DisposableTypes
{
    private readonly WellKnownTypes _types;
    private readonly ConcurrentDictionary<INamedTypeSymbol, DisposableType> _facts = new(SymbolEqualityComparer.Default);
    private readonly ConcurrentDictionary<IMethodSymbol, FinalizerKind> _finalizerKinds = new(SymbolEqualityComparer.Default);
    private readonly ConcurrentDictionary<IMethodSymbol, bool> _suppresses = new(SymbolEqualityComparer.Default);
    private readonly ConcurrentDictionary<SyntaxTree, SemanticModel> _models = new();
    private readonly object _derivedGate = new();
    private Dictionary<INamedTypeSymbol, List<INamedTypeSymbol>>? _derived;
    private List<INamedTypeSymbol>? _finalizerTypes;
    private IMethodSymbol? _disposeMember;
    private IMethodSymbol? _disposeAsyncMember;
    private bool _membersResolved;

    public DisposableTypes(Compilation compilation, ParameterSummaries? summaries = null)
    {
        Compilation = compilation;
        Summaries = summaries;
        _types = WellKnownTypes.Of(compilation);
        Known = new KnownMembers(_types.Enumerable, _types.List);
        CreationCounts.Record(compilation, nameof(DisposableTypes));
    }

    public Compilation Compilation { get; }

    /// <summary>The escape engine's summaries, for "does this callee keep <c>this</c>" (null: not asked).</summary>
    internal ParameterSummaries? Summaries { get; }

    /// <summary>Library members known to have no side effects.</summary>
    internal KnownMembers Known { get; }

    internal WellKnownTypes Types => _types;

    /// <summary>The facts of <paramref name="type"/> (of its original definition, for a constructed generic type).</summary>
    public DisposableType Of(INamedTypeSymbol type)
    {
        type = type.OriginalDefinition;
        return _facts.TryGetValue(type, out var facts) ? facts : _facts.GetOrAdd(type, new DisposableType(this, type));
    }

    /// <summary>Implements <c>IDisposable</c> (an interface type: is or extends it; a type parameter: through a constraint).</summary>
    public bool IsDisposable(ITypeSymbol? type) => Implements(type, _types.IDisposable);

    /// <summary>Implements <c>IAsyncDisposable</c>.</summary>
    public bool IsAsyncDisposable(ITypeSymbol? type) => Implements(type, _types.IAsyncDisposable);

    /// <summary>Is or derives from <c>System.Runtime.InteropServices.SafeHandle</c>.</summary>
    public bool IsSafeHandle(ITypeSymbol? type) => DerivesFrom(type, _types.SafeHandle);

    /// <summary>Derives from <c>CriticalFinalizerObject</c> (<c>SafeHandle</c> among them): the runtime runs its
    /// finalizer after every ordinary finalizer of the objects collected in the same cycle, so an ordinary
    /// finalizer may still use it.</summary>
    public bool IsCriticalFinalizable(ITypeSymbol? type) => DerivesFrom(type, _types.CriticalFinalizerObject);

    /// <summary><c>IDisposable.Dispose</c>, or null when the compilation has no <c>IDisposable</c>.</summary>
    public IMethodSymbol? DisposeInterfaceMember
    {
        get
        {
            ResolveMembers();
            return _disposeMember;
        }
    }

    /// <summary><c>IAsyncDisposable.DisposeAsync</c>, or null.</summary>
    public IMethodSymbol? DisposeAsyncInterfaceMember
    {
        get
        {
            ResolveMembers();
            return _disposeAsyncMember;
        }
    }

    /// <summary>What a finalizer does, by its own body: <see cref="FinalizerKind.Trivial"/> when it does nothing in
    /// this build, else <see cref="FinalizerKind.NonTrivial"/>. A library type's finalizer is assumed to do work,
    /// except <c>CriticalFinalizerObject</c>'s, which is empty.</summary>
    public FinalizerKind KindOf(IMethodSymbol finalizer, CancellationToken cancellationToken)
    {
        if (_finalizerKinds.TryGetValue(finalizer, out var kind))
            return kind;
        kind = ComputeKind(finalizer, cancellationToken);
        _finalizerKinds.TryAdd(finalizer, kind);
        return kind;
    }

    private FinalizerKind ComputeKind(IMethodSymbol finalizer, CancellationToken cancellationToken)
    {
        if (SymbolEqualityComparer.Default.Equals(finalizer.ContainingType, _types.CriticalFinalizerObject))
            return FinalizerKind.Trivial;
        if (finalizer.IsExtern)
            return FinalizerKind.NonTrivial;
        var body = BodyOf(finalizer, cancellationToken);
        if (body is null)
            return finalizer.DeclaringSyntaxReferences.Length == 0 ? FinalizerKind.NonTrivial : FinalizerKind.Trivial;
        var symbols = ((CSharpParseOptions)body.Syntax.SyntaxTree.Options).PreprocessorSymbolNames;
        return DoesNothing(body, symbols) ? FinalizerKind.Trivial : FinalizerKind.NonTrivial;
    }

    /// <summary>A body that does nothing in this build: empty statements and blocks, a bare <c>return</c>, calls to
    /// <c>[Conditional]</c> methods whose symbol the build does not define (the compiler drops them).</summary>
    internal static bool DoesNothing(IOperation operation, IEnumerable<string> definedSymbols)
    {
        switch (operation)
        {
            case IMethodBodyOperation method:
                return (method.BlockBody is null || DoesNothing(method.BlockBody, definedSymbols))
                       && (method.ExpressionBody is null || DoesNothing(method.ExpressionBody, definedSymbols));
            case IBlockOperation block:
                foreach (var statement in block.Operations)
                {
                    if (!DoesNothing(statement, definedSymbols))
                        return false;
                }

                return true;
            case IEmptyOperation:
            case IReturnOperation { ReturnedValue: null }:
                return true;
            case IReturnOperation { ReturnedValue: { } value }:
                return DoesNothing(value, definedSymbols);
            case IExpressionStatementOperation expression:
                return DoesNothing(expression.Operation, definedSymbols);
            case IInvocationOperation invocation:
                return IsCompiledOut(invocation.TargetMethod, definedSymbols);
            default:
                return false;
        }
    }

    /// <summary>A call to a <c>[Conditional]</c> method none of whose symbols the build defines: the compiler emits
    /// nothing for it, arguments included.</summary>
    internal static bool IsCompiledOut(IMethodSymbol method, IEnumerable<string> definedSymbols)
    {
        var conditional = false;
        foreach (var attribute in method.GetAttributes())
        {
            if (attribute.AttributeClass is { Name: "ConditionalAttribute" } attributeClass
                && NonRetainingMembers.IsNamespace(attributeClass.ContainingNamespace, "System.Diagnostics")
                && attribute.ConstructorArguments.Length == 1
                && attribute.ConstructorArguments[0].Value is string symbol)
            {
                conditional = true;
                foreach (var defined in definedSymbols)
                {
                    if (defined == symbol)
                        return false;
                }
            }
        }

        return conditional;
    }

    /// <summary>Whether running <paramref name="method"/> calls <c>GC.SuppressFinalize(this)</c> somewhere: in its
    /// body or in a method it calls on <c>this</c> (every override the compilation has of a virtual one), three
    /// calls deep. A library method called on <c>this</c> or <c>base</c> that is named <c>Dispose</c>, <c>Close</c>
    /// or <c>DisposeAsync</c> is assumed to (the base library's dispose pattern does: <c>Stream.Close</c>,
    /// <c>Component.Dispose</c>). Generous on purpose: MSA4002 must never report a type whose dispose path does
    /// suppress finalization.</summary>
    public bool SuppressesFinalization(IMethodSymbol method, CancellationToken cancellationToken)
    {
        method = method.OriginalDefinition;
        if (_suppresses.TryGetValue(method, out var known))
            return known;
        var result = Suppresses(method, 0, new HashSet<IMethodSymbol>(SymbolEqualityComparer.Default), cancellationToken);
        _suppresses.TryAdd(method, result);
        return result;
    }

    private bool Suppresses(IMethodSymbol method, int depth, HashSet<IMethodSymbol> visiting, CancellationToken cancellationToken)
    {
        if (method.DeclaringSyntaxReferences.Length == 0)
            return method.Name is "Dispose" or "Close" or "DisposeAsync";
        if (depth > 3 || !visiting.Add(method))
            return false;
        var body = BodyOf(method, cancellationToken);
        if (body is null)
            return false;
        foreach (var operation in body.DescendantsAndSelf())
        {
            if (operation is not IInvocationOperation invocation)
                continue;
            if (IsSuppressFinalizeOfThis(invocation))
                return true;
            if (invocation.Instance is IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance })
            {
                foreach (var target in DispatchTargets(invocation, method.ContainingType, out _))
                {
                    if (Suppresses(target.OriginalDefinition, depth + 1, visiting, cancellationToken))
                        return true;
                }
            }
        }

        return false;
    }

    /// <summary><c>GC.SuppressFinalize(this)</c> (the argument through conversions).</summary>
    public bool IsSuppressFinalizeOfThis(IInvocationOperation invocation)
        => invocation.TargetMethod.Name == "SuppressFinalize" && IsGcCallOnThis(invocation);

    /// <summary><c>GC.ReRegisterForFinalize(this)</c>.</summary>
    public bool IsReRegisterForFinalizeOfThis(IInvocationOperation invocation)
        => invocation.TargetMethod.Name == "ReRegisterForFinalize" && IsGcCallOnThis(invocation);

    private bool IsGcCallOnThis(IInvocationOperation invocation)
        => invocation.Arguments.Length == 1
           && SymbolEqualityComparer.Default.Equals(invocation.TargetMethod.ContainingType, _types.GC)
           && IsThis(invocation.Arguments[0].Value);

    /// <summary><c>this</c>, through conversions (<c>(object)this</c>).</summary>
    public static bool IsThis(IOperation? operation)
    {
        while (operation is IConversionOperation conversion)
            operation = conversion.Operand;
        return operation is IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance };
    }

    /// <summary>
    /// The bodies a call on <c>this</c> may run when the object's type is <paramref name="receiverType"/> or one of
    /// its derived types: the method itself for a non-virtual call (<c>base.M()</c> included); for a virtual one,
    /// the override that <paramref name="receiverType"/> inherits and every override in types of the compilation
    /// derived from it. <paramref name="open"/> is set when types outside the compilation may override it too
    /// (the receiver type can be derived from elsewhere and the method is overridable).
    /// </summary>
    public IReadOnlyList<IMethodSymbol> DispatchTargets(IInvocationOperation invocation, INamedTypeSymbol receiverType, out bool open)
    {
        open = false;
        var method = invocation.TargetMethod;
        if (!invocation.IsVirtual || !(method.IsVirtual || method.IsOverride || method.IsAbstract) || method.IsSealed)
            return new[] { method };
        var targets = new List<IMethodSymbol>();
        AddDistinct(targets, ImplementationIn(receiverType, method));
        foreach (var derived in DerivedTypesOf(receiverType))
            AddDistinct(targets, ImplementationIn(derived, method));
        open = IsExternallyDerivable(receiverType);
        return targets;

        static void AddDistinct(List<IMethodSymbol> list, IMethodSymbol item)
        {
            foreach (var existing in list)
            {
                if (SymbolEqualityComparer.Default.Equals(existing, item))
                    return;
            }

            list.Add(item);
        }
    }

    /// <summary>The body of <paramref name="method"/> that an instance of <paramref name="type"/> runs: the override
    /// nearest to <paramref name="type"/> in its base chain, or the method itself.</summary>
    public static IMethodSymbol ImplementationIn(INamedTypeSymbol type, IMethodSymbol method)
    {
        var definition = method.OriginalDefinition;
        for (var t = type; t is not null; t = t.BaseType)
        {
            foreach (var member in t.GetMembers(method.Name))
            {
                if (member is not IMethodSymbol candidate)
                    continue;
                if (SymbolEqualityComparer.Default.Equals(candidate.OriginalDefinition, definition))
                    return candidate;
                for (var overridden = candidate.OverriddenMethod; overridden is not null; overridden = overridden.OverriddenMethod)
                {
                    if (SymbolEqualityComparer.Default.Equals(overridden.OriginalDefinition, definition))
                        return candidate;
                }
            }
        }

        return method;
    }

    /// <summary>Whether code outside this compilation can derive from <paramref name="type"/>: a class that is not
    /// sealed or static, visible outside the assembly, with a constructor visible to a derived class. (Friend
    /// assemblies of <c>InternalsVisibleTo</c> are not counted.)</summary>
    public static bool IsExternallyDerivable(INamedTypeSymbol type)
    {
        if (type.TypeKind != TypeKind.Class || type.IsSealed || type.IsStatic)
            return false;
        for (var t = type; t is not null; t = t.ContainingType)
        {
            if (t.DeclaredAccessibility is not (Accessibility.Public or Accessibility.Protected or Accessibility.ProtectedOrInternal))
                return false;
        }

        foreach (var constructor in type.InstanceConstructors)
        {
            if (constructor.DeclaredAccessibility is Accessibility.Public or Accessibility.Protected or Accessibility.ProtectedOrInternal)
                return true;
        }

        return false;
    }

    /// <summary>Every class of this compilation that derives from <paramref name="type"/>, directly or not.</summary>
    public IReadOnlyList<INamedTypeSymbol> DerivedTypesOf(INamedTypeSymbol type)
    {
        var map = DerivedMap();
        type = type.OriginalDefinition;
        if (!map.ContainsKey(type))
            return System.Array.Empty<INamedTypeSymbol>();
        var result = new List<INamedTypeSymbol>();
        var queue = new Queue<INamedTypeSymbol>();
        queue.Enqueue(type);
        while (queue.Count > 0)
        {
            if (!map.TryGetValue(queue.Dequeue(), out var direct))
                continue;
            foreach (var derived in direct)
            {
                result.Add(derived);
                queue.Enqueue(derived);
            }
        }

        return result;
    }

    /// <summary>The classes of this compilation that declare a finalizer (in declaration order of a walk of the
    /// namespaces): few in any code base, so a question about every finalizable type asks these.</summary>
    public IReadOnlyList<INamedTypeSymbol> TypesDeclaringFinalizers
    {
        get
        {
            DerivedMap();
            return _finalizerTypes!;
        }
    }

    private Dictionary<INamedTypeSymbol, List<INamedTypeSymbol>> DerivedMap()
    {
        var map = Volatile.Read(ref _derived);
        if (map is not null)
            return map;
        lock (_derivedGate)
        {
            if (_derived is not null)
                return _derived;
            // One walk over the compilation's types: namespaces and nested types only (GetTypeMembers creates no
            // member symbols); a type's finalizer is looked up by name.
            map = new Dictionary<INamedTypeSymbol, List<INamedTypeSymbol>>(SymbolEqualityComparer.Default);
            var finalizerTypes = new List<INamedTypeSymbol>();
            var namespaces = new Stack<INamespaceSymbol>();
            var types = new Stack<INamedTypeSymbol>();
            namespaces.Push(Compilation.Assembly.GlobalNamespace);
            while (namespaces.Count > 0)
            {
                var ns = namespaces.Pop();
                foreach (var nested in ns.GetNamespaceMembers())
                    namespaces.Push(nested);
                foreach (var type in ns.GetTypeMembers())
                    types.Push(type);
                while (types.Count > 0)
                {
                    var type = types.Pop();
                    foreach (var nested in type.GetTypeMembers())
                        types.Push(nested);
                    if (type.TypeKind != TypeKind.Class)
                        continue;
                    if (type.BaseType is { } baseType)
                    {
                        var key = baseType.OriginalDefinition;
                        if (!map.TryGetValue(key, out var list))
                            map[key] = list = new List<INamedTypeSymbol>();
                        list.Add(type);
                    }

                    // MemberNames comes from the declarations; GetMembers(name) would build every member of the type.
                    if (DeclaresMember(type, WellKnownMemberNames.DestructorName) && DisposableType.DeclaredFinalizer(type) is not null)
                        finalizerTypes.Add(type);
                }
            }

            _finalizerTypes = finalizerTypes;
            Volatile.Write(ref _derived, map);
            return map;
        }
    }

    private static bool DeclaresMember(INamedTypeSymbol type, string name)
    {
        foreach (var member in type.MemberNames)
        {
            if (member == name)
                return true;
        }

        return false;
    }

    /// <summary>The operation tree of a method's body in this compilation (null: no body, or not in source here).</summary>
    public IOperation? BodyOf(IMethodSymbol method, CancellationToken cancellationToken)
    {
        method = method.PartialImplementationPart ?? method;
        if (method.DeclaringSyntaxReferences.Length != 1)
            return null;
        var syntax = method.DeclaringSyntaxReferences[0].GetSyntax(cancellationToken);
        if (!Compilation.ContainsSyntaxTree(syntax.SyntaxTree))
            return null;
        if (syntax is AccessorDeclarationSyntax { Body: null, ExpressionBody: null }
            || syntax is BaseMethodDeclarationSyntax { Body: null, ExpressionBody: null })
        {
            return null;
        }

        return ModelOf(syntax.SyntaxTree).GetOperation(syntax, cancellationToken);
    }

    /// <summary>One semantic model per tree for binding other members' bodies.</summary>
    internal SemanticModel ModelOf(SyntaxTree tree)
#pragma warning disable RS1030 // Do not invoke Compilation.GetSemanticModel() method within a diagnostic analyzer
        => _models.TryGetValue(tree, out var model) ? model : _models.GetOrAdd(tree, t => Compilation.GetSemanticModel(t));
#pragma warning restore RS1030

    private void ResolveMembers()
    {
        if (Volatile.Read(ref _membersResolved))
            return;
        _disposeMember = Single(_types.IDisposable, "Dispose");
        _disposeAsyncMember = Single(_types.IAsyncDisposable, "DisposeAsync");
        Volatile.Write(ref _membersResolved, true);

        static IMethodSymbol? Single(INamedTypeSymbol? type, string name)
        {
            if (type is null)
                return null;
            foreach (var member in type.GetMembers(name))
            {
                if (member is IMethodSymbol { Parameters.Length: 0 } method)
                    return method;
            }

            return null;
        }
    }

    private static bool Implements(ITypeSymbol? type, INamedTypeSymbol? @interface)
    {
        if (type is null || @interface is null)
            return false;
        if (SymbolEqualityComparer.Default.Equals(type.OriginalDefinition, @interface))
            return true;
        if (type is ITypeParameterSymbol parameter)
        {
            foreach (var constraint in parameter.ConstraintTypes)
            {
                if (Implements(constraint, @interface))
                    return true;
            }

            return false;
        }

        foreach (var candidate in type.AllInterfaces)
        {
            if (SymbolEqualityComparer.Default.Equals(candidate.OriginalDefinition, @interface))
                return true;
        }

        return false;
    }

    private static bool DerivesFrom(ITypeSymbol? type, INamedTypeSymbol? baseType)
    {
        if (baseType is null)
            return false;
        for (var t = type; t is not null; t = t.BaseType)
        {
            if (SymbolEqualityComparer.Default.Equals(t.OriginalDefinition, baseType))
                return true;
        }

        return false;
    }
}

/// <summary>A field assigned a native resource: the result (or an <c>out</c> argument) of a platform invoke or of a
/// native allocation helper, directly or through a local.</summary>
public sealed class NativeField
{
    public NativeField(IFieldSymbol field, IOperation assignment, IMethodSymbol? source)
    {
        Field = field;
        Assignment = assignment;
        Source = source;
    }

    public IFieldSymbol Field { get; }

    /// <summary>Where it is assigned (the assignment, initializer or argument).</summary>
    public IOperation Assignment { get; }

    /// <summary>The native method that produced the value (null for an unmanaged function pointer call).</summary>
    public IMethodSymbol? Source { get; }
}

/// <summary>The disposal facts of one type (<see cref="DisposableTypes.Of"/>).</summary>
public sealed class DisposableType
{
    private readonly DisposableTypes _owner;
    private readonly object _gate = new();
    private int _finalizerKind = -1;
    private IMethodSymbol? _nonTrivialFinalizer;
    private ImmutableArray<NativeField>? _nativeFields;
    private ImmutableArray<IFieldSymbol>? _handleFields;
    private FinalizationPath? _path;

    internal DisposableType(DisposableTypes owner, INamedTypeSymbol type)
    {
        _owner = owner;
        Type = type;
        IsDisposable = owner.IsDisposable(type);
        IsAsyncDisposable = owner.IsAsyncDisposable(type);
        IsSafeHandle = owner.IsSafeHandle(type);
        IsCriticalFinalizable = owner.IsCriticalFinalizable(type);
        for (var t = type; t is not null && t.SpecialType != SpecialType.System_Object; t = t.BaseType)
        {
            if (DeclaredFinalizer(t) is { } finalizer)
            {
                Finalizer = finalizer;
                break;
            }
        }

        if (type.TypeKind == TypeKind.Class)
        {
            DisposeMethod = DeclaredImplementation(type, owner.DisposeInterfaceMember);
            DisposeAsyncMethod = DeclaredImplementation(type, owner.DisposeAsyncInterfaceMember);
            for (var t = type; t is not null && DisposeBoolMethod is null; t = t.BaseType)
            {
                foreach (var member in t.GetMembers("Dispose"))
                {
                    if (member is IMethodSymbol { IsStatic: false, Parameters.Length: 1 } method
                        && method.Parameters[0].Type.SpecialType == SpecialType.System_Boolean)
                    {
                        DisposeBoolMethod = method;
                        break;
                    }
                }
            }
        }

    }

    public INamedTypeSymbol Type { get; }

    public bool IsDisposable { get; }

    public bool IsAsyncDisposable { get; }

    /// <summary>A <c>SafeHandle</c>: it is the runtime's answer to finalization, the rules leave it alone.</summary>
    public bool IsSafeHandle { get; }

    /// <summary>Derives from <c>CriticalFinalizerObject</c>.</summary>
    public bool IsCriticalFinalizable { get; }

    /// <summary>The finalizer an instance runs first: the type's own, else the nearest base type's (never
    /// <c>object.Finalize</c>); null when instances are not finalizable.</summary>
    public IMethodSymbol? Finalizer { get; }

    /// <summary>The type declares its own finalizer.</summary>
    public bool HasOwnFinalizer => Finalizer is not null && SymbolEqualityComparer.Default.Equals(Finalizer.ContainingType, Type);

    /// <summary>The method that implements <c>IDisposable.Dispose</c>, when this type declares it (implicitly or explicitly).</summary>
    public IMethodSymbol? DisposeMethod { get; }

    /// <summary>The method that implements <c>IAsyncDisposable.DisposeAsync</c>, when this type declares it.</summary>
    public IMethodSymbol? DisposeAsyncMethod { get; }

    /// <summary>The nearest <c>Dispose(bool)</c> of the type or its base types (declared or inherited).</summary>
    public IMethodSymbol? DisposeBoolMethod { get; }

    /// <summary>Instance fields declared in the type whose type can hold a native handle or native memory
    /// (<see cref="NativeMembers.IsHandleType"/>), whatever they are assigned.</summary>
    public ImmutableArray<IFieldSymbol> HandleFields
    {
        get
        {
            if (_handleFields is { } known)
                return known;
            var handles = ImmutableArray.CreateBuilder<IFieldSymbol>();
            foreach (var member in Type.GetMembers())
            {
                if (member is IFieldSymbol { IsConst: false, IsStatic: false } handle && NativeMembers.IsHandleType(handle.Type))
                    handles.Add(handle);
            }

            var computed = handles.ToImmutable();
            lock (_gate)
            {
                _handleFields ??= computed;
                return _handleFields.Value;
            }
        }
    }

    /// <summary>Whether the finalizers of the hierarchy do anything (<see cref="FinalizerKind"/>).</summary>
    public FinalizerKind GetFinalizerKind(CancellationToken cancellationToken)
    {
        ComputeFinalizerKind(cancellationToken);
        return (FinalizerKind)_finalizerKind;
    }

    /// <summary>The nearest finalizer of the hierarchy that does work in this build (null: none does).</summary>
    public IMethodSymbol? GetNonTrivialFinalizer(CancellationToken cancellationToken)
    {
        ComputeFinalizerKind(cancellationToken);
        return _nonTrivialFinalizer;
    }

    private void ComputeFinalizerKind(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _finalizerKind) >= 0)
            return;
        var kind = FinalizerKind.None;
        IMethodSymbol? nonTrivial = null;
        for (var t = Type; t is not null && t.SpecialType != SpecialType.System_Object; t = t.BaseType)
        {
            if (DeclaredFinalizer(t) is not { } finalizer)
                continue;
            if (_owner.KindOf(finalizer, cancellationToken) == FinalizerKind.NonTrivial)
            {
                nonTrivial = finalizer;
                kind = FinalizerKind.NonTrivial;
                break;
            }

            kind = FinalizerKind.Trivial;
        }

        lock (_gate)
        {
            _nonTrivialFinalizer = nonTrivial;
            Volatile.Write(ref _finalizerKind, (int)kind);
        }
    }

    /// <summary>The fields declared in this type that are assigned a native resource, in source order of their
    /// assignments (one entry per field). Binds the bodies of the type's members on the first call.</summary>
    public ImmutableArray<NativeField> GetNativeFields(CancellationToken cancellationToken)
    {
        if (_nativeFields is { } known)
            return known;
        var computed = NativeFieldScan.Scan(_owner, Type, cancellationToken);
        lock (_gate)
        {
            _nativeFields ??= computed;
            return _nativeFields.Value;
        }
    }

    /// <summary>What the type's own finalizer runs (null when it declares none in source here).</summary>
    public FinalizationPath? GetFinalizationPath(CancellationToken cancellationToken)
    {
        if (!HasOwnFinalizer)
            return null;
        var known = Volatile.Read(ref _path);
        if (known is not null)
            return known;
        var computed = FinalizationPath.Compute(_owner, Type, Finalizer!, cancellationToken);
        if (computed is null)
            return null;
        lock (_gate)
        {
            _path ??= computed;
            return _path;
        }
    }

    internal static IMethodSymbol? DeclaredFinalizer(INamedTypeSymbol type)
    {
        foreach (var member in type.GetMembers(WellKnownMemberNames.DestructorName))
        {
            if (member is IMethodSymbol { MethodKind: MethodKind.Destructor } finalizer)
                return finalizer;
        }

        return null;
    }

    private static IMethodSymbol? DeclaredImplementation(INamedTypeSymbol type, IMethodSymbol? interfaceMember)
    {
        if (interfaceMember is null)
            return null;
        return type.FindImplementationForInterfaceMember(interfaceMember) is IMethodSymbol implementation
               && SymbolEqualityComparer.Default.Equals(implementation.ContainingType.OriginalDefinition, type)
            ? implementation
            : null;
    }
}

/// <summary>Finds the fields of a type that are assigned native resources (see <see cref="NativeField"/>).</summary>
internal static class NativeFieldScan
{
    public static ImmutableArray<NativeField> Scan(DisposableTypes owner, INamedTypeSymbol type, CancellationToken cancellationToken)
    {
        var found = new List<NativeField>();
        foreach (var reference in type.DeclaringSyntaxReferences)
        {
            var declaration = reference.GetSyntax(cancellationToken);
            if (!owner.Compilation.ContainsSyntaxTree(declaration.SyntaxTree))
                continue;
            var model = owner.ModelOf(declaration.SyntaxTree);
            // Members of this type only: nested types have their own fields.
            foreach (var node in declaration.DescendantNodes(n => n == declaration || n is not BaseTypeDeclarationSyntax))
            {
                if (node is not (BaseMethodDeclarationSyntax or AccessorDeclarationSyntax or ArrowExpressionClauseSyntax or EqualsValueClauseSyntax))
                    continue;
                if (node is ArrowExpressionClauseSyntax && node.Parent is not PropertyDeclarationSyntax and not IndexerDeclarationSyntax)
                    continue;
                if (node is EqualsValueClauseSyntax && node.Parent?.Parent?.Parent is not FieldDeclarationSyntax)
                    continue;
                var operation = model.GetOperation(node, cancellationToken);
                if (operation is null)
                    continue;
                foreach (var op in operation.DescendantsAndSelf())
                    Inspect(type, op, found);
            }
        }

        return found.ToImmutableArray();
    }

    private static void Inspect(INamedTypeSymbol type, IOperation operation, List<NativeField> found)
    {
        switch (operation)
        {
            case ISimpleAssignmentOperation { Target: IFieldReferenceOperation target } assignment
                when Owned(type, target.Field) && NativeSource(assignment.Value, 0) is var (native, source) && native:
                Add(found, target.Field, assignment, source);
                break;
            case IFieldInitializerOperation initializer:
                if (NativeSource(initializer.Value, 0) is (true, var fromInitializer))
                {
                    foreach (var field in initializer.InitializedFields)
                    {
                        if (Owned(type, field))
                            Add(found, field, initializer, fromInitializer);
                    }
                }

                break;
            case IArgumentOperation { Parameter.RefKind: RefKind.Out or RefKind.Ref, Value: IFieldReferenceOperation target } argument
                when Owned(type, target.Field) && argument.Parent is IInvocationOperation invocation
                     && NativeMembers.Classify(invocation.TargetMethod) is NativeCallKind.PlatformInvoke or NativeCallKind.Allocates:
                Add(found, target.Field, argument, invocation.TargetMethod);
                break;
        }
    }

    private static bool Owned(INamedTypeSymbol type, IFieldSymbol field)
        => SymbolEqualityComparer.Default.Equals(field.ContainingType.OriginalDefinition, type) && NativeMembers.CanHoldHandle(field.Type);

    private static void Add(List<NativeField> found, IFieldSymbol field, IOperation assignment, IMethodSymbol? source)
    {
        foreach (var existing in found)
        {
            if (SymbolEqualityComparer.Default.Equals(existing.Field, field.OriginalDefinition))
                return;
        }

        found.Add(new NativeField(field.OriginalDefinition, assignment, source));
    }

    /// <summary>Whether the value comes from native code: a platform invoke or an allocation helper (through
    /// conversions and <c>IntPtr.ToPointer()</c>), an unmanaged function pointer call, or a local assigned one.</summary>
    private static (bool Native, IMethodSymbol? Source) NativeSource(IOperation? value, int depth)
    {
        while (true)
        {
            switch (value)
            {
                case IConversionOperation conversion:
                    value = conversion.Operand;
                    continue;
                case IInvocationOperation { TargetMethod.Name: "ToPointer", Instance: { } instance }:
                    value = instance;
                    continue;
                case IInvocationOperation invocation:
                    return NativeMembers.Classify(invocation.TargetMethod) is NativeCallKind.PlatformInvoke or NativeCallKind.Allocates
                        ? (true, invocation.TargetMethod)
                        : (false, null);
                case IFunctionPointerInvocationOperation pointerCall:
                    return (NativeMembers.IsNativeCall(pointerCall), null);
                case ILocalReferenceOperation local when depth == 0:
                    return LocalSource(local, depth);
                default:
                    return (false, null);
            }
        }
    }

    private static (bool, IMethodSymbol?) LocalSource(ILocalReferenceOperation reference, int depth)
    {
        var facts = Bodies.BodyFacts.Of(reference);
        if (facts.DeclaratorOf(reference.Local) is { } declarator && declarator.GetVariableInitializer() is { } initializer
            && NativeSource(initializer.Value, depth + 1) is (true, var fromInitializer))
        {
            return (true, fromInitializer);
        }

        foreach (var write in facts.WritesTo(reference.Local))
        {
            if (write.Parent is ISimpleAssignmentOperation assignment && assignment.Target == write
                && NativeSource(assignment.Value, depth + 1) is (true, var fromAssignment))
            {
                return (true, fromAssignment);
            }

            if (write.Parent is IArgumentOperation { Parent: IInvocationOperation invocation }
                && NativeMembers.Classify(invocation.TargetMethod) is NativeCallKind.PlatformInvoke or NativeCallKind.Allocates)
            {
                return (true, invocation.TargetMethod);
            }
        }

        return (false, null);
    }
}
