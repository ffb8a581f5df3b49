using System.Collections.Generic;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Engines.Closures;

/// <summary>Where a display class lives, which decides when it is allocated.</summary>
public enum DisplayClassScopeKind
{
    /// <summary>The member's parameters, <c>this</c> and the locals of its outermost block: allocated at member entry
    /// (for an iterator, when enumeration starts).</summary>
    Member,

    /// <summary>A lambda's or local function's parameters and outermost locals: allocated each time it runs.</summary>
    Function,

    /// <summary>A nested block (or <c>using</c>, <c>switch</c>, catch clause) that declares captured
    /// locals: allocated each time control enters it.</summary>
    Block,

    /// <summary>A loop body, a <c>foreach</c> iteration variable or a <c>while</c> condition local: a new instance
    /// for every iteration (C# 5 and later give each iteration its own variables).</summary>
    LoopIteration,

    /// <summary>The variables of a <c>for</c> statement: one instance before the loop, shared by every iteration.</summary>
    ForVariables,
}

/// <summary>
/// One closure environment the C# compiler generates for a body: the <c>&lt;&gt;c__DisplayClassN_M</c> class
/// (or struct, for local functions that are only called directly) holding the captured variables of one scope,
/// created at the start of that scope. See <see cref="ClosureFacts"/> for how the compiler decides.
/// </summary>
public sealed class DisplayClass
{
    internal DisplayClass(IOperation scope, DisplayClassScopeKind kind)
    {
        Scope = scope;
        Kind = kind;
    }

    /// <summary>The operation whose entry allocates it: the body's root (<see cref="DisplayClassScopeKind.Member"/>),
    /// the lambda or local function, the block, the loop (iteration variables and <c>for</c> variables; a loop body
    /// block is its <see cref="IBlockOperation"/>), the <c>using</c>, <c>switch</c> (whose sections' locals and case pattern variables it declares) or catch clause.
    /// After the compiler's merging (Release builds) this is the outermost scope of the merged ones.</summary>
    public IOperation Scope { get; private set; }

    /// <summary>What kind of scope <see cref="Scope"/> is.</summary>
    public DisplayClassScopeKind Kind { get; private set; }

    /// <summary>The captured locals and parameters it holds (not <c>this</c>: see <see cref="HoldsThis"/>), in the
    /// order first captured.</summary>
    public IReadOnlyList<ISymbol> Variables => VariableList;

    /// <summary>Whether it holds <c>this</c> (a <c>&lt;&gt;4__this</c> field): the member's display class when a
    /// function captures <c>this</c> besides variables of the member's scope, or an inner one whose functions capture
    /// <c>this</c> when the member's display class would have held <c>this</c> alone.</summary>
    public bool HoldsThis { get; internal set; }

    /// <summary>Every lambda and local function that uses it, in source order: those that capture its variables
    /// (directly or in a function nested in them) and those that call or convert a local function that does.
    /// All of them share the one instance, so each keeps every variable of it alive.</summary>
    public IReadOnlyList<IOperation> Functions => FunctionList;

    /// <summary>A struct passed by reference (no heap allocation): every function that uses it is a local function
    /// that is only called directly, neither async nor an iterator.</summary>
    public bool IsStruct { get; internal set; }

    /// <summary>The enclosing display class this one points to (a <c>&lt;&gt;8__1</c> field), when a function uses
    /// both; null otherwise.</summary>
    public DisplayClass? Parent { get; internal set; }

    /// <summary>Whether a new instance is created for each iteration of a loop: a loop body's, a <c>foreach</c>
    /// variable's, a <c>while</c> or <c>for</c> condition's variables (<see cref="DisplayClassScopeKind.LoopIteration"/>;
    /// whether that loop really comes back is <c>LoopCycles</c>' question, which <see cref="Where"/> asks), and a
    /// block, <c>using</c>, <c>switch</c> or catch clause on a cycle of the control flow (inside a loop body, a
    /// <c>for</c> incrementor, or a loop built from a backward <c>goto</c>/<c>goto case</c>), which the loop enters
    /// again on its rounds, though not necessarily on every iteration. Not the variables of a <c>for</c> statement
    /// (<see cref="DisplayClassScopeKind.ForVariables"/>): one instance for the whole loop.</summary>
    public bool AllocatedPerIteration { get; internal set; }

    /// <summary>Where the allocation happens: the first token of the scope (a block's <c>{</c>, a lambda's first token).</summary>
    public Location AllocationLocation { get; internal set; } = Location.None;

    /// <summary>1-based line of <see cref="AllocationLocation"/>.</summary>
    public int AllocationLine => AllocationLocation.GetLineSpan().StartLinePosition.Line + 1;

    /// <summary>For messages: "at method entry (line 12), on every call", "at the start of the loop body (line 30),
    /// on every iteration", "on the stack (a struct), no allocation".</summary>
    public string Where { get; internal set; } = "";

    internal List<ISymbol> VariableList { get; } = new();

    internal List<IOperation> FunctionList { get; } = new();

    /// <summary>Scratch for the model's construction: a stamp marking it as not yet met (linking environments).</summary>
    internal int Mark { get; set; }

    /// <summary>Scratch for the model's construction: its index among the body's display classes, -1 when not one.</summary>
    internal int Position { get; set; }

    internal void MoveTo(IOperation scope, DisplayClassScopeKind kind)
    {
        Scope = scope;
        Kind = kind;
    }

    public override string ToString() => $"{(IsStruct ? "struct" : "class")} {{{string.Join(", ", VariableList)}{(HoldsThis ? ", this" : "")}}} {Where}";
}
