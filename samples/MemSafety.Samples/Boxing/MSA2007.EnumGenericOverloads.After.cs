using System;

namespace MemSafety.Samples.Boxing.After.EnumGenericOverloads;

public enum Channel
{
    Email,
    Sms,
    Push,
}

public static class ChannelNames
{
    public static string Describe(Channel channel)
    {
        if (!Enum.IsDefined<Channel>(channel))
            return "unknown";
        return Enum.GetName<Channel>(channel) ?? "unknown";
    }
}
