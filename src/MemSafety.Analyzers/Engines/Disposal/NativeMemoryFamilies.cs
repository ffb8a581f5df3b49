using MemSafety.Analyzers.Engines.Bodies;
using MemSafety.Analyzers.Engines.Escape;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Engines.Disposal;

/// <summary>The allocator a block of native memory came from, which decides the one function that may free it.</summary>
public enum NativeMemoryFamily
{
    None,
    /// <summary><c>Marshal.AllocHGlobal</c>, <c>StringToHGlobal*</c>, <c>SecureStringToGlobalAlloc*</c> (Windows: <c>LocalAlloc</c>); freed by <c>FreeHGlobal</c>.</summary>
    HGlobal,
    /// <summary><c>Marshal.AllocCoTaskMem</c>, <c>StringToCoTaskMem*</c>, <c>SecureStringToCoTaskMem*</c> (Windows: <c>CoTaskMemAlloc</c>); freed by <c>FreeCoTaskMem</c>.</summary>
    CoTaskMem,
    /// <summary><c>Marshal.AllocBSTR</c>, <c>StringToBSTR</c>, <c>SecureStringToBSTR</c> (<c>SysAllocString</c>); freed by <c>FreeBSTR</c>.</summary>
    Bstr,
    /// <summary><c>NativeMemory.Alloc</c>/<c>AllocZeroed</c>/<c>Realloc</c> (<c>malloc</c>); freed by <c>NativeMemory.Free</c>.</summary>
    Native,
    /// <summary><c>NativeMemory.AlignedAlloc</c>/<c>AlignedRealloc</c> (Windows: <c>_aligned_malloc</c>); freed by <c>NativeMemory.AlignedFree</c>.</summary>
    NativeAligned,
}

/// <summary>
/// Which allocator family a library call allocates from or gives memory back to (<c>Marshal</c>'s HGlobal, CoTaskMem and
/// BSTR helpers, <c>NativeMemory</c>'s plain and aligned ones), and the family of the value a local holds when every
/// write of it is such an allocation (or null). A realloc both releases its first argument and allocates.
/// </summary>
public static class NativeMemoryFamilies
{
    /// <summary>The family the method allocates from; None for any other method.</summary>
    public static NativeMemoryFamily Allocates(IMethodSymbol method)
    {
        var type = method.ContainingType;
        if (!IsInteropType(type, out var isMarshal))
            return NativeMemoryFamily.None;
        var name = method.Name;
        if (isMarshal)
        {
            return name switch
            {
                "AllocHGlobal" or "ReAllocHGlobal" or "StringToHGlobalAnsi" or "StringToHGlobalUni" or "StringToHGlobalAuto"
                    or "SecureStringToGlobalAllocAnsi" or "SecureStringToGlobalAllocUnicode" => NativeMemoryFamily.HGlobal,
                "AllocCoTaskMem" or "ReAllocCoTaskMem" or "StringToCoTaskMemAnsi" or "StringToCoTaskMemUni" or "StringToCoTaskMemAuto"
                    or "StringToCoTaskMemUTF8" or "SecureStringToCoTaskMemAnsi" or "SecureStringToCoTaskMemUnicode" => NativeMemoryFamily.CoTaskMem,
                "AllocBSTR" or "StringToBSTR" or "SecureStringToBSTR" => NativeMemoryFamily.Bstr,
                _ => NativeMemoryFamily.None,
            };
        }

        return name switch
        {
            "Alloc" or "AllocZeroed" or "Realloc" => NativeMemoryFamily.Native,
            "AlignedAlloc" or "AlignedRealloc" => NativeMemoryFamily.NativeAligned,
            _ => NativeMemoryFamily.None,
        };
    }

    /// <summary>The family whose memory the method's first argument must come from (a free, or a realloc); None for any other method.</summary>
    public static NativeMemoryFamily Releases(IMethodSymbol method)
    {
        var type = method.ContainingType;
        if (!IsInteropType(type, out var isMarshal) || method.Parameters.Length == 0)
            return NativeMemoryFamily.None;
        var name = method.Name;
        if (isMarshal)
        {
            return name switch
            {
                "FreeHGlobal" or "ReAllocHGlobal" or "ZeroFreeGlobalAllocAnsi" or "ZeroFreeGlobalAllocUnicode" => NativeMemoryFamily.HGlobal,
                "FreeCoTaskMem" or "ReAllocCoTaskMem" or "ZeroFreeCoTaskMemAnsi" or "ZeroFreeCoTaskMemUnicode" or "ZeroFreeCoTaskMemUTF8" => NativeMemoryFamily.CoTaskMem,
                "FreeBSTR" or "ZeroFreeBSTR" => NativeMemoryFamily.Bstr,
                _ => NativeMemoryFamily.None,
            };
        }

        return name switch
        {
            "Free" or "Realloc" => NativeMemoryFamily.Native,
            "AlignedFree" or "AlignedRealloc" => NativeMemoryFamily.NativeAligned,
            _ => NativeMemoryFamily.None,
        };
    }

