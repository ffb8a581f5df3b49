using System.Collections.Concurrent;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Core;

/// <summary>
/// Answers "does this code run on an error path, or not at all?" for the census rules (those that count
/// allocations where code repeats): an allocation there happens once per failure, not per iteration or
/// per call, so reporting it is noise. Rules share the compilation's one instance (<see cref="CompilationServices.ColdPaths"/>); answers about callees are cached.
/// <para>Cold (runs only when something has gone wrong):</para>
/// <list type="bullet">
/// <item>inside a <c>throw</c> (statement or expression) or a <c>catch</c> handler;</item>
/// <item>inside the arguments or initializer of <c>new X(…)</c> where X derives from <c>System.Exception</c>,
/// and of a constructor initializer (<c>: base(…)</c>) of such a type: building an exception's message;</item>
/// <item>inside the arguments of a method whose return type derives from <c>System.Exception</c> (a throw-helper
/// factory: <c>throw Error.Create(…)</c>), of a <c>[DoesNotReturn]</c> method, or of a method declared in source
/// whose body can only end by throwing (<c>static void Fail(string m) =&gt; throw …;</c>, also without the attribute,
/// which netstandard2.0 lacks);</item>
/// <item>before a <c>throw</c> statement that ends the same block, with nothing between that could leave the block
/// (<c>return</c>, <c>break</c>, <c>continue</c>, <c>goto</c>, <c>yield</c>): <c>var m = Format(x); throw new E(m);</c>.</item>
/// </list>
/// <para>Not run: the arguments of a <c>[Conditional]</c> method (removed without the symbol, diagnostics code
/// otherwise), attribute arguments (metadata), lambdas converted to expression trees (data).</para>
/// </summary>
public sealed class ColdPaths
{
    private readonly INamedTypeSymbol? _conditional;
    private readonly INamedTypeSymbol? _doesNotReturn;
    private readonly INamedTypeSymbol? _expression;
    private readonly INamedTypeSymbol? _exception;
    private readonly ConcurrentDictionary<IMethodSymbol, bool> _neverReturns = new(SymbolEqualityComparer.Default);

    public ColdPaths(Compilation compilation)
    {
        CreationCounts.Record(compilation, nameof(ColdPaths));
        _conditional = compilation.GetTypeByMetadataName("System.Diagnostics.ConditionalAttribute");
        _doesNotReturn = compilation.GetTypeByMetadataName("System.Diagnostics.CodeAnalysis.DoesNotReturnAttribute");
        _expression = compilation.GetTypeByMetadataName("System.Linq.Expressions.Expression`1");
        _exception = compilation.GetTypeByMetadataName("System.Exception");
    }

    /// <summary>Whether <paramref name="operation"/> is on an error path or is not executed code (see the class).</summary>
    public bool IsColdOrNotRun(IOperation operation)
    {
        // A call reported as a whole (a params call allocates its array at the call) is cold by its own callee.
        switch (operation)
        {
            case IInvocationOperation self when IsColdCallee(self.TargetMethod):
                return true;
            case IObjectCreationOperation self when IsException(self.Type):
                return true;
        }

        // Blocks ending in a throw count only within the operation's own function: a lambda created before a
        // throw may still run later, elsewhere.
        var sameFunction = true;
        // A loop before a block-ending throw is the work the method does before it fails (a worker loop ended by
        // `throw new ObjectDisposedException(…)`): its body repeats, it is not an error path.
        var passedLoop = false;
        var child = operation;
        for (var parent = operation.Parent; parent is not null; child = parent, parent = parent.Parent)
        {
            switch (parent)
            {
                case IThrowOperation:
                case ICatchClauseOperation:
                case IAttributeOperation:
                    return true;
                case IObjectCreationOperation creation when IsException(creation.Type):
                    return true;
                case IInvocationOperation invocation when IsColdCallee(invocation.TargetMethod):
                    return true;
                case IDelegateCreationOperation { Type: INamedTypeSymbol delegateType } when IsExpressionTree(delegateType):
                    return true;
                case IConversionOperation { Operand: IAnonymousFunctionOperation, Type: INamedTypeSymbol expressionType } when IsExpressionTree(expressionType):
                    return true;
                case IAnonymousFunctionOperation or ILocalFunctionOperation:
                    sameFunction = false;
                    break;
                case ILoopOperation:
                    passedLoop = true;
                    break;
                case IBlockOperation block when sameFunction && !passedLoop && EndsInThrowFrom(block.Operations, child):
                    return true;
                case ISwitchCaseOperation section when sameFunction && !passedLoop && EndsInThrowFrom(section.Body, child):
                    return true;
            }
        }

        return false;
    }

    /// <summary>Whether the type is <c>System.Exception</c> or derives from it.</summary>
    public bool IsException(ITypeSymbol? type)
    {
        if (_exception is null)
            return false;
        for (var t = type; t is not null; t = t.BaseType)
        {
            if (SymbolEqualityComparer.Default.Equals(t, _exception))
                return true;
        }

        return false;
    }

