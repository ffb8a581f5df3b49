using System.Collections.Immutable;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Concurrency;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.SharedState;

/// <summary>
/// MSA6006. A check on a concurrent collection held in a field (<c>ContainsKey</c>, <c>TryGetValue</c>, <c>Count</c>,
/// <c>IsEmpty</c>) followed, in the branch the check selects, by an act that relies on it (an indexer write of the same
/// key, an ignored <c>TryAdd</c> of the looked-up value, an ignored <c>TryDequeue</c>/<c>TryTake</c>/<c>TryPop</c>). Each
/// call is atomic, the pair is not (see <see cref="CheckThenAct"/>).
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class CheckThenActAnalyzer : MemSafetyAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.CheckThenActOnConcurrentCollection);

    protected override void Register(AnalysisContext context) => context.RegisterCompilationStartAction(start =>
    {
        var collections = CheckThenAct.Of(start.Compilation);
        if (!collections.Exists)
            return;
        start.RegisterOperationAction(c => Analyze(c, collections), OperationKind.Conditional, OperationKind.Loop);
    });

    private static void Analyze(OperationAnalysisContext context, CheckThenAct collections)
    {
        var pair = context.Operation switch
        {
            IConditionalOperation { Type: null } statement => collections.Find(statement.Condition, statement.WhenTrue, statement.WhenFalse),
            IWhileLoopOperation { ConditionIsTop: true, ConditionIsUntil: false, Condition: { } condition } loop => collections.Find(condition, loop.Body, null),
            _ => null,
        };
        if (pair is null || InLockStatement(context.Operation))
            return;
        // In the try of a try/finally lock region (an acquire call, then a release in the finally) of the same function,
        // or in a private helper every caller of which calls it inside a lock: as inside a lock statement. Quartz's
        // RAMJobStore.AddJobNoLock, called only under a binary SemaphoreSlim, was reported wrongly in session 9.
        if (StaticCollections.VisiblyUnderALock(context.Operation, context.ContainingSymbol, context.CancellationToken))
            return;

        context.ReportDiagnostic(Diagnostic.Create(
            RuleCatalogue.CheckThenActOnConcurrentCollection,
            pair.Check.Syntax.GetLocation(),
            ImmutableArray.Create(pair.Act.Syntax.GetLocation()),
            Shorten(pair.Check.Syntax.ToString()),
            Shorten(pair.Act.Syntax.ToString()),
            Shorten(pair.Collection.Syntax.ToString()),
            Consequence(pair),
            Remedy(pair)));
    }

    /// <summary>Inside a <c>lock</c> of the same function (regions taken by a call — a <c>Monitor</c>, <c>Lock</c>,
    /// write-lock or semaphore acquire with its release in a <c>finally</c>; not a read lock, which does not serialise
    /// the pair — are <see cref="StaticCollections.VisiblyUnderALock"/>'s): the author serialises the pair (the usual double-checked
    /// registration, a fast lookup outside and the check and write again inside); whether every writer takes that lock
    /// is MSA6001's question. ReflectTypeDescriptionProvider (System.ComponentModel.TypeConverter) was reported by a first
    /// version, wrongly: every write of its dictionary is under the same lock.</summary>
    private static bool InLockStatement(IOperation operation)
    {
        for (var parent = operation.Parent; parent is not null; parent = parent.Parent)
        {
            if (parent is ILockOperation)
                return true;
            if (parent is IAnonymousFunctionOperation or ILocalFunctionOperation)
                return false;
        }

        return false;
    }

    private static string Shorten(string text) => text.Length <= 60 ? text : text.Substring(0, 57) + "...";

    private static string Consequence(CheckThenActPair pair) => pair.Kind switch
    {
        CheckThenActKind.SetAfterMissingKey => "another thread can add the key between them, and this write then replaces the value it added",
        CheckThenActKind.IgnoredTryAddAfterMissingKey => "when another thread adds the key between them, TryAdd adds nothing and this code goes on with a value that is not the one in the dictionary",
        _ => "another thread can take the last item between them, and then " + ((IInvocationOperation)pair.Act).TargetMethod.Name + " returns false and leaves its out value at the default, which this code ignores",
    };

    private static string Remedy(CheckThenActPair pair) => pair.Kind switch
    {
        CheckThenActKind.SetAfterMissingKey => "use TryAdd (or GetOrAdd), which checks and adds in one atomic call",
        CheckThenActKind.IgnoredTryAddAfterMissingKey => "use GetOrAdd, which returns the value the dictionary holds",
        _ => "test the result of " + ((IInvocationOperation)pair.Act).TargetMethod.Name + " instead",
    };
}
