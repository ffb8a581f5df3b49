using System.Collections.Immutable;
using System.Threading;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Bodies;
using MemSafety.Analyzers.Engines.ControlFlow;
using MemSafety.Analyzers.Engines.Disposal;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.Finalizers;

/// <summary>
/// MSA4006 and MSA4008. A disposable object the method creates (<c>new</c>, <c>File.Open*</c>/<c>Create*</c>, a
/// <c>[ReturnsOwned]</c> member) into a local, or uses once and drops, that some normal path leaves without disposing it
/// or handing it on (<see cref="DisposedOnAllPaths"/>, <see cref="Ownership"/>). MSA4008 when the loss repeats per
/// iteration: the same creation runs again while the previous value is still undisposed, or a dropped temporary is on a
/// loop cycle. The diagnostic is on the creating expression; the <c>using</c> fix is offered (property <see cref="UsingProperty"/>)
/// only where declaring the local with <c>using</c>/<c>await using</c> keeps behaviour: one write, no explicit
/// disposal or hand-off anywhere (so nothing is disposed that another path returns or disposes), a single declarator
/// in a block, no <c>goto</c> in the body.
/// </summary>
[DiagnosticAnalyzer(Microsoft.CodeAnalysis.LanguageNames.CSharp)]
public sealed class UndisposedLocalAnalyzer : MemSafetyAnalyzer
{
    /// <summary>Diagnostic property: <c>using</c> or <c>await using</c>, the declaration the fix writes; absent: no fix.</summary>
    public const string UsingProperty = "Using";

    private static readonly ImmutableDictionary<string, string?> UsingFix = ImmutableDictionary<string, string?>.Empty.Add(UsingProperty, "using");
    private static readonly ImmutableDictionary<string, string?> AwaitUsingFix = ImmutableDictionary<string, string?>.Empty.Add(UsingProperty, "await using");

    private static readonly SymbolDisplayFormat TypeFormat = SymbolDisplayFormat.MinimallyQualifiedFormat;

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(RuleCatalogue.UndisposedLocal, RuleCatalogue.DisposableDroppedInLoop);

    protected override void Register(AnalysisContext context) => context.RegisterCompilationStartAction(start =>
    {
        var services = CompilationServices.Get(start.Compilation, start.Options);
        if (services.Types.IDisposable is null)
            return;
        // One walk per body instead of a callback per call and property read, the commonest operations of any body:
        // the walk stops at nothing but is a few type tests per node.
        start.RegisterOperationBlockAction(block => AnalyzeBody(block, services));
    });

    [System.ThreadStatic]
    private static System.Collections.Generic.List<int>? t_candidates;

    private static void AnalyzeBody(OperationBlockAnalysisContext context, CompilationServices services)
    {
        var ownership = services.Ownership;
        var annotations = ownership.AnnotationsPossible;
        System.Action<Diagnostic>? report = null;
        // Reused per thread: one body after another, never nested (Analyze does not come back here).
        var candidates = t_candidates ??= new System.Collections.Generic.List<int>();
        System.Collections.Generic.Stack<IOperation>? stack = null;
        foreach (var root in context.OperationBlocks)
        {
            // Text first: without an annotation in the compilation, only a `new` or a call named like a creating method
            // (File.OpenRead, CreateLinkedTokenSource) can create here. Most bodies have neither, and the operation
            // walk below visits only the operations whose syntax holds one.
            candidates.Clear();
            if (!annotations)
            {
                CollectCandidates(root.Syntax, candidates);
                if (candidates.Count == 0)
                    continue;
            }

            stack ??= new System.Collections.Generic.Stack<IOperation>();
            stack.Push(root);
            while (stack.Count > 0)
            {
                var operation = stack.Pop();
                switch (operation)
                {
                    case IObjectCreationOperation { Type: { } created }
                        when services.Disposal.IsDisposable(created.OriginalDefinition) || services.Disposal.IsAsyncDisposable(created.OriginalDefinition):
                    case IInvocationOperation invocation when ownership.IsCreatingMethod(invocation.TargetMethod):
                    case IPropertyReferenceOperation when annotations:
                        Analyze(operation, services, report ??= context.ReportDiagnostic, context.CancellationToken);
                        break;
                }

                foreach (var child in operation.ChildOperations)
                {
                    if (annotations || HoldsCandidate(child.Syntax, candidates))
                        stack.Push(child);
                }
            }
        }
    }

