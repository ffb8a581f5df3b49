using System.Collections.Generic;
using MemSafety.Analyzers.Engines.Bodies;
using MemSafety.Analyzers.Engines.Closures;
using MemSafety.Analyzers.Engines.Escape;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.Closures;

/// <summary>
/// MSA3006's decision, shared by the analyzer and its fix: a delegate that outlives the method (stored in a field or
/// property, subscribed to an event, returned) whose display class, or one it points to, holds a large variable (an
/// array, a collection, a disposable object) that the delegate itself never uses, captured by another lambda or local
/// function of the same scope.
/// </summary>
public sealed class ImplicitCapture
{
    private ImplicitCapture(IOperation keeper, IOperation delegateValue, string sink, IOperation? sinkOperation, ISymbol variable, IOperation capturer, DisplayClass displayClass, bool keepsThis = false)
    {
        KeepsThis = keepsThis;
        Keeper = keeper;
        DelegateValue = delegateValue;
        Sink = sink;
        SinkOperation = sinkOperation;
        Variable = variable;
        Capturer = capturer;
        DisplayClass = displayClass;
    }

    /// <summary>The long-lived lambda or local function.</summary>
    public IOperation Keeper { get; }

    /// <summary>The delegate it becomes (the lambda's delegate creation, or the local function's conversion).</summary>
    public IOperation DelegateValue { get; }

    /// <summary>Where the delegate goes, in words: "stored in field '_handler'", "subscribed to event 'Changed'", "returned".</summary>
    public string Sink { get; }

    public IOperation? SinkOperation { get; }

    /// <summary>The large variable kept alive; when <see cref="KeepsThis"/>, the containing type (the object is <c>this</c>).</summary>
    public ISymbol Variable { get; }

    /// <summary>The object kept alive is <c>this</c>, of a large type (a collection or a disposable object), which the
    /// display class holds (<see cref="DisplayClass.HoldsThis"/>) because another lambda uses it.</summary>
    public bool KeepsThis { get; }

    /// <summary>A lambda or local function that does capture <see cref="Variable"/>.</summary>
    public IOperation Capturer { get; }

    /// <summary>The display class holding <see cref="Variable"/>.</summary>
    public DisplayClass DisplayClass { get; }

    /// <summary>The statement that creates the long-lived delegate, when the fix may give the lambda copies of what it
    /// captures, declared in a new block around that statement: then the lambda uses a display class of its own and
    /// references nothing else. Null when that is not safe: the keeper is a local function, captures <c>this</c> or
    /// calls local functions, a captured variable is ever assigned after its declaration (a copy would not see the
    /// new value), the statement is not an expression statement or <c>return</c> directly in a block, or the body
    /// has a <c>goto</c>.</summary>
    public IOperation? IsolatableStatement { get; private set; }

    /// <summary>The findings for one lambda, or for one conversion of a local function to a delegate.</summary>
    public static List<ImplicitCapture>? For(IOperation delegateValue, IOperation keeper, ClosureFacts closures, BodyFacts body, EscapeEngine escape)
    {
        if (ClosureFacts.IsExpressionTree(keeper))
            return null;
        var environments = closures.EnvironmentsOf(keeper);

        // The delegate's target is the innermost class display class it uses; everything that one points to stays alive.
        DisplayClass? target = null;
        for (var i = environments.Count - 1; i >= 0 && target is null; i--)
        {
            if (!environments[i].IsStruct)
                target = environments[i];
        }

        var containingType = (keeper is IAnonymousFunctionOperation lambda ? lambda.Symbol : ((ILocalFunctionOperation)keeper).Symbol).ContainingType;
        if (target is null || !HasLargeVariable(target, containingType))
            return null;

        List<ImplicitCapture>? found = null;
        string? sink = null;
        IOperation? sinkOperation = null;
        var owner = SinkOwner.None;
        var needed = Needed(keeper, body, out var needsThis);
        for (var displayClass = target; displayClass is not null; displayClass = displayClass.Parent)
        {
            foreach (var variable in displayClass.Variables)
            {
                if (!IsLarge(variable) || needed.Contains(variable))
                    continue;
                if (CapturerOf(variable, displayClass, keeper, body) is not { } capturer)
                    continue;
                if (sink is null && !OutlivesTheMethod(delegateValue, escape, out sink, out sinkOperation, out owner))
                    return null;
                (found ??= new List<ImplicitCapture>()).Add(new ImplicitCapture(keeper, delegateValue, sink!, sinkOperation, variable, capturer, displayClass)
                {
                    IsolatableStatement = IsolatableStatementOf(keeper, delegateValue, body),
                });
            }

            // 'this' of a large type, held because another lambda of the display class uses it. Only where the delegate
            // goes to something other than this object (a static field, an object the caller passed): a delegate kept
            // by this object itself (its field, its event, a field's object) or returned does not extend its life.
            if (displayClass.HoldsThis && !needsThis && containingType is not null && IsLargeType(containingType)
                && ThisCapturerOf(displayClass, keeper, body) is { } thisCapturer)
            {
                if (sink is null && !OutlivesTheMethod(delegateValue, escape, out sink, out sinkOperation, out owner))
                    return null;
                if (owner is SinkOwner.Static or SinkOwner.Parameter)
                {
                    (found ??= new List<ImplicitCapture>()).Add(new ImplicitCapture(keeper, delegateValue, sink!, sinkOperation, containingType, thisCapturer, displayClass, keepsThis: true)
                    {
                        IsolatableStatement = IsolatableStatementOf(keeper, delegateValue, body),
                    });
                }
            }
        }

        return found;
    }

