namespace MemSafety.Analyzers.Tests.Verification;

/// <summary>A diagnostic a test expects at a named markup location (<c>{|#n:…|}</c>), optionally with
/// its exact message.</summary>
public sealed record ExpectedDiagnostic(string Id, int LocationIndex, string? Message = null, int? AdditionalLocationIndex = null)
{
    public static ExpectedDiagnostic At(string id, int locationIndex) => new(id, locationIndex);

    public ExpectedDiagnostic WithMessage(string message) => this with { Message = message };

    /// <summary>The diagnostic's first additional location must be the markup location <c>{|#n:…|}</c>.</summary>
    public ExpectedDiagnostic WithAdditionalLocation(int locationIndex) => this with { AdditionalLocationIndex = locationIndex };
}