    /// <summary>The positions of the words in the body's text that may start a creation: <c>new</c> and the names of
    /// the creating library methods (<see cref="Ownership.IsCreatingMethod"/>: keep the two lists alike). A scan of the
    /// characters (<see cref="SourceWords"/>), not of the tokens (a token walk cost as much as the rest of the rule): a
    /// word in a comment or a string only makes the walk visit a few more operations.</summary>
    private static void CollectCandidates(SyntaxNode syntax, System.Collections.Generic.List<int> candidates)
    {
        if (!SourceWords.Collect(syntax, s_isCandidateWord, candidates))
        {
            // No text at hand (a tree built from nodes): every position is a candidate, the walk visits everything.
            candidates.Add(syntax.SpanStart);
            candidates.Add(-1);
        }
    }

    private static readonly System.Func<char[], int, int, bool> s_isCandidateWord = IsCandidateWord;

    private static bool IsCandidateWord(char[] buffer, int start, int length)
    {
        var c = buffer[start];
        if (c == 'n')
            return SourceWords.Is(buffer, start, length, "new");
        if (c is not ('O' or 'C' or 'A') || length < 4)
            return false;
        foreach (var name in CreatingMethodNames)
        {
            if (SourceWords.Is(buffer, start, length, name))
                return true;
        }

        return false;
    }

    private static readonly string[] CreatingMethodNames =
        { "Open", "OpenRead", "OpenWrite", "OpenText", "Create", "CreateText", "AppendText", "CreateLinkedTokenSource" };

    /// <summary>Whether the syntax holds a candidate position (the positions are collected in ascending order).</summary>
    private static bool HoldsCandidate(SyntaxNode syntax, System.Collections.Generic.List<int> candidates)
    {
        if (candidates.Count > 0 && candidates[candidates.Count - 1] < 0)
            return true;
        return SourceWords.AnyWithin(candidates, syntax.Span);
    }

