using System.Runtime.CompilerServices;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Engines.Concurrency;

/// <summary>What the act after the check does wrong when another thread runs between the two.</summary>
internal enum CheckThenActKind : byte
{
    /// <summary><c>if (!d.ContainsKey(k)) d[k] = v;</c>: the write replaces a value another thread added in between.</summary>
    SetAfterMissingKey,
    /// <summary><c>if (!d.TryGetValue(k, out v)) { v = …; d.TryAdd(k, v); }</c> with TryAdd's result ignored: when another
    /// thread added the key in between, TryAdd does nothing and the code goes on with a value that is not in the dictionary.</summary>
    IgnoredTryAddAfterMissingKey,
    /// <summary><c>if (q.Count &gt; 0) q.TryDequeue(out var x);</c> with the result ignored: another thread can take the last
    /// item in between, and the out value is then the default.</summary>
    IgnoredTakeAfterCount,
}

/// <summary>A check on a concurrent collection field and an act on the same collection (and key) that relies on it.</summary>
internal sealed class CheckThenActPair
{
    public CheckThenActPair(CheckThenActKind kind, IOperation check, IOperation collection, IOperation act, IOperation actStatement, IOperation branch)
    {
        Kind = kind;
        Check = check;
        Collection = collection;
        Act = act;
        ActStatement = actStatement;
        Branch = branch;
    }

    public CheckThenActKind Kind { get; }

    /// <summary>The check: the lookup call (<c>d.ContainsKey(k)</c>), or the whole condition for a count (<c>!q.IsEmpty</c>).</summary>
    public IOperation Check { get; }

    /// <summary>The collection (a field reference), as the check reads it.</summary>
    public IOperation Collection { get; }

    /// <summary>The act: the indexer write's assignment, or the ignored Try* call.</summary>
    public IOperation Act { get; }

    /// <summary>The expression statement holding the act.</summary>
    public IOperation ActStatement { get; }

    /// <summary>The branch (or loop body) the act is in, the one the check's outcome selects.</summary>
    public IOperation Branch { get; }
}

/// <summary>
/// Check-then-act pairs on the concurrent collections of <c>System.Collections.Concurrent</c> (MSA6006): each call on
/// them is atomic, a pair of calls is not. Only collections held in a field of the type (or a static field) count: a
/// concurrent collection kept in a field is there to be shared, while a local one may be drained by one thread after its
/// producers finished. The key must be the same local, parameter, constant or field in both calls.
/// </summary>
internal sealed class CheckThenAct
{
    private static readonly ConditionalWeakTable<Compilation, CheckThenAct> Instances = new();

    private CheckThenAct(Compilation compilation)
    {
        Dictionary = compilation.GetTypeByMetadataName("System.Collections.Concurrent.ConcurrentDictionary`2");
        Queue = compilation.GetTypeByMetadataName("System.Collections.Concurrent.ConcurrentQueue`1");
        Stack = compilation.GetTypeByMetadataName("System.Collections.Concurrent.ConcurrentStack`1");
        Bag = compilation.GetTypeByMetadataName("System.Collections.Concurrent.ConcurrentBag`1");
    }

    public static CheckThenAct Of(Compilation compilation) => Instances.GetValue(compilation, static c => new CheckThenAct(c));

    public INamedTypeSymbol? Dictionary { get; }

    public INamedTypeSymbol? Queue { get; }

    public INamedTypeSymbol? Stack { get; }

    public INamedTypeSymbol? Bag { get; }

    public bool Exists => Dictionary is not null;

