using System;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.FlowAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace MemSafety.Analyzers.Corpus;

/// <summary>
/// <c>--floor</c>: what the driver charges for our registrations before any rule does its own work. Each analyzer
/// is wrapped: its <c>Initialize</c> runs against contexts that pass every start action through for real (compilation
/// start, symbol start, operation block start: they decide what is registered, so a gate in them keeps working) and
/// replace every other callback (operation, syntax node, symbol, block, end actions) with an empty one of the same
/// kinds. The wrapper's telemetry is then the dispatch floor of the analyzer's registrations plus its start actions;
/// the difference to the real analyzer's time is its own work. The driver checks the real registrations (kinds,
/// concurrency, generated code) exactly as for the analyzer itself.
/// </summary>
// Not an analyzer of its own (no attribute; the wrapped analyzer configures concurrency and generated code, and its
// start actions register through the wrapping contexts, which the meta-analyzers cannot see).
// The public constructors of the start contexts are obsolete (for testing only): the wrappers only forward to the
// driver's own contexts, and no start action of ours asks a control-flow graph or the generated-code flag.
#pragma warning disable RS1001, RS1012, RS1025, RS1026, CS0618
internal sealed class DispatchFloor : DiagnosticAnalyzer
{
    public DispatchFloor(DiagnosticAnalyzer inner) => Inner = inner;

    /// <summary>The analyzer whose registrations are replayed.</summary>
    public DiagnosticAnalyzer Inner { get; }

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => Inner.SupportedDiagnostics;

    public override void Initialize(AnalysisContext context) => Inner.Initialize(new Root(context));

    /// <summary>The name reports use for an analyzer: a floor wrapper is named after the analyzer it replays.</summary>
    public static string NameOf(DiagnosticAnalyzer analyzer)
        => (analyzer is DispatchFloor floor ? floor.Inner : analyzer).GetType().Name;

    /// <summary>The full type name (a key unique across packages), a floor wrapper's of its analyzer.</summary>
    public static string FullNameOf(DiagnosticAnalyzer analyzer)
    {
        var type = (analyzer is DispatchFloor floor ? floor.Inner : analyzer).GetType();
        return type.FullName ?? type.Name;
    }

    public static ImmutableArray<DiagnosticAnalyzer> Wrap(ImmutableArray<DiagnosticAnalyzer> analyzers)
        => analyzers.Select(a => (DiagnosticAnalyzer)new DispatchFloor(a)).ToImmutableArray();

    private static void Nothing<T>(T _)
    {
    }

    private sealed class Root : AnalysisContext
    {
        private readonly AnalysisContext _inner;

        public Root(AnalysisContext inner) => _inner = inner;

