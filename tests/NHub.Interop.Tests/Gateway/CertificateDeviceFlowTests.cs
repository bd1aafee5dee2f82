using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using NHub.Grains;
using NHub.Testing;

namespace NHub.Interop.Tests.Gateway;

/// <summary>
/// Certificate and raw-public-key devices on a production platform (PostgreSQL, JetStream), driven by libcoap 4.3.1:
/// <c>-c/-j</c> with a certificate of the registered device authority (OpenSSL and GnuTLS), <c>-R</c> to verify the
/// gateway's configured certificate, <c>-M</c> for a raw public key (GnuTLS). Every flow the PSK devices have:
/// telemetry, Observe commands, firmware Block2, 4.03 across devices, revocation.
/// </summary>
public sealed class CertificateDeviceFlowTests(CertificatePlatform certificates) : IClassFixture<CertificatePlatform>
{
    private ProductionPlatform Platform => certificates.Platform;

    private string[] Trust => ["-R", certificates.ServerAuthorityPath];

    public static TheoryData<string> Clients => ["coap-client-openssl", "coap-client-gnutls"];

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task A_factory_certificate_posts_telemetry_with_no_provisioning_and_naming_another_device_is_4_03(string client)
    {
        var id = "cert-tel-" + client[^3..];
        var (certificate, key, device) = await certificates.DeviceWithCertificateAsync(id);
        using (device)
        {
            var r = await LibCoap.RunAsync(client, ["-B", "10", "-m", "post", "-t", "application/json", "-e", "{\"kwh\":42}", "-c", certificate, "-j", key, .. Trust,
                $"{Platform.CoapsBase}/telemetry"]);
            Assert.True(r.LastCode == "2.01", r.Output + "\nsilo log:\n" + Platform.Silo.Output);

            var stored = Assert.Single(await Platform.ReadTelemetryAsync(id));
            Assert.Equal("{\"kwh\":42}", Encoding.UTF8.GetString(stored.Data!));
            Assert.Equal(id, stored.Headers!["NHub-Device-Id"].ToString());

            // The gateway recorded the certificate on the device: listed, and revocable like a PSK.
            using var api = Platform.Api();
            var listed = await api.GetFromJsonAsync<JsonElement>($"devices/{id}/credentials/");
            var credential = Assert.Single(listed.GetProperty("items").EnumerateArray());
            Assert.Equal("x509", credential.GetProperty("auth_type").GetString());
            Assert.Equal("certificate_authority", credential.GetProperty("source").GetString());
            Assert.Equal(CredentialIdentities.Fingerprint(device.Der), credential.GetProperty("fingerprint").GetString());

            var other = await LibCoap.RunAsync(client, ["-B", "10", "-m", "post", "-t", "application/json", "-e", "{\"kwh\":1}", "-c", certificate, "-j", key,
                $"{Platform.CoapsBase}/telemetry?id=cert-someone-else"]);
            Assert.Equal("4.03", other.LastCode);

            // -R checks the gateway's chain: trusting another root, the client gives up (so the 2.01 above proved the
            // gateway presented its configured certificate).
            var wrongRoot = Path.Combine(certificates.Directory, "not-the-gateway-ca.crt");
            await File.WriteAllTextAsync(wrongRoot, certificates.DeviceAuthority.CertificatePem);
            var untrusted = await LibCoap.RunAsync(client, ["-B", "5", "-m", "post", "-e", "x", "-c", certificate, "-j", key, "-R", wrongRoot, $"{Platform.CoapsBase}/telemetry"]);
            Assert.Null(untrusted.LastCode);
        }
    }

    [Fact]
    public async Task A_pinned_certificate_observes_its_commands_and_downloads_firmware_byte_identical_in_blocks()
    {
        const string id = "cert-pinned";
        await Platform.Grains.GetGrain<IDeviceGrain>(id).Provision(new DeviceRecord(id, "KM-3", "SN-" + id, id, null));
        using var device = TestCertificates.Device(id); // self-signed: trusted only because it is pinned
        var (certificate, key) = device.WritePem(certificates.Directory, id);
        using var api = Platform.Api();
        var pinned = await api.PostAsJsonAsync($"devices/{id}/credentials/", new { auth_type = "x509", certificate = device.CertificatePem });
        Assert.Equal(HttpStatusCode.Created, pinned.StatusCode);

        var first = await DtlsDeviceFlowTests.PostCommandAsync(api, id, "reboot", new { delay = 1 });
        var observing = LibCoap.RunAsync("coap-client-openssl", ["-B", "30", "-s", "15", "-m", "get", "-c", certificate, "-j", key, .. Trust,
            $"{Platform.CoapsBase}/commands/{id}"]);
        await Platform.Events.WaitForAsync(id, "command_delivered", e => DeviceEventStream.CommandId(e) == DtlsDeviceFlowTests.CommandId(first));
        var second = await DtlsDeviceFlowTests.PostCommandAsync(api, id, "set_interval", new { seconds = 60 });
        await Platform.Events.WaitForAsync(id, "command_delivered", e => DeviceEventStream.CommandId(e) == DtlsDeviceFlowTests.CommandId(second));
        var observed = await observing;
        Assert.Contains("set_interval", observed.Output, StringComparison.Ordinal);

        var image = RandomNumberGenerator.GetBytes(64 * 1024);
        using var body = new ByteArrayContent(image);
        body.Headers.ContentType = new("application/octet-stream");
        Assert.Equal(HttpStatusCode.Created, (await api.PutAsync("firmware/7.0.1-cert", body)).StatusCode);
        var output = Path.Combine(certificates.Directory, "firmware.bin");
        var download = await LibCoap.RunAsync("coap-client-gnutls", ["-B", "60", "-b", "512", "-m", "get", "-o", output, "-c", certificate, "-j", key, .. Trust,
            $"{Platform.CoapsBase}/firmware/7.0.1-cert"], timeoutSeconds: 120);
        Assert.Equal("2.05", download.LastCode);
        Assert.Equal(SHA256.HashData(image), SHA256.HashData(await File.ReadAllBytesAsync(output)));
    }

