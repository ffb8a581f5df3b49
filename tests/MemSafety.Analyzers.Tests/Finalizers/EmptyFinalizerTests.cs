using System.Threading.Tasks;
using MemSafety.Analyzers.Rules.Finalizers;
using MemSafety.Analyzers.Tests.Verification;
using MemSafety.CodeFixes.Finalizers;
using Microsoft.CodeAnalysis.CSharp;
using VerifyCS = MemSafety.Analyzers.Tests.Verification.Verify<MemSafety.Analyzers.Rules.Finalizers.EmptyFinalizerAnalyzer, MemSafety.CodeFixes.Finalizers.EmptyFinalizerFix>;

namespace MemSafety.Analyzers.Tests.Finalizers;

public sealed class EmptyFinalizerTests
{
    [Fact]
    public Task EmptyBlockBody_ReportedAndRemoved() => VerifyCS.CodeFixAsync(
        """
        class C
        {
            int _x;

            ~[|C|]()
            {
            }

            void M() => _x++;
        }
        """,
        """
        class C
        {
            int _x;

            void M() => _x++;
        }
        """);

    [Fact]
    public Task FirstMember_RemovedWithoutLeavingABlankLine() => VerifyCS.CodeFixAsync(
        """
        class C
        {
            ~[|C|]() { }

            public void M() { }
        }
        """,
        """
        class C
        {
            public void M() { }
        }
        """);

    [Fact]
    public Task CommentOnlyBody_Reported() => VerifyCS.CodeFixAsync(
        """
        class C
        {
            /// <summary>Cleans up.</summary>
            ~[|C|]()
            {
                // nothing to release yet
            }
        }
        """,
        """
        class C
        {
        }
        """);

