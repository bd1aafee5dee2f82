namespace NHub.Grains.Tests;

/// <summary>
/// What the fleet page reads without activating twins: the registry rows the twins keep current (transport, pending
/// commands, firmware download) and their filters.
/// </summary>
[Collection(GrainsCluster.Name)]
public sealed class FleetRegistryTests(GrainsClusterFixture cluster)
{
    private Task<DevicePage> Query(DeviceQuery query) => cluster.Grains.GetGrain<IDeviceRegistryGrain>(0).Query(query);

    private async Task<DeviceSummary> Row(string deviceId) =>
        Assert.Single((await Query(new DeviceQuery(null, OnlineFilter.Any, 0, 10, IdPrefix: deviceId))).Items);

    [Fact]
    public async Task The_row_follows_transport_pending_commands_and_firmware_download()
    {
        var device = await cluster.ProvisionAsync("fleet-row");
        var row = await Row("fleet-row");
        Assert.Equal((DeviceTransport.None, 0, null), (row.Transport, row.PendingCommands, row.FirmwareDownloading));

        await device.ObserveCommands(new CommandObservation(Guid.NewGuid(), "10.0.0.9:5000", DeviceTransport.Coaps, null, [], 50));
        Assert.Equal(DeviceTransport.Coaps, (await Row("fleet-row")).Transport);

        var first = await device.EnqueueCommand(new CommandRequest("reboot", null, 3600));
        await device.EnqueueCommand(new CommandRequest("sync", null, 3600));
        Assert.Equal(2, (await Row("fleet-row")).PendingCommands);
        await device.CommandsDelivered([first!.Id]);
        Assert.Equal(1, (await Row("fleet-row")).PendingCommands);

        var now = cluster.Time.GetUtcNow();
        await device.ReportFirmwareProgress(new FirmwareBlockReport("3.1.0", 1, 512, 2048, false, now));
        Assert.Equal("3.1.0", (await Row("fleet-row")).FirmwareDownloading);
        await device.ReportFirmwareProgress(new FirmwareBlockReport("3.1.0", 3, 1536, 2048, true, now));
        Assert.Null((await Row("fleet-row")).FirmwareDownloading);
    }

    [Fact]
    public async Task Prefix_transport_and_pending_filters_and_the_last_seen_order()
    {
        var quiet = await cluster.ProvisionAsync("fleetf-quiet");
        var busy = await cluster.ProvisionAsync("fleetf-busy");
        var plain = await cluster.ProvisionAsync("fleetf-plain");
        await cluster.ProvisionAsync("other-fleetf");
        await busy.ObserveCommands(new CommandObservation(Guid.NewGuid(), "10.0.0.10:5000", DeviceTransport.Coaps, null, [], 50));
        await busy.EnqueueCommand(new CommandRequest("reboot", null, 3600));
        cluster.Time.Advance(TimeSpan.FromSeconds(5));
        await plain.ObserveCommands(new CommandObservation(Guid.NewGuid(), "10.0.0.11:5000", DeviceTransport.Coap, null, [], 50));

        static IEnumerable<string> Ids(DevicePage page) => page.Items.Select(d => d.DeviceId);
        Assert.Equal(["fleetf-busy", "fleetf-plain", "fleetf-quiet"], Ids(await Query(new DeviceQuery(null, OnlineFilter.Any, 0, 10, IdPrefix: "fleetf-"))));
        Assert.Equal(["fleetf-busy"], Ids(await Query(new DeviceQuery(null, OnlineFilter.Any, 0, 10, IdPrefix: "fleetf-", Transport: DeviceTransport.Coaps))));
        Assert.Equal(["fleetf-quiet"], Ids(await Query(new DeviceQuery(null, OnlineFilter.Offline, 0, 10, IdPrefix: "fleetf-", Transport: DeviceTransport.None))));
        Assert.Equal(["fleetf-busy"], Ids(await Query(new DeviceQuery(null, OnlineFilter.Any, 0, 10, IdPrefix: "fleetf-", PendingCommandsOnly: true))));
        // Prefix is a prefix, case-sensitive; most recently seen first, never seen last.
        Assert.Empty(Ids(await Query(new DeviceQuery(null, OnlineFilter.Any, 0, 10, IdPrefix: "FLEETF-"))));
        Assert.Equal(["fleetf-plain", "fleetf-busy", "fleetf-quiet"],
            Ids(await Query(new DeviceQuery(null, OnlineFilter.Any, 0, 10, IdPrefix: "fleetf-", Order: DeviceOrder.LastSeenDescending))));
        Assert.NotNull(await quiet.GetTwin());

        var counts = await cluster.Grains.GetGrain<IDeviceRegistryGrain>(0).Summarize();
        Assert.True(counts.PendingCommands >= 1);
        Assert.Equal(counts.Devices, counts.ByTransport.Sum(t => t.Devices));
        Assert.Equal(counts.Online, counts.ByTransport.Sum(t => t.Online));
        Assert.Contains(counts.ByTransport, t => t.Transport == DeviceTransport.Coap && t.Online >= 1);
    }
}
