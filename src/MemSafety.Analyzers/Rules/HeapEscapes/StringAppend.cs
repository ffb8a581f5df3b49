using System.Collections.Generic;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.HeapEscapes;

/// <summary>
/// The shapes MSA1006 treats as "append to a string variable": the statements <c>s += x;</c> and
/// <c>s = s + x + …;</c>, where <c>s</c> is a by-value string local or parameter and every <c>+</c> is
/// the compiler's own string concatenation (no user-defined operator). Shared by the analyzer and the
/// fix, so both agree on what an append is and which pieces it appends.
/// </summary>
internal static class StringAppend
{
    /// <summary>The variable an append statement's expression appends to, or null when
    /// <paramref name="operation"/> is not an append.</summary>
    public static ISymbol? Target(IOperation operation)
    {
        switch (operation)
        {
            case ICompoundAssignmentOperation { OperatorKind: BinaryOperatorKind.Add, OperatorMethod: null } compound
                when compound.Type?.SpecialType == SpecialType.System_String:
                return StringVariable(compound.Target);
            case ISimpleAssignmentOperation { IsRef: false, Value: IBinaryOperation value } simple
                when IsConcatenation(value):
                var target = StringVariable(simple.Target);
                return target is not null && StringVariable(Leftmost(value)) is { } first && SymbolEqualityComparer.Default.Equals(first, target)
                    ? target
                    : null;
            default:
                return null;
        }
    }

    /// <summary>An append that is a statement of its own (its value is not used).</summary>
    public static bool IsAppendStatement(IOperation operation)
        => operation.Parent is IExpressionStatementOperation && Target(operation) is not null;

    /// <summary>The reference to the variable that the append reads: the target of <c>+=</c>, the
    /// leftmost operand of <c>s = s + …</c>.</summary>
    public static IOperation ReadReference(IOperation append)
        => append is ISimpleAssignmentOperation { Value: IBinaryOperation value } ? Leftmost(value) : ((IAssignmentOperation)append).Target;

    /// <summary>The expressions the append adds, in order: <c>s += a + b</c> and <c>s = s + a + b</c>
    /// both give <c>a</c>, <c>b</c> (a string concatenation is split into its operands; any other
    /// expression, a constant or an arithmetic <c>+</c>, is one piece).</summary>
    public static void CollectPieces(IOperation append, List<IOperation> pieces)
    {
        if (append is ICompoundAssignmentOperation compound)
        {
            Flatten(compound.Value, pieces);
            return;
        }

        // s = ((s + a) + b) + c: walk down the left spine, then add the right operands in order.
        var spine = new Stack<IBinaryOperation>();
        for (var node = ((ISimpleAssignmentOperation)append).Value; node is IBinaryOperation binary && IsConcatenation(binary); node = binary.LeftOperand)
            spine.Push(binary);
        while (spine.Count > 0)
            Flatten(spine.Pop().RightOperand, pieces);
    }

    /// <summary>The operand as written: implicit conversions the concatenation adds (boxing to
    /// <c>object</c>, <c>null</c> to <c>string</c>) removed.</summary>
    public static IOperation Natural(IOperation operand)
    {
        while (operand is IConversionOperation { IsImplicit: true } conversion && !conversion.Conversion.IsUserDefined)
            operand = conversion.Operand;
        return operand;
    }

    /// <summary>Whether <c>builder.Append(piece)</c> appends exactly the text that concatenating the
    /// piece does. Concatenation calls <c>ToString()</c> (current culture for numbers) and treats
    /// null as empty; the <c>Append</c> overload chosen for these types does the same. Types with
    /// their own Append overloads of other meaning (<c>char[]</c> appends the characters, where
    /// concatenation prints "System.Char[]"), user-defined conversions (which could pick another
    /// overload), typeless or target-typed expressions (<c>null</c>, <c>default</c>) are refused.</summary>
    public static bool IsSafePiece(IOperation piece)
    {
        if (piece is IConversionOperation { IsImplicit: true, Conversion.IsUserDefined: true })
            return false;
        var natural = Natural(piece);
        if (natural.Type is null || natural is IInvalidOperation || natural.HasNullOrDefaultLiteral())
            return false;
        return IsSafeType(natural.Type, depth: 0);
    }

