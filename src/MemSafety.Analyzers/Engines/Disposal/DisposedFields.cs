using System.Collections.Generic;
using System.Collections.Immutable;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Engines.Disposal;

/// <summary>What the members of one type do with one of its fields: which disposable values they store into it
/// (created here, or received), whether they hand its value on, and which members dispose it
/// (<see cref="DisposedFields.Scan"/>).</summary>
public sealed class FieldLifetime
{
    internal FieldLifetime(IFieldSymbol field) => Field = field;

    public IFieldSymbol Field { get; }

    /// <summary>The first store of a value the type creates that has something to release (a <c>new</c> of a
    /// disposable type not on the ignore list, or a known creating factory such as <c>File.OpenRead</c>): the field
    /// initializer, assignment or <c>??=</c>. Null when the type creates none.</summary>
    public IOperation? Creation { get; internal set; }

    /// <summary>The type of the value <see cref="Creation"/> stores.</summary>
    public ITypeSymbol? CreatedType { get; internal set; }

    /// <summary>Some store puts a value into the field that the type did not create (a parameter, a call's result,
    /// another field, <c>x ?? new T()</c>, an <c>out</c>/<c>ref</c> argument): the type may not own what it holds.</summary>
    public bool Received { get; internal set; }

    /// <summary>Some read hands the value on (an argument, a return, a store elsewhere, a delegate bound to it, a
    /// pattern variable, a use the scan does not model): someone else may own or dispose it.</summary>
    public bool HandedAway { get; internal set; }

    /// <summary>The type creates every value it stores here (or stores null) and never hands it on.</summary>
    public bool IsOwned => Creation is not null && !Received && !HandedAway;

    /// <summary>Members whose code disposes the field (<c>Dispose</c>, <c>DisposeAsync</c> or <c>Close</c> called on
    /// it, directly, with <c>?.</c>, through a conversion or a local copy; a <c>using</c> of it). A lambda or local
    /// function counts for the member that contains it; a field initializer is no member (never disposes).</summary>
    public IReadOnlyList<ISymbol> DisposedIn => _disposedIn;

    /// <summary>Members that dispose the field and, later in their code, store a new creation into it: they replace
    /// the value (<c>_f.Dispose(); _f = new F();</c>), they do not end the field's use (the last value still needs
    /// disposing). A member that creates first and disposes later (create, use, dispose in <c>finally</c>) ends it.</summary>
    public IReadOnlyList<ISymbol> ReplacedIn => _replacedIn;

    /// <summary>Some member disposes the field other than to replace it.</summary>
    public bool IsDisposedBeyondReplacement => _endsLife;

    /// <summary>Whether one of <paramref name="members"/> disposes the field.</summary>
    public bool IsDisposedByAnyOf(IEnumerable<ISymbol> members)
    {
        foreach (var member in members)
        {
            if (Contains(_disposedIn, member))
                return true;
        }

        return false;
    }

    private readonly List<ISymbol> _disposedIn = new();
    private readonly List<ISymbol> _replacedIn = new();
    private readonly List<(ISymbol Member, SyntaxTree Tree, int Position)> _disposals = new();
    private readonly List<(ISymbol Member, SyntaxTree Tree, int Position)> _creations = new();
    private bool _endsLife;

    internal void AddDisposal(ISymbol? member, SyntaxNode at)
    {
        if (member is null)
            return;
        if (!Contains(_disposedIn, member))
            _disposedIn.Add(member);
        _disposals.Add((member, at.SyntaxTree, at.SpanStart));
    }

    internal void AddCreation(ISymbol? member, SyntaxNode at)
    {
        if (member is not null)
            _creations.Add((member, at.SyntaxTree, at.SpanStart));
    }

    internal void Complete()
    {
        foreach (var disposal in _disposals)
        {
            var replaced = false;
            foreach (var creation in _creations)
            {
                if (SymbolEqualityComparer.Default.Equals(creation.Member, disposal.Member) && creation.Tree == disposal.Tree && creation.Position > disposal.Position)
                {
                    replaced = true;
                    break;
                }
            }

            if (!replaced)
                _endsLife = true;
            else if (!Contains(_replacedIn, disposal.Member))
                _replacedIn.Add(disposal.Member);
        }
    }

