using NHub.Grains;
using NHub.Testing;

namespace NHub.Interop.Tests.Gateway;

/// <summary>The whole platform in one embedded silo process (no servers), with a cluster client for provisioning.</summary>
public sealed class EmbeddedPlatform : IAsyncLifetime
{
    public SiloProcess Silo { get; private set; } = null!;
    public ClusterClient Client { get; private set; } = null!;
    public IClusterClient Grains => Client.Client;
    public string CoapBase => $"coap://127.0.0.1:{Silo.CoapPort}";

    public async Task InitializeAsync()
    {
        Silo = new SiloProcess("embedded", new Dictionary<string, string?> { ["Gateway__PlainMode"] = "Enabled" });
        await Silo.StartAsync();
        Client = await ClusterClient.ConnectAsync(new Dictionary<string, string?> { ["Orleans:GatewayPort"] = Silo.GatewayPort.ToString(System.Globalization.CultureInfo.InvariantCulture) });
    }

    public async Task DisposeAsync()
    {
        await Client.DisposeAsync();
        await Silo.DisposeAsync();
    }

    public async Task<IDeviceGrain> ProvisionAsync(string deviceId)
    {
        var device = Grains.GetGrain<IDeviceGrain>(deviceId);
        await device.Provision(new DeviceRecord(deviceId, "KM-3", "SN-" + deviceId, null, null));
        return device;
    }
}
