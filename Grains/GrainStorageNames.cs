namespace NHub.Grains;

/// <summary>Grain storage provider names registered by the silo.</summary>
public static class GrainStorageNames
{
    /// <summary>Device twins and other durable grain state.</summary>
    public const string Default = "Default";

    /// <summary>Orleans stream pub-sub subscriptions (the name Orleans requires).</summary>
    public const string PubSub = "PubSubStore";
}
