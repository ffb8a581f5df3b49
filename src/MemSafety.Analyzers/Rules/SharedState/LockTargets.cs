using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.SharedState;

/// <summary>Why a lock's object is not the type's own (MSA6004).</summary>
public enum LockTargetKind
{
    /// <summary>The object is private to the type: nothing to report.</summary>
    Private,

    /// <summary><c>this</c> of a type that code outside the assembly can hold.</summary>
    PublicInstance,

    /// <summary><c>typeof(T)</c> or <c>GetType()</c>: one object per type, process-wide.</summary>
    TypeObject,

    /// <summary>A string literal or constant, or a field that only ever holds one: interned, process-wide.</summary>
    InternedString,

    /// <summary>Any other <c>Type</c>/<c>MemberInfo</c>/<c>ParameterInfo</c>: reflection hands out one object per member.</summary>
    ReflectionObject,

    /// <summary>A <c>Thread</c>: any code on the thread reaches it through <c>Thread.CurrentThread</c>.</summary>
    Thread,

    /// <summary>A field code outside the assembly can read (and, unless read-only, replace).</summary>
    ExposedField,

    /// <summary>A private field that a member other than a constructor assigns a new object.</summary>
    ReassignedField,
}

/// <summary>A lock's object, classified: its kind, and the words a message needs.</summary>
public readonly struct LockTarget
{
    public LockTarget(LockTargetKind kind, IOperation value, ISymbol? symbol, string? assignedIn)
    {
        Kind = kind;
        Value = value;
        Symbol = symbol;
        AssignedIn = assignedIn;
    }

    public LockTargetKind Kind { get; }

    /// <summary>The locked expression, conversions to <c>object</c> removed.</summary>
    public IOperation Value { get; }

    /// <summary>The field (or for <c>this</c>, the type; for <c>typeof</c>, the type named) the lock is on.</summary>
    public ISymbol? Symbol { get; }

    /// <summary>For <see cref="LockTargetKind.ReassignedField"/>: the member that assigns it.</summary>
    public string? AssignedIn { get; }
}

/// <summary>
/// Classifies the object of a <c>lock</c> statement or <c>Monitor.Enter/TryEnter</c> call: is it an object only this
/// type can lock, one that other code can lock too, or one that changes under the lock. One instance per compilation:
/// "which members assign this private field" is answered once per field (a scan of the declaring type's syntax,
/// bound only where the field's name is written).
/// </summary>
public sealed class LockTargets
{
    private readonly Compilation _compilation;
    private readonly ConcurrentDictionary<IFieldSymbol, string> _assignedIn = new(SymbolEqualityComparer.Default);
    private readonly ConcurrentDictionary<SyntaxTree, SemanticModel> _models = new();
    private readonly ConcurrentDictionary<(INamedTypeSymbol Type, string Name), bool> _setupHelpers = new(SetupHelperKeyComparer.Instance);

    public LockTargets(Compilation compilation) => _compilation = compilation;

    /// <summary>The object locked by <paramref name="lockOrEnter"/>: a lock statement's value, or the first argument of
    /// <c>Monitor.Enter</c>/<c>Monitor.TryEnter</c>; null for other operations.</summary>
    public static IOperation? LockedValue(IOperation lockOrEnter)
    {
        switch (lockOrEnter)
        {
            case ILockOperation lockOperation:
                return lockOperation.LockedValue;
            case IInvocationOperation { TargetMethod: { Name: "Enter" or "TryEnter", IsStatic: true } method, Arguments.Length: > 0 } invocation
                when IsSystemThreading(method.ContainingType, "Monitor"):
                foreach (var argument in invocation.Arguments)
                {
                    if (argument.Parameter?.Ordinal == 0)
                        return argument.Value;
                }

                return null;
            default:
                return null;
        }
    }

    public LockTarget Classify(IOperation lockedValue, INamedTypeSymbol? containingType, CancellationToken cancellationToken)
    {
        var value = lockedValue;
        while (value is IConversionOperation { IsImplicit: true } conversion)
            value = conversion.Operand;
        while (value is IParenthesizedOperation parenthesized)
            value = parenthesized.Operand;

        switch (value)
        {
            case IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance }
                when containingType is not null && IsVisibleOutsideAssembly(containingType) && !HasSyncRoot(containingType):
                return new LockTarget(LockTargetKind.PublicInstance, value, containingType, null);
            case ITypeOfOperation typeOf:
                return new LockTarget(LockTargetKind.TypeObject, value, typeOf.TypeOperand, null);
            case IInvocationOperation { TargetMethod: { Name: "GetType", Parameters.Length: 0 } getType } when getType.ContainingType?.SpecialType == SpecialType.System_Object:
                return new LockTarget(LockTargetKind.TypeObject, value, null, null);
        }

