using System.Collections.Generic;
using MemSafety.Analyzers.Engines.Bodies;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Engines.Escape;

/// <summary>
/// Expands one node of an <see cref="EscapeGraph"/>: follows each use of the location (or, for a question's
/// start, the value itself) up its chain of consumers and records, in the order the uses are met (source
/// order, depth first), every location the value flows into (an <see cref="Edge"/>) and the first sink
/// (a <see cref="SinkInfo"/>), where classification stops. One classifier per graph, reused; not thread-safe
/// (the graph serialises questions).
/// </summary>
internal sealed class FlowClassifier
{
    private static readonly Edge[] NoEdges = new Edge[0];

    private readonly EscapeGraph _graph;
    private readonly Stack<Entry> _stack = new();
    private readonly HashSet<IOperation> _seen = new();
    private readonly HashSet<Node> _claimed = new();
    private readonly List<Edge> _edges = new();

    public FlowClassifier(EscapeGraph graph) => _graph = graph;

    /// <summary>Classifies the uses of <paramref name="node"/>'s location, or <paramref name="value"/> for a start node.</summary>
    public void Expand(Node node, IOperation? value)
    {
        _stack.Clear();
        _seen.Clear();
        _claimed.Clear();
        _edges.Clear();
        if (value is not null)
        {
            _stack.Push(new Entry(value, null, refUse: false));
        }
        else
        {
            _claimed.Add(node);
            var uses = _graph.Facts.ReferencesTo(node.Symbol!);
            // Pushed last-first, so the first use in source order is followed first.
            for (var i = uses.Count - 1; i >= 0; i--)
            {
                var use = uses[i];
                // A write to the alias (x = other) is not a read of our value.
                if (use.Parent is ISimpleAssignmentOperation assignment && assignment.Target == use)
                    continue;
                if (IsDeconstructionTarget(use))
                    continue;
                _stack.Push(new Entry(use, null, node.ElementReference));
            }
        }

        node.Sink = Run();
        node.Edges = _edges.Count == 0 ? NoEdges : _edges.ToArray();
        _stack.Clear();
        _seen.Clear();
        _claimed.Clear();
        _edges.Clear();
    }

    private static bool IsDeconstructionTarget(IOperation use)
    {
        var node = use;
        while (node.Parent is ITupleOperation or IDeclarationExpressionOperation)
            node = node.Parent;
        return node.Parent is IDeconstructionAssignmentOperation deconstruction && deconstruction.Target == node;
    }

    private SinkInfo? Run()
    {
        while (_stack.Count > 0)
        {
            var entry = _stack.Pop();
            if (entry.Edge is not null)
            {
                // The location's own uses are followed here, in the graph's solve.
                _edges.Add(entry.Edge);
                continue;
            }

            var value = entry.Value!;
            if (!_seen.Add(value))
                continue;
            var captured = CheckCapture(value);
            if (captured is not null)
                return captured;
            var result = entry.RefUse ? RefUse(value) : Flow(value);
            if (result is not null)
                return result;
        }

        return null;
    }

    private void Push(IOperation value) => _stack.Push(new Entry(value, null, refUse: false));

    private void AddAlias(ISymbol symbol, StepKind step, IOperation at, bool elementReference = false)
    {
        var node = _graph.NodeFor(symbol, elementReference);
        if (_claimed.Add(node))
            _stack.Push(new Entry(null, new Edge(node, step, at), refUse: false));
    }

    /// <summary>A read of an alias inside a lambda, or inside a local function turned into a delegate,
    /// that is declared outside it: the closure object on the heap holds the value.</summary>
    private SinkInfo? CheckCapture(IOperation use)
    {
        var symbol = Variables.Of(use);
        if (symbol is not (ILocalSymbol or IParameterSymbol))
            return null;

        for (var enclosing = use.Parent; enclosing is not null; enclosing = enclosing.Parent)
        {
            IMethodSymbol function;
            switch (enclosing)
            {
                case IAnonymousFunctionOperation lambda:
                    function = lambda.Symbol;
                    break;
                case ILocalFunctionOperation localFunction:
                    function = localFunction.Symbol;
                    break;
                default:
                    continue;
            }

            if (SymbolEqualityComparer.Default.Equals(symbol.ContainingSymbol, function))
                return null;
            if (enclosing is IAnonymousFunctionOperation)
                return new SinkInfo(EscapeKind.CapturedByDelegate, SinkReason.CapturedByLambda, enclosing);
            if (_graph.Facts.IsConvertedToDelegate(function))
                return new SinkInfo(EscapeKind.CapturedByDelegate, SinkReason.CapturedByLocalFunction, enclosing, function);
        }

        return null;
    }

