using System.Collections.Generic;
using System.Threading;
using MemSafety.Analyzers.Engines.Bodies;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Engines.Concurrency;

/// <summary>A plain read of a field that decides whether a loop ends (the loop's condition, or an <c>if</c> in its body
/// that leaves it), in a loop where nothing orders one iteration's read after the previous one's.</summary>
internal readonly struct FlagPoll
{
    public FlagPoll(IFieldReferenceOperation read, IFieldSymbol field)
    {
        Read = read;
        Field = field;
    }

    public IFieldReferenceOperation Read { get; }

    public IFieldSymbol Field { get; }
}

/// <summary>Where a field is written by code that can run while a loop that polls it spins: another member, a lambda or a
/// local function (constructors of the field's own type excepted: the object, or for a static field the type, is not
/// shared yet).</summary>
internal readonly struct FlagWriter
{
    public FlagWriter(SyntaxNode write, string description)
    {
        Write = write;
        Description = description;
    }

    public SyntaxNode Write { get; }

    /// <summary>Where it is, for a message: <c>Stop()</c>, <c>a lambda in Start()</c>, <c>the setter of Running</c>.</summary>
    public string Description { get; }
}

/// <summary>
/// Polls of a non-volatile field in a loop the JIT may compile with the read hoisted out of it (MSA6008). The .NET memory
/// model (dotnet/runtime docs/design/specs/Memory-model.md, "Sideeffects and optimizations of memory accesses") lets
/// adjacent non-volatile reads of one location be coalesced; only an acquire (a volatile read, <c>Volatile.Read</c>, taking
/// a lock) or a full fence (<c>Interlocked</c>, <c>Thread.MemoryBarrier</c>) in between keeps them apart. A loop counts as
/// unordered only when every operation in it is one of a small list of plain ones (locals, parameters, fields, array
/// elements and lengths, arithmetic, assignments, branches): a call may hide a fence or a write of the field, and today's JIT does
/// not move a field read across a call it does not inline, so a loop with any call, allocation, property, <c>await</c>
/// or <c>yield</c> is left alone.
/// </summary>
internal static class FlagPolls
{
    // Every loop of a compilation passes through Collect, almost all leave at their first call: one scratch stack per thread.
    [System.ThreadStatic]
    private static Stack<IOperation>? s_scratch;

    /// <summary>The polls in <paramref name="loop"/>; null when there is none, when something in the loop may order its
    /// reads, or when the loop itself writes the field.</summary>
    public static List<FlagPoll>? Collect(ILoopOperation loop)
    {
        HashSet<ISymbol>? written = null;
        if (loop is IWhileLoopOperation whileLoop)
        {
            if (!IsPlain(whileLoop.Condition, ref written))
                return null;
        }
        else if (loop is IForLoopOperation forLoop)
        {
            foreach (var step in forLoop.AtLoopBottom)
            {
                if (!IsPlain(step, ref written))
                    return null;
            }

            if (!IsPlain(forLoop.Condition, ref written))
                return null;
        }
        else
        {
            return null;
        }

        if (!IsPlain(loop.Body, ref written))
            return null;

        List<FlagPoll>? polls = null;
        AddTests((loop as IWhileLoopOperation)?.Condition ?? (loop as IForLoopOperation)?.Condition, BinaryOperatorKind.ConditionalAnd, written, ref polls);
        AddExitTests(loop.Body, loop, written, ref polls);

        return polls is { Count: > 0 } ? polls : null;
    }

    private static Stack<IOperation> Scratch()
    {
        var stack = s_scratch ??= new Stack<IOperation>();
        stack.Clear();
        return stack;
    }

    /// <summary>A write of <paramref name="field"/> that may run on another thread than <paramref name="loop"/> while it
    /// spins: found in the field's type's source, outside the function that holds the loop and outside the type's own
    /// constructors (for a static field, its static constructor). Null when there is none.</summary>
    public static FlagWriter? FindWriterElsewhere(IFieldSymbol field, ILoopOperation loop, Compilation compilation, CancellationToken cancellationToken)
    {
        var loopFunction = EnclosingFunction(loop.Syntax);
        foreach (var reference in field.ContainingType.DeclaringSyntaxReferences)
        {
            var root = reference.GetSyntax(cancellationToken);
            SemanticModel? model = null;
            foreach (var node in root.DescendantNodes())
            {
                if (node is not IdentifierNameSyntax identifier || identifier.Identifier.ValueText != field.Name || !IsWriteTarget(identifier))
                    continue;
                var function = EnclosingFunction(identifier);
                if (function is null || function == loopFunction || IsOwnConstructor(function, field))
                    continue;
#pragma warning disable RS1030 // Do not invoke Compilation.GetSemanticModel() method within a diagnostic analyzer: candidates are rare and need the type's other parts
                model ??= compilation.GetSemanticModel(identifier.SyntaxTree);
#pragma warning restore RS1030
                if (!SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(identifier, cancellationToken).Symbol?.OriginalDefinition, field.OriginalDefinition))
                    continue;
                return new FlagWriter(identifier, Describe(function));
            }
        }

