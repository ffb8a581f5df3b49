using System.Collections.Generic;
using System.Runtime.CompilerServices;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Bodies;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.Closures;

/// <summary>
/// The closure environments the C# compiler builds for one body, as far as MSA3005 needs them: which scopes
/// declare captured variables, which lambdas and local functions use each scope, whether its environment is a
/// struct on the stack or a class on the heap, and where a class is allocated. It mirrors Roslyn's closure
/// conversion (<c>ClosureConversion.Analysis</c>, Roslyn 4.x):
/// <list type="bullet">
/// <item>Every scope that declares captured variables (the member's or a function's body with its parameters, a
/// block, a loop body, a <c>for</c> initializer, a <c>switch</c> section, a <c>catch</c> block) gets one environment;
/// <c>this</c> belongs to the member's body scope.</item>
/// <item>The functions of a scope are those that capture one of its variables, directly or in a function nested
/// in them, and, to a fixed point, those that call or convert a local function already among them.</item>
/// <item>The environment is a struct, passed by <c>ref</c>, only when every one of its functions is a local
/// function that is not converted to a delegate and is neither async nor an iterator (and the member is not in a
/// variant interface); otherwise it is a class, allocated where the scope begins.</item>
/// <item>In a Release build a class environment is merged into the nearest enclosing class environment when
/// exactly the same functions use both and no loop or function boundary lies between them.</item>
/// <item>An environment that holds only <c>this</c> is never allocated: its functions become instance methods.</item>
/// </list>
/// Built once per body, only when a rule asks (a capturing local function converted to a delegate is rare), and
/// cached on the body's root operation.
/// </summary>
internal sealed class LocalFunctionClosures
{
    private static readonly ConditionalWeakTable<IOperation, LocalFunctionClosures> Cache = new();

    private readonly BodyFacts _facts;
    private readonly bool _release;
    private readonly bool _alwaysClasses;
    private readonly Scope _root;
    private readonly Dictionary<IOperation, Scope> _scopes = new();
    private readonly List<Scope> _scopeList = new();
    private readonly Dictionary<ISymbol, IOperation> _localFunctions = new(SymbolEqualityComparer.Default);

    private LocalFunctionClosures(IOperation root, ISymbol member, bool release)
    {
        _facts = BodyFacts.Of(root);
        _release = release;

        // The runtime might not accept a method synthesized in a variant interface as variance-safe, so Roslyn
        // always uses class environments there.
        _alwaysClasses = member.ContainingType is { TypeKind: TypeKind.Interface } type && HasVariance(type);
        _root = new Scope(root, ScopeKind.FunctionBody, function: null);
        _scopes[root] = _root;
        if (BodyBlockOf(root) is { } rootBlock)
            _scopes[rootBlock] = _root;
        Build();
    }

    /// <summary>The closures of the body that <paramref name="operation"/> belongs to.</summary>
    public static LocalFunctionClosures Of(IOperation operation, ISymbol member, bool release)
        => Cache.GetValue(operation.Root(), root => new LocalFunctionClosures(root, member, release));

    /// <summary>The environments that become heap objects only because local functions are converted to delegates:
    /// each one that <paramref name="localFunction"/> uses and that would be a struct if no local function were
    /// converted (no lambda, async or iterator function uses it) and holds more than <c>this</c>. Empty when the
    /// conversion moves nothing to the heap.</summary>
    public IReadOnlyList<Scope> ScopesMovedToTheHeap(ILocalFunctionOperation localFunction)
    {
        List<Scope>? moved = null;
        foreach (var scope in _scopeList)
        {
            if (scope.Variables.Count == 0 || !scope.Closures.Contains(localFunction) || !scope.StructUnlessConverted)
                continue;
            (moved ??= new List<Scope>()).Add(scope);
        }

        return moved ?? (IReadOnlyList<Scope>)new Scope[0];
    }

