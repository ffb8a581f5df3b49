using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Text;
using System.Threading;
using MemSafety.Analyzers.Compat;
using MemSafety.Analyzers.Core;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace MemSafety.Analyzers.Rules.HeapEscapes;

/// <summary>
/// MSA1004. <c>s.Substring(i, 3) == "abc"</c>, <c>int.Parse(s[2..])</c>, <c>sb.Append(s.Trim())</c>: the copy
/// is a new string (or char array) that lives only to be read by an API that also takes a
/// <c>ReadOnlySpan&lt;char&gt;</c>. A span over the original string reads the same characters without the
/// allocation. The rule reports only where the span API means exactly the same thing (see
/// <see cref="SubstringCopies"/>), and, while the SDK's CA1846 is on in the file, leaves to it a Substring
/// passed straight to a method with a span overload.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class SubstringAsSpanAnalyzer : MemSafetyAnalyzer
{
    private static readonly RuleScopeOption Scope = RuleScopeOption.For(RuleIdentifiers.SubstringAsSpan, RuleScope.HotPaths);

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(RuleCatalogue.SubstringAsSpan);

    protected override void Register(AnalysisContext context) => context.RegisterCompilationStartAction(start =>
    {
        // The span APIs (some thirty lookups and MemoryExtensions' members) are looked up on the first candidate, not here:
        // a compilation's first lookups are paid by whichever callback asks first, and most compilations have few candidates.
        // Publication only: callbacks that meet the first build each build their own (the lookups answer the same symbols)
        // rather than wait on a lock whose waiting the driver charges to every waiting callback.
        var compilation = start.Compilation;
        var symbolsOnce = new Lazy<SubstringCopySymbols?>(() => SubstringCopySymbols.Create(compilation), LazyThreadSafetyMode.PublicationOnly);
        var services = CompilationServices.Get(start.Compilation, start.Options);
        var oracle = services.HotPaths;
        var sdk = services.SdkRules;
        start.RegisterOperationAction(operation =>
        {
            var producer = operation.Operation;
            // Cheap shape test first: a string member that copies, or a range indexer on a string.
            if (!IsCandidate(producer) || symbolsOnce.Value is not { } symbols)
                return;
            var scope = services.ScopeOf(Scope, producer.Syntax.SyntaxTree);
            if (!oracle.IsInScope(scope, producer, operation.ContainingSymbol))
                return;
            var deferToCa1846 = sdk.Reports(SdkRule.PreferAsSpanOverSubstring, producer.Syntax.SyntaxTree, operation.CancellationToken);
            var plan = SubstringCopies.Analyze(producer, symbols, operation.ContainingSymbol, operation.CancellationToken, deferToCa1846);
            if (plan is null)
                return;
            operation.ReportDiagnostic(Diagnostic.Create(
                RuleCatalogue.SubstringAsSpan,
                producer.Syntax.GetLocation(),
                CopyName(plan),
                CountText(plan),
                TargetText(plan),
                Descriptions(plan, out var verb),
                verb,
                ReceiverText(plan.Receiver)));
        }, OperationKind.Invocation, RoslynEnums.ImplicitIndexerReference);
    });

    private static bool IsCandidate(IOperation operation) => operation switch
    {
        IInvocationOperation { TargetMethod: { IsStatic: false, Name: "Substring" or "Remove" or "Trim" or "TrimStart" or "TrimEnd" or "ToCharArray" } method }
            => method.ContainingType?.SpecialType == SpecialType.System_String,
        IImplicitIndexerReferenceOperation { Instance.Type.SpecialType: SpecialType.System_String } => true,
        _ => false,
    };

    private static string CopyName(SubstringCopyPlan plan)
    {
        if (plan.Kind == CopyKind.Range && plan.Producer.Syntax is ElementAccessExpressionSyntax access)
            return "The range '" + access.ArgumentList + "'";
        return "'" + ((IInvocationOperation)plan.Producer).TargetMethod.Name + "'";
    }

    /// <summary>"3 characters" when the count is a constant, "the trimmed characters" for Trim, else "characters".</summary>
    private static string CountText(SubstringCopyPlan plan)
    {
        int? count = null;
        switch (plan.Producer)
        {
            case IInvocationOperation invocation when plan.Kind == CopyKind.Trim:
                return "the trimmed characters";
            case IInvocationOperation invocation:
                var arguments = invocation.Arguments;
                if (plan.Kind == CopyKind.Remove && arguments.Length == 1)
                    count = ConstantInt(arguments[0].Value);
                else if (plan.Kind is CopyKind.Substring or CopyKind.ToCharArray && arguments.Length == 2)
                    count = ConstantInt(arguments[1].Value);
                break;
            case IImplicitIndexerReferenceOperation { Argument: IRangeOperation range }:
                var start = range.LeftOperand is null ? 0 : FromStart(range.LeftOperand);
                var end = range.RightOperand is null ? null : FromStart(range.RightOperand);
                if (start is not null && end is not null && end >= start)
                    count = end - start;
                break;
        }

        return count switch
        {
            null => "characters",
            1 => "1 character",
            _ => count.Value.ToString(System.Globalization.CultureInfo.InvariantCulture) + " characters",
        };
    }

    private static int? ConstantInt(IOperation operation)
        => operation.ConstantValue is { HasValue: true, Value: int value } && value >= 0 ? value : null;

    /// <summary>A constant index that counts from the start (not <c>^n</c>).</summary>
    private static int? FromStart(IOperation operation)
    {
        operation = operation.WithoutImplicitConversions();
        return operation is IUnaryOperation { OperatorKind: UnaryOperatorKind.Hat } ? null : ConstantInt(operation);
    }

    private static string TargetText(SubstringCopyPlan plan)
    {
        var kind = plan.Kind == CopyKind.ToCharArray ? "char array" : "string";
        return plan.Local is null ? kind : kind + " '" + plan.Local.Name + "'";
    }

    /// <summary>The distinct uses, e.g. "parsed by 'int.Parse' and compared with '=='", and the verb of the advice.</summary>
    private static string Descriptions(SubstringCopyPlan plan, out string verb)
    {
        var seen = new List<string>();
        verb = plan.Uses[0].Verb;
        foreach (var use in plan.Uses)
        {
            if (!seen.Contains(use.Description))
                seen.Add(use.Description);
            if (use.Verb != verb)
                verb = "use";
        }

        var text = new StringBuilder();
        var shown = seen.Count > 3 ? 3 : seen.Count;
        for (var i = 0; i < shown; i++)
        {
            if (i > 0)
                text.Append(i == seen.Count - 1 ? " and " : ", ");
            text.Append(seen[i]);
        }

        if (seen.Count > shown)
            text.Append(" and ").Append(seen.Count - shown).Append(" more");
        return text.ToString();
    }

    /// <summary>"'line'" for a short receiver, "the original string" otherwise. A receiver that is itself a
    /// copy (<c>line.Substring(i).Trim()</c>) names the string it copies from: the fixes end with a span of it.</summary>
    private static string ReceiverText(IOperation receiver)
    {
        while (IsCandidate(receiver))
        {
            var inner = receiver switch
            {
                IInvocationOperation invocation => invocation.Instance,
                IImplicitIndexerReferenceOperation indexer => indexer.Instance,
                _ => null,
            };
            if (inner is null)
                break;
            receiver = inner;
        }

        var syntax = receiver.Syntax;
        if (syntax is IdentifierNameSyntax or MemberAccessExpressionSyntax or ThisExpressionSyntax && syntax.Span.Length <= 40)
        {
            var text = syntax.ToString();
            if (text.IndexOf('\n') < 0)
                return "'" + text + "'";
        }

        return "the original string";
    }
}
