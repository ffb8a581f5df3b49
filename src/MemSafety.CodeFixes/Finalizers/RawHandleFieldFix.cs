using System.Collections.Generic;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Disposal;
using MemSafety.Analyzers.Rules.Finalizers;
using MemSafety.CodeFixes.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Editing;
using Microsoft.CodeAnalysis.Formatting;

namespace MemSafety.CodeFixes.Finalizers;

/// <summary>
/// MSA4004: follows <see cref="SafeHandlePlan"/>. Adds a private sealed nested <c>SafeHandle</c> class whose
/// <c>ReleaseHandle</c> makes the type's release call on <c>handle</c> (a <c>bool</c> result returned, an <c>int</c>
/// one compared with 0, otherwise <c>true</c>) and whose invalid value is the one the release was guarded by
/// (<c>SafeHandleZeroOrMinusOneIsInvalid</c> for 0 and -1); retypes the field (and the type's private
/// <c>[DllImport]</c> that produces the handle, or wraps its result with the class's constructor); turns each release
/// outside the finalizer into <c>_h.Dispose();</c>; retypes the private platform invokes that take the handle, or reads
/// <c>DangerousGetHandle()</c>; turns invalid-value tests into <c>IsInvalid</c>; deletes the finalizer and the type's
/// <c>GC.SuppressFinalize(this)</c> calls. Only written with C# 6 features, so it compiles on every language version
/// the analyzers run on.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(RawHandleFieldFix)), Shared]
public sealed class RawHandleFieldFix : MemSafetyCodeFix
{
    public RawHandleFieldFix()
        : base(RuleIdentifiers.RawHandleField)
    {
    }

    private protected override Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
    {
        if (!diagnostic.Properties.ContainsKey(RawHandleFieldAnalyzer.FixableProperty) || node.FirstAncestorOrSelf<VariableDeclaratorSyntax>() is not { } declarator)
            return Task.CompletedTask;
        var document = request.Document;
        request.Register("Hold the handle in a SafeHandle", ct => FixAsync(document, declarator.Span, ct), diagnostic);
        return Task.CompletedTask;
    }