    private static bool Contains(List<ISymbol> list, ISymbol symbol)
    {
        foreach (var existing in list)
        {
            if (SymbolEqualityComparer.Default.Equals(existing, symbol))
                return true;
        }

        return false;
    }
}

/// <summary>
/// Field-level disposal facts of a type, read from the code of its members (nested types included): what each
/// field is assigned (created here or received: <see cref="FieldLifetime"/>), whether its value is handed on, which
/// members dispose it; and which methods a type's disposal runs (<see cref="DisposePath"/>). Only the members
/// that mention a field's name are bound (a textual prefilter); nothing is cached (MSA4007 asks once per type).
/// </summary>
public static class DisposedFields
{
    /// <summary>The facts of <paramref name="fields"/> (instance fields declared in <paramref name="type"/>), in the
    /// same order, binding the members that mention them (nested types included) through <see cref="DisposableTypes"/>'
    /// semantic models. A field also mentioned where no member body can be bound (an attribute argument, a primary
    /// constructor's base arguments) is <see cref="FieldLifetime.HandedAway"/>, as is anything in code with syntax errors.</summary>
    public static ImmutableArray<FieldLifetime> Scan(DisposableTypes disposal, INamedTypeSymbol type, IReadOnlyList<IFieldSymbol> fields, CancellationToken cancellationToken)
        => Scan(new Ownership(disposal), type, fields, cancellationToken);

    /// <summary><see cref="Scan(DisposableTypes, INamedTypeSymbol, IReadOnlyList{IFieldSymbol}, CancellationToken)"/> with
    /// <paramref name="ownership"/>'s creations and each file's ignore list.</summary>
    public static ImmutableArray<FieldLifetime> Scan(Ownership ownership, INamedTypeSymbol type, IReadOnlyList<IFieldSymbol> fields, CancellationToken cancellationToken)
    {
        var disposal = ownership.Types;
        var collector = new FieldLifetimeCollector(ownership, fields);
        var roots = new HashSet<SyntaxNode>();

        // Field initializers: the declarator carries the name as a token, not as an identifier the walk below finds.
        foreach (var field in fields)
        {
            foreach (var reference in field.DeclaringSyntaxReferences)
            {
                if (reference.GetSyntax(cancellationToken) is VariableDeclaratorSyntax { Initializer: { } initializer } declarator
                    && disposal.Compilation.ContainsSyntaxTree(declarator.SyntaxTree) && roots.Add(initializer)
                    && disposal.ModelOf(initializer.SyntaxTree).GetOperation(initializer, cancellationToken) is { } operation)
                {
                    collector.Add(null, operation, cancellationToken);
                }
            }
        }

        foreach (var (name, root) in Mentions(disposal, type, collector, bindNestedTypes: true, cancellationToken))
        {
            if (root is null)
            {
                // Not inside code the scan binds: if it is the field, its use is unknown.
                var symbol = disposal.ModelOf(name.SyntaxTree).GetSymbolInfo(name, cancellationToken).Symbol;
                collector.HandedAwayIfNamed(name.Identifier.ValueText, symbol);
                continue;
            }

            if (roots.Add(root) && disposal.ModelOf(root.SyntaxTree).GetOperation(root, cancellationToken) is { } operation)
                collector.Add(MemberOf(disposal, root, cancellationToken), operation, cancellationToken);
        }

        return collector.Complete();
    }

    /// <summary>The identifiers in <paramref name="type"/>'s declarations that spell a field's name, each with the
    /// syntax whose operation tree holds it (null: none the scan binds, or a nested type's member when
    /// <paramref name="bindNestedTypes"/> is false). Marks every field handed away when a declaration has syntax errors.</summary>
    private static IEnumerable<(IdentifierNameSyntax Name, SyntaxNode? Root)> Mentions(
        DisposableTypes disposal, INamedTypeSymbol type, FieldLifetimeCollector collector, bool bindNestedTypes, CancellationToken cancellationToken)
    {
        foreach (var reference in type.DeclaringSyntaxReferences)
        {
            var declaration = reference.GetSyntax(cancellationToken);
            if (!disposal.Compilation.ContainsSyntaxTree(declaration.SyntaxTree))
                continue;
            if (declaration.ContainsDiagnostics)
            {
                collector.AllHandedAway();
                continue;
            }

            foreach (var token in declaration.DescendantTokens())
            {
                if (!token.IsKind(SyntaxKind.IdentifierToken) || token.Parent is not IdentifierNameSyntax name || !collector.IsFieldName(token.ValueText))
                    continue;
                var root = RootOf(name);
                if (!bindNestedTypes && root is not null && root.FirstAncestorOrSelf<BaseTypeDeclarationSyntax>() != declaration)
                    root = null;
                yield return (name, root);
            }
        }
    }

