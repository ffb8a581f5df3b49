using System;
using System.Collections.Generic;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Compat;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Rules.SharedState;
using MemSafety.CodeFixes.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Formatting;
using Microsoft.CodeAnalysis.Operations;
using Microsoft.CodeAnalysis.Simplification;
using Microsoft.CodeAnalysis.Text;

namespace MemSafety.CodeFixes.SharedState;

/// <summary>
/// MSA6004: gives the type a private gate and locks it instead — <c>private readonly object _gate = new object();</c>
/// (<c>static</c> for <c>typeof</c> and static fields; <c>System.Threading.Lock</c> where the target has it, C# is 13
/// or later and no <c>Monitor</c> call uses the object) — and retargets every <c>lock</c> and <c>Monitor</c> call of
/// the type on the same object, so the type's critical sections still exclude each other exactly as before. Offered
/// for <c>this</c>, <c>typeof</c> of the type itself, <c>GetType()</c> in a sealed type, and a reassigned private field.
/// Not offered where the change could let code that now excludes the type's critical sections stop doing so: a type
/// declared in several parts, another type of the project that locks the same object, a lock on a local or parameter
/// in the type (it may hold the same object), or a lock on the field of another instance.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(ExposedLockTargetFix)), Shared]
public sealed class ExposedLockTargetFix : MemSafetyCodeFix
{
    private static readonly SyntaxAnnotation GateAnnotation = new(nameof(ExposedLockTargetFix));

    public ExposedLockTargetFix()
        : base(RuleIdentifiers.ExposedLockTarget)
    {
    }

    public override FixAllProvider GetFixAllProvider() => FixAllProvider.Create(async (context, document, diagnostics) =>
    {
        var read = await FixDocument.ReadAsync(document, context.CancellationToken).ConfigureAwait(false);
        var plans = new List<GatePlan>();
        // In source order: the gates' names depend on which plan is made first, and callers such as dotnet format pass
        // the diagnostics in no particular order.
        foreach (var diagnostic in diagnostics.OrderBy(d => d.Location.SourceSpan.Start))
        {
            if (await PlanAsync(read, diagnostic.Location.SourceSpan, context.CancellationToken).ConfigureAwait(false) is { } plan
                && !plans.Any(p => p.SameGate(plan)))
            {
                plans.Add(plan);
            }
        }

        return plans.Count == 0 ? document : await ApplyAsync(read, plans, context.CancellationToken).ConfigureAwait(false);
    });

    private protected override async Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
    {
        var read = await FixDocument.ReadAsync(request.Document, request.CancellationToken).ConfigureAwait(false);
        if (await PlanAsync(read, diagnostic.Location.SourceSpan, request.CancellationToken).ConfigureAwait(false) is not { } plan)
            return;
        request.Register($"Lock a private {(plan.IsStatic ? "static " : string.Empty)}gate '{plan.Name}' instead", ct => ApplyAsync(read, new[] { plan }, ct), diagnostic);
    }

    /// <summary>One gate to add to one type, and the lock objects it replaces.</summary>
    private sealed class GatePlan
    {
        public GatePlan(TypeDeclarationSyntax type, INamedTypeSymbol typeSymbol, object key, bool isStatic, string name, bool useLock, List<ExpressionSyntax> targets)
        {
            Type = type;
            TypeSymbol = typeSymbol;
            Key = key;
            IsStatic = isStatic;
            Name = name;
            UseLock = useLock;
            Targets = targets;
        }

        public TypeDeclarationSyntax Type { get; }

        public INamedTypeSymbol TypeSymbol { get; }

        /// <summary>What is locked: the type (for <c>this</c>), the type's <c>Type</c> object, or the field.</summary>
        public object Key { get; }

        public bool IsStatic { get; }

        public string Name { get; set; }

        public bool UseLock { get; }

        public List<ExpressionSyntax> Targets { get; }

        public bool SameGate(GatePlan other) => Type == other.Type && Equals(Key, other.Key);
    }

