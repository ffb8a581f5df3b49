using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace MemSafety.CodeFixes.UnsafePointers;

/// <summary>
/// MSA5008's second fix for a leak: a small block of a constant size that only this call uses moves to the stack.
/// <c>T* p = (T*)NativeMemory.Alloc(C);</c> (or <c>AllocZeroed</c>, or the <c>(count, size)</c> forms) with a constant
/// of at most <see cref="MaxBytes"/> bytes, a multiple of <c>sizeof(T)</c> for a primitive <c>T</c>, becomes
/// <c>T* p = stackalloc T[C / sizeof(T)];</c> and the method's one <c>NativeMemory.Free(p);</c> is removed. The rule
/// reports only a block whose address stays in the method, and the stack block lives until the method returns, longer
/// than the native one did, so every use of <c>p</c> means what it meant; every path now releases it, the leak the
/// rule reports.
/// Refused where a stack block would behave differently: in a loop or after a <c>goto</c> target (each pass would grow
/// the frame, CA2014), in a <c>catch</c>/<c>finally</c> (CS0255), a lambda or local function, an iterator, or a method
/// that calls itself (recursion multiplies the frame, and a stack overflow ends the process where <c>Alloc</c>'s
/// <c>OutOfMemoryException</c> could be caught); when <c>p</c> is written again, its address taken, or handed to
/// another <c>NativeMemory</c> call (<c>Realloc</c>); when the local is declared with another pointer type than the cast
/// (<c>void* p = (byte*)…</c>: a <c>stackalloc</c> initializer must have the local's own element type); when there are several frees or the free is not a statement of a
/// block; and for <c>AllocZeroed</c> where <c>[SkipLocalsInit]</c> may apply (stack memory would then not be zeroed;
/// <c>Alloc</c>'s block is uninitialised anyway, so zeroed stack memory is one of its possible contents).
/// </summary>
internal static class NativeBlockOnStack
{
    internal const string Key = "MSA5008.Stackalloc";

    /// <summary>The runtime's own threshold for stack buffers of this kind (its <c>StackallocThreshold</c>s are 256 to
    /// 1,024 bytes): small enough for any thread's stack.</summary>
    internal const int MaxBytes = 1024;

    internal sealed class Plan
    {
        public Plan(LocalDeclarationStatementSyntax declaration, PointerTypeSyntax pointerType, PredefinedTypeSyntax elementType, int count, ExpressionStatementSyntax? free)
        {
            Declaration = declaration;
            PointerType = pointerType;
            ElementType = elementType;
            Count = count;
            Free = free;
        }

        public LocalDeclarationStatementSyntax Declaration { get; }

        public PointerTypeSyntax PointerType { get; }

        public PredefinedTypeSyntax ElementType { get; }

        /// <summary>Elements of the stack block: the constant byte count over the element's size.</summary>
        public int Count { get; }

        /// <summary>The one <c>NativeMemory.Free(p);</c> to remove, or null when the method never frees the block.</summary>
        public ExpressionStatementSyntax? Free { get; }
    }

