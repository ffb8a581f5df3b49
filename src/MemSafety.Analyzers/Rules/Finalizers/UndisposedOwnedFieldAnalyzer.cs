using System.Collections.Generic;
using System.Collections.Immutable;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Disposal;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.Finalizers;

/// <summary>
/// MSA4007. A disposable type that creates a disposable object into one of its private fields owns it: nobody else
/// can reach it to dispose it. When no member of the type disposes it, disposing the owner leaves the field's file,
/// socket, timer or handle open until the garbage collector finalizes it (if its type has a finalizer at all).
/// Reported only when the type creates every value it stores there (a <c>new</c> or a known creating factory, not a
/// parameter or a call's result), never hands the value on (an argument, a return, a store elsewhere), declares its
/// own <c>Dispose</c>/<c>DisposeAsync</c>/<c>Dispose(bool)</c> in hand-written source, and no member disposes the
/// field other than one that replaces it with a new instance.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class UndisposedOwnedFieldAnalyzer : MemSafetyAnalyzer
{
    /// <summary>Diagnostic property, present when the fix knows where to dispose the field.</summary>
    public const string CanFixProperty = "CanFix";

    private static readonly ImmutableDictionary<string, string?> FixProperties = ImmutableDictionary<string, string?>.Empty.Add(CanFixProperty, "true");

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.UndisposedOwnedField);

    protected override void Register(AnalysisContext context) => context.RegisterCompilationStartAction(start =>
    {
        var services = CompilationServices.Get(start.Compilation, start.Options);
        var disposal = services.Disposal;
        if (disposal.DisposeInterfaceMember is null && disposal.DisposeAsyncInterfaceMember is null)
            return;
        start.RegisterSymbolStartAction(symbolStart => StartType(symbolStart, services.Ownership), SymbolKind.NamedType);
    });

    private static void StartType(SymbolStartAnalysisContext context, Ownership ownership)
    {
        var disposal = ownership.Types;
        // Shape first: a class or record that is disposable, declares a field of a disposable reference type, and
        // declares its own dispose method.
        if (context.Symbol is not INamedTypeSymbol { TypeKind: TypeKind.Class, IsStatic: false } type
            || !(disposal.IsDisposable(type) || disposal.IsAsyncDisposable(type)))
        {
            return;
        }

        List<IFieldSymbol>? candidates = null;
        foreach (var member in type.GetMembers())
        {
            if (member is IFieldSymbol { IsStatic: false, IsConst: false, IsImplicitlyDeclared: false, DeclaredAccessibility: Accessibility.Private } field
                && field.Type.IsReferenceType && (disposal.IsDisposable(field.Type) || disposal.IsAsyncDisposable(field.Type)))
            {
                (candidates ??= new List<IFieldSymbol>()).Add(field);
            }
        }

        if (candidates is null)
            return;
        if (disposal.IsSafeHandle(type))
            return;
        var cancellationToken = context.CancellationToken;
        var declared = DisposedFields.DisposeMethodsDeclaredBy(disposal, type);
        if (declared.Count == 0 || OwnedFieldDisposal.EditableMethods(declared, disposal.Compilation, cancellationToken) is not { } editable)
            return;

        // The driver hands every member's operation tree to the rule (trees it builds once for every analyzer), so
        // the rule binds nothing itself; a type with a part in generated code (whose blocks the driver skips) is
        // scanned by binding its members.
        foreach (var reference in type.DeclaringSyntaxReferences)
        {
            if (GeneratedCode.IsGenerated(reference.SyntaxTree))
            {
                var scanned = DisposedFields.Scan(ownership, type, candidates, cancellationToken);
                context.RegisterSymbolEndAction(end => Report(end, type, scanned, editable, disposal));
                return;
            }
        }

        var collector = new FieldLifetimeCollector(ownership, candidates);
        context.RegisterOperationBlockAction(block =>
        {
            foreach (var operation in block.OperationBlocks)
                collector.Add(block.OwningSymbol, operation, block.CancellationToken);
        });
        context.RegisterSymbolEndAction(end =>
        {
            DisposedFields.MarkMentionsOutsideOwnBlocks(disposal, type, collector, end.CancellationToken);
            Report(end, type, collector.Complete(), editable, disposal);
        });
    }

    private static void Report(SymbolAnalysisContext context, INamedTypeSymbol type, ImmutableArray<FieldLifetime> lifetimes, List<IMethodSymbol> editable, DisposableTypes disposal)
    {
        var cancellationToken = context.CancellationToken;
        foreach (var lifetime in lifetimes)
        {
            if (!lifetime.IsOwned || lifetime.IsDisposedBeyondReplacement || lifetime.CreatedType is not { } created
                || WrapsOnlyWhatTheTypeDisposes(lifetime, type, lifetimes, disposal))
            {
                continue;
            }

            var field = lifetime.Field;
            var sites = OwnedFieldDisposal.Sites(editable, disposal.IsDisposable(field.Type), disposal.IsAsyncDisposable(field.Type), cancellationToken);
            context.ReportDiagnostic(Diagnostic.Create(
                RuleCatalogue.UndisposedOwnedField,
                field.Locations[0],
                sites.Count > 0 ? FixProperties : ImmutableDictionary<string, string?>.Empty,
                field.Name,
                created.Name,
                type.Name,
                Methods(editable),
                Consequence(disposal, created, type)));
        }
    }

    /// <summary>
    /// A wrapper without a finalizer built over fields of the type that the type disposes itself
    /// (<c>_reader = new CryptoStream(_stream, _decryptor, CryptoStreamMode.Read)</c> where <c>Dispose</c> disposes
    /// <c>_stream</c> and <c>_decryptor</c>, LiteDB's AesStream): what it holds is released anyway, so "what it holds
    /// stays held" would be false. Every disposable argument must be such a field; a wrapper over something it was
    /// handed or created inline (<c>new StreamReader(File.OpenRead(path))</c>) is still reported.
    /// </summary>
    private static bool WrapsOnlyWhatTheTypeDisposes(FieldLifetime lifetime, INamedTypeSymbol type, ImmutableArray<FieldLifetime> lifetimes, DisposableTypes disposal)
    {
        var value = lifetime.Creation switch
        {
            IAssignmentOperation assignment => assignment.Value,
            ISymbolInitializerOperation initializer => initializer.Value,
            _ => null,
        };
        return value is not null && Wraps(value, type, lifetimes, disposal) == true;
    }

    /// <summary>True when the value is such a wrapper (or <c>c ? wrapper : null</c>, LiteDB's form), false when it is
    /// something else, null when it is null or default.</summary>
    private static bool? Wraps(IOperation value, INamedTypeSymbol type, ImmutableArray<FieldLifetime> lifetimes, DisposableTypes disposal)
    {
        while (value is IConversionOperation conversion)
            value = conversion.Operand;
        switch (value)
        {
            case ILiteralOperation { ConstantValue: { HasValue: true, Value: null } }:
            case IDefaultValueOperation:
                return null;
            case IConditionalOperation { WhenFalse: { } whenFalse } conditional:
                var whenTrue = Wraps(conditional.WhenTrue, type, lifetimes, disposal);
                var other = Wraps(whenFalse, type, lifetimes, disposal);
                return whenTrue == false || other == false ? false : whenTrue ?? other;
            case IObjectCreationOperation { Type: INamedTypeSymbol created } creation when disposal.Of(created).Finalizer is null:
                var wrapsAny = false;
                foreach (var argument in creation.Arguments)
                {
                    var passed = argument.Value;
                    while (passed is IConversionOperation inner)
                        passed = inner.Operand;
                    if (passed.Type is not { } argumentType || !(disposal.IsDisposable(argumentType) || disposal.IsAsyncDisposable(argumentType)))
                        continue;
                    if (passed is not IFieldReferenceOperation { Field: var field } reference
                        || !SymbolEqualityComparer.Default.Equals(field.ContainingType.OriginalDefinition, type.OriginalDefinition)
                        || !(field.IsStatic || reference.Instance is IInstanceReferenceOperation)
                        || !IsDisposedByTheType(field, lifetimes))
                    {
                        return false;
                    }

                    wrapsAny = true;
                }

                return wrapsAny;
            default:
                return false;
        }
    }

    private static bool IsDisposedByTheType(IFieldSymbol field, ImmutableArray<FieldLifetime> lifetimes)
    {
        foreach (var other in lifetimes)
        {
            if (SymbolEqualityComparer.Default.Equals(other.Field.OriginalDefinition, field.OriginalDefinition))
                return other.IsDisposedBeyondReplacement;
        }

        return false;
    }

    private static string Methods(List<IMethodSymbol> methods)
    {
        if (methods.Count == 1)
            return $"'{OwnedFieldDisposal.DisplayName(methods[0])}' does not";
        if (methods.Count == 2)
            return $"neither '{OwnedFieldDisposal.DisplayName(methods[0])}' nor '{OwnedFieldDisposal.DisplayName(methods[1])}' does";
        var text = new System.Text.StringBuilder("none of ");
        for (var i = 0; i < methods.Count; i++)
            text.Append(i == 0 ? string.Empty : i == methods.Count - 1 ? " and " : ", ").Append('\'').Append(OwnedFieldDisposal.DisplayName(methods[i])).Append('\'');
        return text.Append(" does").ToString();
    }

    /// <summary>What not disposing costs, true for the created type: a SafeHandle's own finalizer releases the handle
    /// eventually; another type's finalizer (own or inherited) releases what it holds eventually; a type without one
    /// releases nothing itself, only the finalizers of what it holds do, if they have any.</summary>
    private static string Consequence(DisposableTypes disposal, ITypeSymbol created, INamedTypeSymbol owner)
    {
        if (disposal.IsSafeHandle(created))
            return $"the handle stays open after '{owner.Name}' is disposed, until the garbage collector runs the SafeHandle's finalizer";
        if (created is INamedTypeSymbol named && disposal.Of(named).Finalizer is not null)
            return $"what it holds stays held after '{owner.Name}' is disposed, until the garbage collector finalizes it";
        return $"what it holds stays held after '{owner.Name}' is disposed; '{created.Name}' has no finalizer, so only the finalizers of what it holds, if any, ever release it";
    }
}
