using System.Runtime.CompilerServices;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Engines.Concurrency;

/// <summary>Why a change of a static collection may run on two threads at once.</summary>
internal enum StaticExposure : byte
{
    /// <summary>The changing member is static and visible outside the assembly: the Framework Design Guidelines require
    /// public static members to be thread-safe, so callers may call it from any thread.</summary>
    PublicStaticMember,
    /// <summary>The type itself runs code on other threads or synchronises (a lock, Interlocked/Volatile, a volatile
    /// field, Task.Run, new Thread, ThreadPool, Parallel, a Timer).</summary>
    ConcurrentType,
    /// <summary>The type is declared <c>[ThreadSafe]</c>: any of its members may be called from any thread.</summary>
    DeclaredThreadSafe,
}

/// <summary>
/// Static collections of <c>System.Collections.Generic</c> that are not thread-safe (MSA6007): which change a call or an
/// indexer write makes, whether a lock is visibly held there, and whether the code may run on two threads at once.
/// A <c>Dictionary</c> changed by two threads can lose entries, throw, or corrupt its buckets so that a later lookup
/// loops forever (the documented "Thread Safety" of these types: safe for concurrent reads only).
/// </summary>
internal sealed class StaticCollections
{
    private static readonly ConditionalWeakTable<Compilation, StaticCollections> Instances = new();

    private readonly INamedTypeSymbol?[] _types;
    private readonly INamedTypeSymbol? _threadStatic;

    private StaticCollections(Compilation compilation)
    {
        _types = new[]
        {
            compilation.GetTypeByMetadataName("System.Collections.Generic.List`1"),
            compilation.GetTypeByMetadataName("System.Collections.Generic.Dictionary`2"),
            compilation.GetTypeByMetadataName("System.Collections.Generic.HashSet`1"),
            compilation.GetTypeByMetadataName("System.Collections.Generic.Queue`1"),
            compilation.GetTypeByMetadataName("System.Collections.Generic.Stack`1"),
            compilation.GetTypeByMetadataName("System.Collections.Generic.SortedDictionary`2"),
            compilation.GetTypeByMetadataName("System.Collections.Generic.SortedList`2"),
            compilation.GetTypeByMetadataName("System.Collections.Generic.SortedSet`1"),
            compilation.GetTypeByMetadataName("System.Collections.Generic.LinkedList`1"),
        };
        _threadStatic = compilation.GetTypeByMetadataName("System.ThreadStaticAttribute");
    }

    public static StaticCollections Of(Compilation compilation) => Instances.GetValue(compilation, static c => new StaticCollections(c));

    /// <summary>Names of the methods that change these collections.</summary>
    public static bool IsChangeName(string name) => name is "Add" or "AddRange" or "Insert" or "InsertRange" or "Remove" or "RemoveAt"
        or "RemoveAll" or "RemoveRange" or "RemoveWhere" or "Clear" or "TryAdd" or "Enqueue" or "Dequeue" or "TryDequeue" or "Push"
        or "Pop" or "TryPop" or "Sort" or "Reverse" or "AddFirst" or "AddLast" or "RemoveFirst" or "RemoveLast" or "UnionWith"
        or "IntersectWith" or "ExceptWith" or "SymmetricExceptWith" or "TrimExcess" or "EnsureCapacity";

    /// <summary>The static collection field the change is made on (the receiver must be the field itself), or null.</summary>
    public IFieldSymbol? ChangedField(IOperation? receiver)
    {
        while (receiver is IConversionOperation { IsImplicit: true } conversion)
            receiver = conversion.Operand;
        if (receiver is not IFieldReferenceOperation { Field: { IsStatic: true, IsConst: false } field }
            || field.DeclaringSyntaxReferences.IsEmpty || !IsUnsafeCollection(field.Type))
        {
            return null;
        }

        foreach (var attribute in field.GetAttributes())
        {
            if (SymbolEqualityComparer.Default.Equals(attribute.AttributeClass, _threadStatic))
                return null;
        }

        return field;
    }

