using System.Net;
using NHub.Grains;
using NHub.Testing;
using static NHub.Integration.Tests.ManagementApi.ApiAssert;

namespace NHub.Integration.Tests.ManagementApi;

/// <summary>
/// Certificates and raw public keys through the REST API: pinned per device (<c>auth_type</c> x509 and rpk) and
/// authorities per deployment (<c>/certificate-authorities</c>), with the errors an operator gets for wrong input.
/// </summary>
[Collection(ManagementApiCollection.Name)]
public sealed class CertificateCredentialsApiTests(ManagementApiFixture api)
{
    [Fact]
    public async Task A_pinned_certificate_is_registered_by_its_fingerprint_listed_without_psk_fields_and_revoked_like_a_psk()
    {
        using var http = api.Http();
        var id = await http.CreateDevice(NewDeviceId("certpin"));
        using var certificate = TestCertificates.Device(id);

        var response = await http.Post($"/devices/{id}/credentials/", Json(new { auth_type = "x509", certificate = certificate.CertificatePem }));
        var created = (await Expect(response, HttpStatusCode.Created)).AsObject();

        var fingerprint = CredentialIdentities.Fingerprint(certificate.Der);
        Assert.Equal("x509", created["auth_type"]!.GetValue<string>());
        Assert.Equal(fingerprint, created["fingerprint"]!.GetValue<string>());
        Assert.Equal("x509:" + fingerprint, created["psk_identity"]!.GetValue<string>());
        Assert.Equal($"CN={id}", created["subject"]!.GetValue<string>());
        Assert.Equal("pinned", created["source"]!.GetValue<string>());
        Assert.Equal(ManagementApiFixture.CoapsServer, created["server"]!.GetValue<string>());
        Assert.False(created.ContainsKey("psk_key"));
        var credentialId = created["id"]!.GetValue<string>();
        Assert.Equal($"/api/v4/manage/devices/{id}/credentials/{credentialId}", response.Headers.Location?.ToString());

        // A PSK beside it is fine; the same certificate again, or on another device, is not.
        await Expect(await http.Post($"/devices/{id}/credentials", """{"auth_type":"psk"}"""), HttpStatusCode.Created);
        await Problem(await http.Post($"/devices/{id}/credentials", Json(new { auth_type = "x509", certificate = certificate.CertificatePem })), HttpStatusCode.Conflict);
        var other = await http.CreateDevice(NewDeviceId("certpin"));
        using var renamed = TestCertificates.Device(other);
        await Expect(await http.Post($"/devices/{other}/credentials", Json(new { auth_type = "x509", certificate = Convert.ToBase64String(renamed.Der) })), HttpStatusCode.Created);

        var listed = await Expect(await http.Get($"/devices/{id}/credentials"), HttpStatusCode.OK);
        var x509 = Assert.Single(listed["items"]!.AsArray(), c => c!["auth_type"]!.GetValue<string>() == "x509")!.AsObject();
        Assert.False(x509.ContainsKey("psk_format"));
        Assert.Equal(fingerprint, x509["fingerprint"]!.GetValue<string>());
        var psk = Assert.Single(listed["items"]!.AsArray(), c => c!["auth_type"]!.GetValue<string>() == "psk")!.AsObject();
        Assert.Equal("ascii", psk["psk_format"]!.GetValue<string>());
        Assert.False(psk.ContainsKey("fingerprint"));

        Assert.Equal(HttpStatusCode.NoContent, (await http.Delete($"/devices/{id}/credentials/{credentialId}")).StatusCode);
        var lookup = await api.Grains.GetGrain<IPskIdentityGrain>("x509:" + fingerprint).Lookup();
        Assert.Equal(CredentialStatus.Revoked, lookup!.Status);
        // Revoked stays revoked: the same certificate cannot come back.
        await Problem(await http.Post($"/devices/{id}/credentials", Json(new { auth_type = "x509", certificate = certificate.CertificatePem })), HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task A_certificate_for_another_device_or_outside_its_validity_is_a_field_error()
    {
        using var http = api.Http();
        var id = await http.CreateDevice(NewDeviceId("certbad"));
        using var wrongName = TestCertificates.Device("someone-else");
        using var expired = TestCertificates.Device(id, notBefore: DateTimeOffset.UtcNow.AddDays(-9), notAfter: DateTimeOffset.UtcNow.AddDays(-1));

        var problem = await FieldErrors(await http.Post($"/devices/{id}/credentials", Json(new { auth_type = "x509", certificate = wrongName.CertificatePem })), "certificate");
        Assert.Contains(id, problem.ToJsonString(), StringComparison.Ordinal);
        await FieldErrors(await http.Post($"/devices/{id}/credentials", Json(new { auth_type = "x509", certificate = expired.CertificatePem })), "certificate");
        await FieldErrors(await http.Post($"/devices/{id}/credentials", Json(new { auth_type = "x509", certificate = wrongName.KeyPem })), "certificate");
        await FieldErrors(await http.Post($"/devices/{id}/credentials", Json(new { auth_type = "x509", certificate = expired.CertificatePem, psk_format = "ascii" })), "psk_format");
        Assert.Empty((await Expect(await http.Get($"/devices/{id}/credentials"), HttpStatusCode.OK))["items"]!.AsArray());
        await Problem(await http.Post($"/devices/{NewDeviceId("certnone")}/credentials", Json(new { auth_type = "rpk", public_key = wrongName.PublicKeyPem })), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_raw_public_key_is_registered_by_the_fingerprint_of_its_subject_public_key_info()
    {
        using var http = api.Http();
        var id = await http.CreateDevice(NewDeviceId("rpk"));
        using var key = TestCertificates.RawKey();

        var created = (await Expect(await http.Post($"/devices/{id}/credentials", Json(new { auth_type = "rpk", public_key = key.PublicKeyPem })), HttpStatusCode.Created)).AsObject();

        Assert.Equal("rpk", created["auth_type"]!.GetValue<string>());
        Assert.Equal(CredentialIdentities.ForPublicKey(key.SubjectPublicKeyInfo), created["psk_identity"]!.GetValue<string>());
        var lookup = await api.Grains.GetGrain<IPskIdentityGrain>(created["psk_identity"]!.GetValue<string>()).Lookup();
        Assert.Equal((id, CredentialAuthTypes.Rpk), (lookup!.DeviceId, lookup.AuthType));
        // The base64 DER of the same key is the same key.
        await Problem(await http.Post($"/devices/{id}/credentials", Json(new { auth_type = "rpk", public_key = Convert.ToBase64String(key.SubjectPublicKeyInfo) })), HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Authorities_are_added_once_listed_with_their_pem_and_removed_and_only_ca_certificates_qualify()
    {
        using var http = api.Http();
        using var authority = TestCertificates.Authority("API Test CA " + Guid.NewGuid().ToString("N")[..6]);
        using var leaf = TestCertificates.Device("not-a-ca", authority);

        var response = await http.Post("/certificate-authorities/", Json(new { certificate = authority.CertificatePem }));
        var created = (await Expect(response, HttpStatusCode.Created)).AsObject();
        var authorityId = created["id"]!.GetValue<string>();
        Assert.Equal(CredentialIdentities.Fingerprint(authority.Der), created["fingerprint"]!.GetValue<string>());
        Assert.Equal(authority.Certificate.Subject, created["subject"]!.GetValue<string>());
        Assert.Equal(authority.CertificatePem.Trim(), created["certificate"]!.GetValue<string>().Trim());
        Assert.Equal($"/api/v4/manage/certificate-authorities/{authorityId}", response.Headers.Location?.ToString());

        await Problem(await http.Post("/certificate-authorities", Json(new { certificate = authority.CertificatePem })), HttpStatusCode.Conflict);
        await FieldErrors(await http.Post("/certificate-authorities", Json(new { certificate = leaf.CertificatePem })), "certificate");
        using var intermediate = TestCertificates.Authority("API Test Intermediate", issuer: authority);
        var notRoot = await FieldErrors(await http.Post("/certificate-authorities", Json(new { certificate = intermediate.CertificatePem })), "certificate");
        Assert.Contains("root", notRoot.ToJsonString(), StringComparison.Ordinal);
        await FieldErrors(await http.Post("/certificate-authorities", "{}"), "certificate");

        var listed = await Expect(await http.Get("/certificate-authorities"), HttpStatusCode.OK);
        Assert.Contains(listed["items"]!.AsArray(), a => a!["id"]!.GetValue<string>() == authorityId);
        await Expect(await http.Get($"/certificate-authorities/{authorityId}"), HttpStatusCode.OK);

        Assert.Equal(HttpStatusCode.NoContent, (await http.Delete($"/certificate-authorities/{authorityId}")).StatusCode);
        await Problem(await http.Get($"/certificate-authorities/{authorityId}"), HttpStatusCode.NotFound);
        await Problem(await http.Delete($"/certificate-authorities/{authorityId}"), HttpStatusCode.NotFound);
    }
}
