using System.Collections.Immutable;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Disposal;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.UnsafePointers;

/// <summary>
/// MSA5008. The mismatch half: a free (or realloc) of <c>Marshal</c> or <c>NativeMemory</c> given memory that every
/// write of the local proves came from another allocator family (<see cref="NativeMemoryFamilies"/>):
/// <c>FreeHGlobal</c> on <c>AllocCoTaskMem</c> memory, <c>NativeMemory.Free</c> on <c>AlignedAlloc</c> memory,
/// <c>Marshal.FreeHGlobal</c> on <c>NativeMemory.Alloc</c> memory, any free but <c>FreeBSTR</c> on a BSTR.
/// The leak half: an allocation into a local that does not escape and that some normal path or an exception leaves
/// unfreed (<see cref="NativeMemoryLifetime"/>), reported at the allocation.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class MismatchedNativeFreeAnalyzer : MemSafetyAnalyzer
{
    /// <summary>The property the fix reads: the name of the matching release with the same parameters, when there is one.</summary>
    public const string MatchingProperty = "Matching";

    /// <summary>The property the leak fix reads: "Leak" on a leak, with <see cref="FreeProperty"/> the matching free (<c>Marshal.FreeHGlobal</c>).</summary>
    public const string KindProperty = "Kind";

    public const string FreeProperty = "Free";

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.MismatchedNativeFree);

    protected override void Register(AnalysisContext context) => context.RegisterOperationAction(Analyze, OperationKind.Invocation);

    private static void Analyze(OperationAnalysisContext context)
    {
        var invocation = (IInvocationOperation)context.Operation;
        var method = invocation.TargetMethod;
        if (NativeMemoryLifetime.IsTrackedAllocator(method, out var allocated))
        {
            AnalyzeLeak(context, invocation, allocated);
            return;
        }

        var released = NativeMemoryFamilies.Releases(method);
        if (released == NativeMemoryFamily.None || Argument(invocation) is not { } argument)
            return;
        var family = NativeMemoryFamilies.FamilyOf(argument, out var allocation);
        if (family == NativeMemoryFamily.None || family == released || allocation is null)
            return;

        var matching = NativeMemoryFamilies.MatchingRelease(method, family);
        var properties = matching is null ? ImmutableDictionary<string, string?>.Empty : ImmutableDictionary<string, string?>.Empty.Add(MatchingProperty, matching);
        context.ReportDiagnostic(Diagnostic.Create(
            RuleCatalogue.MismatchedNativeFree,
            invocation.Syntax.GetLocation(),
            new[] { allocation.Syntax.GetLocation() },
            properties,
            "'" + method.ContainingType.Name + "." + method.Name + "' is given memory from '" + allocation.TargetMethod.ContainingType.Name + "."
            + allocation.TargetMethod.Name + "' (line " + DisposedOnAllPaths.Line(allocation.Syntax) + "), which only " + Expected(family) + " may free",
            Consequence(family, released)));
    }

    private static void AnalyzeLeak(OperationAnalysisContext context, IInvocationOperation allocation, NativeMemoryFamily family)
    {
        if (LocalLifetime.AcquiredInto(allocation) is not { } local
            || NativeMemoryLifetime.Analyze(local, allocation, context.CancellationToken) is not { } lifetime)
        {
            return;
        }

        var free = NativeMemoryLifetime.FreeOf(family);
        foreach (var defect in lifetime.Defects)
        {
            if (defect.Site.Syntax != allocation.Syntax || defect.Kind is not (LifetimeDefectKind.NotFreed or LifetimeDefectKind.NotFreedOnException))
                continue;
            var subject = "The native memory in '" + local.Name + "' from " + allocation.TargetMethod.ContainingType.Name + "." + allocation.TargetMethod.Name;
            var text = defect.Kind == LifetimeDefectKind.NotFreed
                ? (subject + " is still allocated where " + defect.Detail + ", and nothing else can free it",
                   "the garbage collector never reclaims native memory, so the block is lost until the process exits; free it with " + free + " in a finally")
                : (subject + " is not freed if '" + MessageText.Quote(defect.Related!) + "' at line " + DisposedOnAllPaths.Line(defect.Related!.Syntax) + " throws",
                   "the exception leaves the method with the block allocated, and the garbage collector never reclaims native memory, so it is lost until the process exits; free it with " + free + " in a finally");
            var additional = defect.Related is { } related ? new[] { related.Syntax.GetLocation() } : null;
            context.ReportDiagnostic(Diagnostic.Create(
                RuleCatalogue.MismatchedNativeFree,
                allocation.Syntax.GetLocation(),
                additional,
                ImmutableDictionary<string, string?>.Empty.Add(KindProperty, "Leak").Add(FreeProperty, free),
                text.Item1,
                text.Item2));
        }
    }

    private static IOperation? Argument(IInvocationOperation invocation)
    {
        foreach (var argument in invocation.Arguments)
        {
            if (argument.Parameter?.Ordinal == 0)
                return argument.Value;
        }

        return null;
    }

    private static string Expected(NativeMemoryFamily family) => family switch
    {
        NativeMemoryFamily.HGlobal => "Marshal.FreeHGlobal",
        NativeMemoryFamily.CoTaskMem => "Marshal.FreeCoTaskMem",
        NativeMemoryFamily.Bstr => "Marshal.FreeBSTR",
        NativeMemoryFamily.Native => "NativeMemory.Free",
        _ => "NativeMemory.AlignedFree",
    };

    private static string Consequence(NativeMemoryFamily allocated, NativeMemoryFamily released)
    {
        if (allocated == NativeMemoryFamily.Bstr || released == NativeMemoryFamily.Bstr)
            return "a BSTR points past the length prefix at the start of its block, so freeing a BSTR with another function, or other memory with FreeBSTR, hands the allocator an address it never returned, which corrupts the heap or aborts the process on every platform";
        if (allocated == NativeMemoryFamily.NativeAligned || released == NativeMemoryFamily.NativeAligned)
            return "on Windows aligned memory comes from _aligned_malloc and is freed only by _aligned_free, so mixing it with malloc/free corrupts the heap; on Unix both end in free, so the code works there only by accident";
        return "on Windows AllocHGlobal is LocalAlloc, AllocCoTaskMem is CoTaskMemAlloc and NativeMemory.Alloc is the C runtime's malloc, three heaps that do not accept each other's blocks, so this corrupts the heap; on Unix all three are malloc, so the code works there only by accident";
    }
}
