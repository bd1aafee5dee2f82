using System.Net;
using System.Text;
using NHub.Grains;
using static NHub.Integration.Tests.ManagementApi.ApiAssert;

namespace NHub.Integration.Tests.ManagementApi;

/// <summary>
/// <c>/fleet/...</c> on a production silo: the filters, counts and pages come from the PostgreSQL registry
/// (migration 0006), kept current by the twins; the gateway list from the co-hosted gateway's reports.
/// </summary>
[Collection(ManagementApiCollection.Name)]
public sealed class FleetApiTests(ManagementApiFixture api)
{
    [Fact]
    public async Task Filters_by_status_transport_prefix_pending_commands_and_firmware_follow_the_twins()
    {
        using var http = api.Http();
        var prefix = NewDeviceId("fleet");
        var (seen, commanded, downloading) = (prefix + "-a", prefix + "-b", prefix + "-c");
        foreach (var id in new[] { seen, commanded, downloading })
        {
            await http.CreateDevice(id);
        }
        var now = DateTimeOffset.UtcNow;
        var telemetry = await api.Grains.GetGrain<IDeviceGrain>(seen).ReportTelemetry(new TelemetryReport(
            50, Encoding.UTF8.GetBytes("""{"temperature":21.5}"""), now, Guid.NewGuid().ToString("N"), DeviceTransport.Coaps, "127.0.0.1:40000"));
        Assert.Equal(TelemetryOutcome.Accepted, telemetry.Outcome);
        var command = await Expect(await http.Post($"/devices/{commanded}/commands/", """{"name":"reboot"}"""), HttpStatusCode.Accepted);
        Assert.True(await api.Grains.GetGrain<IDeviceGrain>(downloading).ReportFirmwareProgress(new FirmwareBlockReport("2.0.0", 10, 5120, 20480, false, now)));

        Assert.Equal([seen, commanded, downloading], await Ids(http, $"prefix={prefix}"));
        Assert.Equal([seen], await Ids(http, $"prefix={prefix}&status=online"));
        Assert.Equal([commanded, downloading], await Ids(http, $"prefix={prefix}&status=offline"));
        Assert.Equal([seen], await Ids(http, $"prefix={prefix}&transport=coaps"));
        Assert.Empty(await Ids(http, $"prefix={prefix}&transport=coap"));
        Assert.Equal([commanded, downloading], await Ids(http, $"prefix={prefix}&transport=none"));
        Assert.Equal([commanded], await Ids(http, $"prefix={prefix}&pending=true"));
        Assert.Equal([downloading], await Ids(http, $"prefix={prefix}&firmware=true"));
        Assert.Equal(seen, (await Ids(http, $"prefix={prefix}&sort=last_seen"))[0]);

        var row = (await Expect(await http.Get($"/fleet/devices?prefix={commanded}"), HttpStatusCode.OK))["items"]![0]!;
        Assert.Equal(1, row["pending_commands"]!.GetValue<int>());
        var fw = (await Expect(await http.Get($"/fleet/devices?prefix={downloading}"), HttpStatusCode.OK))["items"]![0]!;
        Assert.Equal("2.0.0", fw["firmware_downloading"]!.GetValue<string>());

        // Paging keeps the total.
        var first = await Expect(await http.Get($"/fleet/devices?prefix={prefix}&limit=2"), HttpStatusCode.OK);
        Assert.Equal(2, first["items"]!.AsArray().Count);
        Assert.Equal(3, first["total"]!.GetValue<long>());
        var rest = await Expect(await http.Get($"/fleet/devices?prefix={prefix}&limit=2&offset=2"), HttpStatusCode.OK);
        Assert.Equal(downloading, Assert.Single(rest["items"]!.AsArray())!["device_id"]!.GetValue<string>());

        var downloads = await Expect(await http.Get("/fleet/firmware?limit=50"), HttpStatusCode.OK);
        var download = Assert.Single(downloads["items"]!.AsArray(), d => d!["device"]!["device_id"]!.GetValue<string>() == downloading)!;
        Assert.Equal(25.0, download["progress"]!["percent"]!.GetValue<double>());

        var recent = await Expect(await http.Get("/fleet/recent?limit=20"), HttpStatusCode.OK);
        var mine = Assert.Single(recent["items"]!.AsArray(), r => r!["device"]!["device_id"]!.GetValue<string>() == seen)!;
        Assert.Equal(21.5, mine["last_telemetry"]!["payload"]!["temperature"]!.GetValue<double>());

        var summary = await Expect(await http.Get("/fleet/summary"), HttpStatusCode.OK);
        Assert.True(summary["devices"]!.GetValue<long>() >= 3);
        Assert.Equal(summary["devices"]!.GetValue<long>(), summary["online"]!.GetValue<long>() + summary["offline"]!.GetValue<long>());
        Assert.True(summary["pending_commands"]!.GetValue<long>() >= 1);
        Assert.True(summary["firmware_downloads"]!.GetValue<long>() >= 1);
        Assert.Contains(summary["by_transport"]!.AsArray(), t => t!["transport"]!.GetValue<string>() == "coaps" && t["online"]!.GetValue<long>() >= 1);

        // The registry follows the twins back: a cancelled command and a completed download leave the filters.
        var commandId = command["id"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.NoContent, (await http.Delete($"/devices/{commanded}/commands/{commandId}")).StatusCode);
        Assert.Empty(await Ids(http, $"prefix={prefix}&pending=true"));
        Assert.True(await api.Grains.GetGrain<IDeviceGrain>(downloading).ReportFirmwareProgress(new FirmwareBlockReport("2.0.0", 30, 15360, 20480, true, now.AddSeconds(1))));
        Assert.Empty(await Ids(http, $"prefix={prefix}&firmware=true"));
    }

