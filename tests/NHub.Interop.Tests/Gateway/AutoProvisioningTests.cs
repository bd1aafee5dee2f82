using System.Formats.Cbor;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using NHub.Testing;

namespace NHub.Interop.Tests.Gateway;

/// <summary>A freshly started embedded platform with nothing configured (the README's first command), and its REST API.</summary>
public sealed class FreshEmbeddedPlatform : IAsyncLifetime
{
    public SiloProcess Silo { get; private set; } = null!;
    public string CoapBase => $"coap://127.0.0.1:{Silo.CoapPort}";

    public async Task InitializeAsync()
    {
        // Only the key is chosen (to call the API); everything that decides auto-provisioning is the default.
        Silo = new SiloProcess("fresh-embedded", new Dictionary<string, string?> { ["ManagementApi__ApiKeys__0"] = ClusterSettings.TestApiKey });
        await Silo.StartAsync();
    }

    public Task DisposeAsync() => Silo.DisposeAsync().AsTask();

    public HttpClient Api()
    {
        var http = new HttpClient { BaseAddress = new Uri(Silo.BaseAddress, "/api/v4/manage/") };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ClusterSettings.TestApiKey);
        return http;
    }
}

/// <summary>
/// The CoAP client guide's plain examples, copied literally (only host and port replaced), against a fresh embedded
/// platform: no device is provisioned first, each is auto-provisioned by its first request (docs/device-guide.md).
/// </summary>
public sealed class GuideExamplesOnFreshEmbeddedTests(FreshEmbeddedPlatform platform) : IClassFixture<FreshEmbeddedPlatform>
{
    private const string Client = "coap-client-notls";

