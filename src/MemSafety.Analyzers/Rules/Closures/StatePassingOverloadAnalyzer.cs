using System.Collections.Generic;
using System.Collections.Immutable;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Closures;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;
using Microsoft.CodeAnalysis.Text;

namespace MemSafety.Analyzers.Rules.Closures;

/// <summary>
/// MSA3001. A lambda argument that captures locals, parameters or <c>this</c>, passed to a method that has a
/// state-passing form (<see cref="StateOverloads"/>): the captured variables live in a display class (a heap object
/// allocated when their scope is entered) and the delegate is created anew each time the lambda is evaluated, where a
/// static lambda given the values as state would be one delegate, created once and cached by the compiler. The
/// decision (which overload, which lambdas, whether the captured values can travel as state without changing what the
/// lambda sees) is <see cref="StatePassingPlan"/>, which the fix follows too; where the display class is allocated comes
/// from the closure model (<see cref="ClosureFacts"/>). Census-style (two small allocations per call, worth removing
/// where the call runs often): by default in hot paths and on loop cycles (<c>memsafety.MSA3001.scope</c>,
/// <c>everywhere</c> under <c>Strict</c>), and never in code that runs once per type or per object: static
/// initialization, and constructors outside their loops and lambdas unless marked hot.
/// </summary>
[DiagnosticAnalyzer(Microsoft.CodeAnalysis.LanguageNames.CSharp)]
public sealed class StatePassingOverloadAnalyzer : MemSafetyAnalyzer
{
    /// <summary>Also read by MSA3004, which leaves such lambdas to this rule only where this rule reports them.</summary>
    internal static readonly RuleScopeOption Scope = RuleScopeOption.For(RuleIdentifiers.StatePassingOverload, RuleScope.HotPathsAndLoops);

    private static readonly SymbolDisplayFormat TypeName = new(
        typeQualificationStyle: SymbolDisplayTypeQualificationStyle.NameOnly,
        genericsOptions: SymbolDisplayGenericsOptions.None,
        miscellaneousOptions: SymbolDisplayMiscellaneousOptions.UseSpecialTypes);

