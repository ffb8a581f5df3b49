using System.Collections.Generic;
using System.Collections.Immutable;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Bodies;
using MemSafety.Analyzers.Engines.Closures;
using MemSafety.Analyzers.Engines.Escape;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.Closures;

/// <summary>
/// MSA3006. All lambdas and converted local functions that capture variables of one scope share that scope's
/// display class, and each delegate's target is that object (or an inner one pointing to it). A delegate that
/// outlives the method (stored into a field or property, an array, subscribed to an event, returned) therefore
/// keeps every variable of the display class reachable, also those only another closure uses: an array,
/// collection or disposable object the method created for a short-lived lambda lives as long as the long-lived
/// delegate. No compiler warning shows it. Reported at the escaping delegate; the message names what it keeps
/// alive, the closure that captures it and where the delegate goes.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class ImplicitCaptureAnalyzer : MemSafetyAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.ImplicitCapture);

    protected override void Register(AnalysisContext context) => context.RegisterCompilationStartAction(start =>
    {
        var services = CompilationServices.Get(start.Compilation, start.Options);
        start.RegisterOperationAction(operation => Analyze(operation, services), OperationKind.DelegateCreation);
    });

    private static void Analyze(OperationAnalysisContext context, CompilationServices services)
    {
        var creation = (IDelegateCreationOperation)context.Operation;
        if (creation.Type is not { TypeKind: TypeKind.Delegate })
            return;
        var facts = BodyFacts.Of(creation);
        IOperation? function = creation.Target switch
        {
            IAnonymousFunctionOperation lambda when !lambda.Symbol.IsStatic => lambda,
            IMethodReferenceOperation { Method: { MethodKind: MethodKind.LocalFunction, IsStatic: false } method } => Declaration(facts, method.OriginalDefinition),
            _ => null,
        };
        if (function is null
            || facts.CapturedBy(function).Count == 0 && facts.LocalFunctionsUsedBy(function).Count == 0
            || creation.Syntax.ContainsDiagnostics)
        {
            return;
        }

        // What the display classes this delegate keeps alive hold that it does not use itself, and that another
        // closure captures: only objects the method created (so nothing else needs to keep them) and never writes
        // again (a write of null would release them), of a kind that is worth keeping from the collector.
        var needed = NeededBy(function, facts);
        List<ISymbol>? keptAlive = null;
        IOperation? capturer = null;
        foreach (var displayClass in ClosureFacts.Of(creation).EnvironmentsOf(function))
        {
            if (displayClass.IsStruct)
                continue;
            foreach (var variable in displayClass.Variables)
            {
                if (needed.Contains(variable) || variable is not ILocalSymbol local || facts.IsWritten(local) || !IsHeavy(local, facts, out _))
                    continue;
                var other = OtherCapturer(displayClass, function, local, facts);
                if (other is null)
                    continue;
                (keptAlive ??= new List<ISymbol>()).Add(local);
                capturer ??= other;
            }
        }

        if (keptAlive is null || capturer is null)
            return;

        var where = LongLivedSink(creation, services, context);
        if (where is null)
            return;

        var names = new List<string>();
        var locations = new List<Location>();
        foreach (var local in keptAlive)
        {
            IsHeavy((ILocalSymbol)local, facts, out var kind);
            names.Add($"'{local.Name}' ({kind})");
            locations.Add(local.Locations[0]);
        }

        locations.Add(capturer.Syntax.GetLocation());
        context.ReportDiagnostic(Diagnostic.Create(
            RuleCatalogue.ImplicitCapture,
            DiagnosticLocation(creation),
            locations,
            where,
            MessageText.List(names),
            keptAlive.Count == 1 ? "it" : "them",
            Describe(capturer)));
    }

    private static Location DiagnosticLocation(IDelegateCreationOperation creation)
        => creation.Target is IAnonymousFunctionOperation { Syntax: Microsoft.CodeAnalysis.CSharp.Syntax.AnonymousFunctionExpressionSyntax lambda }
            ? Location.Create(lambda.SyntaxTree, Microsoft.CodeAnalysis.Text.TextSpan.FromBounds(lambda.SpanStart, lambda.ArrowTokenOrBodyStart()))
            : creation.Syntax.GetLocation();

    /// <summary>Where the delegate goes that outlives the method, or null when it does not (or only into a call, whose
    /// callee may keep it for a moment or for ever: the rule cannot tell, so it says nothing).</summary>
    private static string? LongLivedSink(IDelegateCreationOperation creation, CompilationServices services, OperationAnalysisContext context)
    {
        IOperation value = creation;
        while (value.Parent is IConversionOperation or IParenthesizedOperation)
            value = value.Parent;
        if (value.Parent is IEventAssignmentOperation { Adds: true, EventReference: IEventReferenceOperation handler })
            return $"is subscribed to event '{handler.Event.Name}'";

        // Returned from a lambda or local function is not out of the method: what the caller of that function does
        // with it is the question, and that caller is in the method.
        var result = EscapeEngine.ForBodyOf(creation, services.Summaries, context.CancellationToken).Analyze(creation);
        return result.Kind is EscapeKind.StoredInField or EscapeKind.StoredInProperty or EscapeKind.StoredInArrayElement
               || result.Kind == EscapeKind.Returned && creation.EnclosingFunctionOperation() is null
            ? "escapes (" + result.Reason + ")"
            : null;
    }

    private static ILocalFunctionOperation? Declaration(BodyFacts facts, IMethodSymbol method)
    {
        foreach (var candidate in facts.Functions)
        {
            if (candidate is ILocalFunctionOperation localFunction && SymbolEqualityComparer.Default.Equals(localFunction.Symbol, method))
                return localFunction;
        }

        return null;
    }

    /// <summary>What the function reads from display classes: its captures and those of the local functions it calls
    /// or converts, transitively.</summary>
    private static HashSet<ISymbol> NeededBy(IOperation function, BodyFacts facts)
    {
        var needed = new HashSet<ISymbol>(SymbolEqualityComparer.Default);
        var visited = new HashSet<ISymbol>(SymbolEqualityComparer.Default);
        var pending = new Stack<IOperation>();
        pending.Push(function);
        while (pending.Count > 0)
        {
            var current = pending.Pop();
            foreach (var variable in facts.CapturedBy(current))
                needed.Add(variable);
            foreach (var used in facts.LocalFunctionsUsedBy(current))
            {
                if (visited.Add(used) && Declaration(facts, (IMethodSymbol)used) is { } declaration)
                    pending.Push(declaration);
            }
        }

        return needed;
    }

    private static IOperation? OtherCapturer(DisplayClass displayClass, IOperation function, ILocalSymbol local, BodyFacts facts)
    {
        foreach (var other in displayClass.Functions)
        {
            if (other == function || other.IsWithin(function) || function.IsWithin(other))
                continue;
            foreach (var captured in facts.CapturedBy(other))
            {
                if (SymbolEqualityComparer.Default.Equals(captured, local))
                    return other;
            }
        }

        return null;
    }

    /// <summary>An array, a collection or a disposable object that the method itself created (a creation or a
    /// collection expression as the initializer, or a <c>using</c> declaration).</summary>
    private static bool IsHeavy(ILocalSymbol local, BodyFacts facts, out string kind)
    {
        kind = local.Type.WithNullableAnnotation(NullableAnnotation.None).ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat);
        var declarator = facts.DeclaratorOf(local);
        var initializer = declarator?.Initializer?.Value.WithoutImplicitConversions();
        var isUsing = declarator?.Parent?.Parent is IUsingDeclarationOperation || declarator?.Parent?.Parent?.Parent is IUsingOperation;
        var created = initializer is IArrayCreationOperation or IObjectCreationOperation or ICollectionExpressionOperation;
        if (!created && !isUsing)
            return false;
        var type = local.Type;
        if (type.IsRefLikeType || type.SpecialType == SpecialType.System_String)
            return false;
        return type is IArrayTypeSymbol || Implements(type, "System.IDisposable") || Implements(type, "System.IAsyncDisposable")
               || Implements(type, "System.Collections.ICollection") || ImplementsGeneric(type, "System.Collections.Generic.ICollection`1")
               || ImplementsGeneric(type, "System.Collections.Generic.IReadOnlyCollection`1");
    }

    private static bool Implements(ITypeSymbol type, string metadataName)
    {
        if (IsNamed(type, metadataName))
            return true;
        foreach (var face in type.AllInterfaces)
        {
            if (IsNamed(face, metadataName))
                return true;
        }

        return false;
    }

    private static bool ImplementsGeneric(ITypeSymbol type, string metadataName)
    {
        if (type is INamedTypeSymbol named && IsNamed(named.OriginalDefinition, metadataName))
            return true;
        foreach (var face in type.AllInterfaces)
        {
            if (IsNamed(face.OriginalDefinition, metadataName))
                return true;
        }

        return false;
    }

    private static bool IsNamed(ITypeSymbol type, string metadataName)
    {
        var dot = metadataName.LastIndexOf('.');
        return type.MetadataName == metadataName.Substring(dot + 1) && type.ContainingNamespace?.ToDisplayString() == metadataName.Substring(0, dot);
    }

    private static string Describe(IOperation function)
    {
        var line = function.Syntax.GetLocation().GetLineSpan().StartLinePosition.Line + 1;
        return function is ILocalFunctionOperation localFunction
            ? $"local function '{localFunction.Symbol.Name}' (line {line})"
            : $"the lambda at line {line}";
    }
}

internal static class LambdaSyntaxExtensions
{
    /// <summary>The end of a lambda's head: its arrow (<c>x =&gt;</c>), or for an anonymous method the start of its
    /// block, so the squiggle covers the head and not the whole body.</summary>
    public static int ArrowTokenOrBodyStart(this Microsoft.CodeAnalysis.CSharp.Syntax.AnonymousFunctionExpressionSyntax lambda)
        => lambda is Microsoft.CodeAnalysis.CSharp.Syntax.LambdaExpressionSyntax { ArrowToken: var arrow } ? arrow.Span.End : lambda.Block?.SpanStart ?? lambda.Span.End;
}
