using System.Collections.Generic;
using System.Threading;
using MemSafety.Analyzers.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Engines.Escape;

/// <summary>
/// Intraprocedural, flow-insensitive escape analysis over one function body's IOperation tree, modelled
/// on Go's escape analysis: it follows a value from where it is created through every local or
/// parameter that holds it (simple copies, pattern variables, tuples) to its sinks, and answers whether
/// it escapes the frame and why. Anything it does not model counts as an escape, so a "does not
/// escape" verdict can be relied on. Create one per body (it indexes the body's references once, on
/// first use) and ask it about as many values as needed.
/// </summary>
public sealed class EscapeEngine
{
    private readonly IOperation _root;
    private readonly ParameterSummaries? _summaries;
    private readonly SummaryContext _summaryContext;
    private Dictionary<ISymbol, List<IOperation>>? _references;
    private List<IOperation>? _suspensions;
    private HashSet<IMethodSymbol>? _localFunctionsAsDelegates;

    /// <param name="root">The function body (the root of its operation tree).</param>
    /// <param name="summaries">Summaries of the compilation's methods; without them every call to a
    /// method outside the curated BCL table counts as an escape.</param>
    /// <param name="cancellationToken">The token of the analyzer callback the engine serves (summaries it
    /// computes observe it).</param>
    public EscapeEngine(IOperation root, ParameterSummaries? summaries = null, CancellationToken cancellationToken = default)
        : this(root, summaries, SummaryContext.Root(cancellationToken))
    {
    }

    internal EscapeEngine(IOperation root, ParameterSummaries? summaries, SummaryContext summaryContext)
    {
        _root = root;
        _summaries = summaries;
        _summaryContext = summaryContext;
    }

    /// <summary>The engine for the body that contains <paramref name="operation"/>.</summary>
    public static EscapeEngine ForBodyOf(IOperation operation, ParameterSummaries? summaries = null, CancellationToken cancellationToken = default)
    {
        return new EscapeEngine(operation.Root(), summaries, cancellationToken);
    }

    /// <summary>Does the value produced by <paramref name="value"/> (an allocation, usually) escape?</summary>
    public EscapeResult Analyze(IOperation value)
    {
        var state = new Walk(this);
        state.Values.Push(value);
        var result = state.Run();
        if (result.Escapes)
            return result;
        var suspension = FindSuspension(value, state.Aliases);
        return suspension is null ? result : result.WithSuspension(suspension);
    }

    /// <summary>Does the value held by a local or parameter escape (a parameter summary asks this)?</summary>
    public EscapeResult AnalyzeSymbol(ISymbol localOrParameter)
    {
        var state = new Walk(this);
        state.AddAlias(localOrParameter);
        return state.Run();
    }

    // ------------------------------------------------------------------ index of the body

    private void EnsureIndexed()
    {
        if (_references is not null)
            return;
        var references = new Dictionary<ISymbol, List<IOperation>>(SymbolEqualityComparer.Default);
        var suspensions = new List<IOperation>();
        var asDelegates = new HashSet<IMethodSymbol>(SymbolEqualityComparer.Default);
        var stack = new Stack<IOperation>();
        stack.Push(_root);
        while (stack.Count > 0)
        {
            var operation = stack.Pop();
            switch (operation)
            {
                case ILocalReferenceOperation local:
                    Add(references, local.Local, operation);
                    break;
                case IParameterReferenceOperation parameter:
                    Add(references, parameter.Parameter, operation);
                    break;
                case IAwaitOperation:
                case IReturnOperation { Kind: OperationKind.YieldReturn }:
                    suspensions.Add(operation);
                    break;
                case IMethodReferenceOperation { Method.MethodKind: MethodKind.LocalFunction } methodReference when methodReference.Parent is IDelegateCreationOperation:
                    asDelegates.Add(methodReference.Method.OriginalDefinition);
                    break;
                case IUsingOperation { IsAsynchronous: true }:
                case IUsingDeclarationOperation { IsAsynchronous: true }:
                case IForEachLoopOperation { IsAsynchronous: true }:
                    suspensions.Add(operation);
                    break;
            }

            foreach (var child in operation.ChildOperations)
                stack.Push(child);
        }

        // Earliest first, so a verdict names the first await/yield the value is live across.
        suspensions.Sort(static (a, b) => a.Syntax.SpanStart.CompareTo(b.Syntax.SpanStart));
        _suspensions = suspensions;
        _localFunctionsAsDelegates = asDelegates;
        _references = references;

        static void Add(Dictionary<ISymbol, List<IOperation>> map, ISymbol symbol, IOperation reference)
        {
            if (!map.TryGetValue(symbol, out var list))
                map[symbol] = list = new List<IOperation>();
            list.Add(reference);
        }
    }

