using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Threading;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Concurrency;
using MemSafety.Analyzers.Engines.ControlFlow;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.SharedState;

/// <summary>
/// MSA6001. A field written under lock L in one member and accessed without L in another (RacerD's "unprotected
/// write" and "read/write race", Clang's and Error Prone's GuardedBy inferred from the code instead of declared).
/// The lockset engine (Engines/Concurrency) gives each access of the type's fields the locks definitely held there,
/// private helpers' callers included; the rule takes as the field's guard the lock held at most of its locked
/// writes and reports the accesses without it that can go wrong: writes, read-modify-writes, calls on a collection
/// that is not thread-safe, and reads of values that can tear. Plain reads of a word (a reference, an int, a bool)
/// are not reported: they see an old or a new value, which is what double-checked locking and many lock-free fast
/// paths rely on (the .NET memory model makes reference publication safe).
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class InconsistentlyGuardedFieldAnalyzer : MemSafetyAnalyzer
{
    /// <summary>Diagnostic property: the lock as source writes it (<c>_gate</c>, <c>this</c>, <c>typeof(C)</c>), present
    /// when <c>lock (…)</c> on it is the same lock (a Monitor or a System.Threading.Lock) and can be written at the access.</summary>
    public const string LockProperty = "Lock";

    /// <summary>Diagnostic property, when the lock is a static field or a type: the documentation-comment id of the type
    /// that declares the field, or of the locked type, so the fix can qualify the lock where the access is (the field
    /// may belong to another type, as <c>lock (TraceInternal.critSec)</c> in <c>TraceListenerCollection</c>).</summary>
    public const string LockOwnerProperty = "LockOwner";

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.InconsistentlyGuardedField);

    protected override void Register(AnalysisContext context) => context.RegisterCompilationStartAction(start =>
    {
        var types = ConcurrencyTypes.Of(start.Compilation);
        start.RegisterSymbolStartAction(symbolStart => StartType(symbolStart, types), SymbolKind.NamedType);
    });

    private static void StartType(SymbolStartAnalysisContext context, ConcurrencyTypes types)
    {
        if (context.Symbol is not INamedTypeSymbol { TypeKind: TypeKind.Class } type
            || !LockSignals.TakesLocks(type, context.CancellationToken))
        {
            return;
        }

        var signals = new LockSignals();
        var cancellationToken = context.CancellationToken;
        var summary = new TypeLocks(() => LockSignals.NamesUsedByNestedTypes(type, cancellationToken));
        var mentions = new BodyMentions(type);
        // Bodies that take no lock (most of a type that locks somewhere) hold none anywhere: their accesses matter only
        // when some lock of the type can guard a field. They wait for the symbol end, and are analysed only then. So do
        // the bodies whose locks, read from the operation tree, cannot guard (lock (_locks[i]), a lock on a stream):
        // when no body of the type takes a lock that can, no field has a guard and the type is done without a graph.
        var lockFree = new ConcurrentQueue<(IOperation Body, IMethodSymbol Method)>();
        var locking = new ConcurrentQueue<(IOperation Body, IMethodSymbol Method, Lockset EntryLocks)>();
        var mayGuard = 0;
        context.RegisterOperationBlockAction(block =>
        {
            if (!SymbolEqualityComparer.Default.Equals(block.OwningSymbol.ContainingType, type))
                return;
            if (block.OwningSymbol is not IMethodSymbol method)
                return; // field and property initializers run in the constructor
            // The body's block (or the method body around it); one graph per body, whatever the blocks: the graph
            // LoopCycles keeps with the body, which every other engine that needs one (dataflow, cycles) shares.
            foreach (var operation in block.OperationBlocks)
            {
                if (operation is not (IBlockOperation or IMethodBodyBaseOperation))
                    continue;
                var entryLocks = BodyLocks.EntryLocks(method, type, types);
                if (entryLocks.IsEmpty && !LockSignals.MayTakeLock(operation.Syntax, block.CancellationToken))
                {
                    lockFree.Enqueue((operation, method));
                }
                else if (mentions.Relevant(operation.Syntax, block.CancellationToken))
                {
                    if (entryLocks.IsEmpty && !BodyLocks.MayHold(operation, types, signals.IsBinarySemaphore, CanGuard))
                    {
                        locking.Enqueue((operation, method, entryLocks));
                    }
                    else
                    {
                        Interlocked.Exchange(ref mayGuard, 1);
                        AnalyzeBody(operation, method, entryLocks, type, types, signals, summary, block.CancellationToken);
                    }
                }

                break;
            }
        });
        context.RegisterSymbolEndAction(end =>
        {
            if (Volatile.Read(ref mayGuard) == 0)
                return;
            foreach (var (body, method, entryLocks) in locking)
                AnalyzeBody(body, method, entryLocks, type, types, signals, summary, end.CancellationToken);
            AnalyzeDeferred(lockFree, mentions, type, types, signals, summary, end.CancellationToken);
            Report(end, type, summary);
        });
    }

    /// <summary>
    /// The bodies that take no lock, analysed only where they can change a finding. Every lock an access can hold is held
    /// at some access or helper call of the bodies that take locks: when none of those can guard, no field has a guard.
    /// Otherwise first the bodies that may run with their callers' locks (private methods) or call one; then, as the
    /// guarded fields are known, the rest only where they name one of them: such a body holds no lock and calls no
    /// helper, so its accesses of other fields neither guard them nor are reported.
    /// </summary>
    private static void AnalyzeDeferred(ConcurrentQueue<(IOperation Body, IMethodSymbol Method)> deferred, BodyMentions mentions, INamedTypeSymbol type,
        ConcurrencyTypes types, LockSignals signals, TypeLocks summary, CancellationToken cancellationToken)
    {
        if (deferred.IsEmpty || !summary.AnyHeld(CanGuard))
            return;
        List<(IOperation Body, IMethodSymbol Method)>? rest = null;
        foreach (var (body, method) in deferred)
        {
            if (BodyMentions.IsHelper(method) || mentions.MayCallHelper(body.Syntax, cancellationToken))
            {
                if (mentions.Relevant(body.Syntax, cancellationToken))
                    AnalyzeBody(body, method, Lockset.Empty, type, types, signals, summary, cancellationToken);
            }
            else
            {
                (rest ??= new()).Add((body, method));
            }
        }

        if (rest is null)
            return;
        var guarded = new HashSet<string>(System.StringComparer.Ordinal);
        foreach (var (access, held) in summary.Resolve())
        {
            if (access.IsWrite && !held.HasUnknown && !guarded.Contains(access.Field.Name))
            {
                for (var i = 0; i < held.Count; i++)
                {
                    if (CanGuard(held[i]))
                    {
                        guarded.Add(access.Field.Name);
                        break;
                    }
                }
            }
        }

        if (guarded.Count == 0)
            return;
        foreach (var (body, method) in rest)
        {
            if (BodyMentions.MentionsField(body.Syntax, guarded, cancellationToken))
                AnalyzeBody(body, method, Lockset.Empty, type, types, signals, summary, cancellationToken);
        }
    }

    private static void AnalyzeBody(IOperation body, IMethodSymbol method, Lockset entryLocks, INamedTypeSymbol type, ConcurrencyTypes types,
        LockSignals signals, TypeLocks summary, CancellationToken cancellationToken)
    {
        if (LoopCycles.GraphOf(body) is not { } graph)
            return; // code the graph builder cannot model: no accesses rather than a crash
        summary.Add(BodyLocks.Analyze(graph, type, method, entryLocks, types, signals.IsBinarySemaphore, cancellationToken));
    }

    /// <summary>A lock that can be a field's guard (see <see cref="FindInField"/>: a write that holds an unknown lock gives none).</summary>
    private static bool CanGuard(HeldLock held) => held.Mode == LockMode.Exclusive && held.Key.Kind != LockKind.Unknown && IsDedicated(held);

    private static void Report(SymbolAnalysisContext context, INamedTypeSymbol type, TypeLocks summary)
    {
        var resolved = summary.Resolve();
        if (resolved.Count == 0)
            return;

        // Accesses per field, in source order.
        var byField = new Dictionary<IFieldSymbol, List<(FieldAccess Access, Lockset Held)>>(SymbolEqualityComparer.Default);
        var order = new List<IFieldSymbol>();
        foreach (var item in resolved)
        {
            if (!byField.TryGetValue(item.Access.Field, out var list))
            {
                byField[item.Access.Field] = list = new List<(FieldAccess, Lockset)>();
                order.Add(item.Access.Field);
            }

            list.Add(item);
        }

        var findings = new List<Finding>();
        foreach (var field in order)
        {
            if (IsThreadConfined(field) || LockAnnotations.InNotThreadSafeInstance(field))
                continue;
            FindInField(field, byField[field], findings);
        }

        if (findings.Count == 0)
            return;
        var targets = FixTargets(findings);
        for (var i = 0; i < findings.Count; i++)
            context.ReportDiagnostic(Create(findings[i], targets[i]));
    }

    /// <summary>[ThreadStatic] fields have one copy per thread.</summary>
    private static bool IsThreadConfined(IFieldSymbol field)
    {
        foreach (var attribute in field.GetAttributes())
        {
            if (attribute.AttributeClass is { Name: "ThreadStaticAttribute", ContainingNamespace.Name: "System" })
                return true;
        }

        return false;
    }

    private sealed class Finding
    {
        public Finding(FieldAccess access, Lockset held, HeldLock guard, FieldAccess evidence)
        {
            Access = access;
            Held = held;
            Guard = guard;
            Evidence = evidence;
        }

        public FieldAccess Access { get; }
        public Lockset Held { get; }
        public HeldLock Guard { get; }
        public FieldAccess Evidence { get; }
    }

    private static void FindInField(IFieldSymbol field, List<(FieldAccess Access, Lockset Held)> accesses, List<Finding> findings)
    {
        // Interlocked/Volatile on the field: its author chose lock-free access for some of it (MSA6003's business).
        foreach (var (access, _) in accesses)
        {
            if (access.Kind == FieldAccessKind.Atomic)
                return;
        }

        // The guard: the identified lock held exclusively at the most locked writes (first seen on a tie).
        var candidates = new List<(HeldLock Lock, int Count, FieldAccess First)>();
        foreach (var (access, held) in accesses)
        {
            if (!access.IsWrite || held.HasUnknown)
                continue;
            for (var i = 0; i < held.Count; i++)
            {
                var h = held[i];
                if (!CanGuard(h))
                    continue;
                var found = false;
                for (var c = 0; c < candidates.Count; c++)
                {
                    if (candidates[c].Lock.Key.Equals(h.Key))
                    {
                        candidates[c] = (candidates[c].Lock, candidates[c].Count + 1, candidates[c].First);
                        found = true;
                        break;
                    }
                }

                if (!found)
                    candidates.Add((h, 1, access));
            }
        }

        if (candidates.Count == 0)
            return;
        var best = candidates[0];
        foreach (var candidate in candidates)
        {
            if (candidate.Count > best.Count)
                best = candidate;
        }

        // Copy-on-write: a collection that is only ever replaced (a new copy built and stored under the lock), never
        // changed in place, is immutable once published, so reading it without the lock is safe (TempAssemblyCache in
        // System.Private.Xml; a first version reported its lock-free lookup, wrongly).
        var changedInPlace = false;
        foreach (var (access, _) in accesses)
            changedInPlace |= access.Kind == FieldAccessKind.CollectionWrite;
        foreach (var (access, held) in accesses)
        {
            if (held.HasUnknown || access.InLockFreeCode)
                continue;
            var report = access.Kind switch
            {
                // A plain store of a word-sized value is atomic: what it races with is the logic of the locked code, which
                // real code mostly rules out by other means (an Initialize before the object is published, a flag set
                // once). Only stores of values that can tear are reported; read-modify-writes always are.
                FieldAccessKind.Write => BodyLocks.CanTear(field.Type) && !held.Holds(best.Lock.Key, exclusive: true),
                FieldAccessKind.Update or FieldAccessKind.CollectionWrite => !held.Holds(best.Lock.Key, exclusive: true),
                FieldAccessKind.CollectionRead => changedInPlace && !held.Holds(best.Lock.Key, exclusive: false),
                FieldAccessKind.TearingRead => !held.Holds(best.Lock.Key, exclusive: false),
                _ => false,
            };
            if (report)
                findings.Add(new Finding(access, held, best.Lock, best.First));
        }
    }

    /// <summary>
    /// A lock that exists to be a lock: <c>this</c>, <c>typeof(T)</c>, a field typed <c>object</c> or
    /// <c>System.Threading.Lock</c>, or a synchronisation primitive. A <c>lock</c> on an object that is something else
    /// too (a stream, a collection) serialises the use of that object, and fields written while holding it are not
    /// thereby guarded by it (SharpZipLib's <c>PartialInputStream</c> locks the shared base stream around its reads and
    /// sets its own position there; a Stream instance is not meant for concurrent use anyway).
    /// </summary>
    private static bool IsDedicated(HeldLock held)
    {
        if (held.Flavor != LockFlavor.Monitor || held.Key.Kind != LockKind.Field)
            return true;
        return held.Key.Symbol is IFieldSymbol { Type.SpecialType: SpecialType.System_Object };
    }

    /// <summary>For each finding, the statement (or expression body) a fix wraps in the lock: the innermost statement
    /// around the access, or the outermost statement around it that holds another finding's statement under the same
    /// lock (so <c>if (_list.Count &gt; 0) _list.Clear();</c> is wrapped once, as a whole). Null: nothing to wrap.</summary>
    private static SyntaxNode?[] FixTargets(List<Finding> findings)
    {
        var innermost = new SyntaxNode?[findings.Count];
        for (var i = 0; i < findings.Count; i++)
            innermost[i] = InnermostTarget(findings[i].Access.Operation.Syntax);
        var targets = new SyntaxNode?[findings.Count];
        for (var i = 0; i < findings.Count; i++)
        {
            var target = innermost[i];
            if (target is null)
                continue;
            for (var j = 0; j < findings.Count; j++)
            {
                if (innermost[j] is { } other && other != target && other.SyntaxTree == target.SyntaxTree && other.Span.Contains(target.Span)
                    && findings[j].Guard.Key.Equals(findings[i].Guard.Key) && (targets[i] is null || other.Span.Contains(targets[i]!.Span)))
                {
                    targets[i] = other;
                }
            }

            targets[i] ??= target;
        }

        return targets;
    }

    /// <summary>The statement (or expression body) a lock-wrapping fix can wrap around <paramref name="access"/>; also the
    /// target of MSA6100's and MSA6101's fix.</summary>
    internal static SyntaxNode? InnermostTarget(SyntaxNode access)
    {
        for (var node = access.Parent; node is not null; node = node.Parent)
        {
            switch (node)
            {
                // An expression-bodied lambda or local function (a statement in a block body is found first).
                case AnonymousFunctionExpressionSyntax or LocalFunctionStatementSyntax:
                    return null;
                case ArrowExpressionClauseSyntax arrow:
                    return arrow.Parent is MethodDeclarationSyntax or AccessorDeclarationSyntax or PropertyDeclarationSyntax or IndexerDeclarationSyntax ? arrow : null;
                case StatementSyntax statement:
                    return statement is LocalDeclarationStatementSyntax or LabeledStatementSyntax or BlockSyntax ? null : statement;
                case MemberDeclarationSyntax:
                    return null;
            }
        }

        return null;
    }

    private static Diagnostic Create(Finding finding, SyntaxNode? target)
    {
        var access = finding.Access;
        var guard = finding.Guard;
        var doing = access.Kind switch
        {
            FieldAccessKind.Write => "assigned",
            FieldAccessKind.Update => "updated" + UpdateOperator(access.Operation),
            FieldAccessKind.CollectionWrite => "changed by '" + access.Member + "'",
            FieldAccessKind.CollectionRead => access.Member == "GetEnumerator" ? "enumerated" : "read by '" + access.Member + "'",
            _ => "read",
        };
        var how = finding.Held.Holds(guard.Key, exclusive: false) ? "under its read lock only" : "without it";
        var why = Why(access);
        var properties = ImmutableDictionary<string, string?>.Empty;
        if (target is not null && guard.Flavor is LockFlavor.Monitor or LockFlavor.Lock && guard.Key.Kind != LockKind.Unknown && how == "without it"
            && CanLockAt(guard.Key, access))
        {
            properties = properties.Add(LockProperty, guard.Key.Display);
            var owner = guard.Key.Kind == LockKind.Type ? guard.Key.Symbol as INamedTypeSymbol
                : guard.Key.Symbol is IFieldSymbol { IsStatic: true } field ? field.ContainingType : null;
            if (owner?.GetDocumentationCommentId() is { } ownerId)
                properties = properties.Add(LockOwnerProperty, ownerId);
        }

        var additional = target is null ? null : new[] { target.GetLocation() };
        return Diagnostic.Create(RuleCatalogue.InconsistentlyGuardedField, access.Operation.Syntax.GetLocation(), additional, properties,
            access.Field.Name, GuardDisplay(guard), MemberDisplay(finding.Evidence.Function), doing, how, why);
    }

    /// <summary>An instance lock cannot be taken in a static member.</summary>
    private static bool CanLockAt(LockKey key, FieldAccess access)
    {
        switch (key.Symbol)
        {
            case IFieldSymbol { IsStatic: true } field:
                return field.ContainingType.GetDocumentationCommentId() is not null;
            case IFieldSymbol field:
                // Only a field 'this' reaches: the lock of another object (lock (other._gate)) is not ours to take here.
                if (access.Function is { IsStatic: true })
                    return false;
                for (var type = access.Function?.ContainingType; type is not null; type = type.BaseType)
                {
                    if (SymbolEqualityComparer.Default.Equals(type.OriginalDefinition, field.ContainingType.OriginalDefinition))
                        return true;
                }

                return false;
            case INamedTypeSymbol type when key.Kind == LockKind.Type:
                return type.GetDocumentationCommentId() is not null;
            default:
                return key.Kind != LockKind.This || access.Function is not { IsStatic: true };
        }
    }

    private static string GuardDisplay(HeldLock guard) => guard.Key.Display;

    private static string UpdateOperator(IOperation operation) => operation.Parent switch
    {
        IIncrementOrDecrementOperation { IsPostfix: true } i => " by '" + (i.Kind == OperationKind.Increment ? "++" : "--") + "'",
        IIncrementOrDecrementOperation i => " by '" + (i.Kind == OperationKind.Increment ? "++" : "--") + "'",
        ICompoundAssignmentOperation { Syntax: AssignmentExpressionSyntax assignment } => " by '" + assignment.OperatorToken.Text + "'",
        _ => string.Empty,
    };

    private static string Why(FieldAccess access)
    {
        var type = access.Field.Type.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat);
        switch (access.Kind)
        {
            case FieldAccessKind.Update:
                return "the read, the computation and the write are separate steps, so an update made concurrently under the lock can be lost";
            case FieldAccessKind.CollectionWrite:
                return type + " is not thread-safe, and changing it while the locked code uses it can corrupt its internal state";
            case FieldAccessKind.CollectionRead when access.Member == "Count":
                return type + " is not thread-safe, and its Count read while the locked code changes it can see a half-done change";
            case FieldAccessKind.CollectionRead:
                return type + " is not thread-safe, and reading it while the locked code changes it can throw, miss items or see a half-done change";
            default:
                var t = access.Field.Type;
                if (t is INamedTypeSymbol { TypeKind: TypeKind.Enum, EnumUnderlyingType: { } underlying })
                    t = underlying;
                var write = access.Kind == FieldAccessKind.Write;
                var (steps, consequence) = write
                    ? ("written", "a read under the lock can see half of this write")
                    : ("read", "this read can see half of a write made under the lock");
                return t.SpecialType switch
                {
                    SpecialType.System_Int64 or SpecialType.System_UInt64 or SpecialType.System_Double
                        => "in a 32-bit process a " + type + " is " + steps + " in two 4-byte halves, so " + consequence,
                    SpecialType.System_Decimal => "a decimal is 16 bytes, " + steps + " in several steps, so " + consequence,
                    _ => "a " + type + " is copied one field at a time, so " + (write ? "a read under the lock can mix fields of this write and an older one" : "this read can mix fields of two writes made under the lock"),
                };
        }
    }

    private static string MemberDisplay(ISymbol? member) => member switch
    {
        IMethodSymbol { MethodKind: MethodKind.PropertyGet, AssociatedSymbol: { } property } => "the getter of '" + property.Name + "'",
        IMethodSymbol { MethodKind: MethodKind.PropertySet, AssociatedSymbol: { } property } => "the setter of '" + property.Name + "'",
        IMethodSymbol { MethodKind: MethodKind.EventAdd, AssociatedSymbol: { } e } => "the add accessor of '" + e.Name + "'",
        IMethodSymbol { MethodKind: MethodKind.EventRemove, AssociatedSymbol: { } e } => "the remove accessor of '" + e.Name + "'",
        IMethodSymbol { MethodKind: MethodKind.Constructor or MethodKind.StaticConstructor } m => "the constructor of '" + m.ContainingType.Name + "'",
        { } m => "'" + m.Name + "'",
        _ => "the type",
    };
}
