using System.Text.Json;
using NHub.Testing;

namespace NHub.Interop.Tests.Gateway;

/// <summary>A short run of tools/DeviceSimulator against the platform: the benchmark tool itself keeps working.</summary>
public sealed class SimulatorSmokeTests(EmbeddedPlatform platform) : IClassFixture<EmbeddedPlatform>
{
    [Fact]
    public async Task Ten_simulated_devices_post_telemetry_for_two_seconds_and_get_2_01()
    {
        for (var i = 0; i < 10; i++)
        {
            await platform.ProvisionAsync("smoke" + i);
        }
        var json = Path.GetTempFileName();
        var (code, output) = await ExternalProcess.RunAsync("dotnet",
            [RepoPaths.HostDll(Path.Combine("tools", "DeviceSimulator"), "NHub.DeviceSimulator"), "--scenario", "telemetry", "--devices", "10",
             "--duration", "2", "--device-prefix", "smoke", "--target", $"{platform.CoapBase}/telemetry", "--json", json],
            TimeSpan.FromSeconds(60));
        Assert.True(code == 0, output);
        using var result = JsonDocument.Parse(await File.ReadAllTextAsync(json));
        File.Delete(json);
        var codes = result.RootElement.GetProperty("codes");
        Assert.True(codes.GetProperty("2.01").GetInt64() > 10, output);
        Assert.False(codes.TryGetProperty("timeout", out _), output);
        Assert.True(result.RootElement.GetProperty("latency_ms").GetProperty("p99").GetDouble() > 0);
        Assert.Contains("req/s", output, StringComparison.Ordinal);
    }
}