    /// <summary>An await/yield between the creation and a later use, or in a loop that also uses the value.</summary>
    private string? FindSuspension(IOperation value, HashSet<ISymbol> aliases)
    {
        EnsureIndexed();
        if (_suspensions!.Count == 0)
            return null;
        var start = value.Syntax.SpanStart;
        foreach (var suspension in _suspensions)
        {
            var at = suspension.Syntax.SpanStart;
            // A use inside the await/yield expression itself is evaluated before the suspension.
            var resumed = suspension.Syntax.Span.End;
            foreach (var alias in aliases)
            {
                if (!_references!.TryGetValue(alias, out var uses))
                    continue;
                foreach (var use in uses)
                {
                    var position = use.Syntax.SpanStart;
                    if (at > start && (position >= resumed || SharesLoop(suspension, use, value)))
                        return $"it is live across '{Describe(suspension)}' at line {Line(suspension)}";
                }
            }
        }

        return null;
    }

    private static bool SharesLoop(IOperation suspension, IOperation use, IOperation creation)
    {
        for (var loop = suspension.Parent; loop is not null; loop = loop.Parent)
        {
            if (loop is ILoopOperation && Contains(loop, use) && !Contains(loop, creation))
                return true;
        }

        return false;
    }

    private static bool Contains(IOperation outer, IOperation inner) => outer.Syntax.Span.Contains(inner.Syntax.Span);

    private static string Describe(IOperation suspension) => suspension switch
    {
        IAwaitOperation => "await",
        IReturnOperation => "yield return",
        IUsingOperation or IUsingDeclarationOperation => "await using",
        _ => "await foreach",
    };

    internal static int Line(IOperation operation) => operation.Syntax.GetLocation().GetLineSpan().StartLinePosition.Line + 1;

    // ------------------------------------------------------------------ the walk

    private sealed class Walk
    {
        private readonly EscapeEngine _engine;

        public Walk(EscapeEngine engine) => _engine = engine;

        public Stack<IOperation> Values { get; } = new();

        public HashSet<ISymbol> Aliases { get; } = new(SymbolEqualityComparer.Default);

        private readonly HashSet<IOperation> _seen = new();

        /// <summary>Ref locals bound to an element (<c>ref int e = ref a[0]</c>): reading them yields a copy;
        /// only taking a reference through them again can let the container escape.</summary>
        private readonly HashSet<ISymbol> _elementReferences = new(SymbolEqualityComparer.Default);

        public void AddAlias(ISymbol symbol) => AddAlias(symbol, elementReference: false);

        private void AddAlias(ISymbol symbol, bool elementReference)
        {
            if (elementReference)
                _elementReferences.Add(symbol);
            if (!Aliases.Add(symbol))
                return;
            _engine.EnsureIndexed();
            if (!_engine._references!.TryGetValue(symbol, out var uses))
                return;
            foreach (var use in uses)
            {
                // A write to the alias (x = other) is not a read of our value.
                if (use.Parent is ISimpleAssignmentOperation assignment && assignment.Target == use)
                    continue;
                if (IsDeconstructionTarget(use))
                    continue;
                Values.Push(use);
            }
        }

        private static bool IsDeconstructionTarget(IOperation use)
        {
            var node = use;
            while (node.Parent is ITupleOperation or IDeclarationExpressionOperation)
                node = node.Parent;
            return node.Parent is IDeconstructionAssignmentOperation deconstruction && deconstruction.Target == node;
        }

        public EscapeResult Run()
        {
            while (Values.Count > 0)
            {
                var value = Values.Pop();
                if (!_seen.Add(value))
                    continue;
                var captured = CheckCapture(value);
                if (captured is not null)
                    return captured;
                var result = value is ILocalReferenceOperation local && _elementReferences.Contains(local.Local)
                    ? RefUse(value)
                    : Flow(value);
                if (result is not null)
                    return result;
            }

            return EscapeResult.DoesNotEscape;
        }

        /// <summary>A read of an alias inside a lambda, or inside a local function turned into a delegate,
        /// that is declared outside it: the closure object on the heap holds the value.</summary>
        private EscapeResult? CheckCapture(IOperation use)
        {
            ISymbol? symbol = use switch
            {
                ILocalReferenceOperation local => local.Local,
                IParameterReferenceOperation parameter => parameter.Parameter,
                _ => null,
            };
            if (symbol is null)
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
                    return new EscapeResult(EscapeKind.CapturedByDelegate, enclosing, $"captured by a lambda at line {Line(enclosing)}");
                if (_engine._localFunctionsAsDelegates!.Contains(function.OriginalDefinition))
                    return new EscapeResult(EscapeKind.CapturedByDelegate, enclosing, $"captured by local function '{function.Name}', which is converted to a delegate");
            }