    /// <summary>For a rule that receives the type's operation blocks from the analyzer driver (which binds them once for
    /// every analyzer) instead of binding them again: the mentions of the fields that no block of the type itself
    /// holds (attribute arguments, nested types' members) make those fields handed away, without binding.</summary>
    public static void MarkMentionsOutsideOwnBlocks(DisposableTypes disposal, INamedTypeSymbol type, FieldLifetimeCollector collector, CancellationToken cancellationToken)
    {
        foreach (var (name, root) in Mentions(disposal, type, collector, bindNestedTypes: false, cancellationToken))
        {
            if (root is null)
                collector.HandedAwayIfNamed(name.Identifier.ValueText, null);
        }
    }

    /// <summary>The methods that disposing an instance of <paramref name="type"/> runs in its own code: the
    /// <c>Dispose()</c>, <c>DisposeAsync()</c>, <c>Dispose(bool)</c> and <c>DisposeAsyncCore()</c> it declares, and
    /// the methods they call on <c>this</c> (every override of the compilation for a virtual one), four calls deep.</summary>
    public static IReadOnlyList<IMethodSymbol> DisposePath(DisposableTypes disposal, INamedTypeSymbol type, CancellationToken cancellationToken)
    {
        var path = new List<IMethodSymbol>();
        var queue = new Queue<(IMethodSymbol Method, int Depth)>();
        foreach (var start in DisposeMethodsDeclaredBy(disposal, type))
            Enqueue(start, 0);
        while (queue.Count > 0)
        {
            var (method, depth) = queue.Dequeue();
            if (depth >= 4 || disposal.BodyOf(method, cancellationToken) is not { } body)
                continue;
            foreach (var operation in body.DescendantsAndSelf())
            {
                if (operation is IInvocationOperation { Instance: IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance } } invocation)
                {
                    foreach (var target in disposal.DispatchTargets(invocation, type, out _))
                        Enqueue(target.OriginalDefinition, depth + 1);
                }
            }
        }

        return path;

        void Enqueue(IMethodSymbol method, int depth)
        {
            foreach (var known in path)
            {
                if (SymbolEqualityComparer.Default.Equals(known, method))
                    return;
            }

            path.Add(method);
            queue.Enqueue((method, depth));
        }
    }

    /// <summary>The dispose methods <paramref name="type"/> declares itself: the implementations of
    /// <c>IDisposable.Dispose</c> and <c>IAsyncDisposable.DisposeAsync</c>, an instance <c>Dispose(bool)</c> and a
    /// parameterless <c>DisposeAsyncCore()</c>.</summary>
    public static IReadOnlyList<IMethodSymbol> DisposeMethodsDeclaredBy(DisposableTypes disposal, INamedTypeSymbol type)
    {
        var facts = disposal.Of(type);
        var methods = new List<IMethodSymbol>();
        if (facts.DisposeMethod is { } dispose)
            methods.Add(dispose.OriginalDefinition);
        if (facts.DisposeAsyncMethod is { } disposeAsync)
            methods.Add(disposeAsync.OriginalDefinition);
        if (DeclaredDisposeBool(type) is { } disposeBool)
            methods.Add(disposeBool);
        foreach (var member in type.OriginalDefinition.GetMembers("DisposeAsyncCore"))
        {
            if (member is IMethodSymbol { IsStatic: false, Parameters.Length: 0 } core)
                methods.Add(core);
        }

        return methods;
    }

    /// <summary>The instance <c>Dispose(bool)</c> the type declares itself (null: none, or only inherited).</summary>
    public static IMethodSymbol? DeclaredDisposeBool(INamedTypeSymbol type)
    {
        foreach (var member in type.OriginalDefinition.GetMembers("Dispose"))
        {
            if (member is IMethodSymbol { IsStatic: false, Parameters.Length: 1 } method && method.Parameters[0].Type.SpecialType == SpecialType.System_Boolean)
                return method;
        }

        return null;
    }

    /// <summary>Syntax whose operation tree the scan binds: a member's body (with its constructor initializer), an
    /// expression-bodied property or indexer, a field or property initializer. Null elsewhere.</summary>
    private static SyntaxNode? RootOf(SyntaxNode node)
    {
        for (var current = node.Parent; current is not null; current = current.Parent)
        {
            switch (current)
            {
                case BaseMethodDeclarationSyntax:
                case AccessorDeclarationSyntax:
                    return current;
                case ArrowExpressionClauseSyntax when current.Parent is PropertyDeclarationSyntax or IndexerDeclarationSyntax:
                    return current;
                case EqualsValueClauseSyntax when current.Parent is VariableDeclaratorSyntax { Parent.Parent: FieldDeclarationSyntax } or PropertyDeclarationSyntax:
                    return current;
                case BaseTypeDeclarationSyntax:
                case AttributeSyntax:
                    return null;
            }
        }

        return null;
    }

    private static ISymbol? MemberOf(DisposableTypes disposal, SyntaxNode root, CancellationToken cancellationToken)
    {
        var model = disposal.ModelOf(root.SyntaxTree);
        return root switch
        {
            ArrowExpressionClauseSyntax arrow => (model.GetDeclaredSymbol(arrow.Parent!, cancellationToken) as IPropertySymbol)?.GetMethod,
            EqualsValueClauseSyntax => null,
            _ => model.GetDeclaredSymbol(root, cancellationToken),
        };
    }
}

