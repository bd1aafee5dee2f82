using System.Net;
using NHub.Grains;
using static NHub.Integration.Tests.ManagementApi.ApiAssert;

namespace NHub.Integration.Tests.ManagementApi;

[Collection(ManagementApiCollection.Name)]
public sealed class CommandsApiTests(ManagementApiFixture api)
{
    [Fact]
    public async Task A_command_is_accepted_listed_and_cancelled_once()
    {
        using var http = api.Http();
        var id = await http.CreateDevice(NewDeviceId("cmd"));

        var response = await http.Post($"/devices/{id}/commands/", """{"name":"set_interval","params":{"seconds":60,"nested":{"a":[1,2]}},"ttl_seconds":3600}""");
        var command = await Expect(response, HttpStatusCode.Accepted);
        var commandId = Guid.Parse(command["id"]!.GetValue<string>());
        Assert.Equal("queued", command["status"]!.GetValue<string>());
        Assert.Equal(60, command["params"]!["seconds"]!.GetValue<int>());
        Assert.Equal($"/api/v4/manage/devices/{id}/commands/{commandId}", response.Headers.Location?.ToString());
        var ttl = DateTimeOffset.Parse(command["expires_at"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture)
            - DateTimeOffset.Parse(command["created_at"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(TimeSpan.FromHours(1), ttl);

        var defaulted = await Expect(await http.Post($"/devices/{id}/commands", """{"name":"reboot"}"""), HttpStatusCode.Accepted);
        Assert.Null(defaulted["params"]);
        var defaultTtl = DateTimeOffset.Parse(defaulted["expires_at"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture)
            - DateTimeOffset.Parse(defaulted["created_at"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(TimeSpan.FromDays(1), defaultTtl);

        var list = await Expect(await http.Get($"/devices/{id}/commands"), HttpStatusCode.OK);
        Assert.Equal(2, list["items"]!.AsArray().Count);
        Assert.Equal("reboot", list["items"]![0]!["name"]!.GetValue<string>()); // newest first
        var twin = await Expect(await http.Get($"/devices/{id}"), HttpStatusCode.OK);
        Assert.Equal(2, twin["pending_commands"]!.GetValue<int>());

        Assert.Equal(HttpStatusCode.NoContent, (await http.Delete($"/devices/{id}/commands/{commandId}/")).StatusCode);
        var cancelled = await Expect(await http.Get($"/devices/{id}/commands/{commandId}"), HttpStatusCode.OK);
        Assert.Equal("cancelled", cancelled["status"]!.GetValue<string>());
        await Problem(await http.Delete($"/devices/{id}/commands/{commandId}"), HttpStatusCode.Conflict);
        await Problem(await http.Delete($"/devices/{id}/commands/{Guid.NewGuid()}"), HttpStatusCode.NotFound);
        await Problem(await http.Get($"/devices/{id}/commands/{Guid.NewGuid()}"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_delivered_command_shows_its_status_and_can_no_longer_be_cancelled()
    {
        using var http = api.Http();
        var id = await http.CreateDevice(NewDeviceId("cmdack"));
        var command = await Expect(await http.Post($"/devices/{id}/commands", """{"name":"reboot"}"""), HttpStatusCode.Accepted);
        var commandId = Guid.Parse(command["id"]!.GetValue<string>());

        // What the gateway does when the device observes /commands/{id} and acknowledges the notification.
        var device = api.Grains.GetGrain<IDeviceGrain>(id);
        var pending = await device.ObserveCommands(new CommandObservation(Guid.NewGuid(), "127.0.0.1:5000", DeviceTransport.Coaps, null, [], 50));
        Assert.Equal(commandId, Assert.Single(pending!).Id);
        var sent = await Expect(await http.Get($"/devices/{id}/commands/{commandId}"), HttpStatusCode.OK);
        Assert.Equal("sent", sent["status"]!.GetValue<string>());
        await device.CommandsDelivered([commandId]);

        var delivered = await Expect(await http.Get($"/devices/{id}/commands/{commandId}"), HttpStatusCode.OK);
        Assert.Equal("delivered", delivered["status"]!.GetValue<string>());
        Assert.NotNull(delivered["delivered_at"]);
        var problem = await Problem(await http.Delete($"/devices/{id}/commands/{commandId}"), HttpStatusCode.Conflict);
        Assert.Contains("no longer pending", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_commands_are_field_errors()
    {
        using var http = api.Http();
        var id = await http.CreateDevice(NewDeviceId("cmdbad"));
        await FieldErrors(await http.Post($"/devices/{id}/commands", "{}"), "name");
        await FieldErrors(await http.Post($"/devices/{id}/commands", """{"name":"has space","params":[1],"ttl_seconds":0}"""), "name", "params", "ttl_seconds");
        await FieldErrors(await http.Post($"/devices/{id}/commands", """{"name":"x","params":"text"}"""), "params");
        await FieldErrors(await http.Post($"/devices/{id}/commands", """{"name":"x","ttl_seconds":2592001}"""), "ttl_seconds");
        await FieldErrors(await http.Post($"/devices/{id}/commands", """{"name":"x","ttl_seconds":"60"}"""), "ttl_seconds");
        await FieldErrors(await http.Post($"/devices/{id}/commands", $$$"""{"name":"x","params":{"blob":"{{{new string('b', 5000)}}}"}}"""), "params");
        await Problem(await http.Post($"/devices/{id}/commands", """{"name":"x","params":{"""), HttpStatusCode.BadRequest);
        var none = await Expect(await http.Get($"/devices/{id}/commands"), HttpStatusCode.OK);
        Assert.Empty(none["items"]!.AsArray());
    }
}