    /// <summary>Follows one occurrence of the value to its consumer; returns a sink or null.</summary>
    private SinkInfo? Flow(IOperation value)
    {
        var parent = value.Parent;
        switch (parent)
        {
            case null:
            case IExpressionStatementOperation:
            case IForEachLoopOperation:
            case IUsingOperation:
            case ILockOperation:
            case IAwaitOperation:
            case IBinaryOperation { Type.TypeKind: not TypeKind.Pointer }:
            case IUnaryOperation:
            case IIsTypeOperation:
            case ISizeOfOperation:
            case ITypeOfOperation:
            case INameOfOperation:
            case IDiscardOperation:
                return null;

            case IConversionOperation:
            case IParenthesizedOperation:
            case ITupleOperation:
            case IArrayInitializerOperation:
            case IArrayCreationOperation:
            case ICollectionExpressionOperation:
            case IBinaryOperation:
            case IAddressOfOperation:
            case ISwitchExpressionArmOperation:
            case IDelegateCreationOperation:
                // The parent now holds or is our value (a tuple, a containing array, a derived pointer).
                Push(parent);
                return null;

            case ISpreadOperation:
                return null; // [.. value] copies the elements.

            case IConditionalOperation conditional:
                if (conditional.Condition != value)
                    Push(conditional);
                return null;

            case ICoalesceOperation coalesce:
                Push(coalesce);
                return null;

            case IConditionalAccessOperation access when access.Operation == value:
                // value?.M(): inside WhenNotNull, the placeholder receivers stand for our value.
                PushConditionalInstances(access.WhenNotNull);
                return null;

            case IConditionalAccessOperation access:
                Push(access);
                return null;

            case IVariableInitializerOperation { Parent: IVariableDeclaratorOperation declarator }:
                AddAlias(declarator.Symbol, StepKind.Assigned, declarator);
                return null;

            case IFieldInitializerOperation fieldInitializer:
                return new SinkInfo(EscapeKind.StoredInField, SinkReason.FieldInitializer, parent, fieldInitializer.InitializedFields[0]);

            case IPropertyInitializerOperation propertyInitializer:
                return new SinkInfo(EscapeKind.StoredInProperty, SinkReason.PropertyInitializer, parent, propertyInitializer.InitializedProperties[0]);

            case ISimpleAssignmentOperation assignment when assignment.Value == value:
                return Store(assignment, assignment.Target);

            case ICompoundAssignmentOperation compound when compound.Value == value:
                return null; // x += value: arithmetic (event += is IEventAssignment).

            case ICoalesceAssignmentOperation coalesceAssignment when coalesceAssignment.Value == value:
                return Store(coalesceAssignment, coalesceAssignment.Target);

            case IDeconstructionAssignmentOperation deconstruction when deconstruction.Value == value:
                return Deconstruct(deconstruction.Target);

            case IReturnOperation { Kind: OperationKind.YieldReturn }:
                return new SinkInfo(EscapeKind.Returned, SinkReason.Yielded, parent);

            case IReturnOperation returned:
                return new SinkInfo(EscapeKind.Returned, InsideFunction(returned) ? SinkReason.ReturnedFromFunction : SinkReason.Returned, parent);

            case IThrowOperation:
                return new SinkInfo(EscapeKind.Thrown, SinkReason.Thrown, parent);

            case IArgumentOperation argument:
                return Argument(argument);

            case IInvocationOperation invocation when invocation.Instance == value:
                return Receiver(invocation);

            case IPropertyReferenceOperation property when property.Instance == value:
            case IFieldReferenceOperation field when field.Instance == value:
                // value.Length, value[i], tuple.Item1: a part of the value is read. For a tuple or
                // anonymous object the part may be our value itself.
                if (value.Type is { IsTupleType: true } or { IsAnonymousType: true })
                    Push(parent);
                return RefUse(parent);

            case IArrayElementReferenceOperation element when element.ArrayReference == value:
                return RefUse(element);

            case IIsPatternOperation isPattern:
                AliasPatternVariables(isPattern.Pattern);
                return null;

            case ISwitchExpressionOperation switchExpression when switchExpression.Value == value:
                foreach (var arm in switchExpression.Arms)
                    AliasPatternVariables(arm.Pattern);
                return null;

            case ISwitchOperation switchStatement when switchStatement.Value == value:
                foreach (var section in switchStatement.Cases)
                {
                    foreach (var clause in section.Clauses)
                    {
                        if (clause is IPatternCaseClauseOperation patternClause)
                            AliasPatternVariables(patternClause.Pattern);
                    }
                }

                return null;

            case IVariableInitializerOperation:
                return Unknown(parent);

            case IDynamicInvocationOperation:
            case IDynamicMemberReferenceOperation:
            case IDynamicIndexerAccessOperation:
            case IDynamicObjectCreationOperation:
                return new SinkInfo(EscapeKind.PassedToDynamic, SinkReason.Dynamic, parent);

            default:
                return Unknown(parent);
        }
    }