/// <summary>Collects <see cref="FieldLifetime"/> facts from operation trees of one type's members, in any order and
/// from several threads (an analyzer's operation-block actions), then completes them once.</summary>
public sealed class FieldLifetimeCollector
{
    private readonly DisposableTypes _disposal;
    private readonly Ownership _ownership;
    private readonly IReadOnlyList<IFieldSymbol> _fields;
    private readonly FieldLifetime[] _lifetimes;
    private readonly object _gate = new();

    /// <summary>Collects with the default ignore list (<see cref="IgnoredTypes.Default"/>) and a private ownership engine.</summary>
    public FieldLifetimeCollector(DisposableTypes disposal, IReadOnlyList<IFieldSymbol> fields)
        : this(new Ownership(disposal), fields)
    {
    }

    /// <summary>Collects with <paramref name="ownership"/>'s creations and each file's ignore list (<see cref="Ownership.IgnoredTypesIn"/>).</summary>
    public FieldLifetimeCollector(Ownership ownership, IReadOnlyList<IFieldSymbol> fields)
    {
        _ownership = ownership;
        _disposal = ownership.Types;
        _fields = fields;
        _lifetimes = new FieldLifetime[fields.Count];
        for (var i = 0; i < fields.Count; i++)
            _lifetimes[i] = new FieldLifetime(fields[i]);
    }

    internal bool IsFieldName(string name)
    {
        foreach (var field in _fields)
        {
            if (field.Name == name)
                return true;
        }

        return false;
    }

    internal void AllHandedAway()
    {
        lock (_gate)
        {
            foreach (var lifetime in _lifetimes)
                lifetime.HandedAway = true;
        }
    }

    /// <summary>The fields named <paramref name="name"/> (all of them when <paramref name="symbol"/> is null, else the
    /// one it is) are handed away.</summary>
    internal void HandedAwayIfNamed(string name, ISymbol? symbol)
    {
        lock (_gate)
        {
            for (var i = 0; i < _fields.Count; i++)
            {
                if (_fields[i].Name == name && (symbol is null || SymbolEqualityComparer.Default.Equals(symbol.OriginalDefinition, _fields[i])))
                    _lifetimes[i].HandedAway = true;
            }
        }
    }

    /// <summary>Reads one operation tree of <paramref name="member"/> (null for a field or property initializer).</summary>
    public void Add(ISymbol? member, IOperation root, CancellationToken cancellationToken)
    {
        if (member is IFieldSymbol or IPropertySymbol)
            member = null;
        foreach (var op in root.DescendantsAndSelf())
        {
            switch (op)
            {
                case IFieldInitializerOperation initializer:
                    foreach (var field in initializer.InitializedFields)
                    {
                        if (IndexOf(field) is { } index)
                            Store(_lifetimes[index], initializer.Value, initializer, member);
                    }

                    break;
                case IFieldReferenceOperation reference when IndexOf(reference.Field) is { } index:
                    Reference(_lifetimes[index], reference, member, cancellationToken);
                    break;
            }
        }
    }

