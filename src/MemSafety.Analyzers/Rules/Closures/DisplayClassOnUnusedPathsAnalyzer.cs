using System.Collections.Generic;
using System.Collections.Immutable;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Bodies;
using MemSafety.Analyzers.Engines.Closures;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.Closures;

/// <summary>
/// MSA3003. The compiler allocates a display class when the scope that declares its variables is entered (for a
/// captured parameter: at method entry, on every call), not where the lambda is created. When every lambda and local
/// function using it lies in one branch that not every path runs (or after an early return), the paths that skip the
/// branch allocate it for nothing. The decision is <see cref="UnusedPathDisplayClass"/>, on the closure model
/// (<see cref="ClosureFacts"/>); reported once per display class, at the first captured variable's declaration, with
/// the other variables and the users as additional locations. Census-style (hot paths by default, everywhere under
/// <c>Strict</c>): on real code the allocation was true but mostly in cold code, not worth a change.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class DisplayClassOnUnusedPathsAnalyzer : MemSafetyAnalyzer
{
    /// <summary>Diagnostic property: the region's span ("start:length"), so the fix finds the same branch.</summary>
    public const string RegionProperty = "Region";

    /// <summary>Diagnostic property present when the copy-into-branch fix is safe.</summary>
    public const string FixableProperty = "Fixable";

    private static readonly RuleScopeOption Scope = RuleScopeOption.For(RuleIdentifiers.DisplayClassOnUnusedPaths, RuleScope.HotPaths);

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.DisplayClassOnUnusedPaths);

    protected override void Register(AnalysisContext context) => context.RegisterCompilationStartAction(start =>
    {
        var services = CompilationServices.Get(start.Compilation, start.Options);
        start.RegisterOperationAction(c =>
        {
            // The scope first: it is a per-tree option read and a per-member cached answer, before any body facts.
            var scope = services.ScopeOf(Scope, c.Operation.Syntax.SyntaxTree);
            if (!services.HotPaths.IsInScope(scope, c.Operation, c.ContainingSymbol))
                return;
            Analyze(c, services.ColdPaths);
        }, OperationKind.AnonymousFunction, OperationKind.LocalFunction);
    });

    private static void Analyze(OperationAnalysisContext context, ColdPaths coldPaths)
    {
        var function = context.Operation;
        var body = BodyFacts.Of(function);
        if (body.CapturedBy(function).Count == 0 && body.LocalFunctionsUsedBy(function).Count == 0)
            return;
        foreach (var displayClass in ClosureFacts.Of(function).EnvironmentsOf(function))
        {
            // One report per display class: from its first user.
            if (displayClass.Functions[0] != function)
                continue;
            if (UnusedPathDisplayClass.For(displayClass, body) is not { } plan)
                continue;
            if (displayClass.Scope.Parent is not null && coldPaths.IsColdOrNotRun(displayClass.Scope))
                continue;
            Report(context, plan);
        }
    }

    private static void Report(OperationAnalysisContext context, UnusedPathDisplayClass plan)
    {
        var displayClass = plan.DisplayClass;
        var tree = displayClass.Scope.Syntax.SyntaxTree;
        Location? location = null;
        var additional = new List<Location>();
        var names = new List<string>();
        foreach (var variable in displayClass.Variables)
        {
            names.Add("'" + variable.Name + "'");
            foreach (var declaration in variable.Locations)
            {
                if (declaration.SourceTree != tree)
                    continue;
                if (location is null)
                    location = declaration;
                else
                    additional.Add(declaration);
                break;
            }
        }

        if (location is null)
            return;
        if (displayClass.HoldsThis)
            names.Add("'this'");
        foreach (var user in displayClass.Functions)
            additional.Add(user.Syntax.GetLocation());

        var plural = names.Count > 1;
        var properties = ImmutableDictionary<string, string?>.Empty
            .Add(RegionProperty, plan.Region.Syntax.SpanStart + ":" + plan.Region.Syntax.Span.Length);
        if (plan.CanCopyIntoBranch)
            properties = properties.Add(FixableProperty, "true");

        context.ReportDiagnostic(Diagnostic.Create(
            RuleCatalogue.DisplayClassOnUnusedPaths,
            location,
            additional,
            properties,
            MessageText.List(names) + (plural ? " are" : " is"),
            Users(displayClass.Functions),
            RegionText(plan),
            plural ? "them" : "it",
            displayClass.Where,
            SkipText(plan)));
    }

    private static string Users(IReadOnlyList<IOperation> functions)
    {
        var lambdas = 0;
        var lines = new List<string>();
        var parts = new List<string>();
        foreach (var function in functions)
        {
            if (function is ILocalFunctionOperation localFunction)
            {
                parts.Add("local function '" + localFunction.Symbol.Name + "'");
                continue;
            }

            lambdas++;
            var line = Line(function).ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (!lines.Contains(line))
                lines.Add(line);
        }

        if (lambdas == 1)
            parts.Insert(0, "the lambda at line " + lines[0]);
        else if (lines.Count == 1)
            parts.Insert(0, "the " + lambdas.ToString(System.Globalization.CultureInfo.InvariantCulture) + " lambdas at line " + lines[0]);
        else if (lambdas > 1)
            parts.Insert(0, "the lambdas at lines " + MessageText.List(lines));
        return MessageText.List(parts);
    }

    private static string RegionText(UnusedPathDisplayClass plan)
    {
        var line = " at line " + Line(plan.Owner).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return plan.Kind switch
        {
            UnusedPathBranchKind.IfBranch => "in the 'if (" + MessageText.Quote(((IConditionalOperation)plan.Owner).Condition) + ")' branch" + line,
            UnusedPathBranchKind.ElseBranch => "in the 'else' branch of 'if (" + MessageText.Quote(((IConditionalOperation)plan.Owner).Condition) + ")'" + line,
            UnusedPathBranchKind.ConditionalExpression => "in one branch of the conditional '" + MessageText.Quote(((IConditionalOperation)plan.Owner).Condition) + " ? … : …'" + line,
            UnusedPathBranchKind.SwitchSection => "in the switch section '" + MessageText.Quote(((ISwitchCaseOperation)plan.Region).Clauses[0].Syntax) + "'" + " at line " + Line(plan.Region).ToString(System.Globalization.CultureInfo.InvariantCulture),
            UnusedPathBranchKind.CatchClause => "in the catch clause at line " + Line(plan.Region).ToString(System.Globalization.CultureInfo.InvariantCulture),
            UnusedPathBranchKind.Coalesce => "on the right of '??'" + line,
            UnusedPathBranchKind.ConditionalAnd => "on the right of '&&'" + line,
            UnusedPathBranchKind.ConditionalOr => "on the right of '||'" + line,
            UnusedPathBranchKind.ConditionalAccess => "after '?.'" + line,
            _ => "after the early return at line " + Line(plan.Owner).ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
    }

    private static string SkipText(UnusedPathDisplayClass plan) => plan.Kind switch
    {
        UnusedPathBranchKind.CatchClause => "nothing throws",
        UnusedPathBranchKind.SwitchSection => "another section runs",
        UnusedPathBranchKind.Coalesce => "the left side is not null",
        UnusedPathBranchKind.ConditionalAnd => "the left side is false",
        UnusedPathBranchKind.ConditionalOr => "the left side is true",
        UnusedPathBranchKind.ConditionalAccess => "the receiver is null",
        UnusedPathBranchKind.AfterEarlyReturn => "it returns at line " + Line(plan.Owner).ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ => "that branch does not run",
    };

    private static int Line(IOperation operation) => operation.Syntax.GetLocation().GetLineSpan().StartLinePosition.Line + 1;
}