    private void PushConditionalInstances(IOperation whenNotNull)
    {
        var stack = new Stack<IOperation>();
        stack.Push(whenNotNull);
        while (stack.Count > 0)
        {
            var operation = stack.Pop();
            if (operation is IConditionalAccessInstanceOperation)
            {
                Push(operation);
                continue;
            }

            foreach (var child in operation.ChildOperations)
            {
                // In a nested x?.b?.c, the inner access's WhenNotNull has placeholders for its own
                // receiver; only its receiver part can hold ours.
                stack.Push(child is IConditionalAccessOperation inner ? inner.Operation : child);
            }
        }
    }

    private static SinkInfo Unknown(IOperation parent) => new(EscapeKind.Unknown, SinkReason.Unknown, parent);

    private static bool InsideFunction(IOperation operation)
    {
        for (var p = operation.Parent; p is not null; p = p.Parent)
        {
            if (p is IAnonymousFunctionOperation or ILocalFunctionOperation)
                return true;
        }

        return false;
    }

    /// <summary>An element or part taken by reference (ref local, ref return, ref argument) lets the
    /// container be reached after the frame is gone.</summary>
    private SinkInfo? RefUse(IOperation part)
    {
        switch (part.Parent)
        {
            case IReturnOperation ret when IsRefReturn(ret):
                return new SinkInfo(EscapeKind.ElementReferenceEscapes, SinkReason.ElementReferenceReturned, ret);
            case IVariableInitializerOperation { Parent: IVariableDeclaratorOperation { Symbol.RefKind: not RefKind.None } declarator }:
                AddAlias(declarator.Symbol, StepKind.ElementReference, declarator, elementReference: true);
                return null;
            case IArgumentOperation { Parameter.RefKind: RefKind.Ref or RefKind.Out } argument:
                return Argument(argument);
            case IAddressOfOperation addressOf:
                Push(addressOf);
                return null;
            default:
                return null;
        }
    }

    /// <summary><c>return ref x;</c> or <c>=> ref x</c>.</summary>
    private static bool IsRefReturn(IReturnOperation ret)
        => ret.ReturnedValue?.Syntax.Parent is Microsoft.CodeAnalysis.CSharp.Syntax.RefExpressionSyntax;

    private SinkInfo? Store(IOperation assignment, IOperation target)
    {
        switch (target)
        {
            case ILocalReferenceOperation local:
                AddAlias(local.Local, StepKind.Assigned, assignment);
                Push(assignment); // a = b = value
                return null;
            case IParameterReferenceOperation { Parameter.RefKind: RefKind.Ref or RefKind.Out } parameter:
                return new SinkInfo(EscapeKind.StoredInRefParameter, SinkReason.RefParameter, assignment, parameter.Parameter);
            case IParameterReferenceOperation parameter:
                AddAlias(parameter.Parameter, StepKind.Assigned, assignment);
                Push(assignment);
                return null;
            case IDiscardOperation:
                return null;
            case IFieldReferenceOperation { Field.IsStatic: true } field:
                return new SinkInfo(EscapeKind.StoredInField, SinkReason.StaticField, assignment, field.Field);
            case IFieldReferenceOperation field:
                return new SinkInfo(EscapeKind.StoredInField, SinkReason.Field, assignment, field.Field);
            case IArrayElementReferenceOperation:
                return new SinkInfo(EscapeKind.StoredInArrayElement, SinkReason.ArrayElement, assignment);
            case IPropertyReferenceOperation { Property.IsIndexer: true } indexer:
                return new SinkInfo(EscapeKind.StoredInProperty, SinkReason.Indexer, assignment, indexer.Property);
            case IPropertyReferenceOperation when assignment.Parent is IAnonymousObjectCreationOperation:
                Push(assignment.Parent);
                return null;
            case IPropertyReferenceOperation property:
                return new SinkInfo(EscapeKind.StoredInProperty, SinkReason.Property, assignment, property.Property);
            default:
                return Unknown(assignment);
        }
    }