            return null;
        }

        /// <summary>Follows one occurrence of the value to its consumer; returns an escape or null.</summary>
        private EscapeResult? Flow(IOperation value)
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
                    Values.Push(parent);
                    return null;

                case ISpreadOperation:
                    return null; // [.. value] copies the elements.

                case IConditionalOperation conditional:
                    if (conditional.Condition != value)
                        Values.Push(conditional);
                    return null;

                case ICoalesceOperation coalesce:
                    Values.Push(coalesce);
                    return null;

                case IConditionalAccessOperation access when access.Operation == value:
                    // value?.M(): inside WhenNotNull, the placeholder receivers stand for our value.
                    PushConditionalInstances(access.WhenNotNull);
                    return null;

                case IConditionalAccessOperation access:
                    Values.Push(access);
                    return null;

                case IVariableInitializerOperation { Parent: IVariableDeclaratorOperation declarator }:
                    AddAlias(declarator.Symbol);
                    return null;

                case IFieldInitializerOperation fieldInitializer:
                    return new EscapeResult(EscapeKind.StoredInField, parent, $"stored into field '{fieldInitializer.InitializedFields[0].Name}'");

                case IPropertyInitializerOperation propertyInitializer:
                    return new EscapeResult(EscapeKind.StoredInProperty, parent, $"stored into property '{propertyInitializer.InitializedProperties[0].Name}'");

                case ISimpleAssignmentOperation assignment when assignment.Value == value:
                    return Store(assignment, assignment.Target);

                case ICompoundAssignmentOperation compound when compound.Value == value:
                    return null; // x += value: arithmetic (event += is IEventAssignment).

                case ICoalesceAssignmentOperation coalesceAssignment when coalesceAssignment.Value == value:
                    return Store(coalesceAssignment, coalesceAssignment.Target);

                case IDeconstructionAssignmentOperation deconstruction when deconstruction.Value == value:
                    return Deconstruct(deconstruction.Target);

                case IReturnOperation { Kind: OperationKind.YieldReturn }:
                    return new EscapeResult(EscapeKind.Returned, parent, "yielded by an iterator");

                case IReturnOperation returned:
                    return new EscapeResult(EscapeKind.Returned, parent, InsideFunction(returned) ? "returned from a lambda or local function" : "returned");

                case IThrowOperation:
                    return new EscapeResult(EscapeKind.Thrown, parent, "thrown");

                case IArgumentOperation argument:
                    return Argument(argument);

                case IInvocationOperation invocation when invocation.Instance == value:
                    return Receiver(invocation);

                case IPropertyReferenceOperation property when property.Instance == value:
                case IFieldReferenceOperation field when field.Instance == value:
                    // value.Length, value[i], tuple.Item1: a part of the value is read. For a tuple or
                    // anonymous object the part may be our value itself.
                    if (value.Type is { IsTupleType: true } or { IsAnonymousType: true })
                        Values.Push(parent);
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
                case IDynamicInvocationOperation:
                case IDynamicMemberReferenceOperation:
                case IDynamicIndexerAccessOperation:
                case IDynamicObjectCreationOperation:
                    return parent is IVariableInitializerOperation
                        ? Unknown(parent)
                        : new EscapeResult(EscapeKind.PassedToDynamic, parent, "passed to a dynamic operation");

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
                    Values.Push(operation);
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

        private static EscapeResult Unknown(IOperation parent)
            => new(EscapeKind.Unknown, parent, $"used in a way the analysis does not follow ({parent.Kind})");

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
        private EscapeResult? RefUse(IOperation part)
        {
            switch (part.Parent)
            {
                case IReturnOperation ret when IsRefReturn(ret):
                    return new EscapeResult(EscapeKind.ElementReferenceEscapes, ret, "a reference to its element is returned");
                case IVariableInitializerOperation { Parent: IVariableDeclaratorOperation { Symbol.RefKind: not RefKind.None } declarator }:
                    AddAlias(declarator.Symbol, elementReference: true);
                    return null;
                case IArgumentOperation { Parameter.RefKind: RefKind.Ref or RefKind.Out } argument:
                    return Argument(argument);
                case IAddressOfOperation addressOf:
                    Values.Push(addressOf);
                    return null;
                default:
                    return null;
            }
        }

        /// <summary><c>return ref x;</c> or <c>=> ref x</c>.</summary>
        private static bool IsRefReturn(IReturnOperation ret)
            => ret.ReturnedValue?.Syntax.Parent is Microsoft.CodeAnalysis.CSharp.Syntax.RefExpressionSyntax;

