using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;
using MemSafety.Analyzers.Core;

namespace MemSafety.Analyzers.Rules.Boxing;

/// <summary>
/// MSA2004. C# calls <c>ToString</c>, <c>GetHashCode</c> and <c>Equals(object)</c> on a struct through
/// <c>constrained. S callvirt Object::M</c>. When <c>S</c> does not implement <c>M</c> itself the runtime boxes
/// the receiver and runs the inherited <c>ValueType</c> member (docs/design/boxing.md, "constrained. calls");
/// <c>ValueType.Equals</c> may compare fields through reflection and <c>ValueType.GetHashCode</c> may hash one field.
/// Overload resolution binds the call to the most derived implementation the compiler can see, in source
/// and in metadata alike, so a call whose target method is declared by <c>System.ValueType</c> or
/// <c>System.Object</c> on a struct receiver is exactly the case. Enums are deliberately left out (see the docs).
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class StructMissingOverrideAnalyzer : MemSafetyAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.StructMissingOverride);

    protected override void Register(AnalysisContext context) => context.RegisterOperationAction(AnalyzeInvocation, OperationKind.Invocation);

    private static void AnalyzeInvocation(OperationAnalysisContext context)
    {
        var invocation = (IInvocationOperation)context.Operation;
        var method = invocation.TargetMethod;

        // Cheap prefilters: an instance call to a member declared by System.Object or System.ValueType.
        if (method.IsStatic || invocation.Instance is not { } instance)
            return;
        var declaring = method.ContainingType?.SpecialType ?? SpecialType.None;
        if (declaring != SpecialType.System_Object && declaring != SpecialType.System_ValueType)
            return;

        string member;
        string cost;
        switch (method.Name)
        {
            case WellKnownMemberNames.ObjectToString when method.Parameters.Length == 0:
                member = "ToString()";
                cost = "which only returns the type name";
                break;
            case WellKnownMemberNames.ObjectGetHashCode when method.Parameters.Length == 0:
                member = "GetHashCode()";
                cost = "which may read the fields through reflection and hash only the first one";
                break;
            case WellKnownMemberNames.ObjectEquals when method.Parameters.Length == 1 && method.Parameters[0].Type.SpecialType == SpecialType.System_Object:
                member = "Equals(object)";
                cost = "which may compare the fields through reflection";
                break;
            default:
                return;
        }

        // A struct (not an enum, a type parameter or a ref struct) known by its symbol. `base.M()` inside the
        // struct is a non-virtual call the author asked for explicitly; an error type is incomplete code.
        if (instance.Type is not INamedTypeSymbol { TypeKind: TypeKind.Struct, IsRefLikeType: false } type
            || instance.Syntax is BaseExpressionSyntax
            || type.SpecialType == SpecialType.System_Nullable_T
            || type.OriginalDefinition.SpecialType == SpecialType.System_Nullable_T)
        {
            return;
        }

        if (invocation.Syntax.ContainsDiagnostics)
            return;

        var boxes = member == "Equals(object)" ? "boxes the receiver (and the argument)" : "boxes the receiver";
        context.ReportDiagnostic(Diagnostic.Create(
            RuleCatalogue.StructMissingOverride,
            invocation.Syntax.GetLocation(),
            type.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat),
            member,
            boxes,
            cost));
    }
}
