namespace NHub.Grains.Tests;

/// <summary>The gateway directory behind the fleet page's gateway list: up while reporting, down after three missed reports.</summary>
[Collection(GrainsCluster.Name)]
public sealed class GatewayDirectoryTests(GrainsClusterFixture cluster)
{
    [Fact]
    public async Task A_gateway_is_up_while_it_reports_down_after_three_missed_reports_and_gone_when_it_leaves()
    {
        var directory = cluster.Grains.GetGrain<IGatewayDirectoryGrain>(0);
        var period = TimeSpan.FromSeconds(15);
        var id = Guid.NewGuid();
        var status = new GatewayStatus(id, "gw-test", cluster.Time.GetUtcNow(), 7, 2, 3, ["coaps [::]:5684"], period);
        await directory.Report(status);
        GatewayEntry Mine(IReadOnlyList<GatewayEntry> list) => Assert.Single(list, e => e.Status.GatewayId == id);

        var entry = Mine(await directory.List());
        Assert.True(entry.Up);
        Assert.Equal(7, entry.Status.DtlsSessions);

        cluster.Time.Advance(period * GatewayDirectoryGrain.MissedReportsBeforeDown);
        Assert.True(Mine(await directory.List()).Up);
        cluster.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(Mine(await directory.List()).Up);

        await directory.Report(status with { DtlsSessions = 8 });
        Assert.Equal(8, Mine(await directory.List()).Status.DtlsSessions);
        await directory.Leave(id);
        Assert.DoesNotContain(await directory.List(), e => e.Status.GatewayId == id);

        // One that stops reporting without leaving (killed) is shown down, then forgotten after an hour.
        var killed = status with { GatewayId = Guid.NewGuid() };
        await directory.Report(killed);
        cluster.Time.Advance(GatewayDirectoryGrain.ForgetAfter);
        Assert.False(Assert.Single(await directory.List(), e => e.Status.GatewayId == killed.GatewayId).Up);
        cluster.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.DoesNotContain(await directory.List(), e => e.Status.GatewayId == killed.GatewayId);
    }
}
