using System.Collections.Immutable;
using MemSafety.Analyzers.Compat;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Bodies;
using MemSafety.Analyzers.Engines.Closures;
using MemSafety.Analyzers.Engines.ControlFlow;
using MemSafety.Analyzers.Engines.Effects;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.Closures;

/// <summary>
/// MSA3004. A delegate the compiler cannot cache, created in a loop or a hot path: an instance method group
/// (<c>M</c>, <c>this.M</c>, <c>other.M</c>, an extension method on a receiver), a lambda that captures only
/// <c>this</c> (an instance method of the type, with no display class to cache its delegate in), and before C# 11 a
/// static method group. Each evaluation allocates a new delegate. Struct receivers are MSA2001's (the receiver is
/// boxed too); capturing lambdas are MSA3002's; local functions are left to MSA3005.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class UncachedDelegateAnalyzer : MemSafetyAnalyzer
{
    /// <summary>Diagnostic property: what the delegate is made from, for the fix: <see cref="ThisMethod"/>,
    /// <see cref="ThisLambda"/> or <see cref="StaticMethod"/> (absent for a delegate bound to another object: no fix).</summary>
    public const string KindProperty = "Kind";

    /// <summary>Diagnostic property set when the target method uses no instance state and could be made static (C# 11 or later).</summary>
    public const string CanBeStaticProperty = "CanBeStatic";

    public const string ThisMethod = "ThisMethod";
    public const string ThisLambda = "ThisLambda";
    public const string StaticMethod = "StaticMethod";

    /// <summary>A delegate bound to another object: reported without a fix (no <see cref="KindProperty"/>).</summary>
    private const string OtherObject = "OtherObject";

    private static readonly RuleScopeOption Scope = RuleScopeOption.For(RuleIdentifiers.UncachedDelegate, RuleScope.HotPaths);

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.UncachedDelegate);

    protected override void Register(AnalysisContext context) => context.RegisterCompilationStartAction(start =>
    {
        var services = CompilationServices.Get(start.Compilation, start.Options);
        start.RegisterOperationAction(operation => Analyze(operation, services), OperationKind.DelegateCreation);
    });

    private static void Analyze(OperationAnalysisContext context, CompilationServices services)
    {
        var creation = (IDelegateCreationOperation)context.Operation;
        if (creation.Type is not { TypeKind: TypeKind.Delegate } delegateType || creation.Syntax.ContainsDiagnostics)
            return;

        // Cheap shape first: what the compiler caches, and what other rules own, stops here.
        switch (creation.Target)
        {
            case IMethodReferenceOperation { Method.MethodKind: MethodKind.LocalFunction }:
                return;
            case IMethodReferenceOperation { Method: { IsStatic: true, ReducedFrom: null } } when LanguageVersionOf(creation) >= RoslynEnums.CSharp11:
                return;
            case IMethodReferenceOperation:
            case IAnonymousFunctionOperation { Symbol.IsStatic: false }:
                break;
            default:
                return;
        }

        var oracle = services.HotPaths;
        if (!oracle.IsInScope(services.ScopeOf(Scope, creation.Syntax.SyntaxTree), creation, context.ContainingSymbol)
            || OneTimeCode.IsOneTime(context.ContainingSymbol, oracle)
            // 'cache ??= M' and 'cache ?? (cache = M)' create the delegate once (what the fix writes).
            || IsLazilyCached(creation) || services.ColdPaths.IsColdOrNotRun(creation))
        {
            return;
        }

        string subject, reason, kind;
        IMethodSymbol? target = null;
        switch (creation.Target)
        {
            case IMethodReferenceOperation reference:
                var method = reference.Method;
                subject = $"Method group '{MessageText.Quote(reference.Syntax)}'";
                if (method.IsStatic && method.ReducedFrom is null)
                {
                    // C# 11 caches the delegate of a static method group in a static field (<>O): filtered above.
                    kind = StaticMethod;
                    reason = $"before C# 11 the compiler does not cache delegates of static methods (this code is compiled as C# {LanguageVersionOf(creation).ToDisplayString()})";
                }
                else if (reference.Instance is IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance } self && method.ReducedFrom is null)
                {
                    // A struct's method group boxes 'this': MSA2001 reports that.
                    if (self.Type is not { IsReferenceType: true })
                        return;
                    kind = ThisMethod;
                    target = method;
                    reason = $"'{method.Name}' is an instance method, so the delegate is bound to 'this' and the compiler cannot cache it";
                }
                else
                {
                    // Avoidable only when the receiver is the same object each time: a readonly field, or in a loop a
                    // local or parameter the loop does not change. A receiver created or read anew (new X().M, item.M,
                    // kvp.Key.StartsWith) needs a new delegate each time.
                    if (reference.Instance is not { Type.IsReferenceType: true } receiver || !IsStableReceiver(receiver, creation))
                        return;
                    kind = OtherObject;
                    reason = $"the delegate is bound to '{MessageText.Quote(receiver)}', so the compiler cannot cache it";
                }

                break;
            case IAnonymousFunctionOperation lambda:
                var facts = BodyFacts.Of(creation);
                if (facts.CapturedBy(lambda).Count != 0 || !facts.CapturesThis(lambda) || LoopClosure.CallsLocalFunction(lambda))
                    return;
                // An argument of a method with a state-passing form is MSA3001's, whose fix removes the delegate too,
                // where MSA3001's own scope reaches it (hot paths and loops by default, everywhere under Strict).
                if (lambda.Parent is IDelegateCreationOperation { Parent: IArgumentOperation { Parent: { } call } }
                    && oracle.IsInScope(services.ScopeOf(StatePassingOverloadAnalyzer.Scope, creation.Syntax.SyntaxTree), call, context.ContainingSymbol)
                    && StatePassingPlan.For(lambda, services.StateOverloads) is not null)
                    return;
                subject = "Lambda";
                kind = ThisLambda;
                reason = "it uses only 'this', so it becomes an instance method of the type and the compiler cannot cache its delegate";
                break;
            default:
                return;
        }

        // Subscribing to an event outside a loop is registration: once per object.
        var onCycle = creation.IsExecutedPerLoopIteration();
        if (!onCycle && IsEventSubscription(creation))
            return;

        var frequency = MessageText.Frequency(creation, context.ContainingSymbol, oracle);
        var perIteration = onCycle;
        if (kind == ThisLambda && onCycle && !ClosureFacts.Of(creation).CapturesOnlyThis(creation.Target)
            && ClosureFacts.Of(creation).EnvironmentsOf(creation.Target) is { Count: > 0 } environments
            && !DelegateCaching.IsCreatedOnEachEvaluation(creation, environments[environments.Count - 1].Scope))
        {
            // The lambda lives in a display class that holds 'this' (another function captures a variable of the
            // member), which caches its delegate: not one per iteration.
            if (!oracle.IsHot(context.ContainingSymbol))
                return;
            frequency = "on every call of this hot path";
            perIteration = false;
        }

        var properties = ImmutableDictionary<string, string?>.Empty;
        // No field can be declared of a delegate type that uses a type parameter of a generic method or an anonymous type
        // (the fix is not offered): the advice says what can be done instead.
        var unnameable = UnnameablePart(delegateType);
        string advice;
        switch (kind)
        {
            case ThisMethod:
                properties = properties.Add(KindProperty, kind);
                if (target is not null && CanBeStatic(target, creation, delegateType))
                {
                    properties = properties.Add(CanBeStaticProperty, "true");
                    advice = $"'{target.Name}' uses no instance state: make it static (the compiler caches delegates of static methods)"
                             + (unnameable is null ? ", or cache the delegate in a field" : "");
                }
                else
                {
                    advice = unnameable is null ? "cache the delegate in a field of this object" : NoFieldAdvice(unnameable, perIteration);
                }

                break;
            case ThisLambda:
                // A query clause's lambda has no syntax of its own to cache.
                if (creation.Target.Syntax is Microsoft.CodeAnalysis.CSharp.Syntax.AnonymousFunctionExpressionSyntax)
                    properties = properties.Add(KindProperty, kind);
                advice = unnameable is null ? "cache the delegate in a field of this object" : NoFieldAdvice(unnameable, perIteration);
                break;
            case StaticMethod:
                properties = properties.Add(KindProperty, kind);
                advice = unnameable is null
                    ? "cache it in a static readonly field, or compile with C# 11 or later"
                    : unnameable is ITypeParameterSymbol typeParameter
                        ? $"its type uses {TypeParameterText(typeParameter)}, so cache it in a static readonly field of a generic static class (one per type argument), or compile with C# 11 or later"
                        : "its type uses an anonymous type, which no field can be declared of: compile with C# 11 or later, which caches it";
                break;
            default:
                advice = "create it once, where its target is known, and reuse it";
                break;
        }

        context.ReportDiagnostic(Diagnostic.Create(
            RuleCatalogue.UncachedDelegate,
            creation.Target.Syntax.GetLocation(),
            properties,
            subject,
            delegateType.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat),
            frequency,
            reason,
            advice));
    }

    /// <summary>The advice for a delegate bound to 'this' whose type uses a type parameter of a generic method: no field
    /// can hold it. In a loop it can still be created once before the loop; per call, only a cache keyed by the type
    /// argument could keep one.</summary>
    private static string NoFieldAdvice(ITypeSymbol unnameable, bool perIteration)
        => unnameable is ITypeParameterSymbol typeParameter
            ? $"its type uses {TypeParameterText(typeParameter)}, so no field can hold it: "
              + (perIteration ? "create it once before the loop and reuse it" : "only a cache of this object keyed by the type argument could keep it")
            : "its type uses an anonymous type, so no field can hold it: "
              + (perIteration ? "create it once before the loop and reuse it" : "name the type (a record or a tuple) to cache it in a field");

    private static string TypeParameterText(ITypeParameterSymbol typeParameter)
        => $"'{typeParameter.Name}', a type parameter of '{typeParameter.DeclaringMethod?.Name}'";

    /// <summary>A part of the type no field declaration can name: a type parameter of a method or an anonymous type,
    /// anywhere in it (a delegate type's arguments, arrays, pointers).</summary>
    private static ITypeSymbol? UnnameablePart(ITypeSymbol type)
    {
        switch (type)
        {
            case ITypeParameterSymbol { TypeParameterKind: TypeParameterKind.Method } parameter:
                return parameter;
            case IArrayTypeSymbol array:
                return UnnameablePart(array.ElementType);
            case IPointerTypeSymbol pointer:
                return UnnameablePart(pointer.PointedAtType);
            case INamedTypeSymbol { IsAnonymousType: true } anonymous:
                return anonymous;
            case INamedTypeSymbol named:
                for (var current = named; current is not null; current = current.ContainingType)
                {
                    foreach (var argument in current.TypeArguments)
                    {
                        if (UnnameablePart(argument) is { } found)
                            return found;
                    }
                }

                return null;
            default:
                return null;
        }
    }

    private static bool IsStableReceiver(IOperation receiver, IOperation creation)
    {
        switch (receiver.WithoutImplicitConversions())
        {
            case IFieldReferenceOperation { Field.IsReadOnly: true, Instance: null or IInstanceReferenceOperation }:
                return true;
            case ILocalReferenceOperation { Local: var local }:
                return LoopCycles.RepeatingLoop(creation) is { } loop && !LocalWrites.MayChange(loop, local);
            case IParameterReferenceOperation { Parameter: var parameter }:
                return LoopCycles.RepeatingLoop(creation) is { } loop2 && !LocalWrites.MayChange(loop2, parameter);
            default:
                return false;
        }
    }

    private static LanguageVersion LanguageVersionOf(IOperation operation)
        => operation.Syntax.SyntaxTree.Options is CSharpParseOptions options ? options.LanguageVersion : LanguageVersion.Latest;

    /// <summary>The value of <c>field ??= …</c> or of <c>field ?? (field = …)</c> (a field, or a local of the function):
    /// created only while the variable is null.</summary>
    internal static bool IsLazilyCached(IOperation creation)
    {
        var value = creation;
        while (value.Parent is IConversionOperation { IsImplicit: true } conversion)
            value = conversion;
        return value.Parent switch
        {
            ICoalesceAssignmentOperation assignment => assignment.Value == value && IsCacheVariable(assignment.Target),
            ISimpleAssignmentOperation { Parent: ICoalesceOperation coalesce } assignment
                => assignment.Value == value && coalesce.WhenNull == assignment && IsCacheVariable(assignment.Target)
                   && SameVariable(coalesce.Value.WithoutImplicitConversions(), assignment.Target),
            _ => false,
        };
    }

    private static bool IsCacheVariable(IOperation target) => target is IFieldReferenceOperation { Instance: null or IInstanceReferenceOperation } or ILocalReferenceOperation;

    private static bool SameVariable(IOperation a, IOperation b) => (a, b) switch
    {
        (IFieldReferenceOperation x, IFieldReferenceOperation y) => SymbolEqualityComparer.Default.Equals(x.Field, y.Field),
        (ILocalReferenceOperation x, ILocalReferenceOperation y) => SymbolEqualityComparer.Default.Equals(x.Local, y.Local),
        _ => false,
    };

    private static bool IsEventSubscription(IOperation creation)
    {
        var value = creation;
        while (value.Parent is IConversionOperation { IsImplicit: true } conversion)
            value = conversion;
        return value.Parent is IEventAssignmentOperation;
    }

    /// <summary>
    /// Whether <paramref name="method"/> could be made static so that the compiler caches its delegate: C# 11 or later,
    /// a private ordinary non-generic method declared once in this file, not virtual, abstract, an override, extern,
    /// partial or an interface implementation, whose body uses no instance state, converted to a delegate type without
    /// type parameters.
    /// </summary>
    private static bool CanBeStatic(IMethodSymbol method, IOperation creation, ITypeSymbol delegateType)
    {
        if (LanguageVersionOf(creation) < RoslynEnums.CSharp11 || method.MethodKind != MethodKind.Ordinary
            || method.DeclaredAccessibility != Accessibility.Private || method.IsGenericMethod || method.IsVirtual || method.IsAbstract
            || method.IsOverride || method.IsExtern || method.PartialDefinitionPart is not null || method.PartialImplementationPart is not null
            || method.DeclaringSyntaxReferences.Length != 1 || ContainsTypeParameter(delegateType) || method.ContainingType is not { TypeKind: TypeKind.Class } type)
        {
            return false;
        }

        foreach (var @interface in type.AllInterfaces)
        {
            foreach (var member in @interface.GetMembers())
            {
                if (SymbolEqualityComparer.Default.Equals(type.FindImplementationForInterfaceMember(member), method))
                    return false;
            }
        }

        var declaration = method.DeclaringSyntaxReferences[0];
        var model = creation.SemanticModel;
        if (model is null || declaration.SyntaxTree != model.SyntaxTree)
            return false;
        var body = model.GetOperation(declaration.GetSyntax());
        if (body is null)
            return false;
        foreach (var operation in body.Descendants())
        {
            if (operation is IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance } || operation is IInvalidOperation)
                return false;
        }

        return true;
    }

    internal static bool ContainsTypeParameter(ITypeSymbol type) => type switch
    {
        ITypeParameterSymbol => true,
        IArrayTypeSymbol array => ContainsTypeParameter(array.ElementType),
        IPointerTypeSymbol pointer => ContainsTypeParameter(pointer.PointedAtType),
        INamedTypeSymbol named => ContainsTypeParameter(named.TypeArguments) || named.ContainingType is { } outer && ContainsTypeParameter(outer),
        _ => false,
    };

    private static bool ContainsTypeParameter(ImmutableArray<ITypeSymbol> types)
    {
        foreach (var type in types)
        {
            if (ContainsTypeParameter(type))
                return true;
        }

        return false;
    }
}