    [Fact]
    public async Task A_raw_public_key_device_posts_telemetry_and_cannot_speak_for_another_device()
    {
        const string id = "rpk-meter";
        await Platform.Grains.GetGrain<IDeviceGrain>(id).Provision(new DeviceRecord(id, "KM-3", "SN-" + id, id, null));
        using var key = TestCertificates.RawKey();
        using var api = Platform.Api();
        Assert.Equal(HttpStatusCode.Created, (await api.PostAsJsonAsync($"devices/{id}/credentials/", new { auth_type = "rpk", public_key = key.PublicKeyPem })).StatusCode);
        var rpk = key.WriteRawKeyPem(certificates.Directory, id);

        var r = await LibCoap.RunAsync("coap-client-gnutls", ["-B", "10", "-m", "post", "-t", "application/json", "-e", "{\"rpk\":1}", "-M", rpk,
            $"{Platform.CoapsBase}/telemetry"]);
        Assert.True(r.LastCode == "2.01", r.Output + "\nsilo log:\n" + Platform.Silo.Output);
        Assert.Equal("{\"rpk\":1}", Encoding.UTF8.GetString(Assert.Single(await Platform.ReadTelemetryAsync(id)).Data!));
        var other = await LibCoap.RunAsync("coap-client-gnutls", ["-B", "10", "-m", "post", "-t", "application/json", "-e", "{\"rpk\":2}", "-M", rpk,
            $"{Platform.CoapsBase}/telemetry?id=cert-tel-ssl"]);
        Assert.Equal("4.03", other.LastCode);

        // An unregistered key gets access_denied: no answer, and the reason in the gateway's log.
        using var stranger = TestCertificates.RawKey();
        var refused = await LibCoap.RunAsync("coap-client-gnutls", ["-B", "5", "-m", "post", "-e", "x", "-M", stranger.WriteRawKeyPem(certificates.Directory, "stranger"),
            $"{Platform.CoapsBase}/telemetry"]);
        Assert.Null(refused.LastCode);
        await Platform.Silo.WaitForLineAsync("DTLS handshake with .* failed: unknown_key", TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Revoking_an_enrolled_certificate_closes_its_live_session_and_its_next_handshake_is_refused()
    {
        const string id = "cert-revoke";
        var (certificate, key, device) = await certificates.DeviceWithCertificateAsync(id);
        using (device)
        {
            var observing = LibCoap.RunAsync("coap-client-openssl", ["-B", "20", "-s", "15", "-m", "get", "-c", certificate, "-j", key,
                $"{Platform.CoapsBase}/commands/{id}"]);
            await Platform.Events.WaitForAsync(id, "online", timeout: TimeSpan.FromSeconds(20));
            var credential = Assert.Single((await Platform.Grains.GetGrain<IDeviceGrain>(id).ListCredentials())!);

            using var api = Platform.Api();
            Assert.Equal(HttpStatusCode.NoContent, (await api.DeleteAsync($"devices/{id}/credentials/{credential.Id}")).StatusCode);
            await Platform.Silo.WaitForLineAsync($@"Credential x509:{credential.Fingerprint} of device {id} revoked: cache entry dropped, 1 live session\(s\) closed",
                TimeSpan.FromSeconds(30));
            await observing;

            var again = await LibCoap.RunAsync("coap-client-openssl", ["-B", "5", "-m", "post", "-e", "x", "-c", certificate, "-j", key, $"{Platform.CoapsBase}/telemetry"]);
            Assert.Null(again.LastCode);
            Assert.Contains("certificate revoked", again.Output, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task An_expired_certificate_of_the_registered_authority_gets_certificate_expired()
    {
        const string id = "cert-expired";
        var (certificate, key, device) = await certificates.DeviceWithCertificateAsync(id,
            notBefore: DateTimeOffset.UtcNow.AddDays(-20), notAfter: DateTimeOffset.UtcNow.AddDays(-2));
        using (device)
        {
            var r = await LibCoap.RunAsync("coap-client-gnutls", ["-B", "5", "-m", "post", "-e", "x", "-c", certificate, "-j", key, $"{Platform.CoapsBase}/telemetry"]);
            Assert.Null(r.LastCode);
            await Platform.Silo.WaitForLineAsync($"DTLS handshake with .* failed: certificate_expired .*expired at", TimeSpan.FromSeconds(10));
            Assert.Empty((await Platform.Grains.GetGrain<IDeviceGrain>(id).ListCredentials())!);
        }
    }

    /// <summary>
    /// Production's plain ports over TCP and WebSockets follow <c>Gateway:PlainMode=Reject</c> like plain UDP: coap+tcp is
    /// answered 4.01 with the diagnostic naming the secure transports; a WebSocket without a device credential is 401.
    /// </summary>
    [Fact]
    public async Task Plain_tcp_is_4_01_and_a_websocket_without_a_credential_is_401_in_production()
    {
        var r = await LibCoap.RunAsync("coap-client-notls", ["-B", "10", "-m", "post", "-e", "{}", $"coap+tcp://127.0.0.1:{Platform.Silo.CoapPort}/telemetry?id=x"]);
        Assert.Equal("4.01", r.LastCode);
        Assert.Contains("coaps+tcp://", r.Output, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized,
            await CoapWebSocketClient.RefusedStatusAsync(new Uri($"ws://127.0.0.1:{Platform.Silo.HttpPort}/.well-known/coap"), authorization: null));
    }
}
