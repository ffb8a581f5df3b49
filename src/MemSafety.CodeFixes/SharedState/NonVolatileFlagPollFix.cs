using System.Composition;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Core;
using MemSafety.CodeFixes.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace MemSafety.CodeFixes.SharedState;

/// <summary>
/// MSA6008: declares the polled field <c>volatile</c>, so the C# compiler emits every read of it with the
/// <c>volatile.</c> prefix (an acquire the JIT may not coalesce) and every write with it (a release). Values and single-
/// thread behaviour are unchanged. Offered for a private field declared alone (<c>private bool _a, _b;</c> would make
/// both volatile), of a type C# allows volatile (not <c>long</c>, <c>ulong</c>, <c>double</c> or a struct), and never
/// passed by reference in its type (a volatile field passed by <c>ref</c> draws warning CS0420: the callee does not
/// treat it as volatile).
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(NonVolatileFlagPollFix)), Shared]
public sealed class NonVolatileFlagPollFix : MemSafetyCodeFix
{
    public NonVolatileFlagPollFix()
        : base(RuleIdentifiers.NonVolatileFlagPoll)
    {
    }

    private protected override async Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node)
    {
        var model = await request.GetSemanticModelAsync().ConfigureAwait(false);
        if (model.GetSymbolInfo(node, request.CancellationToken).Symbol is not IFieldSymbol field
            || Declaration(field, request.CancellationToken) is not { } declaration)
        {
            return;
        }

        var solution = request.Document.Project.Solution;
        if (solution.GetDocument(declaration.SyntaxTree) is not { } declaringDocument)
            return;
        var documentId = declaringDocument.Id;
        var span = declaration.Span;
        request.Register("Make '" + field.Name + "' volatile", ct => ApplyAsync(solution, documentId, span, ct), diagnostic);
    }

    private static FieldDeclarationSyntax? Declaration(IFieldSymbol field, CancellationToken cancellationToken)
    {
        if (field.DeclaredAccessibility != Accessibility.Private || field.IsVolatile || field.IsReadOnly || field.IsConst
            || !AllowsVolatile(field.Type) || field.DeclaringSyntaxReferences.Length != 1
            || field.DeclaringSyntaxReferences[0].GetSyntax(cancellationToken) is not VariableDeclaratorSyntax { Parent: VariableDeclarationSyntax { Variables.Count: 1, Parent: FieldDeclarationSyntax declaration } })
        {
            return null;
        }

        foreach (var reference in field.ContainingType.DeclaringSyntaxReferences)
        {
            foreach (var name in reference.GetSyntax(cancellationToken).DescendantNodes())
            {
                if (name is IdentifierNameSyntax identifier && identifier.Identifier.ValueText == field.Name && IsByReference(identifier))
                    return null;
            }
        }

        return declaration;
    }

    // C# 'volatile' (ECMA-334 §15.5.4): reference types, type parameters known to be reference types, the integral types up
    // to 32 bits, char, float, bool, pointers, nint/nuint, and enums with such an underlying type.
    private static bool AllowsVolatile(ITypeSymbol type)
    {
        if (type.IsReferenceType)
            return true;
        if (type is INamedTypeSymbol { TypeKind: TypeKind.Enum, EnumUnderlyingType: { } underlying })
            type = underlying;
        return type.SpecialType is SpecialType.System_Boolean or SpecialType.System_Char or SpecialType.System_SByte or SpecialType.System_Byte
            or SpecialType.System_Int16 or SpecialType.System_UInt16 or SpecialType.System_Int32 or SpecialType.System_UInt32
            or SpecialType.System_Single or SpecialType.System_IntPtr or SpecialType.System_UIntPtr;
    }

    private static bool IsByReference(IdentifierNameSyntax identifier)
    {
        SyntaxNode node = identifier;
        if (node.Parent is MemberAccessExpressionSyntax access && access.Name == node)
            node = access;
        return node.Parent is ArgumentSyntax argument && !argument.RefKindKeyword.IsKind(SyntaxKind.None)
            || node.Parent is RefExpressionSyntax
            || node.Parent is PrefixUnaryExpressionSyntax prefix && prefix.IsKind(SyntaxKind.AddressOfExpression);
    }

    private static async Task<Solution> ApplyAsync(Solution solution, DocumentId documentId, Microsoft.CodeAnalysis.Text.TextSpan span, CancellationToken cancellationToken)
    {
        var document = solution.GetDocument(documentId)!;
        var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        if (root?.FindNode(span) is not FieldDeclarationSyntax declaration || declaration.Modifiers.Any(SyntaxKind.VolatileKeyword))
            return solution;

        // After the accessibility and 'static' (the order the IDE's modifier-order option prefers), before the type.
        var modifiers = declaration.Modifiers;
        var volatileToken = SyntaxFactory.Token(SyntaxKind.VolatileKeyword).WithTrailingTrivia(SyntaxFactory.Space);
        SyntaxNode updated;
        if (modifiers.Count == 0)
        {
            var type = declaration.Declaration.Type;
            updated = declaration
                .WithDeclaration(declaration.Declaration.WithType(type.WithoutLeadingTrivia()))
                .WithModifiers(SyntaxFactory.TokenList(volatileToken.WithLeadingTrivia(type.GetLeadingTrivia())));
        }
        else
        {
            updated = declaration.WithModifiers(modifiers.Insert(modifiers.Count, volatileToken));
        }

        return solution.WithDocumentSyntaxRoot(documentId, root.ReplaceNode(declaration, updated));
    }
}