    /// <summary>The pair whose check is <paramref name="condition"/> (an <c>if</c>'s or a <c>while</c> loop's) and whose act
    /// is in the branch that check selects, or null.</summary>
    public CheckThenActPair? Find(IOperation condition, IOperation? whenTrue, IOperation? whenFalse)
    {
        var check = condition;
        var negated = false;
        while (check is IUnaryOperation { OperatorKind: UnaryOperatorKind.Not } not)
        {
            negated = !negated;
            check = not.Operand;
        }

        if (check is IInvocationOperation { TargetMethod.Name: "ContainsKey" or "TryGetValue", Arguments.Length: >= 1 } lookup
            && ConcurrencyTypes.Is(lookup.Instance?.Type, Dictionary) && IsSharedCollection(lookup.Instance))
        {
            var missing = negated ? whenTrue : whenFalse;
            return missing is null ? null : FindAdd(lookup, missing, check);
        }

        if (NonEmptyTest(check, negated) is { Instance: { } counted } count && IsSharedCollection(counted))
        {
            var nonEmpty = whenTrue;
            return nonEmpty is null ? null : FindTake(count, nonEmpty, condition);
        }

        return null;
    }

    private static CheckThenActPair? FindAdd(IInvocationOperation lookup, IOperation branch, IOperation check)
    {
        var key = lookup.Arguments[0].Value;
        foreach (var statement in Statements(branch))
        {
            if (statement is not IExpressionStatementOperation { Operation: var expression })
                continue;
            if (expression is ISimpleAssignmentOperation { Target: IPropertyReferenceOperation { Property.IsIndexer: true, Arguments.Length: 1 } indexer } assignment
                && SameReference(indexer.Instance, lookup.Instance) && SameReference(indexer.Arguments[0].Value, key))
            {
                return new CheckThenActPair(CheckThenActKind.SetAfterMissingKey, check, lookup.Instance!, assignment, statement, branch);
            }

            if (expression is IInvocationOperation { TargetMethod.Name: "TryAdd", Arguments.Length: 2 } tryAdd
                && SameReference(tryAdd.Instance, lookup.Instance) && SameReference(tryAdd.Arguments[0].Value, key)
                && ValueUsedLater(tryAdd.Arguments[1].Value, lookup))
            {
                return new CheckThenActPair(CheckThenActKind.IgnoredTryAddAfterMissingKey, check, lookup.Instance!, tryAdd, statement, branch);
            }
        }

        return null;
    }

    // TryAdd(k, v) whose result is ignored matters when v is what the code goes on with: the TryGetValue's out local.
    private static bool ValueUsedLater(IOperation value, IInvocationOperation lookup)
        => lookup.TargetMethod.Name == "TryGetValue" && lookup.Arguments.Length == 2
           && Unwrap(value) is ILocalReferenceOperation local
           && OutLocal(lookup.Arguments[1].Value) is { } outLocal
           && SymbolEqualityComparer.Default.Equals(local.Local, outLocal);

    private static ILocalSymbol? OutLocal(IOperation argument) => argument switch
    {
        IDeclarationExpressionOperation { Expression: ILocalReferenceOperation declared } => declared.Local,
        ILocalReferenceOperation local => local.Local,
        _ => null,
    };

    private static CheckThenActPair? FindTake(IPropertyReferenceOperation countCall, IOperation branch, IOperation check)
    {
        foreach (var statement in Statements(branch))
        {
            if (statement is IExpressionStatementOperation { Operation: IInvocationOperation { TargetMethod.Name: "TryDequeue" or "TryTake" or "TryPop" or "TryPeek" } take }
                && take.Arguments.Length >= 1 && SameReference(take.Instance, countCall.Instance) && !DiscardsTheItem(take))
            {
                return new CheckThenActPair(CheckThenActKind.IgnoredTakeAfterCount, check, countCall.Instance!, take, statement, branch);
            }
        }

        return null;
    }

    /// <summary><c>q.TryDequeue(out _)</c>: the item is thrown away, so a take that finds the queue emptied by another
    /// thread changes nothing (NLog's <c>while (!q.IsEmpty) q.TryDequeue(out var _);</c> drain loop, reported wrongly
    /// in session 8).</summary>
    private static bool DiscardsTheItem(IInvocationOperation take)
    {
        foreach (var argument in take.Arguments)
        {
            if (argument.Parameter?.RefKind == RefKind.Out
                && argument.Value is not (IDiscardOperation or IDeclarationExpressionOperation { Expression: IDiscardOperation }))
            {
                return false;
            }
        }

        return true;
    }

