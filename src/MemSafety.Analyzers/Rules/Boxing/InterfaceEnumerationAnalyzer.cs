using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Collections.Immutable;
using MemSafety.Analyzers.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.Boxing;

/// <summary>
/// MSA2006. A local, or a private field, declared as an enumerable interface but only ever assigned one
/// concrete base-library collection (or an array), then enumerated with <c>foreach</c>: the loop calls
/// <c>IEnumerable&lt;T&gt;.GetEnumerator</c>, which returns the collection's struct enumerator boxed (an
/// array returns a heap enumerator object), and every MoveNext/Current is an interface call. Declared as
/// the concrete type, the same loop uses the struct enumerator (or an index loop for an array).
/// </summary>
/// <remarks>
/// Facts are collected per named type (every assignment of a private field is in its type; every
/// assignment of a local is in its member) and evaluated at the end of the type. A variable is a
/// candidate only when each of its writes is provably of one type: an object or array creation, a value
/// of an array or sealed type, or null. Anything else (an unknown value, a ref/out/in argument, a
/// deconstruction, a write of a local inside a lambda or local function) disqualifies it.
/// </remarks>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class InterfaceEnumerationAnalyzer : MemSafetyAnalyzer
{
    /// <summary>Diagnostic property: the concrete type, fully qualified, for the fix.</summary>
    public const string ConcreteTypeProperty = "ConcreteType";

    private static readonly RuleScopeOption Scope = RuleScopeOption.For(RuleIdentifiers.InterfaceEnumeration, RuleScope.HotPaths);

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.InterfaceEnumeration);

    private static readonly SymbolDisplayFormat Display = SymbolDisplayFormat.MinimallyQualifiedFormat;

    private static readonly SymbolDisplayFormat NestedDisplay = new(
        typeQualificationStyle: SymbolDisplayTypeQualificationStyle.NameAndContainingTypes,
        genericsOptions: SymbolDisplayGenericsOptions.IncludeTypeParameters,
        miscellaneousOptions: SymbolDisplayMiscellaneousOptions.UseSpecialTypes | SymbolDisplayMiscellaneousOptions.EscapeKeywordIdentifiers);

    protected override void Register(AnalysisContext context) => context.RegisterCompilationStartAction(start =>
    {
        var services = CompilationServices.Get(start.Compilation, start.Options);
        start.RegisterSymbolStartAction(symbolStart =>
        {
            var type = (INamedTypeSymbol)symbolStart.Symbol;
            // Only a foreach of this type's code reports, so a type whose text does not spell the keyword (most
            // types) needs none of the actions below: registering them made the driver call us for every local
            // and field reference of every type.
            if (!MayHaveForEach(type, symbolStart.CancellationToken))
                return;
            var facts = new ConcurrentDictionary<ISymbol, VariableFacts>(SymbolEqualityComparer.Default);
            // A nested type can write its container's private fields, but its code is not part of this
            // type's analysis: fields of such a type are not candidates.
            var fieldsAreClosed = type.GetTypeMembers().IsEmpty;

            symbolStart.RegisterOperationAction(c => OnForEach(c, type, facts, fieldsAreClosed, services), OperationKind.Loop);
            symbolStart.RegisterOperationAction(c => OnReference(c, type, facts, fieldsAreClosed), OperationKind.LocalReference, OperationKind.FieldReference);
            symbolStart.RegisterOperationAction(c => OnDeclarator(c, type, facts), OperationKind.VariableDeclarator);
            symbolStart.RegisterOperationAction(c => OnFieldInitializer(c, type, facts, fieldsAreClosed), OperationKind.FieldInitializer);
            symbolStart.RegisterSymbolEndAction(end => Report(end, facts));
        }, SymbolKind.NamedType);
    });

    private static bool MayHaveForEach(INamedTypeSymbol type, System.Threading.CancellationToken cancellationToken)
    {
        var references = type.DeclaringSyntaxReferences;
        if (references.IsEmpty)
            return true;
        foreach (var reference in references)
        {
            if (WordPositions.Mentions(reference.SyntaxTree, reference.Span, "foreach", cancellationToken))
                return true;
        }

        return false;
    }

    // ------------------------------------------------------------------ collection

    private static void OnForEach(OperationAnalysisContext context, INamedTypeSymbol type, ConcurrentDictionary<ISymbol, VariableFacts> facts, bool fieldsAreClosed, CompilationServices services)
    {
        if (context.Operation is not IForEachLoopOperation { IsAsynchronous: false } loop || !InThisType(context, type))
            return;
        var collection = Unwrap(loop.Collection);
        var variable = collection switch
        {
            ILocalReferenceOperation local => (ISymbol)local.Local,
            IFieldReferenceOperation field => field.Field,
            _ => null,
        };
        if (variable is null || !IsCandidate(variable, fieldsAreClosed) || loop.Syntax is not CommonForEachStatementSyntax syntax || syntax.ContainsDiagnostics)
            return;
        if (collection is IFieldReferenceOperation { Instance: { } instance } && instance is not IInstanceReferenceOperation)
            return;
        // The loop must really go through an interface's GetEnumerator returning a reference type.
        var info = loop.SemanticModel?.GetForEachStatementInfo(syntax);
        if (info?.GetEnumeratorMethod is not { ContainingType.TypeKind: TypeKind.Interface, ReturnType.IsReferenceType: true })
            return;

        var scope = services.ScopeOf(Scope, syntax.SyntaxTree);
        if (!services.HotPaths.IsInScope(scope, loop, context.ContainingSymbol))
            return;
        var state = facts.GetOrAdd(variable, _ => new VariableFacts());
        lock (state)
            state.Loops.Add(syntax.Expression);
    }

    private static void OnReference(OperationAnalysisContext context, INamedTypeSymbol type, ConcurrentDictionary<ISymbol, VariableFacts> facts, bool fieldsAreClosed)
    {
        var reference = context.Operation;
        var variable = reference switch
        {
            ILocalReferenceOperation local => (ISymbol)local.Local,
            IFieldReferenceOperation field => field.Field,
            _ => null,
        };
        // Cheap rejections first: this runs for every local and field reference of the type.
        if (variable is null || VariableType(variable)?.TypeKind != TypeKind.Interface || !IsCandidate(variable, fieldsAreClosed))
            return;
        if (!InThisType(context, type))
        {
            Disqualify(facts, variable);
            return;
        }

        var child = reference;
        switch (reference.Parent)
        {
            case ISimpleAssignmentOperation assignment when assignment.Target == child:
                if (assignment.IsRef || WrittenFromAnotherFunction(variable, reference))
                    Disqualify(facts, variable);
                else
                    Record(facts, variable, assignment.Value);
                return;
            case ICoalesceAssignmentOperation coalesce when coalesce.Target == child:
                if (WrittenFromAnotherFunction(variable, reference))
                    Disqualify(facts, variable);
                else
                    Record(facts, variable, coalesce.Value);
                return;
            case ICompoundAssignmentOperation compound when compound.Target == child:
                Disqualify(facts, variable);
                return;
            case IArgumentOperation argument when argument.Parameter is null || argument.Parameter.RefKind != RefKind.None:
                Disqualify(facts, variable);
                return;
            case ITupleOperation or IDeclarationExpressionOperation or IInvalidOperation or IVariableInitializerOperation { Parent: IVariableDeclaratorOperation { Symbol.RefKind: not RefKind.None } }:
                // A deconstruction target, a foreach deconstruction, a ref local bound to it, broken code.
                Disqualify(facts, variable);
                return;
            case IReturnOperation when IsRefReturn(reference):
                Disqualify(facts, variable);
                return;
        }

        // `ref` uses the syntax can show: ref arguments are arguments (above); `ref x` elsewhere
        // (ref ternaries, ref returns, ref assignments) takes the variable's address.
        if (reference.Syntax.Parent is RefExpressionSyntax)
            Disqualify(facts, variable);
    }

    private static void OnDeclarator(OperationAnalysisContext context, INamedTypeSymbol type, ConcurrentDictionary<ISymbol, VariableFacts> facts)
    {
        var declarator = (IVariableDeclaratorOperation)context.Operation;
        if (declarator.Symbol.Type?.TypeKind != TypeKind.Interface || !InThisType(context, type) || !IsCandidate(declarator.Symbol, fieldsAreClosed: false))
            return;
        var initializer = declarator.GetVariableInitializer();
        if (initializer is not null)
            Record(facts, declarator.Symbol, initializer.Value);
    }

    private static void OnFieldInitializer(OperationAnalysisContext context, INamedTypeSymbol type, ConcurrentDictionary<ISymbol, VariableFacts> facts, bool fieldsAreClosed)
    {
        var initializer = (IFieldInitializerOperation)context.Operation;
        foreach (var field in initializer.InitializedFields)
        {
            if (field.Type.TypeKind == TypeKind.Interface && IsCandidate(field, fieldsAreClosed) && InThisType(context, type))
                Record(facts, field, initializer.Value);
        }
    }

    private static bool InThisType(OperationAnalysisContext context, INamedTypeSymbol type)
        => SymbolEqualityComparer.Default.Equals(context.ContainingSymbol.ContainingType ?? context.ContainingSymbol as INamedTypeSymbol, type);

    private static ITypeSymbol? VariableType(ISymbol variable) => variable switch
    {
        ILocalSymbol local => local.Type,
        IFieldSymbol field => field.Type,
        _ => null,
    };

    /// <summary>A local declared by a plain declaration statement (or a for initializer) with an explicit
    /// interface type, or a private field declared in source, not a backing field or constant.</summary>
    private static bool IsCandidate(ISymbol variable, bool fieldsAreClosed)
    {
        switch (variable)
        {
            case ILocalSymbol local:
                if (local.Type.TypeKind != TypeKind.Interface || local.IsConst || local.RefKind != RefKind.None || local.DeclaringSyntaxReferences.Length != 1)
                    return false;
                return local.DeclaringSyntaxReferences[0].GetSyntax() is VariableDeclaratorSyntax
                {
                    Parent: VariableDeclarationSyntax { Type.IsVar: false, Parent: LocalDeclarationStatementSyntax { UsingKeyword.RawKind: 0 } or ForStatementSyntax },
                };
            case IFieldSymbol field:
                return fieldsAreClosed && field.Type.TypeKind == TypeKind.Interface && field.DeclaredAccessibility == Accessibility.Private
                    && !field.IsConst && !field.IsImplicitlyDeclared && field.RefKind == RefKind.None
                    && field.DeclaringSyntaxReferences.Length == 1;
            default:
                return false;
        }
    }

    /// <summary>The brief for this rule counts a local written inside a lambda or local function as not provable.</summary>
    private static bool WrittenFromAnotherFunction(ISymbol variable, IOperation write)
        => variable is ILocalSymbol local && write.EnclosingFunction() is { } function && !SymbolEqualityComparer.Default.Equals(function, local.ContainingSymbol);

    private static bool IsRefReturn(IOperation reference) => reference.Syntax.Parent is RefExpressionSyntax;

    private static void Record(ConcurrentDictionary<ISymbol, VariableFacts> facts, ISymbol variable, IOperation value)
    {
        var state = facts.GetOrAdd(variable, _ => new VariableFacts());
        lock (state)
            Classify(value, state);
    }

    private static void Disqualify(ConcurrentDictionary<ISymbol, VariableFacts> facts, ISymbol variable)
    {
        var state = facts.GetOrAdd(variable, _ => new VariableFacts());
        lock (state)
            state.Unknown = true;
    }

    /// <summary>What a written value is at run time, when the operation proves it.</summary>
    private static void Classify(IOperation value, VariableFacts state)
    {
        value = Unwrap(value);
        switch (value)
        {
            case IConditionalOperation { WhenFalse: { } whenFalse } conditional:
                Classify(conditional.WhenTrue, state);
                Classify(whenFalse, state);
                return;
            case ICoalesceOperation coalesce:
                Classify(coalesce.Value, state);
                Classify(coalesce.WhenNull, state);
                return;
            case ILiteralOperation or IDefaultValueOperation when value.ConstantValue is { HasValue: true, Value: null }:
                state.AssignedNull = true;
                return;
            case IObjectCreationOperation { Type: INamedTypeSymbol created } when !created.IsValueType:
                state.Add(created);
                return;
            case IArrayCreationOperation { Type: IArrayTypeSymbol created }:
                state.Add(created);
                return;
        }

        // A value whose static type can only be that type at run time.
        if (value.Type is IArrayTypeSymbol array)
            state.Add(array);
        else if (value.Type is INamedTypeSymbol { TypeKind: TypeKind.Class, IsSealed: true } sealedType)
            state.Add(sealedType);
        else
            state.Unknown = true;
    }

    /// <summary>Strips the implicit reference conversions the compiler inserts (to the declared interface).</summary>
    private static IOperation Unwrap(IOperation operation)
    {
        while (operation is IConversionOperation { IsImplicit: true } conversion && (conversion.Conversion.IsReference || conversion.Conversion.IsIdentity))
            operation = conversion.Operand;
        return operation;
    }

    // ------------------------------------------------------------------ reporting

    private static void Report(SymbolAnalysisContext context, ConcurrentDictionary<ISymbol, VariableFacts> facts)
    {
        foreach (var pair in facts)
        {
            var state = pair.Value;
            if (state.Loops.Count == 0 || state.Unknown || state.Types.Count != 1)
                continue;
            var variable = pair.Key;
            var declared = VariableType(variable)!;
            var concrete = state.Types[0];
            if (!Implements(concrete, declared) || !TryDescribe(concrete, declared, out var consequence))
                continue;

            var properties = ImmutableDictionary<string, string?>.Empty.Add(ConcreteTypeProperty, concrete.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat));
            foreach (var expression in state.Loops)
            {
                context.ReportDiagnostic(Diagnostic.Create(
                    RuleCatalogue.InterfaceEnumeration,
                    expression.GetLocation(),
                    properties,
                    variable.Name,
                    declared.ToDisplayString(Display),
                    concrete.ToDisplayString(Display),
                    consequence));
            }
        }
    }

    private static bool Implements(ITypeSymbol concrete, ITypeSymbol declared)
    {
        foreach (var implemented in concrete.AllInterfaces)
        {
            if (SymbolEqualityComparer.Default.Equals(implemented, declared))
                return true;
        }

        return false;
    }

    /// <summary>What the interface loop costs for this concrete type, or false when declaring the concrete
    /// type would not save an allocation we can vouch for.</summary>
    private static bool TryDescribe(ITypeSymbol concrete, ITypeSymbol declared, out string consequence)
    {
        consequence = string.Empty;
        if (concrete is IArrayTypeSymbol array)
        {
            if (!array.IsSZArray)
                return false;
            consequence = "allocates an enumerator object where the array type is looped by index";
            return true;
        }

        // Only the base library's collections: their IEnumerable<T>.GetEnumerator is known to return the
        // struct enumerator boxed. A collection of another library may implement the interface otherwise.
        if (concrete is not INamedTypeSymbol { TypeKind: TypeKind.Class } named || !named.DeclaringSyntaxReferences.IsEmpty || !InSystemNamespace(named))
            return false;
        var enumerator = PatternEnumerator(named);
        if (enumerator is null || !enumerator.IsValueType || enumerator.IsRefLikeType)
            return false;
        consequence = $"boxes its '{enumerator.ToDisplayString(NestedDisplay)}'";
        return true;
    }

    /// <summary>The return type of the GetEnumerator() that foreach over the type binds to (the first public
    /// instance parameterless GetEnumerator up the base chain).</summary>
    private static ITypeSymbol? PatternEnumerator(INamedTypeSymbol type)
    {
        for (var current = type; current is not null; current = current.BaseType)
        {
            foreach (var member in current.GetMembers("GetEnumerator"))
            {
                if (member is IMethodSymbol { IsStatic: false, Parameters.Length: 0, TypeParameters.Length: 0, DeclaredAccessibility: Accessibility.Public } method)
                    return method.ReturnType;
            }
        }

        return null;
    }

    private static bool InSystemNamespace(INamedTypeSymbol type)
    {
        var ns = type.ContainingNamespace;
        while (ns is { ContainingNamespace.IsGlobalNamespace: false })
            ns = ns.ContainingNamespace;
        return ns is { Name: "System" };
    }

    private sealed class VariableFacts
    {
        public List<ITypeSymbol> Types { get; } = new();

        public List<SyntaxNode> Loops { get; } = new();

        public bool AssignedNull { get; set; }

        public bool Unknown { get; set; }

        public void Add(ITypeSymbol type)
        {
            foreach (var known in Types)
            {
                if (SymbolEqualityComparer.Default.Equals(known, type))
                    return;
            }

            Types.Add(type);
        }
    }
}