    /// <summary>Whether <paramref name="type"/> is one of the collections above (safe for concurrent reads only).</summary>
    public bool IsUnsafeCollection(ITypeSymbol type)
    {
        foreach (var known in _types)
        {
            if (known is not null && SymbolEqualityComparer.Default.Equals(type.OriginalDefinition, known))
                return true;
        }

        return false;
    }

    /// <summary>Whether a lock may be held at <paramref name="operation"/>: inside a <c>lock</c>, or in a function that
    /// takes a lock by a call (Monitor, ReaderWriterLockSlim, SemaphoreSlim, SpinLock, Mutex, Lock): its regions are
    /// MSA6001's business, and a change under any lock is left alone.</summary>
    public static bool MayHoldLock(IOperation operation, ISymbol containingSymbol, CancellationToken cancellationToken)
    {
        for (var parent = operation.Parent; parent is not null; parent = parent.Parent)
        {
            if (parent is ILockOperation)
                return true;
            if (parent is IAnonymousFunctionOperation or ILocalFunctionOperation)
                break;
        }

        if (containingSymbol is IMethodSymbol method && method.GetAttributes() is { Length: > 0 } attributes)
        {
            foreach (var attribute in attributes)
            {
                // [MethodImpl(MethodImplOptions.Synchronized)] (0x20): the method runs under a lock on the type.
                if (attribute.AttributeClass?.Name == "MethodImplAttribute" && attribute.ConstructorArguments.Length == 1
                    && attribute.ConstructorArguments[0].Value is short or int && (System.Convert.ToInt32(attribute.ConstructorArguments[0].Value) & 0x20) != 0)
                {
                    return true;
                }
            }
        }

        foreach (var reference in containingSymbol.DeclaringSyntaxReferences)
        {
            foreach (var node in reference.GetSyntax(cancellationToken).DescendantNodes())
            {
                if (node is IdentifierNameSyntax { Identifier.ValueText: var name } && LockCalls.MayTakeLockByCall(name, exclusiveOnly: false))
                    return true;
            }
        }

        return containingSymbol is IMethodSymbol helper && CalledOnlyUnderALock(helper, depth: 0, cancellationToken);
    }

    /// <summary>
    /// A private method of the type whose every call in the type is inside a <c>lock</c> statement of the calling function,
    /// or in another such method (three levels at most): it runs under its callers' lock (the issue's "private helper whose
    /// every in-type call site holds L"). HttpListener's <c>HttpEndPointManager.GetEPListener</c> fills its static table
    /// this way, called only by two private helpers that its public members call inside <c>lock (SyncRoot)</c>; a first
    /// version reported it. A mention that is not a call of this type's method (a method group, <c>nameof</c>) gives no answer.
    /// </summary>
    private static bool CalledOnlyUnderALock(IMethodSymbol method, int depth, CancellationToken cancellationToken)
    {
        if (depth > 2 || method.MethodKind != MethodKind.Ordinary || method.DeclaredAccessibility != Accessibility.Private || method.ContainingType is not { } type)
            return false;
        var calls = 0;
        foreach (var reference in type.DeclaringSyntaxReferences)
        {
            foreach (var node in reference.GetSyntax(cancellationToken).DescendantNodes())
            {
                if (node is not IdentifierNameSyntax { Identifier.ValueText: var name } identifier || name != method.Name)
                    continue;
                SyntaxNode callee = identifier;
                if (node.Parent is MemberAccessExpressionSyntax access && access.Name == node)
                {
                    // x.Name(…) on another object (a field, a local) calls another method of that name.
                    if (access.Expression is not (ThisExpressionSyntax or IdentifierNameSyntax) || access.Expression is IdentifierNameSyntax { Identifier.ValueText: var receiver } && receiver != type.Name)
                        continue;
                    callee = access;
                }

                if (callee.Parent is not InvocationExpressionSyntax invocation || invocation.Expression != callee)
                    return false;
                if (!InsideALock(invocation) && !(invocation.FirstAncestorOrSelf<MethodDeclarationSyntax>() is { } caller
                    && caller.Identifier.ValueText != method.Name && CallerSymbol(caller, type) is { } callerSymbol
                    && CalledOnlyUnderALock(callerSymbol, depth + 1, cancellationToken)))
                {
                    return false;
                }

                calls++;
            }
        }

        return calls > 0;
    }

