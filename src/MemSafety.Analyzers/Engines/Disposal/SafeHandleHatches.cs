using System.Threading;
using MemSafety.Analyzers.Engines.Bodies;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Engines.Disposal;

/// <summary>A <c>DangerousAddRef</c> whose <c>DangerousRelease</c> in the same body is not in a finally that covers it.</summary>
public sealed class UnprotectedAddRef
{
    internal UnprotectedAddRef(InvocationExpressionSyntax addRef, InvocationExpressionSyntax release, SyntaxNode? earlyExit)
    {
        AddRef = addRef;
        Release = release;
        EarlyExit = earlyExit;
    }

    public InvocationExpressionSyntax AddRef { get; }

    /// <summary>The first release of the same handle after the AddRef.</summary>
    public InvocationExpressionSyntax Release { get; }

    /// <summary>A <c>return</c>, <c>break</c>, <c>continue</c>, <c>goto</c> or <c>throw</c> statement between the two that
    /// leaves the region without the release; null when only an exception skips it.</summary>
    public SyntaxNode? EarlyExit { get; }
}

/// <summary>How a raw handle from <c>DangerousGetHandle</c> leaves the code that could keep its SafeHandle counted.</summary>
public enum RawHandleEscapeKind
{
    /// <summary>Returned from a method, property or operator.</summary>
    Returned,

    /// <summary>Stored into a field or property of this object (a class) or a static one.</summary>
    StoredInField,

    /// <summary>Assigned to an <c>out</c> or <c>ref</c> parameter.</summary>
    StoredInParameter,
}

/// <summary>One escape of a raw handle.</summary>
public sealed class RawHandleEscape
{
    internal RawHandleEscape(RawHandleEscapeKind kind, SyntaxNode site, string? target, ISymbol? member = null)
    {
        Kind = kind;
        Site = site;
        Target = target;
        Member = member;
    }

    /// <summary>For stores into fields and properties: the member.</summary>
    public ISymbol? Member { get; }

    public RawHandleEscapeKind Kind { get; }

    /// <summary>The returned expression or the assignment.</summary>
    public SyntaxNode Site { get; }

    /// <summary>For stores: "field '_raw'", "parameter 'handle'".</summary>
    public string? Target { get; }
}

/// <summary>
/// Facts about <c>SafeHandle</c>'s escape hatches (MSA5009). A SafeHandle counts its users: <c>Dispose</c> and the
/// finalizer drop only its own count, and <c>ReleaseHandle</c> runs when the count drops to zero. <c>DangerousAddRef</c>
/// raises the count by hand, so a <c>DangerousRelease</c> that an exception or early exit skips keeps the handle open
/// for the rest of the process. <c>DangerousGetHandle</c> returns the raw value without counting: once the SafeHandle
/// is released, the OS gives the same value to the next handle it opens, and a copy kept beyond the code that holds
/// the count names that one.
/// <para>The AddRef check is the same one MSA6005 makes for locks (<see cref="ReleaseRegions"/>): the release is the
/// first <c>DangerousRelease</c> of the syntactically same receiver in the same body; the AddRef is protected when some
/// release of it is in a finally that covers it, or any release is in a finally or in a catch of a try that covers it
/// (the body handles failure on purpose). A body that releases elsewhere (ownership handed to another method or type)
/// is not judged.</para>
/// </summary>
public static class SafeHandleHatches
{
    /// <summary>A method named <paramref name="name"/> declared by <c>System.Runtime.InteropServices.SafeHandle</c>.</summary>
    public static bool IsSafeHandleMethod(IMethodSymbol method, string name)
        => method.Name == name && method.ContainingType is
        {
            Name: "SafeHandle",
            ContainingNamespace: { Name: "InteropServices", ContainingNamespace: { Name: "Runtime", ContainingNamespace: { Name: "System", ContainingNamespace.IsGlobalNamespace: true } } },
        };

