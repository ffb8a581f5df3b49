using System.Collections.Generic;
using System.Collections.Immutable;
using MemSafety.Analyzers.Compat;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Engines.Effects;

/// <summary>
/// Whether a lambda (or another function body) is free of side effects, so that running it later, or
/// interleaved with other code, cannot change what anything else sees: an allow-list of operation kinds and
/// <see cref="KnownMembers">known pure members</see>; a write is allowed only to what the function creates
/// itself (its own locals through <c>out</c>, members of an object it initialises). Also lists what it reads,
/// for the caller to check that nothing it runs between writes those.
/// </summary>
public static class FunctionEffects
{
    /// <summary>Whether the function body is pure (see the class summary); every local, parameter, field and
    /// property it reads is added to <paramref name="reads"/> (up to the first impure operation).</summary>
    /// <param name="body">The function's body (<see cref="IAnonymousFunctionOperation.Body"/>).</param>
    /// <param name="function">The function's symbol: locals declared in it are its own to write.</param>
    public static bool IsPure(IOperation body, IMethodSymbol function, KnownMembers members, HashSet<ISymbol> reads)
    {
        foreach (var operation in body.DescendantsAndSelf())
        {
            if (!IsPureOperation(operation, function, members, reads))
                return false;
        }

        return true;
    }

    private static bool IsPureOperation(IOperation operation, IMethodSymbol function, KnownMembers members, HashSet<ISymbol> reads)
    {
        switch (operation)
        {
            case ILocalReferenceOperation local:
                reads.Add(local.Local);
                return true;
            case IParameterReferenceOperation parameter:
                reads.Add(parameter.Parameter);
                return true;
            case IFieldReferenceOperation field:
                reads.Add(field.Field);
                return true;
            case IPropertyReferenceOperation property:
                reads.Add(property.Property);
                return !KnownMembers.ReadsClock(property.Property);
            case IInvocationOperation invocation:
                if (IsInitializerReceiver(invocation.Instance))
                    return true; // Add of a collection initializer, on a collection created here.
                return members.IsPure(invocation.TargetMethod) && OutArgumentsAreOwn(invocation.Arguments, function);
            case IMethodReferenceOperation reference:
                return members.IsPure(reference.Method);
            case IObjectCreationOperation creation:
                return KnownMembers.IsSideEffectFreeCreation(creation.Type) && OutArgumentsAreOwn(creation.Arguments, function);
            case ISimpleAssignmentOperation assignment:
                return IsInitializerTarget(assignment.Target);
            case IBinaryOperation binary:
                return KnownMembers.IsPureOperator(binary.OperatorMethod);
            case IUnaryOperation unary:
                return KnownMembers.IsPureOperator(unary.OperatorMethod);
            case IConversionOperation conversion:
                return KnownMembers.IsPureOperator(conversion.OperatorMethod);
            default:
                return IsSideEffectFreeKind(operation.Kind);
        }
    }

    /// <summary>ref/out arguments may only write variables declared inside the function (<c>int.TryParse(s, out var n)</c>).</summary>
    private static bool OutArgumentsAreOwn(ImmutableArray<IArgumentOperation> arguments, IMethodSymbol function)
    {
        foreach (var argument in arguments)
        {
            if (argument.Parameter is not { RefKind: RefKind.Out or RefKind.Ref })
                continue;
            switch (argument.Value)
            {
                case IDeclarationExpressionOperation:
                case IDiscardOperation:
                    continue;
                case ILocalReferenceOperation local when IsDeclaredWithin(local.Local, function):
                    continue;
                default:
                    return false;
            }
        }

        return true;
    }

    private static bool IsDeclaredWithin(ILocalSymbol local, IMethodSymbol function)
    {
        for (var symbol = local.ContainingSymbol; symbol is not null; symbol = symbol.ContainingSymbol)
        {
            if (SymbolEqualityComparer.Default.Equals(symbol, function))
                return true;
            if (symbol is not IMethodSymbol { MethodKind: MethodKind.AnonymousFunction or MethodKind.LocalFunction })
                return false;
        }

        return false;
    }