    public static Plan? PlanFor(InvocationExpressionSyntax call, SemanticModel model, CancellationToken cancellationToken)
    {
        if (model.GetSymbolInfo(call, cancellationToken).Symbol is not IMethodSymbol { Name: "Alloc" or "AllocZeroed" } method
            || !IsNativeMemory(method.ContainingType)
            || ConstantBytes(call, model, cancellationToken) is not { } bytes)
        {
            return null;
        }

        SyntaxNode value = call;
        while (value.Parent is ParenthesizedExpressionSyntax)
            value = value.Parent;
        if (value.Parent is not CastExpressionSyntax { Type: PointerTypeSyntax { ElementType: PredefinedTypeSyntax element } pointer } cast
            || ElementSize(element) is not { } size || bytes % size != 0
            || cast.Parent is not EqualsValueClauseSyntax { Parent: VariableDeclaratorSyntax declarator }
            || declarator.Parent is not VariableDeclarationSyntax { Variables.Count: 1 } declaration
            || declaration.Parent is not LocalDeclarationStatementSyntax { UsingKeyword.RawKind: 0, IsConst: false } statement
            || statement.Parent is not BlockSyntax
            || model.GetDeclaredSymbol(declarator, cancellationToken) is not ILocalSymbol local
            || !declaration.Type.IsVar && !SymbolEqualityComparer.Default.Equals(local.Type, model.GetTypeInfo(pointer, cancellationToken).Type)
            || model.GetEnclosingSymbol(statement.SpanStart, cancellationToken) is not IMethodSymbol member
            || member.IsAsync
            || !InStraightLineCode(statement, out var body)
            || method.Name == "AllocZeroed" && MaySkipLocalsInit(member))
        {
            return null;
        }

        ExpressionStatementSyntax? free = null;
        foreach (var node in body.DescendantNodes())
        {
            switch (node)
            {
                case GotoStatementSyntax or YieldStatementSyntax:
                    return null;
                case InvocationExpressionSyntax invocation when SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(invocation, cancellationToken).Symbol?.OriginalDefinition, member.OriginalDefinition):
                    return null;
                case IdentifierNameSyntax name when name.Identifier.ValueText == local.Name && SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(name, cancellationToken).Symbol, local):
                    if (IsFreeStatement(name, model, cancellationToken) is { } statementOfFree)
                    {
                        if (free is not null)
                            return null;
                        free = statementOfFree;
                    }
                    else if (IsWrittenOrHandedToNativeMemory(name, model, cancellationToken))
                    {
                        return null;
                    }

                    break;
            }
        }

        return new Plan(statement, pointer, element, bytes / size, free);
    }

    public static SyntaxNode Rewrite(SyntaxNode root, Plan plan)
    {
        var declaration = plan.Declaration.Declaration;
        var declarator = declaration.Variables[0];
        var allocation = SyntaxFactory.StackAllocArrayCreationExpression(SyntaxFactory.ArrayType(plan.ElementType.WithoutTrivia(),
            SyntaxFactory.SingletonList(SyntaxFactory.ArrayRankSpecifier(SyntaxFactory.SingletonSeparatedList<ExpressionSyntax>(
                SyntaxFactory.LiteralExpression(SyntaxKind.NumericLiteralExpression, SyntaxFactory.Literal(plan.Count)))))));
        var newDeclarator = declarator.WithInitializer(declarator.Initializer!.WithValue(allocation.WithTriviaFrom(declarator.Initializer.Value)));
        // `var p = stackalloc T[n]` would be a Span<T>: the type is written out.
        var type = declaration.Type.IsVar ? plan.PointerType.WithoutTrivia().WithTriviaFrom(declaration.Type) : declaration.Type;
        var newStatement = plan.Declaration.WithDeclaration(declaration.WithType(type).WithVariables(SyntaxFactory.SingletonSeparatedList(newDeclarator)));
        if (plan.Free is null)
            return root.ReplaceNode(plan.Declaration, newStatement);
        var tracked = root.TrackNodes(plan.Declaration, plan.Free);
        tracked = tracked.ReplaceNode(tracked.GetCurrentNode(plan.Declaration)!, newStatement);
        return tracked.RemoveNode(tracked.GetCurrentNode(plan.Free)!, SyntaxRemoveOptions.KeepNoTrivia)!;
    }

    private static bool IsNativeMemory(INamedTypeSymbol? type)
        => type is { Name: "NativeMemory", ContainingNamespace: { Name: "InteropServices", ContainingNamespace: { Name: "Runtime", ContainingNamespace: { Name: "System", ContainingNamespace.IsGlobalNamespace: true } } } };

    /// <summary>The product of the call's arguments when every one is a positive constant and the product is at most
    /// <see cref="MaxBytes"/>; else null.</summary>
    private static int? ConstantBytes(InvocationExpressionSyntax call, SemanticModel model, CancellationToken cancellationToken)
    {
        var arguments = call.ArgumentList.Arguments;
        if (arguments.Count is 0 or > 2)
            return null;
        long bytes = 1;
        foreach (var argument in arguments)
        {
            if (argument.NameColon is not null || model.GetConstantValue(argument.Expression, cancellationToken) is not { HasValue: true, Value: { } constant })
                return null;
            long value;
            switch (constant)
            {
                case int i: value = i; break;
                case uint u: value = u; break;
                case long l: value = l; break;
                case ulong ul when ul <= MaxBytes: value = (long)ul; break;
                default: return null;
            }

            if (value <= 0 || value > MaxBytes)
                return null;
            bytes *= value;
            if (bytes > MaxBytes)
                return null;
        }

        return (int)bytes;
    }

    private static int? ElementSize(PredefinedTypeSyntax type) => type.Keyword.Kind() switch
    {
        SyntaxKind.ByteKeyword or SyntaxKind.SByteKeyword => 1,
        SyntaxKind.ShortKeyword or SyntaxKind.UShortKeyword or SyntaxKind.CharKeyword => 2,
        SyntaxKind.IntKeyword or SyntaxKind.UIntKeyword or SyntaxKind.FloatKeyword => 4,
        SyntaxKind.LongKeyword or SyntaxKind.ULongKeyword or SyntaxKind.DoubleKeyword => 8,
        _ => null,
    };

    /// <summary>No loop, <c>catch</c>/<c>finally</c>, lambda or local function between the statement and its
    /// member's body, which is returned.</summary>
    private static bool InStraightLineCode(StatementSyntax statement, out SyntaxNode body)
    {
        body = statement;
        for (SyntaxNode? node = statement.Parent; node is not null; node = node.Parent)
        {
            switch (node)
            {
                case ForStatementSyntax or CommonForEachStatementSyntax or WhileStatementSyntax or DoStatementSyntax
                    or CatchClauseSyntax or FinallyClauseSyntax or AnonymousFunctionExpressionSyntax or LocalFunctionStatementSyntax:
                    return false;
                case BaseMethodDeclarationSyntax or AccessorDeclarationSyntax:
                    body = node;
                    return true;
            }
        }

        return false;
    }

    /// <summary>Whether <c>[SkipLocalsInit]</c> is on the method, a type around it or the module; also when it is
    /// spelled anywhere the compilation could apply it (the assembly or module attributes).</summary>
    private static bool MaySkipLocalsInit(IMethodSymbol method)
    {
        for (ISymbol? symbol = method; symbol is not null and not INamespaceSymbol; symbol = symbol.ContainingSymbol)
        {
            if (HasSkipLocalsInit(symbol.GetAttributes()))
                return true;
        }

        return HasSkipLocalsInit(method.ContainingModule.GetAttributes()) || HasSkipLocalsInit(method.ContainingAssembly.GetAttributes());
    }

    private static bool HasSkipLocalsInit(System.Collections.Immutable.ImmutableArray<AttributeData> attributes)
    {
        foreach (var attribute in attributes)
        {
            if (attribute.AttributeClass?.Name == "SkipLocalsInitAttribute")
                return true;
        }

        return false;
    }

    /// <summary>The statement <c>NativeMemory.Free(p);</c> when the name is its argument and the statement stands in a
    /// block (not a <c>finally</c>'s: the block would then be freed by the <c>finally</c> on purpose).</summary>
    private static ExpressionStatementSyntax? IsFreeStatement(IdentifierNameSyntax name, SemanticModel model, CancellationToken cancellationToken)
    {
        SyntaxNode argumentValue = name;
        while (argumentValue.Parent is CastExpressionSyntax or ParenthesizedExpressionSyntax)
            argumentValue = argumentValue.Parent;
        if (argumentValue.Parent is not ArgumentSyntax { Parent: ArgumentListSyntax { Arguments.Count: 1, Parent: InvocationExpressionSyntax invocation } }
            || invocation.Parent is not ExpressionStatementSyntax { Parent: BlockSyntax } statement
            || model.GetSymbolInfo(invocation, cancellationToken).Symbol is not IMethodSymbol { Name: "Free" } free
            || !IsNativeMemory(free.ContainingType)
            || statement.Ancestors().OfType<FinallyClauseSyntax>().Any())
        {
            return null;
        }

        return statement;
    }

    /// <summary>A write of the local (an assignment, <c>++</c>, <c>ref</c>/<c>out</c>, its address taken) or any
    /// other use as an argument of a <c>NativeMemory</c> call.</summary>
    private static bool IsWrittenOrHandedToNativeMemory(IdentifierNameSyntax name, SemanticModel model, CancellationToken cancellationToken)
    {
        switch (name.Parent)
        {
            case AssignmentExpressionSyntax assignment when assignment.Left == name:
            case PrefixUnaryExpressionSyntax { RawKind: (int)SyntaxKind.PreIncrementExpression or (int)SyntaxKind.PreDecrementExpression or (int)SyntaxKind.AddressOfExpression }:
            case PostfixUnaryExpressionSyntax:
            case ArgumentSyntax { RefKindKeyword.RawKind: not 0 }:
                return true;
        }

        SyntaxNode argumentValue = name;
        while (argumentValue.Parent is CastExpressionSyntax or ParenthesizedExpressionSyntax)
            argumentValue = argumentValue.Parent;
        return argumentValue.Parent is ArgumentSyntax { Parent: ArgumentListSyntax { Parent: InvocationExpressionSyntax invocation } }
               && model.GetSymbolInfo(invocation, cancellationToken).Symbol is IMethodSymbol method && IsNativeMemory(method.ContainingType);
    }
}
