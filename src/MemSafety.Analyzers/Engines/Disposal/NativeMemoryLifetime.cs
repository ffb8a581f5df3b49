using System.Threading;
using MemSafety.Analyzers.Engines.Escape;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Engines.Disposal;

/// <summary>
/// The lifetime of a block of native memory held in a local (a pointer, <c>IntPtr</c>/<c>nint</c> or
/// <c>UIntPtr</c>/<c>nuint</c>): <see cref="LocalLifetime"/> with this protocol. An acquisition is
/// <c>Marshal.AllocHGlobal</c>/<c>AllocCoTaskMem</c>, <c>StringToHGlobal*</c>/<c>StringToCoTaskMem*</c>,
/// <c>SecureStringToGlobalAlloc*</c>/<c>SecureStringToCoTaskMem*</c>, <c>NativeMemory.Alloc</c>/<c>AllocZeroed</c>/
/// <c>AlignedAlloc</c> (casts between pointers and integers looked through; not the reallocs, which also free, nor
/// BSTRs); a release is any <c>Marshal</c>/<c>NativeMemory</c> free given the local (a wrong one is MSA5008's other half).
/// Where the local is compared equal to zero or null it holds nothing (<c>if (p != IntPtr.Zero) Marshal.FreeHGlobal(p)</c>).
/// <para>Neutral uses keep nothing: a dereference, an index or <c>-&gt;</c> of the pointer or of pointer arithmetic on it,
/// a comparison, and an argument of a library member that only reads or writes through the address during the call
/// (<c>Marshal.Copy</c>/<c>Read*</c>/<c>Write*</c>/<c>PtrToString*</c>/<c>PtrToStructure</c>/<c>StructureToPtr</c>,
/// <c>NativeMemory.Clear</c>/<c>Copy</c>/<c>Fill</c>, <c>Buffer.MemoryCopy</c>, <c>Unsafe</c>'s block and
/// read/write members, <see cref="NonRetainingMembers"/>). Anything else hands the address on and may keep it — a copy
/// into another local, a span over it, a return, a store, a <c>SafeHandle</c>, a platform invoke (native code may take
/// ownership), a method of the compilation — so leaks are not judged (silent when unknown).</para>
/// <para>A leak whose path a later test may exclude (a flag set beside the allocation, <see cref="DisposedOnAllPaths.MayBeInfeasible"/>)
/// is given up, as MSA4006 does.</para>
/// </summary>
public static class NativeMemoryLifetime
{
    private static readonly Protocol MemoryProtocol = new();

    /// <summary>The analysis of a local declared in the body that holds <paramref name="operationInBody"/>; null when
    /// it is not a pointer-sized local that an allocation here writes, or cannot be followed.</summary>
    public static LocalLifetime? Analyze(ILocalSymbol local, IOperation operationInBody, CancellationToken cancellationToken)
        => LocalLifetime.Analyze(MemoryProtocol, local, operationInBody, cancellationToken);

    /// <summary>Whether the method allocates a block this analysis follows; <paramref name="family"/> is its allocator.</summary>
    public static bool IsTrackedAllocator(IMethodSymbol method, out NativeMemoryFamily family)
    {
        family = NativeMemoryFamilies.Allocates(method);
        return family is NativeMemoryFamily.HGlobal or NativeMemoryFamily.CoTaskMem or NativeMemoryFamily.Native or NativeMemoryFamily.NativeAligned
               && !IsRealloc(method);
    }

    /// <summary>The free that matches the family, as <c>Type.Method</c>.</summary>
    public static string FreeOf(NativeMemoryFamily family) => family switch
    {
        NativeMemoryFamily.HGlobal => "Marshal.FreeHGlobal",
        NativeMemoryFamily.CoTaskMem => "Marshal.FreeCoTaskMem",
        NativeMemoryFamily.Bstr => "Marshal.FreeBSTR",
        NativeMemoryFamily.Native => "NativeMemory.Free",
        _ => "NativeMemory.AlignedFree",
    };