        if (value.Type is { } type)
        {
            if (type.SpecialType == SpecialType.System_String)
                return IsInterned(value, cancellationToken) ? new LockTarget(LockTargetKind.InternedString, value, (value as IFieldReferenceOperation)?.Field, null) : default;
            if (DerivesFrom(type, "System.Reflection", "MemberInfo") || DerivesFrom(type, "System.Reflection", "ParameterInfo"))
                return new LockTarget(LockTargetKind.ReflectionObject, value, (value as IMemberReferenceOperation)?.Member, null);
            if (IsSystemThreading(type, "Thread"))
                return new LockTarget(LockTargetKind.Thread, value, (value as IMemberReferenceOperation)?.Member, null);
        }

        if (value is IFieldReferenceOperation { Field: { } field })
        {
            if (IsVisibleOutsideAssembly(field) && (!field.IsReadOnly || !IsLockObjectType(field.Type)))
                return new LockTarget(LockTargetKind.ExposedField, value, field, null);
            if (field.DeclaredAccessibility == Accessibility.Private && !field.IsReadOnly && !field.IsConst
                && AssignedIn(field, cancellationToken) is { Length: > 0 } member)
            {
                return new LockTarget(LockTargetKind.ReassignedField, value, field, member);
            }
        }

        return new LockTarget(LockTargetKind.Private, value, null, null);
    }

    /// <summary>Types meant only to be locked: a public read-only field of one is published for locking on purpose
    /// (a <c>SyncRoot</c>), not data that others lock by accident.</summary>
    private static bool IsLockObjectType(ITypeSymbol type)
        => type.SpecialType == SpecialType.System_Object || IsSystemThreading(type, "Lock");

    /// <summary>A type with a <c>SyncRoot</c> member (<c>ICollection.SyncRoot</c> returning <c>this</c>) tells its
    /// users to lock the instance: <c>lock (this)</c> is then its documented contract.</summary>
    private static bool HasSyncRoot(INamedTypeSymbol type)
    {
        for (var current = type; current is not null; current = current.BaseType)
        {
            if (!current.GetMembers("SyncRoot").IsEmpty || !current.GetMembers("System.Collections.ICollection.SyncRoot").IsEmpty)
                return true;
        }

        return false;
    }

    private static bool IsInterned(IOperation value, CancellationToken cancellationToken)
    {
        if (value.ConstantValue.HasValue)
            return value.ConstantValue.Value is string;
        if (value is IInvocationOperation { TargetMethod: { Name: "Intern" or "IsInterned", IsStatic: true } intern } && intern.ContainingType.SpecialType == SpecialType.System_String)
            return true;

        // A read-only field whose only value is its initializer's constant: `static readonly string Key = "k";`.
        if (value is IFieldReferenceOperation { Field: { IsReadOnly: true } field } && field.DeclaringSyntaxReferences.Length == 1
            && field.DeclaringSyntaxReferences[0].GetSyntax(cancellationToken) is VariableDeclaratorSyntax { Initializer.Value: LiteralExpressionSyntax literal }
            && literal.IsKind(SyntaxKind.StringLiteralExpression))
        {
            return !AssignedInConstructor(field, cancellationToken);
        }

        return false;
    }

    private static bool AssignedInConstructor(IFieldSymbol field, CancellationToken cancellationToken)
    {
        foreach (var reference in field.ContainingType.DeclaringSyntaxReferences)
        {
            foreach (var node in reference.GetSyntax(cancellationToken).DescendantNodes())
            {
                if (node is IdentifierNameSyntax identifier && identifier.Identifier.ValueText == field.Name && IsWriteTarget(identifier, out _))
                    return true;
            }
        }

        return false;
    }

    /// <summary>The first member other than a constructor that assigns the field a new object ("" when none):
    /// a plain assignment, an <c>out</c>/<c>ref</c> argument or <c>Interlocked.Exchange</c>. For a field of a data
    /// type (a stream, a list), only an assignment made while holding the lock on that same field counts
    /// (<c>lock (_items) { _items = new List&lt;T&gt;(); }</c>): elsewhere the lock may guard the object it is taken
    /// on (its position, its contents), which a new object brings its own lock for. For an <c>object</c> or
    /// <c>Lock</c> field, whose only use is to be locked, every assignment counts. Not counted, because the lock
    /// cannot change under a thread that holds it: constructors (of the field's static-ness), object initializers
    /// of a new instance, null or default (a later lock throws rather than splits), <c>??=</c>, an assignment
    /// under a null check of the field, <c>Interlocked.CompareExchange(ref f, v, null)</c> and
    /// <c>LazyInitializer.EnsureInitialized</c> (lazy creation: the field goes from null to one object, once).</summary>
    public string AssignedIn(IFieldSymbol field, CancellationToken cancellationToken)
    {
        if (_assignedIn.TryGetValue(field, out var known))
            return known;
        var result = string.Empty;
        var dedicated = IsLockObjectType(field.Type);
        foreach (var reference in field.ContainingType.DeclaringSyntaxReferences)
        {
            var type = reference.GetSyntax(cancellationToken);
            if (IdentifiersSpelled(type, field.Name, cancellationToken) is { } identifiers)
            {
                foreach (var identifier in identifiers)
                {
                    if (Assigns(identifier, field, dedicated, cancellationToken))
                    {
                        result = MemberName(identifier);
                        break;
                    }
                }
            }
            else
            {
                foreach (var node in type.DescendantNodes())
                {
                    if (node is IdentifierNameSyntax identifier && Assigns(identifier, field, dedicated, cancellationToken))
                    {
                        result = MemberName(identifier);
                        break;
                    }
                }
            }

            if (result.Length > 0)
                break;
        }

        _assignedIn.TryAdd(field, result);
        return result;
    }

    /// <summary>Whether the identifier is a write of the field that counts for <see cref="AssignedIn"/>.</summary>
    private bool Assigns(IdentifierNameSyntax identifier, IFieldSymbol field, bool dedicated, CancellationToken cancellationToken)
    {
        // The lexical lock test first: it is a walk up to the member, while IsExempt may walk the whole type.
        if (identifier.Identifier.ValueText != field.Name || !IsWriteTarget(identifier, out var write)
            || (!dedicated && !InsideLockOn(write, field.Name)) || IsExempt(write, field))
        {
            return false;
        }

        var model = ModelOf(identifier.SyntaxTree);
        return SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(identifier, cancellationToken).Symbol?.OriginalDefinition, field.OriginalDefinition);
    }

    /// <summary>The identifier names of <paramref name="type"/> whose value is <paramref name="name"/>, in document order
    /// (the order of <c>DescendantNodes</c>), found where the text spells the name (the token there confirms it) instead
    /// of walking every node of the type: System.Private.Uri locks on <c>_info</c>, and the walk built all 5,000 lines of
    /// <c>Uri</c> for that one field. Null when the text cannot tell: not at hand, a one-character name, or a <c>\u</c>
    /// escape or a formatting character in an identifier of the type (either can spell the name another way; in a
    /// literal or a comment neither can); the caller walks.</summary>
    private static List<IdentifierNameSyntax>? IdentifiersSpelled(SyntaxNode type, string name, CancellationToken cancellationToken)
    {
        if (name.Length < 2 || !type.SyntaxTree.TryGetText(out var text) || type.Span.End > text.Length)
            return null;
        var span = type.Span;
        var chars = text.ToString(span);
        for (var i = 0; i < chars.Length; i++)
        {
            // Only inside an identifier can these spell the name; a '\uffff' literal or a comment cannot.
            var c = chars[i];
            if ((c == '\\' && i + 1 < chars.Length && chars[i + 1] is 'u' or 'U'
                 || c > 127 && char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format)
                && type.FindToken(span.Start + i) is var token && token.Span.Contains(span.Start + i) && token.IsKind(SyntaxKind.IdentifierToken))
            {
                return null;
            }
        }

        var identifiers = new List<IdentifierNameSyntax>();
        for (var at = chars.IndexOf(name, System.StringComparison.Ordinal); at >= 0; at = chars.IndexOf(name, at + 1, System.StringComparison.Ordinal))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var position = span.Start + at;
            var token = type.FindToken(position);
            // A hit in a comment, a string or inside a longer name is not this token, or not its value.
            if (token.Span.Contains(position) && token.Parent is IdentifierNameSyntax identifier && identifier.Identifier == token
                && token.ValueText == name && (identifiers.Count == 0 || identifiers[identifiers.Count - 1] != identifier))
            {
                identifiers.Add(identifier);
            }
        }

        return identifiers;
    }