    /// <summary>The release of the given family with the same parameters as <paramref name="release"/> (a plain free for a
    /// plain free, the zeroing one for a zeroing one), by name; null when there is none.</summary>
    public static string? MatchingRelease(IMethodSymbol release, NativeMemoryFamily family) => (release.Name, family) switch
    {
        ("FreeHGlobal" or "FreeCoTaskMem" or "FreeBSTR", NativeMemoryFamily.HGlobal) => "FreeHGlobal",
        ("FreeHGlobal" or "FreeCoTaskMem" or "FreeBSTR", NativeMemoryFamily.CoTaskMem) => "FreeCoTaskMem",
        ("FreeHGlobal" or "FreeCoTaskMem" or "FreeBSTR", NativeMemoryFamily.Bstr) => "FreeBSTR",
        ("ZeroFreeGlobalAllocAnsi", NativeMemoryFamily.CoTaskMem) => "ZeroFreeCoTaskMemAnsi",
        ("ZeroFreeGlobalAllocUnicode", NativeMemoryFamily.CoTaskMem) => "ZeroFreeCoTaskMemUnicode",
        ("ZeroFreeCoTaskMemAnsi", NativeMemoryFamily.HGlobal) => "ZeroFreeGlobalAllocAnsi",
        ("ZeroFreeCoTaskMemUnicode", NativeMemoryFamily.HGlobal) => "ZeroFreeGlobalAllocUnicode",
        ("Free" or "AlignedFree", NativeMemoryFamily.Native) => "Free",
        ("Free" or "AlignedFree", NativeMemoryFamily.NativeAligned) => "AlignedFree",
        _ => null,
    };

    /// <summary>
    /// The family of the memory <paramref name="value"/> holds: an allocation itself, or a local of the body whose every
    /// write (its initializer and simple assignments in the same function) is an allocation of one family, or null,
    /// zero or default; casts between pointer and integer types looked through. None when anything else may reach it
    /// (another value, a <c>ref</c>/<c>out</c> write, a write in a lambda). <paramref name="allocation"/> is one of the allocations.
    /// </summary>
    public static NativeMemoryFamily FamilyOf(IOperation value, out IInvocationOperation? allocation)
    {
        allocation = null;
        value = Strip(value);
        if (value is IInvocationOperation invocation)
        {
            var family = Allocates(invocation.TargetMethod);
            if (family != NativeMemoryFamily.None)
                allocation = invocation;
            return family;
        }

        if (value is not ILocalReferenceOperation { Local: { IsRef: false } local })
            return NativeMemoryFamily.None;
        var facts = BodyFacts.Of(value);
        var result = NativeMemoryFamily.None;
        if (facts.DeclaratorOf(local) is { } declarator && declarator.GetVariableInitializer() is { } initializer
            && !Joins(initializer.Value, ref result, ref allocation))
        {
            return NativeMemoryFamily.None;
        }

        foreach (var write in facts.WritesTo(local))
        {
            if (write.Parent is not ISimpleAssignmentOperation assignment || assignment.Target != write
                || !SameFunction(write, value) || !Joins(assignment.Value, ref result, ref allocation))
            {
                return NativeMemoryFamily.None;
            }
        }

        return result;
    }

    private static bool Joins(IOperation written, ref NativeMemoryFamily result, ref IInvocationOperation? allocation)
    {
        written = Strip(written);
        if (written.ConstantValue is { HasValue: true } constant && (constant.Value is null || constant.Value is 0 or 0L))
            return true;
        if (written is IDefaultValueOperation || written is IFieldReferenceOperation { Field: { Name: "Zero", IsStatic: true } })
            return true;
        if (written is not IInvocationOperation invocation || Allocates(invocation.TargetMethod) is var family && family == NativeMemoryFamily.None)
            return false;
        if (result != NativeMemoryFamily.None && result != family)
            return false;
        result = family;
        allocation ??= invocation;
        return true;
    }

    private static bool SameFunction(IOperation a, IOperation b) => ReferenceEquals(FunctionOf(a), FunctionOf(b));

    private static IOperation? FunctionOf(IOperation operation)
    {
        for (var p = operation.Parent; p is not null; p = p.Parent)
        {
            if (p is IAnonymousFunctionOperation or ILocalFunctionOperation)
                return p;
        }

        return null;
    }

    /// <summary>The value with casts between pointers, <c>IntPtr</c>/<c>nint</c> and <c>UIntPtr</c>/<c>nuint</c> (and other built-in conversions) looked through.</summary>
    public static IOperation Strip(IOperation value)
    {
        while (value is IConversionOperation conversion && (conversion.OperatorMethod is null || IsPointerConversion(conversion)))
            value = conversion.Operand;
        return value;
    }

    /// <summary>A user-defined conversion of <c>IntPtr</c>/<c>UIntPtr</c> (to or from <c>void*</c>, <c>long</c>, …), which only reinterprets the address.</summary>
    public static bool IsPointerConversion(IConversionOperation conversion)
        => conversion.OperatorMethod?.ContainingType.SpecialType is SpecialType.System_IntPtr or SpecialType.System_UIntPtr;

    private static bool IsInteropType(INamedTypeSymbol? type, out bool isMarshal)
    {
        isMarshal = false;
        if (type is null || type.Name is not ("Marshal" or "NativeMemory") || !NonRetainingMembers.IsNamespace(type.ContainingNamespace, "System.Runtime.InteropServices"))
            return false;
        isMarshal = type.Name == "Marshal";
        return true;
    }
}
