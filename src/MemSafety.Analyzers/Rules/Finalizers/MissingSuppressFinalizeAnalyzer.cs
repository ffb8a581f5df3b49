using System.Collections.Generic;
using System.Collections.Immutable;
using System.Threading;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Disposal;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.Finalizers;

/// <summary>
/// MSA4002. An object whose type has a finalizer is registered for finalization when it is allocated;
/// <c>GC.SuppressFinalize(this)</c> takes it off that list. A <c>Dispose</c> that releases the object's resources
/// without it leaves a disposed object to the finalizer thread: it survives the collection that finds it dead, is
/// promoted with everything it references, and its finalizer still runs. Reported only for types that have a
/// finalizer doing work (own, inherited, or of a derived type of the compilation that inherits this
/// <c>Dispose</c>), and only when the <c>Dispose</c> reaches what that finalizer releases (it calls the same
/// methods), so adding the call never leaves a resource to nobody.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class MissingSuppressFinalizeAnalyzer : MemSafetyAnalyzer
{
    /// <summary>Diagnostic property, present when appending <c>GC.SuppressFinalize(this);</c> at the end of the
    /// method covers every path that misses it.</summary>
    public const string CanAppendProperty = "CanAppend";

    private static readonly ImmutableDictionary<string, string?> AppendProperties = ImmutableDictionary<string, string?>.Empty.Add(CanAppendProperty, "true");

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.MissingSuppressFinalize);

    protected override void Register(AnalysisContext context) => context.RegisterCompilationStartAction(start =>
    {
        var disposal = CompilationServices.Get(start.Compilation, start.Options).Disposal;
        if (disposal.DisposeInterfaceMember is null && disposal.DisposeAsyncInterfaceMember is null)
            return;
        start.RegisterOperationBlockAction(block => AnalyzeBlock(block, disposal));
    });

    private static void AnalyzeBlock(OperationBlockAnalysisContext context, DisposableTypes disposal)
    {
        // Shape first: an instance method without parameters named Dispose or DisposeAsync (or their explicit
        // implementations) of a class.
        if (context.OwningSymbol is not IMethodSymbol { IsStatic: false, IsAbstract: false, Parameters.Length: 0 } method
            || method.MethodKind is not (MethodKind.Ordinary or MethodKind.ExplicitInterfaceImplementation)
            || !IsDisposeName(method.Name)
            || method.ContainingType is not { TypeKind: TypeKind.Class } type)
        {
            return;
        }

        IBlockOperation? body = null;
        foreach (var block in context.OperationBlocks)
        {
            if (block is IBlockOperation candidate)
            {
                body = candidate;
                break;
            }
        }

        if (body is null || body.Syntax.ContainsDiagnostics)
            return;

        var cancellationToken = context.CancellationToken;
        var facts = disposal.Of(type);
        if (facts.IsSafeHandle)
            return;
        var isDispose = Same(method, facts.DisposeMethod);
        if (!isDispose && !Same(method, facts.DisposeAsyncMethod))
            return;

        if (FinalizableRunner(method, type, facts, disposal, isDispose, cancellationToken) is not var (finalizable, finalizer))
            return;
        // The finalizer whose cost MSA4005 reports as useless is better removed than suppressed.
        if (ManagedStateFinalizers.Applies(disposal.Of(finalizable), cancellationToken) is not null)
            return;
        if (!Reaches(method, body, finalizer, disposal, cancellationToken))
            return;

        if (SuppressFinalizePaths.Analyze(body, method, disposal, cancellationToken) is not { Misses: true } verdict)
            return;

        var owner = finalizer.ContainingType;
        string detail;
        if (!SymbolEqualityComparer.Default.Equals(finalizable.OriginalDefinition, type.OriginalDefinition))
            detail = " and inherits this method";
        else if (!SymbolEqualityComparer.Default.Equals(owner.OriginalDefinition, type.OriginalDefinition))
            detail = $" (inherited from '{owner.Name}')";
        else
            detail = string.Empty;

        var canAppend = verdict.CanAppend && (method.ReturnsVoid || method.IsAsync)
                        && method.DeclaringSyntaxReferences.Length == 1
                        && method.DeclaringSyntaxReferences[0].GetSyntax(cancellationToken) is MethodDeclarationSyntax;
        context.ReportDiagnostic(Diagnostic.Create(
            RuleCatalogue.MissingSuppressFinalize,
            method.Locations[0],
            canAppend ? AppendProperties : ImmutableDictionary<string, string?>.Empty,
            method.MethodKind == MethodKind.ExplicitInterfaceImplementation ? method.ExplicitInterfaceImplementations[0].ContainingType.Name + "." + method.ExplicitInterfaceImplementations[0].Name : method.Name,
            verdict.SometimesSuppresses ? " on every path that releases resources" : string.Empty,
            finalizable.Name,
            detail));
    }

    private static bool IsDisposeName(string name)
        => name is "Dispose" or "DisposeAsync" || name.EndsWith(".Dispose", System.StringComparison.Ordinal) || name.EndsWith(".DisposeAsync", System.StringComparison.Ordinal);

    private static bool Same(IMethodSymbol method, IMethodSymbol? other)
        => other is not null && SymbolEqualityComparer.Default.Equals(method.OriginalDefinition, other.OriginalDefinition);

    /// <summary>The type whose instances run this method and have a finalizer that does work: the method's own type,
    /// else the first derived type of the compilation that inherits the method and has one; with that finalizer.</summary>
    private static (INamedTypeSymbol Type, IMethodSymbol Finalizer)? FinalizableRunner(
        IMethodSymbol method, INamedTypeSymbol type, DisposableType facts, DisposableTypes disposal, bool isDispose, CancellationToken cancellationToken)
    {
        if (facts.GetNonTrivialFinalizer(cancellationToken) is { } own)
            return (type, own);
        var member = isDispose ? disposal.DisposeInterfaceMember : disposal.DisposeAsyncInterfaceMember;
        if (member is null)
            return null;
        // The compilation's finalizers are few: ask each whether its type derives from this one and inherits the method.
        foreach (var candidate in disposal.TypesDeclaringFinalizers)
        {
            if (!DerivesFrom(candidate, type))
                continue;
            foreach (var derived in Including(candidate, disposal))
            {
                if (derived.FindImplementationForInterfaceMember(member) is IMethodSymbol implementation && Same(method, implementation)
                    && disposal.Of(derived).GetNonTrivialFinalizer(cancellationToken) is { } finalizer)
                {
                    return (derived, finalizer);
                }
            }
        }

        return null;
    }

    private static bool DerivesFrom(INamedTypeSymbol type, INamedTypeSymbol baseType)
    {
        for (var t = type.BaseType; t is not null; t = t.BaseType)
        {
            if (SymbolEqualityComparer.Default.Equals(t.OriginalDefinition, baseType.OriginalDefinition))
                return true;
        }

        return false;
    }

    /// <summary>The type and the types of the compilation derived from it (which inherit its finalizer).</summary>
    private static IEnumerable<INamedTypeSymbol> Including(INamedTypeSymbol type, DisposableTypes disposal)
    {
        yield return type;
        foreach (var derived in disposal.DerivedTypesOf(type))
            yield return derived;
    }

    /// <summary>
    /// Whether the dispose method runs what the finalizer releases: every method the finalizer calls (not a
    /// <c>GC</c> member, not a <c>[Conditional]</c> call left out) is called by the dispose method itself or by a
    /// method it calls on <c>this</c> (or is the dispose method). A library finalizer (its body unseen) is reached
    /// by a call on <c>this</c> to <c>Dispose(bool)</c> or <c>Close()</c>. Suppressing finalization where Dispose
    /// does not release what the finalizer does would leak it.
    /// </summary>
    private static bool Reaches(IMethodSymbol method, IBlockOperation body, IMethodSymbol finalizer, DisposableTypes disposal, CancellationToken cancellationToken)
    {
        var finalizerBody = disposal.BodyOf(finalizer, cancellationToken);
        if (finalizerBody is null)
        {
            foreach (var operation in body.DescendantsAndSelf())
            {
                if (operation is IInvocationOperation { Instance: IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance }, TargetMethod.Name: "Dispose" or "Close" })
                    return true;
            }

            return false;
        }

        var called = new List<IMethodSymbol>();
        Collect(body, called, thisCallsToo: true, method.ContainingType, disposal, cancellationToken);
        var released = new List<IMethodSymbol>();
        Collect(finalizerBody, released, thisCallsToo: false, method.ContainingType, disposal, cancellationToken);
        foreach (var release in released)
        {
            if (Same(method, release))
                continue;
            var found = false;
            foreach (var callee in called)
            {
                if (Related(release, callee))
                {
                    found = true;
                    break;
                }
            }

            if (!found)
                return false;
        }

        return true;
    }

    private static void Collect(IOperation body, List<IMethodSymbol> into, bool thisCallsToo, INamedTypeSymbol type, DisposableTypes disposal, CancellationToken cancellationToken)
    {
        var symbols = ((CSharpParseOptions)body.Syntax.SyntaxTree.Options).PreprocessorSymbolNames;
        foreach (var operation in body.DescendantsAndSelf())
        {
            if (operation is not IInvocationOperation invocation || DisposableTypes.IsCompiledOut(invocation.TargetMethod, symbols)
                || SymbolEqualityComparer.Default.Equals(invocation.TargetMethod.ContainingType, disposal.Types.GC))
            {
                continue;
            }

            into.Add(invocation.TargetMethod);
            if (!thisCallsToo || invocation.Instance is not IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance })
                continue;
            foreach (var target in disposal.DispatchTargets(invocation, type, out _))
            {
                if (disposal.BodyOf(target, cancellationToken) is { } calleeBody)
                    Collect(calleeBody, into, thisCallsToo: false, type, disposal, cancellationToken);
            }
        }
    }

    /// <summary>The same method, or one overrides the other.</summary>
    private static bool Related(IMethodSymbol a, IMethodSymbol b)
    {
        a = a.OriginalDefinition;
        b = b.OriginalDefinition;
        if (SymbolEqualityComparer.Default.Equals(a, b))
            return true;
        if (a.Name != b.Name || a.Parameters.Length != b.Parameters.Length)
            return false;
        return Overrides(a, b) || Overrides(b, a);

        static bool Overrides(IMethodSymbol derived, IMethodSymbol baseMethod)
        {
            for (var m = derived.OverriddenMethod; m is not null; m = m.OverriddenMethod)
            {
                if (SymbolEqualityComparer.Default.Equals(m.OriginalDefinition, baseMethod))
                    return true;
            }

            return false;
        }
    }
}
