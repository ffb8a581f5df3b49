using System.Collections.Immutable;
using System.Threading;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Bodies;
using MemSafety.Analyzers.Engines.Effects;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.HeapEscapes;

/// <summary>
/// MSA1007. <c>Enumerable.ToList()</c>, <c>Enumerable.ToArray()</c> and <c>List&lt;T&gt;.ToArray()</c> copy every
/// element into a new heap buffer (grown by doubling for a sequence of unknown length). When the copy is
/// consumed exactly once — the collection of one <c>foreach</c>, or asked only <c>Count</c>, <c>Length</c>,
/// <c>Count()</c> or <c>Any()</c> — the copy buys nothing but garbage, unless it is a snapshot the code
/// relies on. The analysis (see <see cref="MaterializedOnceAnalysis"/>) reports only where it can show the
/// snapshot is not needed.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class MaterializedOnceAnalyzer : MemSafetyAnalyzer
{
    /// <summary>Diagnostic property: which rewrite the fix applies (one of the <c>*Form</c> constants).</summary>
    public const string FormProperty = "Form";

    /// <summary>Diagnostic property for <see cref="PropertyForm"/>: what replaces <c>.Count</c>/<c>.Length</c>
    /// of the copy: <c>Count()</c>, or the source's own <c>Count</c> or <c>Length</c> property.</summary>
    public const string ReplacementProperty = "Replacement";

    /// <summary><c>foreach (var x in q.ToList())</c>: the copy is replaced by its source.</summary>
    public const string ForEachForm = "ForEach";

    /// <summary><c>var c = q.ToList(); foreach (var x in c)</c>: the declaration goes, the foreach enumerates the source.</summary>
    public const string LocalForEachForm = "LocalForEach";

    /// <summary><c>q.ToList().Any()</c>/<c>.Count()</c>: the copy is replaced by its source.</summary>
    public const string ReceiverForm = "Receiver";

    /// <summary><c>q.ToList().Count</c>/<c>q.ToArray().Length</c>: replaced by <see cref="ReplacementProperty"/> on the source.</summary>
    public const string PropertyForm = "Property";

    private static readonly RuleScopeOption Scope = RuleScopeOption.For(RuleIdentifiers.MaterializedOnce, RuleScope.Everywhere);

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.MaterializedOnce);

    protected override void Register(AnalysisContext context) => context.RegisterCompilationStartAction(static start =>
    {
        var types = MaterializedOnceTypes.Create(start.Compilation);
        if (types is null)
            return;
        var services = CompilationServices.Get(start.Compilation, start.Options);
        start.RegisterOperationAction(
            context => AnalyzeInvocation(context, types, services),
            OperationKind.Invocation);
    });

    private static void AnalyzeInvocation(
        OperationAnalysisContext context,
        MaterializedOnceTypes types,
        CompilationServices services)
    {
        var invocation = (IInvocationOperation)context.Operation;
        var method = invocation.TargetMethod;

        // Cheapest test first: almost every invocation stops here.
        var isToList = method.Name == "ToList";
        if (!isToList && method.Name != "ToArray")
            return;

        ITypeSymbol elementType;
        IOperation? sourceOperation;
        if (method.IsStatic)
        {
            if (!SymbolEqualityComparer.Default.Equals(method.ContainingType, types.Enumerable)
                || method.Parameters.Length != 1
                || method.TypeArguments.Length != 1
                || invocation.Arguments.Length != 1)
            {
                return;
            }

            elementType = method.TypeArguments[0];
            sourceOperation = invocation.Arguments[0].Value;
        }
        else
        {
            // List<T>.ToArray(): `foreach (var x in list.ToArray())` is the same snapshot idiom.
            if (isToList
                || method.Parameters.Length != 0
                || method.ContainingType is not { TypeArguments.Length: 1 } listType
                || !SymbolEqualityComparer.Default.Equals(listType.OriginalDefinition, types.List))
            {
                return;
            }

            elementType = listType.TypeArguments[0];
            sourceOperation = invocation.Instance;
        }

        if (sourceOperation is null
            || elementType.TypeKind == TypeKind.Error
            || invocation.Type is not { } copyType
            || invocation.Syntax is not InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax access } syntax
            || !access.IsKind(SyntaxKind.SimpleMemberAccessExpression)
            || syntax.ContainsDiagnostics)
        {
            return;
        }

        var use = FindUse(invocation, isToList, types, services, context.CancellationToken);
        if (use is null)
            return;

        var scope = services.ScopeOf(Scope, syntax.SyntaxTree);
        if (!services.HotPaths.IsInScope(scope, invocation, context.ContainingSymbol))
            return;

        var source = KnownMembers.Unwrap(sourceOperation);
        if (source.Type is not { } sourceType
            || MaterializedOnceAnalysis.SequenceElementType(sourceType, types) is not { } sourceElement
            || !SymbolEqualityComparer.Default.Equals(sourceElement, elementType))
        {
            // ToList<object>() over IEnumerable<string>: the loop variable would change type.
            return;
        }

        var analysis = new MaterializedOnceAnalysis(types, invocation, context.ContainingSymbol?.ContainingType, context.CancellationToken);
        if (!analysis.AnalyzeChain(source))
            return;

        string? replacement = null;
        switch (use.Kind)
        {
            case UseKind.ForEach:
            case UseKind.LocalForEach:
                // IEnumerable<object> copy = strings.ToList(): the loop variable is typed by the local.
                if (use.Local is not null
                    && !SymbolEqualityComparer.Default.Equals(MaterializedOnceAnalysis.SequenceElementType(use.Local.Type, types), elementType))
                {
                    return;
                }

                if (sourceType is INamedTypeSymbol { TypeKind: not TypeKind.Interface } named
                    && !MaterializedOnceAnalysis.PatternElementMatches(named, elementType))
                {
                    return; // foreach over the source would use another GetEnumerator.
                }

                if (!analysis.CanDropCopyBefore(use.Body!))
                    return;
                break;

            case UseKind.Call:
                if (MaterializedOnceAnalysis.HasInstanceMethod(sourceType, use.Member))
                    return; // source.Any() would bind to the source's own method.
                if (use.Body is not null)
                {
                    if (!analysis.CanDropCopyBefore(use.Body))
                        return;
                }
                else if (use.Member == "Any" && !analysis.CanStopEarly())
                {
                    return;
                }

                break;

            case UseKind.Property:
                replacement = MaterializedOnceAnalysis.CountReplacement(sourceType, types);
                if (replacement == "Count()" && MaterializedOnceAnalysis.HasInstanceMethod(sourceType, "Count"))
                    return;
                break;
        }

        var form = use.Kind switch
        {
            UseKind.ForEach => ForEachForm,
            UseKind.LocalForEach => LocalForEachForm,
            UseKind.Call => ReceiverForm,
            _ => PropertyForm,
        };
        var properties = ImmutableDictionary<string, string?>.Empty.Add(FormProperty, form);
        if (replacement is not null)
            properties = properties.Add(ReplacementProperty, replacement);

        var call = isToList ? "ToList()" : "ToArray()";
        var copy = copyType.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat);
        string what, advice;
        switch (use.Kind)
        {
            case UseKind.ForEach:
                what = "that is only enumerated once by this foreach";
                advice = "enumerate the source directly";
                break;
            case UseKind.LocalForEach:
                what = $"that is only enumerated once, by the foreach that follows through '{use.Local!.Name}'";
                advice = "enumerate the source directly";
                break;
            case UseKind.Call:
                what = $"only to call '{use.Member}' on it";
                advice = $"call '{use.Member}' on the source";
                break;
            default:
                what = $"only to read its '{use.Member}'";
                advice = replacement == "Count()" ? "use 'Count()' on the source" : $"use the source's own '{replacement}'";
                break;
        }

        context.ReportDiagnostic(Diagnostic.Create(
            RuleCatalogue.MaterializedOnce,
            access.Name.GetLocation(),
            properties,
            call,
            copy,
            what,
            advice));
    }

    private enum UseKind
    {
        ForEach,
        LocalForEach,
        Property,
        Call,
    }

    private sealed class Use
    {
        public Use(UseKind kind, string member, IOperation? body = null, ILocalSymbol? local = null)
        {
            Kind = kind;
            Member = member;
            Body = body;
            Local = local;
        }

        public UseKind Kind { get; }

        /// <summary>Count, Length, Any: the member the copy is asked for.</summary>
        public string Member { get; }

        /// <summary>The code that runs between the source's elements once the copy is gone: the loop (its
        /// body) or the predicate of Any/Count.</summary>
        public IOperation? Body { get; }

        public ILocalSymbol? Local { get; }
    }

    /// <summary>How the copy is consumed; null unless it is consumed once, in a way we can rewrite.</summary>
    private static Use? FindUse(IInvocationOperation invocation, bool isToList, MaterializedOnceTypes types, CompilationServices services, CancellationToken cancellationToken)
    {
        IOperation node = invocation;
        while (node.Parent is IConversionOperation { IsImplicit: true, OperatorMethod: null } conversion)
            node = conversion;

        switch (node.Parent)
        {
            case IForEachLoopOperation loop when loop.Collection == node && !loop.IsAsynchronous && !loop.Syntax.ContainsDiagnostics:
                return new Use(UseKind.ForEach, "foreach", loop);

            case IPropertyReferenceOperation property when node == invocation && property.Instance == invocation && property.Arguments.Length == 0:
                var name = property.Property.Name;
                if (isToList ? name == "Count" : name == "Length")
                    return new Use(UseKind.Property, name);
                return null;

            case IArgumentOperation argument when argument.Parent is IInvocationOperation consumer
                                                  && consumer.Arguments.Length is 1 or 2
                                                  && consumer.Arguments[0] == argument
                                                  && SymbolEqualityComparer.Default.Equals(consumer.TargetMethod.ContainingType, types.Enumerable)
                                                  && consumer.TargetMethod.Name is "Any" or "Count":
                if (consumer.Arguments.Length == 1)
                    return new Use(UseKind.Call, consumer.TargetMethod.Name);

                // Any(predicate)/Count(predicate): the predicate runs between elements, like a loop body.
                return consumer.Arguments[1].Value is IDelegateCreationOperation { Target: IAnonymousFunctionOperation lambda }
                    ? new Use(UseKind.Call, consumer.TargetMethod.Name, lambda.Body)
                    : null;

            case IVariableInitializerOperation { Parent: IVariableDeclaratorOperation declarator }:
                return FindLocalForEach(declarator, services, cancellationToken);

            default:
                return null;
        }
    }

    /// <summary><c>var copy = source.ToList();</c> immediately followed by <c>foreach (… in copy)</c>, the
    /// copy's only use. Nothing runs between the two statements, so the source can be evaluated at the
    /// foreach instead.</summary>
    private static Use? FindLocalForEach(IVariableDeclaratorOperation declarator, CompilationServices services, CancellationToken cancellationToken)
    {
        var local = declarator.Symbol;
        if (local.RefKind != RefKind.None || local.IsConst
            || declarator.Parent is not IVariableDeclarationOperation { Declarators.Length: 1 } declaration
            || declaration.Parent is not IVariableDeclarationGroupOperation { Declarations.Length: 1 } group
            || group.Parent is not IBlockOperation block
            || group.Syntax is not LocalDeclarationStatementSyntax statement
            || statement.UsingKeyword.IsKind(SyntaxKind.UsingKeyword)
            || statement.Parent is not BlockSyntax)
        {
            return null;
        }

        var operations = block.Operations;
        var index = operations.IndexOf(group);
        if (index < 0 || index + 1 >= operations.Length)
            return null;
        if (operations[index + 1] is not IForEachLoopOperation { IsAsynchronous: false } loop
            || loop.Syntax.ContainsDiagnostics
            || KnownMembers.Unwrap(loop.Collection) is not ILocalReferenceOperation reference
            || !SymbolEqualityComparer.Default.Equals(reference.Local, local)
            || loop.Syntax is not CommonForEachStatementSyntax { Expression: IdentifierNameSyntax } forEach
            || forEach.Parent != statement.Parent)
        {
            return null;
        }

        // The foreach must be the copy's only use (the escape engine agrees it goes nowhere else).
        var facts = BodyFacts.Of(block);
        if (facts.ReferencesTo(local).Count != 1)
            return null;
        if (new Engines.Escape.EscapeEngine(facts.Root, services.Summaries, cancellationToken).AnalyzeSymbol(local).Escapes)
            return null;

        return new Use(UseKind.LocalForEach, "foreach", loop, local);
    }
}

