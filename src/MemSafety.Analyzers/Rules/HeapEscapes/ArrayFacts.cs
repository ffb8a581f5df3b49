using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;
using MemSafety.Analyzers.Engines.Escape;

namespace MemSafety.Analyzers.Rules.HeapEscapes;

/// <summary>Questions about array creations that MSA1005 and MSA1008 share.</summary>
internal static class ArrayFacts
{
    /// <summary>Inside an attribute argument, where only constants (and arrays of them) are allowed.</summary>
    public static bool IsInAttribute(IOperation operation)
    {
        for (var p = operation.Parent; p is not null; p = p.Parent)
        {
            if (p is IAttributeOperation)
                return true;
        }

        // Older compilers do not hand attribute arguments to operation actions at all; the syntax says it too.
        for (var node = operation.Syntax.Parent; node is not null; node = node.Parent)
        {
            if (node is AttributeArgumentSyntax)
                return true;
            if (node is MemberDeclarationSyntax or StatementSyntax)
                return false;
        }

        return false;
    }

    /// <summary>Inside a lambda converted to <c>Expression&lt;TDelegate&gt;</c>: the code is data there, read by
    /// a query provider that may not know a call to <c>Array.Empty</c> or a field read.</summary>
    public static bool IsInExpressionTree(IOperation operation)
    {
        for (var p = operation.Parent; p is not null; p = p.Parent)
        {
            if (p is IAnonymousFunctionOperation lambda)
            {
                var target = lambda.Parent is IDelegateCreationOperation creation ? creation.Parent : lambda.Parent;
                if (target is IConversionOperation { Type: { } type } && IsExpressionType(type))
                    return true;
            }
        }

        return false;
    }

    private static bool IsExpressionType(ITypeSymbol type)
    {
        for (var t = type as INamedTypeSymbol; t is not null; t = t.BaseType)
        {
            if (t.Name is "Expression" or "LambdaExpression" && NonRetainingMembers.IsNamespace(t.ContainingNamespace, "System.Linq.Expressions"))
                return true;
        }

        return false;
    }

    /// <summary>Whether a constant (a dimension size) is the number zero.</summary>
    public static bool IsZero(Optional<object?> constant)
    {
        if (!constant.HasValue)
            return false;
        return constant.Value switch
        {
            int i => i == 0,
            long l => l == 0,
            uint u => u == 0,
            ulong ul => ul == 0,
            short s => s == 0,
            ushort us => us == 0,
            byte b => b == 0,
            sbyte sb => sb == 0,
            char c => c == 0,
            _ => false,
        };
    }

    /// <summary>An element type that can be written as a type argument (<c>Array.Empty&lt;T&gt;</c>) or a field's type.</summary>
    public static bool IsNameable(ITypeSymbol type)
    {
        switch (type)
        {
            case { TypeKind: TypeKind.Error or TypeKind.Pointer or TypeKind.FunctionPointer }:
            case { IsRefLikeType: true }:
            case { IsAnonymousType: true }:
                return false;
            case IArrayTypeSymbol array:
                return IsNameable(array.ElementType);
            case INamedTypeSymbol named:
                foreach (var argument in named.TypeArguments)
                {
                    if (!IsNameable(argument))
                        return false;
                }

                return named.ContainingType is null || IsNameable(named.ContainingType);
            default:
                return true;
        }
    }
}
