using Orleans.Placement;
using Orleans.Streams;

namespace NHub.Grains;

[RandomPlacement]
public sealed class ClusterProbeGrain(TimeProvider time) : Grain, IClusterProbeGrain
{
    public Task<string> GetSiloIdentity() => Task.FromResult(RuntimeIdentity);

    public async Task Publish(Guid streamKey, ProbeEvent message)
    {
        var stream = this.GetStreamProvider(PlatformStreams.ProviderName)
            .GetStream<ProbeEvent>(StreamId.Create(PlatformStreams.Probe, streamKey));
        await stream.OnNextAsync(message with { FromSilo = RuntimeIdentity, SentAt = time.GetUtcNow() });
    }
}
