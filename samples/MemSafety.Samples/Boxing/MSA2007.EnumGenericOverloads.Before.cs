using System;

namespace MemSafety.Samples.Boxing.Before.EnumGenericOverloads;

public enum Channel
{
    Email,
    Sms,
    Push,
}

// MSA2007: the (Type, object) overloads box the Channel value; net10.0 has generic overloads that do not.
public static class ChannelNames
{
    public static string Describe(Channel channel)
    {
        if (!Enum.IsDefined(typeof(Channel), channel))
            return "unknown";
        return Enum.GetName(typeof(Channel), channel) ?? "unknown";
    }
}
