using System.Collections.Generic;
using System.Collections.Immutable;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Concurrency;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.SharedState;

/// <summary>
/// MSA6100, MSA6101, MSA6102: the opt-in lock annotations (<see cref="LockAnnotations"/>), checked as Clang's Thread
/// Safety Analysis and Error Prone's <c>@GuardedBy</c> check them. A <c>[GuardedBy]</c> field is accessed only while
/// its lock is held (reads in shared or exclusive mode, writes exclusive); a <c>[RequiresLock]</c> method is called
/// only while its lock is held, and its body is analysed as holding it; a guard must name a lock that can guard the
/// member. The locks held at each access come from the lockset engine (<see cref="BodyLocks"/>): constructors are
/// exempt, lambdas and local functions start with no lock held, nothing is inferred from callers (a helper says
/// what it needs with <c>[RequiresLock]</c>), and a lock the engine cannot name (another object's, a local's) is not
/// the declared one, as in Clang, which checks the lock expression. Only annotated types are analysed, so the rules cost nothing elsewhere.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class LockAnnotationAnalyzer : MemSafetyAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(
        RuleCatalogue.GuardedFieldWithoutLock, RuleCatalogue.CallWithoutRequiredLock, RuleCatalogue.InvalidLockGuard);

    protected override void Register(AnalysisContext context) => context.RegisterCompilationStartAction(start =>
    {
        var types = ConcurrencyTypes.Of(start.Compilation);
        var elsewhere = RequiredLocks.For(start.Compilation, types);
        var signals = new LockSignals();
        start.RegisterSymbolStartAction(symbolStart => StartType(symbolStart, types, elsewhere, signals), SymbolKind.NamedType);
    });

    private static void StartType(SymbolStartAnalysisContext context, ConcurrencyTypes types, RequiredLocks? elsewhere, LockSignals signals)
    {
        if (context.Symbol is not INamedTypeSymbol { TypeKind: TypeKind.Class or TypeKind.Struct } type)
            return;
        var guards = LockAnnotations.Of(type, types);
        if (guards is null)
        {
            // Calls from this type of other types' [RequiresLock] methods (MSA6101 only).
            if (elsewhere is not null)
                context.RegisterOperationBlockAction(block => CheckCallsElsewhere(block, type, types, elsewhere, signals));
            return;
        }

        var guardedFields = new Dictionary<IFieldSymbol, DeclaredGuard>(SymbolEqualityComparer.Default);
        var requiring = new Dictionary<IMethodSymbol, DeclaredGuard>(SymbolEqualityComparer.Default);
        var guardedProperties = new Dictionary<IPropertySymbol, DeclaredGuard>(SymbolEqualityComparer.Default);
        foreach (var guard in guards)
        {
            if (guard.Invalid is not null)
                continue;
            if (guard.Member is IFieldSymbol field)
                guardedFields[(IFieldSymbol)field.OriginalDefinition] = guard;
            else if (guard.Member is IMethodSymbol method)
                requiring[(IMethodSymbol)method.OriginalDefinition] = guard;
            else if (guard.Member is IPropertySymbol property)
                guardedProperties[(IPropertySymbol)property.OriginalDefinition] = guard;
        }

        System.Func<IMethodSymbol, DeclaredGuard?> guardOf = callee => requiring.TryGetValue(callee, out var own) ? own
            : elsewhere is not null && !SymbolEqualityComparer.Default.Equals(callee.ContainingType, type) ? elsewhere.Of(callee) : null;
        context.RegisterOperationBlockAction(block =>
        {
            if (!SymbolEqualityComparer.Default.Equals(block.OwningSymbol.ContainingType, type)
                || block.OwningSymbol is not IMethodSymbol method
                || LockAnnotations.IsThreadConfined(method))
            {
                return;
            }

            var boundary = BodyLocks.EntryLocks(method, type, types);
            if (requiring.TryGetValue((IMethodSymbol)method.OriginalDefinition, out var required))
                boundary = boundary.Acquire(required.Key, LockMode.Exclusive, LockFlavor.Monitor);
            // A [GuardedBy] property's accessors run while their caller holds the lock: a getter at least shared (a read
            // lock is enough to read it), a setter exclusively.
            if (method.AssociatedSymbol is IPropertySymbol accessed && guardedProperties.TryGetValue((IPropertySymbol)accessed.OriginalDefinition, out var propertyGuard))
                boundary = boundary.Acquire(propertyGuard.Key, method.MethodKind == MethodKind.PropertyGet ? LockMode.Shared : LockMode.Exclusive, LockFlavor.Monitor);
            foreach (var operation in block.OperationBlocks)
            {
                if (operation is not (IBlockOperation or IMethodBodyBaseOperation))
                    continue;
                var graph = block.GetControlFlowGraph(operation);
                var body = BodyLocks.Analyze(graph, type, method, boundary, types, signals.IsBinarySemaphore, block.CancellationToken,
                    requiring.Count == 0 && elsewhere is null ? null : callee => guardOf(callee) is not null, enterEveryFunction: true,
                    guardedProperties.Count == 0 ? null : property => guardedProperties.ContainsKey(property));
                ReportAccesses(block, body, guardedFields, types);
                ReportPropertyUses(block, body, guardedProperties, types);
                ReportCalls(block, type, body, guardOf, types);
                break;
            }
        });
        context.RegisterSymbolEndAction(end =>
        {
            foreach (var guard in guards)
            {
                if (guard.Invalid is { } why)
                    end.ReportDiagnostic(Diagnostic.Create(RuleCatalogue.InvalidLockGuard, guard.Location, guard.AttributeName, guard.LockName, guard.Member.Name, why));
            }
        });
    }

    private static void ReportAccesses(OperationBlockAnalysisContext context, BodyLocks body, Dictionary<IFieldSymbol, DeclaredGuard> guarded, ConcurrencyTypes types)
    {
        if (guarded.Count == 0)
            return;
        foreach (var access in body.Accesses)
        {
            if (!guarded.TryGetValue(access.Field, out var guard))
                continue;
            var write = access.IsWrite || access.Kind == FieldAccessKind.Atomic && access.Member != "Read";
            if (access.Held.Holds(guard.Key, exclusive: write))
                continue;
            var what = access.Kind switch
            {
                FieldAccessKind.Write => "writes",
                FieldAccessKind.Update => "updates",
                FieldAccessKind.CollectionWrite => "changes",
                FieldAccessKind.Atomic when write => "updates",
                _ => "reads",
            };
            var missing = write && access.Held.Holds(guard.Key, exclusive: false)
                ? "'" + guard.LockName + "' exclusively (it holds only the read lock, and writes need the write lock)"
                : "'" + guard.LockName + "'";
            if (access.InNestedFunction)
                missing += " (a lambda or local function starts with no lock held: it may run later, on another thread)";
            var (additional, properties) = FixData(access.Operation.Syntax, guard, types, readLockHeld: access.Held.Holds(guard.Key, exclusive: false));
            context.ReportDiagnostic(Diagnostic.Create(RuleCatalogue.GuardedFieldWithoutLock, access.Operation.Syntax.GetLocation(), additional, properties,
                access.Field.Name, guard.LockName, what, missing));
        }
    }

    private static void ReportPropertyUses(OperationBlockAnalysisContext context, BodyLocks body, Dictionary<IPropertySymbol, DeclaredGuard> guarded, ConcurrencyTypes types)
    {
        foreach (var (use, held, write) in body.RecordedPropertyUses)
        {
            var guard = guarded[use.Property.OriginalDefinition];
            if (held.Holds(guard.Key, exclusive: write))
                continue;
            var missing = write && held.Holds(guard.Key, exclusive: false)
                ? "'" + guard.LockName + "' exclusively (it holds only the read lock, and writes need the write lock)"
                : "'" + guard.LockName + "'";
            var (additional, properties) = FixData(use.Syntax, guard, types, readLockHeld: held.Holds(guard.Key, exclusive: false));
            context.ReportDiagnostic(Diagnostic.Create(RuleCatalogue.GuardedFieldWithoutLock, use.Syntax.GetLocation(), additional, properties,
                use.Property.Name, guard.LockName, write ? "writes" : "reads", missing));
        }
    }

    /// <summary>MSA6101 in a type that declares no guards: only where its body calls another type's <c>[RequiresLock]</c>
    /// method (one walk of the operation tree decides; the lockset analysis runs only then).</summary>
    private static void CheckCallsElsewhere(OperationBlockAnalysisContext block, INamedTypeSymbol type, ConcurrencyTypes types, RequiredLocks elsewhere, LockSignals signals)
    {
        if (!SymbolEqualityComparer.Default.Equals(block.OwningSymbol.ContainingType, type)
            || block.OwningSymbol is not IMethodSymbol method
            || LockAnnotations.IsThreadConfined(method))
        {
            return;
        }

        foreach (var operation in block.OperationBlocks)
        {
            if (operation is not (IBlockOperation or IMethodBodyBaseOperation) || !CallsRequiring(operation, elsewhere))
                continue;
            var graph = block.GetControlFlowGraph(operation);
            var body = BodyLocks.Analyze(graph, type, method, BodyLocks.EntryLocks(method, type, types), types, signals.IsBinarySemaphore,
                block.CancellationToken, callee => elsewhere.Of(callee) is not null, enterEveryFunction: true);
            ReportCalls(block, type, body, elsewhere.Of, types);
            break;
        }
    }

    private static bool CallsRequiring(IOperation body, RequiredLocks elsewhere)
    {
        foreach (var node in body.Descendants())
        {
            if (node is IInvocationOperation invocation && elsewhere.Of(invocation.TargetMethod.OriginalDefinition) is not null)
                return true;
        }

        return false;
    }

    private static void ReportCalls(OperationBlockAnalysisContext context, INamedTypeSymbol caller, BodyLocks body, System.Func<IMethodSymbol, DeclaredGuard?> guardOf, ConcurrencyTypes types)
    {
        foreach (var (call, held) in body.RecordedCalls)
        {
            if (guardOf(call.TargetMethod.OriginalDefinition) is not { } guard)
                continue;
            // The lock is the one of the instance the call is on (Clang's REQUIRES, Error Prone's @GuardedBy on methods):
            // this._gate for this.M() (or lock (this) for "this", as this type's analysis names it), other._gate for
            // other.M() on a local, parameter or field of this object; a static lock is the same for every instance.
            var key = guard.Key;
            var lockField = key.Symbol as IFieldSymbol;
            var instance = LocksetAnalysis.Unwrap(call.Instance);
            ISymbol? receiver = null;
            if (!call.TargetMethod.IsStatic && lockField is not { IsStatic: true })
            {
                if (instance is IInstanceReferenceOperation)
                {
                    if (key.Kind == LockKind.This)
                        key = new LockKey(LockKind.This, caller);
                }
                else if (LocksetAnalysis.ReceiverOf(instance) is { } named)
                {
                    receiver = named;
                    key = lockField is null && named is IFieldSymbol lockedField ? new LockKey(LockKind.Field, lockedField) : LockKey.OfReceiver(named, lockField);
                }
                else
                {
                    // A call's or property's result: no lock statement names that object (each evaluation may return
                    // another). Silent where some lock the analysis cannot name is held: it may be that object's.
                    if (!HoldsUnnamedLock(held))
                    {
                        context.ReportDiagnostic(Diagnostic.Create(RuleCatalogue.CallWithoutRequiredLock, call.Syntax.GetLocation(),
                            call.TargetMethod.Name, guard.LockName, OfResult(instance, guard, call.TargetMethod.Name)));
                    }

                    continue;
                }
            }

            if (held.Holds(key, exclusive: true))
                continue;
            var missing = "'" + key.Display + "'";
            if (lockField is not null && !context.Compilation.IsSymbolAccessibleWithin(lockField, caller, lockField.IsStatic ? null : instance?.Type))
            {
                // Clang reports these calls too (the caller breaks the contract whether or not it can keep it), and its
                // documentation advises giving callers a way to take a private lock; no fix can take it here.
                var owner = lockField.ContainingType.Name;
                context.ReportDiagnostic(Diagnostic.Create(RuleCatalogue.CallWithoutRequiredLock, call.Syntax.GetLocation(), call.TargetMethod.Name, guard.LockName,
                    missing + ", which cannot be taken here: '" + lockField.Name + "' is " + LockAnnotations.Text(lockField.DeclaredAccessibility) + " in '" + owner
                    + "' (call '" + call.TargetMethod.Name + "' from a member of '" + owner + "' that takes the lock)"));
                continue;
            }

            var (additional, properties) = receiver is null
                ? FixData(call.Syntax, guard, types, readLockHeld: held.Holds(key, exclusive: false))
                : FixDataOnReceiver(call, receiver, caller, guard, key, types, readLockHeld: held.Holds(key, exclusive: false));
            context.ReportDiagnostic(Diagnostic.Create(RuleCatalogue.CallWithoutRequiredLock, call.Syntax.GetLocation(), additional, properties,
                call.TargetMethod.Name, guard.LockName, missing));
        }
    }

    private static bool HoldsUnnamedLock(Lockset held)
    {
        for (var i = 0; i < held.Count; i++)
        {
            if (held[i].Key is { Kind: LockKind.Unknown, Receiver: null })
                return true;
        }

        return false;
    }

    /// <summary>What a call on a call's or property's result needs: <c>'_gate' of the object 'Find(…)' returns, …</c>.</summary>
    private static string OfResult(IOperation? instance, DeclaredGuard guard, string method)
    {
        var source = instance switch
        {
            IInvocationOperation invocation => invocation.TargetMethod.Name + "(…)",
            IPropertyReferenceOperation { Property.IsIndexer: true } => "this[…]",
            IPropertyReferenceOperation property => property.Property.Name,
            _ => "?",
        };
        return "'" + guard.LockName + "' of the object '" + source + "' returns, which no lock taken here can be shown to be (store the object in a local, and lock the local's '"
            + guard.LockName + "' around the call of '" + method + "' on it)";
    }

    /// <summary>The fix for a call on another instance: <c>lock (other._gate)</c> around the statement, for a guard field
    /// that <c>lock</c> takes (see <see cref="FixData"/>); not for <c>lock (other)</c> (the fix's lock expression is a
    /// field's), nor where the statement names the receiver again (it might assign it, and the lock would then be taken
    /// on the object before the assignment), nor on a field that is not a <c>readonly</c> field of the caller's type
    /// (another thread could replace the object between the lock and the call).</summary>
    private static (Location[]? Additional, ImmutableDictionary<string, string?> Properties) FixDataOnReceiver(
        IInvocationOperation call, ISymbol receiver, INamedTypeSymbol caller, DeclaredGuard guard, LockKey key, ConcurrencyTypes types, bool readLockHeld)
    {
        var none = ((Location[]?)null, ImmutableDictionary<string, string?>.Empty);
        if (guard.Key.Kind != LockKind.Field
            || receiver is IFieldSymbol field && (!field.IsReadOnly || !SymbolEqualityComparer.Default.Equals(field.ContainingType, caller.OriginalDefinition)))
        {
            return none;
        }

        var (additional, properties) = FixData(call.Syntax, guard, types, readLockHeld);
        if (additional is null || InconsistentlyGuardedFieldAnalyzer.InnermostTarget(call.Syntax) is not { } target)
            return none;
        var uses = 0;
        foreach (var token in target.DescendantTokens())
        {
            if (token.IsKind(Microsoft.CodeAnalysis.CSharp.SyntaxKind.IdentifierToken) && token.ValueText == receiver.Name && ++uses > 1)
                return none;
        }

        return (additional, properties.SetItem(InconsistentlyGuardedFieldAnalyzer.LockProperty, key.Display));
    }

    /// <summary>What the fix needs (MSA6001's properties and the statement to wrap, see <see cref="InconsistentlyGuardedFieldAnalyzer"/>),
    /// when <c>lock (guard)</c> takes the declared lock: <c>this</c>, a field typed <c>object</c>, or a <c>System.Threading.Lock</c>
    /// field where C# 13 lowers <c>lock</c> to its <c>EnterScope</c> (before, <c>lock</c> would take its Monitor, another lock);
    /// not where a read lock is held (a statement under a read lock cannot take the write lock inside it).</summary>
    private static (Location[]? Additional, ImmutableDictionary<string, string?> Properties) FixData(SyntaxNode at, DeclaredGuard guard, ConcurrencyTypes types, bool readLockHeld)
    {
        var empty = ImmutableDictionary<string, string?>.Empty;
        var lockable = guard.Key.Kind == LockKind.This
            || guard.Key.Symbol is IFieldSymbol { Type: var type } && (type.SpecialType == SpecialType.System_Object
                || ConcurrencyTypes.Is(type, types.Lock) && at.SyntaxTree.Options is Microsoft.CodeAnalysis.CSharp.CSharpParseOptions { LanguageVersion: var version } && version >= MemSafety.Analyzers.Compat.RoslynEnums.CSharp13);
        if (readLockHeld || !lockable || InconsistentlyGuardedFieldAnalyzer.InnermostTarget(at) is not { } target)
            return (null, empty);
        var properties = empty.Add(InconsistentlyGuardedFieldAnalyzer.LockProperty, guard.Key.Display);
        if (guard.Key.Symbol is IFieldSymbol { IsStatic: true } field && field.ContainingType.GetDocumentationCommentId() is { } owner)
            properties = properties.Add(InconsistentlyGuardedFieldAnalyzer.LockOwnerProperty, owner);
        return (new[] { target.GetLocation() }, properties);
    }
}
