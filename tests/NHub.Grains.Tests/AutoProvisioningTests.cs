using NHub.Grains.Services;

namespace NHub.Grains.Tests;

/// <summary>
/// AutoProvisioningGrain: development auto-provisioning creates an unknown device with an empty record, marked as
/// such, at most Devices:AutoProvisionMaxDevices of them cluster-wide; deleting one frees its place.
/// </summary>
[Collection(GrainsCluster.Name)]
public sealed class AutoProvisioningTests(GrainsClusterFixture cluster)
{
    [Fact]
    public async Task Unknown_devices_are_created_up_to_the_cap_and_a_deleted_one_frees_its_place()
    {
        var provisioning = cluster.Grains.GetGrain<IAutoProvisioningGrain>(0);
        Assert.Equal(0, await provisioning.Count());

        Assert.Equal(AutoProvisionOutcome.Provisioned, await provisioning.Provision("auto-1", "10.0.0.7:40000", DeviceTransport.Coap));
        var twin = (await cluster.Grains.GetGrain<IDeviceGrain>("auto-1").GetTwin())!;
        Assert.True(twin.AutoProvisioned);
        Assert.Equal(new DeviceRecord("auto-1", null, null, null, null), twin.Record);
        Assert.Equal([DeviceEventTypes.AutoProvisioned], cluster.Events.TypesOf("auto-1"));

        // Again for the same device (a second gateway, a retry): still one device, no second event.
        Assert.Equal(AutoProvisionOutcome.Provisioned, await provisioning.Provision("auto-1", "10.0.0.7:40000", DeviceTransport.Coap));
        Assert.Equal(1, await provisioning.Count());
        Assert.Single(cluster.Events.TypesOf("auto-1"));

        // A device provisioned through the portal does not count toward the cap.
        await cluster.ProvisionAsync("auto-portal");
        Assert.Equal(AutoProvisionOutcome.Provisioned, await provisioning.Provision("auto-portal", "10.0.0.7:40000", DeviceTransport.Coap));
        Assert.False((await cluster.Grains.GetGrain<IDeviceGrain>("auto-portal").GetTwin())!.AutoProvisioned);
        Assert.Equal(1, await provisioning.Count());

        Assert.Equal(AutoProvisionOutcome.Provisioned, await provisioning.Provision("auto-2", "10.0.0.7:40000", DeviceTransport.Coap));
        Assert.Equal(AutoProvisionOutcome.CapReached, await provisioning.Provision("auto-3", "10.0.0.7:40000", DeviceTransport.Coap));
        Assert.Null(await cluster.Grains.GetGrain<IDeviceGrain>("auto-3").GetTwin());

        // Released is one-way: wait for the count to drop, bounded, by asking the grain.
        Assert.True(await cluster.Grains.GetGrain<IDeviceGrain>("auto-1").Delete());
        for (var i = 0; i < 100 && await provisioning.Count() != GrainsClusterFixture.AutoProvisionMaxDevices - 1; i++)
        {
        }
        Assert.Equal(GrainsClusterFixture.AutoProvisionMaxDevices - 1, await provisioning.Count());
        Assert.Equal(AutoProvisionOutcome.Provisioned, await provisioning.Provision("auto-3", "10.0.0.7:40000", DeviceTransport.Coap));
        Assert.True((await cluster.Grains.GetGrain<IDeviceGrain>("auto-3").GetTwin())!.AutoProvisioned);
    }
}
