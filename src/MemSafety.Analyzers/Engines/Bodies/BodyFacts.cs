using System.Collections.Generic;
using System.Runtime.CompilerServices;
using MemSafety.Analyzers.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Engines.Bodies;

/// <summary>
/// Facts about one function body (a member's operation tree, with its lambdas and local functions),
/// computed by one walk on the first question and shared by every rule and engine that asks: who reads and
/// writes each local and parameter, what each lambda or local function captures, where the body awaits or
/// yields, its loops, <c>try</c>, <c>lock</c> and <c>using</c> regions, and which local functions are
/// turned into delegates. Rules ask this instead of walking the body themselves.
/// <para>Cached per root operation in a <see cref="ConditionalWeakTable{TKey,TValue}"/>: the analyzer driver
/// gives every analyzer the same operation tree of a body, and the facts die with it. Every list is in
/// source order (pre-order, left to right), so "the first" always means the first in reading order.</para>
/// </summary>
public sealed class BodyFacts
{
    private static readonly ConditionalWeakTable<IOperation, BodyFacts> Cache = new();
    private static readonly ConditionalWeakTable<IOperation, BodyFacts>.CreateValueCallback Create = static root => new BodyFacts(root);
    private static readonly IReadOnlyList<IOperation> None = new IOperation[0];
    private static readonly IReadOnlyList<ISymbol> NoSymbols = new ISymbol[0];

    private readonly Dictionary<ISymbol, List<IOperation>> _references = new(SymbolEqualityComparer.Default);
    private readonly Dictionary<ISymbol, List<IOperation>> _writes = new(SymbolEqualityComparer.Default);
    private readonly Dictionary<IOperation, FunctionFacts> _functions = new();
    private readonly HashSet<IMethodSymbol> _localFunctionsAsDelegates = new(SymbolEqualityComparer.Default);
    private readonly List<IOperation> _suspensions = new();
    private readonly List<IOperation> _functionList = new();
    private readonly List<ILoopOperation> _loops = new();
    private readonly List<ITryOperation> _tries = new();
    private readonly List<ILockOperation> _locks = new();
    private readonly List<IOperation> _usings = new();
    private readonly FunctionFacts _rootFunction = new(null);
    private readonly Dictionary<ILocalSymbol, IVariableDeclaratorOperation> _declarators = new(SymbolEqualityComparer.Default);
    private readonly List<IBranchOperation> _gotos = new();
    private readonly Dictionary<IMethodSymbol, List<IOperation>> _localFunctionUses = new(SymbolEqualityComparer.Default);
    private bool _containsNameOf;

    private BodyFacts(IOperation root)
    {
        Root = root;
        Index(root);
    }

    /// <summary>The facts of the body that contains <paramref name="operation"/> (any operation of it).</summary>
    public static BodyFacts Of(IOperation operation)
    {
        var root = operation;
        while (root.Parent is not null)
            root = root.Parent;
        return Cache.GetValue(root, Create);
    }

    /// <summary>The root of the body's operation tree.</summary>
    public IOperation Root { get; }

    /// <summary>Every reference (<see cref="ILocalReferenceOperation"/>, <see cref="IParameterReferenceOperation"/>)
    /// to a local or parameter in the body, including those inside its lambdas and local functions.</summary>
    public IReadOnlyList<IOperation> ReferencesTo(ISymbol localOrParameter)
        => _references.TryGetValue(localOrParameter, out var list) ? list : None;

    /// <summary>The references to a local or parameter that write it: the target of an assignment (simple,
    /// compound, <c>??=</c>, deconstruction), of <c>++</c>/<c>--</c>, an <c>out</c> or <c>ref</c> argument, or a
    /// <c>ref</c> alias (<c>ref var r = ref x</c>, <c>&amp;x</c>) through which it may be written later. A
    /// declaration's initializer is not a reference and so not listed.</summary>
    public IReadOnlyList<IOperation> WritesTo(ISymbol localOrParameter)
        => _writes.TryGetValue(localOrParameter, out var list) ? list : None;