    [Fact]
    public async Task The_co_hosted_gateway_reports_its_endpoints_and_is_up()
    {
        using var http = api.Http();
        var list = await Expect(await http.Get("/fleet/gateways"), HttpStatusCode.OK);
        var gateway = Assert.Single(list["items"]!.AsArray())!;
        Assert.True(gateway["up"]!.GetValue<bool>());
        Assert.Contains(gateway["endpoints"]!.AsArray(), e => e!.GetValue<string>().StartsWith("coaps ", StringComparison.Ordinal));
        Assert.Equal(0, gateway["dtls_sessions"]!.GetValue<int>());
        var summary = await Expect(await http.Get("/fleet/summary"), HttpStatusCode.OK);
        Assert.Equal(1, summary["gateways"]!["up"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("status=busy", "status")]
    [InlineData("transport=udp", "transport")]
    [InlineData("prefix=a%25", "prefix")]
    [InlineData("prefix=a%00", "prefix")]
    [InlineData("sort=model", "sort")]
    [InlineData("pending=yes", "pending")]
    [InlineData("firmware=1", "firmware")]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=201", "limit")]
    [InlineData("offset=-1", "offset")]
    public async Task A_bad_query_value_is_a_400_naming_it(string query, string field)
    {
        using var http = api.Http();
        await FieldErrors(await http.Get($"/fleet/devices?{query}"), field);
    }

    [Fact]
    public async Task The_routes_need_the_key_and_the_page_does_not()
    {
        using var anonymous = api.Http(apiKey: null);
        foreach (var path in new[] { "/fleet/summary", "/fleet/devices", "/fleet/recent", "/fleet/firmware", "/fleet/gateways" })
        {
            await Problem(await anonymous.Get(path), HttpStatusCode.Unauthorized);
        }
        await FieldErrors(await api.Http().Get("/fleet/recent?limit=21"), "limit");

        var page = await anonymous.GetAsync(new Uri("/fleet", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("script-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Contains("/fleet/fleet.js", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        foreach (var (path, type) in new[] { ("/fleet/fleet.js", "text/javascript"), ("/fleet/fleet.css", "text/css") })
        {
            var file = await anonymous.GetAsync(new Uri(path, UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, file.StatusCode);
            Assert.Equal(type, file.Content.Headers.ContentType?.MediaType);
        }
    }

    private static async Task<List<string>> Ids(HttpClient http, string query)
    {
        var page = await Expect(await http.Get($"/fleet/devices?{query}"), HttpStatusCode.OK);
        return [.. page["items"]!.AsArray().Select(d => d!["device_id"]!.GetValue<string>())];
    }
}