    private static IOperation? IsolatableStatementOf(IOperation keeper, IOperation delegateValue, BodyFacts body)
    {
        if (keeper is not IAnonymousFunctionOperation || body.CapturesThis(keeper) || body.LocalFunctionsUsedBy(keeper).Count > 0
            || body.GoToStatements.Count > 0 || body.CapturedBy(keeper).Count == 0)
            return null;
        foreach (var variable in body.CapturedBy(keeper))
        {
            if (body.IsWritten(variable) || variable is IParameterSymbol { RefKind: not RefKind.None } or ILocalSymbol { IsRef: true } or ILocalSymbol { IsConst: true })
                return null;
        }

        var statement = delegateValue;
        while (statement.Parent is not null and not IBlockOperation)
        {
            if (statement.Parent is IAnonymousFunctionOperation or ILocalFunctionOperation)
                return null;
            statement = statement.Parent;
        }

        return statement is IExpressionStatementOperation or IReturnOperation { Kind: OperationKind.Return } && statement.Parent is IBlockOperation
            ? statement
            : null;
    }

    private static bool HasLargeVariable(DisplayClass target, INamedTypeSymbol? containingType)
    {
        for (var displayClass = target; displayClass is not null; displayClass = displayClass.Parent)
        {
            if (displayClass.HoldsThis && containingType is not null && IsLargeType(containingType))
                return true;
            foreach (var variable in displayClass.Variables)
            {
                if (IsLarge(variable))
                    return true;
            }
        }

        return false;
    }

    /// <summary>What the keeper reads itself: its captures and those of the local functions it uses, transitively;
    /// <paramref name="needsThis"/>: whether any of them uses <c>this</c>.</summary>
    private static HashSet<ISymbol> Needed(IOperation keeper, BodyFacts body, out bool needsThis)
    {
        needsThis = false;
        var needed = new HashSet<ISymbol>(SymbolEqualityComparer.Default);
        var pending = new Stack<IOperation>();
        var seen = new HashSet<IOperation>();
        pending.Push(keeper);
        while (pending.Count > 0)
        {
            var function = pending.Pop();
            if (!seen.Add(function))
                continue;
            needsThis |= body.CapturesThis(function);
            foreach (var variable in body.CapturedBy(function))
                needed.Add(variable);
            foreach (var localFunction in body.LocalFunctionsUsedBy(function))
            {
                foreach (var candidate in body.Functions)
                {
                    if (candidate is ILocalFunctionOperation declared && SymbolEqualityComparer.Default.Equals(declared.Symbol.OriginalDefinition, localFunction))
                        pending.Push(candidate);
                }
            }
        }

        return needed;
    }

    /// <summary>Another user of the display class that captures the variable itself.</summary>
    private static IOperation? CapturerOf(ISymbol variable, DisplayClass displayClass, IOperation keeper, BodyFacts body)
    {
        foreach (var function in displayClass.Functions)
        {
            if (function == keeper || function.Syntax.Span.Contains(keeper.Syntax.Span) || keeper.Syntax.Span.Contains(function.Syntax.Span))
                continue;
            foreach (var captured in body.CapturedBy(function))
            {
                if (SymbolEqualityComparer.Default.Equals(captured, variable))
                    return function;
            }
        }

        return null;
    }

    /// <summary>Another user of the display class that uses <c>this</c> itself.</summary>
    private static IOperation? ThisCapturerOf(DisplayClass displayClass, IOperation keeper, BodyFacts body)
    {
        foreach (var function in displayClass.Functions)
        {
            if (function == keeper || function.Syntax.Span.Contains(keeper.Syntax.Span) || keeper.Syntax.Span.Contains(function.Syntax.Span))
                continue;
            if (body.CapturesThis(function))
                return function;
        }

        return null;
    }

    /// <summary>An array, a collection or a disposable object: what is worth not keeping alive by accident.</summary>
    public static bool IsLarge(ISymbol variable)
    {
        var type = variable switch
        {
            ILocalSymbol local => local.Type,
            IParameterSymbol parameter => parameter.Type,
            _ => null,
        };
        if (type is null || type.SpecialType == SpecialType.System_String || type.IsValueType)
            return false;
        return IsLargeType(type);
    }

