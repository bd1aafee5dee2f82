using System.Net.Http.Json;
using System.Text.Json;
using NHub.Testing;

namespace NHub.Interop.Tests.Gateway;

/// <summary>
/// A standalone gateway (Gateway.Udp, an Orleans client of the production cluster) crashes while a device observes its
/// commands through it. Commands are persisted by the device grain before they are pushed, so the crash loses none,
/// and a command the device acknowledged is never sent again.
/// </summary>
public sealed class GatewayRestartTests(ProductionPlatform platform) : IClassFixture<ProductionPlatform>
{
    private const string Client = "coap-client-openssl";

    [Fact]
    public async Task A_gateway_crash_loses_no_command_and_delivers_none_twice()
    {
        const string id = "gw-restart";
        var (_, credential) = await platform.ProvisionWithCredentialAsync(id);
        using var api = platform.Api();
        var events = platform.Events;
        var settings = ClusterSettings.AsEnvironment(platform.Settings);
        settings["Gateway__PlainMode"] = "Off";
        string[] Observe(GatewayProcess gateway, int seconds) => ["-B", "60", "-s", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-m", "get", "-u", credential.Summary.PskIdentity, "-k", credential.PskKey, $"{gateway.CoapsBase}/commands/{id}"];

        // Before the crash: the device observes through gateway 1 and acknowledges command A.
        string firstRun;
        JsonElement a;
        await using (var gateway1 = new GatewayProcess("gateway-1", settings))
        {
            await gateway1.StartAsync();
            await using var device = ExternalProcess.Start("device-run-1", RepoPaths.Tool(Client), ["-v", "6", .. Observe(gateway1, 120)]);
            await events.WaitForAsync(id, "online");
            a = await DtlsDeviceFlowTests.PostCommandAsync(api, id, "command-a", new { n = 1 });
            await events.WaitForAsync(id, "command_delivered", e => DeviceEventStream.CommandId(e) == DtlsDeviceFlowTests.CommandId(a));

            // The gateway crashes (nothing is handed back to the grain); the device loses its session.
            gateway1.Kill();
            device.Kill();
            firstRun = device.Output;
        }
        Assert.Contains("command-a", firstRun, StringComparison.Ordinal);

        // While no gateway runs, the portal queues command B: accepted (202) and persisted.
        var b = await DtlsDeviceFlowTests.PostCommandAsync(api, id, "command-b", new { n = 2 });

        // A new gateway starts; the device reconnects and registers again: it gets B, and not A, which it acknowledged.
        await using (var gateway2 = new GatewayProcess("gateway-2", settings))
        {
            await gateway2.StartAsync();
            var secondRun = await LibCoap.RunAsync(Client, Observe(gateway2, 10), timeoutSeconds: 90);
            Assert.Contains("command-b", secondRun.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("command-a", secondRun.Output, StringComparison.Ordinal);
        }

        var commands = (await api.GetFromJsonAsync<JsonElement>($"devices/{id}/commands/")).GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(2, commands.Count);
        Assert.All(commands, c => Assert.Equal("delivered", c.GetProperty("status").GetString()));

        // Exactly one delivery per command, as downstream systems see it.
        var delivered = (await events.ReadAllAsync(id)).Where(e => e.GetProperty("type").GetString() == "command_delivered").Select(DeviceEventStream.CommandId).ToList();
        Assert.Equal(1, delivered.Count(c => c == DtlsDeviceFlowTests.CommandId(a)));
        Assert.Equal(1, delivered.Count(c => c == DtlsDeviceFlowTests.CommandId(b)));
        Assert.Equal(2, delivered.Count);
    }
}
