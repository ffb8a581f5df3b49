using System.Collections.Generic;
using System.Collections.Immutable;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Concurrency;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.SharedState;

/// <summary>
/// MSA6003. A plain store to a field that other code accesses with <c>Interlocked</c> or <c>Volatile</c>, where the
/// plain store loses what the atomic accesses rely on: a <c>long</c>/<c>ulong</c>/<c>double</c> stored plainly is two
/// 4-byte writes in a 32-bit process, which an <c>Interlocked</c> operation or <c>Volatile.Read</c> can see half of;
/// and a plain store that publishes earlier stores (it follows a store to another field of the type in the same
/// function) is not a release, so on Arm64 a reader that sees the new value through <c>Volatile.Read</c> can still
/// see the old value of the data it publishes. Plain reads polled in loops are MSA6008's; read-modify-writes MSA6002's.
/// The tear is reported by default only where the assembly targets a 32-bit platform (x86, ARM), otherwise with
/// <c>memsafety.MSA6003.tearing = true</c> (the Strict preset): on real code such stores in AnyCPU assemblies were true
/// but not worth changing (judged/shared-state-session8-recommended.tsv).
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class MixedAtomicAccessAnalyzer : MemSafetyAnalyzer
{
    /// <summary>Diagnostic property: the call the fix writes, <c>Volatile.Write</c> or <c>Interlocked.Exchange</c>.</summary>
    public const string FixProperty = "Fix";

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.MixedAtomicAccess);

    protected override void Register(AnalysisContext context) => context.RegisterCompilationStartAction(start =>
    {
        var types = ConcurrencyTypes.Of(start.Compilation);
        if (types.Interlocked is null || types.Volatile is null)
            return;
        var services = CompilationServices.Get(start.Compilation, start.Options);
        // An assembly built for x86 or 32-bit ARM always runs in a 32-bit process, where the tear is real on every run.
        var thirtyTwoBit = start.Compilation.Options.Platform is Platform.X86 or Platform.Arm;
        start.RegisterSymbolStartAction(symbolStart => StartType(symbolStart, types, services, thirtyTwoBit), SymbolKind.NamedType);
    });

    private static void StartType(SymbolStartAnalysisContext context, ConcurrencyTypes types, CompilationServices services, bool thirtyTwoBit)
    {
        if (context.Symbol is not INamedTypeSymbol { TypeKind: TypeKind.Class } type)
            return;
        var atomic = new Dictionary<IFieldSymbol, (string Call, ISymbol Member)>(SymbolEqualityComparer.Default);
        var acquired = new Dictionary<IFieldSymbol, ISymbol>(SymbolEqualityComparer.Default);
        var stores = new List<(ISimpleAssignmentOperation Store, IFieldSymbol Field, ISymbol Member)>();
        context.RegisterOperationAction(operation =>
        {
            var invocation = (IInvocationOperation)operation.Operation;
            if (!AtomicAccess.IsAtomicCall(invocation, types))
                return;
            foreach (var argument in invocation.Arguments)
            {
                if (AtomicAccess.FieldOf(argument) is { } field && SymbolEqualityComparer.Default.Equals(field.ContainingType, type))
                {
                    lock (atomic)
                    {
                        var call = invocation.TargetMethod.ContainingType.Name + "." + invocation.TargetMethod.Name;
                        if (!atomic.TryGetValue(field, out var first) || string.CompareOrdinal(operation.ContainingSymbol.Name, first.Member.Name) < 0)
                            atomic[field] = (call, operation.ContainingSymbol);
                        if (call == "Volatile.Read" && (!acquired.TryGetValue(field, out var reader) || string.CompareOrdinal(operation.ContainingSymbol.Name, reader.Name) < 0))
                            acquired[field] = operation.ContainingSymbol;
                    }
                }
            }
        }, OperationKind.Invocation);

        context.RegisterOperationAction(operation =>
        {
            var store = (ISimpleAssignmentOperation)operation.Operation;
            if (store.IsRef || store.Target is not IFieldReferenceOperation { Field: var field } target)
                return;
            if (field.IsVolatile || field.IsConst || !SymbolEqualityComparer.Default.Equals(field.ContainingType, type))
                return;
            if (!field.IsStatic && target.Instance is not IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance })
                return;
            if (!CanTear(field.Type) && field.Type.IsReferenceType)
                return; // a reference store is a release in the .NET memory model
            lock (stores)
                stores.Add((store, field, operation.ContainingSymbol));
        }, OperationKind.SimpleAssignment);

        context.RegisterSymbolEndAction(end =>
        {
            foreach (var (store, field, member) in stores)
            {
                if (!atomic.TryGetValue(field, out var use) || Exempt(store, field, member, types) || LockAnnotations.InNotThreadSafeInstance(field))
                    continue;
                string why;
                if (CanTear(field.Type))
                {
                    // Tearing needs a 32-bit process: reported where the platform is 32-bit, else only when asked for.
                    if (!thirtyTwoBit && !services.OptionsFor(store.Syntax.SyntaxTree).Get(MemSafetyOptions.TearingOnAnyPlatform))
                        continue;
                    if (OnlyIn64BitProcess(store))
                        continue;
                    why = "in a 32-bit process a " + field.Type.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat)
                        + " is stored in two 4-byte halves, and " + use.Call + " can see one half of this store";
                }
                else if (acquired.TryGetValue(field, out var reader) && EarlierStore(store, field) is { } published)
                {
                    // Only a Volatile.Read shows a reader that relies on the publication order. Exchange/CompareExchange
                    // alone are state protocols whose plain stores runtime code makes while it owns the object
                    // (HttpConnection's read-ahead status, SocketAsyncEventArgs' Free state, a Socket copied before it is
                    // published): a first version reported those three.
                    use = ("Volatile.Read", reader);
                    why = "it follows the store to '" + published.Name + "', and a plain store is not a release: on Arm64 a thread that sees the new '"
                        + field.Name + "' through " + use.Call + " can still read the old '" + published.Name + "'";
                }
                else
                {
                    continue;
                }

                var fix = Fix(store, field);
                var properties = fix is null ? ImmutableDictionary<string, string?>.Empty : ImmutableDictionary<string, string?>.Empty.Add(FixProperty, fix);
                end.ReportDiagnostic(Diagnostic.Create(RuleCatalogue.MixedAtomicAccess, store.Syntax.GetLocation(), properties,
                    field.Name, use.Call, NonAtomicUpdateAnalyzer.MemberDisplay(use.Member), why, fix ?? "a lock"));
            }
        });
    }

    /// <summary>Constructors and initializers (not shared yet) and stores under a lock statement.</summary>
    private static bool Exempt(ISimpleAssignmentOperation store, IFieldSymbol field, ISymbol member, ConcurrencyTypes types)
    {
        if (member is IFieldSymbol or IPropertySymbol)
            return true;
        var inNested = false;
        for (var node = store.Parent; node is not null; node = node.Parent)
        {
            if (node is ILockOperation && !inNested)
                return true;
            if (node is IAnonymousFunctionOperation or ILocalFunctionOperation)
                inNested = true;
        }

        // No lock-free-code exemption here: the plain store that releases a compare-exchange "lock" is the case this
        // rule exists for (the data written under the claim can become visible after the release).
        _ = types;
        return !inNested && member is IMethodSymbol { MethodKind: MethodKind.Constructor or MethodKind.StaticConstructor } constructor && constructor.IsStatic == field.IsStatic;
    }

    /// <summary>A store to another field of the type earlier in the same block (or a block around it) of the same function.</summary>
    private static IFieldSymbol? EarlierStore(ISimpleAssignmentOperation store, IFieldSymbol field)
    {
        if (store.Parent is not IExpressionStatementOperation statement)
            return null;
        IOperation current = statement;
        while (current.Parent is IBlockOperation block)
        {
            foreach (var sibling in block.Operations)
            {
                if (sibling == current)
                    break;
                if (sibling is not IExpressionStatementOperation { Operation: ISimpleAssignmentOperation { Target: var target } })
                    continue;
                if (target is IArrayElementReferenceOperation { ArrayReference: IFieldReferenceOperation array })
                    target = array;
                if (target is IFieldReferenceOperation { Field: var other }
                    && !SymbolEqualityComparer.Default.Equals(other, field) && SymbolEqualityComparer.Default.Equals(other.ContainingType, field.ContainingType))
                {
                    return other;
                }
            }

            current = block;
            if (current.Parent is IAnonymousFunctionOperation or IMethodBodyOperation or ILocalFunctionOperation)
                break;
        }

        return null;
    }

    /// <summary>
    /// The store runs only in a 64-bit process, where a 64-bit store does not tear: it is in the branch of an <c>if</c> that
    /// a 64-bit test selects (<c>Environment.Is64BitProcess</c>, <c>IntPtr.Size == 8</c>, <c>!…</c> and <c>== 4</c> for the
    /// else branch, or a static readonly bool initialised with one of them). BitFaster.Caching's <c>Time.Last</c> setter
    /// stores plainly only when <c>Is64Bit</c> and uses Interlocked otherwise; it was reported wrongly in session 9.
    /// </summary>
    private static bool OnlyIn64BitProcess(IOperation store)
    {
        IOperation child = store;
        for (var parent = store.Parent; parent is not null and not (IAnonymousFunctionOperation or ILocalFunctionOperation or IMethodBodyBaseOperation); child = parent, parent = parent.Parent)
        {
            if (parent is IConditionalOperation { Condition: var condition } conditional && child != condition
                && PlatformTest(condition) is { } is64Bit && (child == conditional.WhenTrue) == is64Bit)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>True for a test that holds in a 64-bit process, false for one that holds in a 32-bit one, null otherwise.</summary>
    private static bool? PlatformTest(IOperation condition)
    {
        switch (condition)
        {
            case IUnaryOperation { OperatorKind: UnaryOperatorKind.Not, Operand: var operand }:
                return PlatformTest(operand) is { } inner ? !inner : null;
            case IParenthesizedOperation { Operand: var operand }:
                return PlatformTest(operand);
            case IFieldReferenceOperation { Field: { IsStatic: true, IsReadOnly: true, Type.SpecialType: SpecialType.System_Boolean } field }:
                foreach (var reference in field.DeclaringSyntaxReferences)
                {
                    if (reference.GetSyntax() is VariableDeclaratorSyntax { Initializer.Value: var value })
                        return PlatformTest(value);
                }

                return null;
            default:
                return PlatformTest(condition.Syntax);
        }
    }

    private static bool? PlatformTest(SyntaxNode condition)
    {
        switch (condition)
        {
            case ParenthesizedExpressionSyntax parenthesized:
                return PlatformTest(parenthesized.Expression);
            case PrefixUnaryExpressionSyntax { RawKind: (int)Microsoft.CodeAnalysis.CSharp.SyntaxKind.LogicalNotExpression } not:
                return PlatformTest(not.Operand) is { } inner ? !inner : null;
            case MemberAccessExpressionSyntax { Name.Identifier.ValueText: "Is64BitProcess" }:
            case IdentifierNameSyntax { Identifier.ValueText: "Is64BitProcess" }:
                return true;
            case BinaryExpressionSyntax { RawKind: (int)Microsoft.CodeAnalysis.CSharp.SyntaxKind.EqualsExpression, Left: MemberAccessExpressionSyntax { Name.Identifier.ValueText: "Size" }, Right: LiteralExpressionSyntax { Token.Value: int size } }:
                return size == 8 ? true : size == 4 ? false : null;
            default:
                return null;
        }
    }

    private static bool CanTear(ITypeSymbol type) => type.SpecialType is SpecialType.System_Int64 or SpecialType.System_UInt64 or SpecialType.System_Double;

    /// <summary><c>Volatile.Write</c> (a release, atomic for every type it takes) or, for a 64-bit value that must not
    /// tear on 32-bit either, <c>Interlocked.Exchange</c>; only where the store's value is not used (Exchange returns the old one).</summary>
    private static string? Fix(ISimpleAssignmentOperation store, IFieldSymbol field)
    {
        if (store.Parent is not IExpressionStatementOperation || store.Syntax is not AssignmentExpressionSyntax)
            return null;
        if (CanTear(field.Type))
            return "Interlocked.Exchange";
        return field.Type.SpecialType switch
        {
            SpecialType.System_Boolean or SpecialType.System_Byte or SpecialType.System_SByte or SpecialType.System_Int16 or SpecialType.System_UInt16
                or SpecialType.System_Int32 or SpecialType.System_UInt32 or SpecialType.System_Single or SpecialType.System_IntPtr or SpecialType.System_UIntPtr => "Volatile.Write",
            _ => null,
        };
    }
}
