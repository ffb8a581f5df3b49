using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Engines.Bodies;

/// <summary>
/// The two small questions every engine that follows values asks of an operation: which variable it names, and which
/// value it is once the conversions that create nothing are looked through. One place, so the engines agree.
/// </summary>
public static class Variables
{
    /// <summary>The local, parameter or field that the operation names (a reference to it), or null for anything else.
    /// A field is returned as referenced (a constructed type's field stays constructed; take its
    /// <see cref="ISymbol.OriginalDefinition"/> to compare across instantiations).</summary>
    public static ISymbol? Of(IOperation? operation) => operation switch
    {
        ILocalReferenceOperation local => local.Local,
        IParameterReferenceOperation parameter => parameter.Parameter,
        IFieldReferenceOperation field => field.Field,
        _ => null,
    };

    /// <summary>The value under every conversion that calls no user-defined operator (reference, boxing, numeric,
    /// nullable, implicit or explicit): the operation that produced the object or value, which such a conversion passes on
    /// unchanged as far as ownership and handles are concerned.</summary>
    public static IOperation WithoutBuiltInConversions(IOperation value)
    {
        while (value is IConversionOperation { OperatorMethod: null } conversion)
            value = conversion.Operand;
        return value;
    }
}
