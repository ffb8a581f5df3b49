using System.Collections.Generic;
using System.Threading;
using MemSafety.Analyzers.Engines.Disposal;
using MemSafety.Analyzers.Engines.Escape;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.Finalizers;

/// <summary>The handle values the code treats as "no handle" (nothing to release).</summary>
public enum InvalidHandleValues
{
    /// <summary><c>IntPtr.Zero</c> (a null pointer, a Windows <c>HANDLE</c> from most creators).</summary>
    Zero = 1,
    /// <summary>-1 (<c>INVALID_HANDLE_VALUE</c>, a failed POSIX call).</summary>
    MinusOne = 2,
    /// <summary>0 and -1: <c>SafeHandleZeroOrMinusOneIsInvalid</c>.</summary>
    ZeroOrMinusOne = 3,
    /// <summary>Every negative value (<c>if (_fd >= 0) close(_fd);</c>).</summary>
    Negative = 4,
}

/// <summary>How the fix rewrites one use of the field.</summary>
public enum HandleUseRewrite
{
    /// <summary>The comparison is the invalid-value test: <c>_h.IsInvalid</c>.</summary>
    IsInvalid,
    /// <summary>The comparison is its negation: <c>!_h.IsInvalid</c>.</summary>
    IsValid,
    /// <summary>The raw value is still needed: <c>_h.DangerousGetHandle()</c> (cast to <c>int</c> for a descriptor).</summary>
    Raw,
    /// <summary>An argument of a platform invoke whose parameter becomes the SafeHandle type: unchanged.</summary>
    SafeHandleArgument,
}

/// <summary>One use of the field outside its acquisition and release, and how the fix rewrites it.</summary>
public sealed class HandleUse
{
    internal HandleUse(SyntaxNode node, HandleUseRewrite rewrite)
    {
        Node = node;
        Rewrite = rewrite;
    }

    /// <summary>The comparison (for <see cref="HandleUseRewrite.IsInvalid"/>/<see cref="HandleUseRewrite.IsValid"/>) or the field reference.</summary>
    public SyntaxNode Node { get; }

    public HandleUseRewrite Rewrite { get; }
}

/// <summary>
/// MSA4004's fix plan, shared by the analyzer (which says in the message why there is no fix) and the fix: can the
/// <c>IntPtr</c> (or descriptor <c>int</c>) field be replaced by a generated sealed <c>SafeHandle</c> with the same
/// release call and the same invalid-value check, the finalizer removed, every other use kept with the same
/// behaviour? Only a narrow, provable shape qualifies (docs/rules/MSA4004.md, "Code fix"):
/// <list type="bullet">
/// <item>a sealed (or not derivable, without derived types) class declared in one part, no base finalizer, the field
/// private, of type <c>IntPtr</c>/<c>nint</c> or <c>int</c>, declared alone;</item>
/// <item>one acquisition: the field's initializer or one <c>_h = Create(…);</c> statement;</item>
/// <item>every release a statement <c>Release(_h);</c>, optionally followed by a reset <c>_h = IntPtr.Zero;</c>, either
/// alone or as the whole body of an <c>if</c> that only compares the field with 0 or -1 (that check becomes
/// <c>IsInvalid</c>); an unguarded release only for the frees that ignore a null pointer; the release's other
/// arguments constants;</item>
/// <item>the finalizer does nothing else (it is removed, with the type's <c>GC.SuppressFinalize(this)</c> calls);</item>
/// <item>other uses only comparisons with constants and by-value arguments of platform invokes or <c>Marshal</c>
/// helpers; when a release resets the field, such uses outside constructors only as arguments of a private
/// platform invoke of the type whose parameter can become the SafeHandle type (after <c>Dispose</c> the original
/// passed the reset value; a stale raw value could name a recycled handle).</item>
/// </list>
/// </summary>
public sealed class SafeHandlePlan
{
    private SafeHandlePlan(string reason) => NoFixReason = reason;

    private SafeHandlePlan()
    {
    }

    /// <summary>Why no fix is offered (null: the plan is complete).</summary>
    public string? NoFixReason { get; private set; }

    public bool CanFix => NoFixReason is null;

    public IFieldSymbol Field { get; private set; } = null!;

    public TypeDeclarationSyntax TypeDeclaration { get; private set; } = null!;

    public FieldDeclarationSyntax FieldDeclaration { get; private set; } = null!;

