using System.Collections.Generic;
using System.Runtime.CompilerServices;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Bodies;
using MemSafety.Analyzers.Engines.ControlFlow;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;
using Microsoft.CodeAnalysis.Text;

namespace MemSafety.Analyzers.Engines.Closures;

/// <summary>
/// The closure environments the C# compiler generates for one body, modelled on its closure conversion
/// (Roslyn's <c>ClosureConversion.Analysis</c>), from <see cref="BodyFacts"/>' captures:
/// <list type="number">
/// <item>Every scope that declares captured variables (the member's parameters, <c>this</c> and outermost locals;
/// a lambda's or local function's; a block's, loop body's, <c>foreach</c> variable's, <c>for</c> statement's, catch
/// clause's, …) gets one display class, created when control enters that scope. Constants are not captured, nor
/// variables named only in <c>nameof</c>, nor the variables of expression-tree lambdas.</item>
/// <item>Every lambda or local function that captures a variable of that scope uses it, and so does every one that
/// calls or converts a local function that uses it (transitively).</item>
/// <item>It is a struct passed by reference (no allocation) when every function that uses it is a local function
/// that is never converted to a delegate and is neither async nor an iterator; otherwise a class.</item>
/// <item>In optimized (Release) builds an inner class environment is merged into an enclosing one when exactly the
/// same functions use both and no backward jump (a loop's, a <c>goto</c>'s) lies between their starts: then the
/// inner variables are allocated with the outer scope, earlier.</item>
/// <item>A member-level environment that would hold <c>this</c> alone is dropped: functions that capture only
/// <c>this</c> become instance methods (a new delegate per evaluation, no display class), inner environments hold
/// <c>this</c> themselves.</item>
/// </list>
/// Cached per body like <see cref="BodyFacts"/>; built on the first question, cheap when the body has no
/// capturing function. IL tests (tests/…/Engines/Closures) check the model against the compiler's <c>newobj</c>s.
/// </summary>
public sealed class ClosureFacts
{
    private static readonly ConditionalWeakTable<IOperation, ClosureFacts> Cache = new();
    private static readonly ConditionalWeakTable<IOperation, ClosureFacts>.CreateValueCallback Create = static root => new ClosureFacts(BodyFacts.Of(root));
    private static readonly IReadOnlyList<DisplayClass> NoDisplayClasses = new DisplayClass[0];

    private readonly BodyFacts _body;
    private readonly List<Function> _functions = new();
    private readonly Dictionary<IOperation, Function> _functionByOperation = new();
    private readonly List<Scope> _scopes = new();
    private readonly Dictionary<IOperation, Scope> _scopeByOperation = new();
    private readonly Dictionary<ISymbol, DisplayClass> _byVariable = new(SymbolEqualityComparer.Default);
    private readonly List<DisplayClass> _displayClasses = new();
    private readonly ISymbol? _member;
    private readonly bool _variantInterface;
    private Dictionary<IOperation, IOperation?>? _nameOfAround;

    /// <summary>The functions that capture each variable: a scope's users are found from its variables, not by testing
    /// every function against every scope (quadratic in the functions, whatever they capture).</summary>
    private readonly Dictionary<ISymbol, List<Function>> _capturers = new(SymbolEqualityComparer.Default);
    private readonly Dictionary<ISymbol, Function> _functionBySymbol = new(SymbolEqualityComparer.Default);
    private bool _anyUsesLocalFunction;
    private bool _anyConditionScope;
    private Dictionary<IOperation, Node>? _nodes;
    private List<Scope>? _chain;
    private int _stamp;

    /// <summary>Parent steps taken while building models on this thread (the parent walks are what grew cubically with
    /// nested lambdas): a scaling test counts them, never a timing.</summary>
    [System.ThreadStatic]
    internal static long ParentSteps;

    private ClosureFacts(BodyFacts body)
    {
        _body = body;
        if (body.Functions.Count == 0)
            return;

        _member = MemberOf(body);
        _variantInterface = _member is not null && InVariantInterface(_member);
        CollectFunctions();
        if (!CollectScopes())
            return;

        MakeEnvironments();
        LinkEnvironments();
        if (body.Root.SemanticModel?.Compilation.Options.OptimizationLevel == OptimizationLevel.Release)
        {
            MergeEnvironments();
            LinkEnvironments();
        }

        InlineThisOnlyEnvironment();
        Finish();
    }

    /// <summary>The closure facts of the body that contains <paramref name="operation"/> (any operation of it).</summary>
    public static ClosureFacts Of(IOperation operation) => Cache.GetValue(BodyFacts.Of(operation).Root, Create);

    /// <summary>Every display class of the body, outer scopes first (source order of their scopes), structs included.</summary>
    public IReadOnlyList<DisplayClass> DisplayClasses => _displayClasses.Count == 0 ? NoDisplayClasses : _displayClasses;

