using System.Net.Http.Json;
using System.Text.Json;
using NHub.Interop.Tests.Gateway;
using NHub.Testing;
using Xunit.Abstractions;

namespace NHub.Interop.Tests.Fleet;

/// <summary>
/// The fleet page in a real browser: Debian's chromium, headless, driven by playwright-core (fleet-page-driver.js)
/// against a freshly started embedded platform. The screenshot is kept at <c>artifacts/test/fleet-page.png</c> in the
/// repository (or in <c>$NHUB_TEST_ARTIFACTS</c>).
/// </summary>
public sealed class FleetPageBrowserTests(FreshEmbeddedPlatform platform, ITestOutputHelper output) : IClassFixture<FreshEmbeddedPlatform>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task The_page_logs_in_and_shows_a_device_go_online_after_a_coap_client_post_and_keeps_a_screenshot()
    {
        var deviceId = "browser-" + Guid.NewGuid().ToString("N")[..8];
        var screenshot = RepoPaths.Artifact("fleet-page.png");
        File.Delete(screenshot);
        var script = Path.Combine(AppContext.BaseDirectory, "Fleet", "fleet-page-driver.js");
        await using var driver = ExternalProcess.Start("fleet-page", "node",
            [script, platform.Silo.BaseAddress.ToString().TrimEnd('/'), ClusterSettings.TestApiKey, deviceId, screenshot],
            new Dictionary<string, string?> { ["NODE_PATH"] = RepoPaths.NodeModules });

        // The page is logged in and shows the fleet without the device; only then does the device speak.
        await driver.WaitForLineAsync("^logged-in$", Deadline);
        var post = await LibCoap.RunAsync("coap-client-notls",
            ["-m", "post", "-t", "application/json", "-e", "{\"temperature\": 23.5}", $"{platform.CoapBase}/telemetry?id={deviceId}"]);
        Assert.Equal("2.01", post.LastCode);
        driver.WriteLine("posted");

        await driver.WaitForLineAsync("^done$", Deadline);
        Assert.Equal(0, await driver.Exited.WaitAsync(Deadline));
        output.WriteLine($"fleet page screenshot: {screenshot}");
        var png = await File.ReadAllBytesAsync(screenshot);
        Assert.True(png.Length > 10_000, $"screenshot is only {png.Length} bytes");
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);

        // What the page showed is what the API says.
        using var http = platform.Api();
        var page = await http.GetFromJsonAsync<JsonElement>($"fleet/devices?prefix={deviceId}");
        var row = Assert.Single(page.GetProperty("items").EnumerateArray());
        Assert.True(row.GetProperty("online").GetBoolean());
        Assert.Equal("coap", row.GetProperty("transport").GetString());
    }
}