    /// <summary>The environments <paramref name="function"/> uses (it captures their variables, directly, in a function
    /// nested in it or through local functions it calls): what its delegate keeps reachable.</summary>
    public IReadOnlyList<Scope> ScopesUsedBy(IOperation function)
    {
        List<Scope>? used = null;
        foreach (var scope in _scopeList)
        {
            if (scope.Closures.Contains(function))
                (used ??= new List<Scope>()).Add(scope);
        }

        return used ?? (IReadOnlyList<Scope>)new Scope[0];
    }

    /// <summary>Where the heap environment of <paramref name="scope"/> is allocated: the scope itself, or in a Release
    /// build the enclosing scope it is merged into.</summary>
    public Scope AllocationScopeOf(Scope scope)
    {
        if (!_release)
            return scope;
        var best = scope;
        var current = scope;
        while (current.Kind is ScopeKind.Block or ScopeKind.LoopHeader && ParentScope(current) is { } parent)
        {
            // Struct environments and scopes without captured variables are skipped, as the compiler does.
            if (parent.HasEnvironment && !parent.IsStruct)
            {
                if (!SameFunctions(parent.Closures, scope.Closures))
                    break;
                best = parent;
            }

            current = parent;
        }

        return best;
    }

    /// <summary>The nearest enclosing scope of the same function, or null at a loop or function boundary (the
    /// compiler lowers loops to backward jumps, which forbid merging a scope inside them with one outside).</summary>
    private Scope? ParentScope(Scope scope)
    {
        for (var parent = scope.Operation.Parent; parent is not null; parent = parent.Parent)
        {
            var known = _scopes.TryGetValue(parent, out var found);
            if (parent is ILoopOperation)
                return known && found!.Kind == ScopeKind.LoopBody ? found : null;
            if (parent is IAnonymousFunctionOperation or ILocalFunctionOperation)
                return null;
            if (known)
                return found;
        }

        return null;
    }

    private static bool SameFunctions(List<IOperation> a, List<IOperation> b)
    {
        if (a.Count != b.Count)
            return false;
        foreach (var function in a)
        {
            if (!b.Contains(function))
                return false;
        }

        return true;
    }

    // ------------------------------------------------------------------ building

    private void Build()
    {
        var functions = _facts.Functions;
        foreach (var function in functions)
        {
            if (function is ILocalFunctionOperation localFunction)
                _localFunctions[localFunction.Symbol.OriginalDefinition] = function;
        }

        foreach (var function in functions)
        {
            foreach (var variable in _facts.CapturedBy(function))
            {
                if (CannotBeCaptured(variable))
                    continue;
                var scope = ScopeOf(variable);
                if (!scope.Variables.ContainsSymbol(variable))
                    scope.Variables.Add(variable);
            }

            if (_facts.CapturesThis(function))
                _root.HoldsThis = true;
        }

        if (_root.HasEnvironment)
            _scopeList.Insert(0, _root);
        foreach (var scope in _scopeList)
            CollectFunctions(scope, functions);
    }

    private void CollectFunctions(Scope scope, IReadOnlyList<IOperation> functions)
    {
        bool added;
        do
        {
            added = false;
            foreach (var function in functions)
            {
                if (scope.Closures.Contains(function) || !Captures(function, scope) && !UsesAny(function, scope.Closures))
                    continue;
                scope.Closures.Add(function);
                added = true;
            }
        }
        while (added);

        var isStruct = !_alwaysClasses;
        var structUnlessConverted = !_alwaysClasses;
        foreach (var function in scope.Closures)
        {
            if (function is not ILocalFunctionOperation localFunction || localFunction.Symbol.IsAsync || _facts.IsIterator(function))
            {
                isStruct = structUnlessConverted = false;
                break;
            }

            if (_facts.IsConvertedToDelegate(localFunction.Symbol))
                isStruct = false;
        }

        scope.IsStruct = isStruct;
        scope.StructUnlessConverted = structUnlessConverted;
    }

    private bool Captures(IOperation function, Scope scope)
    {
        if (scope.HoldsThis && _facts.CapturesThis(function))
            return true;
        foreach (var variable in _facts.CapturedBy(function))
        {
            if (scope.Variables.ContainsSymbol(variable))
                return true;
        }

        return false;
    }

