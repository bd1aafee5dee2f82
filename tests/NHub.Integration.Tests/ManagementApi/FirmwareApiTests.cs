using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using NHub.Grains;
using static NHub.Integration.Tests.ManagementApi.ApiAssert;

namespace NHub.Integration.Tests.ManagementApi;

[Collection(ManagementApiCollection.Name)]
public sealed class FirmwareApiTests(ManagementApiFixture api)
{
    private static ByteArrayContent Image(byte[] bytes, string contentType = "application/octet-stream")
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        return content;
    }

    private static string NewVersion() => "1.0." + Random.Shared.Next(1_000_000) + "-rc_" + Guid.NewGuid().ToString("N")[..6];

    [Fact]
    public async Task An_image_is_uploaded_listed_read_kept_immutable_and_deleted()
    {
        using var http = api.Http();
        var version = NewVersion();
        var bytes = RandomNumberGenerator.GetBytes(ManagementApiFixture.MaxFirmwareBytes); // exactly the limit is fine
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes));

        var response = await http.PutAsync(Url($"/firmware/{version}"), Image(bytes));
        var stored = await Expect(response, HttpStatusCode.Created);
        Assert.Equal(version, stored["version"]!.GetValue<string>());
        Assert.Equal(bytes.Length, stored["size"]!.GetValue<long>());
        Assert.Equal(sha256, stored["sha256"]!.GetValue<string>());
        Assert.Equal($"/api/v4/manage/firmware/{version}", response.Headers.Location?.ToString());

        foreach (var path in new[] { "/firmware", "/firmware/" })
        {
            var list = await Expect(await http.Get(path), HttpStatusCode.OK);
            var item = Assert.Single(list["items"]!.AsArray(), f => f!["version"]!.GetValue<string>() == version)!;
            Assert.Equal(sha256, item["sha256"]!.GetValue<string>());
        }
        var info = await Expect(await http.Get($"/firmware/{version}/"), HttpStatusCode.OK);
        Assert.Equal(bytes.Length, info["size"]!.GetValue<long>());

        // What the gateway serves is what was uploaded.
        var image = await api.Grains.GetGrain<IFirmwareGrain>(version).GetImage();
        Assert.Equal(bytes, image!.Content);

        await Expect(await http.PutAsync(Url($"/firmware/{version}/"), Image(bytes)), HttpStatusCode.OK);
        await Problem(await http.PutAsync(Url($"/firmware/{version}"), Image([1, 2, 3])), HttpStatusCode.Conflict);

        Assert.Equal(HttpStatusCode.NoContent, (await http.Delete($"/firmware/{version}")).StatusCode);
        await Problem(await http.Get($"/firmware/{version}"), HttpStatusCode.NotFound);
        await Problem(await http.Delete($"/firmware/{version}"), HttpStatusCode.NotFound);
        var after = await Expect(await http.Get("/firmware"), HttpStatusCode.OK);
        Assert.DoesNotContain(after["items"]!.AsArray(), f => f!["version"]!.GetValue<string>() == version);
    }

    [Fact]
    public async Task An_image_over_the_limit_is_413_whether_its_length_is_declared_or_chunked()
    {
        using var http = api.Http();
        var version = NewVersion();
        var tooBig = new byte[ManagementApiFixture.MaxFirmwareBytes + 1];
        var declared = await Problem(await http.PutAsync(Url($"/firmware/{version}"), Image(tooBig)), HttpStatusCode.RequestEntityTooLarge);
        Assert.Contains("MaxFirmwareBytes", declared["detail"]!.GetValue<string>(), StringComparison.Ordinal);

        using var chunked = new StreamContent(new MemoryStream(tooBig)); // no Content-Length: sent chunked
        chunked.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var request = new HttpRequestMessage(HttpMethod.Put, Url($"/firmware/{version}")) { Content = chunked };
        request.Headers.TransferEncodingChunked = true;
        await Problem(await http.SendAsync(request), HttpStatusCode.RequestEntityTooLarge);

        await Problem(await http.Get($"/firmware/{version}"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Uploads_need_octet_stream_a_valid_version_and_a_body()
    {
        using var http = api.Http();
        await Problem(await http.PutAsync(Url($"/firmware/{NewVersion()}"), Image([1], "application/json")), HttpStatusCode.UnsupportedMediaType);
        using var untyped = new ByteArrayContent([1]);
        await Problem(await http.PutAsync(Url($"/firmware/{NewVersion()}"), untyped), HttpStatusCode.UnsupportedMediaType);
        await FieldErrors(await http.PutAsync(Url("/firmware/has%20space"), Image([1])), "version");
        await FieldErrors(await http.PutAsync(Url("/firmware/" + new string('v', 65)), Image([1])), "version");
        await FieldErrors(await http.PutAsync(Url("/firmware/v%2Bplus"), Image([1])), "version");
        await Problem(await http.PutAsync(Url($"/firmware/{NewVersion()}"), Image([])), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task A_device_shows_no_download_until_the_gateway_reports_progress()
    {
        using var http = api.Http();
        var id = await http.CreateDevice(NewDeviceId("fw"));
        var none = await Expect(await http.Get($"/devices/{id}/firmware/"), HttpStatusCode.OK);
        Assert.Equal(id, none["device_id"]!.GetValue<string>());
        Assert.Null(none["download"]);

        var now = DateTimeOffset.UtcNow;
        await api.Grains.GetGrain<IDeviceGrain>(id).ReportFirmwareProgress(new FirmwareBlockReport("2.0.0", 10, 5120, 20480, false, now));
        var progress = await Expect(await http.Get($"/devices/{id}/firmware"), HttpStatusCode.OK);
        var download = progress["download"]!;
        Assert.Equal("2.0.0", download["version"]!.GetValue<string>());
        Assert.Equal(5120, download["bytes_served"]!.GetValue<long>());
        Assert.Equal(20480, download["total_bytes"]!.GetValue<long>());
        Assert.Equal(25.0, download["percent"]!.GetValue<double>());
        Assert.False(download["completed"]!.GetValue<bool>());
        var twin = await Expect(await http.Get($"/devices/{id}"), HttpStatusCode.OK);
        Assert.Equal("2.0.0", twin["firmware"]!["version"]!.GetValue<string>());
    }
}
