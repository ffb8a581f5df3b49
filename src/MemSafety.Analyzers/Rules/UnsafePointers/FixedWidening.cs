using System.Collections.Generic;
using MemSafety.Analyzers.Engines.Provenance;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace MemSafety.Analyzers.Rules.UnsafePointers;

/// <summary>
/// MSA5001's fix plan: when every escape of a fixed statement's pointers is a use after the block, and those uses
/// lie in statements that follow it in the same statement list, the block can grow to end with the last of them,
/// so the object stays pinned while they run. A moved statement that declares a variable used further on takes
/// those statements along. Refused when a moved statement declares a variable named like a fixed local, is a label
/// (no jumping into a fixed block) or a local function, or contains await/yield.
/// </summary>
internal static class FixedWidening
{
    /// <summary>The index (in the statement's parent block) of the last statement the block must grow over; -1 if
    /// it cannot.</summary>
    public static int LastStatementToInclude(FixedStatementSyntax statement, PointerProvenance provenance)
    {
        if (statement.Parent is not BlockSyntax block)
            return -1;
        var statements = block.Statements;
        var index = statements.IndexOf(statement);
        var last = -1;
        foreach (var declarator in statement.Declaration.Variables)
        {
            foreach (var escape in provenance.EscapesOf(declarator))
            {
                if (escape.Kind != PointerEscapeKind.UsedAfterScope)
                    return -1;
                var containing = escape.Site.AncestorsAndSelf().GetEnumerator();
                StatementSyntax? sibling = null;
                while (containing.MoveNext())
                {
                    if (containing.Current is StatementSyntax s && s.Parent == block)
                    {
                        sibling = s;
                        break;
                    }
                }

                var at = sibling is null ? -1 : statements.IndexOf(sibling);
                if (at <= index)
                    return -1;
                if (at > last)
                    last = at;
            }
        }

        if (last < 0)
            return -1;

        var fixedNames = new HashSet<string>();
        foreach (var declarator in statement.Declaration.Variables)
            fixedNames.Add(declarator.Identifier.ValueText);

        // A moved statement that declares a variable used later takes those later statements along (they would
        // otherwise see it go out of scope); repeated until nothing after the new end uses a moved declaration.
        var declared = new HashSet<string>();
        var scanned = index;
        while (scanned < last)
        {
            for (var i = scanned + 1; i <= last; i++)
            {
                var moved = statements[i];
                if (moved is LabeledStatementSyntax or LocalFunctionStatementSyntax)
                    return -1;
                foreach (var node in moved.DescendantNodesAndSelf())
                {
                    switch (node)
                    {
                        case AwaitExpressionSyntax or YieldStatementSyntax or LabeledStatementSyntax:
                            return -1;
                        case VariableDeclaratorSyntax v:
                            declared.Add(v.Identifier.ValueText);
                            break;
                        case SingleVariableDesignationSyntax d:
                            declared.Add(d.Identifier.ValueText);
                            break;
                    }
                }
            }

            scanned = last;
            for (var i = last + 1; i < statements.Count && declared.Count > 0; i++)
            {
                foreach (var token in statements[i].DescendantTokens())
                {
                    if (token.IsKind(SyntaxKind.IdentifierToken) && declared.Contains(token.ValueText))
                    {
                        last = i;
                        break;
                    }
                }
            }
        }

        foreach (var name in declared)
        {
            if (fixedNames.Contains(name))
                return -1;
        }

        return last;
    }
}
