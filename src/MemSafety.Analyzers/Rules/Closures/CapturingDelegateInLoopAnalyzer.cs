using System.Collections.Generic;
using System.Collections.Immutable;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.ControlFlow;
using MemSafety.Analyzers.Engines.Escape;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.Closures;

/// <summary>
/// MSA3002. A capturing lambda on a loop cycle that allocates on every iteration (see <see cref="LoopClosure"/>): a new
/// display class and delegate because what it captures is declared in the loop (reported when the delegate does not
/// outlive the call that receives it: a plain loop there would allocate neither), or a new delegate over one display
/// class because the compiler does not cache it (fixed by creating it once before the loop when nothing it captures
/// changes there). Lambdas whose delegate the compiler caches in their display class are not reported: a loop alone
/// does not make a capturing lambda allocate per iteration.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class CapturingDelegateInLoopAnalyzer : MemSafetyAnalyzer
{
    /// <summary>Diagnostic property set when the delegate can be created once before the loop (the fix's offer).</summary>
    public const string HoistProperty = "Hoist";

    private static readonly RuleScopeOption Scope = RuleScopeOption.For(RuleIdentifiers.CapturingDelegateInLoop, RuleScope.HotPaths);

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.CapturingDelegateInLoop);

    protected override void Register(AnalysisContext context) => context.RegisterCompilationStartAction(start =>
    {
        var services = CompilationServices.Get(start.Compilation, start.Options);
        start.RegisterOperationAction(operation => Analyze(operation, services), OperationKind.DelegateCreation);
    });

    private static void Analyze(OperationAnalysisContext context, CompilationServices services)
    {
        var creation = (IDelegateCreationOperation)context.Operation;

        // Cheap shape first: a non-static lambda converted to a delegate (not an expression tree), inside a loop statement.
        if (creation.Target is not IAnonymousFunctionOperation { Symbol.IsStatic: false } lambda || creation.Type?.TypeKind != TypeKind.Delegate
            || !LoopCycles.InsideLoopStatement(creation) || lambda.Syntax.ContainsDiagnostics)
        {
            return;
        }

        var oracle = services.HotPaths;
        if (!oracle.IsInScope(services.ScopeOf(Scope, creation.Syntax.SyntaxTree), creation, context.ContainingSymbol)
            || OneTimeCode.IsOneTime(context.ContainingSymbol, oracle) || services.ColdPaths.IsColdOrNotRun(creation))
        {
            return;
        }

        if (LoopClosure.Analyze(creation) is not { } closure)
            return;

        string allocation, advice;
        var delegateType = creation.Type.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat);
        var properties = ImmutableDictionary<string, string?>.Empty;
        if (closure.Kind == LoopClosureKind.DisplayClassPerIteration)
        {
            // Avoidable only when the delegate dies with the call that receives it, and no other function needs the
            // iteration's display class.
            if (creation.Parent is not IArgumentOperation { Parent: IInvocationOperation call }
                || closure.SharesIterationDisplayClass(lambda)
                || EscapeEngine.ForBodyOf(creation, services.Summaries, context.CancellationToken).Analyze(creation).Escapes)
            {
                return;
            }

            var variables = Names(closure.PerIterationVariables, capturesThis: false);
            allocation = $"a new display class for {variables} and a new '{delegateType}' delegate";
            advice = $"{variables} {(closure.PerIterationVariables.Count == 1 ? "is" : "are")} declared in the loop: its display class is allocated " +
                     $"{closure.DisplayClass.Where}; the delegate does not outlive its call to '{call.TargetMethod.Name}', so a plain loop there would allocate neither";
        }
        else
        {
            allocation = $"a new '{delegateType}' delegate";
            if (closure.HoistBefore is not null)
            {
                advice = $"its display class is allocated {closure.DisplayClass.Where}, outside the loop, and nothing it captures changes there: create the delegate once before the loop";
                properties = properties.Add(HoistProperty, "true");
            }
            else
            {
                advice = $"its display class is allocated {closure.DisplayClass.Where}, outside the loop, so one delegate created before the loop would serve every iteration " +
                         $"('{closure.ChangedInLoop?.Name}' is assigned in the loop: it must have its value there too)";
            }
        }

        var additional = new List<Location> { (closure.HoistBefore ?? closure.Loop).Syntax.GetLocation() };
        foreach (var variable in closure.Captures)
        {
            if (variable.Locations.Length > 0 && variable.Locations[0].IsInSource)
                additional.Add(variable.Locations[0]);
        }

        context.ReportDiagnostic(Diagnostic.Create(
            RuleCatalogue.CapturingDelegateInLoop,
            lambda.Syntax.GetLocation(),
            additional,
            properties,
            Names(closure.Captures, closure.CapturesThis),
            allocation,
            LoopKeyword(closure.Loop),
            advice));
    }

    /// <summary>"'a'", "'a' and 'this'", "'a', 'b' and 'c'".</summary>
    internal static string Names(IReadOnlyList<ISymbol> variables, bool capturesThis)
    {
        var names = new List<string>(variables.Count + 1);
        foreach (var variable in variables)
            names.Add("'" + variable.Name + "'");
        if (capturesThis)
            names.Add("'this'");
        return MessageText.List(names);
    }

    internal static string LoopKeyword(ILoopOperation loop) => loop.Syntax switch
    {
        ForStatementSyntax => "for",
        CommonForEachStatementSyntax => "foreach",
        DoStatementSyntax => "do",
        _ => "while",
    };
}

/// <summary>Code that runs once per object or per process, where a closure allocation is not worth a change unless the
/// member is marked hot: constructors, static constructors, field and property initializers, <c>Main</c> and top-level
/// statements.</summary>
internal static class OneTimeCode
{
    public static bool IsOneTime(ISymbol containingSymbol, HotPathOracle oracle)
    {
        var oneTime = containingSymbol switch
        {
            IMethodSymbol { MethodKind: MethodKind.Constructor or MethodKind.StaticConstructor } => true,
            IMethodSymbol { IsStatic: true, Name: "Main" or "<Main>$" } => true,
            IMethodSymbol => false,
            _ => true,
        };
        return oneTime && !oracle.IsHot(containingSymbol);
    }
}
