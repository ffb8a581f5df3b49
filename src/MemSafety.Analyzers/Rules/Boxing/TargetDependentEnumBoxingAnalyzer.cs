using System.Collections.Immutable;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;
using MemSafety.Analyzers.Core;

namespace MemSafety.Analyzers.Rules.Boxing;

/// <summary>
/// MSA2007. Enum helpers whose boxing depends on the target framework:
/// <c>Enum.HasFlag</c> boxes the receiver and the flag, which CoreCLR removes (an intrinsic) and .NET Framework
/// does not — reported only when the core library is <c>mscorlib</c> (docs/design/boxing.md, finding 6);
/// <c>Enum.IsDefined(typeof(E), value)</c> and <c>Enum.GetName(typeof(E), value)</c> box the value, and are
/// reported only when the target has the generic overloads (.NET 5+) that do not.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class TargetDependentEnumBoxingAnalyzer : MemSafetyAnalyzer
{
    /// <summary>Diagnostic property: which rewrite the fix applies ("Generic" or "BitTest"); absent when none is safe.</summary>
    public const string FixProperty = "Fix";
    public const string GenericFix = "Generic";
    public const string BitTestFix = "BitTest";

    private static readonly RuleScopeOption Scope = RuleScopeOption.For(RuleIdentifiers.TargetDependentEnumBoxing, RuleScope.HotPathsAndLoops);

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.TargetDependentEnumBoxing);

    // Nothing is looked up at compilation start (System.Enum, the core library): a compilation's first lookups are paid by
    // whichever callback asks first. The first call to a method of System.Enum brings the type with it.
    protected override void Register(AnalysisContext context) => context.RegisterCompilationStartAction(start =>
    {
        var services = CompilationServices.Get(start.Compilation, start.Options);
        var oracle = services.HotPaths;
        EnumFacts? known = null;
        start.RegisterOperationAction(context =>
        {
            var invocation = (IInvocationOperation)context.Operation;
            var method = invocation.TargetMethod;
            if (method.ContainingType is not { SpecialType: SpecialType.System_Enum } enumType || method.IsGenericMethod || invocation.Syntax.ContainsDiagnostics)
                return;
            // Two threads may both compute the facts of the one System.Enum; they agree.
            var facts = Volatile.Read(ref known);
            if (facts is null)
            {
                facts = new EnumFacts(enumType);
                Volatile.Write(ref known, facts);
            }

            if (!facts.AnyReported)
                return;
            var isNetFramework = facts.IsNetFramework;
            var hasGenericIsDefined = facts.HasGenericIsDefined;
            var hasGenericGetName = facts.HasGenericGetName;
            // One box per call is worth a change where the call repeats: hot paths and loop cycles (judged on
            // third-party libraries: a schema writer's once-per-type IsDefined is not worth a warning).
            var scope = services.ScopeOf(Scope, invocation.Syntax.SyntaxTree);
            if (!oracle.IsInScope(scope, invocation, context.ContainingSymbol))
                return;

            switch (method.Name)
            {
                case "HasFlag" when isNetFramework && !method.IsStatic && invocation.Arguments.Length == 1:
                    AnalyzeHasFlag(context, invocation);
                    break;
                case "IsDefined" when hasGenericIsDefined && method.IsStatic && invocation.Arguments.Length == 2:
                case "GetName" when hasGenericGetName && method.IsStatic && invocation.Arguments.Length == 2:
                    AnalyzeTypeAndValue(context, invocation, method.Name);
                    break;
            }
        }, OperationKind.Invocation);
    });

    /// <summary>What the compilation's System.Enum offers: the generic overloads that do not box, and whether the core
    /// library is .NET Framework's mscorlib (where the JIT does not remove HasFlag's boxes).</summary>
    private sealed class EnumFacts
    {
        public EnumFacts(INamedTypeSymbol enumType)
        {
            IsNetFramework = enumType.ContainingAssembly?.Name == "mscorlib";
            HasGenericIsDefined = HasGenericOverload(enumType, "IsDefined");
            HasGenericGetName = HasGenericOverload(enumType, "GetName");
        }

        public bool IsNetFramework { get; }

        public bool HasGenericIsDefined { get; }

        public bool HasGenericGetName { get; }

        /// <summary>Whether any of the rule's cases can be reported in this compilation.</summary>
        public bool AnyReported => IsNetFramework || HasGenericIsDefined || HasGenericGetName;
    }

    private static void AnalyzeHasFlag(OperationAnalysisContext context, IInvocationOperation invocation)
    {
        // Only `e.HasFlag(flag)` with both of the same concrete enum type (another type throws at run time).
        if (invocation.Instance is not { Type: { TypeKind: TypeKind.Enum } enumType } instance
            || BoxedOperand(invocation.Arguments[0].Value) is not { } flag
            || !SymbolEqualityComparer.Default.Equals(flag.Type, enumType))
        {
            return;
        }

        // The rewrite reads the flag twice: only when reading it has no side effects. `e?.HasFlag(f)` is left alone.
        var properties = ImmutableDictionary<string, string?>.Empty;
        if (invocation.Syntax is InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax } && IsSideEffectFree(flag)
            && instance is not IConditionalAccessInstanceOperation)
        {
            properties = properties.Add(FixProperty, BitTestFix);
        }

        var name = enumType.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat);
        context.ReportDiagnostic(Diagnostic.Create(
            RuleCatalogue.TargetDependentEnumBoxing,
            invocation.Syntax.GetLocation(),
            properties,
            "HasFlag",
            $"the '{name}' value and the flag",
            "this project targets .NET Framework (mscorlib), where the JIT does not remove these boxes; '(value & flag) == flag' does not box"));
    }

    private static void AnalyzeTypeAndValue(OperationAnalysisContext context, IInvocationOperation invocation, string name)
    {
        if (Argument(invocation, 0) is not ITypeOfOperation { TypeOperand: { TypeKind: TypeKind.Enum } enumType }
            || Argument(invocation, 1) is not { } value
            || BoxedOperand(value) is not { } operand
            || !SymbolEqualityComparer.Default.Equals(operand.Type, enumType))
        {
            return;
        }

        var enumName = enumType.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat);
        var properties = invocation.Syntax is InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax or IdentifierNameSyntax }
            ? ImmutableDictionary<string, string?>.Empty.Add(FixProperty, GenericFix)
            : ImmutableDictionary<string, string?>.Empty;
        context.ReportDiagnostic(Diagnostic.Create(
            RuleCatalogue.TargetDependentEnumBoxing,
            invocation.Syntax.GetLocation(),
            properties,
            "Enum." + name + "(Type, object)",
            $"the '{enumName}' value",
            $"this target has 'Enum.{name}<{enumName}>({enumName})', which does not box"));
    }

    /// <summary>The argument bound to parameter <paramref name="ordinal"/> (named arguments may be reordered).</summary>
    private static IOperation? Argument(IInvocationOperation invocation, int ordinal)
    {
        foreach (var argument in invocation.Arguments)
        {
            if (argument.Parameter?.Ordinal == ordinal)
                return argument.Value;
        }

        return null;
    }

    /// <summary>The value-type operand of an implicit boxing conversion, or null.</summary>
    private static IOperation? BoxedOperand(IOperation value)
        => value is IConversionOperation { IsImplicit: true, Operand: { Type.IsValueType: true } operand } ? operand : null;

    private static bool IsSideEffectFree(IOperation operation) => operation switch
    {
        _ when operation.ConstantValue.HasValue => true,
        ILocalReferenceOperation or IParameterReferenceOperation => true,
        IFieldReferenceOperation { Instance: null } => true,
        IFieldReferenceOperation { Instance: IInstanceReferenceOperation } => true,
        _ => false,
    };

    private static bool HasGenericOverload(INamedTypeSymbol enumType, string name)
    {
        foreach (var member in enumType.GetMembers(name))
        {
            if (member is IMethodSymbol { IsStatic: true, IsGenericMethod: true, Parameters.Length: 1 })
                return true;
        }

        return false;
    }
}
