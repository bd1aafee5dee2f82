using System.Text;
using Microsoft.Extensions.DependencyInjection;
using NHub.Grains.Services;

namespace NHub.Grains.Tests.Devices;

/// <summary>
/// DeviceGrain.Connectivity: online at the first message, offline after Devices:OfflineAfter
/// of silence, and the durable reminder that still turns a device offline when the activation that armed the timer is
/// gone. The same contract as tests/NHub.Integration.Tests/Devices/ConnectivityTests, without processes or waiting.
/// </summary>
[Collection(GrainsCluster.Name)]
public sealed class ConnectivityTests(GrainsClusterFixture cluster)
{
    private TelemetryReport Report(string exchange) =>
        new(50, Encoding.UTF8.GetBytes("{\"t\":1}"), cluster.Time.GetUtcNow(), exchange, DeviceTransport.Coaps, "10.0.0.7:40000");

    [Fact]
    public async Task A_device_is_online_at_its_first_message_with_one_online_event()
    {
        var device = await cluster.ProvisionAsync("conn-online");
        Assert.False((await device.GetTwin())!.Connectivity.Online);
        var seen = cluster.Time.GetUtcNow();

        await device.ReportTelemetry(Report("a/1"));
        await device.ReportTelemetry(Report("a/2"));

        var connectivity = (await device.GetTwin())!.Connectivity;
        Assert.True(connectivity.Online);
        Assert.Equal(seen, connectivity.LastSeen);
        Assert.Equal("10.0.0.7:40000", connectivity.LastPeerAddress);
        Assert.Equal(DeviceTransport.Coaps, connectivity.LastTransport);
        var online = Assert.Single(cluster.Events.Of("conn-online"));
        Assert.Equal(DeviceEventTypes.Online, online.Type);
        Assert.Equal(seen, online.At);
        Assert.Equal("coaps", online.Data!["transport"]);
        var listed = await cluster.Grains.GetGrain<IDeviceRegistryGrain>(0).Query(new DeviceQuery("conn-online", OnlineFilter.Online, 0, 10));
        Assert.Equal("conn-online", Assert.Single(listed.Items).DeviceId);
    }

    [Fact]
    public async Task A_device_goes_offline_when_the_window_passes_without_a_message_and_not_before()
    {
        var device = await cluster.ProvisionAsync("conn-offline");
        await device.ReportTelemetry(Report("b/1"));
        var lastSeen = cluster.Time.GetUtcNow();

        // A message inside the window moves it: a second short of a full window after the last message the device is
        // still online, although a full window has passed since its first message.
        cluster.Time.Advance(GrainsClusterFixture.OfflineAfter / 2);
        await device.ReportTelemetry(Report("b/2"));
        lastSeen = cluster.Time.GetUtcNow();
        cluster.Time.Advance(GrainsClusterFixture.OfflineAfter - TimeSpan.FromSeconds(1));
        Assert.True((await device.GetTwin())!.Connectivity.Online);
        Assert.DoesNotContain(DeviceEventTypes.Offline, cluster.Events.TypesOf("conn-offline"));

        // The timer fires exactly when the window ends.
        var offline = cluster.Events.Next("conn-offline", DeviceEventTypes.Offline);
        cluster.Time.Advance(TimeSpan.FromSeconds(1));
        var e = await offline;

        Assert.Equal(lastSeen + GrainsClusterFixture.OfflineAfter, e.At);
        Assert.Equal(lastSeen, e.Data!["last_seen"]);
        Assert.False((await device.GetTwin())!.Connectivity.Online);
        Assert.Equal([DeviceEventTypes.Online, DeviceEventTypes.Offline], cluster.Events.TypesOf("conn-offline"));
        var listed = await cluster.Grains.GetGrain<IDeviceRegistryGrain>(0).Query(new DeviceQuery("conn-offline", OnlineFilter.Offline, 0, 10));
        Assert.Equal("conn-offline", Assert.Single(listed.Items).DeviceId);
    }

    [Fact]
    public async Task A_device_online_when_its_activation_is_lost_still_goes_offline_through_the_durable_reminder()
    {
        var device = await cluster.ProvisionAsync("conn-reminder");
        await device.ReportTelemetry(Report("c/1"));
        var lastSeen = cluster.Time.GetUtcNow();

        var watch = Assert.Single(await ReminderRowsAsync(device));
        Assert.Equal(GrainsClusterFixture.OfflineCheckPeriod, watch.Period);

        // The activation that armed the in-memory timer goes away (a silo failure in production); nobody calls the twin.
        var grainId = ((GrainReference)device).GrainId;
        await cluster.Cluster.DeactivateAsync(grainId);

        // The reminder (registered at the online transition, period OfflineCheckPeriod) reactivates the twin; its
        // activation re-arms the timer from last_seen and the device goes offline once the window has passed.
        var offline = cluster.Events.Next("conn-reminder", DeviceEventTypes.Offline);
        cluster.Time.Advance(GrainsClusterFixture.OfflineAfter + GrainsClusterFixture.OfflineCheckPeriod);
        var e = await offline;
        Assert.True(e.At >= lastSeen + GrainsClusterFixture.OfflineAfter, $"offline at {e.At:O}, before the window ended");
        Assert.Equal([DeviceEventTypes.Online, DeviceEventTypes.Offline], cluster.Events.TypesOf("conn-reminder"));
        Assert.False((await device.GetTwin())!.Connectivity.Online);
        // Offline: the reminder is gone, so an offline device costs no reminder ticks.
        Assert.Empty(await ReminderRowsAsync(device));
    }

    private async Task<IList<ReminderEntry>> ReminderRowsAsync(IDeviceGrain device)
    {
        var table = cluster.Cluster.Silos[0].ServiceProvider.GetRequiredService<IReminderTable>();
        return (await table.ReadRows(((GrainReference)device).GrainId)).Reminders;
    }
}