    private static bool IsRealloc(IMethodSymbol method) => method.Name is "ReAllocHGlobal" or "ReAllocCoTaskMem" or "Realloc" or "AlignedRealloc";

    private static bool IsReleaseOf(IInvocationOperation invocation, IOperation value)
    {
        var method = invocation.TargetMethod;
        if (IsRealloc(method) || NativeMemoryFamilies.Releases(method) == NativeMemoryFamily.None)
            return false;
        foreach (var argument in invocation.Arguments)
        {
            if (argument.Parameter?.Ordinal == 0)
                return argument.Value == value || NativeMemoryFamilies.Strip(argument.Value) == value;
        }

        return false;
    }

    /// <summary>Library members that read or write through a native address during the call and keep nothing, and
    /// throw only for arguments that are wrong on every run (a bad length or type).</summary>
    private static bool IsAccessor(IMethodSymbol method)
    {
        var type = method.ContainingType;
        if (type is null)
            return false;
        switch (type.Name)
        {
            case "Marshal" when NonRetainingMembers.IsNamespace(type.ContainingNamespace, "System.Runtime.InteropServices"):
                return method.Name is "Copy" or "ReadByte" or "ReadInt16" or "ReadInt32" or "ReadInt64" or "ReadIntPtr"
                    or "WriteByte" or "WriteInt16" or "WriteInt32" or "WriteInt64" or "WriteIntPtr"
                    or "PtrToStringAnsi" or "PtrToStringUni" or "PtrToStringUTF8" or "PtrToStringAuto" or "PtrToStructure" or "StructureToPtr";
            case "NativeMemory" when NonRetainingMembers.IsNamespace(type.ContainingNamespace, "System.Runtime.InteropServices"):
                return method.Name is "Clear" or "Copy" or "Fill";
            case "Buffer" when NonRetainingMembers.IsNamespace(type.ContainingNamespace, "System"):
                return method.Name is "MemoryCopy";
            case "Unsafe" when NonRetainingMembers.IsNamespace(type.ContainingNamespace, "System.Runtime.CompilerServices"):
                return method.Name is "CopyBlock" or "CopyBlockUnaligned" or "InitBlock" or "InitBlockUnaligned" or "Read" or "ReadUnaligned"
                    or "Write" or "WriteUnaligned";
            default:
                return false;
        }
    }

    private static bool IsZero(IOperation value)
    {
        value = NativeMemoryFamilies.Strip(value);
        return value.ConstantValue is { HasValue: true } constant && (constant.Value is null || constant.Value is 0 or 0L or 0U or 0UL)
               || value is IDefaultValueOperation
               || value is IFieldReferenceOperation { Field: { Name: "Zero", IsStatic: true } field }
                  && field.ContainingType.SpecialType is SpecialType.System_IntPtr or SpecialType.System_UIntPtr;
    }

    private static bool IsLocal(IOperation value, ILocalSymbol local)
        => NativeMemoryFamilies.Strip(value) is ILocalReferenceOperation reference && SymbolEqualityComparer.Default.Equals(reference.Local, local);

    private sealed class Protocol : LifetimeProtocol
    {
        public override bool Tracks(ITypeSymbol type)
            => type.TypeKind == TypeKind.Pointer || type.SpecialType is SpecialType.System_IntPtr or SpecialType.System_UIntPtr;

        public override bool IsAcquire(IOperation value, out int kind)
        {
            kind = 0;
            if (NativeMemoryFamilies.Strip(value) is not IInvocationOperation invocation || !IsTrackedAllocator(invocation.TargetMethod, out var family))
                return false;
            kind = (int)family;
            return true;
        }

