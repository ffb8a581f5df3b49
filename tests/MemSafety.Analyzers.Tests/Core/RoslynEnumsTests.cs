using System;
using System.Reflection;
using MemSafety.Analyzers.Compat;

namespace MemSafety.Analyzers.Tests.Core;

/// <summary>The older Roslyn lanes compile enum members that their Roslyn does not have as constants
/// (Compat/RoslynEnums); each must equal the member of the same name in the Roslyn the tests run (4.14), or a rule
/// would test for the wrong kind in every lane.</summary>
public sealed class RoslynEnumsTests
{
    [Fact]
    public void EveryConstant_EqualsTheRoslynMemberOfTheSameName()
    {
        var fields = typeof(RoslynEnums).GetFields(BindingFlags.Public | BindingFlags.Static);
        Assert.NotEmpty(fields);
        foreach (var field in fields)
        {
            Assert.True(field.IsLiteral && field.FieldType.IsEnum, field.Name);
            var real = Enum.Parse(field.FieldType, field.Name);
            Assert.Equal(real, field.GetValue(null));
        }
    }
}