    private static async Task<GatePlan?> PlanAsync(FixDocument read, TextSpan span, CancellationToken cancellationToken)
    {
        var (root, model) = read;
        if (root.FindNode(span, getInnermostNodeForTie: true) is not ExpressionSyntax reported
            || reported.FirstAncestorOrSelf<TypeDeclarationSyntax>() is not { } typeDeclaration
            || model.GetDeclaredSymbol(typeDeclaration, cancellationToken) is not { DeclaringSyntaxReferences.Length: 1 } type
            || model.GetOperation(reported, cancellationToken) is not { } reportedOperation)
        {
            return null;
        }

        if (Identity(reportedOperation, type) is not { } key)
            return null;
        var isStatic = key is ValueTuple<INamedTypeSymbol, string> || key is IFieldSymbol { IsStatic: true };

        // Every lock and Monitor call of the type: those on the same object are retargeted; any on an object the fix
        // cannot see to be different (a local, a parameter, another instance's field) stops it.
        var targets = new List<ExpressionSyntax>();
        var monitorUsed = false;
        foreach (var node in typeDeclaration.DescendantNodes())
        {
            ExpressionSyntax? locked;
            var isMonitor = false;
            if (node is LockStatementSyntax lockStatement)
            {
                locked = lockStatement.Expression;
            }
            else if (node is InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax { Expression: IdentifierNameSyntax { Identifier.ValueText: "Monitor" } }, ArgumentList.Arguments: { Count: > 0 } arguments }
                     && model.GetSymbolInfo(node, cancellationToken).Symbol is IMethodSymbol { IsStatic: true } method
                     && method.ContainingType is { Name: "Monitor" })
            {
                locked = arguments[0].Expression;
                isMonitor = true;
            }
            else
            {
                continue;
            }

            if (model.GetOperation(locked, cancellationToken) is not { } operation)
                return null;
            var value = Unwrap(operation);
            if (value is ILocalReferenceOperation or IParameterReferenceOperation)
                return null;
            var identity = Identity(value, type);
            if (identity is null)
            {
                // A field of another instance, or of the type's own that the rule does not name: different object
                // unless it is the same field of another object, which the fix could not retarget.
                if (value is IFieldReferenceOperation { Instance: not (null or IInstanceReferenceOperation) } other && Equals(other.Field, key))
                    return null;
                continue;
            }

            if (!Equals(identity, key))
                continue;
            targets.Add(locked);
            monitorUsed |= isMonitor;
        }

        if (targets.Count == 0 || !targets.Any(t => t.Span.Contains(reported.Span) || reported.Span.Contains(t.Span)))
            return null;
        if (key is INamedTypeSymbol && await LockedElsewhereAsync(read.Document.Project, type, key, cancellationToken).ConfigureAwait(false))
            return null;