    /// <summary>The display classes the lambda or local function uses (outer to inner): what evaluating it (a lambda,
    /// a converted local function) or calling it (a local function) needs alive. Empty for a function that captures
    /// nothing or only <c>this</c>.</summary>
    public IReadOnlyList<DisplayClass> EnvironmentsOf(IOperation function)
        => _functionByOperation.TryGetValue(function, out var f) && f.Environments.Count > 0 ? f.Environments : NoDisplayClasses;

    /// <summary>The display class that holds a captured local or parameter; null when nothing captures it (or it is a
    /// constant, or a variable of an expression-tree lambda).</summary>
    public DisplayClass? DisplayClassOf(ISymbol capturedVariable)
        => _byVariable.TryGetValue(capturedVariable, out var displayClass) ? displayClass : null;

    /// <summary>Whether the lambda or local function captures <c>this</c> and nothing held in a display class: the
    /// compiler makes it an instance method of the containing type (a lambda still gets a new delegate per evaluation).</summary>
    public bool CapturesOnlyThis(IOperation function)
        => _functionByOperation.TryGetValue(function, out var f) && f.CapturesThis && f.Environments.Count == 0;

    /// <summary>Whether the lambda or local function is an expression-tree lambda or nested in one; null for an
    /// operation that is not a function of this body. Known from the model: no parent walk.</summary>
    public bool? InExpressionTree(IOperation function)
        => _functionByOperation.TryGetValue(function, out var f) ? f.InExpressionTree : null;

    /// <summary>Whether the lambda is converted to an expression tree (<c>Expression&lt;Func&lt;…&gt;&gt;</c>): not a
    /// delegate, never compiled to a method of a display class (though what it captures still lives in one).</summary>
    public static bool IsExpressionTree(IOperation function)
    {
        if (function is not IAnonymousFunctionOperation)
            return false;
        var parent = function.Parent;
        while (parent is IParenthesizedOperation)
            parent = parent.Parent;
        var type = parent switch
        {
            IDelegateCreationOperation creation => creation.Type,
            IConversionOperation conversion => conversion.Type,
            _ => null,
        };
        for (var t = type; t is not null; t = t.BaseType)
        {
            if (t.Name == "LambdaExpression" && t.ContainingNamespace is { Name: "Expressions", ContainingNamespace: { Name: "Linq", ContainingNamespace: { Name: "System", ContainingNamespace.IsGlobalNamespace: true } } })
                return true;
        }

        return false;
    }

    // ------------------------------------------------------------------ building the model

    private void CollectFunctions()
    {
        var body = _body;
        var hasThis = _member is { IsStatic: false };
        foreach (var operation in body.Functions)
        {
            var symbol = operation is IAnonymousFunctionOperation lambda ? lambda.Symbol : ((ILocalFunctionOperation)operation).Symbol;
            var isLocalFunction = operation is ILocalFunctionOperation;
            var converted = !isLocalFunction || body.IsConvertedToDelegate(symbol);
            var function = new Function(operation, symbol)
            {
                CapturesThis = hasThis && body.CapturesThis(operation),
                CanTakeRefParameters = isLocalFunction && !converted && !symbol.IsAsync && !body.IsIterator(operation),
            };
            var outer = Outer(operation);
            function.InExpressionTree = IsExpressionTree(operation) || outer is not null && _functionByOperation.TryGetValue(outer, out var o) && o.InExpressionTree;

            var captured = body.CapturedBy(operation);
            function.Captures.Capacity = captured.Count;
            foreach (var variable in captured)
            {
                if (variable is ILocalSymbol { IsConst: true })
                    continue;
                if (variable is IParameterSymbol parameter && IsPrimaryConstructorParameterOfMember(parameter))
                {
                    // A primary constructor's parameter used in a member is a field of 'this'.
                    function.CapturesThis = true;
                    continue;
                }

                // Only a nameof can hold a reference that does not capture: a body without one needs no search.
                if (body.ContainsNameOf && !NamedOutsideNameOf(variable, operation))
                    continue;
                function.Captures.Add(variable);
                if (!_capturers.TryGetValue(variable, out var capturers))
                {
                    _capturers[variable] = capturers = new List<Function>();
                    function.FirstCaptures.Add(variable);
                }

                capturers.Add(function);
            }

            function.LocalFunctionsUsed = body.LocalFunctionsUsedBy(operation);
            _anyUsesLocalFunction |= function.LocalFunctionsUsed.Count > 0;
            _functions.Add(function);
            _functionByOperation[operation] = function;
            if (!_functionBySymbol.ContainsKey(symbol))
                _functionBySymbol[symbol] = function;
        }
    }

