using System.Collections.Immutable;

namespace MemSafety.Analyzers.Tests.Verification;

/// <summary>A diagnostic a test expects at a named markup location (<c>{|#n:…|}</c>), optionally with
/// its exact message and its additional locations.</summary>
public sealed record ExpectedDiagnostic(string Id, int LocationIndex, string? Message = null)
{
    /// <summary>The markup locations of the diagnostic's additional locations, in order; empty: not checked.</summary>
    public ImmutableArray<int> AdditionalLocationIndices { get; init; } = ImmutableArray<int>.Empty;

    public static ExpectedDiagnostic At(string id, int locationIndex) => new(id, locationIndex);

    public ExpectedDiagnostic WithMessage(string message) => this with { Message = message };

    /// <summary>The diagnostic's next additional location must be the markup location <c>{|#n:…|}</c>. Once one is
    /// given, the diagnostic must have exactly the additional locations given.</summary>
    public ExpectedDiagnostic WithAdditionalLocation(int locationIndex) => this with { AdditionalLocationIndices = AdditionalLocationIndices.Add(locationIndex) };
}
