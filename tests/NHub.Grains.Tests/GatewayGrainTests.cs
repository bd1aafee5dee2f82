using NHub.Grains.Gateways;

namespace NHub.Grains.Tests;

/// <summary>How grains reach a gateway process: attached, refreshed, gone after missed refreshes, detached, and still found after the grain's reactivation.</summary>
[Collection(GrainsCluster.Name)]
public sealed class GatewayGrainTests(GrainsClusterFixture cluster)
{
    private static DownlinkCommands Downlink(string deviceId) => new(deviceId, []);

    [Fact]
    public async Task Nothing_attached_means_nothing_is_pushed()
    {
        var grain = cluster.Grains.GetGrain<IGatewayGrain>(Guid.NewGuid());
        Assert.False(await grain.PushCommands(Downlink("gw-none")));
        Assert.False(await grain.SessionMoved(new DtlsSessionMoved("0a0b", "dtls:x", Guid.NewGuid(), Guid.NewGuid())));
    }

    [Fact]
    public async Task A_gateway_that_refreshes_keeps_getting_pushes_one_that_stops_is_gone_after_three_periods()
    {
        var gateway = await TestGateway.AttachAsync(cluster);
        Assert.True(await gateway.Grain.PushCommands(Downlink("gw-a")));
        Assert.Equal("gw-a", (await gateway.NextCommandsAsync()).DeviceId);

        cluster.Time.Advance(TestGateway.RefreshPeriod * 2);
        await gateway.RefreshAsync();
        cluster.Time.Advance(TestGateway.RefreshPeriod * GatewayGrain.MissedRefreshesBeforeGone);
        Assert.True(await gateway.Grain.PushCommands(Downlink("gw-b")));
        Assert.Equal("gw-b", (await gateway.NextCommandsAsync()).DeviceId);

        cluster.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(await gateway.Grain.PushCommands(Downlink("gw-c")));

        // Back (a partition healed): the next refresh makes it reachable again.
        await gateway.RefreshAsync();
        Assert.True(await gateway.Grain.PushCommands(Downlink("gw-d")));
        Assert.Equal("gw-d", (await gateway.NextCommandsAsync()).DeviceId);

        await gateway.DisposeAsync();
        Assert.False(await gateway.Grain.PushCommands(Downlink("gw-e")));
    }

    [Fact]
    public async Task The_attachment_survives_the_grains_reactivation_as_after_a_silo_restart()
    {
        await using var gateway = await TestGateway.AttachAsync(cluster);
        Assert.NotNull(await cluster.ReadStoredStateAsync<GatewayGrainState>("gateway", gateway.Grain));

        await cluster.Cluster.DeactivateAsync(((GrainReference)gateway.Grain).GrainId);
        Assert.True(await gateway.Grain.SessionMoved(new DtlsSessionMoved("0a0b", "dtls:y", Guid.NewGuid(), Guid.NewGuid())));
        Assert.Equal("dtls:y", (await gateway.NextMovedAsync()).SessionKey);
    }
}