    /// <summary>
    /// Whether <paramref name="operation"/> visibly runs under a lock its code takes: inside a <c>lock</c> statement or a
    /// lock region taken by a call (see <see cref="InsideALock"/>) of its own function, or in a private helper whose every
    /// call in the type does (<see cref="CalledOnlyUnderALock"/>). Unlike <see cref="MayHoldLock"/>, a lock call elsewhere
    /// in the member does not count. MSA6006 leaves such pairs to MSA6001 (Quartz's RAMJobStore.AddJobNoLock, called only
    /// inside <c>await lockObject.WaitAsync(); try { … } finally { lockObject.Release(); }</c>, was reported wrongly in session 9).
    /// </summary>
    public static bool VisiblyUnderALock(IOperation operation, ISymbol containingSymbol, CancellationToken cancellationToken)
        => InsideALock(operation.Syntax)
           || (operation.Syntax.FirstAncestorOrSelf<SyntaxNode>(n => n is AnonymousFunctionExpressionSyntax or LocalFunctionStatementSyntax) is null
               && containingSymbol is IMethodSymbol helper && CalledOnlyUnderALock(helper, depth: 0, cancellationToken));

    /// <summary>Inside a <c>lock</c> statement of its own function, or in the protected block of a <c>try</c> whose
    /// <c>finally</c> releases a lock (<c>Exit</c>, <c>Exit*Lock</c>, <c>Release</c>, <c>ReleaseMutex</c>) right after the
    /// statement before it took one by a call (<c>Monitor.Enter(x);</c>, <c>await s.WaitAsync();</c>, <c>rw.EnterWriteLock();</c>).
    /// A read lock is not one: readers hold it together, so it serialises nothing between them.</summary>
    private static bool InsideALock(SyntaxNode node)
    {
        for (var parent = node.Parent; parent is not null and not MemberDeclarationSyntax; parent = parent.Parent)
        {
            if (parent is LockStatementSyntax)
                return true;
            if (parent is TryStatementSyntax { Finally: { } @finally } @try && @try.Block.Span.Contains(node.Span) && IsLockRegion(@try, @finally))
                return true;
            if (parent is AnonymousFunctionExpressionSyntax or LocalFunctionStatementSyntax)
                return false;
        }

        return false;
    }

    private static bool IsLockRegion(TryStatementSyntax @try, FinallyClauseSyntax @finally)
    {
        if (@try.Parent is not BlockSyntax block)
            return false;
        var index = block.Statements.IndexOf(@try);
        if (index < 1)
            return false;
        var released = false;
        foreach (var call in @finally.Block.DescendantNodes())
        {
            if (call is InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax { Name.Identifier.ValueText: "Exit" or "ExitWriteLock" or "ExitUpgradeableReadLock" or "Release" or "ReleaseMutex" } })
            {
                released = true;
                break;
            }
        }

        if (!released)
            return false;
        foreach (var call in block.Statements[index - 1].DescendantNodesAndSelf())
        {
            if (call is InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax { Name.Identifier.ValueText: var name } } && LockCalls.IsAcquireName(name)
                && name is not ("EnterReadLock" or "TryEnterReadLock"))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The one method of the type that the declaration declares (by name and parameter count; null when unsure).</summary>
    private static IMethodSymbol? CallerSymbol(MethodDeclarationSyntax declaration, INamedTypeSymbol type)
    {
        IMethodSymbol? found = null;
        foreach (var member in type.GetMembers(declaration.Identifier.ValueText))
        {
            if (member is IMethodSymbol candidate && candidate.Parameters.Length == declaration.ParameterList.Parameters.Count)
            {
                if (found is not null)
                    return null;
                found = candidate;
            }
        }

        return found;
    }

