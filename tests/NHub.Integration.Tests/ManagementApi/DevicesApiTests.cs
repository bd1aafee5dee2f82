using System.Net;
using static NHub.Integration.Tests.ManagementApi.ApiAssert;

namespace NHub.Integration.Tests.ManagementApi;

[Collection(ManagementApiCollection.Name)]
public sealed class DevicesApiTests(ManagementApiFixture api)
{
    [Fact]
    public async Task A_device_is_created_read_listed_patched_and_deleted()
    {
        using var http = api.Http();
        var id = NewDeviceId("dev");
        var created = await http.Post("/devices/", $$$"""
            {"device_id":"{{{id}}}","model":"KM-3","serial":"SN-1","imei":"869181072798893",
             "sim":{"iccid":"8961000000000000001","msisdn":"61400000000","operator":"Telstra"}}
            """);
        var twin = await Expect(created, HttpStatusCode.Created);
        Assert.Equal($"/api/v4/manage/devices/{id}", created.Headers.Location?.ToString());
        Assert.Equal(id, twin["device_id"]!.GetValue<string>());
        Assert.Equal("Telstra", twin["sim"]!["operator"]!.GetValue<string>());
        Assert.False(twin["online"]!.GetValue<bool>());
        Assert.Equal("none", twin["transport"]!.GetValue<string>());
        Assert.Equal(0, twin["pending_commands"]!.GetValue<int>());

        var again = await Problem(await http.Post("/devices", $$"""{"device_id":"{{id}}"}"""), HttpStatusCode.Conflict);
        Assert.Contains(id, again["detail"]!.GetValue<string>(), StringComparison.Ordinal);

        // Both spellings of every route: with and without the trailing slash.
        foreach (var path in new[] { $"/devices/{id}", $"/devices/{id}/" })
        {
            var read = await Expect(await http.Get(path), HttpStatusCode.OK);
            Assert.Equal("KM-3", read["model"]!.GetValue<string>());
            foreach (var field in new[] { "created_at", "updated_at", "last_seen", "last_peer", "credentials", "firmware" })
            {
                Assert.True(read.AsObject().ContainsKey(field), $"twin lacks {field}: {read.ToJsonString()}");
            }
        }

        foreach (var path in new[] { $"/devices?search={id}", $"/devices/?search={id}&online=false", $"/devices?search=SN-1&limit=500" })
        {
            var page = await Expect(await http.Get(path), HttpStatusCode.OK);
            Assert.Contains(page["items"]!.AsArray(), d => d!["device_id"]!.GetValue<string>() == id);
            Assert.True(page["total"]!.GetValue<long>() >= 1);
        }
        var onlineOnly = await Expect(await http.Get($"/devices?search={id}&online=true"), HttpStatusCode.OK);
        Assert.Empty(onlineOnly["items"]!.AsArray());
        var pastTheEnd = await Expect(await http.Get($"/devices?search={id}&offset=1&limit=1"), HttpStatusCode.OK);
        Assert.Empty(pastTheEnd["items"]!.AsArray());
        Assert.Equal(1, pastTheEnd["total"]!.GetValue<long>());

        var patched = await Expect(await http.Patch($"/devices/{id}/", """{"model":"KM-4","imei":"","sim":{"operator":"Optus"}}"""), HttpStatusCode.OK);
        Assert.Equal("KM-4", patched["model"]!.GetValue<string>());
        Assert.Equal("SN-1", patched["serial"]!.GetValue<string>()); // absent: unchanged
        Assert.Null(patched["imei"]); // "": cleared
        Assert.Equal("Optus", patched["sim"]!["operator"]!.GetValue<string>());
        Assert.Equal("61400000000", patched["sim"]!["msisdn"]!.GetValue<string>());
        var reread = await Expect(await http.Get($"/devices/{id}"), HttpStatusCode.OK);
        Assert.Equal("KM-4", reread["model"]!.GetValue<string>());

        Assert.Equal(HttpStatusCode.NoContent, (await http.Delete($"/devices/{id}/")).StatusCode);
        await Problem(await http.Get($"/devices/{id}"), HttpStatusCode.NotFound);
        await Problem(await http.Delete($"/devices/{id}"), HttpStatusCode.NotFound);
        var afterDelete = await Expect(await http.Get($"/devices?search={id}"), HttpStatusCode.OK);
        Assert.Empty(afterDelete["items"]!.AsArray());
    }

    [Theory]
    [InlineData("""{"model":"KM-3"}""")]
    [InlineData("""{"device_id":""}""")]
    [InlineData("""{"device_id":"has.dot"}""")]
    [InlineData("""{"device_id":"has space"}""")]
    [InlineData("""{"device_id":"nats>wildcard"}""")]
    [InlineData("""{"device_id":"ünïcode"}""")]
    [InlineData("""{"device_id":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}""")] // 65
    public async Task A_missing_or_invalid_device_id_is_a_field_error(string body)
    {
        using var http = api.Http();
        await FieldErrors(await http.Post("/devices", body), "device_id");
    }