    private bool IsColdCallee(IMethodSymbol method)
    {
        if (_conditional is not null && HasAttribute(method, _conditional))
            return true;
        // `: base(message)` in an exception's constructor, and factories such as `Error.ArgumentNull(name)`.
        if (method.MethodKind == MethodKind.Constructor ? IsException(method.ContainingType) : IsException(method.ReturnType))
            return true;
        if (_doesNotReturn is not null && HasAttribute(method, _doesNotReturn))
            return true;
        return NeverReturns(method);
    }

    private bool IsExpressionTree(INamedTypeSymbol type)
        => _expression is not null && SymbolEqualityComparer.Default.Equals(type.OriginalDefinition, _expression);

    /// <summary>
    /// A method declared in source whose body can only end by throwing: an expression body that is a throw
    /// expression, or a block whose last statement is a <c>throw</c> and that has no <c>return</c> or <c>yield</c>
    /// (outside nested functions): the end of such a body is unreachable and nothing else leaves it.
    /// </summary>
    private bool NeverReturns(IMethodSymbol method)
    {
        method = method.OriginalDefinition;
        if (method.DeclaringSyntaxReferences.Length != 1 || method.MethodKind is not (MethodKind.Ordinary or MethodKind.LocalFunction))
            return false;
        // A throwing virtual or interface member is a default that overrides replace: calls through it may run real code.
        if (method.IsVirtual || method.IsAbstract || (method.IsOverride && !method.IsSealed) || method.ContainingType?.TypeKind == TypeKind.Interface)
            return false;
        if (_neverReturns.TryGetValue(method, out var known))
            return known;
        var result = Compute(method.DeclaringSyntaxReferences[0].GetSyntax());
        _neverReturns.TryAdd(method, result);
        return result;

        static bool Compute(SyntaxNode declaration)
        {
            var (body, expression) = declaration switch
            {
                MethodDeclarationSyntax m => (m.Body, m.ExpressionBody),
                LocalFunctionStatementSyntax f => (f.Body, f.ExpressionBody),
                _ => (null, null),
            };
            if (expression is not null)
                return expression.Expression is ThrowExpressionSyntax;
            if (body is null || body.Statements.Count == 0 || body.Statements[body.Statements.Count - 1] is not ThrowStatementSyntax)
                return false;
            foreach (var node in body.DescendantNodes(static n => n is not (AnonymousFunctionExpressionSyntax or LocalFunctionStatementSyntax)))
            {
                // A loop before the final throw does the method's work first (a worker loop that ends in a throw).
                if (node is ReturnStatementSyntax or YieldStatementSyntax or WhileStatementSyntax or DoStatementSyntax or ForStatementSyntax or ForEachStatementSyntax or ForEachVariableStatementSyntax)
                    return false;
            }

            return true;
        }
    }

    /// <summary>
    /// Whether the statement list ends with a <c>throw</c> statement and nothing from <paramref name="child"/> on can
    /// leave the list another way: then every path through <paramref name="child"/> ends in that throw.
    /// </summary>
    private static bool EndsInThrowFrom(ImmutableArray<IOperation> statements, IOperation child)
    {
        if (statements.IsEmpty || !IsThrowStatement(statements[statements.Length - 1]))
            return false;
        var start = statements.IndexOf(child);
        if (start < 0)
            return false;
        for (var i = start; i < statements.Length - 1; i++)
        {
            if (MayLeave(statements[i]))
                return false;
        }

        return true;
    }

    private static bool IsThrowStatement(IOperation statement)
        => statement is IThrowOperation or IExpressionStatementOperation { Operation: IThrowOperation };

    /// <summary>Any return, yield, break, continue or goto outside nested functions (a break of a nested loop
    /// counts too: conservative, it only makes the answer "not cold").</summary>
    private static bool MayLeave(IOperation statement)
    {
        if (statement is IReturnOperation or IBranchOperation)
            return true;
        foreach (var descendant in statement.Descendants())
        {
            if (descendant is IReturnOperation or IBranchOperation && !InNestedFunction(descendant, statement))
                return true;
        }

        return false;
    }

    private static bool InNestedFunction(IOperation operation, IOperation root)
    {
        for (var parent = operation.Parent; parent is not null && parent != root; parent = parent.Parent)
        {
            if (parent is IAnonymousFunctionOperation or ILocalFunctionOperation)
                return true;
        }

        return false;
    }

    private static bool HasAttribute(IMethodSymbol method, INamedTypeSymbol attributeType)
    {
        foreach (var attribute in method.GetAttributes())
        {
            if (SymbolEqualityComparer.Default.Equals(attribute.AttributeClass, attributeType))
                return true;
        }

        return false;
    }
}