        public override LifetimeUse ClassifyUse(IOperation reference)
        {
            var value = reference;
            var derived = false;
            while (true)
            {
                var parent = value.Parent;
                switch (parent)
                {
                    case IConversionOperation conversion when conversion.OperatorMethod is null || NativeMemoryFamilies.IsPointerConversion(conversion):
                    case IParenthesizedOperation:
                        value = parent;
                        continue;
                    case IArgumentOperation { Parent: IInvocationOperation invocation }:
                        if (!derived && IsReleaseOf(invocation, value))
                            return LifetimeUse.Release;
                        if (IsAccessor(invocation.TargetMethod)
                            || (NonRetainingMembers.IsNonRetaining(invocation.TargetMethod, out var aliases) && !aliases && invocation.TargetMethod.ReturnType.TypeKind != TypeKind.Pointer))
                        {
                            return LifetimeUse.Neutral;
                        }

                        return LifetimeUse.Escape;
                    case IBinaryOperation binary:
                        switch (binary.OperatorKind)
                        {
                            case BinaryOperatorKind.Equals or BinaryOperatorKind.NotEquals or BinaryOperatorKind.LessThan or BinaryOperatorKind.LessThanOrEqual
                                or BinaryOperatorKind.GreaterThan or BinaryOperatorKind.GreaterThanOrEqual:
                                return LifetimeUse.Neutral;
                            case BinaryOperatorKind.Add or BinaryOperatorKind.Subtract when binary.Type is { } type && Tracks(type):
                                // Pointer arithmetic: an address inside the block, followed in turn.
                                derived = true;
                                value = parent;
                                continue;
                            case BinaryOperatorKind.Subtract:
                                return LifetimeUse.Neutral; // p - q: a distance
                            default:
                                return LifetimeUse.Escape;
                        }

                    default:
                        // *p, p[i], p->f: what is read or written is the memory, not the address (unless its address is taken again).
                        if (parent is { Kind: OperationKind.None } access && value.Type is IPointerTypeSymbol
                            && access.Syntax.Kind() is SyntaxKind.PointerIndirectionExpression or SyntaxKind.ElementAccessExpression or SyntaxKind.PointerMemberAccessExpression
                            && access.Parent is not IAddressOfOperation)
                        {
                            return LifetimeUse.Neutral;
                        }

                        return LifetimeUse.Escape;
                }
            }
        }

        public override bool? HeldWhenTrue(IOperation condition, ILocalSymbol local)
        {
            if (condition is not IBinaryOperation { OperatorKind: BinaryOperatorKind.Equals or BinaryOperatorKind.NotEquals } comparison)
                return null;
            if (!(IsLocal(comparison.LeftOperand, local) && IsZero(comparison.RightOperand)) && !(IsLocal(comparison.RightOperand, local) && IsZero(comparison.LeftOperand)))
                return null;
            return comparison.OperatorKind == BinaryOperatorKind.NotEquals;
        }

        public override bool IsOwnCall(IOperation operation, ILocalSymbol local) => IsRelease(operation, local);

        public override bool IsRelease(IOperation operation, ILocalSymbol local)
        {
            if (operation is not IInvocationOperation invocation || NativeMemoryFamilies.Releases(invocation.TargetMethod) == NativeMemoryFamily.None)
                return false;
            foreach (var argument in invocation.Arguments)
            {
                if (argument.Parameter?.Ordinal == 0)
                    return IsLocal(argument.Value, local) && IsReleaseOf(invocation, argument.Value);
            }

            return false;
        }

        // Accessors throw only for arguments wrong on every run; frees of other blocks do not throw; another
        // allocation throws only OutOfMemoryException, a leak on that path alone is not worth a warning.
        public override bool CannotThrow(IMethodSymbol method)
            => IsAccessor(method) || NativeMemoryFamilies.Releases(method) != NativeMemoryFamily.None || NativeMemoryFamilies.Allocates(method) != NativeMemoryFamily.None;

        public override bool GivesUpOnCorrelatedTests => true;
    }
}
