using System.Collections.Generic;
using System.Collections.Immutable;
using System.Threading;
using MemSafety.Analyzers.Compat;
using MemSafety.Analyzers.Engines.Bodies;
using MemSafety.Analyzers.Engines.ControlFlow;
using MemSafety.Analyzers.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;
using Microsoft.CodeAnalysis.Text;

namespace MemSafety.Analyzers.Rules.HeapEscapes;

/// <summary>
/// MSA1006. <c>s += x</c> allocates a new string and copies every character of <c>s</c> into it, so
/// appending n pieces in a loop copies O(n²) characters and leaves n dead strings behind. Reported once
/// per variable and loop, at the first append, when
/// <list type="bullet">
/// <item>the variable is a by-value string local or parameter of this function, not captured by a
/// lambda or local function and never passed or aliased by reference;</item>
/// <item>inside the loop it is only touched by append statements (<c>s += …;</c>, <c>s = s + …;</c>),
/// so a builder can take its place there;</item>
/// <item>its value is read after the loop (or, when the loop is itself in a loop, anywhere in that
/// outer loop);</item>
/// <item>the loop is not provably tiny (constant trip counts with at most
/// <see cref="TinyLoopAppendLimit"/> appends in all).</item>
/// </list>
/// The loop is the outermost one that satisfies these, so appends in nested loops are one finding.
/// It is a defect (quadratic work), not allocation advice: it reports everywhere, not only in hot paths.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class StringConcatInLoopAnalyzer : MemSafetyAnalyzer
{
    /// <summary>Diagnostic property: "true" when the StringBuilder rewrite is known to keep behaviour.</summary>
    public const string FixableProperty = "Fixable";

    /// <summary>Diagnostic property: "true" when the variable provably holds "" when the loop starts
    /// (so the builder can start empty).</summary>
    public const string StartsEmptyProperty = "StartsEmpty";

    /// <summary>At most this many appends in all (constant trip counts multiplied) is too little work
    /// for a builder to pay off.</summary>
    public const int TinyLoopAppendLimit = 8;

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.StringConcatInLoop);

    protected override void Register(AnalysisContext context)
        => context.RegisterOperationBlockStartAction(static start =>
        {
            // Only code that repeats is reported, and only a loop statement or a goto makes code repeat: a body whose
            // text spells none of their keywords (most bodies) needs no per-assignment action.
            if (!MayRepeat(start.OperationBlocks, start.CancellationToken))
                return;

            // Cheap pass: does the body append to a string variable inside a loop at all?
            var seen = new Flag();
            start.RegisterOperationAction(
                c =>
                {
                    if (!seen.IsSet && StringAppend.IsAppendStatement(c.Operation) && c.Operation.IsExecutedPerLoopIteration())
                        seen.Set();
                },
                OperationKind.CompoundAssignment,
                OperationKind.SimpleAssignment);
            start.RegisterOperationBlockEndAction(end =>
            {
                if (seen.IsSet)
                    new BodyAnalysis(end).Run();
            });
        });

    /// <summary>Whether the text of the body spells <c>for</c> (also in <c>foreach</c>), <c>while</c> (also ending a
    /// <c>do</c>) or <c>goto</c>: without one, nothing in it is executed per loop iteration.</summary>
    private static bool MayRepeat(ImmutableArray<IOperation> blocks, CancellationToken cancellationToken)
    {
        foreach (var block in blocks)
        {
            var tree = block.Syntax.SyntaxTree;
            var span = block.Syntax.Span;
            if (WordPositions.Mentions(tree, span, "for", cancellationToken) || WordPositions.Mentions(tree, span, "while", cancellationToken)
                || WordPositions.Mentions(tree, span, "goto", cancellationToken))
            {
                return true;
            }
        }

        return false;
    }

    private sealed class Flag
    {
        private int _value;

        public bool IsSet => Volatile.Read(ref _value) != 0;

        public void Set() => Volatile.Write(ref _value, 1);
    }

    /// <summary>Everything known about one string variable of the body.</summary>
    private sealed class Variable
    {
        public readonly List<IOperation> References = new();
        public readonly List<IOperation> Appends = new();
        public readonly HashSet<IOperation> OwnReferences = new();
        public readonly List<IOperation> Writes = new();
        public bool Disqualified;
    }

    private sealed class BodyAnalysis
    {
        private readonly OperationBlockAnalysisContext _context;
        private readonly Dictionary<ISymbol, Variable> _variables = new(SymbolEqualityComparer.Default);

        public BodyAnalysis(OperationBlockAnalysisContext context) => _context = context;

        public void Run()
        {
            foreach (var block in _context.OperationBlocks)
            {
                foreach (var operation in block.DescendantsAndSelf())
                {
                    if (StringAppend.StringVariable(operation) is { } symbol)
                        Record(symbol, operation);
                    else if (operation is IVariableDeclaratorOperation { Symbol.Type.SpecialType: SpecialType.System_String } declarator)
                        GetVariable(declarator.Symbol).Writes.Add(declarator);
                }
            }

            foreach (var pair in _variables)
            {
                _context.CancellationToken.ThrowIfCancellationRequested();
                if (!pair.Value.Disqualified && pair.Value.Appends.Count > 0)
                    Analyze(pair.Key, pair.Value);
            }
        }

        private Variable GetVariable(ISymbol symbol)
        {
            if (!_variables.TryGetValue(symbol, out var variable))
                _variables[symbol] = variable = new Variable();
            return variable;
        }

        private void Record(ISymbol symbol, IOperation reference)
        {
            var variable = GetVariable(symbol);
            variable.References.Add(reference);

            // Captured by a lambda or local function: it lives in a closure, and the other function
            // may read it at any time.
            if (!SymbolEqualityComparer.Default.Equals(reference.FunctionOf(_context.OwningSymbol), symbol.ContainingSymbol))
                variable.Disqualified = true;

            switch (RefUse(reference))
            {
                case RefKind.Ref or RefKind.In or RoslynEnums.RefReadOnlyParameter:
                    // An alias could read or write it behind the analysis's back.
                    variable.Disqualified = true;
                    break;
                case RefKind.Out:
                    variable.Writes.Add(reference);
                    break;
            }

            var parent = reference.Parent;
            if (parent is IAssignmentOperation assignment && assignment.Target == reference
                || parent is IIncrementOrDecrementOperation || parent is ITupleOperation)
            {
                variable.Writes.Add(parent is ITupleOperation ? reference : parent);
            }

            if (parent is IAssignmentOperation append && append.Target == reference
                && StringAppend.IsAppendStatement(append) && !HasErrors(append.Value))
            {
                variable.Appends.Add(parent);
                variable.OwnReferences.Add(reference);
                variable.OwnReferences.Add(StringAppend.ReadReference(parent));
            }
        }

        /// <summary>Code being typed: an append whose value does not bind is not treated as one (so
        /// the loop is not reported).</summary>
        private static bool HasErrors(IOperation value)
        {
            foreach (var operation in value.DescendantsAndSelf())
            {
                if (operation is IInvalidOperation || operation.Type is { TypeKind: TypeKind.Error })
                    return true;
            }

            return false;
        }

        /// <summary>How the reference passes the variable by reference, if it does: an argument to a
        /// ref/in/out parameter, a <c>ref</c> expression (ref local, ref ternary), an address-of.</summary>
        private static RefKind RefUse(IOperation reference)
        {
            if (reference.Parent is IArgumentOperation { Parameter.RefKind: var parameterKind and not RefKind.None })
                return parameterKind == RefKind.Out ? RefKind.Out : RefKind.Ref;

            var syntax = reference.Syntax;
            var parent = syntax.Parent;
            if (parent is DeclarationExpressionSyntax or SingleVariableDesignationSyntax)
                parent = parent.FirstAncestorOrSelf<ArgumentSyntax>();
            switch (parent)
            {
                case ArgumentSyntax argument when !argument.RefKindKeyword.IsKind(SyntaxKind.None):
                    return argument.RefKindKeyword.Kind() switch
                    {
                        SyntaxKind.OutKeyword => RefKind.Out,
                        SyntaxKind.InKeyword => RefKind.In,
                        _ => RefKind.Ref,
                    };
                case RefExpressionSyntax:
                    return RefKind.Ref;
                case PrefixUnaryExpressionSyntax unary when unary.IsKind(SyntaxKind.AddressOfExpression):
                    return RefKind.Ref;
                default:
                    return RefKind.None;
            }
        }

        private void Analyze(ISymbol symbol, Variable variable)
        {
            var declaration = symbol is ILocalSymbol && symbol.DeclaringSyntaxReferences.Length > 0
                ? symbol.DeclaringSyntaxReferences[0].Span
                : (TextSpan?)null;

            // Group the appends by the loop that accumulates them. The fix turns every append of the group
            // into a builder call, so the group holds them all; it is reported only when one of them repeats
            // within the loop (an append followed by break or return runs once per execution of the loop).
            var groups = new Dictionary<ILoopOperation, List<IOperation>>();
            var order = new List<ILoopOperation>();
            var repeated = new Dictionary<ILoopOperation, IOperation>();
            var loops = new List<ILoopOperation>();
            foreach (var append in variable.Appends)
            {
                EnclosingLoops(append, declaration, loops);
                ILoopOperation? chosen = null;
                foreach (var loop in loops)
                {
                    if (!OnlyAppendsInside(loop, variable))
                        break;
                    chosen = loop;
                }

                if (chosen is null)
                    continue;
                if (!groups.TryGetValue(chosen, out var list))
                {
                    groups[chosen] = list = new List<IOperation>();
                    order.Add(chosen);
                }

                list.Add(append);
                if (!repeated.ContainsKey(chosen) && RepeatsWithin(append, chosen, loops))
                    repeated[chosen] = append;
            }

            foreach (var loop in order)
            {
                var appends = groups[loop];
                if (!repeated.TryGetValue(loop, out var first)
                    || loop.Syntax.ContainsDiagnostics || !IsReadAfter(loop, variable, declaration) || IsTiny(loop, appends, declaration))
                {
                    continue;
                }

                Report(symbol, variable, loop, appends, first, declaration);
            }
        }

        /// <summary>Whether the append lies on a cycle of <paramref name="chosen"/> (or of a loop inside it):
        /// <paramref name="loops"/> are the loops around it, innermost first.</summary>
        private static bool RepeatsWithin(IOperation append, ILoopOperation chosen, List<ILoopOperation> loops)
        {
            if (LoopCycles.RepeatingLoop(append) is not { } repeating)
                return false;
            foreach (var loop in loops)
            {
                if (loop == repeating)
                    return true;
                if (loop == chosen)
                    break;
            }

            return false;
        }

        /// <summary>Loops around <paramref name="operation"/> in its own function, innermost first,
        /// up to (not including) the first one that declares the variable.</summary>
        private static void EnclosingLoops(IOperation operation, TextSpan? declaration, List<ILoopOperation> loops)
        {
            loops.Clear();
            var child = operation;
            for (var parent = operation.Parent; parent is not null; child = parent, parent = parent.Parent)
            {
                switch (parent)
                {
                    case IAnonymousFunctionOperation or ILocalFunctionOperation:
                        return;
                    case IForEachLoopOperation forEach when child == forEach.Collection:
                        continue;
                    case IForLoopOperation forLoop when forLoop.Before.Contains(child):
                        continue;
                    case ILoopOperation loop:
                        if (declaration is { } span && loop.Syntax.Span.Contains(span))
                            return;
                        loops.Add(loop);
                        break;
                }
            }
        }

        private static bool OnlyAppendsInside(ILoopOperation loop, Variable variable)
        {
            foreach (var reference in variable.References)
            {
                if (IsInside(loop, reference.Syntax.Span) && !variable.OwnReferences.Contains(reference))
                    return false;
            }

            return true;
        }

        /// <summary>Whether the span is in the part of the loop that runs per iteration: not the
        /// collection of a foreach nor the initializer of a for, which run once before it.</summary>
        private static bool IsInside(ILoopOperation loop, TextSpan span)
        {
            if (!loop.Syntax.Span.Contains(span))
                return false;
            switch (loop)
            {
                case IForEachLoopOperation forEach when forEach.Collection.Syntax.Span.Contains(span):
                    return false;
                case IForLoopOperation forLoop:
                    foreach (var before in forLoop.Before)
                    {
                        if (before.Syntax.Span.Contains(span))
                            return false;
                    }

                    return true;
                default:
                    return true;
            }
        }

        /// <summary>Whether the built value is read once the loop is done: after it, or before it in a
        /// loop around it (the next iteration of that loop reads it).</summary>
        private static bool IsReadAfter(ILoopOperation loop, Variable variable, TextSpan? declaration)
        {
            var span = loop.Syntax.Span;
            foreach (var reference in variable.References)
            {
                var referenceSpan = reference.Syntax.Span;
                if (IsInside(loop, referenceSpan) || IsPureWrite(reference))
                    continue;
                if (referenceSpan.Start >= span.End)
                    return true;
                for (var outer = loop.Parent; outer is not null; outer = outer.Parent)
                {
                    if (outer is IAnonymousFunctionOperation or ILocalFunctionOperation)
                        break;
                    if (outer is ILoopOperation outerLoop)
                    {
                        if (declaration is { } d && outerLoop.Syntax.Span.Contains(d))
                            break;
                        if (outerLoop.Syntax.Span.Contains(referenceSpan))
                            return true;
                    }
                }
            }

            return false;
        }

        private static bool IsPureWrite(IOperation reference)
            => reference.Parent is ISimpleAssignmentOperation assignment && assignment.Target == reference
               || RefUse(reference) == RefKind.Out;

        // ------------------------------------------------------------------ tiny loops

        private static bool IsTiny(ILoopOperation loop, List<IOperation> appends, TextSpan? declaration)
        {
            var loops = new List<ILoopOperation>();
            long total = 0;
            foreach (var append in appends)
            {
                EnclosingLoops(append, declaration, loops);
                long count = 1;
                foreach (var enclosing in loops)
                {
                    var trips = TripCount(enclosing);
                    if (trips is null)
                        return false;
                    count *= trips.Value;
                    if (count > TinyLoopAppendLimit)
                        return false;
                    if (enclosing == loop)
                        break;
                }

                total += count;
                if (total > TinyLoopAppendLimit)
                    return false;
            }

            return true;
        }

        /// <summary>How many times the loop body runs, when constants decide it (capped just above the
        /// limit), else null.</summary>
        private static long? TripCount(ILoopOperation loop)
        {
            switch (loop)
            {
                case IForEachLoopOperation forEach:
                    var collection = StringAppend.Natural(forEach.Collection);
                    if (collection.ConstantValue is { HasValue: true, Value: string text })
                        return text.Length;
                    if (collection is IArrayCreationOperation { DimensionSizes.Length: 1, Initializer: { } initializer })
                        return initializer.ElementValues.Length;
                    if (collection is ICollectionExpressionOperation collectionExpression)
                    {
                        foreach (var element in collectionExpression.Elements)
                        {
                            if (element is ISpreadOperation)
                                return null;
                        }

                        return collectionExpression.Elements.Length;
                    }

                    return null;
                case IWhileLoopOperation { ConditionIsTop: false, Condition.ConstantValue: { HasValue: true, Value: false } }:
                    return 1;
                case IForLoopOperation forLoop:
                    return ForTripCount(forLoop);
                default:
                    return null;
            }
        }

        private static long? ForTripCount(IForLoopOperation loop)
        {
            // for (T i = start; i <op> limit; i++ / i-- / i += step / i -= step), i untouched in the body.
            if (loop.Before.Length != 1
                || loop.Before[0] is not IVariableDeclarationGroupOperation { Declarations.Length: 1 } group
                || group.Declarations[0].Declarators.Length != 1)
            {
                return null;
            }

            var declarator = group.Declarations[0].Declarators[0];
            var counter = declarator.Symbol;
            if (declarator.Initializer?.Value is not { } initial
                || !TryGetInteger(initial, out var start)
                || loop.Condition is not IBinaryOperation condition
                || !IsCounter(condition.LeftOperand, counter)
                || !TryGetInteger(condition.RightOperand, out var limit)
                || loop.AtLoopBottom.Length != 1
                || loop.AtLoopBottom[0] is not IExpressionStatementOperation { Operation: var increment })
            {
                return null;
            }

            decimal step;
            switch (increment)
            {
                case IIncrementOrDecrementOperation { Target: var target } change when IsCounter(target, counter):
                    step = change.Kind == OperationKind.Increment ? 1 : -1;
                    break;
                case ICompoundAssignmentOperation { OperatorKind: BinaryOperatorKind.Add or BinaryOperatorKind.Subtract, Target: var target } compound
                    when IsCounter(target, counter) && TryGetInteger(compound.Value, out var amount) && amount > 0:
                    step = compound.OperatorKind == BinaryOperatorKind.Add ? amount : -amount;
                    break;
                default:
                    return null;
            }

            if (IsWrittenIn(loop.Body, counter))
                return null;

            decimal count;
            switch (condition.OperatorKind)
            {
                case BinaryOperatorKind.LessThan when step > 0:
                    count = start >= limit ? 0 : decimal.Ceiling((limit - start) / step);
                    break;
                case BinaryOperatorKind.LessThanOrEqual when step > 0:
                    count = start > limit ? 0 : decimal.Floor((limit - start) / step) + 1;
                    break;
                case BinaryOperatorKind.GreaterThan when step < 0:
                    count = start <= limit ? 0 : decimal.Ceiling((start - limit) / -step);
                    break;
                case BinaryOperatorKind.GreaterThanOrEqual when step < 0:
                    count = start < limit ? 0 : decimal.Floor((start - limit) / -step) + 1;
                    break;
                case BinaryOperatorKind.NotEquals when (limit - start) / step is var exact && exact >= 0 && exact == decimal.Truncate(exact):
                    count = exact;
                    break;
                default:
                    return null;
            }

            return count > TinyLoopAppendLimit ? TinyLoopAppendLimit + 1 : (long)count;
        }

        private static bool IsCounter(IOperation operation, ILocalSymbol counter)
            => StringAppend.Natural(operation) is ILocalReferenceOperation reference && SymbolEqualityComparer.Default.Equals(reference.Local, counter);

        private static bool TryGetInteger(IOperation operation, out decimal value)
        {
            value = 0;
            if (operation.ConstantValue is not { HasValue: true, Value: { } constant })
                return false;
            switch (constant)
            {
                case int or long or short or sbyte or byte or ushort or uint or ulong:
                    value = System.Convert.ToDecimal(constant, System.Globalization.CultureInfo.InvariantCulture);
                    return true;
                case char c:
                    value = c;
                    return true;
                default:
                    return false;
            }
        }

        private static bool IsWrittenIn(IOperation body, ILocalSymbol counter)
        {
            foreach (var reference in BodyFacts.Of(body).ReferencesTo(counter))
            {
                if (!reference.IsWithin(body))
                    continue;
                var parent = reference.Parent;
                if (parent is IAssignmentOperation assignment && assignment.Target == reference
                    || parent is IIncrementOrDecrementOperation or ITupleOperation
                    || RefUse(reference) != RefKind.None)
                {
                    return true;
                }

                // A lambda or local function could change it whenever it is called.
                for (var p = parent; p is not null && p != body; p = p.Parent)
                {
                    if (p is IAnonymousFunctionOperation or ILocalFunctionOperation)
                        return true;
                }
            }

            return false;
        }

        // ------------------------------------------------------------------ reporting and fixability

        /// <param name="first">The first append (in source order) that repeats: the one reported.</param>
        private void Report(ISymbol symbol, Variable variable, ILoopOperation loop, List<IOperation> appends, IOperation first, TextSpan? declaration)
        {
            appends.Sort(static (a, b) => a.Syntax.SpanStart.CompareTo(b.Syntax.SpanStart));
            var keyword = LoopKeyword(loop.Syntax);
            var additional = new List<Location>(appends.Count) { keyword.GetLocation() };
            foreach (var append in appends)
            {
                if (append != first)
                    additional.Add(append.Syntax.GetLocation());
            }

            var properties = ImmutableDictionary<string, string?>.Empty;
            if (IsFixable(symbol, variable, loop, appends))
                properties = properties.Add(FixableProperty, "true");
            if (StartsEmpty(variable, loop, declaration))
                properties = properties.Add(StartsEmptyProperty, "true");

            _context.ReportDiagnostic(Diagnostic.Create(
                RuleCatalogue.StringConcatInLoop,
                first.Syntax.GetLocation(),
                additional,
                properties,
                symbol.Name,
                first is ICompoundAssignmentOperation ? "+=" : "+",
                keyword.ValueText));
        }

        private static SyntaxToken LoopKeyword(SyntaxNode loop) => loop switch
        {
            ForStatementSyntax f => f.ForKeyword,
            CommonForEachStatementSyntax f => f.ForEachKeyword,
            WhileStatementSyntax w => w.WhileKeyword,
            DoStatementSyntax d => d.DoKeyword,
            _ => loop.GetFirstToken(),
        };

        private bool IsFixable(ISymbol symbol, Variable variable, ILoopOperation loop, List<IOperation> appends)
        {
            // Statements go before and after the loop: it must sit in a statement list, unlabelled.
            if (loop.Syntax.Parent is not (BlockSyntax or SwitchSectionSyntax or GlobalStatementSyntax))
                return false;

            // A goto could leave the loop without passing the `s = builder.ToString();` after it.
            foreach (var goTo in BodyFacts.Of(loop).GoToStatements)
            {
                if (goTo.IsWithin(loop))
                    return false;
            }

            // If an exception can be caught where the variable is still visible, the original leaves the
            // text built so far in it, the rewrite the text from before the loop.
            for (var parent = loop.Parent; parent is not null; parent = parent.Parent)
            {
                if (parent is IAnonymousFunctionOperation or ILocalFunctionOperation)
                    break;
                if (parent is ITryOperation tryOperation
                    && (!tryOperation.Catches.IsEmpty || tryOperation.Finally is { } finallyBlock && Mentions(finallyBlock, variable)))
                {
                    return false;
                }
            }

            // Inside the loop, a caught exception must not see a half-done append (an append split
            // into several Append calls, or an interpolated string appended piece by piece).
            var pieces = new List<IOperation>();
            foreach (var append in appends)
            {
                for (var parent = append.Parent; parent is not null && parent != loop; parent = parent.Parent)
                {
                    if (parent is ITryOperation { Catches.IsEmpty: false })
                        return false;
                }

                pieces.Clear();
                StringAppend.CollectPieces(append, pieces);
                foreach (var piece in pieces)
                {
                    if (!StringAppend.IsSafePiece(piece))
                        return false;
                }
            }

            // After an empty loop the original leaves a null variable null; `builder.ToString()` is "".
            return IsNonNullBefore(symbol, variable, loop, appends[0]);
        }

        private static bool Mentions(IOperation root, Variable variable)
        {
            var span = root.Syntax.Span;
            foreach (var reference in variable.References)
            {
                if (span.Contains(reference.Syntax.Span))
                    return true;
            }

            return false;
        }

        private bool IsNonNullBefore(ISymbol symbol, Variable variable, ILoopOperation loop, IOperation firstAppend)
        {
            // The compiler's nullable analysis, where it runs, knows the state at the loop's entry.
            var read = StringAppend.ReadReference(firstAppend);
            var model = read.SemanticModel;
            if (model is not null
                && model.GetTypeInfo(read.Syntax, _context.CancellationToken).Nullability.FlowState == NullableFlowState.NotNull)
            {
                return true;
            }

            // Otherwise: a local whose every assignment outside the loop is obviously not null.
            if (symbol is not ILocalSymbol)
                return false;
            var span = loop.Syntax.Span;
            var sawWrite = false;
            foreach (var write in variable.Writes)
            {
                if (span.Contains(write.Syntax.Span))
                    continue;
                sawWrite = true;
                var value = write switch
                {
                    IVariableDeclaratorOperation declarator => declarator.Initializer?.Value,
                    ISimpleAssignmentOperation assignment => assignment.Value,
                    ICompoundAssignmentOperation compound when StringAppend.Target(compound) is not null => compound,
                    _ => null,
                };
                if (write is IVariableDeclaratorOperation { Initializer: null })
                    continue;
                if (value is null || !IsNonNull(value))
                    return false;
            }

            return sawWrite;
        }

        private static bool IsNonNull(IOperation value)
        {
            value = StringAppend.Natural(value);
            switch (value)
            {
                case { ConstantValue: { HasValue: true, Value: string } }:
                case IInterpolatedStringOperation:
                case ICompoundAssignmentOperation:
                case IBinaryOperation { OperatorKind: BinaryOperatorKind.Add, OperatorMethod: null, Type.SpecialType: SpecialType.System_String }:
                case IFieldReferenceOperation { Field: { Name: "Empty", ContainingType.SpecialType: SpecialType.System_String } }:
                case IObjectCreationOperation:
                    return true;
                case IInvocationOperation { TargetMethod: var method }:
                    // Members of System.String never return null, except IsInterned.
                    return method.ContainingType?.SpecialType == SpecialType.System_String && method.Name != "IsInterned"
                           || method.Name == "ToString" && method.ContainingType is { Name: "StringBuilder", ContainingNamespace.Name: "Text" };
                case IConditionalOperation { WhenFalse: { } whenFalse } conditional:
                    return IsNonNull(conditional.WhenTrue) && IsNonNull(whenFalse);
                case ICoalesceOperation coalesce:
                    return IsNonNull(coalesce.WhenNull);
                default:
                    return false;
            }
        }

        /// <summary>Whether the variable certainly holds "" when the loop starts: declared with a ""
        /// initializer earlier in the same statement list, and untouched (and unlabelled) in between.</summary>
        private static bool StartsEmpty(Variable variable, ILoopOperation loop, TextSpan? declaration)
        {
            if (declaration is null)
                return false;
            IVariableDeclaratorOperation? declarator = null;
            foreach (var write in variable.Writes)
            {
                if (write is IVariableDeclaratorOperation d)
                    declarator = d;
            }

            if (declarator?.Initializer?.Value.ConstantValue is not { HasValue: true, Value: "" }
                || declarator.Syntax.FirstAncestorOrSelf<LocalDeclarationStatementSyntax>() is not { } declarationStatement)
            {
                return false;
            }

            var declarationAnchor = declarationStatement.Parent is GlobalStatementSyntax g ? (SyntaxNode)g : declarationStatement;
            var loopAnchor = loop.Syntax.Parent is GlobalStatementSyntax lg ? (SyntaxNode)lg : loop.Syntax;
            if (declarationAnchor.Parent != loopAnchor.Parent || declarationAnchor.SpanStart >= loopAnchor.SpanStart)
                return false;

            // No reference and no label between the declaration and the loop.
            var between = TextSpan.FromBounds(declarationStatement.Span.End, loop.Syntax.SpanStart);
            foreach (var reference in variable.References)
            {
                if (between.Contains(reference.Syntax.Span))
                    return false;
            }

            foreach (var sibling in declarationAnchor.Parent!.ChildNodes())
            {
                if (sibling.SpanStart > declarationAnchor.SpanStart && sibling.SpanStart <= loopAnchor.SpanStart
                    && (sibling is LabeledStatementSyntax || sibling is GlobalStatementSyntax { Statement: LabeledStatementSyntax }))
                {
                    return false;
                }
            }

            return true;
        }
    }
}