    /// <summary>Whether anything in the body writes the local or parameter after its declaration.</summary>
    public bool IsWritten(ISymbol localOrParameter) => _writes.ContainsKey(localOrParameter);

    /// <summary>Every point where the body may suspend: <c>await</c>, <c>yield return</c>, <c>await using</c>,
    /// <c>await foreach</c> (in every function of the body).</summary>
    public IReadOnlyList<IOperation> Suspensions => _suspensions;

    /// <summary>Lambdas (<see cref="IAnonymousFunctionOperation"/>) and local functions
    /// (<see cref="ILocalFunctionOperation"/>) declared in the body, outermost first.</summary>
    public IReadOnlyList<IOperation> Functions => _functionList;

    /// <summary>Loop statements of the body (of every function in it).</summary>
    public IReadOnlyList<ILoopOperation> Loops => _loops;

    /// <summary><c>try</c> statements of the body.</summary>
    public IReadOnlyList<ITryOperation> TryStatements => _tries;

    /// <summary><c>lock</c> statements of the body.</summary>
    public IReadOnlyList<ILockOperation> LockStatements => _locks;

    /// <summary><c>using</c> statements (<see cref="IUsingOperation"/>) and declarations (<see cref="IUsingDeclarationOperation"/>).</summary>
    public IReadOnlyList<IOperation> UsingStatements => _usings;

    /// <summary>Whether the local function is converted to a delegate somewhere in the body (then it may run
    /// later, like a lambda, and what it captures lives in a closure object).</summary>
    public bool IsConvertedToDelegate(IMethodSymbol localFunction) => _localFunctionsAsDelegates.Contains(localFunction.OriginalDefinition);

    /// <summary>Locals and parameters declared outside the lambda or local function and used inside it (in it or in
    /// a function nested in it). Constants are not captured: the compiler inlines their values.</summary>
    public IReadOnlyList<ISymbol> CapturedBy(IOperation function)
        => _functions.TryGetValue(function, out var facts) && facts.Captures is { } captures ? captures : NoSymbols;

    /// <summary>The lambda or local function directly around <paramref name="function"/> (one of the body's functions);
    /// null at the body's top level.</summary>
    public IOperation? OuterFunctionOf(IOperation function)
        => _functions.TryGetValue(function, out var facts) ? facts.Outer?.Operation : null;

    /// <summary>Local functions declared outside the lambda or local function that it calls or converts to a delegate
    /// (itself excluded: recursion captures nothing), including those used by functions nested in it: through them it
    /// needs whatever they capture (the compiler's closure conversion follows these chains).</summary>
    public IReadOnlyList<ISymbol> LocalFunctionsUsedBy(IOperation function)
        => _functions.TryGetValue(function, out var facts) && facts.LocalFunctionsUsed is { } used ? used : NoSymbols;

    /// <summary>The calls (<see cref="IInvocationOperation"/>) and conversions (<see cref="IMethodReferenceOperation"/>) of a
    /// local function in the body, in source order, recursive ones included.</summary>
    public IReadOnlyList<IOperation> UsesOf(IMethodSymbol localFunction)
        => _localFunctionUses.TryGetValue(localFunction.OriginalDefinition, out var list) ? list : None;

    /// <summary>Whether the lambda or local function uses <c>this</c> (explicitly or through a member access).</summary>
    public bool CapturesThis(IOperation function) => _functions.TryGetValue(function, out var facts) && facts.UsesThis;

    /// <summary>Whether the function (the body's own member when <paramref name="function"/> is null, else a
    /// lambda or local function of it) contains <c>yield</c>: an iterator, which cannot hold a span local.</summary>
    public bool IsIterator(IOperation? function) => FactsOf(function)?.Yields == true;

    /// <summary>Whether the function (as for <see cref="IsIterator"/>) contains <c>await</c> itself (not in a nested function).</summary>
    public bool ContainsAwait(IOperation? function) => FactsOf(function)?.Awaits == true;

