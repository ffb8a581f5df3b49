using MemSafety.Analyzers.Engines.Escape;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Engines.Disposal;

/// <summary>What kind of native resource call a method is, by its declaration alone.</summary>
public enum NativeCallKind
{
    /// <summary>Managed code (or a library member not listed here).</summary>
    None,
    /// <summary>A platform invoke: <c>extern</c> with <c>[DllImport]</c>, or a <c>[LibraryImport]</c> method.</summary>
    PlatformInvoke,
    /// <summary>A library call that hands out native memory, a GC handle, a COM pointer or a native library
    /// (<c>Marshal.AllocHGlobal</c>, <c>NativeMemory.Alloc</c>, <c>GCHandle.Alloc</c>, <c>NativeLibrary.Load</c>, …).</summary>
    Allocates,
    /// <summary>A library call that gives one back (<c>Marshal.FreeHGlobal</c>, <c>NativeMemory.Free</c>,
    /// <c>GCHandle.Free</c>, <c>Marshal.Release</c>, <c>NativeLibrary.Free</c>, …).</summary>
    Releases,
}

/// <summary>
/// The library members that allocate or release native resources, and the platform invokes of the compilation
/// and its references. Curated from the members' documentation; a member not listed is managed code. A call
/// through an unmanaged function pointer (<c>delegate* unmanaged</c>) is native too: see
/// <see cref="IsNativeCall(IOperation)"/>.
/// </summary>
public static class NativeMembers
{
    public static NativeCallKind Classify(IMethodSymbol method)
    {
        method = method.ReducedFrom ?? method;
        if (IsPlatformInvoke(method))
            return NativeCallKind.PlatformInvoke;
        var type = method.ContainingType;
        if (type is null)
            return NativeCallKind.None;
        var name = method.Name;
        switch (type.Name)
        {
            case "Marshal" when NonRetainingMembers.IsNamespace(type.ContainingNamespace, "System.Runtime.InteropServices"):
                if (name is "AllocHGlobal" or "AllocCoTaskMem" or "ReAllocHGlobal" or "ReAllocCoTaskMem"
                    or "StringToHGlobalAnsi" or "StringToHGlobalUni" or "StringToHGlobalAuto"
                    or "StringToCoTaskMemAnsi" or "StringToCoTaskMemUni" or "StringToCoTaskMemAuto" or "StringToCoTaskMemUTF8"
                    or "StringToBSTR" or "AllocBSTR" or "SecureStringToBSTR" or "SecureStringToCoTaskMemAnsi" or "SecureStringToCoTaskMemUnicode"
                    or "SecureStringToGlobalAllocAnsi" or "SecureStringToGlobalAllocUnicode"
                    or "GetIUnknownForObject" or "GetComInterfaceForObject" or "GetIDispatchForObject" or "QueryInterface")
                {
                    return NativeCallKind.Allocates;
                }

                if (name is "FreeHGlobal" or "FreeCoTaskMem" or "FreeBSTR" or "Release" or "ReleaseComObject" or "FinalReleaseComObject"
                    or "ZeroFreeBSTR" or "ZeroFreeCoTaskMemAnsi" or "ZeroFreeCoTaskMemUnicode" or "ZeroFreeCoTaskMemUTF8"
                    or "ZeroFreeGlobalAllocAnsi" or "ZeroFreeGlobalAllocUnicode" or "DestroyStructure")
                {
                    return NativeCallKind.Releases;
                }

                return NativeCallKind.None;
            case "NativeMemory" when NonRetainingMembers.IsNamespace(type.ContainingNamespace, "System.Runtime.InteropServices"):
                if (name is "Alloc" or "AllocZeroed" or "AlignedAlloc" or "Realloc" or "AlignedRealloc")
                    return NativeCallKind.Allocates;
                return name is "Free" or "AlignedFree" ? NativeCallKind.Releases : NativeCallKind.None;
            case "GCHandle" when NonRetainingMembers.IsNamespace(type.ContainingNamespace, "System.Runtime.InteropServices"):
                if (name is "Alloc" or "ToIntPtr")
                    return NativeCallKind.Allocates;
                return name == "Free" ? NativeCallKind.Releases : NativeCallKind.None;
            case "NativeLibrary" when NonRetainingMembers.IsNamespace(type.ContainingNamespace, "System.Runtime.InteropServices"):
                if (name is "Load" or "TryLoad")
                    return NativeCallKind.Allocates;
                return name == "Free" ? NativeCallKind.Releases : NativeCallKind.None;
            default:
                return NativeCallKind.None;
        }
    }

    /// <summary>Whether the method hands out a handle or block that one release call gives back: a platform invoke,
    /// or <c>Marshal</c>'s HGlobal/CoTaskMem/BSTR allocators, <c>NativeMemory</c>'s allocators and
    /// <c>NativeLibrary.Load</c>/<c>TryLoad</c>. Not <c>GCHandle</c> (a managed handle) nor the COM helpers
    /// (<c>GetIUnknownForObject</c>, <c>QueryInterface</c>: reference-counted, <c>Marshal.Release</c> returns a count).</summary>
    public static bool ProducesHandle(IMethodSymbol method)
    {
        switch (Classify(method))
        {
            case NativeCallKind.PlatformInvoke:
                return true;
            case NativeCallKind.Allocates:
                var name = (method.ReducedFrom ?? method).Name;
                return method.ContainingType.Name != "GCHandle"
                       && name is not ("GetIUnknownForObject" or "GetComInterfaceForObject" or "GetIDispatchForObject" or "QueryInterface");
            default:
                return false;
        }
    }

