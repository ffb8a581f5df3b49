using System.Collections.Immutable;
using MemSafety.Analyzers.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.Boxing;

/// <summary>
/// MSA2002. <c>string.Format("{0:N2}", total)</c>, <c>Console.WriteLine("{0}", count)</c>,
/// <c>sb.AppendFormat("{0}", x)</c>, <c>writer.Write("{0}", x)</c>, <c>string.Concat(a, b)</c>: each value-type
/// argument is boxed to <c>object</c> (plus a <c>params object[]</c> past three). Where the compilation has
/// <c>DefaultInterpolatedStringHandler</c> (net6.0+), an interpolated string formats the same values through
/// the generic <c>AppendFormatted&lt;T&gt;</c> without boxing. Reported per boxed argument; only for
/// value types the handler formats without boxing (see <see cref="CompositeFormatting"/>). Not on error paths
/// (<see cref="ColdPaths"/>).
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class CompositeFormattingAnalyzer : MemSafetyAnalyzer
{
    private static readonly RuleScopeOption Scope = RuleScopeOption.For(RuleIdentifiers.CompositeFormatting, RuleScope.HotPaths);

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.CompositeFormatting);

    protected override void Register(AnalysisContext context) => context.RegisterCompilationStartAction(start =>
    {
        // Nothing is looked up before a call by one of the names: the compilation's first type lookups load the namespace
        // tables of every referenced assembly, which the compiler does anyway while binding. Asked at compilation start,
        // before any binding, that load was paid here (most of this rule's time on the benchmark page), and also in
        // compilations that never call string.Format.
        var compilation = start.Compilation;
        var services = CompilationServices.Get(compilation, start.Options);
        var lookup = new System.Lazy<CompositeFormattingSymbols?>(() => CompositeFormattingSymbols.Create(compilation));
        start.RegisterOperationAction(operation =>
        {
            var invocation = (IInvocationOperation)operation.Operation;
            if (!CompositeFormatting.IsCandidateName(invocation.TargetMethod) || invocation.Syntax.ContainsDiagnostics)
                return;
            // Without the handler an interpolated string lowers to string.Format and boxes just the same.
            if (lookup.Value is not { } symbols)
                return;
            var oracle = services.HotPaths;
            var cold = services.ColdPaths;
            var tree = invocation.Syntax.SyntaxTree;
            var scope = services.ScopeOf(Scope, tree);
            // An error message is formatted once per failure: `throw new X(string.Format(…, count))` is not a
            // repeated allocation, whatever loop or hot path it sits in.
            if (!oracle.IsInScope(scope, invocation, operation.ContainingSymbol) || cold.IsColdOrNotRun(invocation))
                return;
            var version = tree.Options is CSharpParseOptions parse ? parse.LanguageVersion : LanguageVersion.Latest;
            var call = CompositeFormatting.Analyze(invocation, symbols, version);
            if (call is null)
                return;
            var api = call.ApiName;
            var frequency = MessageText.Frequency(invocation, operation.ContainingSymbol, oracle);
            foreach (var boxed in call.Boxed)
            {
                var operand = boxed.Conversion.Operand;
                operation.ReportDiagnostic(Diagnostic.Create(
                    RuleCatalogue.CompositeFormatting,
                    operand.Syntax.GetLocation(),
                    MessageText.Quote(operand),
                    operand.Type!.ToDisplayString(SymbolDisplayFormat.CSharpShortErrorMessageFormat),
                    api,
                    frequency));
            }
        }, OperationKind.Invocation);
    });
}
