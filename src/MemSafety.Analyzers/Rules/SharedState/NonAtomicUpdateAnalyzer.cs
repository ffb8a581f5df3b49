using System.Collections.Generic;
using System.Collections.Immutable;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Concurrency;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.SharedState;

/// <summary>
/// MSA6002. A read-modify-write (<c>++</c>, <c>--</c>, <c>+=</c>, <c>-=</c>, <c>|=</c>, <c>&amp;=</c> and the other compound
/// assignments) on state that other threads update at the same time. The operation is a load, a computation and a store
/// (the memory model makes each aligned word-sized load and store atomic, not the pair), so a concurrent update between
/// the load and the store is overwritten. Shared means shown by the code, never guessed: a <c>volatile</c> field, a field
/// the type also updates with <c>Interlocked</c>/<c>Volatile</c>, a field updated in a delegate handed to a concurrency
/// entry point that runs it on several threads at once (<c>Parallel.For/ForEach</c>, a <c>Task.Run</c> or <c>new Thread</c>
/// in a loop) or on another thread while other code updates it too, and a local captured by such a delegate.
/// Updates under a <c>lock</c>, in constructors, and in types that take locks (whose fields MSA6001 judges) are left alone.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class NonAtomicUpdateAnalyzer : MemSafetyAnalyzer
{
    /// <summary>Diagnostic property: the <c>Interlocked</c> method that performs the same update atomically
    /// (<c>Increment</c>, <c>Decrement</c>, <c>Add</c>, <c>Or</c>, <c>And</c>), or <c>AddNegated</c> for <c>-=</c>
    /// (<c>Interlocked.Add(ref x, -(n))</c>); absent when no Interlocked call does exactly what the update did.</summary>
    public const string InterlockedProperty = "Interlocked";

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.NonAtomicUpdate);

    protected override void Register(AnalysisContext context) => context.RegisterCompilationStartAction(start =>
    {
        var types = ConcurrencyTypes.Of(start.Compilation);
        if (types.Interlocked is null)
            return;
        var fixes = new InterlockedOverloads(types.Interlocked);
        start.RegisterSymbolStartAction(symbolStart => StartType(symbolStart, types, fixes), SymbolKind.NamedType);
    });

    private static void StartType(SymbolStartAnalysisContext context, ConcurrencyTypes types, InterlockedOverloads fixes)
    {
        if (context.Symbol is not INamedTypeSymbol { TypeKind: TypeKind.Class or TypeKind.Struct } type)
            return;
        // An enumerator, or a [NotThreadSafe] type, is used by one thread at a time by contract (one consumer calls MoveNext),
        // so its own instance fields, volatile or not, have one writer (the runtime's static range partitions keep a volatile offset).
        var declared = LockAnnotations.ThreadSafetyOf(type);
        var oneUserAtATime = declared == DeclaredThreadSafety.NotThreadSafe || IsEnumerator(type);
        var summary = new TypeUpdates();
        context.RegisterOperationAction(operation =>
        {
            if (!SymbolEqualityComparer.Default.Equals(operation.ContainingSymbol.ContainingType, type))
                return;
            var update = operation.Operation;
            var target = update switch
            {
                IIncrementOrDecrementOperation i => i.Target,
                ICompoundAssignmentOperation c => c.Target,
                _ => null,
            };
            switch (target)
            {
                case IFieldReferenceOperation field:
                    if (!(oneUserAtATime && !field.Field.IsStatic) && IsCandidateField(field, type))
                        summary.AddUpdate(new Update(update, field.Field, operation.ContainingSymbol));
                    break;
                case ILocalReferenceOperation { Local: { IsRef: false } local }:
                    CheckCaptured(operation, update, local, fixes);
                    break;
                case IParameterReferenceOperation { Parameter: { RefKind: RefKind.None } parameter }:
                    CheckCaptured(operation, update, parameter, fixes);
                    break;
            }
        }, OperationKind.Increment, OperationKind.Decrement, OperationKind.CompoundAssignment);

        context.RegisterOperationAction(operation =>
        {
            var invocation = (IInvocationOperation)operation.Operation;
            if (!AtomicAccess.IsAtomicCall(invocation, types))
                return;
            // Only Interlocked's read-modify-writes show that several threads update the field. A Volatile.Read shows
            // readers (an update racing with a read loses nothing); a CompareExchange or Exchange is often a claim or
            // state protocol after which one owner updates plainly (HttpRequestMessage marks itself sent with a
            // CompareExchange and sets its other flag bits with '|=' during that one send).
            if (invocation.TargetMethod.Name is not ("Increment" or "Decrement" or "Add" or "Or" or "And")
                || !ConcurrencyTypes.Is(invocation.TargetMethod.ContainingType, types.Interlocked))
            {
                return;
            }

            foreach (var argument in invocation.Arguments)
            {
                if (AtomicAccess.FieldOf(argument) is { } field && SymbolEqualityComparer.Default.Equals(field.ContainingType, type))
                    summary.AddAtomic(field, invocation.TargetMethod.ContainingType.Name + "." + invocation.TargetMethod.Name, operation.ContainingSymbol);
            }
        }, OperationKind.Invocation);

        context.RegisterOperationAction(operation =>
        {
            // A method of the type handed to an entry point as a method group: its body is the delegate's.
            var creation = (IDelegateCreationOperation)operation.Operation;
            if (creation.Target is IMethodReferenceOperation { Method: var method } reference
                && SymbolEqualityComparer.Default.Equals(method.ContainingType, type))
            {
                var entry = ConcurrentEntryPoints.Classify(reference);
                if (entry.IsEntry)
                    summary.AddEntryMethod(method.OriginalDefinition, entry);
            }
        }, OperationKind.DelegateCreation);

        context.RegisterSymbolEndAction(end => Report(end, type, summary, types, fixes, declared == DeclaredThreadSafety.ThreadSafe));
    }

    private static bool IsEnumerator(INamedTypeSymbol type)
    {
        foreach (var implemented in type.AllInterfaces)
        {
            if (implemented is { Name: "IEnumerator", ContainingNamespace: { Name: "Collections", ContainingNamespace: { Name: "System", ContainingNamespace.IsGlobalNamespace: true } } })
                return true;
        }

        return false;
    }

    // ------------------------------------------------------------------ captured locals

    private static void CheckCaptured(OperationAnalysisContext context, IOperation update, ISymbol variable, InterlockedOverloads fixes)
    {
        if (variable.DeclaringSyntaxReferences.Length == 0)
            return;
        var declaration = variable.DeclaringSyntaxReferences[0].GetSyntax(context.CancellationToken);
        for (var node = update.Parent; node is not null; node = node.Parent)
        {
            if (node is ILockOperation)
                return;
            if (node is not IAnonymousFunctionOperation function)
                continue;
            // Declared inside this function: each run has its own copy.
            if (function.Syntax.Span.Contains(declaration.Span))
                return;
            var entry = ConcurrentEntryPoints.Classify(function);
            if (!entry.IsEntry)
                continue;
            if (MentionsManualLocks(function.Syntax))
                return;
            string? why = entry.Kind switch
            {
                EntryKind.ParallelLoop => entry.EntryName + " runs this body on several threads at once",
                EntryKind.ParallelInvoke when OtherActionUses(entry.Call, function, variable.Name)
                    => "Parallel.Invoke runs this action at the same time as another action that uses '" + variable.Name + "'",
                EntryKind.Started when entry.Loop is { } loop && !loop.Span.Contains(declaration.Span)
                    => entry.EntryName + " is called in a loop, so several copies of this code run at once",
                _ => null,
            };
            if (why is null)
                return;
            context.ReportDiagnostic(Create(update, variable.Name, why + Steps(update), fixes.For(update, context.Compilation)));
            return;
        }
    }

    /// <summary>Another lambda argument of the same Parallel.Invoke mentions the variable by name.</summary>
    private static bool OtherActionUses(IOperation call, IOperation function, string name)
    {
        foreach (var node in call.Syntax.DescendantNodes())
        {
            if (node is AnonymousFunctionExpressionSyntax other && other != function.Syntax && !other.Span.Contains(function.Syntax.Span) && !function.Syntax.Span.Contains(other.Span))
            {
                foreach (var inner in other.DescendantNodes())
                {
                    if (inner is IdentifierNameSyntax { Identifier.ValueText: var text } && text == name)
                        return true;
                }
            }
        }

        return false;
    }

    /// <summary>A <c>Monitor</c>, <c>SpinLock</c>, semaphore, write-lock or <c>System.Threading.Lock</c> call in the code: the
    /// update may sit in a manually locked region (a read lock does not make an update atomic: readers run together).</summary>
    private static bool MentionsManualLocks(SyntaxNode code) => LockCalls.MentionsExclusiveAcquire(code);

    // ------------------------------------------------------------------ fields

    /// <summary>A field of this type (or a static field anywhere) that can be shared: not a constant, not [ThreadStatic],
    /// an instance field only of a class reached through <c>this</c> (a struct's fields live in its copy).</summary>
    private static bool IsCandidateField(IFieldReferenceOperation reference, INamedTypeSymbol type)
    {
        var field = reference.Field;
        if (field.IsConst)
            return false;
        if (!field.IsStatic && (reference.Instance is not IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance } || type.TypeKind != TypeKind.Class))
            return false;
        if (!SymbolEqualityComparer.Default.Equals(field.ContainingType, type))
            return false;
        foreach (var attribute in field.GetAttributes())
        {
            if (attribute.AttributeClass is { Name: "ThreadStaticAttribute", ContainingNamespace.Name: "System" })
                return false;
        }

        return true;
    }

    private static void Report(SymbolAnalysisContext context, INamedTypeSymbol type, TypeUpdates summary, ConcurrencyTypes types, InterlockedOverloads fixes, bool threadSafe)
    {
        var updates = summary.Updates;
        if (updates.Count == 0)
            return;
        bool? takesLocks = null;
        foreach (var update in updates)
        {
            var operation = update.Operation;
            if (InLock(operation) || InConstructor(update))
                continue;
            var field = update.Field;
            string? why = null;
            if ((field.IsVolatile || summary.AtomicUse(field) is not null) && AtomicAccess.InLockFreeCode(operation, field, types))
            {
                // A function that also uses Interlocked/Volatile or another volatile field runs a hand-written lock-free
                // protocol: a compare-exchange that claims a slot, or a single owner thread (ConcurrentBag's work-stealing
                // queue updates its volatile _addTakeCount only from the owner), makes the plain update safe for reasons
                // the rule cannot see.
                continue;
            }

            // volatile shows readers on other threads, not concurrent writers (as a Volatile.Read does, below). A counter's
            // '++'/'+=' runs once per event, from whatever thread has one, so volatile is taken as enough; a flag word's
            // '|='/'&='/'^=' sets or clears state bits, which in the code judged so far one owner does (protobuf-net's
            // MetaType during model setup, HttpRequestMessage during its one send): those need the evidence below.
            if (field.IsVolatile && !IsBitwise(operation))
            {
                why = "'" + field.Name + "' is volatile, which makes each read and each write atomic and ordered but not the two together";
            }
            else if (summary.AtomicUse(field) is { } atomic)
            {
                why = "'" + field.Name + "' is also used with " + atomic.Call + " in " + MemberDisplay(atomic.Member) + ", so other threads change it concurrently";
            }
            else
            {
                var (function, entry) = summary.EntryAround(update);
                if (entry.IsEntry)
                {
                    var other = entry.Kind == EntryKind.ParallelLoop ? null : summary.OtherUpdate(update, function, fieldOnly: field);
                    why = entry.Kind switch
                    {
                        EntryKind.ParallelLoop => entry.EntryName + " runs this code on several threads at once",
                        _ when entry.Loop is not null => entry.EntryName + " is called in a loop, so several copies of this code run at once",
                        _ when other is not null => "this code runs on another thread (" + entry.EntryName + ") while '" + field.Name + "' is also updated in " + MemberDisplay(other.Member),
                        _ => null,
                    };
                }
                else if (summary.UpdateInEntry(update) is { } racing)
                {
                    // The other side of the race: this update runs while code started on another thread updates the field.
                    why = "'" + field.Name + "' is also updated in " + MemberDisplay(racing.Other.Member) + ", which runs on another thread (" + racing.Entry.EntryName + ")";
                }
                else if (threadSafe && !LockAnnotations.IsThreadConfined(update.Member))
                {
                    // The type's own contract opens the gate: any two calls may run at once, so two runs of this update can interleave.
                    why = "'" + type.Name + "' is [ThreadSafe], so its members may run on several threads at once";
                }

                if (why is null)
                    continue;
                // A type that takes locks: its fields' discipline is MSA6001's (one diagnostic per node).
                takesLocks ??= LockSignals.TakesLocks(type, context.CancellationToken);
                if (takesLocks.Value)
                    continue;
            }

            if (MentionsManualLocks(FunctionSyntax(operation)))
                continue;
            context.ReportDiagnostic(Create(operation, field.Name, why + Steps(operation), fixes.For(operation, context.Compilation)));
        }
    }

    private static string Steps(IOperation update)
        => ", and the read, the computation and the write of '" + OperatorText(update) + "' are separate steps, so an update made in between is lost";

    /// <summary>Under a lock statement of the same function (a lambda inside a lock runs later, without it).</summary>
    private static bool InLock(IOperation operation)
    {
        for (var node = operation.Parent; node is not null; node = node.Parent)
        {
            if (node is ILockOperation)
                return true;
            if (node is IAnonymousFunctionOperation or ILocalFunctionOperation)
                return false;
        }

        return false;
    }

    /// <summary>An instance constructor updating its own instance, or a static constructor (or an initializer): the
    /// object or type is not shared yet.</summary>
    private static bool InConstructor(Update update)
    {
        if (update.Member is not IMethodSymbol { MethodKind: MethodKind.Constructor or MethodKind.StaticConstructor } constructor)
            return update.Member is IFieldSymbol or IPropertySymbol; // an initializer
        if (constructor.IsStatic != update.Field.IsStatic)
            return false;
        // Not inside a lambda the constructor hands out.
        for (var node = update.Operation.Parent; node is not null; node = node.Parent)
        {
            if (node is IAnonymousFunctionOperation or ILocalFunctionOperation)
                return false;
        }

        return true;
    }

    /// <summary>The innermost function (lambda, local function or member) around the operation.</summary>
    internal static SyntaxNode FunctionSyntax(IOperation operation)
    {
        for (var node = operation.Syntax.Parent; node is not null; node = node.Parent)
        {
            if (node is AnonymousFunctionExpressionSyntax or LocalFunctionStatementSyntax or BaseMethodDeclarationSyntax or AccessorDeclarationSyntax or ArrowExpressionClauseSyntax { Parent: PropertyDeclarationSyntax })
                return node;
        }

        return operation.Syntax;
    }

    private static bool IsBitwise(IOperation update)
        => update is ICompoundAssignmentOperation { OperatorKind: BinaryOperatorKind.And or BinaryOperatorKind.Or or BinaryOperatorKind.ExclusiveOr };

    private static string OperatorText(IOperation update) => update switch
    {
        IIncrementOrDecrementOperation i => i.Kind == OperationKind.Increment ? "++" : "--",
        ICompoundAssignmentOperation { Syntax: AssignmentExpressionSyntax assignment } => assignment.OperatorToken.Text,
        _ => "update",
    };

    private static Diagnostic Create(IOperation update, string name, string why, string? interlocked)
    {
        var properties = interlocked is null ? ImmutableDictionary<string, string?>.Empty : ImmutableDictionary<string, string?>.Empty.Add(InterlockedProperty, interlocked);
        var use = interlocked is null
            ? "take a lock around it or update with an Interlocked.CompareExchange loop"
            : "update with Interlocked." + (interlocked == "AddNegated" ? "Add" : interlocked);
        return Diagnostic.Create(RuleCatalogue.NonAtomicUpdate, update.Syntax.GetLocation(), properties, OperatorText(update), name, why, use);
    }

    internal static string MemberDisplay(ISymbol? member) => member switch
    {
        IMethodSymbol { MethodKind: MethodKind.PropertyGet, AssociatedSymbol: { } property } => "the getter of '" + property.Name + "'",
        IMethodSymbol { MethodKind: MethodKind.PropertySet, AssociatedSymbol: { } property } => "the setter of '" + property.Name + "'",
        IMethodSymbol { MethodKind: MethodKind.Constructor or MethodKind.StaticConstructor } m => "the constructor of '" + m.ContainingType.Name + "'",
        { } m => "'" + m.Name + "'",
        _ => "the type",
    };

    private sealed class Update
    {
        public Update(IOperation operation, IFieldSymbol field, ISymbol member)
        {
            Operation = operation;
            Field = field;
            Member = member;
        }

        public IOperation Operation { get; }
        public IFieldSymbol Field { get; }
        public ISymbol Member { get; }

        /// <summary>Whether another update can race with this one from an entry point: not in a constructor, not under
        /// a lock, in a function handed to an entry point (null until asked; <see cref="TypeUpdates.UpdateInEntry"/>
        /// asks it of every update of the field for every update of it, so it is worked out once).</summary>
        public (IOperation? Function, ConcurrentEntry Entry)? RacingEntry { get; set; }

        public bool RacingEntryKnown { get; set; }
    }

    /// <summary>The type's field updates, Interlocked/Volatile uses and methods handed to entry points; filled
    /// concurrently by the operation actions, read at the symbol end.</summary>
    private sealed class TypeUpdates
    {
        private readonly List<Update> _updates = new();
        private readonly Dictionary<IFieldSymbol, (string Call, ISymbol Member)> _atomic = new(SymbolEqualityComparer.Default);
        private readonly Dictionary<IMethodSymbol, ConcurrentEntry> _entryMethods = new(SymbolEqualityComparer.Default);
        private Dictionary<IFieldSymbol, List<Update>>? _byField;

        public List<Update> Updates
        {
            get
            {
                lock (_updates)
                {
                    _updates.Sort(static (a, b) =>
                    {
                        var tree = string.CompareOrdinal(a.Operation.Syntax.SyntaxTree.FilePath, b.Operation.Syntax.SyntaxTree.FilePath);
                        return tree != 0 ? tree : a.Operation.Syntax.SpanStart.CompareTo(b.Operation.Syntax.SpanStart);
                    });
                    return _updates;
                }
            }
        }

        public void AddUpdate(Update update)
        {
            lock (_updates)
                _updates.Add(update);
        }

        public void AddAtomic(IFieldSymbol field, string call, ISymbol member)
        {
            lock (_atomic)
            {
                if (!_atomic.TryGetValue(field, out var first) || string.CompareOrdinal(member.Name, first.Member.Name) < 0)
                    _atomic[field] = (call, member);
            }
        }

        public (string Call, ISymbol Member)? AtomicUse(IFieldSymbol field)
        {
            lock (_atomic)
                return _atomic.TryGetValue(field, out var use) ? use : null;
        }

        public void AddEntryMethod(IMethodSymbol method, ConcurrentEntry entry)
        {
            lock (_entryMethods)
            {
                // A method handed to several entry points: the one that runs it most concurrently decides.
                if (!_entryMethods.TryGetValue(method, out var known) || Rank(entry) > Rank(known))
                    _entryMethods[method] = entry;
            }
        }

        private static int Rank(ConcurrentEntry entry) => entry.Kind == EntryKind.ParallelLoop ? 3 : entry.Loop is not null ? 2 : 1;

        public ConcurrentEntry? EntryOf(IMethodSymbol method)
        {
            lock (_entryMethods)
                return _entryMethods.TryGetValue(method, out var entry) ? entry : null;
        }

        /// <summary>The function handed to an entry point that holds the update: a lambda around it, or its method
        /// when that method is handed to one as a method group.</summary>
        public (IOperation? Function, ConcurrentEntry Entry) EntryAround(Update update)
        {
            var (function, entry) = ConcurrentEntryPoints.Enclosing(update.Operation);
            if (!entry.IsEntry && update.Member is IMethodSymbol method && EntryOf(method.OriginalDefinition) is { } methodEntry)
                entry = methodEntry;
            return (function, entry);
        }

        /// <summary>An update of the same field, outside constructors, in a function handed to an entry point that
        /// does not also hold <paramref name="update"/>.</summary>
        public (Update Other, ConcurrentEntry Entry)? UpdateInEntry(Update update)
        {
            // Per field, in source order (read at the symbol end, after every update was added and sorted).
            if (_byField is null)
            {
                _byField = new Dictionary<IFieldSymbol, List<Update>>(SymbolEqualityComparer.Default);
                foreach (var u in _updates)
                {
                    if (!_byField.TryGetValue(u.Field, out var list))
                        _byField[u.Field] = list = new List<Update>();
                    list.Add(u);
                }
            }

            foreach (var other in _byField[update.Field])
            {
                if (other == update)
                    continue;
                if (!other.RacingEntryKnown)
                {
                    other.RacingEntry = InConstructor(other) || InLock(other.Operation) || EntryAround(other) is not { Entry.IsEntry: true } around ? null : around;
                    other.RacingEntryKnown = true;
                }

                if (other.RacingEntry is not var (function, entry))
                    continue;
                var holdsBoth = function is not null
                    ? function.Syntax.SyntaxTree == update.Operation.Syntax.SyntaxTree && function.Syntax.Span.Contains(update.Operation.Syntax.Span)
                    : SymbolEqualityComparer.Default.Equals(other.Member, update.Member);
                if (!holdsBoth)
                    return (other, entry);
            }

            return null;
        }

        /// <summary>Another update of the field outside <paramref name="function"/> (and outside constructors).</summary>
        public Update? OtherUpdate(Update update, IOperation? function, IFieldSymbol fieldOnly)
        {
            foreach (var other in _updates)
            {
                if (other == update || !SymbolEqualityComparer.Default.Equals(other.Field, fieldOnly) || InConstructor(other))
                    continue;
                if (function is not null ? !function.Syntax.Span.Contains(other.Operation.Syntax.Span) || other.Operation.Syntax.SyntaxTree != function.Syntax.SyntaxTree
                    : !SymbolEqualityComparer.Default.Equals(other.Member, update.Member))
                {
                    return other;
                }
            }

            return null;
        }
    }

    /// <summary>Which <c>Interlocked</c> method performs an update exactly, given the overloads this compilation has
    /// (<c>Or</c>/<c>And</c> and the unsigned overloads exist from .NET 5).</summary>
    private sealed class InterlockedOverloads
    {
        private readonly INamedTypeSymbol _interlocked;

        public InterlockedOverloads(INamedTypeSymbol interlocked) => _interlocked = interlocked;

        public string? For(IOperation update, Compilation compilation)
        {
            var (target, type) = update switch
            {
                IIncrementOrDecrementOperation i => (i.Target, i.Target.Type),
                ICompoundAssignmentOperation c => (c.Target, c.Target.Type),
                _ => (null, null),
            };
            if (target is not (IFieldReferenceOperation or ILocalReferenceOperation or IParameterReferenceOperation) || type is null)
                return null;
            if (type.SpecialType is not (SpecialType.System_Int32 or SpecialType.System_Int64 or SpecialType.System_UInt32 or SpecialType.System_UInt64))
                return null;
            var valueUsed = update.Parent is not IExpressionStatementOperation;
            string? method;
            switch (update)
            {
                case IIncrementOrDecrementOperation i:
                    // Increment/Decrement return the new value: the value of a prefix ++/--, not of a postfix one.
                    if (valueUsed && i.IsPostfix || i.IsChecked || i.OperatorMethod is not null)
                        return null;
                    method = i.Kind == OperationKind.Increment ? "Increment" : "Decrement";
                    break;
                case ICompoundAssignmentOperation c:
                    if (c.OperatorMethod is not null || c.IsChecked || c.Value.Type is not { } valueType)
                        return null;
                    var sameType = SymbolEqualityComparer.Default.Equals(valueType, type);
                    // Add/Or/And take the field's type; an int argument for a long field converts as it did in the update.
                    // For -=, the negation must happen in the field's type: -(int.MinValue) is not -(long)int.MinValue.
                    if (!sameType && (c.OperatorKind == BinaryOperatorKind.Subtract || !compilation.ClassifyCommonConversion(valueType, type).IsImplicit))
                        return null;
                    method = c.OperatorKind switch
                    {
                        BinaryOperatorKind.Add => "Add",
                        // x - n == x + (-n) in two's complement when both have the field's type (checked aside).
                        BinaryOperatorKind.Subtract when type.SpecialType is SpecialType.System_Int32 or SpecialType.System_Int64 => "AddNegated",
                        // Or/And return the old value: only where the update's value is not used.
                        BinaryOperatorKind.Or when !valueUsed => "Or",
                        BinaryOperatorKind.And when !valueUsed => "And",
                        _ => null,
                    };
                    break;
                default:
                    return null;
            }

            if (method is null || !HasOverload(method == "AddNegated" ? "Add" : method, type))
                return null;
            return method;
        }

        private bool HasOverload(string name, ITypeSymbol type)
        {
            foreach (var member in _interlocked.GetMembers(name))
            {
                if (member is IMethodSymbol { Parameters.Length: > 0 } m && m.Parameters[0].RefKind == RefKind.Ref
                    && SymbolEqualityComparer.Default.Equals(m.Parameters[0].Type, type))
                {
                    return true;
                }
            }

            return false;
        }
    }
}
