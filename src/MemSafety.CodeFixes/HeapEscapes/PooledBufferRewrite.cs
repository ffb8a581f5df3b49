using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using MemSafety.Analyzers.Compat;
using MemSafety.Analyzers.Rules.HeapEscapes;
using MemSafety.Analyzers.Core;
using MemSafety.CodeFixes.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;
using Microsoft.CodeAnalysis.Text;

namespace MemSafety.CodeFixes.HeapEscapes;

/// <summary>
/// The pooled-buffer pattern, shared by the fixes of MSA1002 (<see cref="ScratchBufferFix"/>) and MSA1003
/// (<see cref="LargeTemporaryArrayFix"/>). The array becomes a <c>Span&lt;T&gt;</c> over a buffer rented
/// from <c>ArrayPool&lt;T&gt;.Shared</c> (for MSA1002, over <c>stackalloc</c> memory when the size is small),
/// sliced to the requested length so <c>Length</c> keeps its meaning, cleared because <c>new T[n]</c> was
/// zeroed and a rented array is not (unless <see cref="UnwrittenReads"/> proves that no element is read
/// before it is written), and the rest of the block moves into a try whose finally returns the array.
/// Offered only where that move is safe.
/// </summary>
internal static class PooledBufferRewrite
{
    /// <summary>Offers the rewrite for the diagnostic (of either rule) where it is safe.</summary>
    public static async Task RegisterAsync(FixRequest request, Diagnostic diagnostic, SyntaxNode node, string title)
    {
        var model = await request.GetSemanticModelAsync().ConfigureAwait(false);
        if (Plan.TryCreate(model, node, diagnostic, request.CancellationToken) is not null)
            request.Register(title, ct => ApplyAsync(request.Document, diagnostic, ct), diagnostic);
    }

    /// <summary>What the fix needs, checked before offering it.</summary>
    private sealed class Plan
    {
        public ScratchArray Scratch = null!;
        public List<SpanUse> Uses = null!;
        public LocalDeclarationStatementSyntax Statement = null!;
        public BlockSyntax Block = null!;

        public static Plan? TryCreate(SemanticModel model, SyntaxNode node, Diagnostic diagnostic, CancellationToken cancellationToken)
        {
            if (model.GetOperation(node, cancellationToken) is not IArrayCreationOperation creation || !HasPoolAndSpans(model.Compilation, node.SyntaxTree))
                return null;
            var scratch = ScratchArrays.TryGet(creation);
            if (scratch is null || !scratch.InBlock || scratch.FunctionIsAsyncOrIterator || scratch.InCatchOrFinally && diagnostic.Id == RuleIdentifiers.ScratchBuffer)
                return null;
            if (scratch.Statement.Syntax is not LocalDeclarationStatementSyntax { Parent: BlockSyntax block } statement)
                return null;
            // The rewrite moves whole lines: the declaration must have its lines to itself, and the block's closing
            // brace its own line (`() => { var b = new byte[n]; }` on one line gets no fix).
            if (!OwnsItsLines(statement) || !StartsALine(block.CloseBraceToken))
                return null;
            var uses = SpanUses.Classify(scratch.Local, scratch.Root, scratch.Function);
            if (uses is null)
                return null;

            // Moving the rest of the block into a try must not change what is in scope where: local
            // functions are visible in their whole block, labels can be jumped to from before.
            foreach (var descendant in block.DescendantNodes())
            {
                if (descendant is LabeledStatementSyntax || descendant is LocalFunctionStatementSyntax && descendant.Parent == block)
                    return null;
            }

            // Re-indenting would change the contents of multi-line string literals.
            foreach (var token in block.DescendantTokens())
            {
                if (token.IsKind(SyntaxKind.InterpolatedStringTextToken) || token.IsKind(SyntaxKind.StringLiteralToken) || token.IsKind(RoslynEnums.MultiLineRawStringLiteralToken))
                {
                    if (token.ToString().IndexOf('\n') >= 0)
                        return null;
                }
            }

            return new Plan { Scratch = scratch, Uses = uses, Statement = statement, Block = block };
        }
    }