    [Fact]
    public async Task Racing_creates_of_one_id_give_exactly_one_201_and_concurrent_patches_of_different_fields_all_land()
    {
        using var http = api.Http();
        var id = NewDeviceId("race");
        var creates = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            http.Post("/devices/", $$$"""{"device_id":"{{{id}}}","model":"M-{{{i}}}"}""")));
        Assert.Equal(1, creates.Count(r => r.StatusCode == HttpStatusCode.Created));
        Assert.Equal(7, creates.Count(r => r.StatusCode == HttpStatusCode.Conflict));
        var winner = await Expect(creates.Single(r => r.StatusCode == HttpStatusCode.Created), HttpStatusCode.Created);
        var stored = await Expect(await http.Get($"/devices/{id}"), HttpStatusCode.OK);
        Assert.Equal(winner["model"]!.GetValue<string>(), stored["model"]!.GetValue<string>()); // the 201's record is the one kept

        var patches = await Task.WhenAll(
            http.Patch($"/devices/{id}", """{"serial":"SN-RACE"}"""),
            http.Patch($"/devices/{id}", """{"imei":"869181072798899"}"""),
            http.Patch($"/devices/{id}", """{"sim":{"iccid":"8961000000000000009"}}"""),
            http.Patch($"/devices/{id}", """{"sim":{"operator":"Optus"}}"""));
        Assert.All(patches, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var merged = await Expect(await http.Get($"/devices/{id}"), HttpStatusCode.OK);
        Assert.Equal("SN-RACE", merged["serial"]!.GetValue<string>());
        Assert.Equal("869181072798899", merged["imei"]!.GetValue<string>());
        Assert.Equal("8961000000000000009", merged["sim"]!["iccid"]!.GetValue<string>());
        Assert.Equal("Optus", merged["sim"]!["operator"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_64_character_device_id_of_every_allowed_character_is_accepted()
    {
        using var http = api.Http();
        var id = ("Az09_-" + Guid.NewGuid().ToString("N")).PadRight(64, 'x');
        await Expect(await http.Post("/devices", $$"""{"device_id":"{{id}}"}"""), HttpStatusCode.Created);
        var twin = await Expect(await http.Get($"/devices/{id}"), HttpStatusCode.OK);
        Assert.Null(twin["model"]);
    }

    [Fact]
    public async Task Malformed_or_mistyped_json_and_wrong_content_types_are_problems_not_500s()
    {
        using var http = api.Http();
        var malformed = await Problem(await http.Post("/devices", """{"device_id": "x", """), HttpStatusCode.BadRequest);
        Assert.Contains("not valid JSON", malformed["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        await Problem(await http.Post("/devices", "not json at all"), HttpStatusCode.BadRequest);
        await Problem(await http.Post("/devices", ""), HttpStatusCode.BadRequest);
        await Problem(await http.Post("/devices", "null"), HttpStatusCode.BadRequest);
        await Problem(await http.Post("/devices", "[1,2]"), HttpStatusCode.BadRequest);
        await FieldErrors(await http.Post("/devices", """{"device_id":"typed","model":5}"""), "model");
        await FieldErrors(await http.Post("/devices", """{"device_id":"typed","sim":{"iccid":[1]}}"""), "sim.iccid");
        await FieldErrors(await http.Post("/devices", $$"""{"device_id":"long","model":"{{new string('m', 129)}}"}"""), "model");

        using var text = new StringContent("""{"device_id":"x"}""", System.Text.Encoding.UTF8, "text/plain");
        await Problem(await http.PostAsync(Url("/devices"), text), HttpStatusCode.UnsupportedMediaType);
        using var none = new ByteArrayContent("""{"device_id":"x"}"""u8.ToArray());
        await Problem(await http.PostAsync(Url("/devices"), none), HttpStatusCode.UnsupportedMediaType);
    }

    [Fact]
    public async Task List_query_values_are_validated_as_fields()
    {
        using var http = api.Http();
        await FieldErrors(await http.Get("/devices?offset=-1&limit=0&online=maybe"), "offset", "limit", "online");
        await FieldErrors(await http.Get("/devices?limit=501"), "limit");
        await FieldErrors(await http.Get("/devices?limit=ten"), "limit");
        await FieldErrors(await http.Get("/devices?search=" + new string('s', 129)), "search");
        // A NUL is not valid in a PostgreSQL text value: it must be a field error, never a 500.
        await FieldErrors(await http.Get("/devices?search=%00"), "search");
        await FieldErrors(await http.Get("/devices?search=a%0Ab"), "search");
    }

    [Fact]
    public async Task Every_device_scoped_route_answers_404_problem_for_an_unknown_device_and_400_for_an_impossible_id()
    {
        using var http = api.Http();
        var id = NewDeviceId("ghost");
        var requests = new List<Func<string, Task<HttpResponseMessage>>>
        {
            d => http.Get($"/devices/{d}"),
            d => http.Patch($"/devices/{d}", """{"model":"x"}"""),
            d => http.Delete($"/devices/{d}"),
            d => http.Post($"/devices/{d}/credentials/", """{"auth_type":"psk"}"""),
            d => http.Get($"/devices/{d}/credentials"),
            d => http.Get($"/devices/{d}/credentials/{Guid.NewGuid()}"),
            d => http.Delete($"/devices/{d}/credentials/{Guid.NewGuid()}/"),
            d => http.Post($"/devices/{d}/commands", """{"name":"reboot"}"""),
            d => http.Get($"/devices/{d}/commands/"),
            d => http.Get($"/devices/{d}/commands/{Guid.NewGuid()}"),
            d => http.Delete($"/devices/{d}/commands/{Guid.NewGuid()}"),
            d => http.Get($"/devices/{d}/firmware"),
            d => http.Get($"/devices/{d}/telemetry"),
        };
        foreach (var request in requests)
        {
            var problem = await Problem(await request(id), HttpStatusCode.NotFound);
            Assert.Contains(id, problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
            await FieldErrors(await request("bad.id"), "device_id");
        }
        await Problem(await http.Get("/no-such-resource"), HttpStatusCode.NotFound);
    }
}