    [Fact]
    public async Task The_guides_coap_client_telemetry_example_is_2_01_and_the_device_appears_auto_provisioned()
    {
        // coap-client -m post -t application/json -e '{"temperature": 23.5}' "coap://<host>:5683/telemetry?id=test-001"
        var r = await LibCoap.RunAsync(Client, ["-m", "post", "-t", "application/json", "-e", "{\"temperature\": 23.5}", $"{platform.CoapBase}/telemetry?id=test-001"]);
        Assert.Equal("2.01", r.LastCode);
        await platform.Silo.WaitForLineAsync("Device test-001 auto_provisioned");

        using var http = platform.Api();
        var device = await http.GetFromJsonAsync<JsonElement>("devices/test-001");
        Assert.True(device.GetProperty("auto_provisioned").GetBoolean());
        Assert.True(device.GetProperty("online").GetBoolean());
        var telemetry = await http.GetFromJsonAsync<JsonElement>("devices/test-001/telemetry?limit=5");
        Assert.Equal(23.5, telemetry.GetProperty("items").EnumerateArray().Single().GetProperty("payload").GetProperty("temperature").GetDouble());

        // The second message goes straight to the twin (no second event).
        Assert.Equal("2.01", (await LibCoap.RunAsync(Client, ["-m", "post", "-t", "application/json", "-e", "{\"temperature\": 23.6}", $"{platform.CoapBase}/telemetry?id=test-001"])).LastCode);
        Assert.Single(platform.Silo.Output.Split('\n'), l => l.Contains("Device test-001 auto_provisioned", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_guides_cbor_example_is_2_01()
    {
        // cbor2.dumps({'temperature': 23.5}) sent with --content-format application/cbor
        var w = new CborWriter();
        w.WriteStartMap(1);
        w.WriteTextString("temperature");
        w.WriteDouble(23.5);
        w.WriteEndMap();
        var file = Path.GetTempFileName();
        await File.WriteAllBytesAsync(file, w.Encode());
        var r = await LibCoap.RunAsync(Client, ["-m", "post", "-t", "application/cbor", "-f", file, $"{platform.CoapBase}/telemetry?id=cbor-001"]);
        File.Delete(file);
        Assert.Equal("2.01", r.LastCode);
    }

    [Fact]
    public async Task Observing_commands_of_an_unknown_device_registers_and_a_command_posted_through_the_api_arrives()
    {
        var observing = LibCoap.RunAsync(Client, ["-m", "get", "-s", "6", $"{platform.CoapBase}/commands/obs-001"], timeoutSeconds: 60);
        await platform.Silo.WaitForLineAsync("Device obs-001 auto_provisioned");
        using var http = platform.Api();
        // Queued on the twin and pushed to the relation (or returned by the registration, if it comes first).
        var posted = await http.PostAsJsonAsync("devices/obs-001/commands/", new { name = "reboot" });
        Assert.True(posted.IsSuccessStatusCode, await posted.Content.ReadAsStringAsync());
        var r = await observing;
        Assert.Equal("2.05", r.Codes[0]);
        Assert.Contains("reboot", r.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Firmware_with_an_unknown_id_is_served_and_the_auto_provisioned_twin_shows_the_download()
    {
        using var http = platform.Api();
        var image = RandomNumberGenerator.GetBytes(4096);
        var put = await http.PutAsync("firmware/1.0.0", new ByteArrayContent(image) { Headers = { ContentType = new MediaTypeHeaderValue("application/octet-stream") } });
        Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());

        var output = Path.GetTempFileName();
        var r = await LibCoap.RunAsync(Client, ["-m", "get", "-o", output, $"{platform.CoapBase}/firmware/1.0.0?id=fw-001"]);
        Assert.Equal("2.05", r.LastCode);
        Assert.Equal(image, await File.ReadAllBytesAsync(output));
        File.Delete(output);

        await platform.Silo.WaitForLineAsync("Device fw-001 firmware_completed");
        var device = await http.GetFromJsonAsync<JsonElement>("devices/fw-001");
        Assert.True(device.GetProperty("auto_provisioned").GetBoolean());
        Assert.Equal("1.0.0", device.GetProperty("firmware").GetProperty("version").GetString());
    }

    [Fact]
    public async Task A_device_created_through_the_api_is_not_marked_auto_provisioned()
    {
        using var http = platform.Api();
        Assert.Equal(HttpStatusCode.Created, (await http.PostAsJsonAsync("devices/", new { device_id = "api-001" })).StatusCode);
        Assert.Equal("2.01", (await LibCoap.RunAsync(Client, ["-m", "post", "-t", "application/json", "-e", "{}", $"{platform.CoapBase}/telemetry?id=api-001"])).LastCode);
        Assert.False((await http.GetFromJsonAsync<JsonElement>("devices/api-001")).GetProperty("auto_provisioned").GetBoolean());
    }
}

/// <summary>The bounds: a cap on auto-provisioned devices and a per-source rate (a fuzzer sending random ids).</summary>
public sealed class AutoProvisioningBoundsTests
{
    private const string Client = "coap-client-notls";

    [Fact]
    public async Task Random_ids_create_at_most_the_cap_then_4_04_with_a_diagnostic_then_4_29_beyond_the_source_rate()
    {
        await using var silo = new SiloProcess("capped", new Dictionary<string, string?>
        {
            ["ManagementApi__ApiKeys__0"] = ClusterSettings.TestApiKey,
            ["Devices__AutoProvisionMaxDevices"] = "3",
            ["Devices__AutoProvisionPerSourcePerMinute"] = "10",
        });
        await silo.StartAsync();
        var coap = $"coap://127.0.0.1:{silo.CoapPort}";

        var codes = new List<string?>();
        string? capDiagnostic = null;
        for (var i = 0; i < 30 && !codes.Contains("4.29"); i++)
        {
            var r = await LibCoap.RunAsync(Client, ["-m", "post", "-t", "application/json", "-e", "{}", $"{coap}/telemetry?id=fuzz-{Guid.NewGuid():N}"]);
            codes.Add(r.LastCode);
            if (r.LastCode == "4.04")
            {
                capDiagnostic ??= r.Output;
            }
        }
        Assert.Equal(["2.01", "2.01", "2.01", "4.04"], codes.Take(4));
        Assert.Contains("Devices:AutoProvisionMaxDevices", capDiagnostic, StringComparison.Ordinal);
        Assert.Equal("4.29", codes[^1]);

        using var http = new HttpClient { BaseAddress = new Uri(silo.BaseAddress, "/api/v4/manage/") };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ClusterSettings.TestApiKey);
        var page = await http.GetFromJsonAsync<JsonElement>("devices/?limit=100");
        Assert.Equal(3, page.GetProperty("total").GetInt64());
    }

    [Fact]
    public async Task Auto_provisioning_can_be_turned_off_in_embedded_mode()
    {
        await using var silo = new SiloProcess("no-auto", new Dictionary<string, string?> { ["Devices__AutoProvisionPlain"] = "false" });
        await silo.StartAsync();
        var r = await LibCoap.RunAsync(Client, ["-m", "post", "-t", "application/json", "-e", "{}", $"coap://127.0.0.1:{silo.CoapPort}/telemetry?id=test-001"]);
        Assert.Equal("4.04", r.LastCode);
        Assert.Contains("device test-001 is not provisioned", r.Output, StringComparison.Ordinal);
    }
}

/// <summary>Production (PostgreSQL + NATS): off by default; when turned on, the event reaches the events stream.</summary>
public sealed class AutoProvisioningProductionTests(ProductionPlatform platform) : IClassFixture<ProductionPlatform>
{
    [Fact]
    public async Task Production_default_never_auto_provisions()
    {
        // Plain CoAP is rejected in production (4.01), so nothing reaches the twin...
        var r = await LibCoap.RunAsync("coap-client-notls", ["-m", "post", "-t", "application/json", "-e", "{}", $"coap://127.0.0.1:{platform.Silo.CoapPort}/telemetry?id=prod-unknown"]);
        Assert.Equal("4.01", r.LastCode);
        using var http = platform.Api();
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("devices/prod-unknown")).StatusCode);
    }

    [Fact]
    public async Task Turned_on_in_production_the_auto_provisioned_event_is_on_the_events_stream()
    {
        var settings = new Dictionary<string, string?>(platform.Settings)
        {
            ["Gateway:PlainMode"] = "Enabled",
            ["Devices:AutoProvisionPlain"] = "true",
        };
        await using var second = new SiloProcess("silo-auto", ClusterSettings.AsEnvironment(settings));
        await second.StartAsync();
        var r = await LibCoap.RunAsync("coap-client-notls", ["-m", "post", "-t", "application/json", "-e", "{\"t\":1}", $"coap://127.0.0.1:{second.CoapPort}/telemetry?id=prod-auto-001"]);
        Assert.Equal("2.01", r.LastCode);
        var e = await platform.Events.WaitForAsync("prod-auto-001", "auto_provisioned");
        Assert.Equal("coap", e.GetProperty("data").GetProperty("transport").GetString());
        Assert.Single(await platform.ReadTelemetryAsync("prod-auto-001"));
    }
}