        private EscapeResult? Store(IOperation assignment, IOperation target)
        {
            switch (target)
            {
                case ILocalReferenceOperation local:
                    AddAlias(local.Local);
                    Values.Push(assignment); // a = b = value
                    return null;
                case IParameterReferenceOperation { Parameter.RefKind: RefKind.Ref or RefKind.Out } parameter:
                    return new EscapeResult(EscapeKind.StoredInRefParameter, assignment, $"stored into {(parameter.Parameter.RefKind == RefKind.Out ? "out" : "ref")} parameter '{parameter.Parameter.Name}'");
                case IParameterReferenceOperation parameter:
                    AddAlias(parameter.Parameter);
                    Values.Push(assignment);
                    return null;
                case IDiscardOperation:
                    return null;
                case IFieldReferenceOperation { Field.IsStatic: true } field:
                    return new EscapeResult(EscapeKind.StoredInField, assignment, $"stored into static field '{field.Field.Name}'");
                case IFieldReferenceOperation field:
                    return new EscapeResult(EscapeKind.StoredInField, assignment, $"stored into field '{field.Field.Name}'");
                case IArrayElementReferenceOperation:
                    return new EscapeResult(EscapeKind.StoredInArrayElement, assignment, "stored into an array element");
                case IPropertyReferenceOperation { Property.IsIndexer: true } indexer:
                    return new EscapeResult(EscapeKind.StoredInProperty, assignment, $"stored through the indexer of '{indexer.Property.ContainingType.Name}', which keeps it");
                case IPropertyReferenceOperation property when assignment.Parent is IAnonymousObjectCreationOperation:
                    Values.Push(assignment.Parent);
                    return null;
                case IPropertyReferenceOperation property:
                    return new EscapeResult(EscapeKind.StoredInProperty, assignment, $"stored into property '{property.Property.Name}'");
                default:
                    return Unknown(assignment);
            }
        }

        private EscapeResult? Deconstruct(IOperation target)
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
                    AddAlias(local.Local);
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
                    AddAlias(declared);
                else if (operation is IRecursivePatternOperation { DeclaredSymbol: { } recursive })
                    AddAlias(recursive);
                else if (operation is IListPatternOperation { DeclaredSymbol: { } list })
                    AddAlias(list);
                foreach (var child in operation.ChildOperations)
                    stack.Push(child);
            }
        }

        private EscapeResult? Argument(IArgumentOperation argument)
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
                    Values.Push(call);
                return null;
            }

            if (NonRetainingMembers.IsNonRetaining(method, out var resultAliases))
            {
                if (resultAliases)
                    Values.Push(call!);
                return null;
            }

            // A local function's body is part of this tree: its parameter simply becomes an alias.
            if (method.MethodKind == MethodKind.LocalFunction && parameter.RefKind == RefKind.None)
            {
                AddAlias(parameter.OriginalDefinition);
                if (ReturnsCandidate(call!))
                    Values.Push(call!);
                return null;
            }

            string? keptBecause = null;
            if (_engine._summaries is { } summaries && parameter.RefKind == RefKind.None)
            {
                var summary = summaries.Get(method, parameter.Ordinal, _engine._summaryContext);
                switch (summary.Verdict)
                {
                    case ParameterVerdict.DoesNotRetain:
                        return null;
                    case ParameterVerdict.Returns:
                        Values.Push(call!);
                        return null;
                }

                keptBecause = summary.Reason;
            }

            var name = method.MethodKind == MethodKind.Constructor
                ? $"the constructor of '{method.ContainingType.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat)}'"
                : $"'{method.ContainingType.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat)}.{method.Name}'";
            return new EscapeResult(EscapeKind.PassedToMethod, call, keptBecause is null
                ? $"passed to {name}, which may keep it"
                : $"passed to {name}, where it is {keptBecause}");
        }

        /// <summary>Whether a call's result could be the value passed in (a reference type, or a ref struct view).</summary>
        private static bool ReturnsCandidate(IOperation call)
            => call.Type is { } type && (type.IsReferenceType || type.IsRefLikeType || type.TypeKind == TypeKind.TypeParameter);

        private EscapeResult? Receiver(IInvocationOperation invocation)
        {
            var method = invocation.TargetMethod;
            if (NonRetainingMembers.IsNonRetaining(method, out var resultAliases) || IsOwnStateMethod(method))
            {
                // sb.Append(x) returns sb itself, and an enumerator holds its collection: follow those results.
                if (resultAliases || method.Name == "GetEnumerator" || (invocation.Type is not null && invocation.Instance?.Type is { } receiverType
                        && SymbolEqualityComparer.Default.Equals(invocation.Type, receiverType)))
                {
                    Values.Push(invocation);
                }

                return null;
            }

            return new EscapeResult(EscapeKind.PassedToMethod, invocation, $"'{method.Name}' is called on it and may keep a reference to it");
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
    }
}
