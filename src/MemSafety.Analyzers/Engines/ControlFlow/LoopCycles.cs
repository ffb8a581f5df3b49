using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using MemSafety.Analyzers.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.FlowAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Engines.ControlFlow;

/// <summary>
/// Answers "does this operation run once per iteration of a loop?" from control flow, not syntax: an
/// operation repeats when it lies on a cycle of its function's control-flow graph. A statement inside a
/// loop body that is followed on every path by <c>return</c>, <c>throw</c>, <c>break</c> or a <c>goto</c>
/// out of the loop runs at most once per call; code of a loop built from <c>goto</c> repeats.
/// <para>
/// A lambda or local function is a function of its own: creating it in a loop repeats, running its body
/// does not (its own loops count within it).
/// </para>
/// <para>
/// Cheap answers first: code in no loop statement of a function without <c>goto</c> cannot repeat, and
/// code in a loop statement that nothing leaves (no return, throw, yield break, goto or break of that loop)
/// repeats. Only the rest asks the graph: Roslyn's <c>ControlFlowGraph</c>, built on the first such
/// question about a function and kept with the body's operation tree (see <see cref="FunctionCycles"/>).
/// </para>
/// </summary>
public static class LoopCycles
{
    private static readonly ConditionalWeakTable<IOperation, BodyCycles> s_bodies = new();
    private static readonly ConditionalWeakTable<IOperation, BodyCycles>.CreateValueCallback s_create = static root => new BodyCycles(root);

    /// <summary>Whether the operation runs on a cycle of its function's control-flow graph: more than once
    /// per call of that function. False when the graph cannot be built (code with errors it cannot model).</summary>
    public static bool IsOnCycle(IOperation operation) => IsOnCycle(operation, allowShortcut: true);

    /// <param name="allowShortcut">False to always ask the graph (tests check that both answers agree).</param>
    internal static bool IsOnCycle(IOperation operation, bool allowShortcut)
    {
        var loop = InnermostLoop(operation);
        var function = EnclosingFunction(operation, out var root);
        // Without a loop statement around it, only a goto can bring control back: a body whose text does not spell
        // `goto` is answered here, without a table entry for the body (the table's adds take one lock for all threads).
        if (loop is null && !MaySpellGoto(root))
            return false;
        var body = s_bodies.GetValue(root, s_create);
        if (loop is not null && !body.HasGoto && IsInFirstTimeInitializer(operation))
            return false;
        if (loop is null)
        {
            // Without a loop statement around it, only a goto can bring control back.
            if (!body.HasGoto)
                return false;
        }
        else if (allowShortcut && body.AlwaysComesBack(loop))
        {
            return true;
        }

        return body.For(function)?.Repeats(operation, within: null) == true;
    }

    /// <summary>The innermost loop statement of the operation's function whose own iterations repeat the
    /// operation (a cycle through it that stays inside that loop), or null when no loop statement does
    /// (the operation runs once per call, or repeats only through a loop built from goto).</summary>
    public static ILoopOperation? RepeatingLoop(IOperation operation) => RepeatingLoop(operation, allowShortcut: true);

    internal static ILoopOperation? RepeatingLoop(IOperation operation, bool allowShortcut)
    {
        if (InnermostLoop(operation) is not { } innermost)
            return null;
        var function = EnclosingFunction(operation, out var root);
        var body = s_bodies.GetValue(root, s_create);
        if (!body.HasGoto && IsInFirstTimeInitializer(operation))
            return null;
        if (allowShortcut && body.AlwaysComesBack(innermost))
            return innermost;
        var cycles = body.For(function);
        if (cycles is null || !cycles.Repeats(operation, within: null))
            return null;

        var child = operation;
        for (var parent = operation.Parent; parent is not null; child = parent, parent = parent.Parent)
        {
            switch (parent)
            {
                case IAnonymousFunctionOperation or ILocalFunctionOperation:
                    return null;
                case ILoopOperation loop when !IsRunOnceBefore(loop, child) && cycles.Repeats(operation, LoopScope.Of(loop)):
                    return loop;
            }
        }

        return null;
    }

    /// <summary>The control-flow graph of the function (member body, lambda or local function) that contains the
    /// operation: the graph this class builds once per function and keeps with the body's operation tree, so
    /// other engines (Engines/Dataflow) do not build a second one. Null when the graph cannot be built.</summary>
    internal static ControlFlowGraph? GraphOf(IOperation operation)
    {
        var function = EnclosingFunction(operation, out var root);
        return s_bodies.GetValue(root, s_create).For(function)?.Graph;
    }

    /// <summary>Whether some loop statement of the operation's own function has it in its repeated part
    /// (not a foreach's collection, not a for's initializer). Every cycle of a function without goto
    /// passes through such a part, so this bounds <see cref="IsOnCycle(IOperation)"/> without a graph.</summary>
    internal static bool InsideLoopStatement(IOperation operation) => InnermostLoop(operation) is not null;

