using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using MemSafety.Analyzers.Tests.Infrastructure;
using MemSafety.Analyzers.Tests.Verification;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace MemSafety.Analyzers.Tests.Reliability;

/// <summary>One source the fuzzer mutates: a sample file, or a C# source written as a raw string in a test.</summary>
public sealed record FuzzInput(string Name, string Source);

/// <summary>What the fuzzer mutates: every sample and every test source (the raw string literals of the test files that
/// look like C# declarations, markup removed), in a fixed order so a seed names the same mutants on every machine.</summary>
public static class FuzzInputs
{
    private static readonly Lazy<IReadOnlyList<FuzzInput>> s_all = new(Collect);

    public static IReadOnlyList<FuzzInput> All => s_all.Value;

    private static IReadOnlyList<FuzzInput> Collect()
    {
        var inputs = new List<FuzzInput>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in SourceFiles(Path.Combine(RepositoryFiles.Root, "samples", "MemSafety.Samples")))
        {
            var text = File.ReadAllText(file).Replace("\r\n", "\n");
            // A sample is one document here: the files beside it that are no sample (the UnityEngine stand-ins) go with it.
            if (file.EndsWith(".Before.cs", StringComparison.Ordinal) || file.EndsWith(".After.cs", StringComparison.Ordinal))
            {
                foreach (var support in Directory.GetFiles(Path.GetDirectoryName(file)!, "*.cs"))
                {
                    if (!support.EndsWith(".Before.cs", StringComparison.Ordinal) && !support.EndsWith(".After.cs", StringComparison.Ordinal))
                        text += "\n" + File.ReadAllText(support).Replace("\r\n", "\n");
                }
            }

            if (seen.Add(text))
                inputs.Add(new FuzzInput(Relative(file), text));
        }

        // The program that uses every construct of the language (LanguageCoverageTests).
        var allFeatures = Path.Combine(RepositoryFiles.Root, "tests", "MemSafety.Analyzers.Tests", "Reliability", "LanguageCoverage", "AllFeatures.cs.txt");
        inputs.Add(new FuzzInput(Relative(allFeatures), File.ReadAllText(allFeatures).Replace("\r\n", "\n")));

        foreach (var file in SourceFiles(Path.Combine(RepositoryFiles.Root, "tests", "MemSafety.Analyzers.Tests")))
        {
            var root = CSharpSyntaxTree.ParseText(File.ReadAllText(file)).GetRoot();
            foreach (var literal in root.DescendantNodes().OfType<LiteralExpressionSyntax>())
            {
                if (!literal.Token.IsKind(SyntaxKind.MultiLineRawStringLiteralToken) || !LooksLikeDeclarations(literal.Token.ValueText))
                    continue;
                string source;
                try
                {
                    source = Markup.Parse(literal.Token.ValueText).Source;
                }
                catch (FormatException)
                {
                    continue; // braces of C# read as markup: the raw text is another input anyway
                }

                if (seen.Add(source))
                    inputs.Add(new FuzzInput($"{Relative(file)}:{literal.GetLocation().GetLineSpan().StartLinePosition.Line + 1}", source));
            }
        }

        return inputs;
    }

    private static bool LooksLikeDeclarations(string text)
        => text.Length > 40 && (text.Contains("class ", StringComparison.Ordinal) || text.Contains("struct ", StringComparison.Ordinal)
            || text.Contains("record ", StringComparison.Ordinal) || text.Contains("interface ", StringComparison.Ordinal));

    private static IEnumerable<string> SourceFiles(string folder)
        => Directory.GetFiles(folder, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}Reliability{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .OrderBy(f => f, StringComparer.Ordinal);

    private static string Relative(string path) => Path.GetRelativePath(RepositoryFiles.Root, path).Replace('\\', '/');
}
