using NHub.Grains.Services;

namespace NHub.Grains.Tests.Devices;

/// <summary>
/// DeviceGrain (record and lifecycle): Create is atomic (of racing creates exactly one wins), concurrent PATCHes of
/// different fields all land, delete forgets the device, and calls to a device that does not exist leave no activation.
/// The races hold because the twin checks and sets its record within one turn of a non-reentrant grain; these tests
/// fail if the check and the set are split by an await in a reentrant grain (tried by hand).
/// </summary>
[Collection(GrainsCluster.Name)]
public sealed class DeviceRecordTests(GrainsClusterFixture cluster)
{
    [Fact]
    public async Task Of_concurrent_creates_exactly_one_wins_and_its_record_is_the_one_kept()
    {
        var device = cluster.Grains.GetGrain<IDeviceGrain>("rec-race");
        var attempts = Enumerable.Range(0, 16)
            .Select(i => device.Create(new DeviceRecord("rec-race", "model-" + i, "SN-" + i, null, null)))
            .ToList();
        var results = await Task.WhenAll(attempts);

        var winner = Assert.Single(results, r => r is not null)!;
        Assert.Equal(winner.Record, (await device.GetTwin())!.Record);
        var listed = await cluster.Grains.GetGrain<IDeviceRegistryGrain>(0).Query(new DeviceQuery("rec-race", OnlineFilter.Any, 0, 10));
        Assert.Equal(winner.Record.Model, Assert.Single(listed.Items).Model);
        Assert.Null(await device.Create(new DeviceRecord("rec-race", "late", null, null, null)));
    }

    [Fact]
    public async Task Concurrent_patches_of_different_fields_all_land()
    {
        var device = cluster.Grains.GetGrain<IDeviceGrain>("rec-patch");
        var created = await device.Create(new DeviceRecord("rec-patch", "KM-3", "SN-1", "869181070000001", new SimDetails("8931", null, "op")));
        cluster.Time.Advance(TimeSpan.FromSeconds(5));

        await Task.WhenAll(
            device.Update(new DeviceRecordPatch("KM-4", null, null, null)),
            device.Update(new DeviceRecordPatch(null, "SN-2", null, null)),
            device.Update(new DeviceRecordPatch(null, null, "", null)),
            device.Update(new DeviceRecordPatch(null, null, null, new SimDetails(null, "+4912345", null))),
            device.Update(new DeviceRecordPatch(null, null, null, new SimDetails(null, null, ""))));

        var twin = (await device.GetTwin())!;
        Assert.Equal(new DeviceRecord("rec-patch", "KM-4", "SN-2", null, new SimDetails("8931", "+4912345", null)), twin.Record);
        Assert.Equal(created!.CreatedAt, twin.CreatedAt);
        Assert.Equal(cluster.Time.GetUtcNow(), twin.UpdatedAt);
    }

    [Fact]
    public async Task A_record_for_another_id_or_an_invalid_id_is_refused_and_an_unknown_device_is_not_patched()
    {
        await Assert.ThrowsAsync<ArgumentException>(() =>
            cluster.Grains.GetGrain<IDeviceGrain>("rec-a").Create(new DeviceRecord("rec-b", null, null, null, null)));
        await Assert.ThrowsAsync<ArgumentException>(() =>
            cluster.Grains.GetGrain<IDeviceGrain>("rec.bad").Create(new DeviceRecord("rec.bad", null, null, null, null)));
        Assert.Null(await cluster.Grains.GetGrain<IDeviceGrain>("rec-a").GetTwin());
        Assert.Null(await cluster.Grains.GetGrain<IDeviceGrain>("rec-nobody").Update(new DeviceRecordPatch("KM-4", null, null, null)));
        Assert.Null(await cluster.Grains.GetGrain<IDeviceGrain>("rec-nobody").GetTwin());
    }

    [Fact]
    public async Task A_deleted_device_is_forgotten_by_its_twin_and_the_registry_and_can_be_created_again_afresh()
    {
        var device = await cluster.ProvisionAsync("rec-delete");
        await device.EnqueueCommand(new CommandRequest("reboot", null, 3600));
        var registry = cluster.Grains.GetGrain<IDeviceRegistryGrain>(0);

        Assert.True(await device.Delete());
        Assert.False(await device.Delete());

        Assert.Null(await device.GetTwin());
        Assert.Null(await device.ListCommands());
        Assert.Empty((await registry.Query(new DeviceQuery("rec-delete", OnlineFilter.Any, 0, 10))).Items);
        Assert.Equal(DeviceEventTypes.Deleted, cluster.Events.TypesOf("rec-delete")[^1]);

        cluster.Time.Advance(TimeSpan.FromMinutes(1));
        var again = await device.Create(new DeviceRecord("rec-delete", "KM-5", null, null, null));
        Assert.Equal(cluster.Time.GetUtcNow(), again!.CreatedAt);
        Assert.Equal(0, again.PendingCommands);
        Assert.Empty((await device.ListCommands())!);
    }

    [Fact]
    public async Task A_call_to_a_device_that_does_not_exist_leaves_no_activation_while_a_provisioned_one_stays_active()
    {
        var unknown = cluster.Grains.GetGrain<IDeviceGrain>("rec-ghost");
        Assert.Null(await unknown.GetTwin());
        await cluster.Cluster.WaitForDeactivationAsync((GrainReference)unknown).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(cluster.Cluster.TryGetGrainContext(((GrainReference)unknown).GrainId, out _));

        var known = await cluster.ProvisionAsync("rec-real");
        Assert.NotNull(await known.GetTwin());
        Assert.True(cluster.Cluster.TryGetGrainContext(((GrainReference)known).GrainId, out _));
    }
}
