using System.Collections.Generic;
using System.Collections.Immutable;
using System.Text;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Bodies;
using MemSafety.Analyzers.Engines.Closures;
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
/// heap (<see cref="ClosureFacts"/>): not when a lambda, an async or an iterator function already forces a
/// class, and not when the local function captures nothing or only <c>this</c> (no environment; the delegate alone
/// is MSA3004's concern). Census-style (hot paths by default, everywhere under <c>Strict</c>): on real code the
/// conversions were true but in once-per-type setup, not worth a change.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class CapturingLocalFunctionAsDelegateAnalyzer : MemSafetyAnalyzer
{
    private static readonly RuleScopeOption Scope = RuleScopeOption.For(RuleIdentifiers.CapturingLocalFunctionAsDelegate, RuleScope.HotPaths);

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.CapturingLocalFunctionAsDelegate);

    protected override void Register(AnalysisContext context) => context.RegisterCompilationStartAction(start =>
    {
        var services = CompilationServices.Get(start.Compilation, start.Options);
        start.RegisterOperationAction(c => Analyze(c, services), OperationKind.DelegateCreation);
    });

    private static void Analyze(OperationAnalysisContext context, CompilationServices services)
    {
        var creation = (IDelegateCreationOperation)context.Operation;

        // A static local function cannot capture; a non-capturing one has no environment to move.
        if (creation.Target is not IMethodReferenceOperation { Method: { MethodKind: MethodKind.LocalFunction, IsStatic: false } method })
            return;
        if (!services.HotPaths.IsInScope(services.ScopeOf(Scope, creation.Syntax.SyntaxTree), creation, context.ContainingSymbol))
            return;
        var facts = BodyFacts.Of(creation);
        var localFunction = Declaration(facts, method.OriginalDefinition);
        if (localFunction is null
            || facts.CapturedBy(localFunction).Count == 0 && facts.LocalFunctionsUsedBy(localFunction).Count == 0
            || creation.Syntax.ContainsDiagnostics)
        {
            return;
        }

        var moved = MovedToTheHeap(ClosureFacts.Of(creation), localFunction, facts, context.ContainingSymbol);
        if (moved is null)
            return;

        context.ReportDiagnostic(Diagnostic.Create(
            RuleCatalogue.CapturingLocalFunctionAsDelegate,
            creation.Syntax.GetLocation(),
            AdditionalLocations(moved),
            method.Name,
            Explain(moved)));
    }

    /// <summary>The display classes the local function uses that are classes only because local functions are
    /// converted to delegates: no lambda, async or iterator function uses them (those need a class anyway), and they
    /// hold more than <c>this</c>. Null when the conversion moves nothing to the heap.</summary>
    private static List<DisplayClass>? MovedToTheHeap(ClosureFacts closures, ILocalFunctionOperation localFunction, BodyFacts facts, ISymbol member)
    {
        // In a variant interface the compiler always uses classes (the runtime may reject a struct-taking method there).
        if (member.ContainingType is { TypeKind: TypeKind.Interface } type && HasVariance(type))
            return null;

        List<DisplayClass>? moved = null;
        foreach (var displayClass in closures.EnvironmentsOf(localFunction))
        {
            if (displayClass.IsStruct || displayClass.Variables.Count == 0 || !StructUnlessConverted(displayClass, facts) || HoldsUncapturable(displayClass))
                continue;
            (moved ??= new List<DisplayClass>()).Add(displayClass);
        }

        return moved;
    }

    /// <summary>Ref locals, ref parameters and ref struct values cannot be captured: such code is in error (CS8175,
    /// CS1628, CS8350) and the compiler emits nothing for it.</summary>
    private static bool HoldsUncapturable(DisplayClass displayClass)
    {
        foreach (var variable in displayClass.Variables)
        {
            if (variable is ILocalSymbol { IsRef: true } or ILocalSymbol { Type.IsRefLikeType: true }
                or IParameterSymbol { RefKind: not RefKind.None } or IParameterSymbol { Type.IsRefLikeType: true })
            {
                return true;
            }
        }

        return false;
    }

    private static bool StructUnlessConverted(DisplayClass displayClass, BodyFacts facts)
    {
        foreach (var user in displayClass.Functions)
        {
            if (user is not ILocalFunctionOperation other || other.Symbol.IsAsync || facts.IsIterator(user))
                return false;
        }

        return true;
    }

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
    /// display class.</summary>
    private static string Explain(List<DisplayClass> moved)
    {
        var text = new StringBuilder();
        var names = new List<string>();
        foreach (var displayClass in moved)
        {
            names.Clear();
            foreach (var variable in displayClass.Variables)
                names.Add("'" + variable.Name + "'");
            if (displayClass.HoldsThis)
                names.Add("'this'");
            if (text.Length > 0)
                text.Append("; ");
            text.Append(MessageText.List(names)).Append(" into a display class allocated ").Append(displayClass.Where);
        }

        return text.ToString();
    }

    private static IEnumerable<Location> AdditionalLocations(List<DisplayClass> moved)
    {
        var locations = new List<Location>();
        foreach (var displayClass in moved)
        {
            foreach (var variable in displayClass.Variables)
            {
                if (variable.Locations.Length > 0 && variable.Locations[0].IsInSource)
                    locations.Add(variable.Locations[0]);
            }
        }

        return locations;
    }
}
