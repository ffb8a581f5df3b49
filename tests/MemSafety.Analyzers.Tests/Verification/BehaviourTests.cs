using System;
using Microsoft.CodeAnalysis.CSharp;

namespace MemSafety.Analyzers.Tests.Verification;

public sealed class BehaviourTests
{
    private const string Probe = """
        public static class Program
        {
            public static string Run() => System.Environment.ProcessId + ";" + Helper.Value;
        }
        internal static class Helper
        {
            internal static int Value => 42;
        }
        """;

    [Fact]
    public void RunInOwnProcess_RunsTheProbeInAnotherProcessAndReturnsItsResult()
    {
        var result = Behaviour.RunInOwnProcess(Probe).Split(';');
        Assert.NotEqual(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), result[0]);
        Assert.Equal("42", result[1]);
        Assert.Equal(Environment.ProcessId + ";42", Behaviour.Run(Probe));
    }

    [Fact]
    public void RunInOwnProcess_NonPublicMethodAndOldLanguageVersion()
    {
        const string Old = """
            internal static class Probe
            {
                private static int Count() { return System.Runtime.InteropServices.Marshal.SizeOf(typeof(long)); }
            }
            """;
        Assert.Equal("8", Behaviour.RunInOwnProcess(Old, "Probe", "Count", languageVersion: LanguageVersion.CSharp7_3));
    }

    [Fact]
    public void RunInOwnProcess_ProbeThrows_FailsWithItsError()
    {
        const string Throws = """
            public static class Program
            {
                public static string Run() => throw new System.InvalidOperationException("probe failed on purpose");
            }
            """;
        var failure = Assert.ThrowsAny<Exception>(() => Behaviour.RunInOwnProcess(Throws));
        Assert.Contains("probe failed on purpose", failure.Message);
    }
}
