using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;
using MemSafety.Analyzers.Core;

namespace MemSafety.Analyzers.Rules.Finalizers;

/// <summary>
/// MSA4001. A finalizer makes the runtime register every instance for finalization at allocation; the
/// GC then has to queue the dead object, run the finalizer on the finalizer thread and reclaim the
/// memory one collection later (and the object's whole graph is promoted a generation meanwhile).
/// Roslyn emits <c>Finalize</c> even for <c>~C() { }</c> in Release builds, so an empty finalizer pays
/// that price for nothing. While the SDK's CA1821 is on in a file, the finalizers it reports are left to it
/// (<see cref="Ca1821Reports"/>), so none is reported twice.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class EmptyFinalizerAnalyzer : MemSafetyAnalyzer
{
    /// <summary>Diagnostic property naming the conditional symbols (joined by <c>||</c>) a
    /// conditional-only finalizer should be compiled under; absent for a plainly empty one.</summary>
    public const string ConditionalSymbolsProperty = "ConditionalSymbols";

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.EmptyFinalizer);

    protected override void Register(AnalysisContext context) => context.RegisterCompilationStartAction(start =>
    {
        var sdk = CompilationServices.Get(start.Compilation, start.Options).SdkRules;
        start.RegisterOperationBlockAction(block => AnalyzeBlock(block, sdk));
    });

    private static void AnalyzeBlock(OperationBlockAnalysisContext context, SdkRules sdk)
    {
        if (context.OwningSymbol is not IMethodSymbol { MethodKind: MethodKind.Destructor, IsExtern: false } finalizer)
            return;

        // The operation blocks of a finalizer are its body: a block, or the block made of an arrow body.
        if (context.OperationBlocks.Length != 1 || context.OperationBlocks[0] is not IBlockOperation body)
            return;

        // Code as typed in an editor is often incomplete: stay silent on a finalizer with syntax errors.
        // A finalizer named after another type (CS0574) is being renamed or typed: also silent.
        if (body.Syntax.Parent is not DestructorDeclarationSyntax declaration
            || declaration.ContainsDiagnostics
            || declaration.Identifier.ValueText != finalizer.ContainingType.Name)
        {
            return;
        }

        // A body with #if regions is empty in this build only: other builds compile other code.
        if (HasConditionalDirectives(body.Syntax))
            return;

        var conditions = ImmutableArray.CreateBuilder<string>();
        if (!IsEmpty(body, conditions))
            return;

        var parseOptions = (CSharpParseOptions)declaration.SyntaxTree.Options;
        string reason;
        ImmutableDictionary<string, string?> properties;
        if (conditions.Count == 0)
        {
            reason = BaseFinalizerOwner(finalizer.ContainingType) is { } baseOwner
                ? $"is empty: it adds nothing to the finalizer it overrides in '{baseOwner.Name}'"
                : "is empty: every instance is still queued for finalization and survives one more garbage collection";
            properties = ImmutableDictionary<string, string?>.Empty;
        }
        else
        {
            // The calls are compiled in this build: the finalizer does work here.
            foreach (var symbol in parseOptions.PreprocessorSymbolNames)
            {
                if (conditions.Contains(symbol))
                    return;
            }

            var joined = string.Join(" || ", conditions);
            reason = $"only calls methods compiled under '{joined}', so this build compiles it empty: every instance is still queued for finalization";
            properties = ImmutableDictionary<string, string?>.Empty.Add(ConditionalSymbolsProperty, joined);
        }

        if (Ca1821Reports(body) && sdk.Reports(SdkRule.RemoveEmptyFinalizers, declaration.SyntaxTree, context.CancellationToken))
            return;

        context.ReportDiagnostic(Diagnostic.Create(
            RuleCatalogue.EmptyFinalizer,
            declaration.Identifier.GetLocation(),
            properties,
            finalizer.ContainingType.Name,
            reason));
    }

    /// <summary>
    /// Whether the SDK's CA1821 ("Remove empty finalizers") reports a finalizer with this body (NetAnalyzers 10): no
    /// operation in it that is written in source and has a type or a constant value, looking neither into throws nor
    /// into calls to methods marked <c>[Conditional]</c> (whatever the build defines). Statements have no type, so
    /// <c>;</c>, <c>return;</c> and blocks count as empty, as they do here.
    /// </summary>
    internal static bool Ca1821Reports(IOperation operation)
    {
        foreach (var child in operation.ChildOperations)
        {
            if (child is IThrowOperation || child is IInvocationOperation invocation && HasConditionalAttribute(invocation.TargetMethod))
                continue;
            if (!child.IsImplicit && (child.ConstantValue.HasValue || child.Type is not null))
                return false;
            if (!Ca1821Reports(child))
                return false;
        }

        return true;
    }

    private static bool HasConditionalAttribute(IMethodSymbol method)
    {
        foreach (var attribute in method.GetAttributes())
        {
            if (attribute.AttributeClass is { Name: "ConditionalAttribute" } attributeClass
                && attributeClass.ContainingNamespace?.ToDisplayString() == "System.Diagnostics")
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether the statement does nothing in a build without the conditional symbols it
    /// collects (calls to <c>[Conditional]</c> methods such as <c>Debug.Assert</c>).</summary>
    private static bool IsEmpty(IOperation operation, ImmutableArray<string>.Builder conditions)
    {
        switch (operation)
        {
            case IBlockOperation block:
                foreach (var statement in block.Operations)
                {
                    if (!IsEmpty(statement, conditions))
                        return false;
                }

                return true;
            case IEmptyOperation:
                return true;
            case IReturnOperation { ReturnedValue: null }:
                return true;
            case IReturnOperation { ReturnedValue: { } value }:
                // Expression-bodied finalizer: `~C() => Debug.WriteLine("")`.
                return IsEmpty(value, conditions);
            case IExpressionStatementOperation expression:
                return IsEmpty(expression.Operation, conditions);
            case IInvocationOperation invocation:
                return IsConditionalCall(invocation.TargetMethod, conditions);
            default:
                return false;
        }
    }

    private static bool IsConditionalCall(IMethodSymbol method, ImmutableArray<string>.Builder conditions)
    {
        var found = false;
        foreach (var attribute in method.GetAttributes())
        {
            if (attribute.AttributeClass is { Name: "ConditionalAttribute" } attributeClass
                && attributeClass.ContainingNamespace?.ToDisplayString() == "System.Diagnostics"
                && attribute.ConstructorArguments.Length == 1
                && attribute.ConstructorArguments[0].Value is string symbol)
            {
                found = true;
                if (!conditions.Contains(symbol))
                    conditions.Add(symbol);
            }
        }

        return found;
    }

    private static bool HasConditionalDirectives(SyntaxNode node)
    {
        if (!node.ContainsDirectives)
            return false;
        foreach (var trivia in node.DescendantTrivia(descendIntoTrivia: false))
        {
            if (trivia.IsKind(SyntaxKind.IfDirectiveTrivia) || trivia.IsKind(SyntaxKind.DisabledTextTrivia))
                return true;
        }

        return false;
    }

    /// <summary>The nearest base type (other than object) that declares a finalizer, if any.</summary>
    public static INamedTypeSymbol? BaseFinalizerOwner(INamedTypeSymbol type)
    {
        for (var t = type.BaseType; t is not null && t.SpecialType != SpecialType.System_Object; t = t.BaseType)
        {
            foreach (var member in t.GetMembers(WellKnownMemberNames.DestructorName))
            {
                if (member is IMethodSymbol { MethodKind: MethodKind.Destructor })
                    return t;
            }
        }

        return null;
    }
}