    private static bool OwnsItsLines(StatementSyntax statement)
    {
        var next = statement.GetLastToken().GetNextToken();
        return StartsALine(statement.GetFirstToken()) && (next.RawKind == 0 || StartsALine(next));
    }

    /// <summary>Only whitespace before the token on its line.</summary>
    private static bool StartsALine(SyntaxToken token)
    {
        var text = token.SyntaxTree?.GetText();
        if (text is null)
            return false;
        var line = text.Lines.GetLineFromPosition(token.SpanStart);
        for (var i = line.Start; i < token.SpanStart; i++)
        {
            if (!char.IsWhiteSpace(text[i]))
                return false;
        }

        return true;
    }

    /// <summary>MSA1003 reports without asking: the allocation is worth knowing about on any target. The rewrite
    /// needs ArrayPool&lt;T&gt; and Span&lt;T&gt; (netstandard2.0 and .NET Framework have them only with the
    /// System.Buffers / System.Memory packages) and span locals (C# 7.2).</summary>
    private static bool HasPoolAndSpans(Compilation compilation, SyntaxTree tree)
        => WellKnownTypes.Of(compilation) is { ArrayPool: not null, Span: not null, MemoryExtensions: not null }
           && ((CSharpParseOptions)tree.Options).LanguageVersion >= LanguageVersion.CSharp7_2;

    private static async Task<Document> ApplyAsync(Document document, Diagnostic diagnostic, CancellationToken cancellationToken)
    {
        var (root, model) = await FixDocument.ReadAsync(document, cancellationToken).ConfigureAwait(false);
        var plan = Plan.TryCreate(model, root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true), diagnostic, cancellationToken);
        if (plan is null)
            return document;