    private static void Analyze(IOperation creation, CompilationServices services, System.Action<Diagnostic> report, CancellationToken cancellationToken)
    {
        // Cheapest first: a call must be a known creating method, a property read needs an annotation to exist at all.
        var ownership = services.Ownership;
        if ((creation is IInvocationOperation invocation && !ownership.IsCreatingMethod(invocation.TargetMethod))
            || (creation is IPropertyReferenceOperation && !ownership.AnnotationsPossible))
        {
            return;
        }

        // Shape first: a property read or call must at least end in a local or be dropped; most stop here.
        var top = creation;
        while (top.Parent is IConversionOperation { OperatorMethod: null } conversion)
            top = conversion;
        ILocalSymbol? local = null;
        switch (top.Parent)
        {
            case IVariableInitializerOperation { Parent: IVariableDeclaratorOperation declarator }:
                local = declarator.Symbol;
                break;
            case ISimpleAssignmentOperation { Target: ILocalReferenceOperation target } assignment when assignment.Value == top:
                local = target.Local;
                break;
            case IInvocationOperation receiver when receiver.Instance == top:
            case IPropertyReferenceOperation property when property.Instance == top:
            case IConditionalAccessOperation access when access.Operation == top:
            case IExpressionStatementOperation:
                break;
            default:
                return;
        }

        if (creation.Syntax.ContainsDiagnostics)
            return;
        var ignored = ownership.IgnoredTypesIn(creation.Syntax.SyntaxTree);
        // new CancellationTokenSource() is not a creation unless the method calls CancelAfter on its local, a slim event
        // unless it reads its WaitHandle, a request unless it sets its Content (see Ownership); DisposedOnAllPaths decides.
        if (!ownership.IsCreation(creation, ignored, out var type)
            && !(local is not null && creation is IObjectCreationOperation { Type: { } created } && (created.Name == "CancellationTokenSource" || Ownership.OnDemandMember(created) is { Length: > 0 })))
        {
            return;
        }

        if (local is null)
        {
            ReportTemporary(report, creation, top, type, ownership, cancellationToken);
            return;
        }

        if (DisposedOnAllPaths.Analyze(local, creation, ownership, ignored, cancellationToken) is not { } result)
            return;
        foreach (var site in result.Sites)
        {
            if (site.Value != creation || site.Leak == LeakKind.None)
                continue;
            var what = $"'{local.Name}' ({site.Type.ToDisplayString(TypeFormat)})";
            var properties = FixFor(result, site, local, services.Disposal);
            if (site.Leak == LeakKind.NextIteration)
            {
                report(Diagnostic.Create(RuleCatalogue.DisposableDroppedInLoop, creation.Syntax.GetLocation(), properties,
                    what, LoopLine(site.Write), "before the next iteration creates another", Consequence(site.Type, creation, services.Disposal, perIteration: true, cancellationToken)));
            }
            else
            {
                report(Diagnostic.Create(RuleCatalogue.UndisposedLocal, creation.Syntax.GetLocation(), properties,
                    what, "on the path that " + site.Where, Consequence(site.Type, creation, services.Disposal, perIteration: false, cancellationToken)));
            }
        }
    }

    /// <summary>A creation used once where it stands (<c>new StreamReader(path).ReadToEnd()</c>) and never disposed.</summary>
    private static void ReportTemporary(System.Action<Diagnostic> report, IOperation creation, IOperation top, ITypeSymbol type, Ownership ownership, CancellationToken cancellationToken)
    {
        if (ownership.ClassifyValue(top, cancellationToken) != OwnedUse.Neutral)
            return;
        var what = $"This '{type.ToDisplayString(TypeFormat)}'";
        if (LoopCycles.RepeatingLoop(creation) is { } loop)
        {
            report(Diagnostic.Create(RuleCatalogue.DisposableDroppedInLoop, creation.Syntax.GetLocation(),
                what, DisposedOnAllPaths.Line(loop.Syntax), "after its use here", Consequence(type, creation, ownership.Types, perIteration: true, cancellationToken)));
        }
        else
        {
            report(Diagnostic.Create(RuleCatalogue.UndisposedLocal, creation.Syntax.GetLocation(),
                what, "after its use here", Consequence(type, creation, ownership.Types, perIteration: false, cancellationToken)));
        }
    }

    private static int LoopLine(IOperation write)
        => DisposedOnAllPaths.Line((LoopCycles.RepeatingLoop(write) ?? (IOperation)write).Syntax);

    /// <summary>What stays held, and until when: a file handle for file streams and readers/writers over a path (and a
    /// writer's buffered text, which no finalizer writes: <c>StreamWriter</c> has none); else what the type's
    /// finalizer (own or inherited) releases; else nothing of its own releases anything.</summary>
    internal static string Consequence(ITypeSymbol type, IOperation creation, DisposableTypes disposal, bool perIteration, CancellationToken cancellationToken)
    {
        if (OpensFile(type, creation))
        {
            var buffered = IsStreamWriter(type) ? ", and text still in its buffer is never written" : string.Empty;
            return perIteration
                ? "each such iteration leaves one more file handle open until the finalizer runs" + buffered
                : "its file handle stays open until the finalizer runs" + buffered;
        }

        if (type.Name == "CancellationTokenSource" && type.ContainingNamespace?.ToDisplayString() == "System.Threading")
        {
            // A linked source registers a callback on each parent token; a timed one holds a timer.
            return perIteration
                ? "each such iteration leaves one more source registered on the tokens it is linked to (or holding its timer), reachable as long as they are"
                : "it stays registered on the tokens it is linked to (or holds its timer), reachable as long as they are";
        }

        var name = type.ToDisplayString(TypeFormat);
        var hasFinalizer = type is INamedTypeSymbol named && disposal.Of(named).Finalizer is not null;
        if (perIteration)
        {
            return hasFinalizer
                ? $"each such iteration leaves one more '{name}' for its finalizer to release, at an unknown time after a garbage collection"
                : $"each such iteration leaves one more '{name}' whose Dispose never runs, and '{name}' has no finalizer";
        }

        return hasFinalizer
            ? "only its finalizer releases what it holds, at an unknown time after a garbage collection"
            : $"its Dispose never runs, and '{name}' has no finalizer: what it holds is released only by the finalizers of the objects it owns, if they have any";
    }

