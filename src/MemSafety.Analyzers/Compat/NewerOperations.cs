#if ROSLYN_3_7 || ROSLYN_4_8
using System.Collections.Immutable;

// Operation interfaces that a lane's Roslyn does not have, declared (internal) under their real names so that rules
// type-test them unchanged. No operation Roslyn creates implements these declarations, so in such a lane every
// test against them is false: collection expressions, spreads (both public from Roslyn 4.9), list patterns, implicit
// indexers, attributes and function pointer calls (public from Roslyn 4.0/4.1) are not analysed as such there. A
// compiler of that lane cannot produce most of them; a newer compiler that loads an older lane (for example 4.8 on
// a 4.11 compiler) hands them to the rules as operations the rules do not know, which they treat as they treat any
// unknown operation.
// RS1009 guards against implementing IOperation; nothing implements these interfaces, which exist only to be tested.
#pragma warning disable RS1009
namespace Microsoft.CodeAnalysis.Operations
{
    internal interface ICollectionExpressionOperation : IOperation
    {
        ImmutableArray<IOperation> Elements { get; }
    }

    internal interface ISpreadOperation : IOperation
    {
    }

#if ROSLYN_3_7
    internal interface IListPatternOperation : IPatternOperation
    {
        ISymbol? DeclaredSymbol { get; }
    }

    internal interface IImplicitIndexerReferenceOperation : IOperation
    {
        IOperation Instance { get; }

        IOperation Argument { get; }

        ISymbol IndexerSymbol { get; }
    }

    internal interface IAttributeOperation : IOperation
    {
    }

    internal interface IFunctionPointerInvocationOperation : IOperation
    {
        IMethodSymbol GetFunctionPointerSignature();
    }
#endif
}
#endif
