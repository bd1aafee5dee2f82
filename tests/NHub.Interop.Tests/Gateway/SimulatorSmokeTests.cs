using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using NHub.Testing;

namespace NHub.Interop.Tests.Gateway;

/// <summary>Short runs of tools/DeviceSimulator against the platform: the benchmark tool itself keeps working.</summary>
public sealed class SimulatorSmokeTests(EmbeddedPlatform platform) : IClassFixture<EmbeddedPlatform>
{
    [Fact]
    public async Task Ten_simulated_devices_post_telemetry_for_two_seconds_and_get_2_01()
    {
        for (var i = 0; i < 10; i++)
        {
            await platform.ProvisionAsync("smoke" + i);
        }
        var (code, output, result) = await RunSimulatorAsync(
            ["--scenario", "telemetry", "--devices", "10", "--duration", "2", "--device-prefix", "smoke", "--target", $"{platform.CoapBase}/telemetry"]);
        Assert.True(code == 0, output);
        var codes = result.RootElement.GetProperty("codes");
        Assert.True(codes.GetProperty("2.01").GetInt64() > 10, output);
        Assert.False(codes.TryGetProperty("timeout", out _), output);
        Assert.True(result.RootElement.GetProperty("latency_ms").GetProperty("p99").GetDouble() > 0);
        Assert.Contains("req/s", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Requests_sent_during_the_warmup_are_not_measured()
    {
        // 20 requests/s in total for 2 s warm-up + 1 s measured: only the measured second's ~20 may be counted.
        var (code, output, result) = await RunSimulatorAsync(
            ["--scenario", "get", "--devices", "2", "--rate", "20", "--warmup", "2", "--duration", "1", "--target", $"{platform.CoapBase}/.well-known/core"]);
        Assert.True(code == 0, output);
        var root = result.RootElement;
        Assert.Equal(2, root.GetProperty("warmup_s").GetDouble());
        Assert.InRange(root.GetProperty("duration_s").GetDouble(), 0.9, 1.9);
        Assert.InRange(root.GetProperty("requests").GetInt64(), 5, 35);
        Assert.Equal(root.GetProperty("requests").GetInt64(), root.GetProperty("codes").GetProperty("2.05").GetInt64());
    }

    [Fact]
    public async Task Three_devices_provisioned_through_the_api_post_dtls_telemetry_and_every_answer_is_2_01()
    {
        // Embedded mode logs its generated management API key once; the simulator provisions with it like a portal.
        var key = Assert.Single(Regex.Matches(platform.Silo.Output, @"Management API key \(generated, embedded mode\): (\S+)")).Groups[1].Value;
        var coaps = $"coaps://127.0.0.1:{platform.Silo.CoapsPort.ToString(CultureInfo.InvariantCulture)}/telemetry";
        var (code, output, result) = await RunSimulatorAsync(
            ["--scenario", "telemetry", "--target", coaps, "--devices", "3", "--device-prefix", "dsmoke", "--duration", "2",
             "--provision", "api", "--api", platform.Silo.BaseAddress.ToString(), "--api-key", key]);
        Assert.True(code == 0, output);
        var root = result.RootElement;
        Assert.Equal("dtls", root.GetProperty("transport").GetString());
        var handshakes = root.GetProperty("handshakes");
        Assert.Equal(3, handshakes.GetProperty("completed").GetInt64());
        Assert.Equal(0, handshakes.GetProperty("failed").GetInt64());
        var created = root.GetProperty("codes").GetProperty("2.01").GetInt64();
        Assert.True(created > 3, output);
        Assert.Equal(root.GetProperty("requests").GetInt64(), created); // nothing but 2.01: no 4.xx, no timeouts
    }

    [Fact]
    public async Task Devices_with_a_connection_id_move_to_new_source_ports_and_lose_nothing_while_without_one_they_lose_requests()
    {
        var key = Assert.Single(Regex.Matches(platform.Silo.Output, @"Management API key \(generated, embedded mode\): (\S+)")).Groups[1].Value;
        var coaps = $"coaps://127.0.0.1:{platform.Silo.CoapsPort.ToString(CultureInfo.InvariantCulture)}/telemetry";
        string[] common = ["--scenario", "telemetry", "--target", coaps, "--devices", "3", "--duration", "2",
            "--rate", "30", "--rebind-every", "0.2", "--timeout", "1", "--provision", "api", "--api", platform.Silo.BaseAddress.ToString(), "--api-key", key];

        var (code, output, result) = await RunSimulatorAsync([.. common, "--device-prefix", "rbcid", "--cid", "on"]);
        Assert.True(code == 0, output);
        var root = result.RootElement;
        Assert.Equal(3, root.GetProperty("link").GetProperty("connection_id_sessions").GetInt64());
        Assert.Equal(3, root.GetProperty("handshakes").GetProperty("completed").GetInt64());
        // About 30 moves in 2 s; every request after one came from a new port and was answered.
        Assert.True(root.GetProperty("rebinds").GetProperty("done").GetInt64() >= 10, output);
        Assert.Equal(0, root.GetProperty("requests_lost").GetInt64());
        Assert.Equal(root.GetProperty("requests").GetInt64(), root.GetProperty("codes").GetProperty("2.01").GetInt64());

        // The same moves without a CID (other devices: provisioning again would issue new keys): the gateway cannot
        // place the new address, so the requests go unanswered.
        var (_, plainOutput, plain) = await RunSimulatorAsync([.. common, "--device-prefix", "rbplain", "--cid", "off"]);
        Assert.Equal(0, plain.RootElement.GetProperty("link").GetProperty("connection_id_sessions").GetInt64());
        Assert.True(plain.RootElement.GetProperty("requests_lost").GetInt64() > 0, plainOutput);
    }

    private static async Task<(int Code, string Output, JsonDocument Result)> RunSimulatorAsync(string[] args)
    {
        var json = Path.GetTempFileName();
        try
        {
            var (code, output) = await ExternalProcess.RunAsync("dotnet",
                [RepoPaths.HostDll(Path.Combine("tools", "DeviceSimulator"), "NHub.DeviceSimulator"), .. args, "--json", json], TimeSpan.FromSeconds(90));
            var text = await File.ReadAllTextAsync(json);
            Assert.True(text.Length > 0, output);
            return (code, output, JsonDocument.Parse(text));
        }
        finally
        {
            File.Delete(json);
        }
    }
}
