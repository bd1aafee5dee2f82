using System.Diagnostics;
using System.Text;
using NHub.Grains;

namespace NHub.Interop.Tests.Gateway;

/// <summary>
/// coaps:// end to end on a production silo: libcoap's coap-client-openssl with the identity and key the platform
/// issued, exactly as the device guide shows, through DTLS, the gateway, the device grain, into JetStream.
/// </summary>
public sealed class DtlsGatewayInteropTests(ProductionPlatform platform) : IClassFixture<ProductionPlatform>
{
    private const string Client = "coap-client-openssl";

    private Task<LibCoap.Result> PostAsync(IssuedCredential credential, string query, string json, string key = "") =>
        LibCoap.RunAsync(Client, ["-B", "10", "-m", "post", "-t", "application/json", "-e", json,
            "-u", credential.Summary.PskIdentity, "-k", key.Length > 0 ? key : credential.PskKey, $"{platform.CoapsBase}/telemetry{query}"]);

    [Fact]
    public async Task The_guides_dtls_example_posts_telemetry_that_lands_in_jetstream_with_its_envelope()
    {
        var (_, credential) = await platform.ProvisionWithCredentialAsync("869181072798893");
        var r = await PostAsync(credential, "?id=869181072798893", "{\"temperature\": 23.5}");
        Assert.Equal("2.01", r.LastCode);

        var stored = Assert.Single(await platform.ReadTelemetryAsync("869181072798893"));
        Assert.Equal("{\"temperature\": 23.5}", Encoding.UTF8.GetString(stored.Data!));
        Assert.Equal("869181072798893", stored.Headers!["NHub-Device-Id"].ToString());
        Assert.Equal("coaps", stored.Headers["NHub-Transport"].ToString());
        Assert.Equal("50", stored.Headers["NHub-Content-Format"].ToString());
    }

    [Fact]
    public async Task The_id_defaults_to_the_authenticated_device_and_naming_another_device_is_4_03()
    {
        var (device, credential) = await platform.ProvisionWithCredentialAsync("dtls-a");
        await platform.ProvisionWithCredentialAsync("dtls-b");

        Assert.Equal("2.01", (await PostAsync(credential, "", "{\"t\":1}")).LastCode);
        Assert.Single((await device.GetRecentTelemetry(5))!);
        Assert.Equal("4.03", (await PostAsync(credential, "?id=dtls-b", "{\"t\":2}")).LastCode);
    }

    [Fact]
    public async Task A_binary_format_credential_uses_the_decoded_key_and_a_wrong_key_gets_no_answer()
    {
        var (_, credential) = await platform.ProvisionWithCredentialAsync("dtls-binary", PskFormat.Binary);
        // A binary-format credential's PSK is the 32 decoded bytes, so the hex string as ASCII (what libcoap 4.3.1's
        // -k sends) must not authenticate. (libcoap 4.3.1 cannot pass non-printable key bytes on its command line.)
        var wrong = await PostAsync(credential, "", "{\"t\":1}");
        Assert.Null(wrong.LastCode);

        var (_, ascii) = await platform.ProvisionWithCredentialAsync("dtls-wrongkey");
        var bad = await PostAsync(ascii, "", "{\"t\":1}", key: new string('0', 64));
        Assert.Null(bad.LastCode);
    }

    [Fact]
    public async Task A_binary_format_credential_authenticates_a_client_that_uses_the_32_decoded_key_bytes()
    {
        var (device, credential) = await platform.ProvisionWithCredentialAsync("dtls-binary-ok", PskFormat.Binary);
        // BouncyCastle's DTLS client (libcoap 4.3.1 cannot pass non-printable key bytes) with the hex string decoded.
        using var client = NHub.Gateway.Tests.Support.BcDtlsClient.Connect(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, platform.Silo.CoapsPort),
            credential.Summary.PskIdentity, Convert.FromHexString(credential.PskKey));
        var answer = client.Exchange(TelemetryDatagram.Post(7, [9], "{\"t\":3}"), waitMillis: 10_000);
        Assert.NotNull(answer);
        Assert.Equal(NHub.Coap.CoapCode.Created, TelemetryDatagram.CodeOf(answer));
        Assert.Equal("{\"t\":3}", Encoding.UTF8.GetString(Assert.Single((await device.GetRecentTelemetry(5))!).Payload));
    }

    [Fact]
    public async Task A_revoked_credential_is_pushed_to_the_gateway_closes_the_live_session_and_cannot_handshake()
    {
        var (device, credential) = await platform.ProvisionWithCredentialAsync("dtls-revoke");
        // A live session: the device observes its commands (coap-client keeps the session for -s seconds). Its first
        // message turns it online: a lifecycle event in JetStream, our signal that the session is up.
        var observing = LibCoap.RunAsync(Client, ["-B", "20", "-s", "15", "-m", "get", "-u", credential.Summary.PskIdentity, "-k", credential.PskKey,
            $"{platform.CoapsBase}/commands/dtls-revoke"]);
        await platform.Events.WaitForAsync("dtls-revoke", "online", timeout: TimeSpan.FromSeconds(20));

        // Pushed, not expired: the cache keeps a credential for Gateway:Credentials:TimeToLive (5 min), so the line
        // within the 30 s below can only come from the revocation stream. (How fast the push is, is not a test's
        // business: no timing assertion on a shared machine.)
        Assert.True(await device.RevokeCredential(credential.Summary.Id));
        await platform.Silo.WaitForLineAsync(@"Credential koru-dtls-revoke of device dtls-revoke revoked: cache entry dropped, 1 live session\(s\) closed", TimeSpan.FromSeconds(30));

        await observing;
        var again = await PostAsync(credential, "", "{\"t\":1}");
        Assert.Null(again.LastCode);
    }
}
