using Microsoft.CodeAnalysis;

namespace MemSafety.Analyzers.Core;

/// <summary>
/// Methods that game engines call every frame (or every physics step, or for every input event), recognised by
/// name so that no engine assembly needs to be referenced: a GC pause there is a dropped frame.
/// <list type="bullet">
/// <item>Unity: the per-frame messages (<c>Update</c>, <c>LateUpdate</c>, <c>FixedUpdate</c>, <c>OnGUI</c>, the
/// rendering, animation and "stay" callbacks) of classes deriving, directly or not, from
/// <c>UnityEngine.MonoBehaviour</c>; <c>Execute</c> of types implementing a job interface of <c>Unity.Jobs</c>,
/// <c>UnityEngine.Jobs</c> or <c>Unity.Entities</c> (<c>IJob</c>, <c>IJobFor</c>, <c>IJobParallelFor</c>, …);
/// <c>OnUpdate</c> of ECS systems (<c>Unity.Entities.SystemBase</c>, <c>Unity.Entities.ISystem</c>).</item>
/// <item>Godot: <c>_Process</c>, <c>_PhysicsProcess</c>, <c>_Input</c>, <c>_UnhandledInput</c>,
/// <c>_UnhandledKeyInput</c> and <c>_ShortcutInput</c> of classes deriving from <c>Godot.Node</c>.</item>
/// </list>
/// Only instance methods declared in source count; a same-named method of any other type is an ordinary method.
/// </summary>
public static class EngineConventions
{
    /// <summary>Whether <paramref name="member"/> is an engine's per-frame entry point by convention.</summary>
    public static bool IsPerFrame(ISymbol member)
    {
        if (member is not IMethodSymbol { MethodKind: MethodKind.Ordinary, IsStatic: false, ContainingType: { } type } method)
            return false;

        var name = method.Name;
        if (name.Length == 0)
            return false;
        if (name[0] == '_')
            return IsGodotCallback(name) && DerivesFrom(type, "Node", "Godot", null);
        if (name == "Execute")
            return ImplementsJobInterface(type);
        if (name == "OnUpdate")
            return DerivesFrom(type, "SystemBase", "Unity", "Entities") || Implements(type, "ISystem", "Unity", "Entities");
        return IsUnityPerFrameMessage(name) && DerivesFrom(type, "MonoBehaviour", "UnityEngine", null);
    }

    private static bool IsUnityPerFrameMessage(string name) => name switch
    {
        "Update" or "LateUpdate" or "FixedUpdate" or "OnGUI" => true,
        "OnAnimatorMove" or "OnAnimatorIK" => true,
        "OnPreCull" or "OnPreRender" or "OnPostRender" or "OnRenderImage" or "OnRenderObject" or "OnWillRenderObject" => true,
        "OnTriggerStay" or "OnTriggerStay2D" or "OnCollisionStay" or "OnCollisionStay2D" => true,
        _ => false,
    };

    private static bool IsGodotCallback(string name)
        => name is "_Process" or "_PhysicsProcess" or "_Input" or "_UnhandledInput" or "_UnhandledKeyInput" or "_ShortcutInput";

    private static bool ImplementsJobInterface(INamedTypeSymbol type)
    {
        foreach (var candidate in type.AllInterfaces)
        {
            switch (candidate.Name)
            {
                case "IJob" or "IJobFor" or "IJobParallelFor" or "IJobParallelForDefer" or "IJobParallelForBatch" or "IJobFilter":
                    if (InNamespace(candidate, "Unity", "Jobs"))
                        return true;
                    break;
                case "IJobParallelForTransform":
                    if (InNamespace(candidate, "UnityEngine", "Jobs"))
                        return true;
                    break;
                case "IJobEntity" or "IJobChunk":
                    if (InNamespace(candidate, "Unity", "Entities"))
                        return true;
                    break;
            }
        }

        return false;
    }

    private static bool DerivesFrom(INamedTypeSymbol type, string name, string outerNamespace, string? innerNamespace)
    {
        for (var current = type.BaseType; current is not null; current = current.BaseType)
        {
            if (current.Name == name && InNamespace(current, outerNamespace, innerNamespace))
                return true;
        }

        return false;
    }

    private static bool Implements(INamedTypeSymbol type, string name, string outerNamespace, string? innerNamespace)
    {
        foreach (var candidate in type.AllInterfaces)
        {
            if (candidate.Name == name && InNamespace(candidate, outerNamespace, innerNamespace))
                return true;
        }

        return false;
    }

    /// <summary>Whether <paramref name="type"/> is a top-level type of namespace <c>outer</c> (or <c>outer.inner</c>).</summary>
    private static bool InNamespace(INamedTypeSymbol type, string outer, string? inner)
    {
        if (type.ContainingType is not null || type.ContainingNamespace is not { } ns)
            return false;
        if (inner is not null)
        {
            if (ns.Name != inner || ns.ContainingNamespace is not { } parent)
                return false;
            ns = parent;
        }

        return ns.Name == outer && ns.ContainingNamespace is { IsGlobalNamespace: true };
    }
}
