using System.Collections.Immutable;
using MemSafety.Analyzers.Core;
using MemSafety.Analyzers.Engines.Disposal;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.UnsafePointers;

/// <summary>
/// MSA5009. <c>SafeHandle</c>'s escape hatches used so that the handle's reference count no longer protects it:
/// a <c>DangerousAddRef</c> whose <c>DangerousRelease</c> is not in a finally (an exception or early exit between
/// them keeps the count raised, and the handle is never released: a leak), and the raw value of
/// <c>DangerousGetHandle</c> returned or stored where no count keeps it valid (after the SafeHandle is released the OS
/// reuses the value for another handle). Facts from <see cref="SafeHandleHatches"/>.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class SafeHandleEscapeHatchAnalyzer : MemSafetyAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.SafeHandleEscapeHatch);

    protected override void Register(AnalysisContext context) => context.RegisterOperationAction(Analyze, OperationKind.Invocation);

    private static void Analyze(OperationAnalysisContext context)
    {
        var invocation = (IInvocationOperation)context.Operation;
        switch (invocation.TargetMethod.Name)
        {
            case "DangerousAddRef":
                if (SafeHandleHatches.CheckAddRef(invocation, context.CancellationToken) is { } unprotected)
                {
                    var line = unprotected.Release.GetLocation().GetLineSpan().StartLinePosition.Line + 1;
                    var skipped = unprotected.EarlyExit is { } exit
                        ? "the " + Keyword(exit) + " on line " + (exit.GetLocation().GetLineSpan().StartLinePosition.Line + 1) + " or an exception between them skips it"
                        : "an exception thrown between them skips it";
                    context.ReportDiagnostic(Diagnostic.Create(
                        RuleCatalogue.SafeHandleEscapeHatch,
                        unprotected.AddRef.GetLocation(),
                        new[] { unprotected.Release.GetLocation() },
                        "'" + Shorten(unprotected.AddRef.ToString()) + "' is undone by '" + Shorten(unprotected.Release.ToString()) + "' on line " + line + ", but not in a finally",
                        skipped + ", and then the handle's reference count stays raised: Dispose and the finalizer drop only the SafeHandle's own count, so the native handle is never released (a leak); release it in the finally of a try that covers the DangerousAddRef"));
                }

                break;
            case "DangerousGetHandle":
                if (SafeHandleHatches.EscapeOf(invocation, context.CancellationToken) is { } escape)
                {
                    var where = escape.Kind switch
                    {
                        RawHandleEscapeKind.Returned => "is returned",
                        RawHandleEscapeKind.StoredInField => "is stored into " + escape.Target,
                        _ => "is handed to the caller through " + escape.Target,
                    };
                    context.ReportDiagnostic(Diagnostic.Create(
                        RuleCatalogue.SafeHandleEscapeHatch,
                        escape.Site.GetLocation(),
                        new[] { invocation.Syntax.GetLocation() },
                        "The raw handle from '" + Shorten(invocation.Syntax.ToString()) + "' " + where,
                        "no reference count keeps it valid there, so once the SafeHandle is disposed or finalized the OS can give the same value to the next handle it opens, and the copy then names that one (handle recycling); pass the SafeHandle itself, or hold DangerousAddRef until the raw value is last used"));
                }

                break;
        }
    }

    private static string Keyword(SyntaxNode exit) => exit switch
    {
        Microsoft.CodeAnalysis.CSharp.Syntax.ReturnStatementSyntax => "return",
        Microsoft.CodeAnalysis.CSharp.Syntax.ThrowStatementSyntax => "throw",
        Microsoft.CodeAnalysis.CSharp.Syntax.GotoStatementSyntax => "goto",
        Microsoft.CodeAnalysis.CSharp.Syntax.BreakStatementSyntax => "break",
        _ => "continue",
    };

    private static string Shorten(string text) => text.Length <= 60 ? text : text.Substring(0, 57) + "...";
}