        return null;
    }

    // The operations that cannot order memory, call code or write a field through a reference the rule does not see.
    private static bool IsPlain(IOperation? root, ref HashSet<ISymbol>? written)
    {
        if (root is null)
            return true;
        var stack = Scratch();
        stack.Push(root);
        while (stack.Count > 0)
        {
            var operation = stack.Pop();
            switch (operation)
            {
                case IFieldReferenceOperation fieldReference:
                    if (fieldReference.Field.IsVolatile)
                        return false;
                    if (IsWriteTarget(fieldReference))
                        (written ??= new HashSet<ISymbol>(SymbolEqualityComparer.Default)).Add(fieldReference.Field.OriginalDefinition);
                    break;
                case ILocalReferenceOperation localReference when IsWriteTarget(localReference):
                    (written ??= new HashSet<ISymbol>(SymbolEqualityComparer.Default)).Add(localReference.Local);
                    break;
                case IParameterReferenceOperation parameterReference when IsWriteTarget(parameterReference):
                    (written ??= new HashSet<ISymbol>(SymbolEqualityComparer.Default)).Add(parameterReference.Parameter);
                    break;
                case IBinaryOperation { OperatorMethod: not null }:
                case IUnaryOperation { OperatorMethod: not null }:
                case IConversionOperation { OperatorMethod: not null }:
                case ICompoundAssignmentOperation { OperatorMethod: not null }:
                case IIncrementOrDecrementOperation { OperatorMethod: not null }:
                case ISimpleAssignmentOperation { IsRef: true }:
                case IReturnOperation { Kind: OperationKind.YieldReturn }:
                    return false;
                case IAnonymousFunctionOperation:
                case ILocalFunctionOperation:
                    // Runs only when called, and a call is not plain.
                    continue;
                case IPropertyReferenceOperation { Property: { Name: "Length" or "LongLength", ContainingType.SpecialType: SpecialType.System_Array } }:
                    // An array's length is an ldlen instruction, not a call.
                    break;
                case IBlockOperation:
                case IExpressionStatementOperation:
                case ISimpleAssignmentOperation:
                case ICompoundAssignmentOperation:
                case IIncrementOrDecrementOperation:
                case IBinaryOperation:
                case IUnaryOperation:
                case IConversionOperation:
                case ILiteralOperation:
                case ILocalReferenceOperation:
                case IParameterReferenceOperation:
                case IInstanceReferenceOperation:
                case IArrayElementReferenceOperation:
                case IVariableDeclarationGroupOperation:
                case IVariableDeclarationOperation:
                case IVariableDeclaratorOperation:
                case IVariableInitializerOperation:
                case IBranchOperation:
                case IConditionalOperation:
                case IWhileLoopOperation:
                case IForLoopOperation:
                case IEmptyOperation:
                case ILabeledOperation:
                case IReturnOperation:
                case ICoalesceOperation:
                case IDefaultValueOperation:
                case ITypeOfOperation:
                case ISizeOfOperation:
                case INameOfOperation:
                case IParenthesizedOperation:
                    break;
                default:
                    return false;
            }

            foreach (var child in operation.ChildOperations)
                stack.Push(child);
        }

        return true;
    }

    private static bool IsWriteTarget(IOperation operation) => operation.Parent switch
    {
        IAssignmentOperation assignment => assignment.Target == operation,
        IIncrementOrDecrementOperation => true,
        IArgumentOperation { Parameter.RefKind: RefKind.Ref or RefKind.Out } => true,
        _ => false,
    };

    private static bool IsWriteTarget(IdentifierNameSyntax identifier)
    {
        SyntaxNode node = identifier;
        if (node.Parent is MemberAccessExpressionSyntax { Expression: ThisExpressionSyntax or IdentifierNameSyntax } access && access.Name == node)
            node = access;
        return node.Parent switch
        {
            AssignmentExpressionSyntax assignment => assignment.Left == node,
            PrefixUnaryExpressionSyntax prefix => prefix.IsKind(SyntaxKind.PreIncrementExpression) || prefix.IsKind(SyntaxKind.PreDecrementExpression),
            PostfixUnaryExpressionSyntax => true,
            ArgumentSyntax argument => !argument.RefKindKeyword.IsKind(SyntaxKind.None) && !argument.RefKindKeyword.IsKind(SyntaxKind.InKeyword),
            _ => false,
        };
    }

    // A condition's parts that each can end the loop on their own (the operands of '&&' in a loop condition, of '||' in an
    // 'if (…) break;'). A part that reads anything the loop writes (a counter, a position) can end the loop on this thread:
    // `i < _count` is a bound, not a poll. A part that reads only the candidates and values the loop leaves alone can change
    // only when another thread writes a field.
    private static void AddTests(IOperation? condition, BinaryOperatorKind split, HashSet<ISymbol>? written, ref List<FlagPoll>? polls)
    {
        if (condition is null)
            return;
        if (condition is IBinaryOperation binary && binary.OperatorKind == split && binary.OperatorMethod is null)
        {
            AddTests(binary.LeftOperand, split, written, ref polls);
            AddTests(binary.RightOperand, split, written, ref polls);
            return;
        }

        if (!ReadsWritten(condition, written))
            AddCandidates(condition, ref polls);
    }

    private static bool ReadsWritten(IOperation part, HashSet<ISymbol>? written)
    {
        if (written is null)
            return false;
        var stack = new Stack<IOperation>();
        stack.Push(part);
        while (stack.Count > 0)
        {
            var operation = stack.Pop();
            var symbol = Variables.Of(operation);
            if (symbol is IFieldSymbol field)
                symbol = field.OriginalDefinition;
            if (symbol is not null && written.Contains(symbol))
                return true;
            foreach (var child in operation.ChildOperations)
                stack.Push(child);
        }

        return false;
    }

    // Fields whose value is one read (no struct the condition takes apart), of the analysed type or static: another
    // instance's field may belong to an object no other thread sees.
    private static void AddCandidates(IOperation condition, ref List<FlagPoll>? polls)
    {
        var stack = new Stack<IOperation>();
        stack.Push(condition);
        while (stack.Count > 0)
        {
            var operation = stack.Pop();
            if (operation is IFieldReferenceOperation candidate && IsCandidate(candidate))
            {
                polls ??= new List<FlagPoll>();
                if (!Contains(polls, candidate.Field))
                    polls.Add(new FlagPoll(candidate, candidate.Field.OriginalDefinition));
                continue;
            }

            foreach (var child in operation.ChildOperations)
                stack.Push(child);
        }
    }

    private static bool IsCandidate(IFieldReferenceOperation read)
    {
        var field = read.Field;
        if (field.IsConst || field.IsReadOnly || field.IsVolatile || field.DeclaringSyntaxReferences.IsEmpty || IsWriteTarget(read))
            return false;
        if (!field.IsStatic && read.Instance is not IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance })
            return false;
        var type = field.Type;
        return type.TypeKind == TypeKind.Enum
            || type.IsReferenceType && type.TypeKind != TypeKind.TypeParameter
            || type.SpecialType is SpecialType.System_Boolean or SpecialType.System_Char or SpecialType.System_SByte or SpecialType.System_Byte
                or SpecialType.System_Int16 or SpecialType.System_UInt16 or SpecialType.System_Int32 or SpecialType.System_UInt32
                or SpecialType.System_Int64 or SpecialType.System_UInt64 or SpecialType.System_IntPtr or SpecialType.System_UIntPtr
                or SpecialType.System_Single or SpecialType.System_Double;
    }

    private static bool Contains(List<FlagPoll> polls, IFieldSymbol field)
    {
        foreach (var poll in polls)
        {
            if (SymbolEqualityComparer.Default.Equals(poll.Field, field.OriginalDefinition))
                return true;
        }

        return false;
    }

    // `if (_stop) break;` (or return/throw) in the loop's own body, outside nested loops: a test that ends the loop.
    private static void AddExitTests(IOperation body, ILoopOperation loop, HashSet<ISymbol>? written, ref List<FlagPoll>? polls)
    {
        var stack = new Stack<IOperation>();
        stack.Push(body);
        while (stack.Count > 0)
        {
            var operation = stack.Pop();
            if (operation is ILoopOperation || operation is IAnonymousFunctionOperation || operation is ILocalFunctionOperation)
                continue;
            if (operation is IConditionalOperation { Condition: var condition, WhenTrue: var whenTrue, WhenFalse: var whenFalse } conditional
                && conditional.Parent is IBlockOperation or ILoopOperation or IConditionalOperation
                && (LeavesLoop(whenTrue, loop) || whenFalse is not null && LeavesLoop(whenFalse, loop))
                && StaysOnOneOutcome(conditional, loop))
            {
                AddTests(condition, LeavesLoop(whenTrue, loop) ? BinaryOperatorKind.ConditionalOr : BinaryOperatorKind.ConditionalAnd, written, ref polls);
            }

            foreach (var child in operation.ChildOperations)
                stack.Push(child);
        }
    }

    // `if (_preserve) return A; return B;` leaves the loop either way: the test picks a result, not whether the loop goes
    // on (System.Private.Xml's XmlSqlBinaryReader.CheckTextIsWS, wrong in the first runtime run). One outcome must stay.
    private static bool StaysOnOneOutcome(IConditionalOperation conditional, ILoopOperation loop)
    {
        if (conditional.WhenFalse is { } whenFalse)
            return !(Leaves(conditional.WhenTrue, loop) && Leaves(whenFalse, loop));
        if (conditional.Parent is IBlockOperation { Operations: var operations })
        {
            var index = operations.IndexOf(conditional);
            if (index >= 0 && index + 1 < operations.Length && Leaves(operations[index + 1], loop))
                return false;
        }

        return true;
    }

    private static bool Leaves(IOperation branch, ILoopOperation loop)
    {
        while (branch is IBlockOperation { Operations: { Length: > 0 } operations })
            branch = operations[operations.Length - 1];
        return LeavesLoop(branch, loop) || branch is IThrowOperation or IExpressionStatementOperation { Operation: IThrowOperation };
    }

    private static bool LeavesLoop(IOperation branch, ILoopOperation loop)
    {
        while (branch is IBlockOperation { Operations: { Length: > 0 } operations })
            branch = operations[operations.Length - 1];
        return branch switch
        {
            IBranchOperation { BranchKind: BranchKind.Break } exit => SymbolEqualityComparer.Default.Equals(exit.Target, loop.ExitLabel),
            IReturnOperation { Kind: OperationKind.Return } => true,
            _ => false,
        };
    }

    private static SyntaxNode? EnclosingFunction(SyntaxNode node)
    {
        for (var current = node.Parent; current is not null; current = current.Parent)
        {
            switch (current)
            {
                case AnonymousFunctionExpressionSyntax:
                case LocalFunctionStatementSyntax:
                case BaseMethodDeclarationSyntax:
                case AccessorDeclarationSyntax:
                case ArrowExpressionClauseSyntax { Parent: PropertyDeclarationSyntax or IndexerDeclarationSyntax }:
                    return current;
                case BaseTypeDeclarationSyntax:
                case FieldDeclarationSyntax:
                case EventFieldDeclarationSyntax:
                    return null;
            }
        }

        return null;
    }

    // The field's own type's constructors run before the object (for a static field, the type) is shared.
    private static bool IsOwnConstructor(SyntaxNode function, IFieldSymbol field)
        => function is ConstructorDeclarationSyntax constructor
           && constructor.Modifiers.Any(SyntaxKind.StaticKeyword) == field.IsStatic
           && constructor.Parent is TypeDeclarationSyntax type && type.Identifier.ValueText == field.ContainingType.Name;

    private static string Describe(SyntaxNode function) => function switch
    {
        AnonymousFunctionExpressionSyntax lambda => "a lambda in " + (EnclosingFunction(lambda) is { } outer ? Describe(outer) : "an initializer"),
        LocalFunctionStatementSyntax local => local.Identifier.ValueText + "()" + (EnclosingFunction(local) is { } outer ? " in " + Describe(outer) : ""),
        MethodDeclarationSyntax method => method.Identifier.ValueText + "()",
        ConstructorDeclarationSyntax constructor => "the constructor of " + constructor.Identifier.ValueText,
        AccessorDeclarationSyntax { Parent.Parent: PropertyDeclarationSyntax property } accessor => "the " + accessor.Keyword.ValueText + " accessor of " + property.Identifier.ValueText,
        AccessorDeclarationSyntax { Parent.Parent: EventDeclarationSyntax @event } accessor => "the " + accessor.Keyword.ValueText + " accessor of " + @event.Identifier.ValueText,
        ArrowExpressionClauseSyntax { Parent: PropertyDeclarationSyntax property } => property.Identifier.ValueText,
        OperatorDeclarationSyntax => "an operator",
        ConversionOperatorDeclarationSyntax => "a conversion operator",
        DestructorDeclarationSyntax destructor => "the finalizer of " + destructor.Identifier.ValueText,
        _ => "another member",
    };
}
