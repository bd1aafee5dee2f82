using System.Text;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NHub.Testing;

namespace NHub.Interop.Tests.Gateway;

/// <summary>
/// The fault harness's own tools (bench/faults.sh): the audit must find a lost or twice-stored reading, or its
/// "0 missing" proves nothing. stream-audit runs against a real nats-server with a stream written here; the
/// telemetry-audit scenario against the embedded platform.
/// </summary>
public sealed class FaultHarnessToolTests(EmbeddedPlatform platform) : IClassFixture<EmbeddedPlatform>, IAsyncLifetime
{
    private NatsServer? _nats;
    private readonly string _dir = Directory.CreateTempSubdirectory("nhub-audit-").FullName;

    public async Task InitializeAsync() => _nats = await NatsServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_nats is not null)
        {
            await _nats.DisposeAsync();
        }
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Stream_audit_reports_a_missing_reading_a_platform_duplicate_and_an_unacknowledged_one_and_fails()
    {
        await PublishAsync(("m1", 0, "id-a"), ("m1", 1, "id-b"), ("m1", 1, "id-c"), ("m1", 3, "id-d"));
        // m1 seq 2 was acknowledged but is not stored; seq 1 went as one request but is stored twice; seq 3 is stored, never acked.
        var acked = Acked(("m1", 0, 1), ("m1", 1, 1), ("m1", 2, 1));

        var (code, output) = await AuditAsync(acked);

        Assert.Equal(1, code);
        Assert.Contains("MISSING: 1", output, StringComparison.Ordinal);
        Assert.Contains("missing: m1 seq 2", output, StringComparison.Ordinal);
        Assert.Contains("1 sent as one request (platform duplicates)", output, StringComparison.Ordinal);
        Assert.Contains("stored but never acknowledged to the device: 1", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stream_audit_passes_when_a_reading_is_stored_twice_only_after_the_devices_own_retry()
    {
        await PublishAsync(("m2", 0, "id-a"), ("m2", 1, "id-b"), ("m2", 1, "id-c"));
        var acked = Acked(("m2", 0, 1), ("m2", 1, 2));

        var (code, output) = await AuditAsync(acked);

        Assert.True(code == 0, output);
        Assert.Contains("MISSING: 0", output, StringComparison.Ordinal);
        Assert.Contains("0 sent as one request (platform duplicates), 1 after the device's own retry", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Telemetry_audit_lists_every_reading_it_got_2_01_for()
    {
        for (var i = 0; i < 3; i++)
        {
            await platform.ProvisionAsync("audit" + i);
        }
        var acked = Path.Combine(_dir, "acked.csv");
        var json = Path.Combine(_dir, "run.json");

        var (code, output) = await SimulatorAsync("--scenario", "telemetry-audit", "--devices", "3", "--duration", "2", "--device-prefix", "audit",
            "--target", $"{platform.CoapBase}/telemetry", "--acked", acked, "--json", json);

        Assert.True(code == 0, output);
        var lines = File.ReadAllLines(acked)[1..];
        using var result = System.Text.Json.JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal(result.RootElement.GetProperty("codes").GetProperty("2.01").GetInt64(), lines.Length);
        Assert.True(lines.Length > 3, output);
        // Each device's readings are numbered from 0 without a gap.
        foreach (var device in lines.Select(l => l.Split(',')).GroupBy(f => f[0]))
        {
            Assert.Equal(Enumerable.Range(0, device.Count()).Select(n => (long)n), device.Select(f => long.Parse(f[1], System.Globalization.CultureInfo.InvariantCulture)).Order());
        }
    }

    private async Task PublishAsync(params (string Device, int Seq, string MessageId)[] messages)
    {
        await using var nats = new NatsConnection(NatsOpts.Default with { Url = _nats!.Url });
        var js = new NatsJSContext(nats);
        await js.CreateStreamAsync(new StreamConfig("NHUB_TELEMETRY", ["nhub.telemetry.>"]));
        foreach (var (device, seq, id) in messages)
        {
            var headers = new NatsHeaders { ["NHub-Device-Id"] = device };
            var ack = await js.PublishAsync($"nhub.telemetry.{device}", Encoding.UTF8.GetBytes($"{{\"seq\":{seq},\"device\":\"{device}\"}}"), headers: headers,
                opts: new NatsJSPubOpts { MsgId = id });
            ack.EnsureSuccess();
        }
    }

    private string Acked(params (string Device, int Seq, int Requests)[] readings)
    {
        var file = Path.Combine(_dir, "acked-" + Guid.NewGuid().ToString("N")[..6] + ".csv");
        File.WriteAllLines(file, ["device_id,seq,acked_unix_ms,requests", .. readings.Select(r => $"{r.Device},{r.Seq},1764590000000,{r.Requests}")]);
        return file;
    }

    private Task<(int Code, string Output)> AuditAsync(string acked) => SimulatorAsync("stream-audit", "--nats", _nats!.Url, "--acked", acked);

    private static Task<(int Code, string Output)> SimulatorAsync(params string[] args) =>
        ExternalProcess.RunAsync("dotnet", [RepoPaths.HostDll(Path.Combine("tools", "DeviceSimulator"), "NHub.DeviceSimulator"), .. args], TimeSpan.FromSeconds(90));
}
