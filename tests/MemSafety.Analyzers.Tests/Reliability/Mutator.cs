using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace MemSafety.Analyzers.Tests.Reliability;

/// <summary>A mutant: the mutated source and the mutations that made it, in order.</summary>
public sealed record Mutant(FuzzInput Input, string Source, IReadOnlyList<string> Mutations);

/// <summary>Seeded source mutations of the kinds an editor produces while code is typed, and a few it never does:
/// a token deleted, the text cut off, lines duplicated or swapped, a keyword or punctuation inserted, an identifier
/// renamed to an undefined one, a statement wrapped in a lambda or a loop. The same seed and index give the same mutant.</summary>
public static class Mutator
{
    private static readonly string[] s_insertions =
    {
        "{", "}", ";", "=>", "(", ")", "await ", "unsafe ", "fixed ", "lock ", "stackalloc ", "ref ", "scoped ", "static ",
        "async ", "yield return ", "using ", "new ", "in ", "out ", "readonly ", "volatile ", "const ", "? ", "!", "*", "&",
        "goto L; ", "L: ", "default", "null", "this", "base.", "typeof(int)", "nameof(x)", "checked(", "throw ", "return ",
        "delegate { }", "() => { }", "static () => 0", "[", "]", "<T>", "where T : struct", "params ", "#if X\n", "#endif\n",
    };

    /// <summary>The mutant for one index of a campaign: which input, and one to three mutations of it.</summary>
    public static Mutant Create(IReadOnlyList<FuzzInput> inputs, int seed, int index)
    {
        var random = new Random(unchecked(seed * 1_000_003 + index * 7_919));
        // One mutant in three starts from a sample: samples are long and report many rules, so their mutants reach the
        // fixes more often than the short test sources, most of which show one case each.
        var samples = 0;
        while (samples < inputs.Count && inputs[samples].Name.StartsWith("samples/", StringComparison.Ordinal))
            samples++;
        var input = inputs[samples > 0 && random.Next(3) == 0 ? random.Next(samples) : random.Next(inputs.Count)];
        var source = input.Source;
        var mutations = new List<string>();
        var count = 1 + random.Next(3);
        for (var i = 0; i < count; i++)
        {
            var (mutated, description) = MutateOnce(source, random);
            source = mutated;
            mutations.Add(description);
        }

        return new Mutant(input, source, mutations);
    }

    private static (string Source, string Description) MutateOnce(string source, Random random)
    {
        if (source.Length == 0)
            return (source, "nothing to mutate");
        var root = CSharpSyntaxTree.ParseText(source).GetRoot();
        switch (random.Next(8))
        {
            case 0:
            {
                var token = RandomToken(root, random);
                return token is { } t ? (source.Remove(t.SpanStart, t.Span.Length), $"deleted token '{t.Text}' at {t.SpanStart}") : (source, "no token");
            }

            case 1:
            {
                var at = random.Next(source.Length);
                return (source.Substring(0, at), $"truncated at {at}");
            }

            case 2:
            {
                var lines = source.Split('\n').ToList();
                var line = random.Next(lines.Count);
                lines.Insert(line, lines[line]);
                return (string.Join("\n", lines), $"duplicated line {line + 1}");
            }

            case 3:
            {
                var lines = source.Split('\n');
                var a = random.Next(lines.Length);
                var b = random.Next(lines.Length);
                (lines[a], lines[b]) = (lines[b], lines[a]);
                return (string.Join("\n", lines), $"swapped lines {a + 1} and {b + 1}");
            }

            case 4:
            case 5:
            {
                var token = RandomToken(root, random);
                var at = token?.SpanStart ?? 0;
                var text = s_insertions[random.Next(s_insertions.Length)];
                return (source.Insert(at, text), $"inserted '{text.Replace("\n", "\\n")}' at {at}");
            }

            case 6:
            {
                var names = root.DescendantTokens().Where(t => t.IsKind(SyntaxKind.IdentifierToken)).ToList();
                if (names.Count == 0)
                    return (source, "no identifier");
                var name = names[random.Next(names.Count)];
                return (source.Remove(name.SpanStart, name.Span.Length).Insert(name.SpanStart, "undefined_" + name.Text),
                    $"renamed '{name.Text}' at {name.SpanStart} to an undefined name");
            }

            default:
            {
                var statements = root.DescendantNodes().OfType<StatementSyntax>().Where(s => s is not BlockSyntax && s is not LocalFunctionStatementSyntax).ToList();
                if (statements.Count == 0)
                    return (source, "no statement");
                var statement = statements[random.Next(statements.Count)];
                var wrapped = random.Next(3) switch
                {
                    0 => "System.Action fuzzWrapped = () => { " + statement.ToString() + " };",
                    1 => "for (var fuzzI = 0; fuzzI < 2; fuzzI++) { " + statement.ToString() + " }",
                    _ => "System.Func<System.Threading.Tasks.Task> fuzzWrapped = async () => { await System.Threading.Tasks.Task.Yield(); " + statement.ToString() + " };",
                };
                return (source.Remove(statement.SpanStart, statement.Span.Length).Insert(statement.SpanStart, wrapped),
                    $"wrapped the statement at {statement.SpanStart} ({statement.Kind()})");
            }
        }
    }

    private static SyntaxToken? RandomToken(SyntaxNode root, Random random)
    {
        var tokens = root.DescendantTokens().Where(t => t.Span.Length > 0).ToList();
        return tokens.Count == 0 ? null : tokens[random.Next(tokens.Count)];
    }
}
