using Microsoft.CodeAnalysis.Diagnostics;

namespace MemSafety.Analyzers.Core;

/// <summary>Base of every analyzer in the package: they all run concurrently and skip generated code,
/// so no rule can forget either. Rules register their narrowest action in <see cref="Register"/>.</summary>
public abstract class MemSafetyAnalyzer : DiagnosticAnalyzer
{
    public sealed override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        Register(context);
    }

    protected abstract void Register(AnalysisContext context);
}
