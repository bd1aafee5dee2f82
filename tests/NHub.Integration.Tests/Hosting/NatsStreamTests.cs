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
        await using var nats = await NatsServer.StartAsync();
        var settings = ClusterSettings.Production("stream-" + Guid.NewGuid().ToString("N")[..6], cs, nats.Url);

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

    [Fact]
    public async Task A_second_deployment_on_the_same_nats_account_is_refused_at_start_naming_the_stream_in_the_way()
    {
        await using var nats = await NatsServer.StartAsync();
        var first = ClusterSettings.Production("first" + Guid.NewGuid().ToString("N")[..6], await servers.MigratedDatabaseAsync(), nats.Url);
        await using var silo1 = new SiloProcess("first", ClusterSettings.AsEnvironment(first));
        await silo1.StartAsync();

        var second = ClusterSettings.Production("second" + Guid.NewGuid().ToString("N")[..6], await servers.MigratedDatabaseAsync(), nats.Url);
        await using var silo2 = new SiloProcess("second", ClusterSettings.AsEnvironment(second));
        await Assert.ThrowsAsync<InvalidOperationException>(() => silo2.StartAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains($"JetStream stream '{first["Nats:OrleansStreamName"]}' already captures subjects", silo2.Output, StringComparison.Ordinal);
    }
}
