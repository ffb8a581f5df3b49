using System.Collections.Immutable;
using MemSafety.Analyzers.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace MemSafety.Analyzers.Rules.Boxing;

/// <summary>How one member of a struct is compared by the generated <c>Equals(T)</c>.</summary>
internal enum MemberComparison
{
    /// <summary><c>A == other.A</c>: integral primitives, bool, char, native ints, enums (the same answer
    /// bitwise and by value) and string (ordinal, null-safe, like string.Equals(object)).</summary>
    Operator,

    /// <summary><c>EqualityComparer&lt;F&gt;.Default.Equals(A, other.A)</c>.</summary>
    Comparer,
}

/// <summary>One instance member compared by the generated members: a field, or the property of an auto-property's backing field.</summary>
internal readonly struct EqualityMember
{
    public EqualityMember(string name, ITypeSymbol type, MemberComparison comparison)
    {
        Name = name;
        Type = type;
        Comparison = comparison;
    }

    public string Name { get; }

    public ITypeSymbol Type { get; }

    public MemberComparison Comparison { get; }
}

/// <summary>
/// MSA2003's facts about a struct: does it implement <c>IEquatable&lt;itself&gt;</c>, does it override
/// <c>Equals(object)</c>, and can <c>IEquatable&lt;T&gt;</c> be added with provably the same equality as
/// <c>ValueType.Equals</c> on every runtime (shared by the analyzer, which decides whether a fix is offered,
/// and the code fix, which generates the members).
/// </summary>
internal static class StructEquality
{
    public static bool ImplementsEquatableOfItself(ITypeSymbol type, INamedTypeSymbol? equatable)
    {
        if (equatable is null)
            return false;
        foreach (var implemented in type.AllInterfaces)
        {
            if (SymbolEqualityComparer.Default.Equals(implemented.OriginalDefinition, equatable)
                && implemented.TypeArguments.Length == 1
                && SymbolEqualityComparer.Default.Equals(implemented.TypeArguments[0], type))
            {
                return true;
            }
        }

        return false;
    }

    public static bool OverridesGetHashCode(ITypeSymbol type)
    {
        foreach (var member in type.GetMembers(WellKnownMemberNames.ObjectGetHashCode))
        {
            if (member is IMethodSymbol { IsOverride: true, Parameters.Length: 0 })
                return true;
        }

        return false;
    }

    public static bool OverridesEqualsObject(ITypeSymbol type)
    {
        foreach (var member in type.GetMembers(WellKnownMemberNames.ObjectEquals))
        {
            if (member is IMethodSymbol { IsOverride: true, Parameters.Length: 1 } method && method.Parameters[0].Type.SpecialType == SpecialType.System_Object)
                return true;
        }

        return false;
    }

    /// <summary>
    /// The members the fix compares, or default when no fix is provably safe: the struct must be declared once,
    /// in a tree of <paramref name="compilation"/> that is not generated, declare no <c>Equals</c> of its own,
    /// no <c>GetHashCode</c> other than an override, no explicit layout, no fixed buffers or field-like events,
    /// and every field must compare the same field-wise as <c>ValueType.Equals</c> compares it on every runtime
    /// (see docs/rules/MSA2003.md, "Code fix").
    /// </summary>
    public static ImmutableArray<EqualityMember> PlanFix(INamedTypeSymbol type, Compilation compilation, INamedTypeSymbol? equatable)
    {
        if (type.TypeKind != TypeKind.Struct || type.IsRefLikeType || type.IsRecord || type.DeclaringSyntaxReferences.Length != 1
            || ImplementsEquatableOfItself(type, equatable) || !type.GetMembers(WellKnownMemberNames.ObjectEquals).IsEmpty)
        {
            return default;
        }

        var reference = type.DeclaringSyntaxReferences[0];
        if (!compilation.ContainsSyntaxTree(reference.SyntaxTree) || GeneratedCode.IsGenerated(reference.SyntaxTree)
            || reference.GetSyntax() is not StructDeclarationSyntax)
        {
            return default;
        }

        foreach (var member in type.GetMembers(WellKnownMemberNames.ObjectGetHashCode))
        {
            if (member is IMethodSymbol { IsOverride: false, IsStatic: false })
                return default;
        }

        foreach (var attribute in type.GetAttributes())
        {
            if (attribute.AttributeClass is { Name: "StructLayoutAttribute" } && attribute.ConstructorArguments.Length == 1
                && attribute.ConstructorArguments[0].Value is { } kind && System.Convert.ToInt32(kind, System.Globalization.CultureInfo.InvariantCulture) == 2)
            {
                return default; // LayoutKind.Explicit: overlapping fields compare differently bitwise and field-wise
            }
        }

        // Is there a reference among the fields? Then ValueType.Equals can never compare bits (CanCompareBits
        // needs a struct without GC references, on .NET Framework and .NET Core alike): it reads every field
        // through reflection and calls Equals(object) on it, which EqualityComparer<F>.Default agrees with.
        var fields = ImmutableArray.CreateBuilder<IFieldSymbol>();
        var fieldWise = false;
        foreach (var member in type.GetMembers())
        {
            if (member is not IFieldSymbol { IsStatic: false, IsConst: false } field)
                continue;
            if (field.IsFixedSizeBuffer || field.AssociatedSymbol is IEventSymbol || field.Type.TypeKind == TypeKind.Error
                || field.Type.TypeKind == TypeKind.Pointer || field.Type.TypeKind == TypeKind.FunctionPointer)
            {
                return default;
            }

            fields.Add(field);
            if (field.Type.IsReferenceType)
                fieldWise = true;
        }

        var result = ImmutableArray.CreateBuilder<EqualityMember>(fields.Count);
        foreach (var field in fields)
        {
            var name = field.AssociatedSymbol is IPropertySymbol property ? property.Name : field.Name;
            var fieldType = field.Type;
            if (IsBitExact(fieldType) || fieldType.SpecialType == SpecialType.System_String)
            {
                result.Add(new EqualityMember(name, fieldType, MemberComparison.Operator));
                continue;
            }

            // Anything else compares differently bitwise (double -0.0/NaN, decimal scale, DateTime kind) or is a
            // type argument that may be one of those: safe only where ValueType.Equals is always field-wise.
            // Structs that would be compared through ValueType.Equals themselves would box in the new Equals: no fix.
            if (!fieldWise || (fieldType.IsValueType && fieldType.TypeKind != TypeKind.TypeParameter && !IsEquatableValue(fieldType, equatable)))
                return default;
            result.Add(new EqualityMember(name, fieldType, MemberComparison.Comparer));
        }

        return result.MoveToImmutable();
    }

