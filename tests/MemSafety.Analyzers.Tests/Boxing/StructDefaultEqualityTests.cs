using System.Threading.Tasks;
using MemSafety.Analyzers.Boxing;
using MemSafety.Analyzers.Tests.Verification;
using MemSafety.CodeFixes.Boxing;

namespace MemSafety.Analyzers.Tests.Boxing;

public sealed class StructDefaultEqualityTests
{
    [Fact]
    public async Task Probe()
    {
        const string source = """
            using System;
            using System.Collections.Generic;

            public struct Point
            {
                public int X;
                public int Y { get; set; }
            }

            public static class Probe
            {
                static readonly Dictionary<Point, int> map = [|new Dictionary<Point, int>()|];
            }
            """;
        await Verify<StructDefaultEqualityAnalyzer, StructDefaultEqualityFix>.Test(source, source).RunAsync();
    }
}
