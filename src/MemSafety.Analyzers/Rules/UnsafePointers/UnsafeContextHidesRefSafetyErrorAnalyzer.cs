using System.Collections.Generic;
using System.Collections.Immutable;
using System.Threading;
using MemSafety.Analyzers.Compat;
using MemSafety.Analyzers.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;

namespace MemSafety.Analyzers.Rules.UnsafePointers;

/// <summary>
/// MSA5006. Since C# 11 the compiler reports a reference or span that can outlive the memory it points to (a
/// local, a by-value parameter, <c>stackalloc</c>) as an error in safe code, but only as a warning inside an
/// <c>unsafe</c> context (CS9080–CS9095, CS9097: the unsafe twins of CS8352, CS8353, CS8166–CS8170, CS8374 …). The
/// rule points at the <c>unsafe</c> that did the downgrading, because that is where the reader has to look to
/// understand why a use-after-return compiles. The facts are the compiler's own: the rule asks the semantic model
/// for the diagnostics of the unsafe members that could carry one, never re-derives ref safety.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class UnsafeContextHidesRefSafetyErrorAnalyzer : MemSafetyAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.UnsafeContextHidesRefSafetyError);

    protected override void Register(AnalysisContext context) => context.RegisterCompilationStartAction(start =>
    {
        // Without /unsafe every unsafe context is error CS0227 and nothing is downgraded.
        if (start.Compilation.Options is not CSharpCompilationOptions { AllowUnsafe: true })
            return;
        start.RegisterSyntaxNodeAction(
            Analyze,
            SyntaxKind.UnsafeStatement,
            SyntaxKind.LocalFunctionStatement,
            SyntaxKind.MethodDeclaration,
            SyntaxKind.ConstructorDeclaration,
            SyntaxKind.DestructorDeclaration,
            SyntaxKind.OperatorDeclaration,
            SyntaxKind.ConversionOperatorDeclaration,
            SyntaxKind.PropertyDeclaration,
            SyntaxKind.IndexerDeclaration,
            SyntaxKind.EventDeclaration,
            SyntaxKind.FieldDeclaration,
            SyntaxKind.EventFieldDeclaration,
            SyntaxKind.ClassDeclaration,
            SyntaxKind.StructDeclaration,
            SyntaxKind.InterfaceDeclaration,
            RoslynEnums.RecordDeclaration,
            RoslynEnums.RecordStructDeclaration);
    });

    private static void Analyze(SyntaxNodeAnalysisContext context)
    {
        var region = context.Node;
        // Most declarations are not unsafe: one look at the modifiers. Nested unsafe regions are handled by the
        // outermost one, so each compiler warning is looked at once.
        if (UnsafeKeyword(region).RawKind == 0 || EnclosingUnsafeRegion(region.Parent) is not null)
            return;

        List<Diagnostic>? found = null;
        foreach (var span in SpansWorthAsking(region, context.SemanticModel, context.CancellationToken))
        {
            foreach (var diagnostic in context.SemanticModel.GetMethodBodyDiagnostics(span, context.CancellationToken))
            {
                if (IsDowngradedRefSafetyError(diagnostic.Id)
                    && diagnostic.Location.SourceTree == region.SyntaxTree
                    && region.Span.Contains(diagnostic.Location.SourceSpan)
                    && Shown(context.Compilation, region.SyntaxTree, diagnostic, context.CancellationToken))
                {
                    (found ??= new List<Diagnostic>()).Add(diagnostic);
                }
            }
        }

        if (found is null)
            return;
        found.Sort(static (a, b) => a.Location.SourceSpan.Start.CompareTo(b.Location.SourceSpan.Start));

        // One diagnostic per innermost unsafe region: that is the keyword whose removal the reader weighs.
        var root = region.SyntaxTree.GetRoot(context.CancellationToken);
        var groups = new List<(SyntaxNode Region, List<Diagnostic> Warnings)>();
        foreach (var warning in found)
        {
            var innermost = EnclosingUnsafeRegion(root.FindNode(warning.Location.SourceSpan, getInnermostNodeForTie: true)) ?? region;
            var group = groups.FindIndex(g => g.Region == innermost);
            if (group < 0)
                groups.Add((innermost, new List<Diagnostic> { warning }));
            else if (!groups[group].Warnings.Exists(w => w.Location.SourceSpan == warning.Location.SourceSpan && w.Id == warning.Id))
                groups[group].Warnings.Add(warning);
        }

        foreach (var (unsafeRegion, warnings) in groups)
        {
            var first = warnings[0];
            var more = warnings.Count == 1 ? "" : " (and " + (warnings.Count - 1) + " more: " + Lines(warnings) + ")";
            var additional = new List<Location>(warnings.Count);
            foreach (var warning in warnings)
                additional.Add(warning.Location);
            context.ReportDiagnostic(Diagnostic.Create(
                RuleCatalogue.UnsafeContextHidesRefSafetyError,
                UnsafeKeyword(unsafeRegion).GetLocation(),
                additional,
                Describe(unsafeRegion),
                first.Id,
                Line(first),
                first.GetMessage(),
                more));
        }
    }

    /// <summary>Whether the build shows the compiler's warning: the semantic model returns it even where the project
    /// turned it off (<c>NoWarn</c>, <c>dotnet_diagnostic.CS9080.severity = none</c>) or a <c>#pragma warning
    /// disable</c> covers it, and a developer who silenced the warning has already weighed it.</summary>
    private static bool Shown(Compilation compilation, SyntaxTree tree, Diagnostic warning, CancellationToken cancellationToken)
    {
        var options = compilation.Options;
        if (options.SpecificDiagnosticOptions.TryGetValue(warning.Id, out var specific) && specific == ReportDiagnostic.Suppress)
            return false;
        if (options.SyntaxTreeOptionsProvider is { } treeOptions
            && (treeOptions.TryGetDiagnosticValue(tree, warning.Id, cancellationToken, out var configured)
                || treeOptions.TryGetGlobalDiagnosticValue(warning.Id, cancellationToken, out configured))
            && configured == ReportDiagnostic.Suppress)
        {
            return false;
        }

        return !DisabledByPragma(tree.GetRoot(cancellationToken), warning.Id, warning.Location.SourceSpan.Start);
    }

    private static bool DisabledByPragma(SyntaxNode root, string id, int position)
    {
        if (root is not CompilationUnitSyntax unit)
            return false;
        var disabled = false;
        for (var directive = unit.GetFirstDirective(IsPragmaWarning);
             directive is not null && directive.SpanStart < position;
             directive = directive.GetNextDirective(IsPragmaWarning))
        {
            var pragma = (PragmaWarningDirectiveTriviaSyntax)directive;
            if (pragma.ErrorCodes.Count == 0 || Names(pragma, id))
                disabled = pragma.DisableOrRestoreKeyword.IsKind(SyntaxKind.DisableKeyword);
        }

        return disabled;

        static bool IsPragmaWarning(DirectiveTriviaSyntax directive) => directive.IsActive && directive is PragmaWarningDirectiveTriviaSyntax;

        static bool Names(PragmaWarningDirectiveTriviaSyntax pragma, string id)
        {
            foreach (var code in pragma.ErrorCodes)
            {
                var text = code.ToString().Trim();
                if (string.Equals(text, id, System.StringComparison.OrdinalIgnoreCase) || text == id.Substring(2))
                    return true;
            }

            return false;
        }
    }

    /// <summary>The compiler's warnings that are errors outside an unsafe context (Roslyn's <c>WRN_Escape*</c>,
    /// <c>WRN_RefReturn*</c>, <c>WRN_RefAssign*</c>, <c>WRN_MismatchedRefEscapeInTernary</c>).</summary>
    internal static bool IsDowngradedRefSafetyError(string id) => id switch
    {
        "CS9080" or "CS9081" or "CS9082" or "CS9083" or "CS9084" or "CS9085" or "CS9086" or "CS9087" or "CS9088"
            or "CS9089" or "CS9090" or "CS9091" or "CS9092" or "CS9093" or "CS9094" or "CS9095" or "CS9097" => true,
        _ => false,
    };

    /// <summary>The spans to ask the compiler about: asking binds the code again, so only the members of the region
    /// that contain a place where a reference or a span can leave its scope — <c>ref</c> returned, ref-assigned or
    /// chosen by a ref conditional; a <c>ref</c>/<c>in</c> argument of a call whose result is returned or assigned;
    /// a <c>stackalloc</c> that makes a span (not a pointer); a <c>scoped</c> modifier. Every downgraded error needs
    /// one of them; the many <c>ref</c> locals and <c>Unsafe.Add(ref …)</c> statements of pointer code do not.
    /// Each call binds the type's field initializers again and visits every type of the compilation for its
    /// documentation comments, so members next to each other are asked about in one span (it covers them and nothing
    /// else: the same diagnostics, one binding).</summary>
    private static IEnumerable<TextSpan> SpansWorthAsking(SyntaxNode region, SemanticModel model, CancellationToken cancellationToken)
    {
        if (region is StatementSyntax)
        {
            // An unsafe block or local function: the reference can come from outside it (a stackalloc span declared
            // before the block), so the whole member is searched, and only the region is asked about.
            var member = ContainingMember(region) ?? region;
            foreach (var token in CandidateTokens(member))
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (MayLetAReferenceEscape(token, model, cancellationToken))
                {
                    yield return region.Span;
                    yield break;
                }
            }

            yield break;
        }

        SyntaxNode? first = null;
        SyntaxNode? last = null;
        foreach (var token in CandidateTokens(region))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var member = ContainingMember(token.Parent);
            if (member is null || member == last || !MayLetAReferenceEscape(token, model, cancellationToken))
                continue;
            if (last is not null && !NextTo(last, member))
            {
                yield return TextSpan.FromBounds(first!.SpanStart, last.Span.End);
                first = null;
            }

            first ??= member;
            last = member;
        }

        if (last is not null)
            yield return TextSpan.FromBounds(first!.SpanStart, last.Span.End);
    }

    /// <summary>Whether <paramref name="next"/> is the member declared right after <paramref name="member"/> in the
    /// same type (a span from one's start to the other's end then covers only the two).</summary>
    private static bool NextTo(SyntaxNode member, SyntaxNode next)
    {
        if (member.Parent is not TypeDeclarationSyntax type || next.Parent != type)
            return false;
        var members = type.Members;
        var index = members.IndexOf((MemberDeclarationSyntax)member);
        return index >= 0 && index + 1 < members.Count && members[index + 1] == next;
    }

    /// <summary>The tokens of the node that can be <c>ref</c>, <c>in</c>, <c>stackalloc</c> or <c>scoped</c>, in source
    /// order: those starting where the text holds one of the four words (<see cref="SourceWords"/>), which is every such
    /// token and costs a scan of the characters instead of building every node of the member (the token walk was most of
    /// the rule's time in pointer-heavy code). Every token when the text is not at hand.</summary>
    private static IEnumerable<SyntaxToken> CandidateTokens(SyntaxNode node)
    {
        var positions = new List<int>();
        if (!SourceWords.Collect(node, s_isCandidateWord, positions))
        {
            foreach (var token in node.DescendantTokens())
                yield return token;
            yield break;
        }

        foreach (var position in positions)
        {
            var token = node.FindToken(position);
            if (token.SpanStart == position)
                yield return token;
        }
    }

    private static readonly System.Func<char[], int, int, bool> s_isCandidateWord = static (buffer, start, length) => buffer[start] switch
    {
        'r' => SourceWords.Is(buffer, start, length, "ref"),
        'i' => SourceWords.Is(buffer, start, length, "in"),
        's' => SourceWords.Is(buffer, start, length, "stackalloc") || SourceWords.Is(buffer, start, length, "scoped"),
        _ => false,
    };

    private static bool MayLetAReferenceEscape(SyntaxToken token, SemanticModel model, CancellationToken cancellationToken)
    {
        switch (token.Kind())
        {
            case SyntaxKind.RefKeyword when token.Parent is RefExpressionSyntax reference:
                return reference.Parent is ReturnStatementSyntax or ArrowExpressionClauseSyntax or AssignmentExpressionSyntax or ConditionalExpressionSyntax;
            case SyntaxKind.RefKeyword or SyntaxKind.InKeyword when token.Parent is ArgumentSyntax argument:
                return ResultLeaves(argument) && CallMayPassTheReferenceOn(argument, model, cancellationToken);
            case SyntaxKind.StackAllocKeyword:
                return !MakesAPointer(token.Parent);
            default:
                return token.Text == "scoped";
        }
    }

    /// <summary>Whether the call an argument belongs to is returned or assigned (not a local's initializer or a
    /// statement of its own), the only ways its result can take the argument's reference out of scope.</summary>
    private static bool ResultLeaves(ArgumentSyntax argument)
    {
        for (SyntaxNode? node = argument.Parent; node is not null; node = node.Parent)
        {
            switch (node)
            {
                case ReturnStatementSyntax or ArrowExpressionClauseSyntax or AssignmentExpressionSyntax:
                    return true;
                case StatementSyntax or MemberDeclarationSyntax or LambdaExpressionSyntax or EqualsValueClauseSyntax:
                    return false;
            }
        }

        return false;
    }

    /// <summary>Whether the call or creation an argument is given to can hand a reference on: only through a result
    /// returned by reference or of a ref struct type, or into a ref struct argument or receiver (the compiler's
    /// "method arguments must match" rule). A call that returns a plain value and takes no ref struct (most
    /// <c>x = Parse(p, ref index)</c> of pointer code) gives the compiler nothing to report, whatever its arguments
    /// are. Unknown targets (unbound, dynamic, function pointers, indexers, type parameters) may.</summary>
    private static bool CallMayPassTheReferenceOn(ArgumentSyntax argument, SemanticModel model, CancellationToken cancellationToken)
    {
        if (argument.Parent is not ArgumentListSyntax { Parent: InvocationExpressionSyntax or BaseObjectCreationExpressionSyntax } list
            || model.GetSymbolInfo(list.Parent!, cancellationToken).Symbol is not IMethodSymbol method
            || method.ReturnsByRef || method.ReturnsByRefReadonly
            || MayBeRefLike(method.ReturnType) || MayBeRefLike(method.ContainingType) || MayBeRefLike(method.ReceiverType))
        {
            return true;
        }

        foreach (var parameter in (method.ReducedFrom ?? method).Parameters)
        {
            if (MayBeRefLike(parameter.Type))
                return true;
        }

        return false;
    }

    private static bool MayBeRefLike(ITypeSymbol? type)
        => type is null or { IsRefLikeType: true } or { TypeKind: TypeKind.TypeParameter or TypeKind.Error or TypeKind.Dynamic };

    /// <summary><c>T* p = stackalloc …</c>, and <c>var p = stackalloc …</c> in an unsafe context, make a pointer,
    /// which the compiler does not track.</summary>
    private static bool MakesAPointer(SyntaxNode? allocation) =>
        allocation?.Parent is EqualsValueClauseSyntax { Parent: VariableDeclaratorSyntax { Parent: VariableDeclarationSyntax declaration } }
        && (declaration.Type is PointerTypeSyntax || declaration.Type.IsVar);

    /// <summary>The member a token belongs to (a local function's or a block's is its method's); null for a token of a
    /// type's own header (<c>ref struct</c>).</summary>
    private static SyntaxNode? ContainingMember(SyntaxNode? node)
    {
        for (; node is not null; node = node.Parent)
        {
            switch (node)
            {
                case BaseMethodDeclarationSyntax or BasePropertyDeclarationSyntax or BaseFieldDeclarationSyntax:
                    return node;
                case BaseTypeDeclarationSyntax:
                    return null;
            }
        }

        return null;
    }

    private static SyntaxNode? EnclosingUnsafeRegion(SyntaxNode? node)
    {
        for (; node is not null; node = node.Parent)
        {
            if (UnsafeKeyword(node).RawKind != 0)
                return node;
        }

        return null;
    }

    private static SyntaxToken UnsafeKeyword(SyntaxNode node) => node switch
    {
        UnsafeStatementSyntax block => block.UnsafeKeyword,
        MemberDeclarationSyntax member => Find(member.Modifiers),
        LocalFunctionStatementSyntax function => Find(function.Modifiers),
        _ => default,
    };

    private static SyntaxToken Find(SyntaxTokenList modifiers)
    {
        foreach (var modifier in modifiers)
        {
            if (modifier.IsKind(SyntaxKind.UnsafeKeyword))
                return modifier;
        }

        return default;
    }

    private static string Describe(SyntaxNode region) => region switch
    {
        UnsafeStatementSyntax => "The unsafe block",
        LocalFunctionStatementSyntax function => "'unsafe' on local function '" + function.Identifier.ValueText + "'",
        MethodDeclarationSyntax method => "'unsafe' on method '" + method.Identifier.ValueText + "'",
        ConstructorDeclarationSyntax constructor => "'unsafe' on the constructor of '" + constructor.Identifier.ValueText + "'",
        DestructorDeclarationSyntax destructor => "'unsafe' on the finalizer of '" + destructor.Identifier.ValueText + "'",
        OperatorDeclarationSyntax op => "'unsafe' on operator '" + op.OperatorToken.ValueText + "'",
        ConversionOperatorDeclarationSyntax conversion => "'unsafe' on the conversion to '" + conversion.Type + "'",
        PropertyDeclarationSyntax property => "'unsafe' on property '" + property.Identifier.ValueText + "'",
        IndexerDeclarationSyntax => "'unsafe' on the indexer",
        EventDeclarationSyntax @event => "'unsafe' on event '" + @event.Identifier.ValueText + "'",
        BaseFieldDeclarationSyntax field => "'unsafe' on field '" + (field.Declaration.Variables.Count > 0 ? field.Declaration.Variables[0].Identifier.ValueText : "") + "'",
        BaseTypeDeclarationSyntax type => "'unsafe' on type '" + type.Identifier.ValueText + "'",
        _ => "This unsafe context",
    };

    private static int Line(Diagnostic diagnostic) => diagnostic.Location.GetLineSpan().StartLinePosition.Line + 1;

    private static string Lines(List<Diagnostic> warnings)
    {
        var text = new System.Text.StringBuilder();
        for (var i = 1; i < warnings.Count; i++)
        {
            if (i > 1)
                text.Append(", ");
            text.Append(warnings[i].Id).Append(" on line ").Append(Line(warnings[i]));
        }

        return text.ToString();
    }
}