    /// <summary>
    /// Whether .NET Core may search an array of this struct by comparing bits (RuntimeHelpers.IsBitwiseEquatable),
    /// with no box: measured on .NET 10 for structs whose fields are all integral primitives, bool, char or enums
    /// with no padding; a nested struct, a float, a reference or padding made it box. Unknown layouts
    /// (StructLayout, native ints, no fields) count as "may", so the rule stays silent.
    /// </summary>
    public static bool MayCompareBits(INamedTypeSymbol type)
    {
        foreach (var attribute in type.GetAttributes())
        {
            if (attribute.AttributeClass is { Name: "StructLayoutAttribute" })
                return true;
        }

        var offset = 0;
        var align = 1;
        foreach (var member in type.GetMembers())
        {
            if (member is not IFieldSymbol { IsStatic: false, IsConst: false } field)
                continue;
            var fieldType = field.Type is INamedTypeSymbol { TypeKind: TypeKind.Enum, EnumUnderlyingType: { } underlying } ? underlying : field.Type;
            int size;
            switch (fieldType.SpecialType)
            {
                case SpecialType.System_Boolean or SpecialType.System_SByte or SpecialType.System_Byte:
                    size = 1;
                    break;
                case SpecialType.System_Char or SpecialType.System_Int16 or SpecialType.System_UInt16:
                    size = 2;
                    break;
                case SpecialType.System_Int32 or SpecialType.System_UInt32:
                    size = 4;
                    break;
                case SpecialType.System_Int64 or SpecialType.System_UInt64:
                    size = 8;
                    break;
                case SpecialType.System_IntPtr or SpecialType.System_UIntPtr:
                    return true; // size depends on the process
                default:
                    return false;
            }

            if (offset % size != 0)
                return false; // a gap before this field
            offset += size;
            if (size > align)
                align = size;
        }

        return offset % align == 0;
    }

    /// <summary>Types whose Equals is their bit pattern: integral primitives, bool, char, native ints and enums.</summary>
    private static bool IsBitExact(ITypeSymbol type)
    {
        if (type.TypeKind == TypeKind.Enum)
            return true;
        switch (type.SpecialType)
        {
            case SpecialType.System_Boolean:
            case SpecialType.System_Char:
            case SpecialType.System_SByte:
            case SpecialType.System_Byte:
            case SpecialType.System_Int16:
            case SpecialType.System_UInt16:
            case SpecialType.System_Int32:
            case SpecialType.System_UInt32:
            case SpecialType.System_Int64:
            case SpecialType.System_UInt64:
            case SpecialType.System_IntPtr:
            case SpecialType.System_UIntPtr:
                return true;
            default:
                return false;
        }
    }

    /// <summary>A value type EqualityComparer compares without boxing: IEquatable of itself (primitives,
    /// BCL structs, record structs), or a Nullable of one.</summary>
    private static bool IsEquatableValue(ITypeSymbol type, INamedTypeSymbol? equatable)
    {
        if (type.OriginalDefinition.SpecialType == SpecialType.System_Nullable_T && type is INamedTypeSymbol { TypeArguments.Length: 1 } nullable)
            type = nullable.TypeArguments[0];
        return type.TypeKind == TypeKind.Enum || ImplementsEquatableOfItself(type, equatable);
    }
}
