namespace NHub.Grains.Gateways;

/// <summary>Persisted state of <see cref="GatewayGrain"/>: where the gateway process is reached, and how often it says so.</summary>
[GenerateSerializer, Alias("nhub.GatewayGrainState")]
public sealed class GatewayGrainState
{
    [Id(0)] public IGatewayObserver? Observer { get; set; }
    [Id(1)] public TimeSpan RefreshPeriod { get; set; }
    [Id(2)] public DateTimeOffset AttachedAt { get; set; }
}