    /// <summary>The declarator of a local declared in the body (<c>var x = …</c>, <c>int a, b;</c>, a <c>using</c>,
    /// <c>for</c> or <c>foreach</c> declaration), with its initializer if any (a <c>foreach</c> variable has none);
    /// null for pattern and <c>out var</c> designations and for locals of other bodies.</summary>
    public IVariableDeclaratorOperation? DeclaratorOf(ILocalSymbol local)
        => _declarators.TryGetValue(local, out var declarator) ? declarator : null;

    /// <summary>The operation whose <c>Locals</c> declare the local: a block (also a function's or the member's body
    /// block), a loop (<c>for</c> variables and condition locals, <c>foreach</c> iteration variables, <c>while</c>
    /// condition locals), a <c>using</c>, <c>switch</c>, switch section, switch-expression arm, catch
    /// clause, constructor body or initializer; null for a local of another body or when the tree holds no reference
    /// or declarator of it. Found on request by walking up from its declarator or first reference (no cost to
    /// bodies that never ask).</summary>
    public IOperation? DeclaringScopeOf(ILocalSymbol local)
    {
        IOperation? start = DeclaratorOf(local);
        if (start is null && _references.TryGetValue(local, out var references))
            start = references[0];
        for (var current = start; current is not null; current = current.Parent)
        {
            if (Declares(current, local))
                return current;
        }

        return null;
    }

    private static bool Declares(IOperation operation, ILocalSymbol local)
    {
        var locals = operation switch
        {
            IBlockOperation block => block.Locals,
            IForLoopOperation forLoop => forLoop.ConditionLocals.Contains(local) ? forLoop.ConditionLocals : forLoop.Locals,
            ILoopOperation loop => loop.Locals,
            IUsingOperation usingOperation => usingOperation.Locals,
            ISwitchOperation switchOperation => switchOperation.Locals,
            ISwitchCaseOperation switchCase => switchCase.Locals,
            ISwitchExpressionArmOperation arm => arm.Locals,
            ICatchClauseOperation catchClause => catchClause.Locals,
            IConstructorBodyOperation constructorBody => constructorBody.Locals,
            ISymbolInitializerOperation initializer => initializer.Locals,
            _ => default,
        };
        return !locals.IsDefaultOrEmpty && locals.Contains(local);
    }

    /// <summary><c>goto</c> statements of the body (<c>goto label</c>, <c>goto case</c>, <c>goto default</c>).</summary>
    public IReadOnlyList<IBranchOperation> GoToStatements => _gotos;

    /// <summary>Whether the body has a <c>nameof</c> anywhere: without one, no reference stands in a <c>nameof</c>.</summary>
    public bool ContainsNameOf => _containsNameOf;

    private FunctionFacts? FactsOf(IOperation? function)
        => function is null ? _rootFunction : _functions.TryGetValue(function, out var facts) ? facts : null;

    // ------------------------------------------------------------------ the walk

    private void Index(IOperation root)
    {
        // Pre-order, children left to right: push them in reverse, each with the function it belongs to.
        var stack = new Stack<(IOperation Operation, FunctionFacts Function)>();
        stack.Push((root, _rootFunction));
        while (stack.Count > 0)
        {
            var (operation, function) = stack.Pop();
            var inner = Visit(operation, function);
            foreach (var child in operation.ChildOperations.Reverse())
                stack.Push((child, inner));
        }
    }

