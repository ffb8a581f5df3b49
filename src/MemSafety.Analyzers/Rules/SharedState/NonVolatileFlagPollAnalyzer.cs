using System.Collections.Immutable;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Concurrency;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.SharedState;

/// <summary>
/// MSA6008. A loop that waits for a field another member (or a lambda) sets, reading it plainly, with nothing in the loop
/// that orders one iteration's read after the last: the memory model lets the JIT read the field once, and the JIT's
/// optimizing tiers do (see <see cref="FlagPolls"/>). A loop can only end on such a read because another thread wrote
/// the field, so no concurrency gate is needed: the poll is the signal.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class NonVolatileFlagPollAnalyzer : MemSafetyAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.NonVolatileFlagPoll);

    protected override void Register(AnalysisContext context) => context.RegisterOperationAction(Analyze, OperationKind.Loop);

    private static void Analyze(OperationAnalysisContext context)
    {
        var loop = (ILoopOperation)context.Operation;
        if (loop.LoopKind is not (LoopKind.While or LoopKind.For) || FlagPolls.Collect(loop) is not { } polls)
            return;
        foreach (var poll in polls)
        {
            if (FlagPolls.FindWriterElsewhere(poll.Field, loop, context.Compilation, context.CancellationToken) is not { } writer)
                continue;
            context.ReportDiagnostic(Diagnostic.Create(
                RuleCatalogue.NonVolatileFlagPoll,
                poll.Read.Syntax.GetLocation(),
                ImmutableArray.Create(writer.Write.GetLocation()),
                poll.Field.Name,
                writer.Description));
        }
    }
}