    private static async Task<Document> FixAsync(Document document, Microsoft.CodeAnalysis.Text.TextSpan span, CancellationToken cancellationToken)
    {
        var fix = await FixDocument.ReadAsync(document, cancellationToken).ConfigureAwait(false);
        var (root, model) = fix;
        if (fix.FindNode(span).FirstAncestorOrSelf<VariableDeclaratorSyntax>() is not { } declarator
            || model.GetDeclaredSymbol(declarator, cancellationToken) is not IFieldSymbol field)
        {
            return document;
        }

        var disposal = new DisposableTypes(model.Compilation);
        var facts = disposal.Of(field.ContainingType);
        var release = HandleReleases.InFinalizer(facts, cancellationToken).FirstOrDefault(r => SymbolEqualityComparer.Default.Equals(r.Field, field.OriginalDefinition));
        if (release is null)
            return document;
        var plan = SafeHandlePlan.Create(disposal, facts, release, cancellationToken);
        if (!plan.CanFix || plan.TypeDeclaration.SyntaxTree != root.SyntaxTree)
            return document;

        var position = plan.TypeDeclaration.SpanStart;
        var intPtr = Visible(model, position, "IntPtr", "System") ? "IntPtr" : "System.IntPtr";
        var name = HandleClassName(field.ContainingType);
        var safeType = SyntaxFactory.IdentifierName(name);

        var editor = new SyntaxEditor(root, document.Project.Solution.Services);

        // The field: its type, and its initializer (the wrapped handle, or an invalid placeholder).
        var variable = plan.FieldDeclaration.Declaration.Variables[0];
        ExpressionSyntax? initializer = null;
        if (plan.AcquiredByInitializer)
            initializer = plan.SourceToRetype is null ? Wrap(plan, name, intPtr) : plan.AcquisitionValue;
        else if (plan.NeedsPlaceholder)
            initializer = SyntaxFactory.ParseExpression($"new {name}()");
        var newVariable = initializer is null
            ? variable
            : variable.WithInitializer(SyntaxFactory.EqualsValueClause(initializer.WithoutTrivia()));
        editor.ReplaceNode(plan.FieldDeclaration, plan.FieldDeclaration.WithDeclaration(
            plan.FieldDeclaration.Declaration.WithType(safeType.WithTriviaFrom(plan.FieldDeclaration.Declaration.Type)).WithVariables(SyntaxFactory.SingletonSeparatedList(newVariable))));

        if (!plan.AcquiredByInitializer && plan.SourceToRetype is null)
            editor.ReplaceNode(plan.AcquisitionValue, Wrap(plan, name, intPtr).WithTriviaFrom(plan.AcquisitionValue));
        if (plan.SourceToRetype is { } source)
            editor.ReplaceNode(source.ReturnType, safeType.WithTriviaFrom(source.ReturnType));
        foreach (var parameter in plan.ParametersToRetype)
            editor.ReplaceNode(parameter.Type!, safeType.WithTriviaFrom(parameter.Type!));

        foreach (var site in plan.Sites)
        {
            editor.ReplaceNode(site[0], site[0] is ExpressionSyntax
                ? SyntaxFactory.ParseExpression(plan.FieldText + ".Dispose()").WithTriviaFrom(site[0])
                : SyntaxFactory.ParseStatement(plan.FieldText + ".Dispose();").WithTriviaFrom(site[0]));
            for (var i = 1; i < site.Count; i++)
                editor.RemoveNode(site[i]);
        }

        foreach (var use in plan.Uses)
        {
            // The finalizer goes whole.
            if (plan.Finalizer.Span.Contains(use.Node.Span))
                continue;
            switch (use.Rewrite)
            {
                case HandleUseRewrite.IsInvalid:
                    editor.ReplaceNode(use.Node, SyntaxFactory.ParseExpression(FieldTextIn(use.Node, field.Name) + ".IsInvalid").WithTriviaFrom(use.Node));
                    break;
                case HandleUseRewrite.IsValid:
                    editor.ReplaceNode(use.Node, SyntaxFactory.ParseExpression("!" + FieldTextIn(use.Node, field.Name) + ".IsInvalid").WithTriviaFrom(use.Node));
                    break;
                case HandleUseRewrite.Raw:
                {
                    var raw = (plan.IsDescriptor ? "(int)" : string.Empty) + use.Node + ".DangerousGetHandle()";
                    var expression = SyntaxFactory.ParseExpression(raw);
                    if (plan.IsDescriptor && use.Node.Parent is not (ArgumentSyntax or BinaryExpressionSyntax))
                        expression = SyntaxFactory.ParenthesizedExpression(expression);
                    editor.ReplaceNode(use.Node, expression.WithTriviaFrom(use.Node));
                    break;
                }
            }
        }

        foreach (var statement in plan.SuppressFinalizeCalls)
            editor.RemoveNode(statement, SyntaxRemoveOptions.KeepUnbalancedDirectives);
        editor.RemoveNode(plan.Finalizer, SyntaxRemoveOptions.KeepUnbalancedDirectives);

        var lineBreak = await fix.LineBreakAsync(cancellationToken).ConfigureAwait(false);
        var handleClass = (ClassDeclarationSyntax)SyntaxFactory.ParseMemberDeclaration(HandleClass(plan, name, intPtr, model, position))!;
        // A blank line between the type's last member and the new class.
        handleClass = handleClass.WithLeadingTrivia(SyntaxFactory.EndOfLine(lineBreak));
        editor.AddMember(plan.TypeDeclaration, handleClass.WithAdditionalAnnotations(Formatter.Annotation));

        var edited = document.WithSyntaxRoot(editor.GetChangedRoot());
        return await Formatter.FormatAsync(edited, Formatter.Annotation, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary><c>new SafeXHandle(value)</c>; a descriptor is widened to <c>IntPtr</c> first (sign-extended, so -1 stays -1).</summary>
    private static ExpressionSyntax Wrap(SafeHandlePlan plan, string name, string intPtr)
    {
        var value = plan.AcquisitionValue.WithoutTrivia().ToString();
        return SyntaxFactory.ParseExpression(plan.IsDescriptor ? $"new {name}(({intPtr}){value})" : $"new {name}({value})");
    }

    private static string FieldTextIn(SyntaxNode comparison, string fieldName)
    {
        foreach (var identifier in comparison.DescendantNodesAndSelf().OfType<IdentifierNameSyntax>())
        {
            if (identifier.Identifier.ValueText != fieldName)
                continue;
            return identifier.Parent is MemberAccessExpressionSyntax { Expression: ThisExpressionSyntax } access && access.Name == identifier
                ? access.ToString()
                : identifier.ToString();
        }

        return fieldName;
    }

    private static string HandleClass(SafeHandlePlan plan, string name, string intPtr, SemanticModel model, int position)
    {
        string baseType;
        string baseArguments;
        string? isInvalid = null;
        switch (plan.Invalid)
        {
            case InvalidHandleValues.ZeroOrMinusOne:
                baseType = Visible(model, position, "SafeHandleZeroOrMinusOneIsInvalid", "Microsoft.Win32.SafeHandles")
                    ? "SafeHandleZeroOrMinusOneIsInvalid"
                    : "Microsoft.Win32.SafeHandles.SafeHandleZeroOrMinusOneIsInvalid";
                baseArguments = "true";
                break;
            case InvalidHandleValues.Zero:
                baseType = SafeHandleName(model, position);
                baseArguments = intPtr + ".Zero, true";
                isInvalid = "handle == " + intPtr + ".Zero";
                break;
            case InvalidHandleValues.MinusOne:
                baseType = SafeHandleName(model, position);
                baseArguments = "new " + intPtr + "(-1), true";
                isInvalid = "handle == new " + intPtr + "(-1)";
                break;
            default:
                baseType = SafeHandleName(model, position);
                baseArguments = "new " + intPtr + "(-1), true";
                isInvalid = "handle.ToInt64() < 0";
                break;
        }

        var call = plan.ReleaseCall.ReplaceNode(plan.ReleaseFieldReference,
            plan.IsDescriptor ? SyntaxFactory.ParseExpression("(int)handle") : SyntaxFactory.IdentifierName("handle")).WithoutTrivia().ToString();
        var release = plan.ReleaseReturnType.SpecialType switch
        {
            SpecialType.System_Boolean => $"protected override bool ReleaseHandle() => {call};",
            SpecialType.System_Int32 => $"protected override bool ReleaseHandle() => {call} == 0;",
            _ => $"protected override bool ReleaseHandle()\n{{\n{call};\nreturn true;\n}}",
        };

        var text = new System.Text.StringBuilder();
        text.Append("private sealed ").Append(plan.NeedsUnsafe ? "unsafe " : string.Empty).Append("class ").Append(name).Append(" : ").Append(baseType).Append('\n');
        text.Append("{\n");
        text.Append("public ").Append(name).Append("() : base(").Append(baseArguments).Append(")\n{\n}\n\n");
        text.Append("public ").Append(name).Append('(').Append(intPtr).Append(" handle) : base(").Append(baseArguments).Append(")\n{\nSetHandle(handle);\n}\n\n");
        if (isInvalid is not null)
            text.Append("public override bool IsInvalid => ").Append(isInvalid).Append(";\n\n");
        text.Append(release).Append('\n');
        text.Append("}\n");
        return text.ToString();
    }

    private static string SafeHandleName(SemanticModel model, int position)
        => Visible(model, position, "SafeHandle", "System.Runtime.InteropServices") ? "SafeHandle" : "System.Runtime.InteropServices.SafeHandle";

    /// <summary>Whether <paramref name="name"/> means the type of that namespace where the type is declared.</summary>
    private static bool Visible(SemanticModel model, int position, string name, string ns)
    {
        var found = model.LookupNamespacesAndTypes(position, name: name);
        return found.Length == 1 && found[0] is INamedTypeSymbol type && type.ContainingNamespace.ToDisplayString() == ns;
    }

    /// <summary><c>Safe</c> + the type's name without a trailing <c>Handle</c> + <c>Handle</c>, numbered if a member
    /// of the type already has that name.</summary>
    private static string HandleClassName(INamedTypeSymbol type)
    {
        var core = type.Name.EndsWith("Handle", System.StringComparison.Ordinal) && type.Name.Length > "Handle".Length
            ? type.Name.Substring(0, type.Name.Length - "Handle".Length)
            : type.Name;
        var name = "Safe" + core + "Handle";
        var candidate = name;
        for (var i = 2; type.GetMembers(candidate).Length > 0 || candidate == type.Name || type.TypeParameters.Any(p => p.Name == candidate); i++)
            candidate = name + i;
        return candidate;
    }
}