    /// <summary>The unprotected AddRef at <paramref name="addRef"/> (a <c>DangerousAddRef</c> call), or null when it is
    /// protected, nothing between it and its release can throw or leave, or this body does not release it.</summary>
    public static UnprotectedAddRef? CheckAddRef(IInvocationOperation addRef, CancellationToken cancellationToken)
    {
        if (!IsSafeHandleMethod(addRef.TargetMethod, "DangerousAddRef") || addRef.Syntax is not InvocationExpressionSyntax call
            || addRef.SemanticModel is not { } model || ReleaseRegions.Body(call) is not { } body)
        {
            return null;
        }

        var receiver = Receiver(call);
        InvocationExpressionSyntax? firstAfter = null;
        foreach (var node in body.DescendantNodes(n => n == body || !ReleaseRegions.IsFunction(n)))
        {
            if (node is not InvocationExpressionSyntax candidate || candidate == call || ReleaseRegions.Name(candidate) != "DangerousRelease"
                || !SameReceiver(Receiver(candidate), receiver))
            {
                continue;
            }

            if (model.GetSymbolInfo(candidate, cancellationToken).Symbol is not IMethodSymbol release || !IsSafeHandleMethod(release, "DangerousRelease"))
                continue;
            if (ReleaseRegions.Protects(candidate, call) || ReleaseRegions.InFinally(candidate) || ReleaseRegions.InCatchCovering(candidate, call))
                return null;
            if (firstAfter is null && candidate.SpanStart > call.Span.End)
                firstAfter = candidate;
        }

        if (firstAfter is null || ReleaseRegions.NothingBetweenCanThrow(call, firstAfter, model, cancellationToken))
            return null;
        return new UnprotectedAddRef(call, firstAfter, EarlyExitBetween(body, call, firstAfter));
    }

    /// <summary>Where the raw handle that <paramref name="getHandle"/> (a <c>DangerousGetHandle</c> call) returns goes
    /// beyond any count this body holds: returned from a member, stored into a field of this object (a class) or a
    /// static field, or into an <c>out</c>/<c>ref</c> parameter, directly (through conversions) or through a local
    /// assigned only there. Null when it stays in the body, when it goes somewhere this cannot see (a lambda, a local
    /// function, a call), when the body raises the handle's count and does not release it (the count kept for the
    /// raw value, released by whoever the body hands it to), or when the member that returns it or the field or
    /// property that holds it is visible outside the assembly or has its signature set by an interface or base member
    /// (the raw value is then the contract), or when a SafeHandle type returns its own raw value.</summary>
    public static RawHandleEscape? EscapeOf(IInvocationOperation getHandle, CancellationToken cancellationToken)
    {
        if (!IsSafeHandleMethod(getHandle.TargetMethod, "DangerousGetHandle") || getHandle.Syntax is not InvocationExpressionSyntax call
            || ReleaseRegions.Body(call) is not { } body || body.Parent is AnonymousFunctionExpressionSyntax or LocalFunctionStatementSyntax)
        {
            return null;
        }

        var value = Outermost(getHandle);
        var escape = Classify(value);
        if (escape is null && value.Parent is IVariableInitializerOperation { Parent: IVariableDeclaratorOperation { Symbol: { IsRef: false } local } }
            && local.Type.SpecialType is SpecialType.System_IntPtr or SpecialType.System_UIntPtr or SpecialType.System_Int32 or SpecialType.System_Int64)
        {
            var facts = BodyFacts.Of(getHandle);
            if (facts.WritesTo(local).Count == 0)
            {
                foreach (var reference in facts.ReferencesTo(local))
                {
                    if ((escape = Classify(Outermost(reference))) is not null)
                        break;
                }
            }
        }

        if (escape is null || KeepsCount(body, Receiver(call), getHandle.SemanticModel, cancellationToken) || HeldByLease(getHandle, cancellationToken))
            return null;
        // A raw value that a public API returns or exposes is its contract (Process.Handle, Socket.Handle): changing it
        // breaks callers, so the warning could not be acted on.
        var holder = escape.Kind == RawHandleEscapeKind.StoredInField ? escape.Member : getHandle.SemanticModel?.GetEnclosingSymbol(call.SpanStart, cancellationToken);
        if (holder is not null && (IsVisibleOutsideAssembly(holder) || SignatureFixedElsewhere(holder)))
            return null;
        // A SafeHandle type handing out its own raw value (MsQuicSafeHandle.QuicHandle) is the escape hatch itself under
        // another name: whether a count is held is a question for its callers.
        if (escape.Kind == RawHandleEscapeKind.Returned && Receiver(call) is null)
            return null;
        return escape;
    }

