// A block namespace (not file-scoped like the other samples): the reliability tests append the UnityEngine stand-ins
// of this folder to the file.
namespace MemSafety.Samples.Unity.Before.PerFrameUpdate
{
    public sealed class StateLabel : UnityEngine.MonoBehaviour
    {
        public int State;
        public string Label = "";

        // MSA1005: Unity calls Update once per frame (a per-frame message of a MonoBehaviour is a hot path by convention,
        // with no attribute), and the lookup table is allocated and filled on every call though it is only read: garbage
        // every frame, and a collection sooner or later drops a frame.
        private void Update()
        {
            var names = new[] { "Idle", "Walk", "Run" };
            Label = names[State];
        }
    }
}