    /// <summary>Assigns every captured variable to the scope that declares it; false when nothing is captured.</summary>
    private bool CollectScopes()
    {
        var any = false;
        foreach (var function in _functions)
        {
            if (function.CapturesThis)
            {
                ScopeFor(_body.Root, DisplayClassScopeKind.Member).HoldsThis = true;
                any = true;
            }

            // Each variable once: where it is first captured (no set of every capture seen).
            foreach (var variable in function.FirstCaptures)
            {
                var (operation, kind) = DeclaringScope(variable);
                if (operation is null || IsInExpressionTree(operation))
                    continue;
                var scope = ScopeFor(operation, kind);
                scope.Variables.Add(variable);
                any = true;
            }
        }

        if (!any)
            return false;

        // Outer scopes first: the compiler visits its scope tree in pre-order.
        _scopes.Sort(static (a, b) =>
        {
            var x = a.Operation.Syntax.Span;
            var y = b.Operation.Syntax.Span;
            return x.Start != y.Start ? x.Start.CompareTo(y.Start) : y.Length.CompareTo(x.Length);
        });
        return true;
    }

    private Scope ScopeFor(IOperation operation, DisplayClassScopeKind kind)
    {
        if (!_scopeByOperation.TryGetValue(operation, out var scope))
        {
            scope = new Scope(operation, kind);
            _scopeByOperation[operation] = scope;
            _anyConditionScope |= ForOfCondition(operation) is not null;
            _scopes.Add(scope);
        }

        return scope;
    }

    /// <summary>Roslyn's MakeAndAssignEnvironments: one environment per scope, used by every function nested in the
    /// scope that captures one of its variables or uses a local function that uses the environment.</summary>
    private void MakeEnvironments()
    {
        foreach (var scope in _scopes)
        {
            var environment = new DisplayClass(scope.Operation, scope.Kind) { HoldsThis = scope.HoldsThis };
            environment.VariableList.AddRange(scope.Variables);
            var isStruct = !_variantInterface;
            var closures = new List<Function>();
            var scopeSpan = scope.Operation.Syntax.Span;

            // A function is in the closures once it is marked with this scope's stamp. The users of the scope's variables
            // come from the capture index (only functions that capture one are tested for nesting).
            var stamp = ++_stamp;
            foreach (var variable in scope.Variables)
            {
                if (!_capturers.TryGetValue(variable, out var capturers))
                    continue;
                foreach (var function in capturers)
                    AddIfNested(function);
            }

            if (scope.HoldsThis)
            {
                foreach (var function in _functions)
                {
                    if (function.CapturesThis)
                        AddIfNested(function);
                }
            }

            // Then, until nothing changes, the functions that call or convert a local function among them.
            var added = _anyUsesLocalFunction;
            while (added)
            {
                added = false;
                foreach (var function in _functions)
                {
                    if (function.Mark != stamp && UsesAny(function.LocalFunctionsUsed, closures) && AddIfNested(function))
                        added = true;
                }
            }

            environment.IsStruct = isStruct;
            scope.Environment = environment;
            scope.Closures = closures;

            bool AddIfNested(Function function)
            {
                if (function.Mark == stamp || !IsNestedIn(function, scope.Operation, scopeSpan))
                    return false;
                function.Mark = stamp;
                closures.Add(function);
                isStruct &= function.CanTakeRefParameters;
                return true;
            }
        }

        // Each function's environments, outer scopes first, in lists of the right size (a function deep in nested lambdas
        // uses one per level).
        foreach (var scope in _scopes)
        {
            foreach (var function in scope.Closures!)
                function.EnvironmentCount++;
        }

        foreach (var function in _functions)
            function.Environments.Capacity = function.EnvironmentCount;
        foreach (var scope in _scopes)
        {
            foreach (var function in scope.Closures!)
                function.Environments.Add(scope.Environment!);
        }
    }

    /// <summary>Roslyn's ComputeLambdaScopesAndFrameCaptures: a function lives in the innermost class environment it
    /// uses; each class environment between that one and the outermost one it uses points to the next one out.</summary>
    private void LinkEnvironments()
    {
        foreach (var scope in _scopes)
        {
            if (scope.Environment is { } environment)
                environment.Parent = null;
        }

        foreach (var function in _functions)
        {
            function.Containing = null;
            if (function.Environments.Count == 0)
                continue;
            // The environments not yet met on the way out are those marked with this function's stamp (a removal is a
            // mark taken off): no set per function, and no search of a list per enclosing scope (cubic in nested lambdas).
            var stamp = ++_stamp;
            var remaining = 0;
            foreach (var environment in function.Environments)
            {
                if (environment.Mark != stamp)
                {
                    environment.Mark = stamp;
                    remaining++;
                }
            }

            var chain = EnclosingScopes(function.Operation);
            var i = 0;
            DisplayClass? previous = null;
            for (; i < chain.Count; i++)
            {
                var environment = chain[i].Environment;
                if (environment is not null && Remove(environment) && !environment.IsStruct)
                {
                    function.Containing = previous = environment;
                    i++;
                    break;
                }
            }

            if (previous is null)
                continue;
            for (; i < chain.Count && remaining > 0; i++)
            {
                if (chain[i].Environment is not { } environment)
                    continue;
                if (!environment.IsStruct)
                {
                    previous.Parent = environment;
                    previous = environment;
                }

                Remove(environment);
            }

            bool Remove(DisplayClass environment)
            {
                if (environment.Mark != stamp)
                    return false;
                environment.Mark = 0;
                remaining--;
                return true;
            }
        }
    }