    /// <summary>The facts, in the order of the fields given; call once, after every tree was added.</summary>
    public ImmutableArray<FieldLifetime> Complete()
    {
        lock (_gate)
        {
            foreach (var lifetime in _lifetimes)
                lifetime.Complete();
            return ImmutableArray.Create(_lifetimes);
        }
    }

    private int? IndexOf(IFieldSymbol field)
    {
        var definition = field.OriginalDefinition;
        for (var i = 0; i < _fields.Count; i++)
        {
            if (SymbolEqualityComparer.Default.Equals(_fields[i], definition))
                return i;
        }

        return null;
    }

    private void Reference(FieldLifetime lifetime, IFieldReferenceOperation reference, ISymbol? member, CancellationToken cancellationToken)
    {
        switch (reference.Parent)
        {
            case ISimpleAssignmentOperation assignment when assignment.Target == reference:
                Store(lifetime, assignment.Value, assignment, member);
                return;
            case ICoalesceAssignmentOperation coalesce when coalesce.Target == reference:
                Store(lifetime, coalesce.Value, coalesce, member);
                return;
            case IAssignmentOperation assignment when assignment.Target == reference:
                lock (_gate)
                    lifetime.Received = true;
                return;
            case IArgumentOperation { Parameter.RefKind: RefKind.Ref or RefKind.Out }:
                lock (_gate)
                {
                    lifetime.Received = true;
                    lifetime.HandedAway = true;
                }

                return;
        }

        var use = new Uses(_disposal, cancellationToken).Classify(reference, 0);
        lock (_gate)
        {
            if ((use & Use.Disposes) != 0)
                lifetime.AddDisposal(member, reference.Syntax);
            if ((use & Use.HandsAway) != 0)
                lifetime.HandedAway = true;
        }
    }

    private void Store(FieldLifetime lifetime, IOperation value, IOperation store, ISymbol? member)
    {
        var kind = _ownership.ClassifyStored(value, _ownership.IgnoredTypesIn(value.Syntax.SyntaxTree));
        lock (_gate)
        {
            switch (kind)
            {
                case StoredValue.Nothing:
                    return;
                case StoredValue.NothingToRelease:
                    lifetime.AddCreation(member, store.Syntax);
                    return;
                case StoredValue.Created:
                    lifetime.AddCreation(member, store.Syntax);
                    // The first in source order, whatever order the trees came in.
                    if (lifetime.Creation is null || IsBefore(store.Syntax, lifetime.Creation.Syntax))
                    {
                        lifetime.Creation = store;
                        lifetime.CreatedType = Ownership.StoredCreationType(value);
                    }

                    return;
                default:
                    lifetime.Received = true;
                    return;
            }
        }
    }

    private static bool IsBefore(SyntaxNode a, SyntaxNode b)
    {
        var byPath = string.CompareOrdinal(a.SyntaxTree.FilePath, b.SyntaxTree.FilePath);
        return byPath != 0 ? byPath < 0 : a.SpanStart < b.SpanStart;
    }
}

[System.Flags]
internal enum Use
{
    None = 0,
    Disposes = 1,
    HandsAway = 2,
}

