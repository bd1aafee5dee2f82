using System.Formats.Cbor;
using System.Net;
using System.Text;
using NHub.Grains;
using static NHub.Integration.Tests.ManagementApi.ApiAssert;

namespace NHub.Integration.Tests.ManagementApi;

[Collection(ManagementApiCollection.Name)]
public sealed class TelemetryApiTests(ManagementApiFixture api)
{
    [Fact]
    public async Task Recent_telemetry_is_listed_newest_first_with_json_and_cbor_decoded_and_other_formats_in_base64()
    {
        using var http = api.Http();
        var id = await http.CreateDevice(NewDeviceId("tel"));
        var empty = await Expect(await http.Get($"/devices/{id}/telemetry/"), HttpStatusCode.OK);
        Assert.Equal(id, empty["device_id"]!.GetValue<string>());
        Assert.Empty(empty["items"]!.AsArray());

        // What the gateway reports for three POST /telemetry requests.
        var device = api.Grains.GetGrain<IDeviceGrain>(id);
        var cbor = new CborWriter();
        cbor.WriteStartMap(2);
        cbor.WriteTextString("temperature");
        cbor.WriteDouble(23.5);
        cbor.WriteTextString("raw");
        cbor.WriteByteString([0xde, 0xad]);
        cbor.WriteEndMap();
        var start = DateTimeOffset.UtcNow;
        await Report(device, 50, Encoding.UTF8.GetBytes("""{"temperature":23.5,"humidity":45.2}"""), start, "m/1");
        await Report(device, 60, cbor.Encode(), start.AddSeconds(1), "m/2");
        await Report(device, 42, [0x01, 0x02, 0xff], start.AddSeconds(2), "m/3");

        var list = await Expect(await http.Get($"/devices/{id}/telemetry"), HttpStatusCode.OK);
        var items = list["items"]!.AsArray();
        Assert.Equal(3, items.Count);

        var binary = items[0]!;
        Assert.Equal(42, binary["content_format"]!.GetValue<int>());
        Assert.Equal("AQL/", binary["payload_base64"]!.GetValue<string>());
        Assert.Null(binary["payload"]);
        Assert.Equal("coaps", binary["transport"]!.GetValue<string>());

        var fromCbor = items[1]!;
        Assert.Equal(60, fromCbor["content_format"]!.GetValue<int>());
        Assert.Equal(23.5, fromCbor["payload"]!["temperature"]!.GetValue<double>());
        Assert.Equal("3q0", fromCbor["payload"]!["raw"]!.GetValue<string>()); // RFC 8949 §6.1: base64url
        Assert.False(fromCbor.AsObject().ContainsKey("payload_base64"));

        var json = items[2]!;
        Assert.Equal(50, json["content_format"]!.GetValue<int>());
        Assert.Equal(45.2, json["payload"]!["humidity"]!.GetValue<double>());
        Assert.NotNull(json["received_at"]);

        var newest = await Expect(await http.Get($"/devices/{id}/telemetry?limit=1"), HttpStatusCode.OK);
        Assert.Equal(42, Assert.Single(newest["items"]!.AsArray())!["content_format"]!.GetValue<int>());

        await FieldErrors(await http.Get($"/devices/{id}/telemetry?limit=0"), "limit");
        await FieldErrors(await http.Get($"/devices/{id}/telemetry?limit=101"), "limit");
        await FieldErrors(await http.Get($"/devices/{id}/telemetry?limit=x"), "limit");
        await Expect(await http.Get($"/devices/{id}/telemetry?limit=100"), HttpStatusCode.OK);
    }

    private static async Task Report(IDeviceGrain device, int format, byte[] payload, DateTimeOffset at, string exchange)
    {
        var result = await device.ReportTelemetry(new TelemetryReport(format, payload, at, exchange, DeviceTransport.Coaps, "127.0.0.1:40000"));
        Assert.Equal(TelemetryOutcome.Accepted, result.Outcome);
    }
}
