using MemSafety.Analyzers.Engines.Bodies;
using MemSafety.Analyzers.Engines.ControlFlow;
using MemSafety.Analyzers.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.HeapEscapes;

/// <summary>A scratch array: <c>var x = new T[…]</c> (or <c>T[] x = …</c>) declared alone in a statement.</summary>
public sealed class ScratchArray
{
    private bool? _functionIsAsyncOrIterator;
    private bool? _inLoop;

    public ScratchArray(IArrayCreationOperation creation, ILocalSymbol local, ISymbol function, IVariableDeclarationGroupOperation statement,
        bool inBlock, bool inCatchOrFinally)
    {
        Creation = creation;
        Local = local;
        Function = function;
        Statement = statement;
        InBlock = inBlock;
        InCatchOrFinally = inCatchOrFinally;
    }

    public IArrayCreationOperation Creation { get; }
    public ILocalSymbol Local { get; }
    /// <summary>The method, lambda or local function that declares the local.</summary>
    public ISymbol Function { get; }
    public IVariableDeclarationGroupOperation Statement { get; }
    /// <summary>The declaration is a statement of a block (not a switch section), so code can be wrapped after it.</summary>
    public bool InBlock { get; }
    /// <summary>In the body of a loop statement or on a cycle of the control-flow graph. A stackalloc that runs per
    /// iteration grows the stack each time: on a cycle of the control-flow graph (a loop built from goto too). One in a
    /// loop body that every path leaves the loop after does not, but the SDK's CA2014 warns about any stackalloc in a
    /// loop body, so a fix there would trade our warning for that one: the body of a loop statement counts as well.
    /// Computed on first use: outside a loop statement, a body with a goto needs its control-flow graph, which rules
    /// should ask for only after their cheap checks pass (building it was most of MSA1002's time on the runtime).</summary>
    public bool InLoop
        => _inLoop ??= LoopCycles.InsideLoopStatement(Creation) || Creation.IsExecutedPerLoopIteration();
    public bool InCatchOrFinally { get; }
    /// <summary>Spans cannot live in async methods or iterators. Computed on first use: finding an
    /// iterator means the body's facts (one walk, shared), which rules that exit earlier (or never ask) should
    /// not pay. A lambda or local function counts as an iterator when the member is one as well (conservative:
    /// a nested function has its own iterator-ness, but this rule family has always left those alone).</summary>
    public bool FunctionIsAsyncOrIterator
        => _functionIsAsyncOrIterator ??= Function is IMethodSymbol { IsAsync: true } || IsIterator();

    private bool IsIterator()
    {
        var facts = BodyFacts.Of(Creation);
        return facts.IsIterator(null) || Creation.EnclosingFunctionOperation() is { } function && facts.IsIterator(function);
    }

    public ITypeSymbol ElementType => ((IArrayTypeSymbol)Creation.Type!).ElementType;

    /// <summary>The root of the function body's operation tree.</summary>
    public IOperation Root => Creation.Root();
}

/// <summary>Recognises scratch arrays for MSA1001/1002/1003: the shape checks are syntactic and cheap, so
/// rules run them before the escape engine.</summary>
public static class ScratchArrays
{
    public static ScratchArray? TryGet(IArrayCreationOperation creation)
    {
        if (creation.DimensionSizes.Length != 1 || creation.Type is not IArrayTypeSymbol { Rank: 1 })
            return null;
        if (creation.Parent is not IVariableInitializerOperation { Parent: IVariableDeclaratorOperation declarator }
            || declarator.Parent is not IVariableDeclarationOperation { Declarators.Length: 1, Parent: IVariableDeclarationGroupOperation group }
            || declarator.Symbol.RefKind != RefKind.None
            || group.Syntax is not LocalDeclarationStatementSyntax { UsingKeyword.RawKind: 0, Declaration.Type: var type }
            || !(type.IsVar || type is ArrayTypeSyntax))
        {
            return null;
        }

        ISymbol? function = null;
        var inCatchOrFinally = false;
        for (var p = creation.Parent; p is not null; p = p.Parent)
        {
            switch (p)
            {
                case ICatchClauseOperation when function is null:
                    inCatchOrFinally = true;
                    break;
                case ITryOperation tryOperation when function is null && tryOperation.Finally is { } finallyBlock && finallyBlock.Syntax.Span.Contains(creation.Syntax.Span):
                    inCatchOrFinally = true;
                    break;
                case IAnonymousFunctionOperation lambda:
                    function ??= lambda.Symbol;
                    break;
                case ILocalFunctionOperation localFunction:
                    function ??= localFunction.Symbol;
                    break;
            }
        }

        function ??= declarator.Symbol.ContainingSymbol;
        return new ScratchArray(creation, declarator.Symbol, function, group, group.Parent is IBlockOperation, inCatchOrFinally);
    }

    /// <summary>Size of primitive, enum and (on 64-bit) reference elements; 0 for anything whose layout we do not know.</summary>
    public static int SizeOf(ITypeSymbol type, bool includeReferences = false)
    {
        if (includeReferences && type.IsReferenceType)
            return 8;
        if (type is INamedTypeSymbol { TypeKind: TypeKind.Enum, EnumUnderlyingType: { } underlying })
            type = underlying;
        return type.SpecialType switch
        {
            SpecialType.System_Boolean or SpecialType.System_Byte or SpecialType.System_SByte => 1,
            SpecialType.System_Char or SpecialType.System_Int16 or SpecialType.System_UInt16 => 2,
            SpecialType.System_Int32 or SpecialType.System_UInt32 or SpecialType.System_Single => 4,
            SpecialType.System_Int64 or SpecialType.System_UInt64 or SpecialType.System_Double => 8,
            SpecialType.System_Decimal => 16,
            _ => 0,
        };
    }
}