/// <summary>Types the rule compares against, resolved once per compilation.</summary>
internal sealed class MaterializedOnceTypes
{
    private MaterializedOnceTypes(INamedTypeSymbol enumerable, INamedTypeSymbol? list, INamedTypeSymbol? queryable, ITypeSymbol charType)
    {
        Enumerable = enumerable;
        List = list;
        Queryable = queryable;
        Char = charType;
        Members = new KnownMembers(enumerable, list);
    }

    public INamedTypeSymbol Enumerable { get; }
    public INamedTypeSymbol? List { get; }
    public INamedTypeSymbol? Queryable { get; }
    public ITypeSymbol Char { get; }

    /// <summary>The effects engine's knowledge of library members, for this compilation.</summary>
    public KnownMembers Members { get; }

    /// <summary>Which types of this compilation synchronise (cached per type).</summary>
    public Synchronization Synchronization { get; } = new();

    public static MaterializedOnceTypes? Create(Compilation compilation)
    {
        var enumerable = WellKnownTypes.Of(compilation).Enumerable;
        var list = WellKnownTypes.Of(compilation).List;
        if (enumerable is null)
            return null;
        return new MaterializedOnceTypes(
            enumerable,
            list,
            compilation.GetTypeByMetadataName("System.Linq.IQueryable"),
            compilation.GetSpecialType(SpecialType.System_Char));
    }
}