    private bool UsesAny(IOperation function, List<IOperation> closures)
    {
        foreach (var used in _facts.LocalFunctionsUsedBy(function))
        {
            if (_localFunctions.TryGetValue(used, out var operation) && closures.Contains(operation))
                return true;
        }

        return false;
    }

    /// <summary>Ref locals, ref parameters and ref struct values cannot be captured: code that does is in error (CS8175,
    /// CS1628, CS8350), and the compiler builds no environment for it.</summary>
    private static bool CannotBeCaptured(ISymbol variable)
        => variable switch
        {
            ILocalSymbol local => local.IsRef || local.Type.IsRefLikeType,
            IParameterSymbol parameter => parameter.RefKind != RefKind.None || parameter.Type.IsRefLikeType,
            _ => true,
        };

    /// <summary>The scope that declares a captured local or parameter.</summary>
    private Scope ScopeOf(ISymbol variable)
    {
        if (variable is IParameterSymbol parameter)
            return FunctionScope(parameter.ContainingSymbol);

        // Up from the declaration (or a reference) to the operation that declares the local: past the functions
        // that only use it, up to the one it belongs to at most.
        IOperation? start = variable is ILocalSymbol declared ? _facts.DeclaratorOf(declared) : null;
        if (start is null)
        {
            var references = _facts.ReferencesTo(variable);
            if (references.Count == 0)
                return _root;
            start = references[0];
        }

        for (var current = start.Parent; current is not null; current = current.Parent)
        {
            switch (current)
            {
                case IAnonymousFunctionOperation lambda when SymbolEqualityComparer.Default.Equals(lambda.Symbol, variable.ContainingSymbol):
                    return ScopeFor(current, ScopeKind.FunctionBody, current);
                case ILocalFunctionOperation localFunction when SymbolEqualityComparer.Default.Equals(localFunction.Symbol, variable.ContainingSymbol):
                    return ScopeFor(current, ScopeKind.FunctionBody, current);
                case IBlockOperation block when block.Locals.Contains((ILocalSymbol)variable):
                    return ScopeForBlock(block);
                case IForLoopOperation forLoop when forLoop.Locals.Contains((ILocalSymbol)variable):
                    return ScopeFor(current, ScopeKind.LoopHeader, FunctionOf(current));
                case ILoopOperation loop when DeclaresPerIteration(loop, (ILocalSymbol)variable):
                    return ScopeFor(current, ScopeKind.LoopBody, FunctionOf(current));
                case ISwitchCaseOperation switchCase when switchCase.Locals.Contains((ILocalSymbol)variable):
                    return ScopeFor(current, ScopeKind.Block, FunctionOf(current));
                case ISwitchOperation switchOperation when switchOperation.Locals.Contains((ILocalSymbol)variable):
                    return ScopeFor(current, ScopeKind.Block, FunctionOf(current));
                case ICatchClauseOperation catchClause when catchClause.Locals.Contains((ILocalSymbol)variable):
                    return ScopeFor(current, ScopeKind.Block, FunctionOf(current));
                case IUsingOperation usingOperation when usingOperation.Locals.Contains((ILocalSymbol)variable):
                    return ScopeFor(current, ScopeKind.Block, FunctionOf(current));
            }

            if (current.Parent is null)
                return _root;
        }

        return _root;
    }

    /// <summary>A <c>foreach</c> iteration variable and the pattern locals of a loop condition are declared anew on
    /// every iteration.</summary>
    private static bool DeclaresPerIteration(ILoopOperation loop, ILocalSymbol local)
        => loop switch
        {
            IForEachLoopOperation forEach => forEach.Locals.Contains(local),
            IWhileLoopOperation whileLoop => whileLoop.Locals.Contains(local),
            IForLoopOperation forLoop => forLoop.ConditionLocals.Contains(local),
            _ => loop.Locals.Contains(local),
        };