/// <summary>How a read of a disposable value is used: disposed (<c>Dispose</c>/<c>DisposeAsync</c>/<c>Close</c>, a
/// <c>using</c>), handed on (anything but a receiver, a null test, a <c>lock</c>), or neither.</summary>
internal readonly struct Uses
{
    private readonly DisposableTypes _disposal;
    private readonly CancellationToken _cancellationToken;

    public Uses(DisposableTypes disposal, CancellationToken cancellationToken)
    {
        _disposal = disposal;
        _cancellationToken = cancellationToken;
    }

    public Use Classify(IOperation value, int depth)
    {
        var current = value;
        while (current.Parent is IConversionOperation conversion && conversion.Operand == current)
            current = conversion;
        switch (current.Parent)
        {
            case IInvocationOperation invocation when invocation.Instance == current:
                return IsDisposeName(invocation.TargetMethod.Name) ? Use.Disposes : Use.None;
            case IMethodReferenceOperation method when method.Instance == current:
                // A delegate bound to the object keeps it; one bound to its Dispose hands its disposal to whoever calls it.
                return IsDisposeName(method.Method.Name) ? Use.Disposes : Use.HandsAway;
            case IMemberReferenceOperation member when member.Instance == current:
                return Use.None;
            case IConditionalAccessOperation access when access.Operation == current:
                return FirstConditionalInstance(access.WhenNotNull) is { } instance ? Classify(instance, depth) : Use.HandsAway;
            case IUsingOperation @using when @using.Resources == current:
                return Use.Disposes;
            case IBinaryOperation { OperatorMethod: null }:
            case IIsTypeOperation:
            case ILockOperation:
            case INameOfOperation:
            case IAwaitOperation:
                return Use.None;
            case IIsPatternOperation pattern:
                return DeclaresVariable(pattern.Pattern) ? Use.HandsAway : Use.None;
            case IForEachLoopOperation loop when loop.Collection == current:
                return Use.None;
            case IVariableInitializerOperation { Parent: IVariableDeclaratorOperation declarator }:
                return depth > 0 ? Use.HandsAway : LocalCopy(declarator.Symbol, declarator, depth);
            case ISimpleAssignmentOperation { Target: ILocalReferenceOperation local } assignment when assignment.Value == current:
                return depth > 0 ? Use.HandsAway : LocalCopy(local.Local, assignment, depth);
            case IArgumentOperation { Parameter: { RefKind: RefKind.None or RefKind.In } parameter, Parent: IInvocationOperation invocation }:
                return Argument(invocation.TargetMethod, parameter, depth);
            default:
                return Use.HandsAway;
        }
    }

    /// <summary>A value passed to a method: a platform invoke or a library member known to keep nothing uses it
    /// during the call only; a method of the compilation that no override can replace does with it what its body
    /// does with the parameter (one level: it may dispose it, keep it, or only call it); anything else may keep it.</summary>
    private Use Argument(IMethodSymbol method, IParameterSymbol parameter, int depth)
    {
        if (method.IsExtern || (method.DeclaringSyntaxReferences.Length == 0 && Escape.NonRetainingMembers.IsNonRetaining(method, out var aliases) && !aliases))
            return Use.None;
        var callee = method.OriginalDefinition;
        if (depth > 0 || ((callee.IsVirtual || callee.IsOverride || callee.IsAbstract) && !callee.IsSealed && !callee.ContainingType.IsSealed)
            || _disposal.BodyOf(callee, _cancellationToken) is not { } body)
        {
            return Use.HandsAway;
        }

        var result = Use.None;
        foreach (var reference in Bodies.BodyFacts.Of(body).ReferencesTo(callee.Parameters[parameter.Ordinal]))
            result |= Classify(reference, depth + 1);
        return result;
    }

    /// <summary>A local that holds a copy of the value: what its uses do (a <c>using</c> declaration of it disposes).</summary>
    private Use LocalCopy(ILocalSymbol local, IOperation at, int depth)
    {
        if (at is IVariableDeclaratorOperation declarator
            && declarator.Parent is IVariableDeclarationOperation { Parent: IVariableDeclarationGroupOperation group }
            && (group.Parent is IUsingDeclarationOperation || (group.Parent is IUsingOperation @using && @using.Resources == group)))
        {
            return Use.Disposes;
        }

        var result = Use.None;
        foreach (var reference in Bodies.BodyFacts.Of(at).ReferencesTo(local))
        {
            if (reference.Parent is ISimpleAssignmentOperation assignment && assignment.Target == reference)
                continue;
            result |= Classify(reference, depth + 1);
        }

        return result;
    }

    private static IOperation? FirstConditionalInstance(IOperation whenNotNull)
    {
        foreach (var operation in whenNotNull.DescendantsAndSelf())
        {
            if (operation is IConditionalAccessInstanceOperation instance)
                return instance;
        }

        return null;
    }

    private static bool DeclaresVariable(IPatternOperation pattern)
    {
        foreach (var operation in pattern.DescendantsAndSelf())
        {
            if (operation is IDeclarationPatternOperation { DeclaredSymbol: not null } or IRecursivePatternOperation { DeclaredSymbol: not null } or IListPatternOperation { DeclaredSymbol: not null })
                return true;
        }

        return false;
    }

    public static bool IsDisposeName(string name) => name is "Dispose" or "DisposeAsync" or "Close";
}