    [Fact]
    public Task MessageSaysWhyItCosts()
    {
        var test = Verify<EmptyFinalizerAnalyzer>.Test("class C { ~{|#0:C|}() { } }");
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4001", 0).WithMessage(
            "Finalizer of 'C' is empty: every instance is still queued for finalization and survives one more garbage collection"));
        return test.RunAsync();
    }

    [Fact]
    public Task EmptyStatementsAndNestedBlocks_Reported() => Verify<EmptyFinalizerAnalyzer>.AnalyzerAsync(
        """
        class C { ~[|C|]() { ; { } return; } }
        """);

    [Fact]
    public Task SealedType_SuppressFinalizeRemovedToo() => VerifyCS.CodeFixAsync(
        """
        using System;

        sealed class Resource : IDisposable
        {
            public void Dispose()
            {
                Console.WriteLine("closing");
                GC.SuppressFinalize(this);
            }

            ~[|Resource|]()
            {
            }
        }
        """,
        """
        using System;

        sealed class Resource : IDisposable
        {
            public void Dispose()
            {
                Console.WriteLine("closing");
            }
        }
        """);

    [Fact]
    public Task UnsealedType_SuppressFinalizeKeptForDerivedFinalizers() => VerifyCS.CodeFixAsync(
        """
        using System;

        class Resource : IDisposable
        {
            public void Dispose() => Dispose(true);

            protected virtual void Dispose(bool disposing)
            {
                GC.SuppressFinalize(this);
            }

            ~[|Resource|]() { }
        }
        """,
        """
        using System;

        class Resource : IDisposable
        {
            public void Dispose() => Dispose(true);

            protected virtual void Dispose(bool disposing)
            {
                GC.SuppressFinalize(this);
            }
        }
        """);

    [Fact]
    public Task BaseTypeWithFinalizer_SuppressFinalizeKeptAndMessageNamesIt()
    {
        var test = VerifyCS.Test(
            """
            using System;

            class Base { ~Base() { Console.WriteLine("released"); } }

            sealed class Derived : Base, IDisposable
            {
                public void Dispose() { GC.SuppressFinalize(this); }

                ~{|#0:Derived|}() { }
            }
            """,
            """
            using System;

            class Base { ~Base() { Console.WriteLine("released"); } }

            sealed class Derived : Base, IDisposable
            {
                public void Dispose() { GC.SuppressFinalize(this); }
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4001", 0).WithMessage(
            "Finalizer of 'Derived' is empty: it adds nothing to the finalizer it overrides in 'Base'"));
        return test.RunAsync();
    }

    [Fact]
    public Task SuppressFinalizeOfAnotherObjectOrNestedType_Kept() => VerifyCS.CodeFixAsync(
        """
        using System;

        sealed class Owner : IDisposable
        {
            private readonly object _inner = new object();

            public void Dispose()
            {
                GC.SuppressFinalize(_inner);
                if (_inner != null) GC.SuppressFinalize(this);
            }

            sealed class Nested
            {
                public void Close() { GC.SuppressFinalize(this); }
            }

            ~[|Owner|]() { }
        }
        """,
        """
        using System;

        sealed class Owner : IDisposable
        {
            private readonly object _inner = new object();

            public void Dispose()
            {
                GC.SuppressFinalize(_inner);
                if (_inner != null) GC.SuppressFinalize(this);
            }

            sealed class Nested
            {
                public void Close() { GC.SuppressFinalize(this); }
            }
        }
        """);

    [Fact]
    public Task PartialType_SuppressFinalizeInOtherFileRemoved()
    {
        var test = new AnalyzerTest(new EmptyFinalizerAnalyzer()) { CodeFix = new EmptyFinalizerFix() };
        test.Sources.Add(
            """
            sealed partial class Handle
            {
                ~[|Handle|]()
                {
                }

                public int Value;
            }
            """);
        test.Sources.Add(
            """
            sealed partial class Handle : System.IDisposable
            {
                public void Dispose()
                {
                    Value = 0;
                    System.GC.SuppressFinalize(this);
                }
            }
            """);
        test.FixedSources.Add(
            """
            sealed partial class Handle
            {
                public int Value;
            }
            """);
        test.FixedSources.Add(
            """
            sealed partial class Handle : System.IDisposable
            {
                public void Dispose()
                {
                    Value = 0;
                }
            }
            """);
        return test.RunAsync();
    }

    [Fact]
    public Task ManyTypesAcrossProjects_FixAllInEveryScope()
    {
        var test = new AnalyzerTest(new EmptyFinalizerAnalyzer()) { CodeFix = new EmptyFinalizerFix() };
        test.Sources.Add("public class A { ~[|A|]() { } }\npublic class B { ~[|B|]() { } }\n");
        test.Sources.Add("class C { ~[|C|]() { } }\n");
        test.OtherProjectSources.Add("class D : A { ~[|D|]() { } }\n");
        test.FixedSources.Add("public class A { }\npublic class B { }\n");
        test.FixedSources.Add("class C { }\n");
        test.FixedOtherProjectSources.Add("class D : A { }\n");
        return test.RunAsync();
    }

    [Fact]
    public Task ExpressionBodiedDebugOnly_WithoutDebugSymbol_WrappedInIf() => VerifyCS.CodeFixAsync(
        """
        using System.Diagnostics;

        class Tracked
        {
            ~[|Tracked|]() => Debug.Fail("Tracked was not disposed");
        }
        """,
        """
        using System.Diagnostics;

        class Tracked
        {
        #if DEBUG
            ~Tracked() => Debug.Fail("Tracked was not disposed");
        #endif
        }
        """);

    [Fact]
    public Task DebugAndTraceCalls_MessageNamesBothSymbols()
    {
        var test = VerifyCS.Test(
            """
            using System.Diagnostics;

            class Tracked
            {
                // Leak detector.
                ~{|#0:Tracked|}()
                {
                    Debug.Assert(false);
                    Trace.WriteLine("leak");
                }
            }
            """,
            """
            using System.Diagnostics;

            class Tracked
            {
            #if DEBUG || TRACE
                // Leak detector.
                ~Tracked()
                {
                    Debug.Assert(false);
                    Trace.WriteLine("leak");
                }
            #endif
            }
            """);
        test.ExpectedDiagnostics.Add(ExpectedDiagnostic.At("MSA4001", 0).WithMessage(
            "Finalizer of 'Tracked' only calls methods compiled under 'DEBUG || TRACE', so this build compiles it empty: every instance is still queued for finalization"));
        return test.RunAsync();
    }

    [Fact]
    public Task DebugOnly_InDebugBuild_NoDiagnostic()
    {
        var test = Verify<EmptyFinalizerAnalyzer>.Test(
            """
            class Tracked { ~Tracked() { System.Diagnostics.Debug.Fail("not disposed"); } }
            """);
        test.PreprocessorSymbols.Add("DEBUG");
        return test.RunAsync();
    }

    [Fact]
    public Task FinalizerAlreadyUnderIfDebug_NoDiagnostic()
    {
        var test = Verify<EmptyFinalizerAnalyzer>.Test(
            """
            class Tracked
            {
            #if DEBUG
                ~Tracked() { System.Diagnostics.Debug.Fail("not disposed"); }
            #endif
            }
            """);
        test.PreprocessorSymbols.Add("DEBUG");
        return test.RunAsync();
    }

    [Fact]
    public Task IfDirectiveInBody_NoDiagnostic() => Verify<EmptyFinalizerAnalyzer>.AnalyzerAsync(
        """
        class C
        {
            ~C()
            {
        #if LOG_FINALIZERS
                System.Console.WriteLine("finalized");
        #endif
            }
        }
        """);

    [Fact]
    public Task IfDirectiveInBodyActiveBranchEmpty_NoDiagnostic()
    {
        var test = Verify<EmptyFinalizerAnalyzer>.Test(
            """
            class C
            {
                ~C()
                {
            #if RELEASE
            #else
                    System.Console.WriteLine("finalized");
            #endif
                }
            }
            """);
        test.PreprocessorSymbols.Add("RELEASE");
        return test.RunAsync();
    }

    [Fact]
    public Task FinalizerDoingWork_NoDiagnostic() => Verify<EmptyFinalizerAnalyzer>.AnalyzerAsync(
        """
        using System;
        using System.Runtime.InteropServices;

        class NativeBuffer
        {
            private IntPtr _memory = Marshal.AllocHGlobal(16);
            ~NativeBuffer() { Marshal.FreeHGlobal(_memory); }
        }

        class Counter
        {
            static int s_finalized;
            ~Counter() => s_finalized++;
        }
        """);

    [Fact]
    public Task NonConditionalCallOrThrow_NoDiagnostic() => Verify<EmptyFinalizerAnalyzer>.AnalyzerAsync(
        """
        class A { ~A() { System.Console.WriteLine(); } }
        class B { ~B() { throw new System.InvalidOperationException(); } }
        class C { static void Log() { } ~C() { Log(); } }
        """);

    [Fact]
    public Task ExternFinalizer_NoDiagnostic() => Verify<EmptyFinalizerAnalyzer>.AnalyzerAsync(
        """
        class C
        {
            extern ~C();
        }
        """);

    [Fact]
    public Task AbstractClass_EmptyFinalizerStillReported() => Verify<EmptyFinalizerAnalyzer>.AnalyzerAsync(
        """
        abstract class Shape
        {
            ~[|Shape|]() { }
            public abstract double Area();
        }
        """);

    [Fact]
    public Task IncompleteCode_NoDiagnosticAndNoCrash()
    {
        var test = Verify<EmptyFinalizerAnalyzer>.Test(
            """
            class C
            {
                ~C(
            }
            class D
            {
                ~D() { undefined(); }
                ~E() { }
            }
            """);
        test.AllowCompilerErrors = true;
        return test.RunAsync();
    }

    [Fact]
    public Task GeneratedCode_NoDiagnostic() => Verify<EmptyFinalizerAnalyzer>.AnalyzerAsync(
        """
        // <auto-generated/>
        class Generated { ~Generated() { } }
        """);

    [Fact]
    public Task NoFixOfferedForOtherDiagnosticsSpans() => VerifyCS.NoFixAsync(
        """
        class C { void M() { } }
        """);

    [Theory]
    [InlineData(LanguageVersion.CSharp7_3)]
    [InlineData(LanguageVersion.CSharp9)]
    [InlineData(LanguageVersion.CSharp11)]
    [InlineData(LanguageVersion.Latest)]
    public Task EveryLanguageVersion_ReportedAndFixed(LanguageVersion version)
    {
        var test = VerifyCS.Test(
            """
            namespace N
            {
                public class Widget<T>
                {
                    ~[|Widget|]() { }
                }
            }
            """,
            """
            namespace N
            {
                public class Widget<T>
                {
                }
            }
            """);
        test.LanguageVersion = version;
        test.NullableContextOptions = version >= LanguageVersion.CSharp8 ? Microsoft.CodeAnalysis.NullableContextOptions.Enable : Microsoft.CodeAnalysis.NullableContextOptions.Disable;
        return test.RunAsync();
    }

    [Fact]
    public Task NetStandardReferences_ReportedAndFixed()
    {
        var test = VerifyCS.Test("class C { ~[|C|]() { } }", "class C { }");
        test.ReferenceSet = ReferenceSet.NetStandard20;
        return test.RunAsync();
    }
}
