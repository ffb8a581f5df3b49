using System.Collections.Immutable;
using MemSafety.Analyzers.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.Closures;

/// <summary>
/// When the C# compiler creates a new delegate for each evaluation of a lambda, and when it caches it.
/// <para>
/// Roslyn's closure conversion (ClosureConversion.cs, <c>shouldCacheInLoop</c> and <c>InLoopOrLambda</c>, unchanged
/// from Roslyn 1.0 to 4.14) caches the delegate of a capturing lambda in a field of its display class (<c>&lt;&gt;9__N</c>)
/// when (1) the scope nearest to the lambda is not the scope of its display class (some scope lies between: a block
/// that declares locals, a <c>foreach</c> or a <c>for</c> with variables, a <c>using</c>, <c>lock</c> or <c>catch</c>,
/// or a temporary the compiler introduces while lowering the expression) and (2) a loop statement or a lambda lies
/// between them. Scopes exist only where variables are declared: in <c>while (…) { t += xs.Count(y =&gt; y &gt; limit); }</c>
/// no scope lies between the lambda and <c>limit</c>'s, so every iteration allocates a delegate; add <c>var z = 1;</c> to
/// the body and the compiler caches it. A lambda that captures only <c>this</c> has no display class of its own (it
/// becomes an instance method of the type, with a new delegate each time) unless the top-level scope has one (some
/// other function captures a parameter or top-level local), which then holds <c>this</c> and the lambda.
/// CapturingDelegateInLoopTests and UncachedDelegateTests check each shape with IL.
/// </para>
/// <para>
/// The lowering temporaries cannot be seen in the operation tree, so the answer is three-valued where it matters:
/// <see cref="IsCreatedOnEachEvaluation"/> is true only when the path from the lambda to its scope consists of
/// constructs known to lower without temporaries (calls with arguments in order on a local, parameter, field or
/// <c>this</c>, assignments to locals, conditions, blocks without locals, loops without variables); anything else
/// answers false, "may be cached", and the rules stay silent.
/// </para>
/// </summary>
public static class DelegateCaching
{
    /// <summary>Whether the compiler certainly creates a new delegate each time <paramref name="creation"/> runs, given
    /// <paramref name="scope"/>, the scope of the display class that holds the lambda (<c>DisplayClass.Scope</c> of the
    /// innermost of <c>ClosureFacts.EnvironmentsOf</c>; the member's or function's own scope for parameters, <c>this</c>
    /// and top-level locals): true when no scope, function or lowering temporary lies between them.</summary>
    public static bool IsCreatedOnEachEvaluation(IOperation creation, IOperation scope)
    {
        var child = creation;
        for (var parent = creation.Parent; parent is not null; child = parent, parent = parent.Parent)
        {
            if (parent == scope || NormalizeScope(parent) == scope)
                return true;
            if (parent is IAnonymousFunctionOperation or ILocalFunctionOperation)
                return false;
            if (!LocalsOf(parent).IsEmpty)
                return false;
            if (!LowersWithoutTemporaries(parent, child))
                return false;
        }

        return false;
    }

    /// <summary>The locals an operation declares for its whole extent (what the compiler makes a scope of).</summary>
    public static ImmutableArray<ILocalSymbol> LocalsOf(IOperation operation) => operation switch
    {
        IBlockOperation block => block.Locals,
        IForLoopOperation forLoop => forLoop.ConditionLocals.IsEmpty ? forLoop.Locals : forLoop.Locals.AddRange(forLoop.ConditionLocals),
        ILoopOperation loop => loop.Locals,
        IUsingOperation usingOperation => usingOperation.Locals,
        ISwitchOperation switchOperation => switchOperation.Locals,
        ISwitchCaseOperation switchCase => switchCase.Locals,
        ICatchClauseOperation catchClause => catchClause.Locals,
        ISwitchExpressionArmOperation arm => arm.Locals,
        _ => ImmutableArray<ILocalSymbol>.Empty,
    };

    /// <summary>A function's top-level block and the function (parameters) are one scope: the function stands for both.</summary>
    public static IOperation NormalizeScope(IOperation scope)
        => scope is IBlockOperation { Parent: IMethodBodyBaseOperation or IAnonymousFunctionOperation or ILocalFunctionOperation } block ? block.Parent! : scope;