    /// <summary>The field holds a descriptor <c>int</c> rather than an <c>IntPtr</c>.</summary>
    public bool IsDescriptor { get; private set; }

    public InvalidHandleValues Invalid { get; private set; }

    /// <summary>The value assigned the handle (the initializer's or the assignment's), as written.</summary>
    public ExpressionSyntax AcquisitionValue { get; private set; } = null!;

    /// <summary>The acquisition is the field's initializer.</summary>
    public bool AcquiredByInitializer { get; private set; }

    /// <summary>The platform invoke declared in the type whose return type becomes the SafeHandle type (null: the
    /// value is wrapped in the SafeHandle's constructor instead).</summary>
    public MethodDeclarationSyntax? SourceToRetype { get; private set; }

    /// <summary>The field needs an initial SafeHandle holding 0 (an invalid one): it is acquired in a method, or
    /// constructors other than the acquiring one leave it unassigned.</summary>
    public bool NeedsPlaceholder { get; private set; }

    /// <summary>One release call, as written: its copy goes into <c>ReleaseHandle</c>.</summary>
    public InvocationExpressionSyntax ReleaseCall { get; private set; } = null!;

    /// <summary>The field reference inside <see cref="ReleaseCall"/>, replaced by <c>handle</c>.</summary>
    public SyntaxNode ReleaseFieldReference { get; private set; } = null!;

    public ITypeSymbol ReleaseReturnType { get; private set; } = null!;

    /// <summary>The release needs an unsafe context the type does not give (a pointer cast).</summary>
    public bool NeedsUnsafe { get; private set; }

    /// <summary>Release sites outside the finalizer: the statements to replace by <c>_h.Dispose();</c> (the first)
    /// and delete (a reset after it), or the call that is a whole expression body, replaced by <c>_h.Dispose()</c>.</summary>
    public List<List<SyntaxNode>> Sites { get; } = new();

    public List<HandleUse> Uses { get; } = new();

    /// <summary>Parameters of platform invokes of the type that become the SafeHandle type.</summary>
    public List<ParameterSyntax> ParametersToRetype { get; } = new();

    public DestructorDeclarationSyntax Finalizer { get; private set; } = null!;

    /// <summary><c>GC.SuppressFinalize(this);</c> statements of the type, pointless once it has no finalizer.</summary>
    public List<StatementSyntax> SuppressFinalizeCalls { get; } = new();

    /// <summary>The field reference as the release wrote it (<c>_h</c> or <c>this._h</c>), for <c>_h.Dispose()</c>.</summary>
    public string FieldText => ReleaseFieldReference.ToString();

    public static SafeHandlePlan Create(DisposableTypes disposal, DisposableType facts, HandleRelease release, CancellationToken cancellationToken)
    {
        var plan = new SafeHandlePlan();
        plan.NoFixReason = plan.Build(disposal, facts, release, cancellationToken);
        return plan;
    }

    // ------------------------------------------------------------------ building

    private sealed class Reference
    {
        public Reference(IFieldReferenceOperation operation, SyntaxNode member) { Operation = operation; Member = member; }

        public IFieldReferenceOperation Operation { get; }

        /// <summary>The member declaration (method, constructor, finalizer, accessor, field) it is in.</summary>
        public SyntaxNode Member { get; }

        public bool Consumed { get; set; }
    }