#pragma warning disable RS1030 // Do not invoke Compilation.GetSemanticModel() method within a diagnostic analyzer
    private SemanticModel GetModel(SyntaxTree tree) => _compilation.GetSemanticModel(tree);

    /// <summary>The tree's model, made once (no delegate allocated when it is known).</summary>
    private SemanticModel ModelOf(SyntaxTree tree) => _models.TryGetValue(tree, out var model) ? model : _models.GetOrAdd(tree, GetModel);
#pragma warning restore RS1030

    /// <summary>Whether the name is written: the left of an assignment (also as <c>this.f</c>), or a ref/out argument.</summary>
    private static bool IsWriteTarget(IdentifierNameSyntax identifier, out SyntaxNode write)
    {
        SyntaxNode target = identifier;
        if (identifier.Parent is MemberAccessExpressionSyntax access && access.Name == identifier)
            target = access;
        write = target.Parent!;
        return target.Parent switch
        {
            AssignmentExpressionSyntax assignment => assignment.Left == target,
            ArgumentSyntax argument => !argument.RefKindKeyword.IsKind(SyntaxKind.None) && !argument.RefKindKeyword.IsKind(SyntaxKind.InKeyword),
            _ => false,
        };
    }

    /// <summary>Whether the write runs inside <c>lock (f)</c> or <c>lock (this.f)</c> on the field it writes.</summary>
    private static bool InsideLockOn(SyntaxNode write, string name)
    {
        for (var node = write.Parent; node is not null && node is not MemberDeclarationSyntax; node = node.Parent)
        {
            if (node is LockStatementSyntax { Expression: { } locked }
                && (locked is IdentifierNameSyntax { Identifier.ValueText: { } simple } && simple == name
                    || locked is MemberAccessExpressionSyntax { Expression: ThisExpressionSyntax, Name.Identifier.ValueText: { } member } && member == name))
            {
                return true;
            }
        }

        return false;
    }

    private bool IsExempt(SyntaxNode write, IFieldSymbol field)
    {
        // new T { f = x }: the object is not shared yet.
        if (write.Parent is InitializerExpressionSyntax)
            return true;
        for (var node = write.Parent; node is not null; node = node.Parent)
        {
            if (node is ConstructorDeclarationSyntax constructor)
                return constructor.Modifiers.Any(SyntaxKind.StaticKeyword) == field.IsStatic;
            if (node is IfStatementSyntax { Condition: { } condition } && IsNullCheckOf(condition, field.Name))
                return true;
            if (node is MethodDeclarationSyntax method && !field.IsStatic && IsSetupHelper(method, field.ContainingType))
                return true;
            if (node is MemberDeclarationSyntax)
                break;
        }

        switch (write)
        {
            case AssignmentExpressionSyntax assignment:
                return assignment.IsKind(SyntaxKind.CoalesceAssignmentExpression)
                       || assignment.Right is LiteralExpressionSyntax { RawKind: (int)SyntaxKind.NullLiteralExpression } or LiteralExpressionSyntax { RawKind: (int)SyntaxKind.DefaultLiteralExpression } or DefaultExpressionSyntax;
            case ArgumentSyntax { Parent: ArgumentListSyntax { Parent: InvocationExpressionSyntax invocation } arguments }:
                var name = invocation.Expression switch
                {
                    MemberAccessExpressionSyntax access => access.Name.Identifier.ValueText,
                    IdentifierNameSyntax simple => simple.Identifier.ValueText,
                    _ => string.Empty,
                };
                if (name == "CompareExchange" && arguments.Arguments.Count == 3 && IsNullLiteral(arguments.Arguments[2].Expression))
                    return true;
                if (name == "Exchange" && arguments.Arguments.Count == 2 && IsNullLiteral(arguments.Arguments[1].Expression))
                    return true;
                // LazyInitializer.EnsureInitialized(ref f, ...): null to one object, once.
                return name == "EnsureInitialized";
            default:
                return false;
        }
    }

    /// <summary>
    /// A private instance method (with its private overloads: one name) that only sets an object up: every call of the
    /// name in the type, outside the methods of that name, is on <c>this</c> in an instance constructor, or on an object
    /// in a local of the calling member (a clone or a factory product set up before it is handed out). Its assignment
    /// happens before any thread can lock the object: System.Data's <c>XmlDataDocument.Init</c> creates
    /// <c>_foliationLock</c> for its constructors and for <c>CloneNode</c>'s new copy (a first version reported it).
    /// </summary>
    private bool IsSetupHelper(MethodDeclarationSyntax method, INamedTypeSymbol type)
    {
        // The walk below would find this very declaration and answer no; saying so first spares a walk of the type.
        if (method.Modifiers.Any(SyntaxKind.StaticKeyword) || IsAccessible(method.Modifiers))
            return false;
        // One walk of the type per method name, whichever fields (and writes of them) ask.
        var key = (type, method.Identifier.ValueText);
        if (_setupHelpers.TryGetValue(key, out var known))
            return known;
        var answer = IsSetupHelper(method.Identifier.ValueText, type);
        _setupHelpers.TryAdd(key, answer);
        return answer;
    }

    private bool IsSetupHelper(string name, INamedTypeSymbol type)
    {
        var calls = 0;
        foreach (var reference in type.DeclaringSyntaxReferences)
        {
            var root = reference.GetSyntax();
            foreach (var node in root.DescendantNodes())
            {
                if (node is MethodDeclarationSyntax { Identifier.ValueText: var declared } overload && declared == name
                    && (overload.Modifiers.Any(SyntaxKind.StaticKeyword) || IsAccessible(overload.Modifiers)))
                {
                    return false;
                }

                if (node is not IdentifierNameSyntax { Identifier.ValueText: var text } identifier || text != name)
                    continue;
                var caller = identifier.FirstAncestorOrSelf<MemberDeclarationSyntax>();
                if (caller is MethodDeclarationSyntax { Identifier.ValueText: var callerName } && callerName == name)
                    continue; // a call between the overloads (or a recursive one)
                if (!IsSetupCall(identifier, caller))
                {
                    // The same name on another type's member (System.Data's XmlDataDocument calls DataColumn.Init on a
                    // foreach variable beside its own private Init; a first version took it for a call of the helper).
                    // Bound only here, for names the syntax could not clear.
                    if (IsAnotherTypesMember(identifier, type))
                        continue;
                    return false;
                }

                calls++;
            }
        }

        return calls > 0;
    }

    private bool IsAnotherTypesMember(IdentifierNameSyntax identifier, INamedTypeSymbol type)
    {
        var info = ModelOf(identifier.SyntaxTree).GetSymbolInfo(identifier);
        var symbol = info.Symbol ?? (info.CandidateSymbols.Length > 0 ? info.CandidateSymbols[0] : null);
        return symbol is not null && !SymbolEqualityComparer.Default.Equals(symbol.ContainingType?.OriginalDefinition, type.OriginalDefinition);
    }

    private static bool IsAccessible(SyntaxTokenList modifiers)
        => modifiers.Any(SyntaxKind.PublicKeyword) || modifiers.Any(SyntaxKind.InternalKeyword) || modifiers.Any(SyntaxKind.ProtectedKeyword);

    private static bool IsSetupCall(IdentifierNameSyntax name, MemberDeclarationSyntax? caller)
    {
        ExpressionSyntax? receiver = null;
        SyntaxNode callee = name;
        if (name.Parent is MemberAccessExpressionSyntax access && access.Name == name)
        {
            receiver = access.Expression;
            callee = access;
        }

        if (callee.Parent is not InvocationExpressionSyntax invocation || invocation.Expression != callee)
            return false;
        for (var node = invocation.Parent; node is not null && node != caller; node = node.Parent)
        {
            if (node is AnonymousFunctionExpressionSyntax or LocalFunctionStatementSyntax)
                return false; // runs later
        }

        if (receiver is null or ThisExpressionSyntax)
            return caller is ConstructorDeclarationSyntax constructor && !constructor.Modifiers.Any(SyntaxKind.StaticKeyword);
        if (receiver is not IdentifierNameSyntax { Identifier.ValueText: var local } || caller is null)
            return false;
        foreach (var node in caller.DescendantNodes())
        {
            if (node is VariableDeclaratorSyntax { Identifier.ValueText: var declared } && declared == local)
                return true;
        }

        return false;
    }

    private static bool IsNullLiteral(ExpressionSyntax expression)
        => expression is LiteralExpressionSyntax literal && (literal.IsKind(SyntaxKind.NullLiteralExpression) || literal.IsKind(SyntaxKind.DefaultLiteralExpression));

    /// <summary><c>f == null</c>, <c>null == f</c>, <c>f is null</c>, <c>this.f == null</c>, also inside <c>&amp;&amp;</c>.</summary>
    private static bool IsNullCheckOf(ExpressionSyntax condition, string name)
    {
        switch (condition)
        {
            case ParenthesizedExpressionSyntax parenthesized:
                return IsNullCheckOf(parenthesized.Expression, name);
            case BinaryExpressionSyntax { RawKind: (int)SyntaxKind.LogicalAndExpression } and:
                return IsNullCheckOf(and.Left, name) || IsNullCheckOf(and.Right, name);
            case BinaryExpressionSyntax { RawKind: (int)SyntaxKind.EqualsExpression } equals:
                return (Names(equals.Left, name) && IsNullLiteral(equals.Right)) || (Names(equals.Right, name) && IsNullLiteral(equals.Left));
            case IsPatternExpressionSyntax { Pattern: ConstantPatternSyntax { Expression: { } constant } } pattern:
                return Names(pattern.Expression, name) && IsNullLiteral(constant);
            default:
                return false;
        }

        static bool Names(ExpressionSyntax expression, string name) => expression switch
        {
            IdentifierNameSyntax identifier => identifier.Identifier.ValueText == name,
            MemberAccessExpressionSyntax { Expression: ThisExpressionSyntax, Name: { } member } => member.Identifier.ValueText == name,
            _ => false,
        };
    }

    private static string MemberName(SyntaxNode node)
    {
        for (var current = node.Parent; current is not null; current = current.Parent)
        {
            switch (current)
            {
                case MethodDeclarationSyntax method:
                    return method.Identifier.ValueText + "()";
                case AccessorDeclarationSyntax { Parent.Parent: PropertyDeclarationSyntax property } accessor:
                    return $"the {accessor.Keyword.ValueText} accessor of '{property.Identifier.ValueText}'";
                case AccessorDeclarationSyntax { Parent.Parent: IndexerDeclarationSyntax } accessor:
                    return $"the indexer's {accessor.Keyword.ValueText} accessor";
                case AccessorDeclarationSyntax { Parent.Parent: EventDeclarationSyntax @event } accessor:
                    return $"the {accessor.Keyword.ValueText} accessor of '{@event.Identifier.ValueText}'";
                case PropertyDeclarationSyntax property:
                    return $"'{property.Identifier.ValueText}'";
                case OperatorDeclarationSyntax:
                case ConversionOperatorDeclarationSyntax:
                    return "an operator";
                case LocalFunctionStatementSyntax:
                case AnonymousFunctionExpressionSyntax:
                    continue;
                case MemberDeclarationSyntax:
                    return "a member";
            }
        }

        return "a member";
    }

    /// <summary>Whether code in another assembly can name the symbol: public or protected, in types that are too.</summary>
    public static bool IsVisibleOutsideAssembly(ISymbol symbol)
    {
        for (var current = symbol; current is not null && current.Kind != SymbolKind.Namespace; current = current.ContainingSymbol)
        {
            switch (current.DeclaredAccessibility)
            {
                case Accessibility.Public:
                    continue;
                case Accessibility.Protected:
                case Accessibility.ProtectedOrInternal:
                    // Visible to derived types elsewhere only when the containing type can be derived from there.
                    if (current.ContainingType is { IsSealed: true })
                        return false;
                    continue;
                default:
                    return false;
            }
        }

        return true;
    }

    private static bool DerivesFrom(ITypeSymbol type, string @namespace, string name)
    {
        for (ITypeSymbol? current = type; current is not null; current = current.BaseType)
        {
            if (current.Name == name && current.ContainingNamespace?.ToDisplayString() == @namespace)
                return true;
        }

        return false;
    }

    internal static bool IsSystemThreading(ITypeSymbol? type, string name)
        => type is not null && type.Name == name
           && type.ContainingNamespace is { Name: "Threading", ContainingNamespace: { Name: "System", ContainingNamespace.IsGlobalNamespace: true } };
}

/// <summary>(type, method name) keys of the setup-helper answers, types compared as symbols.</summary>
internal sealed class SetupHelperKeyComparer : System.Collections.Generic.IEqualityComparer<(INamedTypeSymbol Type, string Name)>
{
    public static readonly SetupHelperKeyComparer Instance = new();

    public bool Equals((INamedTypeSymbol Type, string Name) x, (INamedTypeSymbol Type, string Name) y)
        => x.Name == y.Name && SymbolEqualityComparer.Default.Equals(x.Type, y.Type);

    public int GetHashCode((INamedTypeSymbol Type, string Name) key)
        => (SymbolEqualityComparer.Default.GetHashCode(key.Type) * 397) ^ key.Name.GetHashCode();
}