    /// <summary>Roslyn's MergeEnvironments (optimized builds only).</summary>
    private void MergeEnvironments()
    {
        // The functions using each scope's environment, plus those of inner environments that point up to it. Only the
        // scopes a merge compares need the set: each scope first records which inner scopes point up to it, and the set
        // is the union of their closures on the first comparison (a union into every outer scope for every inner one
        // was cubic in nested lambdas, where no merge compares anything).
        var inner = new Dictionary<Scope, List<Scope>>();
        foreach (var scope in _scopes)
        {
            if (scope.Environment!.Parent is null)
                continue;
            foreach (var outer in EnclosingScopes(scope.Operation))
            {
                var environment = outer.Environment!;
                if (environment.IsStruct)
                    break;
                if (!inner.TryGetValue(outer, out var pointing))
                    inner[outer] = pointing = new List<Scope>();
                pointing.Add(scope);
                if (environment.Parent is null)
                    break;
            }
        }

        var users = new Dictionary<Scope, HashSet<Function>>();
        HashSet<Function> UsersOf(Scope scope)
        {
            if (users.TryGetValue(scope, out var set))
                return set;
            set = new HashSet<Function>(scope.Closures!);
            if (inner.TryGetValue(scope, out var pointing))
            {
                foreach (var from in pointing)
                    set.UnionWith(from.Closures!);
            }

            return users[scope] = set;
        }

        foreach (var scope in _scopes)
        {
            var environment = scope.Environment;
            if (environment is null || environment.IsStruct || scope.Closures!.Count == 0)
                continue;
            Scope? best = null;
            foreach (var outer in EnclosingScopes(scope.Operation))
            {
                if (!CanMergeInto(scope.Operation, outer.Operation))
                    break;
                if (outer.Environment is null || outer.Environment.IsStruct)
                    continue;
                if (!UsersOf(outer).SetEquals(UsersOf(scope)))
                    break;
                best = outer;
            }

            if (best is null)
                continue;
            var target = best.Environment!;
            foreach (var variable in environment.VariableList)
            {
                if (!target.VariableList.ContainsSymbol(variable))
                    target.VariableList.Add(variable);
            }

            target.HoldsThis |= environment.HoldsThis;
            scope.Environment = null;
            foreach (var function in scope.Closures!)
            {
                function.Environments.Remove(environment);
                if (!function.Environments.Contains(target))
                    function.Environments.Add(target);
            }
        }
    }

    /// <summary>Roslyn's InlineThisOnlyEnvironments.</summary>
    private void InlineThisOnlyEnvironment()
    {
        if (!_scopeByOperation.TryGetValue(_body.Root, out var root) || root.Environment is not { } environment)
            return;
        if (environment.VariableList.Count > 0 || !environment.HoldsThis)
            return;
        if (environment.IsStruct)
        {
            foreach (var function in _functions)
            {
                if (function.Environments.Contains(environment) && function.Containing is not null)
                    return;
            }
        }
        else if (_variantInterface)
        {
            return;
        }

        root.Environment = null;
        foreach (var function in _functions)
        {
            function.Environments.Remove(environment);
            if (function.Containing == environment)
                function.Containing = null;
        }

        foreach (var scope in _scopes)
        {
            if (scope.Environment is { } inner && inner.Parent == environment)
            {
                inner.Parent = null;
                inner.HoldsThis = true;
            }
        }
    }

    private void Finish()
    {
        foreach (var scope in _scopes)
        {
            if (scope.Environment is not { } environment)
                continue;
            environment.MoveTo(scope.Operation, scope.Kind);
            _displayClasses.Add(environment);
            foreach (var variable in environment.VariableList)
                _byVariable[variable] = environment;
            (environment.AllocationLocation, environment.Where) = Describe(environment);
        }

        // Each function's environments in the order of the display classes: by a position written on each once, not
        // searched for per comparison (the innermost of 200 nested lambdas uses 200 environments: a search per comparison
        // was cubic), and sorted only when out of order (they were added scope by scope, outer first, unless merged).
        foreach (var function in _functions)
        {
            foreach (var environment in function.Environments)
                environment.Position = -1;
        }

        for (var i = 0; i < _displayClasses.Count; i++)
        {
            _displayClasses[i].Position = i;
            _displayClasses[i].Mark = 0;
        }

        // Each display class's list of functions at its size (the outermost of 200 nested lambdas' has 199).
        foreach (var function in _functions)
        {
            foreach (var environment in function.Environments)
                environment.Mark++;
        }

        foreach (var environment in _displayClasses)
            environment.FunctionList.Capacity = environment.Mark;
        foreach (var function in _functions)
        {
            var environments = function.Environments;
            for (var i = 1; i < environments.Count; i++)
            {
                if (environments[i - 1].Position > environments[i].Position)
                {
                    environments.Sort(static (a, b) => a.Position.CompareTo(b.Position));
                    break;
                }
            }

            foreach (var environment in environments)
                environment.FunctionList.Add(function.Operation);
        }
    }