    /// <summary>
    /// Constructs between a lambda and its scope that the compiler lowers without a temporary (a temporary would be a
    /// scope of its own, and the delegate then cached). Each was checked in IL (CapturingDelegateInLoopTests); what is
    /// not listed, such as <c>?.</c>, <c>??</c>, compound assignment to an element or property, named arguments out of
    /// order, <c>lock</c>, <c>using</c>, object initializers and string interpolation, counts as "may introduce one".
    /// </summary>
    private static bool LowersWithoutTemporaries(IOperation parent, IOperation child)
    {
        switch (parent)
        {
            case IDelegateCreationOperation:
            case IArgumentOperation:
            case IExpressionStatementOperation:
            case IReturnOperation:
            case IVariableInitializerOperation:
            case IVariableDeclaratorOperation:
            case IVariableDeclarationOperation:
            case IConditionalOperation:
            case ILabeledOperation:
            case IBlockOperation:
            case ISwitchCaseOperation:
            case ISwitchOperation:
            case IWhileLoopOperation:
            case IForLoopOperation:
                return true;
            // Lifted (nullable) operators and conversions keep their operands in temporaries.
            case IConversionOperation conversion:
                return !conversion.Conversion.IsNullable;
            case IUnaryOperation unary:
                return !unary.IsLifted;
            case IBinaryOperation binary:
                return !binary.IsLifted;
            case IVariableDeclarationGroupOperation group:
                return group.Syntax is not LocalDeclarationStatementSyntax { UsingKeyword.RawKind: not 0 };
            case IInvocationOperation invocation:
                return IsPlainReceiver(invocation.Instance) && ArgumentsInOrder(invocation.Arguments);
            case IObjectCreationOperation creation:
                return creation.Initializer is null && ArgumentsInOrder(creation.Arguments);
            case ISimpleAssignmentOperation assignment:
                return assignment.Target != child && IsPlainTarget(assignment.Target);
            case ICompoundAssignmentOperation compound:
                return compound.Target != child && !compound.IsLifted && IsPlainTarget(compound.Target);
            default:
                return false;
        }
    }

    /// <summary>A receiver the compiler uses in place: none (static or extension), <c>this</c>, a local or a by-value
    /// parameter (a struct is called through its address), or a field, call result, property or element of a reference
    /// type (left on the stack). A struct read from a readonly place or returned by a call is first copied into a temporary.</summary>
    private static bool IsPlainReceiver(IOperation? instance) => instance switch
    {
        null or IInstanceReferenceOperation => true,
        ILocalReferenceOperation local => local.Local.RefKind == RefKind.None,
        IParameterReferenceOperation parameter => parameter.Parameter.RefKind is RefKind.None or RefKind.Ref or RefKind.Out,
        IFieldReferenceOperation or IInvocationOperation or IPropertyReferenceOperation or IArrayElementReferenceOperation => instance.Type is { IsReferenceType: true },
        _ => false,
    };

    private static bool IsPlainTarget(IOperation target) => target switch
    {
        ILocalReferenceOperation or IParameterReferenceOperation => true,
        IFieldReferenceOperation field => field.Instance is null or IInstanceReferenceOperation,
        _ => false,
    };

    /// <summary>Arguments evaluated in parameter order into by-value or by-reference parameters: named arguments out of
    /// order are spilled into temporaries, and so are values passed to <c>in</c> parameters and interpolated strings.</summary>
    private static bool ArgumentsInOrder(ImmutableArray<IArgumentOperation> arguments)
    {
        var last = -1;
        foreach (var argument in arguments)
        {
            if (argument.Parameter?.RefKind is not (null or RefKind.None or RefKind.Ref or RefKind.Out)
                || argument.Value.WithoutImplicitConversions() is IInterpolatedStringOperation)
            {
                return false;
            }

            if (argument.IsImplicit || argument.ArgumentKind != ArgumentKind.Explicit)
                continue;
            var start = argument.Syntax.SpanStart;
            if (start < last)
                return false;
            last = start;
        }

        return true;
    }
}
