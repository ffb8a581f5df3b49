using System.Collections.Generic;
using System.Collections.Immutable;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Bodies;
using MemSafety.Analyzers.Engines.Closures;
using MemSafety.Analyzers.Engines.Escape;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.Closures;

/// <summary>
/// MSA3006. Every lambda of a scope shares that scope's display class, and a delegate references the whole object:
/// a delegate that outlives the method keeps alive every variable of its display class (and of the display classes it
/// points to), also a large one that only another lambda captured. The decision is <see cref="ImplicitCapture"/>, on
/// the closure model (<see cref="ClosureFacts"/>) and the escape engine (where the delegate goes); reported at the
/// long-lived lambda (or the local function's conversion), with the variable's declaration, the lambda that captures
/// it and the sink as additional locations.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class ImplicitCaptureKeepsAliveAnalyzer : MemSafetyAnalyzer
{
    /// <summary>Diagnostic property: the span ("start:length") of the statement the fix wraps; absent when no fix.</summary>
    public const string StatementProperty = "Statement";

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.ImplicitCaptureKeepsAlive);

    protected override void Register(AnalysisContext context) => context.RegisterCompilationStartAction(start =>
    {
        var services = CompilationServices.Get(start.Compilation, start.Options);
        start.RegisterOperationAction(c => Analyze(c, services.Summaries), OperationKind.DelegateCreation);
    });

    private static void Analyze(OperationAnalysisContext context, ParameterSummaries summaries)
    {
        var creation = (IDelegateCreationOperation)context.Operation;
        IOperation keeper;
        switch (creation.Target)
        {
            case IAnonymousFunctionOperation lambda:
                keeper = lambda;
                break;
            case IMethodReferenceOperation { Method.MethodKind: MethodKind.LocalFunction } reference:
                if (FindLocalFunction(BodyFacts.Of(creation), reference.Method) is not { } localFunction)
                    return;
                keeper = localFunction;
                break;
            default:
                return;
        }

        var body = BodyFacts.Of(creation);
        if (body.CapturedBy(keeper).Count == 0 && body.LocalFunctionsUsedBy(keeper).Count == 0)
            return;
        var closures = ClosureFacts.Of(creation);
        if (closures.EnvironmentsOf(keeper).Count == 0)
            return;
        var findings = ImplicitCapture.For(creation, keeper, closures, body, EscapeEngine.ForBodyOf(creation, summaries, context.CancellationToken));
        if (findings is null)
            return;
        foreach (var finding in findings)
            Report(context, finding, body);
    }

    private static ILocalFunctionOperation? FindLocalFunction(BodyFacts body, IMethodSymbol method)
    {
        foreach (var function in body.Functions)
        {
            if (function is ILocalFunctionOperation local && SymbolEqualityComparer.Default.Equals(local.Symbol.OriginalDefinition, method.OriginalDefinition))
                return local;
        }

        return null;
    }

    private static void Report(OperationAnalysisContext context, ImplicitCapture finding, BodyFacts body)
    {
        var additional = new List<Location>();
        if (!finding.KeepsThis)
        {
            foreach (var declaration in finding.Variable.Locations)
            {
                if (declaration.IsInSource)
                {
                    additional.Add(declaration);
                    break;
                }
            }
        }

        additional.Add(finding.Capturer.Syntax.GetLocation());
        if (finding.SinkOperation is { } sink)
            additional.Add(sink.Syntax.GetLocation());

        var location = finding.Keeper is IAnonymousFunctionOperation ? finding.Keeper.Syntax.GetLocation() : finding.DelegateValue.Syntax.GetLocation();
        var type = finding.Variable switch
        {
            ILocalSymbol local => local.Type,
            IParameterSymbol parameter => parameter.Type,
            ITypeSymbol containingType when finding.KeepsThis => containingType,
            _ => null,
        };
        var name = finding.KeepsThis ? "this" : finding.Variable.Name;
        var what = finding.Keeper is ILocalFunctionOperation localFunction
            ? "delegate of local function '" + localFunction.Symbol.Name + "'"
            : "lambda";
        var properties = finding.IsolatableStatement is { } statement
            ? ImmutableDictionary<string, string?>.Empty.Add(StatementProperty, statement.Syntax.SpanStart + ":" + statement.Syntax.Span.Length)
            : ImmutableDictionary<string, string?>.Empty;
        context.ReportDiagnostic(Diagnostic.Create(
            RuleCatalogue.ImplicitCaptureKeepsAlive,
            location,
            additional,
            properties,
            what,
            finding.Sink,
            "'" + name + "' (" + type?.WithNullableAnnotation(NullableAnnotation.None).ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat) + ")",
            "'" + name + "'",
            finding.DisplayClass.Where,
            Describe(finding.Capturer)));
    }

    private static string Describe(IOperation function)
        => function is ILocalFunctionOperation local
            ? "local function '" + local.Symbol.Name + "'"
            : "the lambda at line " + (function.Syntax.GetLocation().GetLineSpan().StartLinePosition.Line + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
}