    /// <summary>The raw value through conversions (<c>(int)</c>, <c>(nint)</c>) and <c>ToInt32/ToInt64/ToPointer</c>.</summary>
    private static IOperation Outermost(IOperation value)
    {
        while (true)
        {
            switch (value.Parent)
            {
                case IConversionOperation conversion:
                    value = conversion;
                    continue;
                case IParenthesizedOperation parenthesized:
                    value = parenthesized;
                    continue;
                case IInvocationOperation { TargetMethod.Name: "ToInt32" or "ToInt64" or "ToPointer", Arguments.Length: 0 } call when call.Instance == value:
                    value = call;
                    continue;
                default:
                    return value;
            }
        }
    }

    private static RawHandleEscape? Classify(IOperation value)
    {
        switch (value.Parent)
        {
            case IReturnOperation { Kind: OperationKind.Return } returned when returned.ReturnedValue == value:
                return new RawHandleEscape(RawHandleEscapeKind.Returned, value.Syntax, null);
            case ISimpleAssignmentOperation assignment when assignment.Value == value:
                switch (assignment.Target)
                {
                    case IFieldReferenceOperation { Field: var field, Instance: var instance } when Outlives(field, instance):
                        return new RawHandleEscape(RawHandleEscapeKind.StoredInField, assignment.Syntax, "field '" + field.Name + "'", field);
                    case IPropertyReferenceOperation { Property: var property, Instance: var instance, Arguments.Length: 0 } when Outlives(property, instance):
                        return new RawHandleEscape(RawHandleEscapeKind.StoredInField, assignment.Syntax, "property '" + property.Name + "'", property);
                    case IParameterReferenceOperation { Parameter: { RefKind: RefKind.Out or RefKind.Ref } parameter }:
                        return new RawHandleEscape(RawHandleEscapeKind.StoredInParameter, assignment.Syntax, "parameter '" + parameter.Name + "'");
                }

                return null;
            default:
                return null;
        }
    }