    /// <summary>One node: dispatched on <see cref="IOperation.Kind"/> (one virtual call and a jump), not on a chain of
    /// interface type tests, since every node of every body comes through here.</summary>
    private FunctionFacts Visit(IOperation operation, FunctionFacts function)
    {
        switch (operation.Kind)
        {
            case OperationKind.LocalReference:
                Reference(((ILocalReferenceOperation)operation).Local, operation, function);
                break;
            case OperationKind.ParameterReference:
                Reference(((IParameterReferenceOperation)operation).Parameter, operation, function);
                break;
            case OperationKind.InstanceReference when ((IInstanceReferenceOperation)operation).ReferenceKind == InstanceReferenceKind.ContainingTypeInstance:
                for (var f = function; f.Operation is not null; f = f.Outer!)
                    f.UsesThis = true;
                break;
            case OperationKind.Await:
                _suspensions.Add(operation);
                function.Awaits = true;
                break;
            case OperationKind.YieldReturn:
                _suspensions.Add(operation);
                function.Yields = true;
                break;
            case OperationKind.YieldBreak:
                function.Yields = true;
                break;
            case OperationKind.Using:
            case OperationKind.UsingDeclaration:
                _usings.Add(operation);
                if (operation is IUsingOperation { IsAsynchronous: true } or IUsingDeclarationOperation { IsAsynchronous: true })
                {
                    _suspensions.Add(operation);
                    function.Awaits = true;
                }

                break;
            case OperationKind.Loop:
                var loop = (ILoopOperation)operation;
                if (loop is IForEachLoopOperation { IsAsynchronous: true })
                {
                    _suspensions.Add(operation);
                    function.Awaits = true;
                }

                _loops.Add(loop);
                break;
            case OperationKind.Try:
                _tries.Add((ITryOperation)operation);
                break;
            case OperationKind.Lock:
                _locks.Add((ILockOperation)operation);
                break;
            case OperationKind.MethodReference:
                if (operation is IMethodReferenceOperation { Method.MethodKind: MethodKind.LocalFunction } methodReference)
                {
                    if (methodReference.Parent is IDelegateCreationOperation)
                        _localFunctionsAsDelegates.Add(methodReference.Method.OriginalDefinition);
                    UseLocalFunction(methodReference.Method.OriginalDefinition, operation, function);
                }

                break;
            case OperationKind.Invocation when ((IInvocationOperation)operation).TargetMethod.MethodKind == MethodKind.LocalFunction:
                UseLocalFunction(((IInvocationOperation)operation).TargetMethod.OriginalDefinition, operation, function);
                break;
            case OperationKind.VariableDeclarator:
                var declarator = (IVariableDeclaratorOperation)operation;
                _declarators[declarator.Symbol] = declarator;
                break;
            case OperationKind.Branch when ((IBranchOperation)operation).BranchKind == BranchKind.GoTo:
                _gotos.Add((IBranchOperation)operation);
                break;
            case OperationKind.NameOf:
                _containsNameOf = true;
                break;
            case OperationKind.AnonymousFunction:
                return Enter(operation, ((IAnonymousFunctionOperation)operation).Symbol, function);
            case OperationKind.LocalFunction:
                return Enter(operation, ((ILocalFunctionOperation)operation).Symbol, function);
        }

        return function;
    }

    private FunctionFacts Enter(IOperation operation, IMethodSymbol symbol, FunctionFacts outer)
    {
        var facts = new FunctionFacts(operation) { Symbol = symbol, Outer = outer };
        _functions[operation] = facts;
        _functionList.Add(operation);
        return facts;
    }

    private void Reference(ISymbol symbol, IOperation reference, FunctionFacts function)
    {
        Add(_references, symbol, reference);
        if (IsWrite(reference))
            Add(_writes, symbol, reference);

        // Captured by every function between the reference and the symbol's declaring function; a constant is inlined.
        if (symbol is ILocalSymbol { IsConst: true })
            return;
        var owner = symbol.ContainingSymbol;
        for (var f = function; f.Operation is not null; f = f.Outer!)
        {
            if (SymbolEqualityComparer.Default.Equals(f.Symbol, owner))
                break;
            // Each walk adds the symbol to every function up to its owner, so a function that has it already is one such
            // walk's: every function further out has it too (without this stop, 200 nested lambdas are cubic).
            if (!AddOnce(f.Captures ??= new List<ISymbol>(), ref f.CaptureSet, symbol))
                break;
        }
    }

