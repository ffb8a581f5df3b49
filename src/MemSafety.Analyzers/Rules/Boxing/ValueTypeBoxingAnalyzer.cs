using System.Collections.Generic;
using System.Collections.Immutable;
using MemSafety.Analyzers.Compat;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Bodies;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;
using Microsoft.CodeAnalysis.Text;

namespace MemSafety.Analyzers.Rules.Boxing;

/// <summary>
/// MSA2001. A boxing conversion (a value type converted to <c>object</c>, <c>ValueType</c>, <c>Enum</c> or an
/// interface) compiles to a <c>box</c> instruction: a heap allocation and a copy, every time it runs. The
/// receiver of a struct instance method turned into a delegate is boxed the same way. Reported where it
/// is repeated (hot paths by default; loops with the hot_paths_and_loops scope) and only where the box is real: the compiler's and the
/// JIT's known eliminations (string concatenation, <c>box</c>+<c>unbox.any</c>, type tests, null tests,
/// <c>GetType()</c>, <c>Enum.HasFlag</c>) and constructs another MSA2xxx rule owns are left out (the
/// evidence is in docs/design/boxing.md). Type parameters are never reported: whether <c>T</c> boxes
/// depends on the type argument.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class ValueTypeBoxingAnalyzer : MemSafetyAnalyzer
{
    /// <summary>Diagnostic property set when the box is an argument for an interface-typed parameter of a
    /// method in source; the fix decides (with the whole solution in view) whether the method can take a
    /// constrained type parameter instead.</summary>
    public const string InterfaceParameterProperty = "InterfaceParameter";

    private static readonly RuleScopeOption Scope = RuleScopeOption.For(RuleIdentifiers.ValueTypeBoxing, RuleScope.HotPaths);

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.ValueTypeBoxing);

    protected override void Register(AnalysisContext context) => context.RegisterCompilationStartAction(start =>
    {
        var services = CompilationServices.Get(start.Compilation, start.Options);
        // The cold-path facts (type lookups) are taken on the first callback, not here: a compilation's first lookups load
        // the namespace tables of every referenced assembly, which binding does anyway once the driver has started.
        start.RegisterOperationAction(operation => AnalyzeConversion(operation, services.ColdPaths, services), OperationKind.Conversion);
        start.RegisterOperationAction(operation => AnalyzeMethodReference(operation, services.ColdPaths, services), OperationKind.MethodReference);
        // One action per operation kind: the driver's cost of calling an action is paid per node, and invocations are many.
        start.RegisterOperationAction(operation =>
        {
            var cold = services.ColdPaths;
            AnalyzeEnumReceiver(operation, cold, services);
            AnalyzeParamsCall(operation, cold, services);
        }, OperationKind.Invocation);
        start.RegisterOperationAction(operation => AnalyzeParamsCall(operation, services.ColdPaths, services), OperationKind.ObjectCreation);
    });

    private static void AnalyzeConversion(OperationAnalysisContext context, ColdPaths cold, CompilationServices services)
    {
        var conversion = (IConversionOperation)context.Operation;

        // Cheap prefilters first: a value type (not a type parameter) to a reference type, and C# says boxing.
        var operandType = conversion.Operand.Type;
        if (operandType is null || !operandType.IsValueType || operandType.TypeKind == TypeKind.TypeParameter || operandType.IsRefLikeType)
            return;
        var target = conversion.Type;
        if (target is null || !target.IsReferenceType || target.TypeKind == TypeKind.Dynamic)
            return;
        if (!conversion.GetConversion().IsBoxing || conversion.Syntax.ContainsDiagnostics)
            return;

        if (!IsInScope(context, conversion, services))
            return;
        if (!IsRealAndOurs(conversion, cold, out var why, out var interfaceParameter))
            return;

        var properties = interfaceParameter
            ? ImmutableDictionary<string, string?>.Empty.Add(InterfaceParameterProperty, "true")
            : ImmutableDictionary<string, string?>.Empty;
        context.ReportDiagnostic(Diagnostic.Create(
            RuleCatalogue.ValueTypeBoxing,
            conversion.Operand.Syntax.GetLocation(),
            properties,
            IsBoxed(conversion.Operand, operandType, target),
            MessageText.Frequency(conversion, context.ContainingSymbol, services.HotPaths),
            why));
    }

    /// <summary><c>Func&lt;int&gt; f = point.Length;</c>: the delegate's target is a boxed copy of the struct.</summary>
    private static void AnalyzeMethodReference(OperationAnalysisContext context, ColdPaths cold, CompilationServices services)
    {
        var reference = (IMethodReferenceOperation)context.Operation;
        if (reference.Method.IsStatic || reference.Instance is not { } instance || reference.Parent is not IDelegateCreationOperation creation)
            return;
        var type = instance.Type;
        if (type is null || !type.IsValueType || type.TypeKind == TypeKind.TypeParameter || type.IsRefLikeType || reference.Syntax.ContainsDiagnostics)
            return;
        if (!IsInScope(context, reference, services) || cold.IsColdOrNotRun(creation))
            return;

        context.ReportDiagnostic(Diagnostic.Create(
            RuleCatalogue.ValueTypeBoxing,
            reference.Syntax.GetLocation(),
            IsBoxed(instance, type, context.Compilation.ObjectType),
            MessageText.Frequency(reference, context.ContainingSymbol, services.HotPaths),
            $"a delegate to the instance method '{reference.Method.Name}' holds a boxed copy of the struct as its target"));
    }

    /// <summary>
    /// <c>mode.CompareTo(other)</c>, <c>mode.ToString("G")</c>: instance methods of <c>System.Enum</c> run on a
    /// boxed copy of the value. The bound tree has no conversion for this receiver (the compiler inserts the
    /// <c>box</c>, or a <c>constrained.</c> call that boxes, when it emits the call), so it is found from the
    /// call. Only the two members measured to allocate (ValueTypeBoxingTests) are reported; <c>HasFlag</c> is
    /// a JIT intrinsic, <c>GetHashCode</c>/<c>Equals</c> were not measured.
    /// </summary>
    private static void AnalyzeEnumReceiver(OperationAnalysisContext context, ColdPaths cold, CompilationServices services)
    {
        var invocation = (IInvocationOperation)context.Operation;
        var method = invocation.TargetMethod;
        if (method.IsStatic || method.ContainingType?.SpecialType != SpecialType.System_Enum || method.Name is not ("ToString" or "CompareTo")
            || invocation.Instance is not { Type.TypeKind: TypeKind.Enum } instance || instance.Syntax is not { } receiverSyntax
            || invocation.Syntax.ContainsDiagnostics)
        {
            return;
        }

        if (!IsInScope(context, invocation, services) || cold.IsColdOrNotRun(invocation))
            return;

        context.ReportDiagnostic(Diagnostic.Create(
            RuleCatalogue.ValueTypeBoxing,
            receiverSyntax.GetLocation(),
            IsBoxed(instance, instance.Type!, method.ContainingType),
            MessageText.Frequency(invocation, context.ContainingSymbol, services.HotPaths),
            $"'{MemberName(method)}' is declared by System.Enum, so the enum value is boxed to call it"));
    }

    /// <summary>
    /// <c>Ensure(ok, "{0} at {1}", count, offset)</c> with <c>Ensure(bool, string, params object[])</c>: the call
    /// allocates the array and boxes every value-type element before the callee runs, even when an assertion
    /// holds and the values are never read. One diagnostic for the call (not one per box, which would repeat the
    /// same message and miss the array), naming each boxed element as written. Only for the expanded form; an
    /// explicit <c>new object[] { … }</c> is the caller's own array and its elements are reported as stores.
    /// A call that boxes nothing is not this rule's business (the array alone is not a box). Callees whose boxes are
    /// not actionable (library members with an <c>object</c> parameter) or owned by another rule (composite
    /// formatting → MSA2002) are left out, as for single arguments.
    /// </summary>
    private static void AnalyzeParamsCall(OperationAnalysisContext context, ColdPaths cold, CompilationServices services)
    {
        var (method, arguments) = context.Operation switch
        {
            IInvocationOperation invocation => (invocation.TargetMethod, invocation.Arguments),
            IObjectCreationOperation { Constructor: { } constructor } creation => (constructor, creation.Arguments),
            _ => (null, default),
        };
        if (method is null || method.Parameters.IsEmpty || !method.Parameters[method.Parameters.Length - 1].IsParams)
            return;
        ImmutableArray<IOperation> elements = default;
        IParameterSymbol? parameter = null;
        foreach (var argument in arguments)
        {
            if (argument.ArgumentKind == ArgumentKind.ParamArray && argument.Value is IArrayCreationOperation { IsImplicit: true, Initializer: { } initializer })
                elements = initializer.ElementValues;
            else if (argument.ArgumentKind == RoslynEnums.ParamCollection && argument.Value is ICollectionExpressionOperation collection)
                elements = collection.Elements;
            else
                continue;
            parameter = argument.Parameter;
        }

        if (parameter is null || elements.IsDefaultOrEmpty || context.Operation.Syntax.ContainsDiagnostics)
            return;

        // Cheap checks first; the quoted text of each box is built only for a call that is reported.
        var anyBoxed = false;
        foreach (var element in elements)
            anyBoxed |= IsBoxedElement(element);
        if (!anyBoxed || IsOwnedElsewhere(method, method.ContainingType) || !IsActionableSink(method, parameter.OriginalDefinition.Type))
            return;
        if (!IsInScope(context, context.Operation, services) || cold.IsColdOrNotRun(context.Operation))
            return;

        var boxed = new List<string>();
        foreach (var element in elements)
        {
            if (IsBoxedElement(element))
            {
                var conversion = (IConversionOperation)element;
                boxed.Add($"'{MessageText.Quote(conversion.Operand)}' ({Display(conversion.Operand.Type!)})");
            }
        }

        var callee = MemberName(method);
        var allocates = parameter.Type switch
        {
            IArrayTypeSymbol array => $"allocates {MessageText.Article(Display(array.ElementType))} {Display(array.ElementType)}[{elements.Length}] and ",
            // A params span lives on the stack (an inline array); other params collections are built on the heap.
            INamedTypeSymbol { Name: "Span" or "ReadOnlySpan", ContainingNamespace.Name: "System" } => "",
            { TypeKind: TypeKind.Interface } => "allocates a collection and ",
            var other => $"allocates {MessageText.Article(Display(other))} '{Display(other)}' and ",
        };
        var why = $"the 'params {Display(parameter.Type)} {parameter.Name}' and its boxes are built before each call, even when '{callee}' does not use them";
        if (method.Locations.Length > 0 && method.Locations[0].IsInSource)
            why += $"; generic overloads of '{callee}' or a guard at the call site remove every such allocation";
        context.ReportDiagnostic(Diagnostic.Create(
            RuleCatalogue.ValueTypeBoxing,
            CallLocation(context.Operation.Syntax),
            $"'{callee}' {allocates}boxes {MessageText.List(boxed)}",
            MessageText.Frequency(context.Operation, context.ContainingSymbol, services.HotPaths),
            why));
    }

    private static bool IsBoxedElement(IOperation element)
        => element is IConversionOperation { Operand.Type: { IsValueType: true, IsRefLikeType: false } type } conversion
           && type.TypeKind != TypeKind.TypeParameter && conversion.GetConversion().IsBoxing;

    /// <summary>From the method's name to the closing parenthesis: <c>Ensure(…)</c> of <c>Check.Ensure(…)</c>.</summary>
    private static Location CallLocation(SyntaxNode call)
        => call is InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax access }
            ? Location.Create(call.SyntaxTree, TextSpan.FromBounds(access.Name.SpanStart, call.Span.End))
            : call.GetLocation();


    /// <summary>The subject of a single box's message: <c>'count' (int) is boxed to 'object'</c>.</summary>
    private static string IsBoxed(IOperation value, ITypeSymbol type, ITypeSymbol target)
        => $"'{MessageText.Quote(value)}' ({Display(type)}) is boxed to '{Display(target)}'";

    private static bool IsInScope(OperationAnalysisContext context, IOperation operation, CompilationServices services)
    {
        var scope = services.ScopeOf(Scope, operation.Syntax.SyntaxTree);

        // A static initializer or static constructor runs once per type: never a repeated box.
        return services.HotPaths.IsInScope(scope, operation, context.ContainingSymbol) && !operation.RunsOncePerType(context.ContainingSymbol);
    }

    /// <summary>
    /// Walks up from the conversion. The immediate consumer decides whether the box is real (the JIT
    /// removes some) and whose it is (another rule's); any enclosing conditional call, throw, attribute or
    /// expression tree means it does not run, runs once on a cold path, or is not code at all.
    /// </summary>
    private static bool IsRealAndOurs(IConversionOperation conversion, ColdPaths cold, out string why, out bool interfaceParameter)
    {
        why = "";
        interfaceParameter = false;

        // Skip wrappers that pass the boxed value through unchanged to find its consumer.
        IOperation value = conversion;
        var consumer = conversion.Parent;
        while (consumer is not null && PassesThrough(consumer, value))
        {
            // `k switch { 0 => v, _ => "none" }`, `c ? v : name`: the other branch is another type, so the
            // destination is object on purpose (it holds several kinds of value), not by accident.
            if (HasBranchOfAnotherType(consumer, value, conversion.Operand.Type!))
                return false;
            value = consumer;
            consumer = consumer.Parent;
        }

        // `object value; … value = reader.ReadInt32(); … value = reader.ReadString();`: the same; and for the
        // elements of a local `object[]`: `args[i] = Convert.ToInt32(args[i]); … args[j] = node.Eval();`.
        if (LocalDestination(consumer, value, out var elements) is { } destination
            && HoldsAnotherType(conversion, destination, elements, conversion.Operand.Type!))
        {
            return false;
        }

        switch (consumer)
        {
            case null:
                return false;

            // `(int)(object)x`, `(object)x is int`, `(object)x == null`: box+unbox.any, box+isinst, box+brtrue idioms.
            case IConversionOperation { Type.IsValueType: true }:
            // `(T)(object)x`, usually under `typeof(T) == typeof(int)`: `box int; unbox.any T`. Instantiated over int
            // the JIT drops the pair (0 B measured on .NET 10, also with object stack allocation off); over another
            // value type it throws; only over object or an interface of int is the box real, and then it is the value
            // T holds, which depends on the type argument like any type parameter's box.
            case IConversionOperation { Type.TypeKind: TypeKind.TypeParameter }:
            case IIsTypeOperation:
            case IIsPatternOperation:
            case IBinaryOperation { OperatorKind: BinaryOperatorKind.Equals or BinaryOperatorKind.NotEquals } nullTest when IsNullLiteral(nullTest.LeftOperand) || IsNullLiteral(nullTest.RightOperand):
                return false;

            // `"a" + x`, `s += x`: the compiler calls ToString() instead (docs/design/boxing.md).
            case IBinaryOperation { OperatorKind: BinaryOperatorKind.Add } concat when concat.Type?.SpecialType == SpecialType.System_String:
            case ICompoundAssignmentOperation { OperatorKind: BinaryOperatorKind.Add } append when append.Type?.SpecialType == SpecialType.System_String:
            case IInterpolationOperation:
                return false;

            case IArgumentOperation argument:
                if (!DescribeArgument(argument, value, out why, out interfaceParameter))
                    return false;
                break;

            // An element of a C# 13 params collection (`params ReadOnlySpan<object>`): reported once per call.
            case ICollectionExpressionOperation { Parent: IArgumentOperation { ArgumentKind: RoslynEnums.ParamCollection } }:
                return false;

            case IInvocationOperation receiverCall when receiverCall.Instance == value:
                if (!DescribeReceiver(receiverCall.TargetMethod, out why))
                    return false;
                break;

            // `((IShape)s).Size`: as for calls, devirtualized and stack-allocated on .NET 10.
            case IPropertyReferenceOperation receiverProperty when receiverProperty.Instance == value:
                return false;

            case IVariableInitializerOperation initializer when initializer.Parent is IVariableDeclaratorOperation declarator:
                why = $"assigned to the local '{declarator.Symbol.Name}'";
                break;

            case IVariableInitializerOperation:
                why = "stored in a variable of that type";
                break;

            case ISimpleAssignmentOperation { Target: IPropertyReferenceOperation libraryProperty } when !IsActionableSink(libraryProperty.Property, libraryProperty.Property.OriginalDefinition.Type):
            case ISimpleAssignmentOperation { Target: IFieldReferenceOperation libraryField } when !IsActionableSink(libraryField.Field, libraryField.Field.OriginalDefinition.Type):
                return false;

            case ISimpleAssignmentOperation assignment when assignment.Value == value:
                why = assignment.Target switch
                {
                    IFieldReferenceOperation field => $"stored into the field '{field.Field.Name}'",
                    IPropertyReferenceOperation { Property.IsIndexer: true } indexer => $"stored through the indexer of '{Display(indexer.Property.ContainingType)}'",
                    IPropertyReferenceOperation property => $"stored into the property '{property.Property.Name}'",
                    ILocalReferenceOperation local => $"assigned to the local '{local.Local.Name}'",
                    IParameterReferenceOperation parameter => $"assigned to the parameter '{parameter.Parameter.Name}'",
                    IArrayElementReferenceOperation => "stored into an array element",
                    _ => "assigned to a location of that type",
                };
                break;

            case IReturnOperation { Kind: OperationKind.Return }:
                why = "returned";
                break;

            case IReturnOperation:
                why = "yielded";
                break;

            case IArrayCreationOperation array:
                why = $"stored into a new '{Display(array.Type!)}'";
                break;

            case ITupleOperation:
                why = "stored into a tuple element of that type";
                break;

            case IFieldInitializerOperation fieldInitializer when fieldInitializer.InitializedFields.Length > 0:
                why = $"stored into the field '{fieldInitializer.InitializedFields[0].Name}'";
                break;

            case IPropertyInitializerOperation propertyInitializer when propertyInitializer.InitializedProperties.Length > 0:
                why = $"stored into the property '{propertyInitializer.InitializedProperties[0].Name}'";
                break;

            // A collection expression element, an anonymous-object member, a switch-expression arm, a
            // lambda's expression body, …: boxing, with no consumer worth naming.
            default:
                why = conversion.IsImplicit ? "converted implicitly" : "by the explicit cast";
                break;
        }

        return !cold.IsColdOrNotRun(conversion);
    }

    private static bool HasBranchOfAnotherType(IOperation consumer, IOperation value, ITypeSymbol boxedType)
    {
        switch (consumer)
        {
            case IConditionalOperation conditional when conditional.Condition != value:
                return IsOtherType(conditional.WhenTrue == value ? conditional.WhenFalse : conditional.WhenTrue, boxedType);
            case ICoalesceOperation coalesce:
                return IsOtherType(coalesce.Value == value ? coalesce.WhenNull : coalesce.Value, boxedType);
            case ISwitchExpressionOperation switchExpression:
                foreach (var arm in switchExpression.Arms)
                {
                    if (arm != value && IsOtherType(arm.Value, boxedType))
                        return true;
                }

                return false;
            default:
                return false;
        }
    }

    /// <summary>A value whose own type (before the implicit conversion to the destination) is known and is
    /// not the boxed type; a <c>null</c> literal or a throw has no type and does not count.</summary>
    private static bool IsOtherType(IOperation? other, ITypeSymbol boxedType)
        => other is not null && other.WithoutImplicitConversions().Type is { } type && !SymbolEqualityComparer.Default.Equals(type, boxedType);

    /// <summary>The local the box is assigned to (<paramref name="elements"/> false), or the local array it is
    /// stored into an element of (true).</summary>
    private static ILocalSymbol? LocalDestination(IOperation? consumer, IOperation value, out bool elements)
    {
        elements = false;
        switch (consumer)
        {
            case IVariableInitializerOperation { Parent: IVariableDeclaratorOperation declarator }:
                return declarator.Symbol;
            case ISimpleAssignmentOperation { Target: ILocalReferenceOperation local } assignment when assignment.Value == value:
                return local.Local;
            case ISimpleAssignmentOperation { Target: IArrayElementReferenceOperation { ArrayReference: ILocalReferenceOperation array } } store when store.Value == value:
                elements = true;
                return array.Local;
            default:
                return null;
        }
    }

    /// <summary>
    /// Whether anything whose own type is known and is not <paramref name="boxedType"/> is written to the local
    /// (its initializer, simple assignments) or, with <paramref name="elements"/>, to the elements of the local
    /// array (its array-creation initializer, element stores): from the body's facts (the local's declarator
    /// and references), computed once per body and only if a box in scope lands in a local.
    /// </summary>
    private static bool HoldsAnotherType(IOperation operation, ILocalSymbol local, bool elements, ITypeSymbol boxedType)
    {
        var facts = BodyFacts.Of(operation);
        var initial = facts.DeclaratorOf(local)?.Initializer?.Value;
        if (!elements && initial is not null && IsAnotherType(initial, boxedType))
            return true;
        if (elements && initial?.WithoutImplicitConversions() is IArrayCreationOperation { Initializer: { } initializer })
        {
            foreach (var element in initializer.ElementValues)
            {
                if (IsAnotherType(element, boxedType))
                    return true;
            }
        }

        foreach (var reference in facts.ReferencesTo(local))
        {
            var target = reference;
            if (elements)
            {
                if (reference.Parent is not IArrayElementReferenceOperation element || element.ArrayReference != reference)
                    continue;
                target = element;
            }

            if (target.Parent is ISimpleAssignmentOperation assignment && assignment.Target == target && IsAnotherType(assignment.Value, boxedType))
                return true;
        }

        return false;
    }

    private static bool IsAnotherType(IOperation value, ITypeSymbol boxedType)
        => value.WithoutImplicitConversions().Type is { } type && !SymbolEqualityComparer.Default.Equals(type, boxedType);

    /// <summary>Operations that hand the boxed value on unchanged: parentheses, the branches of <c>?:</c>
    /// and <c>??</c>, and the elements of an array initializer (a params array's too).</summary>
    private static bool PassesThrough(IOperation consumer, IOperation value) => consumer switch
    {
        IParenthesizedOperation => true,
        IConditionalOperation conditional => conditional.Condition != value,
        ICoalesceOperation => true,
        IArrayInitializerOperation => true,
        IArrayCreationOperation { IsImplicit: true } => true,
        ISwitchExpressionArmOperation arm => arm.Value == value,
        ISwitchExpressionOperation switchExpression => switchExpression.Value != value,
        // A target-typed `c ? v : null` converted as a whole, or an explicit reference cast of the box.
        IConversionOperation { Type.IsReferenceType: true } outer => !outer.GetConversion().IsBoxing && !outer.GetConversion().IsUserDefined,
        _ => false,
    };

    private static bool DescribeArgument(IArgumentOperation argument, IOperation value, out string why, out bool interfaceParameter)
    {
        why = "";
        interfaceParameter = false;
        var parameter = argument.Parameter;
        IMethodSymbol? method = argument.Parent switch
        {
            IInvocationOperation invocation => invocation.TargetMethod,
            IObjectCreationOperation creation => creation.Constructor,
            _ => null,
        };
        if (parameter is null || method is null)
            return false;

        var declaring = method.ContainingType;
        if (IsOwnedElsewhere(method, declaring))
            return false;

        if (!IsActionableSink(method, parameter.OriginalDefinition.Type))
            return false;

        // An element of an expanded params array: AnalyzeParamsCall reports the call once, with the array.
        if (argument.ArgumentKind == ArgumentKind.ParamArray)
            return false;

        var callee = MemberName(method);

        if (method.Name == "Add" && argument.Parent is IInvocationOperation { IsImplicit: true } add && add.Instance?.Type is { } collection)
        {
            why = $"added to a '{Display(collection)}' by the collection initializer";
            return true;
        }

        why = $"passed as the '{Display(parameter.Type)}' parameter '{parameter.Name}' of '{callee}'";
        interfaceParameter = parameter.Type.TypeKind == TypeKind.Interface
                             && method.MethodKind == MethodKind.Ordinary
                             && method.Locations.Length > 0 && method.Locations[0].IsInSource;
        return true;
    }

    /// <summary>
    /// A box handed to a library member is only worth a warning when the caller chose the boxing type: an
    /// element type it instantiated (<c>List&lt;object&gt;.Add</c>, <c>Dictionary&lt;string, object&gt;</c>'s
    /// indexer: the member's declared type is a type parameter) or a non-generic collection with a generic
    /// replacement (<c>Hashtable</c>, <c>ArrayList</c>, …). An <c>object</c> parameter or property of a library
    /// API (<c>Array.SetValue</c>, <c>SerializationInfo.AddValue</c>, <c>DataRow[…]</c>) leaves the caller no
    /// choice, so it is not reported. Members declared in source always are: their author can change them.
    /// </summary>
    private static bool IsActionableSink(ISymbol member, ITypeSymbol declaredType)
    {
        if (member.Locations.Length > 0 && member.Locations[0].IsInSource)
            return true;
        if (declaredType.TypeKind == TypeKind.TypeParameter)
            return true;
        var ns = member.ContainingType?.ContainingNamespace;
        return ns is { Name: "Collections", ContainingNamespace: { Name: "System", ContainingNamespace.IsGlobalNamespace: true } };
    }

    /// <summary>Calls whose boxes other MSA2xxx rules report with a better fix, or that the JIT removes.</summary>
    private static bool IsOwnedElsewhere(IMethodSymbol method, INamedTypeSymbol? declaring)
    {
        if (declaring is null)
            return false;
        switch (declaring.SpecialType)
        {
            // object.Equals(a, b) → MSA2005; object.ReferenceEquals of a value is always false → CA2013;
            // a.Equals(b) of a struct without the override → MSA2004.
            case SpecialType.System_Object:
            case SpecialType.System_ValueType:
                return true;
            // HasFlag: a CoreCLR intrinsic (MSA2007 covers .NET Framework); IsDefined(typeof(E), v) and
            // GetName(typeof(E), v) → MSA2007 (generic overloads).
            case SpecialType.System_Enum:
                return method.Name is "HasFlag" or "IsDefined" or "GetName";
        }

        // string.Format, Console.Write[Line], TextWriter.Write[Line], StringBuilder.AppendFormat, string.Concat → MSA2002.
        // Only those: a user's own Write(object) was matched by name alone and reported by neither rule.
        return CompositeFormatting.IsBclFormattingApi(method);
    }

    private static bool DescribeReceiver(IMethodSymbol method, out string why)
    {
        why = "";
        var declaring = method.ContainingType;
        if (declaring is null)
            return false;

        // GetType() on a struct: the JIT folds the box to the type handle (0 bytes measured on .NET 10);
        // the inherited ToString/GetHashCode/Equals → MSA2004; Enum.HasFlag is an intrinsic.
        if (declaring.SpecialType is SpecialType.System_Object or SpecialType.System_ValueType)
            return false;
        if (declaring.SpecialType == SpecialType.System_Enum)
        {
            if (method.Name == "HasFlag")
                return false;
            why = $"'{MemberName(method)}' is declared by System.Enum, so the enum value is boxed to call it";
            return true;
        }

        // `((IShape)s).Area()`: the JIT knows the exact type, devirtualizes the call and keeps the box on
        // the stack (0 bytes measured on .NET 10); it allocates on .NET 8 and .NET Framework, but a rule
        // that is wrong on the current runtime is worse than a missed one.
        if (declaring.TypeKind == TypeKind.Interface)
            return false;
        why = $"the receiver of '{MemberName(method)}'";
        return true;
    }

    private static bool IsNullLiteral(IOperation operation)
        => operation.WithoutImplicitConversions() is ILiteralOperation { ConstantValue: { HasValue: true, Value: null } };

    private static string MemberName(ISymbol member)
        => member is IMethodSymbol { MethodKind: MethodKind.Constructor } constructor
            ? "new " + Display(constructor.ContainingType)
            : (member.ContainingType is { } type ? Display(type) + "." : "") + member.Name;

    private static string Display(ITypeSymbol type)
        => (type.IsReferenceType ? type.WithNullableAnnotation(NullableAnnotation.None) : type).ToDisplayString(SymbolDisplayFormat.CSharpShortErrorMessageFormat);
}