        var languageVersion = ((CSharpParseOptions)root.SyntaxTree.Options).LanguageVersion;
        var useLock = !monitorUsed && languageVersion >= RoslynEnums.CSharp13
                      && model.Compilation.GetTypeByMetadataName("System.Threading.Lock") is { } lockType
                      && model.Compilation.IsSymbolAccessibleWithin(lockType, model.Compilation.Assembly);
        return new GatePlan(typeDeclaration, type, key, isStatic, GateName(type, isStatic), useLock, targets);
    }

    private static IOperation Unwrap(IOperation operation)
    {
        while (operation is IConversionOperation { IsImplicit: true } or IParenthesizedOperation)
            operation = operation is IConversionOperation conversion ? conversion.Operand : ((IParenthesizedOperation)operation).Operand;
        return operation;
    }

    /// <summary>The object a lock expression of <paramref name="type"/> stands for, when the fix can replace it: the
    /// type itself for <c>this</c>; a tuple (type, "Type") for <c>typeof(type)</c> or, in a sealed type's instance
    /// code, <c>GetType()</c>; the field for a field of this instance or a static field of the type.</summary>
    private static object? Identity(IOperation operation, INamedTypeSymbol type)
    {
        switch (Unwrap(operation))
        {
            case IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance }:
                return type;
            case ITypeOfOperation { TypeOperand: { } operand } when SymbolEqualityComparer.Default.Equals(operand, type):
                return (type, "Type");
            case IInvocationOperation { TargetMethod.Name: "GetType", Instance: null or IInstanceReferenceOperation, Arguments.Length: 0 } getType
                when type.IsSealed && getType.TargetMethod.ContainingType.SpecialType == SpecialType.System_Object:
                return (type, "Type");
            case IFieldReferenceOperation { Field: { } field, Instance: null or IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance } }
                when SymbolEqualityComparer.Default.Equals(field.ContainingType, type) && field.DeclaredAccessibility == Accessibility.Private:
                return field;
            default:
                return null;
        }
    }

    /// <summary>Whether code of the project outside <paramref name="type"/> locks what the fix would stop locking: an
    /// expression of the type (its instances) or <c>typeof</c> of it.</summary>
    private static async Task<bool> LockedElsewhereAsync(Project project, INamedTypeSymbol type, object key, CancellationToken cancellationToken)
    {
        foreach (var document in project.Documents)
        {
            var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
            if (root is null)
                continue;
            SemanticModel? model = null;
            foreach (var node in root.DescendantNodes())
            {
                var locked = node switch
                {
                    LockStatementSyntax lockStatement => lockStatement.Expression,
                    InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax { Expression: IdentifierNameSyntax { Identifier.ValueText: "Monitor" } }, ArgumentList.Arguments: { Count: > 0 } arguments } => arguments[0].Expression,
                    _ => null,
                };
                if (locked is null)
                    continue;
                model ??= await document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false);
                if (model is null)
                    return true;
                var enclosing = model.GetEnclosingSymbol(locked.SpanStart, cancellationToken);
                if (enclosing is not null && IsWithin(enclosing, type))
                    continue;
                var value = model.GetOperation(locked, cancellationToken) is { } operation ? Unwrap(operation) : null;
                var sameObject = key is INamedTypeSymbol
                    ? value?.Type is { } valueType && Derives(valueType, type)
                    : value is ITypeOfOperation typeOf && SymbolEqualityComparer.Default.Equals(typeOf.TypeOperand, type);
                if (sameObject || value is null)
                    return true;
            }
        }

        return false;

        static bool IsWithin(ISymbol symbol, INamedTypeSymbol type)
        {
            for (var current = symbol; current is not null; current = current.ContainingSymbol)
            {
                if (SymbolEqualityComparer.Default.Equals(current, type))
                    return true;
            }

            return false;
        }

        static bool Derives(ITypeSymbol candidate, INamedTypeSymbol type)
        {
            for (var current = candidate; current is not null; current = current.BaseType)
            {
                if (SymbolEqualityComparer.Default.Equals(current.OriginalDefinition, type.OriginalDefinition))
                    return true;
            }

            return false;
        }
    }

    /// <summary>A name in the type's style (<c>s_</c> for statics and <c>_</c> for instance fields when its fields use
    /// them), not already a member of the type or its bases.</summary>
    private static string GateName(INamedTypeSymbol type, bool isStatic)
    {
        bool underscore = false, staticPrefix = false;
        foreach (var member in type.GetMembers())
        {
            if (member is IFieldSymbol { IsImplicitlyDeclared: false } field)
            {
                underscore |= field.Name.StartsWith("_", System.StringComparison.Ordinal) || field.Name.StartsWith("s_", System.StringComparison.Ordinal);
                staticPrefix |= field.Name.StartsWith("s_", System.StringComparison.Ordinal);
            }
        }

        var stem = isStatic && staticPrefix ? "s_gate" : underscore ? "_gate" : isStatic ? "Gate" : "gate";
        var name = stem;
        for (var i = 2; IsTaken(type, name); i++)
            name = stem + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return name;

        static bool IsTaken(INamedTypeSymbol type, string name)
        {
            for (var current = type; current is not null; current = current.BaseType)
            {
                if (!current.GetMembers(name).IsEmpty)
                    return true;
            }

            return false;
        }
    }

    private static async Task<Document> ApplyAsync(FixDocument read, IReadOnlyList<GatePlan> plans, CancellationToken cancellationToken)
    {
        var root = read.Root;
        // Two gates for one type get different names.
        foreach (var plan in plans)
        {
            foreach (var earlier in plans)
            {
                if (ReferenceEquals(earlier, plan))
                    break;
                if (earlier.Type == plan.Type && earlier.Name == plan.Name)
                    plan.Name += "2";
            }
        }

        var replacements = new Dictionary<ExpressionSyntax, string>();
        foreach (var plan in plans)
        {
            foreach (var target in plan.Targets)
                replacements[target] = plan.Name;
        }

        var typeAnnotations = plans.Select(p => p.Type).Distinct().ToDictionary(t => t, _ => new SyntaxAnnotation());
        root = root.ReplaceNodes(
            replacements.Keys.Cast<SyntaxNode>().Concat(typeAnnotations.Keys),
            (original, rewritten) => original is TypeDeclarationSyntax type && typeAnnotations.TryGetValue(type, out var annotation)
                ? rewritten.WithAdditionalAnnotations(annotation)
                : SyntaxFactory.IdentifierName(replacements[(ExpressionSyntax)original]).WithTriviaFrom(rewritten));

        foreach (var pair in typeAnnotations)
        {
            var type = (TypeDeclarationSyntax)root.GetAnnotatedNodes(pair.Value).Single();
            // Static gates first; an instance gate after the static fields that open the type, so that fixing one
            // diagnostic at a time and Fix All give the same layout.
            var members = type.Members;
            foreach (var plan in plans.Where(p => p.Type == pair.Key).OrderBy(p => p.IsStatic ? 0 : 1))
            {
                var index = 0;
                while (!plan.IsStatic && index < members.Count && members[index] is FieldDeclarationSyntax field && field.Modifiers.Any(SyntaxKind.StaticKeyword))
                    index++;
                members = members.Insert(index, GateField(plan));
            }

            root = root.ReplaceNode(type, type.WithMembers(members));
        }

        var lineBreak = SyntaxFactory.EndOfLine(await read.LineBreakAsync(cancellationToken).ConfigureAwait(false));
        root = root.ReplaceNodes(root.GetAnnotatedNodes(GateAnnotation), (_, field) => field.WithTrailingTrivia(lineBreak, lineBreak));
        var document = read.Document.WithSyntaxRoot(root);
        document = await Simplifier.ReduceAsync(document, Simplifier.Annotation, cancellationToken: cancellationToken).ConfigureAwait(false);
        return await Formatter.FormatAsync(document, Formatter.Annotation, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private static FieldDeclarationSyntax GateField(GatePlan plan)
    {
        var modifiers = plan.IsStatic ? "private static readonly" : "private readonly";
        var declaration = plan.UseLock
            ? $"{modifiers} System.Threading.Lock {plan.Name} = new System.Threading.Lock();"
            : $"{modifiers} object {plan.Name} = new object();";
        var field = (FieldDeclarationSyntax)SyntaxFactory.ParseMemberDeclaration(declaration)!;
        return field.WithAdditionalAnnotations(GateAnnotation, Simplifier.Annotation, Formatter.Annotation);
    }
}
