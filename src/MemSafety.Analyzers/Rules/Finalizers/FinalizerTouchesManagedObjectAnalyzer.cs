using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Threading;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Disposal;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.Finalizers;

/// <summary>
/// MSA4003. When an object becomes unreachable, so do the objects only it references, and the runtime finalizes them
/// all in no particular order. A finalizer (or the <c>Dispose(false)</c> it runs) that calls a member of, reads a
/// property of, or passes on one of its fields that may already have been finalized works on a dead object: a
/// stream whose handle is closed, a writer whose buffer was flushed into a closed file, and an exception thrown there
/// ends the process. The engine's <see cref="FinalizerEffectKind.ManagedTouch"/> effects are reported when the
/// field's type has a finalizer, or is a disposable interface or unsealed class (the object behind it may be a
/// <c>FileStream</c>), or is a sealed disposable class of the compilation with a field of a finalizable type. Off by
/// default (on as a suggestion in the Strict preset): on real code most such touches are deliberate and harmless
/// (a second Dispose of a stream, a reference count released on a shared object), see docs/rules/MSA4003.md.
/// <c>SafeHandle</c> and other <c>CriticalFinalizerObject</c> fields are finalized after every ordinary finalizer and
/// are never reported. One diagnostic per field and finalizer, at its first touch.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class FinalizerTouchesManagedObjectAnalyzer : MemSafetyAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.FinalizerTouchesManagedObject);

    protected override void Register(AnalysisContext context) => context.RegisterCompilationStartAction(start =>
    {
        var disposal = CompilationServices.Get(start.Compilation, start.Options).Disposal;
        // A touch reached from two finalizers (a base type's and a derived type's) is reported once.
        var reported = new ConcurrentDictionary<Location, byte>();
        start.RegisterOperationBlockAction(block => AnalyzeBlock(block, disposal, reported));
    });

    private static void AnalyzeBlock(OperationBlockAnalysisContext context, DisposableTypes disposal, ConcurrentDictionary<Location, byte> reported)
    {
        if (FinalizerBlocks.PathWith(context, disposal, FinalizerEffectKind.ManagedTouch, out var type) is not { } path)
            return;
        var cancellationToken = context.CancellationToken;

        var fields = new HashSet<IFieldSymbol>(SymbolEqualityComparer.Default);
        foreach (var effect in path.Effects)
        {
            if (effect.Kind != FinalizerEffectKind.ManagedTouch || effect.Field is not { } field || !fields.Add(field))
                continue;
            if (Reason(field, disposal, cancellationToken) is not { } reason)
                continue;
            var location = effect.Operation.Syntax.GetLocation();
            if (!context.Compilation.ContainsSyntaxTree(location.SourceTree!) || !reported.TryAdd(location, 0))
                continue;
            var action = Action(effect, field) + (effect.Via.Length == 0 ? string.Empty : $" (in {effect.Via})");
            context.ReportDiagnostic(Diagnostic.Create(RuleCatalogue.FinalizerTouchesManagedObject, location, type!.Name, action, reason));
        }
    }

    private static string Action(FinalizerEffect effect, IFieldSymbol field)
    {
        switch (effect.Operation)
        {
            case IInvocationOperation invocation when invocation.Instance is not null && !IsArgument(invocation, field):
                return $"calls '{field.Name}.{invocation.TargetMethod.Name}'";
            case IInvocationOperation invocation:
                return $"passes '{field.Name}' to '{invocation.TargetMethod.ContainingType.Name}.{invocation.TargetMethod.Name}'";
            case IPropertyReferenceOperation property:
                return $"reads '{field.Name}.{property.Property.Name}'";
            case IAssignmentOperation { Target: IPropertyReferenceOperation property }:
                return $"sets '{field.Name}.{property.Property.Name}'";
            case IEventAssignmentOperation { EventReference: IEventReferenceOperation @event }:
                return $"changes the '{@event.Event.Name}' event of '{field.Name}'";
            default:
                return $"uses '{field.Name}'";
        }
    }

    /// <summary>The field is an argument of the call rather than its receiver.</summary>
    private static bool IsArgument(IInvocationOperation invocation, IFieldSymbol field)
    {
        var receiver = invocation.Instance;
        while (receiver is IConversionOperation conversion)
            receiver = conversion.Operand;
        if (receiver is IFieldReferenceOperation reference && SymbolEqualityComparer.Default.Equals(reference.Field, field))
            return false;
        if (receiver is ILocalReferenceOperation or IConditionalAccessInstanceOperation or IInvocationOperation)
            return false;
        foreach (var argument in invocation.Arguments)
        {
            var value = argument.Value;
            while (value is IConversionOperation c)
                value = c.Operand;
            if (value is IFieldReferenceOperation passed && SymbolEqualityComparer.Default.Equals(passed.Field, field))
                return true;
        }

        return false;
    }

    /// <summary>Why the field's object may already have been finalized, or null when it cannot have been.</summary>
    internal static string? Reason(IFieldSymbol field, DisposableTypes disposal, CancellationToken cancellationToken)
    {
        var type = field.Type;
        var name = type.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat);
        switch (Category(type, disposal, cancellationToken, depth: 0))
        {
            case Finalizable:
                return $"'{field.Name}' is a {name}, which has a finalizer of its own; finalizers run in no particular order, so it may already have been finalized";
            case OpenDisposable:
                var open = type.TypeKind switch
                {
                    TypeKind.Interface => "an interface",
                    TypeKind.TypeParameter => "a type parameter",
                    _ => "not sealed",
                };
                return $"'{field.Name}' is a disposable {name} ({open}): the object behind it may have a finalizer that has already run, since finalizers run in no particular order";
            case OwnsFinalizable:
                return $"'{field.Name}' is a {name}, which holds finalizable objects of its own that may already have been finalized, since finalizers run in no particular order";
            default:
                return null;
        }
    }

    private const int None = 0;
    private const int Finalizable = 1;
    private const int OpenDisposable = 2;
    private const int OwnsFinalizable = 3;

    private static int Category(ITypeSymbol type, DisposableTypes disposal, CancellationToken cancellationToken, int depth)
    {
        if (!type.IsReferenceType || type.SpecialType == SpecialType.System_String || disposal.IsCriticalFinalizable(type))
            return None;
        if (type is INamedTypeSymbol named && named.TypeKind == TypeKind.Class
            && disposal.Of(named).GetFinalizerKind(cancellationToken) == FinalizerKind.NonTrivial)
        {
            return Finalizable;
        }

        if (!disposal.IsDisposable(type) && !disposal.IsAsyncDisposable(type))
            return None;
        if (type.TypeKind is TypeKind.Interface or TypeKind.TypeParameter || (type.TypeKind == TypeKind.Class && !type.IsSealed))
            return OpenDisposable;
        if (depth > 0 || type is not INamedTypeSymbol sealedType || sealedType.DeclaringSyntaxReferences.Length == 0)
            return None;
        foreach (var member in sealedType.GetMembers())
        {
            if (member is IFieldSymbol { IsStatic: false } inner && Category(inner.Type, disposal, cancellationToken, depth + 1) == Finalizable)
                return OwnsFinalizable;
        }

        return None;
    }
}
