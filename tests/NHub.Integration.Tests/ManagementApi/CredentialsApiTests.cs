using System.Net;
using static NHub.Integration.Tests.ManagementApi.ApiAssert;

namespace NHub.Integration.Tests.ManagementApi;

[Collection(ManagementApiCollection.Name)]
public sealed class CredentialsApiTests(ManagementApiFixture api)
{
    [Fact]
    public async Task Issuing_returns_exactly_the_guide_fields_and_the_key_never_appears_again()
    {
        using var http = api.Http();
        var id = await http.CreateDevice(NewDeviceId("cred"));

        var response = await http.Post($"/devices/{id}/credentials/", """{"auth_type":"psk"}""");
        var issued = (await Expect(response, HttpStatusCode.Created)).AsObject();
        // The CoAP client guide's response, field for field.
        Assert.Equal(new[] { "auth_type", "id", "psk_identity", "psk_key", "server", "status" }, issued.Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.Equal("psk", issued["auth_type"]!.GetValue<string>());
        Assert.Equal($"koru-{id}", issued["psk_identity"]!.GetValue<string>());
        Assert.Equal(ManagementApiFixture.CoapsServer, issued["server"]!.GetValue<string>());
        Assert.Equal("active", issued["status"]!.GetValue<string>());
        var credentialId = Guid.Parse(issued["id"]!.GetValue<string>());
        var key = issued["psk_key"]!.GetValue<string>();
        Assert.Matches("^[0-9a-f]{64}$", key);
        Assert.Contains("no-store", response.Headers.CacheControl?.ToString() ?? "", StringComparison.Ordinal);
        Assert.Equal($"/api/v4/manage/devices/{id}/credentials/{credentialId}", response.Headers.Location?.ToString());

        // One active credential per device: a second is refused until the first is revoked.
        var conflict = await Problem(await http.Post($"/devices/{id}/credentials", """{"auth_type":"psk"}"""), HttpStatusCode.Conflict);
        Assert.Contains("revoke", conflict["detail"]!.GetValue<string>(), StringComparison.OrdinalIgnoreCase);

        var listed = await Expect(await http.Get($"/devices/{id}/credentials/"), HttpStatusCode.OK);
        var summary = Assert.Single(listed["items"]!.AsArray())!.AsObject();
        Assert.Equal(credentialId.ToString(), summary["id"]!.GetValue<string>());
        Assert.Equal("ascii", summary["psk_format"]!.GetValue<string>());
        Assert.False(summary.ContainsKey("psk_key"));
        var single = await Expect(await http.Get($"/devices/{id}/credentials/{credentialId}"), HttpStatusCode.OK);
        Assert.Equal("active", single["status"]!.GetValue<string>());

        var views = new[]
        {
            await http.GetStringAsync(Url($"/devices/{id}/credentials")),
            await http.GetStringAsync(Url($"/devices/{id}/credentials/{credentialId}")),
            await http.GetStringAsync(Url($"/devices/{id}")),
            await http.GetStringAsync(Url($"/devices?search={id}")),
        };
        foreach (var view in views)
        {
            Assert.DoesNotContain(key, view, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("psk_key", view, StringComparison.Ordinal);
        }
        Assert.Contains(credentialId.ToString(), views[2], StringComparison.Ordinal); // the twin lists it, keyless

        // Rotation: revoke, then issue (binary format this time).
        Assert.Equal(HttpStatusCode.NoContent, (await http.Delete($"/devices/{id}/credentials/{credentialId}/")).StatusCode);
        var revoked = await Expect(await http.Get($"/devices/{id}/credentials/{credentialId}"), HttpStatusCode.OK);
        Assert.Equal("revoked", revoked["status"]!.GetValue<string>());
        Assert.NotNull(revoked["revoked_at"]);
        var rotated = await Expect(await http.Post($"/devices/{id}/credentials", """{"auth_type":"psk","psk_format":"binary"}"""), HttpStatusCode.Created);
        var newKey = rotated["psk_key"]!.GetValue<string>();
        Assert.NotEqual(key, newKey);
        var afterRotation = await Expect(await http.Get($"/devices/{id}/credentials"), HttpStatusCode.OK);
        Assert.Equal(2, afterRotation["items"]!.AsArray().Count);
        Assert.Contains(afterRotation["items"]!.AsArray(), c => c!["psk_format"]!.GetValue<string>() == "binary" && c["status"]!.GetValue<string>() == "active");

        await Problem(await http.Delete($"/devices/{id}/credentials/{Guid.NewGuid()}"), HttpStatusCode.NotFound);
        await Problem(await http.Get($"/devices/{id}/credentials/not-a-guid"), HttpStatusCode.NotFound);

        // Nor in the silo's log.
        Assert.DoesNotContain(key, api.Silo.Output, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(newKey, api.Silo.Output, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Only_psk_in_ascii_or_binary_format_x509_with_a_certificate_or_rpk_with_a_public_key_can_be_added()
    {
        using var http = api.Http();
        var id = await http.CreateDevice(NewDeviceId("credbad"));
        await FieldErrors(await http.Post($"/devices/{id}/credentials", "{}"), "auth_type");
        await FieldErrors(await http.Post($"/devices/{id}/credentials", """{"auth_type":"oauth"}"""), "auth_type");
        await FieldErrors(await http.Post($"/devices/{id}/credentials", """{"auth_type":"x509"}"""), "certificate");
        await FieldErrors(await http.Post($"/devices/{id}/credentials", """{"auth_type":"x509","certificate":"not base64 !"}"""), "certificate");
        await FieldErrors(await http.Post($"/devices/{id}/credentials", """{"auth_type":"x509","certificate":"AAAA"}"""), "certificate");
        await FieldErrors(await http.Post($"/devices/{id}/credentials", """{"auth_type":"rpk"}"""), "public_key");
        await FieldErrors(await http.Post($"/devices/{id}/credentials", """{"auth_type":"rpk","public_key":"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"}"""), "public_key");
        await FieldErrors(await http.Post($"/devices/{id}/credentials", """{"auth_type":"psk","public_key":"AAAA"}"""), "public_key");
        await FieldErrors(await http.Post($"/devices/{id}/credentials", """{"auth_type":"psk","psk_format":"hex"}"""), "psk_format");
        await Problem(await http.Post($"/devices/{id}/credentials", """{"auth_type":"""), HttpStatusCode.BadRequest);
        var none = await Expect(await http.Get($"/devices/{id}/credentials"), HttpStatusCode.OK);
        Assert.Empty(none["items"]!.AsArray());
    }

    [Fact]
    public async Task Deleting_a_device_revokes_its_credentials()
    {
        using var http = api.Http();
        var id = await http.CreateDevice(NewDeviceId("creddel"));
        await Expect(await http.Post($"/devices/{id}/credentials", """{"auth_type":"psk"}"""), HttpStatusCode.Created);
        Assert.Equal(HttpStatusCode.NoContent, (await http.Delete($"/devices/{id}")).StatusCode);
        var lookup = await api.Grains.GetGrain<NHub.Grains.IPskIdentityGrain>($"koru-{id}").Lookup();
        Assert.True(lookup is null || lookup.Status == NHub.Grains.CredentialStatus.Revoked, $"identity still usable: {lookup}");
    }
}