    /// <summary>Whether a call to the method can be the one that gives a handle back: a platform invoke whose name says
    /// it releases (<c>close</c>, <c>CloseHandle</c>, <c>free</c>, <c>Release…</c>, <c>Destroy…</c>, <c>Delete…</c>,
    /// <c>munmap</c>, <c>Unload…</c>, <c>Unregister…</c>, <c>sqlite3_finalize</c>, <c>…_unref</c>, …: a native call that only uses a handle, such as
    /// <c>SetConsoleMode(_stdout, …)</c> in a finalizer, releases nothing), or a library release helper other than
    /// <c>GCHandle.Free</c> and the COM ones.</summary>
    public static bool ReleasesHandle(IMethodSymbol method)
    {
        method = method.ReducedFrom ?? method;
        switch (Classify(method))
        {
            case NativeCallKind.PlatformInvoke:
                return HasReleaseName(method.Name);
            case NativeCallKind.Releases:
                return method.ContainingType.Name != "GCHandle"
                       && method.Name is not ("Release" or "ReleaseComObject" or "FinalReleaseComObject" or "DestroyStructure");
            default:
                return false;
        }
    }

    /// <summary>The library helpers that free native memory and do nothing for a null pointer
    /// (<c>Marshal.FreeHGlobal</c>, <c>FreeCoTaskMem</c>, <c>FreeBSTR</c>, <c>NativeMemory.Free</c>/<c>AlignedFree</c>):
    /// an unguarded call behaves as one guarded by <c>!= IntPtr.Zero</c>.</summary>
    public static bool IsNullTolerantFree(IMethodSymbol method)
    {
        method = method.ReducedFrom ?? method;
        if (Classify(method) != NativeCallKind.Releases)
            return false;
        return method.ContainingType.Name switch
        {
            "Marshal" => method.Name is "FreeHGlobal" or "FreeCoTaskMem" or "FreeBSTR",
            "NativeMemory" => method.Name is "Free" or "AlignedFree",
            _ => false,
        };
    }

    private static readonly string[] ReleaseWords =
    {
        "close", "free", "release", "destroy", "delete", "unmap", "unload", "dispose", "dealloc", "unregister", "deregister", "cleanup", "finalize", "unref",
    };

    private static bool HasReleaseName(string name)
    {
        foreach (var word in ReleaseWords)
        {
            if (name.IndexOf(word, System.StringComparison.OrdinalIgnoreCase) >= 0)
                return true;
        }

        return false;
    }

    /// <summary>An <c>extern</c> method with <c>[DllImport]</c> (or any static <c>extern</c>), or a method marked
    /// <c>[LibraryImport]</c> (the generator implements its partial declaration).</summary>
    public static bool IsPlatformInvoke(IMethodSymbol method)
    {
        if (method.GetDllImportData() is not null || (method.IsExtern && method.IsStatic))
            return true;
        var declaration = method.PartialDefinitionPart ?? method;
        foreach (var attribute in declaration.GetAttributes())
        {
            if (attribute.AttributeClass is { Name: "LibraryImportAttribute" } attributeClass
                && NonRetainingMembers.IsNamespace(attributeClass.ContainingNamespace, "System.Runtime.InteropServices"))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether the operation calls native code or a native allocation/release helper: an invocation of a
    /// member <see cref="Classify"/> recognises, or a call through an unmanaged function pointer.</summary>
    public static bool IsNativeCall(IOperation operation) => operation switch
    {
        IInvocationOperation invocation => Classify(invocation.TargetMethod) != NativeCallKind.None,
        // A managed function pointer has the default calling convention; every unmanaged one has another.
        IFunctionPointerInvocationOperation pointerCall => pointerCall.GetFunctionPointerSignature().CallingConvention != System.Reflection.Metadata.SignatureCallingConvention.Default,
        _ => false,
    };

    /// <summary>Types a field holding a native handle or native memory can have: <c>IntPtr</c>/<c>nint</c>,
    /// <c>UIntPtr</c>/<c>nuint</c>, pointers, function pointers, <c>GCHandle</c> and <c>HandleRef</c>. Such a field
    /// may equally hold a size, an offset or a pointer into a pinned managed buffer: <see cref="DisposableType.GetNativeFields"/>
    /// tells which ones are assigned a native resource.</summary>
    public static bool IsHandleType(ITypeSymbol? type)
    {
        switch (type)
        {
            case null:
                return false;
            case IPointerTypeSymbol:
            case IFunctionPointerTypeSymbol:
                return true;
        }

        if (type.SpecialType is SpecialType.System_IntPtr or SpecialType.System_UIntPtr)
            return true;
        return type.Name is "GCHandle" or "HandleRef"
               && type.TypeKind == TypeKind.Struct
               && NonRetainingMembers.IsNamespace(type.ContainingNamespace, "System.Runtime.InteropServices");
    }

    /// <summary>Types that can carry an OS handle or descriptor returned by native code: the
    /// <see cref="IsHandleType">handle types</see> and the integers (a POSIX file descriptor is an <c>int</c>).</summary>
    public static bool CanHoldHandle(ITypeSymbol? type)
        => IsHandleType(type)
           || type?.SpecialType is SpecialType.System_Int32 or SpecialType.System_UInt32 or SpecialType.System_Int64 or SpecialType.System_UInt64;
}