    /// <summary>The innermost loop statement of the operation's own function that has it in its repeated part.</summary>
    /// <summary>
    /// Whether the operation is part of the value of <c>local ??= new …</c> (an object, array or delegate creation,
    /// never null) where the local is declared outside every loop around that assignment and nothing else in the member
    /// writes it, in a member without goto: the value is made the first time the assignment finds the local null, and
    /// never again, however often control passes there. The control-flow graph cannot see that (it is data), so the cycle it shows is not a
    /// repeat. Found on our own source: <c>report ??= context.ReportDiagnostic</c> in a walk loop boxes once per body.
    /// </summary>
    private static bool IsInFirstTimeInitializer(IOperation operation)
    {
        var child = operation;
        for (var parent = operation.Parent; parent is not null; child = parent, parent = parent.Parent)
        {
            switch (parent)
            {
                case IAnonymousFunctionOperation or ILocalFunctionOperation:
                    return false;
                case ICoalesceAssignmentOperation coalesce when coalesce.Value == child:
                    return coalesce.Target is ILocalReferenceOperation { Local: var local }
                           && IsNeverNull(coalesce.Value)
                           && IsDeclaredOutsideLoopsAround(local, coalesce)
                           && IsWrittenOnlyBy(local, coalesce);
            }
        }

        return false;
    }

    private static bool IsNeverNull(IOperation value)
    {
        while (value is IConversionOperation { IsImplicit: true } conversion)
            value = conversion.Operand;
        return value is IObjectCreationOperation or IArrayCreationOperation or IDelegateCreationOperation or IAnonymousObjectCreationOperation;
    }

    private static bool IsDeclaredOutsideLoopsAround(ILocalSymbol local, IOperation assignment)
    {
        if (local.DeclaringSyntaxReferences.Length != 1)
            return false;
        var declaration = local.DeclaringSyntaxReferences[0].Span;
        for (var parent = assignment.Parent; parent is not null; parent = parent.Parent)
        {
            if (parent is IAnonymousFunctionOperation or ILocalFunctionOperation)
                return false; // declared outside the lambda: another call of it may find the local reset
            if (parent is ILoopOperation loop && loop.Syntax.Span.Contains(declaration))
                return false;
        }

        return true;
    }

    /// <summary>Whether every write of the local in its member (any assignment, increment, ref/out argument, address or
    /// ref alias, deconstruction) is <paramref name="assignment"/>'s own target or its declaration outside the loops.</summary>
    private static bool IsWrittenOnlyBy(ILocalSymbol local, ICoalesceAssignmentOperation assignment)
    {
        var root = assignment;
        IOperation top = root;
        while (top.Parent is not null)
            top = top.Parent;
        foreach (var descendant in top.Descendants())
        {
            if (descendant is not ILocalReferenceOperation reference || !SymbolEqualityComparer.Default.Equals(reference.Local, local)
                || reference == assignment.Target)
            {
                continue;
            }

            switch (reference.Parent)
            {
                case IAssignmentOperation write when write.Target == reference:
                case IIncrementOrDecrementOperation:
                case IArgumentOperation { Parameter.RefKind: not RefKind.None }:
                case IAddressOfOperation:
                case ITupleOperation:
                case IVariableInitializerOperation { Syntax: EqualsValueClauseSyntax { Value: RefExpressionSyntax } }:
                case IReturnOperation { Syntax: ReturnStatementSyntax { Expression: RefExpressionSyntax } }:
                    return false;
            }

            if (reference.IsImplicit || reference.Syntax.Parent is RefExpressionSyntax)
                return false;
        }

        return true;
    }

    private static ILoopOperation? InnermostLoop(IOperation operation)
    {
        var child = operation;
        for (var parent = operation.Parent; parent is not null; child = parent, parent = parent.Parent)
        {
            switch (parent)
            {
                case IAnonymousFunctionOperation or ILocalFunctionOperation:
                    return null;
                case ILoopOperation loop when !IsRunOnceBefore(loop, child):
                    return loop;
            }
        }

        return null;
    }

    /// <summary>The collection of a foreach and the initializer of a for run once, before the loop.</summary>
    private static bool IsRunOnceBefore(ILoopOperation loop, IOperation child) => loop switch
    {
        IForEachLoopOperation forEach => child == forEach.Collection,
        IForLoopOperation forLoop => forLoop.Before.Contains(child),
        _ => false,
    };

    /// <summary>The innermost lambda or local function around the operation (null: the member's body),
    /// and the root of the operation tree.</summary>
    private static IOperation? EnclosingFunction(IOperation operation, out IOperation root)
    {
        IOperation? function = null;
        root = operation;
        for (var parent = operation.Parent; parent is not null; parent = parent.Parent)
        {
            if (function is null && parent is IAnonymousFunctionOperation or ILocalFunctionOperation)
                function = parent;
            root = parent;
        }

        return function;
    }

    /// <summary>Whether the text of the body spells <c>goto</c> (a <c>goto</c> statement cannot be written otherwise;
    /// a file with a <c>\u</c> escape counts as spelling every word, see <see cref="WordPositions"/>).</summary>
    private static bool MaySpellGoto(IOperation root)
        => root.Syntax is not { } syntax || WordPositions.Mentions(syntax.SyntaxTree, syntax.Span, "goto", CancellationToken.None);

