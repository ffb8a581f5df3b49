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
        // One callback per body instead of one per call and property read, the commonest operations of any body. The
        // IDisposable lookup waits for the first body: a compilation's first type lookup loads the namespace tables of
        // every referenced assembly, which binding does anyway once the driver has started.
        var types = services.Types;
        start.RegisterOperationBlockAction(block =>
        {
            if (types.IDisposable is not null)
                AnalyzeBody(block, services);
        });
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
        foreach (var root in context.OperationBlocks)
        {
            // Text first: without an annotation in the compilation, only a `new` or a call named like a creating method
            // (File.OpenRead, CreateLinkedTokenSource) can create here. Most bodies have neither; for the others each
            // word leads straight to its operation (the semantic model keeps a map from syntax to operation, built
            // when the driver asked for the body), so the body's operations are never walked.
            candidates.Clear();
            if (!annotations && root.SemanticModel is { } model && SourceWords.Collect(root.Syntax, s_isCandidateWord, candidates))
            {
                foreach (var position in candidates)
                {
                    if (CandidateAt(root.Syntax, position, model, context.CancellationToken) is { } operation && MayCreate(operation, services))
                        Analyze(operation, services, report ??= context.ReportDiagnostic, context.CancellationToken);
                }

                continue;
            }

            // An annotation can make any call or property read a creation; a tree without text has no words: every operation.
            foreach (var operation in root.DescendantsAndSelf())
            {
                if (MayCreate(operation, services) || (annotations && operation is IPropertyReferenceOperation))
                    Analyze(operation, services, report ??= context.ReportDiagnostic, context.CancellationToken);
            }
        }
    }

    /// <summary>A disposable object created with <c>new</c>, or a call of a creating method (<see cref="Ownership.IsCreatingMethod"/>).</summary>
    private static bool MayCreate(IOperation operation, CompilationServices services) => operation switch
    {
        IObjectCreationOperation { Type: { } created } => services.Disposal.IsDisposable(created.OriginalDefinition) || services.Disposal.IsAsyncDisposable(created.OriginalDefinition),
        IInvocationOperation invocation => services.Ownership.IsCreatingMethod(invocation.TargetMethod),
        _ => false,
    };

    /// <summary>The creation a candidate word starts: the object creation whose <c>new</c> it is, or the call it names
    /// (<c>File.OpenRead(…)</c>, <c>info?.Open(…)</c>, <c>CreateLinkedTokenSource(…)</c> under <c>using static</c>).
    /// Null for a word in a comment, a string or disabled code (no token of its own there) and for any other use of
    /// the word. Every explicit creation and creating call of the body is found this way: a <c>new</c> keyword cannot
    /// be spelled otherwise, and a creating method's name is one of the words. The compiler's implicit creations
    /// (an interpolated-string handler, an attribute) start no word, but the rule never reports them: neither is
    /// stored in a local or used on its own.</summary>
    private static IOperation? CandidateAt(SyntaxNode body, int position, SemanticModel model, CancellationToken cancellationToken)
    {
        var token = body.FindToken(position);
        if (!token.Span.Contains(position))
            return null;
        SyntaxNode? creation;
        switch (token.Parent)
        {
            case ObjectCreationExpressionSyntax objectCreation when objectCreation.NewKeyword == token:
                creation = objectCreation;
                break;
            case ImplicitObjectCreationExpressionSyntax implicitCreation when implicitCreation.NewKeyword == token:
                creation = implicitCreation;
                break;
            case SimpleNameSyntax name when name.Identifier == token:
                creation = InvocationNamed(name);
                break;
            default:
                return null;
        }

        return creation is null ? null : model.GetOperation(creation, cancellationToken);
    }

    /// <summary>The call whose method <paramref name="name"/> names: <c>Name(…)</c>, <c>x.Name(…)</c>, <c>x?.Name(…)</c>.</summary>
    private static InvocationExpressionSyntax? InvocationNamed(SimpleNameSyntax name)
    {
        ExpressionSyntax callee = name;
        if (name.Parent is MemberAccessExpressionSyntax access && access.Name == name)
            callee = access;
        else if (name.Parent is MemberBindingExpressionSyntax binding && binding.Name == name)
            callee = binding;
        return callee.Parent is InvocationExpressionSyntax invocation && invocation.Expression == callee ? invocation : null;
    }

    /// <summary>The words that may start a creation: <c>new</c> and the names of the creating library methods
    /// (<see cref="Ownership.IsCreatingMethod"/>: keep the two lists alike). A scan of the characters
    /// (<see cref="SourceWords"/>), not of the tokens (a token walk cost as much as the rest of the rule).</summary>
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
