using NHub.Grains;
using NHub.Testing;
using Orleans.Streams;

namespace NHub.Integration.Tests.Hosting;

[Collection(PlatformServersCollection.Name)]
public sealed class NatsStreamTests(PlatformServersFixture servers)
{
    [Fact]
    public async Task An_event_produced_on_a_nats_stream_in_the_silo_reaches_a_subscriber_in_a_separate_client_process()
    {
        var cs = await servers.MigratedDatabaseAsync();
        var settings = ClusterSettings.Production("stream-" + Guid.NewGuid().ToString("N")[..6], cs, servers.Nats.Url);

        await using var silo = new SiloProcess("silo", ClusterSettings.AsEnvironment(settings));
        await silo.StartAsync();
        await using var client = await ClusterClient.ConnectAsync(settings);

        var streamKey = Guid.NewGuid();
        var received = new TaskCompletionSource<ProbeEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        var stream = client.Client.GetStreamProvider(PlatformStreams.ProviderName)
            .GetStream<ProbeEvent>(StreamId.Create(PlatformStreams.Probe, streamKey));
        // Subscribe before producing: the wait is set up before the action.
        var handle = await stream.SubscribeAsync((e, _) =>
        {
            received.TrySetResult(e);
            return Task.CompletedTask;
        });

        await client.Client.GetGrain<IClusterProbeGrain>(1).Publish(streamKey, new ProbeEvent("hello over JetStream", "", default));

        var got = await received.Task.WaitAsync(TimeSpan.FromSeconds(30))
            .ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : throw new TimeoutException("No stream event within 30 s. Silo log:\n" + silo.Output), TaskScheduler.Default);
        Assert.Equal("hello over JetStream", got.Text);
        Assert.False(string.IsNullOrEmpty(got.FromSilo));
        await handle.UnsubscribeAsync();
    }
}
