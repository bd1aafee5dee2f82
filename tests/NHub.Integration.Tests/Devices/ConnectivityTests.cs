using System.Text;
using NHub.Grains;
using NHub.Testing;

namespace NHub.Integration.Tests.Devices;

/// <summary>
/// Online at the first message, offline after the inactivity window, on a production silo (PostgreSQL reminders,
/// JetStream lifecycle events) with a short window so the test runs in seconds.
/// </summary>
[Collection(PlatformServersCollection.Name)]
public sealed class ConnectivityTests(PlatformServersFixture servers) : IAsyncLifetime
{
    private static readonly TimeSpan OfflineAfter = TimeSpan.FromSeconds(12);
    private ProductionSilo _platform = null!;

    public async Task InitializeAsync() => _platform = await ProductionSilo.StartAsync(servers, new Dictionary<string, string?>
    {
        ["Devices:OfflineAfter"] = OfflineAfter.ToString(),
        ["Devices:OfflineCheckPeriod"] = "00:00:02",
        ["Orleans:MinimumReminderPeriod"] = "00:00:01",
    });

    public async Task DisposeAsync() => await _platform.DisposeAsync();

    [Fact]
    public async Task A_device_online_when_its_silo_restarts_still_goes_offline_with_nobody_calling_its_twin()
    {
        var device = _platform.Grains.GetGrain<IDeviceGrain>("conn01");
        await device.Provision(new DeviceRecord("conn01", "KM-3", "SN-conn01", "869181070000001", null));
        var seen = DateTimeOffset.UtcNow;
        var result = await device.ReportTelemetry(new TelemetryReport(50, Encoding.UTF8.GetBytes("{\"t\":1}"), seen, "p/1", DeviceTransport.Coaps, "127.0.0.1:40000"));
        Assert.Equal(TelemetryOutcome.Accepted, result.Outcome);
        Assert.True((await device.GetTwin())!.Connectivity.Online);

        // A rolling deploy: the silo holding the twin stops (its in-memory offline timer with it) and a new one starts.
        await _platform.RestartSiloAsync();
        var restarted = DateTimeOffset.UtcNow;
        Assert.True(restarted - seen < OfflineAfter, $"the restart took {restarted - seen}, longer than the window: the test proves nothing");

        // Nobody touches the twin: the durable reminder reactivates it and it goes offline when the window ends.
        var events = new DeviceEventStream(_platform.Nats.Url, _platform.Settings);
        var offline = await _platform.WithSiloLog(events.WaitForAsync("conn01", "offline", timeout: TimeSpan.FromSeconds(90)), TimeSpan.FromSeconds(60));
        var at = offline.GetProperty("at").GetDateTimeOffset();
        Assert.True(at >= seen + OfflineAfter, $"offline at {at:O}, before the window ended ({seen + OfflineAfter:O})");
        var types = (await events.ReadAllAsync("conn01")).Select(e => e.GetProperty("type").GetString()).ToList();
        Assert.Equal(["online", "offline"], types.Where(t => t is "online" or "offline"));
        Assert.False((await _platform.Grains.GetGrain<IDeviceGrain>("conn01").GetTwin())!.Connectivity.Online);
    }
}
