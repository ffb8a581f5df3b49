using System.Collections.Generic;
using System.Collections.Immutable;
using MemSafety.Analyzers.Engines.ControlFlow;
using MemSafety.Analyzers.Engines.Effects;
using MemSafety.Analyzers.Engines.Escape;
using MemSafety.Analyzers.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.HeapEscapes;

/// <summary>
/// MSA1009. <c>for (…) { var buffer = new byte[size]; … }</c> allocates once per iteration. When the size
/// (or capacity) does not change in the loop and the object never outlives its iteration, one instance
/// created before the loop and reset at the top of each iteration does the same work with one allocation.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class LoopInvariantAllocationAnalyzer : MemSafetyAnalyzer
{
    /// <summary>Diagnostic property: how the fix resets the object each iteration ("ArrayClear" or "Clear").</summary>
    public const string ResetProperty = "Reset";

    private static readonly RuleScopeOption Scope = RuleScopeOption.For(RuleIdentifiers.LoopInvariantAllocation, RuleScope.HotPaths);

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.LoopInvariantAllocation);

    protected override void Register(AnalysisContext context) => context.RegisterCompilationStartAction(start =>
    {
        var services = CompilationServices.Get(start.Compilation, start.Options);
        var summaries = services.Summaries;
        var oracle = services.HotPaths;
        start.RegisterOperationAction(operation =>
        {
            var creation = operation.Operation;
            var reset = ResetFor(creation);
            if (reset is null)
                return;

            // The loop to hoist out of is the one whose iterations repeat the creation: not a loop that every
            // path leaves after it (hoisting would then allocate on every call instead of once on the way out),
            // and for a creation that only a break ends the inner loop after, the outer one.
            if (creation.Parent is not IVariableInitializerOperation { Parent: IVariableDeclaratorOperation declarator }
                || declarator.Parent is not IVariableDeclarationOperation { Declarators.Length: 1, Parent: IVariableDeclarationGroupOperation group }
                || group.Syntax is not LocalDeclarationStatementSyntax { UsingKeyword.RawKind: 0 }
                || declarator.Symbol.RefKind != RefKind.None
                || LoopCycles.RepeatingLoop(creation) is not { } loop)
            {
                return;
            }

            // A large array is MSA1003's (it reports in loops too): never both on one node.
            if (creation is IArrayCreationOperation { DimensionSizes: var sizes } array && sizes[0].ConstantValue is { HasValue: true, Value: int n }
                && (long)n * ScratchArrays.SizeOf(((IArrayTypeSymbol)array.Type!).ElementType, includeReferences: true) + 24 >= LargeTemporaryArrayAnalyzer.LargeObjectThreshold)
            {
                return;
            }

            var scope = services.ScopeOf(Scope, creation.Syntax.SyntaxTree);
            if (!oracle.IsInScope(scope, creation, operation.ContainingSymbol))
                return;

            // Every argument must be the same on each iteration and never negative (hoisting must not make a
            // loop that runs zero times throw).
            foreach (var argument in Arguments(creation))
            {
                if (!IsInvariantNonNegative(argument, loop))
                    return;
            }

            // The object must die with its iteration; then one instance, reset, serves every iteration.
            if (EscapeEngine.ForBodyOf(creation, summaries, operation.CancellationToken).Analyze(creation).Escapes)
                return;

            var type = creation.Type!;
            var properties = ImmutableDictionary<string, string?>.Empty.Add(ResetProperty, reset);
            operation.ReportDiagnostic(Diagnostic.Create(
                RuleCatalogue.LoopInvariantAllocation,
                creation.Syntax.GetLocation(),
                ImmutableArray.Create(loop.Syntax.GetLocation()),
                properties,
                creation.Syntax.ToString(),
                type.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat),
                reset == "ArrayClear" ? "clear" : "Clear()"));
        }, OperationKind.ArrayCreation, OperationKind.ObjectCreation);
    });

    /// <summary>How an instance is reset to the state of a fresh one, or null for allocations this rule does not handle.</summary>
    private static string? ResetFor(IOperation creation)
    {
        switch (creation)
        {
            case IArrayCreationOperation { Initializer: null, DimensionSizes.Length: 1, Type: IArrayTypeSymbol { Rank: 1 } }:
                return "ArrayClear";
            case IObjectCreationOperation { Initializer: null, Type: INamedTypeSymbol type, Constructor: { } constructor }:
                if (!IsResettable(type))
                    return null;
                // new List<T>() or new List<T>(capacity): other constructors copy or configure.
                foreach (var parameter in constructor.Parameters)
                {
                    if (parameter.Type.SpecialType != SpecialType.System_Int32)
                        return null;
                }

                return "Clear";
            default:
                return null;
        }
    }

    private static bool IsResettable(INamedTypeSymbol type)
    {
        var ns = type.ContainingNamespace;
        if (type.Name == "StringBuilder")
            return NonRetainingMembers.IsNamespace(ns, "System.Text");
        return type.Name is "List" or "HashSet" or "Dictionary" or "Queue" or "Stack"
               && NonRetainingMembers.IsNamespace(ns, "System.Collections.Generic");
    }

    private static IEnumerable<IOperation> Arguments(IOperation creation) => creation switch
    {
        IArrayCreationOperation array => array.DimensionSizes,
        IObjectCreationOperation objectCreation => ArgumentValues(objectCreation.Arguments),
        _ => System.Linq.Enumerable.Empty<IOperation>(),
    };

    private static IEnumerable<IOperation> ArgumentValues(ImmutableArray<IArgumentOperation> arguments)
    {
        foreach (var argument in arguments)
            yield return argument.Value;
    }

    /// <summary>Constants that are not negative, and Length/Count of locals or parameters the loop does
    /// not change, combined with + and *.</summary>
    private static bool IsInvariantNonNegative(IOperation operation, ILoopOperation loop) => operation switch
    {
        { ConstantValue: { HasValue: true, Value: int value } } => value >= 0,
        IConversionOperation { IsImplicit: true } conversion => IsInvariantNonNegative(conversion.Operand, loop),
        IPropertyReferenceOperation { Property.Name: "Length" or "Count", Arguments.IsEmpty: true, Instance: { } instance } => IsInvariantReceiver(instance, loop),
        IBinaryOperation { OperatorKind: BinaryOperatorKind.Add or BinaryOperatorKind.Multiply } binary
            => IsInvariantNonNegative(binary.LeftOperand, loop) && IsInvariantNonNegative(binary.RightOperand, loop),
        _ => false,
    };

    private static bool IsInvariantReceiver(IOperation instance, ILoopOperation loop) => instance switch
    {
        ILocalReferenceOperation local => local.Type is IArrayTypeSymbol or { SpecialType: SpecialType.System_String } && !LocalWrites.MayChange(loop, local.Local),
        IParameterReferenceOperation parameter => parameter.Type is IArrayTypeSymbol or { SpecialType: SpecialType.System_String } && !LocalWrites.MayChange(loop, parameter.Parameter),
        _ => false,
    };
}