    /// <summary>
    /// A static helper that only its type's static constructor calls: it runs once, while the runtime holds the type's
    /// initialization lock and before other threads can use the type. Only a method no code outside one type can reach is
    /// judged (a private method, or any method of a private nested type), and every mention of its name in that type must
    /// be in the static constructor (EnumDataContract's private helper type fills two static tables this way; a first
    /// version reported both, wrongly).
    /// </summary>
    public static bool CalledOnlyFromStaticConstructor(ISymbol member, CancellationToken cancellationToken)
    {
        if (member is not IMethodSymbol { IsStatic: true, MethodKind: MethodKind.Ordinary } method || method.ContainingType is not { } type)
            return false;
        var scope = type.DeclaredAccessibility == Accessibility.Private && type.ContainingType is { } outer ? outer
            : method.DeclaredAccessibility == Accessibility.Private ? type
            : null;
        if (scope is null)
            return false;
        var mentioned = false;
        foreach (var reference in scope.DeclaringSyntaxReferences)
        {
            foreach (var node in reference.GetSyntax(cancellationToken).DescendantNodes())
            {
                if (node is not IdentifierNameSyntax { Identifier.ValueText: var name } || name != method.Name)
                    continue;
                // x.Add(…) on another object (a field, a local) calls another method of that name.
                if (node.Parent is MemberAccessExpressionSyntax access && access.Name == node
                    && !(access.Expression is IdentifierNameSyntax { Identifier.ValueText: var receiver } && receiver == type.Name))
                {
                    continue;
                }

                var constructor = node.FirstAncestorOrSelf<ConstructorDeclarationSyntax>();
                if (constructor is null || !constructor.Modifiers.Any(SyntaxKind.StaticKeyword)
                    || constructor.Parent is not BaseTypeDeclarationSyntax { Identifier.ValueText: var owner } || owner != type.Name)
                {
                    return false;
                }

                mentioned = true;
            }
        }

        return mentioned;
    }

    /// <summary>Why the member holding the change may run on two threads at once, or null when nothing shows it.</summary>
    public static StaticExposure? Exposure(ISymbol member, INamedTypeSymbol type, CancellationToken cancellationToken)
    {
        if (member.IsStatic && IsVisibleOutside(member) && member is not IMethodSymbol { MethodKind: MethodKind.StaticConstructor })
            return StaticExposure.PublicStaticMember;
        if (member is IMethodSymbol { MethodKind: MethodKind.PropertyGet or MethodKind.PropertySet, AssociatedSymbol: { IsStatic: true } property } && IsVisibleOutside(property))
            return StaticExposure.PublicStaticMember;
        if (LockAnnotations.ThreadSafetyOf(type) == DeclaredThreadSafety.ThreadSafe)
            return StaticExposure.DeclaredThreadSafe;
        return RunsConcurrently(type, cancellationToken) ? StaticExposure.ConcurrentType : null;
    }

    private static bool IsVisibleOutside(ISymbol symbol)
    {
        for (var current = symbol; current is not null and not INamespaceSymbol; current = current.ContainingSymbol)
        {
            if (current.DeclaredAccessibility is not (Accessibility.Public or Accessibility.Protected or Accessibility.ProtectedOrInternal))
                return false;
        }

        return true;
    }

    // The RacerD gate from syntax: a lock or lock type, a lock-free primitive, or an entry point to another thread.
    private static bool RunsConcurrently(INamedTypeSymbol type, CancellationToken cancellationToken)
    {
        if (LockSignals.TakesLocks(type, cancellationToken))
            return true;
        foreach (var reference in type.DeclaringSyntaxReferences)
        {
            var root = reference.GetSyntax(cancellationToken);
            foreach (var node in root.DescendantNodesAndTokens(n => n == root || n is not BaseTypeDeclarationSyntax))
            {
                if (node.IsKind(SyntaxKind.VolatileKeyword)
                    || node.AsNode() is IdentifierNameSyntax { Identifier.ValueText: "Interlocked" or "Volatile" or "Thread" or "ThreadPool" or "Parallel" or "Timer" or "AsParallel" }
                    || node.AsNode() is MemberAccessExpressionSyntax { Expression: IdentifierNameSyntax { Identifier.ValueText: "Task" }, Name.Identifier.ValueText: "Run" or "Factory" })
                {
                    return true;
                }
            }
        }

        return false;
    }
}
