using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using NHub.Testing;

namespace NHub.Interop.Tests.Gateway;

/// <summary>The device guide's provisioning steps followed literally through the REST API, then the guide's libcoap command.</summary>
public sealed class ProvisioningGuideTests(ProductionPlatform platform) : IClassFixture<ProductionPlatform>
{
    [Fact]
    public async Task Create_device_generate_psk_credentials_configure_libcoap_and_telemetry_is_created()
    {
        using var http = new HttpClient { BaseAddress = platform.Silo.BaseAddress };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ClusterSettings.TestApiKey);

        // Step 1: create the device with its model, serial/IMEI and SIM details.
        var created = await http.PostAsJsonAsync("/api/v4/manage/devices/", new
        {
            device_id = "869181072798894",
            model = "KM-3",
            serial = "SN-0001",
            imei = "869181072798894",
            sim = new { iccid = "8961000000000000001", msisdn = "61400000001", @operator = "Telstra" },
        });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);

        // Step 2: POST /api/v4/manage/devices/{device_id}/credentials/ {"auth_type": "psk"}.
        var issued = await http.PostAsJsonAsync("/api/v4/manage/devices/869181072798894/credentials/", new { auth_type = "psk" });
        Assert.Equal(HttpStatusCode.Created, issued.StatusCode);
        using var credential = JsonDocument.Parse(await issued.Content.ReadAsStringAsync());
        var root = credential.RootElement;
        Assert.Equal(["id", "auth_type", "psk_identity", "psk_key", "server", "status"], root.EnumerateObject().Select(p => p.Name).ToArray());
        var identity = root.GetProperty("psk_identity").GetString()!;
        var key = root.GetProperty("psk_key").GetString()!;
        Assert.Equal("koru-869181072798894", identity);
        Assert.Equal("active", root.GetProperty("status").GetString());

        // Steps 3-4: the guide's coap-client command with that identity and key.
        var r = await LibCoap.RunAsync("coap-client-openssl", ["-m", "post", "-t", "application/json", "-e", "{\"temperature\": 23.5}",
            "-u", identity, "-k", key, $"{platform.CoapsBase}/telemetry?id=869181072798894"]);
        Assert.Equal("2.01", r.LastCode);

        // The portal sees the device online with that message.
        var device = await http.GetFromJsonAsync<JsonElement>("/api/v4/manage/devices/869181072798894");
        Assert.True(device.GetProperty("online").GetBoolean());
        var telemetry = await http.GetFromJsonAsync<JsonElement>("/api/v4/manage/devices/869181072798894/telemetry?limit=5");
        Assert.Equal(23.5, telemetry.GetProperty("items").EnumerateArray().Single().GetProperty("payload").GetProperty("temperature").GetDouble());
    }
}