    // ------------------------------------------------------------------ scopes

    private (IOperation? Operation, DisplayClassScopeKind Kind) DeclaringScope(ISymbol variable)
    {
        switch (variable)
        {
            case IParameterSymbol parameter:
                // The first function with that symbol (as a search of the functions in order found it).
                return parameter.ContainingSymbol is { } owner && _functionBySymbol.TryGetValue(owner, out var function)
                    ? (function.Operation, DisplayClassScopeKind.Function)
                    : (_body.Root, DisplayClassScopeKind.Member);
            case ILocalSymbol local:
                var declaring = _body.DeclaringScopeOf(local);

                // A for condition's variables: the compiler gives the condition (with the body and incrementor, where
                // they are visible) a scope of its own, entered on every iteration (IL-checked), unlike the for
                // statement's own variables.
                if (declaring is IForLoopOperation { Condition: { } condition } forLoop && forLoop.ConditionLocals.Contains(local))
                    return (condition, DisplayClassScopeKind.LoopIteration);
                return Normalize(declaring);
            default:
                return (null, DisplayClassScopeKind.Block);
        }
    }

    /// <summary>The compiler's scope for an operation that declares locals: a function's or the member's outermost
    /// block shares the scope of its parameters.</summary>
    private (IOperation? Operation, DisplayClassScopeKind Kind) Normalize(IOperation? operation)
    {
        switch (operation)
        {
            case null:
                return (null, DisplayClassScopeKind.Block);
            case var _ when operation == _body.Root:
                return (_body.Root, DisplayClassScopeKind.Member);
            case IBlockOperation block:
                return block.Parent switch
                {
                    null or IMethodBodyBaseOperation => (_body.Root, DisplayClassScopeKind.Member),
                    IAnonymousFunctionOperation or ILocalFunctionOperation => (block.Parent, DisplayClassScopeKind.Function),
                    ILoopOperation loop when loop.Body == block => (block, DisplayClassScopeKind.LoopIteration),
                    _ => (block, DisplayClassScopeKind.Block),
                };
            case IForLoopOperation:
                return (operation, DisplayClassScopeKind.ForVariables);
            case ILoopOperation:
                return (operation, DisplayClassScopeKind.LoopIteration);
            case IConstructorBodyOperation or ISymbolInitializerOperation when operation.Parent is null:
                return (_body.Root, DisplayClassScopeKind.Member);
            case ISwitchCaseOperation { Parent: ISwitchOperation switchOperation }:
                // The compiler declares a section's pattern variables with the switch block's locals (IL-checked).
                return (switchOperation, DisplayClassScopeKind.Block);
            default:
                return (operation, DisplayClassScopeKind.Block);
        }
    }

    /// <summary>The scopes around a function's or scope's operation (not the operation itself), innermost first; the
    /// list is reused by the next call. Without a for condition's scope (the one scope that is not an ancestor of what
    /// it covers) they are read off the tree of scopes and functions, not found by a walk to the root per operation.</summary>
    private List<Scope> EnclosingScopes(IOperation operation)
    {
        var list = _chain ??= new List<Scope>();
        list.Clear();
        if (!_anyConditionScope)
        {
            for (var node = NodeOf(operation).Up; node is not null; node = node.Up)
            {
                if (node.Scope is { } scope)
                    list.Add(scope);
            }

            return list;
        }

        var child = operation;
        for (var parent = operation.Parent; parent is not null; child = parent, parent = parent.Parent)
        {
            ParentSteps++;
            // The scope of a for condition's variables holds the body and the incrementor too (not the initializer).
            if (parent is IForLoopOperation { Condition: { } condition } forLoop && child != condition
                && _scopeByOperation.TryGetValue(condition, out var conditionScope) && !forLoop.Before.Contains(child))
            {
                list.Add(conditionScope);
            }

            if (_scopeByOperation.TryGetValue(parent, out var scope))
                list.Add(scope);
        }

        return list;
    }

