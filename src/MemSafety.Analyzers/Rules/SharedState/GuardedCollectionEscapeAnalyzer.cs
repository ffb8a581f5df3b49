using System.Collections.Immutable;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Concurrency;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.SharedState;

/// <summary>
/// MSA6009. A <c>List</c>/<c>Dictionary</c>/<c>HashSet</c>/… field that the type changes inside <c>lock (L)</c> is
/// handed out from inside a <c>lock (L)</c> statement: returned, or stored where code outside the type reaches it. The
/// lock ends with the statement; the caller then reads or enumerates the collection without L while L's holders change
/// it (Error Prone's and RacerD's "guarded state escapes"). Facts per type from <see cref="LockedCollections"/>.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class GuardedCollectionEscapeAnalyzer : MemSafetyAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.GuardedCollectionEscape);

    protected override void Register(AnalysisContext context) => context.RegisterCompilationStartAction(start =>
    {
        var collections = StaticCollections.Of(start.Compilation);
        start.RegisterSymbolStartAction(symbolStart => StartType(symbolStart, collections), SymbolKind.NamedType);
    });

    private static void StartType(SymbolStartAnalysisContext context, StaticCollections collections)
    {
        if (context.Symbol is not INamedTypeSymbol { TypeKind: TypeKind.Class or TypeKind.Struct } type
            || !LockSignals.TakesLocks(type, context.CancellationToken))
        {
            return;
        }

        var facts = new LockedCollections();
        context.RegisterOperationAction(operation =>
        {
            if (SymbolEqualityComparer.Default.Equals(operation.ContainingSymbol.ContainingType, type))
                facts.Add((ILockOperation)operation.Operation, type, operation.ContainingSymbol, collections);
        }, OperationKind.Lock);
        context.RegisterSymbolEndAction(end =>
        {
            foreach (var (escape, changedIn) in facts.Resolve())
            {
                if (LockAnnotations.InNotThreadSafeInstance(escape.Field))
                    continue;
                var how = escape.Kind switch
                {
                    EscapeKind.Returned => "returns it from inside the lock",
                    EscapeKind.ReturnedThroughLocal => "copies the reference into '" + escape.Target + "', which is returned after the lock",
                    EscapeKind.StoredInParameter => "stores it into parameter '" + escape.Target + "'",
                    _ => "stores it into '" + escape.Target + "'",
                };
                end.ReportDiagnostic(Diagnostic.Create(
                    RuleCatalogue.GuardedCollectionEscape,
                    escape.At.Syntax.GetLocation(),
                    escape.Field.Name,
                    escape.Field.Type.OriginalDefinition.Name,
                    escape.LockKey.Display,
                    NonAtomicUpdateAnalyzer.MemberDisplay(changedIn),
                    how));
            }
        });
    }
}