    private string? Build(DisposableTypes disposal, DisposableType facts, HandleRelease release, CancellationToken cancellationToken)
    {
        var type = facts.Type;
        var field = release.Field;
        Field = field;
        if (!release.PassesField)
            return "the finalizer releases a copy of it";
        if (type.DeclaringSyntaxReferences.Length != 1 || type.DeclaringSyntaxReferences[0].GetSyntax(cancellationToken) is not TypeDeclarationSyntax typeDeclaration)
            return "the type is declared in several parts";
        TypeDeclaration = typeDeclaration;
        if (field.DeclaredAccessibility != Accessibility.Private)
            return "the field is visible outside the type";
        if (field.Type.SpecialType == SpecialType.System_Int32)
            IsDescriptor = true;
        else if (field.Type.SpecialType != SpecialType.System_IntPtr)
            return $"the field's type is '{field.Type.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat)}'";
        if (field.DeclaringSyntaxReferences.Length != 1
            || field.DeclaringSyntaxReferences[0].GetSyntax(cancellationToken) is not VariableDeclaratorSyntax { Parent: VariableDeclarationSyntax { Variables.Count: 1, Parent: FieldDeclarationSyntax fieldDeclaration } })
        {
            return "the field is declared together with others";
        }

        FieldDeclaration = fieldDeclaration;
        for (var t = type.BaseType; t is not null && t.SpecialType != SpecialType.System_Object; t = t.BaseType)
        {
            if (DisposableType.DeclaredFinalizer(t) is not null)
                return $"its base type '{t.Name}' has a finalizer";
        }

        if (!type.IsSealed && (DisposableTypes.IsExternallyDerivable(type) || disposal.DerivedTypesOf(type).Count > 0))
            return "other types may derive from it and rely on its finalizer";
        if (facts.Finalizer!.DeclaringSyntaxReferences[0].GetSyntax(cancellationToken) is not DestructorDeclarationSyntax finalizer)
            return "the finalizer is not in source";
        Finalizer = finalizer;

        var model = disposal.ModelOf(typeDeclaration.SyntaxTree);
        var references = new List<Reference>();
        var invocations = new List<IInvocationOperation>();
        var hasNestedTypes = false;
        foreach (var node in typeDeclaration.DescendantNodes(n => n == typeDeclaration || n is not BaseTypeDeclarationSyntax))
        {
            if (node is BaseTypeDeclarationSyntax or DelegateDeclarationSyntax)
            {
                hasNestedTypes = true;
                continue;
            }

            if (node is not (BaseMethodDeclarationSyntax or AccessorDeclarationSyntax or ArrowExpressionClauseSyntax or EqualsValueClauseSyntax))
                continue;
            if (node is ArrowExpressionClauseSyntax && node.Parent is not PropertyDeclarationSyntax and not IndexerDeclarationSyntax)
                continue;
            if (node is EqualsValueClauseSyntax && node.Parent?.Parent?.Parent is not FieldDeclarationSyntax)
                continue;
            var root = model.GetOperation(node, cancellationToken);
            if (root is null)
                continue;
            var member = node is EqualsValueClauseSyntax or ArrowExpressionClauseSyntax ? node.Parent! : node;
            foreach (var operation in root.DescendantsAndSelf())
            {
                switch (operation)
                {
                    case IFieldReferenceOperation reference when SymbolEqualityComparer.Default.Equals(reference.Field.OriginalDefinition, field):
                        if (!DisposableTypes.IsThis(reference.Instance))
                            return "the field of another instance is used";
                        if (InsideFunction(reference, root))
                            return "a lambda or local function uses it";
                        references.Add(new Reference(reference, member));
                        break;
                    case IInvocationOperation invocation:
                        invocations.Add(invocation);
                        break;
                    case IInvalidOperation:
                        return "the type does not compile";
                }
            }
        }

        if (hasNestedTypes && MentionedInNestedType(typeDeclaration, field.Name))
            return "a nested type uses it";

        // The release: every site calls the same method the finalizer does.
        var releaseMethod = release.Release.TargetMethod.OriginalDefinition;
        ReleaseReturnType = releaseMethod.ReturnType;
        var resets = false;
        InvalidHandleValues? invalid = null;
        foreach (var reference in references)
        {
            if (reference.Consumed || ArgumentOf(reference.Operation) is not { } argument || argument.Parent is not IInvocationOperation call
                || !SymbolEqualityComparer.Default.Equals(call.TargetMethod.OriginalDefinition, releaseMethod))
            {
                continue;
            }

            if (call.Parent is IExpressionStatementOperation { IsImplicit: true } && call.Syntax.Parent is ArrowExpressionClauseSyntax)
            {
                // `void Close() => CloseHandle(_h);`: the call is the whole body.
                if (!ReleaseCallNoted(call, reference))
                    return $"'{releaseMethod.Name}' also needs '{Snippet(OtherArgument(call, argument)!.Syntax)}'";
                if (!NativeMembers.IsNullTolerantFree(releaseMethod))
                    return Unguarded(releaseMethod);
                if (invalid is { } earlier && earlier != InvalidHandleValues.Zero)
                    return "it is released under different invalid-value checks";
                invalid = InvalidHandleValues.Zero;
                if (!IsWithin(call.Syntax, finalizer))
                    Sites.Add(new List<SyntaxNode> { call.Syntax });
                continue;
            }

            if (call.Parent is not IExpressionStatementOperation { Syntax: ExpressionStatementSyntax statement })
                return $"the result of '{releaseMethod.Name}' is used";
            if (!ReleaseCallNoted(call, reference))
                return $"'{releaseMethod.Name}' also needs '{Snippet(OtherArgument(call, argument)!.Syntax)}'";
            var site = new List<SyntaxNode> { statement };
            ExpressionSyntax? guard = null;
            if (statement.Parent is IfStatementSyntax { Else: null } single && single.Statement == statement)
            {
                site[0] = single;
                guard = single.Condition;
            }
            else if (statement.Parent is BlockSyntax block)
            {
                var index = block.Statements.IndexOf(statement);
                var next = index + 1 < block.Statements.Count ? block.Statements[index + 1] : null;
                var reset = next is not null && IsReset(next, references);
                if (block.Parent is IfStatementSyntax { Else: null } guarded && guarded.Statement == block && index == 0 && block.Statements.Count == (reset ? 2 : 1))
                {
                    site[0] = guarded;
                    guard = guarded.Condition;
                }
                else if (reset)
                {
                    site.Add(next!);
                }

                resets |= reset;
            }
            else
            {
                return $"'{releaseMethod.Name}' is not called as a statement of its own";
            }

            InvalidHandleValues values;
            if (guard is null)
            {
                if (!NativeMembers.IsNullTolerantFree(releaseMethod))
                    return Unguarded(releaseMethod);
                values = InvalidHandleValues.Zero;
            }
            else if (GuardValues(ConditionOf(call, site[0]), references) is { } guardValues)
            {
                values = guardValues;
            }
            else
            {
                return $"the release also depends on '{Snippet(guard)}'";
            }

            if (invalid is { } known && known != values)
                return "it is released under different invalid-value checks";
            invalid = values;
            if (!IsWithin(site[0], finalizer))
                Sites.Add(site);
        }

        if (ReleaseCall is null || invalid is null)
            return $"'{releaseMethod.Name}' is not called on the field itself";
        Invalid = invalid.Value;
        NeedsUnsafe = NeedsUnsafeContext(ReleaseCall, releaseMethod, typeDeclaration);

        // The acquisition.
        var acquisition = release.Acquisition.Assignment;
        if (release.Acquisition.Source is not { } source)
            return "the handle comes from a function pointer";
        IOperation value;
        switch (acquisition)
        {
            case IFieldInitializerOperation initializer:
                value = initializer.Value;
                AcquiredByInitializer = true;
                break;
            case ISimpleAssignmentOperation { Parent: IExpressionStatementOperation } assignment:
                value = assignment.Value;
                break;
            default:
                return "the handle arrives through an 'out' argument or inside an expression";
        }

        AcquisitionValue = (ExpressionSyntax)value.Syntax;
        var acquiringConstructor = (ConstructorDeclarationSyntax?)null;
        foreach (var reference in references)
        {
            if (reference.Consumed)
                continue;
            if (reference.Operation.Parent is ISimpleAssignmentOperation assignment && assignment.Target == reference.Operation)
            {
                if (assignment.Syntax != acquisition.Syntax)
                    return "it is assigned in several places";
                reference.Consumed = true;
                if (reference.Member is ConstructorDeclarationSyntax { Initializer: null } constructor
                    && ((constructor.Body is { } body && assignment.Parent?.Syntax.Parent == body) || constructor.ExpressionBody?.Expression == assignment.Syntax))
                {
                    acquiringConstructor = constructor;
                }
            }
        }

        var instanceConstructors = 0;
        foreach (var constructor in type.InstanceConstructors)
        {
            if (!constructor.IsImplicitlyDeclared)
                instanceConstructors++;
        }

        NeedsPlaceholder = !AcquiredByInitializer && (acquiringConstructor is null || instanceConstructors != 1);
        if (NeedsPlaceholder && (Invalid & InvalidHandleValues.Zero) == 0)
            return "it is acquired outside the constructor and 0 is not an invalid value, so no SafeHandle can stand for the field's initial 0";

        if (!IsDescriptor && value is IInvocationOperation { TargetMethod: var producer } && RetypableInvoke(producer, type, hasNestedTypes, cancellationToken) is { } producerDeclaration
            && producer.ReturnType.SpecialType == SpecialType.System_IntPtr && CallCount(invocations, producer) == 1)
        {
            SourceToRetype = producerDeclaration;
        }

        // Every other use.
        foreach (var reference in references)
        {
            if (reference.Consumed)
                continue;
            var inConstructor = reference.Member is ConstructorDeclarationSyntax;
            if (inConstructor && reference.Member == acquiringConstructor && !NeedsPlaceholder
                && reference.Operation.Syntax.SpanStart < acquisition.Syntax.SpanStart)
            {
                return "the constructor uses it before assigning it";
            }

            if (reference.Operation.Parent is ISimpleAssignmentOperation assignment && assignment.Target == reference.Operation)
                return "it is assigned in several places";
            if (Comparison(reference.Operation) is { } comparison)
            {
                if (resets && !inConstructor)
                    return $"a release resets it, and '{Snippet(comparison.Syntax)}' would see the reset value after Dispose";
                var values = ComparedValues(comparison, reference.Operation, out var equal);
                Uses.Add(values == Invalid
                    ? new HandleUse(comparison.Syntax, equal ? HandleUseRewrite.IsInvalid : HandleUseRewrite.IsValid)
                    : new HandleUse(reference.Operation.Syntax, HandleUseRewrite.Raw));
                continue;
            }

            if (ArgumentOf(reference.Operation) is { Parent: IInvocationOperation call } argument)
            {
                if (argument.Parameter is not { RefKind: RefKind.None } parameter)
                    return $"it is passed by reference to '{call.TargetMethod.Name}'";
                var target = call.TargetMethod.OriginalDefinition;
                if (NativeMembers.Classify(target) == NativeCallKind.PlatformInvoke)
                {
                    if (!IsDescriptor && parameter.Type.SpecialType == SpecialType.System_IntPtr
                        && RetypableInvoke(target, type, hasNestedTypes, cancellationToken) is { } declaration
                        && AlwaysPassesField(invocations, target, parameter.Ordinal, field))
                    {
                        Uses.Add(new HandleUse(reference.Operation.Syntax, HandleUseRewrite.SafeHandleArgument));
                        var parameterSyntax = declaration.ParameterList.Parameters[parameter.Ordinal];
                        if (!ParametersToRetype.Contains(parameterSyntax))
                            ParametersToRetype.Add(parameterSyntax);
                        continue;
                    }
                }
                else if (!(target.IsStatic && target.ContainingType.Name == "Marshal"
                           && NonRetainingMembers.IsNamespace(target.ContainingType.ContainingNamespace, "System.Runtime.InteropServices")
                           && NativeMembers.Classify(target) == NativeCallKind.None))
                {
                    return $"it is passed to '{target.Name}'";
                }

                if (resets && !inConstructor)
                    return $"a release resets it, and after Dispose '{call.TargetMethod.Name}' got the reset value, not the released handle";
                Uses.Add(new HandleUse(reference.Operation.Syntax, HandleUseRewrite.Raw));
                continue;
            }

            return Describe(reference.Operation);
        }

        // The finalizer must do nothing but these releases.
        var path = facts.GetFinalizationPath(cancellationToken);
        if (path is not { IsComplete: true })
            return "not everything the finalizer runs could be seen";
        foreach (var effect in path.Effects)
        {
            if (effect.Kind != FinalizerEffectKind.NativeCall || effect.Operation is not IInvocationOperation call
                || !SymbolEqualityComparer.Default.Equals(call.TargetMethod.OriginalDefinition, releaseMethod)
                || !ReleasesField(call, field))
            {
                return $"the finalizer does more than release it ('{Snippet(effect.Operation.Syntax)}')";
            }
        }

        foreach (var node in typeDeclaration.DescendantNodes(n => n == typeDeclaration || n is not BaseTypeDeclarationSyntax))
        {
            if (node is ExpressionStatementSyntax { Parent: BlockSyntax, Expression: InvocationExpressionSyntax { ArgumentList.Arguments: { Count: 1 } arguments } invocation } statement
                && arguments[0].Expression is ThisExpressionSyntax
                && model.GetSymbolInfo(invocation, cancellationToken).Symbol is IMethodSymbol { Name: "SuppressFinalize", ContainingType: { Name: "GC" } gc }
                && NonRetainingMembers.IsNamespace(gc.ContainingNamespace, "System")
                && !IsWithin(statement, finalizer))
            {
                SuppressFinalizeCalls.Add(statement);
            }
        }

        return null;
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>Marks the release call's field reference consumed and keeps the first call as the model for
    /// <c>ReleaseHandle</c>; false when another argument is not a constant.</summary>
    private bool ReleaseCallNoted(IInvocationOperation call, Reference reference)
    {
        if (OtherArgument(call, ArgumentOf(reference.Operation)!) is not null)
            return false;
        if (ReleaseCall is null)
        {
            ReleaseCall = (InvocationExpressionSyntax)call.Syntax;
            ReleaseFieldReference = reference.Operation.Syntax;
        }

        reference.Consumed = true;
        return true;
    }

    /// <summary>The first argument besides the handle that is not a constant (null: none).</summary>
    private static IOperation? OtherArgument(IInvocationOperation call, IArgumentOperation handle)
    {
        foreach (var other in call.Arguments)
        {
            if (other != handle && !IsConstantArgument(other.Value))
                return other.Value;
        }

        return null;
    }

    private static string Unguarded(IMethodSymbol release)
        => $"'{release.Name}' is not guarded by an 'if' that only compares the field with 0 or -1, so the invalid value a SafeHandle needs is unknown";

    /// <summary>The condition of the <c>if</c> statement <paramref name="statement"/>, from the operation tree the call is in.</summary>
    private static IOperation? ConditionOf(IOperation call, SyntaxNode statement)
    {
        for (var current = call.Parent; current is not null; current = current.Parent)
        {
            if (current is IConditionalOperation conditional && conditional.Syntax == statement)
                return conditional.Condition;
        }

        return null;
    }

    private static bool InsideFunction(IOperation operation, IOperation root)
    {
        for (var current = operation.Parent; current is not null && current != root; current = current.Parent)
        {
            if (current is IAnonymousFunctionOperation or ILocalFunctionOperation)
                return true;
        }

        return false;
    }

    private static bool MentionedInNestedType(TypeDeclarationSyntax declaration, string name)
    {
        foreach (var node in declaration.DescendantNodes(n => n == declaration || n is not BaseTypeDeclarationSyntax))
        {
            if (node is BaseTypeDeclarationSyntax nested)
            {
                foreach (var token in nested.DescendantTokens())
                {
                    if (token.IsKind(SyntaxKind.IdentifierToken) && token.ValueText == name)
                        return true;
                }
            }
        }

        return false;
    }

    private static bool IsWithin(SyntaxNode node, SyntaxNode container) => container.Span.Contains(node.Span) && node.SyntaxTree == container.SyntaxTree;

    private static string Snippet(SyntaxNode node)
    {
        var text = node.ToString();
        return text.Length <= 60 && text.IndexOf('\n') < 0 ? text : node.GetFirstToken().Text + " …";
    }

    private static IArgumentOperation? ArgumentOf(IOperation operation)
    {
        var parent = operation.Parent;
        while (parent is IConversionOperation conversion)
            parent = conversion.Parent;
        return parent as IArgumentOperation;
    }

    private static bool ReleasesField(IInvocationOperation call, IFieldSymbol field)
    {
        foreach (var argument in call.Arguments)
        {
            if (HandleReleases.FieldOf(argument.Value, out var passesField) is { } passed && passesField && SymbolEqualityComparer.Default.Equals(passed, field))
                return true;
        }

        return false;
    }

    /// <summary>A constant, <c>default</c> or a static member (<c>IntPtr.Zero</c>): the same inside <c>ReleaseHandle</c>.</summary>
    private static bool IsConstantArgument(IOperation value)
    {
        while (value is IConversionOperation conversion)
            value = conversion.Operand;
        return value.ConstantValue.HasValue
               || value is IDefaultValueOperation
               || value is IFieldReferenceOperation { Field.IsStatic: true }
               || value is IPropertyReferenceOperation { Property.IsStatic: true };
    }

    /// <summary><c>_h = IntPtr.Zero;</c> (or any constant handle value) right after the release.</summary>
    private static bool IsReset(StatementSyntax statement, List<Reference> references)
    {
        foreach (var reference in references)
        {
            if (reference.Consumed || reference.Operation.Parent is not ISimpleAssignmentOperation assignment || assignment.Target != reference.Operation
                || assignment.Parent?.Syntax != statement)
            {
                continue;
            }

            if (HandleValue(assignment.Value) is null)
                return false;
            reference.Consumed = true;
            return true;
        }

        return false;
    }

    /// <summary>The integer a handle-valued constant expression stands for: literals, <c>IntPtr.Zero</c>,
    /// <c>default</c>, <c>new IntPtr(c)</c>, <c>(IntPtr)c</c>.</summary>
    private static long? HandleValue(IOperation? value)
    {
        while (true)
        {
            switch (value)
            {
                case null:
                    return null;
                case { ConstantValue: { HasValue: true, Value: var constant } }:
                    return constant switch
                    {
                        int i => i,
                        long l => l,
                        uint u => u,
                        short s => s,
                        sbyte b => b,
                        _ => null,
                    };
                case IConversionOperation conversion:
                    value = conversion.Operand;
                    continue;
                case IDefaultValueOperation:
                    return 0;
                case IFieldReferenceOperation { Field: { IsStatic: true, Name: "Zero", ContainingType.SpecialType: SpecialType.System_IntPtr } }:
                    return 0;
                case IObjectCreationOperation { Type.SpecialType: SpecialType.System_IntPtr, Arguments.Length: 1 } creation:
                    value = creation.Arguments[0].Value;
                    continue;
                default:
                    return null;
            }
        }
    }

    private static IBinaryOperation? Comparison(IOperation reference)
    {
        var parent = reference.Parent;
        while (parent is IConversionOperation conversion)
            parent = conversion.Parent;
        if (parent is not IBinaryOperation binary)
            return null;
        if (binary.OperatorKind is not (BinaryOperatorKind.Equals or BinaryOperatorKind.NotEquals or BinaryOperatorKind.LessThan
            or BinaryOperatorKind.LessThanOrEqual or BinaryOperatorKind.GreaterThan or BinaryOperatorKind.GreaterThanOrEqual))
        {
            return null;
        }

        var other = Strip(binary.LeftOperand) == reference ? binary.RightOperand : binary.LeftOperand;
        return HandleValue(other) is null ? null : binary;
    }

    private static IOperation Strip(IOperation operation)
    {
        while (operation is IConversionOperation conversion)
            operation = conversion.Operand;
        return operation;
    }

    /// <summary>The values for which the comparison holds (<paramref name="equal"/>) or fails (!<paramref name="equal"/>):
    /// <c>_h == 0</c> is (Zero, true), <c>_fd >= 0</c> is (Negative, false). 0 when it is no such test.</summary>
    private static InvalidHandleValues ComparedValues(IBinaryOperation comparison, IOperation reference, out bool equal)
    {
        var fieldOnLeft = Strip(comparison.LeftOperand) == reference;
        var constant = HandleValue(fieldOnLeft ? comparison.RightOperand : comparison.LeftOperand)!.Value;
        var kind = comparison.OperatorKind;
        if (!fieldOnLeft)
        {
            kind = kind switch
            {
                BinaryOperatorKind.LessThan => BinaryOperatorKind.GreaterThan,
                BinaryOperatorKind.GreaterThan => BinaryOperatorKind.LessThan,
                BinaryOperatorKind.LessThanOrEqual => BinaryOperatorKind.GreaterThanOrEqual,
                BinaryOperatorKind.GreaterThanOrEqual => BinaryOperatorKind.LessThanOrEqual,
                _ => kind,
            };
        }

        equal = kind is BinaryOperatorKind.Equals or BinaryOperatorKind.LessThan or BinaryOperatorKind.LessThanOrEqual;
        switch (kind)
        {
            case BinaryOperatorKind.Equals:
            case BinaryOperatorKind.NotEquals:
                return constant switch { 0 => InvalidHandleValues.Zero, -1 => InvalidHandleValues.MinusOne, _ => 0 };
            case BinaryOperatorKind.LessThan when constant == 0:
            case BinaryOperatorKind.LessThanOrEqual when constant == -1:
            case BinaryOperatorKind.GreaterThanOrEqual when constant == 0:
            case BinaryOperatorKind.GreaterThan when constant == -1:
                return InvalidHandleValues.Negative;
            default:
                return 0;
        }
    }

    /// <summary>The invalid values a release guard excludes: comparisons of the field that fail for them, joined by
    /// <c>&amp;&amp;</c> (null: the guard tests something else).</summary>
    private static InvalidHandleValues? GuardValues(IOperation? guard, List<Reference> references)
    {
        switch (guard)
        {
            case IBinaryOperation { OperatorKind: BinaryOperatorKind.ConditionalAnd } both:
                if (GuardValues(both.LeftOperand, references) is not { } left || GuardValues(both.RightOperand, references) is not { } right)
                    return null;
                var union = left | right;
                if ((union & InvalidHandleValues.Negative) != 0)
                    return union == InvalidHandleValues.Negative || union == (InvalidHandleValues.Negative | InvalidHandleValues.MinusOne) ? InvalidHandleValues.Negative : null;
                return union;
            case IBinaryOperation comparison:
                foreach (var reference in references)
                {
                    if (reference.Consumed || Comparison(reference.Operation) != comparison)
                        continue;
                    var values = ComparedValues(comparison, reference.Operation, out var equal);
                    if (values == 0 || equal)
                        return null;
                    reference.Consumed = true;
                    return values;
                }

                return null;
            default:
                return null;
        }
    }

    /// <summary>A <c>[DllImport]</c> extern of this type, private, declared once in source, whose signature the fix can
    /// change without touching other code (no nested type could call it).</summary>
    private static MethodDeclarationSyntax? RetypableInvoke(IMethodSymbol method, INamedTypeSymbol type, bool hasNestedTypes, CancellationToken cancellationToken)
    {
        if (hasNestedTypes || method.GetDllImportData() is null || !method.IsExtern || method.DeclaredAccessibility != Accessibility.Private
            || !SymbolEqualityComparer.Default.Equals(method.ContainingType.OriginalDefinition, type)
            || method.DeclaringSyntaxReferences.Length != 1)
        {
            return null;
        }

        return method.DeclaringSyntaxReferences[0].GetSyntax(cancellationToken) as MethodDeclarationSyntax;
    }

    private static int CallCount(List<IInvocationOperation> invocations, IMethodSymbol method)
    {
        var count = 0;
        foreach (var invocation in invocations)
        {
            if (SymbolEqualityComparer.Default.Equals(invocation.TargetMethod.OriginalDefinition, method))
                count++;
        }

        return count;
    }

    private static bool AlwaysPassesField(List<IInvocationOperation> invocations, IMethodSymbol method, int ordinal, IFieldSymbol field)
    {
        foreach (var invocation in invocations)
        {
            if (!SymbolEqualityComparer.Default.Equals(invocation.TargetMethod.OriginalDefinition, method))
                continue;
            IOperation? passed = null;
            foreach (var argument in invocation.Arguments)
            {
                if (argument.Parameter?.Ordinal == ordinal)
                    passed = argument.Value;
            }

            if (Strip(passed!) is not IFieldReferenceOperation reference || !DisposableTypes.IsThis(reference.Instance)
                || !SymbolEqualityComparer.Default.Equals(reference.Field.OriginalDefinition, field))
            {
                return false;
            }
        }

        return true;
    }

    private static bool NeedsUnsafeContext(InvocationExpressionSyntax call, IMethodSymbol release, TypeDeclarationSyntax type)
    {
        for (SyntaxNode? t = type; t is not null; t = t.Parent)
        {
            if (t is TypeDeclarationSyntax declaration && declaration.Modifiers.Any(SyntaxKind.UnsafeKeyword))
                return false;
        }

        foreach (var node in call.DescendantNodes())
        {
            if (node is PointerTypeSyntax or FunctionPointerTypeSyntax)
                return true;
        }

        foreach (var parameter in release.Parameters)
        {
            if (parameter.Type is IPointerTypeSymbol or IFunctionPointerTypeSymbol)
                return true;
        }

        return release.ReturnType is IPointerTypeSymbol;
    }

    private static string Describe(IOperation reference)
    {
        var parent = reference.Parent;
        while (parent is IConversionOperation conversion)
            parent = conversion.Parent;
        switch (parent)
        {
            case IReturnOperation:
                return "it is returned";
            case ISimpleAssignmentOperation or IVariableInitializerOperation:
                return $"it is copied ('{Snippet(parent.Syntax)}')";
            case IBinaryOperation:
                return $"it is computed with ('{Snippet(parent.Syntax)}')";
            case IArgumentOperation { Parent: IObjectCreationOperation creation }:
                return $"it is passed to a new '{creation.Type?.Name}'";
            default:
                return $"it is used as a value ('{Snippet((parent ?? reference).Syntax)}')";
        }
    }
}