    /// <summary>Whether the compiler may move the variables of <paramref name="inner"/> to <paramref name="outer"/>
    /// (Roslyn's CanMergeWithParent along the way): not across a function boundary, nor when a loop re-enters the
    /// inner scope without the outer one, nor when a <c>goto</c> after the inner scope's start jumps back between
    /// the two starts.</summary>
    private bool CanMergeInto(IOperation inner, IOperation outer)
    {
        // A for condition's scope is not an ancestor in the operation tree, but the compiler nests the body in it and
        // enters both on every iteration: its for statement stands for it, and that loop does not separate them.
        var conditionOf = ForOfCondition(outer);
        var container = conditionOf ?? outer;
        for (var parent = inner.Parent; parent is not null && parent != container; parent = parent.Parent)
        {
            if (parent is IAnonymousFunctionOperation or ILocalFunctionOperation)
                return false;
        }

        if (inner is IAnonymousFunctionOperation or ILocalFunctionOperation)
            return false;

        foreach (var loop in _body.Loops)
        {
            if (!IsWithinOrSelf(loop, container) || container == loop && (conditionOf is not null || loop is not IForLoopOperation))
                continue;
            if (IsRepeatedBy(inner, loop))
                return false;
        }

        var innerStart = inner.Syntax.SpanStart;
        var outerSpan = container.Syntax.Span;
        foreach (var jump in _body.GoToStatements)
        {
            if (jump.Syntax.SpanStart <= innerStart || jump.Target.Locations.Length == 0)
                continue;
            var label = jump.Target.Locations[0];
            if (label.SourceTree == inner.Syntax.SyntaxTree && outerSpan.Contains(label.SourceSpan.Start) && label.SourceSpan.Start < innerStart)
                return false;
        }

        return true;
    }

    /// <summary>Whether entering <paramref name="scope"/> is part of what the loop repeats.</summary>
    private static bool IsRepeatedBy(IOperation scope, ILoopOperation loop)
    {
        if (scope == loop)
            return loop is not IForLoopOperation;
        var child = scope;
        for (var parent = scope.Parent; parent is not null; child = parent, parent = parent.Parent)
        {
            if (parent == loop)
            {
                return loop switch
                {
                    IForEachLoopOperation forEach => child != forEach.Collection,
                    IForLoopOperation forLoop => !forLoop.Before.Contains(child),
                    _ => true,
                };
            }
        }

        return false;
    }

    /// <summary>Whether the operation is in an expression-tree lambda: the answer of the nearest function around it
    /// (or itself), which already holds every function further out, so the walk stops there, not at the root.</summary>
    private bool IsInExpressionTree(IOperation operation)
    {
        for (var current = operation; current is not null; current = current.Parent)
        {
            ParentSteps++;
            if (current is IAnonymousFunctionOperation or ILocalFunctionOperation && _functionByOperation.TryGetValue(current, out var function))
                return function.InExpressionTree;
        }

        return false;
    }

    // ------------------------------------------------------------------ messages

    private (Location Location, string Where) Describe(DisplayClass environment)
    {
        var scope = environment.Scope;
        SyntaxNode syntax = scope.Syntax;
        string where;
        switch (environment.Kind)
        {
            case DisplayClassScopeKind.Member:
                if (scope is IMethodBodyBaseOperation body && (body.BlockBody ?? body.ExpressionBody) is { } bodyBlock)
                    syntax = bodyBlock.Syntax;
                where = _body.IsIterator(null) ? "when enumeration starts ({0}), on every enumeration"
                    : scope is IMethodBodyBaseOperation ? "at method entry ({0}), on every call"
                    : "at the start of the initializer ({0}), each time it runs";
                break;
            case DisplayClassScopeKind.Function:
                if (scope is ILocalFunctionOperation localFunction)
                {
                    syntax = (localFunction.Body ?? (IOperation)localFunction).Syntax;
                    where = "at the start of local function '" + localFunction.Symbol.Name + "' ({0}), on every call of it";
                }
                else
                {
                    where = "at the start of the lambda ({0}), on every call of it";
                }

                break;
            case DisplayClassScopeKind.LoopIteration when ForOfCondition(scope) is not null:
                environment.AllocatedPerIteration = true;
                where = "in the loop condition ({0}), on every iteration";
                break;
            case DisplayClassScopeKind.LoopIteration:
                environment.AllocatedPerIteration = true;
                var loopBody = scope is ILoopOperation loop ? loop.Body : scope;
                syntax = loopBody.Syntax;
                where = LoopCycles.IsOnCycle(loopBody) || FirstOperationOnCycle(loopBody)
                    ? "at the start of the loop body ({0}), on every iteration"
                    : "at the start of the loop body ({0}), each time it runs";
                break;
            case DisplayClassScopeKind.ForVariables:
                where = "at the start of the for statement ({0}), each time it runs";
                break;
            default:
                where = scope switch
                {
                    ICatchClauseOperation => "at the start of the catch clause ({0}), each time it runs",
                    IUsingOperation => "at the start of the using statement ({0}), each time it runs",
                    ISwitchOperation => "at the start of the switch statement ({0}), each time it runs",
                    _ => "at the start of the block ({0}), each time it runs",
                };

                // A block in a loop body, a for incrementor, or a section a backward goto (case) returns to: entered,
                // and allocated, again on each round of that loop (IL-checked), though not always on every iteration.
                if (!environment.IsStruct && (LoopCycles.IsOnCycle(scope) || FirstOperationOnCycle(scope)))
                {
                    environment.AllocatedPerIteration = true;
                    where += ", in a loop";
                }

                break;
        }

        var location = syntax.GetFirstToken().GetLocation();
        var line = "line " + (location.GetLineSpan().StartLinePosition.Line + 1);
        return (location, environment.IsStruct
            ? "none: a struct on the stack, passed by reference (" + line + ")"
            : string.Format(System.Globalization.CultureInfo.InvariantCulture, where, line));
    }

