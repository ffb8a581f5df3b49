using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Engines.Concurrency;

/// <summary>How a function handed to a concurrency entry point runs.</summary>
internal enum EntryKind : byte
{
    /// <summary>Not handed to a concurrency entry point (or not directly).</summary>
    None,

    /// <summary>A delegate argument of <c>Parallel.For</c>, <c>Parallel.ForEach</c> or <c>Parallel.ForEachAsync</c> (body,
    /// localInit, localFinally): the runtime runs it on several threads at once, so it races with itself.</summary>
    ParallelLoop,

    /// <summary>An action of <c>Parallel.Invoke</c>: runs at the same time as the call's other actions.</summary>
    ParallelInvoke,

    /// <summary>Started on another thread once per call: <c>Task.Run</c>, <c>TaskFactory.StartNew</c>, <c>new Thread(…)</c>,
    /// <c>ThreadPool.QueueUserWorkItem</c>/<c>UnsafeQueueUserWorkItem</c>, a <c>System.Threading.Timer</c> callback.</summary>
    Started,
}

/// <summary>One delegate handed to a concurrency entry point: its kind, the call that receives it, and whether that
/// call is inside a loop of the function that makes it (then several copies of the delegate may run at once).</summary>
internal readonly struct ConcurrentEntry
{
    public ConcurrentEntry(EntryKind kind, IOperation call, string entryName, SyntaxNode? loop)
    {
        Kind = kind;
        Call = call;
        EntryName = entryName;
        Loop = loop;
    }

    public EntryKind Kind { get; }

    /// <summary>The invocation or object creation that receives the delegate.</summary>
    public IOperation Call { get; }

    /// <summary>How source names the entry point: <c>Parallel.For</c>, <c>Task.Run</c>, <c>new Thread</c>.</summary>
    public string EntryName { get; }

    /// <summary>The innermost loop statement of the call's own function around the call, when the call is not awaited
    /// or waited on right there: each iteration starts another copy of the delegate while the earlier ones may still run.</summary>
    public SyntaxNode? Loop { get; }

    public bool IsEntry => Kind != EntryKind.None;
}

/// <summary>
/// Which delegates a body hands to the runtime's concurrency entry points (the entry points RacerD's gate looks
/// for). Answers from the operation tree around the delegate only: no control-flow graph, no binding beyond the
/// called method, so a rule may ask it for each candidate it meets.
/// </summary>
internal static class ConcurrentEntryPoints
{
    /// <summary>What the delegate made from <paramref name="function"/> (a lambda, an anonymous method, or a method
    /// reference) is handed to, when it is passed straight to an entry point.</summary>
    public static ConcurrentEntry Classify(IOperation function)
    {
        // function → (delegate creation) → argument | array element of a params array (Parallel.Invoke) → call.
        var node = function.Parent;
        if (node is IDelegateCreationOperation)
            node = node.Parent;
        if (node is IConversionOperation)
            node = node.Parent;
        var viaParamsArray = false;
        if (node is IArrayInitializerOperation { Parent: IArrayCreationOperation array })
        {
            node = array.Parent;
            viaParamsArray = true;
        }

        if (node is not IArgumentOperation argument)
            return default;
        var call = argument.Parent;
        switch (call)
        {
            case IInvocationOperation invocation:
            {
                var method = invocation.TargetMethod;
                var type = method.ContainingType;
                if (type is null || !InThreading(type.ContainingNamespace, out var tasks))
                    return default;
                if (tasks && type.Name == "Parallel")
                {
                    if (method.Name is "For" or "ForEach" or "ForEachAsync")
                        return new ConcurrentEntry(EntryKind.ParallelLoop, invocation, "Parallel." + method.Name, InLoop(invocation));
                    if (method.Name == "Invoke" && (viaParamsArray || argument.Parameter?.IsParams == true))
                        return new ConcurrentEntry(EntryKind.ParallelInvoke, invocation, "Parallel.Invoke", InLoop(invocation));
                    return default;
                }

                if (viaParamsArray)
                    return default;
                if ((tasks && type.Name == "Task" && method.Name == "Run")
                    || (tasks && type.Name == "TaskFactory" && method.Name == "StartNew")
                    || (!tasks && type.Name == "ThreadPool" && method.Name is "QueueUserWorkItem" or "UnsafeQueueUserWorkItem"))
                {
                    var name = type.Name == "TaskFactory" ? "Task.Factory.StartNew" : type.Name + "." + method.Name;
                    return new ConcurrentEntry(EntryKind.Started, invocation, name, InLoop(invocation));
                }

                return default;
            }

            case IObjectCreationOperation { Type: INamedTypeSymbol created } creation
                when !viaParamsArray && InThreading(created.ContainingNamespace, out var inTasks) && !inTasks && created.Name is "Thread" or "Timer":
                return new ConcurrentEntry(EntryKind.Started, creation, "new " + created.Name, InLoop(creation));

            default:
                return default;
        }
    }

    /// <summary>The nearest function (lambda, anonymous method or local function) around <paramref name="operation"/>
    /// that is handed straight to an entry point, with the function; stops at <paramref name="stopAt"/> (a syntax node
    /// the search must not leave, such as the declaration of a captured variable's scope) when given.</summary>
    public static (IOperation? Function, ConcurrentEntry Entry) Enclosing(IOperation operation, SyntaxNode? stopAt = null)
    {
        for (var node = operation.Parent; node is not null; node = node.Parent)
        {
            if (stopAt is not null && node.Syntax == stopAt)
                break;
            if (node is IAnonymousFunctionOperation)
            {
                var entry = Classify(node);
                if (entry.IsEntry)
                    return (node, entry);
            }
        }

        return (null, default);
    }

    private static bool InThreading(INamespaceSymbol? ns, out bool tasks)
    {
        tasks = false;
        if (ns is { Name: "Tasks", ContainingNamespace: { Name: "Threading", ContainingNamespace: { Name: "System", ContainingNamespace.IsGlobalNamespace: true } } })
        {
            tasks = true;
            return true;
        }

        return ns is { Name: "Threading", ContainingNamespace: { Name: "System", ContainingNamespace.IsGlobalNamespace: true } };
    }

    /// <summary>The loop statement of the call's own function around the call of its own function, and its result is not awaited or
    /// waited on in the same statement (a <c>Task.Run(…).Wait()</c> in a loop runs its copies one after another).</summary>
    private static SyntaxNode? InLoop(IOperation call)
    {
        var parent = call.Parent;
        while (parent is IConversionOperation)
            parent = parent.Parent;
        if (parent is IAwaitOperation || parent is IInvocationOperation { TargetMethod.Name: "Wait" or "GetResult" or "Join" or "RunSynchronously" })
            return null;
        if (parent is IPropertyReferenceOperation { Property.Name: "Result" })
            return null;
        for (var node = call.Syntax.Parent; node is not null; node = node.Parent)
        {
            switch (node)
            {
                case ForStatementSyntax or ForEachStatementSyntax or WhileStatementSyntax or DoStatementSyntax:
                    return node;
                case AnonymousFunctionExpressionSyntax or LocalFunctionStatementSyntax or MemberDeclarationSyntax:
                    return null;
            }
        }

        return null;
    }
}