        var name = plan.Scratch.Local.Name;
        var element = plan.Scratch.ElementType.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat);
        var sizeSyntax = plan.Scratch.Creation.DimensionSizes[0].Syntax.ToString();
        var rented = UniqueName(model, plan.Statement.SpanStart, name + "Array");
        var nullableEnabled = model.GetNullableContext(plan.Statement.SpanStart).AnnotationsEnabled();

        // 1. Rewrite the uses that need it (the same rewrites as MSA1001's fix), keeping track of the statement.
        var statementMark = new SyntaxAnnotation();
        var blockMark = new SyntaxAnnotation();
        var replacements = new Dictionary<SyntaxNode, SyntaxNode>();
        foreach (var use in plan.Uses)
        {
            if (use.Rewrite != SpanRewrite.None && use.Operation.Syntax is ExpressionSyntax expression)
                replacements[expression] = SpanCallRewriter.Rewrite(use, plan.Scratch.Local).WithTriviaFrom(expression);
        }

        var newRoot = root.ReplaceNodes(
            replacements.Keys.Concat(new SyntaxNode[] { plan.Statement, plan.Block }),
            (original, rewritten) =>
            {
                if (original == plan.Statement)
                    return rewritten.WithAdditionalAnnotations(statementMark);
                if (original == plan.Block)
                    return rewritten.WithAdditionalAnnotations(blockMark);
                return replacements.TryGetValue(original, out var replacement) ? replacement : rewritten;
            });

        // 2. Restructure as text: the declaration becomes the rental, the rest of the block moves into try/finally.
        var statement = (LocalDeclarationStatementSyntax)newRoot.GetAnnotatedNodes(statementMark).Single();
        var block = (BlockSyntax)newRoot.GetAnnotatedNodes(blockMark).Single();
        // The document's encoding and checksum algorithm carry over (a root's text has neither), so the file is
        // saved as it was read.
        var original = await document.GetTextAsync(cancellationToken).ConfigureAwait(false);
        var text = newRoot.GetText(original.Encoding, original.ChecksumAlgorithm);
        var lineBreak = TriviaEditing.LineBreak(text);
        var statementLine = text.Lines.GetLineFromPosition(statement.SpanStart);
        var indent = text.ToString(TextSpan.FromBounds(statementLine.Start, statement.SpanStart));
        var unit = indent.Contains("\t") ? "\t" : "    ";
        var restStatements = block.Statements.SkipWhile(s => s != statement).Skip(1).ToList();
        // The declaration may span lines; the rest starts after its last one.
        var declarationEnd = text.Lines.GetLineFromPosition(statement.Span.End).EndIncludingLineBreak;
        var restEnd = restStatements.Count > 0 ? text.Lines.GetLineFromPosition(restStatements.Last().Span.End).EndIncludingLineBreak : declarationEnd;
        var restStart = declarationEnd;

        // Comments on the declaration's lines describe the buffer: they go on the line that declares the span.
        var blockComments = new StringBuilder();
        var lineComments = new StringBuilder();
        foreach (var trivia in statement.DescendantTrivia())
        {
            if (trivia.SpanStart < statementLine.Start || !TriviaEditing.IsComment(trivia))
                continue;
            (trivia.IsKind(SyntaxKind.SingleLineCommentTrivia) ? lineComments : blockComments).Append(' ').Append(trivia.ToString());
        }

        var declarationComments = blockComments.Append(lineComments).ToString();
        var rest = restEnd > restStart ? text.ToString(TextSpan.FromBounds(restStart, restEnd)) : string.Empty;

        var inner = indent + unit;
        var builder = new StringBuilder();
        if (diagnostic.Id == RuleIdentifiers.LargeTemporaryArray)
        {
            builder.Append(indent).Append(element).Append("[] ").Append(rented).Append(" = ArrayPool<").Append(element).Append(">.Shared.Rent(").Append(sizeSyntax).Append(");").Append(lineBreak);
            builder.Append(indent).Append("try").Append(lineBreak).Append(indent).Append('{').Append(lineBreak);
            builder.Append(inner).Append("Span<").Append(element).Append("> ").Append(name).Append(" = ").Append(rented).Append(".AsSpan(0, ").Append(sizeSyntax).Append(");").Append(declarationComments).Append(lineBreak);
        }
        else
        {
            var stackElements = diagnostic.Properties.TryGetValue(ScratchBufferAnalyzer.StackElementsProperty, out var value) && int.TryParse(value, out var parsed) ? parsed : 256;
            var length = sizeSyntax;
            if (!IsSimple(plan.Scratch.Creation.DimensionSizes[0]))
            {
                // The size is read three times below; evaluate it once.
                length = UniqueName(model, plan.Statement.SpanStart, name + "Length");
                builder.Append(indent).Append("var ").Append(length).Append(" = ").Append(sizeSyntax).Append(';').Append(lineBreak);
            }

            builder.Append(indent).Append(element).Append(nullableEnabled ? "[]? " : "[] ").Append(rented).Append(" = null;").Append(lineBreak);
            builder.Append(indent).Append("try").Append(lineBreak).Append(indent).Append('{').Append(lineBreak);
            builder.Append(inner).Append("Span<").Append(element).Append("> ").Append(name).Append(" = ").Append(length).Append(" <= ").Append(stackElements)
                .Append(" ? stackalloc ").Append(element).Append('[').Append(stackElements).Append("] : (").Append(rented).Append(" = ArrayPool<").Append(element)
                .Append(">.Shared.Rent(").Append(length).Append("));").Append(declarationComments).Append(lineBreak);
            builder.Append(inner).Append(name).Append(" = ").Append(name).Append(".Slice(0, ").Append(length).Append(");").Append(lineBreak);
        }

        // new T[n] is zeroed; rented arrays and (under SkipLocalsInit) stackalloc memory are not. Clearing
        // costs a pass over the whole buffer, so it is left out where no element can be read before it is written.
        if (UnwrittenReads.MayReadUnwritten(plan.Scratch.Local, plan.Scratch.Root))
            builder.Append(inner).Append(name).Append(".Clear();").Append(lineBreak);
        builder.Append(Reindent(rest, unit, lineBreak));
        builder.Append(indent).Append('}').Append(lineBreak);
        builder.Append(indent).Append("finally").Append(lineBreak).Append(indent).Append('{').Append(lineBreak);
        if (diagnostic.Id == RuleIdentifiers.LargeTemporaryArray)
        {
            builder.Append(inner).Append("ArrayPool<").Append(element).Append(">.Shared.Return(").Append(rented).Append(");").Append(lineBreak);
        }
        else
        {
            builder.Append(inner).Append("if (").Append(rented).Append(" != null)").Append(lineBreak);
            builder.Append(inner).Append(unit).Append("ArrayPool<").Append(element).Append(">.Shared.Return(").Append(rented).Append(");").Append(lineBreak);
        }

        builder.Append(indent).Append('}').Append(lineBreak);
        var newText = text.Replace(TextSpan.FromBounds(statementLine.Start, restEnd), builder.ToString());
        var result = document.WithText(newText);
        return await EnsureUsingsAsync(result, cancellationToken).ConfigureAwait(false);
    }

    private static string Reindent(string rest, string unit, string lineBreak)
    {
        if (rest.Length == 0)
            return rest;
        var lines = rest.Split(new[] { lineBreak }, System.StringSplitOptions.None);
        var builder = new StringBuilder(rest.Length + lines.Length * unit.Length);
        for (var i = 0; i < lines.Length; i++)
        {
            if (i > 0)
                builder.Append(lineBreak);
            if (lines[i].Trim().Length > 0)
                builder.Append(unit);
            builder.Append(lines[i]);
        }

        return builder.ToString();
    }

    /// <summary>A size expression that can be read several times: constants, locals, parameters, their
    /// Length/Count, and arithmetic of those.</summary>
    private static bool IsSimple(IOperation operation) => operation switch
    {
        { ConstantValue.HasValue: true } => true,
        ILocalReferenceOperation or IParameterReferenceOperation => true,
        IConversionOperation conversion => IsSimple(conversion.Operand),
        IPropertyReferenceOperation { Property.Name: "Length" or "Count", Arguments.IsEmpty: true, Instance: { } instance } => IsSimple(instance),
        IBinaryOperation binary => IsSimple(binary.LeftOperand) && IsSimple(binary.RightOperand),
        _ => false,
    };

    private static string UniqueName(SemanticModel model, int position, string baseName)
    {
        var name = baseName;
        for (var i = 2; model.LookupSymbols(position, name: name).Length > 0 || IsDeclaredLater(model, position, name); i++)
            name = baseName + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return name;
    }

    private static bool IsDeclaredLater(SemanticModel model, int position, string name)
    {
        var member = model.SyntaxTree.GetRoot().FindToken(position).Parent?.FirstAncestorOrSelf<MemberDeclarationSyntax>();
        if (member is null)
            return false;
        foreach (var token in member.DescendantTokens())
        {
            if (token.IsKind(SyntaxKind.IdentifierToken) && token.ValueText == name)
                return true;
        }

        return false;
    }

    private static async Task<Document> EnsureUsingsAsync(Document document, CancellationToken cancellationToken)
    {
        var root = (CompilationUnitSyntax)(await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false))!;
        var missing = new List<string>();
        foreach (var ns in new[] { "System", "System.Buffers" })
        {
            if (!root.Usings.Any(u => u.Alias is null && u.StaticKeyword.RawKind == 0 && u.Name?.ToString() == ns))
                missing.Add(ns);
        }

        if (missing.Count == 0)
            return document;
        var model = (await document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false))!;
        var position = root.Members.Count > 0 ? root.Members[0].SpanStart : 0;
        var lineBreak = TriviaEditing.LineBreak(await document.GetTextAsync(cancellationToken).ConfigureAwait(false));
        var usings = root.Usings;
        foreach (var ns in missing)
        {
            // A global using (ImplicitUsings) already brings it.
            var probe = ns == "System" ? "Span" : "ArrayPool";
            if (model.LookupNamespacesAndTypes(position, name: probe).Any(s => s.ContainingNamespace?.ToDisplayString() == ns))
                continue;
            var directive = SyntaxFactory.UsingDirective(SyntaxFactory.ParseName(ns)).WithTrailingTrivia(SyntaxFactory.EndOfLine(lineBreak));
            var index = 0;
            while (index < usings.Count && string.CompareOrdinal(usings[index].Name?.ToString(), ns) < 0)
                index++;
            usings = usings.Insert(index, directive);
        }

        if (root.Usings.Count == 0 && usings.Count > 0)
            usings = usings.Replace(usings.Last(), usings.Last().WithTrailingTrivia(SyntaxFactory.EndOfLine(lineBreak), SyntaxFactory.EndOfLine(lineBreak)));
        return document.WithSyntaxRoot(root.WithUsings(usings));
    }
}