    /// <summary>A block is not a node of the control-flow graph; its first statement that is tells whether it repeats.</summary>
    private static bool FirstOperationOnCycle(IOperation body)
    {
        foreach (var child in body.ChildOperations)
            return LoopCycles.IsOnCycle(child);
        return false;
    }

    // ------------------------------------------------------------------ helpers

    private static ISymbol? MemberOf(BodyFacts body)
    {
        foreach (var operation in body.Functions)
        {
            var symbol = operation is IAnonymousFunctionOperation lambda ? lambda.Symbol : ((ILocalFunctionOperation)operation).Symbol;
            if (Outer(operation) is null)
                return symbol.ContainingSymbol;
        }

        return null;
    }

    private static IOperation? Outer(IOperation function)
    {
        for (var parent = function.Parent; parent is not null; parent = parent.Parent)
        {
            if (parent is IAnonymousFunctionOperation or ILocalFunctionOperation)
                return parent;
        }

        return null;
    }

    private static bool InVariantInterface(ISymbol member)
    {
        for (var type = member.ContainingType; type is not null; type = type.ContainingType)
        {
            if (type.TypeKind != TypeKind.Interface)
                continue;
            foreach (var parameter in type.TypeParameters)
            {
                if (parameter.Variance != VarianceKind.None)
                    return true;
            }
        }

        return false;
    }

    /// <summary>A primary constructor's parameter referenced from another member (not from an initializer, where it
    /// is the constructor's own parameter).</summary>
    private bool IsPrimaryConstructorParameterOfMember(IParameterSymbol parameter)
    {
        if (parameter.ContainingSymbol is not IMethodSymbol { MethodKind: MethodKind.Constructor } constructor
            || SymbolEqualityComparer.Default.Equals(constructor, _member)
            || _body.Root is ISymbolInitializerOperation)
            return false;
        foreach (var reference in constructor.DeclaringSyntaxReferences)
        {
            if (reference.GetSyntax() is TypeDeclarationSyntax)
                return true;
        }

        return false;
    }

    /// <summary>Whether the function names the variable other than in <c>nameof</c> (a constant to the compiler).</summary>
    private bool NamedOutsideNameOf(ISymbol variable, IOperation function)
    {
        var span = function.Syntax.Span;
        foreach (var reference in _body.ReferencesTo(variable))
        {
            if (!span.Contains(reference.Syntax.Span))
                continue;

            // In a nameof between the reference and the function: the innermost nameof around the reference lies
            // inside the function (a nameof cannot hold a lambda). One parent walk per reference, not per function.
            if (NameOfAround(reference) is not { } nameOf || !span.Contains(nameOf.Syntax.Span) || nameOf.Syntax.Span == span)
                return true;
        }

        return false;
    }

    private IOperation? NameOfAround(IOperation reference)
    {
        _nameOfAround ??= new Dictionary<IOperation, IOperation?>();
        if (_nameOfAround.TryGetValue(reference, out var known))
            return known;
        IOperation? found = null;
        for (var parent = reference.Parent; parent is not null; parent = parent.Parent)
        {
            ParentSteps++;
            if (parent is INameOfOperation)
            {
                found = parent;
                break;
            }
        }

        _nameOfAround[reference] = found;
        return found;
    }

    private bool IsNestedIn(Function function, IOperation scope, TextSpan scopeSpan)
    {
        var operation = function.Operation;
        if (ForOfCondition(scope) is { } forLoop)
            return IsWithinOrSelf(operation, forLoop) && !InForInitializer(operation, forLoop);
        return operation != scope && scopeSpan.Contains(function.Span) && (scope.Parent is null || IsAbove(NodeOf(scope), NodeOf(operation)));
    }

    /// <summary>Whether <paramref name="above"/> is a proper ancestor of <paramref name="below"/> in the operation tree:
    /// both are nodes of the tree of scopes and functions, numbered in one depth-first pass.</summary>
    private static bool IsAbove(Node above, Node below) => above.Enter < below.Enter && below.Exit < above.Exit;

    private Node NodeOf(IOperation operation) => (_nodes ?? BuildNodes())[operation];