    /// <summary>A call or conversion of a local function: recorded by every function between the use and the local
    /// function's declaring function, except the local function itself (recursion).</summary>
    private void UseLocalFunction(IMethodSymbol localFunction, IOperation use, FunctionFacts function)
    {
        if (!_localFunctionUses.TryGetValue(localFunction, out var uses))
            _localFunctionUses[localFunction] = uses = new List<IOperation>();
        uses.Add(use);

        var owner = localFunction.ContainingSymbol;
        for (var f = function; f.Operation is not null; f = f.Outer!)
        {
            if (SymbolEqualityComparer.Default.Equals(f.Symbol, owner))
                break;
            if (SymbolEqualityComparer.Default.Equals(f.Symbol?.OriginalDefinition, localFunction))
                continue;
            // As for captures: a function that records the use already has every function further out record it.
            if (!AddOnce(f.LocalFunctionsUsed ??= new List<ISymbol>(), ref f.LocalFunctionSet, localFunction))
                break;
        }
    }

    /// <summary>Adds the symbol to the list unless it holds it; a set beside the list answers once it is long (a
    /// function deep in nested lambdas captures every variable of the functions around it).</summary>
    private static bool AddOnce(List<ISymbol> list, ref HashSet<ISymbol>? set, ISymbol symbol)
    {
        if (set is null)
        {
            if (list.ContainsSymbol(symbol))
                return false;
            list.Add(symbol);
            if (list.Count >= 8)
                set = new HashSet<ISymbol>(list, SymbolEqualityComparer.Default);
            return true;
        }

        if (!set.Add(symbol))
            return false;
        list.Add(symbol);
        return true;
    }

    /// <summary>Whether the reference is (part of) something written: see <see cref="WritesTo"/>.</summary>
    private static bool IsWrite(IOperation reference)
    {
        var current = reference;
        var parent = current.Parent;

        // Deconstruction targets: (a, b) = …, (var x, y) = …
        while (parent is ITupleOperation or IDeclarationExpressionOperation)
        {
            current = parent;
            parent = current.Parent;
        }

        switch (parent)
        {
            case IAssignmentOperation assignment when assignment.Target == current:
                return true;
            case IIncrementOrDecrementOperation:
                return true;
            case IArgumentOperation argument:
                return argument.Parameter?.RefKind is RefKind.Ref or RefKind.Out
                       || argument.Syntax is Microsoft.CodeAnalysis.CSharp.Syntax.ArgumentSyntax { RefKindKeyword.RawKind: not 0 } syntax
                          && !syntax.RefKindKeyword.IsKind(Microsoft.CodeAnalysis.CSharp.SyntaxKind.InKeyword);
            case IAddressOfOperation:
                return true;
            case IVariableInitializerOperation { Parent: IVariableDeclaratorOperation { Symbol.RefKind: RefKind.Ref } }:
                return true;
            case IReturnOperation when IsRefReturn(parent):
                return true;
            default:
                return false;
        }
    }

    private static bool IsRefReturn(IOperation returnOperation)
        => returnOperation.Syntax is Microsoft.CodeAnalysis.CSharp.Syntax.ReturnStatementSyntax { Expression: Microsoft.CodeAnalysis.CSharp.Syntax.RefExpressionSyntax }
           or Microsoft.CodeAnalysis.CSharp.Syntax.ArrowExpressionClauseSyntax { Expression: Microsoft.CodeAnalysis.CSharp.Syntax.RefExpressionSyntax };

    private static void Add(Dictionary<ISymbol, List<IOperation>> map, ISymbol symbol, IOperation reference)
    {
        if (!map.TryGetValue(symbol, out var list))
            map[symbol] = list = new List<IOperation>();
        list.Add(reference);
    }

    private sealed class FunctionFacts
    {
        public FunctionFacts(IOperation? operation) => Operation = operation;

        /// <summary>The lambda or local function; null for the member's own body.</summary>
        public IOperation? Operation { get; }

        public IMethodSymbol? Symbol { get; set; }

        public FunctionFacts? Outer { get; set; }

        public List<ISymbol>? Captures { get; set; }

        public List<ISymbol>? LocalFunctionsUsed { get; set; }

        /// <summary><see cref="Captures"/> and <see cref="LocalFunctionsUsed"/> as sets, once the lists are long.</summary>
        public HashSet<ISymbol>? CaptureSet;
        public HashSet<ISymbol>? LocalFunctionSet;

        public bool UsesThis { get; set; }

        public bool Yields { get; set; }

        public bool Awaits { get; set; }
    }
}