    private SinkInfo? Deconstruct(IOperation target)
    {
        switch (target)
        {
            case ITupleOperation tuple:
                foreach (var element in tuple.Elements)
                {
                    var result = Deconstruct(element);
                    if (result is not null)
                        return result;
                }

                return null;
            case IDeclarationExpressionOperation declaration:
                return Deconstruct(declaration.Expression);
            case ILocalReferenceOperation local:
                AddAlias(local.Local, StepKind.Deconstructed, local);
                return null;
            case IDiscardOperation:
                return null;
            default:
                return Store(target.Parent!, target);
        }
    }

    private void AliasPatternVariables(IOperation pattern)
    {
        var stack = new Stack<IOperation>();
        stack.Push(pattern);
        while (stack.Count > 0)
        {
            var operation = stack.Pop();
            if (operation is IDeclarationPatternOperation { DeclaredSymbol: { } declared })
                AddAlias(declared, StepKind.PatternVariable, operation);
            else if (operation is IRecursivePatternOperation { DeclaredSymbol: { } recursive })
                AddAlias(recursive, StepKind.PatternVariable, operation);
            else if (operation is IListPatternOperation { DeclaredSymbol: { } list })
                AddAlias(list, StepKind.PatternVariable, operation);
            foreach (var child in operation.ChildOperations)
                stack.Push(child);
        }
    }

    private SinkInfo? Argument(IArgumentOperation argument)
    {
        var call = argument.Parent;
        var method = call switch
        {
            IInvocationOperation invocation => invocation.TargetMethod,
            IObjectCreationOperation creation => creation.Constructor,
            _ => null,
        };
        var parameter = argument.Parameter;
        if (method is null || parameter is null)
            return Unknown(call!);

        // A ref struct parameter (Span<T>, ReadOnlySpan<T>) or a scoped one cannot be stored on the
        // heap by the callee; it can only come back as the call's own ref struct result.
        if (parameter.Type.IsRefLikeType || parameter.ScopedKind != ScopedKind.None)
        {
            if (call!.Type is { IsRefLikeType: true })
                Push(call);
            return null;
        }

        if (NonRetainingMembers.IsNonRetaining(method, out var resultAliases))
        {
            if (resultAliases)
                Push(call!);
            return null;
        }

        // A local function's body is part of this tree: its parameter simply becomes an alias.
        if (method.MethodKind == MethodKind.LocalFunction && parameter.RefKind == RefKind.None)
        {
            AddAlias(parameter.OriginalDefinition, StepKind.LocalFunctionParameter, argument);
            if (ReturnsCandidate(call!))
                Push(call!);
            return null;
        }

        ParameterSummary? summary = null;
        if (_graph.Summaries is { } summaries && parameter.RefKind == RefKind.None)
        {
            summary = summaries.Get(method, parameter.Ordinal, _graph.SummaryContext);
            switch (summary.Verdict)
            {
                case ParameterVerdict.DoesNotRetain:
                    return null;
                case ParameterVerdict.Returns:
                    Push(call!);
                    return null;
            }

            if (!summary.HasReason)
                summary = null;
        }

        return new SinkInfo(EscapeKind.PassedToMethod, SinkReason.Argument, call!, method, parameter, summary);
    }

    /// <summary>Whether a call's result could be the value passed in (a reference type, or a ref struct view).</summary>
    private static bool ReturnsCandidate(IOperation call)
        => call.Type is { } type && (type.IsReferenceType || type.IsRefLikeType || type.TypeKind == TypeKind.TypeParameter);

    private SinkInfo? Receiver(IInvocationOperation invocation)
    {
        var method = invocation.TargetMethod;
        if (NonRetainingMembers.IsNonRetaining(method, out var resultAliases) || IsOwnStateMethod(method))
        {
            // sb.Append(x) returns sb itself, and an enumerator holds its collection: follow those results.
            if (resultAliases || method.Name == "GetEnumerator" || (invocation.Type is not null && invocation.Instance?.Type is { } receiverType
                    && SymbolEqualityComparer.Default.Equals(invocation.Type, receiverType)))
            {
                Push(invocation);
            }

            return null;
        }

        return new SinkInfo(EscapeKind.PassedToMethod, SinkReason.Receiver, invocation, method);
    }

    /// <summary>Methods of arrays, strings and the BCL collections work on the receiver's own state
    /// and do not publish <c>this</c>.</summary>
    private static bool IsOwnStateMethod(IMethodSymbol method)
    {
        var type = method.ContainingType;
        if (type is null)
            return false;
        if (type.SpecialType is SpecialType.System_Array or SpecialType.System_String or SpecialType.System_Object)
            return true;
        var ns = type.ContainingNamespace;
        return NonRetainingMembers.IsNamespace(ns, "System.Collections.Generic") || NonRetainingMembers.IsNamespace(ns, "System.Text");
    }