    private static bool OpensFile(ITypeSymbol type, IOperation creation)
    {
        for (var t = type; t is not null; t = t.BaseType)
        {
            if (t.Name == "FileStream" && IsSystemIO(t))
                return true;
        }

        return creation switch
        {
            IInvocationOperation { TargetMethod.ContainingType: { Name: "File" or "FileInfo" } fileType } => IsSystemIO(fileType),
            IObjectCreationOperation { Type: { Name: "StreamReader" or "StreamWriter" } reader, Arguments.Length: > 0 } objectCreation
                => IsSystemIO(reader) && objectCreation.Arguments[0].Value.Type?.SpecialType == SpecialType.System_String,
            _ => false,
        };
    }

    private static bool IsStreamWriter(ITypeSymbol type) => type.Name == "StreamWriter" && IsSystemIO(type);

    private static bool IsSystemIO(ITypeSymbol type)
        => type.ContainingNamespace is { Name: "IO", ContainingNamespace: { Name: "System", ContainingNamespace.IsGlobalNamespace: true } };

    /// <summary>Whether declaring the local with <c>using</c> keeps behaviour (see the class summary), and which form.</summary>
    private static ImmutableDictionary<string, string?> FixFor(DisposedOnAllPaths result, CreationSite site, ILocalSymbol local, DisposableTypes disposal)
    {
        var none = ImmutableDictionary<string, string?>.Empty;
        if (result.WriteCount != 1 || result.Sites.Count != 1 || result.DisposedSomewhere || result.TransferredSomewhere
            || site.Write is not IVariableDeclaratorOperation declarator
            || declarator.Syntax is not VariableDeclaratorSyntax { Parent: VariableDeclarationSyntax { Variables.Count: 1, Parent: LocalDeclarationStatementSyntax statement } }
            || statement.Parent is not BlockSyntax || statement.IsConst || statement.UsingKeyword.RawKind != 0
            || BodyFacts.Of(declarator).GoToStatements.Count > 0)
        {
            return none;
        }

        var asyncFunction = local.ContainingSymbol is IMethodSymbol { IsAsync: true } && !InsideLockOrUnsafe(declarator);
        if (asyncFunction && disposal.IsAsyncDisposable(local.Type))
            return AwaitUsingFix;
        return disposal.IsDisposable(local.Type) ? UsingFix : none;
    }

    private static bool InsideLockOrUnsafe(IOperation operation)
    {
        for (var p = operation.Parent; p is not null; p = p.Parent)
        {
            if (p is ILockOperation)
                return true;
            if (p is IAnonymousFunctionOperation or ILocalFunctionOperation)
                break;
        }

        foreach (var ancestor in operation.Syntax.Ancestors())
        {
            if (ancestor is UnsafeStatementSyntax)
                return true;
            if (ancestor is MemberDeclarationSyntax member)
            {
                foreach (var modifier in member.Modifiers)
                {
                    if (modifier.ValueText == "unsafe")
                        return true;
                }
            }
        }

        return false;
    }
}