        public override void EnableConcurrentExecution() => _inner.EnableConcurrentExecution();
        public override void ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags analysisMode) => _inner.ConfigureGeneratedCodeAnalysis(analysisMode);
        public override void RegisterCompilationStartAction(Action<CompilationStartAnalysisContext> action)
            => _inner.RegisterCompilationStartAction(c => action(new CompilationStart(c)));
        public override void RegisterCompilationAction(Action<CompilationAnalysisContext> action) => _inner.RegisterCompilationAction(Nothing);
        public override void RegisterSemanticModelAction(Action<SemanticModelAnalysisContext> action) => _inner.RegisterSemanticModelAction(Nothing);
        public override void RegisterSymbolAction(Action<SymbolAnalysisContext> action, ImmutableArray<SymbolKind> symbolKinds) => _inner.RegisterSymbolAction(Nothing, symbolKinds);
        public override void RegisterSymbolStartAction(Action<SymbolStartAnalysisContext> action, SymbolKind symbolKind)
            => _inner.RegisterSymbolStartAction(c => action(new SymbolStart(c)), symbolKind);
        public override void RegisterCodeBlockStartAction<TLanguageKindEnum>(Action<CodeBlockStartAnalysisContext<TLanguageKindEnum>> action)
            => throw new NotSupportedException("--floor: code block start actions are not replayed");
        public override void RegisterCodeBlockAction(Action<CodeBlockAnalysisContext> action) => _inner.RegisterCodeBlockAction(Nothing);
        public override void RegisterSyntaxTreeAction(Action<SyntaxTreeAnalysisContext> action) => _inner.RegisterSyntaxTreeAction(Nothing);
        public override void RegisterSyntaxNodeAction<TLanguageKindEnum>(Action<SyntaxNodeAnalysisContext> action, ImmutableArray<TLanguageKindEnum> syntaxKinds)
            => _inner.RegisterSyntaxNodeAction(Nothing, syntaxKinds);
        public override void RegisterOperationBlockStartAction(Action<OperationBlockStartAnalysisContext> action)
            => _inner.RegisterOperationBlockStartAction(c => action(new OperationBlockStart(c)));
        public override void RegisterOperationBlockAction(Action<OperationBlockAnalysisContext> action) => _inner.RegisterOperationBlockAction(Nothing);
        public override void RegisterOperationAction(Action<OperationAnalysisContext> action, ImmutableArray<OperationKind> operationKinds)
            => _inner.RegisterOperationAction(Nothing, operationKinds);
    }

    private sealed class CompilationStart : CompilationStartAnalysisContext
    {
        private readonly CompilationStartAnalysisContext _inner;

        public CompilationStart(CompilationStartAnalysisContext inner)
            : base(inner.Compilation, inner.Options, inner.CancellationToken)
            => _inner = inner;

        public override void RegisterCompilationEndAction(Action<CompilationAnalysisContext> action) => _inner.RegisterCompilationEndAction(Nothing);
        public override void RegisterSemanticModelAction(Action<SemanticModelAnalysisContext> action) => _inner.RegisterSemanticModelAction(Nothing);
        public override void RegisterSymbolAction(Action<SymbolAnalysisContext> action, ImmutableArray<SymbolKind> symbolKinds) => _inner.RegisterSymbolAction(Nothing, symbolKinds);
        public override void RegisterSymbolStartAction(Action<SymbolStartAnalysisContext> action, SymbolKind symbolKind)
            => _inner.RegisterSymbolStartAction(c => action(new SymbolStart(c)), symbolKind);
        public override void RegisterCodeBlockStartAction<TLanguageKindEnum>(Action<CodeBlockStartAnalysisContext<TLanguageKindEnum>> action)
            => throw new NotSupportedException("--floor: code block start actions are not replayed");
        public override void RegisterCodeBlockAction(Action<CodeBlockAnalysisContext> action) => _inner.RegisterCodeBlockAction(Nothing);
        public override void RegisterOperationBlockStartAction(Action<OperationBlockStartAnalysisContext> action)
            => _inner.RegisterOperationBlockStartAction(c => action(new OperationBlockStart(c)));
        public override void RegisterOperationBlockAction(Action<OperationBlockAnalysisContext> action) => _inner.RegisterOperationBlockAction(Nothing);
        public override void RegisterSyntaxTreeAction(Action<SyntaxTreeAnalysisContext> action) => _inner.RegisterSyntaxTreeAction(Nothing);
        public override void RegisterSyntaxNodeAction<TLanguageKindEnum>(Action<SyntaxNodeAnalysisContext> action, ImmutableArray<TLanguageKindEnum> syntaxKinds)
            => _inner.RegisterSyntaxNodeAction(Nothing, syntaxKinds);
        public override void RegisterOperationAction(Action<OperationAnalysisContext> action, ImmutableArray<OperationKind> operationKinds)
            => _inner.RegisterOperationAction(Nothing, operationKinds);
    }

    private sealed class SymbolStart : SymbolStartAnalysisContext
    {
        private readonly SymbolStartAnalysisContext _inner;

        public SymbolStart(SymbolStartAnalysisContext inner)
            : base(inner.Symbol, inner.Compilation, inner.Options, inner.CancellationToken)
            => _inner = inner;

        public override void RegisterSymbolEndAction(Action<SymbolAnalysisContext> action) => _inner.RegisterSymbolEndAction(Nothing);
        public override void RegisterCodeBlockStartAction<TLanguageKindEnum>(Action<CodeBlockStartAnalysisContext<TLanguageKindEnum>> action)
            => throw new NotSupportedException("--floor: code block start actions are not replayed");
        public override void RegisterCodeBlockAction(Action<CodeBlockAnalysisContext> action) => _inner.RegisterCodeBlockAction(Nothing);
        public override void RegisterSyntaxNodeAction<TLanguageKindEnum>(Action<SyntaxNodeAnalysisContext> action, ImmutableArray<TLanguageKindEnum> syntaxKinds)
            => _inner.RegisterSyntaxNodeAction(Nothing, syntaxKinds);
        public override void RegisterOperationBlockStartAction(Action<OperationBlockStartAnalysisContext> action)
            => _inner.RegisterOperationBlockStartAction(c => action(new OperationBlockStart(c)));
        public override void RegisterOperationBlockAction(Action<OperationBlockAnalysisContext> action) => _inner.RegisterOperationBlockAction(Nothing);
        public override void RegisterOperationAction(Action<OperationAnalysisContext> action, ImmutableArray<OperationKind> operationKinds)
            => _inner.RegisterOperationAction(Nothing, operationKinds);
    }

    private sealed class OperationBlockStart : OperationBlockStartAnalysisContext
    {
        private readonly OperationBlockStartAnalysisContext _inner;

        public OperationBlockStart(OperationBlockStartAnalysisContext inner)
            : base(inner.OperationBlocks, inner.OwningSymbol, inner.Compilation, inner.Options, inner.CancellationToken)
            => _inner = inner;

        public override void RegisterOperationBlockEndAction(Action<OperationBlockAnalysisContext> action) => _inner.RegisterOperationBlockEndAction(Nothing);
        public override void RegisterOperationAction(Action<OperationAnalysisContext> action, ImmutableArray<OperationKind> operationKinds)
            => _inner.RegisterOperationAction(Nothing, operationKinds);
    }
}
#pragma warning restore RS1001, RS1012, RS1025, RS1026, CS0618
