// Stand-ins for the few UnityEngine types the Unity samples use, so that they compile without Unity. The analyzers
// recognise Unity's per-frame methods by name (docs/configuration.md, "Hot paths"), so they treat these exactly as
// they treat the real types.
namespace UnityEngine
{
    public class Object { }

    public class Component : Object { }

    public class Behaviour : Component { }

    public class MonoBehaviour : Behaviour { }
}