    private static readonly SymbolDisplayFormat Signature = new(
        typeQualificationStyle: SymbolDisplayTypeQualificationStyle.NameOnly,
        genericsOptions: SymbolDisplayGenericsOptions.IncludeTypeParameters,
        memberOptions: SymbolDisplayMemberOptions.IncludeParameters,
        parameterOptions: SymbolDisplayParameterOptions.IncludeType | SymbolDisplayParameterOptions.IncludeParamsRefOut,
        miscellaneousOptions: SymbolDisplayMiscellaneousOptions.UseSpecialTypes | SymbolDisplayMiscellaneousOptions.IncludeNullableReferenceTypeModifier);

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.StatePassingOverload);

    protected override void Register(AnalysisContext context) => context.RegisterCompilationStartAction(start =>
    {
        var services = CompilationServices.Get(start.Compilation, start.Options);
        var overloads = services.StateOverloads;
        var hotPaths = services.HotPaths;
        start.RegisterOperationAction(operation =>
        {
            var lambda = (IAnonymousFunctionOperation)operation.Operation;
            // Shape before anything else: most lambdas are not arguments, or capture nothing (BodyFacts, inside the plan).
            if (lambda.Symbol.IsStatic || lambda.Parent is not IDelegateCreationOperation { Parent: IArgumentOperation })
                return;
            // The scope is resolved once per file; the plan's semantic work only runs for lambdas in scope. The call is
            // what repeats (a lambda is evaluated where its call's arguments are), so its loop cycle decides.
            if (lambda.Parent.Parent.Parent is not { } call)
                return;
            // The plan's first test, a cached table lookup, before the scope: "in a loop" may build the body's
            // control-flow graph (most of this rule's time on the third-party corpus), and most calls have no overload.
            var callee = call switch
            {
                IInvocationOperation invocation => invocation.TargetMethod,
                IObjectCreationOperation creation => creation.Constructor,
                _ => null,
            };
            if (callee is null || overloads.Of(callee) is null
                || !hotPaths.IsInScope(services.ScopeOf(Scope, lambda.Syntax.SyntaxTree), call, operation.ContainingSymbol))
                return;
            var plan = StatePassingPlan.For(lambda, overloads);
            if (plan is null || plan.Call.Syntax.ContainsDiagnostics || RunsOncePerObject(plan.Call, operation.ContainingSymbol, hotPaths))
                return;
            operation.ReportDiagnostic(Create(plan));
        }, OperationKind.AnonymousFunction);
    });

    /// <summary>Static initialization runs once per process, a constructor once per object (outside its loops and
    /// lambdas): registration code whose two allocations are not worth a warning, unless the constructor is marked hot.</summary>
    private static bool RunsOncePerObject(IOperation call, ISymbol containingSymbol, HotPathOracle hotPaths)
    {
        if (call.RunsOncePerType(containingSymbol))
            return true;
        return containingSymbol is IMethodSymbol { MethodKind: MethodKind.Constructor } && call.EnclosingFunctionOperation() is null
               && !call.IsExecutedPerLoopIteration() && !hotPaths.IsHot(containingSymbol);
    }

    private static Diagnostic Create(StatePassingPlan plan)
    {
        var names = new List<string>(plan.Captures.Length + 1);
        var locations = new List<Location>(plan.Captures.Length);
        foreach (var symbol in plan.Captures)
        {
            names.Add("'" + symbol.Name + "'");
            if (symbol.Locations.Length > 0 && symbol.Locations[0].IsInSource)
                locations.Add(symbol.Locations[0]);
        }

        if (plan.CapturesThis)
            names.Add("'this'");
        var several = names.Count > 1;
        var cost = plan.Captures.Length == 0
            ? "each evaluation of the lambda creates a new delegate"
            : (several ? "they live in " : "it lives in ") + DisplayClasses(plan) + ", and each evaluation of the lambda creates a new delegate";
        var overload = plan.Overload;
        var through = overload.Kind switch
        {
            StateOverloadKind.OwnState => "its argument '" + overload.Method.Parameters[overload.StateParameter].Name + "'",
            StateOverloadKind.ThreadPoolGeneric => "'" + overload.Method.ToDisplayString(Signature) + "' with preferLocal: false",
            _ => "the overload '" + overload.Method.ToDisplayString(Signature) + "'",
        };
        var callee = plan.CalledMethod.MethodKind == MethodKind.Constructor
            ? "new " + plan.CalledMethod.ContainingType.ToDisplayString(TypeName)
            : plan.CalledMethod.ContainingType.ToDisplayString(TypeName) + "." + plan.CalledMethod.Name;
        return Diagnostic.Create(
            RuleCatalogue.StatePassingOverload,
            Location.Create(plan.Reported.Syntax.SyntaxTree, HeadSpan(plan.Reported.Syntax)),
            locations,
            callee,
            MessageText.List(names),
            cost,
            several ? "them" : "it",
            through);
    }

    /// <summary>"a display class allocated at method entry (line 12), on every call", from the closure model; several
    /// when the lambdas use nested scopes' variables.</summary>
    private static string DisplayClasses(StatePassingPlan plan)
    {
        var closures = ClosureFacts.Of(plan.Reported);
        var places = new List<string>(2);
        var seen = new List<DisplayClass>(2);
        foreach (var each in plan.Lambdas)
        {
            foreach (var environment in closures.EnvironmentsOf(each.Lambda))
            {
                if (environment.IsStruct || seen.Contains(environment))
                    continue;
                seen.Add(environment);
                places.Add(environment.Where);
            }
        }

        return places.Count switch
        {
            0 => "a display class on the heap",
            1 => "a display class allocated " + places[0],
            _ => "display classes allocated " + MessageText.List(places),
        };
    }

    /// <summary>The lambda up to its arrow (<c>async (k, v) =&gt;</c>), or an anonymous method up to its parameter list:
    /// short, and enough for the fix to find the lambda.</summary>
    public static TextSpan HeadSpan(SyntaxNode lambda) => lambda switch
    {
        LambdaExpressionSyntax arrow => TextSpan.FromBounds(arrow.SpanStart, arrow.ArrowToken.Span.End),
        AnonymousMethodExpressionSyntax method => TextSpan.FromBounds(method.SpanStart, method.ParameterList?.Span.End ?? method.DelegateKeyword.Span.End),
        _ => lambda.Span,
    };
}