    /// <summary>An operation to follow, or a location the value flows into (followed by the solve).</summary>
    private readonly struct Entry
    {
        public Entry(IOperation? value, Edge? edge, bool refUse)
        {
            Value = value;
            Edge = edge;
            RefUse = refUse;
        }

        public IOperation? Value { get; }

        public Edge? Edge { get; }

        /// <summary>A read of a ref local bound to an element: only taking a reference again can leak the container.</summary>
        public bool RefUse { get; }
    }
}

internal enum SinkReason
{
    CapturedByLambda,
    CapturedByLocalFunction,
    FieldInitializer,
    PropertyInitializer,
    Yielded,
    Returned,
    ReturnedFromFunction,
    Thrown,
    Dynamic,
    Unknown,
    ElementReferenceReturned,
    RefParameter,
    StaticField,
    Field,
    ArrayElement,
    Indexer,
    Property,
    Argument,
    Receiver,
}

/// <summary>A sink, kept as what was found (kind, operation, symbols); its text is rendered only when asked.</summary>
internal sealed class SinkInfo
{
    private string? _reason;

    public SinkInfo(EscapeKind kind, SinkReason reason, IOperation operation, ISymbol? symbol = null, IParameterSymbol? parameter = null, ParameterSummary? summary = null)
    {
        Kind = kind;
        Why = reason;
        Operation = operation;
        Symbol = symbol;
        Parameter = parameter;
        Summary = summary;
    }

    public EscapeKind Kind { get; }

    public SinkReason Why { get; }

    public IOperation Operation { get; }

    public ISymbol? Symbol { get; }

    public IParameterSymbol? Parameter { get; }

    /// <summary>The callee's summary when it says how the callee keeps the argument.</summary>
    public ParameterSummary? Summary { get; }

    public string Reason => _reason ??= Render();

    public void AppendSteps(List<string> steps)
    {
        if (Summary?.Callee is { } callee)
        {
            steps.Add($"passed to {CalleeName((IMethodSymbol)Symbol!)} as '{Parameter!.Name}'");
            steps.AddRange(callee.Path);
            return;
        }

        steps.Add(Reason);
    }

    private string Render()
    {
        switch (Why)
        {
            case SinkReason.CapturedByLambda:
                return $"captured by a lambda at line {EscapeEngine.Line(Operation)}";
            case SinkReason.CapturedByLocalFunction:
                return $"captured by local function '{Symbol!.Name}', which is converted to a delegate";
            case SinkReason.FieldInitializer:
            case SinkReason.Field:
                return $"stored into field '{Symbol!.Name}'";
            case SinkReason.StaticField:
                return $"stored into static field '{Symbol!.Name}'";
            case SinkReason.PropertyInitializer:
            case SinkReason.Property:
                return $"stored into property '{Symbol!.Name}'";
            case SinkReason.Yielded:
                return "yielded by an iterator";
            case SinkReason.Returned:
                return "returned";
            case SinkReason.ReturnedFromFunction:
                return "returned from a lambda or local function";
            case SinkReason.Thrown:
                return "thrown";
            case SinkReason.Dynamic:
                return "passed to a dynamic operation";
            case SinkReason.ElementReferenceReturned:
                return "a reference to its element is returned";
            case SinkReason.RefParameter:
                return $"stored into {(((IParameterSymbol)Symbol!).RefKind == RefKind.Out ? "out" : "ref")} parameter '{Symbol.Name}'";
            case SinkReason.ArrayElement:
                return "stored into an array element";
            case SinkReason.Indexer:
                return $"stored through the indexer of '{Symbol!.ContainingType.Name}', which keeps it";
            case SinkReason.Argument:
                var name = CalleeName((IMethodSymbol)Symbol!);
                return Summary?.Reason is { } keptBecause
                    ? $"passed to {name}, where it is {keptBecause}"
                    : $"passed to {name}, which may keep it";
            case SinkReason.Receiver:
                return $"'{Symbol!.Name}' is called on it and may keep a reference to it";
            default:
                return $"used in a way the analysis does not follow ({Operation.Kind})";
        }
    }

    private static string CalleeName(IMethodSymbol method)
        => method.MethodKind == MethodKind.Constructor
            ? $"the constructor of '{method.ContainingType.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat)}'"
            : $"'{method.ContainingType.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat)}.{method.Name}'";
}
