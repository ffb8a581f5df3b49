using System.Collections.Immutable;
using System.Linq;
using MemSafety.Analyzers.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.SharedState;

/// <summary>
/// MSA6004. A lock excludes only code that locks the same object. When other code can reach that object — <c>this</c>
/// of a public type, a <c>Type</c> (one per type, process-wide), an interned string, a reflection object, a
/// <c>Thread</c>, a public field — that code can take the same lock by accident and block or deadlock this type's
/// critical sections. When the field that holds the object is assigned a new one outside the constructor, two
/// threads can be "inside" at once, each holding a different object's lock. Reported at the locked expression of a
/// <c>lock</c> statement or <c>Monitor.Enter</c>/<c>TryEnter</c>. Where the SDK's CA2002 ("weak identity") is on,
/// the objects it reports (by type) are left to it. <c>lock (this)</c> of a public type only with
/// <c>memsafety.MSA6004.lock_this = true</c> (the Strict preset).
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class ExposedLockTargetAnalyzer : MemSafetyAnalyzer
{
    /// <summary>Set on diagnostics whose fix can retarget the type's locks to a private gate.</summary>
    public const string KindProperty = "Kind";

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.ExposedLockTarget);

    protected override void Register(AnalysisContext context) => context.RegisterCompilationStartAction(start =>
    {
        var services = CompilationServices.Get(start.Compilation, start.Options);
        var targets = new LockTargets(start.Compilation);
        start.RegisterOperationAction(operation => Analyze(operation, services, targets), OperationKind.Lock, OperationKind.Invocation);
    });

    private static void Analyze(OperationAnalysisContext context, CompilationServices services, LockTargets targets)
    {
        if (context.Operation is IInvocationOperation { TargetMethod.Name: not ("Enter" or "TryEnter") })
            return;
        if (LockTargets.LockedValue(context.Operation) is not { } locked || locked.Syntax is not ExpressionSyntax)
            return;

        var target = targets.Classify(locked, context.ContainingSymbol.ContainingType, context.CancellationToken);
        if (target.Kind == LockTargetKind.Private)
            return;
        // lock (this) in a public type: a true hazard, but on real code mostly taken once per object or request (Dispose,
        // lazy initialization, a per-request flag), so below the bar of a default rule (judged/shared-state-msa6004-msa6005.tsv,
        // shared-state-session7.tsv, shared-state-session8-recommended.tsv): reported under Strict or when turned on.
        if (target.Kind == LockTargetKind.PublicInstance && !services.OptionsFor(locked.Syntax.SyntaxTree).Get(MemSafetyOptions.LockThisInPublicTypes))
            return;
        if (IsReportedByCa2002(target.Value)
            && services.SdkRules.Reports(SdkRule.DoNotLockOnObjectsWithWeakIdentity, locked.Syntax.SyntaxTree, context.CancellationToken))
        {
            return;
        }

        var (what, consequence) = Describe(target, locked);
        var properties = ImmutableDictionary<string, string?>.Empty.Add(KindProperty, target.Kind.ToString());
        context.ReportDiagnostic(Diagnostic.Create(RuleCatalogue.ExposedLockTarget, locked.Syntax.GetLocation(), properties, what, consequence));
    }

    /// <summary>What CA2002 reports (NetAnalyzers' DoNotLockOnObjectsWithWeakIdentity): <c>this</c>, and objects of
    /// type string, an array of primitives, ExecutionEngineException/OutOfMemoryException/StackOverflowException
    /// (exactly), or a class or type parameter deriving from MarshalByRefObject, MemberInfo, ParameterInfo or
    /// Thread. A test runs the real CA2002 next to this rule.</summary>
    private static bool IsReportedByCa2002(IOperation value)
    {
        if (value is IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance })
            return true;
        var type = value.Type;
        if (type is null)
            return false;
        if (type is IArrayTypeSymbol array)
            return array.ElementType.SpecialType is SpecialType.System_Boolean or SpecialType.System_Byte or SpecialType.System_Char
                or SpecialType.System_Double or SpecialType.System_Int16 or SpecialType.System_Int32 or SpecialType.System_Int64
                or SpecialType.System_UInt16 or SpecialType.System_UInt32 or SpecialType.System_UInt64 or SpecialType.System_IntPtr
                or SpecialType.System_UIntPtr or SpecialType.System_SByte or SpecialType.System_Single;
        if (type.TypeKind is not (TypeKind.Class or TypeKind.TypeParameter))
            return false;
        if (type.SpecialType == SpecialType.System_String)
            return true;
        if (IsNamed(type, "System", "ExecutionEngineException") || IsNamed(type, "System", "OutOfMemoryException") || IsNamed(type, "System", "StackOverflowException"))
            return true;
        for (var current = type.TypeKind == TypeKind.TypeParameter ? ((ITypeParameterSymbol)type).ConstraintTypes.FirstOrDefault() : type; current is not null; current = current.BaseType)
        {
            if (IsNamed(current, "System", "MarshalByRefObject") || IsNamed(current, "System.Reflection", "MemberInfo")
                || IsNamed(current, "System.Reflection", "ParameterInfo") || IsNamed(current, "System.Threading", "Thread"))
            {
                return true;
            }
        }

        return false;

        static bool IsNamed(ITypeSymbol type, string ns, string name)
            => type.Name == name && type.ContainingNamespace?.ToDisplayString() == ns;
    }

    private static (string What, string Consequence) Describe(LockTarget target, IOperation locked)
    {
        var text = locked.Syntax.ToString();
        if (text.Length > 60)
            text = text.Substring(0, 57) + "...";
        switch (target.Kind)
        {
            case LockTargetKind.PublicInstance:
                var typeName = target.Symbol!.Name;
                return ($"'this' (an instance of public type '{typeName}')",
                    $"any code that holds {MessageText.Article(typeName)} {typeName} can take the same lock, and so block or deadlock this type's critical sections");
            case LockTargetKind.TypeObject:
                return ($"'{text}'",
                    "a Type is one object per type for the whole process, so every lock on the same Type, in any assembly, contends with this one");
            case LockTargetKind.InternedString:
                return (target.Symbol is IFieldSymbol field ? $"string field '{field.Name}'" : $"the string {text}",
                    "string literals are interned (one object per value for the whole process), so every lock on an equal string, anywhere, contends with this one");
            case LockTargetKind.ReflectionObject:
                return ($"'{text}' (a {target.Value.Type!.Name})",
                    "reflection hands out one object per member to all its callers, so any code that locks the same member's object contends with this one");
            case LockTargetKind.Thread:
                return ($"'{text}' (a Thread)",
                    "any code running on that thread reaches the same object through Thread.CurrentThread and can take the same lock");
            case LockTargetKind.ExposedField:
                var exposed = (IFieldSymbol)target.Symbol!;
                return ($"{Accessibility(exposed)} field '{exposed.Name}'",
                    exposed.IsReadOnly
                        ? "code outside the assembly can take the same lock, and so block or deadlock this type's critical sections"
                        : "code outside the assembly can take the same lock or replace the object, so the lock neither excludes reliably nor stays the same");
            default:
                var reassigned = (IFieldSymbol)target.Symbol!;
                return ($"field '{reassigned.Name}', which {target.AssignedIn} assigns a new object",
                    "a thread that locks after the assignment takes the new object's lock while another may still hold the old one's, so both run the critical section at once");
        }
    }

    private static string Accessibility(IFieldSymbol field) => field.DeclaredAccessibility switch
    {
        Microsoft.CodeAnalysis.Accessibility.Public => "public",
        _ => "protected",
    };
}