    /// <summary>A static member, or a member of this object when it is a class: a holder that outlives the call. A
    /// field of a local struct (an interop structure filled for one call) or of another object is not judged.</summary>
    private static bool Outlives(ISymbol member, IOperation? instance)
        => member.IsStatic || instance is IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance, Type.IsReferenceType: true };

    /// <summary>The member implements an interface member or overrides a base one (or is the accessor of such a
    /// property): its signature, a raw handle in it included, is set by that contract (ICertificatePal.Handle behind
    /// X509Certificate.Handle).</summary>
    private static bool SignatureFixedElsewhere(ISymbol member)
    {
        if (member is IMethodSymbol { AssociatedSymbol: { } associated })
            member = associated;
        if (member.IsOverride || member is IMethodSymbol { ExplicitInterfaceImplementations.Length: > 0 } or IPropertySymbol { ExplicitInterfaceImplementations.Length: > 0 })
            return true;
        var type = member.ContainingType;
        if (type is null)
            return false;
        foreach (var @interface in type.AllInterfaces)
        {
            foreach (var candidate in @interface.GetMembers(member.Name))
            {
                if (SymbolEqualityComparer.Default.Equals(type.FindImplementationForInterfaceMember(candidate), member))
                    return true;
            }
        }

        return false;
    }

    /// <summary>Whether code in another assembly can name the symbol: public or protected, in types that are too.</summary>
    private static bool IsVisibleOutsideAssembly(ISymbol symbol)
    {
        for (var current = symbol; current is not null && current.Kind != SymbolKind.Namespace; current = current.ContainingSymbol)
        {
            switch (current.DeclaredAccessibility)
            {
                case Accessibility.Public:
                    continue;
                case Accessibility.Protected or Accessibility.ProtectedOrInternal when current.ContainingType is not { IsSealed: true }:
                    continue;
                default:
                    return false;
            }
        }

        return true;
    }

    /// <summary>The body calls DangerousAddRef on the same handle and releases it nowhere in the body.</summary>
    private static bool KeepsCount(SyntaxNode body, ExpressionSyntax? receiver, SemanticModel? model, CancellationToken cancellationToken)
    {
        var addRef = false;
        foreach (var node in body.DescendantNodes(n => n == body || !ReleaseRegions.IsFunction(n)))
        {
            if (node is not InvocationExpressionSyntax candidate || ReleaseRegions.Name(candidate) is not ("DangerousAddRef" or "DangerousRelease")
                || !SameReceiver(Receiver(candidate), receiver))
            {
                continue;
            }

            if (ReleaseRegions.Name(candidate) == "DangerousRelease")
                return false;
            addRef |= model?.GetSymbolInfo(candidate, cancellationToken).Symbol is IMethodSymbol method && IsSafeHandleMethod(method, "DangerousAddRef");
        }

        return addRef;
    }

    /// <summary>The handle is an instance field of the type whose code hands out its raw value, and another body of that
    /// type releases the field's count without raising it there: the object holds a count between a raise elsewhere and
    /// that release — a lease (ZstdSharp's <c>SafeHandleHolder&lt;T&gt;</c>: DangerousAddRef in its constructor,
    /// DangerousRelease in Dispose, the raw pointer handed out by a conversion operator), and the raw value is valid
    /// for as long as the lease is undisposed. Only the declarations in this syntax tree are read.</summary>
    private static bool HeldByLease(IInvocationOperation getHandle, CancellationToken cancellationToken)
    {
        if (getHandle.Instance is not IFieldReferenceOperation { Field: { IsStatic: false } field } || getHandle.SemanticModel is not { } model)
            return false;
        field = field.OriginalDefinition;
        foreach (var reference in field.ContainingType.DeclaringSyntaxReferences)
        {
            if (reference.SyntaxTree != model.SyntaxTree)
                continue;
            foreach (var node in reference.GetSyntax(cancellationToken).DescendantNodes())
            {
                if (node is InvocationExpressionSyntax release && ReleaseRegions.Name(release) == "DangerousRelease" && Receiver(release) is { } receiver
                    && model.GetSymbolInfo(receiver, cancellationToken).Symbol is IFieldSymbol released
                    && SymbolEqualityComparer.Default.Equals(released.OriginalDefinition, field)
                    && ReleaseRegions.Body(release) is { } body && !RaisesCount(body, receiver))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static bool RaisesCount(SyntaxNode body, ExpressionSyntax receiver)
    {
        foreach (var node in body.DescendantNodes(n => n == body || !ReleaseRegions.IsFunction(n)))
        {
            if (node is InvocationExpressionSyntax candidate && ReleaseRegions.Name(candidate) == "DangerousAddRef" && SameReceiver(Receiver(candidate), receiver))
                return true;
        }

        return false;
    }

    /// <summary>A statement between the two calls (in their body) that jumps out of the region without the release.</summary>
    private static SyntaxNode? EarlyExitBetween(SyntaxNode body, InvocationExpressionSyntax addRef, InvocationExpressionSyntax release)
    {
        foreach (var node in body.DescendantNodes(n => n == body || !ReleaseRegions.IsFunction(n)))
        {
            if (node.SpanStart <= addRef.Span.End)
                continue;
            if (node.SpanStart >= release.SpanStart)
                break;
            if (node is ReturnStatementSyntax or ThrowStatementSyntax or GotoStatementSyntax)
                return node;
            // break/continue leave the region only when their loop or switch does not lie inside it.
            if (node is BreakStatementSyntax or ContinueStatementSyntax && ReleaseRegions.JumpTarget(node) is { } target && target.SpanStart < addRef.SpanStart)
                return node;
        }

        return null;
    }

    /// <summary>The receiver of <c>x.M(…)</c>; null for an unqualified call (this object).</summary>
    private static ExpressionSyntax? Receiver(InvocationExpressionSyntax call)
    {
        var receiver = call.Expression is MemberAccessExpressionSyntax access ? access.Expression : null;
        while (receiver is ParenthesizedExpressionSyntax parenthesized)
            receiver = parenthesized.Expression;
        return receiver is ThisExpressionSyntax ? null : receiver;
    }

    private static bool SameReceiver(ExpressionSyntax? left, ExpressionSyntax? right)
        => left is null ? right is null : right is not null && SyntaxFactory.AreEquivalent(Unqualified(left), Unqualified(right));

    /// <summary><c>this._h</c> and <c>_h</c> are the same handle.</summary>
    private static ExpressionSyntax Unqualified(ExpressionSyntax expression)
        => expression is MemberAccessExpressionSyntax { Expression: ThisExpressionSyntax, Name: { } name } ? name : expression;
}