    /// <summary>An array, a collection (<c>ICollection</c>, <c>ICollection&lt;T&gt;</c>, <c>IReadOnlyCollection&lt;T&gt;</c>)
    /// or a disposable type; not strings or value types.</summary>
    public static bool IsLargeType(ITypeSymbol type)
    {
        if (type.SpecialType == SpecialType.System_String || type.IsValueType)
            return false;
        if (type is IArrayTypeSymbol)
            return true;
        foreach (var implemented in type.AllInterfaces)
        {
            if (IsLargeInterface(implemented))
                return true;
        }

        return type is INamedTypeSymbol { TypeKind: TypeKind.Interface } named && IsLargeInterface(named);
    }

    private static bool IsLargeInterface(INamedTypeSymbol type)
    {
        var definition = type.OriginalDefinition;
        switch (definition.Name)
        {
            case "IDisposable" when definition.ContainingNamespace is { Name: "System", ContainingNamespace.IsGlobalNamespace: true }:
                return true;
            case "ICollection" or "IReadOnlyCollection":
                for (var ns = definition.ContainingNamespace; ns is not null && !ns.IsGlobalNamespace; ns = ns.ContainingNamespace)
                {
                    if (ns.Name == "System" && ns.ContainingNamespace.IsGlobalNamespace)
                        return true;
                }

                return false;
            default:
                return false;
        }
    }

    /// <summary>A delegate returned from a lambda or local function goes to that function's caller, often code that
    /// runs it at once: not certainly long-lived.</summary>
    private static bool InNestedFunction(IOperation operation)
    {
        for (var parent = operation.Parent; parent is not null; parent = parent.Parent)
        {
            if (parent is IAnonymousFunctionOperation or ILocalFunctionOperation)
                return true;
        }

        return false;
    }

    /// <summary>What holds the delegate: decides whether it certainly outlives the method.</summary>
    private enum SinkOwner
    {
        None,

        /// <summary>A static field, property or event.</summary>
        Static,

        /// <summary>This object: its field, property or event, or one of an object it references.</summary>
        This,

        /// <summary>An object the caller passed (a parameter), or one it references.</summary>
        Parameter,

        /// <summary>The caller, by the return value.</summary>
        Caller,

        /// <summary>An object in a local variable, created or returned by a call here, or reached from one: its life,
        /// and the delegate's, may end with the method (a promise resolved before the caller is done).</summary>
        Local,
    }

    /// <summary>Whether the delegate certainly outlives the method: stored in a field or property, subscribed to an
    /// event, or returned; and, for a field, property or event of an object, that object is static, this object or one
    /// the caller passed (a delegate passed to a method, or kept by an object in a local, may or may not outlive the
    /// method: not reported).</summary>
    private static bool OutlivesTheMethod(IOperation delegateValue, EscapeEngine escape, out string? sink, out IOperation? sinkOperation, out SinkOwner owner)
    {
        var value = delegateValue;
        while (value.Parent is IConversionOperation { IsImplicit: true } or IParenthesizedOperation)
            value = value.Parent;
        if (value.Parent is IEventAssignmentOperation { Adds: true } subscription && subscription.HandlerValue == value)
        {
            sink = "subscribed to event '" + (subscription.EventReference is IEventReferenceOperation reference ? reference.Event.Name : "?") + "'";
            sinkOperation = subscription;
            owner = subscription.EventReference is IMemberReferenceOperation member ? OwnerOf(member) : SinkOwner.Local;
            return owner != SinkOwner.Local;
        }

        var result = escape.Analyze(delegateValue);
        switch (result.Kind)
        {
            case EscapeKind.Returned when !InNestedFunction(delegateValue):
                sink = result.Reason;
                sinkOperation = result.Sink;
                owner = SinkOwner.Caller;
                return true;
            case EscapeKind.StoredInField:
            case EscapeKind.StoredInProperty:
                owner = result.Sink switch
                {
                    IAssignmentOperation { Target: IMemberReferenceOperation member } => OwnerOf(member),
                    ISymbolInitializerOperation => SinkOwner.This,
                    _ => SinkOwner.Local,
                };
                sink = result.Reason;
                sinkOperation = result.Sink;
                return owner != SinkOwner.Local;
            default:
                sink = null;
                sinkOperation = null;
                owner = SinkOwner.None;
                return false;
        }
    }

    /// <summary>Whose member it is, following <c>a.b.c</c> to its root.</summary>
    private static SinkOwner OwnerOf(IMemberReferenceOperation member)
    {
        IOperation? instance = member;
        while (true)
        {
            switch (instance)
            {
                case IMemberReferenceOperation reference:
                    if (reference.Member.IsStatic || reference.Instance is null)
                        return SinkOwner.Static;
                    instance = reference.Instance;
                    break;
                case IConversionOperation conversion:
                    instance = conversion.Operand;
                    break;
                case IParenthesizedOperation parenthesized:
                    instance = parenthesized.Operand;
                    break;
                case IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance }:
                    return SinkOwner.This;
                case IParameterReferenceOperation:
                    return SinkOwner.Parameter;
                default:
                    // A local, an object being initialized ('new T { Handler = … }'), a call's result, …
                    return SinkOwner.Local;
            }
        }
    }
}