    /// <summary>The operation tree cut down to the scope operations and the functions: each linked to the nearest one
    /// above it (one parent walk per node, up to that one, not to the root) and numbered in a depth-first pass, so that
    /// "is this scope around that function" is two comparisons, and the scopes around a function a walk up this tree.
    /// Built after the scopes are known, on the first question.</summary>
    private Dictionary<IOperation, Node> BuildNodes()
    {
        var nodes = new Dictionary<IOperation, Node>(_scopes.Count + _functions.Count);
        foreach (var scope in _scopes)
            nodes[scope.Operation] = new Node(scope.Operation) { Scope = scope };
        foreach (var function in _functions)
        {
            if (!nodes.ContainsKey(function.Operation))
                nodes[function.Operation] = new Node(function.Operation);
        }

        var roots = new List<Node>();
        foreach (var node in nodes.Values)
        {
            for (var parent = node.Operation.Parent; parent is not null; parent = parent.Parent)
            {
                ParentSteps++;
                if (nodes.TryGetValue(parent, out var up))
                {
                    node.Up = up;
                    (up.Children ??= new List<Node>()).Add(node);
                    break;
                }
            }

            if (node.Up is null)
                roots.Add(node);
        }

        var counter = 0;
        var stack = new Stack<(Node Node, int Child)>();
        foreach (var root in roots)
        {
            root.Enter = ++counter;
            stack.Push((root, 0));
            while (stack.Count > 0)
            {
                var (node, child) = stack.Pop();
                if (node.Children is { } children && child < children.Count)
                {
                    stack.Push((node, child + 1));
                    var next = children[child];
                    next.Enter = ++counter;
                    stack.Push((next, 0));
                }
                else
                {
                    node.Exit = ++counter;
                }
            }
        }

        return _nodes = nodes;
    }

    /// <summary>The <c>for</c> statement whose condition <paramref name="scope"/> is (the scope of the condition's
    /// variables, which also covers the body and the incrementor); null for any other scope.</summary>
    private static IForLoopOperation? ForOfCondition(IOperation scope)
        => scope.Parent is IForLoopOperation forLoop && forLoop.Condition == scope ? forLoop : null;

    private static bool InForInitializer(IOperation operation, IForLoopOperation forLoop)
    {
        foreach (var before in forLoop.Before)
        {
            if (IsWithinOrSelf(operation, before))
                return true;
        }

        return false;
    }

    private static bool IsWithinOrSelf(IOperation operation, IOperation ancestor)
    {
        for (var current = operation; current is not null; current = current.Parent)
        {
            ParentSteps++;
            if (current == ancestor)
                return true;
        }

        return false;
    }

    private static bool UsesAny(IReadOnlyList<ISymbol> localFunctions, List<Function> closures)
    {
        foreach (var used in localFunctions)
        {
            foreach (var closure in closures)
            {
                if (SymbolEqualityComparer.Default.Equals(closure.Symbol.OriginalDefinition, used))
                    return true;
            }
        }

        return false;
    }

    private sealed class Function
    {
        public Function(IOperation operation, IMethodSymbol symbol)
        {
            Operation = operation;
            Symbol = symbol;
            Span = operation.Syntax.Span;
        }

        public IOperation Operation { get; }

        public TextSpan Span { get; }

        /// <summary>How many scopes' closures took it in: the size of <see cref="Environments"/>, before merging.</summary>
        public int EnvironmentCount { get; set; }

        public IMethodSymbol Symbol { get; }

        public List<ISymbol> Captures { get; } = new();

        /// <summary>The captures no function before this one (in the body's order) captures.</summary>
        public List<ISymbol> FirstCaptures { get; } = new();

        /// <summary>The stamp of the last scope whose closures took it in (<see cref="MakeEnvironments"/>).</summary>
        public int Mark { get; set; }

        public IReadOnlyList<ISymbol> LocalFunctionsUsed { get; set; } = System.Array.Empty<ISymbol>();

        public bool CapturesThis { get; set; }

        public bool CanTakeRefParameters { get; set; }

        public bool InExpressionTree { get; set; }

        public List<DisplayClass> Environments { get; } = new();

        public DisplayClass? Containing { get; set; }
    }

    /// <summary>A scope's operation or a function's (or both) in the tree of them (<see cref="BuildNodes"/>).</summary>
    private sealed class Node
    {
        public Node(IOperation operation) => Operation = operation;

        public IOperation Operation { get; }

        public Scope? Scope { get; set; }

        public Node? Up { get; set; }

        public List<Node>? Children { get; set; }

        public int Enter { get; set; }

        public int Exit { get; set; }
    }

    private sealed class Scope
    {
        public Scope(IOperation operation, DisplayClassScopeKind kind)
        {
            Operation = operation;
            Kind = kind;
        }

        public IOperation Operation { get; }

        public DisplayClassScopeKind Kind { get; }

        public List<ISymbol> Variables { get; } = new();

        public bool HoldsThis { get; set; }

        public DisplayClass? Environment { get; set; }

        public List<Function>? Closures { get; set; }
    }
}