    private static bool HasNullOrDefaultLiteral(this IOperation operation)
        => operation.Syntax is LiteralExpressionSyntax literal
           && (literal.IsKind(SyntaxKind.NullLiteralExpression) || literal.IsKind(SyntaxKind.DefaultLiteralExpression));

    private static bool IsSafeType(ITypeSymbol type, int depth)
    {
        switch (type.SpecialType)
        {
            case SpecialType.System_String:
            case SpecialType.System_Char:
            case SpecialType.System_Boolean:
            case SpecialType.System_SByte:
            case SpecialType.System_Byte:
            case SpecialType.System_Int16:
            case SpecialType.System_UInt16:
            case SpecialType.System_Int32:
            case SpecialType.System_UInt32:
            case SpecialType.System_Int64:
            case SpecialType.System_UInt64:
            case SpecialType.System_Single:
            case SpecialType.System_Double:
            case SpecialType.System_Decimal:
            case SpecialType.System_Object:
                return true;
        }

        if (depth > 4)
            return false;

        switch (type)
        {
            case IArrayTypeSymbol array:
                // Append(char[]) appends the characters; other arrays go to Append(object) like concatenation.
                return array.ElementType.SpecialType != SpecialType.System_Char;
            case ITypeParameterSymbol parameter:
                foreach (var constraint in parameter.ConstraintTypes)
                {
                    if (!IsSafeType(constraint, depth + 1))
                        return false;
                }

                return true;
            case INamedTypeSymbol named:
                if (named.TypeKind is TypeKind.Error or TypeKind.Dynamic || named.IsRefLikeType)
                    return false;
                if (named.OriginalDefinition.SpecialType == SpecialType.System_Nullable_T)
                    return IsSafeType(named.TypeArguments[0], depth + 1);
                if (named.TypeKind is TypeKind.Interface or TypeKind.Delegate or TypeKind.Enum)
                    return true;
                if (IsCharMemoryOrSegment(named))
                    return false;

                // A user-defined conversion could make another Append overload applicable.
                for (var t = named; t is not null; t = t.BaseType)
                {
                    if (!t.GetMembers(WellKnownMemberNames.ImplicitConversionName).IsEmpty)
                        return false;
                }

                return true;
            default:
                return false;
        }
    }

    // Memory<char>, ReadOnlyMemory<char> and ArraySegment<char> convert to the span/memory overloads of Append.
    private static bool IsCharMemoryOrSegment(INamedTypeSymbol type)
        => type.TypeArguments.Length == 1
           && type.TypeArguments[0].SpecialType == SpecialType.System_Char
           && type.Name is "Memory" or "ReadOnlyMemory" or "ArraySegment"
           && type.ContainingNamespace is { Name: "System", ContainingNamespace.IsGlobalNamespace: true };

    private static void Flatten(IOperation operand, List<IOperation> pieces)
    {
        if (operand is IBinaryOperation binary && IsConcatenation(binary) && !binary.ConstantValue.HasValue)
        {
            Flatten(binary.LeftOperand, pieces);
            Flatten(binary.RightOperand, pieces);
            return;
        }

        pieces.Add(operand);
    }

    private static bool IsConcatenation(IBinaryOperation binary)
        => binary is { OperatorKind: BinaryOperatorKind.Add, OperatorMethod: null }
           && binary.Type?.SpecialType == SpecialType.System_String;

    private static IOperation Leftmost(IBinaryOperation value)
    {
        IOperation node = value;
        while (node is IBinaryOperation binary && IsConcatenation(binary))
            node = binary.LeftOperand;
        return node;
    }

    /// <summary>The local or by-value parameter a reference names, when its type is string.</summary>
    public static ISymbol? StringVariable(IOperation operation)
    {
        switch (operation)
        {
            case ILocalReferenceOperation { Local: { IsRef: false, IsConst: false } local } when local.Type.SpecialType == SpecialType.System_String:
                return local;
            case IParameterReferenceOperation { Parameter: { RefKind: RefKind.None } parameter } when parameter.Type.SpecialType == SpecialType.System_String:
                return parameter;
            default:
                return null;
        }
    }
}