    /// <summary>The graphs of one member body and of the lambdas and local functions in it, built on demand.</summary>
    private sealed class BodyCycles
    {
        private readonly IOperation _root;
        private readonly object _gate = new();
        private readonly Dictionary<IOperation, FunctionCycles?> _functions = new();
        private Dictionary<SyntaxNode, bool>? _comesBack;
        private int _hasGoto; // 0: not yet known, 1: no, 2: yes

        public BodyCycles(IOperation root) => _root = root;

        public bool HasGoto
        {
            get
            {
                var known = Volatile.Read(ref _hasGoto);
                if (known == 0)
                {
                    known = MaySpellGoto(_root) && ContainsGoto(_root.Syntax) ? 2 : 1;
                    Volatile.Write(ref _hasGoto, known);
                }

                return known == 2;
            }
        }

        private static bool ContainsGoto(SyntaxNode syntax)
        {
            foreach (var node in syntax.DescendantNodesAndSelf())
            {
                if (node is GotoStatementSyntax)
                    return true;
            }

            return false;
        }

        /// <summary>
        /// Whether every path through the loop's body comes back to its head: nothing in the loop statement
        /// leaves it (<c>return</c>, <c>throw</c>, <c>yield break</c>, <c>goto</c>, a <c>break</c> of this loop)
        /// and its condition is not the constant false. Then everything in its repeated part lies on its cycle
        /// (unreachable code aside), and the graph need not be built: most loops ask only this.
        /// </summary>
        public bool AlwaysComesBack(ILoopOperation loop)
        {
            if (loop is IWhileLoopOperation { Condition.ConstantValue: { HasValue: true, Value: false } }
                or IForLoopOperation { Condition.ConstantValue: { HasValue: true, Value: false } })
            {
                return false;
            }

            lock (_gate)
            {
                _comesBack ??= new Dictionary<SyntaxNode, bool>();
                if (!_comesBack.TryGetValue(loop.Syntax, out var comesBack))
                    _comesBack[loop.Syntax] = comesBack = !HasExit(loop.Syntax);
                return comesBack;
            }
        }

        private static bool HasExit(SyntaxNode loop)
        {
            // (node, whether a break in it ends this loop): nested loops and switches take their own breaks.
            var stack = new Stack<(SyntaxNode Node, bool BreaksThisLoop)>();
            foreach (var child in loop.ChildNodes())
                stack.Push((child, true));
            while (stack.Count > 0)
            {
                var (node, breaksThisLoop) = stack.Pop();
                switch (node)
                {
                    case ReturnStatementSyntax or ThrowStatementSyntax or ThrowExpressionSyntax:
                    case YieldStatementSyntax yield when yield.IsKind(SyntaxKind.YieldBreakStatement):
                    case GotoStatementSyntax goTo when goTo.IsKind(SyntaxKind.GotoStatement):
                    case BreakStatementSyntax when breaksThisLoop:
                        return true;
                    case AnonymousFunctionExpressionSyntax or LocalFunctionStatementSyntax:
                        continue; // a function of its own
                }

                var nested = breaksThisLoop && node is not (ForStatementSyntax or CommonForEachStatementSyntax or WhileStatementSyntax
                    or DoStatementSyntax or SwitchStatementSyntax);
                foreach (var child in node.ChildNodes())
                    stack.Push((child, nested));
            }

            return false;
        }

        /// <summary>The cycles of the given lambda or local function, or of the member body when null.</summary>
        public FunctionCycles? For(IOperation? function)
        {
            var key = function ?? _root;
            lock (_gate)
            {
                if (_functions.TryGetValue(key, out var known))
                    return known;
                var built = Build(function);
                _functions[key] = built;
                return built;
            }
        }

        private FunctionCycles? Build(IOperation? function)
        {
            try
            {
                if (function is null)
                    return FunctionCycles.Create(CreateGraph(_root));

                // A nested function's graph comes from the graph of the function that declares it.
                var parent = For(EnclosingFunction(function, out _));
                return function switch
                {
                    _ when parent is null => null,
                    IAnonymousFunctionOperation lambda => FunctionCycles.Create(parent.LambdaGraph(lambda.Syntax)),
                    ILocalFunctionOperation local => FunctionCycles.Create(parent.LocalFunctionGraph(local.Symbol)),
                    _ => null,
                };
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Code the graph builder cannot model (broken code being typed): no answer means "does not
                // repeat", which keeps rules silent rather than wrong.
                return null;
            }
        }

        private static ControlFlowGraph? CreateGraph(IOperation root) => root switch
        {
            _ when root.SemanticModel is null => null,
            IMethodBodyOperation method => ControlFlowGraph.Create(method),
            IConstructorBodyOperation constructor => ControlFlowGraph.Create(constructor),
            IBlockOperation block => ControlFlowGraph.Create(block),
            IFieldInitializerOperation field => ControlFlowGraph.Create(field),
            IPropertyInitializerOperation property => ControlFlowGraph.Create(property),
            IParameterInitializerOperation parameter => ControlFlowGraph.Create(parameter),
            _ => null,
        };
    }
}