    // q.Count > 0, q.Count != 0, 0 < q.Count, q.Count >= 1, !q.IsEmpty, q.IsEmpty == false: the true branch runs on "not empty".
    private IPropertyReferenceOperation? NonEmptyTest(IOperation check, bool negated)
    {
        IPropertyReferenceOperation? property = null;
        if (check is IPropertyReferenceOperation { Property.Name: "IsEmpty" } isEmpty && negated)
        {
            property = isEmpty;
        }
        else if (!negated && check is IBinaryOperation binary)
        {
            if (Unwrap(binary.LeftOperand) is IPropertyReferenceOperation { Property.Name: "Count" } left && binary.RightOperand.ConstantValue is { HasValue: true, Value: int right }
                && (binary.OperatorKind is BinaryOperatorKind.GreaterThan or BinaryOperatorKind.NotEquals && right == 0 || binary.OperatorKind == BinaryOperatorKind.GreaterThanOrEqual && right == 1))
            {
                property = left;
            }
            else if (Unwrap(binary.RightOperand) is IPropertyReferenceOperation { Property.Name: "Count" } rightCount && binary.LeftOperand.ConstantValue is { HasValue: true, Value: 0 }
                && binary.OperatorKind is BinaryOperatorKind.LessThan or BinaryOperatorKind.NotEquals)
            {
                property = rightCount;
            }
            else if (Unwrap(binary.LeftOperand) is IPropertyReferenceOperation { Property.Name: "IsEmpty" } empty && binary.RightOperand.ConstantValue is { HasValue: true, Value: false }
                && binary.OperatorKind == BinaryOperatorKind.Equals)
            {
                property = empty;
            }
        }

        if (property?.Instance?.Type is not { } type
            || !(ConcurrencyTypes.Is(type, Queue) || ConcurrencyTypes.Is(type, Stack) || ConcurrencyTypes.Is(type, Bag) || ConcurrencyTypes.Is(type, Dictionary)))
        {
            return null;
        }

        return property;
    }

    private static bool IsSharedCollection(IOperation? receiver)
        => Unwrap(receiver) is IFieldReferenceOperation { Field: var field } reference
           && (field.IsStatic || reference.Instance is IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance });

    /// <summary>Same local, parameter, constant, or field of this instance or static.</summary>
    public static bool SameReference(IOperation? a, IOperation? b)
    {
        a = Unwrap(a);
        b = Unwrap(b);
        return (a, b) switch
        {
            (ILocalReferenceOperation x, ILocalReferenceOperation y) => SymbolEqualityComparer.Default.Equals(x.Local, y.Local),
            (IParameterReferenceOperation x, IParameterReferenceOperation y) => SymbolEqualityComparer.Default.Equals(x.Parameter, y.Parameter),
            (IFieldReferenceOperation x, IFieldReferenceOperation y) => SymbolEqualityComparer.Default.Equals(x.Field, y.Field)
                && (x.Field.IsStatic || x.Instance is IInstanceReferenceOperation && y.Instance is IInstanceReferenceOperation),
            ({ ConstantValue.HasValue: true } x, { ConstantValue.HasValue: true } y) => Equals(x.ConstantValue.Value, y.ConstantValue.Value),
            _ => false,
        };
    }

    public static IOperation? Unwrap(IOperation? operation)
    {
        while (operation is IConversionOperation { IsImplicit: true } conversion)
            operation = conversion.Operand;
        return operation;
    }

    // The statements of a branch that run in it directly (a block's statements, or the branch statement itself).
    private static System.Collections.Immutable.ImmutableArray<IOperation> Statements(IOperation branch)
        => branch is IBlockOperation block ? block.Operations : System.Collections.Immutable.ImmutableArray.Create(branch);
}
