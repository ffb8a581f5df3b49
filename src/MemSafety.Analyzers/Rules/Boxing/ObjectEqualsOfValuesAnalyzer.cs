using System.Collections.Immutable;
using MemSafety.Analyzers.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.Boxing;

/// <summary>
/// MSA2005. <c>object.Equals(a, b)</c> with two values of one value type boxes both (two <c>box</c>
/// instructions; docs/design/boxing.md) and then calls the virtual <c>Equals(object)</c>. For enums the
/// same comparison is <c>a == b</c>; for the BCL's own <c>IEquatable&lt;T&gt;</c> types (primitives,
/// DateTime, Guid, …) <c>a.Equals(b)</c> binds to <c>Equals(T)</c>, which those types define to agree with
/// <c>Equals(object)</c>. For user structs the two may disagree, so they are reported without a fix.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class ObjectEqualsOfValuesAnalyzer : MemSafetyAnalyzer
{
    /// <summary>Diagnostic property: "Operator" (enums: <c>a == b</c>) or "Equals" (<c>a.Equals(b)</c>); absent: no fix.</summary>
    public const string RewriteProperty = "Rewrite";

    private static readonly RuleScopeOption Scope = RuleScopeOption.For(RuleIdentifiers.ObjectEqualsOfValues, RuleScope.HotPaths);

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.ObjectEqualsOfValues);

    protected override void Register(AnalysisContext context) => context.RegisterCompilationStartAction(start =>
    {
        var services = CompilationServices.Get(start.Compilation, start.Options);
        // IEquatable<T> is looked up when a call is reported, not here: a compilation's first lookup is paid by whoever asks first.
        var oracle = services.HotPaths;
        start.RegisterOperationAction(operation =>
        {
            var invocation = (IInvocationOperation)operation.Operation;
            var method = invocation.TargetMethod;
            if (!method.IsStatic || method.Name != "Equals" || method.Parameters.Length != 2
                || method.ContainingType?.SpecialType != SpecialType.System_Object || invocation.Arguments.Length != 2)
            {
                return;
            }

            if (!TryBoxedValue(invocation.Arguments[0].Value, out var left) || !TryBoxedValue(invocation.Arguments[1].Value, out var right)
                || !SymbolEqualityComparer.Default.Equals(left.Type, right.Type) || invocation.Syntax.ContainsDiagnostics)
            {
                return;
            }

            var type = left.Type!;
            var scope = services.ScopeOf(Scope, invocation.Syntax.SyntaxTree);
            if (!oracle.IsInScope(scope, invocation, operation.ContainingSymbol))
                return;

            string? rewrite;
            string advice;
            if (type.TypeKind == TypeKind.Enum)
            {
                rewrite = "Operator";
                advice = "compare them with '=='";
            }
            else if (IsBclEquatable(type, services.Types))
            {
                rewrite = "Equals";
                advice = $"call 'Equals({type.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat)})' on the first one";
            }
            else
            {
                rewrite = null;
                advice = "compare them as their own type (implement IEquatable<T> and call Equals(T))";
            }

            var properties = rewrite is null ? ImmutableDictionary<string, string?>.Empty : ImmutableDictionary<string, string?>.Empty.Add(RewriteProperty, rewrite);
            operation.ReportDiagnostic(Diagnostic.Create(
                RuleCatalogue.ObjectEqualsOfValues,
                invocation.Syntax.GetLocation(),
                properties,
                type.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat),
                advice));
        }, OperationKind.Invocation);
    });

    /// <summary>An argument that is a boxing conversion of a non-nullable, concrete value type.</summary>
    private static bool TryBoxedValue(IOperation argument, out IOperation operand)
    {
        operand = argument;
        if (argument is not IConversionOperation { Type.SpecialType: SpecialType.System_Object, Operand: { Type: { IsValueType: true } type } value })
            return false;
        if (type.TypeKind == TypeKind.TypeParameter || type.OriginalDefinition.SpecialType == SpecialType.System_Nullable_T || type.IsRefLikeType)
            return false;
        operand = value;
        return true;
    }

    /// <summary>A type of the base library's System namespace that implements IEquatable of itself: its
    /// Equals(T) and Equals(object) are documented to agree.</summary>
    private static bool IsBclEquatable(ITypeSymbol type, WellKnownTypes types)
    {
        if (!type.DeclaringSyntaxReferences.IsEmpty || type.ContainingNamespace is not { Name: "System", ContainingNamespace.IsGlobalNamespace: true }
            || types.IEquatable is not { } equatable)
        {
            return false;
        }

        foreach (var implemented in type.AllInterfaces)
        {
            if (SymbolEqualityComparer.Default.Equals(implemented.OriginalDefinition, equatable)
                && SymbolEqualityComparer.Default.Equals(implemented.TypeArguments[0], type))
            {
                return true;
            }
        }

        return false;
    }
}