    private Scope ScopeForBlock(IBlockOperation block)
    {
        if (_scopes.TryGetValue(block, out var known))
            return known;
        switch (block.Parent)
        {
            case IAnonymousFunctionOperation or ILocalFunctionOperation:
                return ScopeFor(block.Parent, ScopeKind.FunctionBody, block.Parent);
            case ILoopOperation loop when loop.Body == block:
                return ScopeFor(block, ScopeKind.LoopBody, FunctionOf(block));
            default:
                return ScopeFor(block, ScopeKind.Block, FunctionOf(block));
        }
    }

    private Scope FunctionScope(ISymbol function)
    {
        foreach (var candidate in _facts.Functions)
        {
            var symbol = candidate switch
            {
                IAnonymousFunctionOperation lambda => lambda.Symbol,
                ILocalFunctionOperation localFunction => localFunction.Symbol,
                _ => null,
            };
            if (SymbolEqualityComparer.Default.Equals(symbol, function))
                return ScopeFor(candidate, ScopeKind.FunctionBody, candidate);
        }

        return _root;
    }

    private Scope ScopeFor(IOperation operation, ScopeKind kind, IOperation? function)
    {
        if (_scopes.TryGetValue(operation, out var scope))
            return scope;
        scope = new Scope(operation, kind, function);
        _scopes[operation] = scope;
        if (kind == ScopeKind.FunctionBody && BodyBlockOf(operation) is { } body)
            _scopes[body] = scope;
        _scopeList.Add(scope);
        return scope;
    }

    private static IOperation? FunctionOf(IOperation operation) => operation.EnclosingFunctionOperation();

    private static IOperation? BodyBlockOf(IOperation function)
        => function switch
        {
            IAnonymousFunctionOperation lambda => lambda.Body,
            ILocalFunctionOperation localFunction => localFunction.Body,
            IMethodBodyOperation method => (IOperation?)method.BlockBody ?? method.ExpressionBody,
            IConstructorBodyOperation constructor => (IOperation?)constructor.BlockBody ?? constructor.ExpressionBody,
            _ => null,
        };

    private static bool HasVariance(INamedTypeSymbol type)
    {
        for (var current = type; current is not null; current = current.ContainingType)
        {
            foreach (var parameter in current.TypeParameters)
            {
                if (parameter.Variance != VarianceKind.None)
                    return true;
            }
        }

        return false;
    }

    internal enum ScopeKind
    {
        /// <summary>The member's body or a lambda's or local function's body, with its parameters: entered on every call.</summary>
        FunctionBody,

        /// <summary>A loop body (or a <c>foreach</c> iteration variable): entered on every iteration.</summary>
        LoopBody,

        /// <summary>The variables a <c>for</c> statement declares in its initializer: entered once per run of the loop.</summary>
        LoopHeader,

        /// <summary>Any other block, <c>switch</c> section, <c>catch</c> or <c>using</c>.</summary>
        Block,
    }

    /// <summary>A scope that declares captured variables, and its environment.</summary>
    internal sealed class Scope
    {
        public Scope(IOperation operation, ScopeKind kind, IOperation? function)
        {
            Operation = operation;
            Kind = kind;
            Function = function;
        }

        /// <summary>The block, loop, clause or function (the member's root operation for its body) that declares the variables.</summary>
        public IOperation Operation { get; }

        public ScopeKind Kind { get; }

        /// <summary>The lambda or local function whose body holds the scope; null in the member's own body.</summary>
        public IOperation? Function { get; }

        /// <summary>Captured locals and parameters the scope declares, in the order first captured.</summary>
        public List<ISymbol> Variables { get; } = new();

        /// <summary>The member's body scope, when a function captures <c>this</c>.</summary>
        public bool HoldsThis { get; set; }

        /// <summary>Every lambda and local function that uses the environment.</summary>
        public List<IOperation> Closures { get; } = new();

        public bool HasEnvironment => Variables.Count > 0 || HoldsThis;

        public bool IsStruct { get; set; }

        /// <summary>Whether the environment would be a struct if no local function were converted to a delegate.</summary>
        public bool StructUnlessConverted { get; set; }
    }
}
