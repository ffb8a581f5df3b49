using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.Boxing;
using MemSafety.Analyzers.Tests.Verification;

namespace MemSafety.Analyzers.Tests.Core;

/// <summary>
/// Game engines' per-frame methods are hot paths by convention (Core/EngineConventions), recognised by name so that no
/// engine assembly is referenced: these tests declare small stand-ins for UnityEngine, Unity.Jobs and Godot. MSA2001 (a
/// rule that reports in hot paths only, by default) shows whether a method counts as hot: it reports the boxing of an
/// int passed as <c>object</c> in a hot method and stays silent in any other.
/// </summary>
public sealed class EngineConventionsTests
{
    private const string Engines = """
        namespace UnityEngine
        {
            public class Object { }
            public class Component : Object { }
            public class Behaviour : Component { }
            public class MonoBehaviour : Behaviour { }
            public static class Debug { public static void Log(object message) { } }
        }
        namespace UnityEngine.Jobs { public interface IJobParallelForTransform { } }
        namespace Unity.Jobs
        {
            public interface IJob { void Execute(); }
            public interface IJobParallelFor { void Execute(int index); }
            public interface IJobFor { void Execute(int index); }
        }
        namespace Godot
        {
            public class GodotObject { }
            public class Node : GodotObject
            {
                public virtual void _Process(double delta) { }
                public virtual void _PhysicsProcess(double delta) { }
                public virtual void _Input(InputEvent e) { }
                public virtual void _UnhandledInput(InputEvent e) { }
            }
            public class CanvasItem : Node { }
            public class Node2D : CanvasItem { }
            public class InputEvent { }
            public static class GD { public static void Print(object what) { } }
        }

        """;

    private const string ConventionsKey = "memsafety.hot_paths.engine_conventions";

    private static Task Hot(string source, string? conventions = null)
    {
        var test = Verify<ValueTypeBoxingAnalyzer>.Test(Engines + source);
        if (conventions is not null)
            test.AnalyzerOptions[ConventionsKey] = conventions;
        return test.RunAsync();
    }

    [Theory]
    [InlineData("Update")]
    [InlineData("LateUpdate")]
    [InlineData("FixedUpdate")]
    [InlineData("OnGUI")]
    [InlineData("OnRenderObject")]
    public Task UnityPerFrameMessage_OfAMonoBehaviourSubclass_IsHot(string message) => Hot(
        $$"""
        public abstract class Actor : UnityEngine.MonoBehaviour { }
        public sealed class Player : Actor
        {
            private int _frame;
            private void {{message}}() => UnityEngine.Debug.Log([|_frame|]);
        }
        """);

    [Fact]
    public Task UnityUpdate_LambdaInside_IsHotLikeItsMethod() => Hot(
        """
        public sealed class Player : UnityEngine.MonoBehaviour
        {
            private int _frame;
            private void Update()
            {
                System.Action log = () => UnityEngine.Debug.Log([|_frame|]);
                log();
            }
        }
        """);

    [Fact]
    public Task UpdateOfAClassThatIsNoMonoBehaviour_NoDiagnostic() => Hot(
        """
        public sealed class Simulation
        {
            private int _frame;
            public void Update() => UnityEngine.Debug.Log(_frame);
        }
        """);

    [Fact]
    public Task UpdateOfASubclassOfAnotherMonoBehaviour_NoDiagnostic() => Hot(
        """
        namespace MyGame { public class MonoBehaviour { } }
        public sealed class Player : MyGame.MonoBehaviour
        {
            private int _frame;
            private void Update() => UnityEngine.Debug.Log(_frame);
        }
        """);

    [Fact]
    public Task OtherMethodsOfAMonoBehaviour_NoDiagnostic() => Hot(
        """
        public sealed class Player : UnityEngine.MonoBehaviour
        {
            private int _frame;
            private void Start() => UnityEngine.Debug.Log(_frame);
            private void OnDestroy() => UnityEngine.Debug.Log(_frame);
            public static void Update() => UnityEngine.Debug.Log(1);
        }
        """);

    [Fact]
    public Task ConventionsTurnedOff_UpdateIsNotHot() => Hot(
        """
        public sealed class Player : UnityEngine.MonoBehaviour
        {
            private int _frame;
            private void Update() => UnityEngine.Debug.Log(_frame);
        }
        """,
        conventions: "false");

    [Fact]
    public Task ConventionsExplicitlyOn_UpdateIsHot() => Hot(
        """
        public sealed class Player : UnityEngine.MonoBehaviour
        {
            private int _frame;
            private void Update() => UnityEngine.Debug.Log([|_frame|]);
        }
        """,
        conventions: "true");

    [Fact]
    public Task UnityJobExecute_IsHot() => Hot(
        """
        public struct Move : Unity.Jobs.IJobParallelFor
        {
            public void Execute(int index) => UnityEngine.Debug.Log([|index|]);
        }
        public struct Once : Unity.Jobs.IJob
        {
            public int Value;
            public void Execute() => UnityEngine.Debug.Log([|Value|]);
        }
        """);

    [Fact]
    public Task ExecuteOfATypeWithASameNamedInterfaceElsewhere_NoDiagnostic() => Hot(
        """
        namespace MyGame { public interface IJob { void Execute(); } }
        public struct Task : MyGame.IJob
        {
            public int Value;
            public void Execute() => UnityEngine.Debug.Log(Value);
        }
        """);

    [Theory]
    [InlineData("_Process(double delta)")]
    [InlineData("_PhysicsProcess(double delta)")]
    [InlineData("_Input(Godot.InputEvent e)")]
    [InlineData("_UnhandledInput(Godot.InputEvent e)")]
    public Task GodotCallback_OfANodeSubclass_IsHot(string signature) => Hot(
        $$"""
        public partial class Ship : Godot.Node2D
        {
            private int _frame;
            public override void {{signature}} => Godot.GD.Print([|_frame|]);
        }
        """);

    [Fact]
    public Task GodotProcessOfATypeThatIsNoNode_NoDiagnostic() => Hot(
        """
        public sealed class Ticker
        {
            private int _frame;
            public void _Process(double delta) => Godot.GD.Print(_frame);
        }
        """);

    [Fact]
    public Task GodotConventionsTurnedOff_NoDiagnostic() => Hot(
        """
        public partial class Ship : Godot.Node2D
        {
            private int _frame;
            public override void _Process(double delta) => Godot.GD.Print(_frame);
        }
        """,
        conventions: "false");
}
