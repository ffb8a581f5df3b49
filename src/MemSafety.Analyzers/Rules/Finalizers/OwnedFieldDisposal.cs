using System.Collections.Generic;
using System.Threading;
using MemSafety.Analyzers.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace MemSafety.Analyzers.Rules.Finalizers;

/// <summary>Where MSA4007's fix disposes a field: which dispose method of the type, and how.</summary>
public enum DisposeSiteKind
{
    /// <summary><c>Dispose(bool)</c>: <c>_f?.Dispose();</c> inside <c>if (disposing)</c>.</summary>
    DisposeBool,
    /// <summary><c>Dispose()</c>: <c>_f?.Dispose();</c> at the end.</summary>
    Dispose,
    /// <summary>An <c>async</c> <c>DisposeAsync()</c>: <c>await _f.DisposeAsync()</c> (or <c>_f?.Dispose()</c> for a
    /// field that is only <c>IDisposable</c>) at the end.</summary>
    DisposeAsync,
}

/// <summary>One method the fix edits.</summary>
public readonly struct DisposeSite
{
    public DisposeSite(IMethodSymbol method, DisposeSiteKind kind)
    {
        Method = method;
        Kind = kind;
    }

    public IMethodSymbol Method { get; }

    public DisposeSiteKind Kind { get; }
}

/// <summary>
/// MSA4007's decision, shared by its analyzer and its fix: the dispose methods a type declares in source (the rule
/// reports only where the type has disposal code of its own, written by hand), and where disposing an owned field
/// belongs. The dispose pattern's <c>Dispose(bool)</c> wins (under <c>if (disposing)</c>); otherwise <c>Dispose()</c>,
/// and an <c>async DisposeAsync()</c> too unless one of them calls the other on <c>this</c>. No fix where the type
/// also has the async dispose pattern next to <c>Dispose(bool)</c> (<c>DisposeAsyncCore</c>, or a
/// <c>DisposeAsync</c> beside <c>Dispose(bool)</c>): the field belongs in both, with different calls.
/// </summary>
public static class OwnedFieldDisposal
{
    /// <summary>The dispose methods <paramref name="declared"/> (of one type) that have a body in source: the ones
    /// the rule's message names. Empty when any of them is abstract, extern or in generated code (nothing for a
    /// user to edit there).</summary>
    public static List<IMethodSymbol>? EditableMethods(IReadOnlyList<IMethodSymbol> declared, Compilation compilation, CancellationToken cancellationToken)
    {
        var result = new List<IMethodSymbol>();
        foreach (var method in declared)
        {
            if (method.IsAbstract || method.IsExtern)
                return null;
            var implementation = method.PartialImplementationPart ?? method;
            if (implementation.DeclaringSyntaxReferences.Length != 1)
                return null;
            var syntax = implementation.DeclaringSyntaxReferences[0].GetSyntax(cancellationToken);
            if (!compilation.ContainsSyntaxTree(syntax.SyntaxTree) || GeneratedCode.IsGenerated(syntax.SyntaxTree)
                || syntax is not MethodDeclarationSyntax { } declaration || (declaration.Body is null && declaration.ExpressionBody is null))
            {
                return null;
            }

            result.Add(implementation);
        }

        return result.Count == 0 ? null : result;
    }

    /// <summary>Where the fix disposes a field of type <paramref name="fieldType"/>; empty: no fix.</summary>
    /// <param name="isDisposable">The field's type implements <c>IDisposable</c>.</param>
    /// <param name="isAsyncDisposable">It implements <c>IAsyncDisposable</c>.</param>
    public static List<DisposeSite> Sites(IReadOnlyList<IMethodSymbol> editable, bool isDisposable, bool isAsyncDisposable, CancellationToken cancellationToken)
    {
        var sites = new List<DisposeSite>();
        IMethodSymbol? disposeBool = null, dispose = null, disposeAsync = null;
        foreach (var method in editable)
        {
            if (method.Name == "DisposeAsyncCore")
                return sites;
            if (method.Parameters.Length == 1)
                disposeBool = method;
            else if (IsAsyncName(method))
                disposeAsync = method;
            else
                dispose = method;
        }

        if (disposeBool is not null)
        {
            if (disposeAsync is null && isDisposable && disposeBool.ReturnsVoid)
                sites.Add(new DisposeSite(disposeBool, DisposeSiteKind.DisposeBool));
            return sites;
        }

        if (dispose is not null && disposeAsync is not null)
        {
            if (Calls(disposeAsync, dispose, cancellationToken))
                disposeAsync = null;
            else if (Calls(dispose, disposeAsync, cancellationToken))
                dispose = null;
        }

        if (dispose is not null)
        {
            if (!isDisposable || !dispose.ReturnsVoid)
                return new List<DisposeSite>();
            sites.Add(new DisposeSite(dispose, DisposeSiteKind.Dispose));
        }

        if (disposeAsync is not null)
        {
            if (!disposeAsync.IsAsync || !(isDisposable || isAsyncDisposable))
                return new List<DisposeSite>();
            sites.Add(new DisposeSite(disposeAsync, DisposeSiteKind.DisposeAsync));
        }

        return sites;
    }

    /// <summary>How the message names a dispose method.</summary>
    public static string DisplayName(IMethodSymbol method)
    {
        if (method.MethodKind == MethodKind.ExplicitInterfaceImplementation && method.ExplicitInterfaceImplementations.Length > 0)
            return method.ExplicitInterfaceImplementations[0].ContainingType.Name + "." + method.ExplicitInterfaceImplementations[0].Name;
        return method.Parameters.Length == 1 ? method.Name + "(bool)" : method.Name;
    }

    private static bool IsAsyncName(IMethodSymbol method)
    {
        var name = method.MethodKind == MethodKind.ExplicitInterfaceImplementation && method.ExplicitInterfaceImplementations.Length > 0
            ? method.ExplicitInterfaceImplementations[0].Name
            : method.Name;
        return name == "DisposeAsync";
    }

    /// <summary>The body of <paramref name="caller"/> calls <paramref name="callee"/> (by name, on <c>this</c> or unqualified).</summary>
    private static bool Calls(IMethodSymbol caller, IMethodSymbol callee, CancellationToken cancellationToken)
    {
        var name = IsAsyncName(callee) ? "DisposeAsync" : "Dispose";
        var syntax = caller.DeclaringSyntaxReferences[0].GetSyntax(cancellationToken);
        foreach (var node in syntax.DescendantNodes())
        {
            if (node is InvocationExpressionSyntax { Expression: var expression }
                && expression switch
                {
                    IdentifierNameSyntax identifier => identifier.Identifier.ValueText == name,
                    MemberAccessExpressionSyntax { Expression: ThisExpressionSyntax or ParenthesizedExpressionSyntax { Expression: CastExpressionSyntax { Expression: ThisExpressionSyntax } } } access => access.Name.Identifier.ValueText == name,
                    _ => false,
                })
            {
                return true;
            }
        }

        return false;
    }
}
