// A block namespace (not file-scoped like the other samples): the reliability tests append the UnityEngine stand-ins
// of this folder to the file.
namespace MemSafety.Samples.Unity.After.PerFrameUpdate
{
    public sealed class StateLabel : UnityEngine.MonoBehaviour
    {
        private static readonly string[] Names = new[] { "Idle", "Walk", "Run" };

        public int State;
        public string Label = "";

        // The fix hoisted the table into a field created once; Update allocates nothing.
        private void Update()
        {
            var names = Names;
            Label = names[State];
        }
    }
}
