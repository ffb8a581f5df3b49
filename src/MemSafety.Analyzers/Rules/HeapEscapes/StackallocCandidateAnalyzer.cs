using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using MemSafety.Analyzers.Engines.Escape;
using MemSafety.Analyzers.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.HeapEscapes;

/// <summary>
/// MSA1001. <c>var buffer = new byte[16];</c> used only inside the method costs a heap allocation (and
/// GC work) on every call; <c>Span&lt;byte&gt; buffer = stackalloc byte[16];</c> costs a stack-pointer bump.
/// Reported only when the escape engine proves the array never leaves the frame and every use of the
/// local has a span equivalent, so that the fix is always safe. Census-style: hot paths by default (one small
/// allocation per call only matters where calls are many; on third-party code most findings were once per block,
/// header or password), everywhere under <c>Strict</c>. Arrays on a loop cycle are never reported, so
/// <c>hot_paths_and_loops</c> reports what <c>hot_paths</c> does.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class StackallocCandidateAnalyzer : MemSafetyAnalyzer
{
    /// <summary>Diagnostic property: present when [SkipLocalsInit] applies, so the fix must clear the span
    /// (new T[N] is zeroed; stackalloc under SkipLocalsInit is not).</summary>
    public const string SkipLocalsInitProperty = "SkipLocalsInit";

    private static readonly RuleScopeOption Scope = RuleScopeOption.For(RuleIdentifiers.StackallocCandidate, RuleScope.HotPaths);

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.StackallocCandidate);

    protected override void Register(AnalysisContext context) => context.RegisterCompilationStartAction(start =>
    {
        // Nothing is looked up here (Span<T>, the module's and assembly's [SkipLocalsInit]): a compilation's first lookups and
        // attribute binding are paid by whichever callback asks first, and most compilations have few candidates.
        var services = CompilationServices.Get(start.Compilation, start.Options);
        var compilation = start.Compilation;
        var summaries = services.Summaries;
        var oracle = services.HotPaths;

        start.RegisterOperationBlockStartAction(block =>
        {
            if (block.OwningSymbol is not IMethodSymbol || block.OperationBlocks.IsEmpty)
                return;
            var tree = block.OperationBlocks[0].Syntax.SyntaxTree;
            // Span locals initialised with stackalloc need C# 7.2; array-initializer stackalloc needs 7.3.
            if (((CSharpParseOptions)tree.Options).LanguageVersion < LanguageVersion.CSharp7_3)
                return;

            var candidates = new List<(IArrayCreationOperation Creation, ILocalSymbol Local, int Bytes, int Length, ISymbol Function)>();
            block.RegisterOperationAction(operation =>
            {
                var creation = (IArrayCreationOperation)operation.Operation;
                if (TryGetShape(creation, out var local, out var length, out var bytes, out var function))
                {
                    lock (candidates)
                        candidates.Add((creation, local!, bytes, length, function!));
                }
            }, OperationKind.ArrayCreation);

            block.RegisterOperationBlockEndAction(end =>
            {
                // Span<T> must exist (netstandard2.0 without System.Memory has none).
                if (candidates.Count == 0 || services.Types.Span is null)
                    return;
                var options = services.OptionsFor(tree);
                var scope = services.ScopeOf(Scope, tree);
                var budget = options.Get(MemSafetyOptions.StackallocMaxBytes) - ExistingStackallocBytes(end.OperationBlocks);
                EscapeEngine? engine = null;
                candidates.Sort(static (a, b) => a.Creation.Syntax.SpanStart.CompareTo(b.Creation.Syntax.SpanStart));
                var accepted = new List<(IArrayCreationOperation Creation, ILocalSymbol Local, int Bytes, int Length, ISymbol Function)>(candidates.Count);
                long total = 0;
                foreach (var candidate in candidates)
                {
                    var (creation, local, bytes, _, function) = candidate;
                    if (!oracle.IsInScope(scope, creation, end.OwningSymbol))
                        continue;
                    engine ??= EscapeEngine.ForBodyOf(creation, summaries, end.CancellationToken);
                    if (!engine.Analyze(creation).CanLiveOnStack)
                        continue;
                    var uses = SpanUses.Classify(local, creation.Root(), function);
                    if (uses is null || IsConstantTable(creation, uses))
                        continue;
                    accepted.Add(candidate);
                    total += bytes;
                }

                // All or none: moving some of a method's scratch arrays to the stack and leaving their siblings
                // on the heap is code nobody would write, and the heap allocations that stay keep the method's
                // GC cost; when the method's candidates do not fit together, none is suggested.
                if (accepted.Count == 0 || total > budget)
                    return;
                foreach (var (creation, local, bytes, length, function) in accepted)
                {
                    var skipsInit = SkipsLocalsInit(function) || HasSkipLocalsInit(compilation.SourceModule) || HasSkipLocalsInit(compilation.Assembly);
                    var properties = skipsInit && creation.Initializer is null
                        ? ImmutableDictionary<string, string?>.Empty.Add(SkipLocalsInitProperty, "true")
                        : ImmutableDictionary<string, string?>.Empty;
                    var element = ((IArrayTypeSymbol)creation.Type!).ElementType;
                    end.ReportDiagnostic(Diagnostic.Create(
                        RuleCatalogue.StackallocCandidate,
                        creation.Syntax.GetLocation(),
                        properties,
                        local.Name,
                        length.ToString(CultureInfo.InvariantCulture),
                        element.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat),
                        bytes.ToString(CultureInfo.InvariantCulture),
                        end.OwningSymbol.Name));
                }
            });
        });
    });

    /// <summary>The cheap part: a scratch array of a synchronous, non-iterator function, T an unmanaged
    /// primitive, N constant and positive, not in a loop (MSA1009's business) nor a catch/finally block
    /// (where stackalloc is not allowed).</summary>
    private static bool TryGetShape(IArrayCreationOperation creation, out ILocalSymbol? local, out int length, out int bytes, out ISymbol? function)
    {
        local = null;
        function = null;
        length = bytes = 0;
        if (creation.DimensionSizes.Length != 1 || creation.DimensionSizes[0].ConstantValue is not { HasValue: true, Value: int n } || n <= 0)
            return false;
        var scratch = ScratchArrays.TryGet(creation);
        if (scratch is null || scratch.InCatchOrFinally || scratch.Statement.Parent is not IBlockOperation and not ISwitchCaseOperation)
            return false;

        var elementSize = ScratchArrays.SizeOf(scratch.ElementType);
        if (elementSize == 0)
            return false;
        // 64-bit: new decimal[200_000_000] must not overflow (and throw inside the analyzer).
        var total = (long)n * elementSize;
        // The loop test may build the body's control-flow graph (a body with goto): after the cheap tests.
        if (total > int.MaxValue || scratch.FunctionIsAsyncOrIterator || scratch.InLoop)
            return false;
        local = scratch.Local;
        function = scratch.Function;
        length = n;
        bytes = (int)total;
        return true;
    }

    /// <summary>An array of constants that is only read is a lookup table: MSA1005 moves it to static data
    /// (no per-call cost at all), which beats copying it onto the stack on every call. Never both on one node.</summary>
    private static bool IsConstantTable(IArrayCreationOperation creation, List<SpanUse> uses)
    {
        if (creation.Initializer is not { } initializer)
            return false;
        foreach (var element in initializer.ElementValues)
        {
            if (!element.ConstantValue.HasValue)
                return false;
        }

        foreach (var use in uses)
        {
            if (use.Rewrite is SpanRewrite.Fill or SpanRewrite.Clear or SpanRewrite.Reverse)
                return false;
            var reference = use.Operation;
            if (reference.Parent is IArrayElementReferenceOperation element && IsWrite(element))
                return false;
            // Passed as a writable span (or to an overload that may write): not read-only.
            if (use.Rewrite != SpanRewrite.None || reference.Parent is IConversionOperation { Type: INamedTypeSymbol { Name: "Span" } } || reference.Parent is IArgumentOperation)
                return false;
        }

        return true;
    }

    private static bool IsWrite(IOperation element) => element.Parent switch
    {
        IAssignmentOperation assignment => assignment.Target == element,
        IIncrementOrDecrementOperation => true,
        IArgumentOperation { Parameter.RefKind: RefKind.Ref or RefKind.Out } => true,
        IVariableInitializerOperation { Parent: IVariableDeclaratorOperation { Symbol.RefKind: RefKind.Ref } } => true,
        _ => false,
    };

    /// <summary>Bytes already stackalloc'ed with a constant size in the method; an unknown size uses the whole budget.</summary>
    private static int ExistingStackallocBytes(ImmutableArray<IOperation> blocks)
    {
        long total = 0;
        foreach (var block in blocks)
        {
            foreach (var node in block.Syntax.DescendantNodes())
            {
                if (node is ImplicitStackAllocArrayCreationExpressionSyntax)
                    return int.MaxValue / 2;
                if (node is not StackAllocArrayCreationExpressionSyntax existing)
                    continue;
                if (existing.Type is ArrayTypeSyntax { RankSpecifiers.Count: 1, ElementType: PredefinedTypeSyntax predefined } array
                    && array.RankSpecifiers[0].Sizes.Count == 1
                    && (array.RankSpecifiers[0].Sizes[0] is LiteralExpressionSyntax { Token.Value: int count }
                        ? count : existing.Initializer?.Expressions.Count) is int elements)
                {
                    total += (long)elements * SizeOf(predefined.Keyword.Kind());
                    if (total > int.MaxValue / 2)
                        return int.MaxValue / 2;
                }
                else
                {
                    return int.MaxValue / 2;
                }
            }
        }

        return (int)total;
    }

    private static int SizeOf(SyntaxKind keyword) => keyword switch
    {
        SyntaxKind.BoolKeyword or SyntaxKind.ByteKeyword or SyntaxKind.SByteKeyword => 1,
        SyntaxKind.CharKeyword or SyntaxKind.ShortKeyword or SyntaxKind.UShortKeyword => 2,
        SyntaxKind.IntKeyword or SyntaxKind.UIntKeyword or SyntaxKind.FloatKeyword => 4,
        SyntaxKind.LongKeyword or SyntaxKind.ULongKeyword or SyntaxKind.DoubleKeyword => 8,
        SyntaxKind.DecimalKeyword => 16,
        _ => 1024,
    };

    private static bool SkipsLocalsInit(ISymbol function)
    {
        for (var s = function; s is not null && s.Kind != SymbolKind.Namespace; s = s.ContainingSymbol)
        {
            if (HasSkipLocalsInit(s))
                return true;
        }

        return false;
    }

    private static bool HasSkipLocalsInit(ISymbol symbol)
    {
        foreach (var attribute in symbol.GetAttributes())
        {
            if (attribute.AttributeClass is { Name: "SkipLocalsInitAttribute" })
                return true;
        }

        return false;
    }
}