    /// <summary>Operation kinds that by themselves neither write nor call anything (their children are judged
    /// separately): reads, literals, control flow inside an expression, patterns, tuples, new arrays, string
    /// interpolation, declarations, <c>throw</c>.</summary>
    public static bool IsSideEffectFreeKind(OperationKind kind)
    {
        switch (kind)
        {
            case OperationKind.Block:
            case OperationKind.Return:
            case OperationKind.ExpressionStatement:
            case OperationKind.Literal:
            case RoslynEnums.Utf8String:
            case OperationKind.Conditional:
            case OperationKind.Coalesce:
            case OperationKind.ConditionalAccess:
            case OperationKind.ConditionalAccessInstance:
            case OperationKind.IsType:
            case OperationKind.IsPattern:
            case OperationKind.ConstantPattern:
            case OperationKind.DeclarationPattern:
            case OperationKind.TypePattern:
            case OperationKind.RelationalPattern:
            case OperationKind.NegatedPattern:
            case OperationKind.BinaryPattern:
            case OperationKind.RecursivePattern:
            case OperationKind.PropertySubpattern:
            case OperationKind.DiscardPattern:
            case RoslynEnums.ListPattern:
            case RoslynEnums.SlicePattern:
            case OperationKind.SwitchExpression:
            case OperationKind.SwitchExpressionArm:
            case OperationKind.Switch:
            case OperationKind.SwitchCase:
            case OperationKind.CaseClause:
            case OperationKind.Tuple:
            case OperationKind.TupleBinary:
            case OperationKind.AnonymousObjectCreation:
            case OperationKind.ArrayCreation:
            case OperationKind.ArrayInitializer:
            case OperationKind.ArrayElementReference:
            case RoslynEnums.ImplicitIndexerReference:
            case RoslynEnums.CollectionExpression:
            case RoslynEnums.Spread:
            case OperationKind.InstanceReference:
            case OperationKind.InterpolatedString:
            case OperationKind.Interpolation:
            case OperationKind.InterpolatedStringText:
            case OperationKind.DefaultValue:
            case OperationKind.TypeOf:
            case OperationKind.NameOf:
            case OperationKind.SizeOf:
            case OperationKind.Throw:
            case OperationKind.DelegateCreation:
            case OperationKind.AnonymousFunction:
            case OperationKind.Argument:
            case OperationKind.VariableDeclarationGroup:
            case OperationKind.VariableDeclaration:
            case OperationKind.VariableDeclarator:
            case OperationKind.VariableInitializer:
            case OperationKind.DeclarationExpression:
            case OperationKind.Discard:
            case OperationKind.Range:
            case OperationKind.ObjectOrCollectionInitializer:
            case OperationKind.MemberInitializer:
            case OperationKind.Empty:
            case RoslynEnums.InterpolatedStringHandlerCreation:
            case RoslynEnums.InterpolatedStringAddition:
            case RoslynEnums.InterpolatedStringAppendLiteral:
            case RoslynEnums.InterpolatedStringAppendFormatted:
            case RoslynEnums.InterpolatedStringHandlerArgumentPlaceholder:
                return true;
            default:
                return false;
        }
    }

    /// <summary>The implicit receiver of an object or collection initializer: the object being created here.</summary>
    internal static bool IsInitializerReceiver(IOperation? instance)
        => instance is IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ImplicitReceiver };

    /// <summary><c>new T { X = 1 }</c>, <c>new { X = 1 }</c>: sets a member of the object being created.</summary>
    internal static bool IsInitializerTarget(IOperation target)
        => target is IMemberReferenceOperation member && IsInitializerReceiver(member.Instance)
           || (target is IPropertyReferenceOperation && target.Parent?.Parent is IAnonymousObjectCreationOperation);

    /// <summary>Every local, parameter, field and property the operation mentions.</summary>
    public static void CollectSymbols(IOperation operation, HashSet<ISymbol> into)
    {
        foreach (var node in operation.DescendantsAndSelf())
        {
            switch (node)
            {
                case ILocalReferenceOperation local:
                    into.Add(local.Local);
                    break;
                case IParameterReferenceOperation parameter:
                    into.Add(parameter.Parameter);
                    break;
                case IFieldReferenceOperation field:
                    into.Add(field.Field);
                    break;
                case IPropertyReferenceOperation property:
                    into.Add(property.Property);
                    break;
            }
        }
    }
}
