using System.Collections.Generic;
using System.Collections.Immutable;
using System.Text;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Bodies;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.Closures;

/// <summary>
/// MSA3005. The compiler keeps the variables that local functions capture in a struct on the stack, passed to them
/// by <c>ref</c>, as long as every function that uses that environment is a local function called directly. One
/// conversion of such a local function to a delegate (an argument, an assignment, a return, <c>new Action(Local)</c>)
/// turns the environment into a class: allocated on the heap where its scope begins (on every call, or every
/// iteration for a loop body), whether or not the conversion runs, and used by the direct calls too; the conversion
/// itself allocates a delegate each time. Reported at the conversion when it is what moves an environment to the
/// heap (<see cref="LocalFunctionClosures"/>): not when a lambda, an async or an iterator function already forces a
/// class, and not when the local function captures nothing or only <c>this</c> (no environment; the delegate alone
/// is MSA3004's concern).
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class CapturingLocalFunctionAsDelegateAnalyzer : MemSafetyAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.CapturingLocalFunctionAsDelegate);

    protected override void Register(AnalysisContext context) => context.RegisterCompilationStartAction(start =>
    {
        var release = start.Compilation.Options.OptimizationLevel == OptimizationLevel.Release;
        start.RegisterOperationAction(operation => Analyze(operation, release), OperationKind.DelegateCreation);
    });

    private static void Analyze(OperationAnalysisContext context, bool release)
    {
        var creation = (IDelegateCreationOperation)context.Operation;

        // A static local function cannot capture; a non-capturing one has no environment to move.
        if (creation.Target is not IMethodReferenceOperation { Method: { MethodKind: MethodKind.LocalFunction, IsStatic: false } method })
            return;
        var facts = BodyFacts.Of(creation);
        var localFunction = Declaration(facts, method.OriginalDefinition);
        if (localFunction is null
            || facts.CapturedBy(localFunction).Count == 0 && facts.LocalFunctionsUsedBy(localFunction).Count == 0
            || creation.Syntax.ContainsDiagnostics)
        {
            return;
        }

        var closures = LocalFunctionClosures.Of(creation, context.ContainingSymbol, release);
        var moved = closures.ScopesMovedToTheHeap(localFunction);
        if (moved.Count == 0)
            return;

        context.ReportDiagnostic(Diagnostic.Create(
            RuleCatalogue.CapturingLocalFunctionAsDelegate,
            creation.Syntax.GetLocation(),
            AdditionalLocations(moved),
            method.Name,
            Explain(closures, moved)));
    }

    private static ILocalFunctionOperation? Declaration(BodyFacts facts, IMethodSymbol method)
    {
        foreach (var function in facts.Functions)
        {
            if (function is ILocalFunctionOperation localFunction && SymbolEqualityComparer.Default.Equals(localFunction.Symbol, method))
                return localFunction;
        }

        return null;
    }

    /// <summary>"'x' and 'y' into a display class allocated at method entry (line 3), on every call", one clause per
    /// place of allocation (a Release build merges some environments into one).</summary>
    private static string Explain(LocalFunctionClosures closures, IReadOnlyList<LocalFunctionClosures.Scope> moved)
    {
        var places = new List<string>();
        var names = new List<List<string>>();
        foreach (var scope in moved)
        {
            var place = Where(closures.AllocationScopeOf(scope));
            var index = places.IndexOf(place);
            if (index < 0)
            {
                places.Add(place);
                names.Add(new List<string>());
                index = places.Count - 1;
            }

            foreach (var variable in scope.Variables)
                names[index].Add("'" + variable.Name + "'");
            if (scope.HoldsThis)
                names[index].Add("'this'");
        }

        var text = new StringBuilder();
        for (var i = 0; i < places.Count; i++)
        {
            if (i > 0)
                text.Append("; ");
            text.Append(MessageText.List(names[i])).Append(" into a display class allocated ").Append(places[i]);
        }

        return text.ToString();
    }

    private static string Where(LocalFunctionClosures.Scope scope)
    {
        var operation = scope.Operation;
        switch (scope.Kind)
        {
            case LocalFunctionClosures.ScopeKind.FunctionBody:
                return scope.Function switch
                {
                    ILocalFunctionOperation localFunction => $"at the start of local function '{localFunction.Symbol.Name}' (line {Line(operation)}), on every call of it",
                    IAnonymousFunctionOperation => $"at the start of the lambda at line {Line(operation)}, on every call of it",
                    _ => $"at method entry (line {Line(operation)}), on every call",
                };
            case LocalFunctionClosures.ScopeKind.LoopBody:
                return $"at the start of every iteration of the loop at line {Line(LoopOf(operation))}";
            case LocalFunctionClosures.ScopeKind.LoopHeader:
                return $"before the loop at line {Line(operation)}" + (operation.IsExecutedPerLoopIteration() ? ", on every iteration of the loop around it" : "");
            default:
                return $"where the block at line {Line(operation)} begins" + (operation.IsExecutedPerLoopIteration() ? ", on every iteration" : "");
        }
    }

    private static IOperation LoopOf(IOperation scope) => scope is IBlockOperation { Parent: ILoopOperation loop } ? loop : scope;

    private static int Line(IOperation operation)
    {
        var syntax = operation.Syntax;
        if (operation.Parent is null && syntax is Microsoft.CodeAnalysis.CSharp.Syntax.BaseMethodDeclarationSyntax method)
            syntax = (SyntaxNode?)method.Body ?? method.ExpressionBody ?? syntax;
        else if (operation.Parent is null && syntax is Microsoft.CodeAnalysis.CSharp.Syntax.AccessorDeclarationSyntax accessor)
            syntax = (SyntaxNode?)accessor.Body ?? accessor.ExpressionBody ?? syntax;
        return syntax.GetLocation().GetLineSpan().StartLinePosition.Line + 1;
    }

    private static IEnumerable<Location> AdditionalLocations(IReadOnlyList<LocalFunctionClosures.Scope> moved)
    {
        var locations = new List<Location>();
        foreach (var scope in moved)
        {
            foreach (var variable in scope.Variables)
            {
                if (variable.Locations.Length > 0 && variable.Locations[0].IsInSource)
                    locations.Add(variable.Locations[0]);
            }
        }

        return locations;
    }
}
